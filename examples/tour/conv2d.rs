//! Tour section: convolutions, the 1x1 projection, a linear layer and a chain of Conv2d layers.

use crate::Tour;
use wgcnn::{
    conv2d, conv2d_route, linear, reference, Activation, Conv2d, Conv2dGeometry, Conv2dOptions,
    HostTensor, Padding, Result,
};

fn random(tour: &mut Tour, shape: &[usize], scale: f32) -> HostTensor {
    HostTensor::new(shape, tour.rng.normals(shape.iter().product(), scale, 0.0))
        .expect("consistent shape")
}

pub fn run(tour: &mut Tour) -> Result<()> {
    let cases: [(&str, [usize; 4], [usize; 4], Conv2dOptions); 13] = [
        (
            "conv2d 3x3 p1 +ReLU",
            [1, 64, 56, 56],
            [64, 64, 3, 3],
            Conv2dOptions {
                padding: Padding::Symmetric([1, 1]),
                activation: Activation::Relu,
                ..Default::default()
            },
        ),
        (
            "conv2d 7x7 s2 p3 (stem)",
            [1, 3, 224, 224],
            [64, 3, 7, 7],
            Conv2dOptions {
                stride: [2, 2],
                padding: Padding::Symmetric([3, 3]),
                ..Default::default()
            },
        ),
        (
            "conv2d 5x5 p2 (Inception)",
            [1, 16, 28, 28],
            [32, 16, 5, 5],
            Conv2dOptions {
                padding: Padding::Symmetric([2, 2]),
                ..Default::default()
            },
        ),
        (
            "conv2d 3x3 s2 p1 (downsampling)",
            [1, 64, 56, 56],
            [128, 64, 3, 3],
            Conv2dOptions {
                stride: [2, 2],
                padding: Padding::Symmetric([1, 1]),
                ..Default::default()
            },
        ),
        (
            "conv2d depthwise 3x3",
            [2, 32, 56, 56],
            [32, 1, 3, 3],
            Conv2dOptions {
                padding: Padding::Same,
                groups: 32,
                ..Default::default()
            },
        ),
        (
            "conv2d depthwise 3x3 on 7x7 +ReLU6",
            [2, 960, 7, 7],
            [960, 1, 3, 3],
            Conv2dOptions {
                padding: Padding::Symmetric([1, 1]),
                groups: 960,
                activation: Activation::Relu6,
                ..Default::default()
            },
        ),
        (
            "conv2d depthwise 3x3 s2",
            [1, 144, 56, 56],
            [144, 1, 3, 3],
            Conv2dOptions {
                stride: [2, 2],
                padding: Padding::Symmetric([1, 1]),
                groups: 144,
                ..Default::default()
            },
        ),
        (
            "conv2d 3x3 d2 groups 2 asym",
            [2, 6, 29, 31],
            [10, 3, 3, 3],
            Conv2dOptions {
                padding: Padding::Explicit([0, 2, 1, 1]),
                dilation: [2, 2],
                groups: 2,
                activation: Activation::LeakyRelu(0.1),
                ..Default::default()
            },
        ),
        (
            "conv2d 1x1 projection",
            [1, 256, 56, 56],
            [64, 256, 1, 1],
            Conv2dOptions::default(),
        ),
        (
            "conv2d 1x1 192->16 (Inception)",
            [1, 192, 28, 28],
            [16, 192, 1, 1],
            Conv2dOptions::default(),
        ),
        (
            "conv2d 1x1 64->24 (MobileNetV2)",
            [1, 64, 28, 28],
            [24, 64, 1, 1],
            Conv2dOptions::default(),
        ),
        (
            "conv2d 3x3 p1 on 7x7",
            [2, 128, 7, 7],
            [128, 128, 3, 3],
            Conv2dOptions {
                padding: Padding::Symmetric([1, 1]),
                ..Default::default()
            },
        ),
        (
            "conv2d 1x1 s2 (shortcut)",
            [1, 128, 28, 28],
            [256, 128, 1, 1],
            Conv2dOptions {
                stride: [2, 2],
                ..Default::default()
            },
        ),
    ];
    for (name, input_shape, weight_shape, options) in cases {
        let input = random(tour, &input_shape, 1.0);
        let fan_in = (weight_shape[1] * weight_shape[2] * weight_shape[3]) as f32;
        let weight = random(tour, &weight_shape, fan_in.sqrt().recip());
        let bias = random(tour, &[weight_shape[0]], 0.1);
        let (x, w, b) = (
            input.upload(&tour.gpu)?,
            weight.upload(&tour.gpu)?,
            bias.upload(&tour.gpu)?,
        );
        tour.check(
            name,
            || conv2d(&x, &w, Some(&b), &options),
            || reference::conv2d(&input, &weight, Some(&bias), &options),
            1e-5,
        )?;
        let geometry =
            Conv2dGeometry::new(&input_shape, &weight_shape, Some(weight_shape[0]), &options)?;
        tour.ran(&conv2d_route(&tour.gpu, &geometry));
    }

    let input = random(tour, &[8, 512], 1.0);
    let weight = random(tour, &[1000, 512], 0.05);
    let bias = random(tour, &[1000], 0.1);
    let (x, w, b) = (
        input.upload(&tour.gpu)?,
        weight.upload(&tour.gpu)?,
        bias.upload(&tour.gpu)?,
    );
    tour.check(
        "linear 512->1000",
        || linear(&x, &w, Some(&b), Activation::None),
        || reference::linear(&input, &weight, Some(&bias), Activation::None),
        1e-5,
    )?;

    // Three layers recorded into one submission; read back once.
    let input = random(tour, &[2, 3, 32, 32], 1.0);
    let mut layers = Vec::new();
    let mut hosts = Vec::new();
    for (in_channels, out_channels, stride) in [(3, 16, 1), (16, 32, 2), (32, 8, 1)] {
        let weight = random(tour, &[out_channels, in_channels, 3, 3], 0.2);
        let bias = random(tour, &[out_channels], 0.1);
        let options = Conv2dOptions {
            stride: [stride, stride],
            padding: Padding::Symmetric([1, 1]),
            activation: Activation::Relu,
            ..Default::default()
        };
        layers.push(Conv2d::new(&tour.gpu, &weight, Some(&bias), options)?);
        hosts.push((weight, bias, options));
    }
    let x = input.upload(&tour.gpu)?;
    tour.check(
        "chain of 3 Conv2d (one submission)",
        || {
            layers
                .iter()
                .try_fold(x.clone(), |t, layer| layer.forward(&t))
        },
        || {
            hosts.iter().try_fold(input.clone(), |t, (w, b, o)| {
                reference::conv2d(&t, w, Some(b), o)
            })
        },
        1e-5,
    )
}
