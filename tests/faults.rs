//! The fault table (issue 8, RELIABILITY.md): every hostile behaviour of a
//! guest, a host or the files around them, each ending in its documented code
//! with the runtime still serving: every row checks the code, then makes one
//! more call on the same runtime and checks that it succeeds.
//!
//! Test names start with the row's number in RELIABILITY.md (`f07_...`).

mod common;
use common::*;
use serde_json::json;
use std::ffi::{c_char, c_void, CString};
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use yaowasm::ffi::*;
use yaowasm::{Error, Runtime};

// ---------------------------------------------------------------------------
// Guests

/// The hostile guest: one function per misbehaviour. Data layout (offsets):
/// 16 0xc1 | 20 truncated array | 24 trailing byte | 32 ext | 40 array32 that
/// claims 4G items | 48 str32 that claims 4 GiB | 64 str with invalid UTF-8 |
/// 80 {"code":418,"message":"teapot"} | 112 {"message":"x"} |
/// 128 {"code":0,"message":"zero"} | 160 {"code":2^40,"message":"x"} |
/// 192 "models.user.Find" | 208 [1] | 212 non-UTF-8 name | 216 0xc1 |
/// 224 {"code":"x"} | 1024 300 nested arrays.
fn hostile_wat() -> String {
    let deep: String = "\\91".repeat(300) + "\\c0";
    format!(
        r#"(module
  (import "yao" "process" (func $process (param i32 i32 i32 i32) (result i64)))
  (import "yao" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (type $binary (func (param i32 i32) (result i32)))
  (table $t 2 funcref)
  (elem (i32.const 1) $wrong_type)
  (func $wrong_type (param i64) (result i64) (local.get 0))
  (data (i32.const 16) "\c1")
  (data (i32.const 20) "\92\01")
  (data (i32.const 24) "\91\01\02")
  (data (i32.const 32) "\d4\01\02")
  (data (i32.const 40) "\dd\ff\ff\ff\ff")
  (data (i32.const 48) "\db\ff\ff\ff\ff\61")
  (data (i32.const 64) "\a2\ff\fe")
  (data (i32.const 80) "\82\a4code\cd\01\a2\a7message\a6teapot")
  (data (i32.const 112) "\81\a7message\a1x")
  (data (i32.const 128) "\82\a4code\00\a7message\a4zero")
  (data (i32.const 160) "\82\a4code\cf\00\00\01\00\00\00\00\00\a7message\a1x")
  (data (i32.const 192) "models.user.Find")
  (data (i32.const 208) "\91\01")
  (data (i32.const 212) "\ff\fe")
  (data (i32.const 216) "\c1")
  (data (i32.const 224) "\81\a4code\a1x")
  (data (i32.const 1024) "{deep}")
  {ALLOC}
  {PACK}
  (func (export "Echo") (param $p i32) (param $n i32) (result i64) (call $pack (local.get $p) (local.get $n)))
  (func (export "Nil") (param i32 i32) (result i64) (i64.const 0))

  ;; time and space
  (func (export "Loop") (param i32 i32) (result i64) (loop $l (br $l)) (i64.const 0))
  (func (export "Grow") (param i32 i32) (result i64)
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) (i64.const 0))
  (func (export "GrowAll") (param i32 i32) (result i64)
    (drop (memory.grow (i32.const 65535))) (i64.const 0))
  (func $recurse (export "Recurse") (param i32 i32) (result i64) (call $recurse (local.get 0) (local.get 1)))
  (func $recurse_big (export "RecurseBigFrames") (param i32 i32) (result i64)
    (local f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64)
    (call $recurse_big (local.get 0) (local.get 1)))

  ;; every kind of trap
  (func (export "Unreachable") (param i32 i32) (result i64) unreachable)
  (func (export "DivZero") (param i32 i32) (result i64) (i64.extend_i32_s (i32.div_s (i32.const 1) (i32.const 0))))
  (func (export "RemZero") (param i32 i32) (result i64) (i64.rem_u (i64.const 1) (i64.const 0)))
  (func (export "IntOverflow") (param i32 i32) (result i64) (i64.extend_i32_s (i32.div_s (i32.const 0x80000000) (i32.const -1))))
  (func (export "NanToInt") (param i32 i32) (result i64) (i64.trunc_f64_s (f64.div (f64.const 0) (f64.const 0))))
  (func (export "FloatTooBig") (param i32 i32) (result i64) (i64.extend_i32_u (i32.trunc_f64_u (f64.const 1e20))))
  (func (export "OobLoad") (param i32 i32) (result i64) (i64.load (i32.const 0xfffffff0)))
  (func (export "OobStore") (param i32 i32) (result i64) (i64.store (i32.const 65535) (i64.const 1)) (i64.const 0))
  (func (export "OobFill") (param i32 i32) (result i64) (memory.fill (i32.const 65000) (i32.const 0) (i32.const 1000)) (i64.const 0))
  (func (export "OobCopy") (param i32 i32) (result i64) (memory.copy (i32.const 0) (i32.const 65000) (i32.const 1000)) (i64.const 0))
  (func (export "NullCall") (param i32 i32) (result i64)
    (i64.extend_i32_s (call_indirect (type $binary) (i32.const 1) (i32.const 2) (i32.const 0))))
  (func (export "TableOob") (param i32 i32) (result i64)
    (i64.extend_i32_s (call_indirect (type $binary) (i32.const 1) (i32.const 2) (i32.const 99))))
  (func (export "WrongSignature") (param i32 i32) (result i64)
    (i64.extend_i32_s (call_indirect (type $binary) (i32.const 1) (i32.const 2) (i32.const 1))))

  ;; wild pointers and lengths in the packed result
  (func (export "PtrPastEnd") (param i32 i32) (result i64) (call $pack (i32.const 0xffff0000) (i32.const 100)))
  (func (export "LenPastEnd") (param i32 i32) (result i64) (call $pack (i32.const 16) (i32.const 65536)))
  (func (export "HugeResult") (param i32 i32) (result i64) (call $pack (i32.const 0) (i32.const 0x7fffffff)))
  (func (export "Wrapping") (param i32 i32) (result i64) (call $pack (i32.const 0xfffffff0) (i32.const 0x20)))
  (func (export "NegativePtr") (param i32 i32) (result i64) (i64.const -1))
  (func (export "ErrorWild") (param i32 i32) (result i64) (call $err (i32.const 0xfffffff0) (i32.const 0x20)))
  (func (export "ErrorHuge") (param i32 i32) (result i64) (call $err (i32.const 16) (i32.const 0x7ffffff0)))

  ;; error values that are not {{code, message}}
  (func (export "Raise") (param i32 i32) (result i64) (call $err (i32.const 80) (i32.const 24)))
  (func (export "ErrorEmpty") (param i32 i32) (result i64) (call $err (i32.const 16) (i32.const 0)))
  (func (export "ErrorNotMsgpack") (param i32 i32) (result i64) (call $err (i32.const 16) (i32.const 1)))
  (func (export "ErrorNoCode") (param i32 i32) (result i64) (call $err (i32.const 112) (i32.const 11)))
  (func (export "ErrorCodeZero") (param i32 i32) (result i64) (call $err (i32.const 128) (i32.const 20)))
  (func (export "ErrorCodeHuge") (param i32 i32) (result i64) (call $err (i32.const 160) (i32.const 25)))
  (func (export "ErrorCodeString") (param i32 i32) (result i64) (call $err (i32.const 224) (i32.const 8)))

  ;; invalid MessagePack results
  (func (export "Reserved") (param i32 i32) (result i64) (call $pack (i32.const 16) (i32.const 1)))
  (func (export "Truncated") (param i32 i32) (result i64) (call $pack (i32.const 20) (i32.const 2)))
  (func (export "Trailing") (param i32 i32) (result i64) (call $pack (i32.const 24) (i32.const 3)))
  (func (export "Ext") (param i32 i32) (result i64) (call $pack (i32.const 32) (i32.const 3)))
  (func (export "HugeCount") (param i32 i32) (result i64) (call $pack (i32.const 40) (i32.const 5)))
  (func (export "HugeStr") (param i32 i32) (result i64) (call $pack (i32.const 48) (i32.const 6)))
  (func (export "TooDeep") (param i32 i32) (result i64) (call $pack (i32.const 1024) (i32.const 301)))
  (func (export "BadUtf8") (param i32 i32) (result i64) (call $pack (i32.const 64) (i32.const 3)))

  ;; yao.process and yao.log with wild pointers
  (func (export "CallHost") (param i32 i32) (result i64)
    (call $process (i32.const 192) (i32.const 16) (i32.const 208) (i32.const 2)))
  (func (export "ProcessWildName") (param i32 i32) (result i64)
    (call $process (i32.const 0xfffffff0) (i32.const 64) (i32.const 208) (i32.const 2)))
  (func (export "ProcessWildArgs") (param i32 i32) (result i64)
    (call $process (i32.const 192) (i32.const 16) (i32.const 0xffff0000) (i32.const 2)))
  (func (export "ProcessNegativeLen") (param i32 i32) (result i64)
    (call $process (i32.const 192) (i32.const -1) (i32.const 208) (i32.const 2)))
  (func (export "ProcessWrapping") (param i32 i32) (result i64)
    (call $process (i32.const 192) (i32.const 16) (i32.const 0xffffffff) (i32.const 2)))
  (func (export "ProcessArgsPastEnd") (param i32 i32) (result i64)
    (call $process (i32.const 192) (i32.const 16) (i32.const 65530) (i32.const 100)))
  (func (export "ProcessBadArgs") (param i32 i32) (result i64)
    (call $process (i32.const 192) (i32.const 16) (i32.const 216) (i32.const 1)))
  (func (export "ProcessBadName") (param i32 i32) (result i64)
    (call $process (i32.const 212) (i32.const 2) (i32.const 208) (i32.const 2)))
  (func (export "LogWild") (param i32 i32) (result i64)
    (call $log (i32.const 2) (i32.const 65530) (i32.const 100)) (i64.const 0))
  (func (export "LogNegative") (param i32 i32) (result i64)
    (call $log (i32.const 2) (i32.const 16) (i32.const -5)) (i64.const 0))
  (func (export "CallHostThenRecurse") (param i32 i32) (result i64)
    (drop (call $process (i32.const 192) (i32.const 16) (i32.const 208) (i32.const 2)))
    (call $recurse (local.get 0) (local.get 1)))
)"#
    )
}

/// A guest whose `yao_alloc` is `alloc_body` (locals: `$n` the size; global
/// `$calls` counts calls before this one). Echo and CallHost as usual.
fn alloc_wat(alloc_body: &str) -> String {
    format!(
        r#"(module
  (import "yao" "process" (func $process (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 192) "models.user.Find")
  (data (i32.const 208) "\91\01")
  (global $calls (mut i32) (i32.const 0))
  (global $heap (mut i32) (i32.const 4096))
  (func (export "yao_alloc") (param $n i32) (result i32)
    (local $r i32)
    (local.set $r (block (result i32) {alloc_body}))
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (local.get $r))
  {PACK}
  (func (export "Echo") (param $p i32) (param $n i32) (result i64) (call $pack (local.get $p) (local.get $n)))
  (func (export "CallHost") (param i32 i32) (result i64)
    (call $process (i32.const 192) (i32.const 16) (i32.const 208) (i32.const 2)))
)"#
    )
}

/// A bump allocation inside `alloc_wat`.
const BUMP: &str = "(global.get $heap) (global.set $heap (i32.add (global.get $heap) (local.get $n)))";

