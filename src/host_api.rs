//! The host API imports of `yao` beside `process` and `log` (docs/ABI.md
//! §5–§8): store, store_get, store_set, store_del, fs, http, query.
//!
//! They follow `yao.process`: every pointer is read through the bridge (a
//! wild one ends the call with 500); every other failure comes back to the
//! guest as an error value in its own encoding; results are written through
//! `yao_alloc` and packed. The work itself lives in store.rs, fs.rs, http.rs
//! (which reads uploads through fs.rs's roots).

use crate::api_args;
use crate::bridge::{self, Guest, Packed};
use crate::call::{self, CallState};
use crate::error::{Error, Result};
use crate::host::{decode_args, guest_of};
use crate::script::Encoding;
use crate::value;
use std::time::{Duration, Instant};
use wasmtime::Caller;

/// The process a `yao.query` call becomes (gou owns QueryDSL).
pub const QUERY_PROCESS: &str = "query.Run";

/// Reads a raw UTF-8 string argument (a name, method, key or root).
fn text(caller: &Caller<'_, CallState>, guest: &Guest, ptr: i32, len: i32, what: &str) -> wasmtime::Result<Result<String>> {
    let bytes = bridge::read(caller, guest, ptr, len, what)?;
    Ok(String::from_utf8(bytes).map_err(|_| Error::bad_request(format!("{what} is not UTF-8"))))
}

/// Writes `answer` (MessagePack, or None for nil) back in the guest's
/// encoding and packs it; an error becomes an error value. A host operation
/// that ran past the deadline ends the call here (408).
pub(crate) fn reply(caller: &mut Caller<'_, CallState>, guest: &Guest, answer: Result<Option<Vec<u8>>>) -> wasmtime::Result<i64> {
    let (encoding, budget) = {
        let state = caller.data();
        (state.encoding, state.budget.clone())
    };
    budget.check()?;
    let (bytes, is_error) = match answer {
        Ok(None) => return Ok(0),
        Ok(Some(result)) => match encoding {
            Encoding::MsgPack => (result, false),
            Encoding::Json => match value::msgpack_to_json_text(&result) {
                Ok(text) => (text.into_bytes(), false),
                Err(why) => (call::encode_error_value(&Error::internal(format!("result: {why}")), encoding), true),
            },
        },
        Err(error) => (call::encode_error_value(&error, encoding), true),
    };
    let ptr = bridge::write(caller, guest, &bytes)?;
    Ok(Packed { ptr, len: bytes.len() as u32, is_error }.pack())
}

/// Reads the args array (guest encoding) → checked MessagePack.
fn args(caller: &Caller<'_, CallState>, guest: &Guest, ptr: i32, len: i32, what: &str) -> wasmtime::Result<Result<Vec<u8>>> {
    let bytes = bridge::read(caller, guest, ptr, len, what)?;
    Ok(decode_args(&bytes, caller.data().encoding))
}

/// One encoded value (guest encoding) → checked MessagePack; empty is nil.
fn one_value(bytes: &[u8], encoding: Encoding) -> Result<Vec<u8>> {
    if bytes.is_empty() {
        return Ok(vec![0xc0]);
    }
    match encoding {
        Encoding::MsgPack => match value::validate(bytes) {
            Ok(_) => Ok(bytes.to_vec()),
            Err(why) => Err(Error::bad_request(format!("store value is not valid MessagePack: {why}"))),
        },
        Encoding::Json => value::json_text_to_msgpack(bytes).map_err(|e| Error::bad_request(format!("store value is not valid JSON: {e}"))),
    }
}

/// `yao.store(name_ptr, name_len, method_ptr, method_len, args_ptr, args_len) -> packed`.
pub(crate) fn store(
    mut caller: Caller<'_, CallState>,
    name_ptr: i32,
    name_len: i32,
    method_ptr: i32,
    method_len: i32,
    args_ptr: i32,
    args_len: i32,
) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "store")?;
    let name = text(&caller, &guest, name_ptr, name_len, "store name")?;
    let method = text(&caller, &guest, method_ptr, method_len, "store method")?;
    let args = args(&caller, &guest, args_ptr, args_len, "store args")?;
    let runtime = caller.data().runtime.clone();
    let answer = (|| runtime.stores.call(&runtime, &name?, &method?, &args?).map(Some))();
    reply(&mut caller, &guest, answer)
}

