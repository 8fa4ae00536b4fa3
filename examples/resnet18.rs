//! ResNet-18 at inference, end to end: torchvision's layout (conv 7x7 stride 2 -> batch norm ->
//! ReLU -> max pool 3x3 stride 2 -> four stages of two basic blocks at 64, 128, 256 and 512
//! channels, the first block of stages 2-4 halving the map with a stride-2 conv and a 1x1
//! stride-2 conv-BN shortcut -> global average pool -> linear to 1000 classes), random weights
//! and trained-looking batch-norm statistics. It prints the summary's totals (torchvision's
//! ResNet-18 has 11,689,512 parameters and 1.82G multiply-accumulates at 224x224), folds the
//! batch norms into the convolutions for inference, times the whole forward pass (one
//! submission) and each stage on its own, and checks the output against the CPU reference of the
//! unfolded model.
//!
//! `cargo run --release --example resnet18 -- [--batch N] [--runs N] [--no-check]`

#[allow(dead_code)] // the helpers this example does not use serve inception and mobilenet
mod common;

use common::network::{self, conv_norm, random};
use wgcnn::random::Rng;
use wgcnn::{
    Activation, GlobalAvgPool2d, Gpu, Layer, MaxPool2d, MaxPool2dOptions, ReLU, Result, Sequential,
};

/// One basic block: relu(conv-BN-ReLU-conv-BN(x) + shortcut(x)), the shortcut a strided 1x1
/// conv-BN where the block changes the shape, else the identity.
fn basic_block(
    gpu: &Gpu,
    rng: &mut Rng,
    model: Sequential,
    out_channels: usize,
    stride: usize,
) -> Result<Sequential> {
    let in_channels = model.output_shape()[1];
    let [first, first_norm] = conv_norm(gpu, rng, [out_channels, in_channels, 3, 3], stride, 1)?;
    let [second, second_norm] = conv_norm(gpu, rng, [out_channels, out_channels, 3, 3], 1, 1)?;
    let body = vec![
        first,
        first_norm,
        ReLU::in_place().into(),
        second,
        second_norm,
    ];
    let shortcut = if stride == 1 && in_channels == out_channels {
        vec![]
    } else {
        conv_norm(gpu, rng, [out_channels, in_channels, 1, 1], stride, 1)?.to_vec()
    };
    model.push_residual(body, shortcut, Activation::Relu)
}

/// The stages of ResNet-18 for `input_shape`, each a model of its own: stem, the four stages of
/// basic blocks, head.
fn stages(gpu: &Gpu, rng: &mut Rng, input_shape: &[usize]) -> Result<Vec<(String, Sequential)>> {
    let [stem_conv, stem_norm] = conv_norm(gpu, rng, [64, 3, 7, 7], 2, 1)?;
    let pool = MaxPool2dOptions {
        stride: Some([2, 2]),
        padding: [1, 1],
        ..MaxPool2dOptions::new([3, 3])
    };
    let stem = Sequential::new(input_shape)?
        .push(stem_conv)?
        .push(stem_norm)?
        .push(ReLU::in_place())?
        .push(MaxPool2d::new(pool))?;
    let mut stages = vec![("stem: conv 7x7/2, max pool".to_string(), stem)];
    for (index, channels) in [64, 128, 256, 512].into_iter().enumerate() {
        let input = stages.last().expect("the stem").1.output_shape().to_vec();
        let stride = if index == 0 { 1 } else { 2 };
        let stage = basic_block(gpu, rng, Sequential::new(&input)?, channels, stride)?;
        let stage = basic_block(gpu, rng, stage, channels, 1)?;
        let name = format!("stage {}: 2 blocks, {channels} ch", index + 1);
        stages.push((name, stage));
    }
    let input = stages
        .last()
        .expect("four stages")
        .1
        .output_shape()
        .to_vec();
    let classifier = random(rng, &[1000, 512], (1.0 / 512f32).sqrt(), 0.0)?;
    let bias = random(rng, &[1000], 0.01, 0.0)?;
    let linear = Layer::linear(gpu, &classifier, Some(&bias), Activation::None)?;
    let head = Sequential::new(&input)?
        .push(GlobalAvgPool2d)?
        .push(Layer::Flatten)?
        .push(linear)?;
    stages.push(("head: global pool, linear".to_string(), head));
    Ok(stages)
}

const USAGE: &str = "cargo run --release --example resnet18 -- [--batch N] [--runs N] [--no-check]";

fn main() -> Result<()> {
    let options = network::options(USAGE);
    let gpu = Gpu::new()?;
    let mut rng = Rng::new(18);
    let input_shape = [options.batch, 3, 224, 224];
    println!("ResNet-18 on {}, input {input_shape:?}", gpu.adapter_info());
    let stages = stages(&gpu, &mut rng, &input_shape)?;
    network::run(&gpu, &mut rng, "ResNet-18", &stages, &input_shape, &options)
}
