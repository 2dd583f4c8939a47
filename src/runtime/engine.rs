//! The wasmtime engines of one runtime (its shards): pooling allocator sized
//! from the config, epoch interruption, the one ticker thread that drives
//! them all, and which shard a call runs on.

use super::call::CallState;
use super::per_cpu::PerCpu;
use crate::config::{Config, MemoryReset};
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::{Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig};

/// Instances one runtime can have alive at once (all threads, all nesting
/// levels, all shards). Each is a slot of `max_memory_mb` of reserved address
/// space.
pub const POOL_INSTANCES: u32 = 1000;
/// Instance metadata (VMContext) one instance may take: ~32 bytes per
/// function that escapes (exported, or in a table). Go puts every function
/// in its table, so wasmtime's 1 MiB default refused Go programs past ~32k
/// functions; 8 MiB admits ~260k. It is a cap, not a reservation: an
/// instance allocates what its module needs.
pub const POOL_MAX_INSTANCE_SIZE: usize = 8 << 20;
/// Table elements per instance slot; larger declared tables do not load.
pub const POOL_TABLE_ELEMENTS: usize = 100_000;
/// Bytes of each memory slot reset in place (memcpy from the module's image,
/// or zeroed) after a call instead of given back with madvise, when the
/// PAGEMAP_SCAN ioctl (Linux 6.7+) finds the pages the call wrote: only
/// those are reset, so the next instance of the same module in that slot
/// starts with no page faults.
pub const KEEP_RESIDENT: usize = 8 << 20;
/// The same without PAGEMAP_SCAN (`memory_reset` `fallback`). wasmtime then
/// resets the lowest `keep_resident` bytes whether a call wrote them or
/// not, so 8 MiB made every Go call copy megabytes (288 µs a `user.Check`
/// against 114 µs with nothing kept). 128 KiB holds the whole working set
/// of the small guests (C, AssemblyScript), which then take no page
/// faults; larger ones fault their pages back in (BENCHMARKS.md, "Kernels
/// without PAGEMAP_SCAN").
pub const KEEP_RESIDENT_FALLBACK: usize = 128 << 10;
/// One epoch tick: the resolution of `timeout_ms`.
pub const TICK: Duration = Duration::from_millis(1);

/// One engine of a runtime and its linker: a module runs on a shard as its
/// copy compiled for that shard's engine.
pub struct Shard {
    pub engine: Engine,
    pub linker: Linker<CallState>,
    /// Whether its memory slots are reset with PAGEMAP_SCAN
    /// ([`resets_with_pagemap`]).
    pub pagemap: bool,
}

/// How many engines a runtime runs calls on: `engine_shards`, or by default
/// the CPUs this process may use rounded down to 1, 2 or 4 (powers of two
/// split [`POOL_INSTANCES`] evenly). A runtime that only precompiles for
/// another target has one, and so has the runtime-only build, which cannot
/// copy a module between engines (wasmtime serializes a module only with
/// its compiler built in).
pub fn shard_count(config: &Config) -> Result<usize> {
    if !cfg!(feature = "compiler") {
        return match config.engine_shards {
            Some(n) if n > 1 => Err(Error::bad_request(format!(
                "config: engine_shards {n}: this yaowasm (runtime-only) runs one engine; more need the full build"
            ))),
            _ => Ok(1),
        };
    }
    if !runs_here(config) {
        return Ok(1);
    }
    Ok(match config.engine_shards {
        Some(n) => n as usize,
        None => match std::thread::available_parallelism().map_or(1, |n| n.get()) {
            0..=1 => 1,
            2..=3 => 2,
            _ => 4,
        },
    })
}

/// The shards of a runtime: engine 0 compiles and loads from the cache,
/// and the others get copies of what it made ([`copy_to`]).
pub fn build_shards(config: &Config) -> Result<Box<[Shard]>> {
    let count = shard_count(config)?;
    let slots = POOL_INSTANCES / count as u32;
    let pagemap = resets_with_pagemap(config)?;
    (0..count)
        .map(|_| {
            let engine = build(config, slots, pagemap)?;
            let linker = crate::host_api::imports::linker(&engine)?;
            Ok(Shard { engine, linker, pagemap })
        })
        .collect()
}

