//! conv2d's fast paths for the common kernels, when each group has at least 8 output channels
//! (4 for `conv2d_wide3`, whose tiles are 4 channels: ResNeXt's 4-channel groups).
//! The weights are first repacked on the GPU (`shaders/conv2d_pack.wgsl`, one small dispatch,
//! once per weight: `packed_weights.rs`) so that each channel tile's weights are one contiguous
//! run, and inputs whose rows are not whole vec4s (W %
//! 4 != 0; for 1x1 kernels H*W % 4 != 0) are copied to padded rows (`padded_rows.rs`),
//! except for KxK kernels on GPUs with subgroups (on GL llvmpipe ResNet-18's 256->256 3x3 at
//! 14x14 went from 53 ms in the portable kernel to 20.6, 512->512 at 7x7 from 105 to 33; on
//! Vulkan lavapipe Inception-v3's 768->192 1x1 at 17x17 from 10.1-10.5 ms in the projection to
//! 6.3-7.4, and those two 3x3 layers take 0.77-0.78 of conv2d_subgroup's time; see
//! BENCHMARKS.md).
//! Then, on adapters with subgroups, `shaders/conv2d_window.wgsl` (1x1, 3x3 and
//! 5x5 at stride 1, 3x3 and 7x7 at stride 2): one invocation computes 4 output columns x 32
//! output channels (8 x 16 for 1x1 kernels with at most 16 channels a group: conv1x1_incep 0.72
//! -> 0.50 ms) and shares weights across the subgroup (conv3x3_r18 on Vulkan lavapipe: 22
//! ms with the general subgroup kernel, 12 ms). On CPU adapters with 64-bit integers
//! (`Gpu::has_int64_loads`) that narrow 1x1 kernel has a twin, `shaders/conv2d_window_int64.wgsl`,
//! which reads 8 floats a load and the weight as given, with no packing dispatch, where the
//! input channels a group and the plane are multiples of 8 (conv1x1_incep on lavapipe: 0.65-0.70
//! of the time, in alternating runs), and, as `_quads` and `_padded`, on other planes; it takes
//! such 1x1 convolutions of any width there, one 16-channel tile after another (0.61-0.91 of
//! `conv2d_window1`'s time). Without subgroups (GL),
//! `shaders/conv2d_wide.wgsl` (the same kernels): every lane loads its own operands, so the
//! tiles are shaped for few loads per multiply-add, 4 output rows x 8 columns x 4 channels for
//! 3x3 at stride 1, 8 columns x 16 channels for 1x1 kernels whose channels fill 16-channel tiles
//! and 16 columns x 8 channels otherwise (conv3x3_r18 on GL llvmpipe: 43 ms
//! with the portable kernel, ~15.5 ms), and their packed weights are a texture
//! (`packed_weights.rs`). Software adapters with subgroups take them too for KxK groups that
//! would fill at most 3/4 of the window kernels' 32-channel tiles (grouped convolutions above
//! all). See BENCHMARKS.md.

use super::packed_weights::{Packing, Weights, PACKED_CHANNEL_TILE, WIDE1_NARROW_UNIFORM};
use super::padded_rows::{on_padded_rows, padded_image_fits, PaddedRows};
use super::{Conv2dGeometry, Conv2dParams, LARGE_WORKGROUP_TILES, SUBGROUP_MIN_CHANNELS};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::ops::activation::Activation;
use crate::ops::batching::batch_chunks;
use crate::shape::Pads;
use crate::tensor::Tensor;

/// What one invocation of a window kernel computes: output rows x columns x channels, and how
/// many such tiles a workgroup holds (`CHANNEL_TILE` etc. in conv2d_window.wgsl, the
/// arguments of `place` and `TILES_PER_WORKGROUP` in conv2d_wide.wgsl).
#[derive(Debug, Clone, Copy)]
struct Tiling {
    rows: usize,
    columns: usize,
    channels: usize,
    per_workgroup: usize,
    /// Whether a workgroup takes several channel tiles of a plane smaller than it (the wide
    /// kernels; the subgroup kernels share weights across a subgroup, so one channel tile each).
    stacks_channel_tiles: bool,
}

