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
    let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml")).expect("cbindgen.toml is readable");
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
