//! Layers: ops bundled with their parameters, living on the GPU. `forward` records work into
//! the Gpu's encoder, so a chain of layers runs as one submission and nothing is read back
//! until the caller reads a tensor.

mod conv2d;

pub use conv2d::{Conv2d, Linear};
