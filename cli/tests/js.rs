//! The JS/TS path: scripts built with `yaowasm_cli::esbuild` (esbuild, then
//! the engine's own compiler) and run by the shared QuickJS engine.
//! Needs scripts/setup.d/30-js.sh (the engine and js/node_modules).

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{capture_logs, json, mp};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yaowasm::{LogLevel, Runtime};

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A runtime sharing one cache folder across the tests of this file, so the
/// engine snapshot is made once.
fn runtime(config: serde_json::Value) -> Runtime {
    let cache = repo().join("target/js-test-cache");
    std::fs::create_dir_all(&cache).unwrap();
    let mut config = config;
    config["cache_dir"] = json!(cache);
    Runtime::from_json(Some(&config.to_string())).unwrap()
}

/// Builds `source` (written as `dir/name`) into `dir/<stem>.wasm`.
fn build(rt: &Runtime, dir: &Path, name: &str, source: &str) -> yaowasm::Result<PathBuf> {
    let src = dir.join(name);
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    std::fs::write(&src, source).unwrap();
    let out = src.with_extension("wasm");
    let esbuild = yaowasm_cli::esbuild::find_esbuild(None)?;
    yaowasm_cli::esbuild::build_file(rt, &esbuild, &src, &out)?;
    Ok(out)
}

fn exec(rt: &Runtime, process: &str, args: serde_json::Value) -> yaowasm::Result<serde_json::Value> {
    rt.exec(process, &mp(&args)).map(|out| json(&out))
}

#[test]
fn example_user_script() {
    let rt = runtime(json!({}));
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(repo().join("examples/app/scripts/ts/user.ts")).unwrap();
    let wasm = build(&rt, dir.path(), "user.ts", &src.replace("../../../../sdk/typescript/types/yao.d.ts", "/dev/null")).unwrap();
    let size = std::fs::metadata(&wasm).unwrap().len();
    // ~6 KB: bytecode of 17 functions, no engine inside.
    assert!(size <= 8 * 1024, "hook is {size} bytes, more than 8 KB");
    rt.load_file(&wasm, Some("ts.user")).unwrap();
    let info = rt.list().into_iter().find(|s| s.id == "ts.user").unwrap();
    assert_eq!(
        info.functions,
        [
            "Add",
            "BeforeSave",
            "Check",
            "Context",
            "Deny",
            "Echo",
            "FsRead",
            "FsRoundTrip",
            "HttpGet",
            "HttpMethods",
            "HttpPost",
            "HttpUpload",
            "Log",
            "Nested",
            "Parallel",
            "Query",
            "StoreRoundTrip"
        ]
    );
    assert_eq!(
        exec(&rt, "scripts.ts.user.Check", json!([{"name": "", "email": "x", "age": 1.5}])).unwrap(),
        json!({"valid": false, "errors": ["name is required", "email is invalid", "age is out of range"]})
    );
    let e = exec(&rt, "scripts.ts.user.Check", json!(["nope"])).unwrap_err();
    assert_eq!((e.code(), e.message()), (400, "payload must be a map"));
    let e = exec(&rt, "scripts.ts.user.Deny", json!([])).unwrap_err();
    assert_eq!((e.code(), e.message()), (403, "denied"));
    assert_eq!(exec(&rt, "scripts.ts.user.Add", json!([2, 40])).unwrap(), json!(42));
    assert_eq!(exec(&rt, "scripts.ts.user.Add", json!([2, "40"])).unwrap_err().code(), 400);
    assert_eq!(exec(&rt, "scripts.ts.user.Nested", json!([{"name": "a", "email": "a@b"}])).unwrap(), json!(true));
    assert_eq!(exec(&rt, "scripts.ts.user.Nope", json!([])).unwrap_err().code(), 404);
}

const SCRIPT: &str = r#"
import { twice } from "./lib/math";

let counter = 0;

export function Bump(): number {
  counter += 1;
  globalThis.leak = (globalThis.leak || 0) + 1;
  return counter * 100 + globalThis.leak;
}

function Twice(n: number): number { return twice(n); }

function Spin(): void { while (true) {} }

function Bomb(): number {
  const keep: string[] = [];
  for (;;) keep.push("x".repeat(1 << 20) + keep.length);
}

function Plain(): void { throw new Error("boom"); }

function Teapot(): void { throw new Exception("short and stout", 418); }

function Relay(id: unknown): unknown {
  try {
    return Process("models.user.Find", id);
  } catch (e: any) {
    throw new Exception(`relayed ${e.code}: ${e.message}`, e.code);
  }
}

function Logs(name: string, n: number): null {
  log.Info("user %s has %d", name, n);
  log.Warn("%v|%5d|%-3s|%.2f|%t|%q", [1, "a"], 7, "x", 3.14159, true, "q");
  log.Error("missing %s %d", "one");
  console.log("console", { a: 1 }, [2]);
  return null;
}

function Values(): unknown {
  return {
    undef: undefined,
    fn: () => 1,
    date: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    big: 2n ** 62n,
    bytes: new Uint8Array([0, 1, 255]),
    list: [undefined, 1.5, -0.0],
  };
}

function Cycle(): unknown { const a: any = {}; a.self = a; return a; }

function Nothing(): void {}

async function Later(x: number): Promise<number> { return (await Promise.resolve(x)) + 1; }
"#;

const LIB: &str = "export function twice(n: number): number { return n * 2; }\n";

fn js_runtime(timeout_ms: u64) -> (Runtime, tempfile::TempDir) {
    let rt = runtime(json!({"timeout_ms": timeout_ms, "max_memory_mb": 64}));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("lib")).unwrap();
    std::fs::write(dir.path().join("lib/math.ts"), LIB).unwrap();
    let wasm = build(&rt, dir.path(), "t.ts", SCRIPT).unwrap_or_else(|e| panic!("build: {e:?}"));
    rt.load_file(&wasm, Some("t")).unwrap();
    rt.set_process_handler(Some(Arc::new(|name: &str, args: &[u8]| {
        assert_eq!(name, "models.user.Find");
        match json(args) {
            serde_json::Value::Array(a) if a == [json!(1)] => Ok(mp(&json!({"id": 1}))),
            _ => Err(yaowasm::Error::new(409, "conflict in host")),
        }
    })));
    (rt, dir)
}

#[test]
fn relative_imports_are_bundled_and_all_top_level_functions_listed() {
    let (rt, _dir) = js_runtime(2000);
    assert_eq!(exec(&rt, "scripts.t.Twice", json!([21])).unwrap(), json!(42));
    let info = rt.list().into_iter().find(|s| s.id == "t").unwrap();
    assert!(info.functions.contains(&"Spin".to_string()) && info.functions.contains(&"Bump".to_string()));
    assert!(!info.functions.contains(&"twice".to_string()), "imported helpers are not script functions");
}

#[test]
fn state_never_survives_a_call() {
    let (rt, _dir) = js_runtime(2000);
    for _ in 0..3 {
        assert_eq!(exec(&rt, "scripts.t.Bump", json!([])).unwrap(), json!(101));
    }
    // The top level ran once, at the first call (the per-script snapshot);
    // each call still started from the state it left.
    assert!(yaowasm::js::script_snapshot_size(&rt, "t").is_some(), "a pure top level is snapshotted");
}

