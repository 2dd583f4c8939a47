//! exec of a trivial echo guest (64-byte MessagePack args), a fresh instance
//! per call, through the Rust API and through the C ABI, beside two
//! baselines measured in the same run: raw wasmtime (InstancePre +
//! pooling, no yaowasm bridge: the floor; and the same doing the guest
//! ABI's copy in and out) and wasmtime's default on-demand allocator (what
//! a naive embedding pays); and a one-byte call after a call that wrote
//! 4 MiB. Run: `env -u RUST_BACKTRACE cargo bench --bench exec`.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/raw.rs"]
mod raw;

use criterion::{criterion_group, criterion_main, Criterion};
use std::ffi::CString;
use yaowasm::ffi::*;

fn args_64() -> Vec<u8> {
    let args = common::mp(
        &serde_json::json!([{"id": 42, "name": "Ada Lovelace", "email": "ada@example.com", "ok": true, "role": "admin", "n": 7}]),
    );
    assert!((60..=70).contains(&args.len()), "{}", args.len());
    args
}

fn bench_exec(c: &mut Criterion) {
    let args = args_64();
    let (rt, dir) = common::sink_runtime("{}");
    let mut g = c.benchmark_group("exec_echo_64B");

    g.bench_function("yaowasm_rust_api", |b| b.iter(|| rt.exec("scripts.sink.Echo", &args).unwrap()));

    let path = CString::new(dir.path().to_str().unwrap()).unwrap();
    let mut crt = std::ptr::null_mut();
    assert_eq!(unsafe { yaowasm_runtime_new(std::ptr::null(), &mut crt) }, 0);
    assert_eq!(unsafe { yaowasm_runtime_load_dir(crt, path.as_ptr(), std::ptr::null_mut()) }, 0);
    let name = CString::new("scripts.sink.Echo").unwrap();
    g.bench_function("yaowasm_c_abi", |b| {
        b.iter(|| {
            let mut out = yaowasm_buf { ptr: std::ptr::null_mut(), len: 0 };
            let code = unsafe { yaowasm_runtime_exec(crt, name.as_ptr(), args.as_ptr(), args.len(), &mut out) };
            assert_eq!(code, 0);
            unsafe { yaowasm_buf_free(out) };
        })
    });

    // Baselines: the same module, instantiated and called with nothing else.
    // The first pooled row resets slots as wasmtime does by default (the
    // floor); the second as yaowasm does (PAGEMAP_SCAN, 8 MiB kept
    // resident: ~1 µs more on this trivial call, far less on real ones).
    // 100 slots, kept so the history compares (benches/scale.rs uses 1000).
    for (label, pooling, pagemap) in [
        ("baseline_wasmtime_pooled_no_bridge", true, false),
        ("baseline_wasmtime_pooled_pagemap_no_bridge", true, true),
        ("baseline_wasmtime_on_demand", false, false),
    ] {
        let config = if pooling { raw::raw_pooled_config(100, pagemap) } else { wasmtime::Config::new() };
        let (engine, pre) = raw::raw_sink(&config, &common::wasm(&common::sink_wat()));
        g.bench_function(label, |b| {
            b.iter(|| {
                let mut store = wasmtime::Store::new(&engine, ());
                let instance = pre.instantiate(&mut store).unwrap();
                let echo = instance.get_typed_func::<(i32, i32), i64>(&mut store, "Echo").unwrap();
                echo.call(&mut store, (4096, 64)).unwrap()
            })
        });
    }
    // The rows above write nothing into the guest and read nothing back,
    // so their reset has no dirty page to restore. This one does the
    // guest ABI's own work with raw wasmtime (yao_alloc, the args copied
    // in, the call, the result copied out) and none of the bridge's
    // (name lookup, validation, limits, deadline, stats): what is left
    // between it and yaowasm_rust_api is the bridge.
    let (engine, pre) = raw::raw_sink(&raw::raw_pooled_config(100, true), &common::wasm(&common::sink_wat()));
    g.bench_function("baseline_wasmtime_pooled_pagemap_abi_no_bridge", |b| {
        b.iter(|| {
            let mut store = wasmtime::Store::new(&engine, ());
            let instance = pre.instantiate(&mut store).unwrap();
            let memory = instance.get_memory(&mut store, "memory").unwrap();
            let alloc = instance.get_typed_func::<i32, i32>(&mut store, "yao_alloc").unwrap();
            let echo = instance.get_typed_func::<(i32, i32), i64>(&mut store, "Echo").unwrap();
            let ptr = alloc.call(&mut store, args.len() as i32).unwrap();
            memory.write(&mut store, ptr as usize, &args).unwrap();
            let packed = echo.call(&mut store, (ptr, args.len() as i32)).unwrap();
            let (at, len) = ((packed >> 32) as usize, (packed as u32 & 0x7fff_ffff) as usize);
            memory.data(&store)[at..at + len].to_vec()
        })
    });
    g.finish();
    unsafe { yaowasm_runtime_free(crt) };
}

