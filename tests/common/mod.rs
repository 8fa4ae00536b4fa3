//! Helpers shared by the integration tests: opening the Gpu (a missing adapter fails with the
//! fix), tolerant comparison, random tensors.
#![allow(dead_code)]

use wgcnn::random::Rng;
use wgcnn::{
    BatchNorm2d, BatchNorm2dOptions, Conv2d, Conv2dOptions, Error, Gpu, GpuOptions, HostTensor,
    Padding, RunningStats, Sequential,
};

/// The test Gpu: default adapter (honours WGPU_BACKEND), outputs NaN-poisoned before each op.
pub fn gpu() -> Gpu {
    gpu_with(GpuOptions {
        poison_outputs: true,
        ..Default::default()
    })
}

/// The test Gpu with conv2d's channel split off (it is off by default on software adapters
/// only), for tests that assert which kernel a shape takes: a split convolution runs a grouped
/// one (`tests/conv2d_split.rs`).
pub fn gpu_unsplit() -> Gpu {
    gpu_with(GpuOptions {
        poison_outputs: true,
        channel_split_outputs: Some(0),
        ..Default::default()
    })
}

/// `gpu_unsplit` with GPUs' 64-tile workgroups (`GpuOptions::large_workgroups`) on any adapter,
/// so a software adapter runs the layout GPUs take.
pub fn gpu_large_workgroups() -> Gpu {
    gpu_with(GpuOptions {
        poison_outputs: true,
        channel_split_outputs: Some(0),
        large_workgroups: Some(true),
        ..Default::default()
    })
}

pub fn gpu_with(options: GpuOptions) -> Gpu {
    match Gpu::with_options(options) {
        Ok(gpu) => gpu,
        Err(error) => panic!(
            "{error}\nThe GPU tests need an adapter. Run `bash .ci/run` once (it installs Mesa 25's lavapipe and \
             llvmpipe from bookworm-backports), or install them as README.md shows."
        ),
    }
}

/// Asserts `|actual - expected| <= abs + rel * |expected|` element-wise (NaN expected means NaN
/// required), reporting the worst element and how many fail.
pub fn assert_close(actual: &[f32], expected: &[f32], abs: f32, rel: f32, context: &str) {
    if let Err(message) = check_close(actual, expected, abs, rel) {
        panic!("{context}: {message}");
    }
}

pub fn check_close(actual: &[f32], expected: &[f32], abs: f32, rel: f32) -> Result<(), String> {
    if actual.len() != expected.len() {
        return Err(format!(
            "length {} != expected {}",
            actual.len(),
            expected.len()
        ));
    }
    let mut failures = 0;
    let mut worst: Option<(usize, f32)> = None;
    for (index, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let ok = if e.is_nan() {
            a.is_nan()
        } else {
            (a - e).abs() <= abs + rel * e.abs()
        };
        if !ok {
            failures += 1;
            let error = if a.is_nan() {
                f32::INFINITY
            } else {
                (a - e).abs()
            };
            if worst.is_none_or(|(_, w)| error > w) {
                worst = Some((index, error));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((index, _)) => Err(format!(
            "{failures} of {} elements out of tolerance (abs {abs}, rel {rel}); worst at {index}: got {}, expected {}",
            actual.len(),
            actual[index],
            expected[index]
        )),
    }
}

/// A standard-normal tensor.
pub fn random(rng: &mut Rng, shape: &[usize], scale: f32) -> HostTensor {
    HostTensor::new(shape, rng.normals(shape.iter().product(), scale, 0.0)).unwrap()
}

/// The wide kernel a stride-1 1x1 convolution takes on adapters without subgroups: 16-channel
/// tiles where they pad the output channels a group no more than 8-channel ones, with their
/// packed weights (`in_channels` x the channels a group rounded up to 16) from a uniform buffer
/// where they fit its 64 KiB.
pub fn wide1_kernel(in_channels: usize, out_per_group: usize) -> &'static str {
    let sixteens = out_per_group.next_multiple_of(16);
    if sixteens != out_per_group.next_multiple_of(8) {
        "conv2d_wide1"
    } else if in_channels * sixteens <= 16384 {
        "conv2d_wide1_narrow_uniform"
    } else {
        "conv2d_wide1_narrow"
    }
}

/// Whether `gpu` runs the GLSL ports of the window kernels (`shaders/glsl/`): GL llvmpipe with
/// the int64 kernels (`Gpu::has_int64_loads`), 8- and 16-tile workgroups, and subgroups of at
/// least 8 lanes (its name says "256 bits)" or wider).
pub fn glsl_window_kernels(gpu: &Gpu) -> bool {
    let wide_simd = ["256 bits)", "512 bits)"]
        .iter()
        .any(|width| gpu.adapter_info().name.ends_with(width));
    gpu.adapter_info().backend == "Gl"
        && gpu.has_int64_loads()
        && !gpu.large_workgroups()
        && wide_simd
}

/// The kernel a stride-1 1x1 convolution without padding takes on an adapter without subgroups:
/// with `glsl_window_kernels`, the GLSL port of `conv2d_window1_narrow_int64` where the input
/// channels a group and the plane (`plane` pixels) are multiples of 8; else the wide kernel of
/// `wide1_kernel`.
pub fn no_subgroups_1x1_kernel(
    gpu: &Gpu,
    in_channels: usize,
    groups: usize,
    out_per_group: usize,
    plane: usize,
) -> &'static str {
    let octets = (in_channels / groups).is_multiple_of(8) && plane.is_multiple_of(8);
    if glsl_window_kernels(gpu) && octets {
        "conv2d_window1_narrow_int64"
    } else {
        wide1_kernel(in_channels, out_per_group)
    }
}

