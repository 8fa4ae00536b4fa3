//! Standalone activations on the GPU against the reference, bit for bit: relu, relu6 and
//! leaky_relu, out of place and in place, on lengths that are not a multiple of the vec4 or the
//! workgroup, with NaN, -0.0, infinities and subnormals (a subnormal result may come out as a
//! zero of its sign: WGSL allows flushing); on 2^24 + 3 floats; and past one
//! storage binding (a lowered binding limit). The same for `add` (the residual sum, then each
//! activation), whose NaNs are compared as NaN, not by payload. Outputs are NaN-poisoned before
//! each op.

mod common;

use wgcnn::random::Rng;
use wgcnn::{
    activate, activate_in_place, add, reference, Activation, Error, Gpu, GpuOptions, HostTensor,
    LeakyReLU, ReLU, ReLU6, Tensor,
};

const ACTIVATIONS: [Activation; 4] = [
    Activation::Relu,
    Activation::Relu6,
    Activation::LeakyRelu(0.01),
    Activation::LeakyRelu(-1.5),
];

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// The bits of `actual`, except where it holds a zero and `expected` a subnormal of the same
/// sign: there the expected bits, since WGSL lets a GPU flush subnormals (NVIDIA's Vulkan driver
/// turns leaky_relu(-1e-40) into -0.0). Every other difference, NaN payloads included, stays.
fn bits_allowing_flush(actual: &[f32], expected: &[u32]) -> Vec<u32> {
    actual
        .iter()
        .zip(expected)
        .map(|(a, &e)| {
            let expected_subnormal = e & 0x7f80_0000 == 0 && e & 0x007f_ffff != 0;
            if expected_subnormal && a.to_bits() == e & 0x8000_0000 {
                e
            } else {
                a.to_bits()
            }
        })
        .collect()
}

/// Normal values scaled by 4 (so relu6 clamps some), with the special values sprinkled in.
fn special_input(rng: &mut Rng, len: usize) -> Vec<f32> {
    let specials = [
        f32::NAN,
        -0.0,
        0.0,
        6.0,
        -6.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e-40,
        -1e-40,
        f32::MAX,
        -f32::MAX,
    ];
    let mut data = rng.normals(len, 4.0, 0.0);
    for (slot, value) in data.iter_mut().step_by(7).zip(specials.iter().cycle()) {
        *slot = *value;
    }
    data
}

/// Out of place and in place, every activation, compared bit for bit with the reference.
fn check_all(gpu: &Gpu, host: &HostTensor, context: &str) {
    let input = host.upload(gpu).unwrap();
    for activation in ACTIVATIONS {
        let expected = bits(reference::activate(host, activation).data());
        let output = activate(&input, activation).unwrap();
        assert_eq!(output.shape(), host.shape(), "{context} {activation:?}");
        assert_eq!(
            bits_allowing_flush(&output.to_vec().unwrap(), &expected),
            expected,
            "{context} {activation:?}"
        );
        let data = host.upload(gpu).unwrap();
        activate_in_place(&data, activation).unwrap();
        let actual = bits_allowing_flush(&data.to_vec().unwrap(), &expected);
        assert_eq!(actual, expected, "{context} {activation:?} in place");
    }
    // The input of the out-of-place calls is untouched.
    assert_eq!(
        bits(&input.to_vec().unwrap()),
        bits(host.data()),
        "{context}"
    );
}

#[test]
fn activations_are_bit_exact_on_odd_lengths_and_special_values() {
    let gpu = common::gpu();
    let mut rng = Rng::new(21);
    for len in [1, 2, 3, 4, 5, 63, 64, 65, 127, 255, 256, 257, 1000, 4099] {
        let host = HostTensor::new(&[len], special_input(&mut rng, len)).unwrap();
        check_all(&gpu, &host, &format!("len {len}"));
    }
    let shape = [2, 3, 13, 7];
    let host = HostTensor::new(&shape, special_input(&mut rng, 2 * 3 * 13 * 7)).unwrap();
    check_all(&gpu, &host, "[2, 3, 13, 7]");
}

#[test]
fn activations_split_across_storage_bindings() {
    // 4096-byte bindings: chunks of 960 floats, so 10,007 floats take 11 dispatches plus the
    // scalar tail of 3.
    let gpu = common::gpu_with(GpuOptions {
        max_storage_binding_bytes: Some(4096),
        poison_outputs: true,
        ..Default::default()
    });
    let mut rng = Rng::new(22);
    for len in [959, 960, 961, 10_007] {
        let host = HostTensor::new(&[len], special_input(&mut rng, len)).unwrap();
        check_all(&gpu, &host, &format!("split len {len}"));
    }
}

#[test]
fn relu_on_sixteen_million_floats() {
    // 2^24 + 3 floats: 4,096 full workgroups of 16 x 64 vec4s and a 3-float tail. With 4,096
    // floats per workgroup one dispatch passes 65,535 workgroups only above 2^28 floats, more
    // than a 128 MiB binding holds, so on the software adapters the 2-D grid is exercised by
    // the pool kernels (tests/pool2d) and relu beyond a binding by the split test above.
    let len = (1 << 24) + 3;
    let gpu = common::gpu();
    let mut rng = Rng::new(23);
    let data = rng.normals(len, 1.0, 0.0);
    let input = Tensor::from_slice(&gpu, &[len], &data).unwrap();
    let output = wgcnn::relu(&input).unwrap().to_vec().unwrap();
    let expected = data
        .iter()
        .map(|&x| reference::activate_value(Activation::Relu, x));
    let mismatches = output
        .iter()
        .zip(expected)
        .filter(|(a, e)| a.to_bits() != e.to_bits())
        .count();
    assert_eq!(mismatches, 0, "{mismatches} of {len} elements differ");
}

