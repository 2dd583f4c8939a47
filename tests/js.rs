//! The JS/TS path: scripts built with `yaowasm::js::build` (esbuild, then
//! the engine's own compiler) and run by the shared QuickJS engine.
//! Needs scripts/setup.d/30-js.sh (the engine and js/node_modules).

mod common;

use common::{capture_logs, json, mp};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yaowasm::{Error, LogLevel, Runtime};

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

fn load(rt: &Runtime, id: &str, source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build(rt, dir.path(), &format!("{id}.ts"), source).unwrap_or_else(|e| panic!("build: {e:?}"));
    rt.load_file(&wasm, Some(id)).unwrap_or_else(|e| panic!("load: {e:?}"));
    dir
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