/// Runs conv2d on `gpu` and asserts it equals the CPU reference within the conv tolerance
/// (`|gpu - reference| <= 2e-5 + 1e-5 |reference|`; outputs are O(1)). Returns the reference.
pub fn assert_conv_matches(
    gpu: &Gpu,
    input: &HostTensor,
    weight: &HostTensor,
    bias: Option<&HostTensor>,
    options: &wgcnn::Conv2dOptions,
    context: &str,
) -> HostTensor {
    let expected = wgcnn::reference::conv2d(input, weight, bias, options).unwrap();
    let bias = bias.map(|b| b.upload(gpu).unwrap());
    let output = wgcnn::conv2d(
        &input.upload(gpu).unwrap(),
        &weight.upload(gpu).unwrap(),
        bias.as_ref(),
        options,
    )
    .unwrap();
    assert_output_matches(&output, &expected, context);
    expected
}

/// Asserts an op's GPU output has the reference's shape and values (2e-5 + 1e-5 relative).
fn assert_output_matches(output: &wgcnn::Tensor, expected: &HostTensor, context: &str) {
    assert_eq!(output.shape(), expected.shape(), "{context}");
    assert_close(
        &output.to_vec().unwrap(),
        expected.data(),
        2e-5,
        1e-5,
        context,
    );
}

/// Runs `wgcnn::linear` on `gpu` and asserts it matches the CPU reference; returns the reference.
pub fn assert_linear_matches(
    gpu: &Gpu,
    input: &HostTensor,
    weight: &HostTensor,
    bias: Option<&HostTensor>,
    activation: wgcnn::Activation,
    context: &str,
) -> HostTensor {
    let expected = wgcnn::reference::linear(input, weight, bias, activation).unwrap();
    let bias = bias.map(|b| b.upload(gpu).unwrap());
    let output = wgcnn::linear(
        &input.upload(gpu).unwrap(),
        &weight.upload(gpu).unwrap(),
        bias.as_ref(),
        activation,
    )
    .unwrap();
    assert_output_matches(&output, &expected, context);
    expected
}

/// A conv layer with random weights (scaled by the fan-in) and bias.
pub fn conv(gpu: &Gpu, rng: &mut Rng, shape: [usize; 4], options: Conv2dOptions) -> Conv2d {
    let fan_in = (shape[1] * shape[2] * shape[3]) as f32;
    let weight = random(rng, &shape, 1.0 / fan_in.sqrt());
    let bias = random(rng, &[shape[0]], 0.1);
    Conv2d::new(gpu, &weight, Some(&bias), options).unwrap()
}

/// A 3x3 conv layer with padding 1 (see [`conv`]).
pub fn conv3x3(gpu: &Gpu, rng: &mut Rng, in_channels: usize, out_channels: usize) -> Conv2d {
    let options = Conv2dOptions {
        padding: Padding::Symmetric([1, 1]),
        ..Default::default()
    };
    conv(gpu, rng, [out_channels, in_channels, 3, 3], options)
}

/// A batch norm in inference mode with random statistics and affine parameters.
pub fn batch_norm_eval(gpu: &Gpu, rng: &mut Rng, channels: usize) -> BatchNorm2d {
    let gamma = HostTensor::new(&[channels], rng.normals(channels, 0.2, 1.0)).unwrap();
    let beta = random(rng, &[channels], 0.1);
    let mean = random(rng, &[channels], 0.1);
    let var = HostTensor::new(&[channels], rng.normals(channels, 0.1, 1.0)).unwrap();
    let running = RunningStats {
        mean: &mean,
        var: &var,
    };
    let options = BatchNorm2dOptions::default();
    let mut norm =
        BatchNorm2d::with_parameters(gpu, &gamma, &beta, Some(running), options).unwrap();
    norm.eval();
    norm
}

/// Runs `model` on `host` (uploaded to `gpu`) and reads the output back, asserting that this
/// took exactly one submission and left the caller's input unchanged.
pub fn forward_in_one_submission(gpu: &Gpu, model: &mut Sequential, host: &HostTensor) -> Vec<f32> {
    let input = host.upload(gpu).unwrap();
    gpu.synchronize().unwrap();
    let before = gpu.submission_count();
    let output = model.forward(&input).unwrap().to_vec().unwrap();
    assert_eq!(gpu.submission_count() - before, 1, "one submission");
    assert_eq!(input.to_vec().unwrap(), host.data(), "the input is kept");
    output
}

/// The layer index and kind of a model build error, and its source.
pub fn layer_error(result: Result<Sequential, Error>) -> (String, String, Error) {
    match result {
        Err(Error::Layer {
            index,
            kind,
            source,
        }) => (index, kind, *source),
        other => panic!("expected a layer error, got {other:?}"),
    }
}

/// Runs `model` on `host` and asserts the output has the CPU reference's shape and values
/// (`|gpu - reference| <= abs + rel |reference|`); returns the output shape.
pub fn assert_model_matches(
    gpu: &Gpu,
    model: &mut Sequential,
    host: &HostTensor,
    (abs, rel): (f32, f32),
    context: &str,
) -> Vec<usize> {
    let output = model.forward(&host.upload(gpu).unwrap()).unwrap();
    let expected = model.forward_reference(host).unwrap();
    assert_eq!(output.shape(), expected.shape(), "{context}");
    assert_close(
        &output.to_vec().unwrap(),
        expected.data(),
        abs,
        rel,
        context,
    );
    output.shape().to_vec()
}