#[test]
fn layers_and_empty_tensors() {
    let gpu = common::gpu();
    let host = HostTensor::new(
        &[1, 2, 2, 2],
        vec![-1., 0.5, 7., -0., 3., -8., 6., f32::NAN],
    )
    .unwrap();
    let input = host.upload(&gpu).unwrap();
    let relu6 = ReLU6::new().forward(&input).unwrap().to_vec().unwrap();
    assert_eq!(bits(&relu6), bits(&[0., 0.5, 6., 0., 3., 0., 6., f32::NAN]));
    let leaky = LeakyReLU::default()
        .forward(&input)
        .unwrap()
        .to_vec()
        .unwrap();
    assert_eq!(
        bits(&leaky),
        bits(&[-0.01, 0.5, 7., -0., 3., -0.08, 6., f32::NAN])
    );
    // In place: forward returns the input tensor, overwritten.
    let output = ReLU::in_place().forward(&input).unwrap();
    assert_eq!(
        bits(&input.to_vec().unwrap()),
        bits(&[0., 0.5, 7., 0., 3., 0., 6., f32::NAN])
    );
    assert!(
        output.buffer() == input.buffer(),
        "in place returns its input"
    );
    // No elements: nothing to do, no error.
    let empty = Tensor::zeros(&gpu, &[0, 3]).unwrap();
    assert!(wgcnn::relu(&empty).unwrap().to_vec().unwrap().is_empty());
    wgcnn::relu_in_place(&empty).unwrap();
}

/// `add` with every activation (and none) against the reference: bit for bit, except that a NaN
/// only has to be a NaN (which operand's payload a sum keeps is the hardware's choice).
fn check_add(gpu: &Gpu, input: &HostTensor, addend: &HostTensor, context: &str) {
    let canonical = |values: Vec<u32>| -> Vec<u32> {
        let nan = f32::NAN.to_bits();
        let is_nan = |v: u32| v & 0x7fff_ffff > 0x7f80_0000;
        values
            .into_iter()
            .map(|v| if is_nan(v) { nan } else { v })
            .collect()
    };
    let (x, y) = (input.upload(gpu).unwrap(), addend.upload(gpu).unwrap());
    for activation in [Activation::None].into_iter().chain(ACTIVATIONS) {
        let expected = bits(reference::add(input, addend, activation).unwrap().data());
        let output = add(&x, &y, activation).unwrap();
        assert_eq!(output.shape(), input.shape(), "{context} {activation:?}");
        let actual = bits_allowing_flush(&output.to_vec().unwrap(), &expected);
        assert_eq!(
            canonical(actual),
            canonical(expected),
            "{context} {activation:?}"
        );
    }
    assert_eq!(
        bits(&x.to_vec().unwrap()),
        bits(input.data()),
        "{context}: input kept"
    );
    assert_eq!(
        bits(&y.to_vec().unwrap()),
        bits(addend.data()),
        "{context}: addend kept"
    );
}

#[test]
fn add_is_exact_on_odd_lengths_special_values_and_split_bindings() {
    let mut rng = Rng::new(24);
    let gpu = common::gpu();
    // 4096-byte bindings: chunks of 960 floats (see `activations_split_across_storage_bindings`).
    let split = common::gpu_with(GpuOptions {
        max_storage_binding_bytes: Some(4096),
        poison_outputs: true,
        ..Default::default()
    });
    for len in [1, 3, 4, 5, 63, 65, 257, 4099] {
        let input = HostTensor::new(&[len], special_input(&mut rng, len)).unwrap();
        // The addend's specials sit at other positions: NaN + x, inf + -inf, -0 + 0, ...
        let mut addend_data = special_input(&mut rng, len + 3);
        addend_data.drain(..3);
        let addend = HostTensor::new(&[len], addend_data).unwrap();
        check_add(&gpu, &input, &addend, &format!("len {len}"));
    }
    for len in [959, 961, 10_007] {
        let input = HostTensor::new(&[len], special_input(&mut rng, len)).unwrap();
        let addend = HostTensor::new(&[len], rng.normals(len, 4.0, 0.0)).unwrap();
        check_add(&split, &input, &addend, &format!("split len {len}"));
    }
    let shape = [2, 3, 13, 7];
    let input = HostTensor::new(&shape, rng.normals(546, 2.0, 0.0)).unwrap();
    let addend = HostTensor::new(&shape, rng.normals(546, 2.0, -1.0)).unwrap();
    check_add(&gpu, &input, &addend, "[2, 3, 13, 7]");
}

#[test]
fn add_refuses_other_shapes_and_other_gpus() {
    let gpu = common::gpu();
    let x = Tensor::zeros(&gpu, &[2, 3, 4, 5]).unwrap();
    let transposed = Tensor::zeros(&gpu, &[2, 3, 5, 4]).unwrap();
    let error = add(&x, &transposed, Activation::Relu).unwrap_err();
    assert!(
        matches!(&error, Error::Shape { what, actual, .. } if what == "add addend" && actual == &[2, 3, 5, 4]),
        "{error}"
    );
    assert!(error.to_string().contains("[2, 3, 4, 5]"), "{error}");
    let other = common::gpu();
    let elsewhere = Tensor::zeros(&other, &[2, 3, 4, 5]).unwrap();
    let error = add(&x, &elsewhere, Activation::None).unwrap_err();
    assert!(matches!(error, Error::DifferentGpu { .. }), "{error}");
    // No elements: nothing to do, no error.
    let empty = Tensor::zeros(&gpu, &[0, 3]).unwrap();
    assert!(add(&empty, &empty, Activation::Relu)
        .unwrap()
        .to_vec()
        .unwrap()
        .is_empty());
}
