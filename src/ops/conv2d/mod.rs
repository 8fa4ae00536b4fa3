//! conv2d: the GPU dispatch (options and shape validation are in `geometry.rs`). The common
//! kernels (1x1, 3x3, 5x5 at stride 1; 3x3, 7x7 at stride 2) go to `shaders/conv2d_window.wgsl`
//! where subgroups exist (1x1 ones on CPU adapters with 64-bit integers to
//! `shaders/conv2d_window_int64.wgsl`), and to `shaders/conv2d_wide.wgsl` where they do not
//! (`window.rs`);
//! other plain 1x1 convolutions to the projection GEMM; depthwise 3x3 at stride 1 and 2 to
//! `shaders/conv2d_depthwise.wgsl` (rows that are not whole vec4s padded first,
//! `padded_rows.rs`); on software adapters, other kernels (dilated, 1x7, ...) with at least 8
//! channels a group without subgroups and 128 with them, and on lavapipe 3x3 ones with enough
//! channels as well, to a 1x1 convolution over their unfolded input (`unfold.rs`, checked before
//! the window kernels); strided 1x1 convolutions without subgroups, or with 128 channels
//! a group on software adapters, to a stride-1 one over their gathered input (`subsample.rs`);
//! everything else to the general kernels of `shaders/conv2d.wgsl` and
//! `shaders/conv2d_subgroup.wgsl`. On GPUs a convolution with few outputs is split over its
//! input channels first (`channel_split.rs`). Batches larger than one storage binding are split
//! along N inside the op.

mod channel_split;
mod geometry;
mod packed_weights;
mod padded_rows;
mod route;
mod subsample;
mod unfold;
mod weight_texture;
mod window;

pub(crate) use packed_weights::PackedWeights;

pub use geometry::{Conv2dGeometry, Conv2dOptions};
pub use route::{conv2d_channel_chunks, conv2d_kernel, conv2d_route};

use super::activation::Activation;
use super::batching::{batch_chunks, check_fits};
use super::projection::{record_projection, ProjectionGeometry};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::tensor::Tensor;
use padded_rows::{on_padded_rows, padded_image_fits, PaddedRows};

/// Mirrors `Conv2dParams` in shaders/conv2d.wgsl (and conv2d_subgroup.wgsl,
/// conv2d_window.wgsl, conv2d_wide.wgsl, conv2d_pack.wgsl) field for field.
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

/// Fewest output channels (per group) for which the subgroup kernel's 32-channel tile pays.
pub(crate) const SUBGROUP_MIN_CHANNELS: usize = 8;

/// Fewest output channels (per group) over which copying the input first (`subsample.rs`'s
/// gather, `unfold.rs`'s unfolding) pays on a software adapter with subgroups: the 1x1 window
/// kernel then runs what `conv2d_subgroup` would run in place, a little faster per output
/// channel (lavapipe: 0.78-1.00 of the time from 128 channels, 1.04-1.26 below 100;
/// BENCHMARKS.md).
pub(crate) const SUBGROUP_COPY_MIN_CHANNELS: usize = 128;

/// A general kernel: its entry point and what one invocation covers.
struct Variant {
    kernel: Kernel,
    channel_tile: usize,
    column_tile: usize,
    /// Output rows per invocation.
    row_tile: usize,
    /// Whether the tile grid starts where each tile's input window is vec4-aligned (as in the
    /// window kernels: `window::origin_shift`).
    aligned_windows: bool,
    /// Tiles (invocations) per workgroup: the entry point's `@workgroup_size`.
    tiles_per_workgroup: usize,
    /// Whether the tiles of all planes are numbered in one sequence, so that a workgroup covers
    /// several small planes (otherwise a workgroup covers tiles of one plane).
    stacks_planes: bool,
}

const PORTABLE: Variant = Variant {
    kernel: Kernel::new(Shader::Conv2d, "conv2d"),
    channel_tile: 8,
    column_tile: 8,
    row_tile: 1,
    aligned_windows: false,
    tiles_per_workgroup: 16,
    stacks_planes: false,
};
/// Tiles a workgroup of the subgroup kernels (`conv2d_subgroup`, and the window kernels in
/// `window.rs`) holds on GPUs (`GpuOptions::large_workgroups`): whole warps and waves, where the
/// 16 (8) that suit a CPU adapter would leave half (three quarters) of a 32-lane warp idle.
pub(super) const LARGE_WORKGROUP_TILES: usize = 64;

