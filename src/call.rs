//! One call: a fresh instance from the script's `InstancePre`, args in,
//! packed result out, every failure mapped to its Yao code.

use crate::bridge::{self, Guest, Packed};
use crate::engine::POOL_INSTANCES;
use crate::error::{Error, Result, INTERNAL, TIMEOUT, TOO_LARGE};
use crate::nesting::Budget;
use crate::runtime::Inner;
use crate::script::{Encoding, Script};
use crate::value;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{Instance, ModuleExport, ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;

/// What a store carries for the length of one call.
pub struct CallState {
    pub runtime: Arc<Inner>,
    pub encoding: Encoding,
    /// Set right after instantiation, before `_initialize`.
    pub guest: Option<Guest>,
    pub budget: Budget,
    pub limiter: MemoryLimiter,
    /// Present exactly when the script imports WASI preview 1.
    pub wasi: Option<WasiP1Ctx>,
}

/// Turns growth past `max_memory_mb` into a trap carrying 413, instead of
/// `memory.grow` quietly answering -1 (which guests then turn into a
/// confusing trap of their own).
pub struct MemoryLimiter {
    pub max_bytes: u64,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.max_bytes {
            return Err(Error::too_large(format!(
                "memory limit: the guest tried to grow its memory from {} to {} MiB, max_memory_mb is {}",
                current >> 20,
                desired.div_ceil(1 << 20),
                self.max_bytes >> 20
            ))
            .into());
        }
        Ok(true)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        match maximum {
            Some(max) if desired > max => Err(Error::too_large(format!(
                "table limit: the guest tried to grow a table from {current} to {desired} elements, the limit is {max}"
            ))
            .into()),
            _ => Ok(true),
        }
    }
}

