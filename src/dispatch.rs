//! The wgpu ceremony in one place: pipeline cache, buffer allocation, recording a dispatch into
//! the shared command encoder, submitting, and reading back.
//!
//! Grid convention: every entry point sees a 1-D logical grid of workgroups. When the count
//! exceeds the per-dimension limit (65,535) it is laid out as `x * y`, and the shader rebuilds
//! the linear index as `workgroup_id.x + workgroup_id.y * num_workgroups.x` (and ignores the
//! few padding workgroups past the end).

use crate::bind_groups::BindingZero;
use crate::error::{Error, Result};
use crate::glsl::{glsl_layout, glsl_module};
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Language};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use wgpu::util::DeviceExt;

/// The commands recorded since the last submission: the encoder and the compute pass that
/// consecutive dispatches go into. One pass for a run of dispatches, not one each: on lavapipe a
/// dispatch in a new pass cost ~0.037 ms and one more in an open pass ~0.015 ms (wgpu still
/// orders every dispatch after the writes of the one before). The pass keeps the encoder locked,
/// so it is dropped (ended) before the encoder records anything else or finishes.
pub(crate) struct Recording {
    pass: Option<wgpu::ComputePass<'static>>,
    encoder: wgpu::CommandEncoder,
}

impl Recording {
    fn new(device: &wgpu::Device) -> Recording {
        Recording {
            pass: None,
            encoder: device.create_command_encoder(&Default::default()),
        }
    }
}

/// A byte range of a buffer bound as one storage binding.
pub(crate) struct View<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub offset: u64,
    pub size: u64,
}

