//! Invalid input to conv2d, the projection and linear: one test per class, each asserting the
//! error variant, and that nothing was recorded (the Gpu submits nothing afterwards).

mod common;

use wgcnn::{
    conv2d, linear, Activation, Conv2dOptions, Error, Gpu, GpuOptions, HostTensor, Padding, Tensor,
};

fn ones(gpu: &Gpu, shape: &[usize]) -> Tensor {
    Tensor::from_slice(gpu, shape, &vec![1.0; shape.iter().product()]).unwrap()
}

/// Runs conv2d on tensors of the given shapes and returns its error; asserts no work was recorded.
fn conv_error(
    input: &[usize],
    weight: &[usize],
    bias: Option<usize>,
    options: Conv2dOptions,
) -> Error {
    let gpu = common::gpu();
    let (x, w) = (ones(&gpu, input), ones(&gpu, weight));
    let b = bias.map(|len| ones(&gpu, &[len]));
    let error = conv2d(&x, &w, b.as_ref(), &options).expect_err("invalid input must be an error");
    gpu.submit().unwrap();
    assert_eq!(
        gpu.submission_count(),
        0,
        "an invalid op must record nothing"
    );
    error
}

fn padded(padding: [usize; 2]) -> Conv2dOptions {
    Conv2dOptions {
        padding: Padding::Symmetric(padding),
        ..Default::default()
    }
}

#[test]
fn stride_zero() {
    let error = conv_error(
        &[1, 3, 6, 6],
        &[4, 3, 3, 3],
        None,
        Conv2dOptions {
            stride: [0, 1],
            ..padded([1, 1])
        },
    );
    assert!(
        matches!(&error, Error::Parameter { what, .. } if what.contains("stride")),
        "{error}"
    );
}

#[test]
fn dilation_zero() {
    let error = conv_error(
        &[1, 3, 6, 6],
        &[4, 3, 3, 3],
        None,
        Conv2dOptions {
            dilation: [1, 0],
            ..Default::default()
        },
    );
    assert!(
        matches!(&error, Error::Parameter { what, .. } if what.contains("dilation")),
        "{error}"
    );
}

#[test]
fn kernel_size_zero() {
    let error = conv_error(&[1, 3, 6, 6], &[4, 3, 0, 3], None, Conv2dOptions::default());
    assert!(
        matches!(&error, Error::Parameter { what, .. } if what.contains("kernel")),
        "{error}"
    );
}

#[test]
fn groups_not_dividing_in_channels() {
    let error = conv_error(
        &[1, 6, 5, 5],
        &[8, 2, 3, 3],
        None,
        Conv2dOptions {
            groups: 4,
            ..padded([1, 1])
        },
    );
    assert!(
        matches!(&error, Error::Parameter { what, expected, .. } if what.contains("groups") && expected.contains("in_channels")),
        "{error}"
    );
}

#[test]
fn groups_not_dividing_out_channels() {
    let error = conv_error(
        &[1, 6, 5, 5],
        &[5, 3, 3, 3],
        None,
        Conv2dOptions {
            groups: 2,
            ..Default::default()
        },
    );
    assert!(
        matches!(&error, Error::Parameter { expected, .. } if expected.contains("out_channels")),
        "{error}"
    );
}

#[test]
fn groups_zero() {
    let error = conv_error(
        &[1, 6, 5, 5],
        &[6, 3, 3, 3],
        None,
        Conv2dOptions {
            groups: 0,
            ..Default::default()
        },
    );
    assert!(matches!(error, Error::Parameter { .. }), "{error}");
}

#[test]
fn weight_channels_mismatch() {
    let error = conv_error(&[2, 3, 5, 5], &[4, 2, 3, 3], None, Conv2dOptions::default());
    assert!(
        matches!(&error, Error::Shape { what, .. } if what.contains("weight")),
        "{error}"
    );
}

#[test]
fn bias_length_mismatch() {
    let error = conv_error(
        &[1, 3, 5, 5],
        &[4, 3, 3, 3],
        Some(5),
        Conv2dOptions::default(),
    );
    assert!(
        matches!(&error, Error::Shape { what, .. } if what.contains("bias")),
        "{error}"
    );
}

