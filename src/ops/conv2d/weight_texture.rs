//! The pooled `rgba32float` textures that the wide kernels read their packed weights from
//! (`packed_weights.rs`): packed vec4 `i` is texel (`i % WEIGHT_TEXTURE_WIDTH`,
//! `i / WEIGHT_TEXTURE_WIDTH`). A texture goes back to a pool kept per row count when the
//! packed weight holding it is dropped, so the next weight of that size packs into it (and its
//! bind groups stay cached).

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use std::sync::atomic::Ordering;

/// Texels a row (`WEIGHT_TEXTURE_WIDTH` in conv2d_wide.wgsl and conv2d_pack.wgsl).
const WEIGHT_TEXTURE_WIDTH: usize = 4096;

/// Free textures kept per row count.
const FREE_TEXTURES_PER_SIZE: usize = 4;

/// A pooled weight texture and its view, back to the pool when dropped.
pub(super) struct WeightTexture {
    pub(super) gpu: Gpu,
    rows: u32,
    texture: Option<(wgpu::Texture, wgpu::TextureView)>,
}

/// Rows of a texture that holds `texels` packed vec4s.
fn rows_for(texels: usize) -> usize {
    texels.div_ceil(WEIGHT_TEXTURE_WIDTH).max(1)
}

/// Whether `texels` packed vec4s fit one weight texture on this adapter.
pub(super) fn texture_fits(gpu: &Gpu, texels: usize) -> bool {
    let side = gpu.limits().max_texture_dimension_2d as usize;
    WEIGHT_TEXTURE_WIDTH <= side && rows_for(texels) <= side
}

impl WeightTexture {
    /// A texture of at least `texels` texels: from the pool, or new.
    pub(super) fn take(gpu: &Gpu, texels: usize) -> Result<WeightTexture> {
        if !texture_fits(gpu, texels) {
            let limit = gpu.limits().max_texture_dimension_2d;
            return Err(Error::TooLarge {
                what: format!("conv2d packed weight of {texels} texels"),
                bytes: texels as u64 * 16,
                limit_name: "the adapter's max_texture_dimension_2d rows of 4096 texels",
                limit: u64::from(limit) * WEIGHT_TEXTURE_WIDTH as u64 * 16,
            });
        }
        let rows = rows_for(texels) as u32;
        // Poisoning (tests): always a new texture, NaN-filled, so texels the pack misses show.
        let poison = gpu.inner.poison.load(Ordering::Relaxed);
        let pooled = if poison {
            None
        } else {
            let mut free = gpu.inner.free_weight_textures.lock().unwrap();
            free.get_mut(&rows).and_then(Vec::pop)
        };
        let texture = pooled.unwrap_or_else(|| {
            let size = wgpu::Extent3d {
                width: WEIGHT_TEXTURE_WIDTH as u32,
                height: rows,
                depth_or_array_layers: 1,
            };
            let texture = gpu.device().create_texture(&wgpu::TextureDescriptor {
                label: Some("conv2d packed weight"),
                size,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::Rgba32Float,
                usage: wgpu::TextureUsages::TEXTURE_BINDING
                    | wgpu::TextureUsages::STORAGE_BINDING
                    | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            });
            if poison {
                let nan = vec![f32::NAN; WEIGHT_TEXTURE_WIDTH * 4 * rows as usize];
                gpu.queue().write_texture(
                    texture.as_image_copy(),
                    bytemuck::cast_slice(&nan),
                    wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(WEIGHT_TEXTURE_WIDTH as u32 * 16),
                        rows_per_image: Some(rows),
                    },
                    size,
                );
            }
            let view = texture.create_view(&Default::default());
            (texture, view)
        });
        Ok(WeightTexture {
            gpu: gpu.clone(),
            rows,
            texture: Some(texture),
        })
    }

    pub(super) fn view(&self) -> &wgpu::TextureView {
        &self.texture.as_ref().expect("taken until dropped").1
    }
}

impl Drop for WeightTexture {
    /// Back to the pool; wgpu orders a later use after the commands recorded with this one.
    fn drop(&mut self) {
        if let Some(texture) = self.texture.take() {
            let mut free = self.gpu.inner.free_weight_textures.lock().unwrap();
            let list = free.entry(self.rows).or_default();
            if list.len() < FREE_TEXTURES_PER_SIZE {
                list.push(texture);
            } else {
                self.gpu.inner.bind_groups.forget_texture(&texture.1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{WeightTexture, WEIGHT_TEXTURE_WIDTH};
    use crate::{Gpu, GpuOptions};

    #[test]
    fn textures_come_back_to_the_pool_by_rows_and_poisoning_takes_new_ones() {
        let options = |poison_outputs| GpuOptions {
            poison_outputs,
            ..Default::default()
        };
        let gpu =
            Gpu::with_options(options(false)).expect("an adapter (bash .ci/run installs them)");
        let first = WeightTexture::take(&gpu, 10).unwrap();
        let view = first.view().clone();
        let two_rows = WeightTexture::take(&gpu, WEIGHT_TEXTURE_WIDTH + 1).unwrap();
        assert_ne!(two_rows.view(), &view, "the first is still taken");
        drop(first);
        assert_eq!(
            WeightTexture::take(&gpu, WEIGHT_TEXTURE_WIDTH)
                .unwrap()
                .view(),
            &view
        );
        assert_ne!(
            WeightTexture::take(&gpu, 2 * WEIGHT_TEXTURE_WIDTH)
                .unwrap()
                .view(),
            &view
        );

        let poisoned = Gpu::with_options(options(true)).unwrap();
        let first = WeightTexture::take(&poisoned, 10).unwrap();
        let view = first.view().clone();
        drop(first);
        assert_ne!(WeightTexture::take(&poisoned, 10).unwrap().view(), &view);
    }
}
