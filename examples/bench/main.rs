//! The standard benchmark suite: runs the named workloads on the default adapter (honours
//! WGPU_BACKEND and WGPU_ADAPTER_NAME), times the GPU from submit to completion (upload,
//! readback and the CPU-side recording excluded; recording and the first call, which compiles
//! the pipelines, are reported on their own),
//! times the CPU reference on the same input, and prints a table.
//!
//! `cargo run --release --example bench -- [--runs N] [--warmup-ms N] [--cpu-runs N] [--only a,b] [--json PATH]
//! [--svg PATH]`
//! (`--help` explains them, `--list` names the workloads).
//!
//! FLOPs = 2 x multiply-accumulates; bytes = inputs read once + outputs written once (float32).

mod chart;
mod compare;
mod workloads;

use std::time::Instant;
use wgcnn::{Gpu, GpuOptions, Result};
use workloads::{Work, Workload};

struct Options {
    runs: usize,
    warmup_ms: usize,
    cpu_runs: usize,
    only: Option<Vec<String>>,
    json: Option<String>,
    svg: Option<String>,
    /// `GpuOptions::spin_wait` in microseconds; `None`: the Gpu's default.
    spin_wait_us: Option<u64>,
}

const USAGE: &str = "usage: cargo run --release --example bench -- [--runs N] [--warmup-ms N] \
[--cpu-runs N] [--only a,b] [--json PATH] [--svg PATH] [--spin-wait-us N]
  --runs N       timed GPU runs per workload (default 20, at least 1)
  --warmup-ms N  untimed calls per workload for at least N ms first (default 500; at least
                 2 calls): on llvmpipe a process's first calls can run at half speed
                 (BENCHMARKS.md, \"Warm-up: why short runs came in two modes\")
  --cpu-runs N   timed runs of the CPU reference per workload (default 3, at least 1)
  --only a,b     only these workloads (the names `--list` prints)
  --json PATH    also write the results as JSON
  --svg PATH     also draw GPU against CPU per workload as an SVG chart
  --spin-wait-us N
                 poll for up to N us before blocking in each wait (GpuOptions::spin_wait;
                 default: the adapter's, 1000 on Vulkan software adapters, else 0)
  --list         print the workload names and exit
  --compare-backends
                 run each workload on Vulkan and on GL in alternation in this process and
                 print GL's rate as a fraction of Vulkan's (no CPU reference, JSON or SVG)
The adapter: WGPU_BACKEND (vulkan, gl, ...) and WGPU_ADAPTER_NAME.";

/// What to do: run the benchmarks, or print the usage or the workload names.
enum Command {
    Run(Options),
    Compare(Options),
    Help,
    List,
}

fn parse_options(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut options = Options {
        runs: 20,
        warmup_ms: 500,
        cpu_runs: 3,
        only: None,
        json: None,
        svg: None,
        spin_wait_us: None,
    };
    let mut compare = false;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let count = |text: String| match text.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(format!(
                "{flag} takes a whole number of at least 1, not {text:?}"
            )),
        };
        match flag.as_str() {
            "--runs" => options.runs = count(value()?)?,
            "--warmup-ms" => {
                let text = value()?;
                options.warmup_ms = text
                    .parse()
                    .map_err(|_| format!("{flag} takes a whole number, not {text:?}"))?;
            }
            "--cpu-runs" => options.cpu_runs = count(value()?)?,
            "--only" => options.only = Some(value()?.split(',').map(str::to_string).collect()),
            "--json" => options.json = Some(value()?),
            "--svg" => options.svg = Some(value()?),
            "--spin-wait-us" => {
                let text = value()?;
                let us = text
                    .parse()
                    .map_err(|_| format!("{flag} takes a whole number, not {text:?}"))?;
                options.spin_wait_us = Some(us);
            }
            "--help" | "-h" => return Ok(Command::Help),
            "--list" => return Ok(Command::List),
            "--compare-backends" => compare = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(if compare {
        Command::Compare(options)
    } else {
        Command::Run(options)
    })
}

/// The Gpu's options: the defaults (WGPU_BACKEND, WGPU_ADAPTER_NAME) but for `--spin-wait-us`
/// and, for `--compare-backends`, the backend.
fn gpu_options(options: &Options, backends: Option<wgpu::Backends>) -> GpuOptions {
    GpuOptions {
        backends,
        spin_wait: options.spin_wait_us.map(std::time::Duration::from_micros),
        ..Default::default()
    }
}

/// What one workload measured, in milliseconds.
pub struct Measured {
    pub name: &'static str,
    pub work: Work,
    pub first_call_ms: f64,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// Recording the op's commands (CPU side), before the submit.
    pub record_median_ms: f64,
    pub cpu_median_ms: f64,
}

impl Measured {
    /// GFLOP/s or GB/s of a time in milliseconds.
    pub fn rate(&self, ms: f64) -> f64 {
        match self.work {
            Work::Flops(flops) => flops as f64 / ms / 1e6,
            Work::Bytes(bytes) => bytes as f64 / ms / 1e6,
        }
    }
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn measure(gpu: &Gpu, workload: &Workload, options: &Options) -> Result<Measured> {
    let start = Instant::now();
    drop((workload.gpu)()?);
    gpu.synchronize()?;
    let first_call_ms = start.elapsed().as_secs_f64() * 1e3;
    let warmup = Instant::now();
    let mut calls = 0;
    while calls < 2 || warmup.elapsed().as_secs_f64() * 1e3 < options.warmup_ms as f64 {
        drop((workload.gpu)()?);
        gpu.synchronize()?;
        calls += 1;
    }
    // Recording (validation, parameter upload, bind groups: CPU work) is timed on its own;
    // the GPU figure runs from submit to completion.
    let mut samples = Vec::with_capacity(options.runs);
    let mut record_samples = Vec::with_capacity(options.runs);
    for _ in 0..options.runs {
        let start = Instant::now();
        let output = (workload.gpu)()?;
        record_samples.push(start.elapsed().as_secs_f64() * 1e3);
        let start = Instant::now();
        gpu.synchronize()?;
        samples.push(start.elapsed().as_secs_f64() * 1e3);
        drop(output);
    }
    let mut cpu_samples = Vec::new();
    for _ in 0..options.cpu_runs {
        let start = Instant::now();
        (workload.cpu)()?;
        cpu_samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let min_ms = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max_ms = samples.iter().copied().fold(0.0, f64::max);
    Ok(Measured {
        name: workload.name,
        work: workload.work,
        first_call_ms,
        median_ms: median(samples),
        min_ms,
        max_ms,
        record_median_ms: median(record_samples),
        cpu_median_ms: median(cpu_samples),
    })
}

fn json_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn write_json(path: &str, gpu: &Gpu, results: &[Measured]) -> std::io::Result<()> {
    let info = gpu.adapter_info();
    let mut out = format!(
        "{{\"adapter\": {{\"name\": {}, \"backend\": {}, \"device_type\": {}, \"driver\": {}}},\n \"spin_wait_us\": {},\n \"results\": [\n",
        json_string(&info.name),
        json_string(&info.backend),
        json_string(&info.device_type),
        json_string(&info.driver),
        gpu.spin_wait().as_micros()
    );
    for (index, m) in results.iter().enumerate() {
        let rate = match m.work {
            Work::Flops(_) => format!("\"gflops\": {:.3}", m.rate(m.median_ms)),
            Work::Bytes(_) => format!("\"gbps\": {:.3}", m.rate(m.median_ms)),
        };
        out += &format!(
            "  {{\"name\": {}, \"median_ms\": {:.4}, \"min_ms\": {:.4}, \"max_ms\": {:.4}, {rate}, \"first_call_ms\": {:.3}, \"record_ms\": {:.4}, \"cpu_median_ms\": {:.3}}}{}\n",
            json_string(m.name),
            m.median_ms,
            m.min_ms,
            m.max_ms,
            m.first_call_ms,
            m.record_median_ms,
            m.cpu_median_ms,
            if index + 1 < results.len() { "," } else { "" }
        );
    }
    out += " ]}\n";
    std::fs::write(path, out)
}

fn main() -> Result<()> {
    let command = parse_options(std::env::args().skip(1)).unwrap_or_else(|error| {
        eprintln!("error: {error}\n{USAGE}");
        std::process::exit(2);
    });
    let (options, compare) = match command {
        Command::Run(options) => (options, false),
        Command::Compare(options) => (options, true),
        Command::Help => {
            println!("{USAGE}");
            return Ok(());
        }
        Command::List => {
            for name in workloads::NAMES {
                println!("{name}");
            }
            return Ok(());
        }
    };
    if let Some(unknown) = options
        .only
        .iter()
        .flatten()
        .find(|name| !workloads::NAMES.contains(&name.as_str()))
    {
        let names = workloads::NAMES.join(", ");
        eprintln!("error: unknown workload {unknown:?}; the workloads: {names}");
        std::process::exit(2);
    }
    if compare {
        return compare::run(&options);
    }
    let gpu = Gpu::with_options(gpu_options(&options, None))?;
    let all = workloads::standard(&gpu)?;
    let selected: Vec<&Workload> = match &options.only {
        Some(names) => all
            .iter()
            .filter(|w| names.iter().any(|n| n == w.name))
            .collect(),
        None => all.iter().collect(),
    };
    println!(
        "wgcnn bench on {}; waits poll for {} us; {} GPU runs after {} ms of warm-up, {} CPU-reference runs per workload",
        gpu.adapter_info(),
        gpu.spin_wait().as_micros(),
        options.runs,
        options.warmup_ms,
        options.cpu_runs
    );
    println!(
        "{:<14} {:>10} {:>10} {:>12} {:>10} {:>10} {:>12} {:>10}",
        "workload",
        "median ms",
        "min ms",
        "GPU rate",
        "record ms",
        "first ms",
        "CPU ms",
        "CPU rate"
    );
    let mut results = Vec::new();
    for workload in selected {
        let m = measure(&gpu, workload, &options)?;
        let unit = match m.work {
            Work::Flops(_) => "GFLOP/s",
            Work::Bytes(_) => "GB/s",
        };
        println!(
            "{:<14} {:>10.3} {:>10.3} {:>4.2} {:<7} {:>10.3} {:>10.1} {:>12.2} {:>10.2}",
            m.name,
            m.median_ms,
            m.min_ms,
            m.rate(m.median_ms),
            unit,
            m.record_median_ms,
            m.first_call_ms,
            m.cpu_median_ms,
            m.rate(m.cpu_median_ms)
        );
        results.push(m);
    }
    if let Some(path) = &options.json {
        match write_json(path, &gpu, &results) {
            Ok(()) => println!("wrote {path}"),
            Err(error) => fail(&format!("writing {path}: {error}")),
        }
    }
    if let Some(path) = &options.svg {
        match std::fs::write(path, chart::svg(&gpu.adapter_info().to_string(), &results)) {
            Ok(()) => println!("wrote {path}"),
            Err(error) => fail(&format!("writing {path}: {error}")),
        }
    }
    Ok(())
}

/// Reports an error the caller can fix and exits with status 1.
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
