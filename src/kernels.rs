//! The registry of shader sources, loaded with `include_str!`: one WGSL file per op family, and
//! the GLSL ports that GL llvmpipe runs in place of WGSL kernels it cannot express (one file per
//! entry point: GLSL has one); and the typed pipeline-cache key `(Shader, entry point)`.

/// One WGSL source file in `shaders/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Shader {
    Conv2d,
    Conv2dDepthwise,
    Conv2dSubgroup,
    Conv2dWindow,
    Conv2dWindow64,
    Conv2dWindowInt64,
    Conv2dWide,
    Conv2dPack,
    Conv2dSplit,
    Projection,
    ProjectionSubgroup,
    Pool2d,
    Pool2dInt64,
    AdaptivePool2d,
    Activation,
    BatchNorm,
    /// GLSL for GL, through wgpu's passthrough shaders: pool2d_int64.wgsl's entry point of the
    /// same name (`shaders/glsl/`).
    MaxPool2dK3s2p1Int64Glsl,
    /// As above, for `avg_pool2d_k2s2_int64`.
    AvgPool2dK2s2Int64Glsl,
    /// As above, for conv2d_window_int64.wgsl's `conv2d_window1_narrow_int64` (subgroup
    /// broadcasts from GL_ARB_shader_ballot).
    Conv2dWindow1NarrowInt64Glsl,
    /// As above, for conv2d_window64.wgsl's `conv2d_window3`.
    Conv2dWindow3Glsl,
}

/// How a GLSL kernel binds a storage buffer from binding 1 (binding 0 holds its parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GlslBinding {
    Read,
    ReadWrite,
}

/// What a shader file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    /// WGSL: parameters as immediates, storage from binding 1.
    Wgsl,
    /// GLSL 4.50 with 64-bit integers (GL_ARB_gpu_shader_int64), for GL llvmpipe: naga writes
    /// no 64-bit integers to GLSL. wgpu passes no immediates to a passthrough shader, so its
    /// parameters come in a uniform block at binding 0; its storage bindings are its WGSL
    /// twin's, from 1, as [`Shader::glsl_bindings`] lists them.
    Glsl,
}

