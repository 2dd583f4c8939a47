//! The runtime: scripts by ID, the host's handlers, and `exec`.
//!
//! `Runtime` is `Send + Sync` and cheap to clone (an `Arc`); every method may
//! be called from any thread at any time. Loads compile outside any lock and
//! swap scripts in under one short write lock, so a reload is atomic and calls
//! in flight finish on the version they started with.

pub(crate) mod cache;
pub(crate) mod call;
pub mod context;
pub(crate) mod engine;
pub(crate) mod loader;
pub(crate) mod nesting;
pub(crate) mod per_cpu;
pub(crate) mod preinit;
pub(crate) mod resident;
pub(crate) mod script;
pub mod stats;
pub(crate) mod table;
pub(crate) mod tasks;
pub(crate) mod wasi;
#[cfg(feature = "compiler")]
pub(crate) mod wizen;

use self::cache::ModuleCache;
pub use self::context::CallContext;
use self::engine::Ticker;
use self::loader::{LoadReport, Problem};
use self::nesting::{Budget, CancelToken};
use self::script::{Origin, Script};
use crate::abi::value;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::host_api::{Dispatch, HostApi};
use crate::log::{self, LogHandler, LogLevel, LogRecord, LogRecordHandler, LogSink};
use crate::names;
use crate::sync::RwLockAny;
use serde::Serialize;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use wasmtime::Engine;

/// Serves the `yao.process` calls the runtime does not serve itself: gets the
/// process name and its MessagePack args array, answers MessagePack or an
/// error with its code. Called on the thread running the guest; it reads the
/// call's context (session, globals, authorization) with
/// [`Runtime::current_context`].
pub type ProcessHandler = dyn Fn(&str, &[u8]) -> Result<Vec<u8>> + Send + Sync;

/// One loaded script as `list` describes it (SPEC §4).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ScriptInfo {
    pub id: String,
    pub file: String,
    pub functions: Vec<String>,
    pub shadows: Vec<String>,
    pub encoding: &'static str,
    pub wasi: bool,
    pub size: u64,
}

/// Options of one `exec_with` call. Nested calls share their top-level
/// call's timeout and cancel token; a nested call's context, when it brings
/// none, is its caller's.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// A timeout shorter than `timeout_ms` for this call (a longer one is
    /// capped at `timeout_ms`).
    pub timeout: Option<Duration>,
    /// Stops the call with 408 when cancelled.
    pub cancel: Option<CancelToken>,
    /// Who the call runs for: every call nested in it inherits it, and the
    /// process handler reads it with [`Runtime::current_context`]. `None`:
    /// the caller's context for a nested call, no context for a top-level
    /// one.
    pub context: Option<Arc<CallContext>>,
}

#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

/// Aligned to a cache line pair so that the `Arc`'s reference counts, which
/// every call writes (its store holds a clone), do not share a line with the
/// fields every call on the other CPUs reads.
#[repr(align(128))]
pub struct Inner {
    pub(crate) config: Config,
    /// The engines calls run on, one per CPU by default (engine.rs). Shard
    /// 0's is the one modules are compiled for and loaded from the cache
    /// into ([`Inner::engine`]); the others get copies (engine.rs
    /// `copy_to`).
    pub(crate) shards: Box<[engine::Shard]>,
    pub(crate) cache: Option<ModuleCache>,
    pub(crate) ticker: Ticker,
    /// The shared JS engine, made on first use (src/js.rs).
    pub(crate) js_engine: crate::js::EngineCell,
    /// The host API's state (docs/ABI.md §5–§7): named stores, fs roots, the
    /// HTTP client.
    pub(crate) host_api: HostApi,
    /// Background `Job`s (tasks.rs).
    pub(crate) jobs: tasks::Jobs,
    scripts: table::ScriptTable,
    process_handler: RwLock<Option<Arc<ProcessHandler>>>,
    log_handler: RwLock<Option<log::Handler>>,
}

