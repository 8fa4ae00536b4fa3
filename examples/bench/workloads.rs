//! The standard workloads (names fixed by the benchmark issue), each a GPU closure and the CPU
//! reference on the same input. Inputs are uploaded once, here.

use wgcnn::random::Rng;
use wgcnn::{
    conv2d, reference, Conv2dGeometry, Conv2dOptions, Gpu, HostTensor, Padding, Result, Tensor,
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

/// Every standard workload, in the order.
pub fn standard(gpu: &Gpu) -> Result<Vec<Workload>> {
    let mut rng = Rng::new(2026);
    let rng = &mut rng;
    Ok(vec![
        conv(
            gpu,
            rng,
            Conv("conv3x3_r18", [1, 64, 56, 56], 64, 3, 1, 1, 1),
        )?,
        conv(
            gpu,
            rng,
            Conv("conv7x7_stem", [1, 3, 224, 224], 64, 7, 2, 3, 1),
        )?,
        conv(
            gpu,
            rng,
            Conv("conv1x1_proj", [1, 256, 56, 56], 64, 1, 1, 0, 1),
        )?,
        conv(
            gpu,
            rng,
            Conv("conv1x1_incep", [1, 192, 28, 28], 16, 1, 1, 0, 1),
        )?,
        conv(
            gpu,
            rng,
            Conv("conv5x5_incep", [1, 16, 28, 28], 32, 5, 1, 2, 1),
        )?,
        conv(
            gpu,
            rng,
            Conv("conv5x5_naive", [1, 192, 28, 28], 32, 5, 1, 2, 1),
        )?,
        conv(
            gpu,
            rng,
            Conv("dwconv3x3", [1, 32, 112, 112], 32, 3, 1, 1, 32),
        )?,
        conv(
            gpu,
            rng,
            Conv("conv3x3_b8", [8, 64, 56, 56], 64, 3, 1, 1, 1),
        )?,
    ])
}
