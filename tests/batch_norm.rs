//! The batch-norm ops on the GPU against the f64 CPU reference: statistics, training forward
//! (with and without the running update) and inference forward on random shapes (vec4 and
//! scalar planes), large-offset data, one channel with millions of values, and batches split
//! along N. Outputs are NaN-poisoned before every kernel, so unwritten elements fail. The layer,
//! the training loop, folding and chains are in `batch_norm_layer.rs`.
//!
//! Tolerance, `|gpu - reference| <= abs + rel * |reference|`: rel 1e-5 throughout. Statistics:
//! abs 2e-6 times the data's scale (squared for variances), plus one ulp of the offset for means.
//! Normalized outputs: float32 holds x and the mean only to about ulp(|x| + |mean|), and
//! normalization scales that by gamma / sqrt(var + eps), so abs is 4 such ulp times that factor
//! per channel (see `output_abs`): the float32 floor, which grows with large offsets and with
//! channels whose few values lie close together.

mod common;

use common::{assert_close, gpu, gpu_with};
use wgcnn::random::Rng;
use wgcnn::{
    batch_norm_eval, batch_norm_stats, batch_norm_train, reference, BatchNormAffine, Gpu,
    GpuOptions, HostTensor, RunningStats, RunningUpdate, Tensor,
};

const REL: f32 = 1e-5;
const ABS: f32 = 2e-6;
const EPS: f32 = 1e-5;

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

fn upload(gpu: &Gpu, tensors: &[HostTensor; 4]) -> [Tensor; 4] {
    tensors.each_ref().map(|t| t.upload(gpu).unwrap())
}

/// Per-element absolute tolerance of normalized outputs. Float32 holds x and the mean only to
/// about ulp(|x| + |mean|); normalization divides that by sqrt(var + eps) (small when a channel's
/// values are close) and multiplies it by |gamma|.
fn output_abs(
    input: &HostTensor,
    mean: &HostTensor,
    var: &HostTensor,
    gamma: &HostTensor,
) -> Vec<f32> {
    let [_, channels, height, width] = input.shape().try_into().unwrap();
    let (mean, var, gamma) = (mean.data(), var.data(), gamma.data());
    let scale_of = |c: usize| gamma[c].abs() / (var[c] + EPS).sqrt();
    let values = input.data().iter().enumerate();
    values
        .map(|(index, x)| {
            let c = index / (height * width) % channels;
            ABS * (1.0 + scale_of(c)) + 4.0 * f32::EPSILON * (x.abs() + mean[c].abs()) * scale_of(c)
        })
        .collect()
}

/// `|actual - expected| <= abs[i] + REL * |expected|` element-wise (NaN fails).
fn assert_within(actual: &Tensor, expected: &HostTensor, abs: &[f32], context: &str) {
    let actual = actual.to_vec().unwrap();
    let expected = expected.data();
    let within = |i: usize| (actual[i] - expected[i]).abs() <= abs[i] + REL * expected[i].abs();
    let failures: Vec<usize> = (0..actual.len()).filter(|&i| !within(i)).collect();
    if let Some(&i) = failures.first() {
        panic!(
            "{context}: {} of {} out of tolerance; first at {i}: got {}, expected {} (abs {})",
            failures.len(),
            actual.len(),
            actual[i],
            expected[i],
            abs[i]
        );
    }
}

