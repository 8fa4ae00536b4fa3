//! The window kernels (1x1, 3x3 and 5x5 at stride 1, 3x3 and 7x7 at stride 2, on rows of whole
//! vec4s, adapters with subgroups) and the wide kernels (the same shapes, adapters without
//! subgroups, and KxK groups that would leave the window tiles mostly empty on software
//! adapters with them) against the CPU reference: every padding phase,
//! channel counts that leave partial tiles, partial row blocks, groups, batches, activations,
//! widths from one vec4 up, 1x1 planes that end inside a tile. Each adapter runs every case,
//! through whichever kernel it takes there, and the tests assert which (1x1 kernels with at most
//! 16 channels a group take the narrow window kernel), with conv2d's channel split off (GPUs
//! would split some shapes: `tests/conv2d_split.rs`). Outputs are
//! NaN-poisoned, so unwritten elements fail.

mod common;

use common::{assert_conv_matches, gpu_unsplit, gpu_with, random};
use wgcnn::random::Rng;
use wgcnn::{conv2d_kernel, conv2d_route, Activation, Conv2dGeometry, Conv2dOptions, Gpu, Padding};

#[derive(Debug)]
struct Case {
    batch: usize,
    in_channels: usize,
    out_channels: usize,
    groups: usize,
    height: usize,
    width: usize,
    kernel: usize,
    stride: usize,
    padding: Padding,
    activation: Activation,
    bias: bool,
}

/// batch, in, out, groups, height, width, kernel, stride, padding.
type Shape = (
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    Padding,
);

impl Case {
    fn new(shape: Shape, activation: Activation, bias: bool) -> Case {
        let (batch, in_channels, out_channels, groups, height, width, kernel, stride, padding) =
            shape;
        Case {
            batch,
            in_channels,
            out_channels,
            groups,
            height,
            width,
            kernel,
            stride,
            padding,
            activation,
            bias,
        }
    }
}

/// The kernel a window-kernel shape takes on adapters without subgroups (1x1: see
/// `common::no_subgroups_1x1_kernel`): the wide kernels, but on GL llvmpipe the GLSL port of
/// `conv2d_window3` for a stride-1 3x3 that fills more than 3/4 of its 32-channel tiles.
fn wide_kernel(gpu: &Gpu, case: &Case) -> &'static str {
    let per_group = case.out_channels / case.groups;
    let sparse = 4 * per_group <= 3 * per_group.next_multiple_of(32);
    match (case.kernel, case.stride) {
        (1, _) => common::no_subgroups_1x1_kernel(
            gpu,
            case.in_channels,
            case.groups,
            case.out_channels / case.groups,
            case.height * case.width,
        ),
        (3, 1) if common::glsl_window_kernels(gpu) && !sparse => "conv2d_window3",
        (3, 1) => "conv2d_wide3",
        (3, _) => "conv2d_wide3_stride2",
        (5, _) => "conv2d_wide5",
        _ => "conv2d_wide7_stride2",
    }
}

/// Whether `case` takes a window kernel on `gpu`: with subgroups, except on software adapters a
/// KxK group that fills at most 3/4 of the 32-channel tiles, which takes the wide kernels
/// (`src/ops/conv2d/window.rs`). The 64-tile run in `check` takes the window kernels there.
/// On GL llvmpipe a stride-1 3x3 that is not sparse takes `conv2d_window3`'s GLSL port.
fn takes_window(gpu: &wgcnn::Gpu, case: &Case) -> bool {
    let per_group = case.out_channels / case.groups;
    let sparse = case.kernel != 1 && 4 * per_group <= 3 * per_group.next_multiple_of(32);
    let software = gpu.adapter_info().device_type == "Cpu";
    let glsl = common::glsl_window_kernels(gpu) && (case.kernel, case.stride) == (3, 1);
    (gpu.has_subgroups() || glsl) && !(sparse && software)
}

/// The window kernel a KxK shape takes on adapters with subgroups.
fn window_kernel(case: &Case) -> &'static str {
    match (case.kernel, case.stride) {
        (3, 1) => "conv2d_window3",
        (3, _) => "conv2d_window3_stride2",
        (5, _) => "conv2d_window5",
        _ => "conv2d_window7_stride2",
    }
}

