//! One conformance case as read from its JSON file (format: shared/conformance/README.md), and
//! the checks every op runner shares.

use crate::common::check_close;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use wgcnn::HostTensor;

pub struct Case {
    pub name: String,
    pub op: String,
    pub params: Value,
    /// Raw `(shape, data)`: an error case may have a length that does not match its shape.
    pub inputs: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    pub expected: BTreeMap<String, HostTensor>,
    pub tolerance: (f32, f32),
    pub expect_error: bool,
}

fn tensor_parts(value: &Value) -> (Vec<usize>, Vec<f32>) {
    let shape = value["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = value["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    (shape, data)
}

impl Case {
    pub fn load(path: &Path) -> Case {
        let text = std::fs::read_to_string(path).unwrap();
        let json: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let tensors = |key: &str| -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
            json[key]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), tensor_parts(v)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let expected = tensors("expected")
            .into_iter()
            .map(|(k, (shape, data))| {
                (
                    k,
                    HostTensor::new(&shape, data).expect("expected tensors are consistent"),
                )
            })
            .collect();
        let tolerance = &json["tolerance"];
        Case {
            name: json["name"].as_str().unwrap().to_string(),
            op: json["op"].as_str().unwrap().to_string(),
            params: json["params"].clone(),
            inputs: tensors("inputs"),
            expected,
            tolerance: (
                tolerance["abs"].as_f64().unwrap_or(0.0) as f32,
                tolerance["rel"].as_f64().unwrap_or(0.0) as f32,
            ),
            expect_error: json
                .get("expect_error")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }

    /// An input as a host tensor; `Err` when its data length does not match its shape.
    pub fn input(&self, name: &str) -> wgcnn::Result<HostTensor> {
        let (shape, data) = &self.inputs[name];
        HostTensor::new(shape, data.clone())
    }

    pub fn optional_input(&self, name: &str) -> wgcnn::Result<Option<HostTensor>> {
        self.inputs
            .contains_key(name)
            .then(|| self.input(name))
            .transpose()
    }

    pub fn pair(&self, key: &str) -> [usize; 2] {
        let values = self.params[key]
            .as_array()
            .unwrap_or_else(|| panic!("{}: params.{key} missing", self.name));
        [
            values[0].as_u64().unwrap() as usize,
            values[1].as_u64().unwrap() as usize,
        ]
    }

    pub fn flag(&self, key: &str) -> bool {
        self.params[key].as_bool().unwrap_or(false)
    }

    pub fn number(&self, key: &str) -> f64 {
        self.params[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{}: params.{key} missing", self.name))
    }

    /// Compares named outputs with the expected tensors (shape and values within tolerance).
    pub fn check(&self, side: &str, outputs: &[(&str, HostTensor)]) -> Result<(), String> {
        for (name, expected) in &self.expected {
            let Some((_, actual)) = outputs.iter().find(|(n, _)| n == name) else {
                return Err(format!("{side}: expected output '{name}' was not produced"));
            };
            if actual.shape() != expected.shape() {
                return Err(format!(
                    "{side} {name}: shape {:?}, expected {:?}",
                    actual.shape(),
                    expected.shape()
                ));
            }
            check_close(
                actual.data(),
                expected.data(),
                self.tolerance.0,
                self.tolerance.1,
            )
            .map_err(|m| format!("{side} {name}: {m}"))?;
        }
        Ok(())
    }

    /// For an error case, both sides must have returned `Err`; otherwise both must match.
    pub fn judge(
        &self,
        reference: wgcnn::Result<Vec<(&str, HostTensor)>>,
        gpu: wgcnn::Result<Vec<(&str, HostTensor)>>,
    ) -> Result<(), String> {
        if self.expect_error {
            return match (reference, gpu) {
                (Err(_), Err(_)) => Ok(()),
                (Ok(_), _) => Err("reference accepted invalid input".into()),
                (_, Ok(_)) => Err("GPU path accepted invalid input".into()),
            };
        }
        self.check(
            "reference",
            &reference.map_err(|e| format!("reference error: {e}"))?,
        )?;
        self.check("gpu", &gpu.map_err(|e| format!("gpu error: {e}"))?)
    }
}
