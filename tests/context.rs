//! The call context (SPEC §3a): session, globals and authorization given to
//! an exec reach the host's process handler at every depth, in-runtime
//! `scripts.*` calls and calls back through the handler inherit it, and
//! threads never see each other's.

mod common;
use common::*;
use serde_json::{json, Value};
use std::sync::Arc;
use yaowasm::{CallContext, Error, ExecOptions, Runtime};

/// Who: asks the host `test.whoami`. Via: calls scripts.ctx.Who (depth 2).
/// Via2: calls scripts.ctx.Via (depth 3). Reenter: asks the host
/// `host.reenter`, whose handler calls back into the runtime. Ctx answers
/// what `yao.context` gives it; CtxVia calls scripts.ctx.Ctx (depth 2),
/// CtxVia2 scripts.ctx.CtxVia (depth 3), CtxReenter asks the host
/// `host.reenter_ctx`, whose handler calls scripts.ctx.Ctx.
fn ctx_wat() -> String {
    format!(
        r#"(module
  (import "yao" "process" (func $process (param i32 i32 i32 i32) (result i64)))
  (import "yao" "context" (func $context (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 16) "test.whoami")
  (data (i32.const 32) "scripts.ctx.Who")
  (data (i32.const 48) "scripts.ctx.Via")
  (data (i32.const 64) "host.reenter")
  (data (i32.const 80) "\90")
  (data (i32.const 96) "scripts.ctx.Ctx")
  (data (i32.const 112) "scripts.ctx.CtxVia")
  (data (i32.const 144) "host.reenter_ctx")
  {ALLOC}
  {PACK}
  (func (export "Who") (param i32 i32) (result i64)
    (call $process (i32.const 16) (i32.const 11) (i32.const 80) (i32.const 1)))
  (func (export "Via") (param i32 i32) (result i64)
    (call $process (i32.const 32) (i32.const 15) (i32.const 80) (i32.const 1)))
  (func (export "Via2") (param i32 i32) (result i64)
    (call $process (i32.const 48) (i32.const 15) (i32.const 80) (i32.const 1)))
  (func (export "Reenter") (param i32 i32) (result i64)
    (call $process (i32.const 64) (i32.const 12) (i32.const 80) (i32.const 1)))
  (func (export "Ctx") (param i32 i32) (result i64) (call $context))
  (func (export "CtxVia") (param i32 i32) (result i64)
    (call $process (i32.const 96) (i32.const 15) (i32.const 80) (i32.const 1)))
  (func (export "CtxVia2") (param i32 i32) (result i64)
    (call $process (i32.const 112) (i32.const 18) (i32.const 80) (i32.const 1)))
  (func (export "CtxReenter") (param i32 i32) (result i64)
    (call $process (i32.const 144) (i32.const 16) (i32.const 80) (i32.const 1)))
)"#
    )
}