/// `yao.store_get(name_ptr, name_len, key_ptr, key_len) -> packed`.
pub(crate) fn store_get(mut caller: Caller<'_, CallState>, name_ptr: i32, name_len: i32, key_ptr: i32, key_len: i32) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "store_get")?;
    let name = text(&caller, &guest, name_ptr, name_len, "store name")?;
    let key = text(&caller, &guest, key_ptr, key_len, "store key")?;
    let runtime = caller.data().runtime.clone();
    let answer = (|| runtime.stores.get(&runtime, &name?, &key?))();
    reply(&mut caller, &guest, answer)
}

/// `yao.store_set(name_ptr, name_len, key_ptr, key_len, value_ptr, value_len, ttl_seconds i64) -> packed`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn store_set(
    mut caller: Caller<'_, CallState>,
    name_ptr: i32,
    name_len: i32,
    key_ptr: i32,
    key_len: i32,
    value_ptr: i32,
    value_len: i32,
    ttl_seconds: i64,
) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "store_set")?;
    let name = text(&caller, &guest, name_ptr, name_len, "store name")?;
    let key = text(&caller, &guest, key_ptr, key_len, "store key")?;
    let bytes = bridge::read(&caller, &guest, value_ptr, value_len, "store value")?;
    let (runtime, encoding) = (caller.data().runtime.clone(), caller.data().encoding);
    let answer = (|| {
        let (name, key, ttl) = (name?, key?, api_args::ttl_of_seconds(ttl_seconds)?);
        runtime.stores.set(&runtime, &name, &key, one_value(&bytes, encoding)?, ttl).map(|()| None)
    })();
    reply(&mut caller, &guest, answer)
}

/// `yao.store_del(name_ptr, name_len, key_ptr, key_len) -> packed`.
pub(crate) fn store_del(mut caller: Caller<'_, CallState>, name_ptr: i32, name_len: i32, key_ptr: i32, key_len: i32) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "store_del")?;
    let name = text(&caller, &guest, name_ptr, name_len, "store name")?;
    let key = text(&caller, &guest, key_ptr, key_len, "store key")?;
    let runtime = caller.data().runtime.clone();
    let answer = (|| runtime.stores.del(&runtime, &name?, &key?).map(|()| None))();
    reply(&mut caller, &guest, answer)
}

/// `yao.fs(root_ptr, root_len, method_ptr, method_len, args_ptr, args_len) -> packed`.
pub(crate) fn fs(
    mut caller: Caller<'_, CallState>,
    root_ptr: i32,
    root_len: i32,
    method_ptr: i32,
    method_len: i32,
    args_ptr: i32,
    args_len: i32,
) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "fs")?;
    let root = text(&caller, &guest, root_ptr, root_len, "fs root")?;
    let method = text(&caller, &guest, method_ptr, method_len, "fs method")?;
    let args = args(&caller, &guest, args_ptr, args_len, "fs args")?;
    let runtime = caller.data().runtime.clone();
    // A read may not answer more than the guest could ever hold.
    let max_read = runtime.config.max_memory_bytes();
    let answer = (|| runtime.roots.call(&root?, &method?, &args?, max_read).map(Some))();
    reply(&mut caller, &guest, answer)
}

/// `yao.http(method_ptr, method_len, args_ptr, args_len) -> packed`.
pub(crate) fn http(mut caller: Caller<'_, CallState>, method_ptr: i32, method_len: i32, args_ptr: i32, args_len: i32) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "http")?;
    let method = text(&caller, &guest, method_ptr, method_len, "http method")?;
    let args = args(&caller, &guest, args_ptr, args_len, "http args")?;
    let (runtime, deadline) = (caller.data().runtime.clone(), caller.data().budget.deadline);
    let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
    let answer = (|| runtime.http.call(&method?, &args?, left, &runtime.roots).map(Some))();
    reply(&mut caller, &guest, answer)
}

/// `yao.query(args_ptr, args_len) -> packed`: the host's `query.Run`, with
/// the args checked (`[dsl, bindings?, engine?, method?]`) and passed on
/// unchanged.
pub(crate) fn query(mut caller: Caller<'_, CallState>, args_ptr: i32, args_len: i32) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "query")?;
    let args = args(&caller, &guest, args_ptr, args_len, "query args")?;
    let runtime = caller.data().runtime.clone();
    let answer = (|| {
        let args = args?;
        api_args::check_query(&args)?;
        runtime.dispatch(QUERY_PROCESS, &args).map(Some)
    })();
    reply(&mut caller, &guest, answer)
}
