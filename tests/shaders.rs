//! Every `shaders/*.wgsl` parses and validates with naga, without a GPU. Every shader takes its
//! parameters as immediates (the IMMEDIATES feature, which the Gpu requires); those that use
//! subgroup operations (`subgroupBroadcast`) are validated with subgroup capabilities on too (the
//! SUBGROUP feature enables them; naga takes no `enable subgroups;` yet), the `_int64` ones with
//! 64-bit integers (the SHADER_INT64 feature), and no other shader with any other capability.

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
