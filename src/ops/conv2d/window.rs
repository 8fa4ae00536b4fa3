//! conv2d's fast path (`shaders/conv2d_window.wgsl`) for the common kernels: 1x1, 3x3 and 5x5
//! at stride 1, 3x3 and 7x7 at stride 2, on adapters with subgroups, when input rows are whole
//! vec4s (W % 4 == 0) and each group has at least 8 output channels. The weights are first
//! repacked on the GPU (one small dispatch) so that the 32 channels of a tap are contiguous;
//! then one invocation computes 4 output columns x 32 output channels. On Vulkan lavapipe this took conv3x3_r18 from 22 ms (the general
//! subgroup kernel) to 12 ms; see BENCHMARKS.md.

use super::{Conv2dGeometry, Conv2dParams, SUBGROUP_MIN_CHANNELS};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::ops::activation::Activation;
use crate::ops::batching::{batch_chunks, check_fits};
use crate::shape::Pads;
use crate::tensor::Tensor;

/// pack_weights' workgroup.
const WORKGROUP_SIZE: usize = 64;
/// The convolution entry points' workgroup: 16 tiles (`TILES_PER_WORKGROUP` in the shader).
const TILES_PER_WORKGROUP: usize = 16;
const CHANNEL_TILE: usize = 32;
const COLUMN_TILE: usize = 4;
const PACK: Kernel = Kernel::new(Shader::Conv2dWindow, "pack_weights");

/// The window kernel for this convolution, if one applies: stride-1 1x1 (no padding), 3x3 and
/// 5x5, stride-2 3x3 and 7x7, no dilation, on adapters with subgroups, input rows of whole
/// vec4s (for 1x1: planes of whole vec4s), at least 8 output channels per group.
pub(crate) fn kernel(gpu: &Gpu, g: &Conv2dGeometry) -> Option<Kernel> {
    let entry_point = match (g.kernel, g.stride) {
        ([1, 1], [1, 1]) if g.pads == Pads::default() => "conv2d_window1",
        ([3, 3], [1, 1]) => "conv2d_window3",
        ([5, 5], [1, 1]) => "conv2d_window5",
        ([3, 3], [2, 2]) => "conv2d_window3_stride2",
        ([7, 7], [2, 2]) => "conv2d_window7_stride2",
        _ => return None,
    };
    let row = if g.kernel == [1, 1] {
        g.in_height * g.in_width
    } else {
        g.in_width
    };
    let applies = gpu.has_subgroups()
        && g.dilation == [1, 1]
        && row % 4 == 0
        && g.out_channels / g.groups >= SUBGROUP_MIN_CHANNELS;
    applies.then_some(Kernel::new(Shader::Conv2dWindow, entry_point))
}

/// How many columns before column 0 the tiles start: the tile grid is shifted so that every
/// tile's input window starts on a vec4 boundary. Mirrors `column_origin` in
/// conv2d_window.wgsl (and the stride-1 rule in conv2d.wgsl's `conv2d_depthwise3x3`).
pub(super) fn origin_shift(g: &Conv2dGeometry) -> usize {
    if g.stride[1] == 1 {
        (4 - g.pads.left % 4) % 4
    } else {
        g.pads.left.div_ceil(2) % 2
    }
}

/// Records the weight repacking and the convolution (validated by the caller).
pub(crate) fn record(
    kernel: Kernel,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    g: &Conv2dGeometry,
    activation: Activation,
) -> Result<Tensor> {
    let gpu = input.gpu();
    let output_shape = g.output_shape();
    // A 1x1 kernel sees each plane as one row of H*W columns.
    let flat = Conv2dGeometry {
        in_height: 1,
        in_width: g.in_height * g.in_width,
        out_height: 1,
        out_width: g.out_height * g.out_width,
        ..*g
    };
    let g = if g.kernel == [1, 1] { &flat } else { g };
    let in_image = g.in_channels * g.in_height * g.in_width;
    let out_image = g.out_channels * g.out_height * g.out_width;
    let taps = g.in_channels / g.groups * g.kernel[0] * g.kernel[1];
    let channel_tiles_per_group = (g.out_channels / g.groups).div_ceil(CHANNEL_TILE);
    let packed_len = g.groups * taps * channel_tiles_per_group * CHANNEL_TILE;
    check_fits(gpu, "conv2d packed weight", packed_len)?;
    let chunks = batch_chunks(gpu, "conv2d", g.batch, in_image, out_image)?;
    let packed = Tensor::output(gpu, &[packed_len])?;
    let output = Tensor::output(gpu, &output_shape)?;

    let column_tiles = (g.out_width + origin_shift(g)).div_ceil(COLUMN_TILE);
    let params_for = |images: usize| Conv2dParams {
        channel_tiles_per_group: channel_tiles_per_group as u32,
        column_tiles: column_tiles as u32,
        ..Conv2dParams::new(g, images, bias.is_some(), activation)
    };
    // pack_weights: groups x channel quads x blocks of 64 taps (see the shader).
    let pack_groups =
        (g.groups * taps.div_ceil(WORKGROUP_SIZE) * channel_tiles_per_group * CHANNEL_TILE / 4)
            as u32;
    let views = [weight.view(), packed.view()];
    gpu.dispatch(PACK, &params_for(g.batch), &views, pack_groups)?;

    let pixel_blocks = (g.out_height * column_tiles).div_ceil(TILES_PER_WORKGROUP);
    let bias_view = bias.unwrap_or(weight);
    for (first_image, images) in chunks {
        let (input_view, input_base) = input.view_range(first_image * in_image, images * in_image);
        let (output_view, output_base) =
            output.view_range(first_image * out_image, images * out_image);
        // Rows of whole vec4s keep every image, and so every binding start, vec4-aligned.
        debug_assert_eq!(input_base % 4, 0);
        let params = Conv2dParams {
            input_base,
            output_base,
            ..params_for(images)
        };
        let workgroups = images * g.groups * channel_tiles_per_group * pixel_blocks;
        let views = [input_view, packed.view(), bias_view.view(), output_view];
        gpu.dispatch(kernel, &params, &views, workgroups as u32)?;
    }
    Ok(output)
}
