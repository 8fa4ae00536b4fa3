//! Random pooling configurations: kernel 1-5, stride 1-3, padding up to the limit, dilation
//! 1-3 (max), ceil_mode and count_include_pad both ways, divisor_override now and then, sizes
//! 1-40, N and C up to 3, a quarter of the inputs all negative, fixed seeds.

use crate::common;
use crate::{bits, download, random_input};
use wgcnn::random::Rng;
use wgcnn::{
    adaptive_avg_pool2d, adaptive_max_pool2d, adaptive_max_pool2d_with_indices, avg_pool2d,
    global_avg_pool2d, global_max_pool2d, max_pool2d, max_pool2d_with_indices, reference,
    AvgPool2dOptions, Gpu, HostTensor, MaxPool2dOptions, Pool2dGeometry, Tensor,
};

fn random_shape(rng: &mut Rng) -> [usize; 4] {
    [
        rng.range(1, 3),
        rng.range(1, 3),
        rng.range(1, 40),
        rng.range(1, 40),
    ]
}

fn random_max_options(rng: &mut Rng) -> MaxPool2dOptions {
    let kernel_size = [rng.range(1, 5), rng.range(1, 5)];
    let dilation = [rng.range(1, 3), rng.range(1, 3)];
    let half = |axis: usize| ((kernel_size[axis] - 1) * dilation[axis]).div_ceil(2);
    MaxPool2dOptions {
        stride: Some([rng.range(1, 3), rng.range(1, 3)]),
        padding: [rng.range(0, half(0)), rng.range(0, half(1))],
        dilation,
        ceil_mode: rng.range(0, 1) == 1,
        ..MaxPool2dOptions::new(kernel_size)
    }
}

fn random_avg_options(rng: &mut Rng) -> AvgPool2dOptions {
    let kernel_size = [rng.range(1, 5), rng.range(1, 5)];
    AvgPool2dOptions {
        stride: Some([rng.range(1, 3), rng.range(1, 3)]),
        padding: [
            rng.range(0, kernel_size[0] / 2),
            rng.range(0, kernel_size[1] / 2),
        ],
        ceil_mode: rng.range(0, 1) == 1,
        count_include_pad: rng.range(0, 1) == 1,
        divisor_override: (rng.range(0, 4) == 0).then(|| rng.range(1, 30)),
        ..AvgPool2dOptions::new(kernel_size)
    }
}

/// Draws shapes until the geometry is valid; every invalid draw must fail the same way on both
/// sides. Returns the valid shape and how many invalid draws were checked.
fn valid_shape(
    rng: &mut Rng,
    gpu: &Gpu,
    validate: impl Fn(&[usize]) -> wgcnn::Result<Pool2dGeometry>,
    on_gpu: impl Fn(&Tensor) -> wgcnn::Result<Tensor>,
) -> ([usize; 4], usize) {
    let mut invalid = 0;
    loop {
        let shape = random_shape(rng);
        match validate(&shape) {
            Ok(_) => return (shape, invalid),
            Err(error) => {
                let input = Tensor::zeros(gpu, &shape).unwrap();
                assert_eq!(on_gpu(&input).unwrap_err(), error, "{shape:?}");
                invalid += 1;
            }
        }
    }
}

#[test]
fn max_pool_matches_reference_bit_exact_on_random_configurations() {
    let gpu = common::gpu();
    let mut rng = Rng::new(11);
    let mut invalid = 0;
    for trial in 0..150 {
        let options = random_max_options(&mut rng);
        let (shape, rejected) = valid_shape(
            &mut rng,
            &gpu,
            |s| Pool2dGeometry::max(s, &options),
            |x| max_pool2d(x, &options),
        );
        invalid += rejected;
        let host = random_input(&mut rng, shape, trial % 4 == 0);
        let (expected, expected_indices) =
            reference::max_pool2d_with_indices(&host, &options).unwrap();
        let input = host.upload(&gpu).unwrap();
        let context = format!("trial {trial}: {shape:?} {options:?}");
        let (output, indices) = max_pool2d_with_indices(&input, &options).unwrap();
        assert_eq!(output.shape(), expected.shape(), "{context}");
        assert_eq!(indices.to_vec().unwrap(), expected_indices, "{context}");
        assert_eq!(bits(&download(&output)), bits(expected.data()), "{context}");
        let output = max_pool2d(&input, &options).unwrap();
        assert_eq!(bits(&download(&output)), bits(expected.data()), "{context}");
    }
    println!("150 max-pool configurations, {invalid} invalid draws rejected alike");
}

#[test]
fn avg_pool_matches_reference_on_random_configurations() {
    let gpu = common::gpu();
    let mut rng = Rng::new(12);
    for trial in 0..150 {
        let options = random_avg_options(&mut rng);
        let (shape, _) = valid_shape(
            &mut rng,
            &gpu,
            |s| Pool2dGeometry::avg(s, &options),
            |x| avg_pool2d(x, &options),
        );
        let host = random_input(&mut rng, shape, trial % 4 == 0);
        let expected = reference::avg_pool2d(&host, &options).unwrap();
        let output = avg_pool2d(&host.upload(&gpu).unwrap(), &options).unwrap();
        assert_eq!(output.shape(), expected.shape());
        let context = format!("trial {trial}: {shape:?} {options:?}");
        common::assert_close(&download(&output), expected.data(), 1e-5, 1e-5, &context);
    }
}