/// Top levels that stay inside the engine: evaluated once at load; what a
/// call does to their objects never reaches the next call.
const PURE_TOP: &str = r#"
const seen: number[] = [];
const table: Record<string, number> = { a: 1 };
class Counter { n = 0; bump() { return ++this.n; } }
const counter = new Counter();
// Grows the engine's memory past its base size at load.
const big = new Array(400000).fill(2);
const day = new Date(Date.UTC(2024, 0, 2)).toISOString();

function Mutate(x: number): unknown {
  seen.push(x);
  table[String(x)] = x;
  big[0] += x;
  delete table.a;
  return { seen, keys: Object.keys(table), n: counter.bump(), big: big[0] + big.length, day };
}

function Random(): number { return Math.random(); }

function Now(): number { return Date.now(); }
"#;

/// Calls on every CPU of a runtime with one engine shard per CPU: each shard
/// gets its copy of the engine at its first call there, and runs the
/// script's snapshot as shard 0 does. (A small top level: the tests of this
/// file run in parallel, and PURE_TOP's first call takes most of a second
/// in a debug build.)
#[test]
fn every_engine_shard_runs_js_scripts_alike() {
    const SMALL_TOP: &str = r#"
const seen: number[] = [];
const table: Record<string, number> = { a: 1 };
function Mutate(x: number): unknown {
  seen.push(x);
  table[String(x)] = x;
  delete table.a;
  return { seen, keys: Object.keys(table) };
}
"#;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    let rt = runtime(json!({"engine_shards": cpus, "timeout_ms": 20000}));
    let dir = tempfile::tempdir().unwrap();
    let wasm = build(&rt, dir.path(), "small.ts", SMALL_TOP).unwrap();
    rt.load_file(&wasm, Some("small")).unwrap();
    let want = json!({"seen": [3], "keys": ["3"]});
    std::thread::scope(|scope| {
        for cpu in 0..cpus {
            let (rt, want) = (&rt, &want);
            scope.spawn(move || {
                // SAFETY: a zeroed cpu_set_t is an empty set; the call gets its size.
                unsafe {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    libc::CPU_SET(cpu, &mut set);
                    assert_eq!(libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set), 0);
                }
                for _ in 0..3 {
                    assert_eq!(&exec(rt, "scripts.small.Mutate", json!([3])).unwrap(), want, "on CPU {cpu}");
                }
            });
        }
    });
    assert!(yaowasm::js::script_snapshot_size(&rt, "small").is_some(), "a pure top level is snapshotted");
}

#[test]
fn a_snapshotted_top_level_never_leaks_a_call_into_the_next() {
    // The first call takes the snapshot under its own budget: ~1 s of a
    // debug build (the diff of 3 MiB of memory), which the 1 s default
    // left to chance on a loaded machine. Semantics, not speed, are tested.
    // Both memory resets (config memory_reset): what a call changed, in
    // the snapshot's pages and past them (PURE_TOP grew the memory), is
    // gone by the next call in that slot.
    for reset in ["fallback", "auto"] {
        let rt = runtime(json!({"timeout_ms": 20000, "memory_reset": reset}));
        let dir = tempfile::tempdir().unwrap();
        let wasm = build(&rt, dir.path(), "pure.ts", PURE_TOP).unwrap();
        rt.load_file(&wasm, Some("pure")).unwrap();
        for x in [5, 7, 5] {
            let want = json!({"seen": [x], "keys": [x.to_string()], "n": 1, "big": 2 + x + 400000, "day": "2024-01-02T00:00:00.000Z"});
            assert_eq!(exec(&rt, "scripts.pure.Mutate", json!([x])).unwrap(), want, "memory_reset {reset}");
        }
        assert!(yaowasm::js::script_snapshot_size(&rt, "pure").is_some(), "a pure top level is snapshotted");
    }
    let rt = runtime(json!({"timeout_ms": 20000}));
    let dir = tempfile::tempdir().unwrap();
    let wasm = build(&rt, dir.path(), "pure.ts", PURE_TOP).unwrap();
    rt.load_file(&wasm, Some("pure")).unwrap();
    // Math.random is seeded in each call, Date reads the clock in each call.
    let randoms: std::collections::BTreeSet<String> =
        (0..50).map(|_| exec(&rt, "scripts.pure.Random", json!([])).unwrap().to_string()).collect();
    assert_eq!(randoms.len(), 50, "every call draws a fresh random sequence");
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let now = exec(&rt, "scripts.pure.Now", json!([])).unwrap().as_i64().unwrap();
    assert!((now - before).abs() < 5_000, "Date.now() is the current time: {now} vs {before}");
}

#[test]
fn a_top_level_that_never_ends_is_408_in_every_call() {
    let rt = runtime(json!({"timeout_ms": 300}));
    let dir = tempfile::tempdir().unwrap();
    let wasm = build(&rt, dir.path(), "spin.ts", "while (true) {}\nfunction Get(): number { return 1; }\n").unwrap();
    rt.load_file(&wasm, Some("spin")).unwrap();
    for _ in 0..2 {
        // The snapshot's probe runs under the first call's deadline: that
        // call still ends in 408 within its timeout, not two.
        let t = std::time::Instant::now();
        assert_eq!(exec(&rt, "scripts.spin.Get", json!([])).unwrap_err().code(), 408);
        assert!(t.elapsed() < std::time::Duration::from_millis(1500), "{:?}", t.elapsed());
    }
    assert_eq!(yaowasm::js::script_snapshot_size(&rt, "spin"), None);
    // The runtime keeps serving: another script's first call (its own
    // snapshot) and the next ones answer.
    let ok = build(&rt, dir.path(), "ok.ts", "const base = 40;\nfunction Get(): number { return base + 2; }\n").unwrap();
    rt.load_file(&ok, Some("ok")).unwrap();
    for _ in 0..2 {
        assert_eq!(exec(&rt, "scripts.ok.Get", json!([])).unwrap(), json!(42));
    }
    assert!(yaowasm::js::script_snapshot_size(&rt, "ok").is_some());
}

