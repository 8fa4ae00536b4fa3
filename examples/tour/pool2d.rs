//! Tour section: max (with indices), average, adaptive and global pooling, the standalone
//! activations and the residual sum, and a Conv2d -> ReLU -> MaxPool2d -> GlobalAvgPool2d chain
//! in one submission.

use crate::Tour;
use wgcnn::{
    activate, adaptive_avg_pool2d, adaptive_max_pool2d, adaptive_max_pool2d_with_indices, add,
    avg_pool2d, global_avg_pool2d, global_max_pool2d, max_pool2d, max_pool2d_with_indices,
    reference, Activation, AvgPool2dOptions, Conv2d, Conv2dOptions, Error, GlobalAvgPool2d,
    HostTensor, MaxPool2d, MaxPool2dOptions, Padding, ReLU, Result, Tensor,
};

fn random(tour: &mut Tour, shape: &[usize], scale: f32) -> HostTensor {
    HostTensor::new(shape, tour.rng.normals(shape.iter().product(), scale, 0.0))
        .expect("consistent shape")
}

pub fn run(tour: &mut Tour) -> Result<()> {
    let host = random(tour, &[1, 64, 112, 112], 1.0);
    let x = host.upload(&tour.gpu)?;
    let max3 = MaxPool2dOptions {
        stride: Some([2, 2]),
        padding: [1, 1],
        ..MaxPool2dOptions::new([3, 3])
    };
    tour.check(
        "max_pool2d 3x3 s2 p1",
        || max_pool2d(&x, &max3),
        || reference::max_pool2d(&host, &max3),
        0.0,
    )?;
    tour.check(
        "max_pool2d 3x3 s2 p1 +indices",
        || Ok(max_pool2d_with_indices(&x, &max3)?.0),
        || reference::max_pool2d(&host, &max3),
        0.0,
    )?;
    // The table holds float outputs; the u32 indices are compared here, exactly.
    let indices = max_pool2d_with_indices(&x, &max3)?.1.to_vec()?;
    if indices != reference::max_pool2d_with_indices(&host, &max3)?.1 {
        return Err(Error::Gpu(
            "max_pool2d indices differ from the reference".into(),
        ));
    }
    let ceil_avg = AvgPool2dOptions {
        stride: Some([2, 2]),
        padding: [1, 1],
        ceil_mode: true,
        ..AvgPool2dOptions::new([3, 3])
    };
    let host = random(tour, &[2, 32, 57, 57], 1.0);
    let x = host.upload(&tour.gpu)?;
    tour.check(
        "avg_pool2d 3x3 s2 p1 ceil",
        || avg_pool2d(&x, &ceil_avg),
        || reference::avg_pool2d(&host, &ceil_avg),
        1e-5,
    )?;
    tour.check(
        "adaptive_avg_pool2d -> 7x7",
        || adaptive_avg_pool2d(&x, [7, 7]),
        || reference::adaptive_avg_pool2d(&host, [7, 7]),
        1e-5,
    )?;
    tour.check(
        "adaptive_max_pool2d -> 5x3",
        || adaptive_max_pool2d(&x, [5, 3]),
        || reference::adaptive_max_pool2d(&host, [5, 3]),
        0.0,
    )?;
    tour.check(
        "adaptive_max_pool2d -> 5x3 +indices",
        || Ok(adaptive_max_pool2d_with_indices(&x, [5, 3])?.0),
        || reference::adaptive_max_pool2d(&host, [5, 3]),
        0.0,
    )?;
    let indices = adaptive_max_pool2d_with_indices(&x, [5, 3])?.1.to_vec()?;
    if indices != reference::adaptive_max_pool2d_with_indices(&host, [5, 3])?.1 {
        return Err(Error::Gpu(
            "adaptive_max_pool2d indices differ from the reference".into(),
        ));
    }
    let host = random(tour, &[1, 512, 7, 7], 1.0);
    let x = host.upload(&tour.gpu)?;
    tour.check(
        "global_avg_pool2d",
        || global_avg_pool2d(&x),
        || reference::global_avg_pool2d(&host),
        1e-5,
    )?;
    tour.check(
        "global_max_pool2d",
        || global_max_pool2d(&x),
        || reference::global_max_pool2d(&host),
        0.0,
    )?;

    let host = random(tour, &[1, 64, 112, 112], 4.0);
    let x = host.upload(&tour.gpu)?;
    for (name, activation) in [
        ("relu", Activation::Relu),
        ("relu6", Activation::Relu6),
        ("leaky_relu 0.1", Activation::LeakyRelu(0.1)),
    ] {
        tour.check(
            name,
            || activate(&x, activation),
            || Ok(reference::activate(&host, activation)),
            0.0,
        )?;
    }
    let addend_host = random(tour, &[1, 64, 112, 112], 4.0);
    let addend = addend_host.upload(&tour.gpu)?;
    tour.check(
        "add +ReLU (residual sum)",
        || add(&x, &addend, Activation::Relu),
        || reference::add(&host, &addend_host, Activation::Relu),
        0.0,
    )?;
    chain(tour)
}

/// Conv2d -> ReLU -> MaxPool2d -> GlobalAvgPool2d, recorded into one submission.
fn chain(tour: &mut Tour) -> Result<()> {
    let host = random(tour, &[2, 3, 64, 64], 1.0);
    let weight = random(tour, &[16, 3, 3, 3], 0.3);
    let bias = random(tour, &[16], 0.1);
    let conv_options = Conv2dOptions {
        padding: Padding::Symmetric([1, 1]),
        ..Default::default()
    };
    let pool_options = MaxPool2dOptions {
        stride: Some([2, 2]),
        padding: [1, 1],
        ..MaxPool2dOptions::new([3, 3])
    };
    let conv = Conv2d::new(&tour.gpu, &weight, Some(&bias), conv_options)?;
    let (relu, pool) = (ReLU::new(), MaxPool2d::new(pool_options));
    let x = host.upload(&tour.gpu)?;
    let forward = || -> Result<Tensor> {
        let features = pool.forward(&relu.forward(&conv.forward(&x)?)?)?;
        GlobalAvgPool2d.forward(&features)
    };
    tour.check(
        "conv -> relu -> maxpool -> gap",
        forward,
        || {
            let features = reference::conv2d(&host, &weight, Some(&bias), &conv_options)?;
            let features = reference::max_pool2d(&reference::relu(&features), &pool_options)?;
            reference::global_avg_pool2d(&features)
        },
        1e-5,
    )
}
