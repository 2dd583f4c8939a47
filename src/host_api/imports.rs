//! The `yao` imports a guest can call (SPEC §3, docs/ABI.md §5–§8) and the
//! linker that provides them, with WASI preview 1 beside them.
//!
//! Every import follows one rule: every pointer is read through
//! `abi::memory` (a wild one ends the call with 500); every other failure
//! comes back to the guest as an error value in its own encoding; results
//! are written through `yao_alloc` and packed. The work itself lives beside
//! this file: store.rs, fs.rs, http.rs (which reads uploads through fs.rs's
//! roots).

use super::args as api_args;
use crate::abi::memory::{self, Guest};
use crate::abi::wire::{self, Packed};
use crate::error::{Error, Result};
use crate::log::{LogLevel, LogSink};
use crate::runtime::call::CallState;
use crate::runtime::tasks;
use crate::runtime::CallContext;
use std::time::{Duration, Instant};
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
    // The host API (docs/ABI.md §5–§8), beside this file.
    linker.func_wrap(MODULE, "store", store).map_err(define)?;
    linker.func_wrap(MODULE, "store_get", store_get).map_err(define)?;
    linker.func_wrap(MODULE, "store_set", store_set).map_err(define)?;
    linker.func_wrap(MODULE, "store_del", store_del).map_err(define)?;
    linker.func_wrap(MODULE, "fs", fs).map_err(define)?;
    linker.func_wrap(MODULE, "http", http).map_err(define)?;
    linker.func_wrap(MODULE, "query", query).map_err(define)?;
    linker.func_wrap(MODULE, "context", context).map_err(define)?;
    // Concurrency (docs/ABI.md §10).
    linker.func_wrap(MODULE, "tasks", tasks).map_err(define)?;
    linker.func_wrap(MODULE, "sleep", sleep).map_err(define)?;
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
pub const PROVIDED: &[&str] =
    &["process", "log", "store", "store_get", "store_set", "store_del", "fs", "http", "query", "context", "tasks", "sleep"];

pub(crate) fn guest_of(caller: &Caller<'_, CallState>, import: &str) -> wasmtime::Result<Guest> {
    caller
        .data()
        .guest
        .clone()
        .ok_or_else(|| Error::internal(format!("yao.{import} called while the instance was being created (from a start function)")).into())
}

/// `yao.process(name_ptr, name_len, args_ptr, args_len) -> packed`.
///
/// Wild pointers end the call (500). Everything else, including a bad name
/// or bad args, comes back to the guest as an error value it can handle.
fn process(mut caller: Caller<'_, CallState>, name_ptr: i32, name_len: i32, args_ptr: i32, args_len: i32) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "process")?;
    let name = memory::read(&caller, &guest, name_ptr, name_len, "process name")?;
    let args = memory::read(&caller, &guest, args_ptr, args_len, "process args")?;
    let (encoding, runtime) = (caller.data().encoding, caller.data().runtime.clone());
    let answer = match String::from_utf8(name) {
        Err(_) => Err(Error::bad_request("process name is not UTF-8")),
        Ok(name) => wire::decode_args(&args, encoding).and_then(|args| runtime.dispatch(&name, &args)),
    };
    // reply checks the budget first: a handler that blocked past the
    // deadline (or a cancel meanwhile) ends the call now.
    reply(&mut caller, &guest, answer.map(Some))
}

/// `yao.log(level, msg_ptr, msg_len)`.
fn log(caller: Caller<'_, CallState>, level: i32, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let guest = guest_of(&caller, "log")?;
    let message = memory::read(&caller, &guest, ptr, len, "log message")?;
    let runtime = caller.data().runtime.clone();
    runtime.log(LogLevel::from_guest(level), &String::from_utf8_lossy(&message));
    Ok(())
}

/// The process a `yao.query` call becomes (gou owns QueryDSL).
pub const QUERY_PROCESS: &str = "query.Run";

/// Reads a raw UTF-8 string argument (a name, method, key or root).
fn text(caller: &Caller<'_, CallState>, guest: &Guest, ptr: i32, len: i32, what: &str) -> wasmtime::Result<Result<String>> {
    let bytes = memory::read(caller, guest, ptr, len, what)?;
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
    let Some(answer) = answer.transpose() else { return Ok(0) };
    let (bytes, is_error) = wire::encode_answer(answer, encoding);
    let ptr = memory::write(caller, guest, &bytes)?;
    Ok(Packed { ptr, len: bytes.len() as u32, is_error }.pack())
}

