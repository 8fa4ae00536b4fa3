//! CPU reference of conv2d and linear: direct loops over the PyTorch definition, f64 sums.
//! `out[n,o,i,j] = bias[o] + sum_{c,p,q} x[n, g*Cg + c, i*sh - top + p*dh, j*sw - left + q*dw] * w[o,c,p,q]`.

use crate::error::Result;
use crate::host::HostTensor;
use crate::ops::activation::Activation;
use crate::ops::conv2d::{Conv2dGeometry, Conv2dOptions};
use crate::ops::projection::linear_shapes;

/// Reference 2-D convolution (see [`crate::conv2d`]).
pub fn conv2d(
    input: &HostTensor,
    weight: &HostTensor,
    bias: Option<&HostTensor>,
    options: &Conv2dOptions,
) -> Result<HostTensor> {
    let g = Conv2dGeometry::new(
        input.shape(),
        weight.shape(),
        bias.map(|b| b.data().len()),
        options,
    )?;
    let (x, w) = (input.data(), weight.data());
    let in_per_group = g.in_channels / g.groups;
    let out_per_group = g.out_channels / g.groups;
    let [kernel_height, kernel_width] = g.kernel;
    let mut out = Vec::with_capacity(g.output_shape().iter().product());
    for n in 0..g.batch {
        for o in 0..g.out_channels {
            let group = o / out_per_group;
            for i in 0..g.out_height {
                for j in 0..g.out_width {
                    let mut sum = bias.map_or(0.0, |b| b.data()[o] as f64);
                    for c in 0..in_per_group {
                        let channel = group * in_per_group + c;
                        for p in 0..kernel_height {
                            let row = (i * g.stride[0] + p * g.dilation[0]) as isize
                                - g.pads.top as isize;
                            if row < 0 || row >= g.in_height as isize {
                                continue;
                            }
                            for q in 0..kernel_width {
                                let col = (j * g.stride[1] + q * g.dilation[1]) as isize
                                    - g.pads.left as isize;
                                if col < 0 || col >= g.in_width as isize {
                                    continue;
                                }
                                let xi = ((n * g.in_channels + channel) * g.in_height
                                    + row as usize)
                                    * g.in_width
                                    + col as usize;
                                let wi =
                                    ((o * in_per_group + c) * kernel_height + p) * kernel_width + q;
                                sum += x[xi] as f64 * w[wi] as f64;
                            }
                        }
                    }
                    out.push(options.activation.apply(sum) as f32);
                }
            }
        }
    }
    HostTensor::new(&g.output_shape(), out)
}

/// Reference fully connected layer (see [`crate::linear`]).
pub fn linear(
    input: &HostTensor,
    weight: &HostTensor,
    bias: Option<&HostTensor>,
    activation: Activation,
) -> Result<HostTensor> {
    let (rows, in_features, out_features, shape) =
        linear_shapes(input.shape(), weight.shape(), bias.map(|b| b.data().len()))?;
    let mut out = Vec::with_capacity(rows * out_features);
    for n in 0..rows {
        for k in 0..out_features {
            let mut sum = bias.map_or(0.0, |b| b.data()[k] as f64);
            for c in 0..in_features {
                sum += input.data()[n * in_features + c] as f64
                    * weight.data()[k * in_features + c] as f64;
            }
            out.push(activation.apply(sum) as f32);
        }
    }
    HostTensor::new(&shape, out)
}
