//! pool2d: max and average pooling with PyTorch semantics (options, validation and output
//! geometry in `geometry.rs`), the GPU wrappers over `shaders/pool2d.wgsl`
//! (one invocation per 4 consecutive outputs of a row; 8, read as vec4s, for k3 s2 p1 max and
//! k2 s2 avg pooling on rows of a multiple of 8, read as `vec4<u64>`s from
//! `shaders/pool2d_int64.wgsl` where [`Gpu::has_int64_loads`], or from its GLSL ports in
//! `shaders/glsl/` on GL, whose WGSL cannot say u64). Adaptive and global pooling live in
//! [`super::adaptive_pool2d`] and share `record_pool`. Batches larger than one storage binding
//! are split along N inside the op.

mod geometry;

pub use geometry::{AvgPool2dOptions, MaxPool2dOptions, Pool2dGeometry};

use super::batching::batch_chunks;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::tensor::Tensor;

/// Max-pooling argmax positions as a u32 GPU buffer shaped like the output: each the flat index
/// `row * W + column` inside its own input plane (PyTorch's `return_indices`). u32 keeps every
/// index exact, where float32 would stop at 2^24.
#[derive(Debug, Clone)]
pub struct PoolIndices {
    // The buffer holds u32 bit patterns; `Tensor` is only its allocation and binding helper.
    raw: Tensor,
}

impl PoolIndices {
    /// Wraps an op's u32 output buffer.
    pub(crate) fn new(raw: Tensor) -> PoolIndices {
        PoolIndices { raw }
    }

    pub fn shape(&self) -> &[usize] {
        self.raw.shape()
    }

    /// Submits pending work, waits, and returns the indices (row-major).
    pub fn to_vec(&self) -> Result<Vec<u32>> {
        let values = self.raw.to_vec()?;
        Ok(bytemuck::cast_slice::<f32, u32>(&values).to_vec())
    }

    /// The underlying wgpu buffer (row-major u32).
    pub fn buffer(&self) -> &wgpu::Buffer {
        self.raw.raw_buffer()
    }
}

/// Mirrors `Pool2dParams` in shaders/pool2d.wgsl field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Pool2dParams {
    pub planes: u32,
    pub in_height: u32,
    pub in_width: u32,
    pub out_height: u32,
    pub out_width: u32,
    pub kernel_height: u32,
    pub kernel_width: u32,
    pub stride_height: u32,
    pub stride_width: u32,
    pub pad_top: u32,
    pub pad_left: u32,
    pub dilation_height: u32,
    pub dilation_width: u32,
    pub count_include_pad: u32,
    pub divisor_override: u32,
    pub lanes_per_plane: u32,
    pub input_base: u32,
    pub output_base: u32,
}

impl Pool2dParams {
    fn windowed(g: &Pool2dGeometry) -> Self {
        Pool2dParams {
            in_height: g.in_height as u32,
            in_width: g.in_width as u32,
            out_height: g.out_height as u32,
            out_width: g.out_width as u32,
            kernel_height: g.kernel[0] as u32,
            kernel_width: g.kernel[1] as u32,
            stride_height: g.stride[0] as u32,
            stride_width: g.stride[1] as u32,
            pad_top: g.padding[0] as u32,
            pad_left: g.padding[1] as u32,
            dilation_height: g.dilation[0] as u32,
            dilation_width: g.dilation[1] as u32,
            ..Default::default()
        }
    }
}

pub(crate) const WORKGROUP_SIZE: usize = 64;

/// Records `entry_point` of pool2d.wgsl over `input` into a new `output_shape` tensor (and into
/// `indices`, shaped like the output, when given), one dispatch per batch chunk.
/// `workgroups(planes)` sizes the grid of a chunk of `planes` planes.
pub(crate) fn record_pool(
    kernel: Kernel,
    input: &Tensor,
    output_shape: [usize; 4],
    params: Pool2dParams,
    indices: Option<&Tensor>,
    workgroups: impl Fn(usize) -> usize,
) -> Result<Tensor> {
    let gpu = input.gpu();
    let [batch, channels, out_height, out_width] = output_shape;
    let in_image = input.len() / batch;
    let out_image = channels * out_height * out_width;
    let chunks = batch_chunks(gpu, kernel.entry_point, batch, in_image, out_image)?;
    let output = Tensor::output(gpu, &output_shape)?;
    for (first_image, images) in chunks {
        let (input_view, input_base) = input.view_range(first_image * in_image, images * in_image);
        let (output_view, output_base) =
            output.view_range(first_image * out_image, images * out_image);
        let mut views = vec![input_view, output_view];
        if let Some(indices) = indices {
            views.push(
                indices
                    .view_range(first_image * out_image, images * out_image)
                    .0,
            );
        }
        let chunk_params = Pool2dParams {
            planes: (images * channels) as u32,
            input_base,
            output_base,
            ..params
        };
        // The vector entry points need aligned bases: their chunks hold whole images of a
        // multiple of 8 floats, and views start at a multiple of 32 bytes.
        let aligned = input_base % 8 == 0 && output_base % 4 == 0;
        let vector =
            kernel.entry_point.ends_with("_vec4") || kernel.entry_point.ends_with("_int64");
        debug_assert!(aligned || !vector);
        let count = workgroups(images * channels) as u32;
        gpu.dispatch(kernel, &chunk_params, &views, count)?;
    }
    Ok(output)
}

