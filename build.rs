//! Writes include/yaowasm.h from src/ffi.rs with cbindgen. A cbindgen failure
//! fails the build: a header that is cut short must never ship.

fn main() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed=src/ffi.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    // The JS engine (js/engine/build.sh) is embedded when it has been built.
    println!("cargo::rustc-check-cfg=cfg(yaowasm_js_engine)");
    println!("cargo:rerun-if-changed=js/engine/build");
    if std::path::Path::new(&format!("{crate_dir}/js/engine/build/engine.wasm")).exists() {
        println!("cargo:rustc-cfg=yaowasm_js_engine");
    }
    let mut config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml")).expect("cbindgen.toml is readable");
    // The version macros come from Cargo.toml, so the header and the
    // library's yaowasm_version() cannot disagree.
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let mut parts = version.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor, patch) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    let macros = format!(
        "\n#define YAOWASM_VERSION \"{version}\"\n#define YAOWASM_VERSION_MAJOR {major}\n#define YAOWASM_VERSION_MINOR {minor}\n#define YAOWASM_VERSION_PATCH {patch}\n"
    );
    config.after_includes = Some(format!("{}{macros}", config.after_includes.unwrap_or_default()));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(format!("{crate_dir}/src/ffi.rs"))
        .generate()
        .expect("cbindgen could not generate include/yaowasm.h");
    let header = format!("{crate_dir}/include/yaowasm.h");
    // Only write when the text changed, so the file's mtime (and anything
    // that depends on it) moves only with the API.
    let mut text = Vec::new();
    bindings.write(&mut text);
    if std::fs::read(&header).ok().as_deref() != Some(&text[..]) {
        std::fs::write(&header, &text).expect("include/yaowasm.h is writable");
    }
}
