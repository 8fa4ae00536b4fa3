//! conv2d's channel split (`src/ops/conv2d/channel_split.rs`): a convolution with few outputs
//! runs on a GPU as a grouped convolution over chunks of its input channels plus a sum of the
//! chunks. Software adapters never split by default, so these tests raise
//! `GpuOptions::channel_split_outputs` to run the split on every adapter, and check the GPU
//! against the CPU reference (odd output channels, batches, stride, dilation, asymmetric
//! padding, 1x1 planes, every activation), how many chunks each shape takes, and when the split
//! stays off. Outputs (the weight permutation's and the partial sums' too) are NaN-poisoned.

mod common;

use common::{assert_conv_matches, assert_linear_matches, gpu_with, random};
use wgcnn::random::Rng;
use wgcnn::{
    conv2d_channel_chunks, conv2d_route, Activation, Conv2dGeometry, Conv2dOptions, Gpu,
    GpuOptions, Padding,
};

fn gpu_splitting(outputs: usize) -> Gpu {
    gpu_with(GpuOptions {
        poison_outputs: true,
        channel_split_outputs: Some(outputs),
        ..Default::default()
    })
}

struct Case {
    input: [usize; 4],
    out_channels: usize,
    kernel: usize,
    options: Conv2dOptions,
    bias: bool,
    chunks: usize,
}

fn case(input: [usize; 4], out_channels: usize, kernel: usize, chunks: usize) -> Case {
    Case {
        input,
        out_channels,
        kernel,
        options: Conv2dOptions {
            padding: Padding::Symmetric([kernel / 2, kernel / 2]),
            ..Default::default()
        },
        bias: true,
        chunks,
    }
}

fn geometry(case: &Case) -> Conv2dGeometry {
    let weight = [case.out_channels, case.input[1], case.kernel, case.kernel];
    let bias = case.bias.then_some(case.out_channels);
    Conv2dGeometry::new(&case.input, &weight, bias, &case.options).unwrap()
}

#[test]
fn split_convolutions_match_reference() {
    let gpu = gpu_splitting(1 << 22);
    let mut rng = Rng::new(0x5C17);
    let cases = [
        Case {
            options: Conv2dOptions {
                activation: Activation::Relu,
                ..case([2, 64, 9, 11], 24, 3, 0).options
            },
            ..case([2, 64, 9, 11], 24, 3, 32)
        },
        Case {
            bias: false,
            ..case([1, 192, 7, 7], 32, 5, 64)
        },
        Case {
            options: Conv2dOptions {
                activation: Activation::LeakyRelu(0.1),
                ..Default::default()
            },
            ..case([3, 512, 1, 1], 100, 1, 32)
        },
        Case {
            options: Conv2dOptions {
                stride: [2, 2],
                padding: Padding::Symmetric([1, 1]),
                ..Default::default()
            },
            ..case([1, 128, 14, 14], 40, 3, 64)
        },
        case([2, 96, 5, 5], 13, 1, 4),
        // One input channel a chunk (conv5x5_incep's kind of layer).
        case([2, 16, 12, 12], 32, 5, 16),
        Case {
            options: Conv2dOptions {
                dilation: [2, 2],
                padding: Padding::Symmetric([2, 2]),
                ..Default::default()
            },
            ..case([1, 32, 10, 10], 16, 3, 16)
        },
        Case {
            options: Conv2dOptions {
                padding: Padding::Explicit([0, 1, 2, 0]),
                activation: Activation::Relu6,
                ..Default::default()
            },
            ..case([1, 48, 8, 13], 16, 3, 16)
        },
    ];
    // The same on a Gpu whose grids wrap into 2-D past 3 workgroups along x.
    let narrow_grid = gpu_with(GpuOptions {
        poison_outputs: true,
        channel_split_outputs: Some(1 << 22),
        max_workgroups_per_dimension: Some(3),
        ..Default::default()
    });
    let runs = cases.iter().map(|case| (&gpu, case));
    for (gpu, case) in runs.chain([(&narrow_grid, &cases[0]), (&narrow_grid, &cases[2])]) {
        let geometry = geometry(case);
        let context = format!(
            "input {:?} -> {} {:?}",
            case.input, case.out_channels, case.options
        );
        assert_eq!(
            conv2d_channel_chunks(gpu, &geometry),
            case.chunks,
            "{context}"
        );
        let route = conv2d_route(gpu, &geometry);
        let split = format!("split in {} + ", case.chunks);
        assert_eq!(
            route.starts_with(&split),
            case.chunks > 1,
            "{context}: {route}"
        );
        let weight_shape = [case.out_channels, case.input[1], case.kernel, case.kernel];
        let fan_in = (case.input[1] * case.kernel * case.kernel) as f32;
        let input = random(&mut rng, &case.input, 1.0);
        let weight = random(&mut rng, &weight_shape, 1.0 / fan_in.sqrt());
        let bias = case
            .bias
            .then(|| random(&mut rng, &[case.out_channels], 1.0));
        assert_conv_matches(gpu, &input, &weight, bias.as_ref(), &case.options, &context);
    }
}

