//! pool2d and activation benches: GPU vs the CPU reference on maxpool3x3s2 (N1 C64 112x112, k3
//! s2 p1), avgpool2x2s2 (N1 C64 56x56, k2 s2), gap (N1 C512 7x7, global average), relu
//! (N1 C64 112x112, also in place) and add +ReLU (the residual sum, two such tensors). These
//! ops are memory-bound, so throughput is in bytes read + written once (criterion's "B/s").
//! `WGCNN_BENCH_SMALL=1` shrinks the spatial sizes for CI.

#[path = "common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wgcnn::random::Rng;
use wgcnn::{
    add, avg_pool2d, global_avg_pool2d, max_pool2d, reference, relu, relu_in_place, Activation,
    AvgPool2dOptions, MaxPool2dOptions, Pool2dGeometry,
};

fn pool_benches(c: &mut Criterion) {
    let gpu = common::gpu();
    let mut rng = Rng::new(9);
    let scale = if common::small() { 4 } else { 1 };
    let mut group = c.benchmark_group("pool2d");
    group.sample_size(20);

    let input = common::random(&mut rng, &[1, 64, 112 / scale, 112 / scale], 1.0);
    let options = MaxPool2dOptions {
        stride: Some([2, 2]),
        padding: [1, 1],
        ..MaxPool2dOptions::new([3, 3])
    };
    let geometry = Pool2dGeometry::max(input.shape(), &options).unwrap();
    group.throughput(Throughput::Bytes(geometry.bytes()));
    let x = input.upload(&gpu).unwrap();
    common::bench_gpu(&mut group, "maxpool3x3s2", &gpu, || {
        max_pool2d(&x, &options)
    });
    common::bench_cpu(&mut group, "maxpool3x3s2", || {
        reference::max_pool2d(&input, &options).unwrap()
    });

    let input = common::random(&mut rng, &[1, 64, 56 / scale, 56 / scale], 1.0);
    let options = AvgPool2dOptions::new([2, 2]);
    let geometry = Pool2dGeometry::avg(input.shape(), &options).unwrap();
    group.throughput(Throughput::Bytes(geometry.bytes()));
    let x = input.upload(&gpu).unwrap();
    common::bench_gpu(&mut group, "avgpool2x2s2", &gpu, || {
        avg_pool2d(&x, &options)
    });
    common::bench_cpu(&mut group, "avgpool2x2s2", || {
        reference::avg_pool2d(&input, &options).unwrap()
    });

    let input = common::random(&mut rng, &[1, 512, 7, 7], 1.0);
    group.throughput(Throughput::Bytes((input.data().len() + 512) as u64 * 4));
    let x = input.upload(&gpu).unwrap();
    common::bench_gpu(&mut group, "gap", &gpu, || global_avg_pool2d(&x));
    common::bench_cpu(&mut group, "gap", || {
        reference::global_avg_pool2d(&input).unwrap()
    });

    let input = common::random(&mut rng, &[1, 64, 112 / scale, 112 / scale], 1.0);
    group.throughput(Throughput::Bytes(input.data().len() as u64 * 8));
    let x = input.upload(&gpu).unwrap();
    common::bench_gpu(&mut group, "relu", &gpu, || relu(&x));
    // In place: the kernel alone, without allocating (and wgpu zero-filling) an output.
    common::bench_gpu(&mut group, "relu_in_place", &gpu, || {
        relu_in_place(&x)?;
        Ok(x.clone())
    });
    common::bench_cpu(&mut group, "relu", || reference::relu(&input));

    let addend = common::random(&mut rng, input.shape(), 1.0);
    group.throughput(Throughput::Bytes(input.data().len() as u64 * 12));
    let y = addend.upload(&gpu).unwrap();
    common::bench_gpu(&mut group, "add_relu", &gpu, || {
        add(&x, &y, Activation::Relu)
    });
    common::bench_cpu(&mut group, "add_relu", || {
        reference::add(&input, &addend, Activation::Relu).unwrap()
    });
    group.finish();
}

criterion_group!(benches, pool_benches);
criterion_main!(benches);
