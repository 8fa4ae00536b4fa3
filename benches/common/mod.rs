//! Shared bench plumbing: the Gpu, GPU timing from submit to completion (upload and readback
//! excluded), and `WGCNN_BENCH_SMALL=1` to shrink workloads for CI smoke runs.
#![allow(dead_code)]

use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;
use std::time::{Duration, Instant};
use wgcnn::random::Rng;
use wgcnn::{Gpu, HostTensor, Tensor};

pub fn gpu() -> Gpu {
    let gpu = Gpu::new().expect("no adapter: install Mesa's lavapipe/llvmpipe (see README.md)");
    eprintln!("adapter: {}", gpu.adapter_info());
    gpu
}

/// True when `WGCNN_BENCH_SMALL` is set: workloads shrink so a bench run takes seconds.
pub fn small() -> bool {
    std::env::var_os("WGCNN_BENCH_SMALL").is_some()
}

pub fn random(rng: &mut Rng, shape: &[usize], scale: f32) -> HostTensor {
    HostTensor::new(shape, rng.normals(shape.iter().product(), scale, 0.0)).unwrap()
}

/// Times `op` on the GPU: each iteration records the op, submits and waits for completion.
pub fn bench_gpu(
    group: &mut BenchmarkGroup<WallTime>,
    name: &str,
    gpu: &Gpu,
    op: impl Fn() -> wgcnn::Result<Tensor>,
) {
    op().unwrap().to_vec().unwrap(); // compile pipelines, warm caches
    group.bench_function(format!("{name}/gpu"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let output = op().unwrap();
                gpu.synchronize().unwrap();
                total += start.elapsed();
                drop(output);
            }
            total
        })
    });
}

/// Times the CPU reference of the same workload.
pub fn bench_cpu<T>(group: &mut BenchmarkGroup<WallTime>, name: &str, op: impl Fn() -> T) {
    group.bench_function(format!("{name}/cpu_reference"), |b| b.iter(&op));
}