/// A JSON guest (`yao_encoding` → 1) whose functions return bad JSON.
fn json_hostile_wat() -> String {
    let deep = "[".repeat(200) + &"]".repeat(200);
    format!(
        r#"(module
  (memory (export "memory") 1)
  (data (i32.const 16) "not json")
  (data (i32.const 32) "1 2")
  (data (i32.const 48) "1e400")
  (data (i32.const 64) "{{\"code\":409,\"message\":\"conflict\"}}")
  (data (i32.const 128) "\ff\fe\"")
  (data (i32.const 1024) "{deep}")
  {ALLOC}
  {PACK}
  (func (export "yao_encoding") (result i32) (i32.const 1))
  (func (export "Echo") (param $p i32) (param $n i32) (result i64) (call $pack (local.get $p) (local.get $n)))
  (func (export "NotJson") (param i32 i32) (result i64) (call $pack (i32.const 16) (i32.const 8)))
  (func (export "Trailing") (param i32 i32) (result i64) (call $pack (i32.const 32) (i32.const 3)))
  (func (export "HugeNumber") (param i32 i32) (result i64) (call $pack (i32.const 48) (i32.const 5)))
  (func (export "TooDeep") (param i32 i32) (result i64) (call $pack (i32.const 1024) (i32.const 400)))
  (func (export "NotUtf8") (param i32 i32) (result i64) (call $pack (i32.const 128) (i32.const 3)))
  (func (export "ErrorNotJson") (param i32 i32) (result i64) (call $err (i32.const 16) (i32.const 8)))
  (func (export "Conflict") (param i32 i32) (result i64) (call $err (i32.const 64) (i32.const 33)))
)"#
    )
}

/// A minimal script module with extra module-level text.
fn module_with(extra: &str) -> String {
    format!(
        r#"(module
  (memory (export "memory") 1)
  {ALLOC}
  {PACK}
  (func (export "Echo") (param $p i32) (param $n i32) (result i64) (call $pack (local.get $p) (local.get $n)))
  {extra}
)"#
    )
}

// ---------------------------------------------------------------------------
// Helpers

/// A runtime with `sink` (the healthy guest of tests/common) and `guests`
/// loaded from one folder. Every guest must load.
fn runtime_with(config: &str, guests: &[(&str, Vec<u8>)]) -> (Runtime, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sink.wasm", &wasm(&sink_wat()));
    for (id, bytes) in guests {
        write(dir.path(), &format!("{id}.wasm"), bytes);
    }
    let rt = Runtime::from_json(Some(config)).unwrap();
    let report = rt.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, guests.len() + 1, "{:?}", report.problems);
    (rt, dir)
}

fn hostile(config: &str) -> (Runtime, tempfile::TempDir) {
    runtime_with(config, &[("hostile", wasm(&hostile_wat()))])
}

/// The very next call on the runtime must succeed.
fn still_serving(rt: &Runtime, after: &str) {
    assert_eq!(rt.exec("scripts.sink.Echo", &[0x91, 0x2a]).unwrap(), vec![0x91, 0x2a], "the call after {after} failed");
}

/// Runs `process`, which must fail with `code` and a message containing
/// `needle`, then checks the runtime still serves.
fn fault(rt: &Runtime, process: &str, args: &[u8], code: i32, needle: &str) -> Error {
    let e = rt.exec(process, args).expect_err(process);
    assert_eq!(e.code(), code, "{process}: {e}");
    assert!(e.message().contains(needle), "{process}: expected {needle:?} in {e}");
    still_serving(rt, process);
    e
}

/// Runs every `(function, code, needle)` of `rows` on `scripts.<id>.*`.
fn fault_rows(rt: &Runtime, id: &str, rows: &[(&str, i32, &str)]) {
    for (function, code, needle) in rows {
        fault(rt, &format!("scripts.{id}.{function}"), &[], *code, needle);
    }
}

// ---------------------------------------------------------------------------
// 1–4: time and space

#[test]
fn f01_infinite_loop_is_408_on_time() {
    let (rt, _dir) = hostile(r#"{"timeout_ms": 50}"#);
    let start = Instant::now();
    fault(&rt, "scripts.hostile.Loop", &[], 408, "timeout_ms (50 ms)");
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
}

#[test]
fn f02_memory_bomb_is_413() {
    let (rt, _dir) = hostile(r#"{"max_memory_mb": 4}"#);
    fault(&rt, "scripts.hostile.Grow", &[], 413, "max_memory_mb is 4");
    fault(&rt, "scripts.hostile.GrowAll", &[], 413, "max_memory_mb is 4");
    // Args bigger than the guest may grow to: its yao_alloc grows past the cap.
    fault(&rt, "scripts.hostile.Echo", &mp(&json!(["x".repeat(5 << 20)])), 413, "max_memory_mb is 4");
}

#[test]
fn f03_deep_wasm_recursion_is_500() {
    let (rt, _dir) = hostile("{}");
    fault_rows(&rt, "hostile", &[("Recurse", 500, "stack overflow"), ("RecurseBigFrames", 500, "stack overflow")]);
}

#[test]
fn f04_native_stack_exhaustion_through_nested_calls_is_500() {
    // A host handler that calls back into the runtime, whose guest calls the
    // host again: with max_depth at its highest, the native stack runs out
    // first; the deepest guest then recurses in wasm with little native
    // stack left. Both must end as a 500, never a crash. A 4 MiB thread
    // (like a small goroutine-owned C thread) makes the edge near.
    let (rt, _dir) = hostile(r#"{"max_depth": 1024, "timeout_ms": 60000}"#);
    let inner = rt.clone();
    rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| inner.exec("scripts.hostile.CallHost", &[]))));
    let worker = rt.clone();
    let e = std::thread::Builder::new()
        .stack_size(4 << 20)
        .spawn(move || worker.exec("scripts.hostile.CallHost", &[]).unwrap_err())
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(e.code(), 500, "{e}");
    assert!(e.message().contains("native stack nearly exhausted"), "{e}");
    still_serving(&rt, "native stack exhaustion");

    let inner = rt.clone();
    rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| inner.exec("scripts.hostile.CallHostThenRecurse", &[]))));
    let worker = rt.clone();
    let e = std::thread::Builder::new()
        .stack_size(4 << 20)
        .spawn(move || worker.exec("scripts.hostile.CallHostThenRecurse", &[]).unwrap_err())
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(e.code(), 500, "{e}");
    assert!(e.message().contains("stack overflow"), "{e}");
    still_serving(&rt, "wasm recursion at the native stack's edge");
}

// ---------------------------------------------------------------------------
// 5: every kind of trap

#[test]
fn f05_every_kind_of_trap_is_500() {
    let (rt, _dir) = hostile("{}");
    fault_rows(
        &rt,
        "hostile",
        &[
            ("Unreachable", 500, "unreachable"),
            ("DivZero", 500, "divide by zero"),
            ("RemZero", 500, "divide by zero"),
            ("IntOverflow", 500, "integer overflow"),
            ("NanToInt", 500, "invalid conversion to integer"),
            ("FloatTooBig", 500, "integer overflow"),
            ("OobLoad", 500, "out of bounds memory access"),
            ("OobStore", 500, "out of bounds memory access"),
            ("OobFill", 500, "out of bounds memory access"),
            ("OobCopy", 500, "out of bounds memory access"),
            ("NullCall", 500, "uninitialized element"),
            ("TableOob", 500, "undefined element"),
            ("WrongSignature", 500, "indirect call type mismatch"),
            ("Recurse", 500, "stack overflow"),
        ],
    );
}

// ---------------------------------------------------------------------------
// 6–7: wild pointers and lengths; a result larger than memory

#[test]
fn f06_wild_result_pointers_and_lengths_are_500() {
    let (rt, _dir) = hostile("{}");
    fault_rows(
        &rt,
        "hostile",
        &[
            ("PtrPastEnd", 500, "out-of-bounds result"),
            ("LenPastEnd", 500, "out-of-bounds result"),
            ("Wrapping", 500, "out-of-bounds result"),
            // -1: every bit set, so also the error bit, with a wild pointer.
            ("NegativePtr", 500, "out-of-bounds result"),
            ("ErrorWild", 500, "out-of-bounds result"),
            ("ErrorHuge", 500, "out-of-bounds result"),
        ],
    );
}

#[test]
fn f07_result_larger_than_memory_is_500() {
    let (rt, _dir) = hostile("{}");
    fault(&rt, "scripts.hostile.HugeResult", &[], 500, "2147483647 bytes at 0x0, memory is 65536 bytes");
}

// ---------------------------------------------------------------------------
// 8–9: invalid MessagePack / JSON out of the guest

#[test]
fn f08_invalid_messagepack_results_are_500() {
    let (rt, _dir) = hostile("{}");
    fault_rows(
        &rt,
        "hostile",
        &[
            ("Reserved", 500, "reserved byte"),
            ("Truncated", 500, "claims more values"),
            ("Trailing", 500, "trailing"),
            ("Ext", 500, "ext values"),
            ("HugeCount", 500, "claims more values"),
            ("HugeStr", 500, "truncated"),
            ("TooDeep", 500, "nested deeper"),
            ("ErrorEmpty", 500, "unreadable error value"),
            ("ErrorNotMsgpack", 500, "unreadable error value"),
            ("ErrorNoCode", 500, "without a code"),
            ("ErrorCodeZero", 500, "zero"),
            ("ErrorCodeHuge", 500, ""),
            ("ErrorCodeString", 500, "unreadable error value"),
        ],
    );
    // A well-formed error value keeps its code (the control row).
    fault(&rt, "scripts.hostile.Raise", &[], 418, "teapot");
    // A MessagePack string that is not UTF-8 is refused like any other bad
    // result (a Go, Python or JS host would choke on it later), through
    // `exec` and where it must become JSON; and as args from the host, 400.
    fault(&rt, "scripts.hostile.BadUtf8", &[], 500, "not UTF-8");
    let e = rt.exec_json("scripts.hostile.BadUtf8", "[]").unwrap_err();
    assert_eq!(e.code(), 500, "{e}");
    still_serving(&rt, "BadUtf8 through exec_json");
    fault(&rt, "scripts.hostile.Raise", &[0x91, 0xa2, 0xff, 0xfe], 400, "not UTF-8");
}

#[test]
fn f09_invalid_json_results_are_500() {
    let (rt, _dir) = runtime_with("{}", &[("j", wasm(&json_hostile_wat()))]);
    fault_rows(
        &rt,
        "j",
        &[
            ("NotJson", 500, "invalid JSON"),
            ("Trailing", 500, "invalid JSON"),
            ("HugeNumber", 500, "invalid JSON"),
            ("TooDeep", 500, "recursion limit"),
            ("NotUtf8", 500, "invalid JSON"),
            ("ErrorNotJson", 500, "unreadable error value"),
        ],
    );
    fault(&rt, "scripts.j.Conflict", &[], 409, "conflict");
    assert_eq!(rt.exec_json("scripts.j.Echo", "[1]").unwrap(), "[1]");
}

// ---------------------------------------------------------------------------
// 10: yao_alloc returning 0, a wild pointer, or trapping

