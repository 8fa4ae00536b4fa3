//! Receptive-field arithmetic for any stack of sliding windows (convolutions and poolings), per
//! axis `[height, width]`, in input pixels. Each window layer with kernel `k`, dilation `d`,
//! stride `s` and leading padding `p` (top or left) maps the field of its input to that of its
//! output:
//!
//! - effective kernel `k_eff = d*(k - 1) + 1`
//! - size `r_out = r_in + (k_eff - 1) * j_in`
//! - jump (distance between neighbouring outputs' fields) `j_out = j_in * s`
//! - start (centre of the first output's field) `start_out = start_in + ((k_eff - 1)/2 - p) * j_in`
//!
//! starting from the input itself: `r = 1`, `j = 1`, `start = 0` (pixel centres at integers).
//! Padding moves the field but never grows it. The field is the span of the taps: a dilated
//! kernel without a dense layer before it leaves holes inside, and input pixels that a
//! floor-mode layer drops from its last window are in the span but reach no output.

use std::ops::Range;

/// One sliding-window layer along both axes: what a convolution or pooling contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Leading padding `[top, left]` (the trailing side does not move the field).
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
}

impl Window {
    /// A window with the given kernel and stride, no padding, dilation 1.
    pub fn new(kernel: [usize; 2], stride: [usize; 2]) -> Self {
        Window {
            kernel,
            stride,
            padding: [0, 0],
            dilation: [1, 1],
        }
    }

    /// A layer that maps each pixel to itself (batch norm, activations, a 1x1 stride-1 conv).
    pub const IDENTITY: Window = Window {
        kernel: [1, 1],
        stride: [1, 1],
        padding: [0, 0],
        dilation: [1, 1],
    };

    /// `d*(k - 1) + 1` per axis: the span of the dilated kernel.
    pub fn effective_kernel(&self) -> [usize; 2] {
        [0, 1].map(|axis| self.dilation[axis] * (self.kernel[axis] - 1) + 1)
    }
}

/// The receptive field shared by every output of one layer, per axis `[height, width]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReceptiveField {
    /// Input pixels spanned by one output's field.
    pub size: [usize; 2],
    /// Input pixels between the fields of neighbouring outputs (the effective stride).
    pub jump: [usize; 2],
    /// Centre of output 0's field, in input pixel coordinates (may be negative or a half).
    pub start: [f64; 2],
}

impl Default for ReceptiveField {
    fn default() -> Self {
        ReceptiveField::INPUT
    }
}

impl ReceptiveField {
    /// The network input: each pixel sees itself.
    pub const INPUT: ReceptiveField = ReceptiveField {
        size: [1, 1],
        jump: [1, 1],
        start: [0.0, 0.0],
    };

    /// The field after one more window layer (the formulas in the module docs).
    pub fn then(&self, window: &Window) -> ReceptiveField {
        let effective = window.effective_kernel();
        let axes = [0, 1];
        ReceptiveField {
            size: axes.map(|a| self.size[a] + (effective[a] - 1) * self.jump[a]),
            jump: axes.map(|a| self.jump[a] * window.stride[a]),
            start: axes.map(|a| {
                let offset = (effective[a] - 1) as f64 / 2.0 - window.padding[a] as f64;
                self.start[a] + offset * self.jump[a] as f64
            }),
        }
    }

    /// The field of the last layer of a stack, from the input.
    pub fn of_stack(windows: &[Window]) -> ReceptiveField {
        windows
            .iter()
            .fold(ReceptiveField::INPUT, |field, window| field.then(window))
    }

    /// Centre of output `index`'s field, per axis.
    pub fn centre(&self, index: [usize; 2]) -> [f64; 2] {
        [0, 1].map(|axis| self.start[axis] + (index[axis] * self.jump[axis]) as f64)
    }

    /// First and last input coordinate of output `index`'s field, per axis (unclipped: they
    /// may fall in the padding, below 0 or past the input).
    pub fn span(&self, index: [usize; 2]) -> [[i64; 2]; 2] {
        let centre = self.centre(index);
        [0, 1].map(|axis| {
            let half = (self.size[axis] - 1) as f64 / 2.0;
            let first = (centre[axis] - half).round() as i64;
            [first, first + self.size[axis] as i64 - 1]
        })
    }

    /// The input rows and columns of output `index`'s field inside an input of `input_size`
    /// `[height, width]` (empty when the field lies wholly in the padding).
    pub fn input_region(&self, index: [usize; 2], input_size: [usize; 2]) -> [Range<usize>; 2] {
        let span = self.span(index);
        [0, 1].map(|axis| {
            let [first, last] = span[axis];
            let start = first.clamp(0, input_size[axis] as i64) as usize;
            let end = (last + 1).clamp(0, input_size[axis] as i64) as usize;
            start..end.max(start)
        })
    }
}

impl std::fmt::Display for ReceptiveField {
    /// `size 11x11 jump 4x4 start (0, 0)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "size {}x{} jump {}x{} start ({}, {})",
            self.size[0], self.size[1], self.jump[0], self.jump[1], self.start[0], self.start[1]
        )
    }
}
