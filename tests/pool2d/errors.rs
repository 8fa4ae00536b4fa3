//! One test per invalid-input class of the conformance spec: each asserts the `Error` variant
//! returned by the GPU ops and by the reference (no panics, nothing recorded).

use crate::common;
use wgcnn::{
    adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, global_avg_pool2d, global_max_pool2d,
    max_pool2d, max_pool2d_with_indices, reference, AvgPool2dOptions, Error, HostTensor,
    MaxPool2dOptions, Pool2dGeometry, Tensor,
};

/// The error every pooling op (GPU and reference) returns for `shape` with these options.
fn pool_errors(shape: &[usize], max: MaxPool2dOptions, avg: AvgPool2dOptions) -> Vec<Error> {
    let gpu = common::gpu();
    let input = Tensor::zeros(&gpu, shape).unwrap();
    let host = HostTensor::filled(shape, 0.0);
    vec![
        max_pool2d(&input, &max).unwrap_err(),
        max_pool2d_with_indices(&input, &max).unwrap_err(),
        reference::max_pool2d(&host, &max).unwrap_err(),
        avg_pool2d(&input, &avg).unwrap_err(),
        reference::avg_pool2d(&host, &avg).unwrap_err(),
    ]
}

/// The error every adaptive and global pool (GPU and reference) returns for `shape`.
fn adaptive_errors(shape: &[usize], size: [usize; 2]) -> Vec<Error> {
    let gpu = common::gpu();
    let input = Tensor::zeros(&gpu, shape).unwrap();
    let host = HostTensor::filled(shape, 0.0);
    let mut errors = vec![
        adaptive_avg_pool2d(&input, size).unwrap_err(),
        adaptive_max_pool2d(&input, size).unwrap_err(),
        reference::adaptive_avg_pool2d(&host, size).unwrap_err(),
        reference::adaptive_max_pool2d(&host, size).unwrap_err(),
    ];
    if size == [1, 1] {
        errors.push(global_avg_pool2d(&input).unwrap_err());
        errors.push(global_max_pool2d(&input).unwrap_err());
        errors.push(reference::global_avg_pool2d(&host).unwrap_err());
        errors.push(reference::global_max_pool2d(&host).unwrap_err());
    }
    errors
}

fn assert_all(errors: Vec<Error>, is_expected: impl Fn(&Error) -> bool) {
    for error in errors {
        assert!(is_expected(&error), "unexpected error: {error:?}");
    }
}

#[test]
fn padding_above_half_the_effective_kernel_is_a_parameter_error() {
    let max = MaxPool2dOptions {
        padding: [2, 1],
        ..MaxPool2dOptions::new([3, 3])
    };
    let avg = AvgPool2dOptions {
        padding: [1, 2],
        ..AvgPool2dOptions::new([3, 3])
    };
    assert_all(pool_errors(&[1, 2, 6, 6], max, avg), |e| {
        matches!(e, Error::Parameter { .. })
    });
    // Dilation 2 makes a 3-tap kernel 5 wide: padding 2 is allowed, 3 is not.
    let dilated = MaxPool2dOptions {
        dilation: [2, 2],
        ..MaxPool2dOptions::new([3, 3])
    };
    assert!(Pool2dGeometry::max(
        &[1, 1, 9, 9],
        &MaxPool2dOptions {
            padding: [2, 2],
            ..dilated
        }
    )
    .is_ok());
    let error = Pool2dGeometry::max(
        &[1, 1, 9, 9],
        &MaxPool2dOptions {
            padding: [3, 2],
            ..dilated
        },
    );
    assert!(matches!(error, Err(Error::Parameter { .. })));
}

#[test]
fn output_size_below_one_is_an_empty_output_error() {
    let (max, avg) = (MaxPool2dOptions::new([3, 3]), AvgPool2dOptions::new([3, 3]));
    assert_all(pool_errors(&[1, 2, 2, 5], max, avg), |e| {
        matches!(e, Error::EmptyOutput { .. })
    });
}

