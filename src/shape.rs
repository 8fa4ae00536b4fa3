//! Output-size arithmetic: the one place where convolution and pooling output sizes are
//! computed. The GPU path, the CPU reference and the tests all call these functions.
//!
//! Conventions (PyTorch): sizes per spatial axis, `//` rounds toward negative infinity.
//! - convolution: `out = (L + pad_before + pad_after - dilation*(kernel-1) - 1) // stride + 1`
//! - pooling: `out = (L + 2p - d*(k-1) - 1 + (s-1 if ceil_mode)) // s + 1`, and with ceil_mode
//!   the last window must start inside the input or the leading padding:
//!   `if ceil_mode and (out-1)*s >= L + p { out -= 1 }`.

use crate::error::{Error, Result};

/// Padding of a 2-D window op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Padding {
    /// No padding.
    #[default]
    Zero,
    /// `[height, width]`: top = bottom = height, left = right = width (PyTorch's `padding=(ph, pw)`).
    Symmetric([usize; 2]),
    /// `[top, left, bottom, right]` (ONNX order); equals `F.pad(x, (left, right, top, bottom))` first.
    Explicit([usize; 4]),
    /// PyTorch's `padding="same"` (stride 1 only): the output keeps the input's size, and an odd
    /// total padding puts the extra row/column at the bottom/right.
    Same,
}

/// Padding resolved to the four sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pads {
    pub top: usize,
    pub left: usize,
    pub bottom: usize,
    pub right: usize,
}

impl Padding {
    /// Resolves the padding for a kernel of `kernel` taps with `dilation` and `stride`.
    pub fn resolve(
        self,
        kernel: [usize; 2],
        dilation: [usize; 2],
        stride: [usize; 2],
    ) -> Result<Pads> {
        Ok(match self {
            Padding::Zero => Pads::default(),
            Padding::Symmetric([h, w]) => Pads {
                top: h,
                left: w,
                bottom: h,
                right: w,
            },
            Padding::Explicit([top, left, bottom, right]) => Pads {
                top,
                left,
                bottom,
                right,
            },
            Padding::Same => {
                if stride != [1, 1] {
                    return Err(Error::Parameter {
                        what: "padding \"same\"".into(),
                        expected: "stride [1, 1]".into(),
                        actual: format!("stride {stride:?}"),
                    });
                }
                let total_h = dilation[0] * (kernel[0] - 1);
                let total_w = dilation[1] * (kernel[1] - 1);
                Pads {
                    top: total_h / 2,
                    left: total_w / 2,
                    bottom: total_h - total_h / 2,
                    right: total_w - total_w / 2,
                }
            }
        })
    }
}

/// Convolution output length along one axis; may be `<= 0` when the dilated kernel is larger
/// than the padded input (callers turn that into [`Error::EmptyOutput`]).
pub fn conv_output_len(
    input: usize,
    pad_before: usize,
    pad_after: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
) -> i64 {
    let span = input as i64 + pad_before as i64 + pad_after as i64
        - (dilation as i64 * (kernel as i64 - 1) + 1);
    span.div_euclid(stride as i64) + 1
}

/// Pooling output length along one axis with PyTorch's ceil_mode rule; may be `<= 0`.
pub fn pool_output_len(
    input: usize,
    padding: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    ceil_mode: bool,
) -> i64 {
    let (l, p, k, s, d) = (
        input as i64,
        padding as i64,
        kernel as i64,
        stride as i64,
        dilation as i64,
    );
    let round_up = if ceil_mode { s - 1 } else { 0 };
    let mut out = (l + 2 * p - d * (k - 1) - 1 + round_up).div_euclid(s) + 1;
    if ceil_mode && (out - 1) * s >= l + p {
        out -= 1;
    }
    out
}

/// Checks that every entry of a per-axis parameter (kernel, stride, dilation) is at least 1.
pub fn require_positive(what: &str, value: [usize; 2]) -> Result<()> {
    if value.contains(&0) {
        return Err(Error::Parameter {
            what: what.into(),
            expected: "every entry >= 1".into(),
            actual: format!("{value:?}"),
        });
    }
    Ok(())
}

/// Splits a 4-D NCHW shape, or explains what was expected.
pub fn nchw(what: &str, shape: &[usize]) -> Result<[usize; 4]> {
    match shape {
        &[n, c, h, w] => Ok([n, c, h, w]),
        _ => Err(Error::Shape {
            what: what.into(),
            expected: "a 4-D NCHW tensor".into(),
            actual: shape.to_vec(),
        }),
    }
}

/// Like [`nchw`], and also rejects a zero-size N, C, H or W.
pub fn nchw_nonempty(what: &str, shape: &[usize]) -> Result<[usize; 4]> {
    let dims = nchw(what, shape)?;
    if dims.contains(&0) {
        return Err(Error::ZeroSize {
            what: what.into(),
            shape: shape.to_vec(),
        });
    }
    Ok(dims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_sizes_match_pytorch() {
        assert_eq!(conv_output_len(56, 1, 1, 3, 1, 1), 56);
        assert_eq!(conv_output_len(224, 3, 3, 7, 2, 1), 112);
        assert_eq!(conv_output_len(5, 0, 0, 7, 1, 1), -1);
        assert_eq!(conv_output_len(9, 2, 2, 3, 1, 2), 9);
    }

    #[test]
    fn pool_ceil_mode_drops_window_starting_in_padding() {
        // L=5, k=2, s=2, p=1, ceil: plain ceil formula gives 4, PyTorch gives 3.
        assert_eq!(pool_output_len(5, 1, 2, 2, 1, true), 3);
        assert_eq!(pool_output_len(7, 0, 2, 2, 1, true), 4);
        assert_eq!(pool_output_len(7, 0, 2, 2, 1, false), 3);
        assert_eq!(pool_output_len(112, 1, 3, 2, 1, false), 56);
    }

    #[test]
    fn same_padding_puts_extra_at_bottom_right() {
        let pads = Padding::Same.resolve([4, 3], [1, 2], [1, 1]).unwrap();
        assert_eq!(
            pads,
            Pads {
                top: 1,
                left: 2,
                bottom: 2,
                right: 2
            }
        );
        assert!(Padding::Same.resolve([3, 3], [1, 1], [2, 1]).is_err());
    }
}
