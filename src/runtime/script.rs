//! A compiled script: its identity (ID, file, origin, counters) and the
//! program a call instantiates (a pre-linked module and the exports the host
//! needs). Every JS script shares one program, the engine's.
// The runtime-only build (no `compiler`) has no compile_module to use these.
#![cfg_attr(not(feature = "compiler"), allow(dead_code, unused_imports))]

use super::call::{self, CallState};
use super::Inner;
pub use crate::abi::Encoding;
use crate::error::{Error, Result, TOO_LARGE};
use crate::host_api::imports as host;
use once_cell::sync::OnceCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::{ExternType, FuncType, InstancePre, Module, ModuleExport, ValType};

/// Export names with a fixed meaning (SPEC §3); never script functions.
pub const RESERVED_EXPORTS: &[&str] = &["memory", "yao_alloc", "yao_free", "yao_encoding", "yao_preinit", "_initialize", "_start"];

/// Where a script came from; a reload replaces exactly the scripts of its
/// origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `load_dir` of this (canonical) folder.
    Dir(PathBuf),
    /// `load_file`.
    File,
}

/// What a call instantiates: a pre-linked module in each engine shard and
/// the exports the host needs of it. Shared (an `Arc`) by every script that
/// runs it.
pub struct Program {
    /// Indexed by shard (engine.rs). Shard 0's is made at load; another's
    /// at the first call on that shard, from a copy of shard 0's machine
    /// code: loading stays as fast as with one engine, and a module never
    /// called on a CPU costs that CPU's engine nothing. `None`: the copy
    /// failed (the host out of memory for its code, say), and calls on that
    /// CPU run in another shard, as when its slots are all in use.
    shards: Box<[OnceCell<Option<ProgramShard>>]>,
    /// The function exports calls use, in the order of
    /// [`ProgramShard::functions`].
    function_names: Box<[String]>,
    /// Whether calls run `_initialize` (not when a snapshot already did).
    initialize: bool,
    pub encoding: Encoding,
    pub uses_wasi: bool,
}

/// A program in one engine. A [`ModuleExport`] names an export of one
/// `Module` object, so each shard's copy has its own.
pub struct ProgramShard {
    pub pre: InstancePre<CallState>,
    pub memory: ModuleExport,
    pub alloc: ModuleExport,
    pub initialize: Option<ModuleExport>,
    /// Indexed like [`Program`]'s `function_names`.
    pub functions: Box<[ModuleExport]>,
}

impl Program {
    /// `module` (compiled for shard 0's engine, its exports checked) with
    /// the function exports calls will use. A module the linker refuses is
    /// a 400.
    pub(crate) fn new(runtime: &Inner, module: Module, function_names: Vec<String>, initialize: bool, uses_wasi: bool) -> Result<Program> {
        let program = Program {
            shards: (0..runtime.shards.len()).map(|_| OnceCell::new()).collect(),
            function_names: function_names.into_boxed_slice(),
            initialize,
            encoding: Encoding::MsgPack,
            uses_wasi,
        };
        let first = program.link(&runtime.shards[0], &module).map_err(|e| Error::bad_request(format!("cannot link: {e:#}")))?;
        let _ = program.shards[0].set(Some(first));
        Ok(program)
    }

    /// The program in shard `index`, copied there at its first use; `None`
    /// when that copy failed. The failure is logged once and kept: a copy
    /// that failed for want of memory would fail again, and every call on
    /// that CPU would pay for trying (milliseconds for a Go module) before
    /// running elsewhere. Shard 0's is always there.
    pub(crate) fn shard(&self, runtime: &Inner, index: usize) -> Option<&ProgramShard> {
        self.shards[index]
            .get_or_init(|| {
                let copied = super::engine::copy_to(&runtime.shards[index], self.module()).and_then(|module| {
                    self.link(&runtime.shards[index], &module).map_err(|e| Error::internal(format!("cannot link the copy: {e:#}")))
                });
                match copied {
                    Ok(parts) => Some(parts),
                    Err(e) => {
                        use crate::log::LogSink;
                        runtime.log(
                            crate::LogLevel::Warn,
                            &format!("engine shard {index}: {}; calls of this script on that CPU run in another shard", e.message()),
                        );
                        None
                    }
                }
            })
            .as_ref()
    }

    /// The module as compiled for shard 0.
    pub fn module(&self) -> &Module {
        self.first().pre.module()
    }

    fn first(&self) -> &ProgramShard {
        self.shards[0].get().and_then(Option::as_ref).expect("shard 0 is linked in Program::new")
    }

