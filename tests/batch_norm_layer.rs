//! The `BatchNorm2d` layer against the f64 CPU reference: a ten-step training loop whose
//! running statistics follow the reference after every step (momentum and cumulative average),
//! both modes without running statistics, `Conv2d::fold_batch_norm` (conv -> BN -> ReLU as one
//! conv with a fused ReLU), and a conv/BN chain recorded as one submission. Outputs are
//! NaN-poisoned before every kernel. Tolerances as in `batch_norm.rs`.

mod common;

use common::{assert_close, gpu};
use wgcnn::random::Rng;
use wgcnn::{
    reference, Activation, BatchNorm2d, BatchNorm2dOptions, BatchNormAffine, Conv2d, Conv2dOptions,
    Gpu, HostTensor, Padding, RunningStats, RunningUpdate, Tensor,
};

const REL: f32 = 1e-5;
const ABS: f32 = 2e-6;

/// Values `offset + scale * N(0, 1)`.
fn data(rng: &mut Rng, shape: &[usize], scale: f32, offset: f32) -> HostTensor {
    HostTensor::new(shape, rng.normals(shape.iter().product(), scale, offset)).unwrap()
}

/// gamma, beta, running_mean, running_var for `channels` (running_var positive).
fn parameters(rng: &mut Rng, channels: usize) -> [HostTensor; 4] {
    let positive: Vec<f32> = (0..channels).map(|_| 0.5 + rng.uniform() as f32).collect();
    [
        data(rng, &[channels], 0.3, 1.0),
        data(rng, &[channels], 0.5, 0.0),
        data(rng, &[channels], 0.5, 0.0),
        HostTensor::new(&[channels], positive).unwrap(),
    ]
}

/// Absolute tolerance of normalized outputs for data `offset + scale * N(0, 1)`.
fn output_abs(scale: f32, offset: f32) -> f32 {
    ABS + 2.0 * (offset.abs() * f32::EPSILON) / scale
}

#[test]
fn ten_training_steps_track_the_reference() {
    let gpu = gpu();
    let mut rng = Rng::new(10);
    let shape = [4, 6, 9, 7];
    for momentum in [Some(0.1), None] {
        let options = BatchNorm2dOptions {
            momentum,
            ..Default::default()
        };
        let [gamma, beta, mean, var] = parameters(&mut rng, shape[1]);
        let running = RunningStats {
            mean: &mean,
            var: &var,
        };
        let mut layer =
            BatchNorm2d::with_parameters(&gpu, &gamma, &beta, Some(running), options).unwrap();
        let affine = BatchNormAffine {
            gamma: &gamma,
            beta: &beta,
            eps: options.eps,
        };
        let (mut expected_mean, mut expected_var) = (mean.clone(), var.clone());
        for step in 1..=10u64 {
            let context = format!("momentum {momentum:?}, step {step}");
            let (scale, offset) = (1.0 + 0.2 * step as f32, step as f32);
            let input = data(&mut rng, &shape, scale, offset);
            let output = layer.forward(&input.upload(&gpu).unwrap()).unwrap();
            // PyTorch: momentum None is a cumulative average, 1 / num_batches_tracked.
            let factor = momentum.unwrap_or(1.0 / step as f32);
            let update = RunningUpdate {
                mean: &expected_mean,
                var: &expected_var,
                momentum: factor,
            };
            let expected = reference::batch_norm_train(&input, &affine, Some(&update)).unwrap();
            assert_close(
                &output.to_vec().unwrap(),
                expected.output.data(),
                2.0 * output_abs(scale, offset),
                REL,
                &context,
            );
            (expected_mean, expected_var) = (
                expected.running_mean.unwrap(),
                expected.running_var.unwrap(),
            );
            let running_mean = layer.running_mean().unwrap().to_vec().unwrap();
            let running_var = layer.running_var().unwrap().to_vec().unwrap();
            assert_close(
                &running_mean,
                expected_mean.data(),
                ABS * scale + offset * f32::EPSILON,
                REL,
                &format!("running_mean, {context}"),
            );
            assert_close(
                &running_var,
                expected_var.data(),
                ABS * scale * scale,
                REL,
                &format!("running_var, {context}"),
            );
            assert_eq!(layer.num_batches_tracked(), step);
        }
        // Inference mode normalizes with the running statistics and leaves them alone.
        layer.eval();
        let trained_mean = layer.running_mean().unwrap().to_vec().unwrap();
        let input = data(&mut rng, &shape, 2.0, 5.0);
        let output = layer.forward(&input.upload(&gpu).unwrap()).unwrap();
        let running = RunningStats {
            mean: &expected_mean,
            var: &expected_var,
        };
        let expected = reference::batch_norm_eval(&input, &affine, &running).unwrap();
        assert_close(
            &output.to_vec().unwrap(),
            expected.data(),
            10.0 * ABS,
            REL,
            "eval after training",
        );
        assert_eq!(layer.num_batches_tracked(), 10);
        assert_eq!(
            layer.running_mean().unwrap().to_vec().unwrap(),
            trained_mean
        );
    }
}

#[test]
fn without_running_stats_both_modes_use_the_batch() {
    let gpu = gpu();
    let mut rng = Rng::new(12);
    let options = BatchNorm2dOptions {
        track_running_stats: false,
        ..Default::default()
    };
    let mut layer = BatchNorm2d::new(&gpu, 3, options).unwrap();
    let input = data(&mut rng, &[2, 3, 5, 4], 1.0, 0.0);
    let (gamma, beta) = (HostTensor::filled(&[3], 1.0), HostTensor::filled(&[3], 0.0));
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: 1e-5,
    };
    let expected = reference::batch_norm_train(&input, &affine, None)
        .unwrap()
        .output;
    for training in [true, false] {
        if !training {
            layer.eval();
        }
        let output = layer.forward(&input.upload(&gpu).unwrap()).unwrap();
        assert_close(
            &output.to_vec().unwrap(),
            expected.data(),
            ABS,
            REL,
            &format!("training {training}"),
        );
    }
    assert!(layer.running_mean().is_none());
    assert_eq!(layer.num_batches_tracked(), 0);
}