/// 16 tiles a workgroup on CPU adapters; `LARGE_WORKGROUP_TILES` on GPUs (`SUBGROUP_LARGE`).
const SUBGROUP: Variant = Variant {
    kernel: Kernel::new(Shader::Conv2dSubgroup, "conv2d_subgroup").with_tiles(16),
    channel_tile: 32,
    column_tile: 4,
    row_tile: 1,
    aligned_windows: false,
    tiles_per_workgroup: 16,
    stacks_planes: false,
};
const SUBGROUP_LARGE: Variant = Variant {
    kernel: SUBGROUP.kernel.with_tiles(LARGE_WORKGROUP_TILES),
    tiles_per_workgroup: LARGE_WORKGROUP_TILES,
    ..SUBGROUP
};
const SINGLE_CHANNEL: Variant = Variant {
    kernel: Kernel::new(Shader::Conv2d, "conv2d_single_channel"),
    channel_tile: 1,
    column_tile: 8,
    row_tile: 1,
    aligned_windows: false,
    tiles_per_workgroup: 16,
    stacks_planes: false,
};
/// Depthwise 3x3 (`shaders/conv2d_depthwise.wgsl`) at stride 1 on rows of whole vec4s (other
/// rows are padded first, `padded_rows.rs`), 8 columns x 4 rows per invocation (dwconv3x3 on
/// lavapipe: 3.9 -> 2.0 ms).
const DEPTHWISE3X3: Variant = Variant {
    kernel: Kernel::new(Shader::Conv2dDepthwise, "conv2d_depthwise3x3"),
    channel_tile: 1,
    column_tile: 8,
    row_tile: 4,
    aligned_windows: true,
    tiles_per_workgroup: 64,
    stacks_planes: false,
};
/// The same on planes of fewer than 64 tiles, several planes a workgroup.
const DEPTHWISE3X3_PLANES: Variant = Variant {
    kernel: Kernel::new(Shader::Conv2dDepthwise, "conv2d_depthwise3x3_planes"),
    stacks_planes: true,
    ..DEPTHWISE3X3
};
/// Depthwise 3x3 at stride 2, the same tiles, several planes a workgroup at every size.
const DEPTHWISE3X3_STRIDE2: Variant = Variant {
    kernel: Kernel::new(Shader::Conv2dDepthwise, "conv2d_depthwise3x3_stride2"),
    ..DEPTHWISE3X3_PLANES
};

impl Variant {
    /// Output column tiles per row and tiles per output plane of `g`.
    fn tiles(&self, g: &Conv2dGeometry) -> (usize, usize) {
        let origin_shift = if self.aligned_windows {
            window::origin_shift(g)
        } else {
            0
        };
        let column_tiles = (g.out_width + origin_shift).div_ceil(self.column_tile);
        (
            column_tiles,
            g.out_height.div_ceil(self.row_tile) * column_tiles,
        )
    }

    /// Whether the input is first copied to rows of whole vec4s (the kernels that read vec4s).
    fn pads_rows(&self, g: &Conv2dGeometry) -> bool {
        self.aligned_windows && !g.in_width.is_multiple_of(4)
    }
}

