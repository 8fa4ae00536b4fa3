//! conv2d conformance cases: reference and GPU against the golden outputs.

use crate::case::Case;
use wgcnn::{conv2d, reference, Activation, Conv2dOptions, Gpu, HostTensor, Padding};

fn options(case: &Case) -> Conv2dOptions {
    let padding = match case.params.get("pads").and_then(|p| p.as_array()) {
        Some(p) => Padding::Explicit([0, 1, 2, 3].map(|i| p[i].as_u64().unwrap() as usize)),
        None => Padding::Symmetric(case.pair("padding")),
    };
    Conv2dOptions {
        stride: case.pair("stride"),
        padding,
        dilation: case.pair("dilation"),
        groups: case.params["groups"].as_u64().unwrap() as usize,
        activation: Activation::None,
    }
}

pub fn run(case: &Case, gpu: &Gpu) -> Result<(), String> {
    let options = options(case);
    let reference = (|| {
        let (input, weight, bias) = (
            case.input("input")?,
            case.input("weight")?,
            case.optional_input("bias")?,
        );
        Ok(vec![(
            "output",
            reference::conv2d(&input, &weight, bias.as_ref(), &options)?,
        )])
    })();
    let on_gpu = (|| {
        let input = case.input("input")?.upload(gpu)?;
        let weight = case.input("weight")?.upload(gpu)?;
        let bias = case
            .optional_input("bias")?
            .map(|b| b.upload(gpu))
            .transpose()?;
        Ok(vec![(
            "output",
            HostTensor::download(&conv2d(&input, &weight, bias.as_ref(), &options)?)?,
        )])
    })();
    case.judge(reference, on_gpu)
}
