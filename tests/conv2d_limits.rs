//! conv2d, the projection and linear at the adapter's limits: dispatches past 65,535
//! workgroups, batches past one storage binding (the real 128 MiB and a lowered cap, split
//! along N at unaligned offsets). Outputs are NaN-poisoned before every kernel.

mod common;

use common::{assert_close, assert_conv_matches, gpu, gpu_with, random};
use wgcnn::random::Rng;
use wgcnn::{
    conv2d, conv2d_kernel, linear, reference, Activation, Conv2dGeometry, Conv2dOptions, Gpu,
    GpuOptions, HostTensor, Padding,
};

/// |gpu - reference| <= ABS + REL * |reference|; outputs are O(1).
const ABS: f32 = 2e-5;
const REL: f32 = 1e-5;

/// A GPU whose storage bindings are capped at 64 KiB, outputs NaN-poisoned, conv2d's channel
/// split off (the tests assert kernels; the split has its own binding test in conv2d_split.rs).
fn gpu_with_64_kib_bindings() -> Gpu {
    gpu_with(GpuOptions {
        max_storage_binding_bytes: Some(64 << 10),
        poison_outputs: true,
        channel_split_outputs: Some(0),
        ..Default::default()
    })
}

#[test]
fn dispatches_past_65535_workgroups() {
    let gpu = gpu();
    let mut rng = Rng::new(17);
    // 4100 x 4100 outputs: 4.2M invocations of the direct kernel (padding 1 keeps it off the
    // projection path) and 4.2M of the projection, both past 65,535 x 64.
    let input = random(&mut rng, &[1, 1, 4098, 4098], 1.0);
    let weight = HostTensor::new(&[1, 1, 1, 1], vec![0.5]).unwrap();
    let options = Conv2dOptions {
        padding: Padding::Symmetric([1, 1]),
        ..Default::default()
    };
    let expected = reference::conv2d(&input, &weight, None, &options).unwrap();
    let output = conv2d(
        &input.upload(&gpu).unwrap(),
        &weight.upload(&gpu).unwrap(),
        None,
        &options,
    )
    .unwrap();
    assert_close(
        &output.to_vec().unwrap(),
        expected.data(),
        0.0,
        0.0,
        "direct kernel, 2-D grid",
    );

    let input = random(&mut rng, &[1, 1, 4100, 4100], 1.0);
    let expected = reference::conv2d(&input, &weight, None, &Conv2dOptions::default()).unwrap();
    let output = conv2d(
        &input.upload(&gpu).unwrap(),
        &weight.upload(&gpu).unwrap(),
        None,
        &Conv2dOptions::default(),
    )
    .unwrap();
    assert_close(
        &output.to_vec().unwrap(),
        expected.data(),
        0.0,
        0.0,
        "projection, 2-D grid",
    );
}

#[test]
fn tensors_past_the_binding_limit_are_split_along_the_batch() {
    // A 64 KiB binding cap: a batch of 5 images of 17,760 bytes spans several bindings, and the
    // image boundaries are not aligned to the storage offset alignment.
    let gpu = gpu_with_64_kib_bindings();
    let mut rng = Rng::new(23);
    let input = random(&mut rng, &[5, 3, 40, 37], 1.0);
    let x = input.upload(&gpu).unwrap();
    for (weight_shape, options) in [
        (
            [4, 3, 3, 3],
            Conv2dOptions {
                padding: Padding::Symmetric([1, 1]),
                ..Default::default()
            },
        ),
        ([6, 3, 1, 1], Conv2dOptions::default()),
    ] {
        let weight = random(&mut rng, &weight_shape, 0.3);
        let expected = reference::conv2d(&input, &weight, None, &options).unwrap();
        let output = conv2d(&x, &weight.upload(&gpu).unwrap(), None, &options).unwrap();
        assert_close(
            &output.to_vec().unwrap(),
            expected.data(),
            ABS,
            REL,
            &format!("split {weight_shape:?}"),
        );
    }
    // Rows and planes that are not whole vec4s, with 8 output channels: on GL the input is
    // copied to padded rows (or gathered, for the strided 1x1) one batch chunk at a time into
    // one scratch tensor; with subgroups the 1x1 takes the padded path too. The depthwise 3x3
    // pads its rows on every adapter (several planes a workgroup, on 41x37 planes).
    let input = random(&mut rng, &[5, 3, 41, 37], 1.0);
    let x = input.upload(&gpu).unwrap();
    for (weight_shape, stride, padding, groups) in [
        ([8, 3, 3, 3], [1, 1], Padding::Symmetric([1, 1]), 1),
        ([8, 3, 1, 1], [1, 1], Padding::Zero, 1),
        ([8, 3, 1, 1], [2, 2], Padding::Zero, 1),
        ([6, 1, 3, 3], [1, 1], Padding::Symmetric([1, 1]), 3),
    ] {
        let options = Conv2dOptions {
            stride,
            padding,
            groups,
            ..Default::default()
        };
        let weight = random(&mut rng, &weight_shape, 0.3);
        let expected = reference::conv2d(&input, &weight, None, &options).unwrap();
        let output = conv2d(&x, &weight.upload(&gpu).unwrap(), None, &options).unwrap();
        assert_close(
            &output.to_vec().unwrap(),
            expected.data(),
            ABS,
            REL,
            &format!("split, padded rows {weight_shape:?} stride {stride:?}"),
        );
    }
    let rows = random(&mut rng, &[300, 97], 1.0);
    let weight = random(&mut rng, &[33, 97], 0.1);
    let expected = reference::linear(&rows, &weight, None, Activation::None).unwrap();
    let output = linear(
        &rows.upload(&gpu).unwrap(),
        &weight.upload(&gpu).unwrap(),
        None,
        Activation::None,
    )
    .unwrap();
    assert_close(
        &output.to_vec().unwrap(),
        expected.data(),
        ABS,
        REL,
        "linear split along rows",
    );
}

