//! `Layer`: one step of a [`Sequential`] model, as an enum of the crate's layer types plus
//! `Flatten`, `Concat` (branches on one input, concatenated along channels) and `Residual`
//! (a body and a shortcut on one input, summed, then an activation). Each variant
//! knows its output shape (checked when the model is built), its parameter and
//! multiply-accumulate counts, and its sliding window for the receptive field.

use super::Sequential;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::host::HostTensor;
use crate::layers::Linear;
use crate::layers::{
    AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, BatchNorm2d, Conv2d, GlobalAvgPool2d,
    GlobalMaxPool2d, LeakyReLU, MaxPool2d, ReLU, ReLU6,
};
use crate::ops::activation::Activation;
use crate::ops::adaptive_pool2d::adaptive_output_shape;
use crate::ops::batch_norm::batch_norm_dims;
use crate::ops::concat::concat_channels_shape;
use crate::ops::conv2d::Conv2dGeometry;
use crate::ops::pool2d::Pool2dGeometry;
use crate::ops::projection::{linear_shapes, ProjectionGeometry};
use crate::tensor::Tensor;

/// One layer of a [`Sequential`] model.
#[derive(Debug, Clone)]
pub enum Layer {
    Conv2d(Conv2d),
    BatchNorm2d(BatchNorm2d),
    ReLU(ReLU),
    ReLU6(ReLU6),
    LeakyReLU(LeakyReLU),
    MaxPool2d(MaxPool2d),
    AvgPool2d(AvgPool2d),
    AdaptiveAvgPool2d(AdaptiveAvgPool2d),
    AdaptiveMaxPool2d(AdaptiveMaxPool2d),
    GlobalAvgPool2d(GlobalAvgPool2d),
    GlobalMaxPool2d(GlobalMaxPool2d),
    Linear(Linear),
    /// `[N, C, H, W] -> [N, C*H*W]` (PyTorch's `nn.Flatten()`), a reshape without a copy.
    Flatten,
    /// Branches, each a model built for this layer's input, run on the same input; their
    /// outputs are concatenated along the channels, in order (an Inception module).
    Concat(Vec<Sequential>),
    /// `activation(body(x) + shortcut(x))`, both models built for this layer's input; an empty
    /// shortcut is the identity (ResNet's blocks; MobileNetV2's stride-1 blocks without the
    /// activation). Built by [`Sequential::push_residual`].
    Residual {
        body: Sequential,
        shortcut: Sequential,
        activation: Activation,
    },
}

/// How a layer moves the receptive field: a sliding window, nothing (element-wise), or out of
/// reach of the arithmetic (uneven adaptive windows, flattening a map of several pixels).
pub(crate) enum FieldStep {
    Window(crate::receptive_field::Window),
    Lost,
}

impl Layer {
    /// A fully connected layer (see [`Linear::new`]).
    pub fn linear(
        gpu: &Gpu,
        weight: &HostTensor,
        bias: Option<&HostTensor>,
        activation: Activation,
    ) -> Result<Layer> {
        Ok(Layer::Linear(Linear::new(gpu, weight, bias, activation)?))
    }