#[test]
fn f10_bad_yao_alloc_is_413_or_500() {
    let guests = [
        ("zero", alloc_wat("(i32.const 0)")),
        ("wild", alloc_wat("(i32.const 0xfffffff0)")),
        ("minus", alloc_wat("(i32.const -1)")),
        ("edge", alloc_wat("(i32.const 65535)")),
        ("traps", alloc_wat("unreachable")),
        ("spins", alloc_wat("(loop $l (br $l)) (i32.const 0)")),
        ("bomb", alloc_wat("(drop (memory.grow (i32.const 60000))) (i32.const 0)")),
        // Good for the args, wild for the process result written back.
        ("second", alloc_wat(&format!("(if (result i32) (global.get $calls) (then (i32.const 0xfffffff0)) (else {BUMP}))"))),
        ("secondzero", alloc_wat(&format!("(if (result i32) (global.get $calls) (then (i32.const 0)) (else {BUMP}))"))),
    ];
    let guests: Vec<(&str, Vec<u8>)> = guests.iter().map(|(id, wat)| (*id, wasm(wat))).collect();
    let (rt, _dir) = runtime_with(r#"{"timeout_ms": 200, "max_memory_mb": 8}"#, &guests);
    let args = [0x91, 0x01];
    fault(&rt, "scripts.zero.Echo", &args, 413, "yao_alloc(2) returned 0");
    fault(&rt, "scripts.wild.Echo", &args, 500, "outside its memory");
    fault(&rt, "scripts.minus.Echo", &args, 500, "outside its memory");
    fault(&rt, "scripts.edge.Echo", &args, 500, "outside its memory");
    fault(&rt, "scripts.traps.Echo", &args, 500, "unreachable");
    fault(&rt, "scripts.spins.Echo", &args, 408, "timeout");
    fault(&rt, "scripts.bomb.Echo", &args, 413, "max_memory_mb is 8");
    rt.set_process_handler(Some(Arc::new(|_: &str, _: &[u8]| Ok(vec![0x91, 0x07]))));
    assert_eq!(rt.exec("scripts.second.Echo", &args).unwrap(), args, "the first yao_alloc is good");
    fault(&rt, "scripts.second.CallHost", &args, 500, "outside its memory");
    fault(&rt, "scripts.secondzero.CallHost", &args, 413, "returned 0");
}

// ---------------------------------------------------------------------------
// 11: yao.process / yao.log with wild pointers

#[test]
fn f11_yao_process_and_log_with_wild_pointers_are_500() {
    let (rt, _dir) = hostile("{}");
    rt.set_process_handler(Some(Arc::new(|name: &str, _: &[u8]| panic!("{name}: a wild call must not reach the host"))));
    fault_rows(
        &rt,
        "hostile",
        &[
            ("ProcessWildName", 500, "out-of-bounds process name"),
            ("ProcessWildArgs", 500, "out-of-bounds process args"),
            ("ProcessNegativeLen", 500, "negative process name length"),
            ("ProcessWrapping", 500, "out-of-bounds process args"),
            ("ProcessArgsPastEnd", 500, "out-of-bounds process args"),
            ("LogWild", 500, "out-of-bounds log message"),
            ("LogNegative", 500, "negative log message length"),
        ],
    );
    // Readable but bad input comes back to the guest as an error value; this
    // guest passes it on, so its code reaches the host.
    fault(&rt, "scripts.hostile.ProcessBadArgs", &[], 400, "args are not valid MessagePack");
    fault(&rt, "scripts.hostile.ProcessBadName", &[], 400, "not UTF-8");
}

// ---------------------------------------------------------------------------
// 12: host callbacks that answer twice, never, badly, late, or panic (C API)

struct Host {
    mode: u8,
    rt: *mut yaowasm_runtime,
    calls: AtomicUsize,
}

unsafe extern "C" fn hostile_host(
    user: *mut c_void,
    _name: *const c_char,
    _len: usize,
    _args: *const u8,
    _args_len: usize,
    res: *mut yaowasm_result,
) {
    let host = unsafe { &*(user as *const Host) };
    host.calls.fetch_add(1, Ordering::SeqCst);
    let ok = mp(&json!({"id": 1}));
    let msg = b"no such user";
    match host.mode {
        // Twice: ok then error; the first answer counts.
        0 => unsafe {
            yaowasm_result_ok(res, ok.as_ptr(), ok.len());
            yaowasm_result_error(res, 500, msg.as_ptr().cast(), msg.len());
        },
        // Twice: error then ok.
        1 => unsafe {
            yaowasm_result_error(res, 404, msg.as_ptr().cast(), msg.len());
            yaowasm_result_ok(res, ok.as_ptr(), ok.len());
        },
        // Never answers.
        2 => {}
        // Answers bytes that are not MessagePack.
        3 => unsafe {
            yaowasm_result_ok(res, [0xc1u8, 0x00].as_ptr(), 2);
        },
        // A code outside 100–599, a NULL message.
        4 => unsafe {
            yaowasm_result_error(res, -7, ptr::null(), 0);
        },
        // NULL bytes with a length.
        5 => unsafe {
            yaowasm_result_ok(res, ptr::null(), 5);
        },
        // Answers into a NULL slot (ignored), so never really answers.
        6 => unsafe {
            yaowasm_result_ok(ptr::null_mut(), ok.as_ptr(), ok.len());
        },
        // Blocks past the call's timeout, then answers.
        7 => unsafe {
            std::thread::sleep(Duration::from_millis(300));
            yaowasm_result_ok(res, ok.as_ptr(), ok.len());
        },
        // Calls back into the runtime, endlessly.
        8 => unsafe {
            let name = CString::new("scripts.hostile.CallHost").unwrap();
            let mut out = yaowasm_buf { ptr: ptr::null_mut(), len: 0 };
            let code = yaowasm_runtime_exec(host.rt, name.as_ptr(), ptr::null(), 0, &mut out);
            let text = if code == 0 { std::slice::from_raw_parts(out.ptr, out.len).to_vec() } else { last_error_bytes() };
            if code == 0 {
                yaowasm_result_ok(res, text.as_ptr(), text.len());
            } else {
                yaowasm_result_error(res, code, text.as_ptr().cast(), text.len());
            }
            yaowasm_buf_free(out);
        },
        // Non-UTF-8 error message.
        _ => unsafe {
            yaowasm_result_error(res, 422, [0xffu8, 0xfe].as_ptr().cast(), 2);
        },
    }
}

/// The calling thread's last error (the C API's only place for a message).
fn last_error_bytes() -> Vec<u8> {
    let p = yaowasm_last_error();
    if p.is_null() {
        return Vec::new();
    }
    unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes().to_vec()
}

/// (code, result) or (code, the last error).
fn c_exec(rt: *mut yaowasm_runtime, name: &str) -> (i32, Vec<u8>) {
    let name = CString::new(name).unwrap();
    let mut out = yaowasm_buf { ptr: ptr::null_mut(), len: 0 };
    let code = unsafe { yaowasm_runtime_exec(rt, name.as_ptr(), [0x90u8].as_ptr(), 1, &mut out) };
    if code != 0 {
        return (code, last_error_bytes());
    }
    let bytes = unsafe { std::slice::from_raw_parts(out.ptr, out.len) }.to_vec();
    unsafe { yaowasm_buf_free(out) };
    (code, bytes)
}

#[test]
fn f12_host_callbacks_that_misbehave_through_the_c_api() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sink.wasm", &wasm(&sink_wat()));
    write(dir.path(), "hostile.wasm", &wasm(&hostile_wat()));
    let config = CString::new(r#"{"timeout_ms": 100, "max_depth": 8}"#).unwrap();
    let mut rt = ptr::null_mut();
    assert_eq!(unsafe { yaowasm_runtime_new(config.as_ptr(), &mut rt) }, 0);
    let d = CString::new(dir.path().to_str().unwrap()).unwrap();
    assert_eq!(unsafe { yaowasm_runtime_load_dir(rt, d.as_ptr(), ptr::null_mut()) }, 0);
    assert_eq!(c_exec(rt, "scripts.sink.Echo").0, 0, "both scripts loaded");
    let rows: &[(u8, &str, i32, &str)] = &[
        (0, "answers twice, ok first", 0, ""),
        (1, "answers twice, error first", 404, "no such user"),
        (2, "never answers", 500, "without answering"),
        (3, "answers invalid MessagePack", 500, "invalid MessagePack"),
        (4, "answers code -7", 500, ""),
        (5, "answers NULL bytes with a length", 500, "invalid MessagePack"),
        (6, "answers into a NULL slot", 500, "without answering"),
        (7, "blocks past the timeout", 408, "timeout"),
        (8, "re-enters the runtime endlessly", 500, "max_depth 8"),
        (9, "answers a non-UTF-8 message", 422, "\u{fffd}"),
    ];
    for &(mode, what, want, needle) in rows {
        let host = Box::new(Host { mode, rt, calls: AtomicUsize::new(0) });
        unsafe { yaowasm_runtime_set_process_handler(rt, Some(hostile_host), &*host as *const Host as *mut c_void) };
        let (code, bytes) = c_exec(rt, "scripts.hostile.CallHost");
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(code, want, "{what}: {text}");
        assert!(host.calls.load(Ordering::SeqCst) >= 1, "{what}: the handler ran");
        if code == 0 {
            assert_eq!(json(&bytes), json!({"id": 1}), "{what}");
        } else {
            assert!(text.contains(needle), "{what}: expected {needle:?} in {text}");
        }
        assert_eq!(c_exec(rt, "scripts.sink.Echo"), (0, vec![0x90]), "the call after {what}");
        unsafe { yaowasm_runtime_set_process_handler(rt, None, ptr::null_mut()) };
    }
    unsafe { yaowasm_runtime_free(rt) };
    // After free, a fresh runtime's last error is clean.
    let mut again = ptr::null_mut();
    assert_eq!(unsafe { yaowasm_runtime_new(ptr::null(), &mut again) }, 0);
    assert!(!again.is_null() && yaowasm_last_error().is_null());
    unsafe { yaowasm_runtime_free(again) };
}

#[test]
fn f13_host_callbacks_that_panic_are_500() {
    // A C function cannot unwind into Rust (a Rust `extern "C"` callback that
    // panics aborts by the language's own rule, before reaching us); a Rust
    // host's panicking closure is caught at the handler boundary.
    let (rt, _dir) = hostile(r#"{"timeout_ms": 60000}"#);
    rt.set_process_handler(Some(Arc::new(|_: &str, _: &[u8]| panic!("host bug"))));
    fault(&rt, "scripts.hostile.CallHost", &[], 500, "panicked");
    rt.set_process_handler(Some(Arc::new(|_: &str, _: &[u8]| std::panic::panic_any(42u32))));
    fault(&rt, "scripts.hostile.CallHost", &[], 500, "panicked");
    // A log handler that panics loses the record, never the call.
    rt.set_log_handler(Some(Arc::new(|_, _: &str| panic!("log bug"))));
    assert_eq!(rt.exec("scripts.sink.Log", &[]).unwrap(), vec![0xc0]);
    still_serving(&rt, "a panicking log handler");
}

// ---------------------------------------------------------------------------
// 14–17: modules that are too big in one way or another

/// `n` functions; every one exported as a script function if `exported`,
/// else only `Echo` is and the others are never referenced.
fn many_functions_wat(n: usize, exported: bool) -> String {
    let mut funcs = String::with_capacity(n * 80);
    for i in 0..n {
        let export = if exported { format!("(export \"F{i}\")") } else { String::new() };
        funcs.push_str(&format!("(func {export} (param i32 i32) (result i64) (i64.const {i}))\n"));
    }
    module_with(&funcs)
}

#[test]
fn f14_module_with_100k_functions() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "exported.wasm", &wasm(&many_functions_wat(100_000, true)));
    write(dir.path(), "internal.wasm", &wasm(&many_functions_wat(100_000, false)));
    // 270k functions made escaping by a declarative element segment (the
    // parser caps exports at 100k): 8.6 MB of metadata.
    let mut declared = many_functions_wat(270_000, false);
    let refs: String = (0..270_000).map(|i| format!(" {i}")).collect();
    declared.insert_str(declared.rfind(')').unwrap(), &format!("(elem declare func{refs})"));
    write(dir.path(), "toomany.wasm", &wasm(&declared));
    write(dir.path(), "sink.wasm", &wasm(&sink_wat()));
    let rt = Runtime::from_json(None).unwrap();
    let report = rt.load_dir(dir.path()).unwrap();
    // 100k exported (escaping) functions need 3.2 MB of instance metadata,
    // within the pool's 8 MiB per instance (a big Go program's table is
    // like this): served. 270k need 8.6 MB: refused at load, sizes named.
    let p = report.problems.iter().find(|p| p.file.ends_with("toomany.wasm")).expect("toomany.wasm refused");
    assert_eq!(p.code, 413, "{p:?}");
    assert!(p.message.contains("8388608 bytes"), "{p:?}");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.loaded, 3);
    // F99999 runs: it answers its own index as a packed (ptr 0, len 99999).
    fault(&rt, "scripts.exported.F99999", &[], 500, "99999 bytes at 0x0");
    // 100k functions that do not escape cost no instance space: served.
    assert_eq!(rt.exec("scripts.internal.Echo", &[0x91, 0x05]).unwrap(), vec![0x91, 0x05]);
    still_serving(&rt, "a module with 100k functions");
}

