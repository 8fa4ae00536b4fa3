//! CPU reference of the standalone activations and of the residual sum, element by element in
//! f32 (one rounding, as on the GPU). The comparisons are written so that NaN passes through
//! (PyTorch), and `-0.0` comes out of relu as `0.0`.

use crate::error::{Error, Result};
use crate::host::HostTensor;
use crate::ops::activation::Activation;

/// One value through `activation`, exactly as the GPU kernel computes it (leaky_relu as
/// PyTorch writes it, `x > 0 ? x : x * slope`).
pub fn activate_value(activation: Activation, x: f32) -> f32 {
    match activation {
        Activation::None => x,
        Activation::Relu if x <= 0.0 => 0.0,
        Activation::Relu6 if x <= 0.0 => 0.0,
        Activation::Relu6 if x >= 6.0 => 6.0,
        Activation::LeakyRelu(_) if x > 0.0 => x,
        Activation::LeakyRelu(slope) => x * slope,
        _ => x,
    }
}

/// Reference of [`crate::activate`]: `activation` on every element, any shape.
pub fn activate(input: &HostTensor, activation: Activation) -> HostTensor {
    let data = input
        .data()
        .iter()
        .map(|&x| activate_value(activation, x))
        .collect();
    HostTensor::new(input.shape(), data).expect("same shape as the input")
}

/// Reference of [`crate::relu`].
pub fn relu(input: &HostTensor) -> HostTensor {
    activate(input, Activation::Relu)
}

/// Reference of [`crate::relu6`].
pub fn relu6(input: &HostTensor) -> HostTensor {
    activate(input, Activation::Relu6)
}

/// Reference of [`crate::leaky_relu`].
pub fn leaky_relu(input: &HostTensor, slope: f32) -> HostTensor {
    activate(input, Activation::LeakyRelu(slope))
}

/// Reference of [`crate::add`]: `activation(input + addend)` element by element.
pub fn add(input: &HostTensor, addend: &HostTensor, activation: Activation) -> Result<HostTensor> {
    if addend.shape() != input.shape() {
        return Err(Error::Shape {
            what: "add addend".into(),
            expected: format!("the input's shape {:?}", input.shape()),
            actual: addend.shape().to_vec(),
        });
    }
    let data = input
        .data()
        .iter()
        .zip(addend.data())
        .map(|(&x, &y)| activate_value(activation, x + y))
        .collect();
    HostTensor::new(input.shape(), data)
}