/// Asserts case `index` took `expected`: the wide kernel itself without subgroups, a kernel of
/// that family (`conv2d_window`, `conv2d_window1`) with them or their GLSL ports.
fn assert_kernel(gpu: &wgcnn::Gpu, entry_point: &str, expected: &str, index: usize) {
    let matches = if gpu.has_subgroups() || common::glsl_window_kernels(gpu) {
        entry_point.starts_with(expected)
    } else {
        entry_point == expected
    };
    assert!(matches, "case {index}: {entry_point}, expected {expected}");
}

/// Runs `case` as a CPU adapter runs it (16- and 8-tile workgroups; on lavapipe the kernels of
/// conv2d_window64.wgsl, 64-bit loads) and as GPUs do (64-tile workgroups:
/// `GpuOptions::large_workgroups`, and conv2d_window.wgsl: `int64_loads` off) against the CPU
/// reference; returns the kernel the first takes.
fn check(case: &Case, rng: &mut Rng) -> &'static str {
    let gpu = gpu_unsplit();
    let large = gpu_with(wgcnn::GpuOptions {
        poison_outputs: true,
        channel_split_outputs: Some(0),
        large_workgroups: Some(true),
        int64_loads: Some(false),
        ..Default::default()
    });
    let options = Conv2dOptions {
        stride: [case.stride, case.stride],
        padding: case.padding,
        groups: case.groups,
        activation: case.activation,
        ..Default::default()
    };
    let input_shape = [case.batch, case.in_channels, case.height, case.width];
    let weight_shape = [
        case.out_channels,
        case.in_channels / case.groups,
        case.kernel,
        case.kernel,
    ];
    let fan_in = (weight_shape[1] * case.kernel * case.kernel) as f32;
    let input = random(rng, &input_shape, 1.0);
    let weight = random(rng, &weight_shape, 1.0 / fan_in.sqrt());
    let bias = case.bias.then(|| random(rng, &[case.out_channels], 1.0));
    let context = format!("input {input_shape:?} weight {weight_shape:?} {options:?}");
    assert_conv_matches(&gpu, &input, &weight, bias.as_ref(), &options, &context);
    let context = format!("{context}, 64-tile workgroups, float loads");
    assert_conv_matches(&large, &input, &weight, bias.as_ref(), &options, &context);
    let geometry = Conv2dGeometry::new(
        &input_shape,
        &weight_shape,
        case.bias.then_some(case.out_channels),
        &options,
    )
    .unwrap();
    conv2d_kernel(&gpu, &geometry)
}

/// Every kernel, stride and padding phase with channel counts that leave partial tiles; with
/// subgroups the sparse ones take the wide kernels on software adapters (`takes_window`) and
/// the window kernels in the 64-tile run.
#[test]
fn window_kernels_match_reference() {
    let gpu = gpu_unsplit();
    let mut rng = Rng::new(0x3A3A);
    let paddings = [
        Padding::Zero,
        Padding::Symmetric([1, 1]),
        Padding::Symmetric([2, 2]),
        Padding::Symmetric([3, 0]),
        Padding::Explicit([0, 2, 1, 3]),
        Padding::Explicit([2, 0, 4, 1]),
        Padding::Same,
    ];
    let (mut cases, mut windowed, mut expected) = (0, 0, 0);
    for (kernel, stride) in [(1, 1), (3, 1), (5, 1), (3, 2), (7, 2)] {
        for (index, padding) in paddings.into_iter().enumerate() {
            if kernel == 1 && padding != Padding::Zero || stride == 2 && padding == Padding::Same {
                continue;
            }
            let width = [4, 8, 12, 20, 28, 36, 56][index];
            let case = Case {
                batch: 1 + index % 3,
                in_channels: [1, 3, 13, 8, 5, 16, 2][index],
                out_channels: [8, 33, 40, 64, 70, 9, 32][index],
                groups: 1,
                height: kernel + 2 + index * 2,
                width: if width < kernel { 8 } else { width },
                kernel,
                stride,
                padding,
                activation: [
                    Activation::None,
                    Activation::Relu,
                    Activation::LeakyRelu(0.1),
                ][index % 3],
                bias: index % 2 == 0,
            };
            let entry_point = check(&case, &mut rng);
            cases += 1;
            windowed += usize::from(entry_point.starts_with("conv2d_window"));
            expected += usize::from(takes_window(&gpu, &case));
        }
    }
    // 1x1 on planes of whole vec4s whose rows are not (6 x 6); 21 input channels: two
    // unrolled runs of 8 and a tail; 12 output channels: the narrow tiles.
    let case = Case {
        batch: 2,
        in_channels: 21,
        out_channels: 12,
        groups: 1,
        height: 6,
        width: 6,
        kernel: 1,
        stride: 1,
        padding: Padding::Zero,
        activation: Activation::None,
        bias: true,
    };
    let entry_point = check(&case, &mut rng);
    cases += 1;
    windowed += usize::from(entry_point == "conv2d_window1_narrow");
    expected += usize::from(takes_window(&gpu, &case));
    // Groups: two groups of 20 and of 8 output channels.
    for (groups, out_channels) in [(2, 40), (2, 16)] {
        let case = Case {
            batch: 2,
            in_channels: 6,
            out_channels,
            groups,
            height: 9,
            width: 16,
            kernel: 3,
            stride: 1,
            padding: Padding::Symmetric([1, 1]),
            activation: Activation::Relu6,
            bias: true,
        };
        let entry_point = check(&case, &mut rng);
        cases += 1;
        windowed += usize::from(entry_point.starts_with("conv2d_window"));
        expected += usize::from(takes_window(&gpu, &case));
    }
    assert_eq!(windowed, expected, "{cases} cases: window kernels taken");
    if gpu.has_subgroups() || common::glsl_window_kernels(&gpu) {
        assert!(windowed > 0, "no case took a window kernel");
    } else {
        assert_eq!(windowed, 0, "no subgroups: no window kernel");
    }
}

