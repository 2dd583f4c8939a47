//! Pre-initialization (docs/ABI.md §2, src/runtime/preinit.rs) with a real
//! Go guest (tests/guests/go-preinit, built here with the machine's Go):
//! the Go runtime starts once, at load, and yet every call has random
//! numbers, map orders and a clock of its own.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};
use yaowasm::{LogLevel, Runtime};

/// Builds the guest (with `tags`) once per test binary run into `out`.
fn build_guest(tags: &str, out: &Path) -> PathBuf {
    let guest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests/go-preinit");
    let wasm = out.join(format!("fresh{tags}.wasm"));
    let status = Command::new(std::env::var("YAOWASM_GO").unwrap_or_else(|_| "go".into()))
        .current_dir(&guest)
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .args(["build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s"])
        .args(if tags.is_empty() { vec![] } else { vec!["-tags", tags] })
        .arg("-o")
        .arg(&wasm)
        .arg(".")
        .status()
        .expect("Go (>= 1.24) must be on PATH to build tests/guests/go-preinit");
    assert!(status.success(), "go build of tests/guests/go-preinit failed");
    wasm
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64
}

fn runtime(cache: Option<&Path>) -> Runtime {
    let config = match cache {
        Some(dir) => serde_json::json!({"timeout_ms": 10000, "cache_dir": dir}),
        None => serde_json::json!({"timeout_ms": 10000}),
    };
    Runtime::from_json(Some(&config.to_string())).unwrap()
}

struct Seen {
    rand: i64,
    now: i64,
    initialized: i64,
    since_init: i64,
    first_key: i64,
}

fn fresh(rt: &Runtime) -> Seen {
    let out = common::json(&rt.exec("scripts.fresh.Fresh", &common::mp(&serde_json::json!([]))).unwrap());
    let field = |name: &str| out[name].as_i64().unwrap_or_else(|| panic!("{name} in {out}"));
    Seen {
        rand: field("rand"),
        now: field("now_unix_nano"),
        initialized: field("initialized_unix_nano"),
        since_init: field("since_init_ns"),
        first_key: field("first_key"),
    }
}

fn not_preinitialized(logs: &[(LogLevel, String)]) -> Vec<String> {
    logs.iter().filter(|(level, m)| *level == LogLevel::Warn && m.contains("not pre-initialized")).map(|(_, m)| m.clone()).collect()
}

#[test]
fn a_go_script_starts_once_and_every_call_still_has_its_own_random_numbers_and_clock() {
    let out = tempfile::tempdir().unwrap();
    let wasm = build_guest("", out.path());
    let rt = runtime(None);
    let logs = common::capture_logs(&rt);
    let before_load = now_ns();
    rt.load_file(&wasm, Some("fresh")).unwrap();
    let loaded = now_ns();
    assert_eq!(not_preinitialized(&logs.lock().unwrap()), Vec::<String>::new());

    let mut rands = HashSet::new();
    let mut first_keys = HashSet::new();
    let mut initialized = HashSet::new();
    for _ in 0..1000 {
        let before = now_ns();
        let seen = fresh(&rt);
        let after = now_ns();
        rands.insert(seen.rand);
        first_keys.insert(seen.first_key);
        initialized.insert(seen.initialized);
        // The guest's wall clock is the host's, read during the call.
        assert!(before - 1_000_000 <= seen.now && seen.now <= after + 1_000_000, "time.Now() {} not in [{before}, {after}]", seen.now);
        // The monotonic clock ran forward since the load, as the wall did.
        let wall = seen.now - seen.initialized;
        assert!(seen.since_init > 0 && (seen.since_init - wall).abs() < 50_000_000, "monotonic {} vs wall {wall}", seen.since_init);
    }
    // Package initialization ran once, at load, not in the calls...
    assert_eq!(initialized.len(), 1, "initialized at {initialized:?}");
    let at = *initialized.iter().next().unwrap();
    assert!(before_load <= at && at <= loaded);
    // ...and yet no two calls drew the same number, and map iteration
    // order still varies.
    assert_eq!(rands.len(), 1000, "rand.Int63() repeated across calls");
    assert!(first_keys.len() > 1, "every call iterated its map from key {first_keys:?}");
}

#[test]
fn the_cached_preinitialized_module_gives_each_runtime_fresh_numbers_too() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let wasm = build_guest("", out.path());
    let mut rands = HashSet::new();
    let mut initialized = HashSet::new();
    for _ in 0..2 {
        // The second runtime loads the same snapshot from the cache: the
        // same memory, down to the runtime's random state at load.
        let rt = runtime(Some(cache.path()));
        let logs = common::capture_logs(&rt);
        rt.load_file(&wasm, Some("fresh")).unwrap();
        assert_eq!(not_preinitialized(&logs.lock().unwrap()), Vec::<String>::new());
        for _ in 0..100 {
            let seen = fresh(&rt);
            assert!(rands.insert(seen.rand), "a number came twice");
            initialized.insert(seen.initialized);
        }
    }
    assert_eq!(initialized.len(), 1, "the second runtime made its own snapshot instead of using the cached one");
}