fn bench_parallel(c: &mut Criterion) {
    // Two threads calling at once: per-call time as seen by one of them.
    let args = args_64();
    let (rt, _dir) = common::sink_runtime("{}");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let background = {
        let (rt, args, stop) = (rt.clone(), args.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                rt.exec("scripts.sink.Echo", &args).unwrap();
            }
        })
    };
    c.bench_function("exec_echo_64B/yaowasm_rust_api_2_threads", |b| b.iter(|| rt.exec("scripts.sink.Echo", &args).unwrap()));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    background.join().unwrap();
}

/// The call context (SPEC §3a) on the same echo: `exec` as before, then
/// `exec_with` without a context, with an empty one and with a full one
/// (sid, globals, authorization), at depth 1 (Echo) and depth 2
/// (CallEcho: the nested scripts.* call inherits it). Nothing here reads the
/// context: this is what a call pays for carrying one, and the
/// `exec`/`no_context` rows are what calls that never use it pay.
fn bench_context(c: &mut Criterion) {
    use std::sync::Arc;
    use yaowasm::{CallContext, ExecOptions};
    let args = args_64();
    let (rt, _dir) = common::sink_runtime("{}");
    let full = CallContext {
        sid: "SID-42".into(),
        global: serde_json::json!({"tenant": "t1", "locale": "en"}).as_object().cloned().unwrap(),
        authorized: serde_json::json!({"user_id": "u1", "team_id": "team9", "constraints": {"team_only": true}}).as_object().cloned(),
    };
    let options = [
        ("no_context", ExecOptions::default()),
        ("empty_context", ExecOptions { context: Some(Arc::new(CallContext::default())), ..Default::default() }),
        ("full_context", ExecOptions { context: Some(Arc::new(full)), ..Default::default() }),
    ];
    for process in ["scripts.sink.Echo", "scripts.sink.CallEcho"] {
        let mut g = c.benchmark_group(format!("exec_context_64B/{}", process.rsplit('.').next().unwrap()));
        g.bench_function("exec", |b| b.iter(|| rt.exec(process, &args).unwrap()));
        for (label, opts) in &options {
            g.bench_function(*label, |b| b.iter(|| rt.exec_with(process, &args, opts).unwrap()));
        }
        g.finish();
    }
}

/// A one-byte call (`Light` of tests/guests/wat/heavy_and_light.wat) in a
/// runtime where no call wrote much, and in one where a single call wrote
/// 4 MiB of that module's memory just before (on the same CPU, so in the
/// slot the light calls reuse): with PAGEMAP_SCAN the heavy call's pages
/// would be copied back after every later call unless they are given back
/// (src/runtime/resident.rs).
fn bench_after_a_heavy_call(c: &mut Criterion) {
    common::pin_to_cpu(0);
    let wat = include_str!("../tests/guests/wat/heavy_and_light.wat");
    let mut g = c.benchmark_group("exec_after_a_heavy_call");
    for (label, heavy_first) in [("light_no_heavy_call", false), ("light_after_a_4MiB_call", true)] {
        let dir = tempfile::tempdir().unwrap();
        common::write(dir.path(), "s.wasm", &common::wasm(wat));
        let rt = yaowasm::Runtime::from_json(None).unwrap();
        rt.load_dir(dir.path()).unwrap();
        if heavy_first {
            rt.exec("scripts.s.Heavy", &[0x90]).unwrap();
        }
        g.bench_function(label, |b| b.iter(|| rt.exec("scripts.s.Light", &[0x90]).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench_exec, bench_parallel, bench_context, bench_after_a_heavy_call);
criterion_main!(benches);
