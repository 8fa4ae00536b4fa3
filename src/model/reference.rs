//! The CPU reference of a [`Sequential`] forward: each layer through its `wgcnn::reference`
//! function (f64 sums), on parameters read back from the GPU. Batch norms follow their mode as
//! `forward` does: batch statistics in training mode (or without running statistics), running
//! statistics in inference mode. For tests and the tour; slow by design.

use super::layer::{flatten_shape, Layer};
use super::Sequential;
use crate::error::{Error, Result};
use crate::host::HostTensor;
use crate::ops::activation::Activation;
use crate::ops::batch_norm::{BatchNormAffine, RunningStats};
use crate::reference;
use crate::tensor::Tensor;

impl Sequential {
    /// What [`Sequential::forward`] computes, on the CPU. Reads every parameter back from the
    /// GPU (which submits pending work), so call it outside any section that counts submissions.
    pub fn forward_reference(&self, input: &HostTensor) -> Result<HostTensor> {
        let mut current = input.clone();
        for (index, layer) in self.layers().iter().enumerate() {
            current = layer_reference(layer, &current).map_err(|source| Error::Layer {
                index: index.to_string(),
                kind: layer.describe(),
                source: Box::new(source),
            })?;
        }
        Ok(current)
    }
}

fn download(tensor: Option<&Tensor>) -> Result<Option<HostTensor>> {
    tensor.map(HostTensor::download).transpose()
}

fn layer_reference(layer: &Layer, input: &HostTensor) -> Result<HostTensor> {
    match layer {
        Layer::Conv2d(conv) => {
            let weight = HostTensor::download(conv.weight())?;
            let bias = download(conv.bias())?;
            reference::conv2d(input, &weight, bias.as_ref(), conv.options())
        }
        Layer::BatchNorm2d(norm) => {
            let gamma = HostTensor::download(norm.gamma())?;
            let beta = HostTensor::download(norm.beta())?;
            let affine = BatchNormAffine {
                gamma: &gamma,
                beta: &beta,
                eps: norm.options().eps,
            };
            let mean = download(norm.running_mean())?;
            let var = download(norm.running_var())?;
            match (mean, var) {
                (Some(mean), Some(var)) if !norm.is_training() => {
                    let running = RunningStats {
                        mean: &mean,
                        var: &var,
                    };
                    reference::batch_norm_eval(input, &affine, &running)
                }
                _ => Ok(reference::batch_norm_train(input, &affine, None)?.output),
            }
        }
        Layer::ReLU(_) => Ok(reference::activate(input, Activation::Relu)),
        Layer::ReLU6(_) => Ok(reference::activate(input, Activation::Relu6)),
        Layer::LeakyReLU(leaky) => Ok(reference::activate(
            input,
            Activation::LeakyRelu(leaky.negative_slope),
        )),
        Layer::MaxPool2d(pool) => reference::max_pool2d(input, &pool.options),
        Layer::AvgPool2d(pool) => reference::avg_pool2d(input, &pool.options),
        Layer::AdaptiveAvgPool2d(pool) => reference::adaptive_avg_pool2d(input, pool.output_size),
        Layer::AdaptiveMaxPool2d(pool) => reference::adaptive_max_pool2d(input, pool.output_size),
        Layer::GlobalAvgPool2d(_) => reference::global_avg_pool2d(input),
        Layer::GlobalMaxPool2d(_) => reference::global_max_pool2d(input),
        Layer::Linear(linear) => {
            let weight = HostTensor::download(linear.weight())?;
            let bias = download(linear.bias())?;
            reference::linear(input, &weight, bias.as_ref(), linear.activation())
        }
        Layer::Flatten => HostTensor::new(&flatten_shape(input.shape())?, input.data().to_vec()),
        Layer::Concat(branches) => {
            let outputs = branches
                .iter()
                .map(|branch| branch.forward_reference(input))
                .collect::<Result<Vec<HostTensor>>>()?;
            concat_channels_reference(&outputs)
        }
        Layer::Residual {
            body,
            shortcut,
            activation,
        } => {
            let body = body.forward_reference(input)?;
            let shortcut = shortcut.forward_reference(input)?;
            reference::add(&body, &shortcut, *activation)
        }
    }
}

/// Reference of [`crate::concat_channels`]: the inputs' channel blocks, image by image.
pub fn concat_channels_reference(inputs: &[HostTensor]) -> Result<HostTensor> {
    let shapes: Vec<&[usize]> = inputs.iter().map(HostTensor::shape).collect();
    let shape = crate::ops::concat::concat_channels_shape(&shapes)?;
    let plane: usize = shape[2..].iter().product();
    let mut data = Vec::with_capacity(shape.iter().product());
    for image in 0..shape[0] {
        for input in inputs {
            let image_len = input.shape()[1] * plane;
            data.extend_from_slice(&input.data()[image * image_len..(image + 1) * image_len]);
        }
    }
    HostTensor::new(&shape, data)
}