#[test]
fn a_top_level_that_reaches_outside_runs_in_every_call() {
    let rt = runtime(json!({}));
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| {
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(mp(&json!(n)))
    })));
    let dir = tempfile::tempdir().unwrap();
    let load = |name: &str, source: &str| {
        let wasm = build(&rt, dir.path(), &format!("{name}.ts"), source).unwrap();
        rt.load_file(&wasm, Some(name)).unwrap();
    };
    load("proc", "const n = Process(\"models.x.Count\");\nfunction Get(): number { return n; }\n");
    load("logs", "log.Info(\"top level\");\nfunction Get(): number { return 1; }\n");
    load("clock", "const t = Date.now();\nfunction Get(): number { return t; }\n");
    load("dice", "const r = Math.random();\nfunction Get(): number { return r; }\n");
    load("throws", "throw new Exception(\"not today\", 409);\nfunction Get(): number { return 1; }\n");

    // Process: called by the top level of each call, as on Yao's V8.
    let before = calls.load(std::sync::atomic::Ordering::SeqCst);
    let a = exec(&rt, "scripts.proc.Get", json!([])).unwrap();
    let b = exec(&rt, "scripts.proc.Get", json!([])).unwrap();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst) - before, 2);
    assert_ne!(a, b);
    // log: one record per call.
    let logs = capture_logs(&rt);
    exec(&rt, "scripts.logs.Get", json!([])).unwrap();
    exec(&rt, "scripts.logs.Get", json!([])).unwrap();
    assert_eq!(logs.lock().unwrap().iter().filter(|(_, m)| m == "top level").count(), 2);
    // Date: the clock of each call.
    let t1 = exec(&rt, "scripts.clock.Get", json!([])).unwrap().as_f64().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let t2 = exec(&rt, "scripts.clock.Get", json!([])).unwrap().as_f64().unwrap();
    assert!(t2 - t1 >= 15.0, "{t1} then {t2}");
    // Math.random: a fresh draw per call.
    assert_ne!(exec(&rt, "scripts.dice.Get", json!([])).unwrap(), exec(&rt, "scripts.dice.Get", json!([])).unwrap());
    // A throw: every call fails with it.
    for _ in 0..2 {
        let e = exec(&rt, "scripts.throws.Get", json!([])).unwrap_err();
        assert_eq!((e.code(), e.message()), (409, "not today"));
    }
    for name in ["proc", "logs", "clock", "dice", "throws"] {
        assert_eq!(yaowasm::js::script_snapshot_size(&rt, name), None, "{name}: its top level must run per call");
    }
}

#[test]
fn infinite_loop_is_408_and_memory_bomb_is_413() {
    let (rt, _dir) = js_runtime(300);
    let t = std::time::Instant::now();
    assert_eq!(exec(&rt, "scripts.t.Spin", json!([])).unwrap_err().code(), 408);
    assert!(t.elapsed() < std::time::Duration::from_secs(3));
    // The bomb needs time to fill 64 MiB: its own runtime, a longer timeout.
    let (bomb, _bomb_dir) = js_runtime(20_000);
    assert_eq!(exec(&bomb, "scripts.t.Bomb", json!([])).unwrap_err().code(), 413);
    // The runtime goes on serving.
    assert_eq!(exec(&rt, "scripts.t.Twice", json!([1])).unwrap(), json!(2));
}

#[test]
fn throws_become_error_results_with_their_code() {
    let (rt, _dir) = js_runtime(2000);
    let e = exec(&rt, "scripts.t.Plain", json!([])).unwrap_err();
    // `Name: message`, then the top frame mapped to the source (t.ts sits
    // in the app root here: no tsconfig.json, no scripts/ folder).
    let (line, text) = SCRIPT.lines().enumerate().find(|(_, l)| l.contains("function Plain")).unwrap();
    let place = format!("t.ts:{}:{}", line + 1, text.find("Error(").unwrap() + 1);
    assert_eq!((e.code(), e.message()), (500, format!("Error: boom (at Plain ({place}))").as_str()));
    let e = exec(&rt, "scripts.t.Teapot", json!([])).unwrap_err();
    assert_eq!((e.code(), e.message()), (418, "short and stout"));
}

#[test]
fn process_errors_keep_their_code() {
    let (rt, _dir) = js_runtime(2000);
    assert_eq!(exec(&rt, "scripts.t.Relay", json!([1])).unwrap(), json!({"id": 1}));
    let e = exec(&rt, "scripts.t.Relay", json!([2])).unwrap_err();
    assert_eq!((e.code(), e.message()), (409, "relayed 409: conflict in host"));
}

#[test]
fn log_verbs_are_go_style() {
    let (rt, _dir) = js_runtime(2000);
    let logs = capture_logs(&rt);
    exec(&rt, "scripts.t.Logs", json!(["ada", 3])).unwrap();
    let logs = logs.lock().unwrap().clone();
    assert_eq!(
        logs,
        vec![
            (LogLevel::Info, "user ada has 3".to_string()),
            (LogLevel::Warn, "[1 a]|    7|x  |3.14|true|\"q\"".to_string()),
            (LogLevel::Error, "missing one %!d(MISSING)".to_string()),
            (LogLevel::Info, "console {\"a\":1} [2]".to_string()),
        ]
    );
}

#[test]
fn return_values_convert_to_yao_values() {
    let (rt, _dir) = js_runtime(2000);
    let out = rt.exec("scripts.t.Values", &mp(&json!([]))).unwrap();
    let v = rmpv::decode::read_value(&mut &out[..]).unwrap();
    let get = |k: &str| v.as_map().unwrap().iter().find(|(key, _)| key.as_str() == Some(k)).map(|(_, v)| v.clone());
    assert_eq!(get("undef"), None);
    assert_eq!(get("fn"), None);
    assert_eq!(get("date"), Some(rmpv::Value::from("2024-01-02T03:04:05.000Z")));
    assert_eq!(get("big"), Some(rmpv::Value::from(1i64 << 62)));
    assert_eq!(get("bytes"), Some(rmpv::Value::Binary(vec![0, 1, 255])));
    assert_eq!(get("list"), Some(rmpv::Value::Array(vec![rmpv::Value::Nil, rmpv::Value::F64(1.5), rmpv::Value::F64(-0.0)])));
    assert_eq!(exec(&rt, "scripts.t.Cycle", json!([])).unwrap_err().code(), 500);
    assert_eq!(exec(&rt, "scripts.t.Nothing", json!([])).unwrap(), json!(null));
    assert_eq!(exec(&rt, "scripts.t.Later", json!([1])).unwrap(), json!(2));
    // Big integers and bytes in: BigInt and Uint8Array, and back unchanged.
    let args = rmpv::Value::Array(vec![rmpv::Value::from(i64::MAX), rmpv::Value::Binary(vec![9, 8])]);
    let mut buf = Vec::new();
    rmpv::encode::write_value(&mut buf, &args).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wasm = build(&rt, dir.path(), "echo.js", "function Echo(...a) { return a; }\n").unwrap();
    rt.load_file(&wasm, Some("echo")).unwrap();
    assert_eq!(rt.exec("scripts.echo.Echo", &buf).unwrap(), buf);
}