impl Gpu {
    /// The cached pipeline for `kernel`, compiled on first use. Compile errors become `Err`.
    pub(crate) fn pipeline(&self, kernel: Kernel) -> Result<Arc<wgpu::ComputePipeline>> {
        if let Some(pipeline) = self.inner.pipelines.lock().unwrap().get(&kernel) {
            return Ok(pipeline.clone());
        }
        let device = &self.inner.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut modules = self.inner.modules.lock().unwrap();
        let module =
            modules
                .entry(kernel.shader)
                .or_insert_with(|| match kernel.shader.language() {
                    Language::Wgsl => device.create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(kernel.shader.file_name()),
                        source: wgpu::ShaderSource::Wgsl(kernel.shader.source().into()),
                    }),
                    Language::Glsl => glsl_module(device, kernel),
                });
        let tiles = [("TILES_PER_WORKGROUP", f64::from(kernel.tiles_per_workgroup))];
        let constants: &[(&str, f64)] = if kernel.tiles_per_workgroup == 0 {
            &[]
        } else {
            &tiles
        };
        let layout = match kernel.shader.language() {
            Language::Wgsl => None,
            Language::Glsl => Some(glsl_layout(device, kernel.shader)),
        };
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.entry_point),
            layout: layout.as_ref(),
            module,
            entry_point: Some(kernel.entry_point),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                ..Default::default()
            },
            cache: None,
        });
        drop(modules);
        if let Some(error) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!(
                "compiling {}::{}: {error}",
                kernel.shader.file_name(),
                kernel.entry_point
            )));
        }
        let pipeline = Arc::new(pipeline);
        let mut pipelines = self.inner.pipelines.lock().unwrap();
        Ok(pipelines.entry(kernel).or_insert(pipeline).clone())
    }

    /// A storage buffer of `len` floats, and whether it may be recycled: NaN-filled when
    /// poisoning is on (never recycled), else taken from the pool of dropped outputs of the same
    /// size or newly created.
    pub(crate) fn alloc(&self, len: usize, label: &str) -> Result<(wgpu::Buffer, bool)> {
        let bytes = (len.max(1) * 4) as u64;
        if bytes > self.inner.limits.max_buffer_size {
            return Err(Error::TooLarge {
                what: format!("a tensor of {len} floats"),
                bytes,
                limit_name: "the adapter's max_buffer_size",
                limit: self.inner.limits.max_buffer_size,
            });
        }
        // UNIFORM: conv2d_wide1_narrow_uniform binds its packed weights as a uniform buffer.
        let usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::UNIFORM
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST;
        if self.inner.poison.load(Ordering::Relaxed) {
            let nan = vec![f32::NAN; len.max(1)];
            let buffer = self
                .inner
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: bytemuck::cast_slice(&nan),
                    usage,
                });
            return Ok((buffer, false));
        }
        if let Some(buffer) = self
            .inner
            .free_buffers
            .lock()
            .unwrap()
            .get_mut(&bytes)
            .and_then(Vec::pop)
        {
            return Ok((buffer, true));
        }
        let descriptor = wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage,
            mapped_at_creation: false,
        };
        Ok((self.inner.device.create_buffer(&descriptor), true))
    }

    /// Records one dispatch of `kernel` over `workgroups` workgroups (a 1-D logical grid).
    /// `params` travel as immediates (the shader's `var<immediate>`: no buffer per dispatch), or
    /// for a GLSL kernel in a uniform buffer at binding 0 ([`Gpu::params_buffer`]); bindings 1..
    /// are `storage`, in order.
    pub(crate) fn dispatch<P: bytemuck::Pod>(
        &self,
        kernel: Kernel,
        params: &P,
        storage: &[View],
        workgroups: u32,
    ) -> Result<()> {
        self.dispatch_with_texture(kernel, params, None, storage, workgroups)
    }

    /// As [`Gpu::dispatch`], with `texture` (if any) bound at binding 0.
    pub(crate) fn dispatch_with_texture<P: bytemuck::Pod>(
        &self,
        kernel: Kernel,
        params: &P,
        texture: Option<&wgpu::TextureView>,
        storage: &[View],
        workgroups: u32,
    ) -> Result<()> {
        if workgroups == 0 {
            return Ok(());
        }
        let pipeline = self.pipeline(kernel)?;
        let device = &self.inner.device;
        let glsl = kernel.shader.language() == Language::Glsl;
        let uniform = glsl.then(|| self.params_buffer(bytemuck::bytes_of(params)));
        let binding_zero = uniform
            .as_ref()
            .map(BindingZero::Uniform)
            .or(texture.map(BindingZero::Texture));
        let bind_group =
            self.inner
                .bind_groups
                .get(device, kernel, &pipeline, binding_zero, storage);
        let max = self.inner.grid_width;
        let (x, y) = if workgroups <= max {
            (workgroups, 1)
        } else {
            (max, workgroups.div_ceil(max))
        };
        let mut recording = self.inner.recording.lock().unwrap();
        let recording = recording.get_or_insert_with(|| Recording::new(device));
        let encoder = &mut recording.encoder;
        let pass = recording.pass.get_or_insert_with(|| {
            encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("wgcnn"),
                    timestamp_writes: None,
                })
                .forget_lifetime()
        });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        if !glsl {
            pass.set_immediates(0, bytemuck::bytes_of(params));
        }
        pass.dispatch_workgroups(x, y, 1);
        Ok(())
    }

    /// Records a buffer-to-buffer copy into the shared encoder.
    pub(crate) fn copy(
        &self,
        source: &wgpu::Buffer,
        source_offset: u64,
        target: &wgpu::Buffer,
        target_offset: u64,
        bytes: u64,
    ) {
        let mut recording = self.inner.recording.lock().unwrap();
        let recording = recording.get_or_insert_with(|| Recording::new(&self.inner.device));
        recording.pass = None; // a copy goes between passes
        recording.encoder.copy_buffer_to_buffer(
            source,
            source_offset,
            target,
            target_offset,
            bytes,
        );
    }

    /// Submits everything recorded so far as one command buffer, without waiting.
    pub fn submit(&self) -> Result<()> {
        let recording = self.inner.recording.lock().unwrap().take();
        if let Some(Recording { pass, encoder }) = recording {
            drop(pass); // ends the compute pass
            self.inner.queue.submit([encoder.finish()]);
            self.inner.submissions.fetch_add(1, Ordering::Relaxed);
        }
        self.take_errors()
    }

    /// Submits everything recorded so far and waits until the device has finished it.
    pub fn synchronize(&self) -> Result<()> {
        self.submit()?;
        self.wait()?;
        self.take_errors()
    }

    /// Waits until the device has finished everything submitted: polls it for up to
    /// `GpuOptions::spin_wait`, yielding between polls, then blocks.
    fn wait(&self) -> Result<()> {
        let device = &self.inner.device;
        let start = std::time::Instant::now();
        while start.elapsed() < self.inner.spin_wait {
            let status = device
                .poll(wgpu::PollType::Poll)
                .map_err(|e| Error::Gpu(e.to_string()))?;
            if status.is_queue_empty() {
                return Ok(());
            }
            std::thread::yield_now();
        }
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(e.to_string()))?;
        Ok(())
    }

    fn take_errors(&self) -> Result<()> {
        let errors = std::mem::take(&mut *self.inner.errors.lock().unwrap());
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Gpu(errors.join("; ")))
        }
    }

    /// Submits pending work, copies `bytes` of `buffer` to a staging buffer and returns them.
    pub(crate) fn read_buffer(&self, buffer: &wgpu::Buffer, bytes: u64) -> Result<Vec<f32>> {
        let staging = self.inner.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.copy(buffer, 0, &staging, 0, bytes);
        self.submit()?;
        let (sender, receiver) = futures_intrusive::channel::shared::oneshot_channel();
        staging
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |result| {
                sender.send(result).ok();
            });
        self.wait()?;
        match pollster::block_on(receiver.receive()) {
            Some(Ok(())) => {}
            Some(Err(error)) => {
                return Err(Error::Gpu(format!("mapping the readback buffer: {error}")))
            }
            None => return Err(Error::Gpu("the readback buffer was never mapped".into())),
        }
        let values = {
            let view = staging
                .slice(..)
                .get_mapped_range()
                .map_err(|e| Error::Gpu(e.to_string()))?;
            bytemuck::cast_slice::<u8, f32>(&view).to_vec()
        };
        staging.unmap();
        self.take_errors()?;
        Ok(values)
    }
}
