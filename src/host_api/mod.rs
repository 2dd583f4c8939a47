//! The host API: the `yao` imports a guest calls (docs/ABI.md §3–§8) and
//! the state behind them.
//!
//! - `imports`: the linker, and every `yao.*` import (pointers in, packed
//!   answers out);
//! - `args`: positional method arguments, checked one by one;
//! - `store`, `fs`, `http` (+ `http_resolve`, `multipart`, `websocket`):
//!   the work.
//!
//! The wing reaches the runtime through one narrow seam, [`Dispatch`]: a
//! process store and `yao.query` hand their calls to whatever serves
//! processes, without knowing what a runtime is.

pub(crate) mod args;
pub(crate) mod fs;
pub(crate) mod http;
pub(crate) mod http_resolve;
pub(crate) mod imports;
pub(crate) mod multipart;
pub(crate) mod store;
pub(crate) mod websocket;

use crate::config::Config;
use crate::error::Result;

/// Serves a process call by name with a MessagePack args array.
pub(crate) trait Dispatch {
    fn dispatch(&self, name: &str, args: &[u8]) -> Result<Vec<u8>>;
}

/// The host API's state for one runtime: named stores, fs roots, the HTTP
/// client.
pub(crate) struct HostApi {
    pub stores: store::Stores,
    pub roots: fs::Roots,
    pub http: http::Http,
    /// `http("WebSocket", …)`: gou's one-shot WebSocket push.
    pub websocket: websocket::WebSocket,
}

impl HostApi {
    pub fn new(config: &Config) -> Result<HostApi> {
        Ok(HostApi {
            stores: store::Stores::new(&config.stores),
            roots: fs::Roots::new(&config.fs, &config.fs_read_only)?,
            http: http::Http::new(config)?,
            websocket: websocket::WebSocket::new(config)?,
        })
    }
}
