//! Runs every golden case in `../shared/conformance/` (or `$WGCNN_CONFORMANCE_DIR`) through the
//! CPU reference and the GPU, error cases included. Prints `N passed, N failed` and how many
//! cases belong to ops the crate does not implement yet; any failure fails the test.

mod batch_norm;
mod case;
#[path = "../common/mod.rs"]
mod common;
mod conv2d;
mod pool2d;
mod relu;

use case::Case;
use std::path::PathBuf;

enum Outcome {
    Passed,
    Failed(String),
    NotImplemented,
}

fn run(case: &Case, gpu: &wgcnn::Gpu) -> Outcome {
    let result = match case.op.as_str() {
        "batch_norm_stats" | "batch_norm_train" | "batch_norm_eval" => batch_norm::run(case, gpu),
        "conv2d" => conv2d::run(case, gpu),
        "max_pool2d" | "avg_pool2d" | "global_avg_pool2d" | "global_max_pool2d" => {
            pool2d::run(case, gpu)
        }
        "relu" => relu::run(case, gpu),
        _ => return Outcome::NotImplemented,
    };
    match result {
        Ok(()) => Outcome::Passed,
        Err(message) => Outcome::Failed(message),
    }
}

fn conformance_dir() -> PathBuf {
    match std::env::var_os("WGCNN_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance"),
    }
}

#[test]
fn conformance_cases() {
    let dir = conformance_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "cannot read the conformance folder {}: {e} (set WGCNN_CONFORMANCE_DIR)",
                dir.display()
            )
        })
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no *.json cases in {}", dir.display());
    let gpu = common::gpu();
    let (mut passed, mut failures, mut missing) = (0, Vec::new(), Vec::new());
    for path in &paths {
        let case = Case::load(path);
        match run(&case, &gpu) {
            Outcome::Passed => passed += 1,
            Outcome::Failed(message) => failures.push(format!("{}: {message}", case.name)),
            Outcome::NotImplemented => missing.push(case.name.clone()),
        }
    }
    for failure in &failures {
        println!("FAILED {failure}");
    }
    println!("adapter: {}", gpu.adapter_info());
    println!("conformance: {} passed, {} failed", passed, failures.len());
    println!(
        "{} cases of ops not implemented yet: {:?}",
        missing.len(),
        missing
    );
    assert!(
        failures.is_empty(),
        "{} conformance cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
