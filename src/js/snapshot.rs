//! The per-script snapshot: a JS script's top level evaluated once, at
//! load, instead of in every call.
//!
//! At a script's first call the engine is instantiated from its own
//! snapshot in a store
//! whose every import (the `yao` host API and WASI alike) traps, the hook's
//! bytecode is read and its top level run (`yao_js_load`), and what that
//! changed in linear memory is kept as a list of byte runs, the C stack
//! left out (dead once the export returns). A call instantiates the engine
//! as before, grows its memory to the snapshot's size, copies the runs in,
//! and calls `yao_js_invoke`: it starts from exactly the state the top
//! level left, without reading the bytecode or running the top level.
//!
//! Nothing a script can observe changes, because only a top level that
//! never reached outside the engine is snapshotted: one that calls any
//! import (`Process`, `log`, `console`, `Store`, the clock behind `Date`,
//! the random source behind `Math.random`, …), throws, runs out of time or
//! memory, gets no snapshot, and every call evaluates its top level as
//! before (gou's V8 runtime runs it in a fresh context per call; so do we,
//! in effect). `Math.random` is seeded on first use in each instance, and
//! the snapshot is taken before any use, so calls still get fresh seeds.
//! The engine has one mutable global, `__stack_pointer`, which is back at
//! its base value when an export returns: memory is the whole state.

use crate::error::{Error, Result};
use crate::runtime::call::CallState;
use crate::runtime::nesting::Budget;
use crate::runtime::resident;
use crate::runtime::Inner;
use std::ops::Range;
use std::sync::Arc;
use wasmtime::{Linker, Memory, Module, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};

/// What a script's top level changed in the engine's memory.
pub struct Snapshot {
    /// Memory size in bytes after the top level ran.
    size: usize,
    /// `(offset, length)` of each changed run, in address order.
    runs: Box<[(u32, u32)]>,
    /// The runs' bytes, one after another.
    bytes: Box<[u8]>,
}

/// Unchanged bytes shorter than this between two changed ones are copied
/// with them: one longer copy is cheaper than another run.
const BRIDGE: usize = 64;

/// Bytes at each end of the freed bytecode block that stay in the diff:
/// more than the allocator's free-chunk header (links, tree fields) and
/// footer take on wasm32.
const LEFTOVER_MARGIN: usize = 64;

impl Snapshot {
    /// Bytes a call copies in.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the top level changed nothing (never the case in practice).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Number of runs a call copies.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Host pages (4 KiB) a call writes to restore it.
    pub fn pages(&self) -> usize {
        let mut pages: Vec<u32> = self.runs.iter().flat_map(|&(offset, len)| (offset >> 12)..=((offset + len - 1) >> 12)).collect();
        pages.dedup();
        pages.len()
    }

    /// Puts the snapshot into a fresh instance of the engine (its memory in
    /// the engine's base state).
    pub(crate) fn restore(&self, store: &mut Store<CallState>, memory: &Memory) -> Result<()> {
        let have = memory.data_size(&*store);
        if self.size > have {
            let pages = ((self.size - have) as u64).div_ceil(memory.page_size(&*store));
            memory.grow(&mut *store, pages).map_err(|e| Error::internal(format!("JS snapshot: cannot grow memory: {e:#}")))?;
        }
        let mem = memory.data_mut(store);
        let mut at = 0;
        for &(offset, len) in self.runs.iter() {
            let (offset, len) = (offset as usize, len as usize);
            // Runs lie below `size` by construction; a miss is our bug.
            let (Some(to), Some(from)) = (mem.get_mut(offset..offset + len), self.bytes.get(at..at + len)) else {
                return Err(Error::internal("JS snapshot: a run lies outside memory"));
            };
            to.copy_from_slice(from);
            at += len;
        }
        Ok(())
    }
}

/// Why no snapshot could be taken this time: no instance slot was free, or
/// the asking call's `budget` ran out. A later call tries again.
pub(crate) struct NotNow;

/// Runs the script's top level once in the engine `module` (its snapshot)
/// and returns what it changed, or `Ok(None)` when the top level reached
/// outside the engine, threw, or ran out of memory: then every call
/// evaluates it.
pub(crate) fn take(runtime: &Arc<Inner>, module: &Module, bytecode: &[u8], budget: &Budget) -> Result<Option<Snapshot>, NotNow> {
    match probe(runtime, module, bytecode, budget) {
        Ok(Some(diff)) => Ok(Some(diff)),
        Err(()) => Err(NotNow),
        Ok(None) if budget.check().is_err() => Err(NotNow),
        Ok(None) => Ok(None),
    }
}

/// `Err(())`: the engine could not be instantiated (the pool is full).
fn probe(runtime: &Arc<Inner>, module: &Module, bytecode: &[u8], budget: &Budget) -> Result<Option<Snapshot>, ()> {
    let mut linker: Linker<StoreLimits> = Linker::new(module.engine());
    // Every import traps: any reach outside (host API, clock, random,
    // output) stops the load, and the script falls back to per call.
    if linker.define_unknown_imports_as_traps(module).is_err() {
        return Ok(None);
    }
    let limits = StoreLimitsBuilder::new().memory_size(runtime.config.max_memory_bytes() as usize).build();
    let mut store = Store::new(module.engine(), limits);
    store.limiter(|limits| limits);
    // Within the budget of the call that asked for the snapshot (its ticker
    // is running): a top level that loops forever ends that call in 408 as
    // it would have, and the next call tries again.
    store.set_epoch_deadline(1);
    let budget = budget.clone();
    store.epoch_deadline_callback(move |_| match budget.check() {
        Ok(()) => Ok(UpdateDeadline::Continue(1)),
        Err(stop) => Err(stop.into()),
    });
    let instance = linker.instantiate(&mut store, module).map_err(|_| ())?;
    Ok(load(&mut store, &instance, bytecode))
}