/// A conv weight scaled by 1/sqrt(fan_in), a bias, and an inference-mode BatchNorm2d.
fn conv_and_batch_norm(
    gpu: &Gpu,
    rng: &mut Rng,
    weight_shape: [usize; 4],
    groups: usize,
    bias: bool,
) -> (HostTensor, Option<HostTensor>, Conv2d, BatchNorm2d) {
    let fan_in = (weight_shape[1] * weight_shape[2] * weight_shape[3]) as f32;
    let weight = data(rng, &weight_shape, fan_in.sqrt().recip(), 0.0);
    let bias = bias.then(|| data(rng, &[weight_shape[0]], 0.2, 0.0));
    let options = Conv2dOptions {
        padding: Padding::Symmetric([1, 1]),
        groups,
        ..Default::default()
    };
    let conv = Conv2d::new(gpu, &weight, bias.as_ref(), options).unwrap();
    let [gamma, beta, mean, var] = parameters(rng, weight_shape[0]);
    let running = RunningStats {
        mean: &mean,
        var: &var,
    };
    let mut batch_norm = BatchNorm2d::with_parameters(
        gpu,
        &gamma,
        &beta,
        Some(running),
        BatchNorm2dOptions::default(),
    )
    .unwrap();
    batch_norm.eval();
    (weight, bias, conv, batch_norm)
}

#[test]
fn conv_batch_norm_relu_folds_into_one_conv() {
    let gpu = gpu();
    let mut rng = Rng::new(42);
    let input = data(&mut rng, &[2, 6, 17, 15], 1.0, 0.0);
    let x = input.upload(&gpu).unwrap();
    for (weight_shape, groups, bias) in [([8, 6, 3, 3], 1, true), ([12, 2, 3, 3], 3, false)] {
        let (_, _, conv, mut batch_norm) =
            conv_and_batch_norm(&gpu, &mut rng, weight_shape, groups, bias);
        let normalized = batch_norm.forward(&conv.forward(&x).unwrap()).unwrap();
        let unfused: Vec<f32> = normalized
            .to_vec()
            .unwrap()
            .iter()
            .map(|v| v.max(0.0))
            .collect();
        let folded = conv
            .fold_batch_norm(&batch_norm)
            .unwrap()
            .with_activation(Activation::Relu);
        assert_eq!(folded.options().activation, Activation::Relu);
        let before = gpu.submission_count();
        let fused = folded.forward(&x).unwrap().to_vec().unwrap();
        assert_eq!(
            gpu.submission_count(),
            before + 1,
            "the folded conv with its ReLU is one submission"
        );
        assert_close(
            &fused,
            &unfused,
            1e-5,
            1e-5,
            &format!("folded {weight_shape:?} groups {groups}"),
        );
    }
}

#[test]
fn conv_batch_norm_chain_runs_as_one_submission() {
    let gpu = gpu();
    let mut rng = Rng::new(77);
    let input = data(&mut rng, &[3, 4, 12, 10], 1.0, 0.0);
    let (weight, bias, conv, mut train_norm) =
        conv_and_batch_norm(&gpu, &mut rng, [8, 4, 3, 3], 1, true);
    train_norm.train();
    let (weight2, _, conv2, mut eval_norm) =
        conv_and_batch_norm(&gpu, &mut rng, [5, 8, 3, 3], 1, false);
    let x = input.upload(&gpu).unwrap();
    gpu.submit().unwrap();
    let before = gpu.submission_count();
    let hidden = train_norm.forward(&conv.forward(&x).unwrap()).unwrap();
    let output = eval_norm.forward(&conv2.forward(&hidden).unwrap()).unwrap();
    assert_eq!(
        gpu.submission_count(),
        before,
        "recording layers must not submit"
    );
    let values = output.to_vec().unwrap();
    assert_eq!(
        gpu.submission_count(),
        before + 1,
        "the chain and its readback are one submission"
    );

    let download = |t: &Tensor| HostTensor::download(t).unwrap();
    let conv_options = *conv.options();
    let hidden = reference::conv2d(&input, &weight, bias.as_ref(), &conv_options).unwrap();
    let (gamma, beta) = (download(train_norm.gamma()), download(train_norm.beta()));
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: 1e-5,
    };
    let hidden = reference::batch_norm_train(&hidden, &affine, None)
        .unwrap()
        .output;
    let hidden = reference::conv2d(&hidden, &weight2, None, conv2.options()).unwrap();
    let (gamma, beta) = (download(eval_norm.gamma()), download(eval_norm.beta()));
    let (mean, var) = (
        download(eval_norm.running_mean().unwrap()),
        download(eval_norm.running_var().unwrap()),
    );
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: 1e-5,
    };
    let expected = reference::batch_norm_eval(
        &hidden,
        &affine,
        &RunningStats {
            mean: &mean,
            var: &var,
        },
    )
    .unwrap();
    assert_close(
        &values,
        expected.data(),
        1e-5,
        1e-5,
        "conv -> BN(train) -> conv -> BN(eval)",
    );
    assert_eq!(train_norm.num_batches_tracked(), 1);
}
