//! conv2d's strided 1x1 path on adapters without subgroups. A 1x1 convolution at stride s
//! reads only every s-th row and column, so the input is first gathered to a dense
//! `[N, C_in, H_out, W_out]` tensor (`subsample` in `shaders/conv2d_pack.wgsl`, one small
//! dispatch per batch chunk) and the stride-1 paths run on it: the wide kernels or the
//! projection GEMM. On GL llvmpipe ResNet's downsampling shortcuts went from the portable
//! kernel's 7.7-8.2 ms (64->128, 56x56) and 15.5-16.3 ms (256->512, 14x14) to 3.3-3.5 and
//! 5.0-5.5 in one stretch of runs (BENCHMARKS.md). With subgroups `conv2d_subgroup` takes them
//! directly: there the window kernel on the gathered input measured slower (1.6 against 1.1 ms).

use super::padded_rows::rows_to_new;
use super::{Conv2dGeometry, Conv2dOptions};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::shape::Pads;
use crate::tensor::Tensor;

const SUBSAMPLE: Kernel = Kernel::new(Shader::Conv2dPack, "subsample");

/// Whether this convolution takes the gathered path: a 1x1 kernel at stride > 1 without
/// padding, on an adapter without subgroups.
pub(super) fn applies(gpu: &Gpu, g: &Conv2dGeometry) -> bool {
    !gpu.has_subgroups() && g.kernel == [1, 1] && g.stride != [1, 1] && g.pads == Pads::default()
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
