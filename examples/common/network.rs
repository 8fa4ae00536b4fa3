//! What the end-to-end network examples (`resnet18`, `mobilenet_v2`) share: convolutions with
//! their batch norms as training leaves them, the command-line options, and the run itself
//! (summary totals, batch norms folded, the forward pass timed whole and stage by stage, the
//! output checked against the CPU reference).

use super::{max_difference, time_forward};
use wgcnn::random::Rng;
use wgcnn::{
    BatchNorm2d, BatchNorm2dOptions, Conv2d, Conv2dOptions, Gpu, HostTensor, Layer, Padding,
    Result, RunningStats, Sequential,
};

/// A host tensor of normals N(offset, scale^2).
pub fn random(rng: &mut Rng, shape: &[usize], scale: f32, offset: f32) -> Result<HostTensor> {
    HostTensor::new(shape, rng.normals(shape.iter().product(), scale, offset))
}

/// A bias-free convolution (He-initialised weights: N(0, 2 / fan-in)) with padding k/2, and its
/// batch norm in inference mode with statistics as training leaves them.
pub fn conv_norm(
    gpu: &Gpu,
    rng: &mut Rng,
    weight_shape: [usize; 4],
    stride: usize,
    groups: usize,
) -> Result<[Layer; 2]> {
    let [out_channels, in_per_group, kernel, _] = weight_shape;
    let fan_in = (in_per_group * kernel * kernel) as f32;
    let weight = random(rng, &weight_shape, (2.0 / fan_in).sqrt(), 0.0)?;
    let options = Conv2dOptions {
        stride: [stride, stride],
        padding: Padding::Symmetric([kernel / 2, kernel / 2]),
        groups,
        ..Default::default()
    };
    let conv = Conv2d::new(gpu, &weight, None, options)?;
    let gamma = random(rng, &[out_channels], 0.1, 1.0)?;
    let beta = random(rng, &[out_channels], 0.1, 0.0)?;
    let mean = random(rng, &[out_channels], 0.1, 0.0)?;
    let variances = rng.normals(out_channels, 0.1, 1.0);
    let var = HostTensor::new(&[out_channels], variances.iter().map(|v| v.abs()).collect())?;
    let running = Some(RunningStats {
        mean: &mean,
        var: &var,
    });
    let options = BatchNorm2dOptions::default();
    let mut norm = BatchNorm2d::with_parameters(gpu, &gamma, &beta, running, options)?;
    norm.eval();
    Ok([conv.into(), norm.into()])
}

/// `--batch N`, `--runs N`, `--no-check`.
pub struct Options {
    pub batch: usize,
    pub runs: usize,
    pub check: bool,
}

fn parse() -> std::result::Result<Options, String> {
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

/// The command line's options; on a bad one, prints it with `usage` and exits with status 2.
pub fn options(usage: &str) -> Options {
    parse().unwrap_or_else(|error| {
        eprintln!("error: {error}\nusage: {usage}");
        std::process::exit(2);
    })
}

/// Runs the network made of `stages` (each a model of its own, in order) on a random input of
/// `input_shape`: prints the summary's totals, times the forward pass with batch norms folded
/// (one submission) and each stage on its own, and, with `options.check`, compares the output
/// with the CPU reference of the unfolded model (an error past 1e-3 of the largest output).
pub fn run(
    gpu: &Gpu,
    rng: &mut Rng,
    name: &str,
    stages: &[(String, Sequential)],
    input_shape: &[usize],
    options: &Options,
) -> Result<()> {
    let layers = stages.iter().flat_map(|(_, stage)| stage.layers().to_vec());
    let model = Sequential::from_layers(input_shape, layers.collect())?;
    let summary = model.summary();
    println!(
        "{} layers, {} parameters, {:.3}G multiply-accumulates per image",
        summary.rows.len(),
        model.parameters(),
        model.macs() as f64 / 1e9 / options.batch as f64
    );
    let mut folded = model.fold_batch_norms()?;
    let host = random(rng, input_shape, 1.0, 0.0)?;
    let input = host.upload(gpu)?;

    let before = gpu.submission_count();
    let output = folded.forward(&input)?.to_vec()?;
    let submissions = gpu.submission_count() - before;
    let runs = options.runs;
    let ms = time_forward(gpu, &mut folded, &input, runs)?;
    let gflops = 2.0 * model.macs() as f64 / ms / 1e6;
    println!(
        "forward pass (batch norms folded): {submissions} submission, {ms:.1} ms median of {runs}, \
         {gflops:.1} GFLOP/s"
    );

    println!("\neach stage on its own (median of {runs}, one submission each):");
    let mut stage_input = input;
    for (stage_name, stage) in stages {
        let mut stage = stage.fold_batch_norms()?;
        let stage_ms = time_forward(gpu, &mut stage, &stage_input, runs)?;
        let rate = 2.0 * stage.macs() as f64 / stage_ms / 1e6;
        println!(
            "  {stage_name:<30} -> {:<18} {stage_ms:>8.2} ms {rate:>7.1} GFLOP/s",
            format!("{:?}", stage.output_shape())
        );
        stage_input = stage.forward(&stage_input)?;
    }

    if options.check {
        println!("\nchecking against the CPU reference (f64, takes a while) ...");
        let expected = model.forward_reference(&host)?;
        let largest = expected.data().iter().fold(0f32, |m, v| m.max(v.abs()));
        let difference = max_difference(&output, &expected);
        println!("max |GPU - CPU reference| = {difference:.2e} (largest |output| {largest:.2})");
        if difference > 1e-3 * largest.max(1.0) {
            return Err(wgcnn::Error::Gpu(format!(
                "{name} differs from its reference by {difference}"
            )));
        }
    }
    Ok(())
}
