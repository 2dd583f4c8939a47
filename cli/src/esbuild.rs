//! Building a TS/JS source into a hook module (`yaowasm build`, the tests).
//! It lives with the CLI, not in the shipped library: a host that runs
//! scripts never bundles TypeScript.
//!
//! esbuild strips the types and bundles relative imports and npm packages
//! into one script; the runtime's own engine compiles it to bytecode; the
//! bytecode goes into a hook module (`yaowasm::js::build_hook`).
//!
//! Yao scripts are not modules to their authors: every top-level function,
//! exported or not, is a script function. We keep that by finding the
//! top-level functions of the file (in esbuild's type-stripped output of that
//! file alone, where each top-level statement starts at column 0) and
//! exporting the ones the author did not, before bundling as an IIFE that
//! ends with `globalThis.__yao_exports = { F, G, ... }` (a plain object: no
//! getters to build on every call).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use yaowasm::{Error, Result, Runtime};

/// Where `yaowasm build` looks for npm packages a script imports when the
/// app has no node_modules of its own on the way up: js/node_modules.
pub fn default_node_modules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../js/node_modules")
}

/// The esbuild binary: `explicit`, else $YAOWASM_ESBUILD, else js/node_modules
/// of the checkout this library was built from, else `esbuild` on PATH.
pub fn find_esbuild(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = explicit.or_else(|| std::env::var_os("YAOWASM_ESBUILD").map(PathBuf::from)) {
        return Ok(path);
    }
    let modules = default_node_modules();
    // The native binary first: the npm shim in .bin costs a node start.
    for candidate in [modules.join("@esbuild/linux-x64/bin/esbuild"), modules.join(".bin/esbuild")] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let on_path = std::env::var_os("PATH").map(|paths| std::env::split_paths(&paths).map(|p| p.join("esbuild")).find(|p| p.is_file()));
    on_path.flatten().ok_or_else(|| {
        Error::not_found("esbuild not found: run scripts/setup.sh (it installs esbuild in js/), or pass --esbuild / set YAOWASM_ESBUILD")
    })
}

/// `src` relative to its app's root, by the rule the bundling step's source
/// maps use (esbuild_bundle.js): the folder of the nearest tsconfig.json
/// walking up, else the folder holding the nearest `scripts/`, else the
/// source's own folder.
pub fn app_relative(src: &Path) -> String {
    let abs = std::path::absolute(src).unwrap_or_else(|_| src.to_path_buf());
    let dir = abs.parent().unwrap_or(Path::new("/"));
    let root = dir
        .ancestors()
        .find(|d| d.join("tsconfig.json").is_file())
        .or_else(|| dir.ancestors().find(|d| d.file_name().is_some_and(|n| n == "scripts")).and_then(Path::parent))
        .unwrap_or(dir);
    abs.strip_prefix(root).unwrap_or(&abs).display().to_string()
}

/// What building one source gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Built {
    /// A hook was written: its size, and the app files bundled into it
    /// (absolute paths, the source itself included; npm packages left out).
    Hook { size: usize, inputs: Vec<PathBuf> },
    /// A library: no top-level function but exports (classes, consts,
    /// types) that other scripts import. Nothing to call, so no hook is
    /// written; not an error.
    Library { exports: Vec<String> },
}

/// Builds one file; on any error nothing is written and the message starts
/// with `file:line:col` where the error has a place. Starts a bundler for
/// this file alone; `build_file_with` shares one across files.
pub fn build_file(runtime: &Runtime, esbuild: &Path, src: &Path, out: &Path) -> Result<Built> {
    build_file_with(&mut Bundler::default(), runtime, esbuild, src, out)
}

/// `build_file` with a bundler (a node process) kept across calls.
pub fn build_file_with(bundler: &mut Bundler, runtime: &Runtime, esbuild: &Path, src: &Path, out: &Path) -> Result<Built> {
    build_file_opts(bundler, runtime, esbuild, src, out, &Options::default())
}

/// How a file is built.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `--strip-debug`: no source map in the hook and no line tables in its
    /// bytecode (errors then say `Name: message` with no place).
    pub strip_debug: bool,
}