/// Reads the args array (guest encoding) → checked MessagePack.
fn args(caller: &Caller<'_, CallState>, guest: &Guest, ptr: i32, len: i32, what: &str) -> wasmtime::Result<Result<Vec<u8>>> {
    let bytes = memory::read(caller, guest, ptr, len, what)?;
    Ok(wire::decode_args(&bytes, caller.data().encoding))
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
    let answer = (|| runtime.host_api.stores.call(&runtime, &name?, &method?, &args?).map(Some))();
    reply(&mut caller, &guest, answer)
}

/// `yao.store_get(name_ptr, name_len, key_ptr, key_len) -> packed`.
pub(crate) fn store_get(
    mut caller: Caller<'_, CallState>,
    name_ptr: i32,
    name_len: i32,
    key_ptr: i32,
    key_len: i32,
) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "store_get")?;
    let name = text(&caller, &guest, name_ptr, name_len, "store name")?;
    let key = text(&caller, &guest, key_ptr, key_len, "store key")?;
    let runtime = caller.data().runtime.clone();
    let answer = (|| runtime.host_api.stores.get(&runtime, &name?, &key?))();
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
    let bytes = memory::read(&caller, &guest, value_ptr, value_len, "store value")?;
    let (runtime, encoding) = (caller.data().runtime.clone(), caller.data().encoding);
    let answer = (|| {
        let (name, key, ttl) = (name?, key?, api_args::ttl_of_seconds(ttl_seconds)?);
        runtime.host_api.stores.set(&runtime, &name, &key, wire::decode_value(&bytes, encoding, "store value")?, ttl).map(|()| None)
    })();
    reply(&mut caller, &guest, answer)
}

/// `yao.store_del(name_ptr, name_len, key_ptr, key_len) -> packed`.
pub(crate) fn store_del(
    mut caller: Caller<'_, CallState>,
    name_ptr: i32,
    name_len: i32,
    key_ptr: i32,
    key_len: i32,
) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "store_del")?;
    let name = text(&caller, &guest, name_ptr, name_len, "store name")?;
    let key = text(&caller, &guest, key_ptr, key_len, "store key")?;
    let runtime = caller.data().runtime.clone();
    let answer = (|| runtime.host_api.stores.del(&runtime, &name?, &key?).map(|()| None))();
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
    let answer = (|| runtime.host_api.roots.call(&root?, &method?, &args?, max_read).map(Some))();
    reply(&mut caller, &guest, answer)
}

/// `yao.http(method_ptr, method_len, args_ptr, args_len) -> packed`.
pub(crate) fn http(
    mut caller: Caller<'_, CallState>,
    method_ptr: i32,
    method_len: i32,
    args_ptr: i32,
    args_len: i32,
) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "http")?;
    let method = text(&caller, &guest, method_ptr, method_len, "http method")?;
    let args = args(&caller, &guest, args_ptr, args_len, "http args")?;
    let (runtime, deadline) = (caller.data().runtime.clone(), caller.data().budget.deadline);
    let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
    let answer = (|| match method? {
        m if m == "WebSocket" => runtime.host_api.websocket.push(&args?, left).map(Some),
        m => runtime.host_api.http.call(&m, &args?, left, &runtime.host_api.roots).map(Some),
    })();
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

/// `yao.context() -> packed`: who the running call runs for (SPEC §3a), the
/// map `{sid, global, authorized}` in the guest's encoding: `sid` a string
/// ("" when none), `global` a map ({} when none), `authorized` a map or nil.
/// Nothing is read until a guest asks, so calls that never do pay nothing.
pub(crate) fn context(mut caller: Caller<'_, CallState>) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "context")?;
    let context = caller.data().runtime.current_context();
    let bytes = context.map_or_else(|| CallContext::default().to_msgpack(), |c| c.to_msgpack());
    reply(&mut caller, &guest, Ok(Some(bytes)))
}

