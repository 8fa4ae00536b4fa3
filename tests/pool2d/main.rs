//! Pooling on the GPU against the CPU reference. `random`: a few hundred random configurations
//! (max pooling and its indices bit-exact, averages within 1e-5; all-negative and NaN inputs);
//! `errors`: one test per invalid-input class, asserting the `Error` variant on the GPU path and
//! in the reference; here: hand-computed corners (ceil_mode's last window, count_include_pad
//! with the ceil overhang, divisor_override, -inf windows), batches split across storage
//! bindings, grids past 65,535 workgroups, and a conv -> relu -> maxpool chain. Outputs are NaN-poisoned before every op
//! (`common::gpu()`), so unwritten elements fail.

#[path = "../common/mod.rs"]
mod common;
mod errors;
mod random;

use wgcnn::random::Rng;
use wgcnn::{
    adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, global_max_pool2d, max_pool2d,
    max_pool2d_with_indices, reference, AvgPool2dOptions, Conv2d, Conv2dOptions, GpuOptions,
    HostTensor, MaxPool2d, MaxPool2dOptions, Padding, ReLU, Tensor,
};

pub fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

pub fn download(tensor: &Tensor) -> Vec<f32> {
    tensor.to_vec().unwrap()
}

/// A random `[N, C, H, W]` input; `negative` makes every value below -0.5.
pub fn random_input(rng: &mut Rng, shape: [usize; 4], negative: bool) -> HostTensor {
    let mut input = common::random(rng, &shape, 1.0).into_data();
    if negative {
        input.iter_mut().for_each(|x| *x = -x.abs() - 0.5);
    }
    HostTensor::new(&shape, input).unwrap()
}

#[test]
fn hand_computed_corners() {
    let gpu = common::gpu();
    // ceil_mode, k2 s2 p1 on 5x5: the plain ceil formula gives 4x4; the window that would start
    // in the bottom/right padding is dropped, so 3x3 over rows/columns {0}, {1,2}, {3,4}.
    let ramp = HostTensor::new(&[1, 1, 5, 5], (0..25).map(|v| v as f32).collect()).unwrap();
    let options = MaxPool2dOptions {
        padding: [1, 1],
        ceil_mode: true,
        ..MaxPool2dOptions::new([2, 2])
    };
    let output = max_pool2d(&ramp.upload(&gpu).unwrap(), &options).unwrap();
    assert_eq!(output.shape(), [1, 1, 3, 3]);
    assert_eq!(
        download(&output),
        [0., 2., 4., 10., 12., 14., 20., 22., 24.]
    );

    // count_include_pad with ceil_mode, k3 s2 p1 on ones 6x6: per axis the windows cover
    // (input cells, cells up to the end of the padding) = (2,3), (3,3), (3,3), (1,2).
    let ones = HostTensor::filled(&[1, 1, 6, 6], 1.0).upload(&gpu).unwrap();
    let options = AvgPool2dOptions {
        stride: Some([2, 2]),
        padding: [1, 1],
        ceil_mode: true,
        ..AvgPool2dOptions::new([3, 3])
    };
    let axis = [(2.0, 3.0), (3.0, 3.0), (3.0, 3.0), (1.0, 2.0)];
    let expected: Vec<f32> = axis
        .iter()
        .flat_map(|&(cells_h, pool_h)| axis.iter().map(move |&(c, p)| (cells_h * c) / (pool_h * p)))
        .collect();
    let output = download(&avg_pool2d(&ones, &options).unwrap());
    common::assert_close(&output, &expected, 0.0, 1e-6, "count_include_pad + ceil");
    let without = AvgPool2dOptions {
        count_include_pad: false,
        ..options
    };
    let output = download(&avg_pool2d(&ones, &without).unwrap());
    common::assert_close(&output, &[1.0; 16], 0.0, 1e-6, "count_include_pad false");
    let override_3 = AvgPool2dOptions {
        divisor_override: Some(3),
        ..AvgPool2dOptions::new([2, 2])
    };
    let output = download(&avg_pool2d(&ones, &override_3).unwrap());
    common::assert_close(&output, &[4.0 / 3.0; 9], 0.0, 1e-6, "divisor_override");

    // All -inf: every value is -inf and every index is the window's first in-bounds tap.
    let minus_infinity = HostTensor::filled(&[1, 1, 3, 3], f32::NEG_INFINITY);
    let options = MaxPool2dOptions {
        stride: Some([1, 1]),
        padding: [1, 1],
        ..MaxPool2dOptions::new([2, 2])
    };
    let (output, indices) =
        max_pool2d_with_indices(&minus_infinity.upload(&gpu).unwrap(), &options).unwrap();
    assert!(download(&output).iter().all(|&v| v == f32::NEG_INFINITY));
    let first_taps: Vec<u32> = (0..4)
        .flat_map(|i: u32| (0..4).map(move |j: u32| i.saturating_sub(1) * 3 + j.saturating_sub(1)))
        .collect();
    assert_eq!(indices.to_vec().unwrap(), first_taps);
}

