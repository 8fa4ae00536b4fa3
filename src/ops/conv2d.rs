//! conv2d: options, shape validation (shared with the CPU reference) and the GPU dispatch.
//! A 1x1 kernel with stride 1, no padding and one group goes to the projection GEMM; stride-1
//! 3x3 and 5x5 kernels on rows of whole vec4s go to `shaders/conv2d_window.wgsl` where
//! subgroups exist (see `super::conv2d_window`); every other case runs `shaders/conv2d.wgsl`
//! or `shaders/conv2d_subgroup.wgsl`. Batches larger than one storage binding are split along
//! N inside the op.

use super::activation::Activation;
use super::batching::{batch_chunks, check_fits};
use super::projection::{record_projection, ProjectionGeometry};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::shape::{conv_output_len, nchw, nchw_nonempty, require_positive, Padding, Pads};
use crate::tensor::Tensor;

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

/// Mirrors `Conv2dParams` in shaders/conv2d.wgsl (and conv2d_subgroup.wgsl,
/// conv2d_window.wgsl) field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Conv2dParams {
    pub batch: u32,
    pub in_channels: u32,
    pub in_height: u32,
    pub in_width: u32,
    pub out_channels: u32,
    pub out_height: u32,
    pub out_width: u32,
    pub groups: u32,
    pub in_channels_per_group: u32,
    pub out_channels_per_group: u32,
    pub kernel_height: u32,
    pub kernel_width: u32,
    pub stride_height: u32,
    pub stride_width: u32,
    pub dilation_height: u32,
    pub dilation_width: u32,
    pub pad_top: u32,
    pub pad_left: u32,
    pub has_bias: u32,
    pub activation: u32,
    pub leaky_slope: f32,
    pub input_base: u32,
    pub output_base: u32,
    pub channel_tiles_per_group: u32,
    pub column_tiles: u32,
}

impl Conv2dParams {
    /// The parameters of `images` images of `g`; the tile counts and bases start at 0.
    pub(crate) fn new(
        g: &Conv2dGeometry,
        images: usize,
        has_bias: bool,
        activation: Activation,
    ) -> Self {
        let (activation, leaky_slope) = activation.code();
        Conv2dParams {
            batch: images as u32,
            in_channels: g.in_channels as u32,
            in_height: g.in_height as u32,
            in_width: g.in_width as u32,
            out_channels: g.out_channels as u32,
            out_height: g.out_height as u32,
            out_width: g.out_width as u32,
            groups: g.groups as u32,
            in_channels_per_group: (g.in_channels / g.groups) as u32,
            out_channels_per_group: (g.out_channels / g.groups) as u32,
            kernel_height: g.kernel[0] as u32,
            kernel_width: g.kernel[1] as u32,
            stride_height: g.stride[0] as u32,
            stride_width: g.stride[1] as u32,
            dilation_height: g.dilation[0] as u32,
            dilation_width: g.dilation[1] as u32,
            pad_top: g.pads.top as u32,
            pad_left: g.pads.left as u32,
            has_bias: has_bias as u32,
            activation,
            leaky_slope,
            input_base: 0,
            output_base: 0,
            channel_tiles_per_group: 0,
            column_tiles: 0,
        }
    }
}

const WORKGROUP_SIZE: usize = 64;
/// Fewest output channels (per group) for which the subgroup kernel's 32-channel tile pays.
pub(crate) const SUBGROUP_MIN_CHANNELS: usize = 8;

/// The two kernels: output channels x output columns per invocation, and the entry point.
struct Variant {
    kernel: Kernel,
    channel_tile: usize,
    column_tile: usize,
}

const PORTABLE: Variant = Variant {
    kernel: Kernel::new(Shader::Conv2d, "conv2d"),
    channel_tile: 8,
    column_tile: 8,
};
const SUBGROUP: Variant = Variant {
    kernel: Kernel::new(Shader::Conv2dSubgroup, "conv2d_subgroup"),
    channel_tile: 32,
    column_tile: 4,
};
const SINGLE_CHANNEL: Variant = Variant {
    kernel: Kernel::new(Shader::Conv2d, "conv2d_single_channel"),
    channel_tile: 1,
    column_tile: 8,
};

