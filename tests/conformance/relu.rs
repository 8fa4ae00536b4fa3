//! ReLU conformance cases: reference and GPU (out of place and in place) against the golden
//! outputs, exactly.

use crate::case::Case;
use wgcnn::{reference, Gpu, HostTensor};

pub fn run(case: &Case, gpu: &Gpu) -> Result<(), String> {
    let reference = (|| Ok(vec![("output", reference::relu(&case.input("input")?))]))();
    let out_of_place = (|| {
        let input = case.input("input")?.upload(gpu)?;
        Ok(vec![(
            "output",
            HostTensor::download(&wgcnn::relu(&input)?)?,
        )])
    })();
    case.judge(reference, out_of_place)?;
    if case.expect_error {
        return Ok(());
    }
    let in_place = (|| -> wgcnn::Result<_> {
        let data = case.input("input")?.upload(gpu)?;
        wgcnn::relu_in_place(&data)?;
        Ok(vec![("output", HostTensor::download(&data)?)])
    })();
    case.check(
        "gpu in place",
        &in_place.map_err(|e| format!("gpu error: {e}"))?,
    )
}
