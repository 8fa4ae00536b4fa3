//! `Tensor`: a float32 GPU buffer with a shape. Ops take 4-D NCHW tensors; per-channel
//! parameters (bias, batch-norm statistics) are 1-D. Creating a tensor uploads at once; reading
//! one back submits all recorded work and waits for it. Nothing else blocks.

use crate::dispatch::View;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::gpu::GpuInner;
use crate::ops::batching::view_alignment;
use crate::ops::conv2d::PackedWeights;
use std::sync::{Arc, Mutex, Weak};
use wgpu::util::DeviceExt;

/// A float32 tensor living on one [`Gpu`].
#[derive(Clone)]
pub struct Tensor {
    gpu: Gpu,
    buffer: Arc<TensorBuffer>,
    shape: Vec<usize>,
}

impl Tensor {
    /// Uploads `data` with `shape` (row-major). The data length must equal the shape's product.
    pub fn from_slice(gpu: &Gpu, shape: &[usize], data: &[f32]) -> Result<Tensor> {
        let expected = shape_len(shape)?;
        if data.len() != expected {
            return Err(Error::DataLength {
                shape: shape.to_vec(),
                expected,
                actual: data.len(),
            });
        }
        check_buffer_size(gpu, expected)?;
        let contents: &[u8] = if data.is_empty() {
            &[0; 4]
        } else {
            bytemuck::cast_slice(data)
        };
        let buffer = gpu
            .inner
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("tensor"),
                contents,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            });
        Ok(Tensor {
            gpu: gpu.clone(),
            buffer: Arc::new(TensorBuffer::new(gpu, buffer, false)),
            shape: shape.to_vec(),
        })
    }

    /// A tensor of zeros.
    pub fn zeros(gpu: &Gpu, shape: &[usize]) -> Result<Tensor> {
        let len = shape_len(shape)?;
        check_buffer_size(gpu, len)?;
        let buffer = gpu.inner.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("zeros"),
            size: (len.max(1) * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Tensor {
            gpu: gpu.clone(),
            buffer: Arc::new(TensorBuffer::new(gpu, buffer, false)),
            shape: shape.to_vec(),
        })
    }

    /// An op's output: NaN-poisoned when the Gpu poisons outputs, else a buffer recycled from
    /// an output that was dropped (every op overwrites its whole output).
    pub(crate) fn output(gpu: &Gpu, shape: &[usize]) -> Result<Tensor> {
        let len = shape_len(shape)?;
        let (buffer, recyclable) = gpu.alloc(len, "output")?;
        Ok(Tensor {
            gpu: gpu.clone(),
            buffer: Arc::new(TensorBuffer::new(gpu, buffer, recyclable)),
            shape: shape.to_vec(),
        })
    }

    /// Submits all recorded work, waits for it and returns the values (row-major).
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        let mut values = self
            .gpu
            .read_buffer(&self.buffer, (self.len() * 4) as u64)?;
        values.truncate(self.len());
        Ok(values)
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Gpu this tensor lives on.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// The same data seen with another shape of equal length (no copy).
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        let len = shape_len(shape)?;
        if len != self.len() {
            return Err(Error::Shape {
                what: "reshape".into(),
                expected: format!("a shape of {} elements", self.len()),
                actual: shape.to_vec(),
            });
        }
        Ok(Tensor {
            gpu: self.gpu.clone(),
            buffer: self.buffer.clone(),
            shape: shape.to_vec(),
        })
    }

    /// Replaces the values (row-major, `len()` of them) in recording order: ops recorded
    /// before read the old values, ops recorded after read the new ones, all in one submission
    /// (a copy from a staging buffer; nothing is submitted or waited on). Every tensor sharing
    /// the buffer (`reshape`) sees the new values. For new weights, new inputs each frame and
    /// the like, without a new buffer.
    pub fn write(&self, data: &[f32]) -> Result<()> {
        if data.len() != self.len() {
            return Err(Error::DataLength {
                shape: self.shape.clone(),
                expected: self.len(),
                actual: data.len(),
            });
        }
        if data.is_empty() {
            return Ok(());
        }
        let staging = self
            .gpu
            .inner
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("tensor write"),
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::COPY_SRC,
            });
        self.written_in_place();
        let bytes = std::mem::size_of_val(data) as u64;
        self.gpu.copy(&staging, 0, &self.buffer, 0, bytes);
        Ok(())
    }

    /// The underlying wgpu buffer (row-major float32), for your own wgpu passes. wgcnn does not
    /// see writes made through it, so from then on it keeps no repacked copy of these values
    /// (conv2d's packed weights are made again each call with this tensor as the weight);
    /// `write` replaces values without that cost.
    pub fn buffer(&self) -> &wgpu::Buffer {
        let mut packed = self.buffer.packed.lock().unwrap();
        packed.handed_out = true;
        packed.weights = None;
        &self.buffer
    }

    /// The underlying buffer, for wgcnn's own bindings and copies.
    pub(crate) fn raw_buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// conv2d's packed copy of these values as a weight, if one was kept (`packed_weights.rs`).
    pub(crate) fn packed_weights(&self) -> Option<Arc<PackedWeights>> {
        self.buffer.packed.lock().unwrap().weights.clone()
    }

    /// Keeps `weights`, packed from these values, for the next convolution with them (not once
    /// the raw buffer has been handed out).
    pub(crate) fn keep_packed_weights(&self, weights: Arc<PackedWeights>) {
        let mut packed = self.buffer.packed.lock().unwrap();
        if !packed.handed_out {
            packed.weights = Some(weights);
        }
    }

    /// An op is writing these values in place: what was derived from them is stale.
    pub(crate) fn written_in_place(&self) {
        self.buffer.packed.lock().unwrap().weights = None;
    }

    /// Errors unless this tensor lives on `gpu`.
    pub(crate) fn check_gpu(&self, gpu: &Gpu, what: &str) -> Result<()> {
        if self.gpu.same_as(gpu) {
            Ok(())
        } else {
            Err(Error::DifferentGpu { what: what.into() })
        }
    }

    /// The whole tensor as one storage binding.
    pub(crate) fn view(&self) -> View<'_> {
        View {
            buffer: &self.buffer,
            offset: 0,
            size: self.buffer.size(),
        }
    }

    /// Elements `[start, start + len)` as a storage binding, plus the element index of `start`
    /// inside that binding (the binding begins at the aligned offset at or below `start`).
    pub(crate) fn view_range(&self, start: usize, len: usize) -> (View<'_>, u32) {
        let align = view_alignment(&self.gpu);
        let start_bytes = start as u64 * 4;
        let offset = start_bytes / align * align;
        let end = (start + len) as u64 * 4;
        let view = View {
            buffer: &self.buffer,
            offset,
            size: end - offset,
        };
        (view, ((start_bytes - offset) / 4) as u32)
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tensor")
            .field("shape", &self.shape)
            .finish()
    }
}

