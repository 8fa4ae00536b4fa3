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

mod dispatch;
mod error;
mod gpu;
mod host;
mod kernels;
pub mod layers;
pub mod ops;
pub mod random;
pub mod reference;
pub mod shape;
mod tensor;

pub use error::{Error, Result};
pub use gpu::{AdapterInfo, AdapterPreference, Gpu, GpuOptions};
pub use host::HostTensor;
pub use layers::{Conv2d, Linear};
pub use ops::activation::Activation;
pub use ops::conv2d::{conv2d, Conv2dGeometry, Conv2dOptions};
pub use ops::projection::{linear, ProjectionGeometry};
pub use shape::{Padding, Pads};
pub use tensor::Tensor;
