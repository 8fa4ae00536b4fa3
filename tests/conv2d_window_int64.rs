//! The int64 1x1 kernels (shaders/conv2d_window_int64.wgsl) on CPU adapters with subgroups and
//! 64-bit integers (lavapipe), in 16-channel tiles whatever the width, reading the weight as
//! given (no repacking), where the input channels a group are a multiple of 8:
//! `conv2d_window1_narrow_int64` on planes (H * W) of whole octets, `_quads` on other planes of
//! whole vec4s. Every case runs on the default Gpu, in GPUs' 64-tile workgroups, on a grid that
//! wraps into 2-D, and with the `_int64` kernels off (`GpuOptions::int64_loads`), each against
//! the CPU reference with NaN-poisoned outputs; the tests assert which kernel each Gpu takes. GL
//! llvmpipe runs `conv2d_window1_narrow_int64` as its GLSL port (shaders/glsl/) in 8-tile
//! workgroups, and the wide kernels for the other shapes and Gpus.

mod common;

use common::{assert_conv_matches, gpu_with, random};
use wgcnn::random::Rng;
use wgcnn::{conv2d_kernel, Activation, Conv2dGeometry, Conv2dOptions, Gpu, GpuOptions};

fn test_gpu(options: GpuOptions) -> Gpu {
    gpu_with(GpuOptions {
        poison_outputs: true,
        channel_split_outputs: Some(0),
        ..options
    })
}

/// The default test Gpu, the 64-tile layout, a 2-D grid past 2 workgroups along x, and the
/// `_int64` kernels off.
fn gpus() -> [(Gpu, &'static str); 4] {
    [
        (test_gpu(GpuOptions::default()), "default"),
        (
            test_gpu(GpuOptions {
                large_workgroups: Some(true),
                ..Default::default()
            }),
            "64-tile workgroups",
        ),
        (
            test_gpu(GpuOptions {
                max_workgroups_per_dimension: Some(2),
                ..Default::default()
            }),
            "2-D grid",
        ),
        (
            test_gpu(GpuOptions {
                int64_loads: Some(false),
                ..Default::default()
            }),
            "int64 off",
        ),
    ]
}

/// The kernel a 1x1 convolution of `input` takes on `gpu`, for planes of at least 49 pixels
/// unless whole vec4s (with subgroups, without 64-bit words: 16-channel tiles for at most 16
/// channels a group; without subgroups: 16-channel tiles unless 8-channel ones pad less, and the
/// projection below 64 pixels that are not whole vec4s).
fn expected_kernel(
    gpu: &Gpu,
    input: [usize; 4],
    groups: usize,
    out_per_group: usize,
) -> &'static str {
    let plane = input[2] * input[3];
    let words = gpu.has_int64_loads() && (input[1] / groups).is_multiple_of(8);
    let vec4s = plane.is_multiple_of(4);
    match (gpu.has_subgroups(), words, plane.is_multiple_of(8), vec4s) {
        (true, true, true, _) => "conv2d_window1_narrow_int64",
        (true, true, false, true) => "conv2d_window1_narrow_int64_quads",
        (true, true, false, false) => "conv2d_window1_narrow_int64_padded",
        (true, false, _, _) if out_per_group <= 16 => "conv2d_window1_narrow",
        (true, false, _, _) => "conv2d_window1",
        (false, _, _, false) if plane < 64 => "projection",
        (false, _, _, _) => {
            common::no_subgroups_1x1_kernel(gpu, input[1], groups, out_per_group, plane)
        }
    }
}

/// Runs `input` -> `out_channels` (1x1, `groups`) on every Gpu of `gpus()`.
fn check(input: [usize; 4], out_channels: usize, groups: usize, rng: &mut Rng) {
    let weight_shape = [out_channels, input[1] / groups, 1, 1];
    let activation = [
        Activation::None,
        Activation::Relu,
        Activation::LeakyRelu(0.1),
        Activation::Relu6,
    ][(input[1] / 8 + out_channels) % 4];
    let options = Conv2dOptions {
        groups,
        activation,
        ..Default::default()
    };
    let x = random(rng, &input, 1.0);
    let weight = random(rng, &weight_shape, 1.0 / (weight_shape[1] as f32).sqrt());
    let bias = (out_channels % 2 == 1).then(|| random(rng, &[out_channels], 1.0));
    let geometry = Conv2dGeometry::new(
        &input,
        &weight_shape,
        bias.as_ref().map(|_| out_channels),
        &options,
    )
    .unwrap();
    for (gpu, layout) in gpus() {
        let context = format!("input {input:?} -> {out_channels}, groups {groups}, {layout}");
        assert_conv_matches(&gpu, &x, &weight, bias.as_ref(), &options, &context);
        assert_eq!(
            conv2d_kernel(&gpu, &geometry),
            expected_kernel(&gpu, input, groups, out_channels / groups),
            "{context}"
        );
    }
}

