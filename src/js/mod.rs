//! JavaScript and TypeScript scripts on one shared QuickJS-ng engine.
//!
//! A JS script is a tiny "hook" module (`yaowasm build` writes it): a valid
//! wasm module with no code, whose custom section `yaowasm.js` names the
//! engine, its ABI version and the script's functions, and whose section
//! `yaowasm.js.bytecode` carries the QuickJS bytecode. The engine itself
//! (js/engine/, QuickJS-ng for wasm32-wasi) is embedded in this library,
//! pre-initialized once with wasmtime-wizer (runtime, context and prelude
//! built), compiled once per runtime (through `cache_dir` when set) and
//! shared by every JS script: a call instantiates the engine from its
//! snapshot (copy-on-write) and runs `yao_js_call(bytecode, function, args)`.
//! Why it is built this way: js/README.md, RATIONALE.
// The runtime-only build (no `compiler`) does not snapshot (no wizer).
#![cfg_attr(not(feature = "compiler"), allow(unused_imports))]

use crate::abi::memory;
use crate::abi::wire::{self, Encoding, Packed};
use crate::error::{Error, Result};
use crate::runtime::call;
use crate::runtime::nesting::Budget;
use crate::runtime::script::{compile_module, Identity, Program, Script};
use crate::runtime::{Inner, Runtime};
use crate::sync::MutexAny;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The engine's name, as hook modules name it.
pub const ENGINE_NAME: &str = "quickjs-ng";
/// The QuickJS-ng release the engine is built from (its bytecode format).
pub const ENGINE_VERSION: &str = "0.16.2";
/// Version of the contract between a hook's bytecode and the engine: the
/// prelude's globals and `yao_js_call`. Equal to YAO_JS_ABI in engine.c.
pub const JS_ABI: u32 = 2;
/// Custom section holding the hook's metadata (JSON, [`HookMeta`]).
pub const META_SECTION: &str = "yaowasm.js";
/// Custom section holding the QuickJS bytecode.
pub const BYTECODE_SECTION: &str = "yaowasm.js.bytecode";
/// Custom section holding the source map: JSON (v3: version, sources, names
/// and mappings only, never the sources' text) compressed as raw DEFLATE
/// (RFC 1951); absent with `--strip-debug`.
pub const SOURCEMAP_SECTION: &str = "yaowasm.js.sourcemap";

pub mod snapshot;
pub mod sourcemap;

/// The engine built by js/engine/build.sh, when it was built before this
/// library (build.rs sets the cfg).
#[cfg(yaowasm_js_engine)]
const ENGINE_WASM: Option<&[u8]> = Some(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/js/engine/build/engine.wasm")));
#[cfg(not(yaowasm_js_engine))]
const ENGINE_WASM: Option<&[u8]> = None;

/// What a hook module says about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HookMeta {
    pub engine: String,
    pub engine_version: String,
    pub abi: u32,
    /// The script's functions (its top-level functions).
    pub functions: Vec<String>,
    /// The source file it was built from, for messages.
    #[serde(default)]
    pub source: String,
}

/// A parsed hook module.
pub struct Hook {
    pub meta: HookMeta,
    pub bytecode: Vec<u8>,
    /// The source map section as stored (DEFLATE), when the hook has one:
    /// [`Hook::sourcemap_json`] inflates it.
    pub sourcemap: Option<Vec<u8>>,
}

/// A source map bigger than this inflated is refused (an error path must
/// not be a memory bomb).
const MAX_SOURCEMAP: usize = 16 << 20;

impl Hook {
    /// The source map's JSON, when the hook has a readable one.
    pub fn sourcemap_json(&self) -> Option<Vec<u8>> {
        inflate(self.sourcemap.as_deref()?)
    }
}

fn inflate(deflated: &[u8]) -> Option<Vec<u8>> {
    miniz_oxide::inflate::decompress_to_vec_with_limit(deflated, MAX_SOURCEMAP).ok()
}

/// The per-script part of a JS script: its bytecode and the engine entry.
pub struct JsScript {
    bytecode: Vec<u8>,
    /// The top level evaluated once, at the first call ([`snapshot`]), when
    /// it never reached outside the engine; `None`: every call evaluates it.
    snapshot: OnceLock<Option<snapshot::Snapshot>>,
    /// Whether a snapshot may be taken: the engine is its wizer snapshot
    /// and `YAOWASM_JS_SCRIPT_SNAPSHOT` is not 0.
    snapshot_allowed: bool,
    /// The name the bytecode was compiled under (its stack frames show it).
    source: String,
    /// The source map as stored (DEFLATE): inflated and decoded only when
    /// an error is reported.
    sourcemap: Option<Box<[u8]>>,
}