    /// The output shape for `input`, or the op's own error (the model adds the layer's name).
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(match self {
            Layer::Conv2d(conv) => conv_geometry(conv, input)?.output_shape().to_vec(),
            Layer::BatchNorm2d(norm) => {
                let channels = [norm.channels()];
                let batch_statistics = norm.is_training() || norm.running_mean().is_none();
                let per_channel = [("gamma", &channels[..])];
                batch_norm_dims("batch_norm", input, &per_channel, batch_statistics)?.to_vec()
            }
            Layer::ReLU(_) | Layer::ReLU6(_) | Layer::LeakyReLU(_) => input.to_vec(),
            Layer::MaxPool2d(pool) => Pool2dGeometry::max(input, &pool.options)?
                .output_shape()
                .to_vec(),
            Layer::AvgPool2d(pool) => Pool2dGeometry::avg(input, &pool.options)?
                .output_shape()
                .to_vec(),
            Layer::AdaptiveAvgPool2d(pool) => {
                adaptive_output_shape("adaptive_avg_pool2d", input, pool.output_size)?.to_vec()
            }
            Layer::AdaptiveMaxPool2d(pool) => {
                adaptive_output_shape("adaptive_max_pool2d", input, pool.output_size)?.to_vec()
            }
            Layer::GlobalAvgPool2d(_) | Layer::GlobalMaxPool2d(_) => {
                adaptive_output_shape("global_pool2d", input, [1, 1])?.to_vec()
            }
            Layer::Linear(layer) => {
                let bias_len = layer.bias().map(Tensor::len);
                linear_shapes(input, layer.weight().shape(), bias_len)?.3
            }
            Layer::Flatten => flatten_shape(input)?,
            Layer::Concat(branches) => {
                for (index, branch) in branches.iter().enumerate() {
                    if branch.input_shape() != input {
                        return Err(Error::Shape {
                            what: format!("Concat branch {index}"),
                            expected: format!("a branch built for this input, {input:?}"),
                            actual: branch.input_shape().to_vec(),
                        });
                    }
                }
                let shapes: Vec<&[usize]> = branches.iter().map(|b| b.output_shape()).collect();
                concat_channels_shape(&shapes)?
            }
            Layer::Residual { body, shortcut, .. } => {
                for (what, branch) in [("Residual body", body), ("Residual shortcut", shortcut)] {
                    if branch.input_shape() != input {
                        return Err(Error::Shape {
                            what: what.into(),
                            expected: format!("a model built for this input, {input:?}"),
                            actual: branch.input_shape().to_vec(),
                        });
                    }
                }
                if body.output_shape() != shortcut.output_shape() {
                    return Err(Error::Shape {
                        what: "Residual body output".into(),
                        expected: format!("the shortcut's output {:?}", shortcut.output_shape()),
                        actual: body.output_shape().to_vec(),
                    });
                }
                body.output_shape().to_vec()
            }
        })
    }

    /// The models inside this layer: a `Concat`'s branches, a `Residual`'s body and shortcut
    /// (in that order); none for the others.
    pub fn branches(&self) -> Vec<&Sequential> {
        match self {
            Layer::Concat(branches) => branches.iter().collect(),
            Layer::Residual { body, shortcut, .. } => vec![body, shortcut],
            _ => Vec::new(),
        }
    }

    pub(crate) fn branches_mut(&mut self) -> Vec<&mut Sequential> {
        match self {
            Layer::Concat(branches) => branches.iter_mut().collect(),
            Layer::Residual { body, shortcut, .. } => vec![body, shortcut],
            _ => Vec::new(),
        }
    }

    /// Trainable parameters (weights and biases; batch norm's gamma and beta, not its running
    /// statistics), as PyTorch counts them.
    pub fn parameters(&self) -> u64 {
        match self {
            Layer::Conv2d(conv) => {
                (conv.weight().len() + conv.bias().map_or(0, Tensor::len)) as u64
            }
            Layer::BatchNorm2d(norm) => 2 * norm.channels() as u64,
            Layer::Linear(layer) => {
                (layer.weight().len() + layer.bias().map_or(0, Tensor::len)) as u64
            }
            Layer::Concat(_) | Layer::Residual { .. } => self
                .branches()
                .into_iter()
                .map(Sequential::parameters)
                .sum(),
            _ => 0,
        }
    }

    /// Multiply-accumulates of one forward pass on `input` (convolutions and linear layers;
    /// poolings, batch norms and activations count as 0, as is customary).
    pub fn macs(&self, input: &[usize]) -> u64 {
        match self {
            Layer::Conv2d(conv) => conv_geometry(conv, input).map_or(0, |g| g.macs()),
            Layer::Linear(layer) => {
                let bias_len = layer.bias().map(Tensor::len);
                linear_shapes(input, layer.weight().shape(), bias_len).map_or(0, |shapes| {
                    ProjectionGeometry::linear(shapes.0, shapes.1, shapes.2).macs()
                })
            }
            Layer::Concat(_) | Layer::Residual { .. } => {
                self.branches().into_iter().map(Sequential::macs).sum()
            }
            _ => 0,
        }
    }

    /// The layer's window on `input` for the receptive-field arithmetic (not for `Concat` and
    /// `Residual`, whose fields come from their models).
    pub(crate) fn field_step(&self, input: &[usize]) -> FieldStep {
        use crate::receptive_field::Window;
        let window = match self {
            Layer::Conv2d(conv) => match conv_geometry(conv, input) {
                Ok(g) => Window {
                    kernel: g.kernel,
                    stride: g.stride,
                    padding: [g.pads.top, g.pads.left],
                    dilation: g.dilation,
                },
                Err(_) => return FieldStep::Lost,
            },
            Layer::MaxPool2d(pool) => Window {
                stride: pool.options.stride.unwrap_or(pool.options.kernel_size),
                padding: pool.options.padding,
                dilation: pool.options.dilation,
                ..Window::new(pool.options.kernel_size, [1, 1])
            },
            Layer::AvgPool2d(pool) => Window {
                stride: pool.options.stride.unwrap_or(pool.options.kernel_size),
                padding: pool.options.padding,
                ..Window::new(pool.options.kernel_size, [1, 1])
            },
            Layer::AdaptiveAvgPool2d(pool) => return adaptive_step(input, pool.output_size),
            Layer::AdaptiveMaxPool2d(pool) => return adaptive_step(input, pool.output_size),
            Layer::GlobalAvgPool2d(_) | Layer::GlobalMaxPool2d(_) => {
                return adaptive_step(input, [1, 1])
            }
            // Flattening keeps the field only when there is one pixel left.
            Layer::Flatten if input.len() == 4 && input[2] * input[3] != 1 => {
                return FieldStep::Lost
            }
            Layer::Concat(_) | Layer::Residual { .. } => return FieldStep::Lost,
            _ => Window::IDENTITY,
        };
        FieldStep::Window(window)
    }

    /// Records the layer on `input`. `owns_input` says the input is this model's own
    /// intermediate, so an in-place activation may overwrite it; otherwise (the caller's
    /// tensor, or a branch input shared with sibling branches) activations run out of place.
    pub(crate) fn forward(&mut self, input: &Tensor, owns_input: bool) -> Result<Tensor> {
        match self {
            Layer::Conv2d(conv) => conv.forward(input),
            Layer::BatchNorm2d(norm) => norm.forward(input),
            Layer::ReLU(relu) => ReLU {
                in_place: relu.in_place && owns_input,
            }
            .forward(input),
            Layer::ReLU6(relu6) => ReLU6 {
                in_place: relu6.in_place && owns_input,
            }
            .forward(input),
            Layer::LeakyReLU(leaky) => LeakyReLU {
                in_place: leaky.in_place && owns_input,
                ..*leaky
            }
            .forward(input),
            Layer::MaxPool2d(pool) => pool.forward(input),
            Layer::AvgPool2d(pool) => pool.forward(input),
            Layer::AdaptiveAvgPool2d(pool) => pool.forward(input),
            Layer::AdaptiveMaxPool2d(pool) => pool.forward(input),
            Layer::GlobalAvgPool2d(pool) => pool.forward(input),
            Layer::GlobalMaxPool2d(pool) => pool.forward(input),
            Layer::Linear(layer) => layer.forward(input),
            Layer::Flatten => input.reshape(&flatten_shape(input.shape())?),
            Layer::Concat(branches) => {
                let outputs = branches
                    .iter_mut()
                    .map(|branch| branch.run(input, false))
                    .collect::<Result<Vec<Tensor>>>()?;
                let outputs: Vec<&Tensor> = outputs.iter().collect();
                crate::ops::concat::concat_channels(&outputs)
            }
            Layer::Residual {
                body,
                shortcut,
                activation,
            } => {
                let body = body.run(input, false)?;
                let shortcut = shortcut.run(input, false)?;
                crate::ops::activation::add(&body, &shortcut, *activation)
            }
        }
    }
}

