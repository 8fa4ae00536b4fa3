//! `conv2d_window1_narrow_int64` (shaders/conv2d_window_int64.wgsl): 1x1 convolutions whose
//! input channels a group and plane sizes are multiples of 8, in 16-channel tiles whatever the
//! width, on CPU adapters with subgroups and 64-bit integers (lavapipe), reading the weight as
//! given (no repacking). Every case runs on the default Gpu, in GPUs' 64-tile workgroups, on a grid that
//! wraps into 2-D, and with the `_int64` kernels off (`GpuOptions::int64_loads`), each against
//! the CPU reference with NaN-poisoned outputs; the tests assert which kernel each Gpu takes, so
//! on an adapter without subgroups (GL) they check the wide kernels on the same shapes.

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

/// The kernel a 1x1 convolution on planes of whole vec4s takes on `gpu` (with subgroups and
/// without octets: 16-channel tiles for at most 16 channels a group; without subgroups:
/// 16-channel tiles unless 8-channel ones pad less).
fn expected_kernel(
    gpu: &Gpu,
    octets: bool,
    in_channels: usize,
    out_per_group: usize,
) -> &'static str {
    match (gpu.has_subgroups(), gpu.has_int64_loads() && octets) {
        (true, true) => "conv2d_window1_narrow_int64",
        (true, false) if out_per_group <= 16 => "conv2d_window1_narrow",
        (true, false) => "conv2d_window1",
        (false, _) => common::wide1_kernel(in_channels, out_per_group),
    }
}

/// Runs `input` -> `out_channels` (1x1, `groups`) on every Gpu of `gpus()`; `octets`: whether
/// the shape qualifies for the int64 kernel.
fn check(input: [usize; 4], out_channels: usize, groups: usize, octets: bool, rng: &mut Rng) {
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
            expected_kernel(&gpu, octets, input[1], out_channels / groups),
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
        check(input, out_channels, groups, true, &mut rng);
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
        check(input, out_channels, groups, true, &mut rng);
    }
}

#[test]
fn shapes_without_octets_take_the_vec4_kernel() {
    let mut rng = Rng::new(0x1765);
    // 20 input channels (rows of the weight not on octets); a 36-pixel plane (whole vec4s, not
    // octets); 2 groups of 12 input channels; 48 outputs on 36 pixels.
    for (input, out_channels, groups) in [
        ([2, 20, 8, 8], 16, 1),
        ([2, 16, 6, 6], 12, 1),
        ([1, 24, 4, 8], 16, 2),
        ([1, 16, 6, 6], 48, 1),
    ] {
        check(input, out_channels, groups, false, &mut rng);
    }
}

/// A batch larger than one storage binding runs in chunks of 2 images, the second chunk's output
/// binding starting inside the buffer (output_base 32; an eligible input image is a multiple of
/// 64 floats, so its bindings start on the 256-byte alignment).
#[test]
fn batch_chunks_match_reference() {
    let mut rng = Rng::new(0x1766);
    let input = [5, 24, 12, 20];
    let gpu = test_gpu(GpuOptions {
        max_storage_binding_bytes: Some(64 * 1024),
        ..Default::default()
    });
    let weight = random(&mut rng, &[9, 24, 1, 1], 0.2);
    let bias = random(&mut rng, &[9], 1.0);
    let x = random(&mut rng, &input, 1.0);
    let options = Conv2dOptions::default();
    let context = format!("input {input:?} in 64 KiB bindings");
    assert_conv_matches(&gpu, &x, &weight, Some(&bias), &options, &context);
    let geometry = Conv2dGeometry::new(&input, &[9, 24, 1, 1], Some(9), &options).unwrap();
    assert_eq!(
        conv2d_kernel(&gpu, &geometry),
        expected_kernel(&gpu, true, 24, 9),
        "{context}"
    );
}
