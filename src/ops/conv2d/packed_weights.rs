//! The window and wide kernels' weights (`window.rs`), repacked on the GPU
//! (`shaders/conv2d_pack.wgsl`, one small dispatch) so that each channel tile's weights are one
//! contiguous run: into a buffer for the window kernels (with subgroups), into an `rgba32float`
//! texture for the wide kernels (`shaders/conv2d_wide.wgsl`, without), which read it with
//! `textureLoad`: on llvmpipe a texel fetch is one 16-byte load per lane, where a storage-buffer
//! vec4 is four bounds-checked scalar loads per lane (GL's convolutions take 0.80-0.94 of the
//! time, BENCHMARKS.md). Texture layout: packed vec4 `i` is texel (`i % WEIGHT_TEXTURE_WIDTH`,
//! `i / WEIGHT_TEXTURE_WIDTH`). Textures are pooled by row count, so a layer run again binds
//! the same texture (and reuses its bind group). `conv2d_wide1_narrow_uniform` takes its packed
//! weights (at most 64 KiB) from a uniform buffer instead: on llvmpipe a uniform-buffer vec4
//! costs less than a texel fetch (GL: conv1x1_proj 0.83 and conv1x1_incep 0.8 of the time with
//! the texture). `conv2d_window1_narrow_int64` reads the weight as given.

use super::{Conv2dGeometry, Conv2dParams};
use crate::dispatch::View;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::ops::batching::check_fits;
use crate::tensor::Tensor;
use std::sync::atomic::Ordering;

/// Texels a row (`WEIGHT_TEXTURE_WIDTH` in conv2d_wide.wgsl and conv2d_pack.wgsl).
const WEIGHT_TEXTURE_WIDTH: usize = 4096;
/// The window kernels' channel tile, and the tile `pack_weights` packs for them (`CHANNEL_TILE`
/// in conv2d_window.wgsl).
pub(super) const PACKED_CHANNEL_TILE: usize = 32;
/// pack_weights' workgroup (`WORKGROUP_SIZE` in conv2d_pack.wgsl).
const WORKGROUP_SIZE: usize = 64;
const PACK: Kernel = Kernel::new(Shader::Conv2dPack, "pack_weights");
const PACK_QUADS: Kernel = Kernel::new(Shader::Conv2dPack, "pack_weights_quads");
const PACK_OCTETS: Kernel = Kernel::new(Shader::Conv2dPack, "pack_weights_octets");
const PACK_SIXTEENS: Kernel = Kernel::new(Shader::Conv2dPack, "pack_weights_sixteens");
const PACK_SIXTEENS_BUFFER: Kernel =
    Kernel::new(Shader::Conv2dPack, "pack_weights_sixteens_buffer");
/// `conv2d_wide1_narrow_uniform`, which reads its packed weights from a uniform buffer.
pub(super) const WIDE1_NARROW_UNIFORM: Kernel =
    Kernel::new(Shader::Conv2dWide, "conv2d_wide1_narrow_uniform");
/// Floats in that uniform buffer (`uniform_weight` in conv2d_wide.wgsl: 4096 vec4s, 64 KiB).
const UNIFORM_WEIGHT_FLOATS: usize = 16384;

/// Where a packing puts the packed weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Destination {
    /// A storage buffer of exactly the packed length (the window kernels).
    Buffer,
    /// A 64 KiB buffer bound as a uniform buffer (`conv2d_wide1_narrow_uniform`).
    Uniform,
    /// A pooled weight texture (the other wide kernels).
    Texture,
}

/// How a kernel takes its weights: repacked by `pack` into tiles of the channels one invocation
/// (the wide kernels: 4, 8 or 16) or one subgroup (the window kernels: 32) computes,
/// `channels_per_group` a group with zeros past the group's channels.
#[derive(Debug, Clone, Copy)]
pub(super) struct Packing {
    pack: Kernel,
    destination: Destination,
    channels_per_group: usize,
}

impl Packing {
    /// The packing of `kernel`, whose invocations compute `tile_channels` output channels;
    /// `None` for a kernel that reads the weight as given (`conv2d_window1_narrow_int64`).
    pub(super) fn of(kernel: Kernel, tile_channels: usize, g: &Conv2dGeometry) -> Option<Packing> {
        let out_per_group = g.out_channels / g.groups;
        use Destination::*;
        let (pack, destination, tile) = match (kernel.shader, tile_channels) {
            (Shader::Conv2dWindowInt64, _) => return None,
            _ if kernel == WIDE1_NARROW_UNIFORM => (PACK_SIXTEENS_BUFFER, Uniform, 16),
            (Shader::Conv2dWide, 4) => (PACK_QUADS, Texture, 4),
            (Shader::Conv2dWide, 16) => (PACK_SIXTEENS, Texture, 16),
            (Shader::Conv2dWide, _) => (PACK_OCTETS, Texture, 8),
            _ => (PACK, Buffer, PACKED_CHANNEL_TILE),
        };
        Some(Packing {
            pack,
            destination,
            channels_per_group: out_per_group.next_multiple_of(tile),
        })
    }