impl Shader {
    pub(crate) fn source(self) -> &'static str {
        match self {
            Shader::Conv2d => include_str!("../shaders/conv2d.wgsl"),
            Shader::Conv2dDepthwise => include_str!("../shaders/conv2d_depthwise.wgsl"),
            Shader::Conv2dSubgroup => include_str!("../shaders/conv2d_subgroup.wgsl"),
            Shader::Conv2dWindow => include_str!("../shaders/conv2d_window.wgsl"),
            Shader::Conv2dWindow64 => include_str!("../shaders/conv2d_window64.wgsl"),
            Shader::Conv2dWindowInt64 => include_str!("../shaders/conv2d_window_int64.wgsl"),
            Shader::Conv2dWide => include_str!("../shaders/conv2d_wide.wgsl"),
            Shader::Conv2dPack => include_str!("../shaders/conv2d_pack.wgsl"),
            Shader::Conv2dSplit => include_str!("../shaders/conv2d_split.wgsl"),
            Shader::Projection => include_str!("../shaders/projection.wgsl"),
            Shader::ProjectionSubgroup => include_str!("../shaders/projection_subgroup.wgsl"),
            Shader::Pool2d => include_str!("../shaders/pool2d.wgsl"),
            Shader::Pool2dInt64 => include_str!("../shaders/pool2d_int64.wgsl"),
            Shader::AdaptivePool2d => include_str!("../shaders/adaptive_pool2d.wgsl"),
            Shader::Activation => include_str!("../shaders/activation.wgsl"),
            Shader::BatchNorm => include_str!("../shaders/batch_norm.wgsl"),
            Shader::MaxPool2dK3s2p1Int64Glsl => {
                include_str!("../shaders/glsl/max_pool2d_k3s2p1_int64.glsl")
            }
            Shader::AvgPool2dK2s2Int64Glsl => {
                include_str!("../shaders/glsl/avg_pool2d_k2s2_int64.glsl")
            }
            Shader::Conv2dWindow1NarrowInt64Glsl => {
                include_str!("../shaders/glsl/conv2d_window1_narrow_int64.glsl")
            }
            Shader::Conv2dWindow3Glsl => include_str!("../shaders/glsl/conv2d_window3.glsl"),
        }
    }

    pub(crate) fn language(self) -> Language {
        match self {
            Shader::MaxPool2dK3s2p1Int64Glsl
            | Shader::AvgPool2dK2s2Int64Glsl
            | Shader::Conv2dWindow1NarrowInt64Glsl
            | Shader::Conv2dWindow3Glsl => Language::Glsl,
            _ => Language::Wgsl,
        }
    }

    /// A GLSL shader's buffers from binding 1, in order, and its workgroup size (a WGSL
    /// kernel's bind group layout comes from its source instead).
    pub(crate) fn glsl_bindings(self) -> (&'static [GlslBinding], u32) {
        use GlslBinding::*;
        match self {
            Shader::MaxPool2dK3s2p1Int64Glsl | Shader::AvgPool2dK2s2Int64Glsl => {
                (&[Read, ReadWrite], 64)
            }
            Shader::Conv2dWindow1NarrowInt64Glsl => (&[Read, Read, Read, ReadWrite], 8),
            Shader::Conv2dWindow3Glsl => (&[Read, Read, Read, ReadWrite], 16),
            _ => (&[], 0),
        }
    }

    pub(crate) fn file_name(self) -> &'static str {
        match self {
            Shader::Conv2d => "conv2d.wgsl",
            Shader::Conv2dDepthwise => "conv2d_depthwise.wgsl",
            Shader::Conv2dSubgroup => "conv2d_subgroup.wgsl",
            Shader::Conv2dWindow => "conv2d_window.wgsl",
            Shader::Conv2dWindow64 => "conv2d_window64.wgsl",
            Shader::Conv2dWindowInt64 => "conv2d_window_int64.wgsl",
            Shader::Conv2dWide => "conv2d_wide.wgsl",
            Shader::Conv2dPack => "conv2d_pack.wgsl",
            Shader::Conv2dSplit => "conv2d_split.wgsl",
            Shader::Projection => "projection.wgsl",
            Shader::ProjectionSubgroup => "projection_subgroup.wgsl",
            Shader::Pool2d => "pool2d.wgsl",
            Shader::Pool2dInt64 => "pool2d_int64.wgsl",
            Shader::AdaptivePool2d => "adaptive_pool2d.wgsl",
            Shader::Activation => "activation.wgsl",
            Shader::BatchNorm => "batch_norm.wgsl",
            Shader::MaxPool2dK3s2p1Int64Glsl => "glsl/max_pool2d_k3s2p1_int64.glsl",
            Shader::AvgPool2dK2s2Int64Glsl => "glsl/avg_pool2d_k2s2_int64.glsl",
            Shader::Conv2dWindow1NarrowInt64Glsl => "glsl/conv2d_window1_narrow_int64.glsl",
            Shader::Conv2dWindow3Glsl => "glsl/conv2d_window3.glsl",
        }
    }
}

/// A compute entry point, and the value of its `TILES_PER_WORKGROUP` override where it has one:
/// the pipeline-cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Kernel {
    pub shader: Shader,
    pub entry_point: &'static str,
    /// The `TILES_PER_WORKGROUP` pipeline constant (the entry point's `@workgroup_size`); 0 for
    /// entry points without that override.
    pub tiles_per_workgroup: u32,
}

impl Kernel {
    pub(crate) const fn new(shader: Shader, entry_point: &'static str) -> Self {
        Kernel {
            shader,
            entry_point,
            tiles_per_workgroup: 0,
        }
    }

    /// The same entry point compiled with `TILES_PER_WORKGROUP = tiles`.
    pub(crate) const fn with_tiles(self, tiles: usize) -> Self {
        Kernel {
            tiles_per_workgroup: tiles as u32,
            ..self
        }
    }
}