#[test]
fn f15_huge_data_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mib = |n: usize| "a".repeat(n << 20);
    // 6 MiB of data in a memory that may not exceed 4 MiB: rejected at load.
    write(
        dir.path(),
        "declared.wasm",
        &wasm(&format!(
            r#"(module (memory (export "memory") 96) (data (i32.const 0) "{}") {ALLOC} {PACK}
           (func (export "F") (param i32 i32) (result i64) (i64.const 0)))"#,
            mib(6)
        )),
    );
    // 6 MiB of data into a 1-page memory: every instantiation fails.
    write(
        dir.path(),
        "overflowing.wasm",
        &wasm(&format!(
            r#"(module (memory (export "memory") 1) (data (i32.const 0) "{}") {ALLOC} {PACK}
           (func (export "F") (param i32 i32) (result i64) (i64.const 0)))"#,
            mib(6)
        )),
    );
    // 3 MiB that fit: loads and runs.
    write(
        dir.path(),
        "fits.wasm",
        &wasm(&format!(
            r#"(module (memory (export "memory") 48) (data (i32.const 0) "{}") {ALLOC} {PACK}
           (func (export "Last") (param i32 i32) (result i64)
             (call $pack (i32.const 3145727) (i32.const 1))))"#,
            mib(3)
        )),
    );
    write(dir.path(), "sink.wasm", &wasm(&sink_wat()));
    let rt = Runtime::from_json(Some(r#"{"max_memory_mb": 4}"#)).unwrap();
    let report = rt.load_dir(dir.path()).unwrap();
    let problem = report.problems.iter().find(|p| p.file.ends_with("declared.wasm")).expect("declared.wasm refused");
    assert_eq!(problem.code, 413, "{problem:?}");
    assert!(problem.message.contains("6 MiB") && problem.message.contains("max_memory_mb is 4"), "{problem:?}");
    assert_eq!(report.loaded, 3, "{:?}", report.problems);
    fault(&rt, "scripts.overflowing.F", &[], 500, "out of bounds memory access");
    assert_eq!(rt.exec("scripts.fits.Last", &[]).unwrap(), vec![b'a']);
    still_serving(&rt, "huge data segments");
}

#[test]
fn f16_huge_tables_are_413() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "table.wasm", &wasm(&module_with("(table 10000000 funcref)")));
    write(
        dir.path(),
        "tables.wasm",
        &wasm(&module_with("(table 1 funcref) (table 1 funcref) (table 1 funcref) (table 1 funcref) (table 1 funcref)")),
    );
    write(dir.path(), "memories.wasm", &wasm(&module_with("(memory 1)")));
    write(
        dir.path(),
        "grows.wasm",
        &wasm(&module_with(
            r#"(table $t 1 funcref)
           (func (export "GrowTable") (param i32 i32) (result i64)
             (if (i32.eq (table.grow $t (ref.null func) (i32.const 10000000)) (i32.const -1))
               (then (return (i64.const 0))))
             unreachable)"#,
        )),
    );
    write(dir.path(), "sink.wasm", &wasm(&sink_wat()));
    let rt = Runtime::from_json(None).unwrap();
    let report = rt.load_dir(dir.path()).unwrap();
    for (file, needle) in [("table.wasm", "minimum element size of 10000000"), ("tables.wasm", ""), ("memories.wasm", "")] {
        let p = report.problems.iter().find(|p| p.file.ends_with(file)).unwrap_or_else(|| panic!("{file} loaded: {report:?}"));
        assert_eq!(p.code, 413, "{p:?}");
        assert!(p.message.contains(needle), "{p:?}");
    }
    assert_eq!(report.loaded, 2, "{:?}", report.problems);
    // A table that grows past the pool's limit at run time.
    fault(&rt, "scripts.grows.GrowTable", &[], 413, "table limit");
}

#[test]
fn f17_start_function_and_initialize_misbehave() {
    let guests = [
        ("starttrap", module_with("(func $s unreachable) (start $s)")),
        ("initloop", module_with(r#"(func (export "_initialize") (loop $l (br $l)))"#)),
        ("inittrap", module_with(r#"(func (export "_initialize") unreachable)"#)),
        (
            "startcall",
            format!(
                r#"(module (import "yao" "log" (func $log (param i32 i32 i32)))
                   (memory (export "memory") 1) {ALLOC} {PACK}
                   (func $s (call $log (i32.const 2) (i32.const 0) (i32.const 1))) (start $s)
                   (func (export "F") (param i32 i32) (result i64) (i64.const 0)))"#
            ),
        ),
    ];
    let guests: Vec<(&str, Vec<u8>)> = guests.iter().map(|(id, wat)| (*id, wasm(wat))).collect();
    let (rt, _dir) = runtime_with(r#"{"timeout_ms": 100}"#, &guests);
    fault(&rt, "scripts.starttrap.Echo", &[], 500, "unreachable");
    fault(&rt, "scripts.initloop.Echo", &[], 408, "timeout");
    fault(&rt, "scripts.inittrap.Echo", &[], 500, "unreachable");
    fault(&rt, "scripts.startcall.F", &[], 500, "start function");
    // yao_encoding answering nonsense, or trapping, is refused at load.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "enc7.wasm", &wasm(&module_with(r#"(func (export "yao_encoding") (result i32) (i32.const 7))"#)));
    write(dir.path(), "enctrap.wasm", &wasm(&module_with(r#"(func (export "yao_encoding") (result i32) unreachable)"#)));
    let report = rt.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, 0);
    let codes: Vec<i32> = report.problems.iter().map(|p| p.code).collect();
    assert_eq!(codes, vec![400, 500], "{report:?}");
    still_serving(&rt, "bad yao_encoding");
}

#[test]
fn f18_arbitrary_bytes_as_a_module_are_400() {
    let dir = tempfile::tempdir().unwrap();
    let valid = wasm(&sink_wat());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("text", b"hello".to_vec()),
        ("magic_only", b"\0asm".to_vec()),
        ("truncated", valid[..valid.len() / 2].to_vec()),
        ("wrong_version", b"\0asm\x02\0\0\0".to_vec()),
        ("component", wasm("(component)")),
    ];
    let rt = Runtime::from_json(None).unwrap();
    for (name, bytes) in &cases {
        let path = write(dir.path(), &format!("{name}.wasm"), bytes);
        let e = rt.load_file(&path, None).expect_err(name);
        assert_eq!(e.code(), 400, "{name}: {e}");
    }
    let sink = write(dir.path(), "sink.wasm", &valid);
    rt.load_file(&sink, None).unwrap();
    still_serving(&rt, "arbitrary bytes");
}

// ---------------------------------------------------------------------------
// 19: a corrupt or truncated cache file

fn cache_files(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == ext)).collect()
}

#[test]
fn f19_corrupt_or_truncated_cache_files_are_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let scripts = tempfile::tempdir().unwrap();
    write(scripts.path(), "sink.wasm", &wasm(&sink_wat()));
    let config = json!({"cache_dir": cache.path()}).to_string();
    Runtime::from_json(Some(&config)).unwrap().load_dir(scripts.path()).unwrap();
    let cwasm = cache_files(cache.path(), "cwasm").pop().unwrap();
    let digest = cwasm.with_extension("hmac");
    let original = std::fs::read(&cwasm).unwrap();
    // A tag that verifies, made with the folder's own key (the scheme of
    // src/runtime/cache.rs).
    let secret = std::fs::read(cache.path().join("cache.key")).unwrap();
    let hex = |bytes: &[u8]| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
        mac.update(b"yaowasm-cache-v3\0");
        mac.update(cwasm.file_stem().unwrap().as_encoded_bytes());
        mac.update(b"\0");
        mac.update(bytes);
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>()
    };

    let mut garbage_elf = original.clone();
    for b in garbage_elf.iter_mut().skip(64).step_by(7) {
        *b = b.wrapping_mul(31).wrapping_add(17);
    }
    type Damage<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let damages: Vec<Damage> = vec![
        ("truncated to 0", Box::new(|| std::fs::write(&cwasm, b"").unwrap())),
        ("truncated in half", Box::new(|| std::fs::write(&cwasm, &original[..original.len() / 2]).unwrap())),
        ("digest garbage", Box::new(|| std::fs::write(&digest, b"zzz").unwrap())),
        ("digest missing", Box::new(|| std::fs::remove_file(&digest).unwrap())),
        // Even bytes with a tag that verifies (someone holding the key) must
        // still be refused by wasmtime, not run.
        (
            "random bytes with a matching digest",
            Box::new(|| {
                let junk: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
                std::fs::write(&cwasm, &junk).unwrap();
                std::fs::write(&digest, hex(&junk)).unwrap();
            }),
        ),
        (
            "ELF header kept, body scrambled, matching digest",
            Box::new(|| {
                std::fs::write(&cwasm, &garbage_elf).unwrap();
                std::fs::write(&digest, hex(&garbage_elf)).unwrap();
            }),
        ),
        (
            "a directory where the file was",
            Box::new(|| {
                std::fs::remove_file(&cwasm).unwrap();
                std::fs::create_dir(&cwasm).unwrap();
            }),
        ),
    ];
    for (what, damage) in damages {
        damage();
        let rt = Runtime::from_json(Some(&config)).unwrap();
        let logs = capture_logs(&rt);
        let report = rt.load_dir(scripts.path()).unwrap();
        assert_eq!(report.loaded, 1, "{what}: {:?}", report.problems);
        assert_eq!(rt.exec("scripts.sink.Echo", &[0x91, 0x02]).unwrap(), vec![0x91, 0x02], "{what}");
        still_serving(&rt, what);
        if cwasm.is_dir() {
            assert!(logs.lock().unwrap().iter().any(|(_, m)| m.contains("cannot write cache file")), "{what}: warned");
            std::fs::remove_dir(&cwasm).unwrap();
        }
        // Anything that was refused has been rewritten whole.
        Runtime::from_json(Some(&config)).unwrap().load_dir(scripts.path()).unwrap();
        let rewritten = std::fs::read(&cwasm).unwrap();
        assert_eq!(rewritten.len(), original.len(), "{what}: rewritten whole");
        assert_eq!(std::fs::read_to_string(&digest).unwrap(), hex(&rewritten), "{what}: digest rewritten");
    }
    // The cache folder removed under a live runtime: loads still work.
    let rt = Runtime::from_json(Some(&config)).unwrap();
    let _ = capture_logs(&rt);
    std::fs::remove_dir_all(cache.path()).unwrap();
    assert_eq!(rt.load_dir(scripts.path()).unwrap().loaded, 1);
    still_serving(&rt, "cache folder removed");
}

// ---------------------------------------------------------------------------
// 20: a script deleted, unloaded or reloaded while being called

fn slow_runtime() -> (Runtime, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "v.wasm", &wasm(&versioned_wat(1, 200_000_000)));
    write(dir.path(), "sink.wasm", &wasm(&sink_wat()));
    let rt = Runtime::from_json(Some(r#"{"timeout_ms": 20000}"#)).unwrap();
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 2);
    (rt, dir)
}

fn in_flight(rt: &Runtime) -> std::thread::JoinHandle<yaowasm::Result<Vec<u8>>> {
    let rt = rt.clone();
    let handle = std::thread::spawn(move || rt.exec("scripts.v.Version", &[]));
    std::thread::sleep(Duration::from_millis(50));
    assert!(!handle.is_finished(), "the call must still be running");
    handle
}

#[test]
fn f20_script_deleted_or_unloaded_while_being_called() {
    let (rt, dir) = slow_runtime();
    // The file deleted from disk: the call in flight and later calls run on
    // the compiled module until the next load_dir.
    let call = in_flight(&rt);
    std::fs::remove_file(dir.path().join("v.wasm")).unwrap();
    assert_eq!(call.join().unwrap().unwrap(), vec![1]);
    still_serving(&rt, "file deleted mid-call");
    write(dir.path(), "v.wasm", &wasm(&versioned_wat(1, 200_000_000)));

    // Unloaded mid-call: the call finishes, the next one is a 404.
    let call = in_flight(&rt);
    rt.unload("v").unwrap();
    assert_eq!(call.join().unwrap().unwrap(), vec![1], "the call in flight finishes");
    fault(&rt, "scripts.v.Version", &[], 404, "no script v");

    // Folder reloaded without the file mid-call: same.
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 2);
    let call = in_flight(&rt);
    std::fs::remove_file(dir.path().join("v.wasm")).unwrap();
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 1);
    assert_eq!(call.join().unwrap().unwrap(), vec![1]);
    fault(&rt, "scripts.v.Version", &[], 404, "no script v");
}

