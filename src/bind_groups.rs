//! The bind-group cache: a dispatch over the same kernel and the same buffer ranges as an
//! earlier one (a layer run again on recycled buffers, a benchmark loop) reuses its bind group.
//! Creating one per dispatch and dropping it after the submission cost about 15 us of
//! submit-to-completion time per dispatch on lavapipe, where wgpu releases it.
//! An entry names its buffers, so it would keep them alive: [`BindGroupCache::forget`] drops
//! every entry naming a buffer as soon as the buffer leaves wgcnn (a tensor dropped without
//! its buffer going back to the pool), and the cache is emptied once it holds `CAPACITY`.

use crate::dispatch::View;
use crate::kernels::Kernel;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::Mutex;

/// Entries kept before the cache starts over.
const CAPACITY: usize = 1024;

/// What a kernel binds at binding 0, if anything: the wide kernels' weight texture, or a GLSL
/// kernel's parameters.
#[derive(Clone, Copy)]
pub(crate) enum BindingZero<'a> {
    Texture(&'a wgpu::TextureView),
    Uniform(&'a wgpu::Buffer),
}

/// `BindingZero`, owned, for a cache key.
#[derive(PartialEq, Eq, Hash)]
enum ZeroKey {
    Texture(wgpu::TextureView),
    Uniform(wgpu::Buffer),
}

/// A bind group's identity: the kernel (its pipeline's layout), what it binds at binding 0 if
/// anything, and each storage range, in binding order.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    kernel: Kernel,
    zero: Option<ZeroKey>,
    views: Vec<(wgpu::Buffer, u64, u64)>,
}

#[derive(Default)]
pub(crate) struct BindGroupCache {
    groups: Mutex<HashMap<Key, wgpu::BindGroup>>,
}

impl BindGroupCache {
    /// The bind group of `binding_zero` and `storage` (bindings 1.., in order) for `kernel`'s
    /// pipeline.
    pub(crate) fn get(
        &self,
        device: &wgpu::Device,
        kernel: Kernel,
        pipeline: &wgpu::ComputePipeline,
        binding_zero: Option<BindingZero>,
        storage: &[View],
    ) -> wgpu::BindGroup {
        let key = Key {
            kernel,
            zero: binding_zero.map(|resource| match resource {
                BindingZero::Texture(view) => ZeroKey::Texture(view.clone()),
                BindingZero::Uniform(buffer) => ZeroKey::Uniform(buffer.clone()),
            }),
            views: storage
                .iter()
                .map(|view| (view.buffer.clone(), view.offset, view.size))
                .collect(),
        };
        let mut groups = self.groups.lock().unwrap();
        if let Some(group) = groups.get(&key) {
            return group.clone();
        }
        if groups.len() >= CAPACITY {
            groups.clear();
        }
        let zero_entry = binding_zero.map(|resource| wgpu::BindGroupEntry {
            binding: 0,
            resource: match resource {
                BindingZero::Texture(view) => wgpu::BindingResource::TextureView(view),
                BindingZero::Uniform(buffer) => buffer.as_entire_binding(),
            },
        });
        let entries: Vec<wgpu::BindGroupEntry> = zero_entry
            .into_iter()
            .chain(
                (1..)
                    .zip(storage)
                    .map(|(binding, view)| wgpu::BindGroupEntry {
                        binding,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: view.buffer,
                            offset: view.offset,
                            size: NonZeroU64::new(view.size),
                        }),
                    }),
            )
            .collect();
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.entry_point),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        groups.insert(key, group.clone());
        group
    }

    /// Drops the entries that name `buffer`, so the cache never outlives a tensor's buffer.
    pub(crate) fn forget(&self, buffer: &wgpu::Buffer) {
        let mut groups = self.groups.lock().unwrap();
        groups.retain(|key, _| !key.views.iter().any(|(named, ..)| named == buffer));
    }

    /// Drops the entries that bind `texture`, a weight texture the pool lets go.
    pub(crate) fn forget_texture(&self, texture: &wgpu::TextureView) {
        let mut groups = self.groups.lock().unwrap();
        groups.retain(
            |key, _| !matches!(&key.zero, Some(ZeroKey::Texture(bound)) if bound == texture),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::{relu, Gpu, GpuOptions, HostTensor};

    fn cached(gpu: &Gpu) -> usize {
        gpu.inner.bind_groups.groups.lock().unwrap().len()
    }

    #[test]
    fn repeated_dispatches_share_a_bind_group_that_goes_with_its_buffers() {
        let gpu = Gpu::with_options(GpuOptions::default())
            .expect("an adapter (bash .ci/run installs them)");
        let x = HostTensor::new(&[1, 2, 3, 4], (0..24).map(|i| i as f32 - 12.0).collect())
            .unwrap()
            .upload(&gpu)
            .unwrap();
        let y = relu(&x).unwrap();
        assert_eq!(cached(&gpu), 1);
        drop(y); // back to the pool: its entry stays usable
        let y = relu(&x).unwrap();
        assert_eq!(
            cached(&gpu),
            1,
            "the second relu reuses the first one's bind group"
        );
        assert_eq!(y.to_vec().unwrap()[..13], [0.0; 13]);
        drop(x); // an uploaded tensor's buffer leaves wgcnn: no entry may keep it
        assert_eq!(cached(&gpu), 0);
    }
}
