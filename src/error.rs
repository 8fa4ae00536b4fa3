//! The crate's one error type. Every variant says what was wrong and what was expected, so a
//! caller can act on it without reading the source.

/// Errors returned by wgcnn. Bad input never panics: it becomes one of these, before any GPU
/// work is recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// No adapter matched the request (backend from `WGPU_BACKEND`, name from `WGPU_ADAPTER_NAME`).
    #[error(
        "no GPU adapter found (backends: {backends}{name_note}). On a machine without a GPU install Mesa's \
         software adapters: Vulkan lavapipe and GL llvmpipe (Debian: `apt-get install -t bookworm-backports \
         mesa-vulkan-drivers libegl-mesa0 libgl1-mesa-dri`); see shared/notes/software-adapters.md"
    )]
    NoAdapter { backends: String, name_note: String },

    /// The adapter was found but refused to open a device.
    #[error("could not open a device on adapter '{adapter}': {reason}")]
    DeviceRequest { adapter: String, reason: String },

    /// A tensor's data length differs from the product of its shape.
    #[error("tensor data has {actual} values but shape {shape:?} needs {expected}")]
    DataLength {
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },

    /// A tensor has the wrong rank or shape for the op.
    #[error("{what}: expected {expected}, got shape {actual:?}")]
    Shape {
        what: String,
        expected: String,
        actual: Vec<usize>,
    },

    /// A dimension of size zero where the op needs at least one element.
    #[error("{what} has a zero-size dimension: shape {shape:?} (C, H and W must be at least 1)")]
    ZeroSize { what: String, shape: Vec<usize> },

    /// A parameter out of its valid range (kernel, stride or dilation of 0, padding too large, ...).
    #[error("invalid {what}: expected {expected}, got {actual}")]
    Parameter {
        what: String,
        expected: String,
        actual: String,
    },

    /// The output would have no elements (a kernel larger than the padded input, for example).
    #[error("{op} output would be {height}x{width}: {reason}")]
    EmptyOutput {
        op: &'static str,
        height: i64,
        width: i64,
        reason: String,
    },

    /// A tensor is larger than the adapter can hold or than the op can split.
    #[error("{what} needs {bytes} bytes but {limit_name} is {limit} bytes")]
    TooLarge {
        what: String,
        bytes: u64,
        limit_name: &'static str,
        limit: u64,
    },

    /// Tensors from two different `Gpu` contexts were mixed in one op.
    #[error("{what} belongs to another Gpu context; create every tensor of an op on the same Gpu")]
    DifferentGpu { what: String },

    /// A layer of a model rejected its input shape (at build time) or failed in `forward`.
    /// `index` is the layer's position, with a branch's path (`"4.2.1"`: layer 1 of branch 2
    /// of layer 4); `kind` says what the layer is (`"Conv2d 3x3 192->64"`).
    #[error("layer {index} ({kind}): {source}")]
    Layer {
        index: String,
        kind: String,
        source: Box<Error>,
    },

    /// wgpu reported an error (validation, out of memory, a failed readback).
    #[error("GPU error: {0}")]
    Gpu(String),
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
