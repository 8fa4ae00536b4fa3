//! Padded rows: inputs whose rows are not whole vec4s, copied to rows that are before a kernel
//! that reads vec4s runs (the window and wide kernels, and the depthwise 3x3 ones). `pad_rows` in
//! `shaders/conv2d_pack.wgsl` writes each input row, its left padding as zeros in front, and
//! zeros up to the next whole vec4; one invocation per row. The kernels then see rows of
//! `padded_width` floats with no left padding (`on_padded_rows`); the right padding is left to
//! their bounds checks.

use super::{Conv2dGeometry, Conv2dParams};
use crate::dispatch::View;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::ops::activation::Activation;
use crate::ops::batching::{batch_chunks, usable_binding_bytes};
use crate::shape::Pads;
use crate::tensor::Tensor;

/// The row kernels' workgroup (`WORKGROUP_SIZE` in conv2d_pack.wgsl).
const WORKGROUP_SIZE: usize = 64;
const PAD_ROWS: Kernel = Kernel::new(Shader::Conv2dPack, "pad_rows");

/// Records one of conv2d_pack.wgsl's row kernels (`pad_rows`, `subsample`, `unfold`: one
/// invocation per output row) over `images` images of `g`, from `source` to `destination` (each
/// a view and the element index where the data starts in it).
pub(super) fn copy_rows(
    gpu: &Gpu,
    kernel: Kernel,
    g: &Conv2dGeometry,
    images: usize,
    rows: usize,
    (source, source_base): (View, u32),
    (destination, destination_base): (View, u32),
) -> Result<()> {
    let params = Conv2dParams {
        input_base: source_base,
        output_base: destination_base,
        ..Conv2dParams::new(g, images, false, Activation::None)
    };
    let workgroups = rows.div_ceil(WORKGROUP_SIZE) as u32;
    gpu.dispatch(kernel, &params, &[source, destination], workgroups)
}

/// Records the row kernel `kernel` over `input` (batch chunks of `g`) into a new tensor of
/// `shape`, `[N, channels, rows, columns]`, one invocation per row of it (`subsample`,
/// `unfold`).
pub(super) fn rows_to_new(
    input: &Tensor,
    kernel: Kernel,
    g: &Conv2dGeometry,
    shape: [usize; 4],
) -> Result<Tensor> {
    let gpu = input.gpu();
    let in_image = g.in_channels * g.in_height * g.in_width;
    let out_image = shape[1] * shape[2] * shape[3];
    let output = Tensor::output(gpu, &shape)?;
    for (first_image, images) in batch_chunks(gpu, "conv2d", g.batch, in_image, out_image)? {
        let source = input.view_range(first_image * in_image, images * in_image);
        let destination = output.view_range(first_image * out_image, images * out_image);
        let rows = images * shape[1] * shape[2];
        copy_rows(gpu, kernel, g, images, rows, source, destination)?;
    }
    Ok(output)
}

/// The length of an input row copied by `pad_rows`: the row and its left padding, rounded up
/// to whole vec4s. Mirrors `padded_width` in conv2d_pack.wgsl.
fn padded_width(g: &Conv2dGeometry) -> usize {
    (g.in_width + g.pads.left).next_multiple_of(4)
}

/// The convolution a kernel runs on rows copied by `pad_rows`: wider rows whose left padding
/// is part of the data.
pub(super) fn on_padded_rows(g: &Conv2dGeometry) -> Conv2dGeometry {
    Conv2dGeometry {
        in_width: padded_width(g),
        pads: Pads { left: 0, ..g.pads },
        ..*g
    }
}

/// Whether one image of `g`'s input, copied to padded rows, fits a storage binding. Where it
/// does not (an image within a few percent of the limit), the kernels that need padded rows do
/// not apply and the general ones take the convolution.
pub(super) fn padded_image_fits(gpu: &Gpu, g: &Conv2dGeometry) -> bool {
    let padded = g.in_channels * g.in_height * padded_width(g);
    padded as u64 * 4 <= usable_binding_bytes(gpu)
}

/// One scratch tensor that holds the padded rows of one batch chunk at a time (the dispatches
/// run in order, so each chunk's convolution reads it before the next chunk overwrites it).
pub(super) struct PaddedRows {
    scratch: Tensor,
    /// The convolution as given (rows not whole vec4s).
    unpadded: Conv2dGeometry,
}

impl PaddedRows {
    /// Scratch for `images` images of `g` (the given, unpadded convolution).
    pub(super) fn new(gpu: &Gpu, g: &Conv2dGeometry, images: usize) -> Result<PaddedRows> {
        let padded = on_padded_rows(g);
        let padded_image = padded.in_channels * padded.in_height * padded.in_width;
        Ok(PaddedRows {
            scratch: Tensor::output(gpu, &[images * padded_image])?,
            unpadded: *g,
        })
    }

    /// Records `pad_rows` for images `first_image..first_image + images` of `input` and returns
    /// the padded copy as a view and the element index where it starts in the view.
    pub(super) fn chunk(
        &self,
        input: &Tensor,
        first_image: usize,
        images: usize,
    ) -> Result<(View<'_>, u32)> {
        let g = &self.unpadded;
        let image = g.in_channels * g.in_height * g.in_width;
        let padded_image = g.in_channels * g.in_height * padded_width(g);
        let source = input.view_range(first_image * image, images * image);
        let destination = || self.scratch.view_range(0, images * padded_image);
        let rows = images * g.in_channels * g.in_height;
        copy_rows(
            input.gpu(),
            PAD_ROWS,
            g,
            images,
            rows,
            source,
            destination(),
        )?;
        Ok(destination())
    }
}
