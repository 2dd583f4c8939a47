//! yaowasm: run Yao scripts compiled to WebAssembly.
//!
//! The contract (names, encodings, rules) is `docs/SPEC.md`; the C API is
//! `include/yaowasm.h`, generated from `ffi.rs`; the guest ABI and the host
//! API imports are `docs/ABI.md`.
//!
//! # Map
//!
//! One exec walks through three wings and back:
//!
//! | wing | what it holds |
//! |---|---|
//! | [`runtime`] (the core) | `Runtime`, the loader, scripts and their programs, one call (`call.rs`), the compile cache, the wasmtime engine and its pool, nesting and deadlines, stats, WASI |
//! | [`abi`] | the guest ABI: guest memory, the wire format (packed results, encodings, error values, args), Yao values |
//! | `host_api` | the `yao` imports (`imports.rs` links them all) and what serves them: stores, fs, http |
//! | [`js`] | the shared QuickJS engine for TS/JS scripts |
//! | [`ffi`] | the thin C layer over `Runtime` |
//!
//! Leaves every wing uses: [`config`] (the normative list of config keys),
//! [`error`] (codes), [`names`] (script IDs and process names), [`log`].
//!
//! The seams are narrow on purpose: `host_api` reaches the runtime only
//! through its `Dispatch` trait (a process call by name), the cache and WASI
//! through `log::LogSink`; `abi` knows nothing of either.

pub mod abi;
pub mod config;
pub mod error;
pub mod ffi;
#[doc(hidden)]
pub mod fuzzing;
mod host_api;
pub mod js;
pub mod log;
pub mod names;
pub mod runtime;
mod sync;

pub use abi::value;
pub use config::{Config, MemoryReset, StoreBackend, StoreConfig, WasiConfig};
pub use error::{Error, ErrorKind, Result};
pub use log::{LogHandler, LogLevel, LogRecord, LogRecordHandler};
pub use runtime::cache::{NOT_PRECOMPILED, PRECOMPILED_ONLY};
pub use runtime::loader::{LoadReport, Problem};
pub use runtime::nesting::CancelToken;
pub use runtime::stats::{self, RuntimeStats, ScriptCounters};
pub use runtime::{CallContext, ExecOptions, ProcessHandler, Runtime, ScriptInfo};

/// The library's version, as `yaowasm_version` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
