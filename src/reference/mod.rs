//! The CPU reference: every op of the crate written as plainly as possible, accumulating in
//! f64, validating with the same functions as the GPU path. Speed belongs to the GPU path.

mod conv2d;

pub use conv2d::{conv2d, linear};