/// Compares the GPU's statistics, training output (and running update) and inference output
/// with the reference on one input of `offset + scale * N(0, 1)` values.
fn check_all(gpu: &Gpu, input: &HostTensor, rng: &mut Rng, scale: f32, offset: f32) {
    let context = |what: &str| format!("{what}, input {:?} offset {offset}", input.shape());
    let check = |what: &str, actual: &Tensor, expected: &HostTensor, abs: f32| {
        assert_close(
            &actual.to_vec().unwrap(),
            expected.data(),
            abs,
            REL,
            &context(what),
        );
    };
    let x = input.upload(gpu).unwrap();
    let mean_abs = ABS * scale + offset.abs() * f32::EPSILON;
    let var_abs = ABS * scale * scale;
    let stats = reference::batch_norm_stats(input).unwrap();
    let on_gpu = batch_norm_stats(&x).unwrap();
    check("mean", &on_gpu.mean, &stats.mean, mean_abs);
    check("var_biased", &on_gpu.var_biased, &stats.var_biased, var_abs);
    check(
        "var_unbiased",
        &on_gpu.var_unbiased,
        &stats.var_unbiased,
        var_abs,
    );

    let host = parameters(rng, input.shape()[1]);
    let [gamma, beta, mean, var] = upload(gpu, &host);
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: EPS,
    };
    let host_affine = BatchNormAffine {
        gamma: &host[0],
        beta: &host[1],
        eps: EPS,
    };
    let update = RunningUpdate {
        mean: &mean,
        var: &var,
        momentum: 0.1,
    };
    let host_update = RunningUpdate {
        mean: &host[2],
        var: &host[3],
        momentum: 0.1,
    };
    let trained = batch_norm_train(&x, &affine, Some(&update)).unwrap();
    let expected = reference::batch_norm_train(input, &host_affine, Some(&host_update)).unwrap();
    let trained_abs = output_abs(input, &stats.mean, &stats.var_biased, &host[0]);
    assert_within(
        &trained,
        &expected.output,
        &trained_abs,
        &context("train output"),
    );
    let (running_mean, running_var) = (
        expected.running_mean.unwrap(),
        expected.running_var.unwrap(),
    );
    check("running_mean", &mean, &running_mean, mean_abs);
    check("running_var", &var, &running_var, var_abs);
    let untracked = batch_norm_train(&x, &affine, None).unwrap();
    assert_within(
        &untracked,
        &expected.output,
        &trained_abs,
        &context("train, no running stats"),
    );

    // Inference with the updated running statistics.
    let evaluated = batch_norm_eval(
        &x,
        &affine,
        &RunningStats {
            mean: &mean,
            var: &var,
        },
    )
    .unwrap();
    let host_running = RunningStats {
        mean: &running_mean,
        var: &running_var,
    };
    let expected = reference::batch_norm_eval(input, &host_affine, &host_running).unwrap();
    let eval_abs = output_abs(input, &running_mean, &running_var, &host[0]);
    assert_within(&evaluated, &expected, &eval_abs, &context("eval output"));
}

#[test]
fn random_shapes_match_reference() {
    let gpu = gpu();
    let mut rng = Rng::new(0xB47C);
    let mut shapes = vec![
        [2, 513, 2, 2],
        [8, 600, 1, 1],
        [1, 1, 1, 2],
        [3, 1, 64, 64],
        [1, 7, 13, 127],
    ];
    while shapes.len() < 16 {
        let (batch, channels) = (rng.range(1, 8), rng.range(1, 600));
        let (mut height, mut width) = (rng.range(1, 64), rng.range(1, 64));
        while batch * channels * height * width > 150_000 {
            (height, width) = (height.div_ceil(2), width.div_ceil(2));
        }
        if batch * height * width >= 2 {
            shapes.push([batch, channels, height, width]);
        }
    }
    for shape in shapes {
        let (scale, offset) = (0.5 + 2.0 * rng.uniform() as f32, rng.normal());
        let input = data(&mut rng, &shape, scale, offset);
        check_all(&gpu, &input, &mut rng, scale, offset);
    }
}

#[test]
fn large_offset_data_matches_reference() {
    // Values near 1e4 with unit spread: a float32 E[x^2] - E[x]^2 loses every digit here.
    let gpu = gpu();
    let mut rng = Rng::new(1e4 as u64);
    for (shape, offset) in [
        ([4, 3, 37, 41], 1e4),
        ([2, 5, 64, 64], -3e4),
        ([8, 2, 3, 3], 1e4),
    ] {
        let input = data(&mut rng, &shape, 1.0, offset);
        check_all(&gpu, &input, &mut rng, 1.0, offset);
    }
}

#[test]
fn one_channel_with_millions_of_values() {
    let gpu = gpu();
    let mut rng = Rng::new(1);
    let input = data(&mut rng, &[8, 1, 512, 512], 2.0, 100.0);
    check_all(&gpu, &input, &mut rng, 2.0, 100.0);
}

#[test]
fn batches_past_the_binding_limit_are_split() {
    // 16 KiB bindings: 3 images per dispatch, 3 dispatches per op; vec4 and scalar planes.
    let gpu = gpu_with(GpuOptions {
        max_storage_binding_bytes: Some(16 << 10),
        poison_outputs: true,
        ..Default::default()
    });
    let mut rng = Rng::new(5);
    for shape in [[7, 3, 20, 20], [7, 3, 19, 21]] {
        let input = data(&mut rng, &shape, 1.5, 2.0);
        check_all(&gpu, &input, &mut rng, 1.5, 2.0);
    }
}

#[test]
fn dispatches_past_65535_workgroups() {
    // One workgroup per channel: 70,000 channels of two values lay the grid out in 2-D.
    let gpu = gpu();
    let mut rng = Rng::new(65536);
    let input = data(&mut rng, &[2, 70_000, 1, 1], 1.0, 0.5);
    check_all(&gpu, &input, &mut rng, 1.0, 0.5);
}