/// A copy of `module` (compiled for another shard's engine) for `shard`,
/// through wasmtime's own serialization, which copies the machine code
/// rather than compiling it again.
#[cfg(feature = "compiler")]
pub fn copy_to(shard: &Shard, module: &Module) -> Result<Module> {
    #[cfg(test)]
    if tests::copy_fails() {
        return Err(Error::internal("copying a module into another engine shard: a failure a test asked for"));
    }
    let copy = |e: wasmtime::Error| Error::internal(format!("copying a module into another engine shard: {e:#}"));
    let bytes = module.serialize().map_err(copy)?;
    // SAFETY: the bytes are what `serialize` just made, in this process,
    // for an engine with the same settings.
    unsafe { Module::deserialize(&shard.engine, &bytes) }.map_err(copy)
}

/// The runtime-only build has one shard ([`shard_count`]): nothing to copy.
#[cfg(not(feature = "compiler"))]
pub fn copy_to(_: &Shard, _: &Module) -> Result<Module> {
    Err(Error::internal("the runtime-only build runs one engine shard"))
}

/// Instance slots of a runtime with `count` shards: [`POOL_INSTANCES`] split
/// evenly (less a remainder when `count` does not divide it).
pub fn pool_slots(count: usize) -> u32 {
    POOL_INSTANCES / count as u32 * count as u32
}

/// The shard for a call starting on this thread now: the CPU it runs on,
/// so two CPUs never share an engine's cache lines (a thread that moves
/// mid-call only loses locality).
pub fn shard_here(count: usize) -> usize {
    if count == 1 {
        return 0;
    }
    super::per_cpu::cpu() % count
}

/// Whether memory slots are reset with the PAGEMAP_SCAN ioctl: what
/// `memory_reset` asks for, `auto` meaning where the kernel has it.
pub fn resets_with_pagemap(config: &Config) -> Result<bool> {
    // The probe opens /proc/self/pagemap and tries the ioctl: only when
    // the answer matters.
    let available = || PoolingAllocationConfig::is_pagemap_scan_available();
    match config.memory_reset {
        MemoryReset::Auto => Ok(available()),
        MemoryReset::Fallback => Ok(false),
        MemoryReset::Pagemap if available() => Ok(true),
        MemoryReset::Pagemap => Err(Error::bad_request(
            "config: memory_reset \"pagemap\": this kernel has no PAGEMAP_SCAN ioctl (it came in Linux 6.7); use \"auto\" or \"fallback\"",
        )),
    }
}

/// Builds one engine with `slots` instance slots. Slots are sized from
/// `max_memory_mb` so that 1000 slots reserve ~`max_memory_mb` GiB of
/// address space, not the 4 TiB of the default 4 GiB slots.
pub fn build(config: &Config, slots: u32, pagemap: bool) -> Result<Engine> {
    let max_bytes = config.max_memory_bytes();
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        .total_component_instances(0)
        .total_stacks(0)
        .max_memories_per_module(1)
        .max_tables_per_module(4)
        .table_elements(POOL_TABLE_ELEMENTS)
        .max_memory_size(max_bytes as usize)
        .max_core_instance_size(POOL_MAX_INSTANCE_SIZE)
        .linear_memory_keep_resident(if pagemap { KEEP_RESIDENT } else { KEEP_RESIDENT_FALLBACK })
        .table_keep_resident(64 << 10)
        .pagemap_scan(if pagemap { wasmtime::Enabled::Yes } else { wasmtime::Enabled::No });

    let mut wasm = wasmtime::Config::new();
    wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .epoch_interruption(true)
        .memory_reservation(max_bytes)
        .memory_guard_size(2 << 20)
        .memory_reservation_for_growth(0)
        .memory_may_move(false)
        .memory_init_cow(true);
    if let Some(target) = &config.target {
        wasm.target(target).map_err(|e| Error::bad_request(format!("config: target {target:?}: {e:#}")))?;
    }
    if !runs_here(config) && !cfg!(feature = "compiler") {
        return Err(Error::bad_request(format!(
            "config: target {:?}: this yaowasm (runtime-only{}) runs code for {}{} only",
            config.target.as_deref().unwrap_or_default(),
            if cfg!(feature = "pulley") { ", pulley" } else { "" },
            env!("YAOWASM_TARGET"),
            if cfg!(feature = "pulley") { " and pulley64" } else { " (build it with the `pulley` feature for pulley64)" }
        )));
    }
    Engine::new(&wasm).map_err(|e| match &config.target {
        // A triple wasmtime parses but has no backend for: the config's fault.
        Some(target) => Error::bad_request(format!("config: target {target:?}: {e:#}")),
        None => Error::internal(format!("wasmtime engine: {e:#}")),
    })
}

