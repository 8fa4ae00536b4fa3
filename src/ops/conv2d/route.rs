//! Which path [`conv2d`](super::conv2d) takes for a convolution on a `Gpu`, for tests, the tour
//! and anyone tuning: the kernel it runs (`conv2d_kernel`), the copy that feeds it
//! (`conv2d_route`) and the channel split (`conv2d_channel_chunks`). The decisions themselves
//! live with each path.

use super::{channel_split, general_variant, subsample, unfold, window, Conv2dGeometry};
use crate::gpu::Gpu;
use crate::ops::projection::{projection_kernel, ProjectionGeometry};

/// The WGSL entry point that [`conv2d`](super::conv2d) runs for `geometry` on `gpu` (for tests,
/// the tour and anyone tuning): `conv2d_window*` for the common kernels on adapters with
/// subgroups and `conv2d_wide*` without (see `window.rs`), `projection*` for other plain 1x1
/// convolutions, `conv2d_subgroup`, `conv2d` or `conv2d_single_channel` otherwise. A gathered
/// strided 1x1 convolution reports the kernel its gathered input takes (`subsample.rs`), an
/// unfolded one the kernel of its 1x1 convolution (`unfold.rs`), and one split over its input
/// channels the kernel of its grouped convolution (`channel_split.rs`); [`conv2d_route`] names
/// the copy as well.
pub fn conv2d_kernel(gpu: &Gpu, geometry: &Conv2dGeometry) -> &'static str {
    if let Some((_, inner)) = feeding_copy(gpu, geometry) {
        conv2d_kernel(gpu, &inner)
    } else if let Some(window) = window::kernel(gpu, geometry) {
        window.kernel.entry_point
    } else if geometry.is_projection() {
        projection_kernel(gpu, &ProjectionGeometry::conv1x1(geometry))
    } else {
        general_variant(gpu, geometry).kernel.entry_point
    }
}

/// What [`conv2d`](super::conv2d) records for `geometry` on `gpu`, in one line:
/// [`conv2d_kernel`]'s kernel, after the copy that feeds it where there is one (`unfold + ` for
/// im2col, `gather + ` for a strided 1x1 convolution's input, `split in N + ` for a channel
/// split).
pub fn conv2d_route(gpu: &Gpu, geometry: &Conv2dGeometry) -> String {
    match feeding_copy(gpu, geometry) {
        Some((copy, inner)) => format!("{copy} + {}", conv2d_route(gpu, &inner)),
        None => conv2d_kernel(gpu, geometry).to_string(),
    }
}

/// The copy [`conv2d`](super::conv2d) makes first, in the order it checks them, and the
/// convolution that then runs on the copy; `None` when a kernel takes the input as it is.
fn feeding_copy(gpu: &Gpu, geometry: &Conv2dGeometry) -> Option<(String, Conv2dGeometry)> {
    let chunks = channel_split::chunks(gpu, geometry);
    if chunks > 1 {
        Some((
            format!("split in {chunks}"),
            channel_split::grouped(geometry, chunks),
        ))
    } else if subsample::applies(gpu, geometry) {
        Some(("gather".to_string(), subsample::dense(geometry)))
    } else if unfold::applies(gpu, geometry) {
        Some(("unfold".to_string(), unfold::dense(geometry)))
    } else {
        None
    }
}

/// How many chunks [`conv2d`](super::conv2d) cuts this convolution's input channels into on
/// `gpu` (1: none; see
/// [`GpuOptions::channel_split_outputs`](crate::GpuOptions::channel_split_outputs)).
pub fn conv2d_channel_chunks(gpu: &Gpu, geometry: &Conv2dGeometry) -> usize {
    channel_split::chunks(gpu, geometry)
}
