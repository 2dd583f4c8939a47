//! Calls per second with 1, 2 and 4 threads calling at once (issue 19, Must
//! 4): the 64-byte echo through yaowasm, raw wasmtime's pooled
//! instantiate+call of the same module (the same-run baseline, with
//! wasmtime's default reset and with yaowasm's PAGEMAP_SCAN reset, and the
//! latter with one engine per thread), the echo through a runtime with
//! `engine_shards: 1` and through one runtime per thread, and the
//! example app's `user.Check` in every guest language that is built. A
//! fresh instance per call throughout. Rounds are interleaved (every
//! workload and thread count once per round) so a noisy moment hits all
//! rows alike; the report gives the median of the rounds.
//! Run: `env -u RUST_BACKTRACE cargo bench --bench scale` (SCALE_ROUNDS,
//! default 5; SCALE_MS per measurement, default 500; SCALE_ONLY, a
//! substring of the workload names to run; SCALE_THREADS, one thread count
//! for every column, for a profile under `perf record -g`).
//!
//! Besides calls per second each row gives the CPU time the calling threads
//! got per wall second and their voluntary context switches: on a shared
//! 2-core machine two threads rarely get two full CPUs, and a lock that
//! puts threads to sleep shows as switches, cache-line contention as CPU
//! spent without more calls.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/raw.rs"]
mod raw;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

type Call = Box<dyn Fn() + Sync>;

/// One raw instantiate+call of the sink's `Echo`.
fn raw_echo_once(engine: &wasmtime::Engine, pre: &wasmtime::InstancePre<()>) {
    let mut store = wasmtime::Store::new(engine, ());
    let instance = pre.instantiate(&mut store).unwrap();
    let echo = instance.get_typed_func::<(i32, i32), i64>(&mut store, "Echo").unwrap();
    echo.call(&mut store, (4096, 64)).unwrap();
}

fn raw_echo(pagemap: bool) -> Call {
    // 1000 slots as src/runtime/engine.rs POOL_INSTANCES: wasmtime shards
    // its slot allocator (one lock per CPU) only from 128 slots, so the 100
    // of benches/exec.rs would measure one lock shared by every thread.
    let (engine, pre) = raw::raw_sink(&raw::raw_pooled_config(1000, pagemap), &common::wasm(&common::sink_wat()));
    Box::new(move || raw_echo_once(&engine, &pre))
}

/// A workload that gives each calling thread one of `shards` (up to 4) of
/// its own. Threads are new in every measurement and take consecutive
/// shards, so two or four threads at once never share one (each thread
/// runs one workload, so one thread-local serves them all).
fn per_thread<S: Send + Sync + 'static>(shards: Vec<S>, call: impl Fn(&S) + Sync + 'static) -> Call {
    thread_local! { static SHARD: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) }; }
    let next = AtomicUsize::new(0);
    Box::new(move || {
        let shard = SHARD.with(|s| {
            let shard = s.get().unwrap_or_else(|| next.fetch_add(1, Ordering::Relaxed) % shards.len());
            s.set(Some(shard));
            shard
        });
        call(&shards[shard])
    })
}

/// `raw_echo(true)` with one engine per calling thread: each thread has
/// its own type registry, module registration and instance pool, so what
/// the threads share per call is the process (its address space, the
/// pagemap file). How far sharding engines would take yaowasm.
fn raw_echo_engine_per_thread(pagemap: bool) -> Call {
    let wasm = common::wasm(&common::sink_wat());
    let shards = (0..4).map(|_| raw::raw_sink(&raw::raw_pooled_config(1000, pagemap), &wasm)).collect();
    per_thread(shards, |(engine, pre)| raw_echo_once(engine, pre))
}

