//! conv2d on layer shapes of ResNet-18 and -50, MobileNetV2 and Inception-v3 (batch 1), beyond the standard benchmark
//! workloads: the entry point each takes on the default adapter and its median time from submit
//! to completion (15 runs after 2 warm-ups), and on GPUs how many chunks of input channels it is
//! split into. Weights are constant; only the speed is of interest.
//!
//! `cargo run --release --example network_shapes`

use std::time::Instant;
use wgcnn::{
    conv2d, conv2d_channel_chunks, conv2d_kernel, Conv2dGeometry, Conv2dOptions, Gpu, HostTensor,
    Padding,
};

/// In channels, out channels, height = width, kernel, stride, groups.
const SHAPES: [(usize, usize, usize, usize, usize, usize); 23] = [
    (64, 64, 56, 3, 1, 1),
    (128, 128, 28, 3, 1, 1),
    (256, 256, 14, 3, 1, 1),
    (512, 512, 7, 3, 1, 1),
    (64, 128, 56, 3, 2, 1),
    (128, 256, 28, 3, 2, 1),
    (256, 512, 14, 3, 2, 1),
    (64, 128, 56, 1, 2, 1),
    (128, 256, 28, 1, 2, 1),
    (256, 512, 14, 1, 2, 1),
    (96, 96, 56, 3, 1, 96),
    (96, 96, 112, 3, 2, 96),
    (144, 144, 56, 3, 2, 144),
    (192, 192, 28, 3, 2, 192),
    (576, 576, 14, 3, 2, 576),
    (192, 192, 28, 3, 1, 192),
    (576, 576, 14, 3, 1, 576),
    (960, 960, 7, 3, 1, 960),
    (32, 32, 112, 3, 1, 32),
    (768, 192, 17, 1, 1, 1),
    (2048, 512, 7, 1, 1, 1),
    (512, 256, 5, 1, 1, 1),
    (512, 1000, 1, 1, 1, 1),
];

fn main() -> wgcnn::Result<()> {
    let gpu = Gpu::new()?;
    println!("conv2d on network layer shapes, {}", gpu.adapter_info());
    for (in_channels, out_channels, size, kernel, stride, groups) in SHAPES {
        let input_shape = [1, in_channels, size, size];
        let weight_shape = [out_channels, in_channels / groups, kernel, kernel];
        let input = HostTensor::new(&input_shape, vec![0.5; input_shape.iter().product()])?;
        let weight = HostTensor::new(&weight_shape, vec![0.01; weight_shape.iter().product()])?;
        let (input, weight) = (input.upload(&gpu)?, weight.upload(&gpu)?);
        let options = Conv2dOptions {
            groups,
            stride: [stride, stride],
            padding: Padding::Symmetric([kernel / 2, kernel / 2]),
            ..Default::default()
        };
        let geometry = Conv2dGeometry::new(&input_shape, &weight_shape, None, &options)?;
        for _ in 0..2 {
            drop(conv2d(&input, &weight, None, &options)?);
            gpu.synchronize()?;
        }
        let mut samples: Vec<f64> = (0..15)
            .map(|_| {
                let output = conv2d(&input, &weight, None, &options)?;
                let start = Instant::now();
                gpu.synchronize()?;
                drop(output);
                Ok(start.elapsed().as_secs_f64() * 1e3)
            })
            .collect::<wgcnn::Result<_>>()?;
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        let [_, _, out_height, out_width] = geometry.output_shape();
        let macs = out_channels * out_height * out_width * in_channels / groups * kernel * kernel;
        let kernel_name = match conv2d_channel_chunks(&gpu, &geometry) {
            1 => conv2d_kernel(&gpu, &geometry).to_string(),
            chunks => format!("{} x{chunks}", conv2d_kernel(&gpu, &geometry)),
        };
        println!(
            "{in_channels:>4} -> {out_channels:<4} {size:>3}x{size:<3} k{kernel} s{stride} groups {groups:<4} {kernel_name:<31} {median:>8.3} ms {:>7.1} GFLOP/s",
            2.0 * macs as f64 / median / 1e6
        );
    }
    Ok(())
}