/// `build_file_with` with options.
pub fn build_file_opts(
    bundler: &mut Bundler,
    runtime: &Runtime,
    esbuild: &Path,
    src: &Path,
    out: &Path,
    options: &Options,
) -> Result<Built> {
    let shown = src.display().to_string();
    let source = std::fs::read_to_string(src).map_err(|e| Error::not_found(format!("{shown}: cannot read: {e}")))?;
    let dir = src.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let loader = if shown.ends_with(".ts") { "ts" } else { "js" };

    // 1. This file alone, types stripped: its top-level functions.
    let stripped = esbuild_run(esbuild, dir, &shown, loader, &source, &["--format=esm"])?;
    let scan = scan_top_level(&stripped);
    if scan.functions.is_empty() && scan.exported_functions.is_empty() {
        // Exports left after type stripping, or only types (`export
        // interface`, `export type`): a library other scripts import.
        if !scan.exported.is_empty() || has_export_statement(&source) {
            return Ok(Built::Library { exports: scan.exported.into_iter().collect() });
        }
        return Err(Error::bad_request(format!("{shown}: no top-level function and no export: nothing to call")));
    }

    // 2. The bundle: the unexported functions exported too, as an IIFE that
    // ends by storing the script functions in a plain object. (esbuild's
    // own `--global-name` exports are getters built by __export and
    // __toCommonJS: about two thirds of the engine's work per call.)
    // Imports follow gou's rules (esbuild_bundle.js).
    let functions: Vec<String> =
        scan.functions.iter().chain(scan.exported_functions.iter()).cloned().collect::<BTreeSet<_>>().into_iter().collect();
    let missing: Vec<&str> = scan.functions.iter().filter(|f| !scan.exported.contains(*f)).map(String::as_str).collect();
    let mut entry = source.clone();
    if !missing.is_empty() {
        entry.push_str(&format!("\n;export {{ {} }};\n", missing.join(", ")));
    }
    entry.push_str(&format!("\n;globalThis.__yao_exports = {{ {} }};\n", functions.join(", ")));
    let (bundle, sourcemap, inputs) = bundler.bundle(&shown, dir, loader, &entry, !options.strip_debug)?;

    // 3. Bytecode from the engine itself, in a hook module.
    let hook_options = yaowasm::js::BuildOptions { sourcemap, strip_debug: options.strip_debug };
    // The hook names its source relative to the app root, as its source map
    // does: the builder's own folders are not shipped inside the module.
    let wasm = yaowasm::js::build_hook_with(runtime, &app_relative(src), &bundle, functions, &hook_options)
        .map_err(|e| Error::new(e.code(), format!("{shown}: {}", e.message())))?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::internal(format!("{shown}: cannot create {}: {e}", parent.display())))?;
    }
    let tmp = out.with_extension(format!("wasm.tmp{}", std::process::id()));
    std::fs::write(&tmp, &wasm).and_then(|_| std::fs::rename(&tmp, out)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::internal(format!("{shown}: cannot write {}: {e}", out.display()))
    })?;
    Ok(Built::Hook { size: wasm.len(), inputs })
}

/// A statement starting with `export` at the start of a line (types-only
/// files lose theirs to type stripping).
fn has_export_statement(source: &str) -> bool {
    source.lines().any(|l| l.trim_start().starts_with("export ") || l.trim_start().starts_with("export{"))
}

/// The node that runs the bundling step: $YAOWASM_NODE, else `node` on PATH.
fn find_node() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("YAOWASM_NODE") {
        return Ok(PathBuf::from(path));
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join("node")).find(|p| p.is_file()))
        .ok_or_else(|| Error::not_found("node not found: yaowasm build bundles with esbuild's JS API (gou's import rules are a resolver plugin); install Node.js 18+ or set YAOWASM_NODE"))
}

/// The esbuild npm package the bundling step loads: the app's own
/// (node_modules/esbuild in `dir` or a folder above it), else the one of the
/// yaowasm checkout this binary was built from (js/node_modules), if any.
fn esbuild_package(dir: &Path) -> Result<PathBuf> {
    let in_app = dir.ancestors().map(|d| d.join("node_modules/esbuild"));
    for package in in_app.chain([default_node_modules().join("esbuild")]) {
        if package.join("lib/main.js").is_file() {
            return Ok(package);
        }
    }
    Err(Error::not_found(format!(
        "the esbuild npm package was not found in node_modules above {}: run `npm install --save-dev esbuild` in the app (or scripts/setup.sh in a yaowasm checkout)",
        dir.display()
    )))
}

/// The bundling step: esbuild's JS API under node with the gou import
/// rules (esbuild_bundle.js), one node process answering JSON lines, started
/// on first use and kept until dropped (its stdin closes, it exits).
#[derive(Default)]
pub struct Bundler {
    child: Option<(std::process::Child, std::process::ChildStdin, std::io::BufReader<std::process::ChildStdout>)>,
}