#[test]
fn the_split_stays_within_its_limits() {
    // 2 x 24 x 9 x 11 = 4,752 outputs.
    let shape = case([2, 64, 9, 11], 24, 3, 0);
    let geometry = geometry(&shape);
    for (limit, chunks) in [
        (0, 1),
        (9_503, 1),
        (9_504, 2),
        (19_007, 2),
        (19_008, 4),
        (1 << 30, 32),
    ] {
        let gpu = gpu_splitting(limit);
        assert_eq!(
            conv2d_channel_chunks(&gpu, &geometry),
            chunks,
            "limit {limit}"
        );
    }
    let gpu = gpu_splitting(1 << 22);
    let unsplit = [
        Case {
            options: Conv2dOptions {
                groups: 2,
                ..shape.options
            },
            ..case([2, 64, 9, 11], 24, 3, 1)
        },
        case([2, 63, 9, 11], 24, 3, 1),
        // 1x1 with 16 channels: a chunk of 8 would have fewer than 16 taps.
        case([2, 16, 9, 11], 24, 1, 1),
    ];
    for case in &unsplit {
        let context = format!("input {:?} {:?}", case.input, case.options);
        let weight = [
            case.out_channels,
            case.input[1] / case.options.groups,
            case.kernel,
            case.kernel,
        ];
        let geometry = Conv2dGeometry::new(&case.input, &weight, None, &case.options).unwrap();
        assert_eq!(conv2d_channel_chunks(&gpu, &geometry), 1, "{context}");
    }
    // The partial sums must fit one binding: 64 KiB holds 16,384 floats, 2 x 4,752 but not 4 x.
    let capped = gpu_with(GpuOptions {
        channel_split_outputs: Some(1 << 22),
        max_storage_binding_bytes: Some(64 * 1024),
        ..Default::default()
    });
    assert_eq!(conv2d_channel_chunks(&capped, &geometry), 2);
    // By default software adapters never split; GPUs split this shape.
    let default = common::gpu();
    let expected = if default.adapter_info().device_type == "Cpu" {
        1
    } else {
        32
    };
    assert_eq!(conv2d_channel_chunks(&default, &geometry), expected);
}

#[test]
fn linear_layers_split_too() {
    let gpu = gpu_splitting(1 << 22);
    let mut rng = Rng::new(0x11E4);
    for (rows, in_features, out_features, activation) in [
        (3, 256, 100, Activation::Relu),
        (1, 512, 10, Activation::None),
    ] {
        let context = format!("linear {rows} x {in_features} -> {out_features}");
        let geometry = Conv2dGeometry::new(
            &[rows, in_features, 1, 1],
            &[out_features, in_features, 1, 1],
            Some(out_features),
            &Conv2dOptions::default(),
        )
        .unwrap();
        assert_eq!(
            conv2d_channel_chunks(&gpu, &geometry),
            in_features / 16,
            "{context}"
        );
        let input = random(&mut rng, &[rows, in_features], 1.0);
        let weight = random(&mut rng, &[out_features, in_features], 0.06);
        let bias = random(&mut rng, &[out_features], 1.0);
        assert_linear_matches(&gpu, &input, &weight, Some(&bias), activation, &context);
    }
}
