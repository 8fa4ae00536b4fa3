//! batch_norm: per-channel statistics over N, H and W, and PyTorch's training and inference
//! forward, on `shaders/batch_norm.wgsl`. Layout: input and output `[N, C, H, W]`, per-channel
//! tensors `[C]`. This file holds the API and the validation shared with the CPU reference;
//! `kernels` records the dispatches.
//!
//! Statistics never use `E[x^2] - E[x]^2`: each lane of `partial_moments` merges its 64 values
//! (taken relative to the channel's first value) into a (count, mean, m2), and Chan's formula
//! merges those partials in `merge_moments` and `finalize_moments`. `normalize` computes
//! `(x - mean) * gamma / sqrt(var + eps) + beta`. Every op only records work, so a training step
//! (statistics, running update, normalization) joins the caller's submission.

mod kernels;

use crate::error::{Error, Result};
use crate::shape::nchw_nonempty;
use crate::tensor::Tensor;
use kernels::{record_normalize, record_running_update, record_stats};

/// Per-channel statistics over N, H and W; `T` is [`Tensor`] on the GPU, `HostTensor` in the
/// reference.
#[derive(Debug, Clone)]
pub struct BatchNormStats<T = Tensor> {
    /// `sum(x) / M`, with `M = N*H*W`.
    pub mean: T,
    /// `sum((x - mean)^2) / M`: what normalization divides by in training mode.
    pub var_biased: T,
    /// `sum((x - mean)^2) / (M - 1)`: what the running variance averages.
    pub var_unbiased: T,
}

/// The affine part of a batch norm: `y = (x - mean) / sqrt(var + eps) * gamma + beta`.
#[derive(Debug, Clone, Copy)]
pub struct BatchNormAffine<'a, T = Tensor> {
    /// `[C]`, PyTorch's `weight`.
    pub gamma: &'a T,
    /// `[C]`, PyTorch's `bias`.
    pub beta: &'a T,
    pub eps: f32,
}

/// Running statistics, read by inference mode.
#[derive(Debug, Clone, Copy)]
pub struct RunningStats<'a, T = Tensor> {
    /// `[C]`
    pub mean: &'a T,
    /// `[C]`
    pub var: &'a T,
}

/// Running statistics that a training step updates in place:
/// `running = (1 - momentum) * running + momentum * batch` (the variance with `M - 1`).
#[derive(Debug, Clone, Copy)]
pub struct RunningUpdate<'a, T = Tensor> {
    pub mean: &'a T,
    pub var: &'a T,
    /// The weight of this batch, as in `torch.nn.functional.batch_norm`. For a cumulative
    /// average (`momentum=None` in `nn.BatchNorm2d`) pass `1 / num_batches_tracked`, counting
    /// this batch, as PyTorch does; `BatchNorm2d` does it for you.
    pub momentum: f32,
}

/// Validates a batch-norm input `[N, C, H, W]` (4-D, no zero-size dimension) and its per-channel
/// tensors (each exactly `[C]`). With `batch_statistics`, each channel needs at least two values
/// (`N*H*W >= 2`): the unbiased variance divides by `N*H*W - 1`. Shared with the reference.
pub fn batch_norm_dims(
    op: &str,
    input: &[usize],
    per_channel: &[(&str, &[usize])],
    batch_statistics: bool,
) -> Result<[usize; 4]> {
    let dims = nchw_nonempty(&format!("{op} input"), input)?;
    let [batch, channels, height, width] = dims;
    for (name, shape) in per_channel {
        if *shape != [channels] {
            return Err(Error::Shape {
                what: format!("{op} {name}"),
                expected: format!("[{channels}] (one value per input channel)"),
                actual: shape.to_vec(),
            });
        }
    }
    if batch_statistics && batch * height * width < 2 {
        return Err(Error::Shape {
            what: format!("{op} input"),
            expected: "more than one value per channel (N*H*W >= 2) for batch statistics".into(),
            actual: input.to_vec(),
        });
    }
    Ok(dims)
}

/// Per-channel mean and biased and unbiased variance over N, H and W. Records the work.
pub fn batch_norm_stats(input: &Tensor) -> Result<BatchNormStats> {
    let dims = batch_norm_dims("batch_norm_stats", input.shape(), &[], true)?;
    record_stats(input, dims)
}

/// Training-mode forward: normalizes with the batch mean and biased variance, applies gamma and
/// beta, and, when `running` is given, updates the running statistics in place on the GPU with
/// the unbiased variance (`None` is `track_running_stats=False`). Records the work.
pub fn batch_norm_train(
    input: &Tensor,
    affine: &BatchNormAffine,
    running: Option<&RunningUpdate>,
) -> Result<Tensor> {
    let gpu = input.gpu();
    let mut per_channel = vec![("gamma", affine.gamma), ("beta", affine.beta)];
    if let Some(running) = running {
        per_channel.extend([("running_mean", running.mean), ("running_var", running.var)]);
    }
    let mut shapes = Vec::new();
    for (name, tensor) in &per_channel {
        tensor.check_gpu(gpu, &format!("batch_norm_train {name}"))?;
        shapes.push((*name, tensor.shape()));
    }
    let dims = batch_norm_dims("batch_norm_train", input.shape(), &shapes, true)?;
    let stats = record_stats(input, dims)?;
    if let Some(running) = running {
        running.mean.written_in_place();
        running.var.written_in_place();
        record_running_update(&stats, running)?;
    }
    record_normalize(input, dims, &stats.mean, &stats.var_biased, affine)
}

/// Inference-mode forward: normalizes with the running statistics (left unchanged). One value
/// per channel is fine here. Records the work.
pub fn batch_norm_eval(
    input: &Tensor,
    affine: &BatchNormAffine,
    running: &RunningStats,
) -> Result<Tensor> {
    let gpu = input.gpu();
    let per_channel = [
        ("gamma", affine.gamma),
        ("beta", affine.beta),
        ("running_mean", running.mean),
        ("running_var", running.var),
    ];
    let mut shapes = Vec::new();
    for (name, tensor) in &per_channel {
        tensor.check_gpu(gpu, &format!("batch_norm_eval {name}"))?;
        shapes.push((*name, tensor.shape()));
    }
    let dims = batch_norm_dims("batch_norm_eval", input.shape(), &shapes, false)?;
    record_normalize(input, dims, running.mean, running.var, affine)
}
