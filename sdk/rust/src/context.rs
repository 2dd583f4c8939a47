//! Who the running call runs for (docs/ABI.md `context`, SPEC §3a): the
//! caller's session id, globals and authorization info, as the host gave
//! them to the top-level call (nested calls inherit them).
//!
//! ```ignore
//! let ctx = yao_guest::context()?;
//! let tenant = ctx.global.get("tenant");
//! let user = ctx.authorized.as_ref().and_then(|a| a.get("user_id"));
//! ```

use crate::{host, Error, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The call context. A call without one reads the empty context: `sid`
/// `""`, `global` empty, `authorized` `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// The session id ("" when none).
    #[serde(default)]
    pub sid: String,
    /// The caller's globals (gou's `Process.Global`).
    #[serde(default)]
    pub global: BTreeMap<String, Value>,
    /// The caller's authorization info (gou's `Process.Authorized`: user,
    /// team, tenant, data constraints), or `None`.
    #[serde(default)]
    pub authorized: Option<BTreeMap<String, Value>>,
}

/// The context of the running call (one `yao.context` call; the host reads
/// nothing for calls that never ask).
pub fn context() -> Result<Context, Error> {
    host::decode("yao.context", host::context()?)
}
