//! The `yao` imports a guest can call (SPEC §3) and the linker that provides
//! them, with WASI preview 1 beside them.

use crate::bridge::{self, Guest};
use crate::call::CallState;
use crate::error::{Error, Result};
use crate::log::LogLevel;
use crate::script::Encoding;
use crate::value;
use wasmtime::{Caller, Engine, Linker};

/// The import module of the host API.
pub const MODULE: &str = "yao";
/// The WASI preview 1 import module.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// Builds the linker shared by every script of a runtime.
pub(crate) fn linker(engine: &Engine) -> Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    let define = |e: wasmtime::Error| Error::internal(format!("linker: {e}"));
    linker.func_wrap(MODULE, "process", process).map_err(define)?;
    linker.func_wrap(MODULE, "log", log).map_err(define)?;
    // The host API (docs/ABI.md §5–§8), in src/host_api.rs.
    linker.func_wrap(MODULE, "store", crate::host_api::store).map_err(define)?;
    linker.func_wrap(MODULE, "store_get", crate::host_api::store_get).map_err(define)?;
    linker.func_wrap(MODULE, "store_set", crate::host_api::store_set).map_err(define)?;
    linker.func_wrap(MODULE, "store_del", crate::host_api::store_del).map_err(define)?;
    linker.func_wrap(MODULE, "fs", crate::host_api::fs).map_err(define)?;
    linker.func_wrap(MODULE, "http", crate::host_api::http).map_err(define)?;
    linker.func_wrap(MODULE, "query", crate::host_api::query).map_err(define)?;
    // Only scripts that import WASI get a context (call::instantiate), so for
    // every instance that can reach these functions `wasi` is Some.
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut CallState| {
        state.wasi.as_mut().expect("WASI context exists for every script that imports WASI")
    })
    .map_err(define)?;
    Ok(linker)
}

/// The `yao` imports this runtime provides, for a clear load error naming
/// any other.
pub const PROVIDED: &[&str] = &["process", "log", "store", "store_get", "store_set", "store_del", "fs", "http", "query"];

pub(crate) fn guest_of(caller: &Caller<'_, CallState>, import: &str) -> wasmtime::Result<Guest> {
    caller.data().guest.clone().ok_or_else(|| {
        Error::internal(format!("yao.{import} called while the instance was being created (from a start function)")).into()
    })
}

/// `yao.process(name_ptr, name_len, args_ptr, args_len) -> packed`.
///
/// Wild pointers end the call (500). Everything else, including a bad name
/// or bad args, comes back to the guest as an error value it can handle.
fn process(mut caller: Caller<'_, CallState>, name_ptr: i32, name_len: i32, args_ptr: i32, args_len: i32) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "process")?;
    let name = bridge::read(&caller, &guest, name_ptr, name_len, "process name")?;
    let args = bridge::read(&caller, &guest, args_ptr, args_len, "process args")?;
    let (encoding, runtime) = (caller.data().encoding, caller.data().runtime.clone());
    let answer = match String::from_utf8(name) {
        Err(_) => Err(Error::bad_request("process name is not UTF-8")),
        Ok(name) => decode_args(&args, encoding).and_then(|args| runtime.dispatch(&name, &args)),
    };
    // reply checks the budget first: a handler that blocked past the
    // deadline (or a cancel meanwhile) ends the call now.
    crate::host_api::reply(&mut caller, &guest, answer.map(Some))
}

/// Guest args (in the guest's encoding) → a checked MessagePack array.
pub(crate) fn decode_args(args: &[u8], encoding: Encoding) -> Result<Vec<u8>> {
    match encoding {
        Encoding::MsgPack => {
            value::validate_args(args)?;
            Ok(if args.is_empty() { value::EMPTY_ARRAY.to_vec() } else { args.to_vec() })
        }
        Encoding::Json => {
            if args.is_empty() {
                return Ok(value::EMPTY_ARRAY.to_vec());
            }
            let packed = value::json_text_to_msgpack(args).map_err(|e| Error::bad_request(format!("args are not valid JSON: {e}")))?;
            value::validate_args(&packed)?;
            Ok(packed)
        }
    }
}

/// `yao.log(level, msg_ptr, msg_len)`.
fn log(caller: Caller<'_, CallState>, level: i32, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let guest = guest_of(&caller, "log")?;
    let message = bridge::read(&caller, &guest, ptr, len, "log message")?;
    let runtime = caller.data().runtime.clone();
    runtime.log(LogLevel::from_guest(level), &String::from_utf8_lossy(&message));
    Ok(())
}
