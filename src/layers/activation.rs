//! Activation layers: `ReLU`, `ReLU6` and `LeakyReLU` (PyTorch's `nn.ReLU`, `nn.ReLU6`,
//! `nn.LeakyReLU`), each out of place or, like PyTorch's `inplace=True`, in place. After a
//! `Conv2d` the fused epilogue (`Conv2dOptions::activation`) is faster; these are for the rest.

use crate::error::Result;
use crate::ops::activation::{activate, activate_in_place, Activation};
use crate::tensor::Tensor;

fn forward(input: &Tensor, activation: Activation, in_place: bool) -> Result<Tensor> {
    if in_place {
        activate_in_place(input, activation)?;
        Ok(input.clone())
    } else {
        activate(input, activation)
    }
}

/// `max(x, 0)`. With `in_place`, `forward` overwrites its input and returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReLU {
    pub in_place: bool,
}

impl ReLU {
    pub fn new() -> Self {
        ReLU { in_place: false }
    }

    pub fn in_place() -> Self {
        ReLU { in_place: true }
    }

    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        forward(input, Activation::Relu, self.in_place)
    }
}

/// `min(max(x, 0), 6)`. With `in_place`, `forward` overwrites its input and returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReLU6 {
    pub in_place: bool,
}

impl ReLU6 {
    pub fn new() -> Self {
        ReLU6 { in_place: false }
    }

    pub fn in_place() -> Self {
        ReLU6 { in_place: true }
    }

    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        forward(input, Activation::Relu6, self.in_place)
    }
}

/// `x` for `x >= 0`, else `negative_slope * x` (PyTorch's default slope is 0.01).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakyReLU {
    pub negative_slope: f32,
    pub in_place: bool,
}

impl LeakyReLU {
    pub fn new(negative_slope: f32) -> Self {
        LeakyReLU {
            negative_slope,
            in_place: false,
        }
    }

    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        forward(
            input,
            Activation::LeakyRelu(self.negative_slope),
            self.in_place,
        )
    }
}

impl Default for LeakyReLU {
    fn default() -> Self {
        LeakyReLU::new(0.01)
    }
}
