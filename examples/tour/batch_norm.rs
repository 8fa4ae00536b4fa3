//! Tour section: batch-norm statistics (on data far from zero), the training forward with its
//! running update, the inference forward, and conv -> BN -> ReLU folded into one conv.

use crate::Tour;
use wgcnn::{
    batch_norm_eval, batch_norm_stats, batch_norm_train, reference, Activation, BatchNorm2d,
    BatchNorm2dOptions, BatchNormAffine, Conv2d, Conv2dOptions, HostTensor, Padding, Result,
    RunningStats, RunningUpdate,
};

fn random(tour: &mut Tour, shape: &[usize], scale: f32, offset: f32) -> HostTensor {
    HostTensor::new(
        shape,
        tour.rng.normals(shape.iter().product(), scale, offset),
    )
    .expect("consistent shape")
}

pub fn run(tour: &mut Tour) -> Result<()> {
    let shape = [8, 64, 56, 56];
    let channels = shape[1];
    // Values near 100 with spread 2: a float32 E[x^2] - E[x]^2 would lose most digits.
    let input = random(tour, &shape, 2.0, 100.0);
    let x = input.upload(&tour.gpu)?;
    tour.check(
        "batch_norm_stats mean",
        || Ok(batch_norm_stats(&x)?.mean),
        || Ok(reference::batch_norm_stats(&input)?.mean),
        1e-6,
    )?;
    tour.check(
        "batch_norm_stats var_unbiased",
        || Ok(batch_norm_stats(&x)?.var_unbiased),
        || Ok(reference::batch_norm_stats(&input)?.var_unbiased),
        1e-5,
    )?;

    let gamma = random(tour, &[channels], 0.2, 1.0);
    let beta = random(tour, &[channels], 0.5, 0.0);
    let running_mean = random(tour, &[channels], 1.0, 100.0);
    let running_var = random(tour, &[channels], 0.2, 4.0);
    let [g, b, m, v] = [&gamma, &beta, &running_mean, &running_var].map(|t| t.upload(&tour.gpu));
    let (g, b, m, v) = (g?, b?, m?, v?);
    let affine = BatchNormAffine {
        gamma: &g,
        beta: &b,
        eps: 1e-5,
    };
    let host_affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: 1e-5,
    };
    // Every run also updates these running statistics in place (the output does not use them).
    let (train_mean, train_var) = (
        running_mean.upload(&tour.gpu)?,
        running_var.upload(&tour.gpu)?,
    );
    let update = RunningUpdate {
        mean: &train_mean,
        var: &train_var,
        momentum: 0.1,
    };
    tour.check(
        "batch_norm_train (momentum 0.1)",
        || batch_norm_train(&x, &affine, Some(&update)),
        || Ok(reference::batch_norm_train(&input, &host_affine, None)?.output),
        1e-5,
    )?;
    tour.check(
        "batch_norm_eval",
        || batch_norm_eval(&x, &affine, &RunningStats { mean: &m, var: &v }),
        || {
            let running = RunningStats {
                mean: &running_mean,
                var: &running_var,
            };
            reference::batch_norm_eval(&input, &host_affine, &running)
        },
        1e-5,
    )?;

    // conv3x3 -> BatchNorm2d (inference) -> ReLU as one conv with a fused ReLU epilogue.
    let image = random(tour, &[1, 64, 56, 56], 1.0, 0.0);
    let weight = random(tour, &[64, 64, 3, 3], 1.0 / 24.0, 0.0);
    let options = Conv2dOptions {
        padding: Padding::Symmetric([1, 1]),
        ..Default::default()
    };
    let conv = Conv2d::new(&tour.gpu, &weight, None, options)?;
    let conv_mean = random(tour, &[channels], 0.1, 0.0);
    let running = RunningStats {
        mean: &conv_mean,
        var: &running_var,
    };
    let mut batch_norm = BatchNorm2d::with_parameters(
        &tour.gpu,
        &gamma,
        &beta,
        Some(running),
        BatchNorm2dOptions::default(),
    )?;
    batch_norm.eval();
    let folded = conv
        .fold_batch_norm(&batch_norm)?
        .with_activation(Activation::Relu);
    let x = image.upload(&tour.gpu)?;
    tour.check(
        "conv3x3 + BN folded + ReLU",
        || folded.forward(&x),
        || {
            let convolved = reference::conv2d(&image, &weight, None, &options)?;
            let running = RunningStats {
                mean: &conv_mean,
                var: &running_var,
            };
            let normalized = reference::batch_norm_eval(&convolved, &host_affine, &running)?;
            let relu = normalized.data().iter().map(|v| v.max(0.0)).collect();
            HostTensor::new(normalized.shape(), relu)
        },
        1e-5,
    )
}