#[test]
fn adaptive_and_global_pools_match_reference() {
    let gpu = common::gpu();
    let mut rng = Rng::new(13);
    for trial in 0..40 {
        let shape = random_shape(&mut rng);
        let size = [rng.range(1, shape[2] * 2), rng.range(1, shape[3] * 2)];
        let host = random_input(&mut rng, shape, trial % 4 == 0);
        let input = host.upload(&gpu).unwrap();
        let context = format!("trial {trial}: {shape:?} -> {size:?}");
        let expected = reference::adaptive_max_pool2d(&host, size).unwrap();
        let output = adaptive_max_pool2d(&input, size).unwrap();
        assert_eq!(output.shape(), expected.shape(), "{context}");
        assert_eq!(bits(&download(&output)), bits(expected.data()), "{context}");
        let (expected, expected_indices) =
            reference::adaptive_max_pool2d_with_indices(&host, size).unwrap();
        let (output, indices) = adaptive_max_pool2d_with_indices(&input, size).unwrap();
        assert_eq!(indices.shape(), expected.shape(), "{context}");
        assert_eq!(bits(&download(&output)), bits(expected.data()), "{context}");
        assert_eq!(indices.to_vec().unwrap(), expected_indices, "{context}");
        let expected = reference::adaptive_avg_pool2d(&host, size).unwrap();
        let output = adaptive_avg_pool2d(&input, size).unwrap();
        common::assert_close(&download(&output), expected.data(), 1e-5, 1e-5, &context);
    }
    // Global pools: planes of one value, of one lane's share, and of every lane.
    for (trial, shape) in [[3, 5, 1, 1], [2, 37, 7, 7], [1, 3, 3, 40], [2, 3, 67, 91]]
        .into_iter()
        .enumerate()
    {
        let host = random_input(&mut rng, shape, trial == 1);
        let input = host.upload(&gpu).unwrap();
        let expected = reference::global_max_pool2d(&host).unwrap();
        let output = global_max_pool2d(&input).unwrap();
        assert_eq!(output.shape(), [shape[0], shape[1], 1, 1]);
        assert_eq!(bits(&download(&output)), bits(expected.data()), "{shape:?}");
        let expected = reference::global_avg_pool2d(&host).unwrap();
        let output = global_avg_pool2d(&input).unwrap();
        common::assert_close(&download(&output), expected.data(), 1e-6, 1e-5, "gap");
    }
}

#[test]
fn nan_propagates_through_max_pools_like_pytorch() {
    let gpu = common::gpu();
    // One plane: [1, NaN; NaN, 3] and [NaN, 5; 7, 1]: the value is NaN, the index the last NaN.
    let host = HostTensor::new(
        &[1, 2, 2, 2],
        vec![1.0, f32::NAN, f32::NAN, 3.0, f32::NAN, 5.0, 7.0, 1.0],
    )
    .unwrap();
    let (output, indices) =
        max_pool2d_with_indices(&host.upload(&gpu).unwrap(), &MaxPool2dOptions::new([2, 2]))
            .unwrap();
    assert!(download(&output).iter().all(|v| v.is_nan()));
    assert_eq!(indices.to_vec().unwrap(), vec![2, 0]);
    let (output, indices) =
        adaptive_max_pool2d_with_indices(&host.upload(&gpu).unwrap(), [1, 1]).unwrap();
    assert!(download(&output).iter().all(|v| v.is_nan()));
    assert_eq!(indices.to_vec().unwrap(), vec![2, 0]);
    // Random inputs with about one value in ten NaN.
    let mut rng = Rng::new(14);
    for trial in 0..40 {
        let options = random_max_options(&mut rng);
        let Ok(geometry) = Pool2dGeometry::max(&random_shape(&mut rng), &options) else {
            continue;
        };
        let shape = [
            geometry.batch,
            geometry.channels,
            geometry.in_height,
            geometry.in_width,
        ];
        let mut data = random_input(&mut rng, shape, trial % 2 == 0).into_data();
        for x in data.iter_mut() {
            if rng.range(0, 9) == 0 {
                *x = f32::NAN;
            }
        }
        let host = HostTensor::new(&shape, data).unwrap();
        let (expected, expected_indices) =
            reference::max_pool2d_with_indices(&host, &options).unwrap();
        let input = host.upload(&gpu).unwrap();
        let (output, indices) = max_pool2d_with_indices(&input, &options).unwrap();
        let context = format!("trial {trial}: {shape:?} {options:?}");
        common::assert_close(&download(&output), expected.data(), 0.0, 0.0, &context);
        assert_eq!(indices.to_vec().unwrap(), expected_indices, "{context}");
        let expected = reference::global_max_pool2d(&host).unwrap();
        let output = download(&global_max_pool2d(&input).unwrap());
        common::assert_close(&output, expected.data(), 0.0, 0.0, &context);
        let size = [shape[2].div_ceil(2), shape[3]];
        let (expected, expected_indices) =
            reference::adaptive_max_pool2d_with_indices(&host, size).unwrap();
        let (output, indices) = adaptive_max_pool2d_with_indices(&input, size).unwrap();
        let output = download(&output);
        common::assert_close(&output, expected.data(), 0.0, 0.0, &context);
        assert_eq!(
            indices.to_vec().unwrap(),
            expected_indices,
            "{context} adaptive"
        );
    }
}
