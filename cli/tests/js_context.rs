//! The call context in JS/TS scripts, as gou's V8 runtime gives it:
//! `Authorized()` and the global `__yao_data` {SID, DATA, ROOT, AUTHORIZED}
//! (docs/ABI.md `context`). Needs scripts/setup.d/30-js.sh.

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{json, mp};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use yaowasm::{CallContext, ExecOptions, Runtime};

const SCRIPT: &str = r#"
function Who() { return { authorized: Authorized(), data: __yao_data }; }
// Authorized() is a fresh copy each time, as gou's (read from __yao_data).
function Copy() { const a = Authorized(); if (a) a.user_id = 0; return Authorized(); }
// A nested script call and a host process both run with the caller's context.
function Nested() { return [Process("scripts.ctx.Who"), Process("test.whoami")]; }
// A script may replace __yao_data, as on V8; Authorized() reads it.
function Assign() {
  (globalThis as any).__yao_data = { SID: "mine", AUTHORIZED: { user_id: 9 } };
  return [__yao_data.SID, Authorized()];
}
"#;

fn setup() -> (Runtime, tempfile::TempDir) {
    let repo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let cache = repo.join("target/js-test-cache");
    std::fs::create_dir_all(&cache).unwrap();
    let rt = Runtime::from_json(Some(&json!({"cache_dir": cache, "timeout_ms": 5000}).to_string())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ctx.ts");
    std::fs::write(&src, SCRIPT).unwrap();
    let out = src.with_extension("wasm");
    let esbuild = yaowasm_cli::esbuild::find_esbuild(None).unwrap();
    yaowasm_cli::esbuild::build_file(&rt, &esbuild, &src, &out).unwrap_or_else(|e| panic!("build: {e:?}"));
    rt.load_file(&out, Some("ctx")).unwrap();
    let inner = rt.clone();
    rt.set_process_handler(Some(Arc::new(move |name: &str, _: &[u8]| {
        assert_eq!(name, "test.whoami");
        let c = inner.current_context().unwrap_or_default();
        Ok(mp(&json!({"sid": c.sid, "global": c.global, "authorized": c.authorized})))
    })));
    (rt, dir)
}

fn exec(rt: &Runtime, process: &str, context: Option<CallContext>) -> Value {
    let options = ExecOptions { context: context.map(Arc::new), ..Default::default() };
    json(&rt.exec_with(process, &mp(&json!([])), &options).unwrap_or_else(|e| panic!("{process}: {e}")))
}

fn context(sid: &str) -> CallContext {
    CallContext {
        sid: sid.into(),
        global: json!({"tenant": "t1"}).as_object().cloned().unwrap(),
        authorized: json!({"user_id": 7, "team_id": 3, "constraints": {"team_only": true}}).as_object().cloned(),
    }
}

#[test]
fn authorized_and_yao_data_are_what_gou_v8_gives() {
    let (rt, _dir) = setup();
    let authorized = json!({"user_id": 7, "team_id": 3, "constraints": {"team_only": true}});
    assert_eq!(
        exec(&rt, "scripts.ctx.Who", Some(context("SID-42"))),
        json!({"authorized": authorized, "data": {"SID": "SID-42", "ROOT": false, "DATA": {"tenant": "t1"}, "AUTHORIZED": authorized}})
    );
    // Without a context: Authorized() is null and __yao_data has no
    // AUTHORIZED (gou sets it only when present).
    assert_eq!(exec(&rt, "scripts.ctx.Who", None), json!({"authorized": null, "data": {"SID": "", "ROOT": false, "DATA": {}}}));
    // A context without authorization info: the same.
    let sid_only = CallContext { sid: "S".into(), ..Default::default() };
    assert_eq!(exec(&rt, "scripts.ctx.Who", Some(sid_only)), json!({"authorized": null, "data": {"SID": "S", "ROOT": false, "DATA": {}}}));
}

#[test]
fn authorized_is_a_fresh_copy_and_yao_data_can_be_replaced() {
    let (rt, _dir) = setup();
    assert_eq!(exec(&rt, "scripts.ctx.Copy", Some(context("A")))["user_id"], 7);
    assert_eq!(exec(&rt, "scripts.ctx.Assign", Some(context("A"))), json!(["mine", {"user_id": 9}]));
}

#[test]
fn the_snapshot_never_carries_one_calls_context_into_the_next() {
    let (rt, _dir) = setup();
    for i in 0..3 {
        let sid = format!("S{i}");
        assert_eq!(exec(&rt, "scripts.ctx.Who", Some(context(&sid)))["data"]["SID"], json!(sid));
        assert_eq!(exec(&rt, "scripts.ctx.Who", None)["authorized"], Value::Null);
    }
    // Nested: the script call and the host's process see the caller's.
    let got = exec(&rt, "scripts.ctx.Nested", Some(context("N")));
    assert_eq!(got[0]["data"]["SID"], "N");
    assert_eq!(got[0]["authorized"]["user_id"], 7);
    assert_eq!(got[1]["sid"], "N");
    assert_eq!(got[1]["global"], json!({"tenant": "t1"}));
}

/// A top level that reads the call context (`__yao_data`, `Authorized()`)
/// is never frozen into the per-script snapshot: the first caller's
/// session and authorization must not be served to the next caller.
#[test]
fn a_top_level_reading_the_context_never_serves_one_callers_session_to_another() {
    let rt = Runtime::from_json(Some(&json!({"timeout_ms": 5000}).to_string())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let esbuild = yaowasm_cli::esbuild::find_esbuild(None).unwrap();
    for (name, source) in [
        ("sid", "const sid = __yao_data.SID;\nfunction Get() { return sid; }\n"),
        ("auth", "const who = Authorized();\nfunction Get() { return who ? who.user_id : null; }\n"),
    ] {
        let src = dir.path().join(format!("{name}.ts"));
        std::fs::write(&src, source).unwrap();
        let out = src.with_extension("wasm");
        yaowasm_cli::esbuild::build_file(&rt, &esbuild, &src, &out).unwrap_or_else(|e| panic!("build: {e:?}"));
        rt.load_file(&out, Some(name)).unwrap();
    }
    let user =
        |sid: &str, id: i64| CallContext { sid: sid.into(), authorized: json!({"user_id": id}).as_object().cloned(), ..Default::default() };
    for _ in 0..2 {
        assert_eq!(exec(&rt, "scripts.sid.Get", Some(user("ALICE", 1))), json!("ALICE"));
        assert_eq!(exec(&rt, "scripts.sid.Get", Some(user("BOB", 2))), json!("BOB"));
        assert_eq!(exec(&rt, "scripts.sid.Get", None), json!(""));
        assert_eq!(exec(&rt, "scripts.auth.Get", Some(user("ALICE", 1))), json!(1));
        assert_eq!(exec(&rt, "scripts.auth.Get", Some(user("BOB", 2))), json!(2));
        assert_eq!(exec(&rt, "scripts.auth.Get", None), json!(null));
    }
    assert_eq!(yaowasm::js::script_snapshot_size(&rt, "sid"), None);
    assert_eq!(yaowasm::js::script_snapshot_size(&rt, "auth"), None);
}
