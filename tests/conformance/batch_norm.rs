//! batch_norm_stats, batch_norm_train and batch_norm_eval conformance cases: reference and GPU
//! against the golden outputs (mean, var_biased, var_unbiased / output, running_mean,
//! running_var). The GPU's running statistics are read back after the in-place update.

use crate::case::Case;
use wgcnn::{
    batch_norm_eval, batch_norm_stats, batch_norm_train, reference, BatchNormAffine, Gpu,
    HostTensor, RunningStats, RunningUpdate, Tensor,
};

type Outputs = wgcnn::Result<Vec<(&'static str, HostTensor)>>;

pub fn run(case: &Case, gpu: &Gpu) -> Result<(), String> {
    let (reference, on_gpu) = match case.op.as_str() {
        "batch_norm_stats" => (stats_reference(case), stats_gpu(case, gpu)),
        "batch_norm_train" => (train_reference(case), train_gpu(case, gpu)),
        "batch_norm_eval" => (eval_reference(case), eval_gpu(case, gpu)),
        op => return Err(format!("not a batch-norm op: {op}")),
    };
    case.judge(reference, on_gpu)
}

fn stats_reference(case: &Case) -> Outputs {
    let stats = reference::batch_norm_stats(&case.input("input")?)?;
    Ok(vec![
        ("mean", stats.mean),
        ("var_biased", stats.var_biased),
        ("var_unbiased", stats.var_unbiased),
    ])
}

fn stats_gpu(case: &Case, gpu: &Gpu) -> Outputs {
    let stats = batch_norm_stats(&case.input("input")?.upload(gpu)?)?;
    Ok(vec![
        ("mean", HostTensor::download(&stats.mean)?),
        ("var_biased", HostTensor::download(&stats.var_biased)?),
        ("var_unbiased", HostTensor::download(&stats.var_unbiased)?),
    ])
}

/// input, gamma, beta, running_mean, running_var as host tensors.
fn host_inputs(case: &Case) -> wgcnn::Result<[HostTensor; 5]> {
    Ok([
        case.input("input")?,
        case.input("gamma")?,
        case.input("beta")?,
        case.input("running_mean")?,
        case.input("running_var")?,
    ])
}

/// The same five, uploaded.
fn gpu_inputs(case: &Case, gpu: &Gpu) -> wgcnn::Result<[Tensor; 5]> {
    let [input, gamma, beta, mean, var] = host_inputs(case)?;
    Ok([
        input.upload(gpu)?,
        gamma.upload(gpu)?,
        beta.upload(gpu)?,
        mean.upload(gpu)?,
        var.upload(gpu)?,
    ])
}

fn train_reference(case: &Case) -> Outputs {
    let [input, gamma, beta, mean, var] = host_inputs(case)?;
    let eps = case.number("eps") as f32;
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps,
    };
    let update = RunningUpdate {
        mean: &mean,
        var: &var,
        momentum: case.number("momentum") as f32,
    };
    let result = reference::batch_norm_train(&input, &affine, Some(&update))?;
    Ok(vec![
        ("output", result.output),
        (
            "running_mean",
            result.running_mean.expect("running stats given"),
        ),
        (
            "running_var",
            result.running_var.expect("running stats given"),
        ),
    ])
}

fn train_gpu(case: &Case, gpu: &Gpu) -> Outputs {
    let [input, gamma, beta, mean, var] = gpu_inputs(case, gpu)?;
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: case.number("eps") as f32,
    };
    let update = RunningUpdate {
        mean: &mean,
        var: &var,
        momentum: case.number("momentum") as f32,
    };
    let output = batch_norm_train(&input, &affine, Some(&update))?;
    Ok(vec![
        ("output", HostTensor::download(&output)?),
        ("running_mean", HostTensor::download(&mean)?),
        ("running_var", HostTensor::download(&var)?),
    ])
}

fn eval_reference(case: &Case) -> Outputs {
    let [input, gamma, beta, mean, var] = host_inputs(case)?;
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: case.number("eps") as f32,
    };
    let running = RunningStats {
        mean: &mean,
        var: &var,
    };
    Ok(vec![(
        "output",
        reference::batch_norm_eval(&input, &affine, &running)?,
    )])
}

fn eval_gpu(case: &Case, gpu: &Gpu) -> Outputs {
    let [input, gamma, beta, mean, var] = gpu_inputs(case, gpu)?;
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: case.number("eps") as f32,
    };
    let running = RunningStats {
        mean: &mean,
        var: &var,
    };
    let output = batch_norm_eval(&input, &affine, &running)?;
    Ok(vec![("output", HostTensor::download(&output)?)])
}