/// The subgroup kernel shares weights across lanes in a 32-channel tile; with fewer than 8
/// channels per group most of the tile would idle (at 16, conv1x1_incep, it measured like the
/// portable kernel). Groups of 1-3 channels (depthwise) take the one-channel kernel, whose
/// lanes all do useful work.
fn general_variant(gpu: &Gpu, g: &Conv2dGeometry) -> &'static Variant {
    let out_per_group = g.out_channels / g.groups;
    if gpu.has_subgroups() && out_per_group >= SUBGROUP_MIN_CHANNELS {
        &SUBGROUP
    } else if out_per_group < 4 {
        &SINGLE_CHANNEL
    } else {
        &PORTABLE
    }
}

/// The WGSL entry point that [`conv2d`] runs for `geometry` on `gpu` (for tests, the tour
/// and anyone tuning): `conv2d_window*` for the common kernels on adapters with subgroups (see
/// `conv2d_window.rs`), `projection*` for other plain 1x1 convolutions, `conv2d_subgroup`,
/// `conv2d` or `conv2d_single_channel` otherwise.
pub fn conv2d_kernel(gpu: &Gpu, geometry: &Conv2dGeometry) -> &'static str {
    if let Some(kernel) = super::conv2d_window::kernel(gpu, geometry) {
        kernel.entry_point
    } else if geometry.is_projection() {
        super::projection::projection_kernel(gpu, &ProjectionGeometry::conv1x1(geometry))
    } else {
        general_variant(gpu, geometry).kernel.entry_point
    }
}

/// 2-D convolution with PyTorch semantics. Records the work; nothing is read back.
pub fn conv2d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    options: &Conv2dOptions,
) -> Result<Tensor> {
    let gpu = input.gpu();
    weight.check_gpu(gpu, "conv2d weight")?;
    if let Some(bias) = bias {
        bias.check_gpu(gpu, "conv2d bias")?;
    }
    let bias_len = bias.map(|b| b.len());
    let geometry = Conv2dGeometry::new(input.shape(), weight.shape(), bias_len, options)?;
    if let Some(kernel) = super::conv2d_window::kernel(gpu, &geometry) {
        return super::conv2d_window::record(
            kernel,
            input,
            weight,
            bias,
            &geometry,
            options.activation,
        );
    }
    if geometry.is_projection() {
        let projection = ProjectionGeometry::conv1x1(&geometry);
        return record_projection(
            input,
            weight,
            bias,
            &projection,
            options.activation,
            &geometry.output_shape(),
        );
    }
    let g = geometry;
    let in_image = g.in_channels * g.in_height * g.in_width;
    let out_image = g.out_channels * g.out_height * g.out_width;
    check_fits(gpu, "conv2d weight", weight.len())?;
    let chunks = batch_chunks(gpu, "conv2d", g.batch, in_image, out_image)?;
    let output = Tensor::output(gpu, &g.output_shape())?;
    let bias_view = bias.unwrap_or(weight);
    let out_per_group = g.out_channels / g.groups;
    let variant = general_variant(gpu, &g);
    let channel_tiles_per_group = out_per_group.div_ceil(variant.channel_tile);
    let column_tiles = g.out_width.div_ceil(variant.column_tile);
    let pixel_blocks = (g.out_height * column_tiles).div_ceil(WORKGROUP_SIZE);
    for (first_image, images) in chunks {
        let (input_view, input_base) = input.view_range(first_image * in_image, images * in_image);
        let (output_view, output_base) =
            output.view_range(first_image * out_image, images * out_image);
        let params = Conv2dParams {
            input_base,
            output_base,
            channel_tiles_per_group: channel_tiles_per_group as u32,
            column_tiles: column_tiles as u32,
            ..Conv2dParams::new(&g, images, bias.is_some(), options.activation)
        };
        let workgroups = images * g.groups * channel_tiles_per_group * pixel_blocks;
        let views = [input_view, weight.view(), bias_view.view(), output_view];
        gpu.dispatch(variant.kernel, &params, &views, workgroups as u32)?;
    }
    Ok(output)
}
