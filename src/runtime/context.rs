//! The call context: who a call runs for (SPEC §3a). A host gives it to a
//! top-level exec (`ExecOptions::context`); every call nested in that exec,
//! in-runtime `scripts.*` and calls the host's handler makes back into the
//! runtime, inherits it, and the host's process handler reads it with
//! `Runtime::current_context` while it serves a `yao.process` call.
//!
//! The runtime never interprets it: `sid` is the caller's session id,
//! `global` its globals (gou's `Process.Global`), `authorized` the caller's
//! authorization info (gou's `Process.Authorized`), opaque here.

use crate::abi::value;
use crate::error::{Error, Result};
use serde_json::{Map, Value as Json};

/// Session, globals and authorization info of a call. `Default` is the empty
/// context (what a call without one reports).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallContext {
    /// The session id ("" when none).
    pub sid: String,
    /// Globals, a map (empty when none).
    pub global: Map<String, Json>,
    /// Authorization info, a map, or `None`.
    pub authorized: Option<Map<String, Json>>,
}

impl CallContext {
    /// Whether this is the empty context.
    pub fn is_empty(&self) -> bool {
        self.sid.is_empty() && self.global.is_empty() && self.authorized.is_none()
    }

    /// The context as one MessagePack map `{sid, global, authorized}` (the C
    /// API's encoding): `sid` a string, `global` a map, `authorized` a map or
    /// nil.
    pub fn to_msgpack(&self) -> Vec<u8> {
        let value = serde_json::json!({
            "sid": self.sid,
            "global": self.global,
            "authorized": self.authorized,
        });
        value::json_to_msgpack(&value).unwrap_or_else(|_| vec![0x80])
    }

    /// Reads a MessagePack map with the keys `sid` (string), `global` (map),
    /// `authorized` (map), each optional and nil meaning absent. Anything
    /// else is a 400 naming what is wrong.
    pub fn from_msgpack(bytes: &[u8]) -> Result<CallContext> {
        let bad = |why: String| Error::bad_request(format!("call context: {why}"));
        let json = value::msgpack_to_json(bytes).map_err(|e| bad(format!("not valid MessagePack: {e}")))?;
        let Json::Object(fields) = json else {
            return Err(bad("must be a MessagePack map with the keys sid, global, authorized".into()));
        };
        let mut context = CallContext::default();
        for (key, field) in fields {
            match (key.as_str(), field) {
                (_, Json::Null) if matches!(key.as_str(), "sid" | "global" | "authorized") => {}
                ("sid", Json::String(sid)) => context.sid = sid,
                ("global", Json::Object(global)) => context.global = global,
                ("authorized", Json::Object(authorized)) => context.authorized = Some(authorized),
                ("sid", _) => return Err(bad("sid must be a string".into())),
                ("global" | "authorized", _) => return Err(bad(format!("{key} must be a map"))),
                _ => return Err(bad(format!("unknown key {key:?} (known: sid, global, authorized)"))),
            }
        }
        Ok(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mp(v: Json) -> Vec<u8> {
        value::json_to_msgpack(&v).unwrap()
    }

    #[test]
    fn round_trips_and_refuses_bad_shapes() {
        let ctx = CallContext::from_msgpack(&mp(json!({"sid": "S", "global": {"t": 1}, "authorized": {"user_id": 7}}))).unwrap();
        assert_eq!(ctx.sid, "S");
        assert_eq!(ctx.global["t"], 1);
        assert_eq!(ctx.authorized.as_ref().unwrap()["user_id"], 7);
        assert_eq!(CallContext::from_msgpack(&ctx.to_msgpack()).unwrap(), ctx);
        let empty = CallContext::from_msgpack(&mp(json!({"sid": null}))).unwrap();
        assert!(empty.is_empty());
        assert_eq!(value::msgpack_to_json(&empty.to_msgpack()).unwrap(), json!({"sid": "", "global": {}, "authorized": null}));
        for bad in [json!([1]), json!({"sid": 1}), json!({"global": [1]}), json!({"authorized": "x"}), json!({"who": "x"})] {
            assert_eq!(CallContext::from_msgpack(&mp(bad.clone())).unwrap_err().code(), 400, "{bad}");
        }
        assert_eq!(CallContext::from_msgpack(&[0xc1]).unwrap_err().code(), 400);
    }
}
