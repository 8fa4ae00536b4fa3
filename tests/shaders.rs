//! Every `shaders/*.wgsl` parses and validates with naga, without a GPU. Every shader takes its
//! parameters as immediates (the IMMEDIATES feature, which the Gpu requires); those that use
//! subgroup operations (`subgroupBroadcast`) are validated with subgroup capabilities on too (the
//! SUBGROUP feature enables them; naga takes no `enable subgroups;` yet), the `_int64` ones with
//! 64-bit integers (the SHADER_INT64 feature), and no other shader with any other capability.
//! The GLSL ports in `shaders/glsl/` (naga reads no 64-bit GLSL) are checked with glslang's
//! validator, each against the WGSL entry point it ports.

use naga::valid::{Capabilities, ValidationFlags, Validator};

#[test]
fn every_shader_parses_and_validates() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "wgsl") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&source)));
        let name = path.file_name().unwrap().to_string_lossy();
        let capabilities = Capabilities::IMMEDIATES
            | if source.contains("subgroupBroadcast") {
                Capabilities::all()
            } else if name.ends_with("_int64.wgsl") {
                Capabilities::SHADER_INT64
            } else {
                Capabilities::empty()
            };
        Validator::new(ValidationFlags::all(), capabilities)
            .validate(&module)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&source)));
        assert!(
            module
                .entry_points
                .iter()
                .all(|e| e.stage == naga::ShaderStage::Compute),
            "{}: only compute entry points",
            path.display()
        );
        checked.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    checked.sort();
    println!("validated: {checked:?}");
    assert!(
        checked.contains(&"conv2d.wgsl".to_string())
            && checked.contains(&"projection.wgsl".to_string())
            && checked.contains(&"pool2d_int64.wgsl".to_string())
            && checked.contains(&"conv2d_wide.wgsl".to_string())
            && checked.contains(&"conv2d_pack.wgsl".to_string())
    );
}

#[test]
fn every_glsl_port_validates_with_glslang_and_names_a_wgsl_twin() {
    let shaders = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let wgsl: String = std::fs::read_dir(&shaders)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wgsl"))
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect();
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(shaders.join("glsl")).unwrap() {
        let path = entry.unwrap().path();
        let output = std::process::Command::new("glslangValidator")
            .arg("-S")
            .arg("comp")
            .arg(&path)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "running glslangValidator: {e}. Install it with `bash \
                     scripts/install-adapters.sh` (Debian's glslang-tools)"
                )
            });
        assert!(
            output.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stdout)
        );
        // A port keeps its WGSL kernel's name, with `_int64` if only the port loads u64s.
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let ported = [stem.as_str(), stem.trim_end_matches("_int64")];
        assert!(
            ported
                .iter()
                .any(|name| wgsl.contains(&format!("fn {name}("))),
            "{}: no WGSL entry point `{stem}` for it to port",
            path.display()
        );
        checked.push(stem);
    }
    checked.sort();
    println!("validated: {checked:?}");
    assert_eq!(
        checked,
        [
            "avg_pool2d_k2s2_int64",
            "conv2d_window1_narrow_int64",
            "conv2d_window3",
            "max_pool2d_k3s2p1_int64"
        ]
    );
}

/// `source` with every read `array[index]` (not part of a longer name) as `floats4(array[index])`.
fn through_floats4(source: &str, array: &str) -> String {
    let pattern = format!("{array}[");
    let mut out = String::new();
    let mut rest = source;
    while let Some(at) = rest.find(&pattern) {
        let preceded_by_name = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if preceded_by_name {
            out.push_str(&pattern);
            rest = &rest[pattern.len()..];
            continue;
        }
        let end = rest.find(']').unwrap() + 1;
        out.push_str(&format!("floats4({})", &rest[..end]));
        rest = &rest[end..];
    }
    out + rest
}

#[test]
fn conv2d_window64_is_conv2d_window_with_64_bit_loads() {
    let read = |name: &str| {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("shaders")
                .join(name),
        )
        .unwrap()
    };
    let (window, window64) = (read("conv2d_window.wgsl"), read("conv2d_window64.wgsl"));
    // Below each file's header (which ends where the parameters' struct starts).
    let body =
        |source: &str| source[source.find("// Mirrors `Conv2dParams`").unwrap()..].to_string();
    let declared = body(&window)
        .replace(
            "var<storage, read> input: array<vec4<f32>>;",
            "var<storage, read> input: array<vec2<u64>>;",
        )
        .replace(
            "var<storage, read> packed_weight: array<vec4<f32>>;",
            "var<storage, read> packed_weight: array<vec2<u64>>;",
        );
    let expected = through_floats4(&through_floats4(&declared, "input"), "packed_weight");
    let body64 = body(&window64);
    let (kernels, floats4) = body64.split_at(
        body64
            .find("\n// The 4 floats of a vec2<u64>")
            .expect("floats4 at the end"),
    );
    assert_eq!(kernels.trim_end(), expected.trim_end());
    assert!(floats4.contains("fn floats4(bits: vec2<u64>) -> vec4<f32>"));
}
