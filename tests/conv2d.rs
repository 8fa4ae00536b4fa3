//! conv2d and the 1x1 projection on the GPU against the CPU reference: random configurations,
//! `same` padding, a chain in one submission, linear, tile boundaries, NaN through fused
//! activations (the adapter limits are in conv2d_limits.rs). Outputs are NaN-poisoned before
//! every kernel, so unwritten elements fail.

mod common;

use common::{assert_close, assert_conv_matches, gpu, gpu_large_workgroups, random};
use wgcnn::random::Rng;
use wgcnn::{
    conv2d, conv2d_kernel, linear, reference, Activation, Conv2d, Conv2dGeometry, Conv2dOptions,
    HostTensor, Padding,
};

/// |gpu - reference| <= ABS + REL * |reference|; outputs are O(1) (weights scaled 1/sqrt(fan_in)).
const ABS: f32 = 2e-5;
const REL: f32 = 1e-5;

fn random_options(rng: &mut Rng, in_channels: usize) -> (Conv2dOptions, usize, [usize; 2]) {
    let kernel = [rng.range(1, 7), rng.range(1, 7)];
    let stride = [rng.range(1, 3), rng.range(1, 3)];
    let dilation = [rng.range(1, 3), rng.range(1, 3)];
    let padding = match rng.range(0, 3) {
        0 => Padding::Zero,
        1 => Padding::Symmetric([rng.range(0, 3), rng.range(0, 3)]),
        2 => Padding::Explicit([
            rng.range(0, 3),
            rng.range(0, 3),
            rng.range(0, 3),
            rng.range(0, 3),
        ]),
        _ if stride == [1, 1] => Padding::Same,
        _ => Padding::Symmetric([kernel[0] / 2, kernel[1] / 2]),
    };
    let (groups, out_channels) = match rng.range(0, 4) {
        0 if in_channels.is_multiple_of(2) => (2, 2 * rng.range(1, 10)),
        1 if in_channels.is_multiple_of(4) => (4, 4 * rng.range(1, 3)),
        2 => (in_channels, in_channels * rng.range(1, 2)),
        _ => (1, rng.range(1, 13)),
    };
    let activation = [
        Activation::None,
        Activation::Relu,
        Activation::Relu6,
        Activation::LeakyRelu(0.2),
    ][rng.range(0, 3)];
    (
        Conv2dOptions {
            stride,
            padding,
            dilation,
            groups,
            activation,
        },
        out_channels,
        kernel,
    )
}

#[test]
fn random_configurations_match_reference() {
    let gpu = gpu();
    let mut rng = Rng::new(0xC0DE);
    let (mut tested, mut projections, mut drawn) = (0, 0, 0);
    while tested < 220 {
        drawn += 1;
        let in_channels = rng.range(1, 13);
        let (mut options, mut out_channels, mut kernel) = random_options(&mut rng, in_channels);
        if drawn % 5 == 0 {
            // A plain 1x1 projection: stride 1, no padding, one group.
            (options, kernel, out_channels) = (
                Conv2dOptions {
                    activation: options.activation,
                    ..Default::default()
                },
                [1, 1],
                rng.range(1, 21),
            );
        }
        let input_shape = [
            rng.range(1, 4),
            in_channels,
            rng.range(1, 40),
            rng.range(1, 40),
        ];
        let weight_shape = [
            out_channels,
            in_channels / options.groups,
            kernel[0],
            kernel[1],
        ];
        let Ok(geometry) =
            Conv2dGeometry::new(&input_shape, &weight_shape, Some(out_channels), &options)
        else {
            continue; // kernel larger than the padded input: the error paths have their own tests
        };
        let input = random(&mut rng, &input_shape, 1.0);
        let weight = random(
            &mut rng,
            &weight_shape,
            1.0 / ((weight_shape[1] * kernel[0] * kernel[1]) as f32).sqrt(),
        );
        let bias = (rng.range(0, 1) == 1).then(|| random(&mut rng, &[out_channels], 1.0));
        let expected = reference::conv2d(&input, &weight, bias.as_ref(), &options).unwrap();
        let (x, w) = (input.upload(&gpu).unwrap(), weight.upload(&gpu).unwrap());
        let b = bias.as_ref().map(|b| b.upload(&gpu).unwrap());
        let output = conv2d(&x, &w, b.as_ref(), &options).unwrap();
        assert_eq!(output.shape(), geometry.output_shape());
        assert_close(
            &output.to_vec().unwrap(),
            expected.data(),
            ABS,
            REL,
            &format!("input {input_shape:?} weight {weight_shape:?} {options:?}"),
        );
        tested += 1;
        projections += usize::from(geometry.is_projection());
    }
    assert!(
        projections >= 30,
        "only {projections} projection cases drawn"
    );
}

