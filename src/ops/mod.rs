//! GPU ops: each wrapper validates, builds its parameter struct and records a dispatch.

pub mod activation;
pub(crate) mod batching;
pub mod conv2d;
pub mod projection;
