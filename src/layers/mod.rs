//! Layers: ops bundled with their parameters, living on the GPU. `forward` records work into
//! the Gpu's encoder, so a chain of layers runs as one submission and nothing is read back
//! until the caller reads a tensor.

mod activation;
mod batch_norm;
mod conv2d;
mod pool2d;

pub use activation::{LeakyReLU, ReLU, ReLU6};
pub use batch_norm::{BatchNorm2d, BatchNorm2dOptions};
pub use conv2d::{Conv2d, Linear};
pub use pool2d::{
    AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, GlobalAvgPool2d, GlobalMaxPool2d, MaxPool2d,
};