// ---------------------------------------------------------------------------
// 21: bad input from the host side of exec

#[test]
fn f21_bad_exec_input_is_400_or_404() {
    let (rt, _dir) = hostile("{}");
    fault(&rt, "scripts.hostile.Echo", &[0xc1], 400, "not valid MessagePack");
    fault(&rt, "scripts.hostile.Echo", &[0x01], 400, "must be a MessagePack array");
    fault(&rt, "scripts.hostile.Echo", &[0xdd, 0xff, 0xff, 0xff, 0xff], 400, "claims more values");
    fault(&rt, "scripts.hostile.Echo", &vec![0x91; 10_000], 400, "nested deeper");
    fault(&rt, "scripts.hostile.Nope", &[], 404, "no function Nope");
    fault(&rt, "scripts.nope.F", &[], 404, "no script nope");
    fault(&rt, "studio.x.F", &[], 404, "not served by yaowasm");
    fault(&rt, "scripts..F", &[], 400, "bad process name");
    fault(&rt, "scripts", &[], 400, "bad process name");
    assert_eq!(rt.exec_json("scripts.hostile.Echo", "[1,").unwrap_err().code(), 400);
    still_serving(&rt, "bad JSON args");
}

// ---------------------------------------------------------------------------
// 22–27: the host API imports (docs/ABI.md §3–§9): store, store_get,
// store_set, store_del, fs, http, query

/// A guest that calls each host-API import with the raw i32 arguments it is
/// given. Its one arg is `[bin]`: at +0 a u32 mask, at +4 eight i32 params,
/// at +36 an i64 ttl, at +44 data. A param whose mask bit is set is a
/// pointer relative to that data; the others are passed as they are, so a
/// test can hand an import any pointer and length. The last 3 bytes of the
/// first page hold "Get" (a string that ends exactly at the end of memory).
fn raw_api_wat() -> String {
    format!(
        r#"(module
  {HOST_API_IMPORTS}
  (memory (export "memory") 1)
  (data (i32.const 65533) "Get")
  {ALLOC}
  {PACK}
  ;; Param $i of the call whose arg starts at $b (6 bytes of bin32 header).
  (func $p (param $b i32) (param $i i32) (result i32)
    (local $v i32)
    (local.set $v (i32.load (i32.add (i32.add (local.get $b) (i32.const 10)) (i32.shl (local.get $i) (i32.const 2)))))
    (if (result i32) (i32.and (i32.load (i32.add (local.get $b) (i32.const 6))) (i32.shl (i32.const 1) (local.get $i)))
      (then (i32.add (local.get $v) (i32.add (local.get $b) (i32.const 50))))
      (else (local.get $v))))
  (func (export "Echo") (param $p i32) (param $n i32) (result i64) (call $pack (local.get $p) (local.get $n)))
  (func (export "Store") (param $b i32) (param i32) (result i64)
    (call $store (call $p (local.get $b) (i32.const 0)) (call $p (local.get $b) (i32.const 1)) (call $p (local.get $b) (i32.const 2))
                 (call $p (local.get $b) (i32.const 3)) (call $p (local.get $b) (i32.const 4)) (call $p (local.get $b) (i32.const 5))))
  (func (export "StoreGet") (param $b i32) (param i32) (result i64)
    (call $store_get (call $p (local.get $b) (i32.const 0)) (call $p (local.get $b) (i32.const 1))
                     (call $p (local.get $b) (i32.const 2)) (call $p (local.get $b) (i32.const 3))))
  (func (export "StoreSet") (param $b i32) (param i32) (result i64)
    (call $store_set (call $p (local.get $b) (i32.const 0)) (call $p (local.get $b) (i32.const 1)) (call $p (local.get $b) (i32.const 2))
                     (call $p (local.get $b) (i32.const 3)) (call $p (local.get $b) (i32.const 4)) (call $p (local.get $b) (i32.const 5))
                     (i64.load (i32.add (local.get $b) (i32.const 42)))))
  (func (export "StoreDel") (param $b i32) (param i32) (result i64)
    (call $store_del (call $p (local.get $b) (i32.const 0)) (call $p (local.get $b) (i32.const 1))
                     (call $p (local.get $b) (i32.const 2)) (call $p (local.get $b) (i32.const 3))))
  (func (export "Fs") (param $b i32) (param i32) (result i64)
    (call $fs (call $p (local.get $b) (i32.const 0)) (call $p (local.get $b) (i32.const 1)) (call $p (local.get $b) (i32.const 2))
              (call $p (local.get $b) (i32.const 3)) (call $p (local.get $b) (i32.const 4)) (call $p (local.get $b) (i32.const 5))))
  (func (export "Http") (param $b i32) (param i32) (result i64)
    (call $http (call $p (local.get $b) (i32.const 0)) (call $p (local.get $b) (i32.const 1))
                (call $p (local.get $b) (i32.const 2)) (call $p (local.get $b) (i32.const 3))))
  (func (export "Query") (param $b i32) (param i32) (result i64)
    (call $query (call $p (local.get $b) (i32.const 0)) (call $p (local.get $b) (i32.const 1))))
)"#
    )
}

/// One (ptr, len) param of a [`raw_api_wat`] call.
#[derive(Clone)]
enum P {
    /// These bytes, placed in the call's data.
    B(Vec<u8>),
    /// This pointer and length, as they are.
    Raw(i32, i32),
}

fn b(bytes: impl AsRef<[u8]>) -> P {
    P::B(bytes.as_ref().to_vec())
}

/// MessagePack of a JSON value, as a param.
fn m(value: serde_json::Value) -> P {
    P::B(mp(&value))
}

/// The one arg of a [`raw_api_wat`] call.
fn raw_args(params: &[P], ttl: i64) -> Vec<u8> {
    let (mut mask, mut words, mut data) = (0u32, [0i32; 8], Vec::new());
    for (i, p) in params.iter().enumerate() {
        let (ptr, len) = match p {
            P::B(bytes) => {
                mask |= 1 << (2 * i);
                data.extend_from_slice(bytes);
                ((data.len() - bytes.len()) as i32, bytes.len() as i32)
            }
            P::Raw(ptr, len) => (*ptr, *len),
        };
        (words[2 * i], words[2 * i + 1]) = (ptr, len);
    }
    let mut body = mask.to_le_bytes().to_vec();
    words.iter().for_each(|w| body.extend_from_slice(&w.to_le_bytes()));
    body.extend_from_slice(&ttl.to_le_bytes());
    body.extend_from_slice(&data);
    let mut out = vec![0x91, 0xc6];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Calls `import` (a function of the `api` guest) with `params`.
fn api(rt: &Runtime, import: &str, params: &[P]) -> yaowasm::Result<Vec<u8>> {
    api_ttl(rt, import, params, 0)
}

fn api_ttl(rt: &Runtime, import: &str, params: &[P], ttl: i64) -> yaowasm::Result<Vec<u8>> {
    rt.exec(&format!("scripts.api.{import}"), &raw_args(params, ttl))
}

/// The call must end with `code` and a message holding `needle`; the next
/// call must succeed.
fn api_fault(rt: &Runtime, what: &str, answer: yaowasm::Result<Vec<u8>>, code: i32, needle: &str) {
    let e = answer.expect_err(what);
    assert_eq!(e.code(), code, "{what}: {e}");
    assert!(e.message().contains(needle), "{what}: expected {needle:?} in {e}");
    still_serving(rt, what);
}

/// The call must succeed with `expected` (JSON of the answer).
fn api_ok(answer: yaowasm::Result<Vec<u8>>, expected: serde_json::Value, what: &str) {
    let bytes = answer.unwrap_or_else(|e| panic!("{what}: {e}"));
    let got = if bytes.is_empty() { serde_json::Value::Null } else { json(&bytes) };
    assert_eq!(got, expected, "{what}");
}

fn api_runtime(config: &serde_json::Value) -> (Runtime, tempfile::TempDir) {
    runtime_with(&config.to_string(), &[("api", wasm(&raw_api_wat()))])
}

/// Wild and edge (ptr, len) pairs: (param, needle).
fn wild_params() -> Vec<(P, &'static str)> {
    vec![
        (P::Raw(0xfffffff0u32 as i32, 64), "out-of-bounds"),
        (P::Raw(65536, 1), "out-of-bounds"),
        (P::Raw(65535, 2), "out-of-bounds"),
        (P::Raw(-1, 1), "out-of-bounds"),
        (P::Raw(16, -1), "negative"),
        (P::Raw(16, i32::MIN), "negative"),
        (P::Raw(0, i32::MAX), "out-of-bounds"),
    ]
}

#[test]
fn f22_host_api_imports_with_wild_pointers_are_500() {
    let base = tempfile::tempdir().unwrap();
    let (rt, _dir) = api_runtime(&json!({"fs": {"data": base.path()}, "http_allow": ["127.0.0.1:9"]}));
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| {
        count.fetch_add(1, Ordering::SeqCst);
        Ok(vec![0xc0])
    })));
    // Good params of each import; each position in turn is made wild.
    let imports: Vec<(&str, Vec<P>, Vec<&str>)> = vec![
        ("Store", vec![b("s"), b("Get"), m(json!(["k"]))], vec!["store name", "store method", "store args"]),
        ("StoreGet", vec![b("s"), b("k")], vec!["store name", "store key"]),
        ("StoreSet", vec![b("s"), b("k"), m(json!(1))], vec!["store name", "store key", "store value"]),
        ("StoreDel", vec![b("s"), b("k")], vec!["store name", "store key"]),
        ("Fs", vec![b("data"), b("Exists"), m(json!(["."]))], vec!["fs root", "fs method", "fs args"]),
        ("Http", vec![b("Get"), m(json!(["http://127.0.0.1:9/"]))], vec!["http method", "http args"]),
        ("Query", vec![m(json!([{"select": ["id"]}]))], vec!["query args"]),
    ];
    let mut faults = 0;
    for (import, good, names) in &imports {
        for (i, name) in names.iter().enumerate() {
            for (wild, needle) in wild_params() {
                let mut params = good.clone();
                params[i] = wild.clone();
                let what = format!(
                    "{import} with {name} {:?}",
                    match wild {
                        P::Raw(p, l) => (p, l),
                        P::B(_) => unreachable!(),
                    }
                );
                api_fault(&rt, &what, api(&rt, import, &params), 500, &format!("{needle} {name}"));
                faults += 1;
            }
        }
    }
    assert_eq!(faults, 16 * 7);
    assert_eq!(seen.load(Ordering::SeqCst), 0, "a wild call never reaches the host");
    // The very end of memory: "Get" in its last 3 bytes is read; an empty
    // string just past the end is an empty (bad) name, not a wild one.
    api_ok(api(&rt, "Store", &[b("s"), P::Raw(65533, 3), m(json!(["k"]))]), serde_json::Value::Null, "Get at the end of memory");
    api_fault(&rt, "empty name at the end", api(&rt, "Store", &[P::Raw(65536, 0), b("Get"), m(json!(["k"]))]), 400, "1..=128 bytes");
    api_fault(
        &rt,
        "Get one past the end",
        api(&rt, "Store", &[b("s"), P::Raw(65534, 3), m(json!(["k"]))]),
        500,
        "out-of-bounds store method",
    );
}