/// The subgroup kernels: 4 columns x 32 channels, 16 tiles a workgroup on CPU adapters.
const WINDOW: Tiling = Tiling {
    rows: 1,
    columns: 4,
    channels: 32,
    per_workgroup: 16,
    stacks_channel_tiles: false,
};
/// conv2d_window1_narrow_int64's GLSL port for GL (`shaders/glsl/`), 8 tiles a workgroup.
const WINDOW1_NARROW_INT64_GLSL: Kernel = Kernel::new(
    Shader::Conv2dWindow1NarrowInt64Glsl,
    "conv2d_window1_narrow_int64",
);
/// conv2d_window3's GLSL port for GL, 16 tiles a workgroup.
const WINDOW3_GLSL: Kernel = Kernel::new(Shader::Conv2dWindow3Glsl, "conv2d_window3");
/// conv2d_window1_narrow (1x1, at most 16 output channels a group): 8 columns x 16 channels,
/// 8 tiles a workgroup on CPU adapters.
const NARROW: Tiling = Tiling {
    rows: 1,
    columns: 8,
    channels: 16,
    per_workgroup: 8,
    stacks_channel_tiles: false,
};
/// The wide kernels: 16 columns x 8 channels. Their workgroups hold 8 tiles: on GL llvmpipe
/// conv5x5_incep took 1.3 ms in 28 workgroups of 8, 2.9 in 16 of 16, where llvmpipe's two
/// threads often did not share the work; conv1x1_incep 0.63-1.1 against 1.3, conv5x5_naive
/// 14.3 against 16.6; conv3x3_r18 and the stem measured within noise of 16.
const WIDE: Tiling = Tiling {
    rows: 1,
    columns: 16,
    channels: 8,
    per_workgroup: 8,
    stacks_channel_tiles: true,
};
/// conv2d_wide1_narrow: 8 columns x 16 channels (1x1 kernels whose channels a group fill
/// 16-channel tiles as well as 8-channel ones: `sixteens` in `kernel`).
const WIDE_NARROW: Tiling = Tiling {
    columns: 8,
    channels: 16,
    ..WIDE
};
/// conv2d_wide3: 4 rows x 8 columns x 4 channels (fewer loads per multiply-add for a 3x3).
const WIDE_BLOCK: Tiling = Tiling {
    rows: 4,
    columns: 8,
    channels: 4,
    per_workgroup: 8,
    stacks_channel_tiles: true,
};

/// A window kernel and its tiling.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WindowKernel {
    pub kernel: Kernel,
    tiling: Tiling,
    /// The input's rows are not whole vec4s: they are first copied to padded ones (`pad_rows`).
    padded_rows: bool,
}

impl WindowKernel {
    /// How this kernel takes its weights (`packed_weights.rs`).
    fn packing(&self, g: &Conv2dGeometry) -> Option<Packing> {
        Packing::of(self.kernel, self.tiling.channels, g)
    }
}

/// A window kernel's grid over one convolution (1x1: its plane seen as one row).
struct Grid {
    column_tiles: usize,
    /// Workgroups per image: channel tiles x blocks of tiles of one output plane.
    workgroups_per_image: usize,
}

impl Grid {
    fn new(t: Tiling, g: &Conv2dGeometry) -> Grid {
        let (out_height, out_width) = if g.kernel == [1, 1] {
            (1, g.out_height * g.out_width)
        } else {
            (g.out_height, g.out_width)
        };
        let column_tiles = (out_width + origin_shift(g)).div_ceil(t.columns);
        let tiles_per_plane = out_height.div_ceil(t.rows) * column_tiles;
        let pixel_blocks = tiles_per_plane.div_ceil(t.per_workgroup);
        // Channel tiles per workgroup (`stacked` in conv2d_wide.wgsl's `place`).
        let stacked = if t.stacks_channel_tiles {
            (t.per_workgroup / tiles_per_plane).max(1)
        } else {
            1
        };
        let channel_tiles = g.groups * (g.out_channels / g.groups).div_ceil(t.channels);
        let channel_blocks = channel_tiles.div_ceil(stacked);
        Grid {
            column_tiles,
            workgroups_per_image: channel_blocks * pixel_blocks,
        }
    }
}