/// A tensor's buffer; an op output's buffer goes back to the Gpu's pool when the last tensor
/// viewing it is dropped. Reuse is safe: all work runs in recording order on one queue, so
/// commands recorded before the drop finish reading before a later op writes.
pub(crate) struct TensorBuffer {
    buffer: wgpu::Buffer,
    gpu: Weak<GpuInner>,
    /// An op's output, which the pool may hand to a later output.
    recyclable: bool,
    /// What conv2d derived from these values (dropped with them: a recycled buffer starts anew).
    packed: Mutex<Packed>,
}

/// conv2d's packed copy of a weight, kept with the weight's buffer.
#[derive(Default)]
struct Packed {
    weights: Option<Arc<PackedWeights>>,
    /// `Tensor::buffer` handed the raw buffer out: writes through it are not seen.
    handed_out: bool,
}

impl TensorBuffer {
    fn new(gpu: &Gpu, buffer: wgpu::Buffer, recyclable: bool) -> TensorBuffer {
        TensorBuffer {
            buffer,
            gpu: Arc::downgrade(&gpu.inner),
            recyclable,
            packed: Mutex::default(),
        }
    }
}

impl std::ops::Deref for TensorBuffer {
    type Target = wgpu::Buffer;

    fn deref(&self) -> &wgpu::Buffer {
        &self.buffer
    }
}

impl Drop for TensorBuffer {
    fn drop(&mut self) {
        if let Some(gpu) = self.gpu.upgrade() {
            gpu.release(self.buffer.clone(), self.recyclable);
        }
    }
}

fn shape_len(shape: &[usize]) -> Result<usize> {
    if shape.is_empty() {
        return Err(Error::Shape {
            what: "tensor".into(),
            expected: "at least one dimension".into(),
            actual: vec![],
        });
    }
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::TooLarge {
            what: format!("a tensor of shape {shape:?}"),
            bytes: u64::MAX,
            limit_name: "the address space",
            limit: u64::MAX,
        })
}

fn check_buffer_size(gpu: &Gpu, len: usize) -> Result<()> {
    let bytes = len as u64 * 4;
    let limit = gpu.inner.limits.max_buffer_size;
    if bytes > limit {
        return Err(Error::TooLarge {
            what: format!("a tensor of {len} floats"),
            bytes,
            limit_name: "the adapter's max_buffer_size",
            limit,
        });
    }
    Ok(())
}
