//! The CPU reference: every op of the crate written as plainly as possible, accumulating in
//! f64, validating with the same functions as the GPU path. Speed belongs to the GPU path.

mod activation;
mod batch_norm;
mod conv2d;
mod pool2d;

pub use activation::{activate, activate_value, add, leaky_relu, relu, relu6};
pub use batch_norm::{batch_norm_eval, batch_norm_stats, batch_norm_train, BatchNormTrainOutput};
pub use conv2d::{conv2d, linear};
pub use pool2d::{
    adaptive_avg_pool2d, adaptive_max_pool2d, adaptive_max_pool2d_with_indices, avg_pool2d,
    global_avg_pool2d, global_max_pool2d, max_pool2d, max_pool2d_with_indices,
};