/// The error value of SPEC §3, as guests send and receive it.
#[derive(Serialize, Deserialize)]
struct ErrorValue {
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

/// Makes a store with its limits and deadline, instantiates the script and
/// runs `_initialize`. Used by calls and by load-time probes.
pub(crate) fn instantiate(
    runtime: &Arc<Inner>,
    script: &Script,
    budget: &Budget,
) -> Result<(Store<CallState>, Instance, Guest)> {
    let state = CallState {
        runtime: runtime.clone(),
        encoding: script.encoding,
        guest: None,
        budget: budget.clone(),
        limiter: MemoryLimiter { max_bytes: runtime.config.max_memory_bytes() },
        wasi: if script.uses_wasi { Some(crate::wasi::context(runtime)?) } else { None },
    };
    let mut store = Store::new(&runtime.engine, state);
    store.limiter(|state| &mut state.limiter);
    store.set_epoch_deadline(1);
    let for_epochs = budget.clone();
    store.epoch_deadline_callback(move |_| match for_epochs.check() {
        Ok(()) => Ok(UpdateDeadline::Continue(1)),
        Err(stop) => Err(stop.into()),
    });
    let timeout_ms = runtime.config.timeout_ms;
    let instance = instantiate_when_a_slot_is_free(script, &mut store, budget).map_err(|e| classify(e, timeout_ms).context("instantiate"))?;
    let memory = instance
        .get_module_export(&mut store, &script.memory)
        .and_then(|e| e.into_memory())
        .ok_or_else(|| Error::internal("memory export vanished"))?;
    let alloc = instance
        .get_module_export(&mut store, &script.alloc)
        .and_then(|e| e.into_func())
        .ok_or_else(|| Error::internal("yao_alloc export vanished"))?
        .typed::<i32, i32>(&store)
        .map_err(|e| Error::internal(format!("yao_alloc: {e}")))?;
    let guest = Guest { memory, alloc };
    store.data_mut().guest = Some(guest.clone());
    if let Some(init) = &script.initialize {
        let init = instance
            .get_module_export(&mut store, init)
            .and_then(|e| e.into_func())
            .ok_or_else(|| Error::internal("_initialize export vanished"))?
            .typed::<(), ()>(&store)
            .map_err(|e| Error::internal(format!("_initialize: {e}")))?;
        init.call(&mut store, ()).map_err(|e| classify(e, timeout_ms).context("_initialize"))?;
    }
    Ok((store, instance, guest))
}

/// Runs `function` of `script` with MessagePack `args` in a fresh instance and
/// returns the MessagePack result.
pub(crate) fn run(runtime: &Arc<Inner>, script: &Script, function: &ModuleExport, args: &[u8], budget: &Budget) -> Result<Vec<u8>> {
    let timeout_ms = runtime.config.timeout_ms;
    let (mut store, instance, guest) = instantiate(runtime, script, budget)?;
    let func = instance
        .get_module_export(&mut store, function)
        .and_then(|e| e.into_func())
        .ok_or_else(|| Error::internal("script function export vanished"))?
        .typed::<(i32, i32), i64>(&store)
        .map_err(|e| Error::internal(format!("script function: {e}")))?;
    let payload: Cow<[u8]> = match script.encoding {
        Encoding::MsgPack => Cow::Borrowed(args),
        Encoding::Json => Cow::Owned(
            value::msgpack_to_json_text(args).map_err(|e| Error::bad_request(format!("args: {e}")))?.into_bytes(),
        ),
    };
    let ptr = bridge::write(&mut store, &guest, &payload).map_err(|e| classify(e, timeout_ms))?;
    let raw = func.call(&mut store, (ptr as i32, payload.len() as i32)).map_err(|e| classify(e, timeout_ms))?;
    decode_packed(guest.memory.data(&store), raw, script.encoding)
}

/// A script function's packed result, read from the guest's `memory`:
/// nil, the checked result, or the error value the guest raised.
pub(crate) fn decode_packed(memory: &[u8], raw: i64, encoding: Encoding) -> Result<Vec<u8>> {
    let packed = Packed::unpack(raw);
    if packed.is_nil() {
        return Ok(vec![0xc0]);
    }
    let bytes = &memory[bridge::slice(memory, packed.ptr, packed.len, "result")?];
    if packed.is_error {
        return Err(decode_error_value(bytes, encoding));
    }
    decode_result(bytes, encoding)
}

/// The guest's result bytes → MessagePack, checked: a guest that returns
/// malformed bytes gets a 500, never passes them on.
fn decode_result(bytes: &[u8], encoding: Encoding) -> Result<Vec<u8>> {
    match encoding {
        Encoding::MsgPack => match value::validate(bytes) {
            Ok(_) => Ok(bytes.to_vec()),
            Err(why) => Err(Error::internal(format!("guest returned invalid MessagePack: {why}"))),
        },
        Encoding::Json => value::json_text_to_msgpack(bytes)
            .map_err(|why| Error::internal(format!("guest returned invalid JSON: {why}"))),
    }
}

/// Reads an error value `{code, message}` a guest raised. Its code is kept
/// (a code outside 100–599 becomes 500); an unreadable one is a 500.
pub(crate) fn decode_error_value(bytes: &[u8], encoding: Encoding) -> Error {
    let parsed: std::result::Result<ErrorValue, String> = match encoding {
        Encoding::MsgPack => rmp_serde::from_slice(bytes).map_err(|e| e.to_string()),
        Encoding::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
    };
    match parsed {
        Ok(ErrorValue { code: Some(code), message }) => {
            let code = i32::try_from(code).unwrap_or(INTERNAL);
            Error::new(code, message.unwrap_or_default())
        }
        Ok(ErrorValue { code: None, message }) => {
            Error::internal(format!("guest raised an error without a code: {}", message.unwrap_or_default()))
        }
        Err(why) => Error::internal(format!("guest raised an unreadable error value: {why}")),
    }
}

/// Encodes an error as the `{code, message}` value a guest receives.
pub(crate) fn encode_error_value(error: &Error, encoding: Encoding) -> Vec<u8> {
    let value = ErrorValue { code: Some(i64::from(error.code())), message: Some(error.message().to_owned()) };
    match encoding {
        // Both encoders only fail on writer errors, which a Vec never has.
        Encoding::MsgPack => rmp_serde::to_vec_named(&value).unwrap_or_default(),
        Encoding::Json => serde_json::to_vec(&value).unwrap_or_default(),
    }
}

/// Instantiates in a pool slot; with every slot in use (more calls in flight
/// than `POOL_INSTANCES`, nested ones included), waits for one to free, with
/// a backoff of 20 µs doubling to 1 ms, until the call's deadline or the
/// host's cancel: then 408 saying why. A burst of callers (goroutines of a
/// Go host) then queues for a few microseconds instead of failing.
fn instantiate_when_a_slot_is_free(script: &Script, store: &mut Store<CallState>, budget: &Budget) -> wasmtime::Result<Instance> {
    let mut backoff = Duration::from_micros(20);
    loop {
        match script.pre.instantiate(&mut *store) {
            Err(e) if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() => {
                if let Err(stop) = budget.check() {
                    let why = format!("{} while every instance slot ({POOL_INSTANCES}) was in use", stop.message());
                    return Err(Error::new(stop.code(), why).into());
                }
                let left = budget.deadline.saturating_duration_since(Instant::now());
                std::thread::sleep(backoff.min(left));
                backoff = (backoff * 2).min(Duration::from_millis(1));
            }
            other => return other,
        }
    }
}

/// Maps whatever stopped a call to its Yao code: our own errors keep theirs
/// (413 from the limiter, 408 from the deadline, codes raised by host
/// functions), an epoch interrupt is 408, every other trap is 500.
pub(crate) fn classify(error: wasmtime::Error, timeout_ms: u64) -> Error {
    if let Some(own) = error.downcast_ref::<Error>() {
        return own.clone();
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Error::timeout(timeout_ms),
        Some(Trap::StackOverflow) => Error::internal("guest trapped: call stack exhausted (stack overflow)"),
        Some(trap) => Error::internal(format!("guest trapped: {trap}")),
        None => {
            let text = format!("{error:#}");
            if text.contains("resource limit exceeded") || text.contains("exceeds the limit") {
                Error::new(TOO_LARGE, text)
            } else if text.contains("epoch deadline") {
                Error::new(TIMEOUT, text)
            } else {
                Error::internal(text)
            }
        }
    }
}
