//! conv2d's channel split, for GPUs: a convolution with few outputs gives a GPU too few
//! invocations, each over a long reduction (on an NVIDIA H200 ResNet-18's 512->512 3x3 at 7x7
//! ran 12x slower than cuDNN, conv5x5_naive 27x). Its input channels are cut into S chunks and
//! it runs as the grouped convolution of the same input with groups = S and out channels S x K
//! (the weight permuted from [K, S, C/S, KH, KW] to [S, K, C/S, KH, KW], `split_weights`),
//! whose group s is chunk s's partial sum; `sum_chunks` adds the S partial sums, the bias and
//! the activation (`shaders/conv2d_split.wgsl`, one invocation per float each). All three record
//! into the same submission. On the H200 (BENCHMARKS.md) 512->512 3x3 at 7x7 went from 1.49 to
//! 0.19 ms, conv5x5_naive from 1.37 to 0.13, a 512->1000 linear layer from 0.61 to 0.11.
//! Software adapters never split: their few threads are kept busy by one grid already, and the
//! split measured 1.1-2.5x slower on lavapipe and llvmpipe (conv1x1_incep 0.65-0.82 -> 1.8-2.1
//! ms, 512->512 3x3 at 7x7 33-34 -> 49-77 on lavapipe). `GpuOptions::channel_split_outputs` sets
//! the size a split aims for.

use super::{Conv2dGeometry, Conv2dOptions};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::ops::activation::Activation;
use crate::ops::batching::check_fits;
use crate::tensor::Tensor;

/// Mirrors `ChannelSplitParams` in shaders/conv2d_split.wgsl field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ChannelSplitParams {
    batch: u32,
    chunks: u32,
    out_channels: u32,
    chunk_length: u32,
    plane: u32,
    has_bias: u32,
    activation: u32,
    leaky_slope: f32,
}

/// Both entry points' workgroup (`WORKGROUP_SIZE` in conv2d_split.wgsl).
const WORKGROUP_SIZE: usize = 64;
const SPLIT_WEIGHTS: Kernel = Kernel::new(Shader::Conv2dSplit, "split_weights");
const SUM_CHUNKS: Kernel = Kernel::new(Shader::Conv2dSplit, "sum_chunks");
/// The fewest taps (input channels x kernel height x kernel width) a chunk keeps: 16 channels of
/// a 1x1 kernel, 2 of a 3x3, 1 of a 5x5. On the H200, against 16 channels a chunk whatever the
/// kernel: conv5x5_incep 0.17 -> 0.09 ms (16 chunks, none before), conv5x5_naive 0.27-0.29 ->
/// 0.13 (32 chunks of 6 channels, 8 before), 1x1 layers unchanged.
const MIN_CHUNK_TAPS: usize = 16;
/// The most chunks.
const MAX_CHUNKS: usize = 64;

/// How many chunks `g`'s input channels are cut into (1: no split). Ungrouped convolutions
/// only; the count is the largest power of two that divides the input channels, leaves each
/// chunk at least `MIN_CHUNK_TAPS` taps, and keeps chunks x outputs (N x K x H_out x W_out)
/// within the Gpu's `channel_split_outputs` (0 on software adapters: never) and the partial
/// sums within one storage binding.
pub(super) fn chunks(gpu: &Gpu, g: &Conv2dGeometry) -> usize {
    let outputs = g.batch * g.out_channels * g.out_height * g.out_width;
    let binding_floats = (gpu.max_storage_binding_bytes() / 4) as usize;
    let limit = gpu.channel_split_outputs().min(binding_floats);
    let taps = g.kernel[0] * g.kernel[1];
    let weight_fits = g.out_channels * g.in_channels * taps <= binding_floats;
    let mut chunks = 1;
    while g.groups == 1
        && weight_fits
        && chunks * 2 <= MAX_CHUNKS
        && g.in_channels.is_multiple_of(chunks * 2)
        && g.in_channels / (chunks * 2) * taps >= MIN_CHUNK_TAPS
        && outputs * chunks * 2 <= limit
    {
        chunks *= 2;
    }
    chunks
}

/// The grouped convolution that computes the partial sums.
pub(super) fn grouped(g: &Conv2dGeometry, chunks: usize) -> Conv2dGeometry {
    Conv2dGeometry {
        groups: chunks,
        out_channels: g.out_channels * chunks,
        ..*g
    }
}

/// Records the weight permutation, the grouped convolution and the sum (validated by the
/// caller; `chunks` from [`chunks`]).
pub(super) fn record(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    options: &Conv2dOptions,
    g: &Conv2dGeometry,
    chunks: usize,
) -> Result<Tensor> {
    let gpu = input.gpu();
    let plane = g.out_height * g.out_width;
    let chunk_channels = g.in_channels / chunks;
    let chunk_length = chunk_channels * g.kernel[0] * g.kernel[1];
    let partial_len = g.batch * chunks * g.out_channels * plane;
    check_fits(gpu, "conv2d partial sums", partial_len)?;
    let (activation, leaky_slope) = options.activation.code();
    let params = ChannelSplitParams {
        batch: g.batch as u32,
        chunks: chunks as u32,
        out_channels: g.out_channels as u32,
        chunk_length: chunk_length as u32,
        plane: plane as u32,
        has_bias: bias.is_some() as u32,
        activation,
        leaky_slope,
    };
    let weight_shape = [
        chunks * g.out_channels,
        chunk_channels,
        g.kernel[0],
        g.kernel[1],
    ];
    let split_weight = Tensor::output(gpu, &weight_shape)?;
    let views = [weight.view(), split_weight.view()];
    let workgroups = weight.len().div_ceil(WORKGROUP_SIZE) as u32;
    gpu.dispatch(SPLIT_WEIGHTS, &params, &views, workgroups)?;

    let grouped_options = Conv2dOptions {
        groups: chunks,
        activation: Activation::None,
        ..*options
    };
    let partial = super::conv2d(input, &split_weight, None, &grouped_options)?;

    let output = Tensor::output(gpu, &g.output_shape())?;
    let views = [partial.view(), output.view(), bias.unwrap_or(weight).view()];
    let workgroups = output.len().div_ceil(WORKGROUP_SIZE) as u32;
    gpu.dispatch(SUM_CHUNKS, &params, &views, workgroups)?;
    Ok(output)
}
