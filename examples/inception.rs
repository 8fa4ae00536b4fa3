//! The Inception lesson: reduce before the expensive convolution. On GoogLeNet's 28x28x192
//! input, a 5x5 convolution to 32 channels costs about 120M multiply-accumulates; a 1x1
//! reduction to 16 channels first cuts that to about 12.4M. Both counts come from the crate's
//! accounting, both run on the GPU (timed, shapes printed); then the full Inception (3a)
//! module: its summary, one forward pass, and a check against the CPU reference.
//!
//! `cargo run --release --example inception`

#[allow(dead_code)] // common::network serves the end-to-end examples (resnet18, mobilenet_v2)
mod common;

use common::{compare, max_difference, random_conv, time_forward};
use std::time::Instant;
use wgcnn::random::Rng;
use wgcnn::{
    Activation, Conv2dOptions, Gpu, HostTensor, Layer, MaxPool2d, MaxPool2dOptions, Padding,
    Result, Sequential,
};

/// A convolution with random weights, "same" padding and a ReLU.
fn conv(gpu: &Gpu, rng: &mut Rng, shape: [usize; 4]) -> Result<Layer> {
    let options = Conv2dOptions {
        padding: Padding::Symmetric([shape[2] / 2, shape[3] / 2]),
        activation: Activation::Relu,
        ..Default::default()
    };
    random_conv(gpu, rng, shape, options)
}

fn main() -> Result<()> {
    let gpu = Gpu::new()?;
    let mut rng = Rng::new(3);
    println!("Inception 1x1 reduction on {}", gpu.adapter_info());
    let shape = [1, 192, 28, 28];
    let host = HostTensor::new(&shape, rng.normals(192 * 28 * 28, 1.0, 0.0))?;
    let input = host.upload(&gpu)?;

    let mut direct = Sequential::new(&shape)?.push(conv(&gpu, &mut rng, [32, 192, 5, 5])?)?;
    let mut reduced = Sequential::new(&shape)?
        .push(conv(&gpu, &mut rng, [16, 192, 1, 1])?)?
        .push(conv(&gpu, &mut rng, [32, 16, 5, 5])?)?;
    let runs = 10;
    compare(
        &gpu,
        &input,
        runs,
        ("5x5 conv 192->32", &mut direct),
        ("1x1 192->16, then 5x5 16->32", &mut reduced),
        "the reduction",
    )?;

    // Inception (3a): 1x1 64 | 1x1 96 -> 3x3 128 | 1x1 16 -> 5x5 32 | 3x3 max pool -> 1x1 32.
    let pool = MaxPool2dOptions {
        stride: Some([1, 1]),
        padding: [1, 1],
        ..MaxPool2dOptions::new([3, 3])
    };
    let branches = vec![
        vec![conv(&gpu, &mut rng, [64, 192, 1, 1])?],
        vec![
            conv(&gpu, &mut rng, [96, 192, 1, 1])?,
            conv(&gpu, &mut rng, [128, 96, 3, 3])?,
        ],
        vec![
            conv(&gpu, &mut rng, [16, 192, 1, 1])?,
            conv(&gpu, &mut rng, [32, 16, 5, 5])?,
        ],
        vec![
            MaxPool2d::new(pool).into(),
            conv(&gpu, &mut rng, [32, 192, 1, 1])?,
        ],
    ];
    let mut inception = Sequential::new(&shape)?.push_branches(branches)?;
    println!("\nInception (3a)\n{}", inception.summary());
    let before = gpu.submission_count();
    let start = Instant::now();
    let output = inception.forward(&input)?.to_vec()?;
    let first_ms = start.elapsed().as_secs_f64() * 1e3;
    let submissions = gpu.submission_count() - before;
    let ms = time_forward(&gpu, &mut inception, &input, runs)?;
    let expected = inception.forward_reference(&host)?;
    let max_error = max_difference(&output, &expected);
    println!(
        "forward: output {:?}, {submissions} submission (first call {first_ms:.1} ms with \
         pipeline compilation, then {ms:.3} ms median), max |GPU - CPU reference| = {max_error:.2e}",
        inception.output_shape()
    );
    if max_error > 1e-3 {
        return Err(wgcnn::Error::Gpu(format!(
            "Inception (3a) differs from the reference by {max_error}"
        )));
    }
    Ok(())
}