impl Runtime {
    /// Makes a runtime. The config is validated here (400 on any problem).
    pub fn new(config: Config) -> Result<Runtime> {
        config.validate()?;
        let shards = engine::build_shards(&config)?;
        let cache = config.cache_dir.clone().map(|dir| {
            let (target, runs_here) = (engine::target(&config), engine::runs_here(&config));
            ModuleCache::new(dir, config.cache_max_mb << 20, &shards[0].engine, config.max_memory_bytes(), target, !runs_here)
        });
        let ticker = Ticker::start(shards.iter().map(|s| s.engine.clone()).collect())?;
        let host_api = HostApi::new(&config)?;
        let inner = Inner {
            config,
            shards,
            cache,
            ticker,
            js_engine: Default::default(),
            host_api,
            jobs: Default::default(),
            scripts: Default::default(),
            process_handler: RwLock::default(),
            log_handler: RwLock::default(),
        };
        Ok(Runtime { inner: Arc::new(inner) })
    }

    /// `Runtime::new` from config JSON (`None`: defaults).
    pub fn from_json(config: Option<&str>) -> Result<Runtime> {
        Runtime::new(Config::from_json(config)?)
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Loads, or atomically reloads, every `.wasm` under `dir` (SPEC §1).
    /// Per-file problems are in the report; the error is for a folder that
    /// cannot be read at all (404). On a reload, a script whose file is still
    /// there but fails to load keeps its previous version.
    pub fn load_dir(&self, dir: impl AsRef<Path>) -> Result<LoadReport> {
        let dir = dir.as_ref();
        let root = dir.canonicalize().map_err(|e| Error::not_found(format!("cannot read scripts folder {}: {e}", dir.display())))?;
        let scan = loader::scan(&root)?;
        let origin = Origin::Dir(root);
        let current = self.inner.scripts.read();
        let (scripts, mut problems) = loader::compile_all(&self.inner, scan, &origin, &current);
        drop(current);

        let loaded = self.inner.scripts.update(|table| {
            let mut fresh = Vec::with_capacity(scripts.len());
            for script in scripts {
                match table.get(&script.id) {
                    Some(other) if other.origin != origin => problems.push(Problem {
                        file: script.file.clone(),
                        id: Some(script.id.clone()),
                        code: crate::error::BAD_REQUEST,
                        message: format!("script id {} is already provided by {}", script.id, other.file.display()),
                        kind: None,
                    }),
                    _ => fresh.push(script),
                }
            }
            // A file that is still there but no longer loads (caught
            // half-written by a deploy, say) keeps serving its last good
            // version; the problem is reported. A file that is gone is
            // unloaded.
            let failed: std::collections::HashSet<&str> = problems.iter().filter_map(|p| p.id.as_deref()).collect();
            let mut counters: HashMap<String, Arc<stats::ScriptStats>> =
                table.iter().filter(|(_, s)| s.origin == origin).map(|(id, s)| (id.clone(), s.stats.clone())).collect();
            table.retain(|id, s| s.origin != origin || failed.contains(id.as_str()));
            let loaded = fresh.len();
            for mut script in fresh {
                // A new build of a script that was loaded keeps its counters.
                if let Some(stats) = counters.remove(&script.id) {
                    if let Some(new) = Arc::get_mut(&mut script) {
                        new.stats = stats;
                    }
                }
                table.insert(script.id.clone(), script);
            }
            loaded
        });
        problems.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(LoadReport { loaded, problems })
    }

    /// Loads one file as script `id` (default: the file's stem). Replaces a
    /// script loaded by `load_file` under the same ID; an ID a folder provides
    /// is a 400.
    pub fn load_file(&self, path: impl AsRef<Path>, id: Option<&str>) -> Result<()> {
        let path = path.as_ref();
        let id = match id {
            Some(id) => names::normalize_id(id)?,
            None => names::normalize_id(path.file_stem().and_then(|s| s.to_str()).unwrap_or_default())?,
        };
        let bytes = std::fs::read(path).map_err(|e| Error::not_found(format!("cannot read {}: {e}", path.display())))?;
        let digest = cache::digest_of(&bytes);
        let mut script = Script::compile(&self.inner, &bytes, digest, path.to_path_buf(), id.clone(), Origin::File)
            .map_err(|e| e.context(path.display()))?;
        self.inner.scripts.update(|table| {
            if let Some(old) = table.get(&id) {
                if old.origin != Origin::File {
                    return Err(Error::bad_request(format!("script id {id} is already provided by {}", old.file.display())));
                }
                script.stats = old.stats.clone();
            }
            table.insert(id, Arc::new(script));
            Ok(())
        })
    }

    /// Removes a script; calls in flight finish. 404 for an unknown ID.
    pub fn unload(&self, id: &str) -> Result<()> {
        let id = names::normalize_id(id)?;
        let removed = self.inner.scripts.update(|table| table.remove(&id));
        removed.map(drop).ok_or_else(|| Error::not_found(format!("no script {id}")))
    }

    /// Every loaded script, sorted by ID.
    pub fn list(&self) -> Vec<ScriptInfo> {
        let table = self.inner.scripts.read();
        let mut list: Vec<ScriptInfo> = table
            .values()
            .map(|s| ScriptInfo {
                id: s.id.clone(),
                file: s.file.display().to_string(),
                functions: s.functions.keys().cloned().collect(),
                shadows: s.shadows.iter().map(|p| p.display().to_string()).collect(),
                encoding: s.program.encoding.name(),
                wasi: s.program.uses_wasi,
                size: s.size,
            })
            .collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        list
    }

    /// Call counters of every loaded script (sorted by ID) and the instance
    /// pool's use (src/stats.rs).
    pub fn stats(&self) -> stats::RuntimeStats {
        let table = self.inner.scripts.read();
        let mut scripts: Vec<_> = table.values().map(|s| s.stats.snapshot(&s.id)).collect();
        drop(table);
        scripts.sort_by(|a, b| a.id.cmp(&b.id));
        stats::RuntimeStats::new(scripts, &self.inner.shards)
    }

    /// Runs a process: `args` is a MessagePack array (empty means `[]`); the
    /// answer is the MessagePack result.
    pub fn exec(&self, process: &str, args: &[u8]) -> Result<Vec<u8>> {
        self.inner.exec(process, args, &ExecOptions::default())
    }

    /// `exec` with per-call options: a shorter timeout, a cancel token.
    pub fn exec_with(&self, process: &str, args: &[u8], options: &ExecOptions) -> Result<Vec<u8>> {
        self.inner.exec(process, args, options)
    }

    /// `exec` with JSON text in and out (SPEC §2 conversions).
    pub fn exec_json(&self, process: &str, args_json: &str) -> Result<String> {
        let args = if args_json.trim().is_empty() {
            value::EMPTY_ARRAY.to_vec()
        } else {
            value::json_text_to_msgpack(args_json.as_bytes()).map_err(|e| Error::bad_request(format!("args are not valid JSON: {e}")))?
        };
        let result = self.exec(process, &args)?;
        value::msgpack_to_json_text(&result).map_err(|e| Error::internal(format!("result: {e}")))
    }

    /// Sets (or with `None` clears) the handler of process calls the runtime
    /// does not serve itself.
    pub fn set_process_handler(&self, handler: Option<Arc<ProcessHandler>>) {
        *self.inner.process_handler.write_any() = handler;
    }

    /// Sets (or with `None` resets to stderr) where log records go: the
    /// handler gets each record's level and message (not the script; see
    /// [`Runtime::set_log_record_handler`]). Replaces a record handler.
    pub fn set_log_handler(&self, handler: Option<Arc<LogHandler>>) {
        *self.inner.log_handler.write_any() = handler.map(log::Handler::Message);
    }

    /// Sets (or with `None` resets to stderr) where log records go, as whole
    /// [`LogRecord`]s: level, the script that wrote it, message. Replaces a
    /// handler set by `set_log_handler`.
    pub fn set_log_record_handler(&self, handler: Option<Arc<LogRecordHandler>>) {
        *self.inner.log_handler.write_any() = handler.map(log::Handler::Record);
    }

    /// The context of this runtime's innermost call running on this thread:
    /// what a process handler reads to learn who the `yao.process` call it
    /// serves runs for. `None` outside a call or when the call has no
    /// context.
    pub fn current_context(&self) -> Option<Arc<CallContext>> {
        self.inner.current_context()
    }

    /// Whether this thread is inside a call of this runtime (one of its host
    /// callbacks is running): freeing the runtime here would pull it out from
    /// under that call.
    pub fn is_running_on_this_thread(&self) -> bool {
        nesting::is_running(self.inner.key())
    }

    /// The file a script was loaded from, if loaded.
    pub fn script_file(&self, id: &str) -> Option<PathBuf> {
        let id = id.to_ascii_lowercase();
        self.inner.scripts.read().get(&id).map(|s| s.file.clone())
    }
}

impl Inner {
    /// A stable number for this runtime, to tell its nested calls apart.
    fn key(&self) -> usize {
        self as *const Inner as usize
    }

