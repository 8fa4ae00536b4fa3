//! Helpers shared by the examples: a convolution layer with random weights, the median time of
//! a model's forward pass, and its largest difference from the CPU reference; `network` holds
//! what the end-to-end networks (`resnet18`, `mobilenet_v2`) share besides.

pub mod network;

use std::time::Instant;
use wgcnn::random::Rng;
use wgcnn::{Conv2d, Conv2dOptions, Gpu, HostTensor, Layer, Result, Sequential, Tensor};

/// A convolution layer with weights drawn from N(0, 1/fan-in) and biases from N(0, 0.01).
pub fn random_conv(
    gpu: &Gpu,
    rng: &mut Rng,
    weight_shape: [usize; 4],
    options: Conv2dOptions,
) -> Result<Layer> {
    let fan_in = (weight_shape[1] * weight_shape[2] * weight_shape[3]) as f32;
    let count = weight_shape.iter().product();
    let weight = HostTensor::new(&weight_shape, rng.normals(count, 1.0 / fan_in.sqrt(), 0.0))?;
    let bias = HostTensor::new(&[weight_shape[0]], rng.normals(weight_shape[0], 0.1, 0.0))?;
    Ok(Conv2d::new(gpu, &weight, Some(&bias), options)?.into())
}

/// Median wall time of `runs` forward passes, each recorded, submitted and waited for.
pub fn time_forward(gpu: &Gpu, model: &mut Sequential, input: &Tensor, runs: usize) -> Result<f64> {
    model.forward(input)?.to_vec()?; // compiles the pipelines
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        model.forward(input)?;
        gpu.synchronize()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[runs / 2])
}

/// Times `a` and `b` on `input` (median of `runs` forward passes each) and prints them side by
/// side with their multiply-adds, then how many times fewer multiply-adds `b` does than `a` and
/// how many times faster it ran, as "`lesson` does ... here".
pub fn compare(
    gpu: &Gpu,
    input: &Tensor,
    runs: usize,
    (a_name, a): (&str, &mut Sequential),
    (b_name, b): (&str, &mut Sequential),
    lesson: &str,
) -> Result<()> {
    let a_ms = time_forward(gpu, a, input, runs)?;
    let b_ms = time_forward(gpu, b, input, runs)?;
    println!("\ninput {:?}, median of {runs} runs", input.shape());
    let header = ("", "multiply-adds", "GPU ms", "output");
    println!(
        "{:<40} {:>20} {:>10} {:>16}",
        header.0, header.1, header.2, header.3
    );
    for (name, model, ms) in [(a_name, &*a, a_ms), (b_name, &*b, b_ms)] {
        let macs = format!("{} ({:.1}M)", model.macs(), model.macs() as f64 / 1e6);
        let output = format!("{:?}", model.output_shape());
        println!("{name:<40} {macs:>20} {ms:>10.3} {output:>16}");
    }
    println!(
        "{lesson} does {:.1}x fewer multiply-adds and runs {:.1}x faster here",
        a.macs() as f64 / b.macs() as f64,
        a_ms / b_ms
    );
    Ok(())
}

/// The largest |GPU - CPU reference| over a forward pass's output.
pub fn max_difference(output: &[f32], expected: &HostTensor) -> f32 {
    output
        .iter()
        .zip(expected.data())
        .map(|(a, e)| (a - e).abs())
        .fold(0f32, f32::max)
}
