//! GPU ops: each wrapper validates, builds its parameter struct and records a dispatch.

pub mod activation;
pub mod adaptive_pool2d;
pub mod batch_norm;
pub(crate) mod batching;
pub mod concat;
pub mod conv2d;
pub mod pool2d;
pub mod projection;
