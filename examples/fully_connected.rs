//! A fully connected layer is a convolution. Two ways to see it, each run both ways on the GPU:
//! 1. `Linear` on `[N, C]` equals a 1x1 convolution with the same weight on `[N, C, 1, 1]`
//!    (and on `[N, C, H, W]` the 1x1 convolution is that `Linear` applied at every pixel).
//! 2. `Linear` on a flattened `[N, C*H*W]` map equals a convolution whose kernel covers the
//!    whole `H x W` map (how VGG's classifier becomes convolutional).
//!
//! `cargo run --release --example fully_connected`

use wgcnn::random::Rng;
use wgcnn::{Activation, Conv2d, Conv2dOptions, Gpu, HostTensor, Layer, Result, Sequential};

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn random(rng: &mut Rng, shape: &[usize], scale: f32) -> Result<HostTensor> {
    HostTensor::new(shape, rng.normals(shape.iter().product(), scale, 0.0))
}

fn main() -> Result<()> {
    let gpu = Gpu::new()?;
    let mut rng = Rng::new(7);
    println!(
        "A fully connected layer is a convolution, on {}\n",
        gpu.adapter_info()
    );
    let (batch, in_features, out_features) = (4, 512, 10);
    let weight = random(&mut rng, &[out_features, in_features], 0.05)?;
    let bias = random(&mut rng, &[out_features], 0.1)?;
    let input = random(&mut rng, &[batch, in_features], 1.0)?;

    let mut fully_connected = Sequential::new(&[batch, in_features])?.push(Layer::linear(
        &gpu,
        &weight,
        Some(&bias),
        Activation::None,
    )?)?;
    let as_image = [batch, in_features, 1, 1];
    let weight_1x1 = HostTensor::new(&[out_features, in_features, 1, 1], weight.data().to_vec())?;
    let conv = Conv2d::new(&gpu, &weight_1x1, Some(&bias), Conv2dOptions::default())?;
    let mut convolution = Sequential::new(&as_image)?.push(conv)?;
    let linear_output = fully_connected.forward(&input.upload(&gpu)?)?;
    let image = HostTensor::new(&as_image, input.data().to_vec())?;
    let conv_output = convolution.forward(&image.upload(&gpu)?)?;
    let first_difference = max_difference(&linear_output.to_vec()?, &conv_output.to_vec()?);
    println!(
        "1. Linear {in_features}->{out_features} on {:?} -> {:?}\n   \
         1x1 conv on {as_image:?} -> {:?}\n   max |difference| = {first_difference:e}, {} MACs each",
        input.shape(),
        linear_output.shape(),
        conv_output.shape(),
        fully_connected.macs()
    );

    // VGG's first classifier layer in miniature: a 7x7x64 map, flattened, to 32 features.
    let (channels, size, features) = (64, 7, 32);
    let map_shape = [2, channels, size, size];
    let map = random(&mut rng, &map_shape, 1.0)?;
    let weight = random(&mut rng, &[features, channels * size * size], 0.02)?;
    let bias = random(&mut rng, &[features], 0.1)?;
    let mut flattened = Sequential::new(&map_shape)?
        .push(Layer::Flatten)?
        .push(Layer::linear(&gpu, &weight, Some(&bias), Activation::Relu)?)?;
    // Row-major [features, C*H*W] is exactly the [features, C, H, W] kernel layout.
    let kernel = HostTensor::new(&[features, channels, size, size], weight.data().to_vec())?;
    let options = Conv2dOptions {
        activation: Activation::Relu,
        ..Default::default()
    };
    let mut whole_map =
        Sequential::new(&map_shape)?.push(Conv2d::new(&gpu, &kernel, Some(&bias), options)?)?;
    let map = map.upload(&gpu)?;
    let flat_output = flattened.forward(&map)?;
    let conv_output = whole_map.forward(&map)?;
    let difference = max_difference(&flat_output.to_vec()?, &conv_output.to_vec()?);
    println!(
        "2. Flatten + Linear {}->{features} on {map_shape:?} -> {:?}\n   \
         {size}x{size} conv (kernel = whole map) -> {:?}\n   max |difference| = {difference:e}, \
         {} MACs each",
        channels * size * size,
        flat_output.shape(),
        conv_output.shape(),
        flattened.macs()
    );
    if first_difference.max(difference) > 1e-4 || flattened.macs() != whole_map.macs() {
        return Err(wgcnn::Error::Gpu(format!(
            "the two forms differ by {difference}"
        )));
    }
    Ok(())
}