/// Outputs per invocation of max_pool2d and avg_pool2d (`COLUMN_TILE` in pool2d.wgsl).
const COLUMN_TILE: usize = 4;

/// 4-output tiles per invocation of the vec4 entry points (`VECTOR_TILES` in pool2d.wgsl).
const VECTOR_TILES: usize = 2;
/// Output rows per invocation of the vec4 entry points and of their twins in pool2d_int64.wgsl
/// (`VECTOR_ROWS` in both).
const VECTOR_ROWS: usize = 8;

/// The vec4 max pool shares input rows between its windows: it needs kernel 3, stride 2,
/// padding 1 and no dilation down the columns as well.
fn max_3x3s2p1_rows(g: &Pool2dGeometry) -> bool {
    g.kernel[0] == 3 && g.stride[0] == 2 && g.padding[0] == 1 && g.dilation[0] == 1
}

/// The kernel for `g` and its grid: a vec4 one where the geometry has one (a row length that is
/// a multiple of 8 and an output row of half of it, with kernel 3 / stride 2 / padding 1 for max
/// or kernel 2 / stride 2 / no padding for avg along the row), else the general one. The vec4
/// kernels have twins in pool2d_int64.wgsl for adapters that load faster that way, which GL
/// runs as their GLSL ports (`shaders/glsl/`).
fn windowed_kernel(
    gpu: &Gpu,
    g: &Pool2dGeometry,
    general: &'static str,
) -> (Kernel, impl Fn(usize) -> usize) {
    let rows_fit =
        g.in_width.is_multiple_of(8) && g.out_width * 2 == g.in_width && g.dilation[1] == 1;
    let vector = match (general, g.kernel[1], g.stride[1], g.padding[1]) {
        ("max_pool2d", 3, 2, 1) if rows_fit && max_3x3s2p1_rows(g) => Some((
            "max_pool2d_k3s2p1_vec4",
            "max_pool2d_k3s2p1_int64",
            Shader::MaxPool2dK3s2p1Int64Glsl,
        )),
        ("avg_pool2d", 2, 2, 0) if rows_fit => Some((
            "avg_pool2d_k2s2_vec4",
            "avg_pool2d_k2s2_int64",
            Shader::AvgPool2dK2s2Int64Glsl,
        )),
        _ => None,
    };
    let kernel = match vector {
        Some((_, int64, glsl)) if gpu.glsl_kernels() => Kernel::new(glsl, int64),
        Some((_, int64, _)) if gpu.has_int64_loads() => Kernel::new(Shader::Pool2dInt64, int64),
        Some((vec4, ..)) => Kernel::new(Shader::Pool2d, vec4),
        None => Kernel::new(Shader::Pool2d, general),
    };
    let per_plane = match vector {
        Some(_) => {
            g.out_height.div_ceil(VECTOR_ROWS) * g.out_width.div_ceil(COLUMN_TILE * VECTOR_TILES)
        }
        None => g.out_height * g.out_width.div_ceil(COLUMN_TILE),
    };
    let workgroups = move |planes: usize| (planes * per_plane).div_ceil(WORKGROUP_SIZE);
    (kernel, workgroups)
}

/// 2-D max pooling (PyTorch's `F.max_pool2d`): padding never takes part, NaN propagates.
pub fn max_pool2d(input: &Tensor, options: &MaxPool2dOptions) -> Result<Tensor> {
    let g = Pool2dGeometry::max(input.shape(), options)?;
    let params = Pool2dParams::windowed(&g);
    let (kernel, workgroups) = windowed_kernel(input.gpu(), &g, "max_pool2d");
    record_pool(kernel, input, g.output_shape(), params, None, workgroups)
}

/// [`max_pool2d`] that also returns where each maximum came from (`return_indices=True`): the
/// first maximum of a window wins; a NaN always takes over, so a window with NaNs points at its
/// last NaN (PyTorch's rule).
pub fn max_pool2d_with_indices(
    input: &Tensor,
    options: &MaxPool2dOptions,
) -> Result<(Tensor, PoolIndices)> {
    let g = Pool2dGeometry::max(input.shape(), options)?;
    let params = Pool2dParams::windowed(&g);
    let (_, workgroups) = windowed_kernel(input.gpu(), &g, "max_pool2d_with_indices");
    // u32 bit patterns; poisoning fills them with 0x7fc00000, an index no plane reaches.
    let raw = Tensor::output(input.gpu(), &g.output_shape())?;
    let entry = "max_pool2d_with_indices";
    let output = record_pool(
        Kernel::new(Shader::Pool2d, entry),
        input,
        g.output_shape(),
        params,
        Some(&raw),
        workgroups,
    )?;
    Ok((output, PoolIndices::new(raw)))
}

/// 2-D average pooling (PyTorch's `F.avg_pool2d`), summing in f32.
pub fn avg_pool2d(input: &Tensor, options: &AvgPool2dOptions) -> Result<Tensor> {
    let g = Pool2dGeometry::avg(input.shape(), options)?;
    let params = Pool2dParams {
        count_include_pad: options.count_include_pad as u32,
        // Checked to fit by the geometry; 0 means no override.
        divisor_override: options.divisor_override.unwrap_or(0) as u32,
        ..Pool2dParams::windowed(&g)
    };
    let (kernel, workgroups) = windowed_kernel(input.gpu(), &g, "avg_pool2d");
    record_pool(kernel, input, g.output_shape(), params, None, workgroups)
}
