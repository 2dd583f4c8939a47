//! A script project made by `yaowasm new`: a folder with `yaowasm.json`
//! (language, script name, where its `.wasm` goes), built by
//! `yaowasm build <folder>` with the language's own toolchain.

use clap::ValueEnum;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use yaowasm::Error;

/// The file that makes a folder a project.
pub const PROJECT_FILE: &str = "yaowasm.json";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Language {
    Rust,
    Go,
    C,
    #[value(name = "assemblyscript", alias = "as")]
    AssemblyScript,
    #[value(name = "typescript", alias = "ts")]
    TypeScript,
}

impl Language {
    pub fn label(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Go => "go",
            Language::C => "c",
            Language::AssemblyScript => "assemblyscript",
            Language::TypeScript => "typescript",
        }
    }
}

pub struct Project {
    pub language: Language,
    pub name: String,
    /// The module's path, relative to the project folder.
    pub out: PathBuf,
}

impl Project {
    pub fn to_json(&self) -> String {
        let value = json!({ "language": self.language.label(), "name": self.name, "out": self.out.display().to_string() });
        serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
    }

    pub fn open(dir: &Path) -> Result<Project, Error> {
        let file = dir.join(PROJECT_FILE);
        let bad = |why: String| Error::bad_request(format!("{}: {why}", file.display()));
        let text = std::fs::read_to_string(&file).map_err(|e| Error::not_found(format!("cannot read {}: {e}", file.display())))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let field = |key: &str| value.get(key).and_then(|v| v.as_str()).ok_or_else(|| bad(format!("\"{key}\" must be a string")));
        let language = Language::from_str(field("language")?, true)
            .map_err(|_| bad("\"language\" must be rust, go, c, assemblyscript or typescript".into()))?;
        Ok(Project { language, name: field("name")?.to_string(), out: PathBuf::from(field("out")?) })
    }
}

/// True if `dir` is a project folder.
pub fn is_project(dir: &Path) -> bool {
    dir.join(PROJECT_FILE).is_file()
}

/// Builds the project in `dir` into its `.wasm` (or `out`, if given).
pub fn build(dir: &Path, out: Option<&Path>, esbuild: Option<PathBuf>) -> Result<(), Error> {
    let project = Project::open(dir)?;
    let target = match out {
        Some(out) => out.to_path_buf(),
        None => dir.join(&project.out),
    };
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::internal(format!("cannot create {}: {e}", parent.display())))?;
    }
    let target = std::path::absolute(&target).map_err(|e| Error::internal(format!("{}: {e}", target.display())))?;
    let started = Instant::now();
    match project.language {
        Language::Rust => build_rust(dir, &project, &target)?,
        Language::Go => build_go(dir, &target)?,
        Language::C => build_c(dir, &target)?,
        Language::AssemblyScript => build_assemblyscript(dir, &target)?,
        Language::TypeScript => build_typescript(dir, &target, esbuild)?,
    }
    let size = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
    println!(
        "built {} ({} script {}) -> {} ({size} B, {} ms)",
        dir.display(),
        project.language.label(),
        project.name,
        target.display(),
        started.elapsed().as_millis()
    );
    Ok(())
}

/// A tool: the variable `var` if set, else the first of `names` on PATH.
fn tool(var: &str, names: &[&str], install: &str) -> Result<PathBuf, Error> {
    if let Some(path) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let paths: Vec<PathBuf> = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    names
        .iter()
        .find_map(|name| paths.iter().map(|dir| dir.join(name)).find(|p| p.is_file()))
        .ok_or_else(|| Error::not_found(format!("{} not found on PATH (or ${var}): {install}", names.join(" or "))))
}

/// Runs a toolchain command in `dir`, its output going to the user.
fn run(dir: &Path, command: &mut Command, what: &str) -> Result<(), Error> {
    let status =
        command.current_dir(dir).status().map_err(|e| Error::internal(format!("{what}: cannot run {:?}: {e}", command.get_program())))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::bad_request(format!("{what} failed ({status}): its messages are above; nothing was written")))
    }
}

/// Copies the toolchain's module to the target (rename within a folder, so
/// a running `serve` never sees half a file).
fn install(from: &Path, target: &Path) -> Result<(), Error> {
    let tmp = target.with_extension("wasm.tmp");
    std::fs::copy(from, &tmp).map_err(|e| Error::internal(format!("cannot copy {} to {}: {e}", from.display(), tmp.display())))?;
    std::fs::rename(&tmp, target).map_err(|e| Error::internal(format!("cannot write {}: {e}", target.display())))
}

const RUST_TARGET: &str = "wasm32-unknown-unknown";

