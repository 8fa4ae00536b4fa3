//! CPU reference of the pooling ops: direct loops over PyTorch's definitions, validated by the
//! same geometry functions as the GPU path. Sums in f64; maxima follow PyTorch's rule (the
//! first strictly greater value wins, a NaN always takes over; padding never takes part).

use crate::error::Result;
use crate::host::HostTensor;
use crate::ops::adaptive_pool2d::{adaptive_output_shape, adaptive_window};
use crate::ops::pool2d::{AvgPool2dOptions, MaxPool2dOptions, Pool2dGeometry};
use std::ops::Range;

/// The running maximum of one window and the flat `row * W + column` it came from. Like
/// PyTorch it starts at -inf pointing at the window's first tap past the leading padding, so a
/// window of -inf (or one whose dilated taps all miss the input) reports that position.
struct Maximum {
    value: f32,
    index: usize,
}

impl Maximum {
    fn new(first_tap: usize) -> Self {
        Maximum {
            value: f32::NEG_INFINITY,
            index: first_tap,
        }
    }

    fn offer(&mut self, value: f32, index: usize) {
        if value > self.value || value.is_nan() {
            self.value = value;
            self.index = index;
        }
    }
}

/// The first tap at or past 0 of a window that starts at `start`, taps `dilation` apart.
fn first_tap(start: isize, dilation: usize) -> usize {
    let mut position = start;
    while position < 0 {
        position += dilation as isize;
    }
    position as usize
}

/// Reference max pooling (see [`crate::max_pool2d`]).
pub fn max_pool2d(input: &HostTensor, options: &MaxPool2dOptions) -> Result<HostTensor> {
    Ok(max_pool2d_with_indices(input, options)?.0)
}

/// Reference max pooling with PyTorch's `return_indices` (see [`crate::max_pool2d_with_indices`]).
pub fn max_pool2d_with_indices(
    input: &HostTensor,
    options: &MaxPool2dOptions,
) -> Result<(HostTensor, Vec<u32>)> {
    let g = Pool2dGeometry::max(input.shape(), options)?;
    let (height, width) = (g.in_height as isize, g.in_width as isize);
    let mut values = Vec::new();
    let mut indices = Vec::new();
    for plane in input.data().chunks(g.in_height * g.in_width) {
        for i in 0..g.out_height {
            let row_start = (i * g.stride[0]) as isize - g.padding[0] as isize;
            for j in 0..g.out_width {
                let column_start = (j * g.stride[1]) as isize - g.padding[1] as isize;
                let first_row = first_tap(row_start, g.dilation[0]);
                let first_column = first_tap(column_start, g.dilation[1]);
                let mut best = Maximum::new(first_row * g.in_width + first_column);
                for p in 0..g.kernel[0] {
                    let row = row_start + (p * g.dilation[0]) as isize;
                    for q in 0..g.kernel[1] {
                        let column = column_start + (q * g.dilation[1]) as isize;
                        if (0..height).contains(&row) && (0..width).contains(&column) {
                            let flat = (row * width + column) as usize;
                            best.offer(plane[flat], flat);
                        }
                    }
                }
                values.push(best.value);
                indices.push(best.index as u32);
            }
        }
    }
    Ok((HostTensor::new(&g.output_shape(), values)?, indices))
}