    /// The context of this runtime's innermost call on this thread (the
    /// guest asking `yao.context` is that call).
    pub(crate) fn current_context(&self) -> Option<Arc<CallContext>> {
        nesting::current_context(Some(self.key()))
    }

    pub(crate) fn script(&self, id: &str) -> Option<Arc<Script>> {
        self.scripts.read().get(id).cloned()
    }

    /// The engine modules are compiled for (shard 0's).
    pub(crate) fn engine(&self) -> &Engine {
        &self.shards[0].engine
    }

    /// The budget of a top-level call: `timeout_ms` from now, or less.
    pub(crate) fn default_budget(&self, timeout: Option<Duration>, cancel: Option<CancelToken>) -> Budget {
        self.budget_from(Instant::now(), timeout, cancel)
    }

    /// The budget of a call that started at `started` (one clock read per
    /// call serves the deadline and the call's duration).
    fn budget_from(&self, started: Instant, timeout: Option<Duration>, cancel: Option<CancelToken>) -> Budget {
        let configured = Duration::from_millis(self.config.timeout_ms);
        let timeout = timeout.map_or(configured, |t| t.min(configured));
        Budget { deadline: started + timeout, timeout_ms: timeout.as_millis() as u64, cancel }
    }

    pub(crate) fn exec(self: &Arc<Self>, process: &str, args: &[u8], options: &ExecOptions) -> Result<Vec<u8>> {
        let name = names::parse_process(process)?;
        value::validate_args(args)?;
        let args = if args.is_empty() { value::EMPTY_ARRAY } else { args };
        // The table as it is now, held for the call: no script's reference
        // count is written (table.rs).
        let table = self.scripts.read();
        let script = table.get(&*name.id).ok_or_else(|| Error::not_found(format!("no script {} (process {process})", name.id)))?;
        let started = Instant::now();
        let result = (|| {
            let function = script.function(name.function)?;
            let top_level = || self.budget_from(started, options.timeout, options.cancel.clone());
            let entered = nesting::enter(self.key(), process, top_level, options.context.clone(), self.config.max_depth)?;
            let _running = self.ticker.running();
            if let Some(js) = &script.js {
                return crate::js::run(self, script, js, name.function, args, &entered.budget);
            }
            call::run(self, script, function, args, &entered.budget)
        })();
        script.stats.record(started.elapsed(), &result);
        result
    }

