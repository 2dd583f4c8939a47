//! Running a module's initialization once and keeping the result as a new
//! module whose memory and globals start in that state (wasmtime-wizer).
//! Used for the JS engine (src/js/mod.rs) and for modules that ask for it
//! with `yao_preinit` (preinit.rs). Only the full build has it: the
//! instrumented module must be compiled to run.

use std::time::Duration;
use wasmtime::{Config, Engine, Instance, Linker, Module, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p1::WasiP1Ctx;

/// What the instance being snapshotted carries.
pub(crate) struct SnapshotState {
    pub wasi: WasiP1Ctx,
    limits: StoreLimits,
}

/// Past this many active data segments, [`compact_data`] merges them:
/// wasmtime records every data segment of a module in each new instance
/// (a loop over all of them per instantiation), and a Go module has ~40,000.
const FEW_SEGMENTS: usize = 64;
/// Zeros between two data segments that merging may fill in: up to a page.
const MERGE_GAP: u32 = 4096;

/// Instruments `raw` for `init_func`, runs it with WASI `wasi` (unknown
/// imports trap), lets `run` call what must run before the snapshot, and
/// returns the snapshot: `init_func` removed unless `keep_init_func`, and
/// `_initialize` removed (it has run). `timeout` bounds the run; memory is
/// capped at `max_memory_bytes`. Errors are messages, for the caller to
/// give a code and a context.
pub(crate) fn wizen(
    raw: &[u8],
    init_func: &str,
    keep_init_func: bool,
    wasi: WasiP1Ctx,
    max_memory_bytes: usize,
    timeout: Option<Duration>,
    run: impl FnOnce(&mut Store<SnapshotState>, &Instance) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    let mut wizer = wasmtime_wizer::Wizer::new();
    wizer.init_func(init_func).keep_init_func(keep_init_func);
    let (cx, instrumented) = wizer.instrument(raw).map_err(|e| format!("instrument: {e:#}"))?;
    // A throwaway engine: the instrumented module runs once, so compile it
    // for speed rather than for run time.
    let mut config = Config::new();
    config.cranelift_opt_level(wasmtime::OptLevel::None).epoch_interruption(timeout.is_some());
    let engine = Engine::new(&config).map_err(|e| format!("engine: {e:#}"))?;
    let module = Module::new(&engine, &instrumented).map_err(|e| format!("compile: {e:#}"))?;
    let mut linker: Linker<SnapshotState> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state| &mut state.wasi).map_err(|e| format!("link: {e:#}"))?;
    linker.define_unknown_imports_as_traps(&module).map_err(|e| format!("link: {e:#}"))?;
    let limits = StoreLimitsBuilder::new().memory_size(max_memory_bytes).build();
    let mut store = Store::new(&engine, SnapshotState { wasi, limits });
    store.limiter(|state| &mut state.limits);
    let _deadline = timeout.map(|after| {
        store.set_epoch_deadline(1);
        Deadline::start(engine.clone(), after)
    });
    let instance = linker.instantiate(&mut store, &module).map_err(|e| format!("instantiate: {e:#}"))?;
    run(&mut store, &instance)?;
    let mut state = WizerState { store: &mut store, instance };
    let snapshot = block_on(wizer.snapshot(&cx, &mut state)).map_err(|e| format!("snapshot: {e:#}"))?;
    compact_data(&snapshot).map_err(|e| format!("data segments: {e:#}"))
}

/// Calls export `name` of type () -> R, naming it in the error.
pub(crate) fn call<R: wasmtime::WasmResults>(store: &mut Store<SnapshotState>, instance: &Instance, name: &str) -> Result<R, String> {
    let f = instance.get_typed_func::<(), R>(&mut *store, name).map_err(|e| format!("{name}: {e:#}"))?;
    f.call(&mut *store, ()).map_err(|e| format!("{name}: {}", why_it_stopped(&e)))
}

/// A trap or an error in one line, without the wasm backtrace.
fn why_it_stopped(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => "it did not finish in time".to_owned(),
        Some(trap) => format!("trap: {trap}"),
        None => {
            let cause = e.root_cause().to_string();
            // define_unknown_imports_as_traps: "unknown import: `yao::log`
            // has not been defined".
            match cause.strip_prefix("unknown import: `").and_then(|rest| rest.split_once('`')) {
                Some((import, _)) => format!("it called {}, which is not there before the first call", import.replace("::", ".")),
                None => cause,
            }
        }
    }
}