/// The yaowasm echo with one runtime (so one engine) per calling thread,
/// as `raw_echo_engine_per_thread`: whether anything of yaowasm's own
/// would still be shared if its runtime sharded its engine.
fn yaowasm_echo_runtime_per_thread(args: Vec<u8>) -> Call {
    let runtimes = (0..4).map(|_| common::sink_runtime(r#"{"engine_shards":1}"#)).collect();
    per_thread(runtimes, move |(rt, _dir)| {
        rt.exec("scripts.sink.Echo", &args).unwrap();
    })
}

/// What one measurement saw: calls per second, the CPU time the calling
/// threads got per wall second (at most min(threads, CPUs); less means they
/// waited: for a lock or for a CPU another process held), and the voluntary
/// context switches per 1,000 calls (a thread that blocks in the kernel,
/// e.g. on a futex or on the address space's lock, switches voluntarily).
#[derive(Clone, Copy, Default)]
struct Sample {
    calls_per_s: f64,
    cpus: f64,
    vcsw_per_k: f64,
}

fn thread_cpu_and_vcsw() -> (f64, i64) {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        libc::getrusage(libc::RUSAGE_THREAD, &mut ru);
    }
    (ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9, ru.ru_nvcsw)
}

/// Runs `call` on `threads` threads for `window`.
fn measure(call: &Call, threads: usize, window: Duration) -> Sample {
    let calls = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let start = Barrier::new(threads + 1);
    let used = std::sync::Mutex::new((0.0f64, 0i64));
    let t0 = std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                start.wait();
                let (cpu0, vcsw0) = thread_cpu_and_vcsw();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    call();
                    n += 1;
                }
                let (cpu1, vcsw1) = thread_cpu_and_vcsw();
                calls.fetch_add(n, Ordering::Relaxed);
                let mut u = used.lock().unwrap();
                u.0 += cpu1 - cpu0;
                u.1 += vcsw1 - vcsw0;
            });
        }
        start.wait();
        let t0 = Instant::now();
        std::thread::sleep(window);
        stop.store(true, Ordering::Relaxed);
        t0
    });
    // Calls in flight when `stop` was set finish after the window: count
    // the time until the last thread is done.
    let elapsed = t0.elapsed().as_secs_f64();
    let n = calls.load(Ordering::Relaxed) as f64;
    let (cpu, vcsw) = *used.lock().unwrap();
    Sample { calls_per_s: n / elapsed, cpus: cpu / elapsed, vcsw_per_k: vcsw as f64 * 1000.0 / n.max(1.0) }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    // cargo bench passes `--bench`; nothing to parse.
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let rounds = env("SCALE_ROUNDS", 5) as usize;
    let window = Duration::from_millis(env("SCALE_MS", 500));
    let only = std::env::var("SCALE_ONLY").unwrap_or_default();

    let args = common::mp(
        &serde_json::json!([{"id": 42, "name": "Ada Lovelace", "email": "ada@example.com", "ok": true, "role": "admin", "n": 7}]),
    );
    let (sink, _dir) = common::sink_runtime("{}");
    let (app, _cache) = common::example_app_runtime();
    let check_args = rmp_serde::to_vec(&serde_json::json!([{"name": "Ada", "email": "ada@example.com", "age": 36}])).unwrap();

    let mut workloads: Vec<(String, Call)> = vec![
        ("raw_wasmtime_echo_default_reset".into(), raw_echo(false)),
        ("raw_wasmtime_echo_pagemap_reset".into(), raw_echo(true)),
        ("raw_wasmtime_echo_pagemap_reset_engine_per_thread".into(), raw_echo_engine_per_thread(true)),
        ("raw_wasmtime_echo_default_reset_engine_per_thread".into(), raw_echo_engine_per_thread(false)),
        ("yaowasm_echo_64B".into(), {
            let (rt, args) = (sink.clone(), args.clone());
            Box::new(move || {
                rt.exec("scripts.sink.Echo", &args).unwrap();
            })
        }),
        ("yaowasm_echo_64B_one_engine".into(), {
            let (rt, _dir) = common::sink_runtime(r#"{"engine_shards":1}"#);
            let args = args.clone();
            Box::new(move || {
                let _keep = &_dir;
                rt.exec("scripts.sink.Echo", &args).unwrap();
            })
        }),
        ("yaowasm_echo_64B_runtime_per_thread".into(), yaowasm_echo_runtime_per_thread(args.clone())),
    ];
    let mut ids: Vec<String> = app.list().into_iter().map(|i| i.id).filter(|id| id.ends_with(".user")).collect();
    ids.sort();
    for id in ids {
        let name = format!("scripts.{id}.Check");
        let (rt, args) = (app.clone(), check_args.clone());
        rt.exec(&name, &args).unwrap_or_else(|e| panic!("{name}: {e}"));
        workloads.push((
            format!("user_check_{}", id.trim_end_matches(".user")),
            Box::new(move || {
                rt.exec(&name, &args).unwrap();
            }),
        ));
    }
    workloads.retain(|(label, _)| label.contains(&only));

    // SCALE_THREADS=2 (for a profile) runs the 2-thread rows only; the
    // report then still names its columns 1t/2t/4t.
    let threads: Vec<usize> = match std::env::var("SCALE_THREADS") {
        Ok(t) => vec![t.parse().unwrap(); 3],
        Err(_) => vec![1, 2, 4],
    };
    let mut results: Vec<Vec<Vec<Sample>>> = vec![vec![Vec::new(); threads.len()]; workloads.len()];
    for (_, call) in &workloads {
        measure(call, 1, Duration::from_millis(100)); // warm-up
    }
    for round in 0..rounds {
        for (w, (_, call)) in workloads.iter().enumerate() {
            for (t, &n) in threads.iter().enumerate() {
                results[w][t].push(measure(call, n, window));
            }
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "scale: {} CPUs, {rounds} rounds of {} ms per row, load average after: {}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        window.as_millis(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!("| workload | 1 thread calls/s | 2 threads | 4 threads | 2t/1t | 4t/1t | 2t/1t by round | µs/call 1t | CPUs used 1t / 2t / 4t | voluntary switches per 1k calls 1t / 2t / 4t | calls/s runs 1t ; 2t |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|");
    for (w, (label, _)) in workloads.iter().enumerate() {
        let runs: Vec<String> =
            results[w][..2].iter().map(|v| v.iter().map(|x| format!("{:.0}", x.calls_per_s)).collect::<Vec<_>>().join(",")).collect();
        let med = |t: usize, f: fn(&Sample) -> f64| median(&mut results[w][t].iter().map(f).collect::<Vec<_>>());
        let m: Vec<f64> = (0..3).map(|t| med(t, |x| x.calls_per_s)).collect();
        let cpus: Vec<String> = (0..3).map(|t| format!("{:.2}", med(t, |x| x.cpus))).collect();
        let vcsw: Vec<String> = (0..3).map(|t| format!("{:.1}", med(t, |x| x.vcsw_per_k))).collect();
        // The 2t/1t ratio of each round, whose two measurements are a
        // second apart: the machine's speed drifts more than that between
        // rounds on a shared host, which the ratio of medians picks up.
        let by_round =
            median(&mut results[w][0].iter().zip(&results[w][1]).map(|(one, two)| two.calls_per_s / one.calls_per_s).collect::<Vec<_>>());
        println!(
            "| {label} | {:.0} | {:.0} | {:.0} | {:.2}× | {:.2}× | {by_round:.2}× | {:.2} | {} | {} | {} |",
            m[0],
            m[1],
            m[2],
            m[1] / m[0],
            m[2] / m[0],
            1e6 / m[0],
            cpus.join(" / "),
            vcsw.join(" / "),
            runs.join(" ; ")
        );
    }
}
