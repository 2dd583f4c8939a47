//! Soak (issue 8, RELIABILITY.md): long runs that must keep memory flat and
//! lose no call. Not a test CI times: run it in the release profile with
//!
//!     env -u RUST_BACKTRACE cargo bench --bench soak            # everything
//!     env -u RUST_BACKTRACE cargo bench --bench soak -- calls   # one phase
//!
//! Phases: `calls` (1,000,000 exec calls over 2 threads through the C API,
//! each calling back into a C process handler), `cycles` (1,000 runtime
//! create/load/exec/free cycles), `reload` (reload while 2 threads call),
//! `unload` (unload mid-call). `SOAK_CALLS` / `SOAK_CYCLES` scale the first
//! two. Exits 1 if a call is lost or RSS grows past the bound.

#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::*;
use std::ffi::{c_char, c_void, CString};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use yaowasm::ffi::*;
use yaowasm::Runtime;

/// Allowed RSS growth over a phase, after its warm-up.
const MAX_GROWTH: f64 = 0.05;

fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

struct Report {
    failed: bool,
}

impl Report {
    fn rss(&mut self, phase: &str, before: u64, after: u64) {
        let growth = (after as f64 - before as f64) / before as f64;
        let ok = growth <= MAX_GROWTH;
        println!(
            "{phase}: RSS before {before} KiB, after {after} KiB, growth {:+.2}% ({})",
            growth * 100.0,
            if ok { "ok" } else { "TOO MUCH" }
        );
        self.failed |= !ok;
    }

    fn lost(&mut self, phase: &str, run: u64, lost: u64) {
        println!("{phase}: calls run {run}, lost {lost}");
        self.failed |= lost > 0;
    }
}

// ---------------------------------------------------------------------------

/// The C host's process handler: answers every call with its args.
unsafe extern "C" fn echo_handler(
    user: *mut c_void,
    _name: *const c_char,
    _len: usize,
    args: *const u8,
    args_len: usize,
    res: *mut yaowasm_result,
) {
    let served = unsafe { &*(user as *const AtomicU64) };
    served.fetch_add(1, Ordering::Relaxed);
    unsafe { yaowasm_result_ok(res, args, args_len) };
}

fn c_runtime(dir: &std::path::Path) -> *mut yaowasm_runtime {
    let mut rt = ptr::null_mut();
    assert_eq!(unsafe { yaowasm_runtime_new(ptr::null(), &mut rt) }, 0);
    assert!(!rt.is_null());
    let d = CString::new(dir.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { yaowasm_runtime_load_dir(rt, d.as_ptr(), ptr::null_mut()) }, 0);
    rt
}

/// One exec of `scripts.sink.CallHost`: true if it answered `[1]` (the args
/// the guest passes, echoed by the handler).
fn call_host(rt: *mut yaowasm_runtime, name: &CString) -> bool {
    let mut out = yaowasm_buf { ptr: ptr::null_mut(), len: 0 };
    let code = unsafe { yaowasm_runtime_exec(rt, name.as_ptr(), [0x90u8].as_ptr(), 1, &mut out) };
    let ok = code == 0 && unsafe { std::slice::from_raw_parts(out.ptr, out.len) } == [0x91, 0x01];
    unsafe { yaowasm_buf_free(out) };
    ok
}

fn calls(report: &mut Report) {
    let total: u64 = std::env::var("SOAK_CALLS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sink.wasm", &wasm(&sink_wat()));
    let rt = c_runtime(dir.path());
    let served = Box::new(AtomicU64::new(0));
    unsafe { yaowasm_runtime_set_process_handler(rt, Some(echo_handler), &*served as *const AtomicU64 as *mut c_void) };
    let name = CString::new("scripts.sink.CallHost").unwrap();
    for _ in 0..20_000 {
        assert!(call_host(rt, &name), "warm-up call failed");
    }
    let before = rss_kib();
    let start = Instant::now();
    let rt_addr = rt as usize;
    let threads: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                let name = CString::new("scripts.sink.CallHost").unwrap();
                let mut lost = 0u64;
                for _ in 0..total / 2 {
                    lost += u64::from(!call_host(rt_addr as *mut yaowasm_runtime, &name));
                }
                lost
            })
        })
        .collect();
    let lost: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let elapsed = start.elapsed();
    let after = rss_kib();
    println!(
        "calls: {total} exec calls over 2 threads in {:.1} s ({:.0} calls/s, {:.1} µs each per thread), {} process callbacks served",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 2e6 / total as f64,
        served.load(Ordering::Relaxed)
    );
    report.lost("calls", total, lost);
    report.rss("calls", before, after);
    unsafe { yaowasm_runtime_free(rt) };
}

