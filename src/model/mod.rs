//! Networks built from the crate's layers: [`Sequential`] (an ordered list of [`Layer`]s with
//! branches concatenated along channels and residual blocks, run in one submission, and
//! [`Sequential::fold_batch_norms`] for inference), its [`Summary`] (shapes,
//! parameters, multiply-accumulates, receptive fields), its CPU reference
//! ([`Sequential::forward_reference`]) and the empirical receptive-field probe
//! ([`measure_receptive_fields`]).
//!
//! ```no_run
//! use wgcnn::{Activation, Conv2d, Conv2dOptions, GlobalAvgPool2d, Gpu, HostTensor, Layer, ReLU, Sequential, Tensor};
//! let gpu = Gpu::new()?;
//! let conv = Conv2d::new(&gpu, &HostTensor::filled(&[16, 3, 3, 3], 0.1), None, Conv2dOptions::default())?;
//! let classifier = Layer::linear(&gpu, &HostTensor::filled(&[10, 16], 0.1), None, Activation::None)?;
//! let mut model = Sequential::new(&[1, 3, 32, 32])?.push(conv)?.push(ReLU::new())?.push(GlobalAvgPool2d)?.push(Layer::Flatten)?.push(classifier)?;
//! println!("{}", model.summary()); // shapes, parameters, MACs, receptive fields
//! let logits = model.forward(&Tensor::from_slice(&gpu, &[1, 3, 32, 32], &[1.0; 3072])?)?.to_vec()?; // one submission
//! # Ok::<(), wgcnn::Error>(())
//! ```

mod describe;
mod fold;
mod layer;
mod probe;
mod reference;
mod sequential;
mod summary;

pub use layer::Layer;
pub use probe::{measure_receptive_fields, MeasuredFields};
pub use reference::concat_channels_reference;
pub use sequential::Sequential;
pub use summary::{Summary, SummaryRow};
