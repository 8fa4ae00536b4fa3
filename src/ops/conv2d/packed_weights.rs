//! The window and wide kernels' weights (`window.rs`), repacked on the GPU
//! (`shaders/conv2d_pack.wgsl`, one small dispatch) so that each channel tile's weights are one
//! contiguous run: into a buffer for the window kernels (with subgroups), into an `rgba32float`
//! texture for the wide kernels (`shaders/conv2d_wide.wgsl`, without; `weight_texture.rs`),
//! which read it with `textureLoad`: on llvmpipe a texel fetch is one 16-byte load per lane,
//! where a storage-buffer vec4 is four bounds-checked scalar loads per lane (GL's convolutions
//! take 0.80-0.94 of the time, BENCHMARKS.md). `conv2d_wide1_narrow_uniform` takes its packed
//! weights (at most 64 KiB) from a uniform buffer instead: on llvmpipe a uniform-buffer vec4
//! costs less than a texel fetch (GL: conv1x1_proj 0.83 and conv1x1_incep 0.8 of the time with
//! the texture). `conv2d_window1_narrow_int64` reads the weight as given.
//!
//! The weight tensor keeps its packed copy (`Tensor::keep_packed_weights`), so a layer run
//! again records no packing: an op that writes the weight in place drops the copy, a tensor
//! whose raw buffer was handed out (`Tensor::buffer`) keeps none, and
//! `GpuOptions::keep_packed_weights` can turn keeping off (for memory).

use super::weight_texture::{texture_fits, WeightTexture};
use super::{Conv2dGeometry, Conv2dParams};
use crate::dispatch::View;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{Kernel, Shader};
use crate::ops::batching::check_fits;
use crate::tensor::Tensor;
use std::sync::Arc;

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
            (Shader::Conv2dWindowInt64 | Shader::Conv2dWindow1NarrowInt64Glsl, _) => return None,
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
            Destination::Texture => texture_fits(gpu, self.len(g) / 4),
        }
    }
}

/// A weight packed for one packing: the same values give the same packed weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PackKey {
    pack: Kernel,
    channels_per_group: usize,
    groups: usize,
    in_channels_per_group: usize,
    out_channels_per_group: usize,
    kernel: [usize; 2],
}

impl PackKey {
    fn new(packing: &Packing, g: &Conv2dGeometry) -> PackKey {
        PackKey {
            pack: packing.pack,
            channels_per_group: packing.channels_per_group,
            groups: g.groups,
            in_channels_per_group: g.in_channels / g.groups,
            out_channels_per_group: g.out_channels / g.groups,
            kernel: g.kernel,
        }
    }
}

/// A repacked weight, kept by the weight tensor: a convolution with the same weight and packing
/// packs nothing (GL conv1x1_incep: 0.9 of the time, BENCHMARKS.md). Its texture goes back to
/// the pool when the weight is dropped.
pub(crate) struct PackedWeights {
    key: PackKey,
    store: Store,
}

/// Where packed weights live.
enum Store {
    Buffer(Tensor),
    /// 64 KiB (`UNIFORM_WEIGHT_FLOATS`), bound as a uniform buffer after the other operands.
    Uniform(Tensor),
    Texture(WeightTexture),
}

/// A kernel's weights, bound where it reads them.
pub(super) enum Weights<'a> {
    AsGiven(&'a Tensor),
    Packed(Arc<PackedWeights>),
}

