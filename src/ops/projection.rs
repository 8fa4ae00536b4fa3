//! projection: the 1x1 convolution as a GEMM over channels (`shaders/projection.wgsl`), and
//! `linear`, a fully connected layer expressed as the same GEMM with the batch as the pixel axis.

use super::activation::Activation;
use super::batching::{batch_chunks, check_fits};
use super::conv2d::{
    conv2d, conv2d_channel_chunks, Conv2dGeometry, Conv2dOptions, SUBGROUP_MIN_CHANNELS,
};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::tensor::Tensor;

/// Sizes and strides of one projection `out[b, k, p] = bias[k] + sum_c weight[k, c] * in[b, c, p]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectionGeometry {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub pixels: usize,
    /// Input strides in floats: batch, channel, pixel.
    pub input_strides: [usize; 3],
    /// Output strides in floats: batch, channel, pixel.
    pub output_strides: [usize; 3],
}

impl ProjectionGeometry {
    /// A 1x1 convolution over `[N, C, H, W]`: pixels are the H*W plane.
    pub fn conv1x1(conv: &Conv2dGeometry) -> Self {
        let pixels = conv.in_height * conv.in_width;
        ProjectionGeometry {
            batch: conv.batch,
            in_channels: conv.in_channels,
            out_channels: conv.out_channels,
            pixels,
            input_strides: [conv.in_channels * pixels, pixels, 1],
            output_strides: [conv.out_channels * pixels, pixels, 1],
        }
    }

    /// A fully connected layer over `[N, C]`: one batch whose N pixels are the rows.
    pub fn linear(rows: usize, in_features: usize, out_features: usize) -> Self {
        ProjectionGeometry {
            batch: 1,
            in_channels: in_features,
            out_channels: out_features,
            pixels: rows,
            input_strides: [rows * in_features, 1, in_features],
            output_strides: [rows * out_features, 1, out_features],
        }
    }

    /// Multiply-accumulates.
    pub fn macs(&self) -> u64 {
        (self.batch * self.pixels) as u64 * (self.in_channels * self.out_channels) as u64
    }
}

/// Mirrors `ProjectionParams` in shaders/projection.wgsl field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ProjectionParams {
    batch: u32,
    in_channels: u32,
    out_channels: u32,
    pixels: u32,
    input_batch_stride: u32,
    input_channel_stride: u32,
    input_pixel_stride: u32,
    output_batch_stride: u32,
    output_channel_stride: u32,
    output_pixel_stride: u32,
    input_base: u32,
    output_base: u32,
    has_bias: u32,
    activation: u32,
    leaky_slope: f32,
    channel_tiles: u32,
    pixel_tiles: u32,
    pixel_lanes: u32,
}

/// The two kernels: output channels x pixels per invocation, the entry point and its
/// `@workgroup_size`.
struct Variant {
    kernel: Kernel,
    channel_tile: usize,
    pixel_tile: usize,
    workgroup_size: usize,
}

const PORTABLE: Variant = Variant {
    kernel: Kernel::new(Shader::Projection, "projection"),
    channel_tile: 8,
    pixel_tile: 4,
    workgroup_size: 16,
};
const SUBGROUP: Variant = Variant {
    kernel: Kernel::new(Shader::ProjectionSubgroup, "projection_subgroup"),
    channel_tile: 32,
    pixel_tile: 4,
    workgroup_size: 64,
};

fn variant(gpu: &Gpu, g: &ProjectionGeometry, largest_pixels: usize) -> &'static Variant {
    let enough_pixels = largest_pixels.div_ceil(SUBGROUP.pixel_tile) >= SUBGROUP.workgroup_size;
    if gpu.has_subgroups() && g.out_channels >= SUBGROUP_MIN_CHANNELS && enough_pixels {
        &SUBGROUP
    } else {
        &PORTABLE
    }
}

/// The entry point a projection of `geometry` runs (of its first batch chunk).
pub(crate) fn projection_kernel(gpu: &Gpu, geometry: &ProjectionGeometry) -> &'static str {
    variant(gpu, geometry, geometry.pixels).kernel.entry_point
}

