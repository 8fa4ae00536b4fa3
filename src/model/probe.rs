//! The empirical receptive field: run a model on a batch of copies of one input, each with one
//! input pixel (in every channel) raised by a large `bump`, and record which output pixels
//! change. With positive weights and inputs no cancellation can hide a change, so the changed
//! set of each output is exactly the input pixels it depends on, and its bounding box can be
//! compared with [`crate::receptive_field::ReceptiveField::input_region`].

use super::Sequential;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::host::HostTensor;
use crate::shape::nchw_nonempty;
use crate::tensor::Tensor;
use std::ops::Range;

/// Which input pixels change which output pixels, for one model and base input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasuredFields {
    pub input_size: [usize; 2],
    pub output_size: [usize; 2],
    /// `influence[output_pixel * input_pixels + input_pixel]`, pixels numbered row-major.
    influence: Vec<bool>,
}

impl MeasuredFields {
    /// The input pixels `[row, column]` whose bump changed output pixel `index`.
    pub fn pixels(&self, index: [usize; 2]) -> Vec<[usize; 2]> {
        let [height, width] = self.input_size;
        let first = (index[0] * self.output_size[1] + index[1]) * height * width;
        (0..height * width)
            .filter(|&pixel| self.influence[first + pixel])
            .map(|pixel| [pixel / width, pixel % width])
            .collect()
    }

    /// The bounding box `[rows, columns]` of [`MeasuredFields::pixels`] (`None` if empty).
    pub fn bounding_box(&self, index: [usize; 2]) -> Option<[Range<usize>; 2]> {
        let pixels = self.pixels(index);
        let range = |axis: usize| {
            let low = pixels.iter().map(|p| p[axis]).min()?;
            let high = pixels.iter().map(|p| p[axis]).max()?;
            Some(low..high + 1)
        };
        Some([range(0)?, range(1)?])
    }
}

/// Images per forward pass: small batches keep every activation well inside one binding.
const CHUNK_IMAGES: usize = 64;

/// Measures which input pixels reach each output pixel of `model` (see the module docs).
/// `base` is one image `[1, C, H, W]` matching the model's input; the model's output must be
/// `[N, C', H', W']`. An output counts as changed when any channel moves by more than
/// `1e-4 * max(1, |value|)`. Batch norms must be in inference mode: batch statistics would mix
/// the images. Runs `ceil((H*W + 1) / 64)` submissions.
pub fn measure_receptive_fields(
    gpu: &Gpu,
    model: &mut Sequential,
    base: &HostTensor,
    bump: f32,
) -> Result<MeasuredFields> {
    let [batch, channels, height, width] = nchw_nonempty("probe input", base.shape())?;
    if batch != 1 {
        return Err(Error::Shape {
            what: "probe input".into(),
            expected: "one image [1, C, H, W]".into(),
            actual: base.shape().to_vec(),
        });
    }
    let [_, out_channels, out_height, out_width] =
        nchw_nonempty("probe model output", model.output_shape())?;
    let input_pixels = height * width;
    let output_len = out_channels * out_height * out_width;
    let output_pixels = out_height * out_width;
    let mut influence = vec![false; output_pixels * input_pixels];
    let mut reference_output: Option<Vec<f32>> = None;
    // Image 0 of the first chunk is the base; image k >= 1 bumps input pixel k - 1.
    let images = input_pixels + 1;
    for first in (0..images).step_by(CHUNK_IMAGES) {
        let count = CHUNK_IMAGES.min(images - first);
        let mut data = Vec::with_capacity(count * base.data().len());
        for image in first..first + count {
            let start = data.len();
            data.extend_from_slice(base.data());
            if image > 0 {
                for channel in 0..channels {
                    data[start + channel * input_pixels + image - 1] += bump;
                }
            }
        }
        let input = Tensor::from_slice(gpu, &[count, channels, height, width], &data)?;
        let output = model.forward(&input)?.to_vec()?;
        let baseline = reference_output.get_or_insert_with(|| output[..output_len].to_vec());
        for image in first.max(1)..first + count {
            let values = &output[(image - first) * output_len..][..output_len];
            for (index, (&value, &before)) in values.iter().zip(baseline.iter()).enumerate() {
                if (value - before).abs() > 1e-4 * before.abs().max(1.0) {
                    let output_pixel = index % output_pixels;
                    influence[output_pixel * input_pixels + image - 1] = true;
                }
            }
        }
    }
    Ok(MeasuredFields {
        input_size: [height, width],
        output_size: [out_height, out_width],
        influence,
    })
}
