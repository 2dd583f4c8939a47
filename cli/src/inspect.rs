//! `yaowasm inspect <file.wasm|folder>`: what a module is and whether it loads.
//!
//! The facts (imports, exports, producers, memory) come from parsing the
//! binary with wasmparser; whether the module loads, its script functions
//! and its encoding come from loading it into a real runtime, so the
//! problems printed are the ones `run` and `serve` would meet, in the
//! runtime's own words.

use crate::app::{self, CacheUse, RuntimeOpts};
use crate::exit::Failure;
use clap::Args;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wasmparser::{CompositeInnerType, KnownCustom, Name, Parser, Payload, TypeRef, ValType};
use yaowasm::{Error, Runtime};

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  yaowasm inspect examples/app            # every module of an app\n  \
yaowasm inspect scripts/rust/user.wasm --json\n\n\
Exit status: 0 when every module loads; otherwise the status of the first \
problem's code (2 for a module the runtime refuses).")]
pub struct InspectArgs {
    /// A .wasm file, a scripts folder, or an app folder (its scripts/ is used)
    pub path: PathBuf,
    /// Print one JSON array instead of text
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub runtime: RuntimeOpts,
}

/// What inspect found about one module.
#[derive(Default)]
struct Report {
    file: PathBuf,
    id: Option<String>,
    size: u64,
    language: Option<String>,
    /// The yaowasm guest SDK that built the module, and its version.
    sdk: Option<String>,
    producers: Vec<String>,
    imports: Vec<String>,
    exports: Vec<String>,
    functions: Vec<String>,
    encoding: Option<String>,
    wasi: bool,
    /// It exports `yao_preinit` and `_initialize`: the runtime runs its
    /// initialization once at load (docs/ABI.md §2).
    preinit: bool,
    memory: Option<(u64, Option<u64>)>,
    shadows: Vec<String>,
    problems: Vec<(i32, String)>,
}

pub fn run(args: InspectArgs) -> Result<(), Failure> {
    let path = &args.path;
    let meta = std::fs::metadata(path).map_err(|e| Error::not_found(format!("cannot read {}: {e}", path.display())))?;
    // The user's cache, as `run` uses it: a module compiled once is not
    // compiled again to be inspected.
    let config = app::config_json(&args.runtime, CacheUse::IfPresent)?;
    let runtime = app::runtime(&config)?;
    let reports = if meta.is_dir() {
        let root = if path.join("scripts").is_dir() { path.join("scripts") } else { path.clone() };
        inspect_dir(&runtime, &root)?
    } else {
        vec![inspect_file(&runtime, path)]
    };
    if args.json {
        let list: Vec<Value> = reports.iter().map(Report::to_json).collect();
        println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
    } else {
        if reports.is_empty() {
            println!("no .wasm module under {}", path.display());
        }
        for r in &reports {
            r.print();
        }
    }
    match reports.iter().flat_map(|r| r.problems.first()).next() {
        None => Ok(()),
        Some((code, _)) => {
            let bad = reports.iter().filter(|r| !r.problems.is_empty()).count();
            Err(Failure::plain(Error::new(*code, format!("{bad} of {} module(s) have problems", reports.len()))))
        }
    }
}

fn inspect_file(runtime: &Runtime, path: &Path) -> Report {
    let mut report = parse(path);
    if report.problems.is_empty() {
        match runtime.load_file(path, Some("inspected")) {
            Ok(()) => {
                if let Some(info) = runtime.list().into_iter().find(|s| s.id == "inspected") {
                    report.functions = info.functions;
                    report.encoding = Some(info.encoding.to_string());
                    report.wasi = info.wasi;
                }
            }
            Err(e) => report.problems.push((e.code(), plain(e.message()))),
        }
    }
    report
}

fn inspect_dir(runtime: &Runtime, root: &Path) -> Result<Vec<Report>, Error> {
    let load = runtime.load_dir(root)?;
    let root_abs = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut files = Vec::new();
    walk(root, &mut files);
    files.sort();
    let loaded: BTreeMap<PathBuf, yaowasm::ScriptInfo> =
        runtime.list().into_iter().map(|s| (PathBuf::from(&s.file).canonicalize().unwrap_or_else(|_| PathBuf::from(&s.file)), s)).collect();
    let mut reports = Vec::new();
    for file in files {
        let mut report = parse(&file);
        let abs = file.canonicalize().unwrap_or_else(|_| file.clone());
        report.id = yaowasm::names::id_for(&root_abs, &abs);
        if let Some(info) = loaded.get(&abs) {
            report.id = Some(info.id.clone());
            report.functions = info.functions.clone();
            report.encoding = Some(info.encoding.to_string());
            report.wasi = info.wasi;
            report.shadows = info.shadows.clone();
        }
        for p in &load.problems {
            let p_abs = p.file.canonicalize().unwrap_or_else(|_| p.file.clone());
            if p_abs == abs && !report.problems.iter().any(|(_, m)| m.contains(&plain(&p.message))) {
                report.problems.push((p.code, plain(&p.message)));
            }
        }
        reports.push(report);
    }
    Ok(reports)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "wasm") {
            out.push(path);
        }
    }
}

