//! Test guests written in WAT, and helpers to load them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use yaowasm::{LogLevel, Runtime};

/// A bump allocator that grows memory on demand, shared by the guests.
pub const ALLOC: &str = r#"
  (global $heap (mut i32) (i32.const 4096))
  (func $alloc (export "yao_alloc") (param $n i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))) (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $p))
"#;

/// Packs (ptr, len) into the i64 result; `$err` sets bit 31 of len.
/// Every host-API import of docs/ABI.md §4 (all but process and log), as
/// the WAT guests of host_api.rs and faults.rs declare them.
pub const HOST_API_IMPORTS: &str = r#"
  (import "yao" "store" (func $store (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "yao" "store_get" (func $store_get (param i32 i32 i32 i32) (result i64)))
  (import "yao" "store_set" (func $store_set (param i32 i32 i32 i32 i32 i32 i64) (result i64)))
  (import "yao" "store_del" (func $store_del (param i32 i32 i32 i32) (result i64)))
  (import "yao" "fs" (func $fs (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "yao" "http" (func $http (param i32 i32 i32 i32) (result i64)))
  (import "yao" "query" (func $query (param i32 i32) (result i64)))
"#;
/// WAT helpers that read the args [`fields`] builds: `$fp b i` / `$fl b i`
/// are the pointer and length of field `i` of the args at `b` (the length
/// word of each field; fields start after the 6-byte `[bin32]` header).
pub const FIELDS: &str = r#"
  (func $field (param $base i32) (param $i i32) (result i32)
    (local $p i32)
    (local.set $p (i32.add (local.get $base) (i32.const 6)))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $i)))
      (local.set $p (i32.add (i32.add (local.get $p) (i32.const 4)) (i32.load (local.get $p))))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $p))
  (func $fp (param $b i32) (param $i i32) (result i32) (i32.add (call $field (local.get $b) (local.get $i)) (i32.const 4)))
  (func $fl (param $b i32) (param $i i32) (result i32) (i32.load (call $field (local.get $b) (local.get $i))))
"#;

pub const PACK: &str = r#"
  (func $pack (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n))))
  (func $err (param $p i32) (param $n i32) (result i64)
    (call $pack (local.get $p) (i32.or (local.get $n) (i32.const 0x80000000))))
"#;

