//! Pooling layers: `MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d`, `AdaptiveMaxPool2d`,
//! `GlobalAvgPool2d` and `GlobalMaxPool2d`. They hold only their options; `forward` records
//! the op, so they chain with `Conv2d` into one submission.

use crate::error::Result;
use crate::ops::adaptive_pool2d::{
    adaptive_avg_pool2d, adaptive_max_pool2d, global_avg_pool2d, global_max_pool2d,
};
use crate::ops::pool2d::{
    avg_pool2d, max_pool2d, max_pool2d_with_indices, AvgPool2dOptions, MaxPool2dOptions,
    PoolIndices,
};
use crate::tensor::Tensor;

/// Max pooling (PyTorch's `nn.MaxPool2d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool2d {
    pub options: MaxPool2dOptions,
}

impl MaxPool2d {
    pub fn new(options: MaxPool2dOptions) -> Self {
        MaxPool2d { options }
    }

    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        max_pool2d(input, &self.options)
    }

    /// `forward` with PyTorch's `return_indices=True`.
    pub fn forward_with_indices(&self, input: &Tensor) -> Result<(Tensor, PoolIndices)> {
        max_pool2d_with_indices(input, &self.options)
    }
}

/// Average pooling (PyTorch's `nn.AvgPool2d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvgPool2d {
    pub options: AvgPool2dOptions,
}

impl AvgPool2d {
    pub fn new(options: AvgPool2dOptions) -> Self {
        AvgPool2d { options }
    }

    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        avg_pool2d(input, &self.options)
    }
}

/// Adaptive average pooling to `[H_out, W_out]` (PyTorch's `nn.AdaptiveAvgPool2d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveAvgPool2d {
    pub output_size: [usize; 2],
}

impl AdaptiveAvgPool2d {
    pub fn new(output_size: [usize; 2]) -> Self {
        AdaptiveAvgPool2d { output_size }
    }

    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        adaptive_avg_pool2d(input, self.output_size)
    }
}

/// Adaptive max pooling to `[H_out, W_out]` (PyTorch's `nn.AdaptiveMaxPool2d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveMaxPool2d {
    pub output_size: [usize; 2],
}

impl AdaptiveMaxPool2d {
    pub fn new(output_size: [usize; 2]) -> Self {
        AdaptiveMaxPool2d { output_size }
    }

    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        adaptive_max_pool2d(input, self.output_size)
    }
}

/// The mean of each plane, `[N, C, H, W] -> [N, C, 1, 1]` (`nn.AdaptiveAvgPool2d(1)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GlobalAvgPool2d;

impl GlobalAvgPool2d {
    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        global_avg_pool2d(input)
    }
}

/// The maximum of each plane, `[N, C, H, W] -> [N, C, 1, 1]` (`nn.AdaptiveMaxPool2d(1)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GlobalMaxPool2d;

impl GlobalMaxPool2d {
    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        global_max_pool2d(input)
    }
}