/// The shared engine of one runtime, made on first use.
#[derive(Default)]
pub struct EngineCell(Mutex<Option<Arc<JsEngine>>>);

pub struct JsEngine {
    /// The engine's pre-linked module and exports: the program every JS
    /// script runs.
    program: Arc<Program>,
    /// Whether the module is the pre-initialized snapshot.
    pub snapshot: bool,
}

// ---- hook module format ----------------------------------------------------

fn leb(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_leb(bytes: &[u8], at: &mut usize) -> Option<usize> {
    let mut n: u64 = 0;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return usize::try_from(n).ok();
        }
    }
    None
}

fn custom_section(name: &str, payload: &[u8], out: &mut Vec<u8>) {
    let mut body = Vec::with_capacity(name.len() + payload.len() + 5);
    leb(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    out.push(0);
    leb(body.len(), out);
    out.extend_from_slice(&body);
}

/// Writes a hook module: the wasm header and two custom sections.
pub fn write_hook(meta: &HookMeta, bytecode: &[u8]) -> Vec<u8> {
    write_hook_with_map(meta, bytecode, None)
}

/// [`write_hook`] with a third section, the source map, when given.
pub fn write_hook_with_map(meta: &HookMeta, bytecode: &[u8], sourcemap: Option<&[u8]>) -> Vec<u8> {
    let mut out = b"\0asm\x01\0\0\0".to_vec();
    // serde_json cannot fail on this plain struct.
    custom_section(META_SECTION, &serde_json::to_vec(meta).unwrap_or_default(), &mut out);
    custom_section(BYTECODE_SECTION, bytecode, &mut out);
    if let Some(map) = sourcemap {
        custom_section(SOURCEMAP_SECTION, map, &mut out);
    }
    out
}

/// `Some` when `bytes` is a hook module (it has a `yaowasm.js` section),
/// with an error when that section or the bytecode is unreadable.
pub fn parse_hook(bytes: &[u8]) -> Option<Result<Hook>> {
    if bytes.len() < 8 || &bytes[..8] != b"\0asm\x01\0\0\0" {
        return None;
    }
    let mut at = 8;
    let (mut meta, mut bytecode, mut sourcemap) = (None, None, None);
    while at < bytes.len() {
        let id = bytes[at];
        at += 1;
        let size = read_leb(bytes, &mut at)?;
        let end = at.checked_add(size).filter(|&e| e <= bytes.len())?;
        if id == 0 {
            let mut p = at;
            let name_len = read_leb(bytes, &mut p)?;
            let name_end = p.checked_add(name_len).filter(|&e| e <= end)?;
            match &bytes[p..name_end] {
                n if n == META_SECTION.as_bytes() => meta = Some(&bytes[name_end..end]),
                n if n == BYTECODE_SECTION.as_bytes() => bytecode = Some(&bytes[name_end..end]),
                n if n == SOURCEMAP_SECTION.as_bytes() => sourcemap = Some(bytes[name_end..end].to_vec()),
                _ => {}
            }
        }
        at = end;
    }
    let meta = meta?;
    Some((|| {
        let meta: HookMeta =
            serde_json::from_slice(meta).map_err(|e| Error::bad_request(format!("JS script: unreadable {META_SECTION} section: {e}")))?;
        let bytecode = bytecode.ok_or_else(|| Error::bad_request(format!("JS script: no {BYTECODE_SECTION} section")))?.to_vec();
        Ok(Hook { meta, bytecode, sourcemap })
    })())
}

// ---- loading ---------------------------------------------------------------

/// Turns a hook module into a script served by the runtime's shared engine.
/// A hook built for another engine or ABI version is a 400 that says so.
pub(crate) fn compile(runtime: &Arc<Inner>, hook: Hook, identity: Identity) -> Result<Script> {
    let meta = &hook.meta;
    if meta.engine != ENGINE_NAME || meta.engine_version != ENGINE_VERSION || meta.abi != JS_ABI {
        return Err(Error::bad_request(format!(
            "JS script built for engine {} {} ABI {}, but this runtime has {ENGINE_NAME} {ENGINE_VERSION} ABI {JS_ABI}: \
             rebuild it with `yaowasm build`",
            meta.engine, meta.engine_version, meta.abi
        )));
    }
    if meta.functions.is_empty() {
        return Err(Error::bad_request("JS script has no top-level function"));
    }
    let engine = engine(runtime)?;
    // Every function of a JS script is one entry of the engine (run by
    // `run` with the function's name).
    let functions: BTreeMap<String, usize> = meta.functions.iter().map(|f| (f.clone(), JS_CALL)).collect();
    let js = JsScript {
        bytecode: hook.bytecode,
        snapshot: OnceLock::new(),
        snapshot_allowed: engine.snapshot && script_snapshot_enabled(),
        source: hook.meta.source.clone(),
        sourcemap: hook.sourcemap.map(Vec::into_boxed_slice),
    };
    Ok(identity.with(functions, engine.program.clone(), Some(Arc::new(js))))
}

/// The runtime's engine, made (snapshot, compile, link) on first use.
pub(crate) fn engine(runtime: &Arc<Inner>) -> Result<Arc<JsEngine>> {
    let mut cell = runtime.js_engine.0.lock_any();
    if let Some(engine) = cell.as_ref() {
        return Ok(engine.clone());
    }
    let engine = Arc::new(make_engine(runtime)?);
    *cell = Some(engine.clone());
    Ok(engine)
}

/// `YAOWASM_JS_SNAPSHOT=0` turns the snapshot off (for measuring what it
/// saves; every call then builds the JS runtime and context itself).
fn snapshot_enabled() -> bool {
    std::env::var("YAOWASM_JS_SNAPSHOT").map_or(true, |v| v != "0")
}

/// `YAOWASM_JS_SCRIPT_SNAPSHOT=0` turns the per-script snapshot off (for
/// measuring it; every call then evaluates the script's top level).
fn script_snapshot_enabled() -> bool {
    std::env::var("YAOWASM_JS_SCRIPT_SNAPSHOT").map_or(true, |v| v != "0")
}

fn make_engine(runtime: &Arc<Inner>) -> Result<JsEngine> {
    let raw = ENGINE_WASM.ok_or_else(|| {
        Error::internal("this yaowasm library was built without its JS engine: run scripts/setup.sh (js/engine/build.sh), then rebuild")
    })?;
    let snapshot = snapshot_enabled();
    let module = match (snapshot, &runtime.cache) {
        (true, Some(cache)) => {
            // The engine is our own build, not input: a 128-bit hash of it
            // names it well enough, and spares hashing 1 MB with SHA-256 on
            // every start (the cache then hashes this short key).
            let mut key = b"yaowasm-js-snapshot-v3\0".to_vec();
            key.extend_from_slice(&xxhash_rust::xxh3::xxh3_128(raw).to_le_bytes());
            let module = cache.load_or_build(runtime.as_ref(), &key, || wizen(raw));
            // The runtime-only build: say which module is missing.
            #[cfg(not(feature = "compiler"))]
            let module = module.map_err(|e| e.context("the JS engine snapshot"));
            module?
        }
        (true, None) => compile_module(runtime.engine(), &wizen(raw)?)?,
        (false, Some(cache)) => cache.load_or_compile(runtime.as_ref(), raw, &crate::runtime::cache::digest_of(raw))?,
        (false, None) => compile_module(runtime.engine(), raw)?,
    };
    // Function exports are checked here, once: calls type them without
    // wasmtime's per-call check (call::typed_export's contract).
    use wasmtime::ValType::{I32, I64};
    let function = |name: &str, params: &[wasmtime::ValType], results: &[wasmtime::ValType]| match module.get_export(name) {
        Some(ty) if crate::runtime::script::has_sig(&ty, params, results) => Ok(name.to_owned()),
        Some(_) => Err(Error::internal(format!("the JS engine's {name} does not have the type this runtime calls it with"))),
        None => Err(Error::internal(format!("the JS engine does not export {name}"))),
    };
    if module.get_export("memory").is_none() {
        return Err(Error::internal("the JS engine does not export memory"));
    }
    function("yao_alloc", &[I32], &[I32])?;
    // Indexed by JS_CALL, JS_INVOKE and JS_COMPILE.
    let names = vec![
        function("yao_js_call", &[I32, I32, I32, I32, I32, I32], &[I64])?,
        function("yao_js_invoke", &[I32, I32, I32, I32], &[I64])?,
        function("yao_js_compile", &[I32, I32, I32, I32, I32], &[I64])?,
    ];
    // The snapshot ran _initialize already (and wasi-libc's traps if it
    // runs twice).
    let initialize = !snapshot && module.get_export("_initialize").is_some();
    if initialize {
        function("_initialize", &[], &[])?;
    }
    let program =
        Program::new(runtime, module, names, initialize, true).map_err(|e| Error::internal(format!("JS engine: {}", e.message())))?;
    Ok(JsEngine { program: Arc::new(program), snapshot })
}

/// The engine's entries, by their index in its program's functions.
const JS_CALL: usize = 0;
const JS_INVOKE: usize = 1;
const JS_COMPILE: usize = 2;

// ---- snapshot ----------------------------------------------------------------

/// The runtime-only build cannot snapshot (wizer runs the engine compiled):
/// the snapshot must be in cache_dir, where `yaowasm compile` puts it.
#[cfg(not(feature = "compiler"))]
fn wizen(_: &[u8]) -> Result<Vec<u8>> {
    Err(Error::bad_request(format!(
        "{}: the JS engine snapshot (this yaowasm is the runtime-only build, which cannot make it); \
         `yaowasm compile <app> --cache-dir DIR` with the full build puts it in the cache",
        crate::runtime::cache::NOT_PRECOMPILED
    ))
    .with_kind(crate::error::ErrorKind::NotPrecompiled))
}

/// Runs the engine's `yao_js_init` once (QuickJS runtime, context and
/// prelude) and returns a module whose memory starts in that state.
#[cfg(feature = "compiler")]
fn wizen(raw: &[u8]) -> Result<Vec<u8>> {
    let wasi = wasmtime_wasi::WasiCtxBuilder::new().build_p1();
    crate::runtime::wizen::wizen(raw, "yao_js_init", true, wasi, usize::MAX, None, |store, instance| {
        crate::runtime::wizen::call::<()>(store, instance, "_initialize")?;
        crate::runtime::wizen::call::<()>(store, instance, "yao_js_init")
    })
    .map_err(|e| Error::internal(format!("JS engine snapshot: {e}")))
}

// ---- calls -----------------------------------------------------------------

/// Runs function `function` of a JS script with MessagePack `args` in a
/// fresh engine instance; returns the MessagePack result.
pub(crate) fn run(runtime: &Arc<Inner>, script: &Script, js: &JsScript, function: &str, args: &[u8], budget: &Budget) -> Result<Vec<u8>> {
    let timeout_ms = runtime.config.timeout_ms;
    // Taken at the first call rather than at load: loading stays as fast
    // as before (an app loads every script at start), and the probe runs
    // under this call's budget. A probe cut short by that budget, or that
    // found no free instance slot, is tried again by a later call.
    let snapshot = match js.snapshot.get() {
        Some(taken) => taken.as_ref(),
        None => {
            let taken = match js.snapshot_allowed {
                true => snapshot::take(runtime, script.program.module(), &js.bytecode, budget),
                false => Ok(None),
            };
            match taken {
                Ok(taken) => js.snapshot.get_or_init(|| taken).as_ref(),
                Err(snapshot::NotNow) => None,
            }
        }
    };
    let call::Fresh { mut store, instance, guest, parts } = call::instantiate(runtime, &script.program, budget)?;
    // From the snapshot, the script is already in memory; otherwise its
    // bytecode goes in first, and yao_js_call evaluates it.
    let code = match snapshot {
        Some(snapshot) => {
            snapshot.restore(&mut store, &guest.memory)?;
            None
        }
        None => Some(call::write(&mut store, &guest, &js.bytecode, timeout_ms)?),
    };
    let name = call::write(&mut store, &guest, function.as_bytes(), timeout_ms)?;
    let args_ptr = call::write(&mut store, &guest, args, timeout_ms)?;
    let (name_len, args_len) = (function.len() as i32, args.len() as i32);
    let raw = match code {
        None => {
            // SAFETY: checked to be (i32 × 4) -> i64 in make_engine.
            let entry = unsafe {
                call::typed_export::<(i32, i32, i32, i32), i64>(&mut store, &instance, &parts.functions[JS_INVOKE], "yao_js_invoke")?
            };
            entry.call(&mut store, (name, name_len, args_ptr, args_len))
        }
        Some(code) => {
            // SAFETY: checked to be (i32 × 6) -> i64 in make_engine.
            let entry = unsafe {
                call::typed_export::<(i32, i32, i32, i32, i32, i32), i64>(&mut store, &instance, &parts.functions[JS_CALL], "yao_js_call")?
            };
            entry.call(&mut store, (code, js.bytecode.len() as i32, name, name_len, args_ptr, args_len))
        }
    };
    let result = raw.map_err(|e| call::classify(e, timeout_ms)).and_then(|raw| {
        let packed = Packed::unpack(raw);
        let memory = guest.memory.data(&store);
        if packed.is_error {
            return Err(js_error(runtime, js, &memory[memory::slice(memory, packed.ptr, packed.len, "error")?]));
        }
        // The engine's encoder is ours, but decode_packed checks it anyway:
        // the rule is that nothing unchecked leaves a guest.
        wire::decode_packed(memory, raw, Encoding::MsgPack)
    });
    call::tidy_slot(runtime, &mut store, &guest);
    result
}

/// What the prelude's `error(e)` gives for an uncaught throw: the call's
/// `{code, message}`, and for an `Error` its raw stack and whether it is
/// Yao's `Exception`.
#[derive(Deserialize)]
struct ThrownError {
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    stack: Option<String>,
    #[serde(default)]
    exception: bool,
}

/// The error path, and the only place the source map is read: an uncaught
/// `Error` (not an `Exception`) gets its top frame mapped to the source
/// appended to `Name: message` (`Error: name missing (at helper
/// (scripts/t.ts:5:11))`), and its whole mapped stack is logged as one
/// error record; an `Exception` keeps its message and code as thrown, and
/// its stack is logged when its code is 500 or more (a fault, not an
/// answer).
fn js_error(runtime: &Arc<Inner>, js: &JsScript, bytes: &[u8]) -> Error {
    let thrown: ThrownError = match rmp_serde::from_slice(bytes) {
        Ok(t) => t,
        Err(_) => return wire::decode_error_value(bytes, Encoding::MsgPack),
    };
    let Some(code) = thrown.code else { return wire::decode_error_value(bytes, Encoding::MsgPack) };
    let code = i32::try_from(code).ok().filter(|c| (100..=599).contains(c)).unwrap_or(500);
    let mut message = thrown.message.unwrap_or_default();
    if let Some(stack) = thrown.stack {
        let map = js.sourcemap.as_deref().and_then(inflate);
        let mapped = sourcemap::map_stack(&stack, &js.source, map.as_deref());
        if !thrown.exception || code >= 500 {
            let mut record = message.clone();
            for frame in &mapped.frames {
                record.push('\n');
                record.push_str(frame);
            }
            use crate::log::LogSink;
            runtime.log(crate::LogLevel::Error, &record);
        }
        if let (false, Some(top)) = (thrown.exception, &mapped.top) {
            message = format!("{message} (at {top})");
        }
    }
    Error::new(code, message)
}

// ---- build -----------------------------------------------------------------

/// Compiles bundled JavaScript (esbuild's output, which defines
/// `__yao_exports`) to bytecode with the runtime's engine and returns the
/// hook module. A syntax error is a 400 whose message names
/// `source_name:line:col`.
pub fn build_hook(runtime: &Runtime, source_name: &str, js_source: &str, functions: Vec<String>) -> Result<Vec<u8>> {
    build_hook_with(runtime, source_name, js_source, functions, &BuildOptions::default())
}

/// How [`build_hook_with`] builds.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The bundle's source map (esbuild's, JSON v3), stored in the hook's
    /// `yaowasm.js.sourcemap` section. Any `sourcesContent` is dropped: a
    /// hook never carries its source.
    pub sourcemap: Option<String>,
    /// `--strip-debug`: no source map, and bytecode without file names and
    /// line tables (an error is then `Name: message` with no place).
    pub strip_debug: bool,
}

