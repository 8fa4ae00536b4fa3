//! conv2d benches: GPU vs the CPU reference on conv3x3_r18 (N1 64->64 56x56 k3 p1) and
//! conv1x1_proj (N1 256->64 56x56 k1). Throughput is in FLOPs (2 x MACs): criterion's
//! "elem/s" reads as FLOP/s. `WGCNN_BENCH_SMALL=1` shrinks the spatial size for CI.

#[path = "common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wgcnn::random::Rng;
use wgcnn::{conv2d, reference, Conv2dGeometry, Conv2dOptions, Padding};

fn conv_benches(c: &mut Criterion) {
    let gpu = common::gpu();
    let mut rng = Rng::new(7);
    let size = if common::small() { 14 } else { 56 };
    let workloads = [
        (
            "conv3x3_r18",
            [1, 64, size, size],
            [64, 64, 3, 3],
            Padding::Symmetric([1, 1]),
        ),
        (
            "conv1x1_proj",
            [1, 256, size, size],
            [64, 256, 1, 1],
            Padding::Zero,
        ),
    ];
    let mut group = c.benchmark_group("conv2d");
    group.sample_size(10);
    for (name, input_shape, weight_shape, padding) in workloads {
        let options = Conv2dOptions {
            padding,
            ..Default::default()
        };
        let input = common::random(&mut rng, &input_shape, 1.0);
        let weight = common::random(&mut rng, &weight_shape, 0.1);
        let bias = common::random(&mut rng, &[weight_shape[0]], 0.1);
        let geometry =
            Conv2dGeometry::new(&input_shape, &weight_shape, Some(weight_shape[0]), &options)
                .unwrap();
        group.throughput(Throughput::Elements(2 * geometry.macs()));
        let (x, w, b) = (
            input.upload(&gpu).unwrap(),
            weight.upload(&gpu).unwrap(),
            bias.upload(&gpu).unwrap(),
        );
        common::bench_gpu(&mut group, name, &gpu, || {
            conv2d(&x, &w, Some(&b), &options)
        });
        common::bench_cpu(&mut group, name, || {
            reference::conv2d(&input, &weight, Some(&bias), &options).unwrap()
        });
    }
    group.finish();
}

criterion_group!(benches, conv_benches);
criterion_main!(benches);
