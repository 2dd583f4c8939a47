//! Store Get/Set from a guest: the direct `yao.store_get` / `yao.store_set`
//! imports (in-process memory store) against the same through `yao.process`
//! to a host-side store (a Rust process handler over a moka cache, as an
//! embedding would serve `stores.<name>.*`). Each exec runs a loop of
//! `ITERATIONS` calls in one instance, so the per-call figure is the median
//! exec time / ITERATIONS (instance creation, ~µs, spread over the loop).
//! Run: `env -u RUST_BACKTRACE cargo bench --bench host_api`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{fields, ALLOC, FIELDS, PACK};
use criterion::{criterion_group, criterion_main, Criterion};
use std::sync::Arc;
use yaowasm::{Error, Runtime};

const ITERATIONS: u32 = 1000;

/// The loop guest: one bin arg of length-prefixed fields, as in
/// tests/host_api.rs: [name, key, value, set_args, get_args, set_name, get_name].
fn loop_wat() -> String {
    format!(
        r#"(module
  (import "yao" "store_get" (func $store_get (param i32 i32 i32 i32) (result i64)))
  (import "yao" "store_set" (func $store_set (param i32 i32 i32 i32 i32 i32 i64) (result i64)))
  (import "yao" "process" (func $process (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  {ALLOC}
  {PACK}
  {FIELDS}
  ;; Each loop resets the bump heap after every call: results are dropped.
  (func (export "DirectSet") (param $b i32) (param i32) (result i64)
    (local $i i32) (local $heap i32)
    (local.set $heap (global.get $heap))
    (loop $l
      (drop (call $store_set (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                             (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))
                             (call $fp (local.get $b) (i32.const 2)) (call $fl (local.get $b) (i32.const 2)) (i64.const 0)))
      (global.set $heap (local.get $heap))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const {ITERATIONS}))))
    (i64.const 0))
  (func (export "DirectGet") (param $b i32) (param i32) (result i64)
    (local $i i32) (local $heap i32)
    (local.set $heap (global.get $heap))
    (loop $l
      (drop (call $store_get (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                             (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))))
      (global.set $heap (local.get $heap))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const {ITERATIONS}))))
    (i64.const 0))
  (func (export "ProcessSet") (param $b i32) (param i32) (result i64)
    (local $i i32) (local $heap i32)
    (local.set $heap (global.get $heap))
    (loop $l
      (drop (call $process (call $fp (local.get $b) (i32.const 5)) (call $fl (local.get $b) (i32.const 5))
                           (call $fp (local.get $b) (i32.const 3)) (call $fl (local.get $b) (i32.const 3))))
      (global.set $heap (local.get $heap))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const {ITERATIONS}))))
    (i64.const 0))
  (func (export "ProcessGet") (param $b i32) (param i32) (result i64)
    (local $i i32) (local $heap i32)
    (local.set $heap (global.get $heap))
    (loop $l
      (drop (call $process (call $fp (local.get $b) (i32.const 6)) (call $fl (local.get $b) (i32.const 6))
                           (call $fp (local.get $b) (i32.const 4)) (call $fl (local.get $b) (i32.const 4))))
      (global.set $heap (local.get $heap))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const {ITERATIONS}))))
    (i64.const 0))
  ;; Reads back what the last Get answered, for the set-up check.
  (func (export "GetOnce") (param $b i32) (param i32) (result i64)
    (call $store_get (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                     (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))))
  (func (export "ProcessGetOnce") (param $b i32) (param i32) (result i64)
    (call $process (call $fp (local.get $b) (i32.const 6)) (call $fl (local.get $b) (i32.const 6))
                   (call $fp (local.get $b) (i32.const 4)) (call $fl (local.get $b) (i32.const 4))))
)"#
    )
}

fn bench_store(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    common::write(dir.path(), "loop.wasm", &common::wasm(&loop_wat()));
    let rt = Runtime::from_json(Some(r#"{"timeout_ms": 60000}"#)).unwrap();
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 1);

    // The host-side store behind yao.process: stores.bench.Get / Set.
    let host: moka::sync::Cache<String, Vec<u8>> = moka::sync::Cache::new(10_000);
    rt.set_process_handler(Some(Arc::new(move |name: &str, args: &[u8]| {
        let mut args: Vec<rmpv::Value> = match rmpv::decode::read_value(&mut &args[..]) {
            Ok(rmpv::Value::Array(a)) => a,
            _ => return Err(Error::bad_request("args")),
        };
        let key = args.first().and_then(|k| k.as_str()).ok_or_else(|| Error::bad_request("key"))?.to_owned();
        match name {
            "stores.bench.Set" => {
                let mut value = Vec::new();
                rmpv::encode::write_value(&mut value, &std::mem::replace(&mut args[1], rmpv::Value::Nil)).unwrap();
                host.insert(key, value);
                Ok(vec![0xc0])
            }
            "stores.bench.Get" => Ok(host.get(&key).unwrap_or_else(|| vec![0xc0])),
            _ => Err(Error::not_found(name.to_owned())),
        }
    })));

    let value = common::mp(&serde_json::json!({"id": 42, "name": "Ada Lovelace", "email": "ada@example.com", "ok": true}));
    let mut set_args = vec![0x93, 0xa1, b'k'];
    set_args.extend_from_slice(&value);
    set_args.push(0x00);
    let get_args = vec![0x91, 0xa1, b'k'];
    let args = fields(&[b"bench", b"k", &value, &set_args, &get_args, b"stores.bench.Set", b"stores.bench.Get"]);

    // Both paths store and answer the same value.
    rt.exec("scripts.loop.DirectSet", &args).unwrap();
    rt.exec("scripts.loop.ProcessSet", &args).unwrap();
    assert_eq!(rt.exec("scripts.loop.GetOnce", &args).unwrap(), value);
    assert_eq!(rt.exec("scripts.loop.ProcessGetOnce", &args).unwrap(), value);

    let mut g = c.benchmark_group(format!("store_x{ITERATIONS}"));
    for function in ["DirectSet", "ProcessSet", "DirectGet", "ProcessGet"] {
        let process = format!("scripts.loop.{function}");
        g.bench_function(function, |b| b.iter(|| rt.exec(&process, &args).unwrap()));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(5));
    targets = bench_store
}
criterion_main!(benches);
