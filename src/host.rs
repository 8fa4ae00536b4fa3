//! `HostTensor`: a CPU-side float32 tensor with a shape, used by the CPU reference, the tests
//! and the examples. Its data length always equals the shape's product.

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::tensor::Tensor;

/// A row-major float32 tensor in host memory.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl HostTensor {
    /// Wraps `data` with `shape`; the lengths must agree.
    pub fn new(shape: &[usize], data: Vec<f32>) -> Result<HostTensor> {
        let expected: usize = shape.iter().product();
        if shape.is_empty() || data.len() != expected {
            return Err(Error::DataLength {
                shape: shape.to_vec(),
                expected,
                actual: data.len(),
            });
        }
        Ok(HostTensor {
            shape: shape.to_vec(),
            data,
        })
    }

    /// A tensor filled with `value`.
    pub fn filled(shape: &[usize], value: f32) -> HostTensor {
        HostTensor {
            shape: shape.to_vec(),
            data: vec![value; shape.iter().product()],
        }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// Uploads to `gpu`.
    pub fn upload(&self, gpu: &Gpu) -> Result<Tensor> {
        Tensor::from_slice(gpu, &self.shape, &self.data)
    }

    /// Reads a GPU tensor back (submits pending work and waits).
    pub fn download(tensor: &Tensor) -> Result<HostTensor> {
        Ok(HostTensor {
            shape: tensor.shape().to_vec(),
            data: tensor.to_vec()?,
        })
    }
}
