//! yaowasm: run Yao scripts compiled to WebAssembly.
//!
//! A safe Rust core ([`Runtime`]) with a thin C API over it (`ffi`, the
//! functions of `include/yaowasm.h`). The contract (names, encodings, guest
//! ABI, error codes) is SPEC.md.

mod api_args;
mod bridge;
mod cache;
mod call;
pub mod config;
mod engine;
mod fs;
pub mod error;
pub mod ffi;
#[doc(hidden)]
pub mod fuzzing;
mod host;
mod host_api;
mod http;
mod http_resolve;
pub mod js;
mod loader;
pub mod log;
mod multipart;
pub mod names;
mod nesting;
pub use nesting::CancelToken;
mod runtime;
mod script;
pub mod stats;
mod store;
pub mod value;
mod wasi;

pub use config::{Config, StoreBackend, StoreConfig, WasiConfig};
pub use error::{Error, Result};
pub use loader::{LoadReport, Problem};
pub use log::{LogHandler, LogLevel};
pub use runtime::{ExecOptions, ProcessHandler, Runtime, ScriptInfo};
pub use stats::{RuntimeStats, ScriptCounters};

/// The library's version, as `yaowasm_version` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