/// The triple the engine compiles for, as the cache keys name it.
pub fn target(config: &Config) -> &str {
    config.target.as_deref().unwrap_or(env!("YAOWASM_TARGET"))
}

/// Whether this process can run code compiled for the config's target:
/// this machine's own, or Pulley when wasmtime's interpreter is built in.
/// Otherwise the runtime only precompiles into the cache.
pub fn runs_here(config: &Config) -> bool {
    let target = target(config);
    target == env!("YAOWASM_TARGET") || (cfg!(feature = "pulley") && cfg!(target_endian = "little") && target == PULLEY_HERE)
}

/// The Pulley target of this machine's pointer width.
const PULLEY_HERE: &str = if cfg!(target_pointer_width = "64") { "pulley64" } else { "pulley32" };

/// Increments every engine's epoch every [`TICK`] while calls are in flight,
/// and sleeps (parked) while none are, so an idle runtime costs no CPU.
pub struct Ticker {
    shared: Arc<TickerShared>,
    thread: Option<JoinHandle<()>>,
}

struct TickerShared {
    /// Calls in flight, counted per CPU so that calls on two CPUs do not
    /// write one cache line.
    in_flight: PerCpu<AtomicUsize>,
    stop: AtomicBool,
}

impl TickerShared {
    fn idle(&self) -> bool {
        self.in_flight.iter().all(|n| n.load(Ordering::Acquire) == 0)
    }
}

/// Held by every running call; the ticker runs while any exists. Keeps the
/// stripe it counted in, which the thread may have left by the end.
pub struct Running<'a>(&'a Ticker, usize);

impl Ticker {
    pub fn start(engines: Vec<Engine>) -> Result<Ticker> {
        let shared = Arc::new(TickerShared { in_flight: PerCpu::default(), stop: AtomicBool::new(false) });
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name("yaowasm-epoch".into())
            .spawn(move || loop {
                if state.stop.load(Ordering::Acquire) {
                    return;
                }
                if state.idle() {
                    // A call that starts after this check unparks us (it
                    // finds its stripe at 0); the unpark token makes this
                    // park return at once.
                    std::thread::park();
                    continue;
                }
                std::thread::sleep(TICK);
                for engine in &engines {
                    engine.increment_epoch();
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the epoch thread: {e}")))?;
        Ok(Ticker { shared, thread: Some(thread) })
    }

    pub fn running(&self) -> Running<'_> {
        let (stripe, in_flight) = self.shared.in_flight.here();
        if in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
            if let Some(t) = &self.thread {
                t.thread().unpark();
            }
        }
        Running(self, stripe)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.shared.in_flight.stripe(self.1).fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    thread_local! {
        static FAIL_COPIES: Cell<bool> = const { Cell::new(false) };
        static COPIES_TRIED: Cell<u32> = const { Cell::new(0) };
    }

    /// Makes `copy_to` fail on this thread (a host out of memory for code).
    pub(crate) fn fail_copies() {
        FAIL_COPIES.with(|f| f.set(true));
    }

    /// How many copies this thread has tried.
    pub(crate) fn copies_tried() -> u32 {
        COPIES_TRIED.with(Cell::get)
    }

    pub(super) fn copy_fails() -> bool {
        COPIES_TRIED.with(|c| c.set(c.get() + 1));
        FAIL_COPIES.with(Cell::get)
    }
}
