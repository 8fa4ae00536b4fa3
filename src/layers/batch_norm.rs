//! `BatchNorm2d`: PyTorch's `nn.BatchNorm2d` over `[N, C, H, W]`, with gamma, beta and the
//! running statistics on the GPU; and `Conv2d::fold_batch_norm`, which folds an inference-mode
//! batch norm into the preceding convolution's weight and bias (how deployed CNNs run it).

use super::conv2d::Conv2d;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::host::HostTensor;
use crate::ops::activation::Activation;
use crate::ops::batch_norm::{
    batch_norm_eval, batch_norm_train, BatchNormAffine, RunningStats, RunningUpdate,
};
use crate::tensor::Tensor;

/// `nn.BatchNorm2d`'s settings. `Default` is PyTorch's: eps 1e-5, momentum 0.1, running stats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNorm2dOptions {
    pub eps: f32,
    /// Weight of each new batch in the running statistics; `None` is a cumulative average over
    /// all batches seen (`1 / num_batches_tracked`).
    pub momentum: Option<f32>,
    /// Keep running statistics. Without them both modes normalize with the batch statistics,
    /// as in PyTorch.
    pub track_running_stats: bool,
}

impl Default for BatchNorm2dOptions {
    fn default() -> Self {
        BatchNorm2dOptions {
            eps: 1e-5,
            momentum: Some(0.1),
            track_running_stats: true,
        }
    }
}

/// A batch-norm layer. It starts in training mode, like a fresh PyTorch module. A clone shares
/// the GPU tensors (a training step through either updates the same running statistics) but
/// keeps its own `num_batches_tracked`.
#[derive(Debug, Clone)]
pub struct BatchNorm2d {
    gamma: Tensor,
    beta: Tensor,
    /// `(running_mean, running_var)`, updated in place by training-mode `forward`.
    running: Option<(Tensor, Tensor)>,
    num_batches_tracked: u64,
    options: BatchNorm2dOptions,
    training: bool,
}

impl BatchNorm2d {
    /// PyTorch's initial state: gamma 1, beta 0, running mean 0, running variance 1.
    pub fn new(gpu: &Gpu, channels: usize, options: BatchNorm2dOptions) -> Result<BatchNorm2d> {
        let running = options.track_running_stats.then(|| {
            (
                HostTensor::filled(&[channels], 0.0),
                HostTensor::filled(&[channels], 1.0),
            )
        });
        BatchNorm2d::with_parameters(
            gpu,
            &HostTensor::filled(&[channels], 1.0),
            &HostTensor::filled(&[channels], 0.0),
            running
                .as_ref()
                .map(|(mean, var)| RunningStats { mean, var }),
            options,
        )
    }

    /// Uploads trained parameters. `running` must be given exactly when
    /// `options.track_running_stats` is true; every tensor must be `[C]`.
    pub fn with_parameters(
        gpu: &Gpu,
        gamma: &HostTensor,
        beta: &HostTensor,
        running: Option<RunningStats<HostTensor>>,
        options: BatchNorm2dOptions,
    ) -> Result<BatchNorm2d> {
        if running.is_some() != options.track_running_stats {
            return Err(Error::Parameter {
                what: "BatchNorm2d running statistics".into(),
                expected: format!(
                    "running statistics exactly when track_running_stats ({})",
                    options.track_running_stats
                ),
                actual: format!("running statistics given: {}", running.is_some()),
            });
        }
        let channels = gamma.data().len();
        let mut tensors = vec![("gamma", gamma), ("beta", beta)];
        if let Some(running) = &running {
            tensors.extend([("running_mean", running.mean), ("running_var", running.var)]);
        }
        for (name, tensor) in tensors {
            if tensor.shape() != [channels] {
                return Err(Error::Shape {
                    what: format!("BatchNorm2d {name}"),
                    expected: format!("[{channels}] (the length of gamma)"),
                    actual: tensor.shape().to_vec(),
                });
            }
        }
        Ok(BatchNorm2d {
            gamma: gamma.upload(gpu)?,
            beta: beta.upload(gpu)?,
            running: running
                .map(|r| Ok::<_, Error>((r.mean.upload(gpu)?, r.var.upload(gpu)?)))
                .transpose()?,
            num_batches_tracked: 0,
            options,
            training: true,
        })
    }

    /// Training mode: batch statistics, running statistics updated by each `forward`.
    pub fn train(&mut self) {
        self.training = true;
    }

    /// Inference mode: normalize with the running statistics.
    pub fn eval(&mut self) {
        self.training = false;
    }

    pub fn is_training(&self) -> bool {
        self.training
    }