#[test]
fn zero_size_channels_height_or_width_is_a_zero_size_error() {
    let (max, avg) = (MaxPool2dOptions::new([1, 1]), AvgPool2dOptions::new([1, 1]));
    for shape in [[1, 0, 4, 4], [1, 2, 0, 4], [1, 2, 4, 0]] {
        assert_all(pool_errors(&shape, max, avg), |e| {
            matches!(e, Error::ZeroSize { .. })
        });
        assert_all(adaptive_errors(&shape, [1, 1]), |e| {
            matches!(e, Error::ZeroSize { .. })
        });
    }
}

#[test]
fn kernel_size_zero_is_a_parameter_error() {
    let (max, avg) = (MaxPool2dOptions::new([0, 2]), AvgPool2dOptions::new([2, 0]));
    assert_all(pool_errors(&[1, 2, 6, 6], max, avg), |e| {
        matches!(e, Error::Parameter { .. })
    });
}

#[test]
fn stride_zero_is_a_parameter_error() {
    let max = MaxPool2dOptions {
        stride: Some([2, 0]),
        ..MaxPool2dOptions::new([2, 2])
    };
    let avg = AvgPool2dOptions {
        stride: Some([0, 2]),
        ..AvgPool2dOptions::new([2, 2])
    };
    assert_all(pool_errors(&[1, 2, 6, 6], max, avg), |e| {
        matches!(e, Error::Parameter { .. })
    });
}

#[test]
fn dilation_zero_is_a_parameter_error() {
    let max = MaxPool2dOptions {
        dilation: [1, 0],
        ..MaxPool2dOptions::new([2, 2])
    };
    let gpu = common::gpu();
    let input = Tensor::zeros(&gpu, &[1, 2, 6, 6]).unwrap();
    let host = HostTensor::filled(&[1, 2, 6, 6], 0.0);
    let errors = vec![
        max_pool2d(&input, &max).unwrap_err(),
        reference::max_pool2d(&host, &max).unwrap_err(),
    ];
    assert_all(errors, |e| matches!(e, Error::Parameter { .. }));
}

#[test]
fn input_that_is_not_4d_is_a_shape_error() {
    let (max, avg) = (MaxPool2dOptions::new([2, 2]), AvgPool2dOptions::new([2, 2]));
    for shape in [&[1, 1, 2, 5, 5][..], &[2, 5, 5][..]] {
        assert_all(pool_errors(shape, max, avg), |e| {
            matches!(e, Error::Shape { .. })
        });
        assert_all(adaptive_errors(shape, [1, 1]), |e| {
            matches!(e, Error::Shape { .. })
        });
    }
}

#[test]
fn data_length_that_differs_from_the_shape_is_a_data_length_error() {
    let gpu = common::gpu();
    let error = Tensor::from_slice(&gpu, &[1, 2, 4, 4], &[0.0; 31]).unwrap_err();
    assert!(matches!(error, Error::DataLength { .. }), "{error:?}");
    let error = HostTensor::new(&[1, 2, 4, 4], vec![0.0; 33]).unwrap_err();
    assert!(matches!(error, Error::DataLength { .. }), "{error:?}");
}

#[test]
fn divisor_override_or_adaptive_output_size_zero_is_a_parameter_error() {
    let gpu = common::gpu();
    let input = Tensor::zeros(&gpu, &[1, 2, 6, 6]).unwrap();
    let host = HostTensor::filled(&[1, 2, 6, 6], 0.0);
    let avg = AvgPool2dOptions {
        divisor_override: Some(0),
        ..AvgPool2dOptions::new([2, 2])
    };
    let errors = vec![
        avg_pool2d(&input, &avg).unwrap_err(),
        reference::avg_pool2d(&host, &avg).unwrap_err(),
    ];
    assert_all(errors, |e| matches!(e, Error::Parameter { .. }));
    assert_all(adaptive_errors(&[1, 2, 6, 6], [0, 3]), |e| {
        matches!(e, Error::Parameter { .. })
    });
}
