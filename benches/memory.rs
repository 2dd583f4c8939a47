//! Memory per in-flight call: the RSS a call costs while it is parked in a
//! host callback, for the example app's `user.BeforeSave` in every guest
//! language that is built (it calls the process `models.user.Find`, which
//! this bench's handler holds until every call has arrived).
//!
//! Then what a module costs a second engine shard (`engine_shards`): the
//! growth when its first call on CPU 1 copies it into that CPU's engine.
//!
//! Run: `env -u RUST_BACKTRACE cargo bench --bench memory` (release).
//! `MEMORY_BENCH_CALLS` (default 1000, the pool's instance count) and
//! `MEMORY_BENCH_ROUNDS` (default 3) change the sizes.
//!
//! Each round, per language, makes a fresh runtime (cold pool slots: a slot
//! a call has used keeps its pages resident for the next one, so a warm
//! runtime would hide what a burst costs), loads the module, and measures
//! resident memory (/proc/self/statm) and private memory (smaps_rollup)
//! before the calls start and once all of them are parked. The same number of threads parked on the same gate
//! without any wasm is the baseline measured in the same round: what a
//! thread costs is subtracted, what is left is the call (its instance, its
//! linear memory pages, the store and the runtime's per-call state).

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const STACK: usize = 4 << 20;

/// Where the parked calls wait.
#[derive(Default)]
struct Gate {
    arrived: AtomicUsize,
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn park(&self) {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    fn wait_for(&self, n: usize) {
        let start = Instant::now();
        while self.arrived.load(Ordering::SeqCst) < n {
            assert!(start.elapsed() < Duration::from_secs(120), "only {} of {n} calls arrived", self.arrived.load(Ordering::SeqCst));
            thread::sleep(Duration::from_millis(2));
        }
        // Let the last arrivals finish what they touch on the way in.
        thread::sleep(Duration::from_millis(50));
    }

    fn release(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// Resident memory, and the part of it no other mapping shares.
#[derive(Clone, Copy)]
struct Mem {
    rss: u64,
    private: u64,
}

impl Mem {
    fn now() -> Mem {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let resident: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        Mem { rss: resident * 4096, private: private_bytes() }
    }

    fn grown_since(self, before: Mem) -> Mem {
        Mem { rss: self.rss.saturating_sub(before.rss), private: self.private.saturating_sub(before.private) }
    }
}

/// Private_Clean + Private_Dirty of /proc/self/smaps_rollup. RSS counts a
/// page once per mapping of it: a pre-initialized module's image, mapped
/// copy-on-write into every instance slot, is counted in RSS by every call
/// that reads a page of it, though the machine holds it once.
fn private_bytes() -> u64 {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap();
    rollup
        .lines()
        .filter(|l| l.starts_with("Private_Clean:") || l.starts_with("Private_Dirty:"))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024)
        .sum()
}

/// Memory growth with `n` threads parked on a gate, no wasm.
fn threads_only(n: usize) -> Mem {
    let gate = Arc::new(Gate::default());
    let before = Mem::now();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let gate = gate.clone();
            thread::Builder::new().stack_size(STACK).spawn(move || gate.park()).unwrap()
        })
        .collect();
    gate.wait_for(n);
    let grown = Mem::now().grown_since(before);
    gate.release();
    handles.into_iter().for_each(|h| h.join().unwrap());
    grown
}

/// Memory growth with `n` calls of `process` parked in the host callback.
fn parked_calls(scripts: &Path, cache: &Path, lang: &str, n: usize) -> Mem {
    let config = serde_json::json!({"cache_dir": cache, "timeout_ms": 120_000}).to_string();
    let rt = yaowasm::Runtime::from_json(Some(&config)).unwrap();
    rt.load_file(scripts.join(lang).join("user.wasm"), Some(&format!("{lang}.user"))).unwrap();
    let gate = Arc::new(Gate::default());
    let found = rmp_serde::to_vec_named(&serde_json::json!({"id": 7, "name": "Ada", "email": "ada@example.com"})).unwrap();
    let handler_gate = gate.clone();
    rt.set_process_handler(Some(Arc::new(move |name: &str, _args: &[u8]| {
        assert_eq!(name, "models.user.Find");
        handler_gate.park();
        Ok(found.clone())
    })));
    let process = format!("scripts.{lang}.user.BeforeSave");
    let args = rmp_serde::to_vec_named(&serde_json::json!([{"id": 7, "age": 36}])).unwrap();
    // One call first, so the runtime's one-time state (the JS engine's
    // program, lazily made tables) is not counted as the calls'.
    let warm = gate.clone();
    let (rt2, p2, a2) = (rt.clone(), process.clone(), args.clone());
    let first = thread::Builder::new().stack_size(STACK).spawn(move || rt2.exec(&p2, &a2)).unwrap();
    warm.wait_for(1);
    warm.release();
    first.join().unwrap().unwrap_or_else(|e| panic!("{process}: {e}"));
    let gate = Arc::new(Gate::default());
    let handler_gate = gate.clone();
    let found = rmp_serde::to_vec_named(&serde_json::json!({"id": 7, "name": "Ada", "email": "ada@example.com"})).unwrap();
    rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| {
        handler_gate.park();
        Ok(found.clone())
    })));

    let before = Mem::now();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (rt, process, args) = (rt.clone(), process.clone(), args.clone());
            thread::Builder::new().stack_size(STACK).spawn(move || rt.exec(&process, &args)).unwrap()
        })
        .collect();
    gate.wait_for(n);
    let grown = Mem::now().grown_since(before);
    gate.release();
    for h in handles {
        h.join().unwrap().unwrap_or_else(|e| panic!("{process}: {e}"));
    }
    grown
}