    /// Normalizes `input` `[N, C, H, W]`. In training mode (or without running statistics) it
    /// uses the batch statistics, needing `N*H*W >= 2`; in training mode it also updates the
    /// running statistics on the GPU and counts the batch. Records the work.
    pub fn forward(&mut self, input: &Tensor) -> Result<Tensor> {
        let affine = BatchNormAffine {
            gamma: &self.gamma,
            beta: &self.beta,
            eps: self.options.eps,
        };
        let Some((mean, var)) = &self.running else {
            return batch_norm_train(input, &affine, None);
        };
        if !self.training {
            return batch_norm_eval(input, &affine, &RunningStats { mean, var });
        }
        let batches = self.num_batches_tracked + 1;
        let momentum = self.options.momentum.unwrap_or(1.0 / batches as f32);
        let update = RunningUpdate {
            mean,
            var,
            momentum,
        };
        let output = batch_norm_train(input, &affine, Some(&update))?;
        self.num_batches_tracked = batches;
        Ok(output)
    }

    pub fn channels(&self) -> usize {
        self.gamma.len()
    }

    pub fn gamma(&self) -> &Tensor {
        &self.gamma
    }

    pub fn beta(&self) -> &Tensor {
        &self.beta
    }

    pub fn running_mean(&self) -> Option<&Tensor> {
        self.running.as_ref().map(|(mean, _)| mean)
    }

    pub fn running_var(&self) -> Option<&Tensor> {
        self.running.as_ref().map(|(_, var)| var)
    }

    /// Training-mode batches seen so far (PyTorch's `num_batches_tracked`).
    pub fn num_batches_tracked(&self) -> u64 {
        self.num_batches_tracked
    }

    pub fn options(&self) -> &BatchNorm2dOptions {
        &self.options
    }
}

impl Conv2d {
    /// This convolution followed by `batch_norm` in inference mode, as one convolution:
    /// `w' = w * gamma / sqrt(var + eps)` per output channel and
    /// `b' = (b - mean) * gamma / sqrt(var + eps) + beta`, computed in f64 on the host from the
    /// running statistics (this reads the parameters back once). The convolution must have no
    /// activation of its own; give the folded one the activation that followed the batch norm
    /// with [`Conv2d::with_activation`], so conv -> BN -> ReLU becomes one fused kernel.
    pub fn fold_batch_norm(&self, batch_norm: &BatchNorm2d) -> Result<Conv2d> {
        if self.options().activation != Activation::None {
            return Err(Error::Parameter {
                what: "Conv2d::fold_batch_norm convolution".into(),
                expected: "no activation (the batch norm comes before it)".into(),
                actual: format!("{:?}", self.options().activation),
            });
        }
        let (Some(running_mean), Some(running_var)) =
            (batch_norm.running_mean(), batch_norm.running_var())
        else {
            return Err(Error::Parameter {
                what: "Conv2d::fold_batch_norm batch norm".into(),
                expected: "running statistics (track_running_stats = true)".into(),
                actual: "none: it normalizes with batch statistics, which cannot be folded".into(),
            });
        };
        let weight = HostTensor::download(self.weight())?;
        let out_channels = weight.shape()[0];
        if batch_norm.channels() != out_channels {
            return Err(Error::Shape {
                what: "Conv2d::fold_batch_norm batch norm".into(),
                expected: format!("{out_channels} channels (the conv's output channels)"),
                actual: vec![batch_norm.channels()],
            });
        }
        let read = |t: &Tensor| -> Result<Vec<f64>> {
            Ok(t.to_vec()?.into_iter().map(f64::from).collect())
        };
        let (gamma, beta) = (read(batch_norm.gamma())?, read(batch_norm.beta())?);
        let (mean, var) = (read(running_mean)?, read(running_var)?);
        let bias = match self.bias() {
            Some(bias) => read(bias)?,
            None => vec![0.0; out_channels],
        };
        let eps = batch_norm.options().eps as f64;
        let scale: Vec<f64> = (0..out_channels)
            .map(|o| gamma[o] / (var[o] + eps).sqrt())
            .collect();
        let per_channel = weight.data().len() / out_channels;
        let folded_weight = weight
            .data()
            .iter()
            .enumerate()
            .map(|(index, &w)| (w as f64 * scale[index / per_channel]) as f32)
            .collect();
        let folded_bias = (0..out_channels)
            .map(|o| ((bias[o] - mean[o]) * scale[o] + beta[o]) as f32)
            .collect();
        Conv2d::new(
            self.weight().gpu(),
            &HostTensor::new(weight.shape(), folded_weight)?,
            Some(&HostTensor::new(&[out_channels], folded_bias)?),
            *self.options(),
        )
    }
}