impl<'a> Weights<'a> {
    /// The weights for `packing`: the weight as given for `None`, else its packed copy, kept
    /// from an earlier convolution or recorded now. `params`: the convolution's.
    pub(super) fn pack(
        packing: Option<Packing>,
        weight: &'a Tensor,
        g: &Conv2dGeometry,
        params: &Conv2dParams,
    ) -> Result<Weights<'a>> {
        let Some(packing) = packing else {
            return Ok(Weights::AsGiven(weight));
        };
        let key = PackKey::new(&packing, g);
        let keep = weight.gpu().inner.keep_packed_weights;
        if let Some(kept) = weight
            .packed_weights()
            .filter(|kept| keep && kept.key == key)
        {
            return Ok(Weights::Packed(kept));
        }
        let packed = Arc::new(PackedWeights {
            key,
            store: record_pack(&packing, weight, g, params)?,
        });
        if keep {
            weight.keep_packed_weights(packed.clone());
        }
        Ok(Weights::Packed(packed))
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
        let (gpu, views) = match self {
            Weights::AsGiven(weight) => (weight.gpu(), [input, weight.view(), bias, output]),
            Weights::Packed(packed) => match &packed.store {
                Store::Texture(texture) => {
                    let gpu = &texture.gpu;
                    let view = Some(texture.view());
                    let views = [input, bias, output];
                    return gpu.dispatch_with_texture(kernel, params, view, &views, workgroups);
                }
                Store::Buffer(packed) => (packed.gpu(), [input, packed.view(), bias, output]),
                Store::Uniform(packed) => (packed.gpu(), [input, bias, output, packed.view()]),
            },
        };
        gpu.dispatch(kernel, params, &views, workgroups)
    }
}

/// Records the repacking of `weight` for `packing`.
fn record_pack(
    packing: &Packing,
    weight: &Tensor,
    g: &Conv2dGeometry,
    params: &Conv2dParams,
) -> Result<Store> {
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
        return Ok(Store::Texture(texture));
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
        Destination::Uniform => Store::Uniform(packed),
        _ => Store::Buffer(packed),
    })
}

#[cfg(test)]
mod tests {
    use crate::{conv2d, relu_in_place, Conv2dOptions, Gpu, GpuOptions, Tensor};
    use std::sync::Arc;

    /// The packing conv2d keeps with `weight` after one convolution of `input` with it.
    fn kept_after_convolving(input: &Tensor, weight: &Tensor) -> Option<usize> {
        conv2d(input, weight, None, &Conv2dOptions::default()).unwrap();
        weight
            .packed_weights()
            .map(|kept| Arc::as_ptr(&kept) as usize)
    }

    /// Values are tests/conv2d_packed_weights.rs's business; this is about what is kept.
    #[test]
    fn a_weight_keeps_its_packing_until_written_in_place_or_handed_out() {
        let gpu = Gpu::new().expect("an adapter (bash .ci/run installs them)");
        let input = Tensor::zeros(&gpu, &[1, 20, 6, 6]).unwrap(); // 20 channels: no int64 kernel
        let weight = Tensor::zeros(&gpu, &[40, 20, 1, 1]).unwrap();
        let first = kept_after_convolving(&input, &weight);
        assert!(
            first.is_some(),
            "a window or wide kernel packs (and keeps) its weights"
        );
        assert_eq!(kept_after_convolving(&input, &weight), first, "reused");
        relu_in_place(&weight).unwrap();
        assert!(
            weight.packed_weights().is_none(),
            "dropped by the in-place write"
        );
        let repacked = kept_after_convolving(&input, &weight);
        assert!(repacked.is_some());
        assert_eq!(kept_after_convolving(&input, &weight), repacked);
        let _ = weight.buffer();
        assert!(weight.packed_weights().is_none(), "dropped when handed out");
        assert_eq!(
            kept_after_convolving(&input, &weight),
            None,
            "never kept again"
        );
        gpu.synchronize().unwrap();
    }

    #[test]
    fn a_gpu_that_keeps_no_packing_packs_every_call() {
        let gpu = Gpu::with_options(GpuOptions {
            keep_packed_weights: Some(false),
            ..Default::default()
        })
        .expect("an adapter (bash .ci/run installs them)");
        let input = Tensor::zeros(&gpu, &[1, 20, 6, 6]).unwrap(); // 20 channels: no int64 kernel
        let weight = Tensor::zeros(&gpu, &[40, 20, 1, 1]).unwrap();
        assert_eq!(kept_after_convolving(&input, &weight), None);
        assert_eq!(kept_after_convolving(&input, &weight), None);
        gpu.synchronize().unwrap();
    }
}
