//! batch_norm benches: GPU vs the CPU reference on bn_stats (per-channel mean and variances of
//! N8 C64 56x56) and bn_apply (inference-mode normalization of the same shape). Memory-bound:
//! throughput is in bytes (read + written once), so criterion reports GB/s.
//! `WGCNN_BENCH_SMALL=1` shrinks the spatial size for CI.

#[path = "common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wgcnn::random::Rng;
use wgcnn::{
    batch_norm_eval, batch_norm_stats, reference, BatchNormAffine, HostTensor, RunningStats,
};

fn batch_norm_benches(c: &mut Criterion) {
    let gpu = common::gpu();
    let mut rng = Rng::new(7);
    let size = if common::small() { 14 } else { 56 };
    let shape = [8, 64, size, size];
    let channels = shape[1];
    let len: usize = shape.iter().product();
    let input = common::random(&mut rng, &shape, 1.0);
    let gamma = common::random(&mut rng, &[channels], 0.1);
    let beta = common::random(&mut rng, &[channels], 0.1);
    let mean = common::random(&mut rng, &[channels], 0.1);
    let var = HostTensor::filled(&[channels], 1.0);
    let x = input.upload(&gpu).unwrap();
    let [g, b, m, v] = [&gamma, &beta, &mean, &var].map(|t| t.upload(&gpu).unwrap());
    let floats = |count: usize| (count * std::mem::size_of::<f32>()) as u64;

    let mut group = c.benchmark_group("batch_norm");
    group.sample_size(20);
    // Reads the input, writes mean, var_biased and var_unbiased.
    group.throughput(Throughput::Bytes(floats(len + 3 * channels)));
    common::bench_gpu(&mut group, "bn_stats", &gpu, || {
        batch_norm_stats(&x).map(|stats| stats.var_unbiased)
    });
    common::bench_cpu(&mut group, "bn_stats", || {
        reference::batch_norm_stats(&input).unwrap()
    });

    // Reads the input and four per-channel tensors, writes the output.
    group.throughput(Throughput::Bytes(floats(2 * len + 4 * channels)));
    let affine = BatchNormAffine {
        gamma: &g,
        beta: &b,
        eps: 1e-5,
    };
    let running = RunningStats { mean: &m, var: &v };
    common::bench_gpu(&mut group, "bn_apply", &gpu, || {
        batch_norm_eval(&x, &affine, &running)
    });
    let host_affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: 1e-5,
    };
    let host_running = RunningStats {
        mean: &mean,
        var: &var,
    };
    common::bench_cpu(&mut group, "bn_apply", || {
        reference::batch_norm_eval(&input, &host_affine, &host_running).unwrap()
    });
    group.finish();
}

criterion_group!(benches, batch_norm_benches);
criterion_main!(benches);
