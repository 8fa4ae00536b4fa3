//! CPU reference of batch norm: per-channel statistics by two passes in f64 (mean, then the sum
//! of squared deviations), training forward with the running-statistics update, inference
//! forward. Validation is the GPU path's [`batch_norm_dims`].

use crate::error::Result;
use crate::host::HostTensor;
use crate::ops::batch_norm::{
    batch_norm_dims, BatchNormAffine, BatchNormStats, RunningStats, RunningUpdate,
};

/// What a reference training step returns: the output and, when running statistics were
/// given, their updated values (the inputs are not modified).
#[derive(Debug, Clone)]
pub struct BatchNormTrainOutput {
    pub output: HostTensor,
    pub running_mean: Option<HostTensor>,
    pub running_var: Option<HostTensor>,
}

/// Per-channel `(mean, sum of squared deviations, count)` in f64, by two passes.
fn channel_moments(input: &HostTensor, dims: [usize; 4]) -> Vec<(f64, f64, usize)> {
    let [batch, channels, height, width] = dims;
    let plane = height * width;
    let values = |channel: usize| {
        (0..batch).flat_map(move |n| {
            let start = (n * channels + channel) * plane;
            input.data()[start..start + plane].iter().map(|&x| x as f64)
        })
    };
    (0..channels)
        .map(|channel| {
            let count = batch * plane;
            let mean = values(channel).sum::<f64>() / count as f64;
            let m2 = values(channel)
                .map(|x| (x - mean) * (x - mean))
                .sum::<f64>();
            (mean, m2, count)
        })
        .collect()
}

fn per_channel(values: impl Iterator<Item = f64>) -> Result<HostTensor> {
    let data: Vec<f32> = values.map(|v| v as f32).collect();
    HostTensor::new(&[data.len()], data)
}

/// Reference of [`crate::batch_norm_stats`].
pub fn batch_norm_stats(input: &HostTensor) -> Result<BatchNormStats<HostTensor>> {
    let dims = batch_norm_dims("batch_norm_stats", input.shape(), &[], true)?;
    let moments = channel_moments(input, dims);
    Ok(BatchNormStats {
        mean: per_channel(moments.iter().map(|m| m.0))?,
        var_biased: per_channel(moments.iter().map(|m| m.1 / m.2 as f64))?,
        var_unbiased: per_channel(moments.iter().map(|m| m.1 / (m.2 - 1) as f64))?,
    })
}

/// `(x - mean) / sqrt(var + eps) * gamma + beta` with f64 per-channel `mean` and `var`.
fn normalize(
    input: &HostTensor,
    dims: [usize; 4],
    mean: &[f64],
    var: &[f64],
    affine: &BatchNormAffine<HostTensor>,
) -> Result<HostTensor> {
    let [_, channels, height, width] = dims;
    let plane = height * width;
    let (gamma, beta) = (affine.gamma.data(), affine.beta.data());
    let data = input
        .data()
        .iter()
        .enumerate()
        .map(|(index, &x)| {
            let c = index / plane % channels;
            let scale = gamma[c] as f64 / (var[c] + affine.eps as f64).sqrt();
            ((x as f64 - mean[c]) * scale + beta[c] as f64) as f32
        })
        .collect();
    HostTensor::new(input.shape(), data)
}

/// Reference of [`crate::batch_norm_train`].
pub fn batch_norm_train(
    input: &HostTensor,
    affine: &BatchNormAffine<HostTensor>,
    running: Option<&RunningUpdate<HostTensor>>,
) -> Result<BatchNormTrainOutput> {
    let mut shapes = vec![
        ("gamma", affine.gamma.shape()),
        ("beta", affine.beta.shape()),
    ];
    if let Some(running) = running {
        shapes.extend([
            ("running_mean", running.mean.shape()),
            ("running_var", running.var.shape()),
        ]);
    }
    let dims = batch_norm_dims("batch_norm_train", input.shape(), &shapes, true)?;
    let moments = channel_moments(input, dims);
    let mean: Vec<f64> = moments.iter().map(|m| m.0).collect();
    let var_biased: Vec<f64> = moments.iter().map(|m| m.1 / m.2 as f64).collect();
    let output = normalize(input, dims, &mean, &var_biased, affine)?;
    let (mut running_mean, mut running_var) = (None, None);
    if let Some(running) = running {
        let momentum = running.momentum as f64;
        let average = |old: &HostTensor, batch: &mut dyn Iterator<Item = f64>| {
            per_channel(
                old.data()
                    .iter()
                    .zip(batch)
                    .map(|(&old, new)| (1.0 - momentum) * old as f64 + momentum * new),
            )
        };
        running_mean = Some(average(running.mean, &mut mean.iter().copied())?);
        let mut var_unbiased = moments.iter().map(|m| m.1 / (m.2 - 1) as f64);
        running_var = Some(average(running.var, &mut var_unbiased)?);
    }
    Ok(BatchNormTrainOutput {
        output,
        running_mean,
        running_var,
    })
}

/// Reference of [`crate::batch_norm_eval`].
pub fn batch_norm_eval(
    input: &HostTensor,
    affine: &BatchNormAffine<HostTensor>,
    running: &RunningStats<HostTensor>,
) -> Result<HostTensor> {
    let shapes = [
        ("gamma", affine.gamma.shape()),
        ("beta", affine.beta.shape()),
        ("running_mean", running.mean.shape()),
        ("running_var", running.var.shape()),
    ];
    let dims = batch_norm_dims("batch_norm_eval", input.shape(), &shapes, false)?;
    let widen = |t: &HostTensor| t.data().iter().map(|&v| v as f64).collect::<Vec<f64>>();
    normalize(
        input,
        dims,
        &widen(running.mean),
        &widen(running.var),
        affine,
    )
}
