//! How a `Gpu` is opened (`GpuOptions`, `AdapterPreference`) and what it reports about its
//! adapter (`AdapterInfo`).

/// Which kind of adapter `Gpu::with_options` prefers when several match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdapterPreference {
    /// A real GPU (discrete, then integrated, then virtual), falling back to a software adapter.
    #[default]
    HardwareFirst,
    /// A software (CPU) adapter such as lavapipe or llvmpipe, falling back to a GPU.
    SoftwareFirst,
}

/// How to choose the adapter. `GpuOptions::default()` reads `WGPU_BACKEND` and
/// `WGPU_ADAPTER_NAME`, exactly as `Gpu::new()` does.
#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    /// Backends to search; `None` reads `WGPU_BACKEND` (e.g. `vulkan`, `gl`), else all.
    pub backends: Option<wgpu::Backends>,
    /// Case-insensitive substring of the adapter name; `None` reads `WGPU_ADAPTER_NAME`.
    pub adapter_name: Option<String>,
    /// Which adapter kind wins when several match.
    pub preference: AdapterPreference,
    /// Lowers the storage-binding size the ops plan with (never raises it). Tests use this to
    /// exercise the split paths on small tensors.
    pub max_storage_binding_bytes: Option<u64>,
    /// Lowers the number of workgroups a dispatch puts along x before it lays the grid out in
    /// 2-D (never raises the device's 65,535-style limit). Tests use this to exercise the 2-D
    /// grid on small tensors.
    pub max_workgroups_per_dimension: Option<u32>,
    /// Fill every op's output with NaN before the kernel runs, so unwritten elements show.
    pub poison_outputs: bool,
    /// How many outputs a convolution split over its input channels may reach: conv2d cuts the
    /// input channels into up to 64 chunks while chunks x outputs stays within this
    /// (`src/ops/conv2d/channel_split.rs`). `None`: 2^20 on GPUs, 0 (never split) on software
    /// adapters. Tests raise it to exercise the split there; 0 turns it off.
    pub channel_split_outputs: Option<usize>,
    /// Whether the subgroup convolution kernels (`conv2d_window*`, `conv2d_subgroup`) put 64
    /// tiles in a workgroup, whole warps and waves, instead of 16 (8 for
    /// `conv2d_window1_narrow`), which deal small convolutions out evenly to a CPU adapter's few
    /// threads. `None`: on GPUs, not on software adapters. Off, conv2d also routes as measured
    /// on software adapters (KxK on padded rows and sparse groups to the window or wide kernels,
    /// other kernels unfolded: `src/ops/conv2d/window.rs`, `unfold.rs`); on,
    /// as on GPUs. Tests set it to run the GPU layout and routing on a software adapter.
    pub large_workgroups: Option<bool>,
    /// Whether the `_int64` kernels (pool2d_int64.wgsl, conv2d_window_int64.wgsl, and
    /// conv2d_window64.wgsl for conv2d_window.wgsl) run where the adapter has 64-bit integers:
    /// they read floats in pairs, which halves the cost of a load on a CPU adapter. On GL, whose
    /// GLSL naga writes without 64-bit integers, the pools, the 1x1 kernel and the stride-1 3x3
    /// window kernel run as GLSL ports (`shaders/glsl/`, through wgpu's passthrough shaders;
    /// they need GL_ARB_gpu_shader_int64, and the convolutions GL_ARB_shader_ballot with
    /// subgroups of 8, as llvmpipe has). `None`: on software adapters only. Tests turn it off
    /// to run the kernels they replace there.
    pub int64_loads: Option<bool>,
    /// Whether a weight tensor keeps conv2d's repacked copy of itself for its next convolution
    /// (the window and wide kernels, `src/ops/conv2d/packed_weights.rs`): a layer run again then
    /// records one dispatch instead of two, and the copy (about the weight's size) lives as long
    /// as the weight. `None`: keep. `Some(false)` packs on every call and keeps nothing.
    pub keep_packed_weights: Option<bool>,
    /// How long `Gpu::synchronize` and readbacks poll the device, yielding the thread between
    /// polls, before they block until it finishes. A blocked thread wakes some time after the
    /// device is done; on lavapipe that was about 0.07 ms of a 0.17 ms round trip for a tiny
    /// dispatch, and small kernels (global pooling, conv1x1_incep) took 0.6-0.8 of their time
    /// with 1 ms of polling (BENCHMARKS.md). Yielding leaves the cores to llvmpipe's workers.
    /// `None`: 1 ms on Vulkan software adapters, where that was measured; no polling elsewhere
    /// (GL llvmpipe runs the work inside `queue.submit`, so nothing is left to wait for; GPUs
    /// not measured yet).
    pub spin_wait: Option<std::time::Duration>,
}

/// What ran: the adapter's name, backend, device type and driver.
#[derive(Debug, Clone)]
pub struct AdapterInfo {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
}

impl std::fmt::Display for AdapterInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {}, {})",
            self.name, self.backend, self.device_type, self.driver
        )
    }
}

pub(super) fn device_rank(device_type: wgpu::DeviceType, preference: AdapterPreference) -> u8 {
    use wgpu::DeviceType::*;
    let hardware = match device_type {
        DiscreteGpu => 0,
        IntegratedGpu => 1,
        VirtualGpu => 2,
        Other => 3,
        Cpu => 4,
    };
    match preference {
        AdapterPreference::HardwareFirst => hardware,
        AdapterPreference::SoftwareFirst => 4 - hardware,
    }
}