#[test]
fn a_hook_for_another_engine_abi_is_a_clear_load_error() {
    let rt = runtime(json!({}));
    let meta = yaowasm::js::HookMeta {
        engine: yaowasm::js::ENGINE_NAME.into(),
        engine_version: yaowasm::js::ENGINE_VERSION.into(),
        abi: yaowasm::js::JS_ABI + 1,
        functions: vec!["Check".into()],
        source: "old.ts".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.wasm");
    std::fs::write(&path, yaowasm::js::write_hook(&meta, b"not bytecode")).unwrap();
    let e = rt.load_file(&path, None).unwrap_err();
    assert_eq!(e.code(), 400);
    let built_for = format!("ABI {}", yaowasm::js::JS_ABI + 1);
    assert!(e.message().contains(&built_for) && e.message().contains("rebuild it with `yaowasm build`"), "{}", e.message());
}

#[test]
fn syntax_errors_name_file_line_col_and_write_nothing() {
    let rt = runtime(json!({}));
    let dir = tempfile::tempdir().unwrap();
    let e = build(&rt, dir.path(), "bad.ts", "function A(): number {\n  return 1 +;\n}\n").unwrap_err();
    assert_eq!(e.code(), 400);
    let src = dir.path().join("bad.ts").display().to_string();
    assert!(e.message().starts_with(&format!("{src}:2:")), "{}", e.message());
    assert!(!dir.path().join("bad.wasm").exists());
}

#[test]
fn a_real_npm_library_is_bundled() {
    let rt = runtime(json!({}));
    let dir = tempfile::tempdir().unwrap();
    let src = r#"
import dayjs from "dayjs";
import { chunk, sortBy } from "lodash-es";
export function Format(iso: string): string { return dayjs(iso).add(1, "day").format("YYYY-MM-DD"); }
function Chunks(list: number[]): number[][] { return chunk(sortBy(list), 2); }
"#;
    let wasm = build(&rt, dir.path(), "npm.ts", src).unwrap_or_else(|e| panic!("build: {e:?}"));
    rt.load_file(&wasm, Some("npm")).unwrap();
    assert_eq!(exec(&rt, "scripts.npm.Format", json!(["2024-02-28T12:00:00Z"])).unwrap(), json!("2024-02-29"));
    assert_eq!(exec(&rt, "scripts.npm.Chunks", json!([[3, 1, 2]])).unwrap(), json!([[1, 2], [3]]));
}

// ---- the host API objects: Store, FS, http, Query (docs/ABI.md §5-§8) ------

const HOST_API: &str = r#"
function Catch(f: () => unknown): unknown {
  try { return f(); } catch (e: any) { return { code: e.code, message: e.message, exception: e instanceof Exception }; }
}

function StoreValues(name: string) {
  const s = new Store(name);
  s.Clear();
  s.Set("big", 2n ** 62n);
  s.Set("raw", new Uint8Array([0, 255]), 60);
  const big = s.Get("big");
  const raw = s.Get("raw");
  const computed = s.GetSet("lazy", (k: string) => k + "!", 30);
  const cached = s.GetSet("lazy", () => { throw new Error("must not run"); });
  return {
    big, raw,
    big_is_bigint: typeof big === "bigint",
    raw_is_bytes: raw instanceof Uint8Array,
    missing: s.Get("missing") === undefined,
    missing_del: s.GetDel("missing") === undefined,
    computed, cached,
    keys: s.Keys(), len: s.Len(), has: s.Has("raw"),
    bad_ttl: Catch(() => s.Set("k", 1, -1)),
    name: s.name,
  };
}

function StoreHost() {
  const s = new Store("hoststore");
  s.Set("a", 1);
  s.Set("b", [2], 60);
  s.Set("c", "x", 2.5);
  s.Get("a");
  s.GetSet("d", "v");
  s.GetSet("e", "w", 5);
  s.GetDel("a");
  s.Del(42 as any);
  return null;
}

function StoreLists() {
  const s = new Store("js-lists");
  s.Clear();
  const pushed = s.Push("l", 1, "two", { three: 3 }, 4n);
  s.AddToSet("l", 1, "five");
  s.Pull("l", "two");
  s.PullAll("l", 9, 10);
  const set = s.ArraySet("l", 0, "one");
  return {
    pushed: pushed === undefined, set: set === undefined,
    all: s.ArrayAll("l"), len: s.ArrayLen("l"), at: s.ArrayGet("l", 1),
    slice: s.ArraySlice("l", 1, 2), page: s.ArrayPage("l", 2, 2),
    last: s.Pop("l", 1), first: s.Pop("l", -1), rest: s.Get("l"),
    empty: Catch(() => s.Pop("none", 1)), past: Catch(() => s.ArrayGet("l", 99)),
    incr: [s.Incr("n"), s.Incr("n", 41), s.Incr("n", 0.5)], incr_bad: Catch(() => s.Incr("l", 1)),
  };
}

function StoreListHost() {
  const s = new Store("hoststore");
  s.Push("q", 1, 2);
  s.PullAll("q", [1, 2]);
  s.Pop(7 as any, -1);
  return null;
}

function StoreUncaught(): unknown { return new Store("broken").Get("x"); }

function StoreNoName(): unknown { return new Store(""); }

function FsAll() {
  const data = new FS("data");
  data.MkdirAll("d/e");
  const bytes = data.WriteFileBuffer("d/e/b.bin", new Uint8Array([0, 1, 255]));
  const buffer = data.ReadFileBuffer("d/e/b.bin");
  data.WriteFile("d/t.txt", "tëxt");
  data.AppendFile("d/t.txt", "+");
  return {
    bytes, buffer, is_bytes: buffer instanceof Uint8Array,
    text: data.ReadFile("d/t.txt"), size: data.Size("d/t.txt"),
    flat: data.ReadDir("d"), tree: data.ReadDir("d", true),
    exists: data.Exists("nope"), is_dir: data.IsDir("d"), is_file: data.IsFile("d"),
    again: Catch(() => data.Mkdir("d")),
    missing: Catch(() => data.Remove("nope")),
    root_default: new FS().name,
  };
}

function FsMore() {
  const data = new FS("data");
  data.MkdirAll("m/src/sub");
  data.WriteFileBase64("m/src/a.bin", "AAH/");
  data.AppendBuffer("m/src/a.bin", new Uint8Array([7]));
  data.WriteFile("m/src/sub/t.txt", "hello world");
  data.InsertFile("m/src/sub/t.txt", 5, ",");
  data.Zip("m/src", "m/out.zip");
  const download = data.Download("m/src/sub/t.txt");
  return {
    b64: data.ReadFileBase64("m/src/a.bin"),
    closer: data.ReadCloser("m/src/a.bin") instanceof Uint8Array,
    text: data.ReadFile("m/src/sub/t.txt"),
    unzipped: data.Unzip("m/out.zip", "m/dst"),
    glob: data.Glob("m/*/sub/*.txt"),
    link: Catch(() => data.IsLink("link_out")),
    mime: data.MimeType("m/out.zip"),
    download: [download.type, download.name, download.size, download.content instanceof Uint8Array],
    abs: data.Abs("m/./src"),
    temp: data.MkdirTemp("m/tmp", "x-*").startsWith("m/tmp/x-"),
    mode: (data.Chmod("m/src/sub/t.txt", 0o600), data.Mode("m/src/sub/t.txt")),
    mtime: typeof data.ModTime("m/src/sub/t.txt"),
    paths: [data.BaseName("a/b/c.txt"), data.DirName("a/b/c.txt"), data.ExtName("a/b/c.tar.gz"), data.BaseName("a/b/"),
      data.DirName("c.txt"), data.DirName("/x"), data.ExtName("a.b/c"), data.BaseName("")],
    slip: Catch(() => data.Glob("../*")),
  };
}

function FsRead(root: string, path: string): string { return new FS(root).ReadFile(path); }

function FsCaught(path: string) { return Catch(() => new FS("data").ReadFile(path)); }

function HttpStream(base: string) {
  const all: string[] = [];
  const full = http.Stream("GET", base + "/lines", (line: string) => { all.push(line); return 1; });
  const some: string[] = [];
  const stopped = http.Stream("post", base + "/lines", (line: string) => { some.push(line); return some.length == 2 ? 0 : 1; }, { x: 1 });
  const aborted = http.Stream("GET", base + "/lines", (line: string) => -1);
  const threw = http.Stream("GET", base + "/lines", (line: string) => { throw new Error("no " + line); });
  const notFn = http.Stream("GET", base + "/lines", "nope" as any);
  return {
    all, full: [full.status, full.code, full.message, full.data, full.headers["content-type"]],
    some, stopped: stopped.code,
    aborted: [aborted.code, aborted.message], threw: [threw.code, threw.message], notFn: notFn.code,
    refused: Catch(() => http.Stream("GET", "http://127.0.0.1:1/x", () => 1)),
  };
}

function HttpAll(base: string) {
  const get = http.Get(base + "/echo", { q: "1", list: ["a", "b"] }, { "X-Token": "t" });
  const post = http.Post(base + "/echo", { a: [1, 2] });
  const text = http.Post(base + "/echo", "plain", null, null, { "Content-Type": "text/x-yao" });
  const bytes = http.Put(base + "/echo", new Uint8Array([104, 105]));
  const sent = http.Send("patch", base + "/echo", { p: true }, { z: 9 });
  const del = http.Delete(base + "/echo");
  const head = http.Head(base + "/echo");
  const binary = http.Get(base + "/bytes");
  return {
    get: get.data, post: post.data, text: text.data, bytes: bytes.data, sent: sent.data, del: del.data,
    head: [head.status, head.data],
    binary: [binary.headers["content-type"], binary.data instanceof Uint8Array, binary.data],
    missing: http.Get(base + "/nope").status,
    refused: Catch(() => http.Get("http://127.0.0.1:1/x")),
    upload: http.Post(base + "/echo", { note: "hi", n: 2 }, { doc: "hello.txt" }, null, { "Content-Type": "text/plain" }).data,
    upload_out: Catch(() => http.Post(base + "/echo", null, { doc: "link_out/secret.txt" })),
    upload_bad: Catch(() => http.Post(base + "/echo", null, { doc: 42 } as any)),
  };
}

function QueryRows(dsl: Record<string, unknown>) {
  const q = new Query();
  return {
    rows: q.Get(dsl),
    bound: new Query("default").Get(dsl, { id: 7 }),
    first: q.First(dsl, null),
    page: new Query("stats").Paginate(dsl),
    run: new Query("stats").Run(dsl, { id: 8 }),
    plain: q.Run(dsl),
  };
}
"#;

type Calls = Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>;

/// A one-request-per-connection HTTP/1.1 server: `/echo` answers the
/// request as JSON, `/bytes` four bytes, anything else 404.
fn echo_server() -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || -> std::io::Result<()> {
                stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line)?;
                let mut words = line.split_whitespace();
                let (method, target) = (words.next().unwrap_or("").to_owned(), words.next().unwrap_or("").to_owned());
                let (mut length, mut content_type, mut token) = (0, String::new(), String::new());
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h)?;
                    let Some((k, v)) = h.trim_end().split_once(':') else { break };
                    match k.to_ascii_lowercase().as_str() {
                        "content-length" => length = v.trim().parse().unwrap_or(0),
                        "content-type" => content_type = v.trim().to_owned(),
                        "x-token" => token = v.trim().to_owned(),
                        _ => {}
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body)?;
                let (status, kind, out) = match target.split_once('?').map_or(target.as_str(), |(p, _)| p) {
                    "/echo" => {
                        let echo = json!({"method": method, "target": target, "type": content_type, "token": token,
                                          "body": String::from_utf8_lossy(&body)});
                        ("200 OK", "application/json", echo.to_string().into_bytes())
                    }
                    "/bytes" => ("200 OK", "application/octet-stream", vec![0, 1, 2, 255]),
                    "/lines" => ("200 OK", "text/event-stream", b"data: a\r\ndata: b\n\ndata: \xc3\xa9\n".to_vec()),
                    _ => ("404 Not Found", "text/plain", b"no route".to_vec()),
                };
                let stream = reader.get_mut();
                write!(stream, "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", out.len())?;
                if method != "HEAD" {
                    stream.write_all(&out)?;
                }
                Ok(())
            });
        }
    });
    port
}

