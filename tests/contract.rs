//! The contract lives in one place per concern; the documents that list
//! the same things must agree with it. The config keys are `src/config.rs`
//! (what the parser accepts); the README's config table and docs/ABI.md §9
//! must name every one of them and no other.

use std::collections::BTreeSet;

/// The config's top-level keys, as the parser itself lists them when it
/// refuses an unknown key (serde's "expected one of ...").
fn config_keys() -> BTreeSet<String> {
    let error = yaowasm::Config::from_json(Some(r#"{"no_such_key_at_all": 1}"#)).unwrap_err();
    let text = error.message();
    let list = text.split("expected one of").nth(1).unwrap_or_else(|| panic!("serde lists the keys: {text}"));
    let list = list.split(" at line").next().unwrap();
    list.split(',').map(|k| k.trim().trim_matches(|c: char| c == '`' || c.is_whitespace()).to_owned()).filter(|k| !k.is_empty()).collect()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The keys named in the first column of the README's config table (the
/// part before a dot for nested ones like `wasi.preopen`).
fn readme_table_keys(readme: &str) -> BTreeSet<String> {
    let section = readme.split("### Configuration").nth(1).expect("README has a Configuration section");
    let section = section.split("\n### ").next().unwrap();
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .map(|l| l.split('`').next().unwrap().split('.').next().unwrap().to_owned())
        .collect()
}

#[test]
fn readme_and_abi_name_every_config_key_and_no_other() {
    let keys = config_keys();
    assert!(keys.len() >= 15 && keys.contains("max_memory_mb") && keys.contains("stores"), "{keys:?}");
    let readme = read("README.md");
    let table = readme_table_keys(&readme);
    for key in &table {
        assert!(keys.contains(key), "README's config table lists `{key}`, which src/config.rs does not accept");
    }
    let section = readme.split("### Configuration").nth(1).unwrap().split("\n### ").next().unwrap();
    for key in &keys {
        assert!(
            section.contains(&format!("`{key}`")) || section.contains(&format!("`{key}.")),
            "README's config section does not mention `{key}`"
        );
    }
    let abi = read("docs/ABI.md");
    let nine = abi.split("## 9.").nth(1).expect("ABI has a §9");
    for key in ["stores", "fs", "fs_read_only", "http_allow", "http_max_response_bytes", "http_max_upload_bytes", "http_timeout_ms"] {
        assert!(keys.contains(key), "{key} is a config key");
        assert!(nine.contains(&format!("`{key}")), "docs/ABI.md §9 does not describe `{key}`");
    }
}

#[test]
fn the_ffi_doc_of_runtime_new_points_to_the_config_instead_of_copying_it() {
    let ffi = read("src/ffi.rs");
    let doc = ffi.split("pub unsafe extern \"C\" fn yaowasm_runtime_new").next().unwrap();
    let doc = doc.rsplit("#[no_mangle]").nth(1).unwrap_or(doc);
    assert!(doc.contains("src/config.rs"), "yaowasm_runtime_new's doc names the normative config");
}