/// [`build_hook`] with a source map, or stripped of debug information.
pub fn build_hook_with(
    runtime: &Runtime,
    source_name: &str,
    js_source: &str,
    functions: Vec<String>,
    options: &BuildOptions,
) -> Result<Vec<u8>> {
    let inner = runtime.inner();
    let engine = engine(inner)?;
    let budget = inner.default_budget(None, None);
    let _running = inner.ticker.running();
    let timeout_ms = inner.config.timeout_ms;
    let call::Fresh { mut store, instance, guest, parts } = call::instantiate(inner, &engine.program, &budget)?;
    // SAFETY: checked to be (i32 × 5) -> i64 in make_engine.
    let entry = unsafe {
        call::typed_export::<(i32, i32, i32, i32, i32), i64>(&mut store, &instance, &parts.functions[JS_COMPILE], "yao_js_compile")?
    };
    let src = call::write(&mut store, &guest, js_source.as_bytes(), timeout_ms)?;
    let name = call::write(&mut store, &guest, source_name.as_bytes(), timeout_ms)?;
    let raw = entry
        .call(&mut store, (src, js_source.len() as i32, name, source_name.len() as i32, i32::from(options.strip_debug)))
        .map_err(|e| call::classify(e, timeout_ms))?;
    let packed = Packed::unpack(raw);
    let memory = guest.memory.data(&store);
    let bytes = &memory[memory::slice(memory, packed.ptr, packed.len, "bytecode")?];
    if packed.is_error {
        return Err(wire::decode_error_value(bytes, Encoding::MsgPack));
    }
    let meta =
        HookMeta { engine: ENGINE_NAME.into(), engine_version: ENGINE_VERSION.into(), abi: JS_ABI, functions, source: source_name.into() };
    let map = if options.strip_debug { None } else { options.sourcemap.as_deref().map(slim_sourcemap).transpose()? };
    Ok(write_hook_with_map(&meta, bytes, map.as_deref()))
}

