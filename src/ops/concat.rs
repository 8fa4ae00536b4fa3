//! concat_channels: PyTorch's `torch.cat(tensors, dim=1)`. In NCHW memory, image `n` of input
//! `i` is one contiguous run of `C_i*H*W` floats that lands at channel offset `sum_{k<i} C_k` of
//! output image `n`, so the op is one buffer-to-buffer copy per input and image (one per input
//! for a batch of one), recorded into the shared encoder: no kernel and no host round trip.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The output shape of concatenating `shapes` along dimension 1: every shape of the same rank
/// (at least 2), equal in every dimension but the channels, and at least one shape.
pub fn concat_channels_shape(shapes: &[&[usize]]) -> Result<Vec<usize>> {
    let Some(first) = shapes.first() else {
        return Err(Error::Parameter {
            what: "concat_channels inputs".into(),
            expected: "at least one tensor".into(),
            actual: "none".into(),
        });
    };
    if first.len() < 2 {
        return Err(Error::Shape {
            what: "concat_channels input 0".into(),
            expected: "at least 2 dimensions [N, C, ...]".into(),
            actual: first.to_vec(),
        });
    }
    let mut output = first.to_vec();
    for (index, shape) in shapes.iter().enumerate().skip(1) {
        let same_rank = shape.len() == first.len();
        if !same_rank || shape[0] != first[0] || shape[2..] != first[2..] {
            return Err(Error::Shape {
                what: format!("concat_channels input {index}"),
                expected: format!("the shape of input 0 ({first:?}) but for the channels"),
                actual: shape.to_vec(),
            });
        }
        output[1] += shape[1];
    }
    Ok(output)
}

/// Concatenates `inputs` along the channel dimension (dimension 1) into a new tensor.
/// Records the copies; nothing is read back.
pub fn concat_channels(inputs: &[&Tensor]) -> Result<Tensor> {
    let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
    let shape = concat_channels_shape(&shapes)?;
    let gpu = inputs[0].gpu();
    for (index, input) in inputs.iter().enumerate() {
        input.check_gpu(gpu, &format!("concat_channels input {index}"))?;
    }
    let output = Tensor::output(gpu, &shape)?;
    let batch = shape[0];
    let plane: usize = shape[2..].iter().product();
    let output_image = shape[1] * plane;
    let mut channel_offset = 0;
    for input in inputs {
        let input_image = input.shape()[1] * plane;
        if input_image > 0 {
            for image in 0..batch {
                gpu.copy(
                    input.raw_buffer(),
                    (image * input_image * 4) as u64,
                    output.raw_buffer(),
                    ((image * output_image + channel_offset * plane) * 4) as u64,
                    (input_image * 4) as u64,
                );
            }
        }
        channel_offset += input.shape()[1];
    }
    Ok(output)
}