impl Drop for Bundler {
    fn drop(&mut self) {
        if let Some((mut child, stdin, _)) = self.child.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl Bundler {
    /// The IIFE, its source map when asked for, and the app files in it.
    fn bundle(
        &mut self,
        shown: &str,
        dir: &Path,
        loader: &str,
        entry: &str,
        sourcemap: bool,
    ) -> Result<(String, Option<String>, Vec<PathBuf>)> {
        let abs_dir = std::fs::canonicalize(dir).map_err(|e| Error::not_found(format!("{shown}: {e}")))?;
        let mut node_paths = Vec::new();
        let modules = default_node_modules();
        if modules.is_dir() {
            node_paths.push(modules.display().to_string());
        }
        let request = serde_json::json!({
            "esbuild": esbuild_package(&abs_dir)?,
            "contents": entry,
            "sourcefile": shown,
            "resolveDir": abs_dir,
            "loader": loader,
            "nodePaths": node_paths,
            "sourcemap": sourcemap,
            "options": {
                "format": "iife",
                "platform": "neutral",
                "mainFields": ["module", "main"],
                "target": "es2023",
                "legalComments": "none",
            },
        });
        let answer = self.ask(&request).map_err(|e| {
            // A broken pipe: start afresh next time.
            self.child = None;
            Error::internal(format!("{shown}: the bundling step (node) failed: {e}"))
        })?;
        if let Some(errors) = answer["errors"].as_str() {
            return Err(Error::bad_request(errors.trim_end().to_string()));
        }
        if let Some(fatal) = answer["fatal"].as_str() {
            return Err(Error::internal(format!("{shown}: the bundling step failed: {fatal}")));
        }
        let code = answer["code"].as_str().ok_or_else(|| Error::internal("the bundling step answered no code"))?.to_string();
        let mut inputs: Vec<PathBuf> = answer["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str())
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p)))
            .collect();
        if let Ok(src) = std::fs::canonicalize(abs_dir.join(Path::new(shown).file_name().unwrap_or_default())) {
            inputs.push(src);
        }
        inputs.sort();
        inputs.dedup();
        let map = answer["sourcemap"].as_str().map(str::to_string);
        Ok((code, map, inputs))
    }

