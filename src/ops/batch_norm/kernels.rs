//! The dispatches of `shaders/batch_norm.wgsl` for validated inputs: the parameter structs that
//! mirror the shader's, and the recording of statistics, running update and normalization.
//! Layout: input and output `[N, C, H, W]`, per-channel tensors `[C]`, partial moments
//! `[C, partials_per_channel, 3]`. Thread mapping (details in the shader): `partial_moments` and
//! `normalize` give each workgroup one channel and a tile of 256 floats per lane (64 on a GPU),
//! read as vec4s when `H*W % 4 == 0`; the merges and per-channel steps run one invocation per
//! output.
//! Batches larger than one storage binding are split along N.

use super::{BatchNormAffine, BatchNormStats, RunningUpdate};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::ops::batching::{batch_chunks, check_fits};
use crate::tensor::Tensor;

/// How `partial_moments` and `normalize` walk a channel, in elements (floats or vec4s): the
/// first seven fields of their parameters, flat in the shader (same bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ChannelTiles {
    channels: u32,
    plane: u32,
    values_per_channel: u32,
    tiles_per_channel: u32,
    run_step_images: u32,
    run_step_pixels: u32,
    per_lane: u32,
}

/// Mirrors `PartialParams` in shaders/batch_norm.wgsl field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PartialParams {
    tiles: ChannelTiles,
    input_base: u32,
    shift_base: u32,
    partials_per_channel: u32,
    partial_base: u32,
    slots_per_tile: u32,
}

/// Mirrors `MergeParams` in shaders/batch_norm.wgsl field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct MergeParams {
    channels: u32,
    partials_in_per_channel: u32,
    partials_out_per_channel: u32,
}

/// Mirrors `FinalizeParams` in shaders/batch_norm.wgsl field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FinalizeParams {
    channels: u32,
    partials_per_channel: u32,
    plane: u32,
    shift_base: u32,
}

/// Mirrors `RunningParams` in shaders/batch_norm.wgsl field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct RunningParams {
    channels: u32,
    momentum: f32,
}

/// Mirrors `NormalizeParams` in shaders/batch_norm.wgsl field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct NormalizeParams {
    tiles: ChannelTiles,
    input_base: u32,
    output_base: u32,
    eps: f32,
}

const WORKGROUP_SIZE: usize = 64;
/// Lanes that read one contiguous stretch of a channel together.
const RUN: usize = 8;
/// Floats per lane: 256 on a CPU adapter, where a lane's set-up (it divides) weighed as much as
/// its loads (bn_stats at 8x64x56x56: 64 floats per lane 1.82 ms, 256 1.39 ms on lavapipe); 64
/// on a GPU, which wants the lanes (256 took an H200's bn_apply from 0.116 to 0.195 ms).
const CPU_FLOATS_PER_LANE: usize = 256;
const GPU_FLOATS_PER_LANE: usize = 64;
const MERGE_WIDTH: usize = 64;
/// Floats per partial: count, mean, m2.
const MOMENT_FLOATS: usize = 3;

/// Floats or vec4s: vec4s when every `(n, c)` plane holds a whole number of them (then every
/// chunk and base below is a multiple of 4 floats too).
#[derive(Debug, Clone, Copy)]
struct Elements {
    width: usize,
    per_lane: usize,
}

impl Elements {
    fn for_plane(gpu: &Gpu, plane: usize) -> Elements {
        let floats_per_lane = if gpu.inner.cpu_adapter {
            CPU_FLOATS_PER_LANE
        } else {
            GPU_FLOATS_PER_LANE
        };
        let width = if plane.is_multiple_of(4) { 4 } else { 1 };
        Elements {
            width,
            per_lane: floats_per_lane / width,
        }
    }

    /// `entry_point`, or its `_vec4` twin.
    fn kernel(self, scalar: &'static str, vector: &'static str) -> Kernel {
        let entry_point = if self.width == 4 { vector } else { scalar };
        Kernel::new(Shader::BatchNorm, entry_point)
    }

    /// `images` images of `[channels, plane floats]`, in tiles of 64 lanes.
    fn tiles(self, channels: usize, plane: usize, images: usize) -> ChannelTiles {
        let plane = plane / self.width;
        ChannelTiles {
            channels: channels as u32,
            plane: plane as u32,
            values_per_channel: (images * plane) as u32,
            tiles_per_channel: (images * plane).div_ceil(WORKGROUP_SIZE * self.per_lane) as u32,
            run_step_images: (RUN / plane) as u32,
            run_step_pixels: (RUN % plane) as u32,
            per_lane: self.per_lane as u32,
        }
    }

    /// Partials each `partial_moments` workgroup writes: one per lane, or, when a channel fits
    /// in one tile, one per lane that holds values (lanes fill runs of RUN in order).
    fn slots_per_tile(self, tiles: &ChannelTiles) -> usize {
        let values = tiles.values_per_channel as usize;
        if tiles.tiles_per_channel > 1 {
            return WORKGROUP_SIZE;
        }
        let run_span = RUN * self.per_lane;
        let full_runs = (values - 1) / run_span;
        full_runs * RUN + (values - full_runs * run_span).min(RUN)
    }
}

fn kernel(entry_point: &'static str) -> Kernel {
    Kernel::new(Shader::BatchNorm, entry_point)
}

