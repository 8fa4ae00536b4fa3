//! conv2d's strided 1x1 path (adapters without subgroups; software adapters with them from 128
//! output channels a group). A 1x1 convolution at stride s reads only every s-th row and
//! column, so the input is first gathered to a dense `[N, C_in, H_out, W_out]` tensor
//! (`subsample` in `shaders/conv2d_pack.wgsl`, one small dispatch per batch chunk) and the
//! stride-1 paths run on it: the wide or window kernels or the projection GEMM. On GL llvmpipe
//! ResNet's downsampling shortcuts went from the portable kernel's 7.7-8.2 ms (64->128, 56x56)
//! and 15.5-16.3 ms (256->512, 14x14) to 3.3-3.5 and 5.0-5.5 in one stretch of runs
//! (BENCHMARKS.md). With subgroups `conv2d_subgroup` takes them directly below 128 output
//! channels a group (the window kernel on the gathered input took 1.05-1.26 times as long at 32
//! and 64 channels on lavapipe), and software adapters gather from 128 (0.78-1.00 of the time
//! from 128 to 2048 channels in three runs, ResNet-50's shortcuts 0.78-0.86).

use super::padded_rows::rows_to_new;
use super::{Conv2dGeometry, Conv2dOptions, SUBGROUP_COPY_MIN_CHANNELS};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::shape::Pads;
use crate::tensor::Tensor;

const SUBSAMPLE: Kernel = Kernel::new(Shader::Conv2dPack, "subsample");

/// Whether this convolution takes the gathered path: a 1x1 kernel at stride > 1 without
/// padding, on an adapter without subgroups or, with at least `SUBGROUP_COPY_MIN_CHANNELS`
/// output channels a group, on a software adapter with them.
pub(super) fn applies(gpu: &Gpu, g: &Conv2dGeometry) -> bool {
    let pays = !gpu.has_subgroups()
        || (!gpu.large_workgroups() && g.out_channels / g.groups >= SUBGROUP_COPY_MIN_CHANNELS);
    pays && g.kernel == [1, 1] && g.stride != [1, 1] && g.pads == Pads::default()
}

/// The stride-1 convolution the gathered input goes through.
pub(super) fn dense(g: &Conv2dGeometry) -> Conv2dGeometry {
    Conv2dGeometry {
        in_height: g.out_height,
        in_width: g.out_width,
        stride: [1, 1],
        ..*g
    }
}

/// Records the gather and the stride-1 convolution (validated by the caller).
pub(super) fn record(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    options: &Conv2dOptions,
    g: &Conv2dGeometry,
) -> Result<Tensor> {
    let shape = [g.batch, g.in_channels, g.out_height, g.out_width];
    let gathered = rows_to_new(input, SUBSAMPLE, g, shape)?;
    let options = Conv2dOptions {
        stride: [1, 1],
        ..*options
    };
    super::conv2d(&gathered, weight, bias, &options)
}
