//! `Sequential::fold_batch_norms`: the same network for inference with fewer layers. Every
//! convolution followed by a batch norm in inference mode becomes one convolution
//! (`Conv2d::fold_batch_norm`), and an activation right after it (or right after a plain
//! convolution) moves into the convolution's epilogue, so ResNet's conv -> BN -> ReLU is one
//! kernel. Branches and residual blocks are folded inside.

use super::layer::Layer;
use super::Sequential;
use crate::error::Result;
use crate::ops::activation::Activation;

impl Sequential {
    /// This model with every conv -> batch norm (inference mode, with running statistics) pair
    /// folded into one convolution, and every activation layer that directly follows a
    /// convolution without an activation of its own fused into it. Batch norms in training
    /// mode, or without running statistics, stay as they are. The result computes the same
    /// function (to float32 rounding) with fewer layers and dispatches; the parameters are read
    /// back once to fold them.
    pub fn fold_batch_norms(&self) -> Result<Sequential> {
        let mut folded = Vec::with_capacity(self.len());
        let mut layers = self.layers().iter().peekable();
        while let Some(layer) = layers.next() {
            folded.push(match layer {
                Layer::Conv2d(conv) if conv.options().activation == Activation::None => {
                    let mut conv = conv.clone();
                    if let Some(Layer::BatchNorm2d(norm)) = layers.peek() {
                        if !norm.is_training() && norm.running_mean().is_some() {
                            conv = conv.fold_batch_norm(norm)?;
                            layers.next();
                        }
                    }
                    if let Some(activation) = layers.peek().and_then(|next| activation_of(next)) {
                        conv = conv.with_activation(activation);
                        layers.next();
                    }
                    Layer::Conv2d(conv)
                }
                Layer::Concat(branches) => Layer::Concat(
                    branches
                        .iter()
                        .map(Sequential::fold_batch_norms)
                        .collect::<Result<_>>()?,
                ),
                Layer::Residual {
                    body,
                    shortcut,
                    activation,
                } => Layer::Residual {
                    body: body.fold_batch_norms()?,
                    shortcut: shortcut.fold_batch_norms()?,
                    activation: *activation,
                },
                other => other.clone(),
            });
        }
        Sequential::from_layers(self.input_shape(), folded)
    }
}

/// The activation an activation layer applies, for fusing it into the convolution before it.
fn activation_of(layer: &Layer) -> Option<Activation> {
    match layer {
        Layer::ReLU(_) => Some(Activation::Relu),
        Layer::ReLU6(_) => Some(Activation::Relu6),
        Layer::LeakyReLU(leaky) => Some(Activation::LeakyRelu(leaky.negative_slope)),
        _ => None,
    }
}
