//! MobileNetV2 at inference, end to end: torchvision's layout (conv 3x3 stride 2 to 32 channels
//! -> 17 inverted-residual blocks, each a 1x1 expansion by t (none when t = 1), a depthwise 3x3
//! and a linear 1x1 projection, with batch norms and ReLU6, the input added back where the
//! block keeps its shape -> 1x1 conv to 1280 channels -> global average pool -> linear to 1000
//! classes; dropout is the identity at inference), random weights and trained-looking
//! batch-norm statistics. torchvision's MobileNetV2 has 3,504,872 parameters and about 0.30G
//! multiply-accumulates at 224x224. The run is `resnet18`'s: summary totals, batch norms folded
//! (ReLU6 fused into the convolutions), one submission a forward pass, timed whole and stage by
//! stage, and checked against the CPU reference of the unfolded model.
//!
//! `cargo run --release --example mobilenet_v2 -- [--batch N] [--runs N] [--no-check]`

#[allow(dead_code)] // the helpers this example does not use serve inception and mobilenet
mod common;

use common::network::{self, conv_norm, random};
use wgcnn::random::Rng;
use wgcnn::{Activation, GlobalAvgPool2d, Gpu, Layer, ReLU6, Result, Sequential};

/// torchvision's inverted-residual settings: expansion t, output channels, blocks, first stride.
const SETTINGS: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// One inverted-residual block appended to `model`: [1x1 expand-BN-ReLU6] -> depthwise
/// 3x3-BN-ReLU6 -> 1x1 project-BN, plus the input where the block keeps the shape.
fn inverted_residual(
    gpu: &Gpu,
    rng: &mut Rng,
    model: Sequential,
    (expansion, out_channels, stride): (usize, usize, usize),
) -> Result<Sequential> {
    let in_channels = model.output_shape()[1];
    let hidden = in_channels * expansion;
    let mut body = Vec::new();
    if expansion != 1 {
        body.extend(conv_norm(gpu, rng, [hidden, in_channels, 1, 1], 1, 1)?);
        body.push(ReLU6::in_place().into());
    }
    body.extend(conv_norm(gpu, rng, [hidden, 1, 3, 3], stride, hidden)?);
    body.push(ReLU6::in_place().into());
    body.extend(conv_norm(gpu, rng, [out_channels, hidden, 1, 1], 1, 1)?);
    if stride == 1 && in_channels == out_channels {
        model.push_residual(body, vec![], Activation::None)
    } else {
        body.into_iter().try_fold(model, Sequential::push)
    }
}

/// The stages of MobileNetV2 for `input_shape`, each a model of its own: the stem, one stage per
/// row of `SETTINGS`, the 1x1 conv to 1280 channels with the head.
fn stages(gpu: &Gpu, rng: &mut Rng, input_shape: &[usize]) -> Result<Vec<(String, Sequential)>> {
    let [stem_conv, stem_norm] = conv_norm(gpu, rng, [32, 3, 3, 3], 2, 1)?;
    let stem = Sequential::new(input_shape)?
        .push(stem_conv)?
        .push(stem_norm)?
        .push(ReLU6::in_place())?;
    let mut stages = vec![("stem: conv 3x3/2, 32 ch".to_string(), stem)];
    for (expansion, channels, blocks, stride) in SETTINGS {
        let input = stages.last().expect("the stem").1.output_shape().to_vec();
        let mut stage = Sequential::new(&input)?;
        for block in 0..blocks {
            let stride = if block == 0 { stride } else { 1 };
            stage = inverted_residual(gpu, rng, stage, (expansion, channels, stride))?;
        }
        let plural = if blocks == 1 { "" } else { "s" };
        let name = format!("{blocks} block{plural}: t {expansion}, {channels} ch");
        stages.push((name, stage));
    }
    let input = stages
        .last()
        .expect("seven stages")
        .1
        .output_shape()
        .to_vec();
    let [last_conv, last_norm] = conv_norm(gpu, rng, [1280, input[1], 1, 1], 1, 1)?;
    let classifier = random(rng, &[1000, 1280], (1.0 / 1280f32).sqrt(), 0.0)?;
    let bias = random(rng, &[1000], 0.01, 0.0)?;
    let linear = Layer::linear(gpu, &classifier, Some(&bias), Activation::None)?;
    let head = Sequential::new(&input)?
        .push(last_conv)?
        .push(last_norm)?
        .push(ReLU6::in_place())?
        .push(GlobalAvgPool2d)?
        .push(Layer::Flatten)?
        .push(linear)?;
    stages.push(("head: 1x1 to 1280, pool, linear".to_string(), head));
    Ok(stages)
}

const USAGE: &str =
    "cargo run --release --example mobilenet_v2 -- [--batch N] [--runs N] [--no-check]";

fn main() -> Result<()> {
    let options = network::options(USAGE);
    let gpu = Gpu::new()?;
    let mut rng = Rng::new(2);
    let input_shape = [options.batch, 3, 224, 224];
    println!(
        "MobileNetV2 on {}, input {input_shape:?}",
        gpu.adapter_info()
    );
    let stages = stages(&gpu, &mut rng, &input_shape)?;
    network::run(
        &gpu,
        &mut rng,
        "MobileNetV2",
        &stages,
        &input_shape,
        &options,
    )
}