fn cycles(report: &mut Report) {
    let total: usize = std::env::var("SOAK_CYCLES").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sink.wasm", &wasm(&sink_wat()));
    let name = CString::new("scripts.sink.CallHost").unwrap();
    let served = Box::new(AtomicU64::new(0));
    let mut lost = 0u64;
    let mut cycle = || {
        let rt = c_runtime(dir.path());
        unsafe { yaowasm_runtime_set_process_handler(rt, Some(echo_handler), &*served as *const AtomicU64 as *mut c_void) };
        lost += u64::from(!call_host(rt, &name));
        unsafe { yaowasm_runtime_free(rt) };
    };
    for _ in 0..20 {
        cycle();
    }
    let (rss, fds, threads, vm) = (rss_kib(), count("/proc/self/fd"), count("/proc/self/task"), status_kib("VmSize:"));
    let start = Instant::now();
    for _ in 0..total {
        cycle();
    }
    let elapsed = start.elapsed();
    let (rss2, fds2, threads2, vm2) = (rss_kib(), count("/proc/self/fd"), count("/proc/self/task"), status_kib("VmSize:"));
    println!("cycles: {total} create/load/exec/free cycles in {:.1} s", elapsed.as_secs_f64());
    println!("cycles: open fds {fds} -> {fds2}, threads {threads} -> {threads2}, VmSize {vm} -> {vm2} KiB");
    report.failed |= fds2 > fds || threads2 > threads || vm2 > vm + (vm / 20);
    report.lost("cycles", total as u64, lost);
    report.rss("cycles", rss, rss2);
}

fn reload(report: &mut Report) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "v.wasm", &wasm(&versioned_wat(1, 10_000)));
    let rt = Runtime::from_json(None).unwrap();
    rt.load_dir(dir.path()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..2)
        .map(|_| {
            let (rt, stop) = (rt.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut run, mut lost, mut seen) = (0u64, 0u64, [0u64; 3]);
                while !stop.load(Ordering::Relaxed) {
                    run += 1;
                    match rt.exec("scripts.v.Version", &[]) {
                        Ok(v) if v == [1] || v == [2] => seen[v[0] as usize] += 1,
                        _ => lost += 1,
                    }
                }
                (run, lost, seen)
            })
        })
        .collect();
    let reloads = 500;
    let start = Instant::now();
    for i in 0..reloads {
        write(dir.path(), "v.wasm", &wasm(&versioned_wat(1 + (i % 2) as u8, 10_000)));
        assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 1);
    }
    stop.store(true, Ordering::Relaxed);
    let (mut run, mut lost, mut seen) = (0, 0, [0u64; 3]);
    for t in callers {
        let (r, l, s) = t.join().unwrap();
        run += r;
        lost += l;
        (0..3).for_each(|i| seen[i] += s[i]);
    }
    println!(
        "reload: {reloads} reloads in {:.1} s while 2 threads called; answers v1 {} / v2 {}",
        start.elapsed().as_secs_f64(),
        seen[1],
        seen[2]
    );
    report.failed |= seen[1] == 0 || seen[2] == 0;
    report.lost("reload", run, lost);
}

fn unload(report: &mut Report) {
    let dir = tempfile::tempdir().unwrap();
    // Long enough to be surely in flight after 20 ms.
    write(dir.path(), "v.wasm", &wasm(&versioned_wat(1, 100_000_000)));
    let rt = Runtime::from_json(Some(r#"{"timeout_ms": 20000}"#)).unwrap();
    let rounds = 50;
    let (mut lost, mut refused) = (0u64, 0u64);
    for _ in 0..rounds {
        rt.load_dir(dir.path()).unwrap();
        let call = {
            let rt = rt.clone();
            std::thread::spawn(move || rt.exec("scripts.v.Version", &[]))
        };
        std::thread::sleep(Duration::from_millis(20));
        rt.unload("v").unwrap();
        refused += u64::from(rt.exec("scripts.v.Version", &[]).map_err(|e| e.code()) == Err(404));
        lost += u64::from(call.join().unwrap().ok() != Some(vec![1]));
    }
    println!("unload: {rounds} unloads mid-call; calls after unload answered 404: {refused}/{rounds}");
    report.failed |= refused != rounds;
    report.lost("unload", rounds, lost);
}

fn main() {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        eprintln!("note: RUST_BACKTRACE is set; unset it for figures comparable with RELIABILITY.md");
    }
    // `cargo bench` passes --bench; anything else names phases.
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |phase: &str| wanted.is_empty() || wanted.iter().any(|w| w == phase);
    let mut report = Report { failed: false };
    println!("soak: RSS at start {} KiB", rss_kib());
    if run("calls") {
        calls(&mut report);
    }
    if run("cycles") {
        cycles(&mut report);
    }
    if run("reload") {
        reload(&mut report);
    }
    if run("unload") {
        unload(&mut report);
    }
    if report.failed {
        println!("soak: FAILED");
        std::process::exit(1);
    }
    println!("soak: ok");
}
