//! The calls behind [`crate::store`], [`crate::fs`], [`crate::http`] and
//! [`crate::query`]: one encoded args array in, one packed result out, an
//! error value turned into `Err` with its code kept.
//!
//! Outside wasm (unit tests on the build machine) every call goes to the
//! handler of [`crate::testing::set_process_handler`] under the name of the
//! Yao process it mirrors: `stores.<name>.<Method>`, `fs.<root>.<Method>`,
//! `http.<Method>`, `query.Run`, `tasks.<Method>` (and `tasks.Sleep` for
//! `yao.sleep`).

use crate::{Error, Value};
use serde::de::DeserializeOwned;

/// The import a call goes through.
pub(crate) enum Import<'a> {
    Store { name: &'a str, method: &'a str },
    Fs { root: &'a str, method: &'a str },
    Http { method: &'a str },
    Query,
    Tasks { method: &'a str },
}

impl Import<'_> {
    fn process_name(&self) -> String {
        match self {
            Import::Store { name, method } => format!("stores.{name}.{method}"),
            Import::Fs { root, method } => format!("fs.{root}.{method}"),
            Import::Http { method } => format!("http.{method}"),
            Import::Query => "query.Run".to_owned(),
            Import::Tasks { method } => format!("tasks.{method}"),
        }
    }
}

/// Encodes positional args as the MessagePack array the imports take.
pub(crate) fn encode_args(args: Vec<Value>) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, &Value::Array(args));
    out
}

/// Decodes a result (None = nil) into `R`; a mismatch is a 500 naming `what`.
pub(crate) fn decode<R: DeserializeOwned>(what: &str, bytes: Option<Vec<u8>>) -> Result<R, Error> {
    rmp_serde::from_slice(bytes.as_deref().unwrap_or(&[0xc0]))
        .map_err(|e| Error::internal(format!("{what} returned an unexpected value: {e}")))
}

/// Calls `import` with `args` and decodes its result into `R`.
pub(crate) fn call<R: DeserializeOwned>(import: Import<'_>, args: Vec<Value>) -> Result<R, Error> {
    let what = import.process_name();
    decode(&what, call_raw(import, &encode_args(args))?)
}

/// Turns a packed result into bytes or the error it carries.
#[cfg(target_arch = "wasm32")]
fn unpacked(raw: i64) -> Result<Option<Vec<u8>>, Error> {
    // SAFETY: raw is a packed result the host just wrote through yao_alloc.
    let (bytes, is_error) = unsafe { crate::memory::take(raw) };
    if is_error {
        return Err(Error::from_wire(bytes.as_deref().unwrap_or(&[])));
    }
    Ok(bytes)
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn call_raw(import: Import<'_>, args: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    use crate::sys;
    let (a, n) = (args.as_ptr(), args.len() as u32);
    // SAFETY: every slice is valid for its length during the call.
    let raw = unsafe {
        match import {
            Import::Store { name, method } => sys::store(name.as_ptr(), name.len() as u32, method.as_ptr(), method.len() as u32, a, n),
            Import::Fs { root, method } => sys::fs(root.as_ptr(), root.len() as u32, method.as_ptr(), method.len() as u32, a, n),
            Import::Http { method } => sys::http(method.as_ptr(), method.len() as u32, a, n),
            Import::Query => sys::query(a, n),
            Import::Tasks { method } => sys::tasks(method.as_ptr(), method.len() as u32, a, n),
        }
    };
    unpacked(raw)
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn call_raw(import: Import<'_>, args: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    serve(&import.process_name(), args)
}

#[cfg(not(target_arch = "wasm32"))]
fn serve(name: &str, args: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let answer = crate::testing::serve_process(name, args).map_err(|e| Error::from_wire(&e.to_wire()))?;
    Ok(if answer == [0xc0] { None } else { Some(answer) })
}

/// `yao.store_get`: the encoded value or None.
pub(crate) fn store_get(name: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: both slices are valid for their lengths during the call.
    return unpacked(unsafe { crate::sys::store_get(name.as_ptr(), name.len() as u32, key.as_ptr(), key.len() as u32) });
    #[cfg(not(target_arch = "wasm32"))]
    serve(&format!("stores.{name}.Get"), &encode_args(vec![Value::from(key)]))
}

/// `yao.store_set`: `value` is one encoded value.
pub(crate) fn store_set(name: &str, key: &str, value: &[u8], ttl_seconds: i64) -> Result<(), Error> {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: every slice is valid for its length during the call.
    return unpacked(unsafe {
        crate::sys::store_set(
            name.as_ptr(),
            name.len() as u32,
            key.as_ptr(),
            key.len() as u32,
            value.as_ptr(),
            value.len() as u32,
            ttl_seconds,
        )
    })
    .map(drop);
    #[cfg(not(target_arch = "wasm32"))]
    {
        let value = rmpv::decode::read_value(&mut &value[..]).map_err(|e| Error::internal(e.to_string()))?;
        serve(&format!("stores.{name}.Set"), &encode_args(vec![Value::from(key), value, Value::from(ttl_seconds.max(0))])).map(drop)
    }
}

/// `yao.store_del`.
pub(crate) fn store_del(name: &str, key: &str) -> Result<(), Error> {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: both slices are valid for their lengths during the call.
    return unpacked(unsafe { crate::sys::store_del(name.as_ptr(), name.len() as u32, key.as_ptr(), key.len() as u32) }).map(drop);
    #[cfg(not(target_arch = "wasm32"))]
    serve(&format!("stores.{name}.Del"), &encode_args(vec![Value::from(key)])).map(drop)
}

/// One value, MessagePack-encoded (for `store_set`).
pub(crate) fn encode_value(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

/// `yao.context`: the encoded context map.
pub(crate) fn context() -> Result<Option<Vec<u8>>, Error> {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: no arguments; the host writes the result through yao_alloc.
    return unpacked(unsafe { crate::sys::context() });
    #[cfg(not(target_arch = "wasm32"))]
    Ok(Some(crate::testing::context_bytes()))
}

/// `yao.sleep`.
pub(crate) fn sleep(ms: i64) -> Result<(), Error> {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: no pointers.
    return unpacked(unsafe { crate::sys::sleep(ms) }).map(drop);
    #[cfg(not(target_arch = "wasm32"))]
    serve("tasks.Sleep", &encode_args(vec![Value::from(ms)])).map(drop)
}
