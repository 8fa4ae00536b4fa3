//! Adaptive and global pooling (PyTorch's `F.adaptive_{avg,max}_pool2d`, max with or without
//! `return_indices`, and the global pools as their `[N, C, 1, 1]` case) over
//! `shaders/adaptive_pool2d.wgsl`. Adaptive pools run one invocation per output element; the
//! global pools reduce each plane with up to 64 invocations (see the shader's header). Window
//! arithmetic is shared with the CPU reference.

use super::pool2d::{record_pool, Pool2dParams, PoolIndices, WORKGROUP_SIZE};
use crate::error::{Error, Result};
use crate::kernels::{Kernel, Shader};
use crate::shape::{nchw_nonempty, require_positive};
use crate::tensor::Tensor;

/// Adaptive window along one axis of length `len` split into `out_len` outputs:
/// `[floor(i * len / out_len), ceil((i + 1) * len / out_len))` (PyTorch). Never empty.
pub fn adaptive_window(index: usize, len: usize, out_len: usize) -> std::ops::Range<usize> {
    let start = index * len / out_len;
    let end = ((index + 1) * len).div_ceil(out_len);
    start..end
}

/// Validates an adaptive pooling of `input` (`[N, C, H, W]`) to `output_size` `[H_out, W_out]`
/// and returns the output shape `[N, C, H_out, W_out]`. Any output size of at least 1 works,
/// larger than the input included.
pub fn adaptive_output_shape(
    op: &str,
    input: &[usize],
    output_size: [usize; 2],
) -> Result<[usize; 4]> {
    let [batch, channels, height, width] = nchw_nonempty(&format!("{op} input"), input)?;
    require_positive(&format!("{op} output size"), output_size)?;
    // The shader computes (i + 1) * len in u32.
    for (len, out_len) in [(height, output_size[0]), (width, output_size[1])] {
        if (len as u64) * (out_len as u64) > u32::MAX as u64 {
            return Err(Error::Parameter {
                what: format!("{op} output size"),
                expected: format!("input length x output length below 2^32 (input {len})"),
                actual: format!("{output_size:?}"),
            });
        }
    }
    Ok([batch, channels, output_size[0], output_size[1]])
}

/// Invocations that reduce one plane of `plane_size` values: about 16 values per lane, a power of
/// two from 1 to 64 (small planes share a workgroup, large ones get all 64 lanes).
fn lanes_per_plane(plane_size: usize) -> usize {
    const VALUES_PER_LANE: usize = 16;
    plane_size
        .div_ceil(VALUES_PER_LANE)
        .next_power_of_two()
        .min(WORKGROUP_SIZE)
}

fn record_adaptive(
    entry_point: &'static str,
    input: &Tensor,
    output_size: [usize; 2],
    indices: Option<&Tensor>,
) -> Result<Tensor> {
    let shape = adaptive_output_shape(entry_point, input.shape(), output_size)?;
    let params = Pool2dParams {
        in_height: input.shape()[2] as u32,
        in_width: input.shape()[3] as u32,
        out_height: output_size[0] as u32,
        out_width: output_size[1] as u32,
        ..Default::default()
    };
    let plane = output_size[0] * output_size[1];
    let workgroups = |planes: usize| (planes * plane).div_ceil(WORKGROUP_SIZE);
    let kernel = Kernel::new(Shader::AdaptivePool2d, entry_point);
    record_pool(kernel, input, shape, params, indices, workgroups)
}

fn record_global(entry_point: &'static str, input: &Tensor) -> Result<Tensor> {
    let shape = adaptive_output_shape(entry_point, input.shape(), [1, 1])?;
    let [height, width] = [input.shape()[2], input.shape()[3]];
    let lanes = lanes_per_plane(height * width);
    let params = Pool2dParams {
        in_height: height as u32,
        in_width: width as u32,
        out_height: 1,
        out_width: 1,
        lanes_per_plane: lanes as u32,
        ..Default::default()
    };
    let planes_per_group = WORKGROUP_SIZE / lanes;
    let workgroups = |planes: usize| planes.div_ceil(planes_per_group);
    let kernel = Kernel::new(Shader::AdaptivePool2d, entry_point);
    record_pool(kernel, input, shape, params, None, workgroups)
}

/// Adaptive average pooling to `output_size` `[H_out, W_out]`.
pub fn adaptive_avg_pool2d(input: &Tensor, output_size: [usize; 2]) -> Result<Tensor> {
    record_adaptive("adaptive_avg_pool2d", input, output_size, None)
}

/// Adaptive max pooling to `output_size` `[H_out, W_out]`; NaN propagates.
pub fn adaptive_max_pool2d(input: &Tensor, output_size: [usize; 2]) -> Result<Tensor> {
    record_adaptive("adaptive_max_pool2d", input, output_size, None)
}

/// [`adaptive_max_pool2d`] that also returns where each maximum came from (PyTorch's
/// `return_indices=True`): `row * W + column` in the input plane; the first maximum of a window
/// wins, and a window with NaNs points at its last NaN.
pub fn adaptive_max_pool2d_with_indices(
    input: &Tensor,
    output_size: [usize; 2],
) -> Result<(Tensor, PoolIndices)> {
    let entry_point = "adaptive_max_pool2d_with_indices";
    let shape = adaptive_output_shape(entry_point, input.shape(), output_size)?;
    // u32 bit patterns; poisoning fills them with 0x7fc00000, an index no plane reaches.
    let raw = Tensor::output(input.gpu(), &shape)?;
    let output = record_adaptive(entry_point, input, output_size, Some(&raw))?;
    Ok((output, PoolIndices::new(raw)))
}

/// The mean of each `H x W` plane: `[N, C, H, W] -> [N, C, 1, 1]`.
pub fn global_avg_pool2d(input: &Tensor) -> Result<Tensor> {
    record_global("global_avg_pool2d", input)
}

/// The maximum of each `H x W` plane: `[N, C, H, W] -> [N, C, 1, 1]`; NaN propagates.
pub fn global_max_pool2d(input: &Tensor) -> Result<Tensor> {
    record_global("global_max_pool2d", input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adaptive_windows_match_pytorch() {
        // 5 -> 3: [0, 2), [1, 4), [3, 5)
        let windows: Vec<_> = (0..3).map(|i| adaptive_window(i, 5, 3)).collect();
        assert_eq!(windows, vec![0..2, 1..4, 3..5]);
        // 2 -> 4 (upsampling): every window has one element.
        let windows: Vec<_> = (0..4).map(|i| adaptive_window(i, 2, 4)).collect();
        assert_eq!(windows, vec![0..1, 0..1, 1..2, 1..2]);
    }

    #[test]
    fn lanes_cover_small_and_large_planes() {
        assert_eq!(lanes_per_plane(1), 1);
        assert_eq!(lanes_per_plane(49), 4);
        assert_eq!(lanes_per_plane(224 * 224), 64);
    }
}