/// Writes the bytecode, runs `yao_js_load`, and diffs the memory.
fn load(mut store: &mut Store<StoreLimits>, instance: &wasmtime::Instance, bytecode: &[u8]) -> Option<Snapshot> {
    let memory = instance.get_memory(&mut store, "memory")?;
    let alloc = instance.get_typed_func::<i32, i32>(&mut store, "yao_alloc").ok()?;
    let load = instance.get_typed_func::<(i32, i32), i64>(&mut store, "yao_js_load").ok()?;
    let stack = instance.get_typed_func::<(), i64>(&mut store, "yao_js_stack").ok()?;
    let len = i32::try_from(bytecode.len()).ok()?;
    let stack = stack.call(&mut store, ()).ok()? as u64;
    let stack = (stack >> 32) as usize..(stack as u32) as usize;
    // The base state: the engine's image, exactly what a call's fresh
    // instance starts from. Taken before `yao_alloc`, so that what the
    // allocator changed to hold the bytecode and did not undo when
    // yao_js_load freed it (a grown heap's footprint and segment size, say)
    // is part of the diff; a diff from after the allocation would restore
    // the engine's old bookkeeping over a heap that has moved on.
    let before = memory.data(&store).to_vec();
    let ptr = alloc.call(&mut store, len).ok().filter(|&p| p != 0)?;
    memory.write(&mut store, ptr as usize, bytecode).ok()?;
    // The inside of the bytecode block is free memory once yao_js_load
    // returns, whatever bytes it holds: left out, so calls do not copy a
    // dead hook (5 KB for the example). Its edges stay in: the allocator
    // keeps a free chunk's links at the start and its size at the end.
    let (start, end) = (ptr as usize + LEFTOVER_MARGIN, ptr as usize + bytecode.len());
    let leftover = start..end.saturating_sub(LEFTOVER_MARGIN).max(start);
    let loaded = matches!(load.call(&mut store, (ptr, len)), Ok(0));
    let snapshot = loaded.then(|| diff(&before, memory.data(&store), &[stack, leftover]));
    // The load wrote many more pages than a call restores (QuickJS's atom
    // table, freed parse buffers): given back, or the calls that reuse this
    // slot would copy them back after every call (src/runtime/resident.rs).
    resident::give_back(memory.data_mut(&mut store));
    snapshot
}

/// The runs where `after` differs from `before` (bytes past its end count
/// as zero: grown memory), leaving out the `skip` ranges.
fn diff(before: &[u8], after: &[u8], skip: &[Range<usize>]) -> Snapshot {
    let skipped = |i: usize| skip.iter().any(|r| r.contains(&i));
    let old = |i: usize| before.get(i).copied().unwrap_or(0);
    let mut runs: Vec<(u32, u32)> = Vec::new();
    let mut bytes = Vec::new();
    let mut open: Option<(usize, usize)> = None; // (start, end of last change)
    let mut i = 0;
    while i < after.len() {
        if let Some(range) = skip.iter().find(|r| r.contains(&i)) {
            i = range.end;
            continue;
        }
        // Word at a time where both sides have a whole word.
        if i % 8 == 0 && i + 8 <= after.len() && i + 8 <= before.len() && !skipped(i + 7) && after[i..i + 8] == before[i..i + 8] {
            i += 8;
            continue;
        }
        if after[i] != old(i) {
            open = match open {
                Some((start, end)) if i - end <= BRIDGE && !(end..i).any(skipped) => Some((start, i + 1)),
                Some(run) => {
                    push_run(&mut runs, &mut bytes, after, run);
                    Some((i, i + 1))
                }
                None => Some((i, i + 1)),
            };
        }
        i += 1;
    }
    if let Some(run) = open {
        push_run(&mut runs, &mut bytes, after, run);
    }
    Snapshot { size: after.len(), runs: runs.into_boxed_slice(), bytes: bytes.into_boxed_slice() }
}

fn push_run(runs: &mut Vec<(u32, u32)>, bytes: &mut Vec<u8>, after: &[u8], (start, end): (usize, usize)) {
    runs.push((start as u32, (end - start) as u32));
    bytes.extend_from_slice(&after[start..end]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_finds_changes_bridges_gaps_and_skips_the_stack() {
        let before = vec![0u8; 4096];
        let mut after = before.clone();
        after[10] = 1;
        after[20] = 2; // 10 bytes on: the same run
        after[1000] = 3; // far: a run of its own
        after[2000] = 9; // inside the first skipped range
        after[3000] = 5; // inside the second
        after.extend_from_slice(&[0, 0, 7, 0]); // grown memory
        let snap = diff(&before, &after, &[1990..2010, 2990..3010]);
        assert_eq!(&*snap.runs, &[(10, 11), (1000, 1), (4098, 1)]);
        assert_eq!(snap.bytes.len(), 13);
        assert_eq!(snap.bytes[0], 1);
        assert_eq!(snap.bytes[10], 2);
        assert_eq!(snap.bytes[11], 3);
        assert_eq!(snap.bytes[12], 7);
        assert_eq!(snap.size, 4100);
    }
}
