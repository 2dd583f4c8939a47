//! Writes include/yaowasm.h from src/ffi.rs with cbindgen. A cbindgen failure
//! fails the build: a header that is cut short must never ship.

fn main() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed=src/ffi.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
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