/// The cases for the wide kernels (and, where `takes_window`, for the window kernels).
#[test]
fn wide_kernels_match_reference() {
    let gpu = gpu_unsplit();
    let mut rng = Rng::new(0x71DE);
    #[rustfmt::skip]
    let shapes = [
        // batch, in, out, groups, height, width, kernel, stride, padding
        (2, 5, 70, 1, 9, 36, 3, 1, Padding::Symmetric([1, 1])),  // 70 channels: a partial tile
        (3, 3, 64, 1, 12, 20, 3, 1, Padding::Explicit([0, 2, 1, 3])), // phases 2 and 3
        (4, 2, 64, 1, 8, 4, 3, 1, Padding::Symmetric([1, 1])),   // one vec4 per row
        (4, 4, 64, 1, 7, 40, 3, 1, Padding::Zero),                // phase 0: tiles from column 0
        (4, 7, 64, 1, 6, 28, 3, 1, Padding::Same),
        (4, 6, 40, 2, 9, 16, 3, 1, Padding::Symmetric([1, 1])),  // 2 groups of 20
        (4, 21, 72, 1, 6, 6, 1, 1, Padding::Zero),                // 1x1: a 36-pixel plane
        (3, 21, 16, 1, 6, 6, 1, 1, Padding::Zero),                // 1x1, 16 channels: narrow tiles
        (2, 24, 13, 1, 8, 9, 1, 1, Padding::Zero),                // 13 channels, 72 pixels
        (2, 16, 24, 2, 5, 12, 1, 1, Padding::Zero),               // 2 groups of 12
        (2, 8, 64, 1, 20, 20, 1, 1, Padding::Zero),
        (1, 5, 24, 1, 11, 28, 5, 1, Padding::Symmetric([2, 2])),  // 5x5: 24 channels, 3 tiles
        (2, 3, 13, 1, 9, 16, 5, 1, Padding::Explicit([1, 0, 3, 2])),
        (4, 3, 64, 1, 16, 32, 7, 2, Padding::Symmetric([3, 3])), // the stem's padding (odd)
        (4, 2, 70, 1, 15, 36, 7, 2, Padding::Symmetric([2, 2])),
        (4, 3, 64, 1, 13, 44, 7, 2, Padding::Explicit([1, 1, 0, 2])),
        (4, 2, 64, 1, 14, 20, 7, 2, Padding::Zero),
        (2, 5, 64, 1, 15, 36, 3, 2, Padding::Symmetric([1, 1])), // ResNet's downsampling
        (3, 4, 70, 1, 12, 28, 3, 2, Padding::Zero),
        (2, 3, 24, 1, 9, 44, 3, 2, Padding::Explicit([2, 3, 0, 1])),
        (2, 6, 32, 2, 10, 16, 3, 2, Padding::Symmetric([2, 2])), // 2 groups of 16
        (2, 8, 16, 4, 9, 16, 3, 1, Padding::Symmetric([1, 1])),  // 4 groups of 4 (ResNeXt's)
        // Packed weights past one row of the wide kernels' weight texture (4096 texels):
        (2, 64, 64, 1, 6, 8, 3, 1, Padding::Same),                // 9216 texels, 3 rows
        (1, 520, 40, 1, 8, 8, 1, 1, Padding::Zero),               // 1x1: 5200 texels, 2 rows
        (1, 520, 32, 1, 8, 8, 1, 1, Padding::Zero),               // 16-channel tiles: 4160, 2 rows
        // 16-channel tiles from the uniform buffer, filling its 64 KiB (4096 vec4s) exactly:
        (2, 512, 32, 1, 8, 8, 1, 1, Padding::Zero),
    ];
    let activations = [
        Activation::None,
        Activation::Relu,
        Activation::LeakyRelu(0.1),
        Activation::Relu6,
    ];
    for (index, shape) in shapes.into_iter().enumerate() {
        let case = Case::new(shape, activations[index % 4], index % 3 != 2);
        let entry_point = check(&case, &mut rng);
        let expected = if takes_window(&gpu, &case) {
            "conv2d_window"
        } else {
            wide_kernel(&gpu, &case)
        };
        assert_kernel(&gpu, entry_point, expected, index);
    }
}

