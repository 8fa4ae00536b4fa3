//! conv2d's options and shape validation: the output size of every convolution, shared by the
//! GPU path, the CPU reference and the tests.

use crate::error::{Error, Result};
use crate::ops::activation::Activation;
use crate::shape::{conv_output_len, nchw, nchw_nonempty, require_positive, Padding, Pads};

/// conv2d's parameters (PyTorch's `nn.Conv2d` arguments less the channel counts, which come
/// from the tensors). `Default` is stride 1, no padding, dilation 1, one group, no activation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conv2dOptions {
    pub stride: [usize; 2],
    pub padding: Padding,
    pub dilation: [usize; 2],
    pub groups: usize,
    /// Applied in the kernel's epilogue, after the bias.
    pub activation: Activation,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            stride: [1, 1],
            padding: Padding::Zero,
            dilation: [1, 1],
            groups: 1,
            activation: Activation::None,
        }
    }
}

/// Every size of one convolution, validated. Built by [`Conv2dGeometry::new`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conv2dGeometry {
    pub batch: usize,
    pub in_channels: usize,
    pub in_height: usize,
    pub in_width: usize,
    pub out_channels: usize,
    pub out_height: usize,
    pub out_width: usize,
    pub groups: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub pads: Pads,
}

impl Conv2dGeometry {
    /// Validates shapes and options: input `[N, C_in, H, W]`, weight `[C_out, C_in/groups, KH, KW]`,
    /// bias length `C_out` when present.
    pub fn new(
        input: &[usize],
        weight: &[usize],
        bias_len: Option<usize>,
        options: &Conv2dOptions,
    ) -> Result<Self> {
        let [batch, in_channels, in_height, in_width] = nchw_nonempty("conv2d input", input)?;
        let [out_channels, weight_channels, kernel_height, kernel_width] =
            nchw("conv2d weight [C_out, C_in/groups, KH, KW]", weight)?;
        let kernel = [kernel_height, kernel_width];
        require_positive("conv2d kernel size", kernel)?;
        require_positive("conv2d stride", options.stride)?;
        require_positive("conv2d dilation", options.dilation)?;
        let groups = options.groups;
        for (what, channels) in [("in_channels", in_channels), ("out_channels", out_channels)] {
            if groups == 0 || channels % groups != 0 {
                return Err(Error::Parameter {
                    what: "conv2d groups".into(),
                    expected: format!("a positive divisor of {what} = {channels}"),
                    actual: format!("groups = {groups}"),
                });
            }
        }
        if weight_channels != in_channels / groups {
            return Err(Error::Shape {
                what: "conv2d weight".into(),
                expected: format!(
                    "[C_out, {}, KH, KW] (in_channels {in_channels} / groups {groups})",
                    in_channels / groups
                ),
                actual: weight.to_vec(),
            });
        }
        if let Some(len) = bias_len.filter(|&len| len != out_channels) {
            return Err(Error::Shape {
                what: "conv2d bias".into(),
                expected: format!("[{out_channels}] (one per output channel)"),
                actual: vec![len],
            });
        }
        let pads = options
            .padding
            .resolve(kernel, options.dilation, options.stride)?;
        let height = conv_output_len(
            in_height,
            pads.top,
            pads.bottom,
            kernel_height,
            options.stride[0],
            options.dilation[0],
        );
        let width = conv_output_len(
            in_width,
            pads.left,
            pads.right,
            kernel_width,
            options.stride[1],
            options.dilation[1],
        );
        if height < 1 || width < 1 {
            return Err(Error::EmptyOutput {
                op: "conv2d",
                height,
                width,
                reason: format!(
                    "the dilated kernel {:?} is larger than the padded input {}x{}",
                    [
                        options.dilation[0] * (kernel_height - 1) + 1,
                        options.dilation[1] * (kernel_width - 1) + 1
                    ],
                    in_height + pads.top + pads.bottom,
                    in_width + pads.left + pads.right
                ),
            });
        }
        Ok(Conv2dGeometry {
            batch,
            in_channels,
            in_height,
            in_width,
            out_channels,
            out_height: height as usize,
            out_width: width as usize,
            groups,
            kernel,
            stride: options.stride,
            dilation: options.dilation,
            pads,
        })
    }

    /// `[N, C_out, H_out, W_out]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [
            self.batch,
            self.out_channels,
            self.out_height,
            self.out_width,
        ]
    }

    /// Multiply-accumulates of the whole convolution (FLOPs = 2 x MACs).
    pub fn macs(&self) -> u64 {
        let per_output = (self.in_channels / self.groups * self.kernel[0] * self.kernel[1]) as u64;
        self.output_shape()
            .iter()
            .map(|&d| d as u64)
            .product::<u64>()
            * per_output
    }

    /// Whether this is a plain channel projection (1x1, stride 1, no padding, one group).
    pub fn is_projection(&self) -> bool {
        self.kernel == [1, 1]
            && self.stride == [1, 1]
            && self.pads == Pads::default()
            && self.groups == 1
    }
}
