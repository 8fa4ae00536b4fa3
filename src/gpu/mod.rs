//! `Gpu`: the one context type. It owns the wgpu instance, adapter, device and queue, the
//! lazily filled pipeline cache and the command encoder that ops record into. Cloning a `Gpu`
//! is cheap (an `Arc`); tensors keep a clone so they can read themselves back.

mod options;

use crate::driver_lock::{self, Release, DRIVER};
use crate::error::{Error, Result};
use crate::kernels::{Kernel, Shader};
use options::device_rank;
pub use options::{AdapterInfo, AdapterPreference, GpuOptions};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A GPU context. See the module docs.
#[derive(Clone)]
pub struct Gpu {
    pub(crate) inner: Arc<GpuInner>,
}

pub(crate) struct GpuInner {
    pub id: u64,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: AdapterInfo,
    pub limits: wgpu::Limits,
    pub subgroups: bool,
    /// A software adapter (lavapipe, llvmpipe): kernels that tune their grid for it ask this.
    pub cpu_adapter: bool,
    pub int64_loads: bool,
    /// The `_int64` kernels run as their GLSL ports (`shaders/glsl/`): GL, with
    /// PASSTHROUGH_SHADERS.
    pub glsl_kernels: bool,
    /// ... and the GLSL window kernels, which need subgroups of at least 8 lanes, with them.
    pub glsl_subgroups: bool,
    pub channel_split_outputs: usize,
    pub large_workgroups: bool,
    pub keep_packed_weights: bool,
    /// How long a wait polls before it blocks (`GpuOptions::spin_wait`).
    pub spin_wait: Duration,
    pub max_binding_bytes: u64,
    /// Workgroups along x before a dispatch wraps into y.
    pub grid_width: u32,
    pub poison: AtomicBool,
    pub submissions: AtomicU64,
    pub modules: Mutex<HashMap<Shader, wgpu::ShaderModule>>,
    pub pipelines: Mutex<HashMap<Kernel, Arc<wgpu::ComputePipeline>>>,
    /// The GLSL kernels' parameter buffers, by contents (`Gpu::params_buffer`).
    pub params_buffers: Mutex<HashMap<Vec<u8>, wgpu::Buffer>>,
    pub recording: Mutex<Option<crate::dispatch::Recording>>,
    pub bind_groups: crate::bind_groups::BindGroupCache,
    /// Buffers of dropped op outputs, by size in bytes, for reuse by later outputs.
    pub free_buffers: Mutex<HashMap<u64, Vec<wgpu::Buffer>>>,
    /// The wide kernels' weight textures and views, by row count (`ops::conv2d::packed_weights`).
    pub free_weight_textures: Mutex<HashMap<u32, Vec<(wgpu::Texture, wgpu::TextureView)>>>,
    pub errors: Arc<Mutex<Vec<String>>>,
    // Kept alive for the device's lifetime.
    _instance: wgpu::Instance,
    _adapter: wgpu::Adapter,
    /// Last, so that everything above is dropped under the driver lock (see `Drop`).
    release: Release,
}

impl Drop for GpuInner {
    /// Tears the device down under the driver lock; `release` lets go of it once every other
    /// field is dropped.
    fn drop(&mut self) {
        DRIVER.acquire();
        self.release.armed = true;
    }
}

static NEXT_GPU_ID: AtomicU64 = AtomicU64::new(1);

/// The outputs a channel split aims for on a GPU (`GpuOptions::channel_split_outputs`): enough
/// invocations to fill a large GPU with the window kernels' 128-output tiles.
const CHANNEL_SPLIT_OUTPUTS: usize = 1 << 20;

/// `GpuOptions::spin_wait` on Vulkan software adapters.
const SOFTWARE_VULKAN_SPIN_WAIT: Duration = Duration::from_millis(1);

/// The largest parameter struct (conv2d's, 100 bytes) fits; Vulkan guarantees 128.
const MIN_IMMEDIATE_BYTES: u32 = 128;

impl Gpu {
    /// Opens the default adapter: honours `WGPU_BACKEND` and `WGPU_ADAPTER_NAME`, prefers a
    /// real GPU and falls back to a software adapter.
    pub fn new() -> Result<Gpu> {
        Gpu::with_options(GpuOptions::default())
    }

    /// Opens an adapter chosen by `options`.
    pub fn with_options(options: GpuOptions) -> Result<Gpu> {
        let _held = driver_lock::hold();
        pollster::block_on(Gpu::open(options))
    }