/// The subgroup kernel shares weights across lanes in a 32-channel tile; with fewer than 8
/// channels per group most of the tile would idle (at 16, conv1x1_incep, it measured like the
/// portable kernel). Groups of 1-3 channels (depthwise) take the one-channel kernel, whose
/// lanes all do useful work, or for 3x3 at stride 1 and 2 the depthwise kernels: on rows copied
/// to whole vec4s where needed (a 7x7 plane costs a copy, yet ran 2.9x faster than in the
/// one-channel kernel, 14x14 1.6x, 55x55 1.5x on lavapipe), several planes a workgroup where a
/// plane has fewer tiles than a workgroup (at stride 1; at stride 2 always: 1.8-2.2x faster than
/// the one-channel kernel on MobileNetV2's four stride-2 layers).
fn general_variant(gpu: &Gpu, g: &Conv2dGeometry) -> &'static Variant {
    let out_per_group = g.out_channels / g.groups;
    if gpu.has_subgroups() && out_per_group >= SUBGROUP_MIN_CHANNELS {
        if gpu.large_workgroups() {
            &SUBGROUP_LARGE
        } else {
            &SUBGROUP
        }
    } else if out_per_group < 4 {
        let depthwise3x3 = g.in_channels == g.groups && g.kernel == [3, 3] && g.dilation == [1, 1];
        let variant = match g.stride {
            [1, 1] if depthwise3x3 => &DEPTHWISE3X3,
            [2, 2] if depthwise3x3 => &DEPTHWISE3X3_STRIDE2,
            _ => return &SINGLE_CHANNEL,
        };
        let rows = if variant.pads_rows(g) {
            if !padded_image_fits(gpu, g) {
                return &SINGLE_CHANNEL;
            }
            on_padded_rows(g)
        } else {
            *g
        };
        if variant.stacks_planes {
            return variant;
        }
        let (_, tiles_per_plane) = DEPTHWISE3X3.tiles(&rows);
        if tiles_per_plane < DEPTHWISE3X3.tiles_per_workgroup {
            &DEPTHWISE3X3_PLANES
        } else {
            &DEPTHWISE3X3
        }
    } else {
        &PORTABLE
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
    let chunks = channel_split::chunks(gpu, &geometry);
    if chunks > 1 {
        return channel_split::record(input, weight, bias, options, &geometry, chunks);
    }
    if subsample::applies(gpu, &geometry) {
        return subsample::record(input, weight, bias, options, &geometry);
    }
    if unfold::applies(gpu, &geometry) {
        return unfold::record(input, weight, bias, options, &geometry);
    }
    if let Some(window) = window::kernel(gpu, &geometry) {
        return window::record(window, input, weight, bias, &geometry, options.activation);
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
    let variant = general_variant(gpu, &geometry);
    let padded_rows = variant.pads_rows(&geometry);
    let g = if padded_rows {
        on_padded_rows(&geometry)
    } else {
        geometry
    };
    let in_image = g.in_channels * g.in_height * g.in_width;
    let out_image = g.out_channels * g.out_height * g.out_width;
    check_fits(gpu, "conv2d weight", weight.len())?;
    let chunks = batch_chunks(gpu, "conv2d", g.batch, in_image, out_image)?;
    let largest_chunk = chunks.iter().map(|&(_, images)| images).max().unwrap_or(1);
    let padded_rows = if padded_rows {
        Some(PaddedRows::new(gpu, &geometry, largest_chunk)?)
    } else {
        None
    };
    let output = Tensor::output(gpu, &g.output_shape())?;
    let bias_view = bias.unwrap_or(weight);
    let channel_tiles_per_group = (g.out_channels / g.groups).div_ceil(variant.channel_tile);
    let (column_tiles, tiles_per_plane) = variant.tiles(&g);
    let pixel_blocks = tiles_per_plane.div_ceil(variant.tiles_per_workgroup);
    for (first_image, images) in chunks {
        let (input_view, input_base) = match &padded_rows {
            Some(padded_rows) => padded_rows.chunk(input, first_image, images)?,
            None => input.view_range(first_image * in_image, images * in_image),
        };
        let (output_view, output_base) =
            output.view_range(first_image * out_image, images * out_image);
        let params = Conv2dParams {
            input_base,
            output_base,
            channel_tiles_per_group: channel_tiles_per_group as u32,
            column_tiles: column_tiles as u32,
            ..Conv2dParams::new(&g, images, bias.is_some(), options.activation)
        };
        let workgroups = if variant.stacks_planes {
            (images * g.out_channels * tiles_per_plane).div_ceil(variant.tiles_per_workgroup)
        } else {
            images * g.groups * channel_tiles_per_group * pixel_blocks
        };
        let views = [input_view, weight.view(), bias_view.view(), output_view];
        gpu.dispatch(variant.kernel, &params, &views, workgroups as u32)?;
    }
    Ok(output)
}
