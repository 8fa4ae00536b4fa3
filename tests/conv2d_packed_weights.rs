//! conv2d's packed weights (`src/ops/conv2d/packed_weights.rs`): the window and wide kernels
//! read a repacked copy of the weight, which the weight tensor keeps for its next convolution.
//! These tests change the weight's values between convolutions in each way wgcnn allows (an op
//! in place, `Tensor::write`, a write through the raw buffer, the same buffer seen with another
//! shape) and check every convolution against the CPU reference on the values it should have
//! seen; and they run convolutions with different weights in one submission, where packed
//! textures and buffers go back to the pool and the next convolution packs into them. Every
//! shape takes a packing kernel on both backends (asserted).

mod common;

use common::{assert_close, gpu_unsplit, gpu_with, random};
use wgcnn::random::Rng;
use wgcnn::{
    conv2d, conv2d_kernel, relu_in_place, Conv2dGeometry, Conv2dOptions, Gpu, HostTensor, Padding,
    Tensor,
};

fn options(padding: Padding) -> Conv2dOptions {
    Conv2dOptions {
        padding,
        ..Default::default()
    }
}

/// Records conv2d of `input` with `weight` (bias-free), asserting it takes a kernel that packs
/// its weights.
fn convolve(gpu: &Gpu, input: &Tensor, weight: &Tensor, options: &Conv2dOptions) -> Tensor {
    let geometry = Conv2dGeometry::new(input.shape(), weight.shape(), None, options).unwrap();
    let kernel = conv2d_kernel(gpu, &geometry);
    let packs = kernel.starts_with("conv2d_window") || kernel.starts_with("conv2d_wide");
    assert!(
        packs && !kernel.contains("int64"),
        "{kernel} packs no weights"
    );
    conv2d(input, weight, None, options).unwrap()
}

/// Asserts `output` is the reference convolution of `input` with `weight`.
fn assert_reference(
    output: &Tensor,
    input: &HostTensor,
    weight: &HostTensor,
    options: &Conv2dOptions,
    context: &str,
) {
    let expected = wgcnn::reference::conv2d(input, weight, None, options).unwrap();
    assert_eq!(output.shape(), expected.shape(), "{context}");
    let values = output.to_vec().unwrap();
    assert_close(&values, expected.data(), 2e-5, 1e-5, context);
}

/// 3x3 (window3 / wide3) and 1x1 (window1 and window1_narrow / wide1 and the uniform-buffer
/// wide1_narrow) shapes. The 1x1 inputs' channels are not multiples of 8, so that with
/// subgroups they take the window kernels, not the int64 ones, which read the weight as given.
fn shapes() -> [([usize; 4], [usize; 4], Padding); 4] {
    [
        ([2, 16, 9, 12], [40, 16, 3, 3], Padding::Same),
        ([2, 20, 6, 6], [40, 20, 1, 1], Padding::Zero),
        ([1, 44, 7, 12], [32, 44, 1, 1], Padding::Zero),
        ([2, 20, 8, 8], [16, 20, 1, 1], Padding::Zero),
    ]
}

/// For each shape: convolves, changes the weight with `change` (which returns the values the
/// weight then holds), convolves twice more, all in one submission, and checks the three.
fn changed_weight_is_packed_again(
    seed: u64,
    how: &str,
    change: impl Fn(&mut Rng, &Tensor, &HostTensor) -> HostTensor,
) {
    let gpu = gpu_unsplit();
    let mut rng = Rng::new(seed);
    for (input_shape, weight_shape, padding) in shapes() {
        let options = options(padding);
        let input = random(&mut rng, &input_shape, 1.0);
        let weight = random(&mut rng, &weight_shape, 0.3);
        let on_gpu = input.upload(&gpu).unwrap();
        let kept = weight.upload(&gpu).unwrap();
        let before = convolve(&gpu, &on_gpu, &kept, &options);
        let changed = change(&mut rng, &kept, &weight);
        let after = convolve(&gpu, &on_gpu, &kept, &options);
        let again = convolve(&gpu, &on_gpu, &kept, &options);
        let context = format!("{weight_shape:?}");
        assert_reference(&before, &input, &weight, &options, &context);
        let context = format!("{context}, {how}");
        assert_reference(&after, &input, &changed, &options, &context);
        assert_eq!(
            after.to_vec().unwrap(),
            again.to_vec().unwrap(),
            "{context}"
        );
    }
}

#[test]
fn a_weight_written_in_place_is_packed_again() {
    changed_weight_is_packed_again(0xAC71, "ReLU'd in place", |_, kept, weight| {
        relu_in_place(kept).unwrap();
        let rectified = weight.data().iter().map(|&w| w.max(0.0)).collect();
        HostTensor::new(weight.shape(), rectified).unwrap()
    });
}

#[test]
fn a_weight_replaced_by_write_is_packed_again() {
    changed_weight_is_packed_again(0x3A17, "written", |rng, kept, weight| {
        let values = random(rng, weight.shape(), 0.3);
        kept.write(values.data()).unwrap();
        values
    });
}