#[test]
fn same_padding_keeps_size_with_extra_at_bottom_right() {
    let gpu = gpu();
    let mut rng = Rng::new(3);
    let input = random(&mut rng, &[2, 3, 9, 10], 1.0);
    let weight = random(&mut rng, &[5, 3, 4, 2], 0.3);
    let options = Conv2dOptions {
        padding: Padding::Same,
        dilation: [1, 3],
        ..Default::default()
    };
    let expected = reference::conv2d(&input, &weight, None, &options).unwrap();
    assert_eq!(expected.shape(), [2, 5, 9, 10]);
    let explicit = Conv2dOptions {
        padding: Padding::Explicit([1, 1, 2, 2]),
        ..options
    };
    assert_eq!(
        reference::conv2d(&input, &weight, None, &explicit).unwrap(),
        expected
    );
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
        ABS,
        REL,
        "same padding",
    );
}

#[test]
fn chain_of_three_convs_runs_as_one_submission() {
    let gpu = gpu();
    let mut rng = Rng::new(11);
    let input = random(&mut rng, &[3, 5, 23, 19], 1.0);
    let specs = [(5, 12, 3, 1, 1), (12, 7, 3, 2, 1), (7, 9, 1, 1, 1)];
    let (mut layers, mut expected) = (Vec::new(), input.clone());
    for (in_channels, out_channels, kernel, stride, groups) in specs {
        let weight = random(
            &mut rng,
            &[out_channels, in_channels / groups, kernel, kernel],
            0.3,
        );
        let bias = random(&mut rng, &[out_channels], 0.1);
        let padding = Padding::Symmetric([kernel / 2, kernel / 2]);
        let options = Conv2dOptions {
            stride: [stride, stride],
            padding,
            groups,
            activation: Activation::Relu,
            ..Default::default()
        };
        expected = reference::conv2d(&expected, &weight, Some(&bias), &options).unwrap();
        layers.push(Conv2d::new(&gpu, &weight, Some(&bias), options).unwrap());
    }
    let x = input.upload(&gpu).unwrap();
    gpu.submit().unwrap();
    let before = gpu.submission_count();
    let mut hidden = x;
    for layer in &layers {
        hidden = layer.forward(&hidden).unwrap();
    }
    assert_eq!(
        gpu.submission_count(),
        before,
        "recording layers must not submit"
    );
    let values = hidden.to_vec().unwrap();
    assert_eq!(
        gpu.submission_count(),
        before + 1,
        "the chain and its readback are one submission"
    );
    assert_eq!(hidden.shape(), expected.shape());
    assert_close(&values, expected.data(), ABS, REL, "chain");
}

#[test]
fn linear_equals_reference_and_the_1x1_conv() {
    let gpu = gpu();
    let mut rng = Rng::new(5);
    let input = random(&mut rng, &[7, 37], 1.0);
    let weight = random(&mut rng, &[13, 37], 0.2);
    let bias = random(&mut rng, &[13], 0.1);
    let expected = reference::linear(&input, &weight, Some(&bias), Activation::Relu6).unwrap();
    let (x, w, b) = (
        input.upload(&gpu).unwrap(),
        weight.upload(&gpu).unwrap(),
        bias.upload(&gpu).unwrap(),
    );
    let output = linear(&x, &w, Some(&b), Activation::Relu6).unwrap();
    assert_eq!(output.shape(), [7, 13]);
    assert_close(
        &output.to_vec().unwrap(),
        expected.data(),
        ABS,
        REL,
        "linear",
    );

    let as_conv = conv2d(
        &x.reshape(&[7, 37, 1, 1]).unwrap(),
        &w.reshape(&[13, 37, 1, 1]).unwrap(),
        Some(&b),
        &Conv2dOptions {
            activation: Activation::Relu6,
            ..Default::default()
        },
    )
    .unwrap();
    assert_close(
        &as_conv.to_vec().unwrap(),
        expected.data(),
        ABS,
        REL,
        "1x1 conv",
    );
}

