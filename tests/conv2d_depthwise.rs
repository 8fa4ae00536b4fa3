//! The depthwise 3x3 kernels (`shaders/conv2d_depthwise.wgsl`, portable, so every adapter runs
//! them) against the CPU reference: stride 1 and 2, every padding phase, multipliers 1-3, rows
//! of whole vec4s and rows that are not (copied to padded rows first), planes of fewer tiles
//! than a workgroup (several planes a workgroup) and larger ones, batches, activations. The
//! tests assert the kernel each case takes. Outputs are NaN-poisoned, so unwritten elements
//! fail.

mod common;

use common::{assert_conv_matches, gpu, random};
use wgcnn::random::Rng;
use wgcnn::{conv2d_kernel, Activation, Conv2dGeometry, Conv2dOptions, Padding};

const ONE_PLANE: &str = "conv2d_depthwise3x3";
const PLANES: &str = "conv2d_depthwise3x3_planes";
const STRIDE2: &str = "conv2d_depthwise3x3_stride2";

/// Runs a depthwise 3x3 on `[batch, channels, height, width]` with `multiplier` output channels
/// per input channel, checks it against the reference and returns the kernel it took.
fn check(
    rng: &mut Rng,
    [batch, channels, height, width]: [usize; 4],
    multiplier: usize,
    stride: usize,
    padding: Padding,
    index: usize,
) -> &'static str {
    let gpu = gpu();
    let options = Conv2dOptions {
        stride: [stride, stride],
        padding,
        groups: channels,
        activation: [Activation::None, Activation::Relu6][index % 2],
        ..Default::default()
    };
    let input_shape = [batch, channels, height, width];
    let weight_shape = [channels * multiplier, 1, 3, 3];
    let input = random(rng, &input_shape, 1.0);
    let weight = random(rng, &weight_shape, 0.33);
    let bias = (index % 3 != 1).then(|| random(rng, &[channels * multiplier], 1.0));
    let context = format!("input {input_shape:?} weight {weight_shape:?} {options:?}");
    assert_conv_matches(&gpu, &input, &weight, bias.as_ref(), &options, &context);
    let bias_len = bias.as_ref().map(|b| b.data().len());
    let geometry = Conv2dGeometry::new(&input_shape, &weight_shape, bias_len, &options).unwrap();
    conv2d_kernel(&gpu, &geometry)
}

const PADDINGS: [Padding; 6] = [
    Padding::Symmetric([1, 1]),
    Padding::Zero,
    Padding::Symmetric([2, 2]),
    Padding::Explicit([0, 3, 1, 2]),
    Padding::Symmetric([1, 3]),
    Padding::Symmetric([0, 3]),
];

#[test]
fn depthwise3x3_matches_reference() {
    // Planes of fewer than 64 tiles (8 columns x 4 rows) take the kernel that puts several planes
    // in a workgroup.
    let mut rng = Rng::new(0xD3);
    #[rustfmt::skip]
    let shapes = [
        ([1, 5, 3, 4], PLANES),
        ([2, 3, 4, 8], PLANES),
        ([1, 8, 5, 12], PLANES),
        ([2, 1, 6, 20], PLANES),
        ([1, 6, 7, 28], PLANES),
        ([2, 2, 8, 16], PLANES),
        ([2, 3, 32, 64], ONE_PLANE),   // 8 x 9 tiles (or 8 x 8)
        ([1, 4, 41, 60], ONE_PLANE),
        ([3, 9, 7, 7], PLANES),        // MobileNet's 7x7 and 14x14: padded rows
        ([1, 5, 14, 14], PLANES),
        ([2, 4, 13, 11], PLANES),
        ([2, 2, 55, 55], ONE_PLANE),   // padded rows, 14 x 7 tiles
        ([1, 3, 30, 33], PLANES),
    ];
    for (index, (shape, kernel)) in shapes.into_iter().enumerate() {
        let padding = PADDINGS[index % PADDINGS.len()];
        let took = check(&mut rng, shape, 1 + index % 3, 1, padding, index);
        assert_eq!(took, kernel, "{shape:?} {padding:?}");
    }
}

#[test]
fn depthwise3x3_stride2_matches_reference() {
    // Odd and even left padding (the window starts one column into its first vec4, or on it),
    // widths that are not whole vec4s, output rows and columns that end inside a tile.
    let mut rng = Rng::new(0xD32);
    #[rustfmt::skip]
    let shapes = [
        [1, 3, 112, 112],
        [2, 3, 56, 56],
        [1, 5, 14, 14],
        [2, 2, 13, 11],
        [1, 6, 28, 28],
        [1, 3, 29, 32],
        [2, 2, 20, 24],
        [1, 7, 9, 40],
        [3, 4, 7, 7],
        [1, 2, 4, 4],
    ];
    for (index, shape) in shapes.into_iter().enumerate() {
        let padding = PADDINGS[index % PADDINGS.len()];
        let took = check(&mut rng, shape, 1 + index % 3, 2, padding, index);
        assert_eq!(took, STRIDE2, "{shape:?} {padding:?}");
    }
}
