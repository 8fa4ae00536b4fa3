//! The GLSL ports (`shaders/glsl/`): GL llvmpipe runs them in place of WGSL kernels that naga
//! cannot write for GL (64-bit words, subgroup broadcasts). Each reaches the driver as it is,
//! through wgpu's passthrough shaders, which wgpu neither reflects nor passes immediates to: so
//! here are their shader modules, their pipeline layouts (parameters in a uniform block at
//! binding 0, then the WGSL kernel's storage bindings) and the uniform buffers that carry their
//! parameters.

use crate::gpu::Gpu;
use crate::kernels::{GlslBinding, Kernel, Language, Shader};
use wgpu::util::DeviceExt;

impl Gpu {
    /// A uniform buffer holding `bytes`, for a GLSL kernel's parameters: one per distinct
    /// contents, never written again (a submission runs after all of its recording, so a buffer
    /// rewritten between two dispatches would give both the last contents), and kept so that a
    /// layer run again finds its bind group cached. Emptied once it holds `PARAMS_BUFFERS`.
    pub(crate) fn params_buffer(&self, bytes: &[u8]) -> wgpu::Buffer {
        let mut buffers = self.inner.params_buffers.lock().unwrap();
        if let Some(buffer) = buffers.get(bytes) {
            return buffer.clone();
        }
        if buffers.len() >= PARAMS_BUFFERS {
            buffers.clear();
        }
        // A std140 block's size is a multiple of 16 bytes.
        let mut contents = bytes.to_vec();
        contents.resize(bytes.len().next_multiple_of(16), 0);
        let buffer = self
            .inner
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("glsl parameters"),
                contents: &contents,
                usage: wgpu::BufferUsages::UNIFORM,
            });
        buffers.insert(bytes.to_vec(), buffer.clone());
        buffer
    }
}

/// The shader module of a GLSL `kernel`: its source handed to the GL driver as it is.
pub(crate) fn glsl_module(device: &wgpu::Device, kernel: Kernel) -> wgpu::ShaderModule {
    debug_assert_eq!(kernel.shader.language(), Language::Glsl);
    // SAFETY: the GLSL files are fixed sources that tests/shaders.rs validates with glslang and
    // the GPU tests compile and check against the CPU reference on GL; the Gpu asks for them
    // only on the GL backend, with PASSTHROUGH_SHADERS (`Gpu::glsl_kernels`).
    unsafe {
        device.create_shader_module_passthrough(wgpu::ShaderModuleDescriptorPassthrough {
            label: Some(kernel.shader.file_name()),
            entry_points: vec![wgpu::PassthroughShaderEntryPoint {
                name: kernel.entry_point.into(),
                workgroup_size: (kernel.shader.glsl_bindings().1, 1, 1),
            }]
            .into(),
            glsl: Some(kernel.shader.source().into()),
            ..Default::default()
        })
    }
}

/// Parameter buffers kept before [`Gpu::params_buffer`] starts over.
const PARAMS_BUFFERS: usize = 256;

/// A GLSL kernel's pipeline layout, which wgpu cannot read from a passthrough shader: the
/// parameters' uniform block at binding 0, then its storage bindings.
pub(crate) fn glsl_layout(device: &wgpu::Device, shader: Shader) -> wgpu::PipelineLayout {
    let buffer = |binding: u32, ty: wgpu::BufferBindingType| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let entries: Vec<_> = std::iter::once(buffer(0, wgpu::BufferBindingType::Uniform))
        .chain((1..).zip(shader.glsl_bindings().0).map(|(binding, kind)| {
            let ty = match kind {
                GlslBinding::Read => wgpu::BufferBindingType::Storage { read_only: true },
                GlslBinding::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
            };
            buffer(binding, ty)
        }))
        .collect();
    let group = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(shader.file_name()),
        entries: &entries,
    });
    device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(shader.file_name()),
        bind_group_layouts: &[Some(&group)],
        immediate_size: 0,
    })
}
