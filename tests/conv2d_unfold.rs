//! Kernels the window and wide kernels do not cover (dilation, non-square kernels such as
//! Inception-v3's 1x7 and 7x1, other sizes and strides): software adapters unfold the input
//! (`unfold` in conv2d_pack.wgsl) and run a 1x1 convolution over it
//! (`src/ops/conv2d/unfold.rs`) with at least 8 output channels a group without subgroups (GL
//! llvmpipe) and 128 with them (lavapipe); GPUs' layout (the 64-tile run), smaller groups and
//! unfolded inputs past a storage binding take the general kernels. Every case against the CPU
//! reference in both workgroup layouts, outputs NaN-poisoned, and the kernel asserted.

mod common;

use common::{assert_conv_matches, gpu_large_workgroups, gpu_unsplit, gpu_with, random};
use wgcnn::random::Rng;
use wgcnn::{
    conv2d_kernel, conv2d_route, Activation, Conv2dGeometry, Conv2dOptions, Gpu, GpuOptions,
    Padding,
};

/// Whether `gpu` unfolds a convolution with `out_per_group` output channels a group (and an
/// unfolded input that fits).
fn unfolds(gpu: &Gpu, out_per_group: usize) -> bool {
    let software = gpu.adapter_info().device_type == "Cpu";
    let min_channels = if gpu.has_subgroups() { 128 } else { 8 };
    out_per_group >= min_channels && software
}

/// The 1x1 kernels an unfolded input goes through.
fn is_1x1_kernel(entry_point: &str) -> bool {
    ["conv2d_window1", "conv2d_wide1", "projection"]
        .iter()
        .any(|prefix| entry_point.starts_with(prefix))
}

/// input, weight, stride, padding, dilation, groups.
type Case = (
    [usize; 4],
    [usize; 4],
    [usize; 2],
    Padding,
    [usize; 2],
    usize,
);

/// Checks `case` on `gpu` and in GPUs' 64-tile layout; returns the kernel `gpu` takes.
fn check(gpu: &Gpu, rng: &mut Rng, index: usize, case: Case) -> (&'static str, String) {
    let (input_shape, weight_shape, stride, padding, dilation, groups) = case;
    let options = Conv2dOptions {
        stride,
        padding,
        dilation,
        groups,
        activation: [Activation::None, Activation::Relu][index % 2],
    };
    let input = random(rng, &input_shape, 1.0);
    let weight = random(rng, &weight_shape, 0.3);
    let bias = (index % 3 != 1).then(|| random(rng, &[weight_shape[0]], 0.5));
    let context =
        format!("case {index}: input {input_shape:?} weight {weight_shape:?} {options:?}");
    assert_conv_matches(gpu, &input, &weight, bias.as_ref(), &options, &context);
    let large = gpu_large_workgroups();
    let layout = format!("{context}, 64-tile workgroups");
    assert_conv_matches(&large, &input, &weight, bias.as_ref(), &options, &layout);
    let bias_len = bias.as_ref().map(|_| weight_shape[0]);
    let geometry = Conv2dGeometry::new(&input_shape, &weight_shape, bias_len, &options).unwrap();
    let kernel = conv2d_kernel(gpu, &geometry);
    // None of these kernels is 1x1, so a 1x1 kernel means the input was unfolded first.
    let route = if is_1x1_kernel(kernel) {
        format!("unfold + {kernel}")
    } else {
        kernel.to_string()
    };
    assert_eq!(conv2d_route(gpu, &geometry), route, "{context}");
    (kernel, context)
}

#[test]
fn unfolded_convolutions_match_reference() {
    let gpu = gpu_unsplit();
    let mut rng = Rng::new(0x1C01);
    #[rustfmt::skip]
    let cases: [Case; 13] = [
        ([1, 24, 17, 17], [16, 24, 1, 7], [1, 1], Padding::Symmetric([0, 3]), [1, 1], 1), // Inception-v3's 1x7
        ([2, 24, 17, 17], [16, 24, 7, 1], [1, 1], Padding::Symmetric([3, 0]), [1, 1], 1), // and 7x1
        ([1, 12, 20, 20], [24, 12, 3, 3], [1, 1], Padding::Symmetric([2, 2]), [2, 2], 1), // dilation 2
        ([2, 8, 15, 13], [16, 4, 3, 3], [1, 1], Padding::Symmetric([3, 3]), [3, 3], 2),   // dilation 3, 2 groups
        ([3, 5, 13, 11], [16, 5, 4, 4], [1, 1], Padding::Explicit([1, 2, 2, 1]), [1, 1], 1), // 4x4, asymmetric
        ([1, 6, 30, 29], [16, 6, 3, 3], [3, 3], Padding::Symmetric([1, 1]), [1, 1], 1),   // stride 3
        ([2, 4, 12, 12], [9, 4, 2, 2], [2, 2], Padding::Zero, [1, 1], 1),                 // 2x2 s2, 9 channels
        ([1, 4, 6, 13], [16, 4, 4, 4], [1, 1], Padding::Symmetric([1, 1]), [1, 1], 1),    // wider than tall
        ([1, 3, 21, 21], [40, 3, 5, 5], [2, 2], Padding::Symmetric([2, 2]), [1, 1], 1),   // 5x5 s2
        ([1, 8, 9, 9], [8, 2, 3, 3], [1, 1], Padding::Symmetric([2, 2]), [2, 2], 4),      // groups of 2: general
        ([1, 8, 17, 17], [128, 8, 1, 7], [1, 1], Padding::Symmetric([0, 3]), [1, 1], 1),  // 128 outputs: lavapipe too
        ([2, 6, 11, 10], [256, 3, 3, 3], [1, 1], Padding::Symmetric([2, 2]), [2, 2], 2),  // 128 a group, dilated
        ([1, 5, 9, 9], [127, 5, 3, 1], [1, 1], Padding::Symmetric([1, 0]), [1, 1], 1),    // 127: not on lavapipe
    ];
    for (index, case) in cases.into_iter().enumerate() {
        let out_per_group = case.1[0] / case.5;
        let (kernel, context) = check(&gpu, &mut rng, index, case);
        let expected = unfolds(&gpu, out_per_group);
        assert_eq!(is_1x1_kernel(kernel), expected, "{context}: {kernel}");
    }
}