/// A runtime with the ctx guest whose handler answers `test.whoami` with the
/// context it reads, and `host.reenter` by calling scripts.ctx.Who again
/// (with `reenter_with` as that nested call's own context, if any).
fn ctx_runtime(reenter_with: Option<CallContext>) -> (Runtime, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ctx.wasm", &wasm(&ctx_wat()));
    let rt = Runtime::from_json(Some(r#"{"timeout_ms": 60000}"#)).unwrap();
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 1);
    let inner = rt.clone();
    let reenter_with = reenter_with.map(Arc::new);
    rt.set_process_handler(Some(Arc::new(move |name: &str, _: &[u8]| {
        let rt = &inner;
        match name {
            "test.whoami" => {
                let who =
                    rt.current_context().map_or(json!(null), |c| json!({"sid": c.sid, "global": c.global, "authorized": c.authorized}));
                Ok(mp(&who))
            }
            "host.reenter" => {
                let options = ExecOptions { context: reenter_with.clone(), ..Default::default() };
                rt.exec_with("scripts.ctx.Who", &[], &options)
            }
            "host.reenter_ctx" => {
                let options = ExecOptions { context: reenter_with.clone(), ..Default::default() };
                rt.exec_with("scripts.ctx.Ctx", &[], &options)
            }
            _ => Err(Error::not_found(name)),
        }
    })));
    (rt, dir)
}

fn context(sid: &str, tenant: &str) -> CallContext {
    let mut global = serde_json::Map::new();
    global.insert("tenant".into(), json!(tenant));
    let authorized = json!({"user_id": 7, "constraints": {"owner_only": true}});
    CallContext { sid: sid.into(), global, authorized: authorized.as_object().cloned() }
}

fn exec(rt: &Runtime, process: &str, ctx: Option<&CallContext>) -> Value {
    let options = ExecOptions { context: ctx.cloned().map(Arc::new), ..Default::default() };
    json(&rt.exec_with(process, &[], &options).unwrap())
}

#[test]
fn the_handler_sees_the_context_at_every_depth() {
    let (rt, _dir) = ctx_runtime(None);
    let ctx = context("SID-42", "t1");
    let want = json!({"sid": "SID-42", "global": {"tenant": "t1"}, "authorized": {"user_id": 7, "constraints": {"owner_only": true}}});
    for process in ["scripts.ctx.Who", "scripts.ctx.Via", "scripts.ctx.Via2", "scripts.ctx.Reenter"] {
        assert_eq!(exec(&rt, process, Some(&ctx)), want, "{process}");
    }
    // After the call, nothing lingers on this thread.
    assert!(rt.current_context().is_none());
}

#[test]
fn without_a_context_the_handler_sees_none() {
    let (rt, _dir) = ctx_runtime(None);
    for process in ["scripts.ctx.Who", "scripts.ctx.Via2", "scripts.ctx.Reenter"] {
        assert_eq!(exec(&rt, process, None), Value::Null, "{process}");
    }
    // A context given once does not stick to the next call.
    exec(&rt, "scripts.ctx.Who", Some(&context("A", "a")));
    assert_eq!(exec(&rt, "scripts.ctx.Who", None), Value::Null);
}

#[test]
fn a_nested_call_that_brings_its_own_context_runs_with_it() {
    // A host process that calls a script for someone else (gou's
    // process.New(...).WithSID(other)) sets that call's context.
    let (rt, _dir) = ctx_runtime(Some(context("OTHER", "t2")));
    let got = exec(&rt, "scripts.ctx.Reenter", Some(&context("SID-42", "t1")));
    assert_eq!(got["sid"], "OTHER");
    assert_eq!(got["global"], json!({"tenant": "t2"}));
}

#[test]
fn threads_never_see_each_others_context() {
    let (rt, _dir) = ctx_runtime(None);
    std::thread::scope(|s| {
        for t in 0..4 {
            let rt = rt.clone();
            s.spawn(move || {
                for i in 0..25 {
                    let sid = format!("S{t}-{i}");
                    let process = ["scripts.ctx.Who", "scripts.ctx.Via2", "scripts.ctx.Reenter"][i % 3];
                    if t == 3 {
                        assert_eq!(exec(&rt, process, None), Value::Null);
                        continue;
                    }
                    let got = exec(&rt, process, Some(&context(&sid, &format!("t{t}"))));
                    assert_eq!(got["sid"], json!(sid), "{process}");
                    assert_eq!(got["global"]["tenant"], json!(format!("t{t}")));
                }
            });
        }
    });
}

#[test]
fn the_guest_reads_its_context_at_every_depth() {
    let (rt, _dir) = ctx_runtime(None);
    let ctx = context("SID-42", "t1");
    let want = json!({"sid": "SID-42", "global": {"tenant": "t1"}, "authorized": {"user_id": 7, "constraints": {"owner_only": true}}});
    let empty = json!({"sid": "", "global": {}, "authorized": null});
    for process in ["scripts.ctx.Ctx", "scripts.ctx.CtxVia", "scripts.ctx.CtxVia2", "scripts.ctx.CtxReenter"] {
        assert_eq!(exec(&rt, process, Some(&ctx)), want, "{process}");
        assert_eq!(exec(&rt, process, None), empty, "{process} without a context");
    }
    // Only the sid: the other fields read as empty, authorized as nil.
    let sid_only = CallContext { sid: "S".into(), ..Default::default() };
    assert_eq!(exec(&rt, "scripts.ctx.CtxVia", Some(&sid_only)), json!({"sid": "S", "global": {}, "authorized": null}));
}

#[test]
fn a_guest_reads_the_context_of_the_nested_call_that_brought_its_own() {
    let (rt, _dir) = ctx_runtime(Some(context("OTHER", "t2")));
    let got = exec(&rt, "scripts.ctx.CtxReenter", Some(&context("SID-42", "t1")));
    assert_eq!(got["sid"], "OTHER");
    assert_eq!(got["global"], json!({"tenant": "t2"}));
}

#[test]
fn a_json_guest_reads_the_context_as_json() {
    // The guest hands back the bytes yao.context wrote: the host reads them
    // as its JSON result, so MessagePack here would fail the call.
    let wat = format!(
        r#"(module
  (import "yao" "context" (func $context (result i64)))
  (memory (export "memory") 1)
  {ALLOC}
  (func (export "yao_encoding") (result i32) (i32.const 1))
  (func (export "Ctx") (param i32 i32) (result i64) (call $context))
)"#
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "jctx.wasm", &wasm(&wat));
    let rt = Runtime::from_json(None).unwrap();
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 1);
    let got = exec(&rt, "scripts.jctx.Ctx", Some(&context("J", "tj")));
    assert_eq!(got, json!({"sid": "J", "global": {"tenant": "tj"}, "authorized": {"user_id": 7, "constraints": {"owner_only": true}}}));
}