/// Runs `f` on a thread pinned to `cpu`, so that its calls take that CPU's
/// engine shard.
fn on_cpu<T: Send>(cpu: usize, f: impl FnOnce() -> T + Send) -> T {
    thread::scope(|scope| {
        scope
            .spawn(move || {
                common::pin_to_cpu(cpu);
                f()
            })
            .join()
            .unwrap()
    })
}

/// What a module costs a second engine shard: memory growth when the first
/// call on CPU 1 copies it (machine code and memory image) into that CPU's
/// engine and warms a slot there, after a call on CPU 0.
fn second_shard(scripts: &Path, cache: &Path, lang: &str) -> (Mem, Duration, Duration) {
    let config = serde_json::json!({"cache_dir": cache, "timeout_ms": 120_000, "engine_shards": 2}).to_string();
    let rt = yaowasm::Runtime::from_json(Some(&config)).unwrap();
    rt.load_file(scripts.join(lang).join("user.wasm"), Some(&format!("{lang}.user"))).unwrap();
    let process = format!("scripts.{lang}.user.Check");
    let args = rmp_serde::to_vec_named(&serde_json::json!([{"name": "Ada", "email": "ada@example.com", "age": 36}])).unwrap();
    let call = || rt.exec(&process, &args).unwrap_or_else(|e| panic!("{process}: {e}"));
    on_cpu(0, call);
    let before = Mem::now();
    let first = Instant::now();
    on_cpu(1, call);
    let first = first.elapsed();
    let grown = Mem::now().grown_since(before);
    let again = Instant::now();
    on_cpu(1, call);
    (grown, first, again.elapsed())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let env = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let calls = env("MEMORY_BENCH_CALLS", 1000);
    let rounds = env("MEMORY_BENCH_ROUNDS", 3);
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/app/scripts");
    let cache = tempfile::tempdir().unwrap();
    let langs: Vec<&str> =
        ["c", "assemblyscript", "rust", "go", "ts"].into_iter().filter(|l| scripts.join(l).join("user.wasm").exists()).collect();

    let (mut rss, mut private): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (vec![Vec::new(); langs.len()], vec![Vec::new(); langs.len()]);
    let (mut thread_rss, mut thread_private) = (Vec::new(), Vec::new());
    let per = |bytes: u64| bytes as f64 / calls as f64;
    for round in 0..rounds {
        let threads = threads_only(calls);
        thread_rss.push(per(threads.rss));
        thread_private.push(per(threads.private));
        for (i, lang) in langs.iter().enumerate() {
            let grown = parked_calls(&scripts, cache.path(), lang, calls);
            rss[i].push(per(grown.rss) - per(threads.rss));
            private[i].push(per(grown.private) - per(threads.private));
            eprintln!(
                "round {}: {lang}: {:.0} KiB RSS, {:.0} KiB private per parked call ({:.0} / {:.0} KiB with its thread)",
                round + 1,
                (per(grown.rss) - per(threads.rss)) / 1024.0,
                (per(grown.private) - per(threads.private)) / 1024.0,
                per(grown.rss) / 1024.0,
                per(grown.private) / 1024.0
            );
        }
    }
    println!("\nmemory per in-flight call, {calls} calls parked in a host callback, median of {rounds} rounds");
    println!(
        "baseline: a parked thread without wasm, {:.1} KiB RSS, {:.1} KiB private (subtracted)",
        median(thread_rss) / 1024.0,
        median(thread_private) / 1024.0
    );
    println!("| language | module | RSS per call | private per call |");
    println!("|---|---:|---:|---:|");
    for (i, lang) in langs.iter().enumerate() {
        let size = std::fs::metadata(scripts.join(lang).join("user.wasm")).unwrap().len();
        println!("| {lang} | {size} B | {:.0} KiB | {:.0} KiB |", median(rss[i].clone()) / 1024.0, median(private[i].clone()) / 1024.0);
    }
    if thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return;
    }
    println!("\nwhat a module costs a second engine shard (its first call on CPU 1, after one on CPU 0), median of {rounds} rounds");
    println!("| language | RSS | private | that first call (with its thread) | the next call on CPU 1 |");
    println!("|---|---:|---:|---:|---:|");
    for lang in &langs {
        let (mut rss, mut private, mut first, mut next) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let (grown, first_call, next_call) = second_shard(&scripts, cache.path(), lang);
            rss.push(grown.rss as f64);
            private.push(grown.private as f64);
            first.push(first_call.as_secs_f64() * 1e3);
            next.push(next_call.as_secs_f64() * 1e3);
        }
        println!(
            "| {lang} | {:.0} KiB | {:.0} KiB | {:.2} ms | {:.3} ms |",
            median(rss) / 1024.0,
            median(private) / 1024.0,
            median(first),
            median(next)
        );
    }
}
