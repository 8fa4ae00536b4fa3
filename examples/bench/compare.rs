//! `--compare-backends`: the GL / Vulkan ratio that the benchmark issue sets a floor for (GL at
//! least 0.6 of Vulkan's rate on every workload), measured in one process. Each workload runs
//! on a Vulkan Gpu and on a GL Gpu in alternation, call by call, so a slow stretch of a shared
//! machine slows both sides of a pair; the ratio per pair is Vulkan's time over GL's (GL's rate
//! as a fraction of Vulkan's). The two drivers each start a pool of worker threads, one per
//! core, so on a machine with few cores both often run a dispatch at about one thread's speed
//! (on the 2-core VM of BENCHMARKS.md conv1x1_proj took 10-11 ms on Vulkan here against 5.6-6.0
//! in a process of its own): the ratio is then one of per-thread throughput, steadier than the
//! suite's but not the same measurement (BENCHMARKS.md, "Why GL runs come in two modes").

use crate::workloads::{standard, Workload};
use crate::{median, Options};
use std::time::Instant;
use wgcnn::{Gpu, Result};

/// One call from submit to completion (recording excluded), in milliseconds.
fn time_once(gpu: &Gpu, workload: &Workload) -> Result<f64> {
    let output = (workload.gpu)()?;
    let start = Instant::now();
    gpu.synchronize()?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    drop(output);
    Ok(ms)
}

/// Runs the selected workloads on both backends in alternation and prints the ratios.
pub fn run(options: &Options) -> Result<()> {
    let open = |backends| Gpu::with_options(super::gpu_options(options, Some(backends)));
    let vulkan = open(wgpu::Backends::VULKAN)?;
    let gl = open(wgpu::Backends::GL)?;
    println!("Vulkan: {}", vulkan.adapter_info());
    println!("GL:     {}", gl.adapter_info());
    println!(
        "{} alternating pairs per workload after {} ms of warm-up (at least 3 pairs); GL / Vulkan = Vulkan's time over GL's",
        options.runs,
        options.warmup_ms
    );
    println!(
        "{:<14} {:>12} {:>12} {:>14} {:>14}",
        "workload", "Vulkan ms", "GL ms", "GL / Vulkan", "pairs' range"
    );
    let selected = |w: &&Workload| {
        options
            .only
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == w.name))
    };
    let on_gl = standard(&gl)?;
    for (on_vulkan, on_gl) in standard(&vulkan)?
        .iter()
        .zip(&on_gl)
        .filter(|(v, _)| selected(v))
    {
        let warmup = Instant::now();
        let mut calls = 0;
        while calls < 3 || warmup.elapsed().as_secs_f64() * 1e3 < options.warmup_ms as f64 {
            time_once(&vulkan, on_vulkan)?;
            time_once(&gl, on_gl)?;
            calls += 1;
        }
        let mut pairs = Vec::with_capacity(options.runs);
        for run in 0..options.runs {
            // Each backend goes first in every other pair.
            let pair = if run % 2 == 0 {
                let v = time_once(&vulkan, on_vulkan)?;
                (v, time_once(&gl, on_gl)?)
            } else {
                let g = time_once(&gl, on_gl)?;
                (time_once(&vulkan, on_vulkan)?, g)
            };
            pairs.push(pair);
        }
        let ratios: Vec<f64> = pairs.iter().map(|(v, g)| v / g).collect();
        let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios.iter().copied().fold(0.0, f64::max);
        println!(
            "{:<14} {:>12.3} {:>12.3} {:>14.2} {:>14}",
            on_vulkan.name,
            median(pairs.iter().map(|p| p.0).collect()),
            median(pairs.iter().map(|p| p.1).collect()),
            median(ratios),
            format!("{low:.2}-{high:.2}")
        );
    }
    Ok(())
}