    async fn open(options: GpuOptions) -> Result<Gpu> {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle().with_env();
        if let Some(backends) = options.backends {
            descriptor.backends = backends;
        }
        let backends = descriptor.backends;
        let instance = wgpu::Instance::new(descriptor);
        let wanted_name = options
            .adapter_name
            .clone()
            .or_else(|| std::env::var("WGPU_ADAPTER_NAME").ok())
            .map(|name| name.to_lowercase());
        let mut adapters = instance.enumerate_adapters(backends).await;
        adapters.retain(|adapter| match &wanted_name {
            Some(name) => adapter.get_info().name.to_lowercase().contains(name),
            None => true,
        });
        adapters
            .sort_by_key(|adapter| device_rank(adapter.get_info().device_type, options.preference));
        let Some(adapter) = adapters.into_iter().next() else {
            return Err(Error::NoAdapter {
                backends: format!("{backends:?}"),
                name_note: wanted_name
                    .map(|n| format!(", name containing '{n}'"))
                    .unwrap_or_default(),
            });
        };
        let raw_info = adapter.get_info();
        let info = AdapterInfo {
            name: raw_info.name.clone(),
            backend: format!("{:?}", raw_info.backend),
            device_type: format!("{:?}", raw_info.device_type),
            driver: format!("{} {}", raw_info.driver, raw_info.driver_info)
                .trim()
                .to_string(),
        };
        // Subgroup kernels assume subgroups of at least 8 invocations (lavapipe: 8, GPUs: 32-64).
        let subgroups = adapter.features().contains(wgpu::Features::SUBGROUP)
            && raw_info.subgroup_min_size >= 8;
        // The `_int64` kernels read floats in pairs, as u64s: llvmpipe loads storage values
        // component by component, so that halves their loads' cost there; on a real GPU it buys
        // nothing. naga writes no 64-bit integers to GLSL, so on GL they run as GLSL ports,
        // which need passthrough shaders and GL_ARB_gpu_shader_int64 (llvmpipe has it).
        let cpu_adapter = raw_info.device_type == wgpu::DeviceType::Cpu;
        let wants_int64 = options.int64_loads.unwrap_or(cpu_adapter);
        let glsl_kernels = wants_int64
            && raw_info.backend == wgpu::Backend::Gl
            && adapter
                .features()
                .contains(wgpu::Features::PASSTHROUGH_SHADERS);
        let int64_loads = wants_int64
            && (glsl_kernels || adapter.features().contains(wgpu::Features::SHADER_INT64));
        // The GLSL window kernels broadcast across subgroups of 8. wgpu reports no subgroup size on
        // GL; llvmpipe's subgroup is one SIMD register of 32-bit lanes, and it names the
        // register's width: "llvmpipe (LLVM 15.0.6, 256 bits)".
        let glsl_subgroups = glsl_kernels && simd_lanes(&raw_info.name) >= 8;
        // Every kernel takes its parameters as immediates (push constants; GL emulates them).
        if !adapter.features().contains(wgpu::Features::IMMEDIATES)
            || adapter.limits().max_immediate_size < MIN_IMMEDIATE_BYTES
        {
            return Err(Error::DeviceRequest {
                adapter: info.name.clone(),
                reason: format!(
                    "wgcnn needs immediates (push constants) of at least {MIN_IMMEDIATE_BYTES} bytes; \
                     this adapter offers {} bytes",
                    adapter.limits().max_immediate_size
                ),
            });
        }
        let mut required_features = wgpu::Features::IMMEDIATES;
        if subgroups {
            required_features |= wgpu::Features::SUBGROUP;
        }
        if glsl_kernels {
            required_features |= wgpu::Features::PASSTHROUGH_SHADERS;
        } else if int64_loads {
            required_features |= wgpu::Features::SHADER_INT64;
        }
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("wgcnn"),
                required_features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::DeviceRequest {
                adapter: info.name.clone(),
                reason: e.to_string(),
            })?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            sink.lock().unwrap().push(error.to_string());
        }));
        let max_binding_bytes = options
            .max_storage_binding_bytes
            .map_or(limits.max_storage_buffer_binding_size, |cap| {
                cap.min(limits.max_storage_buffer_binding_size)
            });
        let device_width = limits.max_compute_workgroups_per_dimension.max(1);
        let grid_width = options
            .max_workgroups_per_dimension
            .map_or(device_width, |cap| cap.clamp(1, device_width));
        Ok(Gpu {
            inner: Arc::new(GpuInner {
                id: NEXT_GPU_ID.fetch_add(1, Ordering::Relaxed),
                device,
                queue,
                info,
                limits,
                subgroups,
                cpu_adapter,
                int64_loads,
                glsl_kernels,
                glsl_subgroups,
                channel_split_outputs: options.channel_split_outputs.unwrap_or(if cpu_adapter {
                    0
                } else {
                    CHANNEL_SPLIT_OUTPUTS
                }),
                large_workgroups: options.large_workgroups.unwrap_or(!cpu_adapter),
                keep_packed_weights: options.keep_packed_weights.unwrap_or(true),
                spin_wait: options.spin_wait.unwrap_or(
                    if cpu_adapter && raw_info.backend == wgpu::Backend::Vulkan {
                        SOFTWARE_VULKAN_SPIN_WAIT
                    } else {
                        Duration::ZERO
                    },
                ),
                max_binding_bytes,
                grid_width,
                poison: AtomicBool::new(options.poison_outputs),
                submissions: AtomicU64::new(0),
                modules: Mutex::new(HashMap::new()),
                pipelines: Mutex::new(HashMap::new()),
                params_buffers: Mutex::new(HashMap::new()),
                recording: Mutex::new(None),
                bind_groups: Default::default(),
                free_buffers: Mutex::new(HashMap::new()),
                free_weight_textures: Mutex::new(HashMap::new()),
                errors,
                _instance: instance,
                _adapter: adapter,
                release: Release::default(),
            }),
        })
    }

    /// The adapter in use: name, backend, device type, driver.
    pub fn adapter_info(&self) -> &AdapterInfo {
        &self.inner.info
    }

    /// Whether the subgroup kernels run here: the adapter has subgroup operations (GL llvmpipe
    /// does not) with subgroups of at least 8 invocations.
    pub fn has_subgroups(&self) -> bool {
        self.inner.subgroups
    }

    /// Whether the `_int64` kernels run here: by default a CPU adapter with 64-bit integers in
    /// shaders, where loading floats in pairs as u64s is faster (`GpuOptions::int64_loads`):
    /// lavapipe (WGSL with SHADER_INT64: also conv2d_window64.wgsl for the window kernels) and
    /// GL llvmpipe (the GLSL ports in `shaders/glsl/`).
    pub fn has_int64_loads(&self) -> bool {
        self.inner.int64_loads
    }

    /// Whether the `_int64` pool kernels run as their GLSL ports (GL).
    pub(crate) fn glsl_kernels(&self) -> bool {
        self.inner.glsl_kernels
    }

    /// Whether the window kernels' GLSL ports (1x1, stride-1 3x3) run too: GL llvmpipe with
    /// subgroups of at least 8 lanes.
    pub(crate) fn glsl_subgroups(&self) -> bool {
        self.inner.glsl_subgroups
    }

    /// How many outputs a convolution split over its input channels may reach (see
    /// [`GpuOptions::channel_split_outputs`]; 0: no split).
    pub fn channel_split_outputs(&self) -> usize {
        self.inner.channel_split_outputs
    }

    /// Whether the subgroup convolution kernels use 64-tile workgroups (see
    /// [`GpuOptions::large_workgroups`]).
    pub fn large_workgroups(&self) -> bool {
        self.inner.large_workgroups
    }

    /// How long a wait polls the device before it blocks (see [`GpuOptions::spin_wait`]).
    pub fn spin_wait(&self) -> Duration {
        self.inner.spin_wait
    }

    /// The device's limits (adapter maximums; wgcnn requests all of them).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.inner.limits
    }

    /// The largest storage binding ops plan with (the device limit, or a lower test cap).
    pub fn max_storage_binding_bytes(&self) -> u64 {
        self.inner.max_binding_bytes
    }

    /// Turns NaN-poisoning of op outputs on or off (see [`GpuOptions::poison_outputs`]).
    pub fn set_poison_outputs(&self, poison: bool) {
        self.inner.poison.store(poison, Ordering::Relaxed);
    }

    /// How many command buffers this Gpu has submitted so far (each holds every op recorded
    /// since the previous one). Lets callers check that a chain ran as one submission.
    pub fn submission_count(&self) -> u64 {
        self.inner.submissions.load(Ordering::Relaxed)
    }

    /// The wgpu device, for callers that mix wgcnn with their own wgpu work.
    pub fn device(&self) -> &wgpu::Device {
        &self.inner.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.inner.queue
    }

    pub(crate) fn same_as(&self, other: &Gpu) -> bool {
        self.inner.id == other.inner.id
    }
}