/// Ends the run with an epoch trap once `after` has passed, unless dropped
/// first.
struct Deadline(Option<crossbeam_channel::Sender<()>>);

impl Deadline {
    fn start(engine: Engine, after: Duration) -> Deadline {
        let (done, wait) = crossbeam_channel::bounded::<()>(0);
        std::thread::spawn(move || {
            if let Err(crossbeam_channel::RecvTimeoutError::Timeout) = wait.recv_timeout(after) {
                engine.increment_epoch();
            }
        });
        Deadline(Some(done))
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        // Disconnecting wakes the thread, which then ends.
        self.0.take();
    }
}

struct WizerState<'a> {
    store: &'a mut Store<SnapshotState>,
    instance: Instance,
}

impl wasmtime_wizer::InstanceState for WizerState<'_> {
    async fn global_get(&mut self, name: &str, _: wasmtime_wizer::ValType) -> wasmtime_wizer::SnapshotVal {
        use wasmtime::Val;
        use wasmtime_wizer::SnapshotVal;
        // Wizer only asks for globals its own instrumentation exported.
        let global = self.instance.get_global(&mut *self.store, name).expect("wizer exported this global");
        match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            // Wizer refuses modules with reference-typed globals.
            _ => unreachable!("wizer snapshots only numeric globals"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self.instance.get_memory(&mut *self.store, name).expect("wizer exported this memory");
        contents(memory.data(&*self.store))
    }
}