/// The map as stored: version, sources, names and mappings, nothing else
/// (never `sourcesContent`), deflated.
fn slim_sourcemap(map: &str) -> Result<Vec<u8>> {
    #[derive(Deserialize, Serialize)]
    struct Slim {
        version: u32,
        #[serde(default)]
        sources: Vec<Option<String>>,
        #[serde(default)]
        names: Vec<String>,
        mappings: String,
    }
    let slim: Slim = serde_json::from_str(map).map_err(|e| Error::internal(format!("the bundle's source map is unreadable: {e}")))?;
    let json = serde_json::to_vec(&slim).map_err(|e| Error::internal(format!("source map: {e}")))?;
    Ok(miniz_oxide::deflate::compress_to_vec(&json, 9))
}

/// Bytes, runs and host pages a call of JS script `id` copies in from its
/// per-script snapshot; `None` when no such JS script is loaded, it was not called
/// yet, or its top level runs in every call (it reached outside the
/// engine, or threw). For tests and benches.
pub fn script_snapshot_size(runtime: &Runtime, id: &str) -> Option<(usize, usize, usize)> {
    let script = runtime.inner().script(&id.to_ascii_lowercase())?;
    let snapshot = script.js.as_ref()?.snapshot.get()?.as_ref()?;
    Some((snapshot.len(), snapshot.runs(), snapshot.pages()))
}

