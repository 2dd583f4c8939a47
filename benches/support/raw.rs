//! Raw wasmtime, no yaowasm bridge: the baseline of benches/exec.rs and
//! benches/scale.rs (only the benches depend on wasmtime directly).

/// The benches' no-bridge baseline: raw wasmtime's pooling allocator with
/// `slots` instance slots, resetting a slot as wasmtime does by default,
/// or as yaowasm does when `pagemap` (PAGEMAP_SCAN with 8 MiB kept
/// resident, src/runtime/engine.rs KEEP_RESIDENT).
pub fn raw_pooled_config(slots: u32, pagemap: bool) -> wasmtime::Config {
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        .max_memory_size(64 << 20)
        .linear_memory_keep_resident(256 << 10)
        .table_keep_resident(64 << 10);
    if pagemap {
        pool.linear_memory_keep_resident(8 << 20).pagemap_scan(wasmtime::Enabled::Auto);
    }
    let mut config = wasmtime::Config::new();
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool)).memory_reservation(64 << 20);
    config
}

/// The sink guest (`wasm`, tests/common's sink_wat) pre-linked by raw
/// wasmtime with `config`, its `yao` imports stubbed; each bench call
/// instantiates it and calls `Echo`.
pub fn raw_sink(config: &wasmtime::Config, wasm: &[u8]) -> (wasmtime::Engine, wasmtime::InstancePre<()>) {
    let engine = wasmtime::Engine::new(config).unwrap();
    let module = wasmtime::Module::new(&engine, wasm).unwrap();
    let mut linker = wasmtime::Linker::<()>::new(&engine);
    linker.func_wrap("yao", "process", |_: i32, _: i32, _: i32, _: i32| 0i64).unwrap();
    linker.func_wrap("yao", "log", |_: i32, _: i32, _: i32| ()).unwrap();
    let pre = linker.instantiate_pre(&module).unwrap();
    (engine, pre)
}