    /// Floats in the packed weight.
    fn len(&self, g: &Conv2dGeometry) -> usize {
        g.in_channels * g.kernel[0] * g.kernel[1] * self.channels_per_group
    }

    /// Whether the packed weight fits this adapter (a texture's rows, the 64 KiB uniform
    /// buffer and the adapter's uniform bindings; a storage buffer is checked when it is made,
    /// with its own error).
    pub(super) fn fits(&self, gpu: &Gpu, g: &Conv2dGeometry) -> bool {
        match self.destination {
            Destination::Buffer => true,
            Destination::Uniform => {
                self.len(g) <= UNIFORM_WEIGHT_FLOATS
                    && gpu.limits().max_uniform_buffer_binding_size
                        >= UNIFORM_WEIGHT_FLOATS as u64 * 4
            }
            Destination::Texture => fits(gpu, self.len(g) / 4),
        }
    }
}

/// A kernel's weights, bound where it reads them.
pub(super) enum Weights<'a> {
    AsGiven(&'a Tensor),
    Buffer(Tensor),
    /// 64 KiB (`UNIFORM_WEIGHT_FLOATS`), bound as a uniform buffer after the other operands.
    Uniform(Tensor),
    Texture(WeightTexture),
}

impl<'a> Weights<'a> {
    /// Records the repacking of `weight` for `packing` (nothing for `None`). `params`: the
    /// convolution's.
    pub(super) fn pack(
        packing: Option<Packing>,
        weight: &'a Tensor,
        g: &Conv2dGeometry,
        params: &Conv2dParams,
    ) -> Result<Weights<'a>> {
        let Some(packing) = packing else {
            return Ok(Weights::AsGiven(weight));
        };
        let gpu = weight.gpu();
        let len = packing.len(g);
        // pack_weights*: groups x channel quads x blocks of 64 taps (see the shader).
        let taps = g.in_channels / g.groups * g.kernel[0] * g.kernel[1];
        let workgroups =
            (g.groups * taps.div_ceil(WORKGROUP_SIZE) * packing.channels_per_group / 4) as u32;
        if packing.destination == Destination::Texture {
            let texture = WeightTexture::take(gpu, len / 4)?;
            let views = [weight.view()];
            let view = Some(texture.view());
            gpu.dispatch_with_texture(packing.pack, params, view, &views, workgroups)?;
            return Ok(Weights::Texture(texture));
        }
        // The shader's uniform array is 64 KiB whatever the weight: the binding must be too.
        let packed_len = if packing.destination == Destination::Uniform {
            UNIFORM_WEIGHT_FLOATS
        } else {
            check_fits(gpu, "conv2d packed weight", len)?;
            len
        };
        let packed = Tensor::output(gpu, &[packed_len])?;
        let views = [weight.view(), packed.view()];
        gpu.dispatch(packing.pack, params, &views, workgroups)?;
        Ok(match packing.destination {
            Destination::Uniform => Weights::Uniform(packed),
            _ => Weights::Buffer(packed),
        })
    }

    /// Records `kernel` over `workgroups` with these weights: a texture at binding 0 and
    /// input, bias, output at 1-3; input, bias, output, uniform weights at 1-4; else input,
    /// weights, bias, output at 1-4.
    pub(super) fn dispatch(
        &self,
        kernel: Kernel,
        params: &Conv2dParams,
        [input, bias, output]: [View; 3],
        workgroups: u32,
    ) -> Result<()> {
        match self {
            Weights::Texture(texture) => {
                let gpu = &texture.gpu;
                let view = Some(texture.view());
                gpu.dispatch_with_texture(kernel, params, view, &[input, bias, output], workgroups)
            }
            Weights::AsGiven(weight) => {
                let views = [input, weight.view(), bias, output];
                weight.gpu().dispatch(kernel, params, &views, workgroups)
            }
            Weights::Buffer(packed) => {
                let views = [input, packed.view(), bias, output];
                packed.gpu().dispatch(kernel, params, &views, workgroups)
            }
            Weights::Uniform(packed) => {
                let views = [input, bias, output, packed.view()];
                packed.gpu().dispatch(kernel, params, &views, workgroups)
            }
        }
    }
}

/// Free textures kept per row count.
const FREE_TEXTURES_PER_SIZE: usize = 4;

/// A pooled weight texture and its view, back to the pool when dropped.
pub(super) struct WeightTexture {
    gpu: Gpu,
    rows: u32,
    texture: Option<(wgpu::Texture, wgpu::TextureView)>,
}

/// Rows of a texture that holds `texels` packed vec4s.
fn rows_for(texels: usize) -> usize {
    texels.div_ceil(WEIGHT_TEXTURE_WIDTH).max(1)
}

/// Whether `texels` packed vec4s fit one weight texture on this adapter.
fn fits(gpu: &Gpu, texels: usize) -> bool {
    let side = gpu.limits().max_texture_dimension_2d as usize;
    WEIGHT_TEXTURE_WIDTH <= side && rows_for(texels) <= side
}

impl WeightTexture {
    /// A texture of at least `texels` texels: from the pool, or new.
    fn take(gpu: &Gpu, texels: usize) -> Result<WeightTexture> {
        if !fits(gpu, texels) {
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

    fn view(&self) -> &wgpu::TextureView {
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
