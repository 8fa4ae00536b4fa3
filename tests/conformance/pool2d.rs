//! Pooling conformance cases (max_pool2d, avg_pool2d, global_avg_pool2d, global_max_pool2d):
//! reference and GPU against the golden outputs.

use crate::case::Case;
use wgcnn::{reference, AvgPool2dOptions, Gpu, HostTensor, MaxPool2dOptions, Result, Tensor};

fn max_options(case: &Case) -> MaxPool2dOptions {
    MaxPool2dOptions {
        stride: Some(case.pair("stride")),
        padding: case.pair("padding"),
        dilation: case.pair("dilation"),
        ceil_mode: case.flag("ceil_mode"),
        ..MaxPool2dOptions::new(case.pair("kernel_size"))
    }
}

fn avg_options(case: &Case) -> AvgPool2dOptions {
    AvgPool2dOptions {
        stride: Some(case.pair("stride")),
        padding: case.pair("padding"),
        ceil_mode: case.flag("ceil_mode"),
        count_include_pad: case.flag("count_include_pad"),
        ..AvgPool2dOptions::new(case.pair("kernel_size"))
    }
}

/// Runs one pooling op given as its reference and GPU functions.
fn judge(
    case: &Case,
    gpu: &Gpu,
    on_cpu: impl Fn(&HostTensor) -> Result<HostTensor>,
    on_gpu: impl Fn(&Tensor) -> Result<Tensor>,
) -> std::result::Result<(), String> {
    let reference = (|| Ok(vec![("output", on_cpu(&case.input("input")?)?)]))();
    let gpu_result = (|| {
        let input = case.input("input")?.upload(gpu)?;
        Ok(vec![("output", HostTensor::download(&on_gpu(&input)?)?)])
    })();
    case.judge(reference, gpu_result)
}

pub fn run(case: &Case, gpu: &Gpu) -> std::result::Result<(), String> {
    match case.op.as_str() {
        "max_pool2d" => {
            let options = max_options(case);
            judge(
                case,
                gpu,
                |x| reference::max_pool2d(x, &options),
                |x| wgcnn::max_pool2d(x, &options),
            )
        }
        "avg_pool2d" => {
            let options = avg_options(case);
            judge(
                case,
                gpu,
                |x| reference::avg_pool2d(x, &options),
                |x| wgcnn::avg_pool2d(x, &options),
            )
        }
        "global_avg_pool2d" => judge(
            case,
            gpu,
            reference::global_avg_pool2d,
            wgcnn::global_avg_pool2d,
        ),
        "global_max_pool2d" => judge(
            case,
            gpu,
            reference::global_max_pool2d,
            wgcnn::global_max_pool2d,
        ),
        op => Err(format!("pool2d runner got op {op}")),
    }
}
