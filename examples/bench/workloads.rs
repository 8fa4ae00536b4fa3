//! The standard workloads (names fixed by the benchmark issue), each a GPU closure and the CPU
//! reference on the same input. Inputs are uploaded once, here.

use wgcnn::random::Rng;
use wgcnn::{
    avg_pool2d, batch_norm_eval, batch_norm_stats, conv2d, global_avg_pool2d, max_pool2d,
    reference, relu, AvgPool2dOptions, BatchNormAffine, Conv2dGeometry, Conv2dOptions, Gpu,
    HostTensor, MaxPool2dOptions, Padding, Result, RunningStats, Tensor,
};

/// Work per call: FLOPs (2 x MACs) for compute-bound ops, bytes moved for memory-bound ones.
#[derive(Clone, Copy)]
pub enum Work {
    Flops(u64),
    Bytes(u64),
}

pub struct Workload {
    pub name: &'static str,
    pub work: Work,
    pub gpu: Box<dyn Fn() -> Result<Tensor>>,
    pub cpu: Box<dyn Fn() -> Result<()>>,
}

fn random(rng: &mut Rng, shape: &[usize], scale: f32) -> HostTensor {
    HostTensor::new(shape, rng.normals(shape.iter().product(), scale, 0.0))
        .expect("consistent shape")
}

