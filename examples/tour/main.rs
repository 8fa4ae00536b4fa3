//! The tour: runs every kernel of the crate on the default adapter (honours WGPU_BACKEND and
//! WGPU_ADAPTER_NAME), checks each against the CPU reference and prints a table. Exits non-zero
//! if any op is out of tolerance.
//!
//! `cargo run --release --example tour`

mod batch_norm;
mod conv2d;
mod network;
mod pool2d;

use std::time::Instant;
use wgcnn::random::Rng;
use wgcnn::{Gpu, HostTensor, Result, Tensor};

/// One row of the table.
struct Row {
    op: String,
    /// The kernel that ran, where the op reports one (conv2d: `conv2d_route`).
    kernel: String,
    shape: String,
    max_error: f32,
    tolerance: f32,
    gpu_ms: f64,
    cpu_ms: f64,
}

/// Collects rows; each section of the tour adds its ops through [`Tour::check`].
pub struct Tour {
    pub gpu: Gpu,
    pub rng: Rng,
    rows: Vec<Row>,
}

impl Tour {
    /// Runs `on_gpu` once to compile its pipelines, then once timed from recording to completion
    /// (upload and readback excluded); runs `on_cpu` timed; compares outputs (max |gpu - cpu|
    /// must stay within `tolerance * max(1, max |cpu|)`).
    pub fn check(
        &mut self,
        op: &str,
        on_gpu: impl Fn() -> Result<Tensor>,
        on_cpu: impl Fn() -> Result<HostTensor>,
        tolerance: f32,
    ) -> Result<()> {
        on_gpu()?.to_vec()?;
        let start = Instant::now();
        let output = on_gpu()?;
        self.gpu.synchronize()?;
        let gpu_ms = start.elapsed().as_secs_f64() * 1e3;
        let start = Instant::now();
        let expected = on_cpu()?;
        let cpu_ms = start.elapsed().as_secs_f64() * 1e3;
        let actual = output.to_vec()?;
        let scale = expected.data().iter().fold(1f32, |m, v| m.max(v.abs()));
        let max_error = actual
            .iter()
            .zip(expected.data())
            .map(|(a, e)| {
                if a.is_nan() != e.is_nan() {
                    f32::INFINITY
                } else if a.is_nan() {
                    0.0
                } else {
                    (a - e).abs()
                }
            })
            .fold(0f32, f32::max);
        self.rows.push(Row {
            op: op.to_string(),
            kernel: String::new(),
            shape: format!("{:?}", output.shape()),
            max_error,
            tolerance: tolerance * scale,
            gpu_ms,
            cpu_ms,
        });
        Ok(())
    }

    /// Names the kernel that ran for the last op checked.
    pub fn ran(&mut self, kernel: &str) {
        if let Some(row) = self.rows.last_mut() {
            row.kernel = kernel.to_string();
        }
    }
}

fn main() -> Result<()> {
    let gpu = Gpu::new()?;
    let mut tour = Tour {
        gpu,
        rng: Rng::new(2024),
        rows: Vec::new(),
    };
    conv2d::run(&mut tour)?;
    batch_norm::run(&mut tour)?;
    pool2d::run(&mut tour)?;
    network::run(&mut tour)?;

    println!("wgcnn tour on {}", tour.gpu.adapter_info());
    println!(
        "{:<34} {:<20} {:>12} {:>10} {:>10} {:>7}  kernel",
        "op", "output shape", "max |error|", "GPU ms", "CPU ms", "check"
    );
    let mut failures = 0;
    for row in &tour.rows {
        let ok = row.max_error <= row.tolerance;
        failures += usize::from(!ok);
        println!(
            "{:<34} {:<20} {:>12.3e} {:>10.3} {:>10.3} {:>7}  {}",
            row.op,
            row.shape,
            row.max_error,
            row.gpu_ms,
            row.cpu_ms,
            if ok { "ok" } else { "FAILED" },
            row.kernel
        );
    }
    println!(
        "{} ops checked, {} out of tolerance",
        tour.rows.len(),
        failures
    );
    if failures > 0 {
        std::process::exit(1);
    }
    Ok(())
}