/// The runtime's message without the file path it starts with (inspect
/// prints the file once, above).
fn plain(message: &str) -> String {
    message.to_string()
}

/// Parses the binary: everything but what only loading can tell.
fn parse(path: &Path) -> Report {
    let mut report = Report { file: path.to_path_buf(), ..Report::default() };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            report.problems.push((404, format!("cannot read the file: {e}")));
            return report;
        }
    };
    report.size = bytes.len() as u64;
    if !bytes.starts_with(b"\0asm") {
        report.problems.push((400, "not a WebAssembly binary (it does not start with \\0asm)".into()));
        return report;
    }
    let mut facts = Facts::default();
    if let Err(e) = facts.read(&bytes) {
        report.problems.push((400, format!("not a valid WebAssembly module: {e}")));
        return report;
    }
    if facts.component {
        report.problems.push((400, "a WebAssembly component, not a core module: yaowasm runs core modules (SPEC §3)".into()));
    }
    report.language = facts.language();
    report.sdk = facts.sdk.clone();
    report.producers = facts.producers.iter().map(|(f, n, v)| format!("{f}: {n} {v}").trim_end().to_string()).collect();
    report.imports = facts.imports.clone();
    report.exports = facts.exports.iter().map(|(n, _)| n.clone()).collect();
    report.preinit = ["yao_preinit", "_initialize"].iter().all(|name| report.exports.iter().any(|e| e == name));
    report.wasi = facts.imports.iter().any(|i| i.starts_with("wasi_snapshot_preview1."));
    report.memory = facts.memory;
    report
}

#[derive(Default)]
struct Facts {
    component: bool,
    producers: Vec<(String, String, String)>,
    customs: Vec<String>,
    imports: Vec<String>,
    /// Export name and, for a function, whether it has the script signature.
    exports: Vec<(String, bool)>,
    function_names: Vec<String>,
    memory: Option<(u64, Option<u64>)>,
    /// Source-language fingerprints found in data segments (stripped modules
    /// have no producers or names, but keep their panic and runtime strings).
    data_marks: Vec<&'static str>,
    /// `<sdk> <version>` of the yaowasm SDK that built the module, from the
    /// mark every SDK leaves in its data (Rust, C) or from the Go build info.
    sdk: Option<String>,
}

/// What the Rust, C and AssemblyScript SDKs put in a module's data:
/// `yaowasm-sdk:<sdk> <version>`, NUL-terminated (or at the segment's end:
/// binaryen moves zero bytes out of data segments).
const SDK_MARK: &[u8] = b"yaowasm-sdk:";
/// How Go's build info (kept by `-ldflags=-s`) names the Go SDK among the
/// module's dependencies: `\t<path>\t<version>`.
const GO_SDK_DEP: &[u8] = b"\tgithub.com/yaoapp/yaowasm/sdk/go\t";

/// The text that follows `prefix` in `data`, up to the first byte in `end`
/// or the end of `data` (at most 64 bytes of printable ASCII), if `prefix`
/// is there.
fn text_after(data: &[u8], prefix: &[u8], end: &[u8]) -> Option<String> {
    let start = data.windows(prefix.len()).position(|w| w == prefix)? + prefix.len();
    let rest = &data[start..];
    let text = &rest[..rest.iter().position(|b| end.contains(b)).unwrap_or(rest.len())];
    let text = (text.len() <= 64).then_some(text)?;
    (!text.is_empty() && text.iter().all(|b| b.is_ascii_graphic() || *b == b' ')).then(|| String::from_utf8_lossy(text).into_owned())
}

/// Byte strings that only one toolchain's runtime leaves in a module's data.
const DATA_MARKS: &[(&str, &[u8])] = &[
    ("rust", b"/rustlib/"),
    ("rust", b"library/core/src/"),
    ("rust", b"library/std/src/"),
    ("rust", b"/rustc/"),
    // AssemblyScript keeps strings in UTF-16: "~lib/".
    ("assemblyscript", b"~\0l\0i\0b\0/\0"),
];