/// `[N, d1, d2, ...] -> [N, d1*d2*...]`.
pub(crate) fn flatten_shape(input: &[usize]) -> Result<Vec<usize>> {
    match input {
        [batch, rest @ ..] if !rest.is_empty() => Ok(vec![*batch, rest.iter().product()]),
        _ => Err(Error::Shape {
            what: "flatten input".into(),
            expected: "at least 2 dimensions [N, ...]".into(),
            actual: input.to_vec(),
        }),
    }
}

fn conv_geometry(conv: &Conv2d, input: &[usize]) -> Result<Conv2dGeometry> {
    let bias_len = conv.bias().map(Tensor::len);
    Conv2dGeometry::new(input, conv.weight().shape(), bias_len, conv.options())
}

/// An adaptive pool is a plain window when every window has the same size: `L % out == 0`
/// gives kernel = stride = `L / out` (the global pools are the case `out = 1`).
fn adaptive_step(input: &[usize], output_size: [usize; 2]) -> FieldStep {
    let (Some(&height), Some(&width)) = (input.get(2), input.get(3)) else {
        return FieldStep::Lost;
    };
    let sizes = [height, width];
    if (0..2).any(|axis| output_size[axis] == 0 || sizes[axis] % output_size[axis] != 0) {
        return FieldStep::Lost;
    }
    let kernel = [0, 1].map(|axis| sizes[axis] / output_size[axis]);
    FieldStep::Window(crate::receptive_field::Window::new(kernel, kernel))
}

macro_rules! layer_from {
    ($($variant:ident),*) => {$(
        impl From<$variant> for Layer {
            fn from(layer: $variant) -> Layer {
                Layer::$variant(layer)
            }
        }
    )*};
}

layer_from!(
    Conv2d,
    BatchNorm2d,
    ReLU,
    ReLU6,
    LeakyReLU,
    MaxPool2d,
    AvgPool2d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    GlobalAvgPool2d,
    GlobalMaxPool2d
);

impl From<Linear> for Layer {
    fn from(layer: Linear) -> Layer {
        Layer::Linear(layer)
    }
}