#[test]
fn kernel_larger_than_padded_input() {
    let error = conv_error(&[1, 2, 4, 5], &[3, 2, 3, 7], None, Conv2dOptions::default());
    assert!(
        matches!(error, Error::EmptyOutput { width: -1, .. }),
        "{error}"
    );
    let dilated = conv_error(
        &[1, 2, 6, 6],
        &[3, 2, 3, 3],
        None,
        Conv2dOptions {
            dilation: [3, 1],
            ..padded([0, 1])
        },
    );
    assert!(matches!(dilated, Error::EmptyOutput { .. }), "{dilated}");
}

#[test]
fn zero_size_channel_height_or_width() {
    for shape in [[1, 0, 5, 5], [1, 3, 0, 5], [1, 3, 5, 0]] {
        let error = conv_error(&shape, &[4, 3, 1, 1], None, Conv2dOptions::default());
        assert!(
            matches!(error, Error::ZeroSize { .. }),
            "{shape:?}: {error}"
        );
    }
}

#[test]
fn input_not_4d() {
    let error = conv_error(
        &[1, 1, 3, 5, 5],
        &[4, 3, 1, 1],
        None,
        Conv2dOptions::default(),
    );
    assert!(
        matches!(&error, Error::Shape { expected, .. } if expected.contains("4-D")),
        "{error}"
    );
    let error = conv_error(&[3, 5, 5], &[4, 3, 1, 1], None, Conv2dOptions::default());
    assert!(matches!(error, Error::Shape { .. }), "{error}");
}

#[test]
fn data_length_differs_from_shape() {
    let gpu = common::gpu();
    let error = Tensor::from_slice(&gpu, &[1, 2, 3, 3], &[0.0; 17]).unwrap_err();
    assert_eq!(
        error,
        Error::DataLength {
            shape: vec![1, 2, 3, 3],
            expected: 18,
            actual: 17
        }
    );
    assert!(matches!(
        HostTensor::new(&[2, 2], vec![1.0; 5]),
        Err(Error::DataLength { .. })
    ));
}

#[test]
fn same_padding_needs_stride_one() {
    let error = conv_error(
        &[1, 3, 8, 8],
        &[4, 3, 3, 3],
        None,
        Conv2dOptions {
            stride: [2, 2],
            padding: Padding::Same,
            ..Default::default()
        },
    );
    assert!(
        matches!(&error, Error::Parameter { what, .. } if what.contains("same")),
        "{error}"
    );
}

#[test]
fn tensors_from_another_gpu() {
    let (first, second) = (common::gpu(), common::gpu());
    let error = conv2d(
        &ones(&first, &[1, 3, 5, 5]),
        &ones(&second, &[4, 3, 3, 3]),
        None,
        &Conv2dOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&error, Error::DifferentGpu { what } if what.contains("weight")),
        "{error}"
    );
}

#[test]
fn image_larger_than_a_binding_is_refused() {
    let gpu = common::gpu_with(GpuOptions {
        max_storage_binding_bytes: Some(16 << 10),
        ..Default::default()
    });
    let error = conv2d(
        &ones(&gpu, &[2, 2, 64, 64]),
        &ones(&gpu, &[2, 2, 3, 3]),
        None,
        &Conv2dOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error, Error::TooLarge { .. }), "{error}");
    gpu.submit().unwrap();
    assert_eq!(gpu.submission_count(), 0);
}

#[test]
fn linear_shape_mismatches() {
    let gpu = common::gpu();
    let error = linear(
        &ones(&gpu, &[4, 10]),
        &ones(&gpu, &[3, 9]),
        None,
        Activation::None,
    )
    .unwrap_err();
    assert!(
        matches!(&error, Error::Shape { what, .. } if what.contains("weight")),
        "{error}"
    );
    let error = linear(
        &ones(&gpu, &[4, 10, 2, 2]),
        &ones(&gpu, &[3, 10]),
        None,
        Activation::None,
    )
    .unwrap_err();
    assert!(
        matches!(&error, Error::Shape { what, .. } if what.contains("input")),
        "{error}"
    );
    let error = linear(
        &ones(&gpu, &[4, 10]),
        &ones(&gpu, &[3, 10]),
        Some(&ones(&gpu, &[4])),
        Activation::None,
    )
    .unwrap_err();
    assert!(
        matches!(&error, Error::Shape { what, .. } if what.contains("bias")),
        "{error}"
    );
}
