//! pool2d's options (PyTorch's `nn.MaxPool2d` and `nn.AvgPool2d`) and its validated geometry:
//! every size of one windowed pooling, with the output-size rule of `crate::shape`, shared by
//! the GPU wrappers, the CPU reference and the tests.

use crate::error::{Error, Result};
use crate::shape::{nchw_nonempty, pool_output_len, require_positive};

/// `max_pool2d`'s parameters (PyTorch's `nn.MaxPool2d`). `stride: None` means the kernel size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool2dOptions {
    pub kernel_size: [usize; 2],
    pub stride: Option<[usize; 2]>,
    /// Symmetric `[height, width]`, at most half the effective (dilated) kernel.
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub ceil_mode: bool,
}

impl MaxPool2dOptions {
    /// A `kernel_size` window, stride = kernel, no padding, dilation 1, floor mode.
    pub fn new(kernel_size: [usize; 2]) -> Self {
        MaxPool2dOptions {
            kernel_size,
            stride: None,
            padding: [0, 0],
            dilation: [1, 1],
            ceil_mode: false,
        }
    }
}

/// `avg_pool2d`'s parameters (PyTorch's `nn.AvgPool2d`). `stride: None` means the kernel size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvgPool2dOptions {
    pub kernel_size: [usize; 2],
    pub stride: Option<[usize; 2]>,
    /// Symmetric `[height, width]`, at most half the kernel.
    pub padding: [usize; 2],
    pub ceil_mode: bool,
    /// Count the explicit padding in the divisor (never the ceil_mode overhang past it).
    pub count_include_pad: bool,
    /// Divide every window by this instead (must not be 0).
    pub divisor_override: Option<usize>,
}

impl AvgPool2dOptions {
    /// A `kernel_size` window, stride = kernel, no padding, floor mode, count_include_pad.
    pub fn new(kernel_size: [usize; 2]) -> Self {
        AvgPool2dOptions {
            kernel_size,
            stride: None,
            padding: [0, 0],
            ceil_mode: false,
            count_include_pad: true,
            divisor_override: None,
        }
    }
}

/// Every size of one windowed pooling, validated. Built by [`Pool2dGeometry::max`] or
/// [`Pool2dGeometry::avg`]; window `(i, j)` starts at `(i*stride - padding)` on each axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dGeometry {
    pub batch: usize,
    pub channels: usize,
    pub in_height: usize,
    pub in_width: usize,
    pub out_height: usize,
    pub out_width: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
}

impl Pool2dGeometry {
    /// Validates a max pooling of `input` (`[N, C, H, W]`).
    pub fn max(input: &[usize], options: &MaxPool2dOptions) -> Result<Self> {
        let stride = options.stride.unwrap_or(options.kernel_size);
        let geometry = (
            options.kernel_size,
            stride,
            options.padding,
            options.dilation,
        );
        Pool2dGeometry::new("max_pool2d", input, geometry, options.ceil_mode)
    }

    /// Validates an average pooling of `input` (`[N, C, H, W]`).
    pub fn avg(input: &[usize], options: &AvgPool2dOptions) -> Result<Self> {
        if let Some(divisor) = options.divisor_override {
            if divisor == 0 || divisor > u32::MAX as usize {
                return Err(Error::Parameter {
                    what: "avg_pool2d divisor_override".into(),
                    expected: format!("a divisor from 1 to {}", u32::MAX),
                    actual: divisor.to_string(),
                });
            }
        }
        let stride = options.stride.unwrap_or(options.kernel_size);
        let geometry = (options.kernel_size, stride, options.padding, [1, 1]);
        Pool2dGeometry::new("avg_pool2d", input, geometry, options.ceil_mode)
    }

    fn new(
        op: &'static str,
        input: &[usize],
        (kernel, stride, padding, dilation): ([usize; 2], [usize; 2], [usize; 2], [usize; 2]),
        ceil_mode: bool,
    ) -> Result<Self> {
        let [batch, channels, in_height, in_width] = nchw_nonempty(&format!("{op} input"), input)?;
        require_positive(&format!("{op} kernel size"), kernel)?;
        require_positive(&format!("{op} stride"), stride)?;
        require_positive(&format!("{op} dilation"), dilation)?;
        for axis in 0..2 {
            // ((k - 1) * d + 1) // 2: half the effective (dilated) kernel, rounded down.
            let half_effective = ((kernel[axis] - 1) * dilation[axis]).div_ceil(2);
            if padding[axis] > half_effective {
                return Err(Error::Parameter {
                    what: format!("{op} padding"),
                    expected: format!(
                        "at most half the effective kernel ({half_effective} for kernel \
                         {kernel:?}, dilation {dilation:?})"
                    ),
                    actual: format!("{padding:?}"),
                });
            }
        }
        let [height, width] = [(in_height, 0), (in_width, 1)].map(|(len, axis)| {
            let (p, k, s, d) = (padding[axis], kernel[axis], stride[axis], dilation[axis]);
            pool_output_len(len, p, k, s, d, ceil_mode)
        });
        if height < 1 || width < 1 {
            return Err(Error::EmptyOutput {
                op,
                height,
                width,
                reason: format!(
                    "the window (kernel {kernel:?}, dilation {dilation:?}) does not fit the \
                     {in_height}x{in_width} input padded by {padding:?}"
                ),
            });
        }
        Ok(Pool2dGeometry {
            batch,
            channels,
            in_height,
            in_width,
            out_height: height as usize,
            out_width: width as usize,
            kernel,
            stride,
            padding,
            dilation,
        })
    }

    /// `[N, C, H_out, W_out]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.channels, self.out_height, self.out_width]
    }

    /// Bytes read and written once (input + output): the bandwidth figure of the benches.
    pub fn bytes(&self) -> u64 {
        let plane_sizes = self.in_height * self.in_width + self.out_height * self.out_width;
        (self.batch * self.channels * plane_sizes * 4) as u64
    }
}
