//! wgcnn: GPU compute kernels for convolutional networks, in WGSL on wgpu, with PyTorch's
//! semantics (NCHW, float32, weight `[out, in/groups, kh, kw]`).
//!
//! ```no_run
//! use wgcnn::{conv2d, Conv2dOptions, Gpu, Padding, Tensor};
//! let gpu = Gpu::new()?;
//! let x = Tensor::from_slice(&gpu, &[1, 3, 8, 8], &vec![1.0; 192])?;
//! let w = Tensor::from_slice(&gpu, &[4, 3, 3, 3], &vec![0.1; 108])?;
//! let options = Conv2dOptions { padding: Padding::Symmetric([1, 1]), ..Default::default() };
//! let y = conv2d(&x, &w, None, &options)?; // recorded, not yet run
//! let values = y.to_vec()?;                // submits and waits
//! # Ok::<(), wgcnn::Error>(())
//! ```

mod bind_groups;
mod dispatch;
mod driver_lock;
mod error;
mod glsl;
mod gpu;
mod host;
mod kernels;
pub mod layers;
pub mod model;
pub mod ops;
pub mod random;
pub mod receptive_field;
pub mod reference;
pub mod shape;
mod tensor;

pub use error::{Error, Result};
pub use gpu::{AdapterInfo, AdapterPreference, Gpu, GpuOptions};
pub use host::HostTensor;
pub use layers::{
    AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, Conv2d, GlobalAvgPool2d, GlobalMaxPool2d,
    LeakyReLU, Linear, MaxPool2d, ReLU, ReLU6,
};
pub use layers::{BatchNorm2d, BatchNorm2dOptions};
pub use model::{Layer, Sequential, Summary};
pub use ops::activation::{
    activate, activate_in_place, add, leaky_relu, leaky_relu_in_place, relu, relu6, relu6_in_place,
    relu_in_place, Activation,
};
pub use ops::adaptive_pool2d::{
    adaptive_avg_pool2d, adaptive_max_pool2d, adaptive_max_pool2d_with_indices, global_avg_pool2d,
    global_max_pool2d,
};
pub use ops::batch_norm::{
    batch_norm_eval, batch_norm_stats, batch_norm_train, BatchNormAffine, BatchNormStats,
    RunningStats, RunningUpdate,
};
pub use ops::concat::{concat_channels, concat_channels_shape};
pub use ops::conv2d::{
    conv2d, conv2d_channel_chunks, conv2d_kernel, conv2d_route, Conv2dGeometry, Conv2dOptions,
};
pub use ops::pool2d::{
    avg_pool2d, max_pool2d, max_pool2d_with_indices, AvgPool2dOptions, MaxPool2dOptions,
    Pool2dGeometry, PoolIndices,
};
pub use ops::projection::{linear, ProjectionGeometry};
pub use receptive_field::{ReceptiveField, Window};
pub use shape::{Padding, Pads};
pub use tensor::Tensor;
