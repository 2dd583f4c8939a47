//! One call: a fresh instance from the script's `InstancePre`, args in,
//! packed result out, every failure mapped to its Yao code.

use super::nesting::Budget;
use super::script::{Program, ProgramShard, Script};
use super::Inner;
use crate::abi::memory::{self, Guest};
use crate::abi::wire::{self, Encoding};
use crate::error::{Error, Result, TIMEOUT, TOO_LARGE};
use crate::log::LogSink;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{Instance, ModuleExport, ResourceLimiter, Store, Trap, TypedFunc, UpdateDeadline, WasmParams, WasmResults};
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
    /// Epoch ticks (1 ms) the guest's code ran across: a call that saw two
    /// ran over 1 ms.
    pub ticks: u32,
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

/// A fresh instance of a program, ready for a call, and the program's part
/// in the engine shard the instance lives in (the exports to call it by).
pub(crate) struct Fresh<'a> {
    pub store: Store<CallState>,
    pub instance: Instance,
    pub guest: Guest,
    pub parts: &'a ProgramShard,
}

/// Makes a store with its limits and deadline, instantiates the script in the
/// shard of the CPU it runs on and runs `_initialize`. Used by calls and by
/// load-time probes.
pub(crate) fn instantiate<'a>(runtime: &Arc<Inner>, program: &'a Program, budget: &Budget) -> Result<Fresh<'a>> {
    let wasi = match program.uses_wasi {
        true => Some(super::wasi::context(&runtime.config.wasi, &(runtime.clone() as Arc<dyn LogSink>))?),
        false => None,
    };
    let state = CallState {
        runtime: runtime.clone(),
        encoding: program.encoding,
        guest: None,
        budget: budget.clone(),
        limiter: MemoryLimiter { max_bytes: runtime.config.max_memory_bytes() },
        wasi,
        ticks: 0,
    };
    let timeout_ms = runtime.config.timeout_ms;
    let (mut store, instance, parts) = instantiate_when_a_slot_is_free(runtime, program, state, budget)?;
    let memory = instance
        .get_module_export(&mut store, &parts.memory)
        .and_then(|e| e.into_memory())
        .ok_or_else(|| Error::internal("memory export vanished"))?;
    // SAFETY: `alloc` is checked to be (i32) -> i32 at load.
    let alloc = unsafe { typed_export::<i32, i32>(&mut store, &instance, &parts.alloc, "yao_alloc")? };
    let guest = Guest { memory, alloc };
    store.data_mut().guest = Some(guest.clone());
    if let Some(init) = &parts.initialize {
        // SAFETY: `initialize` is checked to be () -> () at load.
        let init = unsafe { typed_export::<(), ()>(&mut store, &instance, init, "_initialize")? };
        init.call(&mut store, ()).map_err(|e| classify(e, timeout_ms).context("_initialize"))?;
    }
    Ok(Fresh { store, instance, guest, parts })
}

/// A store of `engine` for one call: the memory limiter and the epoch
/// deadline that checks the call's budget.
fn new_store(engine: &wasmtime::Engine, state: CallState, budget: &Budget) -> Store<CallState> {
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    store.set_epoch_deadline(1);
    let for_epochs = budget.clone();
    store.epoch_deadline_callback(move |mut store| {
        store.data_mut().ticks += 1;
        match for_epochs.check() {
            Ok(()) => Ok(UpdateDeadline::Continue(1)),
            Err(stop) => Err(stop.into()),
        }
    });
    store
}

/// An export the program was checked to have at load, typed: a 500 if it
/// is not there after all (which only a bug of ours could cause).
///
/// Without wasmtime's per-call type check: `Func::typed` looks the type up
/// in the engine-wide type registry (a read lock and a reference count on
/// cache lines every calling thread shares), three times a call; skipping
/// it made an echo call ~6 % cheaper (BENCHMARKS.md, "Core runtime").
///
/// # Safety
/// `export` must be a function export of the module `instance` was made
/// from, and that module's load must have checked its type to be exactly
/// `P -> R` (script.rs `Program::new`, js/mod.rs `make_engine`).
pub(crate) unsafe fn typed_export<P: WasmParams, R: WasmResults>(
    store: &mut Store<CallState>,
    instance: &Instance,
    export: &ModuleExport,
    what: &str,
) -> Result<TypedFunc<P, R>> {
    let func = instance
        .get_module_export(&mut *store, export)
        .and_then(|e| e.into_func())
        .ok_or_else(|| Error::internal(format!("{what} export vanished")))?;
    // SAFETY: the caller's contract: the type was checked at load.
    Ok(unsafe { TypedFunc::new_unchecked(&*store, func) })
}