/// The "kitchen sink" guest: one function per behaviour the tests need.
/// Data at 16: {"code":418,"message":"teapot"}; at 64: {"code":42,"message":"x"};
/// at 96: "models.user.Find"; at 128: [1]; at 136: "scripts.sink.CallSelf";
/// at 176: "scripts.sink.Echo"; at 200: "hello"; at 208: 0xc1.
pub fn sink_wat() -> String {
    format!(
        r#"(module
  (import "yao" "process" (func $process (param i32 i32 i32 i32) (result i64)))
  (import "yao" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\82\a4code\cd\01\a2\a7message\a6teapot")
  (data (i32.const 64) "\82\a4code\2a\a7message\a1x")
  (data (i32.const 96) "models.user.Find")
  (data (i32.const 128) "\91\01")
  (data (i32.const 136) "scripts.sink.CallSelf")
  (data (i32.const 176) "scripts.sink.Echo")
  (data (i32.const 200) "hello")
  (data (i32.const 208) "\c1")
  {ALLOC}
  {PACK}
  (func (export "Echo") (param $p i32) (param $n i32) (result i64) (call $pack (local.get $p) (local.get $n)))
  (func (export "Nil") (param i32 i32) (result i64) (i64.const 0))
  (func (export "Raise") (param i32 i32) (result i64) (call $err (i32.const 16) (i32.const 24)))
  (func (export "RaiseBadCode") (param i32 i32) (result i64) (call $err (i32.const 64) (i32.const 17)))
  (func (export "Trap") (param i32 i32) (result i64) unreachable)
  (func (export "DivZero") (param i32 i32) (result i64) (i64.extend_i32_s (i32.div_s (i32.const 1) (i32.const 0))))
  (func (export "Loop") (param i32 i32) (result i64) (loop $l (br $l)) (i64.const 0))
  (func (export "Grow") (param i32 i32) (result i64)
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) (i64.const 0))
  (func $recurse (export "Recurse") (param i32 i32) (result i64) (call $recurse (local.get 0) (local.get 1)))
  (func (export "BadPtr") (param i32 i32) (result i64) (call $pack (i32.const 0xffff0000) (i32.const 100)))
  (func (export "BadLen") (param i32 i32) (result i64) (call $pack (i32.const 16) (i32.const 0x7fffffff)))
  (func (export "BadMsgpack") (param i32 i32) (result i64) (call $pack (i32.const 208) (i32.const 1)))
  (func (export "Trailing") (param i32 i32) (result i64) (call $pack (i32.const 128) (i32.const 3)))
  (func (export "CallHost") (param i32 i32) (result i64)
    (call $process (i32.const 96) (i32.const 16) (i32.const 128) (i32.const 2)))
  (func (export "CallSelf") (param i32 i32) (result i64)
    (call $process (i32.const 136) (i32.const 21) (i32.const 128) (i32.const 2)))
  (func (export "CallEcho") (param i32 i32) (result i64)
    (call $process (i32.const 176) (i32.const 17) (i32.const 128) (i32.const 2)))
  (func (export "CallHostThenLoop") (param i32 i32) (result i64)
    (drop (call $process (i32.const 96) (i32.const 16) (i32.const 128) (i32.const 2)))
    (loop $l (br $l)) (i64.const 0))
  (func (export "WildProcess") (param i32 i32) (result i64)
    (call $process (i32.const 0xfffffff0) (i32.const 64) (i32.const 128) (i32.const 2)))
  (func (export "Log") (param i32 i32) (result i64)
    (call $log (i32.const 2) (i32.const 200) (i32.const 5))
    (call $log (i32.const 9) (i32.const 200) (i32.const 5))
    (i64.const 0))
  (func (export "WildLog") (param i32 i32) (result i64)
    (call $log (i32.const 2) (i32.const 65530) (i32.const 100)) (i64.const 0))
  (func (export "Counter") (param i32 i32) (result i64)
    ;; A global that only survives if instances were reused: always 1.
    (global.set $heap (i32.add (global.get $heap) (i32.const 0)))
    (i32.store8 (i32.const 300) (i32.add (i32.load8_u (i32.const 300)) (i32.const 1)))
    (call $pack (i32.const 300) (i32.const 1)))
  (func (export "not_a_script") (param i32) (result i32) (local.get 0))
)"#
    )
}

/// A guest whose Version function answers `version` after spinning `spin`
/// iterations (so a call can be in flight during a reload).
pub fn versioned_wat(version: u8, spin: u32) -> String {
    format!(
        r#"(module
  (memory (export "memory") 1)
  {ALLOC}
  {PACK}
  (func (export "Version") (param i32 i32) (result i64)
    (local $i i32)
    (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const {spin}))))
    (i32.store8 (i32.const 500) (i32.const {version}))
    (call $pack (i32.const 500) (i32.const 1)))
)"#
    )
}

/// A JSON guest (`yao_encoding` → 1).
pub fn json_wat() -> String {
    format!(
        r#"(module
  (import "yao" "process" (func $process (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 16) "{{\"a\":[1,2.5,\"x\"],\"b\":null}}")
  (data (i32.const 64) "{{\"code\":409,\"message\":\"conflict\"}}")
  (data (i32.const 128) "models.user.Find")
  (data (i32.const 160) "[7,\"q\"]")
  (data (i32.const 176) "not json")
  {ALLOC}
  {PACK}
  (func (export "yao_encoding") (result i32) (i32.const 1))
  (func (export "Echo") (param $p i32) (param $n i32) (result i64) (call $pack (local.get $p) (local.get $n)))
  (func (export "Obj") (param i32 i32) (result i64) (call $pack (i32.const 16) (i32.const 26)))
  (func (export "Conflict") (param i32 i32) (result i64) (call $err (i32.const 64) (i32.const 33)))
  (func (export "Bad") (param i32 i32) (result i64) (call $pack (i32.const 176) (i32.const 8)))
  (func (export "CallHost") (param i32 i32) (result i64)
    (call $process (i32.const 128) (i32.const 16) (i32.const 160) (i32.const 7)))
)"#
    )
}