fn build_rust(dir: &Path, project: &Project, target: &Path) -> Result<(), Error> {
    let cargo =
        tool("YAOWASM_CARGO", &["cargo"], "install Rust with rustup (https://rustup.rs), then `rustup target add wasm32-unknown-unknown`")?;
    run(dir, Command::new(cargo).args(["build", "--release", "--target", RUST_TARGET]), "cargo build")
        .map_err(|e| Error::new(e.code(), format!("{} (no wasm target? `rustup target add {RUST_TARGET}`)", e.message())))?;
    // The module takes the [lib] name, which `yaowasm new` sets to the script's.
    // Where cargo put it: $CARGO_TARGET_DIR (relative to the project, as
    // cargo reads it) or the project's target/.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()).map_or_else(|| dir.join("target"), |t| dir.join(t));
    let module = target_dir.join(RUST_TARGET).join("release").join(format!("{}.wasm", project.name.replace('-', "_")));
    if !module.is_file() {
        return Err(Error::not_found(format!(
            "cargo built no {}: is [lib] name in Cargo.toml still {:?}?",
            module.display(),
            project.name
        )));
    }
    install(&module, target)
}

fn build_go(dir: &Path, target: &Path) -> Result<(), Error> {
    let go = tool("YAOWASM_GO", &["go"], "install Go 1.24 or later (https://go.dev/dl)")?;
    let tmp = target.with_extension("wasm.tmp");
    run(
        dir,
        Command::new(go)
            .env("GOOS", "wasip1")
            .env("GOARCH", "wasm")
            .args(["build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s", "-o"])
            .arg(&tmp)
            .arg("."),
        "go build",
    )?;
    std::fs::rename(&tmp, target).map_err(|e| Error::internal(format!("cannot write {}: {e}", target.display())))
}

fn build_c(dir: &Path, target: &Path) -> Result<(), Error> {
    let cc = tool("YAOWASM_CC", &["clang-19", "clang"], "install clang (with wasm32 support: Debian's clang-19 and lld-19)")?;
    let tmp = target.with_extension("wasm.tmp");
    run(
        dir,
        Command::new(cc)
            .args(["--target=wasm32", "-O2", "-Wall", "-Wextra", "-nostdlib", "-Wl,--no-entry", "-Wl,--strip-all", "-I.", "-o"])
            .arg(&tmp)
            .arg("main.c"),
        "clang",
    )?;
    std::fs::rename(&tmp, target).map_err(|e| Error::internal(format!("cannot write {}: {e}", target.display())))
}

/// `npm install` once, when the project has no node_modules yet.
fn npm_install(dir: &Path) -> Result<(), Error> {
    if dir.join("node_modules").is_dir() {
        return Ok(());
    }
    let npm = tool("YAOWASM_NPM", &["npm"], "install Node.js 18+ with npm")?;
    run(dir, Command::new(npm).args(["install", "--no-audit", "--no-fund", "--loglevel=error"]), "npm install")
}

fn build_assemblyscript(dir: &Path, target: &Path) -> Result<(), Error> {
    npm_install(dir)?;
    let node = tool("YAOWASM_NODE", &["node"], "install Node.js 18+")?;
    let tmp = target.with_extension("wasm.tmp");
    run(
        dir,
        Command::new(node)
            .arg("node_modules/assemblyscript/bin/asc.js")
            .args(["assembly/index.ts", "--config", "node_modules/@yaoapp/yaowasm-as/yaowasm.asconfig.json", "--target", "release", "-o"])
            .arg(&tmp),
        "asc",
    )?;
    std::fs::rename(&tmp, target).map_err(|e| Error::internal(format!("cannot write {}: {e}", target.display())))
}

fn build_typescript(dir: &Path, target: &Path, esbuild: Option<PathBuf>) -> Result<(), Error> {
    npm_install(dir)?;
    let esbuild = match esbuild {
        Some(path) => path,
        None => {
            // Absolute: esbuild runs in the source's folder.
            let local = std::path::absolute(dir.join("node_modules/.bin/esbuild")).unwrap_or_default();
            if local.is_file() {
                local
            } else {
                yaowasm_cli::esbuild::find_esbuild(None)?
            }
        }
    };
    let runtime = crate::build::build_runtime()?;
    let mut bundler = yaowasm_cli::esbuild::Bundler::default();
    match yaowasm_cli::esbuild::build_file_with(&mut bundler, &runtime, &esbuild, &dir.join("main.ts"), target)? {
        yaowasm_cli::esbuild::Built::Hook { .. } => Ok(()),
        yaowasm_cli::esbuild::Built::Library { .. } => {
            Err(Error::bad_request("main.ts has no top-level function: nothing to call, so no module was written"))
        }
    }
}