#[test]
fn an_initialization_that_calls_yao_is_not_snapshotted_and_runs_in_every_call() {
    let out = tempfile::tempdir().unwrap();
    let wasm = build_guest("yao_init_logs", out.path());
    let rt = runtime(None);
    let logs = common::capture_logs(&rt);
    rt.load_file(&wasm, Some("fresh")).unwrap();
    let warned = not_preinitialized(&logs.lock().unwrap());
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains("fresh") && warned[0].contains("yao"), "{}", warned[0]);
    logs.lock().unwrap().clear();
    let (a, b) = (fresh(&rt), fresh(&rt));
    assert_ne!(a.initialized, b.initialized, "package init ran once, not per call");
    assert_ne!(a.rand, b.rand);
    let inits = logs.lock().unwrap().iter().filter(|(_, m)| m.contains("initializing")).count();
    assert_eq!(inits, 2, "init's yao.Log once per call");
}

/// A WAT guest whose `_initialize` adds 1 to a counter and `yao_preinit`
/// adds 10, then runs `preinit_tail` (its result is yao_preinit's);
/// `Count` returns the counter: 11 when the call starts from the snapshot,
/// 1 when it ran `_initialize` itself.
fn counter_wat(init_tail: &str, preinit_tail: &str) -> Vec<u8> {
    common::wasm(&format!(
        r#"(module
          (memory (export "memory") 1)
          {alloc}
          {pack}
          (global $count (mut i32) (i32.const 0))
          (func (export "_initialize")
            (global.set $count (i32.add (global.get $count) (i32.const 1)))
            {init_tail})
          (func (export "yao_preinit") (result i32)
            (global.set $count (i32.add (global.get $count) (i32.const 10)))
            {preinit_tail})
          (func (export "Count") (param i32 i32) (result i64)
            (i32.store8 (i32.const 1024) (global.get $count))
            (call $pack (i32.const 1024) (i32.const 1))))"#,
        alloc = common::ALLOC,
        pack = common::PACK,
    ))
}

/// Loads `wasm` as script `counter`; returns what Count answers (or its
/// error code) and the pre-initialization warnings.
fn load_counter(wasm: &[u8], config: serde_json::Value) -> (Result<i64, i32>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let file = common::write(dir.path(), "counter.wasm", wasm);
    let rt = Runtime::from_json(Some(&config.to_string())).unwrap();
    let logs = common::capture_logs(&rt);
    rt.load_file(&file, Some("counter")).unwrap();
    let answer = rt.exec("scripts.counter.Count", &common::mp(&serde_json::json!([]))).map(|out| common::json(&out).as_i64().unwrap());
    let warned = not_preinitialized(&logs.lock().unwrap());
    (answer.map_err(|e| e.code()), warned)
}

#[test]
fn a_call_starts_from_the_state_yao_preinit_left() {
    let (answer, warned) = load_counter(&counter_wat("", "(i32.const 1)"), serde_json::json!({}));
    assert_eq!((answer, warned), (Ok(11), vec![]));
}

#[test]
fn a_guest_that_declines_or_traps_runs_initialize_in_every_call() {
    for (tail, reason) in [("(i32.const 0)", "returned 0"), ("unreachable", "unreachable")] {
        let (answer, warned) = load_counter(&counter_wat("", tail), serde_json::json!({}));
        assert_eq!(answer, Ok(1), "{tail}");
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(warned[0].contains("counter") && warned[0].contains(reason), "{}", warned[0]);
    }
}

#[test]
fn an_initialization_that_never_ends_is_cut_at_load_and_times_out_per_call() {
    let started = std::time::Instant::now();
    let (answer, warned) = load_counter(&counter_wat("(loop $l (br $l))", "(i32.const 1)"), serde_json::json!({"timeout_ms": 200}));
    // Cut after max(timeout_ms, 5 s): the load does not hang.
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(answer, Err(408));
}

#[test]
fn a_snapshot_is_cached_per_wasi_sandbox_since_go_records_the_preopens_at_init() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let wasm = build_guest("", out.path());
    // Two runtimes share a cache folder but not their preopened folders:
    // the first one's snapshot knows only /a, so the second needs its own.
    for (guest, text) in [("/a", "from a"), ("/b", "from b")] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("note.txt"), text).unwrap();
        let config = serde_json::json!({"timeout_ms": 10000, "cache_dir": cache.path(), "wasi": {"preopen": {guest: dir.path()}}});
        let rt = Runtime::from_json(Some(&config.to_string())).unwrap();
        rt.load_file(&wasm, Some("fresh")).unwrap();
        let read = rt.exec("scripts.fresh.ReadFile", &common::mp(&serde_json::json!([format!("{guest}/note.txt")])));
        assert_eq!(common::json(&read.unwrap_or_else(|e| panic!("{guest}: {e}"))), serde_json::json!(text));
    }
}
