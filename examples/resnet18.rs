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

use common::{max_difference, time_forward};
use wgcnn::random::Rng;
use wgcnn::{
    Activation, BatchNorm2d, BatchNorm2dOptions, Conv2d, Conv2dOptions, GlobalAvgPool2d, Gpu,
    HostTensor, Layer, MaxPool2d, MaxPool2dOptions, Padding, ReLU, Result, RunningStats,
    Sequential,
};

fn random(rng: &mut Rng, shape: &[usize], scale: f32, offset: f32) -> Result<HostTensor> {
    HostTensor::new(shape, rng.normals(shape.iter().product(), scale, offset))
}

/// A bias-free convolution (He-initialised weights: N(0, 2 / fan-in)) and its batch norm in
/// inference mode, with statistics as training leaves them.
fn conv_norm(
    gpu: &Gpu,
    rng: &mut Rng,
    weight_shape: [usize; 4],
    stride: usize,
) -> Result<[Layer; 2]> {
    let [out_channels, in_channels, kernel, _] = weight_shape;
    let fan_in = (in_channels * kernel * kernel) as f32;
    let weight = random(rng, &weight_shape, (2.0 / fan_in).sqrt(), 0.0)?;
    let options = Conv2dOptions {
        stride: [stride, stride],
        padding: Padding::Symmetric([kernel / 2, kernel / 2]),
        ..Default::default()
    };
    let conv = Conv2d::new(gpu, &weight, None, options)?;
    let gamma = random(rng, &[out_channels], 0.1, 1.0)?;
    let beta = random(rng, &[out_channels], 0.1, 0.0)?;
    let mean = random(rng, &[out_channels], 0.1, 0.0)?;
    let var = HostTensor::new(
        &[out_channels],
        rng.normals(out_channels, 0.1, 1.0)
            .iter()
            .map(|v| v.abs())
            .collect(),
    )?;
    let running = Some(RunningStats {
        mean: &mean,
        var: &var,
    });
    let options = BatchNorm2dOptions::default();
    let mut norm = BatchNorm2d::with_parameters(gpu, &gamma, &beta, running, options)?;
    norm.eval();
    Ok([conv.into(), norm.into()])
}

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
    let [first, first_norm] = conv_norm(gpu, rng, [out_channels, in_channels, 3, 3], stride)?;
    let [second, second_norm] = conv_norm(gpu, rng, [out_channels, out_channels, 3, 3], 1)?;
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
        conv_norm(gpu, rng, [out_channels, in_channels, 1, 1], stride)?.to_vec()
    };
    model.push_residual(body, shortcut, Activation::Relu)
}

/// The stages of ResNet-18 for `input_shape`, each a model of its own: stem, the four stages of
/// basic blocks, head.
fn stages(gpu: &Gpu, rng: &mut Rng, input_shape: &[usize]) -> Result<Vec<(String, Sequential)>> {
    let [stem_conv, stem_norm] = conv_norm(gpu, rng, [64, 3, 7, 7], 2)?;
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

struct Options {
    batch: usize,
    runs: usize,
    check: bool,
}

fn options() -> std::result::Result<Options, String> {
    let mut options = Options {
        batch: 1,
        runs: 10,
        check: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut count = || match args.next().map(|text| text.parse::<usize>()) {
            Some(Ok(n)) if n >= 1 => Ok(n),
            _ => Err(format!("{flag} takes a whole number of at least 1")),
        };
        match flag.as_str() {
            "--batch" => options.batch = count()?,
            "--runs" => options.runs = count()?,
            "--no-check" => options.check = false,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

fn main() -> Result<()> {
    let options = options().unwrap_or_else(|error| {
        eprintln!("error: {error}\nusage: {USAGE}");
        std::process::exit(2);
    });
    let gpu = Gpu::new()?;
    let mut rng = Rng::new(18);
    let input_shape = [options.batch, 3, 224, 224];
    println!("ResNet-18 on {}, input {input_shape:?}", gpu.adapter_info());
    let stages = stages(&gpu, &mut rng, &input_shape)?;
    let layers = stages.iter().flat_map(|(_, stage)| stage.layers().to_vec());
    let model = Sequential::from_layers(&input_shape, layers.collect())?;
    let summary = model.summary();
    println!(
        "{} layers, {} parameters, {:.3}G multiply-accumulates per image",
        summary.rows.len(),
        model.parameters(),
        model.macs() as f64 / 1e9 / options.batch as f64
    );
    let mut folded = model.fold_batch_norms()?;
    let host = random(&mut rng, &input_shape, 1.0, 0.0)?;
    let input = host.upload(&gpu)?;

    let before = gpu.submission_count();
    let output = folded.forward(&input)?.to_vec()?;
    let submissions = gpu.submission_count() - before;
    let runs = options.runs;
    let ms = time_forward(&gpu, &mut folded, &input, runs)?;
    let gflops = 2.0 * model.macs() as f64 / ms / 1e6;
    println!(
        "forward pass (batch norms folded): {submissions} submission, {ms:.1} ms median of {runs}, \
         {gflops:.1} GFLOP/s"
    );

    println!("\neach stage on its own (median of {runs}, one submission each):");
    let mut stage_input = input;
    for (name, stage) in &stages {
        let mut stage = stage.fold_batch_norms()?;
        let stage_ms = time_forward(&gpu, &mut stage, &stage_input, runs)?;
        let rate = 2.0 * stage.macs() as f64 / stage_ms / 1e6;
        println!(
            "  {name:<28} -> {:<18} {stage_ms:>8.2} ms {rate:>7.1} GFLOP/s",
            format!("{:?}", stage.output_shape())
        );
        stage_input = stage.forward(&stage_input)?;
    }

    if options.check {
        println!("\nchecking against the CPU reference (f64, takes a while) ...");
        let expected = model.forward_reference(&host)?;
        let largest = expected.data().iter().fold(0f32, |m, v| m.max(v.abs()));
        let difference = max_difference(&output, &expected);
        println!("max |GPU - CPU reference| = {difference:.2e} (largest |logit| {largest:.2})");
        if difference > 1e-3 * largest.max(1.0) {
            return Err(wgcnn::Error::Gpu(format!(
                "ResNet-18 differs from its reference by {difference}"
            )));
        }
    }
    Ok(())
}