/// The smallest planes (H*W) a 1x1 convolution copies to padded planes for the window kernels
/// (with subgroups) and the wide ones (without); smaller ones take the projection GEMM, whose
/// pixel tiles run on across planes. Measured against the projection (network_shapes,
/// 2026-11-27): 17x17 planes 12.2 -> 7.0 ms on lavapipe, 19.4 -> 12.6 on GL llvmpipe; 7x7
/// (2048->512) 24.1 -> 15.2 on lavapipe but 22.7 -> 34.7 on GL; 5x5 1.65 -> 1.79 and 2.03 ->
/// 1.63; 1x1 planes (a linear layer) 0.9 -> 6.9 and 0.8 -> 4.0 ms.
const PADDED_PLANE_MIN_WINDOW: usize = 49;
const PADDED_PLANE_MIN_WIDE: usize = 64;

/// The window kernel for this convolution, if one applies: no dilation, at least 8 output
/// channels per group (4 for `conv2d_wide3`), and stride-1 1x1 (no padding), 3x3 and 5x5 or
/// stride-2 3x3 and 7x7 (the window kernels with subgroups, the wide ones without, and on
/// software adapters the wide ones for KxK groups that would leave the window tiles mostly
/// empty). Input rows that are not whole vec4s (for 1x1: planes) are padded first: KxK on
/// adapters without subgroups or with small workgroups (software adapters), 1x1 on planes of at
/// least `PADDED_PLANE_MIN_WINDOW` or `_WIDE` pixels, where a padded image fits a binding; other
/// such inputs take other kernels.
pub(crate) fn kernel(gpu: &Gpu, g: &Conv2dGeometry) -> Option<WindowKernel> {
    let window_in = |shader, entry_point, tiling: Tiling| {
        let per_workgroup = if gpu.large_workgroups() {
            LARGE_WORKGROUP_TILES
        } else {
            tiling.per_workgroup
        };
        let kernel = Kernel::new(shader, entry_point).with_tiles(per_workgroup);
        (
            kernel,
            Tiling {
                per_workgroup,
                ..tiling
            },
        )
    };
    // conv2d_window64.wgsl: the same kernels with 64-bit loads, where those are cheaper.
    let window_shader = if gpu.has_int64_loads() {
        Shader::Conv2dWindow64
    } else {
        Shader::Conv2dWindow
    };
    let window = |entry_point, tiling| window_in(window_shader, entry_point, tiling);
    let wide = |entry_point, tiling| (Kernel::new(Shader::Conv2dWide, entry_point), tiling);
    let unpadded = g.pads == Pads::default();
    let out_per_group = g.out_channels / g.groups;
    let narrow = out_per_group <= NARROW.channels;
    // conv2d_window_int64.wgsl reads the input and the weight rows and writes the output 8
    // floats at a time, as vec4<u64>s on planes of whole octets and as pairs of vec2<u64>s on
    // other planes of whole vec4s (each image and channel then starts on one); other planes it
    // reads padded to whole vec4s and writes float by float (`_padded`). Its 16-channel tiles
    // outrun conv2d_window1's 32-channel ones at any width on CPU adapters (lavapipe: 0.61-0.90
    // of the time on MobileNetV2's and ResNet-50's 1x1 layers, 0.72-0.83 at 14x14 and 0.76-0.91
    // at 7x7 and 17x17; BENCHMARKS.md).
    let octet_rows = (g.in_channels / g.groups).is_multiple_of(8);
    let octets = octet_rows && (g.in_height * g.in_width).is_multiple_of(8);
    let quads = octet_rows && (g.in_height * g.in_width).is_multiple_of(4);
    // 16-channel tiles cost no more padding than 8-channel ones (24 channels: 32 against 24).
    let sixteens = out_per_group.next_multiple_of(16) == out_per_group.next_multiple_of(8);
    // conv2d_wide1_narrow_uniform: its packed weights fit its 64 KiB uniform buffer.
    let uniform_weights = Packing::of(WIDE1_NARROW_UNIFORM, WIDE_NARROW.channels, g)
        .is_some_and(|packing| packing.fits(gpu, g));
    // On software adapters a KxK group that fills at most 3/4 of the window kernels' 32-channel
    // tiles runs faster in the wide ones (4- and 8-channel tiles; lavapipe, ResNeXt's 3x3 with
    // 8 channels a group in 0.27-0.34 of the time, 16 in 0.58, 24 in 0.77-0.94, whole tiles
    // 1.04-1.21 times: BENCHMARKS.md). GPUs keep the window kernels.
    let sparse_tiles = g.kernel != [1, 1]
        && 4 * out_per_group <= 3 * out_per_group.next_multiple_of(PACKED_CHANNEL_TILE);
    let window_kernels = gpu.has_subgroups() && (gpu.large_workgroups() || !sparse_tiles);
    // GL llvmpipe runs conv2d_window1_narrow_int64 and conv2d_window3 as GLSL ports (64-bit
    // words and subgroup broadcasts, which naga cannot write for GL), with the CPU adapters'
    // tiles a workgroup.
    let glsl_window = gpu.glsl_subgroups() && !gpu.large_workgroups();
    let (kernel, tiling) = match (g.kernel, g.stride, window_kernels) {
        ([1, 1], [1, 1], _) if unpadded && octets && glsl_window => {
            (WINDOW1_NARROW_INT64_GLSL, NARROW)
        }
        ([3, 3], [1, 1], _) if glsl_window && !sparse_tiles => (WINDOW3_GLSL, WINDOW),
        ([1, 1], [1, 1], true) if unpadded && octets && gpu.has_int64_loads() => window_in(
            Shader::Conv2dWindowInt64,
            "conv2d_window1_narrow_int64",
            NARROW,
        ),
        ([1, 1], [1, 1], true) if unpadded && quads && gpu.has_int64_loads() => window_in(
            Shader::Conv2dWindowInt64,
            "conv2d_window1_narrow_int64_quads",
            NARROW,
        ),
        ([1, 1], [1, 1], true) if unpadded && octet_rows && gpu.has_int64_loads() => window_in(
            Shader::Conv2dWindowInt64,
            "conv2d_window1_narrow_int64_padded",
            NARROW,
        ),
        ([1, 1], [1, 1], true) if unpadded && narrow => window("conv2d_window1_narrow", NARROW),
        ([1, 1], [1, 1], true) if unpadded => window("conv2d_window1", WINDOW),
        ([3, 3], [1, 1], true) => window("conv2d_window3", WINDOW),
        ([5, 5], [1, 1], true) => window("conv2d_window5", WINDOW),
        ([3, 3], [2, 2], true) => window("conv2d_window3_stride2", WINDOW),
        ([7, 7], [2, 2], true) => window("conv2d_window7_stride2", WINDOW),
        ([1, 1], [1, 1], false) if unpadded && sixteens && uniform_weights => {
            (WIDE1_NARROW_UNIFORM, WIDE_NARROW)
        }
        ([1, 1], [1, 1], false) if unpadded && sixteens => wide("conv2d_wide1_narrow", WIDE_NARROW),
        ([1, 1], [1, 1], false) if unpadded => wide("conv2d_wide1", WIDE),
        ([3, 3], [1, 1], false) => wide("conv2d_wide3", WIDE_BLOCK),
        ([5, 5], [1, 1], false) => wide("conv2d_wide5", WIDE),
        ([3, 3], [2, 2], false) => wide("conv2d_wide3_stride2", WIDE),
        ([7, 7], [2, 2], false) => wide("conv2d_wide7_stride2", WIDE),
        _ => return None,
    };
    let rows = as_rows(g);
    let row = rows.in_width;
    let padded_rows = !row.is_multiple_of(4);
    let padding_pays = if g.kernel == [1, 1] && gpu.has_subgroups() {
        row >= PADDED_PLANE_MIN_WINDOW
    } else if g.kernel == [1, 1] {
        row >= PADDED_PLANE_MIN_WIDE
    } else {
        // KxK: padded for the wide kernels, and for the window kernels on software adapters,
        // whose small workgroups fit small maps (lavapipe: ResNet's 14x14 and 7x7 3x3 layers in
        // 0.77-0.78 of conv2d_subgroup's time, BENCHMARKS.md); GPUs keep conv2d_subgroup there.
        !gpu.has_subgroups() || !gpu.large_workgroups()
    };
    let window = WindowKernel {
        kernel,
        tiling,
        padded_rows,
    };
    // The wide kernels' packed weights must fit one texture.
    let weights_fit = window.packing(g).is_none_or(|packing| packing.fits(gpu, g));
    let applies = g.dilation == [1, 1]
        && (!padded_rows || (padding_pays && padded_image_fits(gpu, &rows)))
        && out_per_group >= SUBGROUP_MIN_CHANNELS.min(window.tiling.channels)
        && weights_fit;
    applies.then_some(window)
}

