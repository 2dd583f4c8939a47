//! Tells the library whether the JS engine (js/engine/build.sh) has been
//! built, so it is embedded. (The C header is not written here: it is an
//! explicit step, `cargo xtask header`, checked by the tests.)

fn main() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    // The JS engine (js/engine/build.sh) is embedded when it has been built.
    // The target the code compiles for: part of the module cache's keys
    // (src/runtime/cache.rs).
    println!("cargo:rustc-env=YAOWASM_TARGET={}", std::env::var("TARGET").expect("cargo sets TARGET"));
    println!("cargo::rustc-check-cfg=cfg(yaowasm_js_engine)");
    println!("cargo:rerun-if-changed=js/engine/build");
    if std::path::Path::new(&format!("{crate_dir}/js/engine/build/engine.wasm")).exists() {
        println!("cargo:rustc-cfg=yaowasm_js_engine");
    }
}