/// Copies `bytes` into the guest (through its `yao_alloc`), mapping a trap
/// to its code.
pub(crate) fn write(store: &mut Store<CallState>, guest: &Guest, bytes: &[u8], timeout_ms: u64) -> Result<i32> {
    memory::write(store, guest, bytes).map(|ptr| ptr as i32).map_err(|e| classify(e, timeout_ms))
}

/// Runs `function` (its index in the program's functions) of `script` with MessagePack
/// `args` in a fresh instance and returns the MessagePack result.
pub(crate) fn run(runtime: &Arc<Inner>, script: &Script, function: usize, args: &[u8], budget: &Budget) -> Result<Vec<u8>> {
    let timeout_ms = runtime.config.timeout_ms;
    let program = &script.program;
    let Fresh { mut store, instance, guest, parts } = instantiate(runtime, program, budget)?;
    // SAFETY: a script's functions are the exports checked to be
    // (i32, i32) -> i64 at load (`Script::functions`).
    let func = unsafe { typed_export::<(i32, i32), i64>(&mut store, &instance, &parts.functions[function], "script function")? };
    let payload = wire::encode_args(args, program.encoding)?;
    let ptr = write(&mut store, &guest, &payload, timeout_ms)?;
    let raw = func.call(&mut store, (ptr, payload.len() as i32));
    let result =
        raw.map_err(|e| classify(e, timeout_ms)).and_then(|raw| wire::decode_packed(guest.memory.data(&store), raw, program.encoding));
    tidy_slot(runtime, &mut store, &guest);
    result
}

/// After the guest ran, trapped or not, and its result was read: see
/// resident.rs. Only PAGEMAP_SCAN keeps written pages resident; the
/// fallback reset gives them back itself.
pub(crate) fn tidy_slot(runtime: &Inner, store: &mut Store<CallState>, guest: &Guest) {
    if runtime.shards[0].pagemap {
        // Two ticks: over 1 ms for sure (one may come right after the start).
        let ran_long = store.data().ticks >= 2;
        super::resident::tidy(guest.memory.data_mut(store), ran_long);
    }
}

/// Instantiates in a pool slot, in the shard of this CPU or, when its slots
/// are all in use, in another's. With every slot of every shard in use
/// (more calls in flight than `POOL_INSTANCES`, nested ones included), waits
/// for one to free, with a backoff of 20 µs doubling to 1 ms, until the
/// call's deadline or the host's cancel: then 408 saying why. A burst of
/// callers (goroutines of a Go host) then queues for a few microseconds
/// instead of failing.
fn instantiate_when_a_slot_is_free<'a>(
    runtime: &Inner,
    program: &'a Program,
    mut state: CallState,
    budget: &Budget,
) -> Result<(Store<CallState>, Instance, &'a ProgramShard)> {
    let count = runtime.shards.len();
    let timeout_ms = runtime.config.timeout_ms;
    let mut backoff = Duration::from_micros(20);
    loop {
        let here = super::engine::shard_here(count);
        for shard in (here..count).chain(0..here) {
            let Some(parts) = program.shard(runtime, shard) else { continue };
            let mut store = new_store(&runtime.shards[shard].engine, state, budget);
            match parts.pre.instantiate(&mut store) {
                Ok(instance) => return Ok((store, instance, parts)),
                Err(e) if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() => state = store.into_data(),
                Err(e) => return Err(classify(e, timeout_ms).context("instantiate")),
            }
        }
        if let Err(stop) = budget.check() {
            let why = format!("{} while every instance slot ({}) was in use", stop.message(), super::engine::pool_slots(count));
            return Err(Error::new(stop.code(), why).context("instantiate"));
        }
        let left = budget.deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(backoff.min(left));
        backoff = (backoff * 2).min(Duration::from_millis(1));
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