/// `yao.sleep(ms i64) -> packed`: nil after `ms` milliseconds (0 or less:
/// at once); a sleep that would outlast the call's deadline ends the call
/// with 408 at the deadline, as a host cancel does at once.
pub(crate) fn sleep(caller: Caller<'_, CallState>, ms: i64) -> wasmtime::Result<i64> {
    let budget = caller.data().budget.clone();
    tasks::sleep(&budget, ms)?;
    Ok(0)
}

/// `yao.tasks(method_ptr, method_len, args_ptr, args_len) -> packed`:
/// `All`/`Any`/`Race` `[tasks]`, `Job` `[process, args]` → id,
/// `Running` `[id, wait_ms?]` → bool, `Data` `[id]`, `Cancel` `[id]`,
/// `After` `[ms, process, args]` (docs/ABI.md §10).
pub(crate) fn tasks(
    mut caller: Caller<'_, CallState>,
    method_ptr: i32,
    method_len: i32,
    args_ptr: i32,
    args_len: i32,
) -> wasmtime::Result<i64> {
    let guest = guest_of(&caller, "tasks")?;
    let method = text(&caller, &guest, method_ptr, method_len, "tasks method")?;
    let args = args(&caller, &guest, args_ptr, args_len, "tasks args")?;
    let (runtime, budget) = (caller.data().runtime.clone(), caller.data().budget.clone());
    let answer = (|| tasks_call(&runtime, &budget, &method?, &args?))();
    reply(&mut caller, &guest, answer)
}

fn tasks_call(
    runtime: &std::sync::Arc<crate::runtime::Inner>,
    budget: &crate::runtime::nesting::Budget,
    method: &str,
    args: &[u8],
) -> Result<Option<Vec<u8>>> {
    use rmpv::Value;
    let what = format!("tasks {method}");
    let parsed = || api_args::Args::decode(what.clone(), args);
    let id = |a: &api_args::Args| a.get(0).as_u64().ok_or_else(|| a.bad(0, "the job id (an integer)"));
    let process_args = |a: &api_args::Args, i: usize| -> Result<Vec<u8>> {
        match a.get(i) {
            Value::Nil => Ok(crate::abi::value::EMPTY_ARRAY.to_vec()),
            list @ Value::Array(_) => Ok(api_args::encode(list)),
            _ => Err(a.bad(i, "the process args (an array) or nil")),
        }
    };
    match method {
        "All" | "Any" | "Race" => {
            let mode = match method {
                "All" => tasks::Mode::All,
                "Any" => tasks::Mode::Any,
                _ => tasks::Mode::Race,
            };
            tasks::parallel(runtime, mode, tasks::parse_tasks(args)?, budget).map(Some)
        }
        "Job" => {
            let a = parsed()?;
            a.at_most(2)?;
            let process = a.string(0, "process name")?.to_owned();
            let id = tasks::start_job(runtime, process, process_args(&a, 1)?)?;
            Ok(Some(api_args::encode(&Value::from(id))))
        }
        "Running" => {
            let a = parsed()?;
            a.at_most(2)?;
            let wait = a.opt_u64(1, "wait_ms")?.unwrap_or(0).min(1000);
            let running = tasks::job_running(runtime, id(&a)?, Duration::from_millis(wait), budget)?;
            Ok(Some(api_args::encode(&Value::from(running))))
        }
        "Data" => {
            let a = parsed()?;
            a.at_most(1)?;
            Ok(tasks::job_data(runtime, id(&a)?))
        }
        "Cancel" => {
            let a = parsed()?;
            a.at_most(1)?;
            tasks::job_cancel(runtime, id(&a)?);
            Ok(None)
        }
        "After" => {
            let a = parsed()?;
            a.at_most(3)?;
            let ms =
                a.get(0).as_i64().or_else(|| a.get(0).as_f64().map(|f| f as i64)).ok_or_else(|| a.bad(0, "the delay in ms (a number)"))?;
            let process = a.string(1, "process name")?.to_owned();
            tasks::after(runtime, ms, process, process_args(&a, 2)?)?;
            Ok(None)
        }
        other => Err(Error::bad_request(format!("tasks: no method {other} (All, Any, Race, Job, Running, Data, Cancel, After)"))),
    }
}