#[test]
fn dilated_window_between_the_columns_is_minus_infinity() {
    // W = 2, kernel 2, dilation 3, padding 1: the taps of the only window sit at columns -1 and
    // 2, both outside, so PyTorch gives -inf and points at the first tap past the padding,
    // column 2 (the flat index runs into the next row, as in PyTorch).
    let gpu = common::gpu();
    let host = HostTensor::new(&[1, 1, 3, 2], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let options = MaxPool2dOptions {
        stride: Some([1, 3]),
        padding: [0, 1],
        dilation: [1, 3],
        ..MaxPool2dOptions::new([1, 2])
    };
    let (expected, expected_indices) = reference::max_pool2d_with_indices(&host, &options).unwrap();
    assert_eq!(expected.data(), [f32::NEG_INFINITY; 3]);
    assert_eq!(expected_indices, [2, 4, 6]);
    let (output, indices) = max_pool2d_with_indices(&host.upload(&gpu).unwrap(), &options).unwrap();
    assert_eq!(download(&output), expected.data());
    assert_eq!(indices.to_vec().unwrap(), expected_indices);
}

#[test]
fn pools_split_batches_across_storage_bindings() {
    let gpu = common::gpu_with(GpuOptions {
        max_storage_binding_bytes: Some(4096),
        poison_outputs: true,
        ..Default::default()
    });
    let mut rng = Rng::new(15);
    // 2 x 13 x 17 floats per image: three images per binding, so seven images take three.
    let host = random_input(&mut rng, [7, 2, 13, 17], false);
    let input = host.upload(&gpu).unwrap();
    let options = MaxPool2dOptions {
        stride: Some([2, 1]),
        padding: [1, 1],
        ..MaxPool2dOptions::new([3, 3])
    };
    let (expected, expected_indices) = reference::max_pool2d_with_indices(&host, &options).unwrap();
    let (output, indices) = max_pool2d_with_indices(&input, &options).unwrap();
    assert_eq!(bits(&download(&output)), bits(expected.data()));
    assert_eq!(indices.to_vec().unwrap(), expected_indices);
    let options = AvgPool2dOptions {
        padding: [1, 0],
        ceil_mode: true,
        ..AvgPool2dOptions::new([2, 3])
    };
    let expected = reference::avg_pool2d(&host, &options).unwrap();
    let output = download(&avg_pool2d(&input, &options).unwrap());
    common::assert_close(&output, expected.data(), 1e-5, 1e-5, "avg split");
    let expected = reference::adaptive_avg_pool2d(&host, [5, 4]).unwrap();
    let output = download(&adaptive_avg_pool2d(&input, [5, 4]).unwrap());
    common::assert_close(&output, expected.data(), 1e-5, 1e-5, "adaptive split");
    let expected = reference::global_max_pool2d(&host).unwrap();
    assert_eq!(
        bits(&download(&global_max_pool2d(&input).unwrap())),
        bits(expected.data())
    );
}

#[test]
fn conv_relu_maxpool_chain_matches_reference_in_one_submission() {
    let gpu = common::gpu();
    let mut rng = Rng::new(16);
    let host = common::random(&mut rng, &[2, 3, 19, 23], 1.0);
    let weight = common::random(&mut rng, &[8, 3, 3, 3], 0.3);
    let bias = common::random(&mut rng, &[8], 0.1);
    let conv_options = Conv2dOptions {
        padding: Padding::Symmetric([1, 1]),
        ..Default::default()
    };
    let pool_options = MaxPool2dOptions {
        stride: Some([2, 2]),
        padding: [1, 1],
        ..MaxPool2dOptions::new([3, 3])
    };
    let conv = Conv2d::new(&gpu, &weight, Some(&bias), conv_options).unwrap();
    let (relu, pool) = (ReLU::new(), MaxPool2d::new(pool_options));
    let input = host.upload(&gpu).unwrap();
    let submissions = gpu.submission_count();
    let output = pool
        .forward(&relu.forward(&conv.forward(&input).unwrap()).unwrap())
        .unwrap();
    let actual = download(&output);
    assert_eq!(
        gpu.submission_count() - submissions,
        1,
        "one submission for the chain"
    );
    let expected = reference::conv2d(&host, &weight, Some(&bias), &conv_options).unwrap();
    let expected = reference::max_pool2d(&reference::relu(&expected), &pool_options).unwrap();
    assert_eq!(output.shape(), expected.shape());
    common::assert_close(
        &actual,
        expected.data(),
        1e-5,
        1e-5,
        "conv -> relu -> maxpool",
    );
}

#[test]
fn pools_run_past_65535_workgroups() {
    // One output per invocation (adaptive) and 64 one-value planes per workgroup (global):
    // both need more than 65,535 workgroups, so the grid is laid out in 2-D.
    let gpu = common::gpu();
    let mut rng = Rng::new(17);
    let host = random_input(&mut rng, [1, 1, 2048, 2049], false);
    let input = host.upload(&gpu).unwrap();
    let expected = reference::adaptive_max_pool2d(&host, [2048, 2049]).unwrap();
    let output = download(&adaptive_max_pool2d(&input, [2048, 2049]).unwrap());
    assert_eq!(bits(&output), bits(expected.data()), "adaptive_max_pool2d");
    let planes = 65_600 * 64;
    let host = random_input(&mut rng, [1, planes, 1, 1], true);
    let output = download(&global_max_pool2d(&host.upload(&gpu).unwrap()).unwrap());
    assert_eq!(
        bits(&output),
        bits(host.data()),
        "global_max_pool2d of 1x1 planes"
    );
}

#[test]
fn vec4_fast_paths_match_reference() {
    // Rows whose width is a multiple of 8 take the vec4 entry points for max k3 s2 p1 and avg
    // k2 s2 p0 along the row: random, all-negative and NaN-holding inputs, ceil_mode and the
    // divisor options. On CPU adapters their twins that load u64s run by default: from
    // pool2d_int64.wgsl on lavapipe, as the GLSL ports in shaders/glsl/ on GL llvmpipe; with
    // `int64_loads` off, the float ones.
    let gpu = common::gpu();
    let info = gpu.adapter_info();
    if info.device_type == "Cpu" {
        assert!(
            gpu.has_int64_loads(),
            "lavapipe offers shaderInt64, GL llvmpipe GLSL with 64-bit integers: {info}"
        );
    }
    let floats = common::gpu_with(GpuOptions {
        poison_outputs: true,
        int64_loads: Some(false),
        ..Default::default()
    });
    assert!(!floats.has_int64_loads());
    for gpu in [gpu, floats] {
        check_vector_pools(&gpu);
    }
}

fn check_vector_pools(gpu: &wgcnn::Gpu) {
    // Heights from 5 to 38: an invocation takes 8 output rows, so some planes end in a part
    // block and some take two or three.
    let mut rng = Rng::new(97);
    for (index, (width, height)) in [(8, 5), (16, 37), (24, 9), (40, 18), (112, 13)]
        .into_iter()
        .enumerate()
    {
        for ceil_mode in [false, true] {
            let shape = [2, 3, height + usize::from(ceil_mode), width];
            let mut input = random_input(&mut rng, shape, index % 2 == 1).into_data();
            if index == 2 {
                input.iter_mut().step_by(7).for_each(|x| *x = f32::NAN);
            }
            let input = HostTensor::new(&shape, input).unwrap();
            let x = input.upload(gpu).unwrap();
            let max = MaxPool2dOptions {
                stride: Some([2, 2]),
                padding: [1, 1],
                ceil_mode,
                ..MaxPool2dOptions::new([3, 3])
            };
            let expected = reference::max_pool2d(&input, &max).unwrap();
            let actual = download(&max_pool2d(&x, &max).unwrap());
            assert_eq!(
                bits(&actual),
                bits(expected.data()),
                "max {shape:?} ceil {ceil_mode}, int64 loads {}",
                gpu.has_int64_loads()
            );
            // Down the columns the windows may be anything: 2 / 2 / 0, or 3 / 1 / 1 (padding).
            let columns = [([2, 2], [2, 2], [0, 0]), ([3, 2], [1, 2], [1, 0])];
            for (index, (count_include_pad, divisor_override)) in
                [(true, None), (false, Some(3)), (true, None), (false, None)]
                    .into_iter()
                    .enumerate()
            {
                let (kernel, stride, padding) = columns[index / 2];
                let avg = AvgPool2dOptions {
                    stride: Some(stride),
                    padding,
                    ceil_mode,
                    count_include_pad,
                    divisor_override,
                    ..AvgPool2dOptions::new(kernel)
                };
                let expected = reference::avg_pool2d(&input, &avg).unwrap();
                let actual = download(&avg_pool2d(&x, &avg).unwrap());
                common::assert_close(
                    &actual,
                    expected.data(),
                    1e-6,
                    1e-5,
                    &format!(
                        "avg {shape:?} {avg:?}, int64 loads {}",
                        gpu.has_int64_loads()
                    ),
                );
            }
        }
    }
}
