//! The registry of WGSL sources: one file per op family, loaded with `include_str!`, and the
//! typed pipeline-cache key `(Shader, entry point)`.

/// One WGSL source file in `shaders/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Shader {
    Conv2d,
    Conv2dDepthwise,
    Conv2dSubgroup,
    Conv2dWindow,
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
}

impl Shader {
    pub(crate) fn source(self) -> &'static str {
        match self {
            Shader::Conv2d => include_str!("../shaders/conv2d.wgsl"),
            Shader::Conv2dDepthwise => include_str!("../shaders/conv2d_depthwise.wgsl"),
            Shader::Conv2dSubgroup => include_str!("../shaders/conv2d_subgroup.wgsl"),
            Shader::Conv2dWindow => include_str!("../shaders/conv2d_window.wgsl"),
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
        }
    }

    pub(crate) fn file_name(self) -> &'static str {
        match self {
            Shader::Conv2d => "conv2d.wgsl",
            Shader::Conv2dDepthwise => "conv2d_depthwise.wgsl",
            Shader::Conv2dSubgroup => "conv2d_subgroup.wgsl",
            Shader::Conv2dWindow => "conv2d_window.wgsl",
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
