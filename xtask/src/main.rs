//! `cargo xtask header` writes include/yaowasm.h from src/ffi.rs with
//! cbindgen; `cargo xtask header --check` fails (exit 1) when the committed
//! header differs from what src/ffi.rs says. An explicit step, not a build
//! script: building the library never writes into the source tree, and the
//! library's build does not compile cbindgen.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask/ is inside the repository").to_path_buf()
}

/// The library's version, from the root Cargo.toml's `[package]`.
fn library_version(root: &Path) -> String {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml is readable");
    let package = manifest.split("[package]").nth(1).expect("Cargo.toml has a [package]");
    let line = package.lines().find(|l| l.trim_start().starts_with("version")).expect("[package] has a version");
    line.split('"').nth(1).expect("version = \"x.y.z\"").to_owned()
}

fn generate(root: &Path) -> Vec<u8> {
    let mut config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml is readable");
    // The version macros come from Cargo.toml, so the header and the
    // library's yaowasm_version() cannot disagree.
    let version = library_version(root);
    let mut parts = version.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor, patch) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    let macros = format!(
        "\n#define YAOWASM_VERSION \"{version}\"\n#define YAOWASM_VERSION_MAJOR {major}\n#define YAOWASM_VERSION_MINOR {minor}\n#define YAOWASM_VERSION_PATCH {patch}\n"
    );
    config.after_includes = Some(format!("{}{macros}", config.after_includes.unwrap_or_default()));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/ffi.rs"))
        .generate()
        .expect("cbindgen could not generate the header from src/ffi.rs");
    let mut text = Vec::new();
    bindings.write(&mut text);
    text
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["header"] | ["header", "--check"] => {
            let root = root();
            let path = root.join("include/yaowasm.h");
            let text = generate(&root);
            let current = std::fs::read(&path).unwrap_or_default();
            if args.len() == 2 {
                if current != text {
                    eprintln!("include/yaowasm.h is stale: run `cargo xtask header` and commit it");
                    return ExitCode::FAILURE;
                }
                println!("include/yaowasm.h is up to date");
            } else if current != text {
                std::fs::write(&path, &text).expect("include/yaowasm.h is writable");
                println!("wrote include/yaowasm.h");
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: cargo xtask header [--check]");
            ExitCode::from(2)
        }
    }
}
