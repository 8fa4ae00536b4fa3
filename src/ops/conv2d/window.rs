//! conv2d's fast paths for the common kernels, when input rows are whole vec4s (W % 4 == 0)
//! and each group has at least 8 output channels. The weights are first repacked on the GPU
//! (`shaders/conv2d_pack.wgsl`, one small dispatch) so that the channels of a tap are
//! contiguous. Then, on adapters with subgroups, `shaders/conv2d_window.wgsl` (1x1, 3x3 and
//! 5x5 at stride 1, 3x3 and 7x7 at stride 2): one invocation computes 4 output columns x 32
//! output channels and shares weights across the subgroup (conv3x3_r18 on Vulkan lavapipe: 22
//! ms with the general subgroup kernel, 12 ms). Without subgroups (GL),
//! `shaders/conv2d_wide.wgsl` (the same kernels): every lane loads its own operands, so the
//! tiles are shaped for few loads per multiply-add, 4 output rows x 8 columns x 4 channels for
//! 3x3 at stride 1 and 16 columns x 8 channels otherwise (conv3x3_r18 on GL llvmpipe: 43 ms
//! with the portable kernel, ~15.5 ms). See BENCHMARKS.md.

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
/// The convolution entry points' workgroups: 16 tiles (`TILES_PER_WORKGROUP` in
/// conv2d_window.wgsl) or 8 (in conv2d_wide.wgsl: on GL llvmpipe conv5x5_incep took 1.3 ms in
/// 28 workgroups of 8, 2.9 in 16 of 16, where llvmpipe's two threads often did not share the
/// work; conv1x1_incep 0.63-1.1 against 1.3, conv5x5_naive 14.3 against 16.6; conv3x3_r18 and
/// the stem measured within noise of 16).
const TILES_PER_WORKGROUP: usize = 16;
const WIDE_TILES_PER_WORKGROUP: usize = 8;
/// The packed weights' channel padding (`CHANNEL_TILE` in conv2d_pack.wgsl).
const PACKED_CHANNEL_TILE: usize = 32;
const PACK: Kernel = Kernel::new(Shader::Conv2dPack, "pack_weights");

/// A window kernel's grid over one convolution (1x1: its plane seen as one row).
struct Grid {
    column_tiles: usize,
    /// Workgroups per image: channel tiles x blocks of tiles of one output plane.
    workgroups_per_image: usize,
}

impl Grid {
    fn new(kernel: Kernel, g: &Conv2dGeometry) -> Grid {
        let (out_height, out_width) = if g.kernel == [1, 1] {
            (1, g.out_height * g.out_width)
        } else {
            (g.out_height, g.out_width)
        };
        // Output rows x columns x channels per invocation and tiles per workgroup (the
        // arguments of `place` in conv2d_wide.wgsl; `CHANNEL_TILE` etc. in conv2d_window.wgsl).
        let (row_tile, column_tile, channel_tile, tiles_per_workgroup) = match kernel.entry_point {
            "conv2d_wide3" => (4, 8, 4, WIDE_TILES_PER_WORKGROUP),
            _ if kernel.shader == Shader::Conv2dWide => (1, 16, 8, WIDE_TILES_PER_WORKGROUP),
            _ => (1, 4, 32, TILES_PER_WORKGROUP),
        };
        let column_tiles = (out_width + origin_shift(g)).div_ceil(column_tile);
        let pixel_blocks =
            (out_height.div_ceil(row_tile) * column_tiles).div_ceil(tiles_per_workgroup);
        let channel_tiles = g.groups * (g.out_channels / g.groups).div_ceil(channel_tile);
        Grid {
            column_tiles,
            workgroups_per_image: channel_tiles * pixel_blocks,
        }
    }
}

/// The window kernel for this convolution, if one applies: no dilation, input rows of whole
/// vec4s (for 1x1: planes of whole vec4s), at least 8 output channels per group, and with
/// stride-1 1x1 (no padding), 3x3 and 5x5 or stride-2 3x3 and 7x7 (the window kernels with
/// subgroups, the wide ones without).
pub(crate) fn kernel(gpu: &Gpu, g: &Conv2dGeometry) -> Option<Kernel> {
    let subgroups = gpu.has_subgroups();
    let entry_point = match (g.kernel, g.stride, subgroups) {
        ([1, 1], [1, 1], true) if g.pads == Pads::default() => "conv2d_window1",
        ([3, 3], [1, 1], true) => "conv2d_window3",
        ([5, 5], [1, 1], true) => "conv2d_window5",
        ([3, 3], [2, 2], true) => "conv2d_window3_stride2",
        ([7, 7], [2, 2], true) => "conv2d_window7_stride2",
        ([1, 1], [1, 1], false) if g.pads == Pads::default() => "conv2d_wide1",
        ([3, 3], [1, 1], false) => "conv2d_wide3",
        ([5, 5], [1, 1], false) => "conv2d_wide5",
        ([3, 3], [2, 2], false) => "conv2d_wide3_stride2",
        ([7, 7], [2, 2], false) => "conv2d_wide7_stride2",
        _ => return None,
    };
    let row = if g.kernel == [1, 1] {
        g.in_height * g.in_width
    } else {
        g.in_width
    };
    let applies =
        g.dilation == [1, 1] && row % 4 == 0 && g.out_channels / g.groups >= SUBGROUP_MIN_CHANNELS;
    let shader = if subgroups {
        Shader::Conv2dWindow
    } else {
        Shader::Conv2dWide
    };
    applies.then_some(Kernel::new(shader, entry_point))
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
    let grid = Grid::new(kernel, g);
    let channel_tiles_per_group = (g.out_channels / g.groups).div_ceil(PACKED_CHANNEL_TILE);
    let packed_len = g.groups * taps * channel_tiles_per_group * PACKED_CHANNEL_TILE;
    check_fits(gpu, "conv2d packed weight", packed_len)?;
    let chunks = batch_chunks(gpu, "conv2d", g.batch, in_image, out_image)?;
    let packed = Tensor::output(gpu, &[packed_len])?;
    let output = Tensor::output(gpu, &output_shape)?;

    let params_for = |images: usize| Conv2dParams {
        channel_tiles_per_group: channel_tiles_per_group as u32,
        column_tiles: grid.column_tiles as u32,
        ..Conv2dParams::new(g, images, bias.is_some(), activation)
    };
    // pack_weights: groups x channel quads x blocks of 64 taps (see the shader).
    let pack_groups =
        (g.groups * taps.div_ceil(WORKGROUP_SIZE) * channel_tiles_per_group * PACKED_CHANNEL_TILE
            / 4) as u32;
    let views = [weight.view(), packed.view()];
    gpu.dispatch(PACK, &params_for(g.batch), &views, pack_groups)?;

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
        let workgroups = images * grid.workgroups_per_image;
        let views = [input_view, packed.view(), bias_view.view(), output_view];
        gpu.dispatch(kernel, &params, &views, workgroups as u32)?;
    }
    Ok(output)
}