#[test]
fn narrow_1x1_int64_matches_reference() {
    let mut rng = Rng::new(0x1764);
    #[rustfmt::skip]
    let cases = [
        // input, out channels, groups
        ([1, 192, 28, 28], 16, 1), // conv1x1_incep
        ([2, 24, 8, 9], 13, 1),    // 13 channels: the last tile's rows past them are clamped
        ([3, 8, 4, 6], 12, 1),     // one channel octet, 3 tiles a plane, 3 images
        ([2, 32, 6, 12], 16, 2),   // 2 groups of 8 output channels
        ([2, 48, 20, 20], 9, 1),   // 50 tiles: the last workgroup part full
        ([1, 16, 2, 4], 8, 1),     // one tile
        ([2, 64, 10, 16], 32, 2),  // 2 groups of 16
    ];
    for (input, out_channels, groups) in cases {
        check(input, out_channels, groups, &mut rng);
    }
}

#[test]
fn wide_1x1_int64_matches_reference() {
    let mut rng = Rng::new(0x1767);
    #[rustfmt::skip]
    let cases = [
        // input, out channels, groups
        ([1, 16, 14, 16], 96, 1),  // MobileNetV2's expansion: 6 tiles
        ([2, 24, 6, 12], 40, 1),   // 40 channels: the third tile half full
        ([1, 64, 8, 8], 256, 1),   // 16 tiles
        ([2, 32, 4, 10], 70, 2),   // 2 groups of 35: 3 tiles a group, the last with 3 channels
        ([1, 256, 7, 8], 64, 1),   // conv1x1_proj's channels
    ];
    for (input, out_channels, groups) in cases {
        check(input, out_channels, groups, &mut rng);
    }
}

#[test]
fn planes_of_whole_vec4s_take_the_quads_kernel() {
    let mut rng = Rng::new(0x1765);
    #[rustfmt::skip]
    let cases = [
        // input, out channels, groups
        ([1, 64, 14, 14], 96, 1), // MobileNetV2's 14x14 layers: 25 tiles, the last half a plane
        ([2, 16, 6, 6], 12, 1),   // 36 pixels: 4.5 tiles
        ([3, 8, 2, 6], 21, 1),    // 12 pixels, 3 images, 2 channel tiles
        ([2, 32, 5, 4], 40, 2),   // 2 groups of 16 input and 20 output channels
        ([1, 16, 6, 6], 48, 1),
    ];
    for (input, out_channels, groups) in cases {
        check(input, out_channels, groups, &mut rng);
    }
}

#[test]
fn planes_off_vec4s_take_the_padded_kernel() {
    let mut rng = Rng::new(0x1769);
    #[rustfmt::skip]
    let cases = [
        // input, out channels, groups
        ([1, 32, 7, 7], 40, 1),   // ResNet-50's and MobileNetV2's 7x7: 7 tiles, the last 1 column
        ([2, 24, 9, 9], 21, 1),   // 81 pixels, 2 images, 2 channel tiles
        ([1, 32, 17, 17], 16, 2), // Inception-v3's 17x17, 2 groups of 16 input channels
        ([3, 8, 11, 7], 9, 1),    // 77 pixels, 3 images
    ];
    for (input, out_channels, groups) in cases {
        check(input, out_channels, groups, &mut rng);
    }
}

#[test]
fn input_channels_off_octets_take_the_vec4_kernels() {
    let mut rng = Rng::new(0x1768);
    // 20 input channels (rows of the weight not on octets); 2 groups of 12 input channels.
    for (input, out_channels, groups) in [
        ([2, 20, 8, 8], 16, 1),
        ([1, 24, 4, 8], 16, 2),
        ([1, 20, 6, 6], 40, 1),
    ] {
        check(input, out_channels, groups, &mut rng);
    }
}

/// A batch larger than one storage binding runs in chunks, later chunks' bindings starting
/// inside the buffers (input_base and output_base past the 256-byte-aligned binding start: 32
/// floats for the first shape's outputs, multiples of 4 for the second's).
#[test]
fn batch_chunks_match_reference() {
    let mut rng = Rng::new(0x1766);
    let gpu = test_gpu(GpuOptions {
        max_storage_binding_bytes: Some(64 * 1024),
        ..Default::default()
    });
    // Octet planes (240 pixels), planes of whole vec4s (100) and padded planes (81).
    for input in [[5, 24, 12, 20], [7, 24, 10, 10], [9, 24, 9, 9]] {
        let weight = random(&mut rng, &[9, 24, 1, 1], 0.2);
        let bias = random(&mut rng, &[9], 1.0);
        let x = random(&mut rng, &input, 1.0);
        let options = Conv2dOptions::default();
        let context = format!("input {input:?} in 64 KiB bindings");
        assert_conv_matches(&gpu, &x, &weight, Some(&bias), &options, &context);
        let geometry = Conv2dGeometry::new(&input, &[9, 24, 1, 1], Some(9), &options).unwrap();
        assert_eq!(
            conv2d_kernel(&gpu, &geometry),
            expected_kernel(&gpu, input, 1, 9),
            "{context}"
        );
    }
}
