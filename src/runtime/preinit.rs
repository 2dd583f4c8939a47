//! Pre-initialization (docs/ABI.md §2): a module that exports
//! `yao_preinit() -> i32` beside `_initialize` asks the host to run its
//! initialization once, at load, and to start every call from that state
//! instead of running `_initialize` in each fresh instance. The Go SDK asks
//! for it: starting the Go runtime is most of a Go call.
//!
//! The guest answers for what a shared starting state would freeze (the Go
//! SDK gives each call fresh random state); the host makes sure nothing of
//! a caller is in it: the run happens at load, with no call context, and
//! every `yao` import traps, so an initialization that reaches Yao is not
//! snapshotted and runs per call as before.

use super::Inner;
use crate::error::Result;
use crate::log::{LogLevel, LogSink};
use std::sync::Arc;
use wasmtime::Module;

pub(crate) const EXPORT: &str = "yao_preinit";

/// Names the cached pre-initialized module apart from the plain one of the
/// same bytes; bump it when what the snapshot contains changes.
const CACHE_KEY: &[u8] = b"yaowasm-preinit-v1\0";

/// `YAOWASM_PREINIT=0` turns it off (for measuring what it saves, or to see
/// whether a problem comes from it): every call runs `_initialize`.
fn enabled() -> bool {
    std::env::var("YAOWASM_PREINIT").map_or(true, |v| v != "0")
}

/// Whether the module asks for pre-initialization: it exports both
/// `yao_preinit` and `_initialize` (the export section is read, nothing
/// else is).
pub(crate) fn requested(wasm: &[u8]) -> bool {
    use wasmparser::{ExternalKind, Parser, Payload};
    if !enabled() {
        return false;
    }
    for payload in Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(Payload::ExportSection(exports)) => {
                let funcs: Vec<_> = exports.into_iter().flatten().filter(|e| e.kind == ExternalKind::Func).map(|e| e.name).collect();
                return funcs.contains(&EXPORT) && funcs.contains(&"_initialize");
            }
            // The export section comes before code and data.
            Ok(Payload::CodeSectionStart { .. } | Payload::DataSection(_)) | Err(_) => return false,
            Ok(_) => {}
        }
    }
    false
}

/// The pre-initialized module of `wasm` (whose SHA-256 is `digest`), from
/// the cache or made now; `None` when it cannot be had, said in the log:
/// the caller then loads `wasm` as it is, and calls run `_initialize`.
pub(crate) fn load(runtime: &Arc<Inner>, wasm: &[u8], digest: &[u8; 32], id: &str) -> Option<Module> {
    let made = match &runtime.cache {
        Some(cache) => cache.load_or_build(runtime.as_ref(), &cache_key(runtime, digest), || snapshot(runtime, wasm)),
        None => snapshot(runtime, wasm).and_then(|bytes| super::script::compile_module(runtime.engine(), &bytes)),
    };
    match made {
        Ok(module) => Some(module),
        // `yaowasm compile --target` for another machine: saved, not loaded.
        // The plain module is precompiled next, for a runtime there that
        // turns pre-initialization off.
        Err(e) if e.kind() == Some(crate::error::ErrorKind::PrecompiledOnly) => None,
        Err(e) => {
            runtime
                .log(LogLevel::Warn, &format!("yaowasm: {id} is not pre-initialized, so every call runs its _initialize: {}", e.message()));
            None
        }
    }
}

/// The snapshot depends on the module and on what its initialization could
/// see: the WASI preopens (Go's `syscall` package records them at init), in
/// their order, with their modes. The cache's own fingerprint adds the
/// engine settings and `max_memory_mb`.
fn cache_key(runtime: &Inner, digest: &[u8; 32]) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let wasi = &runtime.config.wasi;
    let mut key = CACHE_KEY.to_vec();
    key.extend_from_slice(digest);
    for (guest, host) in &wasi.preopen {
        key.extend_from_slice(guest.as_bytes());
        key.push(0);
        key.extend_from_slice(host.as_os_str().as_bytes());
        key.push(0);
        key.push(u8::from(wasi.read_only.contains(guest)));
    }
    key
}

/// Runs `_initialize` and `yao_preinit` in an instance with the calls' WASI
/// sandbox and no Yao, and returns the snapshot if the guest agreed.
#[cfg(feature = "compiler")]
fn snapshot(runtime: &Arc<Inner>, wasm: &[u8]) -> Result<Vec<u8>> {
    use crate::error::Error;
    let config = &runtime.config;
    let wasi = super::wasi::context(&config.wasi, &(runtime.clone() as Arc<dyn LogSink>))?;
    // The calls' own bound, but never less than a few seconds: this runs
    // once, and a slow machine must not turn it off.
    let timeout = std::time::Duration::from_millis(config.timeout_ms.max(5000));
    let max_memory = usize::try_from(config.max_memory_bytes()).unwrap_or(usize::MAX);
    super::wizen::wizen(wasm, EXPORT, false, wasi, max_memory, Some(timeout), |store, instance| {
        super::wizen::call::<()>(store, instance, "_initialize")?;
        match super::wizen::call::<i32>(store, instance, EXPORT)? {
            1 => Ok(()),
            n => Err(format!("{EXPORT}() returned {n}: the guest declined (its stderr says why)")),
        }
    })
    .map_err(Error::bad_request)
}

/// The runtime-only build cannot run a module to snapshot it: it takes the
/// pre-initialized module from the cache (`yaowasm compile` puts it there),
/// and says so when it is not.
#[cfg(not(feature = "compiler"))]
fn snapshot(_: &Arc<Inner>, _: &[u8]) -> Result<Vec<u8>> {
    Err(crate::error::Error::bad_request(
        "its pre-initialized form for this WASI sandbox is not in cache_dir (this runtime-only build cannot make it; \
         `yaowasm compile` with the full build does, given the same --config: wasi.preopen and max_memory_mb are part of the key)",
    ))
}