/// Reference average pooling (see [`crate::avg_pool2d`]).
pub fn avg_pool2d(input: &HostTensor, options: &AvgPool2dOptions) -> Result<HostTensor> {
    let g = Pool2dGeometry::avg(input.shape(), options)?;
    // One axis: the summed input cells and the cells count_include_pad counts (the window
    // clipped at the end of the padding, so the ceil_mode overhang never counts).
    let window = |index: usize, axis: usize, len: usize| {
        let start = (index * g.stride[axis]) as isize - g.padding[axis] as isize;
        let end = (start + g.kernel[axis] as isize).min((len + g.padding[axis]) as isize);
        let cells = start.max(0) as usize..end.min(len as isize) as usize;
        (cells, (end - start) as usize)
    };
    let mut values = Vec::new();
    for plane in input.data().chunks(g.in_height * g.in_width) {
        for i in 0..g.out_height {
            let (rows, padded_rows) = window(i, 0, g.in_height);
            for j in 0..g.out_width {
                let (columns, padded_columns) = window(j, 1, g.in_width);
                let sum = window_sum(plane, g.in_width, rows.clone(), columns.clone());
                let divisor = match options.divisor_override {
                    Some(divisor) => divisor,
                    None if options.count_include_pad => padded_rows * padded_columns,
                    None => rows.len() * columns.len(),
                };
                values.push((sum / divisor as f64) as f32);
            }
        }
    }
    HostTensor::new(&g.output_shape(), values)
}

fn window_sum(plane: &[f32], width: usize, rows: Range<usize>, columns: Range<usize>) -> f64 {
    rows.flat_map(|row| plane[row * width..][columns.clone()].iter())
        .map(|&x| x as f64)
        .sum()
}

/// Reference adaptive average pooling (see [`crate::adaptive_avg_pool2d`]).
pub fn adaptive_avg_pool2d(input: &HostTensor, output_size: [usize; 2]) -> Result<HostTensor> {
    adaptive(
        input,
        output_size,
        "adaptive_avg_pool2d",
        |plane, width, rows, columns| {
            let count = rows.len() * columns.len();
            (window_sum(plane, width, rows, columns) / count as f64) as f32
        },
    )
}

/// Reference adaptive max pooling (see [`crate::adaptive_max_pool2d`]).
pub fn adaptive_max_pool2d(input: &HostTensor, output_size: [usize; 2]) -> Result<HostTensor> {
    Ok(adaptive_max_pool2d_with_indices(input, output_size)?.0)
}

/// Reference adaptive max pooling with PyTorch's `return_indices` (see
/// [`crate::adaptive_max_pool2d_with_indices`]): each index is `row * W + column` in its plane.
pub fn adaptive_max_pool2d_with_indices(
    input: &HostTensor,
    output_size: [usize; 2],
) -> Result<(HostTensor, Vec<u32>)> {
    let mut indices = Vec::new();
    let values = adaptive(
        input,
        output_size,
        "adaptive_max_pool2d",
        |plane, width, rows, columns| {
            let mut best = Maximum::new(rows.start * width + columns.start);
            for row in rows {
                for column in columns.clone() {
                    best.offer(plane[row * width + column], row * width + column);
                }
            }
            indices.push(best.index as u32);
            best.value
        },
    )?;
    Ok((values, indices))
}

/// Reference global average pooling (see [`crate::global_avg_pool2d`]).
pub fn global_avg_pool2d(input: &HostTensor) -> Result<HostTensor> {
    adaptive_avg_pool2d(input, [1, 1])
}

/// Reference global max pooling (see [`crate::global_max_pool2d`]).
pub fn global_max_pool2d(input: &HostTensor) -> Result<HostTensor> {
    adaptive_max_pool2d(input, [1, 1])
}

fn adaptive(
    input: &HostTensor,
    output_size: [usize; 2],
    op: &str,
    mut reduce: impl FnMut(&[f32], usize, Range<usize>, Range<usize>) -> f32,
) -> Result<HostTensor> {
    let shape = adaptive_output_shape(op, input.shape(), output_size)?;
    let [height, width] = [input.shape()[2], input.shape()[3]];
    let mut values = Vec::new();
    for plane in input.data().chunks(height * width) {
        for i in 0..output_size[0] {
            for j in 0..output_size[1] {
                let rows = adaptive_window(i, height, output_size[0]);
                let columns = adaptive_window(j, width, output_size[1]);
                values.push(reduce(plane, width, rows, columns));
            }
        }
    }
    HostTensor::new(&shape, values)
}