impl Facts {
    fn read(&mut self, bytes: &[u8]) -> Result<(), wasmparser::BinaryReaderError> {
        let mut script_types = Vec::new(); // per type index: is (i32, i32) -> i64
        let mut func_types = Vec::new(); // per function index: its type index
        let mut func_exports = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::Version { encoding, .. } => self.component = encoding == wasmparser::Encoding::Component,
                Payload::TypeSection(reader) => {
                    for group in reader {
                        for sub in group?.into_types() {
                            script_types.push(match &sub.composite_type.inner {
                                CompositeInnerType::Func(f) => f.params() == [ValType::I32, ValType::I32] && f.results() == [ValType::I64],
                                _ => false,
                            });
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import?;
                        // Go's linker imports some functions twice: list each once.
                        let name = format!("{}.{}", import.module, import.name);
                        if !self.imports.contains(&name) {
                            self.imports.push(name);
                        }
                        match import.ty {
                            TypeRef::Func(t) => func_types.push(t),
                            TypeRef::Memory(m) => self.memory = Some((m.initial, m.maximum)),
                            _ => {}
                        }
                    }
                }
                Payload::FunctionSection(reader) => {
                    for t in reader {
                        func_types.push(t?);
                    }
                }
                Payload::MemorySection(reader) => {
                    for m in reader {
                        let m = m?;
                        self.memory.get_or_insert((m.initial, m.maximum));
                    }
                }
                Payload::ExportSection(reader) => {
                    for e in reader {
                        let e = e?;
                        match e.kind {
                            wasmparser::ExternalKind::Func => func_exports.push((e.name.to_string(), e.index)),
                            _ => self.exports.push((e.name.to_string(), false)),
                        }
                    }
                }
                Payload::DataSection(reader) => {
                    for data in reader {
                        let data = data?;
                        if self.sdk.is_none() {
                            self.sdk = text_after(data.data, SDK_MARK, b"\0")
                                .or_else(|| text_after(data.data, GO_SDK_DEP, b"\n\t").map(|v| format!("go {v}")));
                        }
                        for (mark, needle) in DATA_MARKS {
                            if !self.data_marks.contains(mark) && data.data.windows(needle.len()).any(|w| w == *needle) {
                                self.data_marks.push(mark);
                            }
                        }
                    }
                }
                Payload::CustomSection(section) => {
                    self.customs.push(section.name().to_string());
                    match section.as_known() {
                        KnownCustom::Producers(reader) => {
                            for field in reader.into_iter().flatten() {
                                for value in field.values.into_iter().flatten() {
                                    self.producers.push((field.name.into(), value.name.into(), value.version.into()));
                                }
                            }
                        }
                        KnownCustom::Name(reader) => {
                            for name in reader.into_iter().flatten() {
                                if let Name::Function(map) = name {
                                    for naming in map.into_iter().flatten().take(100_000) {
                                        self.function_names.push(naming.name.to_string());
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        for (name, index) in func_exports {
            let is_script = func_types.get(index as usize).and_then(|t| script_types.get(*t as usize)).copied().unwrap_or(false);
            self.exports.push((name, is_script));
        }
        Ok(())
    }

    fn produced_by(&self, field: &str, name: &str) -> Option<&str> {
        self.producers.iter().find(|(f, n, _)| f == field && n.eq_ignore_ascii_case(name)).map(|(_, _, v)| v.as_str())
    }

    fn import_module(&self, module: &str) -> bool {
        self.imports.iter().any(|i| i.split_once('.').is_some_and(|(m, _)| m == module))
    }

    /// The source language, from the strongest evidence available.
    fn language(&self) -> Option<String> {
        let with_version = |lang: &str, v: Option<&str>| match v {
            Some(v) if !v.is_empty() => format!("{lang} ({v})"),
            _ => lang.to_string(),
        };
        if self.customs.iter().any(|c| c == "yaowasm.js") {
            return Some("JavaScript/TypeScript (QuickJS, yaowasm build)".into());
        }
        if let Some(v) = self.produced_by("processed-by", "TinyGo") {
            return Some(with_version("Go (TinyGo)", Some(v)));
        }
        let go_symbols =
            self.function_names.iter().any(|n| n.starts_with("runtime.")) && self.function_names.iter().any(|n| n.starts_with("main."));
        if self.customs.iter().any(|c| c == "go:buildid") || self.import_module("gojs") || go_symbols {
            let target = if self.import_module("gojs") {
                " (js/wasm)"
            } else if self.import_module("wasi_snapshot_preview1") {
                " (wasip1)"
            } else {
                ""
            };
            return Some(format!("Go{target}"));
        }
        if self.function_names.iter().any(|n| n.starts_with("~lib/"))
            || self.data_marks.contains(&"assemblyscript")
            || self.produced_by("processed-by", "asc").is_some()
            || self.produced_by("processed-by", "AssemblyScript").is_some()
        {
            return Some("AssemblyScript".into());
        }
        if self.produced_by("language", "Rust").is_some() || self.produced_by("processed-by", "rustc").is_some() {
            return Some(with_version("Rust", self.produced_by("processed-by", "rustc")));
        }
        if self.produced_by("language", "Go").is_some() {
            return Some(with_version("Go", self.produced_by("language", "Go")));
        }
        if self.data_marks.contains(&"rust") {
            return Some("Rust (from std/core paths in its data; no producers section)".into());
        }
        let clang = self.produced_by("processed-by", "clang");
        if let Some((_, lang, _)) = self.producers.iter().find(|(f, n, _)| f == "language" && n.starts_with("C")) {
            let lang = if lang.starts_with("C_plus_plus") || lang.starts_with("C++") { "C++" } else { "C" };
            return Some(with_version(lang, clang.map(|v| v.split(" (").next().unwrap_or(v))));
        }
        if clang.is_some() {
            return Some("C/C++ (clang)".into());
        }
        if let Some(v) = self.produced_by("processed-by", "Zig") {
            return Some(with_version("Zig", Some(v)));
        }
        // A stripped module keeps no producers, but the SDK's mark names it.
        match self.sdk.as_deref().and_then(|s| s.split_once(' ')).map(|(sdk, _)| sdk) {
            Some("c") => Some("C (yaowasm C SDK)".into()),
            Some("rust") => Some("Rust (yaowasm Rust SDK)".into()),
            Some("assemblyscript") => Some("AssemblyScript (yaowasm AssemblyScript SDK)".into()),
            _ => None,
        }
    }
}

impl Report {
    fn to_json(&self) -> Value {
        json!({
            "file": self.file.display().to_string(),
            "id": self.id,
            "size": self.size,
            "language": self.language,
            "sdk": self.sdk,
            "producers": self.producers,
            "imports": self.imports,
            "exports": self.exports,
            "functions": self.functions,
            "encoding": self.encoding,
            "wasi": self.wasi,
            "preinit": self.preinit,
            "memory": self.memory.map(|(initial, max)| json!({"initial_pages": initial, "max_pages": max})),
            "shadows": self.shadows,
            "problems": self.problems.iter().map(|(code, message)| json!({"code": code, "message": message})).collect::<Vec<_>>(),
        })
    }

    fn print(&self) {
        let none = || "none".to_string();
        let list = |v: &[String]| if v.is_empty() { none() } else { v.join(", ") };
        match &self.id {
            Some(id) => println!("{}  (script {id})", self.file.display()),
            None => println!("{}", self.file.display()),
        }
        println!(
            "  language:  {}",
            self.language.clone().unwrap_or_else(|| "unknown (no producers section or known runtime symbols)".into())
        );
        if let Some(sdk) = &self.sdk {
            println!("  sdk:       yaowasm {sdk}");
        }
        println!("  size:      {} bytes ({:.1} KiB)", self.size, self.size as f64 / 1024.0);
        if !self.producers.is_empty() {
            println!("  producers: {}", self.producers.join("; "));
        }
        println!("  imports:   {}", list(&self.imports));
        println!("  functions: {}", list(&self.functions));
        println!("  encoding:  {}", self.encoding.clone().unwrap_or_else(|| "unknown (the module did not load)".into()));
        println!("  wasi:      {}", if self.wasi { "yes" } else { "no" });
        if self.preinit {
            println!("  pre-init:  yes: _initialize runs once at load, every call starts from its state (yao_preinit)");
        }
        if let Some((initial, max)) = self.memory {
            let max = max.map(|m| format!("{m} pages ({} MiB)", m * 64 / 1024)).unwrap_or_else(|| "none declared".into());
            println!("  memory:    {initial} pages initial ({} KiB), max {max}", initial * 64);
        }
        if !self.shadows.is_empty() {
            println!("  shadows:   {}", self.shadows.join(", "));
        }
        if self.problems.is_empty() {
            println!("  problems:  none");
        } else {
            for (code, message) in &self.problems {
                println!("  problem:   {message} ({code})");
            }
        }
    }
}