#[test]
fn channel_counts_that_cross_tile_boundaries() {
    // 70 output channels: two full 32-channel tiles and a tail (subgroup kernels), eight full
    // 8-channel tiles and a tail (portable kernels); groups of 20 and 35 channels as well. Also
    // in GPUs' 64-tile workgroups (`GpuOptions::large_workgroups`) on every adapter.
    let gpu = gpu();
    let large = gpu_large_workgroups();
    let mut rng = Rng::new(31);
    for (input_shape, weight_shape, groups) in [
        ([2, 9, 11, 13], [70, 9, 3, 3], 1),
        ([1, 10, 9, 7], [40, 5, 3, 3], 2),
        ([2, 6, 5, 9], [70, 3, 1, 1], 2),
        ([2, 37, 6, 5], [70, 37, 1, 1], 1),
        // 25-pixel planes (not whole vec4s, too small to pad): the portable projection, over
        // eight full 8-channel tiles and a tail of 6.
        ([8, 37, 5, 5], [70, 37, 1, 1], 1),
        // 49-pixel planes: padded for the window kernels with subgroups, the projection without.
        ([3, 37, 7, 7], [70, 37, 1, 1], 1),
        // 289-pixel planes: copied to padded planes for the window kernels.
        ([2, 37, 17, 17], [70, 37, 1, 1], 1),
    ] {
        let options = Conv2dOptions {
            padding: Padding::Same,
            groups,
            activation: Activation::Relu,
            ..Default::default()
        };
        let input = random(&mut rng, &input_shape, 1.0);
        let weight = random(&mut rng, &weight_shape, 0.2);
        let bias = random(&mut rng, &[weight_shape[0]], 0.1);
        let context = format!("{weight_shape:?} groups {groups}");
        assert_conv_matches(&gpu, &input, &weight, Some(&bias), &options, &context);
        let large_context = format!("{context}, 64-tile workgroups");
        assert_conv_matches(
            &large,
            &input,
            &weight,
            Some(&bias),
            &options,
            &large_context,
        );
        let geometry =
            Conv2dGeometry::new(&input_shape, &weight_shape, Some(weight_shape[0]), &options)
                .unwrap();
        let kernel = conv2d_kernel(&gpu, &geometry);
        match (input_shape, gpu.has_subgroups()) {
            ([8, 37, 5, 5], _) | ([3, 37, 7, 7], false) => assert_eq!(kernel, "projection"),
            ([3, 37, 7, 7], true) | ([2, 37, 17, 17], true) => {
                assert_eq!(kernel, "conv2d_window1")
            }
            ([2, 37, 17, 17], false) => assert_eq!(kernel, "conv2d_wide1"),
            _ => {}
        }
    }
}

#[test]
fn nan_passes_through_fused_activations() {
    // PyTorch: relu(NaN) = NaN. Outputs whose window touches the NaN are NaN, the rest finite.
    let gpu = gpu();
    let mut rng = Rng::new(37);
    let mut values = random(&mut rng, &[1, 3, 9, 10], 1.0).into_data();
    values[40] = f32::NAN;
    let input = HostTensor::new(&[1, 3, 9, 10], values).unwrap();
    for (out_channels, activation) in [
        (4, Activation::Relu),
        (40, Activation::Relu6),
        (40, Activation::Relu),
        (4, Activation::LeakyRelu(0.1)),
    ] {
        for kernel in [1, 3] {
            let weight = random(&mut rng, &[out_channels, 3, kernel, kernel], 0.3);
            let options = Conv2dOptions {
                padding: Padding::Same,
                activation,
                ..Default::default()
            };
            let context = format!("{activation:?} k{kernel} {out_channels} channels");
            let expected = assert_conv_matches(&gpu, &input, &weight, None, &options, &context);
            assert!(
                expected.data().iter().any(|v| v.is_nan())
                    && expected.data().iter().any(|v| !v.is_nan())
            );
        }
    }
}

#[test]
fn depthwise_single_channel_kernel() {
    // Groups of 1-3 output channels take the one-channel kernel, 3x3 at stride 1 the depthwise
    // kernels (on padded rows where rows are not whole vec4s). Widths around the 8-column tile,
    // every padding kind, multipliers 1-3.
    let gpu = gpu();
    let mut rng = Rng::new(43);
    let paddings = [
        Padding::Same,
        Padding::Zero,
        Padding::Explicit([2, 0, 1, 3]),
        Padding::Symmetric([1, 2]),
    ];
    for (index, width) in [1, 2, 7, 8, 9, 15, 16, 17, 30].into_iter().enumerate() {
        let multiplier = 1 + index % 3;
        let kernel = if index % 4 == 3 { [2, 5] } else { [3, 3] };
        let stride = if index % 2 == 0 { [1, 1] } else { [2, 1] };
        let padding = if stride == [1, 1] {
            paddings[index % 4]
        } else {
            paddings[1 + index % 3]
        };
        let options = Conv2dOptions {
            stride,
            padding,
            groups: 5,
            activation: Activation::Relu6,
            ..Default::default()
        };
        let input = random(&mut rng, &[2, 5, 6 + index, width], 1.0);
        let weight = random(&mut rng, &[5 * multiplier, 1, kernel[0], kernel[1]], 0.5);
        let bias = random(&mut rng, &[5 * multiplier], 0.1);
        if reference::conv2d(&input, &weight, Some(&bias), &options).is_err() {
            continue; // kernel wider than the padded input
        }
        let context = format!("width {width} x{multiplier} {kernel:?} {options:?}");
        assert_conv_matches(&gpu, &input, &weight, Some(&bias), &options, &context);
    }
}
