//! `Conv2d` and `Linear`: a weight (and optional bias) uploaded once, applied by `forward`.

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::host::HostTensor;
use crate::ops::activation::Activation;
use crate::ops::conv2d::{conv2d, Conv2dOptions};
use crate::ops::projection::{linear, linear_shapes};
use crate::shape::nchw;
use crate::tensor::Tensor;

/// A 2-D convolution layer: weight `[C_out, C_in/groups, KH, KW]`, optional bias `[C_out]`.
#[derive(Debug, Clone)]
pub struct Conv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    options: Conv2dOptions,
}

impl Conv2d {
    /// Uploads the parameters. Shapes are checked here as far as they go without an input.
    pub fn new(
        gpu: &Gpu,
        weight: &HostTensor,
        bias: Option<&HostTensor>,
        options: Conv2dOptions,
    ) -> Result<Conv2d> {
        let [out_channels, ..] =
            nchw("Conv2d weight [C_out, C_in/groups, KH, KW]", weight.shape())?;
        if let Some(bias) = bias.filter(|b| b.shape() != [out_channels]) {
            return Err(Error::Shape {
                what: "Conv2d bias".into(),
                expected: format!("[{out_channels}]"),
                actual: bias.shape().to_vec(),
            });
        }
        Ok(Conv2d {
            weight: weight.upload(gpu)?,
            bias: bias.map(|b| b.upload(gpu)).transpose()?,
            options,
        })
    }

    /// Applies the convolution (and its fused activation).
    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        conv2d(input, &self.weight, self.bias.as_ref(), &self.options)
    }

    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    pub fn options(&self) -> &Conv2dOptions {
        &self.options
    }

    /// The same convolution with another fused activation (no copy of the parameters).
    pub fn with_activation(mut self, activation: Activation) -> Conv2d {
        self.options.activation = activation;
        self
    }
}

/// A fully connected layer: weight `[out_features, in_features]`, optional bias, fused
/// activation. Runs as a 1x1 convolution (the projection GEMM) on `[N, C]` or `[N, C, 1, 1]`.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
    activation: Activation,
}

impl Linear {
    /// Uploads `weight` `[out_features, in_features]` and `bias` `[out_features]`, checked
    /// against each other here.
    pub fn new(
        gpu: &Gpu,
        weight: &HostTensor,
        bias: Option<&HostTensor>,
        activation: Activation,
    ) -> Result<Linear> {
        let in_features = weight.shape().get(1).copied().unwrap_or(0);
        linear_shapes(
            &[1, in_features],
            weight.shape(),
            bias.map(|b| b.data().len()),
        )?;
        Ok(Linear {
            weight: weight.upload(gpu)?,
            bias: bias.map(|b| b.upload(gpu)).transpose()?,
            activation,
        })
    }

    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        linear(input, &self.weight, self.bias.as_ref(), self.activation)
    }

    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    pub fn activation(&self) -> Activation {
        self.activation
    }
}
