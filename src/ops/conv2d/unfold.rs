//! conv2d as a 1x1 convolution over its unfolded input (im2col), for the kernels the window and
//! wide kernels do not cover (dilation, non-square kernels such as Inception-v3's 1x7 and 7x1,
//! other sizes and strides) with at least 8 output channels a group. `unfold` in
//! `shaders/conv2d_pack.wgsl` copies what each tap reads to a channel of its own, [N, C_in * KH *
//! KW, H_out, W_out], and the 1x1 paths (window or wide kernels, or the projection GEMM) run on
//! it with the weight seen as [C_out, C_in/groups * KH * KW, 1, 1], which is its layout already
//! (groups stay contiguous). It costs the unfolded copy (KH * KW times the input read again),
//! and pays against the portable kernel on software adapters without subgroups (GL llvmpipe:
//! 1.1-3.7 times faster, BENCHMARKS.md). With subgroups (lavapipe) `conv2d_subgroup` is nearly
//! as fast as the 1x1 window kernel, so the copy pays only over at least 128 output channels a
//! group (the rule switched between calls in one process: 0.82-0.97 of the time from 128 to 512
//! channels, 1.04-1.06 at 96, 1.14-1.55 at 64 and below). GPUs were not measured either way, so
//! they keep the general kernels.

use super::padded_rows::rows_to_new;
use super::{Conv2dGeometry, Conv2dOptions, SUBGROUP_COPY_MIN_CHANNELS, SUBGROUP_MIN_CHANNELS};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::ops::batching::usable_binding_bytes;
use crate::shape::{Padding, Pads};
use crate::tensor::Tensor;

const UNFOLD: Kernel = Kernel::new(Shader::Conv2dPack, "unfold");

/// The most floats an unfolded input may hold (256 MiB); larger ones take the general kernels.
const MAX_UNFOLDED_FLOATS: usize = 1 << 26;

/// Floats of one image's unfolded input.
fn unfolded_image(g: &Conv2dGeometry) -> usize {
    g.in_channels * g.kernel[0] * g.kernel[1] * g.out_height * g.out_width
}

/// Whether this convolution takes the unfolded path: a kernel other than 1x1 (the caller has
/// already given the window and wide kernels theirs), on a software adapter, with at least 8
/// output channels a group (128 with subgroups), the unfolded input within
/// `MAX_UNFOLDED_FLOATS` and one image of it within a storage binding.
pub(super) fn applies(gpu: &Gpu, g: &Conv2dGeometry) -> bool {
    let image = unfolded_image(g);
    let min_channels = if gpu.has_subgroups() {
        SUBGROUP_COPY_MIN_CHANNELS
    } else {
        SUBGROUP_MIN_CHANNELS
    };
    !gpu.large_workgroups()
        && g.kernel != [1, 1]
        && g.out_channels / g.groups >= min_channels
        && g.batch * image <= MAX_UNFOLDED_FLOATS
        && image as u64 * 4 <= usable_binding_bytes(gpu)
}

/// The 1x1 convolution the unfolded input goes through.
pub(super) fn dense(g: &Conv2dGeometry) -> Conv2dGeometry {
    Conv2dGeometry {
        in_channels: g.in_channels * g.kernel[0] * g.kernel[1],
        in_height: g.out_height,
        in_width: g.out_width,
        kernel: [1, 1],
        stride: [1, 1],
        dilation: [1, 1],
        pads: Pads::default(),
        ..*g
    }
}

/// Records the unfolding and the 1x1 convolution (validated by the caller).
pub(super) fn record(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    options: &Conv2dOptions,
    g: &Conv2dGeometry,
) -> Result<Tensor> {
    let dense = dense(g);
    let shape = [g.batch, dense.in_channels, g.out_height, g.out_width];
    let unfolded = rows_to_new(input, UNFOLD, g, shape)?;
    let weight = weight.reshape(&[g.out_channels, dense.in_channels / g.groups, 1, 1])?;
    let options = Conv2dOptions {
        stride: [1, 1],
        padding: Padding::Zero,
        dilation: [1, 1],
        ..*options
    };
    super::conv2d(&unfolded, &weight, bias, &options)
}