#[test]
fn an_image_that_fits_only_unpadded_takes_the_general_kernels() {
    // A 64 KiB binding cap (16,320-16,376 usable floats, by the adapter's offset alignment):
    // each input fits a binding as it is, but not copied to rows of whole vec4s, so the kernels
    // that need padded rows step aside.
    let gpu = gpu_with_64_kib_bindings();
    let subgroups = gpu.has_subgroups();
    let mut rng = Rng::new(29);
    #[rustfmt::skip]
    let cases = [
        // input, weight, padding, groups, stride, kernel
        ([2, 1, 129, 125], [1, 1, 3, 3], 1, 1, 1, "conv2d_single_channel"), // 129 x 128 padded
        ([2, 1, 129, 125], [1, 1, 3, 3], 1, 1, 2, "conv2d_single_channel"), // the same at stride 2
        ([2, 1, 129, 124], [1, 1, 3, 3], 1, 1, 1, "conv2d_depthwise3x3"),   // rows of whole vec4s
        ([2, 1, 129, 124], [1, 1, 3, 3], 1, 1, 2, "conv2d_depthwise3x3_stride2"),
        ([1, 16, 32, 31], [8, 16, 3, 3], 1, 1, 1, if subgroups { "conv2d_subgroup" } else { "conv2d" }),
        ([1, 41, 1, 397], [8, 41, 1, 1], 0, 1, 1, if subgroups { "projection_subgroup" } else { "projection" }), // plane 397 -> 400
    ];
    for (input_shape, weight_shape, pad, groups, stride, kernel) in cases {
        let options = Conv2dOptions {
            padding: Padding::Symmetric([pad, pad]),
            groups,
            stride: [stride, stride],
            ..Default::default()
        };
        let geometry = Conv2dGeometry::new(&input_shape, &weight_shape, None, &options).unwrap();
        assert_eq!(conv2d_kernel(&gpu, &geometry), kernel, "{input_shape:?}");
        let input = random(&mut rng, &input_shape, 1.0);
        let weight = random(&mut rng, &weight_shape, 0.3);
        let context = format!("fits only unpadded: {input_shape:?} {weight_shape:?}");
        assert_conv_matches(&gpu, &input, &weight, None, &options, &context);
    }
}

#[test]
fn a_batch_larger_than_the_real_binding_limit_runs() {
    let gpu = gpu();
    let limit = gpu.max_storage_binding_bytes();
    // Three images, together past the adapter's binding limit (128 MiB on the software adapters).
    let plane = (limit as usize / 4).div_ceil(3) + 1000;
    let (height, width) = (plane.div_ceil(4096), 4096);
    let mut rng = Rng::new(29);
    let input = random(&mut rng, &[3, 1, height, width], 1.0);
    assert!(input.data().len() as u64 * 4 > limit);
    let weight = HostTensor::new(&[1, 1, 1, 1], vec![-2.0]).unwrap();
    let bias = HostTensor::new(&[1], vec![0.25]).unwrap();
    let expected =
        reference::conv2d(&input, &weight, Some(&bias), &Conv2dOptions::default()).unwrap();
    let output = conv2d(
        &input.upload(&gpu).unwrap(),
        &weight.upload(&gpu).unwrap(),
        Some(&bias.upload(&gpu).unwrap()),
        &Conv2dOptions::default(),
    )
    .unwrap();
    assert_close(
        &output.to_vec().unwrap(),
        expected.data(),
        0.0,
        0.0,
        "past the binding limit",
    );
}