/// The convolution as the window kernels see it: a 1x1 kernel sees each plane as one row of
/// H*W columns.
fn as_rows(g: &Conv2dGeometry) -> Conv2dGeometry {
    if g.kernel != [1, 1] {
        return *g;
    }
    Conv2dGeometry {
        in_height: 1,
        in_width: g.in_height * g.in_width,
        out_height: 1,
        out_width: g.out_height * g.out_width,
        ..*g
    }
}

/// How many columns before column 0 the tiles start: the tile grid is shifted so that every
/// tile's input window starts on a vec4 boundary. Mirrors `column_origin` in
/// conv2d_window.wgsl and conv2d_wide.wgsl (and `first_column` in conv2d_depthwise.wgsl).
pub(super) fn origin_shift(g: &Conv2dGeometry) -> usize {
    if g.stride[1] == 1 {
        (4 - g.pads.left % 4) % 4
    } else {
        g.pads.left.div_ceil(2) % 2
    }
}

/// Records the weight repacking and the convolution (validated by the caller).
pub(crate) fn record(
    window: WindowKernel,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    g: &Conv2dGeometry,
    activation: Activation,
) -> Result<Tensor> {
    let gpu = input.gpu();
    let output_shape = g.output_shape();
    let rows = as_rows(g);
    let g = &rows;
    let unpadded = *g;
    let padded = on_padded_rows(g);
    let g = if window.padded_rows { &padded } else { g };
    let in_image = g.in_channels * g.in_height * g.in_width;
    let out_image = g.out_channels * g.out_height * g.out_width;
    let grid = Grid::new(window.tiling, g);
    let channel_tiles_per_group = (g.out_channels / g.groups).div_ceil(PACKED_CHANNEL_TILE);
    let chunks = batch_chunks(gpu, "conv2d", g.batch, in_image, out_image)?;
    let largest_chunk = chunks.iter().map(|&(_, images)| images).max().unwrap_or(1);
    let padded_rows = if window.padded_rows {
        Some(PaddedRows::new(gpu, &unpadded, largest_chunk)?)
    } else {
        None
    };
    let output = Tensor::output(gpu, &output_shape)?;

    let params_for = |images: usize| Conv2dParams {
        channel_tiles_per_group: channel_tiles_per_group as u32,
        column_tiles: grid.column_tiles as u32,
        ..Conv2dParams::new(g, images, bias.is_some(), activation)
    };
    let weights = Weights::pack(window.packing(g), weight, g, &params_for(g.batch))?;

    let bias_view = bias.unwrap_or(weight);
    for (first_image, images) in chunks {
        let (input_view, input_base) = match &padded_rows {
            Some(padded_rows) => padded_rows.chunk(input, first_image, images)?,
            None => input.view_range(first_image * in_image, images * in_image),
        };
        let (output_view, output_base) =
            output.view_range(first_image * out_image, images * out_image);
        // Rows of whole vec4s keep every image, and so every binding start, vec4-aligned
        // (conv2d_window1_narrow_int64: octet-aligned, input and output).
        debug_assert_eq!(input_base % 4, 0);
        debug_assert!(
            window.kernel.entry_point != "conv2d_window1_narrow_int64" || output_base % 8 == 0
        );
        let params = Conv2dParams {
            input_base,
            output_base,
            ..params_for(images)
        };
        let workgroups = (images * grid.workgroups_per_image) as u32;
        let views = [input_view, bias_view.view(), output_view];
        weights.dispatch(window.kernel, &params, views, workgroups)?;
    }
    Ok(output)
}