/// On lavapipe (subgroups and 64-bit words), where the unfolded 1x1 takes an int64 kernel
/// (input channels a group a multiple of 8, and a plane that kernel takes), convolutions unfold
/// from 64 output channels a group at stride-2 3x3, 128 at stride-1 3x3 and 96 for the kernels
/// without a window kernel, never at 5x5; elsewhere (and on GL) the rules above hold.
#[test]
fn int64_unfolding_matches_reference() {
    let gpu = gpu_unsplit();
    let words = gpu.has_subgroups() && gpu.has_int64_loads();
    let mut rng = Rng::new(0x1C03);
    let same = |k: usize| Padding::Symmetric([k / 2, k / 2]);
    #[rustfmt::skip]
    let cases: [(Case, bool); 10] = [
        // (input, weight, stride, padding, dilation, groups), unfolded on lavapipe
        (([1, 8, 12, 12], [64, 8, 3, 3], [2, 2], same(3), [1, 1], 1), true),   // stride-2 3x3, 64
        (([2, 8, 12, 12], [63, 8, 3, 3], [2, 2], same(3), [1, 1], 1), false),  // 63: window3_stride2
        (([1, 6, 12, 12], [64, 6, 3, 3], [2, 2], same(3), [1, 1], 1), false),  // 6 input channels
        (([1, 8, 10, 10], [64, 8, 3, 3], [2, 2], same(3), [1, 1], 1), false),  // 5x5 output: projection
        (([1, 8, 10, 10], [128, 8, 3, 3], [1, 1], same(3), [1, 1], 1), true),  // stride-1 3x3, 128
        (([1, 8, 10, 10], [127, 8, 3, 3], [1, 1], same(3), [1, 1], 1), false), // 127: window3
        (([1, 8, 8, 8], [128, 8, 5, 5], [1, 1], same(5), [1, 1], 1), false),   // 5x5: window5
        (([1, 16, 17, 17], [96, 16, 1, 7], [1, 1], Padding::Symmetric([0, 3]), [1, 1], 1), true), // 1x7, 96
        (([1, 16, 17, 17], [95, 16, 7, 1], [1, 1], Padding::Symmetric([3, 0]), [1, 1], 1), false), // 95
        (([2, 16, 10, 10], [192, 8, 3, 3], [1, 1], Padding::Symmetric([2, 2]), [2, 2], 2), true),  // dilated, 2 groups of 96
    ];
    for (index, (case, unfolded_with_words)) in cases.into_iter().enumerate() {
        let general = case.1[2] != case.1[3] || case.4 != [1, 1];
        let expected = if words {
            unfolded_with_words
        } else {
            general && unfolds(&gpu, case.1[0] / case.5)
        };
        let (kernel, context) = check(&gpu, &mut rng, index, case);
        assert_eq!(is_1x1_kernel(kernel), expected, "{context}: {kernel}");
    }
}

#[test]
fn an_unfolded_input_past_a_binding_takes_the_general_kernels() {
    // A 64 KiB binding cap: the input (4,096 floats) fits, its unfolded copy (16 x 9 x 196 =
    // 28,224 floats) does not, so the general kernels take the convolution.
    let gpu = gpu_with(GpuOptions {
        poison_outputs: true,
        channel_split_outputs: Some(0),
        max_storage_binding_bytes: Some(64 * 1024),
        ..Default::default()
    });
    let mut rng = Rng::new(0x1C02);
    let case = (
        [1, 16, 16, 16],
        [16, 16, 3, 3],
        [1, 1],
        Padding::Zero,
        [2, 2],
        1,
    );
    let (kernel, context) = check(&gpu, &mut rng, 0, case);
    assert!(!is_1x1_kernel(kernel), "{context}: {kernel}");
}