/// Rows that are not whole vec4s: without subgroups the input is copied to padded rows and the
/// wide kernels run (1x1: on planes of at least 64 pixels); with subgroups so do 1x1 kernels on
/// planes of at least 49 pixels (conv2d_window1) and, on software adapters, the other window
/// kernels, while GPUs' layout (the 64-tile run in `check`) takes the general subgroup kernel
/// for those. Small planes (a 7x7 map is 2 tiles of conv2d_wide3) share a workgroup across
/// channel tiles.
#[test]
fn padded_rows_match_reference() {
    let gpu = gpu_unsplit();
    let software = gpu.adapter_info().device_type == "Cpu";
    let mut rng = Rng::new(0x9AD);
    #[rustfmt::skip]
    let shapes: [Shape; 12] = [
        // batch, in, out, groups, height, width, kernel, stride, padding
        (2, 5, 64, 1, 7, 7, 3, 1, Padding::Symmetric([1, 1])),     // ResNet-18's 7x7 maps
        (1, 6, 72, 1, 14, 14, 3, 1, Padding::Symmetric([1, 1])),   // 18 channel tiles
        (3, 4, 20, 1, 5, 5, 3, 1, Padding::Explicit([2, 5, 0, 1])), // left padding past a vec4
        (2, 6, 40, 2, 9, 13, 3, 1, Padding::Same),                  // 2 groups of 20
        (1, 16, 32, 8, 7, 7, 3, 1, Padding::Symmetric([1, 1])),     // 8 groups of 4
        (2, 4, 24, 1, 6, 10, 5, 1, Padding::Symmetric([2, 2])),
        (2, 5, 64, 1, 14, 14, 3, 2, Padding::Symmetric([1, 1])),   // downsampling to 7x7
        (1, 3, 64, 1, 17, 23, 7, 2, Padding::Symmetric([3, 3])),
        (2, 3, 16, 1, 11, 9, 3, 2, Padding::Explicit([0, 1, 2, 0])),
        (2, 21, 24, 1, 17, 17, 1, 1, Padding::Zero),                // 1x1: 289-pixel planes
        (3, 8, 16, 1, 9, 9, 1, 1, Padding::Zero),                   // 81 pixels, 3 images
        (1, 10, 40, 2, 13, 7, 1, 1, Padding::Zero),                 // 1x1, 2 groups of 20
    ];
    for (index, shape) in shapes.into_iter().enumerate() {
        let activation = [Activation::Relu, Activation::None][index % 2];
        let case = Case::new(shape, activation, index % 3 != 1);
        let entry_point = check(&case, &mut rng);
        let expected = match (gpu.has_subgroups(), case.kernel) {
            (true, 1) => "conv2d_window1",
            (true, _) if software && takes_window(&gpu, &case) => window_kernel(&case),
            (true, _) if software => wide_kernel(&gpu, &case),
            (true, _) => "conv2d_subgroup",
            (false, _) => wide_kernel(&gpu, &case),
        };
        assert_kernel(&gpu, entry_point, expected, index);
    }
}

