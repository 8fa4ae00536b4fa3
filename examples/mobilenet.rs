//! The MobileNet lesson: a depthwise separable convolution. A 3x3 convolution from 144 to 32
//! channels at stride 2 on a 56x56 map mixes space and channels in one step (~32.5M
//! multiply-accumulates); a depthwise 3x3 (each channel on its own, ~1M) followed by a 1x1
//! projection (~3.6M) does the same job for ~7x less. Both are counted by the crate, both run
//! on the GPU (timed, with the kernel each layer takes); then two MobileNetV2 inverted-residual
//! blocks (1x1 expand, depthwise 3x3, 1x1 project), one at stride 2 and one at stride 1 whose
//! input is added back (`Sequential::push_residual`): their summary, one forward pass in one
//! submission, and a check against the CPU reference.
//!
//! `cargo run --release --example mobilenet`

#[allow(dead_code)] // common::network serves the end-to-end examples (resnet18, mobilenet_v2)
mod common;

use common::{compare, max_difference, random_conv, time_forward};
use wgcnn::random::Rng;
use wgcnn::{
    conv2d_kernel, Activation, Conv2dGeometry, Conv2dOptions, Gpu, HostTensor, Layer, Padding,
    Result, Sequential,
};

/// A convolution with random weights, padding k/2, the given stride, groups and activation;
/// prints the kernel it takes on this adapter for `input`.
fn conv(
    gpu: &Gpu,
    rng: &mut Rng,
    input: [usize; 4],
    weight_shape: [usize; 4],
    (stride, groups, activation): (usize, usize, Activation),
) -> Result<Layer> {
    let options = Conv2dOptions {
        stride: [stride, stride],
        padding: Padding::Symmetric([weight_shape[2] / 2, weight_shape[3] / 2]),
        groups,
        activation,
        ..Default::default()
    };
    let geometry = Conv2dGeometry::new(&input, &weight_shape, Some(weight_shape[0]), &options)?;
    println!(
        "  {:<34} takes {}",
        format!("{weight_shape:?} on {input:?}"),
        conv2d_kernel(gpu, &geometry)
    );
    random_conv(gpu, rng, weight_shape, options)
}

/// One inverted residual block's layers: (input shape, weight shape, conv config) each.
type BlockLayers = [([usize; 4], [usize; 4], (usize, usize, Activation)); 3];

/// The convolutions of `layers`, in order (see [`conv`]).
fn convs(gpu: &Gpu, rng: &mut Rng, layers: BlockLayers) -> Result<Vec<Layer>> {
    layers
        .into_iter()
        .map(|(input, weight_shape, config)| conv(gpu, rng, input, weight_shape, config))
        .collect()
}

fn main() -> Result<()> {
    let gpu = Gpu::new()?;
    let mut rng = Rng::new(5);
    println!("Depthwise separable convolution on {}", gpu.adapter_info());
    let shape = [1, 144, 56, 56];
    let host = HostTensor::new(&shape, rng.normals(shape.iter().product(), 1.0, 0.0))?;
    let input = host.upload(&gpu)?;
    let relu6 = Activation::Relu6;
    let half = [1, 144, 28, 28];

    println!("\nkernels:");
    let mut dense = Sequential::new(&shape)?.push(conv(
        &gpu,
        &mut rng,
        shape,
        [32, 144, 3, 3],
        (2, 1, relu6),
    )?)?;
    let mut separable = Sequential::new(&shape)?
        .push(conv(
            &gpu,
            &mut rng,
            shape,
            [144, 1, 3, 3],
            (2, 144, relu6),
        )?)?
        .push(conv(&gpu, &mut rng, half, [32, 144, 1, 1], (1, 1, relu6))?)?;
    let runs = 10;
    compare(
        &gpu,
        &input,
        runs,
        ("3x3 conv 144->32, stride 2", &mut dense),
        ("depthwise 3x3 stride 2, then 1x1 ->32", &mut separable),
        "the separable form",
    )?;

    // MobileNetV2's stride-2 inverted residual block: 24 -> 144 (x6) -> 32 channels; then a
    // stride-1 one on its output, 32 -> 192 -> 32, whose input is added back (no activation
    // after the sum: the linear bottleneck).
    let block_shape = [1, 24, 56, 56];
    let block_host = HostTensor::new(&block_shape, rng.normals(24 * 56 * 56, 1.0, 0.0))?;
    let block_input = block_host.upload(&gpu)?;
    println!("\ninverted residual blocks, kernels:");
    let stride2 = [
        (block_shape, [144, 24, 1, 1], (1, 1, relu6)), // expand
        (shape, [144, 1, 3, 3], (2, 144, relu6)),      // depthwise, stride 2
        (half, [32, 144, 1, 1], (1, 1, Activation::None)), // project
    ];
    let (narrow, wide) = ([1, 32, 28, 28], [1, 192, 28, 28]);
    let stride1 = [
        (narrow, [192, 32, 1, 1], (1, 1, relu6)),          // expand
        (wide, [192, 1, 3, 3], (1, 192, relu6)),           // depthwise
        (wide, [32, 192, 1, 1], (1, 1, Activation::None)), // project
    ];
    let first = convs(&gpu, &mut rng, stride2)?;
    let body = convs(&gpu, &mut rng, stride1)?;
    let mut block = Sequential::from_layers(&block_shape, first)?.push_residual(
        body,
        vec![],
        Activation::None,
    )?;
    println!("\n{}", block.summary());
    let before = gpu.submission_count();
    let output = block.forward(&block_input)?.to_vec()?;
    let submissions = gpu.submission_count() - before;
    let ms = time_forward(&gpu, &mut block, &block_input, runs)?;
    let expected = block.forward_reference(&block_host)?;
    let max_error = max_difference(&output, &expected);
    println!(
        "forward: output {:?}, {submissions} submission, {ms:.3} ms median, \
         max |GPU - CPU reference| = {max_error:.2e}",
        block.output_shape()
    );
    if max_error > 1e-3 {
        return Err(wgcnn::Error::Gpu(format!(
            "the inverted residual blocks differ from the reference by {max_error}"
        )));
    }
    Ok(())
}