    fn link(&self, shard: &super::engine::Shard, module: &Module) -> wasmtime::Result<ProgramShard> {
        let export = |name: &str| module.get_export_index(name).ok_or_else(|| wasmtime::format_err!("no export {name}"));
        Ok(ProgramShard {
            pre: shard.linker.instantiate_pre(module)?,
            memory: export("memory")?,
            alloc: export("yao_alloc")?,
            initialize: match self.initialize {
                true => Some(export("_initialize")?),
                false => None,
            },
            functions: self.function_names.iter().map(|name| export(name)).collect::<wasmtime::Result<_>>()?,
        })
    }
}

pub struct Script {
    pub id: String,
    pub file: PathBuf,
    pub origin: Origin,
    /// `.ts`/`.js` sources this `.wasm` shadows (SPEC §1).
    pub shadows: Vec<PathBuf>,
    pub size: u64,
    /// SHA-256 of the file's bytes as loaded ([`super::cache::digest_of`]): a
    /// reload of a folder keeps a script whose bytes are unchanged instead of
    /// compiling it again.
    pub digest: [u8; 32],
    /// Call counters (src/runtime/stats.rs); a reload of a changed file hands
    /// them to the new version.
    pub stats: Arc<super::stats::ScriptStats>,
    /// Script functions by name: their index in the program's
    /// [`ProgramShard::functions`].
    pub functions: BTreeMap<String, usize>,
    pub program: Arc<Program>,
    /// A JS/TS script: its bytecode, run by the shared engine's program
    /// (src/js/).
    pub js: Option<Arc<crate::js::JsScript>>,
}

impl Script {
    /// Compiles (or takes from the cache), checks and pre-links `bytes`.
    /// Every problem is an error naming what is wrong, with its code: 400 for
    /// a bad module, 413 for one beyond the limits.
    /// `digest` is [`crate::cache::digest_of`]`(bytes)`.
    pub(crate) fn compile(
        runtime: &Arc<Inner>,
        bytes: &[u8],
        digest: [u8; 32],
        file: PathBuf,
        id: String,
        origin: Origin,
    ) -> Result<Script> {
        if let Some(hook) = crate::js::parse_hook(bytes) {
            let identity = Identity { id, file, origin, size: bytes.len() as u64, digest };
            return crate::js::compile(runtime, hook?, identity);
        }
        let preinitialized = match super::preinit::requested(bytes) {
            true => super::preinit::load(runtime, bytes, &digest, &id),
            false => None,
        };
        let module = match (preinitialized, &runtime.cache) {
            (Some(module), _) => module,
            (None, Some(cache)) => cache.load_or_compile(runtime.as_ref(), bytes, &digest)?,
            (None, None) => compile_module(runtime.engine(), bytes)?,
        };
        check_limits(runtime, &module)?;
        let mut uses_wasi = false;
        for import in module.imports() {
            match import.module() {
                host::MODULE if !host::PROVIDED.contains(&import.name()) => {
                    return Err(Error::bad_request(format!(
                        "imports yao.{}, which yaowasm does not provide (it provides yao.{})",
                        import.name(),
                        host::PROVIDED.join(", yao.")
                    )));
                }
                host::MODULE => {}
                host::WASI_MODULE => uses_wasi = true,
                other => {
                    return Err(Error::bad_request(format!(
                        "imports {other}.{}, from a module yaowasm does not provide (only yao and {})",
                        import.name(),
                        host::WASI_MODULE
                    )));
                }
            }
        }
        let export = |name: &str, want: &dyn Fn(&ExternType) -> bool, what: &str| -> Result<bool> {
            match module.get_export(name) {
                None => Ok(false),
                Some(ty) if want(&ty) => Ok(true),
                Some(_) => Err(Error::bad_request(format!("export {name} must be {what}"))),
            }
        };
        let is_memory = |t: &ExternType| matches!(t, ExternType::Memory(m) if !m.is_64() && !m.is_shared());
        if !export("memory", &is_memory, "a 32-bit memory")? {
            return Err(Error::bad_request("does not export its memory as \"memory\""));
        }
        if !export("yao_alloc", &|t| has_sig(t, &[ValType::I32], &[ValType::I32]), "(i32) -> i32")? {
            return Err(Error::bad_request("does not export yao_alloc(size i32) -> i32"));
        }
        let initialize = export("_initialize", &|t| has_sig(t, &[], &[]), "() -> ()")?;
        let probe = export("yao_encoding", &|t| has_sig(t, &[], &[ValType::I32]), "() -> i32")?;

        let mut names: Vec<String> = module
            .exports()
            .filter(|e| !RESERVED_EXPORTS.contains(&e.name()) && has_sig(&e.ty(), &[ValType::I32, ValType::I32], &[ValType::I64]))
            .map(|e| e.name().to_owned())
            .collect();
        if names.is_empty() {
            return Err(Error::bad_request(
                "exports no script function: a script function has the signature (args_ptr i32, args_len i32) -> i64",
            ));
        }
        let functions: BTreeMap<String, usize> = names.iter().enumerate().map(|(i, name)| (name.clone(), i)).collect();
        // The probe is called like a function; it is last, after every
        // script function.
        if probe {
            names.push("yao_encoding".to_owned());
        }
        let probe = probe.then_some(names.len() - 1);
        let mut program = Program::new(runtime, module, names, initialize, uses_wasi)?;
        if let Some(probe) = probe {
            program.encoding = program.probe_encoding(runtime, probe)?;
        }
        let identity = Identity { id, file, origin, size: bytes.len() as u64, digest };
        Ok(identity.with(functions, Arc::new(program), None))
    }