/// Whether this library carries its JS engine.
pub fn engine_available() -> bool {
    ENGINE_WASM.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_round_trip() {
        let meta = HookMeta {
            engine: ENGINE_NAME.into(),
            engine_version: ENGINE_VERSION.into(),
            abi: JS_ABI,
            functions: vec!["Check".into(), "Echo".into()],
            source: "user.ts".into(),
        };
        let code = vec![7u8; 300];
        let wasm = write_hook(&meta, &code);
        let hook = parse_hook(&wasm).expect("is a hook").expect("readable");
        assert_eq!(hook.meta, meta);
        assert_eq!(hook.bytecode, code);
        assert_eq!(hook.sourcemap, None);
        let map = slim_sourcemap(r#"{"version":3,"sources":["t.ts"],"sourcesContent":["secret"],"mappings":"AAAA"}"#).unwrap();
        let with_map = write_hook_with_map(&meta, &code, Some(&map));
        let json = parse_hook(&with_map).expect("is a hook").expect("readable").sourcemap_json().unwrap();
        assert_eq!(String::from_utf8(json).unwrap(), r#"{"version":3,"sources":["t.ts"],"names":[],"mappings":"AAAA"}"#);
        // An ordinary module is not a hook; a cut one is not either.
        assert!(parse_hook(b"\0asm\x01\0\0\0").is_none());
        assert!(parse_hook(&wasm[..wasm.len() - 10]).is_none());
    }
}