/// Records the statistics of a validated input: a partial per lane for each chunk of images,
/// merge levels until at most 64 partials per channel remain, then one invocation per channel.
pub(super) fn record_stats(input: &Tensor, dims: [usize; 4]) -> Result<BatchNormStats> {
    let gpu = input.gpu();
    let [batch, channels, height, width] = dims;
    let plane = height * width;
    let image = channels * plane;
    let elements = Elements::for_plane(gpu, plane);
    let chunks = batch_chunks(gpu, "batch_norm_stats", batch, image, 0)?;
    let tiles: Vec<ChannelTiles> = chunks
        .iter()
        .map(|&(_, images)| elements.tiles(channels, plane, images))
        .collect();
    let partials_per_channel: usize = tiles
        .iter()
        .map(|t| elements.slots_per_tile(t) * t.tiles_per_channel as usize)
        .sum();
    let partial_floats = MOMENT_FLOATS * channels * partials_per_channel;
    check_fits(gpu, "batch_norm partial moments", partial_floats)?;
    let mut partials = Tensor::output(gpu, &[channels, partials_per_channel, MOMENT_FLOATS])?;
    // Each channel's moments are taken of x - x[0, c, 0, 0] (see the shader's header).
    let shift_base = input.view_range(0, image).1;
    let mut partial_base = 0;
    for (&(first_image, images), &tiles) in chunks.iter().zip(&tiles) {
        let (input_view, input_base) = input.view_range(first_image * image, images * image);
        let params = PartialParams {
            tiles,
            input_base: input_base / elements.width as u32,
            shift_base,
            partials_per_channel: partials_per_channel as u32,
            partial_base: partial_base as u32,
            slots_per_tile: elements.slots_per_tile(&tiles) as u32,
        };
        let views = [input_view, input.view_range(0, image).0, partials.view()];
        let kernel = elements.kernel("partial_moments", "partial_moments_vec4");
        gpu.dispatch(
            kernel,
            &params,
            &views,
            tiles.channels * tiles.tiles_per_channel,
        )?;
        partial_base += elements.slots_per_tile(&tiles) * tiles.tiles_per_channel as usize;
    }
    let mut count = partials_per_channel;
    while count > MERGE_WIDTH {
        let merged_count = count.div_ceil(MERGE_WIDTH);
        let merged = Tensor::output(gpu, &[channels, merged_count, MOMENT_FLOATS])?;
        let params = MergeParams {
            channels: channels as u32,
            partials_in_per_channel: count as u32,
            partials_out_per_channel: merged_count as u32,
        };
        let workgroups = (channels * merged_count).div_ceil(WORKGROUP_SIZE) as u32;
        let views = [partials.view(), merged.view()];
        gpu.dispatch(kernel("merge_moments"), &params, &views, workgroups)?;
        (partials, count) = (merged, merged_count);
    }
    let stats = BatchNormStats {
        mean: Tensor::output(gpu, &[channels])?,
        var_biased: Tensor::output(gpu, &[channels])?,
        var_unbiased: Tensor::output(gpu, &[channels])?,
    };
    let params = FinalizeParams {
        channels: channels as u32,
        partials_per_channel: count as u32,
        plane: plane as u32,
        shift_base,
    };
    let views = [
        partials.view(),
        input.view_range(0, image).0,
        stats.mean.view(),
        stats.var_biased.view(),
        stats.var_unbiased.view(),
    ];
    let workgroups = channels.div_ceil(WORKGROUP_SIZE) as u32;
    gpu.dispatch(kernel("finalize_moments"), &params, &views, workgroups)?;
    Ok(stats)
}

/// Records `running = (1 - momentum) * running + momentum * batch` (unbiased variance).
pub(super) fn record_running_update(stats: &BatchNormStats, running: &RunningUpdate) -> Result<()> {
    let channels = stats.mean.len();
    let params = RunningParams {
        channels: channels as u32,
        momentum: running.momentum,
    };
    let views = [
        stats.mean.view(),
        stats.var_unbiased.view(),
        running.mean.view(),
        running.var.view(),
    ];
    let workgroups = channels.div_ceil(WORKGROUP_SIZE) as u32;
    let gpu = stats.mean.gpu();
    gpu.dispatch(kernel("update_running_stats"), &params, &views, workgroups)
}

/// Records `(x - mean) * gamma / sqrt(var + eps) + beta` over a validated input.
pub(super) fn record_normalize(
    input: &Tensor,
    dims: [usize; 4],
    mean: &Tensor,
    var: &Tensor,
    affine: &BatchNormAffine,
) -> Result<Tensor> {
    let gpu = input.gpu();
    let [batch, channels, height, width] = dims;
    let plane = height * width;
    let image = channels * plane;
    let elements = Elements::for_plane(gpu, plane);
    let chunks = batch_chunks(gpu, "batch_norm", batch, image, image)?;
    let output = Tensor::output(gpu, &dims)?;
    for (first_image, images) in chunks {
        let (input_view, input_base) = input.view_range(first_image * image, images * image);
        let (output_view, output_base) = output.view_range(first_image * image, images * image);
        let tiles = elements.tiles(channels, plane, images);
        let params = NormalizeParams {
            tiles,
            input_base: input_base / elements.width as u32,
            output_base: output_base / elements.width as u32,
            eps: affine.eps,
        };
        let views = [
            input_view,
            mean.view(),
            var.view(),
            affine.gamma.view(),
            affine.beta.view(),
            output_view,
        ];
        let kernel = elements.kernel("normalize", "normalize_vec4");
        gpu.dispatch(
            kernel,
            &params,
            &views,
            tiles.channels * tiles.tiles_per_channel,
        )?;
    }
    Ok(output)
}