/// Dropped outputs kept per buffer size; more are released to the device.
const FREE_BUFFERS_PER_SIZE: usize = 4;

impl GpuInner {
    /// Takes back a dropped tensor's buffer: kept for the next output of the same size when it
    /// may be recycled and the pool has room, else let go (with the bind groups naming it).
    pub(crate) fn release(&self, buffer: wgpu::Buffer, recyclable: bool) {
        if recyclable {
            let mut free = self.free_buffers.lock().unwrap();
            let list = free.entry(buffer.size()).or_default();
            if list.len() < FREE_BUFFERS_PER_SIZE {
                list.push(buffer);
                return;
            }
        }
        self.bind_groups.forget(&buffer);
    }
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.inner.info)
            .finish()
    }
}

/// 32-bit lanes in the SIMD register llvmpipe names in its adapter name ("..., 256 bits)": 8);
/// 0 for any other name.
fn simd_lanes(adapter_name: &str) -> u32 {
    adapter_name
        .strip_suffix(" bits)")
        .and_then(|rest| rest.rsplit(' ').next())
        .and_then(|bits| bits.parse::<u32>().ok())
        .map_or(0, |bits| bits / 32)
}

#[cfg(test)]
mod tests {
    use super::simd_lanes;

    #[test]
    fn simd_lanes_reads_llvmpipes_register_width() {
        assert_eq!(simd_lanes("llvmpipe (LLVM 15.0.6, 256 bits)"), 8);
        assert_eq!(simd_lanes("llvmpipe (LLVM 19.1.7, 128 bits)"), 4);
        assert_eq!(simd_lanes("NVIDIA H200"), 0);
        assert_eq!(simd_lanes("llvmpipe (LLVM 15.0.6, many bits)"), 0);
    }
}