/// Records a projection into a new tensor of `output_shape`. Splits along the batch (conv 1x1)
/// or along the rows (linear, where the pixel axis is the batch) to respect the binding limit.
pub(crate) fn record_projection(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    geometry: &ProjectionGeometry,
    activation: Activation,
    output_shape: &[usize],
) -> Result<Tensor> {
    let gpu = input.gpu();
    let g = geometry;
    check_fits(gpu, "projection weight", weight.len())?;
    // Split along the outermost axis: the batch, or the rows of a linear layer (channel
    // stride 1). The two agree when both have one element.
    let rows_are_units = g.batch == 1 && g.input_strides[1] == 1;
    let (units, in_unit, out_unit) = if rows_are_units {
        (g.pixels, g.in_channels, g.out_channels)
    } else {
        (g.batch, g.input_strides[0], g.output_strides[0])
    };
    let chunks = batch_chunks(gpu, "projection", units, in_unit, out_unit)?;
    let output = Tensor::output(gpu, output_shape)?;
    let (activation, leaky_slope) = activation.code();
    // Few output channels would leave most of the subgroup kernel's 32-channel tile idle, and
    // fewer than 64 pixel tiles most of its workgroup (a linear layer on a small batch): the
    // portable kernel (16-lane workgroups) then spreads a workgroup over channel tiles too.
    let largest_pixels = if rows_are_units {
        chunks.first().map_or(0, |&(_, rows)| rows)
    } else {
        g.pixels
    };
    let variant = variant(gpu, g, largest_pixels);
    let channel_tiles = g.out_channels.div_ceil(variant.channel_tile);
    for (first, count) in chunks {
        let (input_view, input_base) = input.view_range(first * in_unit, count * in_unit);
        let (output_view, output_base) = output.view_range(first * out_unit, count * out_unit);
        let (batch, pixels) = if rows_are_units {
            (1, count)
        } else {
            (count, g.pixels)
        };
        let pixel_tiles = pixels.div_ceil(variant.pixel_tile);
        let pixel_lanes = if variant.kernel == SUBGROUP.kernel {
            variant.workgroup_size
        } else {
            pixel_tiles.next_power_of_two().min(variant.workgroup_size)
        };
        let params = ProjectionParams {
            batch: batch as u32,
            in_channels: g.in_channels as u32,
            out_channels: g.out_channels as u32,
            pixels: pixels as u32,
            input_batch_stride: g.input_strides[0] as u32,
            input_channel_stride: g.input_strides[1] as u32,
            input_pixel_stride: g.input_strides[2] as u32,
            output_batch_stride: g.output_strides[0] as u32,
            output_channel_stride: g.output_strides[1] as u32,
            output_pixel_stride: g.output_strides[2] as u32,
            input_base,
            output_base,
            has_bias: bias.is_some() as u32,
            activation,
            leaky_slope,
            channel_tiles: channel_tiles as u32,
            pixel_tiles: pixel_tiles as u32,
            pixel_lanes: pixel_lanes as u32,
        };
        let views = [
            input_view,
            weight.view(),
            bias.unwrap_or(weight).view(),
            output_view,
        ];
        let channel_lanes = variant.workgroup_size / pixel_lanes;
        let workgroups =
            batch * channel_tiles.div_ceil(channel_lanes) * pixel_tiles.div_ceil(pixel_lanes);
        gpu.dispatch(variant.kernel, &params, &views, workgroups as u32)?;
    }
    Ok(output)
}

/// Shapes of a linear layer: input `[N, C]` or `[N, C, 1, 1]`, weight `[K, C]` or `[K, C, 1, 1]`,
/// bias `[K]`. Returns `(rows, in_features, out_features, output shape)`.
pub fn linear_shapes(
    input: &[usize],
    weight: &[usize],
    bias_len: Option<usize>,
) -> Result<(usize, usize, usize, Vec<usize>)> {
    let features = |shape: &[usize], what: &str| match shape {
        &[a, b] | &[a, b, 1, 1] if a > 0 && b > 0 => Ok((a, b)),
        _ => Err(Error::Shape {
            what: what.into(),
            expected: "[rows, features] or [rows, features, 1, 1], no zero sizes".into(),
            actual: shape.to_vec(),
        }),
    };
    let (rows, in_features) = features(input, "linear input")?;
    let (out_features, weight_features) = features(weight, "linear weight")?;
    if weight_features != in_features {
        return Err(Error::Shape {
            what: "linear weight".into(),
            expected: format!("[out_features, {in_features}]"),
            actual: weight.to_vec(),
        });
    }
    if let Some(len) = bias_len.filter(|&len| len != out_features) {
        return Err(Error::Shape {
            what: "linear bias".into(),
            expected: format!("[{out_features}]"),
            actual: vec![len],
        });
    }
    let mut output = input.to_vec();
    output[1] = out_features;
    Ok((rows, in_features, out_features, output))
}

/// A fully connected layer, `out[n, k] = bias[k] + sum_c weight[k, c] * input[n, c]`, run as the
/// projection GEMM (on GPUs, a layer with few outputs as conv2d's channel split: an `[N, C]`
/// matrix is an `[N, C, 1, 1]` batch of images). Output has the input's rank: `[N, K]` or
/// `[N, K, 1, 1]`.
pub fn linear(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    activation: Activation,
) -> Result<Tensor> {
    let gpu = input.gpu();
    weight.check_gpu(gpu, "linear weight")?;
    if let Some(bias) = bias {
        bias.check_gpu(gpu, "linear bias")?;
    }
    let (rows, in_features, out_features, output_shape) =
        linear_shapes(input.shape(), weight.shape(), bias.map(|b| b.len()))?;
    let image_shape = [rows, in_features, 1, 1];
    let kernel_shape = [out_features, in_features, 1, 1];
    let options = Conv2dOptions {
        activation,
        ..Default::default()
    };
    let as_conv =
        Conv2dGeometry::new(&image_shape, &kernel_shape, bias.map(|b| b.len()), &options)?;
    if conv2d_channel_chunks(gpu, &as_conv) > 1 {
        let images = input.reshape(&image_shape)?;
        let output = conv2d(&images, &weight.reshape(&kernel_shape)?, bias, &options)?;
        return output.reshape(&output_shape);
    }
    let geometry = ProjectionGeometry::linear(rows, in_features, out_features);
    record_projection(input, weight, bias, &geometry, activation, &output_shape)
}
