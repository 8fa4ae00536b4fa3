//! Activations: the `Activation` choice that conv and projection kernels apply in their
//! epilogue (the fast path after a conv), and the standalone element-wise kernels
//! (`shaders/activation.wgsl`, 16 vec4s per invocation) for everything else: relu, relu6 and
//! leaky_relu on tensors of any shape and length, out of place or in place, and [`add`], the
//! residual sum of two tensors followed by an activation. Tensors larger than one storage
//! binding are cut into aligned chunks, one dispatch each.

use super::batching::usable_binding_bytes;
use crate::dispatch::View;
use crate::error::{Error, Result};
use crate::kernels::{Kernel, Shader};
use crate::tensor::Tensor;

/// An element-wise activation, fused into a conv's epilogue or applied on its own.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Activation {
    /// Identity.
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x` for `x >= 0`, else `slope * x`.
    LeakyRelu(f32),
}

impl Activation {
    /// The code the shaders switch on (`fn activate` in each WGSL file) and the slope.
    pub(crate) fn code(self) -> (u32, f32) {
        match self {
            Activation::None => (0, 0.0),
            Activation::Relu => (1, 0.0),
            Activation::Relu6 => (2, 0.0),
            Activation::LeakyRelu(slope) => (3, slope),
        }
    }

    /// Applies the activation to one value in f64 (the CPU reference's definition).
    pub fn apply(self, value: f64) -> f64 {
        match self {
            Activation::None => value,
            // NaN passes through, as in PyTorch (`f64::max` would drop it).
            _ if value.is_nan() => value,
            Activation::Relu => value.max(0.0),
            Activation::Relu6 => value.clamp(0.0, 6.0),
            Activation::LeakyRelu(slope) => {
                if value >= 0.0 {
                    value
                } else {
                    value * slope as f64
                }
            }
        }
    }
}

/// Mirrors `ActivationParams` in shaders/activation.wgsl field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ActivationParams {
    count: u32,
    base: u32,
    activation: u32,
    slope: f32,
}

const WORKGROUP_SIZE: usize = 64;
/// vec4s per invocation of the bulk entry points (`VECTORS_PER_INVOCATION` in activation.wgsl).
const VECTORS_PER_INVOCATION: usize = 16;

/// Applies `activation` to every element of `input` (any shape) into a new tensor.
pub fn activate(input: &Tensor, activation: Activation) -> Result<Tensor> {
    let output = Tensor::output(input.gpu(), input.shape())?;
    record_activation(input, None, Some(&output), activation)?;
    Ok(output)
}

/// `activation(input + addend)` element-wise into a new tensor, for tensors of the same shape
/// (any shape): a residual connection, ResNet's `out += identity; out = relu(out)` with
/// `Activation::Relu` (PyTorch's `torch.add` then the activation; NaN and infinities propagate
/// as there).
pub fn add(input: &Tensor, addend: &Tensor, activation: Activation) -> Result<Tensor> {
    addend.check_gpu(input.gpu(), "add addend")?;
    if addend.shape() != input.shape() {
        return Err(Error::Shape {
            what: "add addend".into(),
            expected: format!("the input's shape {:?}", input.shape()),
            actual: addend.shape().to_vec(),
        });
    }
    let output = Tensor::output(input.gpu(), input.shape())?;
    record_activation(input, Some(addend), Some(&output), activation)?;
    Ok(output)
}

/// Applies `activation` to every element of `data` in place.
pub fn activate_in_place(data: &Tensor, activation: Activation) -> Result<()> {
    if activation == Activation::None {
        return Ok(());
    }
    data.written_in_place();
    record_activation(data, None, None, activation)
}

/// `max(x, 0)` element-wise (PyTorch's `F.relu`; NaN stays NaN).
pub fn relu(input: &Tensor) -> Result<Tensor> {
    activate(input, Activation::Relu)
}

/// `min(max(x, 0), 6)` element-wise (PyTorch's `F.relu6`; NaN stays NaN).
pub fn relu6(input: &Tensor) -> Result<Tensor> {
    activate(input, Activation::Relu6)
}

/// `x` for `x >= 0`, else `slope * x` (PyTorch's `F.leaky_relu`; NaN stays NaN).
pub fn leaky_relu(input: &Tensor, slope: f32) -> Result<Tensor> {
    activate(input, Activation::LeakyRelu(slope))
}

/// [`relu`] in place (PyTorch's `F.relu_`).
pub fn relu_in_place(data: &Tensor) -> Result<()> {
    activate_in_place(data, Activation::Relu)
}

/// [`relu6`] in place.
pub fn relu6_in_place(data: &Tensor) -> Result<()> {
    activate_in_place(data, Activation::Relu6)
}

/// [`leaky_relu`] in place (PyTorch's `F.leaky_relu_`).
pub fn leaky_relu_in_place(data: &Tensor, slope: f32) -> Result<()> {
    activate_in_place(data, Activation::LeakyRelu(slope))
}

/// Records the element-wise kernel over `input` (plus `addend`, the same length, when given),
/// writing `output` (or `input` when `None`; `add` always has an output).
/// The tensor is cut into chunks that fit one storage binding and start at aligned offsets;
/// each chunk runs as vec4s, and the last `len % 4` elements run through the scalar entry.
fn record_activation(
    input: &Tensor,
    addend: Option<&Tensor>,
    output: Option<&Tensor>,
    activation: Activation,
) -> Result<()> {
    let gpu = input.gpu();
    let (code, slope) = activation.code();
    let len = input.len();
    let align_floats = (gpu.limits().min_storage_buffer_offset_alignment as usize / 4).max(4);
    let chunk = usable_binding_bytes(gpu) as usize / 4 / align_floats * align_floats;
    if chunk == 0 {
        return Err(Error::TooLarge {
            what: format!("one aligned chunk of {align_floats} floats"),
            bytes: align_floats as u64 * 4,
            limit_name: "the usable storage-binding size",
            limit: usable_binding_bytes(gpu),
        });
    }
    let bulk = len / 4 * 4;
    debug_assert!(
        addend.is_none() || output.is_some(),
        "add has no in-place form"
    );
    let (entry_vec4, entry_tail) = match (addend, output) {
        (Some(_), _) => ("add_vec4", "add_tail"),
        (None, Some(_)) => ("activation_vec4", "activation_tail"),
        (None, None) => ("activation_vec4_in_place", "activation_tail_in_place"),
    };
    let mut start = 0;
    while start < bulk {
        let count = chunk.min(bulk - start);
        let mut views = vec![bulk_view(input, start, count)];
        views.extend(output.map(|tensor| bulk_view(tensor, start, count)));
        views.extend(addend.map(|tensor| bulk_view(tensor, start, count)));
        let params = ActivationParams {
            count: (count / 4) as u32,
            base: 0,
            activation: code,
            slope,
        };
        let workgroups = (count / 4).div_ceil(WORKGROUP_SIZE * VECTORS_PER_INVOCATION) as u32;
        gpu.dispatch(
            Kernel::new(Shader::Activation, entry_vec4),
            &params,
            &views,
            workgroups,
        )?;
        start += count;
    }
    if bulk < len {
        let (input_view, base) = input.view_range(bulk, len - bulk);
        let mut views = vec![input_view];
        views.extend(output.map(|tensor| tensor.view_range(bulk, len - bulk).0));
        views.extend(addend.map(|tensor| tensor.view_range(bulk, len - bulk).0));
        let params = ActivationParams {
            count: (len - bulk) as u32,
            base,
            activation: code,
            slope,
        };
        gpu.dispatch(
            Kernel::new(Shader::Activation, entry_tail),
            &params,
            &views,
            1,
        )?;
    }
    Ok(())
}

/// Elements `[start, start + count)` as one binding; `start` is aligned and `count % 4 == 0`.
fn bulk_view(tensor: &Tensor, start: usize, count: usize) -> View<'_> {
    View {
        buffer: tensor.raw_buffer(),
        offset: start as u64 * 4,
        size: count as u64 * 4,
    }
}