    fn ask(&mut self, request: &serde_json::Value) -> Result<serde_json::Value, String> {
        use std::io::BufRead;
        if self.child.is_none() {
            let mut child = Command::new(find_node().map_err(|e| e.message().to_string())?)
                .arg("-e")
                .arg(include_str!("esbuild_bundle.js"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("cannot run node: {e}"))?;
            let stdin = child.stdin.take().ok_or("no stdin")?;
            let stdout = std::io::BufReader::new(child.stdout.take().ok_or("no stdout")?);
            self.child = Some((child, stdin, stdout));
        }
        let (_, stdin, stdout) = self.child.as_mut().ok_or("no node")?;
        let mut line = request.to_string();
        line.push('\n');
        stdin.write_all(line.as_bytes()).and_then(|_| stdin.flush()).map_err(|e| e.to_string())?;
        let mut answer = String::new();
        if stdout.read_line(&mut answer).map_err(|e| e.to_string())? == 0 {
            return Err("node exited".into());
        }
        serde_json::from_str(&answer).map_err(|e| format!("not JSON: {e}"))
    }
}

/// Runs esbuild on `input` (given on stdin, named `shown`, resolving imports
/// from `dir`); returns its output or a 400 naming `file:line:col`.
fn esbuild_run(esbuild: &Path, dir: &Path, shown: &str, loader: &str, input: &str, flags: &[&str]) -> Result<String> {
    let mut command = Command::new(esbuild);
    command
        .current_dir(dir)
        .args(flags)
        .arg(format!("--loader={loader}"))
        .arg(format!("--sourcefile={shown}"))
        .args(["--log-level=error", "--color=false", "--charset=utf8"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // npm packages: the app's own node_modules (found walking up from
    // `dir`) first, then the ones installed in js/.
    let modules = default_node_modules();
    if modules.is_dir() {
        command.env("NODE_PATH", modules);
    }
    let mut child = command.spawn().map_err(|e| Error::internal(format!("cannot run {}: {e}", esbuild.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).map_err(|e| Error::internal(format!("esbuild stdin: {e}")))?;
    }
    let output = child.wait_with_output().map_err(|e| Error::internal(format!("esbuild: {e}")))?;
    if !output.status.success() {
        return Err(Error::bad_request(esbuild_errors(&String::from_utf8_lossy(&output.stderr), shown)));
    }
    String::from_utf8(output.stdout).map_err(|_| Error::internal("esbuild wrote output that is not UTF-8"))
}

/// esbuild's report as `file:line:col: message` lines.
fn esbuild_errors(stderr: &str, shown: &str) -> String {
    let mut errors = Vec::new();
    let mut message: Option<String> = None;
    for line in stderr.lines() {
        if let Some(rest) = line.split("[ERROR] ").nth(1) {
            if let Some(m) = message.take() {
                errors.push(format!("{shown}: {m}"));
            }
            message = Some(rest.trim().to_string());
            continue;
        }
        let t = line.trim();
        if let (Some(m), Some(place)) = (&message, t.strip_suffix(':')) {
            let mut parts = place.rsplitn(3, ':');
            let (col, row) = (parts.next(), parts.next());
            if col.is_some_and(|c| c.parse::<u32>().is_ok()) && row.is_some_and(|r| r.parse::<u32>().is_ok()) {
                errors.push(format!("{place}: {m}"));
                message = None;
            }
        }
    }
    if let Some(m) = message {
        errors.push(format!("{shown}: {m}"));
    }
    if errors.is_empty() {
        format!("{shown}: esbuild failed: {}", stderr.trim())
    } else {
        errors.join("\n")
    }
}

#[derive(Debug, Default, PartialEq)]
struct Scan {
    /// Top-level function declarations, exported or not.
    functions: Vec<String>,
    /// Names the file exports itself (ESM), whatever they are.
    exported: BTreeSet<String>,
    /// Exported names bound to a function expression or arrow
    /// (`export const F = () => ...`).
    exported_functions: Vec<String>,
}

fn identifier(text: &str) -> Option<&str> {
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).unwrap_or(text.len());
    (end > 0).then(|| &text[..end])
}

/// Reads esbuild's printing of one file: each top-level statement starts at
/// column 0, nested code is indented.
fn scan_top_level(js: &str) -> Scan {
    let mut scan = Scan::default();
    let mut in_export_list = false;
    for line in js.lines() {
        if in_export_list || line.starts_with("export {") {
            let body = line.trim_start_matches("export {");
            in_export_list = !body.contains('}');
            for item in body.split(['}', ',']).map(str::trim).filter(|s| !s.is_empty() && *s != ";") {
                let exported = item.rsplit(" as ").next().unwrap_or(item).trim();
                if identifier(exported) == Some(exported) {
                    scan.exported.insert(exported.to_string());
                }
            }
            continue;
        }
        let (exported, rest) = match line.strip_prefix("export ") {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let decl = rest.strip_prefix("async ").unwrap_or(rest);
        if let Some(after) = decl.strip_prefix("function") {
            let after = after.trim_start_matches('*').trim_start();
            if let Some(name) = identifier(after) {
                scan.functions.push(name.to_string());
                if exported {
                    scan.exported.insert(name.to_string());
                }
            }
        } else if exported {
            for kw in ["const ", "let ", "var ", "class "] {
                if let Some(after) = rest.strip_prefix(kw) {
                    if let Some(name) = identifier(after) {
                        scan.exported.insert(name.to_string());
                        let init = after[name.len()..].trim_start().strip_prefix('=').map(str::trim_start).unwrap_or("");
                        if init.starts_with("function") || init.starts_with("async") || init.contains("=>") {
                            scan.exported_functions.push(name.to_string());
                        }
                    }
                }
            }
        }
    }
    scan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_functions_exported_or_not() {
        let js = "import { x } from \"./lib\";\nexport function Check(p) {\n  function inner() {}\n  return 1;\n}\nasync function Later() {\n}\nfunction* Gen() {\n}\nexport const Arrow = (a) => a;\nexport const config = { a: 1 };\nconst hidden = () => 1;\nexport {\n  hidden as Shown,\n  x\n};\n";
        let scan = scan_top_level(js);
        assert_eq!(scan.functions, vec!["Check", "Later", "Gen"]);
        assert_eq!(scan.exported_functions, vec!["Arrow"]);
        let exported: Vec<&str> = scan.exported.iter().map(String::as_str).collect();
        assert_eq!(exported, vec!["Arrow", "Check", "Shown", "config", "x"]);
    }

    #[test]
    fn esbuild_errors_name_file_line_col() {
        let stderr = "✘ [ERROR] Expected \";\" but found \"b\"\n\n    scripts/a.ts:3:6:\n      3 │ let a b\n        ╵       ^\n\n1 error\n";
        assert_eq!(esbuild_errors(stderr, "scripts/a.ts"), "scripts/a.ts:3:6: Expected \";\" but found \"b\"");
    }
}