/// store_set's i64 ttl on store `name`: negative or 0 is no expiry (ABI §5),
/// up to `Set`'s cap (10^10 s) is kept; past it is a 400 on every backend.
fn store_set_ttls(rt: &Runtime, name: &str) {
    for ttl in [-1, i64::MIN, 0, 1, 10_000_000_000] {
        api_ok(api_ttl(rt, "StoreSet", &[b(name), b("t"), m(json!(ttl))], ttl), serde_json::Value::Null, &format!("{name}: ttl {ttl}"));
        api_ok(api(rt, "StoreGet", &[b(name), b("t")]), json!(ttl), &format!("{name}: ttl {ttl} read back"));
    }
    for ttl in [10_000_000_001, 1 << 53, i64::MAX] {
        api_fault(
            rt,
            &format!("{name}: ttl {ttl}"),
            api_ttl(rt, "StoreSet", &[b(name), b("t"), m(json!(ttl))], ttl),
            400,
            "ttl_seconds must be at most",
        );
    }
    let set = |ttl: serde_json::Value| api(rt, "Store", &[b(name), b("Set"), m(json!(["t", 1, ttl]))]);
    api_ok(set(json!(1e10)), serde_json::Value::Null, "Set ttl 1e10");
    api_fault(rt, &format!("{name}: Set ttl 1e10 + 1"), set(json!(10_000_000_001u64)), 400, "ttl in seconds, 0 to");
}

#[test]
fn f23_store_bad_input_is_400_or_404() {
    let (rt, _dir) = api_runtime(&json!({}));
    let get = |name: P, method: P, args: P| api(&rt, "Store", &[name, method, args]);
    let k = || m(json!(["k"]));
    let not_utf8 = || b([0xff, 0xfe]);
    let deep = |n: usize| P::B([vec![0x91; n], vec![0xc0]].concat());
    let rows: Vec<(&str, yaowasm::Result<Vec<u8>>, i32, &str)> = vec![
        ("name not UTF-8", get(not_utf8(), b("Get"), k()), 400, "store name is not UTF-8"),
        ("method not UTF-8", get(b("s"), not_utf8(), k()), 400, "store method is not UTF-8"),
        ("store_get key not UTF-8", api(&rt, "StoreGet", &[b("s"), not_utf8()]), 400, "store key is not UTF-8"),
        ("store_set key not UTF-8", api(&rt, "StoreSet", &[b("s"), not_utf8(), m(json!(1))]), 400, "store key is not UTF-8"),
        ("store_del name not UTF-8", api(&rt, "StoreDel", &[not_utf8(), b("k")]), 400, "store name is not UTF-8"),
        ("name of 129 bytes", get(b("n".repeat(129)), b("Get"), k()), 400, "got 129"),
        ("store_set name of 129 bytes", api(&rt, "StoreSet", &[b("n".repeat(129)), b("k"), m(json!(1))]), 400, "got 129"),
        ("name of 64 KiB", get(b("n".repeat(60_000)), b("Get"), k()), 400, "got 60000"),
        ("args a map", get(b("s"), b("Get"), m(json!({"k": 1}))), 400, "must be a MessagePack array"),
        ("args a string", get(b("s"), b("Get"), m(json!("k"))), 400, "must be a MessagePack array"),
        ("args truncated", get(b("s"), b("Get"), b([0x92, 0xa1, b'k'])), 400, ""),
        ("args claiming 4G items", get(b("s"), b("Get"), b([0xdd, 0xff, 0xff, 0xff, 0xff])), 400, "claims more values"),
        ("args a str32 claiming 4 GiB", get(b("s"), b("Get"), b([0x91, 0xdb, 0xff, 0xff, 0xff, 0xff])), 400, ""),
        ("key a non-UTF-8 MessagePack str", get(b("s"), b("Get"), b([0x91, 0xa2, 0xff, 0xfe])), 400, "a string is not UTF-8"),
        (
            "Set of a 300-deep value",
            get(b("s"), b("Set"), P::B([vec![0x92, 0xa1, b'k'], vec![0x91; 300], vec![0xc0]].concat())),
            400,
            "nested deeper",
        ),
        ("store_set of a 300-deep value", api(&rt, "StoreSet", &[b("s"), b("k"), deep(300)]), 400, "nested deeper"),
        ("store_set of 0xc1", api(&rt, "StoreSet", &[b("s"), b("k"), b([0xc1])]), 400, "not valid MessagePack"),
        ("store_set of a truncated map", api(&rt, "StoreSet", &[b("s"), b("k"), b([0x81, 0xa1, b'a'])]), 400, "not valid MessagePack"),
        ("store_set of two values", api(&rt, "StoreSet", &[b("s"), b("k"), b([0x01, 0x02])]), 400, "not valid MessagePack"),
        ("store_set of an ext", api(&rt, "StoreSet", &[b("s"), b("k"), b([0xd4, 0x01, 0x02])]), 400, "not valid MessagePack"),
        ("ttl -1", get(b("s"), b("Set"), m(json!(["k", 1, -1]))), 400, "ttl"),
        ("ttl -0.5", get(b("s"), b("Set"), m(json!(["k", 1, -0.5]))), 400, "ttl"),
        ("ttl NaN", get(b("s"), b("Set"), P::B([&[0x93, 0xa1, b'k', 0x01, 0xcb][..], &f64::NAN.to_be_bytes()].concat())), 400, "ttl"),
        ("ttl +inf", get(b("s"), b("Set"), P::B([&[0x93, 0xa1, b'k', 0x01, 0xcb][..], &f64::INFINITY.to_be_bytes()].concat())), 400, "ttl"),
        ("ttl 1e300", get(b("s"), b("Set"), m(json!(["k", 1, 1e300]))), 400, "ttl"),
        ("ttl u64::MAX", get(b("s"), b("Set"), m(json!(["k", 1, u64::MAX]))), 400, "ttl"),
        ("ttl i64::MIN", get(b("s"), b("Set"), m(json!(["k", 1, i64::MIN]))), 400, "ttl"),
        ("GetSet ttl -1", get(b("s"), b("GetSet"), m(json!(["k", 1, -1]))), 400, "ttl"),
        ("unknown method", get(b("s"), b("Teleport"), m(json!([]))), 404, "no method \"Teleport\""),
        ("method in the wrong case", get(b("s"), b("get"), k()), 404, "no method \"get\""),
        ("method with a NUL", get(b("s"), b("Get\0"), k()), 404, "no method"),
    ];
    for (what, answer, code, needle) in rows {
        api_fault(&rt, what, answer, code, needle);
    }
    store_set_ttls(&rt, "s");
    // 255 levels: the deepest value the runtime takes, stored and read back.
    let deepest = [vec![0x91; 255], vec![0xc0]].concat();
    api_ok(api(&rt, "StoreSet", &[b("s"), b("deep"), P::B(deepest.clone())]), serde_json::Value::Null, "255-deep value");
    assert_eq!(api(&rt, "StoreGet", &[b("s"), b("deep")]).unwrap(), deepest);
    // A 128-byte name is fine.
    api_ok(api(&rt, "StoreGet", &[b("n".repeat(128)), b("k")]), serde_json::Value::Null, "128-byte name");
}

/// A port of 127.0.0.1 with nothing listening.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A redis-server on a free port, killed when dropped (scripts/setup.sh
/// installs it).
struct RedisServer(std::process::Child, u16, #[allow(dead_code)] tempfile::TempDir);

impl RedisServer {
    fn start() -> RedisServer {
        let (dir, port) = (tempfile::tempdir().unwrap(), closed_port());
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/setup.sh)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer(child, port, dir)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn f24_store_backends_that_fail() {
    // Redis on a port where nothing listens (no redis-server needed): every
    // import is a 502, quickly; the memory stores keep serving.
    let url = format!("redis://127.0.0.1:{}/0", closed_port());
    let server = RedisServer::start();
    let live = format!("redis://127.0.0.1:{}/0", server.1);
    let config = json!({"stores": {"gone": {"backend": "redis", "url": url}, "live": {"backend": "redis", "url": live},
                                   "gou": {"backend": "process"}}, "timeout_ms": 5000});
    let (rt, _dir) = api_runtime(&config);
    let started = Instant::now();
    api_fault(&rt, "Redis down: store", api(&rt, "Store", &[b("gone"), b("Keys"), m(json!([]))]), 502, "redis");
    api_fault(&rt, "Redis down: store_get", api(&rt, "StoreGet", &[b("gone"), b("k")]), 502, "redis");
    api_fault(&rt, "Redis down: store_set", api(&rt, "StoreSet", &[b("gone"), b("k"), m(json!(1))]), 502, "redis");
    api_fault(&rt, "Redis down: store_del", api(&rt, "StoreDel", &[b("gone"), b("k")]), 502, "redis");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    api_ok(api(&rt, "Store", &[b("mem"), b("Set"), m(json!(["k", 1]))]), serde_json::Value::Null, "memory store");
    // A live Redis: the same ttls as the memory store, the same answers
    // (a ttl past Redis's range was a 502 "redis: … out of range").
    store_set_ttls(&rt, "live");
    api_fault(
        &rt,
        "redis ttl NaN",
        api(&rt, "Store", &[b("live"), b("Set"), P::B([&[0x93, 0xa1, b'k', 0x01, 0xcb][..], &f64::NAN.to_be_bytes()].concat())]),
        400,
        "ttl",
    );
    let deepest = [vec![0x91; 255], vec![0xc0]].concat();
    api_ok(api(&rt, "StoreSet", &[b("live"), b("deep"), P::B(deepest.clone())]), serde_json::Value::Null, "255-deep value in redis");
    assert_eq!(api(&rt, "StoreGet", &[b("live"), b("deep")]).unwrap(), deepest);

    // A `process` store whose host handler misbehaves: a clean error value.
    let no_handler = api(&rt, "Store", &[b("gou"), b("Get"), m(json!(["k"]))]);
    api_fault(&rt, "process store, no handler", no_handler, 404, "no host process handler");
    rt.set_process_handler(Some(Arc::new(|name: &str, _: &[u8]| panic!("{name}: host bug"))));
    api_fault(
        &rt,
        "process store: handler panics (store)",
        api(&rt, "Store", &[b("gou"), b("Len"), m(json!([]))]),
        500,
        "panicked on stores.gou.Len",
    );
    api_fault(
        &rt,
        "process store: handler panics (store_get)",
        api(&rt, "StoreGet", &[b("gou"), b("k")]),
        500,
        "panicked on stores.gou.Get",
    );
    api_fault(
        &rt,
        "process store: handler panics (store_set)",
        api(&rt, "StoreSet", &[b("gou"), b("k"), m(json!(1))]),
        500,
        "panicked on stores.gou.Set",
    );
    api_fault(
        &rt,
        "process store: handler panics (store_del)",
        api(&rt, "StoreDel", &[b("gou"), b("k")]),
        500,
        "panicked on stores.gou.Del",
    );
    for (answer, what) in
        [(vec![0xc1], "0xc1"), (vec![], "nothing"), (vec![0x01, 0x02], "two values"), ([vec![0x91; 300], vec![0xc0]].concat(), "300 deep")]
    {
        rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| Ok(answer.clone()))));
        api_fault(
            &rt,
            &format!("process store answers {what} (store)"),
            api(&rt, "Store", &[b("gou"), b("Get"), m(json!(["k"]))]),
            500,
            "invalid MessagePack",
        );
        api_fault(
            &rt,
            &format!("process store answers {what} (store_get)"),
            api(&rt, "StoreGet", &[b("gou"), b("k")]),
            500,
            "invalid MessagePack",
        );
    }
    drop(server);
    api_fault(&rt, "Redis killed", api(&rt, "StoreGet", &[b("live"), b("t")]), 502, "redis");
}

