//! The JS/TS path: scripts built with `yaowasm::js::build` (esbuild, then
//! the engine's own compiler) and run by the shared QuickJS engine.
//! Needs scripts/setup.d/30-js.sh (the engine and js/node_modules).

mod common;

use common::{capture_logs, json, mp};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yaowasm::{LogLevel, Runtime};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
    let esbuild = yaowasm::js::build::find_esbuild(None)?;
    yaowasm::js::build::build_file(rt, &esbuild, &src, &out)?;
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
    let wasm = build(&rt, dir.path(), "user.ts", &src.replace("../../../../js/types/yao.d.ts", "/dev/null")).unwrap();
    let size = std::fs::metadata(&wasm).unwrap().len();
    assert!(size <= 5 * 1024, "hook is {size} bytes, more than 5 KB");
    rt.load_file(&wasm, Some("ts.user")).unwrap();
    let info = rt.list().into_iter().find(|s| s.id == "ts.user").unwrap();
    assert_eq!(info.functions, ["Add", "BeforeSave", "Check", "Deny", "Echo", "Log", "Nested"]);
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
    assert_eq!((e.code(), e.message()), (500, "Error: boom"));
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
    assert!(e.message().contains("ABI 2") && e.message().contains("rebuild it with `yaowasm build`"), "{}", e.message());
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