    /// A `yao.process` call from a guest: loaded `scripts.*` in-runtime,
    /// everything else through the host's handler.
    pub(crate) fn dispatch(self: &Arc<Self>, name: &str, args: &[u8]) -> Result<Vec<u8>> {
        if names::is_script_process(name) {
            if let Ok(parsed) = names::parse_process(name) {
                if self.scripts.read().contains_key(&*parsed.id) {
                    return self.exec(name, args, &ExecOptions::default());
                }
            }
        }
        let handler = self.process_handler.read_any().clone();
        let Some(handler) = handler else {
            return Err(Error::not_found(format!("process {name} not found: no script of this runtime and no host process handler")));
        };
        let result = catch_unwind(AssertUnwindSafe(|| handler(name, args)))
            .unwrap_or_else(|_| Err(Error::internal(format!("the host process handler panicked on {name}"))))?;
        match value::validate(&result) {
            Ok(_) => Ok(result),
            Err(why) => Err(Error::internal(format!("the host process handler answered {name} with invalid MessagePack: {why}"))),
        }
    }
}

impl Dispatch for Arc<Inner> {
    fn dispatch(&self, name: &str, args: &[u8]) -> Result<Vec<u8>> {
        Inner::dispatch(self, name, args)
    }
}

impl LogSink for Inner {
    /// Sends a record, named after the call running on this thread, to the
    /// log handler, or to stderr when none is set. A panicking handler loses
    /// the record, never the call.
    fn log(&self, level: LogLevel, message: &str) {
        let script = nesting::current_process(self.key());
        let record = LogRecord { level, script: script.as_deref(), message };
        let handler = self.log_handler.read_any().clone();
        match handler {
            Some(handler) => {
                let _ = catch_unwind(AssertUnwindSafe(|| handler.call(&record)));
            }
            None => log::to_stderr(&record),
        }
    }
}