/// A convolution with bias: input `[N, C, H, W]`, output channels, square kernel, stride,
/// symmetric padding, groups.
struct Conv(&'static str, [usize; 4], usize, usize, usize, usize, usize);

fn conv(gpu: &Gpu, rng: &mut Rng, spec: Conv) -> Result<Workload> {
    let Conv(name, input, out, kernel, stride, padding, groups) = spec;
    let weight_shape = [out, input[1] / groups, kernel, kernel];
    let options = Conv2dOptions {
        stride: [stride, stride],
        padding: Padding::Symmetric([padding, padding]),
        groups,
        ..Default::default()
    };
    let geometry = Conv2dGeometry::new(&input, &weight_shape, Some(out), &options)?;
    let (x, w, b) = (
        random(rng, &input, 1.0),
        random(rng, &weight_shape, 0.1),
        random(rng, &[out], 0.1),
    );
    let (gx, gw, gb) = (x.upload(gpu)?, w.upload(gpu)?, b.upload(gpu)?);
    Ok(Workload {
        name,
        work: Work::Flops(2 * geometry.macs()),
        gpu: Box::new(move || conv2d(&gx, &gw, Some(&gb), &options)),
        cpu: Box::new(move || reference::conv2d(&x, &w, Some(&b), &options).map(drop)),
    })
}

/// Bytes of float32 tensors of these shapes.
fn bytes(shapes: &[&[usize]]) -> u64 {
    shapes
        .iter()
        .map(|shape| shape.iter().product::<usize>() as u64 * 4)
        .sum()
}

/// The memory-bound workloads: pools, ReLU and batch norm.
fn memory_bound(gpu: &Gpu, rng: &mut Rng) -> Result<Vec<Workload>> {
    let mut workloads = Vec::new();
    let x = random(rng, &[1, 64, 112, 112], 1.0);
    let gx = x.upload(gpu)?;
    let options = MaxPool2dOptions {
        stride: Some([2, 2]),
        padding: [1, 1],
        ..MaxPool2dOptions::new([3, 3])
    };
    let (h, o) = (x.clone(), options);
    workloads.push(Workload {
        name: "maxpool3x3s2",
        work: Work::Bytes(bytes(&[&[1, 64, 112, 112], &[1, 64, 56, 56]])),
        gpu: Box::new(move || max_pool2d(&gx, &options)),
        cpu: Box::new(move || reference::max_pool2d(&h, &o).map(drop)),
    });
    let x = random(rng, &[1, 64, 56, 56], 1.0);
    let gx = x.upload(gpu)?;
    let options = AvgPool2dOptions::new([2, 2]);
    let o = options;
    workloads.push(Workload {
        name: "avgpool2x2s2",
        work: Work::Bytes(bytes(&[&[1, 64, 56, 56], &[1, 64, 28, 28]])),
        gpu: Box::new(move || avg_pool2d(&gx, &options)),
        cpu: Box::new(move || reference::avg_pool2d(&x, &o).map(drop)),
    });
    let x = random(rng, &[1, 512, 7, 7], 1.0);
    let gx = x.upload(gpu)?;
    workloads.push(Workload {
        name: "gap",
        work: Work::Bytes(bytes(&[&[1, 512, 7, 7], &[1, 512, 1, 1]])),
        gpu: Box::new(move || global_avg_pool2d(&gx)),
        cpu: Box::new(move || reference::global_avg_pool2d(&x).map(drop)),
    });
    let x = random(rng, &[1, 64, 112, 112], 1.0);
    let gx = x.upload(gpu)?;
    workloads.push(Workload {
        name: "relu",
        work: Work::Bytes(bytes(&[&[1, 64, 112, 112], &[1, 64, 112, 112]])),
        gpu: Box::new(move || relu(&gx)),
        cpu: Box::new(move || {
            reference::relu(&x);
            Ok(())
        }),
    });
    let shape = [8, 64, 56, 56];
    let x = random(rng, &shape, 1.0);
    let gx = x.upload(gpu)?;
    let h = x.clone();
    workloads.push(Workload {
        name: "bn_stats",
        work: Work::Bytes(bytes(&[&shape, &[3, 64]])),
        gpu: Box::new(move || batch_norm_stats(&gx).map(|stats| stats.mean)),
        cpu: Box::new(move || reference::batch_norm_stats(&h).map(drop)),
    });
    let parameters: Vec<HostTensor> = (0..4)
        .map(|i| HostTensor::new(&[64], rng.normals(64, 0.1, [1.0, 0.0, 0.0, 1.0][i])).unwrap())
        .collect();
    let on_gpu = parameters
        .iter()
        .map(|p| p.upload(gpu))
        .collect::<Result<Vec<_>>>()?;
    let gx = x.upload(gpu)?;
    workloads.push(Workload {
        name: "bn_apply",
        work: Work::Bytes(bytes(&[&shape, &shape, &[4, 64]])),
        gpu: Box::new(move || {
            let affine = BatchNormAffine {
                gamma: &on_gpu[0],
                beta: &on_gpu[1],
                eps: 1e-5,
            };
            batch_norm_eval(
                &gx,
                &affine,
                &RunningStats {
                    mean: &on_gpu[2],
                    var: &on_gpu[3],
                },
            )
        }),
        cpu: Box::new(move || {
            let affine = BatchNormAffine {
                gamma: &parameters[0],
                beta: &parameters[1],
                eps: 1e-5,
            };
            reference::batch_norm_eval(
                &x,
                &affine,
                &RunningStats {
                    mean: &parameters[2],
                    var: &parameters[3],
                },
            )
            .map(drop)
        }),
    });
    Ok(workloads)
}

/// The standard workloads' names, in the order (`standard` builds them in this order).
pub const NAMES: [&str; 14] = [
    "conv3x3_r18",
    "conv7x7_stem",
    "conv1x1_proj",
    "conv1x1_incep",
    "conv5x5_incep",
    "conv5x5_naive",
    "dwconv3x3",
    "conv3x3_b8",
    "maxpool3x3s2",
    "avgpool2x2s2",
    "gap",
    "relu",
    "bn_stats",
    "bn_apply",
];

/// Every standard workload, in the order.
pub fn standard(gpu: &Gpu) -> Result<Vec<Workload>> {
    let mut rng = Rng::new(2026);
    let convolutions = [
        Conv("conv3x3_r18", [1, 64, 56, 56], 64, 3, 1, 1, 1),
        Conv("conv7x7_stem", [1, 3, 224, 224], 64, 7, 2, 3, 1),
        Conv("conv1x1_proj", [1, 256, 56, 56], 64, 1, 1, 0, 1),
        Conv("conv1x1_incep", [1, 192, 28, 28], 16, 1, 1, 0, 1),
        Conv("conv5x5_incep", [1, 16, 28, 28], 32, 5, 1, 2, 1),
        Conv("conv5x5_naive", [1, 192, 28, 28], 32, 5, 1, 2, 1),
        Conv("dwconv3x3", [1, 32, 112, 112], 32, 3, 1, 1, 32),
        Conv("conv3x3_b8", [8, 64, 56, 56], 64, 3, 1, 1, 1),
    ];
    let mut workloads = Vec::new();
    for spec in convolutions {
        workloads.push(conv(gpu, &mut rng, spec)?);
    }
    workloads.extend(memory_bound(gpu, &mut rng)?);
    assert!(
        workloads.iter().map(|w| w.name).eq(NAMES),
        "NAMES lists the workloads in order"
    );
    Ok(workloads)
}
