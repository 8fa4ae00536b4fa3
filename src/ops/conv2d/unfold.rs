//! conv2d as a 1x1 convolution over its unfolded input (im2col). `unfold` in
//! `shaders/conv2d_pack.wgsl` copies what each tap reads to a channel of its own, [N, C_in * KH *
//! KW, H_out, W_out], and the 1x1 paths (window, int64 or wide kernels, or the projection GEMM)
//! run on it with the weight seen as [C_out, C_in/groups * KH * KW, 1, 1], which is its layout
//! already (groups stay contiguous). It costs the unfolded copy (KH * KW times the input read
//! again), and pays on software adapters (GPUs were not measured either way, so they keep the
//! direct kernels):
//! - on lavapipe, where the 1x1 takes an int64 kernel (`conv2d_window_int64.wgsl`), against the
//!   window kernels too: 3x3 at stride 2 from 64 output channels a group (0.74-0.89 of
//!   `conv2d_window3_stride2`'s time), at stride 1 from 128 (0.84-0.90 of `conv2d_window3`'s),
//!   other kernels from 96 (0.77-0.88 of `conv2d_subgroup`'s); 5x5 at stride 1 stays in
//!   `conv2d_window5` (1.27-1.39 times as long unfolded);
//! - elsewhere for the kernels the window and wide kernels do not cover (dilation, 1x7 and 7x1,
//!   other sizes and strides): without subgroups (GL) from 8 output channels a group (1.1-3.7
//!   times faster than the portable kernel), with them from 128 (0.82-0.97 of
//!   `conv2d_subgroup`'s time through `conv2d_window1`, 1.04-1.06 at 96).

use super::padded_rows::rows_to_new;
use super::{
    window, Conv2dGeometry, Conv2dOptions, SUBGROUP_COPY_MIN_CHANNELS, SUBGROUP_MIN_CHANNELS,
};
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

/// Whether this convolution takes the unfolded path (checked before the window kernels): a
/// kernel other than 1x1 on a software adapter, with the unfolded input within
/// `MAX_UNFOLDED_FLOATS` and one image of it within a storage binding, and
/// - where the unfolded 1x1 takes an int64 kernel (lavapipe: 64-bit words, input channels a
///   group a multiple of 8), from `int64_min_channels` output channels a group;
/// - else where no window or wide kernel covers it, from 8 output channels a group without
///   subgroups and `SUBGROUP_COPY_MIN_CHANNELS` with them.
pub(super) fn applies(gpu: &Gpu, g: &Conv2dGeometry) -> bool {
    let image = unfolded_image(g);
    let fits =
        g.batch * image <= MAX_UNFOLDED_FLOATS && image as u64 * 4 <= usable_binding_bytes(gpu);
    if gpu.large_workgroups() || g.kernel == [1, 1] || !fits {
        return false;
    }
    let out_per_group = g.out_channels / g.groups;
    let dense_kernel = window::kernel(gpu, &dense(g));
    if dense_kernel.is_some_and(|window| window.kernel.shader == Shader::Conv2dWindowInt64) {
        return int64_min_channels(g).is_some_and(|min| out_per_group >= min);
    }
    let min_channels = if gpu.has_subgroups() {
        SUBGROUP_COPY_MIN_CHANNELS
    } else {
        SUBGROUP_MIN_CHANNELS
    };
    out_per_group >= min_channels && window::kernel(gpu, g).is_none()
}

/// The fewest output channels a group from which unfolding into an int64 1x1 kernel beats the
/// kernel that runs `g` directly on lavapipe (the copy costs in proportion to the unfolded input,
/// the int64 kernel saves in proportion to that times the output channels; BENCHMARKS.md): 128
/// against `conv2d_window3`, 64 against `conv2d_window3_stride2`, 96 against the general kernels
/// (dilated, 1x7, 5x5 at stride 2, ...); never against `conv2d_window5` (1.27-1.39 times as long
/// at 32 outputs) or the stride-2 7x7 stem kernel.
fn int64_min_channels(g: &Conv2dGeometry) -> Option<usize> {
    match (g.kernel, g.stride, g.dilation) {
        ([3, 3], [1, 1], [1, 1]) => Some(128),
        ([3, 3], [2, 2], [1, 1]) => Some(64),
        ([5, 5], [1, 1], [1, 1]) | ([7, 7], [2, 2], [1, 1]) => None,
        _ => Some(96),
    }
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