#[test]
fn f25_fs_refusals_are_400_403_404_or_413() {
    // base/data is the root; base/outside/secret.txt lies beyond it.
    let base = tempfile::tempdir().unwrap();
    let data = base.path().join("data");
    std::fs::create_dir_all(data.join("dir")).unwrap();
    std::fs::create_dir_all(base.path().join("outside")).unwrap();
    std::fs::write(base.path().join("outside/secret.txt"), "SECRET").unwrap();
    std::fs::write(data.join("file.txt"), "hello").unwrap();
    std::os::unix::fs::symlink("../outside", data.join("out")).unwrap();
    std::os::unix::fs::symlink("../outside/secret.txt", data.join("secret")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", data.join("dangling")).unwrap();
    std::os::unix::fs::symlink(".", data.join("self")).unwrap();
    let fifo = std::ffi::CString::new(data.join("fifo").as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let (rt, _dir) = api_runtime(&json!({"fs": {"data": data}, "max_memory_mb": 2, "timeout_ms": 2000}));
    let call = |root: &[u8], method: &str, args: serde_json::Value| api(&rt, "Fs", &[b(root), b(method), m(args)]);
    let fs = |method: &str, args: serde_json::Value| call(b"data", method, args);
    let long_path = vec!["a".repeat(255); 16].join("/") + "/a"; // 16*256 + 1 = 4097 bytes
    assert_eq!(long_path.len(), 4097);
    let rows: Vec<(&str, yaowasm::Result<Vec<u8>>, i32, &str)> = vec![
        ("path of 4097 bytes", fs("Exists", json!([long_path])), 400, "4097 bytes, the limit is 4096"),
        ("component of 256 bytes", fs("Exists", json!(["x".repeat(256)])), 400, "over 255 bytes"),
        ("NUL byte", fs("ReadFile", json!(["file.txt\0.png"])), 400, "NUL"),
        ("path not a string", fs("ReadFile", json!([7])), 400, "path (a string)"),
        ("path a non-UTF-8 str", api(&rt, "Fs", &[b("data"), b("ReadFile"), b([0x91, 0xa2, 0xff, 0xfe])]), 400, "a string is not UTF-8"),
        ("'..'", fs("ReadFile", json!(["../outside/secret.txt"])), 403, "'..'"),
        ("'..' in the middle", fs("WriteFile", json!(["dir/../../x", "x"])), 403, "'..'"),
        ("absolute", fs("ReadFile", json!(["/etc/passwd"])), 403, "absolute"),
        ("symlinked directory out", fs("ReadFile", json!(["out/secret.txt"])), 403, "outside the root"),
        ("symlinked file out", fs("ReadFile", json!(["secret"])), 403, "outside the root"),
        ("write through a symlink out", fs("WriteFile", json!(["out/new.txt", "x"])), 403, "outside the root"),
        ("ReadDir through a symlink out", fs("ReadDir", json!(["out"])), 403, "outside the root"),
        ("dangling symlink", fs("WriteFile", json!(["dangling", "x"])), 403, "broken symlink"),
        ("root not configured", call(b"system", "Exists", json!(["."])), 403, "not configured"),
        ("root empty", call(b"", "Exists", json!(["."])), 403, "not configured"),
        ("root not UTF-8", call(&[0xff], "Exists", json!(["."])), 400, "fs root is not UTF-8"),
        ("method not UTF-8", api(&rt, "Fs", &[b("data"), b([0xc3, 0x28]), m(json!(["."]))]), 400, "fs method is not UTF-8"),
        ("unknown method", fs("Teleport", json!(["file.txt"])), 404, "no method \"Teleport\""),
        ("args a map", fs("Exists", json!({"path": "."})), 400, "must be a MessagePack array"),
        ("args truncated", api(&rt, "Fs", &[b("data"), b("Exists"), b([0x91, 0xa3, b'a'])]), 400, ""),
        ("args 300 deep", api(&rt, "Fs", &[b("data"), b("Exists"), P::B([vec![0x91; 300], vec![0xc0]].concat())]), 400, "nested deeper"),
        ("ReadDir of a file", fs("ReadDir", json!(["file.txt"])), 400, "file.txt"),
        ("ReadFile of a directory", fs("ReadFile", json!(["dir"])), 400, "not a file"),
        ("Remove of the root", fs("Remove", json!([""])), 403, "root itself"),
        ("RemoveAll of '.'", fs("RemoveAll", json!(["."])), 403, "root itself"),
        ("RemoveAll of a symlink to the root", fs("RemoveAll", json!(["self"])), 403, "root itself"),
        ("Move of the root", fs("Move", json!(["", "dir/root"])), 403, "root itself"),
        ("WriteFile of the root", fs("WriteFile", json!(["", "x"])), 403, "root itself"),
        ("Remove of a missing file", fs("Remove", json!(["nope.txt"])), 404, "nope.txt"),
        ("perm too large", fs("WriteFile", json!(["p.txt", "x", 0o10000])), 400, "0o7777"),
        // A FIFO in the root: opening it for reading blocked the call
        // forever (no writer); now refused as not a file.
        ("ReadFile of a FIFO", fs("ReadFile", json!(["fifo"])), 400, "not a file"),
        ("Copy from a FIFO", fs("Copy", json!(["fifo", "copy.txt"])), 400, "not a file"),
        ("WriteFile to a FIFO", fs("WriteFile", json!(["fifo", "x"])), 400, "fifo"),
        ("AppendFile to a FIFO", fs("AppendFile", json!(["fifo", "x"])), 400, "fifo"),
        ("Copy to a FIFO", fs("Copy", json!(["file.txt", "fifo"])), 400, "fifo"),
    ];
    for (what, answer, code, needle) in rows {
        api_fault(&rt, what, answer, code, needle);
    }
    assert_eq!(std::fs::read_to_string(base.path().join("outside/secret.txt")).unwrap(), "SECRET");
    assert!(!base.path().join("outside/new.txt").exists() && !base.path().join("x").exists());
    // A 4096-byte path passes the length check but is too long for the OS
    // once under the root's own path: a 400 (it was a 500).
    api_fault(&rt, "4096-byte path", fs("Exists", json!([&long_path[..4096]])), 400, "File name too long");
    // Controls: the longest component is answered for what it is (absent),
    // not refused for its length; a recursive ReadDir does not follow the
    // symlink to the root.
    api_ok(fs("Exists", json!(["x".repeat(255)])), json!(false), "255-byte component");
    api_ok(fs("ReadDir", json!(["", true])), json!(["dangling", "dir", "fifo", "file.txt", "out", "secret", "self"]), "recursive ReadDir");
    // Twice max_memory_mb written in pieces, then read back: 413.
    let chunk = "z".repeat(512 << 10);
    for _ in 0..8 {
        api_ok(fs("AppendFile", json!(["big.txt", chunk])), json!(512 << 10), "AppendFile");
    }
    api_ok(fs("Size", json!(["big.txt"])), json!(4 << 20), "Size");
    api_fault(&rt, "ReadFile of 2x max_memory_mb", fs("ReadFile", json!(["big.txt"])), 413, "larger than the guest's memory limit");
    api_fault(&rt, "ReadFileBuffer of 2x max_memory_mb", fs("ReadFileBuffer", json!(["big.txt"])), 413, "memory limit");
    // Exactly max_memory_mb: more than the guest can take once encoded.
    api_ok(fs("WriteFile", json!(["max.txt", ""])), json!(0), "WriteFile");
    for _ in 0..4 {
        api_ok(fs("AppendFile", json!(["max.txt", chunk])), json!(512 << 10), "AppendFile");
    }
    api_fault(&rt, "ReadFile of max_memory_mb", fs("ReadFile", json!(["max.txt"])), 413, "max_memory_mb is 2");
}

/// A server that answers each route with raw, often broken, HTTP: the
/// request head is read, then the route's bytes are written (with pauses
/// where the route says `…`), then the connection is closed.
fn broken_http_server() -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                // A client that sends no HTTP head (a TLS hello) still gets the 404.
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                let mut reader = BufReader::new(stream);
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let path = first.split(' ').nth(1).unwrap_or("/").to_owned();
                let ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n";
                let parts: Vec<Vec<u8>> = match path.as_str() {
                    "/ok" => vec![format!("{ok}Content-Length: 2\r\n\r\nok").into()],
                    // Content-Length 100, 10 bytes, then the connection closes.
                    "/cut" => vec![format!("{ok}Content-Length: 100\r\n\r\n0123456789").into()],
                    // A chunked body cut inside a chunk.
                    "/cut_chunked" => vec![format!("{ok}Transfer-Encoding: chunked\r\n\r\n64\r\n0123456789").into()],
                    "/bad_chunk" => vec![format!("{ok}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n").into()],
                    "/no_colon" => vec![b"HTTP/1.1 200 OK\r\nThis header has no colon\r\nContent-Length: 2\r\n\r\nok".to_vec()],
                    "/bad_name" => vec![b"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\nok".to_vec()],
                    "/not_utf8_header" => vec![b"HTTP/1.1 200 OK\r\nX-Bin: \xff\xfe\r\nContent-Length: 2\r\n\r\nok".to_vec()],
                    "/bad_status" => vec![b"HTTP/1.1 twohundred OK\r\nContent-Length: 2\r\n\r\nok".to_vec()],
                    "/not_http" => vec![b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()],
                    "/nothing" => vec![],
                    "/bad_length" => vec![format!("{ok}Content-Length: -5\r\n\r\nok").into()],
                    "/big" => vec![format!("{ok}Content-Length: 5000\r\n\r\n{}", "b".repeat(5000)).into()],
                    "/huge_header" => vec![format!("{ok}X-Big: {}\r\nContent-Length: 2\r\n\r\nok", "h".repeat(1 << 20)).into()],
                    // 10 KB with no Content-Length, to the close.
                    "/big_unsized" => vec![format!("{ok}\r\n{}", "b".repeat(10_000)).into()],
                    // Headers at once, then the body a byte every 100 ms.
                    "/drip" => {
                        let mut parts = vec![format!("{ok}Content-Length: 50\r\n\r\n").into_bytes()];
                        parts.extend((0..50).map(|_| b"d".to_vec()));
                        parts
                    }
                    _ => vec![b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()],
                };
                let stream = reader.get_mut();
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    if stream.write_all(part).and_then(|()| stream.flush()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn f26_http_failures_are_403_408_413_or_502() {
    let port = broken_http_server();
    let closed = closed_port();
    let allow = json!([format!("127.0.0.1:{port}"), format!("127.0.0.1:{closed}"), format!("localhost:{closed}")]);
    let (rt, _dir) = api_runtime(&json!({"http_allow": allow, "http_max_response_bytes": 4096, "timeout_ms": 5000}));
    let get = |url: String| api(&rt, "Http", &[b("Get"), m(json!([url]))]);
    let at = |path: &str| get(format!("http://127.0.0.1:{port}{path}"));
    let hdr = |headers: serde_json::Value| api(&rt, "Http", &[b("Get"), m(json!([format!("http://127.0.0.1:{port}/ok"), null, headers]))]);
    let rows: Vec<(&str, yaowasm::Result<Vec<u8>>, i32, &str)> = vec![
        ("host not allowed", get("http://127.0.0.2:80/".into()), 403, "not in http_allow"),
        ("another port of an allowed host", get(format!("http://127.0.0.1:{}/", port ^ 1)), 403, "not in http_allow"),
        ("userinfo trick", get(format!("http://127.0.0.1:{port}@127.0.0.2/")), 403, "not in http_allow"),
        ("https, nothing listening", get(format!("https://127.0.0.1:{closed}/")), 502, ""),
        ("https by name, nothing listening", get(format!("https://localhost:{closed}/")), 502, ""),
        ("https to a plain HTTP server", get(format!("https://127.0.0.1:{port}/ok")), 502, ""),
        ("body over the cap (Content-Length)", at("/big"), 413, "http_max_response_bytes (4096)"),
        ("a 1 MiB header", at("/huge_header"), 502, "longer than 102400 bytes"),
        ("body over the cap (no Content-Length)", at("/big_unsized"), 413, "http_max_response_bytes (4096)"),
        ("closed mid-body", at("/cut"), 502, "reading the response"),
        ("chunk size not hex", at("/bad_chunk"), 502, ""),
        ("status not a number", at("/bad_status"), 502, "invalid response status"),
        ("not HTTP at all", at("/not_http"), 502, "http parse fail"),
        ("closed before answering", at("/nothing"), 502, "unexpected EOF"),
        // Header lines httparse refuses (no colon, a space in the name): the
        // head cannot be read (ureq 2 dropped them and answered the rest).
        ("a header line without a colon", at("/no_colon"), 502, "http parse fail"),
        ("a header name with a space", at("/bad_name"), 502, "http parse fail"),
        // ureq 2 read it to the close and answered.
        ("Content-Length -5", at("/bad_length"), 502, "content-length header not a number"),
        ("method not UTF-8", api(&rt, "Http", &[b([0xff]), m(json!([]))]), 400, "http method is not UTF-8"),
        ("unknown method", api(&rt, "Http", &[b("Teleport"), m(json!([]))]), 404, "no method"),
        ("args a map", api(&rt, "Http", &[b("Get"), m(json!({"url": "x"}))]), 400, "must be a MessagePack array"),
        ("args truncated", api(&rt, "Http", &[b("Get"), b([0x91, 0xa5, b'h'])]), 400, ""),
        ("url not UTF-8", api(&rt, "Http", &[b("Get"), b([0x91, 0xa2, 0xff, 0xfe])]), 400, "a string is not UTF-8"),
        // Request headers ureq refuses at send time: they were a 502.
        ("header value with CR LF", hdr(json!({"X-A": "a\r\nX-Injected: 1"})), 400, "header names to printable ASCII"),
        ("header value with NUL", hdr(json!({"X-A": "a\0b"})), 400, "header names to printable ASCII"),
        ("header value not ASCII", hdr(json!({"X-A": "héllo"})), 400, "header names to printable ASCII"),
        ("header name with a space", hdr(json!({"X A": "a"})), 400, "header names to printable ASCII"),
        ("header name empty", hdr(json!({"": "a"})), 400, "header names to printable ASCII"),
    ];
    for (what, answer, code, needle) in rows {
        api_fault(&rt, what, answer, code, needle);
    }
    // A body that drips past the request's timeout: 408 on time.
    let started = Instant::now();
    let drip = api(&rt, "Http", &[b("Get"), m(json!([format!("http://127.0.0.1:{port}/drip"), null, null, 300]))]);
    api_fault(&rt, "body dripping past timeout_ms", drip, 408, "");
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
    api_ok(at("/ok").map(|r| mp(&json(&r)["data"])), json!("ok"), "a good response after the broken ones");
    // A header value that is not UTF-8 is decoded lossily (ureq 2 gave no
    // value): the rest is answered.
    let answer = at("/not_utf8_header").map(|r| mp(&json(&r)));
    api_ok(
        answer,
        json!({"status": 200, "headers": {"content-length": ["2"], "x-bin": ["\u{fffd}\u{fffd}"]}, "data": "ok"}),
        "/not_utf8_header",
    );
}

/// A chunked response cut inside a chunk is a 502, like a Content-Length
/// body cut short (row 26). It was a 200 with the bytes read so far: ureq 2's
/// chunked decoder took the EOF for the end of the body (fixed by ureq 3).
#[test]
fn f26b_chunked_body_cut_mid_chunk_is_502() {
    let port = broken_http_server();
    let (rt, _dir) = api_runtime(&json!({"http_allow": [format!("127.0.0.1:{port}")], "timeout_ms": 5000}));
    let cut = api(&rt, "Http", &[b("Get"), m(json!([format!("http://127.0.0.1:{port}/cut_chunked")]))]);
    api_fault(&rt, "closed mid-chunk", cut, 502, "reading the response");
}

#[test]
fn f27_query_without_or_with_a_bad_host_handler() {
    let (rt, _dir) = api_runtime(&json!({"max_depth": 8}));
    let dsl = || m(json!([{"select": ["id"], "from": "user"}]));
    api_fault(&rt, "query without a handler", api(&rt, "Query", &[dsl()]), 404, "query.Run not found");
    let rows: Vec<(&str, yaowasm::Result<Vec<u8>>, i32, &str)> = vec![
        ("args a map", api(&rt, "Query", &[m(json!({"select": ["id"]}))]), 400, "must be a MessagePack array"),
        ("args truncated", api(&rt, "Query", &[b([0x91, 0x81])]), 400, ""),
        ("args 0xc1", api(&rt, "Query", &[b([0xc1])]), 400, "not valid MessagePack"),
        ("args 300 deep", api(&rt, "Query", &[P::B([vec![0x91; 300], vec![0xc0]].concat())]), 400, "nested deeper"),
    ];
    for (what, answer, code, needle) in rows {
        api_fault(&rt, what, answer, code, needle);
    }
    rt.set_process_handler(Some(Arc::new(|_: &str, _: &[u8]| panic!("QueryDSL bug"))));
    api_fault(&rt, "query handler panics", api(&rt, "Query", &[dsl()]), 500, "panicked on query.Run");
    rt.set_process_handler(Some(Arc::new(|_: &str, _: &[u8]| std::panic::panic_any(7u8))));
    api_fault(&rt, "query handler panics with a non-string", api(&rt, "Query", &[dsl()]), 500, "panicked on query.Run");
    for (answer, what) in [(vec![0xc1], "0xc1"), (vec![], "nothing"), (vec![0x91], "a truncated array"), (vec![0xc0, 0xc0], "two values")] {
        rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| Ok(answer.clone()))));
        api_fault(&rt, &format!("query handler answers {what}"), api(&rt, "Query", &[dsl()]), 500, "invalid MessagePack");
    }
    rt.set_process_handler(Some(Arc::new(|_: &str, _: &[u8]| Err(Error::new(-3, "bad code")))));
    let e = api(&rt, "Query", &[dsl()]).unwrap_err();
    assert!((100..=599).contains(&e.code()), "{e}");
    still_serving(&rt, "query handler raising code -3");
    // A handler that runs the query again, endlessly: max_depth ends it.
    let inner = rt.clone();
    let again = raw_args(&[dsl()], 0);
    rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| inner.exec("scripts.api.Query", &again))));
    api_fault(&rt, "query handler re-entering endlessly", api(&rt, "Query", &[dsl()]), 500, "max_depth 8");
}