    /// The index of script function `name` (case kept) in the program's
    /// functions, or a 404.
    pub fn function(&self, name: &str) -> Result<usize> {
        self.functions.get(name).copied().ok_or_else(|| {
            Error::not_found(format!(
                "script {} has no function {name} (it has: {})",
                self.id,
                self.functions.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }
}

impl Program {
    /// Asks the module which encoding it speaks, once, at load.
    fn probe_encoding(&self, runtime: &Arc<Inner>, probe: usize) -> Result<Encoding> {
        let _running = runtime.ticker.running();
        let call::Fresh { mut store, instance, parts, .. } = call::instantiate(runtime, self, &runtime.default_budget(None, None))?;
        // SAFETY: `yao_encoding` is checked to be () -> i32 at load.
        let func = unsafe { call::typed_export::<(), i32>(&mut store, &instance, &parts.functions[probe], "yao_encoding")? };
        match func.call(&mut store, ()) {
            Ok(0) => Ok(Encoding::MsgPack),
            Ok(1) => Ok(Encoding::Json),
            Ok(n) => Err(Error::bad_request(format!("yao_encoding() returned {n}: 0 (MessagePack) or 1 (JSON) expected"))),
            Err(e) => Err(call::classify(e, runtime.config.timeout_ms).context("yao_encoding()")),
        }
    }
}

/// Who a script is, before it has a program: what the loader knows of a file.
pub(crate) struct Identity {
    pub id: String,
    pub file: PathBuf,
    pub origin: Origin,
    pub size: u64,
    pub digest: [u8; 32],
}

impl Identity {
    pub fn with(self, functions: BTreeMap<String, usize>, program: Arc<Program>, js: Option<Arc<crate::js::JsScript>>) -> Script {
        let Identity { id, file, origin, size, digest } = self;
        Script { id, file, origin, shadows: Vec::new(), size, digest, stats: Default::default(), functions, program, js }
    }
}

pub(crate) fn has_sig(ty: &ExternType, params: &[ValType], results: &[ValType]) -> bool {
    let ExternType::Func(f) = ty else { return false };
    sig_is(f, params, results)
}

fn sig_is(f: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    let same =
        |a: &mut dyn ExactSizeIterator<Item = ValType>, b: &[ValType]| a.len() == b.len() && a.zip(b).all(|(x, y)| ValType::eq(&x, y));
    same(&mut f.params(), params) && same(&mut f.results(), results)
}

/// The runtime-only build (no `compiler` feature) compiles nothing: every
/// module comes from the cache (cache.rs), and this says so.
#[cfg(not(feature = "compiler"))]
pub(crate) fn compile_module(_: &wasmtime::Engine, _: &[u8]) -> Result<Module> {
    Err(Error::bad_request(format!(
        "{}: this yaowasm is the runtime-only build, which cannot compile, and it has no cache_dir; \
         precompile the app with the full build, `yaowasm compile <app> --cache-dir DIR`, and pass --cache-dir DIR",
        super::cache::NOT_PRECOMPILED
    ))
    .with_kind(crate::error::ErrorKind::NotPrecompiled))
}

/// Compiles module bytes; a module beyond the pool's limits is a 413, any
/// other failure a 400.
#[cfg(feature = "compiler")]
pub(crate) fn compile_module(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<Module> {
    Module::new(engine, bytes).map_err(|e| {
        let text = format!("{e:#}");
        if let Some(bytes) = number_after(&text, "memory has a minimum byte size of ") {
            Error::new(
                TOO_LARGE,
                format!("declares {} MiB of initial memory, max_memory_mb is {}", bytes >> 20, engine_max_memory_mb(&text)),
            )
        } else if text.contains("exceeds the limit") || text.contains("pooling allocator") {
            Error::new(TOO_LARGE, format!("beyond the runtime's limits: {text}"))
        } else {
            Error::bad_request(format!("not a valid WebAssembly module: {text}"))
        }
    })
}

/// The decimal number right after `marker` in wasmtime's message.
fn number_after(text: &str, marker: &str) -> Option<u64> {
    let rest = &text[text.find(marker)? + marker.len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The pool's limit named in wasmtime's "exceeds the limit of 0x... bytes".
fn engine_max_memory_mb(text: &str) -> String {
    let marker = "exceeds the limit of 0x";
    text.find(marker)
        .and_then(|i| {
            let hex: String = text[i + marker.len()..].chars().take_while(char::is_ascii_hexdigit).collect();
            u64::from_str_radix(&hex, 16).ok()
        })
        .map_or_else(|| "smaller".to_owned(), |bytes| (bytes >> 20).to_string())
}

/// Declared sizes against `max_memory_mb`, named in the message (SPEC §3).
fn check_limits(runtime: &Inner, module: &Module) -> Result<()> {
    let needs = module.resources_required();
    let max = runtime.config.max_memory_bytes();
    if let Some(initial) = needs.max_initial_memory_size {
        let bytes = initial.saturating_mul(65536);
        if bytes > max {
            return Err(Error::too_large(format!("declares {} MiB of initial memory, max_memory_mb is {}", bytes >> 20, max >> 20)));
        }
    }
    if needs.num_memories > 1 {
        return Err(Error::too_large(format!("declares {} memories, the limit is 1", needs.num_memories)));
    }
    if let Some(elements) = needs.max_initial_table_size {
        if elements > super::engine::POOL_TABLE_ELEMENTS as u64 {
            return Err(Error::too_large(format!(
                "declares a table of {elements} elements, the limit is {}",
                super::engine::POOL_TABLE_ELEMENTS
            )));
        }
    }
    Ok(())
}

#[cfg(all(test, feature = "compiler"))]
mod tests {
    use crate::{LogLevel, Runtime};
    use std::sync::{Arc, Mutex};

    /// Returns its args as they came (a call writes one value, so
    /// `yao_alloc` can hand out the same place every time).
    const ECHO: &str = r#"(module
      (memory (export "memory") 1)
      (func (export "yao_alloc") (param i32) (result i32) (i32.const 1024))
      (func (export "Echo") (param $p i32) (param $n i32) (result i64)
        (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n)))))"#;

    /// Moves this thread to CPU `cpu`; false when this process may not run
    /// there (a one-CPU machine).
    fn pin_to_cpu(cpu: usize) -> bool {
        // SAFETY: a zeroed cpu_set_t is an empty set; the call gets its size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        }
    }

    #[test]
    fn a_shard_the_module_could_not_be_copied_to_is_skipped_for_good_and_said_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("echo.wasm");
        std::fs::write(&file, wat::parse_str(ECHO).unwrap()).unwrap();
        let rt = Runtime::from_json(Some(r#"{"engine_shards":2}"#)).unwrap();
        let warnings = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = warnings.clone();
        rt.set_log_handler(Some(Arc::new(move |level: LogLevel, message: &str| {
            if level == LogLevel::Warn {
                sink.lock().unwrap().push(message.to_string());
            }
        })));
        rt.load_file(&file, Some("echo")).unwrap();
        let args = rmp_serde::to_vec(&[7]).unwrap();
        super::super::engine::tests::fail_copies();

        // Calls on CPU 1 (when there is one) are served, by shard 0.
        if pin_to_cpu(1) {
            for _ in 0..3 {
                assert_eq!(rt.exec("scripts.echo.Echo", &args).unwrap(), args);
            }
        }
        let script = rt.inner.script("echo").unwrap();
        assert!(script.program.shard(&rt.inner, 1).is_none());
        assert!(script.program.shard(&rt.inner, 0).is_some());
        // One copy was tried, whatever the number of calls since.
        assert_eq!(super::super::engine::tests::copies_tried(), 1);
        let warnings = warnings.lock().unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("engine shard 1") && warnings[0].contains("run in another shard"), "{}", warnings[0]);
    }
}