/// A WASI guest: `_initialize` marks memory; Hello prints to stdout and stderr.
pub fn wasi_wat() -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from wasi\npartial")
  (data (i32.const 48) "oops\n")
  {ALLOC}
  {PACK}
  (func (export "_initialize") (i32.store8 (i32.const 600) (i32.const 0x2a)))
  (func (export "Initialized") (param i32 i32) (result i64) (call $pack (i32.const 600) (i32.const 1)))
  (func (export "Hello") (param i32 i32) (result i64)
    (i32.store (i32.const 700) (i32.const 16)) (i32.store (i32.const 704) (i32.const 23))
    (drop (call $fd_write (i32.const 1) (i32.const 700) (i32.const 1) (i32.const 720)))
    (i32.store (i32.const 700) (i32.const 48)) (i32.store (i32.const 704) (i32.const 5))
    (drop (call $fd_write (i32.const 2) (i32.const 700) (i32.const 1) (i32.const 720)))
    (i64.const 0))
)"#
    )
}

/// The args of the WAT forwarding guests: `[bin32(fields)]`, each field a
/// u32 LE length and its bytes (the guest slices them without decoding
/// MessagePack).
pub fn fields(parts: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(&(part.len() as u32).to_le_bytes());
        body.extend_from_slice(part);
    }
    let mut out = vec![0x91, 0xc6];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

pub fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("test WAT is valid")
}

pub fn write(dir: &Path, relative: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A runtime with `config` and the sink guest loaded as `sink`.
pub fn sink_runtime(config: &str) -> (Runtime, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sink.wasm", &wasm(&sink_wat()));
    let rt = Runtime::from_json(Some(config)).unwrap();
    let report = rt.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, 1, "{:?}", report.problems);
    (rt, dir)
}

/// The example app (examples/app/scripts, every language built) in one
/// runtime with a cache of its own; files that do not load are printed.
pub fn example_app_runtime() -> (Runtime, tempfile::TempDir) {
    example_app_runtime_with(serde_json::json!({}))
}

/// [`example_app_runtime`] with more config keys (`extra`, a JSON object).
pub fn example_app_runtime_with(extra: serde_json::Value) -> (Runtime, tempfile::TempDir) {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/app/scripts");
    let cache = tempfile::tempdir().unwrap();
    let mut config = serde_json::json!({"cache_dir": cache.path(), "timeout_ms": 10000});
    config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let config = config.to_string();
    let rt = Runtime::from_json(Some(&config)).unwrap();
    let report = rt.load_dir(&scripts).unwrap();
    for p in &report.problems {
        eprintln!("not loaded: {} ({})", p.file.display(), p.message);
    }
    (rt, cache)
}

/// Pins the calling thread to `cpu`, so that every call it starts runs in
/// that CPU's engine shard.
pub fn pin_to_cpu(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is an empty set; the call gets its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set), 0);
    }
}

pub fn mp(value: &serde_json::Value) -> Vec<u8> {
    rmp_serde::to_vec(value).unwrap()
}

pub fn json(bytes: &[u8]) -> serde_json::Value {
    yaowasm::value::msgpack_to_json(bytes).unwrap()
}

/// Collects log records.
pub fn capture_logs(rt: &Runtime) -> Arc<Mutex<Vec<(LogLevel, String)>>> {
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = logs.clone();
    rt.set_log_handler(Some(Arc::new(move |level, msg: &str| sink.lock().unwrap().push((level, msg.to_owned())))));
    logs
}