/// Row 29: more calls in flight than the pool has instance slots (1000,
/// src/engine.rs POOL_INSTANCES): each holder sits in a host callback until
/// the gate opens. The next call waits for a slot instead of failing; with
/// none freed before its deadline it is a 408 saying why; then the runtime
/// serves as before.
#[test]
fn f29_every_instance_slot_in_use_waits_for_one() {
    const SLOTS: usize = 1000;
    for (timeout_ms, release_after, want) in [(5000, Some(Duration::from_millis(200)), None), (300, None, Some(408))] {
        let (rt, _dir) = sink_runtime(&json!({"timeout_ms": timeout_ms}).to_string());
        let rt = Arc::new(rt);
        let gate = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let entered = Arc::new(AtomicUsize::new(0));
        let (g, e) = (gate.clone(), entered.clone());
        rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| {
            e.fetch_add(1, Ordering::SeqCst);
            let (open, cv) = &*g;
            let mut open = open.lock().unwrap();
            while !*open {
                open = cv.wait(open).unwrap();
            }
            Ok(vec![0x91, 0x07])
        })));
        let holders: Vec<_> = (0..SLOTS)
            .map(|_| {
                let rt = rt.clone();
                std::thread::Builder::new().stack_size(256 << 10).spawn(move || rt.exec("scripts.sink.CallHost", &[0x90])).unwrap()
            })
            .collect();
        let start = Instant::now();
        while entered.load(Ordering::SeqCst) < SLOTS {
            assert!(start.elapsed() < Duration::from_secs(60), "only {} holders got in", entered.load(Ordering::SeqCst));
            std::thread::sleep(Duration::from_millis(5));
        }
        let open_gate = {
            let gate = gate.clone();
            move || {
                *gate.0.lock().unwrap() = true;
                gate.1.notify_all();
            }
        };
        let releaser = release_after.map(|after| {
            let open_gate = open_gate.clone();
            std::thread::spawn(move || {
                std::thread::sleep(after);
                open_gate();
            })
        });
        let asked = Instant::now();
        let got = rt.exec("scripts.sink.Echo", &[0x91, 0x01]);
        match want {
            None => {
                assert_eq!(got.unwrap(), vec![0x91, 0x01], "served once a slot freed");
                assert!(asked.elapsed() >= Duration::from_millis(150), "it waited for the slot: {:?}", asked.elapsed());
            }
            Some(code) => {
                let err = got.unwrap_err();
                assert_eq!(err.code(), code, "{err}");
                assert!(err.message().contains("every instance slot (1000) was in use"), "{err}");
                open_gate();
            }
        }
        if let Some(r) = releaser {
            r.join().unwrap();
        }
        let mut answered = 0;
        for h in holders {
            // With a 300 ms deadline the holders come back from the gate
            // late: a 408 is theirs to get; a 5 s one answers them all.
            match h.join().unwrap() {
                Ok(v) => {
                    assert_eq!(v, vec![0x91, 0x07]);
                    answered += 1;
                }
                Err(e) => assert_eq!(e.code(), 408, "{e}"),
            }
        }
        if want.is_none() {
            assert_eq!(answered, SLOTS);
        }
        assert_eq!(rt.exec("scripts.sink.Echo", &[0x91, 0x02]).unwrap(), vec![0x91, 0x02], "still serving");
    }
}