struct HostApi {
    rt: Runtime,
    calls: Calls,
    port: u16,
    base: tempfile::TempDir,
    _scripts: tempfile::TempDir,
}

/// The HOST_API script with a root `data` (hello.txt; link_out → a folder
/// outside holding secret.txt), the process-backed stores `hoststore`
/// (answers nil; Get answers "v") and `broken` (507), the echo server
/// allowed, and query.Run answering its args.
fn host_api() -> HostApi {
    let base = tempfile::tempdir().unwrap();
    let (data, outside) = (base.path().join("data"), base.path().join("outside"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(data.join("hello.txt"), "hello").unwrap();
    std::fs::write(outside.join("secret.txt"), "SECRET").unwrap();
    std::os::unix::fs::symlink(&outside, data.join("link_out")).unwrap();
    let port = echo_server();
    let rt = runtime(json!({
        "timeout_ms": 10000,
        "stores": {"hoststore": {"backend": "process"}, "broken": {"backend": "process"}},
        "fs": {"data": data},
        "http_allow": [format!("127.0.0.1:{port}")],
    }));
    let calls: Calls = Arc::default();
    let seen = calls.clone();
    rt.set_process_handler(Some(Arc::new(move |name: &str, args: &[u8]| {
        seen.lock().unwrap().push((name.to_owned(), json(args)));
        match name {
            "stores.hoststore.Get" => Ok(mp(&json!("v"))),
            "query.Run" => Ok(mp(&json!([{"args": json(args)}]))),
            n if n.starts_with("stores.broken.") => Err(yaowasm::Error::new(507, "disk full")),
            _ => Ok(mp(&json!(null))),
        }
    })));
    let scripts = tempfile::tempdir().unwrap();
    let wasm = build(&rt, scripts.path(), "api.ts", HOST_API).unwrap_or_else(|e| panic!("build: {e:?}"));
    rt.load_file(&wasm, Some("api")).unwrap();
    HostApi { rt, calls, port, base, _scripts: scripts }
}

#[test]
fn store_keeps_bytes_and_int64_and_answers_undefined_when_absent() {
    let h = host_api();
    let out = h.rt.exec("scripts.api.StoreValues", &mp(&json!(["js-values"]))).unwrap();
    // int64 and bytes as Yao values, not floats or base64 strings.
    let v = rmpv::decode::read_value(&mut &out[..]).unwrap();
    let get = |k: &str| v.as_map().unwrap().iter().find(|(key, _)| key.as_str() == Some(k)).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(get("big"), rmpv::Value::from(1i64 << 62));
    assert_eq!(get("raw"), rmpv::Value::Binary(vec![0, 255]));
    let out = json(&out);
    assert_eq!(out["big_is_bigint"], json!(true));
    assert_eq!(out["raw_is_bytes"], json!(true));
    assert_eq!((&out["missing"], &out["missing_del"]), (&json!(true), &json!(true)));
    assert_eq!((&out["computed"], &out["cached"]), (&json!("lazy!"), &json!("lazy!")));
    assert_eq!(out["keys"], json!(["big", "lazy", "raw"]));
    assert_eq!((&out["len"], &out["has"]), (&json!(3), &json!(true)));
    assert_eq!(out["bad_ttl"]["code"], json!(400), "{}", out["bad_ttl"]);
    assert_eq!(out["bad_ttl"]["exception"], json!(true));
    assert_eq!(out["name"], json!("js-values"));
}

#[test]
fn store_calls_reach_a_process_store_as_yao_args() {
    let h = host_api();
    exec(&h.rt, "scripts.api.StoreHost", json!([])).unwrap();
    let calls = h.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        vec![
            // Set: whole seconds on the fast path (0 = none); a fraction as Store's Set.
            ("stores.hoststore.Set".into(), json!(["a", 1, 0])),
            ("stores.hoststore.Set".into(), json!(["b", [2], 60])),
            ("stores.hoststore.Set".into(), json!(["c", "x", 2.5])),
            ("stores.hoststore.Get".into(), json!(["a"])),
            // No trailing ttl when none is given.
            ("stores.hoststore.GetSet".into(), json!(["d", "v"])),
            ("stores.hoststore.GetSet".into(), json!(["e", "w", 5])),
            ("stores.hoststore.GetDel".into(), json!(["a"])),
            // Keys are strings, as Yao's .String().
            ("stores.hoststore.Del".into(), json!(["42"])),
        ]
    );
}

#[test]
fn store_list_methods_from_js() {
    let h = host_api();
    let out = exec(&h.rt, "scripts.api.StoreLists", json!([])).unwrap();
    assert_eq!((&out["pushed"], &out["set"]), (&json!(true), &json!(true)), "void methods answer undefined");
    assert_eq!(out["all"], json!(["one", {"three": 3}, 4, "five"]));
    assert_eq!((&out["len"], &out["at"]), (&json!(4), &json!({"three": 3})));
    assert_eq!((&out["slice"], &out["page"]), (&json!([{"three": 3}, 4]), &json!([4, "five"])));
    assert_eq!((&out["last"], &out["first"], &out["rest"]), (&json!("five"), &json!("one"), &json!([{"three": 3}, 4])));
    assert_eq!((&out["empty"]["code"], &out["past"]["code"]), (&json!(404), &json!(404)));
    assert_eq!(out["incr"], json!([1, 42, 42.5]), "Incr from JS: absent is 0, integers stay integers");
    assert_eq!(out["incr_bad"]["code"], json!(400), "Incr of a list");
    exec(&h.rt, "scripts.api.StoreListHost", json!([])).unwrap();
    assert_eq!(
        h.calls.lock().unwrap().clone(),
        vec![
            ("stores.hoststore.Push".into(), json!(["q", 1, 2])),
            ("stores.hoststore.PullAll".into(), json!(["q", [1, 2]])),
            ("stores.hoststore.Pop".into(), json!(["7", -1])),
        ]
    );
}

#[test]
fn an_uncaught_store_error_keeps_its_code() {
    let h = host_api();
    let e = exec(&h.rt, "scripts.api.StoreUncaught", json!([])).unwrap_err();
    assert_eq!((e.code(), e.message()), (507, "disk full"));
    let e = exec(&h.rt, "scripts.api.StoreNoName", json!([])).unwrap_err();
    assert_eq!(e.code(), 400);
}

#[test]
fn fs_every_method_with_buffers() {
    let h = host_api();
    let out = exec(&h.rt, "scripts.api.FsAll", json!([])).unwrap();
    assert_eq!(out["bytes"], json!(3));
    assert_eq!((&out["buffer"], &out["is_bytes"]), (&json!("AAH/"), &json!(true)), "bytes come back as a Uint8Array");
    assert_eq!((&out["text"], &out["size"]), (&json!("tëxt+"), &json!(6)));
    assert_eq!(out["flat"], json!(["d/e", "d/t.txt"]));
    assert_eq!(out["tree"], json!(["d/e", "d/e/b.bin", "d/t.txt"]));
    assert_eq!((&out["exists"], &out["is_dir"], &out["is_file"]), (&json!(false), &json!(true), &json!(false)));
    assert_eq!((&out["again"]["code"], &out["missing"]["code"]), (&json!(409), &json!(404)));
    assert_eq!(out["root_default"], json!("system"));
    assert_eq!(std::fs::read(h.base.path().join("data/d/e/b.bin")).unwrap(), [0, 1, 255]);
}

#[test]
fn fs_more_methods_from_js() {
    let h = host_api();
    let out = exec(&h.rt, "scripts.api.FsMore", json!([])).unwrap();
    assert_eq!((&out["b64"], &out["closer"]), (&json!("AAH/Bw=="), &json!(true)));
    assert_eq!(out["text"], json!("hello, world"));
    assert_eq!(out["unzipped"], json!(["m/dst/a.bin", "m/dst/sub/t.txt"]));
    assert_eq!(out["glob"], json!(["m/dst/sub/t.txt", "m/src/sub/t.txt"]));
    assert_eq!((&out["link"]["code"], &out["mime"]), (&json!(403), &json!("application/zip")), "a link out is a 403, as to every method");
    assert_eq!(out["download"], json!(["text/plain; charset=utf-8", "t.txt", 12, true]));
    assert_eq!((&out["abs"], &out["temp"], &out["mode"], &out["mtime"]), (&json!("/m/src"), &json!(true), &json!(0o600), &json!("number")));
    assert_eq!(out["paths"], json!(["c.txt", "a/b", "gz", "b", ".", "/", "", "."]));
    assert_eq!(out["slip"]["code"], json!(403));
}

#[test]
fn fs_escapes_are_refused_with_403() {
    let h = host_api();
    for path in ["../outside/secret.txt", "/etc/passwd", "link_out/secret.txt"] {
        let e = exec(&h.rt, "scripts.api.FsRead", json!(["data", path])).unwrap_err();
        assert_eq!(e.code(), 403, "{path}: {}", e.message());
        assert!(!e.message().contains("SECRET"));
        let caught = exec(&h.rt, "scripts.api.FsCaught", json!([path])).unwrap();
        assert_eq!((&caught["code"], &caught["exception"]), (&json!(403), &json!(true)), "{path}");
    }
    assert_eq!(exec(&h.rt, "scripts.api.FsRead", json!(["data", "hello.txt"])).unwrap(), json!("hello"));
    // A root the config does not name.
    assert_eq!(exec(&h.rt, "scripts.api.FsRead", json!(["system", "x"])).unwrap_err().code(), 403);
}

#[test]
fn http_stream_calls_back_line_by_line_as_gou() {
    let h = host_api();
    let base = format!("http://127.0.0.1:{}", h.port);
    let out = exec(&h.rt, "scripts.api.HttpStream", json!([base])).unwrap();
    assert_eq!(out["all"], json!(["data: a", "data: b", "", "data: é"]), "every line, CR LF as LF, empty lines kept");
    assert_eq!(out["full"], json!([200, 200, "ok", null, ["text/event-stream"]]));
    assert_eq!((&out["some"], &out["stopped"]), (&json!(["data: a", "data: b"]), &json!(200)), "0 stops, as a success");
    assert_eq!(out["aborted"], json!([400, "http.Stream: the callback aborted"]));
    assert_eq!(out["threw"], json!([400, "http.Stream: the callback threw: no data: a"]));
    assert_eq!(out["notFn"], json!(400));
    assert_eq!(out["refused"]["code"], json!(403), "the same allow-list as Send");
}

#[test]
fn http_methods_send_what_yao_sends_and_answer_status_headers_data() {
    let h = host_api();
    let base = format!("http://127.0.0.1:{}", h.port);
    let out = exec(&h.rt, "scripts.api.HttpAll", json!([base])).unwrap();
    let get = &out["get"];
    assert_eq!((&get["method"], &get["token"]), (&json!("GET"), &json!("t")));
    let target = get["target"].as_str().unwrap();
    assert!(target.starts_with("/echo?") && target.contains("q=1") && target.contains("list=a") && target.contains("list=b"), "{target}");
    assert_eq!(out["post"], json!({"method": "POST", "target": "/echo", "type": "application/json", "token": "", "body": "{\"a\":[1,2]}"}));
    assert_eq!((&out["text"]["type"], &out["text"]["body"]), (&json!("text/x-yao"), &json!("plain")));
    assert_eq!(
        (&out["bytes"]["method"], &out["bytes"]["type"], &out["bytes"]["body"]),
        (&json!("PUT"), &json!("application/octet-stream"), &json!("hi"))
    );
    assert_eq!(
        (&out["sent"]["method"], &out["sent"]["target"], &out["sent"]["body"]),
        (&json!("PATCH"), &json!("/echo?z=9"), &json!("{\"p\":true}"))
    );
    assert_eq!(out["del"]["method"], json!("DELETE"));
    assert_eq!(out["head"], json!([200, null]));
    assert_eq!(out["binary"], json!([["application/octet-stream"], true, "AAEC/w=="]));
    assert_eq!(out["missing"], json!(404));
    assert_eq!(out["refused"]["code"], json!(403));
    // Uploads: files under the fs root "data" as multipart/form-data (the
    // caller's Content-Type replaced), the payload map as form fields.
    let upload = &out["upload"];
    let boundary = upload["type"].as_str().unwrap().strip_prefix("multipart/form-data; boundary=").expect("a multipart type").to_owned();
    let body = upload["body"].as_str().unwrap();
    assert!(body.starts_with(&format!("--{boundary}\r\n")) && body.ends_with(&format!("--{boundary}--\r\n")), "{body}");
    for part in [
        "Content-Disposition: form-data; name=\"doc\"; filename=\"hello.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
        "Content-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n",
        "Content-Disposition: form-data; name=\"n\"\r\n\r\n2\r\n",
    ] {
        assert!(body.contains(part), "{part:?} in {body}");
    }
    assert_eq!(out["upload_out"]["code"], json!(403), "a symlink out of the root");
    assert_eq!(out["upload_bad"]["code"], json!(400), "a path that is not a string");
}

#[test]
fn query_methods_and_engine_go_to_query_run() {
    let h = host_api();
    let dsl = json!({"select": ["id"], "from": "user"});
    let out = exec(&h.rt, "scripts.api.QueryRows", json!([dsl])).unwrap();
    let sent = [
        json!([dsl, null, null, "Get"]),
        json!([dsl, {"id": 7}, null, "Get"]),
        json!([dsl, null, null, "First"]),
        json!([dsl, null, "stats", "Paginate"]),
        json!([dsl, {"id": 8}, "stats"]),
        json!([dsl]),
    ];
    let answered = |i: usize| json!([{"args": sent[i]}]);
    let expected = json!({"rows": answered(0), "bound": answered(1), "first": answered(2), "page": answered(3), "run": answered(4), "plain": answered(5)});
    assert_eq!(out, expected);
    let calls = h.calls.lock().unwrap().clone();
    assert_eq!(calls, sent.iter().map(|args| ("query.Run".to_owned(), args.clone())).collect::<Vec<_>>());
}

// ---- errors point at the source ----------------------------------------------

/// An app folder (scripts/ in it, no tsconfig.json: frames are relative to
/// the folder holding scripts/): a script whose error is three calls deep,
/// and a library whose method throws.
const STACK_SCRIPT: &str = r#"import { Rules } from "./lib/rules";
// NOTE-7f3a: this comment must never ship in a hook
interface SecretShape9c1 { a: number }
function inner(name: string): string {
  if (!name) throw new Error("name missing");
  return name;
}
function middle(name: string): string {
  return inner(name).trim();
}
function outer(name: string): string {
  return middle(name);
}
export function Hello(name: string) {
  return outer(name);
}
export function Check(v: number) {
  const shape: SecretShape9c1 = { a: v };
  return new Rules().check(shape.a);
}
export function Teapot() { throw new Exception("short and stout", 418); }
"#;

const STACK_LIB: &str = r#"// a library: no top-level function (LIBNOTE-51d2)
export class Rules {
  check(v: number): number {
    if (v < 0) throw new RangeError(`negative: ${v}`);
    return v;
  }
}
"#;

/// `line:col` (1-based) of `needle` in `source`: for `new Error("…")`,
/// QuickJS's place of the throw is the constructor name after `new`.
fn place_of(source: &str, needle: &str) -> String {
    let (line, text) = source.lines().enumerate().find(|(_, l)| l.contains(needle)).unwrap();
    format!("{}:{}", line + 1, text.find(needle).unwrap() + 1)
}

/// The line (1-based) of `needle` in `source`.
fn line_of(source: &str, needle: &str) -> usize {
    source.lines().position(|l| l.contains(needle)).unwrap() + 1
}

fn stack_app() -> tempfile::TempDir {
    let app = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(app.path().join("scripts/lib")).unwrap();
    std::fs::write(app.path().join("scripts/t.ts"), STACK_SCRIPT).unwrap();
    std::fs::write(app.path().join("scripts/lib/rules.ts"), STACK_LIB).unwrap();
    app
}

fn build_stack_hook(rt: &Runtime, app: &Path, strip_debug: bool) -> (PathBuf, Vec<u8>) {
    let esbuild = yaowasm_cli::esbuild::find_esbuild(None).unwrap();
    let out = app.join(if strip_debug { "stripped.wasm" } else { "t.wasm" });
    let options = yaowasm_cli::esbuild::Options { strip_debug };
    let mut bundler = yaowasm_cli::esbuild::Bundler::default();
    yaowasm_cli::esbuild::build_file_opts(&mut bundler, rt, &esbuild, &app.join("scripts/t.ts"), &out, &options).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    (out, bytes)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn uncaught_errors_name_the_ts_line_of_every_frame() {
    let rt = runtime(json!({}));
    let app = stack_app();
    let (wasm, _) = build_stack_hook(&rt, app.path(), false);
    rt.load_file(&wasm, Some("t")).unwrap();
    let logs = capture_logs(&rt);

    // Three calls deep: the host gets `Name: message` and the top frame.
    let e = exec(&rt, "scripts.t.Hello", json!([""])).unwrap_err();
    assert!(yaowasm::js::script_snapshot_size(&rt, "t").is_some(), "these stacks come from a snapshotted script");
    let top = format!("inner (scripts/t.ts:{})", place_of(STACK_SCRIPT, "Error(\"name missing\")"));
    assert_eq!((e.code(), e.message().to_string()), (500, format!("Error: name missing (at {top})")));
    // The log handler gets the whole stack, every frame on its .ts line, as
    // one error record; the prelude's own frames are left out.
    let records = std::mem::take(&mut *logs.lock().unwrap());
    assert_eq!(records.len(), 1, "{records:?}");
    let (level, record) = &records[0];
    assert_eq!(*level, LogLevel::Error);
    let lines: Vec<&str> = record.lines().collect();
    assert_eq!(lines[0], "Error: name missing");
    assert_eq!(lines[1], format!("    at {top}"));
    for (i, (function, call)) in
        [("middle", "return inner(name)"), ("outer", "return middle(name)"), ("Hello", "return outer(name)")].iter().enumerate()
    {
        let want = format!("    at {function} (scripts/t.ts:{}:", line_of(STACK_SCRIPT, call));
        assert!(lines[2 + i].starts_with(&want), "frame {}: {:?}, want {want}…\n{record}", i + 2, lines[2 + i]);
    }
    assert_eq!(lines.len(), 5, "the prelude's frames and its apply are left out:\n{record}");

    // An error inside an imported library file points into that file.
    // (The column is QuickJS's: where it last noted a place, here the
    // template literal's end; the line is the point.)
    let e = exec(&rt, "scripts.t.Check", json!([-1])).unwrap_err();
    let top = format!("RangeError: negative: -1 (at check (scripts/lib/rules.ts:{}:", line_of(STACK_LIB, "RangeError("));
    assert!(e.message().starts_with(&top) && e.message().ends_with("))"), "{}", e.message());
    let records = std::mem::take(&mut *logs.lock().unwrap());
    assert!(records[0].1.contains(&format!("    at Check (scripts/t.ts:{}:", line_of(STACK_SCRIPT, "new Rules()"))), "{records:?}");

    // An Exception keeps its code and message, and a 4xx is an answer, not
    // a fault: nothing logged.
    let e = exec(&rt, "scripts.t.Teapot", json!([])).unwrap_err();
    assert_eq!((e.code(), e.message()), (418, "short and stout"));
    assert!(logs.lock().unwrap().is_empty());
    // Success is unchanged.
    assert_eq!(exec(&rt, "scripts.t.Hello", json!(["Ada"])).unwrap(), json!("Ada"));
}

#[test]
fn hooks_carry_positions_never_source_text_and_strip_debug_drops_them() {
    let rt = runtime(json!({}));
    let app = stack_app();
    let (_, full) = build_stack_hook(&rt, app.path(), false);
    let (stripped_path, stripped) = build_stack_hook(&rt, app.path(), true);
    assert!(contains(&full, yaowasm::js::SOURCEMAP_SECTION));
    let map = yaowasm::js::parse_hook(&full).unwrap().unwrap().sourcemap_json().unwrap();
    let map_json: serde_json::Value = serde_json::from_slice(&map).unwrap();
    assert_eq!(map_json["sources"], json!(["scripts/lib/rules.ts", "scripts/t.ts"]), "the map names the sources, relative to the app");
    for hook in [&full, &stripped, &map] {
        // Comments, type names: source text that no run needs.
        for text in ["NOTE-7f3a", "LIBNOTE-51d2", "SecretShape9c1", "sourcesContent", "interface"] {
            assert!(!contains(hook, text), "a hook carries {text:?}");
        }
    }
    assert!(!contains(&stripped, yaowasm::js::SOURCEMAP_SECTION));
    assert!(stripped.len() < full.len(), "{} vs {}", stripped.len(), full.len());
    // Nor the builder's folders: the hook names its source from the app root.
    let builder_path = app.path().canonicalize().unwrap().display().to_string();
    for hook in [&full, &stripped] {
        assert!(!contains(hook, &builder_path), "a hook carries the builder's path {builder_path}");
        assert_eq!(yaowasm::js::parse_hook(hook).unwrap().unwrap().meta.source, "scripts/t.ts");
    }

    // Without the map, `Name: message` alone; the log still names the
    // functions.
    rt.load_file(&stripped_path, Some("t")).unwrap();
    let logs = capture_logs(&rt);
    let e = exec(&rt, "scripts.t.Hello", json!([""])).unwrap_err();
    assert_eq!((e.code(), e.message()), (500, "Error: name missing"));
    let records = logs.lock().unwrap().clone();
    assert_eq!(records.len(), 1);
    assert!(records[0].1.starts_with("Error: name missing\n    at inner\n    at middle\n    at outer\n    at Hello"), "{records:?}");

    // The CLI flag.
    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_yaowasm"))
        .args(["build", "--strip-debug", "--quiet"])
        .arg(app.path())
        .arg("--out")
        .arg(out.path())
        .env_remove("RUST_BACKTRACE")
        .status()
        .unwrap();
    assert!(status.success());
    let cli = std::fs::read(out.path().join("t.wasm")).unwrap();
    assert!(!contains(&cli, yaowasm::js::SOURCEMAP_SECTION));
    assert_eq!(cli.len(), stripped.len());
}

/// A 3 MiB hook: holding its bytecode grows the engine's heap from 1.5 to
/// 4.6 MiB before the top level runs, and each call grows it again. The
/// snapshot restores the grown memory and the allocator's view of it
/// (src/js/snapshot.rs takes its base before the bytecode is allocated),
/// and every call computes the same answer.
#[test]
fn a_big_hook_that_grows_the_heap_runs_from_its_snapshot() {
    // A debug build takes seconds over the snapshot (see above).
    let rt = runtime(json!({"max_memory_mb": 256, "timeout_ms": 20000}));
    let dir = tempfile::tempdir().unwrap();
    // ~3 MiB of distinct string constants in the bytecode.
    let table: String = (0..30_000).map(|i| format!("\"k{i:06}-{}\",", "x".repeat(90))).collect();
    let source = format!(
        "const table = [{table}];\nfunction Grow(n: number): number[] {{\n  const big: string[] = [];\n  for (let i = 0; i < n; i++) big.push(table[i % table.length] + i);\n  let sum = 0;\n  for (const s of big) sum += s.length;\n  return [table.length, big.length, sum];\n}}\n"
    );
    let wasm = build(&rt, dir.path(), "big.ts", &source).unwrap();
    assert!(std::fs::metadata(&wasm).unwrap().len() > 2 << 20, "the hook must be big enough to grow the heap");
    rt.load_file(&wasm, Some("big")).unwrap();
    for round in 0..3 {
        let got = exec(&rt, "scripts.big.Grow", json!([200_000])).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let n = 200_000u64;
        let sum: u64 = (0..n).map(|i| 98 + i.to_string().len() as u64).sum();
        assert_eq!(got, json!([30_000, n, sum]), "round {round}");
    }
    assert!(yaowasm::js::script_snapshot_size(&rt, "big").is_some(), "a pure top level is snapshotted");
}
