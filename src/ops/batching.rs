//! Splitting work along the batch so that every storage binding stays within the adapter's
//! limit (128 MiB on the software adapters). Ops call [`batch_chunks`] before recording
//! anything, so a tensor that cannot be split is refused before any work is written.

use crate::error::{Error, Result};
use crate::gpu::Gpu;

/// Largest binding the ops plan with: the device limit (or a test cap), at most 4 GiB so that
/// every element index fits a `u32`, less one alignment unit for the offset slack of
/// [`crate::Tensor::view_range`].
pub(crate) fn usable_binding_bytes(gpu: &Gpu) -> u64 {
    gpu.max_storage_binding_bytes().min(u32::MAX as u64) - view_alignment(gpu)
}

/// Where [`crate::Tensor::view_range`] starts a binding: a multiple of the adapter's storage
/// offset alignment and of 32 bytes, so a view whose first float is a multiple of 8 from the
/// buffer's start sees it at a multiple of 8 too (the `_int64` kernels read 8 floats at a time).
pub(crate) fn view_alignment(gpu: &Gpu) -> u64 {
    (gpu.limits().min_storage_buffer_offset_alignment as u64).max(32)
}

/// Errors unless a tensor of `len` floats fits one storage binding whole.
pub(crate) fn check_fits(gpu: &Gpu, what: &str, len: usize) -> Result<()> {
    let bytes = len as u64 * 4;
    let limit = usable_binding_bytes(gpu);
    if bytes > limit {
        return Err(Error::TooLarge {
            what: what.into(),
            bytes,
            limit_name: "the usable storage-binding size",
            limit,
        });
    }
    Ok(())
}

/// Splits `batch` images into runs `(first_image, images)` such that the input (`in_image`
/// floats per image) and the output (`out_image` floats per image) of each run fit one binding.
pub(crate) fn batch_chunks(
    gpu: &Gpu,
    op: &str,
    batch: usize,
    in_image: usize,
    out_image: usize,
) -> Result<Vec<(usize, usize)>> {
    let largest = in_image.max(out_image) as u64 * 4;
    let limit = usable_binding_bytes(gpu);
    let per_chunk = (limit / largest.max(1)) as usize;
    if per_chunk == 0 {
        return Err(Error::TooLarge {
            what: format!(
                "one image of {op} ({} floats in, {} floats out)",
                in_image, out_image
            ),
            bytes: largest,
            limit_name: "the usable storage-binding size",
            limit,
        });
    }
    Ok((0..batch)
        .step_by(per_chunk)
        .map(|first| (first, per_chunk.min(batch - first)))
        .collect())
}