/// Polls a future that never waits (wizer's snapshot over a sync store).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Wizer keeps every original data segment, emptied and made passive (so
/// data indices stay valid), and writes the snapshot as up to 10,000 active
/// segments. Without a DataCount section no instruction can name a data
/// segment, so the passive ones that are empty are dropped; and active
/// segments of memory 0 at constant offsets, non-overlapping, are merged
/// across gaps of up to a page. The memory they describe is unchanged.
/// Anything else leaves the module as it is.
fn compact_data(wasm: &[u8]) -> wasmparser::Result<Vec<u8>> {
    use wasmparser::{DataKind, Operator, Parser, Payload};
    let mut has_data_count = false;
    let mut data = None;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::DataCountSection { .. } => has_data_count = true,
            Payload::DataSection(reader) => data = Some(reader),
            _ => {}
        }
    }
    let Some(reader) = data else { return Ok(wasm.to_vec()) };
    let mut passive: Vec<&[u8]> = Vec::new();
    let mut active: Vec<(u32, Vec<u8>)> = Vec::new();
    for segment in reader {
        let segment = segment?;
        match segment.kind {
            DataKind::Passive => passive.push(segment.data),
            DataKind::Active { memory_index: 0, offset_expr } => {
                let mut ops = offset_expr.get_operators_reader();
                match (ops.read()?, ops.read()?) {
                    (Operator::I32Const { value }, Operator::End) => active.push((value as u32, segment.data.to_vec())),
                    _ => return Ok(wasm.to_vec()),
                }
            }
            DataKind::Active { .. } => return Ok(wasm.to_vec()),
        }
    }
    if active.len() <= FEW_SEGMENTS && (has_data_count || passive.is_empty()) {
        return Ok(wasm.to_vec());
    }
    active.sort_by_key(|(offset, _)| *offset);
    let mut merged: Vec<(u32, Vec<u8>)> = Vec::with_capacity(active.len());
    for (offset, bytes) in active {
        match merged.last_mut() {
            Some((start, prev)) => {
                let end = start.checked_add(prev.len() as u32);
                match end {
                    // Overlapping segments: their order matters; keep it all.
                    Some(end) if offset < end => return Ok(wasm.to_vec()),
                    Some(end) if offset - end <= MERGE_GAP => {
                        prev.resize(prev.len() + (offset - end) as usize, 0);
                        prev.extend_from_slice(&bytes);
                    }
                    _ => merged.push((offset, bytes)),
                }
            }
            None => merged.push((offset, bytes)),
        }
    }
    let mut section = wasm_encoder::DataSection::new();
    // Without a DataCount section no instruction can name a passive
    // segment, so they are dropped; with one, they keep their indices.
    if !has_data_count {
        passive.clear();
    }
    for bytes in &passive {
        section.passive(bytes.iter().copied());
    }
    let count = (passive.len() + merged.len()) as u32;
    for (offset, bytes) in &merged {
        section.active(0, &wasm_encoder::ConstExpr::i32_const(*offset as i32), bytes.iter().copied());
    }
    let mut out = wasm_encoder::Module::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::DataSection(_) => {
                out.section(&section);
            }
            Payload::DataCountSection { .. } => {
                out.section(&wasm_encoder::DataCountSection { count });
            }
            _ => {
                if let Some((id, range)) = payload.as_section() {
                    out.section(&wasm_encoder::RawSection { id, data: &wasm[range] });
                }
            }
        }
    }
    Ok(out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(wasm: &[u8]) -> Vec<(Option<u32>, Vec<u8>)> {
        let mut out = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            if let wasmparser::Payload::DataSection(reader) = payload.unwrap() {
                for s in reader {
                    let s = s.unwrap();
                    let offset = match s.kind {
                        wasmparser::DataKind::Active { offset_expr, .. } => match offset_expr.get_operators_reader().read().unwrap() {
                            wasmparser::Operator::I32Const { value } => Some(value as u32),
                            _ => None,
                        },
                        wasmparser::DataKind::Passive => None,
                    };
                    out.push((offset, s.data.to_vec()));
                }
            }
        }
        out
    }

    /// A module with `n` one-byte active segments every `step` bytes, plus
    /// `passive` empty passive segments, and a DataCount section if asked.
    fn module(n: u32, step: u32, passive: u32, data_count: bool) -> Vec<u8> {
        let mut m = wasm_encoder::Module::new();
        let mut memories = wasm_encoder::MemorySection::new();
        memories.memory(wasm_encoder::MemoryType { minimum: 16, maximum: None, memory64: false, shared: false, page_size_log2: None });
        m.section(&memories);
        if data_count {
            m.section(&wasm_encoder::DataCountSection { count: n + passive });
        }
        let mut data = wasm_encoder::DataSection::new();
        for _ in 0..passive {
            data.passive([]);
        }
        for i in 0..n {
            data.active(0, &wasm_encoder::ConstExpr::i32_const((i * step) as i32), [i as u8 + 1]);
        }
        m.section(&data);
        m.finish()
    }

    /// The bytes of memory the active segments describe.
    fn image(wasm: &[u8]) -> Vec<u8> {
        let mut mem = vec![0u8; 16 * 65536];
        for (offset, bytes) in segments(wasm) {
            if let Some(offset) = offset {
                mem[offset as usize..offset as usize + bytes.len()].copy_from_slice(&bytes);
            }
        }
        mem
    }

    #[test]
    fn many_segments_become_few_with_the_same_memory() {
        let before = module(200, 100, 300, false);
        let after = compact_data(&before).unwrap();
        wasmparser::Validator::new().validate_all(&after).unwrap();
        assert_eq!(image(&before), image(&after));
        assert_eq!(segments(&after).len(), 1, "gaps of 99 bytes are merged, empty passives dropped");
    }

    #[test]
    fn gaps_beyond_a_page_stay_separate() {
        let before = module(100, 5000, 0, false);
        let after = compact_data(&before).unwrap();
        assert_eq!(image(&before), image(&after));
        assert_eq!(segments(&after).len(), 100);
    }

    #[test]
    fn with_a_data_count_the_passive_segments_keep_their_indices() {
        let before = module(200, 100, 3, true);
        let after = compact_data(&before).unwrap();
        wasmparser::Validator::new().validate_all(&after).unwrap();
        let segs = segments(&after);
        assert_eq!(segs.len(), 4);
        assert!(segs[..3].iter().all(|(offset, bytes)| offset.is_none() && bytes.is_empty()));
        assert_eq!(image(&before), image(&after));
    }

    #[test]
    fn a_module_with_few_segments_is_left_alone() {
        let before = module(10, 100, 0, false);
        assert_eq!(compact_data(&before).unwrap(), before);
    }
}