/// Strided 1x1 convolutions (ResNet's downsampling shortcuts): without subgroups the input is
/// gathered to the pixels they read and the stride-1 kernels run on it (the projection for
/// small planes, the wide kernel on larger ones, padded or not); with subgroups the general
/// subgroup kernel takes them, except from 128 output channels a group on software adapters,
/// which gather too (for the window kernel or the projection).
#[test]
fn strided_1x1_matches_reference() {
    let gpu = gpu_unsplit();
    let mut rng = Rng::new(0x5B5);
    #[rustfmt::skip]
    let cases = [
        // input, out channels, stride, groups, kernel without subgroups
        ([2, 16, 14, 14], 24, [2, 2], 1, "projection"),     // 7x7: 49 pixels
        ([1, 8, 56, 56], 16, [2, 2], 1, "conv2d_wide1_narrow_uniform"), // 28x28
        ([3, 5, 13, 11], 20, [3, 3], 1, "conv2d_wide1"),    // 5x4: 20 pixels, whole vec4s
        ([2, 12, 17, 18], 16, [2, 2], 1, "conv2d_wide1_narrow_uniform"), // 9x9: padded planes
        ([1, 6, 9, 40], 12, [1, 3], 1, "conv2d_wide1_narrow_uniform"), // 9x14, asymmetric stride
        ([1, 1040, 16, 16], 16, [2, 2], 1, "conv2d_wide1_narrow"), // 8x8: weights past 64 KiB
        ([2, 12, 10, 10], 8, [2, 2], 2, "conv2d"),          // 2 groups of 4
        ([1, 8, 16, 16], 128, [2, 2], 1, "conv2d_wide1_narrow_uniform"), // 128 outputs: gathered on lavapipe
        ([2, 6, 18, 14], 130, [2, 2], 1, "projection"),     // 9x7, 130 outputs
        ([1, 16, 8, 8], 256, [2, 2], 2, "conv2d_wide1_narrow_uniform"), // 2 groups of 128
        ([1, 4, 12, 12], 127, [2, 2], 1, "conv2d_wide1_narrow_uniform"), // 127: not on lavapipe
    ];
    for (index, (input_shape, out_channels, stride, groups, expected)) in
        cases.into_iter().enumerate()
    {
        let weight_shape = [out_channels, input_shape[1] / groups, 1, 1];
        let options = Conv2dOptions {
            stride,
            groups,
            activation: [Activation::Relu, Activation::None][index % 2],
            ..Default::default()
        };
        let input = random(&mut rng, &input_shape, 1.0);
        let weight = random(&mut rng, &weight_shape, 0.3);
        let bias = random(&mut rng, &[out_channels], 0.5);
        let context = format!("case {index}: input {input_shape:?} {options:?}");
        assert_conv_matches(&gpu, &input, &weight, Some(&bias), &options, &context);
        let geometry =
            Conv2dGeometry::new(&input_shape, &weight_shape, Some(out_channels), &options).unwrap();
        let kernel = conv2d_kernel(&gpu, &geometry);
        let software = gpu.adapter_info().device_type == "Cpu";
        let gathers = !gpu.has_subgroups() || (software && out_channels / groups >= 128);
        let route = if gathers {
            format!("gather + {kernel}")
        } else {
            kernel.to_string()
        };
        assert_eq!(conv2d_route(&gpu, &geometry), route, "{context}");
        if gpu.has_subgroups() && gathers {
            let stride_1 = ["conv2d_window1", "projection"];
            let gathered = stride_1.iter().any(|prefix| kernel.starts_with(prefix));
            assert!(gathered, "{context}: {kernel}");
            continue;
        }
        // Gathered planes of whole octets take the GLSL int64 port on GL.
        let plane = input_shape[2].div_ceil(stride[0]) * input_shape[3].div_ceil(stride[1]);
        let expected = match (gpu.has_subgroups(), groups) {
            (false, _) if expected.starts_with("conv2d_wide1") => common::no_subgroups_1x1_kernel(
                &gpu,
                input_shape[1],
                groups,
                out_channels / groups,
                plane,
            ),
            (false, _) => expected,
            (true, 1) => "conv2d_subgroup",
            (true, _) => "conv2d",
        };
        assert_eq!(kernel, expected, "{context}");
    }
}