#[test]
fn writes_through_the_raw_buffer_are_seen() {
    let gpu = gpu_unsplit();
    let mut rng = Rng::new(0xB0FF);
    for (input_shape, weight_shape, padding) in shapes() {
        let options = options(padding);
        let input = random(&mut rng, &input_shape, 1.0);
        let weights: Vec<_> = (0..3)
            .map(|_| random(&mut rng, &weight_shape, 0.3))
            .collect();
        let on_gpu = input.upload(&gpu).unwrap();
        let weight = weights[0].upload(&gpu).unwrap();
        let first = convolve(&gpu, &on_gpu, &weight, &options);
        assert_reference(&first, &input, &weights[0], &options, "before any write");
        // Each write lands before the next submission's commands (wgpu's queue order), so the
        // convolution is read back before the next write.
        for (index, values) in weights.iter().enumerate().skip(1) {
            let bytes = bytemuck::cast_slice(values.data());
            gpu.queue().write_buffer(weight.buffer(), 0, bytes);
            let output = convolve(&gpu, &on_gpu, &weight, &options);
            let context = format!("{weight_shape:?} after write {index}");
            assert_reference(&output, &input, values, &options, &context);
        }
    }
}

#[test]
fn one_buffer_seen_with_two_shapes_packs_for_each() {
    let gpu = gpu_unsplit();
    let mut rng = Rng::new(0x5A9E);
    let options_3x3 = options(Padding::Same);
    let options_1x1 = options(Padding::Zero);
    let weight = random(&mut rng, &[32, 16, 3, 3], 0.3);
    let as_1x1 = HostTensor::new(&[128, 36, 1, 1], weight.data().to_vec()).unwrap();
    let input_3x3 = random(&mut rng, &[1, 16, 10, 12], 1.0);
    let input_1x1 = random(&mut rng, &[1, 36, 6, 6], 1.0); // 36 channels: no int64 kernel
    let kept = weight.upload(&gpu).unwrap();
    let reshaped = kept.reshape(&[128, 36, 1, 1]).unwrap();
    let (x3, x1) = (
        input_3x3.upload(&gpu).unwrap(),
        input_1x1.upload(&gpu).unwrap(),
    );
    let outputs = [
        convolve(&gpu, &x3, &kept, &options_3x3),
        convolve(&gpu, &x1, &reshaped, &options_1x1),
        convolve(&gpu, &x3, &kept, &options_3x3),
    ];
    assert_reference(&outputs[0], &input_3x3, &weight, &options_3x3, "3x3");
    assert_reference(&outputs[1], &input_1x1, &as_1x1, &options_1x1, "as 1x1");
    assert_reference(&outputs[2], &input_3x3, &weight, &options_3x3, "3x3 again");
}

/// Convolutions recorded into one submission, each with its own weights: without subgroups
/// each packs its weights into a pooled texture (1x1 in 16-channel tiles: a pooled 64 KiB
/// uniform buffer) that the next one takes again as soon as the first is recorded, so each
/// must read its own weights before the next pack overwrites them (with subgroups, the same for
/// the packed-weight buffers). Pooled (not poisoned) outputs, as in a network.
#[test]
fn packed_weights_reused_within_one_submission_stay_each_convolutions_own() {
    let gpu = gpu_with(wgcnn::GpuOptions {
        poison_outputs: false,
        channel_split_outputs: Some(0),
        ..Default::default()
    });
    let mut rng = Rng::new(0x7E47);
    for (input_shape, weight_shape, padding) in [
        ([2, 20, 6, 6], [40, 20, 1, 1], Padding::Zero),
        ([1, 16, 9, 12], [64, 16, 3, 3], Padding::Same),
        ([2, 24, 8, 8], [16, 24, 1, 1], Padding::Zero),
    ] {
        let options = Conv2dOptions {
            padding,
            ..Default::default()
        };
        let input = random(&mut rng, &input_shape, 1.0);
        let weights: Vec<_> = (0..3)
            .map(|_| random(&mut rng, &weight_shape, 0.3))
            .collect();
        let on_gpu = input.upload(&gpu).unwrap();
        gpu.synchronize().unwrap();
        let before = gpu.submission_count();
        let outputs: Vec<_> = weights
            .iter()
            .map(|weight| {
                let weight = weight.upload(&gpu).unwrap();
                conv2d(&on_gpu, &weight, None, &options).unwrap()
            })
            .collect();
        assert_eq!(
            gpu.submission_count(),
            before,
            "all three recorded, none submitted yet"
        );
        let values: Vec<_> = outputs
            .iter()
            .map(|output| output.to_vec().unwrap())
            .collect();
        for (index, (weight, values)) in weights.iter().zip(&values).enumerate() {
            let expected = wgcnn::reference::conv2d(&input, weight, None, &options).unwrap();
            let context = format!("convolution {index} of {weight_shape:?}");
            common::assert_close(values, expected.data(), 2e-5, 1e-5, &context);
        }
    }
}
