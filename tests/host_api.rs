//! The host API imports (docs/ABI.md §5–§8) through WAT guests: every store,
//! fs and http method, every refusal, the process and Redis store backends,
//! and query.
//!
//! The `api` guest takes ONE bin arg holding length-prefixed fields (u32 LE
//! length, then bytes) and hands them to an import unchanged, so a test can
//! pass any name, method and args array, including wrong ones.

mod common;

use common::{fields, json, mp, wasm, write, ALLOC, FIELDS, HOST_API_IMPORTS, PACK};
use serde_json::{json, Value as Json};
use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use yaowasm::{Error, Runtime};

fn api_wat() -> String {
    format!(
        r#"(module
  {HOST_API_IMPORTS}
  (import "yao" "process" (func $process (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  {ALLOC}
  {PACK}
  {FIELDS}
  (func (export "Store") (param $b i32) (param i32) (result i64)
    (call $store (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                 (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))
                 (call $fp (local.get $b) (i32.const 2)) (call $fl (local.get $b) (i32.const 2))))
  (func (export "StoreGet") (param $b i32) (param i32) (result i64)
    (call $store_get (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                     (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))))
  (func (export "StoreSet") (param $b i32) (param i32) (result i64)
    (call $store_set (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                     (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))
                     (call $fp (local.get $b) (i32.const 2)) (call $fl (local.get $b) (i32.const 2))
                     (i64.load (call $fp (local.get $b) (i32.const 3)))))
  (func (export "StoreDel") (param $b i32) (param i32) (result i64)
    (call $store_del (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                     (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))))
  (func (export "Fs") (param $b i32) (param i32) (result i64)
    (call $fs (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
              (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))
              (call $fp (local.get $b) (i32.const 2)) (call $fl (local.get $b) (i32.const 2))))
  (func (export "Http") (param $b i32) (param i32) (result i64)
    (call $http (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))))
  (func (export "Query") (param $b i32) (param i32) (result i64)
    (call $query (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))))
  (func (export "Process") (param $b i32) (param i32) (result i64)
    (call $process (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                   (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))))
  (func (export "WildStore") (param i32 i32) (result i64)
    (call $store (i32.const 0xfffffff0) (i32.const 64) (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 0)))
  (func (export "WildFs") (param i32 i32) (result i64)
    (call $fs (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 4) (i32.const 65530) (i32.const 100)))
)"#
    )
}

/// A JSON guest (`yao_encoding` → 1): sets `{{"a":[1,"x"]}}` under "k" in store
/// "j" through the fast path, then reads it back through `store`.
fn json_api_wat() -> String {
    format!(
        r#"(module
  (import "yao" "store" (func $store (param i32 i32 i32 i32 i32 i32) (result i64)))
  (import "yao" "store_set" (func $store_set (param i32 i32 i32 i32 i32 i32 i64) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 16) "j")
  (data (i32.const 20) "k")
  (data (i32.const 24) "{{\"a\":[1,\"x\"]}}")
  (data (i32.const 64) "Get")
  (data (i32.const 72) "[\"k\"]")
  (data (i32.const 96) "not json")
  {ALLOC}
  {PACK}
  (func (export "yao_encoding") (result i32) (i32.const 1))
  (func (export "RoundTrip") (param i32 i32) (result i64)
    (local $r i64)
    (local.set $r (call $store_set (i32.const 16) (i32.const 1) (i32.const 20) (i32.const 1) (i32.const 24) (i32.const 13) (i64.const 0)))
    (if (i64.ne (local.get $r) (i64.const 0)) (then (return (local.get $r))))
    (call $store (i32.const 16) (i32.const 1) (i32.const 64) (i32.const 3) (i32.const 72) (i32.const 5)))
  (func (export "BadValue") (param i32 i32) (result i64)
    (call $store_set (i32.const 16) (i32.const 1) (i32.const 20) (i32.const 1) (i32.const 96) (i32.const 8) (i64.const 0)))
)"#
    )
}

fn runtime(config: &Json) -> (Runtime, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "api.wasm", &wasm(&api_wat()));
    write(dir.path(), "japi.wasm", &wasm(&json_api_wat()));
    let rt = Runtime::from_json(Some(&config.to_string())).unwrap();
    let report = rt.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, 2, "{:?}", report.problems);
    (rt, dir)
}

fn exec(rt: &Runtime, function: &str, parts: &[&[u8]]) -> Result<Json, Error> {
    rt.exec(&format!("scripts.api.{function}"), &fields(parts)).map(|r| json(&r))
}

/// `store(name, method, args)` with args as JSON.
fn store(rt: &Runtime, name: &str, method: &str, args: Json) -> Result<Json, Error> {
    exec(rt, "Store", &[name.as_bytes(), method.as_bytes(), &mp(&args)])
}

fn store_set(rt: &Runtime, name: &str, key: &str, value: &Json, ttl: i64) -> Result<Json, Error> {
    exec(rt, "StoreSet", &[name.as_bytes(), key.as_bytes(), &mp(value), &ttl.to_le_bytes()])
}

fn store_get(rt: &Runtime, name: &str, key: &str) -> Result<Json, Error> {
    exec(rt, "StoreGet", &[name.as_bytes(), key.as_bytes()])
}

fn code(result: Result<Json, Error>) -> i32 {
    match result {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => e.code(),
    }
}

// ------------------------------------------------------------------ store

/// Every method of a store backend, in one sequence (memory and Redis run it).
fn store_methods(rt: &Runtime, name: &str) {
    assert_eq!(store(rt, name, "Clear", json!([])).unwrap(), Json::Null);
    let value = json!({"n": 1, "list": [1, 2.5, "x", null, true], "nested": {"a": {}}});
    assert_eq!(store(rt, name, "Set", json!(["user", value])).unwrap(), Json::Null);
    assert_eq!(store(rt, name, "Get", json!(["user"])).unwrap(), value);
    assert_eq!(store(rt, name, "Has", json!(["user"])).unwrap(), json!(true));
    assert_eq!(store(rt, name, "Has", json!(["nobody"])).unwrap(), json!(false));
    assert_eq!(store(rt, name, "Get", json!(["nobody"])).unwrap(), Json::Null);
    store(rt, name, "Set", json!(["b", "two", 0])).unwrap();
    store(rt, name, "Set", json!(["a", 1, null])).unwrap();
    assert_eq!(store(rt, name, "Keys", json!([])).unwrap(), json!(["a", "b", "user"]));
    assert_eq!(store(rt, name, "Len", json!([])).unwrap(), json!(3));
    // GetSet: a live key is kept; a missing one is set and returned.
    assert_eq!(store(rt, name, "GetSet", json!(["a", 99])).unwrap(), json!(1));
    assert_eq!(store(rt, name, "Get", json!(["a"])).unwrap(), json!(1));
    assert_eq!(store(rt, name, "GetSet", json!(["c", [3]])).unwrap(), json!([3]));
    assert_eq!(store(rt, name, "Get", json!(["c"])).unwrap(), json!([3]));
    assert_eq!(store(rt, name, "GetDel", json!(["c"])).unwrap(), json!([3]));
    assert_eq!(store(rt, name, "GetDel", json!(["c"])).unwrap(), Json::Null);
    assert_eq!(store(rt, name, "Del", json!(["b"])).unwrap(), Json::Null);
    assert_eq!(store(rt, name, "Del", json!(["b"])).unwrap(), Json::Null);
    assert_eq!(store(rt, name, "Keys", json!([])).unwrap(), json!(["a", "user"]));
    // The fast paths see the same entries.
    assert_eq!(store_get(rt, name, "a").unwrap(), json!(1));
    assert_eq!(store_get(rt, name, "zz").unwrap(), Json::Null);
    assert_eq!(store_set(rt, name, "f", &json!({"fast": true}), 0).unwrap(), Json::Null);
    assert_eq!(store(rt, name, "Get", json!(["f"])).unwrap(), json!({"fast": true}));
    assert_eq!(exec(rt, "StoreDel", &[name.as_bytes(), b"f"]).unwrap(), Json::Null);
    assert_eq!(store(rt, name, "Has", json!(["f"])).unwrap(), json!(false));
    // TTLs: a float ttl through store, whole seconds through store_set.
    store(rt, name, "Set", json!(["short", "v", 0.15])).unwrap();
    store_set(rt, name, "fastshort", &json!("w"), 1).unwrap();
    assert_eq!(store(rt, name, "Get", json!(["short"])).unwrap(), json!("v"));
    assert_eq!(store_get(rt, name, "fastshort").unwrap(), json!("w"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(store(rt, name, "Get", json!(["short"])).unwrap(), Json::Null, "expired");
    assert_eq!(store(rt, name, "Has", json!(["short"])).unwrap(), json!(false));
    assert_eq!(store(rt, name, "GetDel", json!(["short"])).unwrap(), Json::Null);
    assert_eq!(store(rt, name, "GetSet", json!(["short", "new"])).unwrap(), json!("new"), "an expired key is set again");
    std::thread::sleep(Duration::from_millis(900));
    assert_eq!(store_get(rt, name, "fastshort").unwrap(), Json::Null, "expired after 1 s");
    assert_eq!(store(rt, name, "Keys", json!([])).unwrap(), json!(["a", "short", "user"]));
    assert_eq!(store(rt, name, "Clear", json!([])).unwrap(), Json::Null);
    assert_eq!(store(rt, name, "Len", json!([])).unwrap(), json!(0));
}

/// Every list method of a store backend, in one sequence (memory and Redis
/// run it): gou's semantics, and the same answers and codes on both.
fn store_list_methods(rt: &Runtime, name: &str, redis: bool) {
    let s = |method: &str, args: Json| store(rt, name, method, args);
    s("Clear", json!([])).unwrap();
    assert_eq!(s("ArrayLen", json!(["l"])).unwrap(), json!(0), "missing key");
    assert_eq!(s("ArrayAll", json!(["l"])).unwrap(), json!([]));
    assert_eq!(s("ArraySlice", json!(["l", 0, 5])).unwrap(), json!([]));
    assert_eq!(code(s("Pop", json!(["l", 1]))), 404, "pop of no list");
    assert_eq!(code(s("ArrayGet", json!(["l", 0]))), 404);
    assert_eq!(code(s("ArraySet", json!(["l", 0, 1]))), 404);
    assert_eq!(s("Pull", json!(["l", 1])).unwrap(), Json::Null, "pull of no list is a no-op");
    assert_eq!(s("Has", json!(["l"])).unwrap(), json!(false));
    // Push is variadic and keeps order; any value is an element.
    assert_eq!(s("Push", json!(["l", 1, "two", {"three": [3]}])).unwrap(), Json::Null);
    assert_eq!(s("Push", json!(["l", null, 1])).unwrap(), Json::Null);
    assert_eq!(s("ArrayAll", json!(["l"])).unwrap(), json!([1, "two", {"three": [3]}, null, 1]));
    assert_eq!(s("Get", json!(["l"])).unwrap(), json!([1, "two", {"three": [3]}, null, 1]), "Get sees the list");
    assert_eq!(s("ArrayLen", json!(["l"])).unwrap(), json!(5));
    assert_eq!(s("ArrayGet", json!(["l", 2])).unwrap(), json!({"three": [3]}));
    assert_eq!(code(s("ArrayGet", json!(["l", 5]))), 404, "past the end");
    assert_eq!(code(s("ArrayGet", json!(["l", -1]))), 400, "a negative index");
    assert_eq!(s("ArraySet", json!(["l", 3, "four"])).unwrap(), Json::Null);
    assert_eq!(code(s("ArraySet", json!(["l", 5, 0]))), 404);
    assert_eq!(s("ArraySlice", json!(["l", 1, 2])).unwrap(), json!(["two", {"three": [3]}]));
    assert_eq!(s("ArraySlice", json!(["l", 3, 100])).unwrap(), json!(["four", 1]));
    assert_eq!(s("ArraySlice", json!(["l", 9, 2])).unwrap(), json!([]));
    assert_eq!(s("ArraySlice", json!(["l", -1, 2])).unwrap(), json!([]));
    assert_eq!(s("ArraySlice", json!(["l", 0, 0])).unwrap(), json!([]));
    // ArrayPage: 1-based pages of pageSize.
    assert_eq!(s("ArrayPage", json!(["l", 1, 2])).unwrap(), json!([1, "two"]));
    assert_eq!(s("ArrayPage", json!(["l", 3, 2])).unwrap(), json!([1]));
    assert_eq!(s("ArrayPage", json!(["l", 4, 2])).unwrap(), json!([]));
    assert_eq!(s("ArrayPage", json!(["l", 0, 2])).unwrap(), json!([]));
    // Pull removes every equal element; PullAll several (variadic, or one array).
    assert_eq!(s("Pull", json!(["l", 1])).unwrap(), Json::Null);
    assert_eq!(s("ArrayAll", json!(["l"])).unwrap(), json!(["two", {"three": [3]}, "four"]));
    s("Push", json!(["l", "a", "b", "a"])).unwrap();
    assert_eq!(s("PullAll", json!(["l", "a", {"three": [3]}])).unwrap(), Json::Null);
    assert_eq!(s("ArrayAll", json!(["l"])).unwrap(), json!(["two", "four", "b"]));
    assert_eq!(s("PullAll", json!(["l", ["two", "b"]])).unwrap(), Json::Null);
    assert_eq!(s("ArrayAll", json!(["l"])).unwrap(), json!(["four"]));
    // AddToSet: only values not there yet, in order, no duplicates among them.
    assert_eq!(s("AddToSet", json!(["l", "four", "x", "y", "x", 1.5])).unwrap(), Json::Null);
    assert_eq!(s("ArrayAll", json!(["l"])).unwrap(), json!(["four", "x", "y", 1.5]));
    assert_eq!(s("AddToSet", json!(["set", 1, 1, 2])).unwrap(), Json::Null, "AddToSet makes the list");
    assert_eq!(s("ArrayAll", json!(["set"])).unwrap(), json!([1, 2]));
    // Pop: 1 takes the last, -1 (anything else) the first; the last pop drops the key.
    assert_eq!(s("Pop", json!(["l", 1])).unwrap(), json!(1.5));
    assert_eq!(s("Pop", json!(["l", -1])).unwrap(), json!("four"));
    assert_eq!(s("Pop", json!(["l", 0])).unwrap(), json!("x"));
    assert_eq!(s("Pop", json!(["l", 1])).unwrap(), json!("y"));
    assert_eq!(code(s("Pop", json!(["l", 1]))), 404, "empty");
    assert_eq!(s("Has", json!(["l"])).unwrap(), json!(false), "an emptied list is gone");
    s("Push", json!(["p", 1])).unwrap();
    s("Pull", json!(["p", 1])).unwrap();
    assert_eq!(s("Has", json!(["p"])).unwrap(), json!(false), "a list emptied by Pull is gone");
    // A value that is not a list: 400 for every list method but ArrayLen (0).
    s("Set", json!(["plain", "text"])).unwrap();
    for (method, args) in [
        ("Push", json!(["plain", 1])),
        ("AddToSet", json!(["plain", 1])),
        ("Pop", json!(["plain", 1])),
        ("Pull", json!(["plain", 1])),
        ("PullAll", json!(["plain", 1, 2])),
        ("ArrayGet", json!(["plain", 0])),
        ("ArraySet", json!(["plain", 0, 1])),
        ("ArraySlice", json!(["plain", 0, 1])),
        ("ArrayPage", json!(["plain", 1, 1])),
        ("ArrayAll", json!(["plain"])),
    ] {
        assert_eq!(code(s(method, args)), 400, "{method} on a string");
    }
    assert_eq!(s("ArrayLen", json!(["plain"])).unwrap(), json!(0));
    assert_eq!(s("Get", json!(["plain"])).unwrap(), json!("text"), "untouched");
    // Set replaces a list with a value, as any value.
    s("Set", json!(["set", {"not": "a list"}])).unwrap();
    assert_eq!(s("Get", json!(["set"])).unwrap(), json!({"not": "a list"}));
    // Bad args: 400.
    for (method, args) in [
        ("Push", json!(["l"])),
        ("Push", json!([1, 2])),
        ("Pop", json!(["l"])),
        ("Pop", json!(["l", "last"])),
        ("Pop", json!(["l", 1, 2])),
        ("Pull", json!(["l", 1, 2])),
        ("PullAll", json!(["l"])),
        ("AddToSet", json!(["l"])),
        ("ArrayLen", json!(["l", 1])),
        ("ArrayGet", json!(["l", 0.5])),
        ("ArraySet", json!(["l", 0])),
        ("ArraySlice", json!(["l", 0])),
        ("ArrayPage", json!(["l", 1, "10"])),
        ("ArrayAll", json!([])),
    ] {
        assert_eq!(code(s(method, args.clone())), 400, "{method} {args}");
    }
    // A list made by Set: a list to the memory store, a value (not a Redis
    // list) to Redis, as in gou.
    s("Set", json!(["ttl", [1], 0.2])).unwrap();
    if redis {
        assert_eq!(code(s("Push", json!(["ttl", 2]))), 400);
        s("Clear", json!([])).unwrap();
        return;
    }
    // TTL: a list keeps its key's expiry as it grows.
    s("Push", json!(["ttl", 2])).unwrap();
    assert_eq!(s("ArrayAll", json!(["ttl"])).unwrap(), json!([1, 2]));
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(s("ArrayLen", json!(["ttl"])).unwrap(), json!(0), "expired");
    s("Clear", json!([])).unwrap();
}

/// `threads` threads each Push `per` values to the list "q" of store
/// `name`, across the runtimes given (round robin): none is lost.
fn concurrent_pushes(runtimes: &[&Runtime], name: &str, threads: usize, per: usize) {
    store(runtimes[0], name, "Del", json!(["q"])).unwrap();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let rt = runtimes[t % runtimes.len()];
            scope.spawn(move || {
                for i in 0..per {
                    store(rt, name, "Push", json!(["q", t * 1000 + i])).unwrap();
                    store(rt, name, "AddToSet", json!(["set", i % 7])).unwrap();
                }
            });
        }
    });
    assert_eq!(store(runtimes[0], name, "ArrayLen", json!(["q"])).unwrap(), json!(threads * per));
    let mut all: Vec<u64> = store(runtimes[1 % runtimes.len()], name, "ArrayAll", json!(["q"]))
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    // Each thread's own values stay in its order.
    for t in 0..threads as u64 {
        let mine: Vec<u64> = all.iter().copied().filter(|v| v / 1000 == t).collect();
        assert_eq!(mine, (0..per as u64).map(|i| t * 1000 + i).collect::<Vec<_>>());
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), threads * per);
    let mut set: Vec<u64> =
        store(runtimes[0], name, "ArrayAll", json!(["set"])).unwrap().as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    set.sort();
    assert_eq!(set, (0..7).collect::<Vec<_>>(), "AddToSet: each value once");
}

#[test]
fn memory_store_list_methods() {
    let (rt, _dir) = runtime(&json!({"stores": {"small": {"max_entries": 10}}}));
    store_list_methods(&rt, "cache", false);
    store_list_methods(&rt, "small", false);
    concurrent_pushes(&[&rt], "cache", 4, 100);
}

#[test]
fn memory_store_list_growth_is_held_to_the_byte_budgets() {
    // A configured store: a list that outgrows max_bytes is a 413 and stays as it was.
    let (rt, _dir) = runtime(&json!({"stores": {"capped": {"max_bytes": 3500}}}));
    let chunk = "x".repeat(1000);
    store(&rt, "capped", "Push", json!(["l", chunk, chunk, chunk])).unwrap();
    assert_eq!(code(store(&rt, "capped", "Push", json!(["l", chunk]))), 413);
    assert_eq!(code(store(&rt, "capped", "AddToSet", json!(["l", "y".repeat(1000)]))), 413);
    assert_eq!(code(store(&rt, "capped", "ArraySet", json!(["l", 0, "z".repeat(2000)]))), 413);
    assert_eq!(store(&rt, "capped", "ArrayLen", json!(["l"])).unwrap(), json!(3));
    // Stores not in the config: their shared 64 MiB budget counts list growth.
    let mb = "m".repeat(1 << 20);
    let mut refused = None;
    for i in 0..80 {
        if let Err(e) = store(&rt, "free", "Push", json!([format!("k{}", i % 4), mb])) {
            refused = Some((i, e.code()));
            break;
        }
    }
    let lens: Vec<Json> = (0..4).map(|i| store(&rt, "free", "ArrayLen", json!([format!("k{i}")])).unwrap()).collect();
    let (at, code) = refused.unwrap_or_else(|| panic!("64 MiB of pushes refused: {lens:?}"));
    assert_eq!(code, 413);
    assert!((60..=64).contains(&at), "refused after {at} MiB");
    store(&rt, "free", "Clear", json!([])).unwrap();
    store(&rt, "free", "Push", json!(["k", mb])).unwrap();
}

#[test]
fn process_store_list_methods_go_to_the_host() {
    let (rt, _dir) = runtime(&json!({"stores": {"gou": {"backend": "process"}}}));
    let calls: Arc<Mutex<Vec<(String, Json)>>> = Arc::default();
    let seen = calls.clone();
    rt.set_process_handler(Some(Arc::new(move |name: &str, args: &[u8]| {
        seen.lock().unwrap().push((name.to_owned(), json(args)));
        match name {
            "stores.gou.Pop" => Ok(mp(&json!("popped"))),
            "stores.gou.ArrayPage" => Ok(mp(&json!([1, 2]))),
            _ => Ok(mp(&Json::Null)),
        }
    })));
    assert_eq!(store(&rt, "gou", "Push", json!(["k", 1, 2])).unwrap(), Json::Null);
    assert_eq!(store(&rt, "gou", "Pop", json!(["k", -1])).unwrap(), json!("popped"));
    assert_eq!(store(&rt, "gou", "PullAll", json!(["k", [1, 2]])).unwrap(), Json::Null);
    assert_eq!(store(&rt, "gou", "ArrayPage", json!(["k", 1, 10])).unwrap(), json!([1, 2]));
    assert_eq!(
        *calls.lock().unwrap(),
        vec![
            ("stores.gou.Push".to_owned(), json!(["k", 1, 2])),
            ("stores.gou.Pop".to_owned(), json!(["k", -1])),
            ("stores.gou.PullAll".to_owned(), json!(["k", [1, 2]])),
            ("stores.gou.ArrayPage".to_owned(), json!(["k", 1, 10])),
        ]
    );
}

#[test]
fn memory_store_every_method() {
    let (rt, _dir) = runtime(&json!({"stores": {"small": {"max_entries": 10}}}));
    store_methods(&rt, "cache");
    store_methods(&rt, "small");
    // Stores are separate by name.
    store(&rt, "one", "Set", json!(["k", 1])).unwrap();
    assert_eq!(store(&rt, "two", "Get", json!(["k"])).unwrap(), Json::Null);
    // Bytes and big values survive.
    let big = "z".repeat(200_000);
    store_set(&rt, "one", "big", &json!(big), 0).unwrap();
    assert_eq!(store_get(&rt, "one", "big").unwrap(), json!(big));
    let bytes = {
        let mut v = Vec::new();
        rmp::encode::write_bin(&mut v, &[0, 1, 255]).unwrap();
        v
    };
    exec(&rt, "StoreSet", &[b"one", b"bin", &bytes, &0i64.to_le_bytes()]).unwrap();
    assert_eq!(rt.exec("scripts.api.StoreGet", &fields(&[b"one", b"bin"])).unwrap(), bytes);
}

#[test]
fn memory_store_max_entries_evicts() {
    let (rt, _dir) = runtime(&json!({"stores": {"tiny": {"max_entries": 5}}}));
    for i in 0..200 {
        store_set(&rt, "tiny", &format!("k{i}"), &json!(i), 0).unwrap();
    }
    let len = store(&rt, "tiny", "Len", json!([])).unwrap().as_u64().unwrap();
    assert!((1..=5).contains(&len), "{len} entries");
}

#[test]
fn store_refusals() {
    let (rt, _dir) = runtime(&json!({}));
    assert_eq!(code(store(&rt, "s", "Teleport", json!([]))), 404);
    assert_eq!(code(store(&rt, "s", "Get", json!([1]))), 400, "key must be a string");
    assert_eq!(code(store(&rt, "s", "Get", json!([]))), 400, "key missing");
    assert_eq!(code(store(&rt, "s", "Get", json!(["a", "b"]))), 400, "too many args");
    assert_eq!(code(store(&rt, "s", "Set", json!(["a", 1, -1]))), 400, "negative ttl");
    assert_eq!(code(store(&rt, "s", "Set", json!(["a", 1, "soon"]))), 400, "ttl not a number");
    assert_eq!(code(exec(&rt, "Store", &[b"s", b"Get", &mp(&json!({"k": 1}))])), 400, "args not an array");
    assert_eq!(code(exec(&rt, "Store", &[b"s", b"Get", &[0x91, 0xc1]])), 400, "args not MessagePack");
    assert_eq!(code(exec(&rt, "Store", &[&[0xff, 0xfe], b"Get", &mp(&json!(["k"]))])), 400, "name not UTF-8");
    assert_eq!(code(exec(&rt, "Store", &[b"", b"Get", &mp(&json!(["k"]))])), 400, "empty name");
    assert_eq!(code(exec(&rt, "Store", &["n".repeat(129).as_bytes(), b"Get", &mp(&json!(["k"]))])), 400, "long name");
    assert_eq!(code(exec(&rt, "StoreSet", &[b"s", b"k", &[0xc1], &0i64.to_le_bytes()])), 400, "bad value");
    assert_eq!(code(exec(&rt, "StoreSet", &[b"s", b"k", &[0x01, 0x02], &0i64.to_le_bytes()])), 400, "two values");
    assert_eq!(code(exec(&rt, "StoreGet", &[b"s", &[0xc3, 0x28]])), 400, "key not UTF-8");
    let wild = rt.exec("scripts.api.WildStore", &[]).unwrap_err();
    assert_eq!(wild.code(), 500, "{wild}");
}

#[test]
fn json_guest_store_round_trip() {
    let (rt, _dir) = runtime(&json!({}));
    assert_eq!(json(&rt.exec("scripts.japi.RoundTrip", &[]).unwrap()), json!({"a": [1, "x"]}));
    // What the JSON guest stored is a Yao value, seen the same by a MessagePack guest.
    assert_eq!(store_get(&rt, "j", "k").unwrap(), json!({"a": [1, "x"]}));
    assert_eq!(rt.exec("scripts.japi.BadValue", &[]).unwrap_err().code(), 400);
}

#[test]
fn process_store_goes_to_the_host() {
    let (rt, _dir) = runtime(&json!({"stores": {"gou": {"backend": "process"}}}));
    let calls: Arc<Mutex<Vec<(String, Json)>>> = Arc::default();
    let seen = calls.clone();
    rt.set_process_handler(Some(Arc::new(move |name: &str, args: &[u8]| {
        seen.lock().unwrap().push((name.to_owned(), json(args)));
        match name {
            "stores.gou.Get" => Ok(mp(&json!("from gou"))),
            "stores.gou.Len" => Err(Error::new(503, "gou store down")),
            _ => Ok(mp(&Json::Null)),
        }
    })));
    assert_eq!(store(&rt, "gou", "Get", json!(["k"])).unwrap(), json!("from gou"));
    assert_eq!(store_get(&rt, "gou", "k").unwrap(), json!("from gou"));
    assert_eq!(store_set(&rt, "gou", "k", &json!({"v": 1}), 30).unwrap(), Json::Null);
    assert_eq!(exec(&rt, "StoreDel", &[b"gou", b"k"]).unwrap(), Json::Null);
    let e = store(&rt, "gou", "Len", json!([])).unwrap_err();
    assert_eq!((e.code(), e.message()), (503, "gou store down"));
    // A name not configured stays in memory: the handler never sees it.
    store(&rt, "local", "Set", json!(["k", 1])).unwrap();
    assert_eq!(
        *calls.lock().unwrap(),
        vec![
            ("stores.gou.Get".to_owned(), json!(["k"])),
            ("stores.gou.Get".to_owned(), json!(["k"])),
            ("stores.gou.Set".to_owned(), json!(["k", {"v": 1}, 30])),
            ("stores.gou.Del".to_owned(), json!(["k"])),
            ("stores.gou.Len".to_owned(), json!([])),
        ]
    );
}

#[test]
fn process_store_without_handler_is_404() {
    let (rt, _dir) = runtime(&json!({"stores": {"gou": {"backend": "process"}}}));
    assert_eq!(code(store_get(&rt, "gou", "k")), 404);
}

// ------------------------------------------------------------------ redis

/// A redis-server on a free port of 127.0.0.1, stopped when dropped.
struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    fn start() -> RedisServer {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (Debian package redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                s.write_all(b"PING\r\n").unwrap();
                let mut line = String::new();
                if BufReader::new(&s).read_line(&mut line).is_ok() && line.starts_with("+PONG") {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        RedisServer { child, port, _dir: dir }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn redis_store_every_method_and_shared_between_runtimes() {
    let server = RedisServer::start();
    let config = json!({"stores": {"shared": {"backend": "redis", "url": server.url()},
                                    "other": {"backend": "redis", "url": server.url(), "prefix": "other*[x]:"}}});
    let (a, _da) = runtime(&config);
    let (b, _db) = runtime(&config);
    store_methods(&a, "shared");
    store_methods(&a, "other");
    store_list_methods(&a, "shared", true);
    store_list_methods(&b, "other", true);
    // Two runtimes pushing to one list at once: nothing lost.
    concurrent_pushes(&[&a, &b], "shared", 8, 50);
    let first = store(&a, "shared", "ArrayGet", json!(["q", 0])).unwrap();
    assert_eq!(store(&b, "shared", "Pop", json!(["q", -1])).unwrap(), first, "one list, seen by both");
    store(&a, "shared", "Clear", json!([])).unwrap();
    // Two runtimes, one store.
    store_set(&a, "shared", "k", &json!({"from": "a"}), 0).unwrap();
    assert_eq!(store_get(&b, "shared", "k").unwrap(), json!({"from": "a"}));
    assert_eq!(store(&b, "shared", "GetSet", json!(["k", "b's"])).unwrap(), json!({"from": "a"}));
    store(&b, "shared", "Set", json!(["k2", 2, 0.2])).unwrap();
    assert_eq!(store(&a, "shared", "Keys", json!([])).unwrap(), json!(["k", "k2"]));
    // Prefixes keep stores apart, even one full of glob characters.
    store(&a, "other", "Set", json!(["x", 1])).unwrap();
    assert_eq!(store(&b, "other", "Keys", json!([])).unwrap(), json!(["x"]));
    assert_eq!(store(&b, "shared", "Len", json!([])).unwrap(), json!(2));
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(store_get(&b, "shared", "k2").unwrap(), Json::Null, "expired on the server");
    store(&b, "other", "Clear", json!([])).unwrap();
    assert_eq!(store(&a, "shared", "Keys", json!([])).unwrap(), json!(["k"]), "Clear of one prefix leaves the other");
    // Redis gone: 502, and the runtime keeps serving other stores.
    drop(server);
    assert_eq!(code(store_get(&a, "shared", "k")), 502);
    store(&a, "mem", "Set", json!(["k", 1])).unwrap();
}

/// `Incr(key, by?)` on one store: the sequence every backend answers alike.
fn store_incr(rt: &Runtime, name: &str) {
    store(rt, name, "Clear", json!([])).unwrap();
    assert_eq!(store(rt, name, "Incr", json!(["n"])).unwrap(), json!(1), "an absent key counts from 0");
    assert_eq!(store(rt, name, "Incr", json!(["n", 41])).unwrap(), json!(42));
    assert_eq!(store(rt, name, "Incr", json!(["n", -50])).unwrap(), json!(-8));
    assert_eq!(store(rt, name, "Get", json!(["n"])).unwrap(), json!(-8), "Get reads the counter as Set would have stored it");
    assert_eq!(store(rt, name, "Incr", json!(["f", 0.5])).unwrap(), json!(0.5));
    assert_eq!(store(rt, name, "Incr", json!(["f", 2])).unwrap(), json!(2.5), "a float stays a float");
    store(rt, name, "Set", json!(["s", "text"])).unwrap();
    assert_eq!(code(store(rt, name, "Incr", json!(["s"]))), 400, "not a number");
    assert_eq!(store(rt, name, "Get", json!(["s"])).unwrap(), json!("text"), "left as it was");
    assert_eq!(code(store(rt, name, "Incr", json!(["n", "1"]))), 400, "the increment must be a number");
    store(rt, name, "Set", json!(["ttl", 5, 0.3])).unwrap();
    assert_eq!(store(rt, name, "Incr", json!(["ttl"])).unwrap(), json!(6));
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(store(rt, name, "Get", json!(["ttl"])).unwrap(), Json::Null, "Incr keeps the key's TTL");
}

#[test]
fn store_incr_is_atomic_on_memory_and_redis() {
    let server = RedisServer::start();
    let config = json!({"stores": {"r": {"backend": "redis", "url": server.url()}}});
    let (a, _da) = runtime(&config);
    let (b, _db) = runtime(&config);
    store_incr(&a, "m");
    store_incr(&a, "r");
    // 8 threads on two runtimes (two "nodes") sharing the Redis store, and
    // 8 on one runtime's memory store: no increment lost.
    let rts = [Arc::new(a), Arc::new(b)];
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let rt = rts[i % 2].clone();
            let name = if i < 8 { "r" } else { "m" };
            let rt = if name == "m" { rts[0].clone() } else { rt };
            std::thread::spawn(move || {
                for _ in 0..200 {
                    store(&rt, name, "Incr", json!(["hits"])).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store(&rts[1], "r", "Get", json!(["hits"])).unwrap(), json!(1600));
    assert_eq!(store(&rts[0], "m", "Get", json!(["hits"])).unwrap(), json!(1600));
}

#[test]
fn a_redis_that_never_answers_does_not_outlive_the_call() {
    // Accepts connections and reads, never answers: every Redis round trip
    // would wait for its 5 s socket timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    let url = format!("redis://127.0.0.1:{port}/0");
    let (rt, _dir) = runtime(&json!({"timeout_ms": 300, "stores": {"slow": {"backend": "redis", "url": url}}}));
    for attempt in 0..2 {
        let started = Instant::now();
        assert_eq!(code(store_get(&rt, "slow", "k")), 408, "attempt {attempt}");
        assert!(started.elapsed() < Duration::from_millis(1500), "held {:?}", started.elapsed());
    }
    store(&rt, "mem", "Set", json!(["k", 1])).unwrap();
}

// ------------------------------------------------------------------ fs

fn fs(rt: &Runtime, root: &str, method: &str, args: Json) -> Result<Json, Error> {
    exec(rt, "Fs", &[root.as_bytes(), method.as_bytes(), &mp(&args)])
}

struct FsFixture {
    rt: Runtime,
    _scripts: tempfile::TempDir,
    base: tempfile::TempDir,
}

/// base/data is the root "data", base/system the root "system";
/// base/outside holds secret.txt and is reachable only by escaping.
fn fs_fixture() -> FsFixture {
    let base = tempfile::tempdir().unwrap();
    for d in ["data", "system", "outside"] {
        std::fs::create_dir(base.path().join(d)).unwrap();
    }
    std::fs::write(base.path().join("outside/secret.txt"), "SECRET").unwrap();
    std::fs::write(base.path().join("system/app.yao"), "{}").unwrap();
    let config = json!({"fs": {"data": base.path().join("data"), "system": base.path().join("system")}});
    let (rt, scripts) = runtime(&config);
    FsFixture { rt, _scripts: scripts, base }
}

#[test]
fn fs_every_method() {
    let f = fs_fixture();
    let rt = &f.rt;
    let data = f.base.path().join("data");
    assert_eq!(fs(rt, "data", "MkdirAll", json!(["a/b/c"])).unwrap(), Json::Null);
    assert_eq!(fs(rt, "data", "MkdirAll", json!(["a/b/c"])).unwrap(), Json::Null, "fine when it exists");
    assert_eq!(fs(rt, "data", "Mkdir", json!(["a/d"])).unwrap(), Json::Null);
    assert_eq!(code(fs(rt, "data", "Mkdir", json!(["a/d"]))), 409);
    assert_eq!(code(fs(rt, "data", "Mkdir", json!(["x/y"]))), 404, "parent missing");
    assert_eq!(fs(rt, "data", "WriteFile", json!(["a/hello.txt", "héllo"])).unwrap(), json!(6));
    assert_eq!(std::fs::read_to_string(data.join("a/hello.txt")).unwrap(), "héllo");
    assert_eq!(fs(rt, "data", "ReadFile", json!(["a/hello.txt"])).unwrap(), json!("héllo"));
    assert_eq!(fs(rt, "data", "AppendFile", json!(["a/hello.txt", " world"])).unwrap(), json!(6));
    assert_eq!(fs(rt, "data", "ReadFile", json!(["./a//hello.txt"])).unwrap(), json!("héllo world"));
    assert_eq!(fs(rt, "data", "Size", json!(["a/hello.txt"])).unwrap(), json!(12));
    let bin = {
        let mut v = vec![0x94];
        rmp::encode::write_str(&mut v, "b.bin").unwrap();
        rmp::encode::write_bin(&mut v, &[0, 159, 255]).unwrap();
        v.push(0xcd);
        v.extend_from_slice(&0o600u16.to_be_bytes());
        v.push(0xc0);
        v
    };
    assert_eq!(code(exec(rt, "Fs", &[b"data", b"WriteFileBuffer", &bin])), 400, "four args");
    let bin3 = {
        let mut v = bin.clone();
        v[0] = 0x93;
        v.pop();
        v
    };
    assert_eq!(exec(rt, "Fs", &[b"data", b"WriteFileBuffer", &bin3]).unwrap(), json!(3));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(data.join("b.bin")).unwrap().permissions().mode() & 0o777, 0o600);
    let read = rt.exec("scripts.api.Fs", &fields(&[b"data", b"ReadFileBuffer", &mp(&json!(["b.bin"]))])).unwrap();
    let mut expect = Vec::new();
    rmp::encode::write_bin(&mut expect, &[0, 159, 255]).unwrap();
    assert_eq!(read, expect);
    assert_eq!(code(fs(rt, "data", "ReadFile", json!(["b.bin"]))), 400, "not UTF-8");
    assert_eq!(fs(rt, "data", "AppendFile", json!(["new.log", "1"])).unwrap(), json!(1), "creates");
    assert_eq!(fs(rt, "data", "Exists", json!(["a"])).unwrap(), json!(true));
    assert_eq!(fs(rt, "data", "Exists", json!(["nope"])).unwrap(), json!(false));
    assert_eq!(fs(rt, "data", "IsDir", json!(["a"])).unwrap(), json!(true));
    assert_eq!(fs(rt, "data", "IsDir", json!(["a/hello.txt"])).unwrap(), json!(false));
    assert_eq!(fs(rt, "data", "IsFile", json!(["a/hello.txt"])).unwrap(), json!(true));
    assert_eq!(fs(rt, "data", "IsFile", json!(["nope"])).unwrap(), json!(false));
    assert_eq!(fs(rt, "data", "ReadDir", json!(["a"])).unwrap(), json!(["a/b", "a/d", "a/hello.txt"]));
    assert_eq!(
        fs(rt, "data", "ReadDir", json!(["", true])).unwrap(),
        json!(["a", "a/b", "a/b/c", "a/d", "a/hello.txt", "b.bin", "new.log"])
    );
    assert_eq!(fs(rt, "data", "Copy", json!(["a/hello.txt", "a/b/copy.txt"])).unwrap(), Json::Null);
    assert_eq!(fs(rt, "data", "ReadFile", json!(["a/b/copy.txt"])).unwrap(), json!("héllo world"));
    assert_eq!(fs(rt, "data", "Move", json!(["a/b/copy.txt", "moved.txt"])).unwrap(), Json::Null);
    assert_eq!(fs(rt, "data", "Exists", json!(["a/b/copy.txt"])).unwrap(), json!(false));
    assert_eq!(fs(rt, "data", "ReadFile", json!(["moved.txt"])).unwrap(), json!("héllo world"));
    assert_eq!(code(fs(rt, "data", "Remove", json!(["a"]))), 409, "not empty");
    assert_eq!(fs(rt, "data", "Remove", json!(["moved.txt"])).unwrap(), Json::Null);
    assert_eq!(code(fs(rt, "data", "Remove", json!(["moved.txt"]))), 404);
    assert_eq!(fs(rt, "data", "Remove", json!(["a/d"])).unwrap(), Json::Null);
    assert_eq!(fs(rt, "data", "RemoveAll", json!(["a"])).unwrap(), Json::Null);
    assert_eq!(fs(rt, "data", "RemoveAll", json!(["a"])).unwrap(), Json::Null, "fine when absent");
    assert!(!data.join("a").exists());
    assert_eq!(code(fs(rt, "data", "ReadFile", json!(["gone.txt"]))), 404);
    assert_eq!(code(fs(rt, "data", "Size", json!(["gone.txt"]))), 404);
    assert_eq!(code(fs(rt, "data", "Teleport", json!([]))), 404);
    // Roots are separate.
    assert_eq!(fs(rt, "system", "ReadDir", json!(["."])).unwrap(), json!(["app.yao"]));
    assert_eq!(fs(rt, "system", "Exists", json!(["b.bin"])).unwrap(), json!(false));
    // The wild args pointer ends the call.
    assert_eq!(rt.exec("scripts.api.WildFs", &[]).unwrap_err().code(), 500);
}

/// The FS methods past the first sixteen (docs/ABI.md §6), each with its
/// answer and its refusals.
#[test]
fn fs_more_methods() {
    use std::os::unix::fs::PermissionsExt;
    let f = fs_fixture();
    let rt = &f.rt;
    let data = f.base.path().join("data");
    let bin = |v: &[u8]| {
        let mut out = Vec::new();
        rmp::encode::write_bin(&mut out, v).unwrap();
        out
    };
    let call = |method: &str, args: Json| fs(rt, "data", method, args);
    // Base64 reads and writes; AppendBuffer takes bytes (or text).
    assert_eq!(call("WriteFileBase64", json!(["b64.bin", "AAH/"])).unwrap(), json!(3));
    assert_eq!(std::fs::read(data.join("b64.bin")).unwrap(), [0, 1, 255]);
    assert_eq!(call("AppendBase64", json!(["b64.bin", "aGk="])).unwrap(), json!(2));
    assert_eq!(call("ReadFileBase64", json!(["b64.bin"])).unwrap(), json!("AAH/aGk="));
    assert_eq!(code(call("WriteFileBase64", json!(["b64.bin", "not base64!"]))), 400);
    assert_eq!(code(call("WriteFileBase64", json!(["b64.bin", [1]]))), 400);
    let args = {
        let mut v = vec![0x92];
        rmp::encode::write_str(&mut v, "b64.bin").unwrap();
        v.extend(bin(&[7, 8]));
        v
    };
    assert_eq!(exec(rt, "Fs", &[b"data", b"AppendBuffer", &args]).unwrap(), json!(2));
    assert_eq!(std::fs::read(data.join("b64.bin")).unwrap(), [0, 1, 255, b'h', b'i', 7, 8]);
    // ReadCloser answers the bytes; Download the bytes with type and name.
    assert_eq!(
        rt.exec("scripts.api.Fs", &fields(&[b"data", b"ReadCloser", &mp(&json!(["b64.bin"]))])).unwrap(),
        bin(&[0, 1, 255, b'h', b'i', 7, 8])
    );
    std::fs::write(data.join("page.html"), "<!DOCTYPE html><p>hi</p>").unwrap();
    assert_eq!(
        call("Download", json!(["page.html"])).unwrap(),
        json!({"type": "text/html; charset=utf-8", "name": "page.html", "size": 24, "content": "PCFET0NUWVBFIGh0bWw+PHA+aGk8L3A+"})
    );
    assert_eq!(code(call("Download", json!(["nope.bin"]))), 404);
    // Inserts: at an offset, past the end at the end, a missing file created.
    std::fs::write(data.join("ins.txt"), "hello world").unwrap();
    std::fs::set_permissions(data.join("ins.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(call("InsertFile", json!(["ins.txt", 5, ","])).unwrap(), json!(1));
    assert_eq!(call("InsertBase64", json!(["ins.txt", 0, "Pj4g"])).unwrap(), json!(3));
    assert_eq!(call("InsertFile", json!(["ins.txt", 1000, "!"])).unwrap(), json!(1));
    assert_eq!(std::fs::read_to_string(data.join("ins.txt")).unwrap(), ">> hello, world!");
    assert_eq!(std::fs::metadata(data.join("ins.txt")).unwrap().permissions().mode() & 0o777, 0o640, "the mode is kept");
    assert_eq!(call("InsertFile", json!(["fresh.txt", 3, "new"])).unwrap(), json!(3));
    assert_eq!(std::fs::read_to_string(data.join("fresh.txt")).unwrap(), "new");
    assert_eq!(code(call("InsertFile", json!(["ins.txt", -1, "x"]))), 400);
    assert_eq!(code(call("InsertFile", json!(["ins.txt", "1", "x"]))), 400);
    let args = {
        let mut v = vec![0x93];
        rmp::encode::write_str(&mut v, "ins.txt").unwrap();
        v.push(0);
        v.extend(bin(b"#"));
        v
    };
    assert_eq!(exec(rt, "Fs", &[b"data", b"InsertBuffer", &args]).unwrap(), json!(1));
    assert!(std::fs::read_to_string(data.join("ins.txt")).unwrap().starts_with("#>>"));
    // Links, modes, times, types.
    std::os::unix::fs::symlink("ins.txt", data.join("ln")).unwrap();
    assert_eq!(call("IsLink", json!(["ln"])).unwrap(), json!(true));
    assert_eq!(call("IsLink", json!(["ins.txt"])).unwrap(), json!(false));
    assert_eq!(call("IsLink", json!(["nope"])).unwrap(), json!(false));
    assert_eq!(call("Mode", json!(["ins.txt"])).unwrap(), json!(0o640));
    assert_eq!(call("Chmod", json!(["ins.txt", 0o4600])).unwrap(), Json::Null);
    assert_eq!(call("Mode", json!(["ins.txt"])).unwrap(), json!(0o600), "setuid dropped");
    assert_eq!(code(call("Chmod", json!(["ins.txt"]))), 400, "perm required");
    assert_eq!(code(call("Chmod", json!(["nope", 0o600]))), 404);
    std::fs::create_dir(data.join("locked")).unwrap();
    assert_eq!(call("Chmod", json!(["locked", 0o000])).unwrap(), Json::Null);
    assert_eq!(call("Mode", json!(["locked"])).unwrap(), json!(0));
    assert_eq!(call("Chmod", json!(["locked", 0o755])).unwrap(), Json::Null, "a folder this process cannot read is still changed");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mtime = call("ModTime", json!(["ins.txt"])).unwrap().as_i64().unwrap();
    assert!((now - mtime).abs() < 60, "{mtime} vs {now}");
    assert_eq!(call("MimeType", json!(["page.html"])).unwrap(), json!("text/html; charset=utf-8"));
    assert_eq!(call("MimeType", json!(["b64.bin"])).unwrap(), json!("application/octet-stream"));
    std::fs::write(data.join("img.png"), b"\x89PNG\r\n\x1a\n0000").unwrap();
    assert_eq!(call("MimeType", json!(["img.png"])).unwrap(), json!("image/png"));
    assert_eq!(code(call("MimeType", json!(["locked"]))), 400);
    // Abs: the path as the guest sees it from its root, never the host's.
    assert_eq!(call("Abs", json!(["./a/../b"])).map_err(|e| e.code()), Err(403));
    assert_eq!(call("Abs", json!(["ln"])).unwrap(), json!("/ins.txt"));
    assert_eq!(call("Abs", json!(["x/y.txt"])).unwrap(), json!("/x/y.txt"));
    assert_eq!(call("Abs", json!([""])).unwrap(), json!("/"));
    // MkdirTemp: in the root or a folder (made), the last * replaced.
    let temp = call("MkdirTemp", json!([])).unwrap();
    assert!(data.join(temp.as_str().unwrap()).is_dir(), "{temp}");
    let temp = call("MkdirTemp", json!(["tmp/work", "job-*.d"])).unwrap();
    let temp = temp.as_str().unwrap();
    assert!(temp.starts_with("tmp/work/job-") && temp.ends_with(".d") && data.join(temp).is_dir(), "{temp}");
    assert_eq!(std::fs::metadata(data.join(temp)).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(code(call("MkdirTemp", json!(["", "a/b*"]))), 400);
    // MoveAppend / MoveInsert: the source's bytes go into the destination, the source goes.
    std::fs::write(data.join("part1"), "abc").unwrap();
    std::fs::write(data.join("part2"), "XY").unwrap();
    std::fs::write(data.join("whole"), "123").unwrap();
    assert_eq!(call("MoveAppend", json!(["part1", "whole"])).unwrap(), Json::Null);
    assert_eq!(call("MoveInsert", json!(["part2", "whole", 1])).unwrap(), Json::Null);
    assert_eq!(std::fs::read_to_string(data.join("whole")).unwrap(), "1XY23abc");
    assert!(!data.join("part1").exists() && !data.join("part2").exists());
    std::fs::write(data.join("part3"), "z").unwrap();
    assert_eq!(call("MoveAppend", json!(["part3", "made.txt"])).unwrap(), Json::Null, "a missing destination is made");
    assert_eq!(std::fs::read_to_string(data.join("made.txt")).unwrap(), "z");
    assert_eq!(code(call("MoveAppend", json!(["nope", "whole"]))), 404);
    assert_eq!(code(call("MoveAppend", json!(["whole", "whole"]))), 400, "onto itself");
    assert_eq!(code(call("MoveAppend", json!(["whole", "tmp"]))), 400, "onto a folder");
    assert_eq!(std::fs::read_to_string(data.join("whole")).unwrap(), "1XY23abc");
    // Zip / Unzip round trip, folders and modes kept.
    std::fs::create_dir_all(data.join("src/sub/empty")).unwrap();
    std::fs::write(data.join("src/a.txt"), "A").unwrap();
    std::fs::write(data.join("src/sub/b.txt"), "B".repeat(10_000)).unwrap();
    std::fs::set_permissions(data.join("src/a.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink("../../outside/secret.txt", data.join("src/leak")).unwrap();
    assert_eq!(call("Zip", json!(["src", "out/src.zip"])).map_err(|e| e.code()), Err(404), "the folder of the archive must exist");
    assert_eq!(call("Zip", json!(["src", "src.zip"])).unwrap(), Json::Null);
    assert!(std::fs::metadata(data.join("src.zip")).unwrap().len() < 2000, "deflated");
    assert_eq!(call("MimeType", json!(["src.zip"])).unwrap(), json!("application/zip"));
    assert_eq!(call("Unzip", json!(["src.zip", "dst/x"])).unwrap(), json!(["dst/x/a.txt", "dst/x/sub/b.txt"]));
    assert_eq!(std::fs::read_to_string(data.join("dst/x/sub/b.txt")).unwrap(), "B".repeat(10_000));
    assert!(data.join("dst/x/sub/empty").is_dir());
    assert!(!data.join("dst/x/leak").exists(), "symlinks are not archived");
    assert_eq!(std::fs::metadata(data.join("dst/x/a.txt")).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(call("Zip", json!(["src/a.txt", "one.zip"])).unwrap(), Json::Null);
    assert_eq!(call("Unzip", json!(["one.zip", ""])).unwrap(), json!(["a.txt"]));
    assert_eq!(code(call("Unzip", json!(["whole", "bad"]))), 400, "not an archive");
    assert_eq!(code(call("Zip", json!(["nope", "n.zip"]))), 404);
    // Glob: Go's patterns, relative to the root, sorted.
    assert_eq!(call("Glob", json!(["dst/x/*.txt"])).unwrap(), json!(["dst/x/a.txt"]));
    assert_eq!(call("Glob", json!(["dst/*/s?b/[a-c].txt"])).unwrap(), json!(["dst/x/sub/b.txt"]));
    assert_eq!(call("Glob", json!(["*.zip"])).unwrap(), json!(["one.zip", "src.zip"]));
    assert_eq!(call("Glob", json!(["src/*"])).unwrap(), json!(["src/a.txt", "src/sub"]), "a link out is never matched");
    assert_eq!(call("Glob", json!(["nope/*"])).unwrap(), json!([]));
    assert_eq!(code(call("Glob", json!(["[z-a]"]))), 400);
    // Read-only roots refuse every new writer.
    let (ro, _s) = runtime(&json!({"fs": {"data": &data}, "fs_read_only": ["data"]}));
    for (method, args) in [
        ("WriteFileBase64", json!(["r", "AA=="])),
        ("AppendBuffer", json!(["r", "x"])),
        ("AppendBase64", json!(["r", "AA=="])),
        ("InsertFile", json!(["r", 0, "x"])),
        ("InsertBuffer", json!(["r", 0, "x"])),
        ("InsertBase64", json!(["r", 0, "AA=="])),
        ("MkdirTemp", json!([])),
        ("Chmod", json!(["whole", 0o777])),
        ("MoveAppend", json!(["whole", "r"])),
        ("MoveInsert", json!(["whole", "r", 0])),
        ("Zip", json!(["src", "r.zip"])),
        ("Unzip", json!(["src.zip", "r"])),
    ] {
        assert_eq!(code(fs(&ro, "data", method, args)), 403, "{method} on a read-only root");
    }
    assert!(fs(&ro, "data", "ReadFileBase64", json!(["one.zip"])).is_ok());
    assert_eq!(fs(&ro, "data", "Glob", json!(["*.zip"])).unwrap(), json!(["one.zip", "src.zip"]));
}

#[test]
fn fs_refuses_every_escape() {
    use std::os::unix::fs::PermissionsExt;
    let f = fs_fixture();
    let rt = &f.rt;
    let data = f.base.path().join("data");
    let outside = f.base.path().join("outside");
    let secret_mode = std::fs::metadata(outside.join("secret.txt")).unwrap().permissions().mode();
    std::os::unix::fs::symlink(&outside, data.join("out_dir")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), data.join("out_file")).unwrap();
    std::os::unix::fs::symlink("../outside/secret.txt", data.join("rel_out")).unwrap();
    std::os::unix::fs::symlink(outside.join("missing.txt"), data.join("dangling")).unwrap();
    std::fs::write(data.join("inside.txt"), "inside").unwrap();
    std::os::unix::fs::symlink("inside.txt", data.join("in_link")).unwrap();

    let refused: &[(&str, Json, i32)] = &[
        ("ReadFile", json!(["../outside/secret.txt"]), 403),
        ("ReadFile", json!(["a/../../outside/secret.txt"]), 403),
        ("ReadFile", json!([".."]), 403),
        ("ReadFile", json!([outside.join("secret.txt")]), 403),
        ("ReadFile", json!(["/etc/passwd"]), 403),
        ("ReadFile", json!(["out_dir/secret.txt"]), 403),
        ("ReadFile", json!(["out_file"]), 403),
        ("ReadFile", json!(["rel_out"]), 403),
        ("ReadFile", json!(["dangling"]), 403),
        ("WriteFile", json!(["out_dir/new.txt", "x"]), 403),
        ("WriteFile", json!(["out_file", "overwritten"]), 403),
        ("WriteFile", json!(["dangling", "created outside"]), 403),
        ("AppendFile", json!(["rel_out", "x"]), 403),
        ("MkdirAll", json!(["out_dir/sub/deeper"]), 403),
        ("Mkdir", json!(["../made"]), 403),
        ("ReadDir", json!(["out_dir"]), 403),
        ("Exists", json!(["out_dir/secret.txt"]), 403),
        ("Size", json!(["out_file"]), 403),
        ("Copy", json!(["out_file", "stolen.txt"]), 403),
        ("Copy", json!(["inside.txt", "out_dir/planted.txt"]), 403),
        ("Move", json!(["inside.txt", "../outside/moved.txt"]), 403),
        ("Move", json!(["out_dir/secret.txt", "stolen.txt"]), 403),
        ("Remove", json!(["out_dir/secret.txt"]), 403),
        ("RemoveAll", json!(["out_dir/"]), 403),
        ("RemoveAll", json!([""]), 403),
        ("Remove", json!(["."]), 403),
        ("ReadFile", json!(["bad\u{0}name"]), 400),
        ("WriteFile", json!(["inside.txt\u{0}/x", "x"]), 400),
        ("ReadFile", json!(["a/".repeat(2049)]), 400),
        ("ReadFile", json!(["n".repeat(256)]), 400),
        ("ReadFile", json!([42]), 400),
        // The methods past the first sixteen, through the same holes.
        ("IsLink", json!(["../outside/secret.txt"]), 403),
        ("ReadFileBase64", json!(["out_file"]), 403),
        ("ReadCloser", json!(["rel_out"]), 403),
        ("Download", json!(["out_dir/secret.txt"]), 403),
        ("WriteFileBase64", json!(["out_file", "AA=="]), 403),
        ("AppendBuffer", json!(["dangling", "x"]), 403),
        ("AppendBase64", json!(["/etc/passwd", "AA=="]), 403),
        ("InsertFile", json!(["out_file", 0, "x"]), 403),
        ("InsertBuffer", json!(["../outside/secret.txt", 0, "x"]), 403),
        ("InsertBase64", json!(["rel_out", 0, "AA=="]), 403),
        ("MkdirTemp", json!(["out_dir"]), 403),
        ("MkdirTemp", json!(["../x"]), 403),
        ("Chmod", json!(["out_file", 0o777]), 403),
        ("Chmod", json!(["out_dir", 0o777]), 403),
        ("Mode", json!(["out_file"]), 403),
        ("ModTime", json!([outside.join("secret.txt")]), 403),
        ("MimeType", json!(["rel_out"]), 403),
        ("Abs", json!(["out_dir/secret.txt"]), 403),
        ("Abs", json!([".."]), 403),
        ("MoveAppend", json!(["out_file", "stolen.txt"]), 403),
        ("MoveAppend", json!(["inside.txt", "out_file"]), 403),
        ("MoveInsert", json!(["out_file", "inside.txt", 0]), 403),
        ("MoveInsert", json!(["inside.txt", "../outside/secret.txt", 0]), 403),
        ("Zip", json!(["out_dir", "stolen.zip"]), 403),
        ("Zip", json!(["inside.txt", "out_dir/planted.zip"]), 403),
        ("Unzip", json!(["out_dir/any.zip", "x"]), 403),
        ("Unzip", json!(["inside.txt", "out_dir"]), 403),
        ("Glob", json!(["../outside/*"]), 403),
        ("Glob", json!([format!("{}/*", outside.display())]), 403),
        ("Glob", json!(["a/../../*"]), 403),
    ];
    for (method, args, expect) in refused {
        let got = fs(rt, "data", method, args.clone());
        assert_eq!(code(got), *expect, "{method} {args}");
    }
    assert_eq!(code(fs(rt, "nope", "ReadFile", json!(["x"]))), 403, "root not configured");
    // Nothing outside was read, written, moved or removed.
    let names: Vec<_> = std::fs::read_dir(&outside).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("secret.txt")]);
    assert_eq!(std::fs::read_to_string(outside.join("secret.txt")).unwrap(), "SECRET");
    assert!(!f.base.path().join("made").exists());
    assert!(!data.join("stolen.txt").exists());
    assert!(!data.join("stolen.zip").exists());
    assert_eq!(std::fs::metadata(outside.join("secret.txt")).unwrap().permissions().mode(), secret_mode, "no chmod outside");
    // Glob through a link out finds nothing there; IsLink sees links inside.
    assert_eq!(fs(rt, "data", "Glob", json!(["out_dir/*"])).unwrap(), json!([]));
    assert_eq!(fs(rt, "data", "Glob", json!(["*_*"])).unwrap(), json!(["in_link"]), "links out (and dangling) are never matched");
    assert_eq!(fs(rt, "data", "IsLink", json!(["in_link"])).unwrap(), json!(true));
    // Symlinks that stay inside are followed.
    assert_eq!(fs(rt, "data", "ReadFile", json!(["in_link"])).unwrap(), json!("inside"));
    // A root that is itself reached through a symlink still works.
    let linked = f.base.path().join("linked_root");
    std::os::unix::fs::symlink(&data, &linked).unwrap();
    let (rt2, _s) = runtime(&json!({"fs": {"data": linked}}));
    assert_eq!(fs(&rt2, "data", "ReadFile", json!(["inside.txt"])).unwrap(), json!("inside"));
    assert_eq!(code(fs(&rt2, "data", "ReadFile", json!(["out_file"]))), 403);
}

#[test]
fn fs_symlink_swap_race_never_reads_outside() {
    let f = fs_fixture();
    let data = f.base.path().join("data");
    let outside = f.base.path().join("outside");
    // data/real flips between a real directory holding secret.txt = "inside"
    // and a symlink to outside/ (whose secret.txt is "SECRET"). A path the
    // runtime checked while data/real was a directory must not be opened
    // through the symlink that replaced it (openat2 RESOLVE_BENEATH).
    let real = data.join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join("secret.txt"), "inside").unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let (stop, data, outside) = (stop.clone(), data.clone(), outside.clone());
        std::thread::spawn(move || {
            let (real, parked) = (data.join("real"), data.join("parked"));
            let mut flips = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::fs::rename(&real, &parked).unwrap();
                std::os::unix::fs::symlink(&outside, &real).unwrap();
                std::thread::yield_now();
                std::fs::remove_file(&real).unwrap();
                std::fs::rename(&parked, &real).unwrap();
                flips += 1;
            }
            flips
        })
    };
    let (mut inside, mut refused) = (0, 0);
    let deadline = Instant::now() + Duration::from_millis(2000);
    while Instant::now() < deadline {
        match fs(&f.rt, "data", "ReadFile", json!(["real/secret.txt"])) {
            Ok(v) => {
                assert_eq!(v, json!("inside"), "read through the outside link");
                inside += 1;
            }
            Err(e) => {
                assert!(matches!(e.code(), 403 | 404), "{e}");
                refused += 1;
            }
        }
        // A write either lands inside (same content) or is refused; the
        // outside file is checked untouched at the end.
        if let Err(e) = fs(&f.rt, "data", "WriteFile", json!(["real/secret.txt", "inside"])) {
            assert!(matches!(e.code(), 403 | 404), "{e}");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let flips = flipper.join().unwrap();
    assert_eq!(std::fs::read_to_string(outside.join("secret.txt")).unwrap(), "SECRET", "never written outside");
    assert!(inside > 0 && refused > 0 && flips > 10, "the race ran ({inside} inside, {refused} refused, {flips} flips)");
}

#[test]
fn fs_read_only_roots_refuse_every_write_and_serve_every_read() {
    let base = tempfile::tempdir().unwrap();
    for d in ["data", "system"] {
        std::fs::create_dir(base.path().join(d)).unwrap();
    }
    let system = base.path().join("system");
    std::fs::write(system.join("app.yao"), "{}").unwrap();
    std::fs::create_dir(system.join("scripts")).unwrap();
    let roots = json!({"data": base.path().join("data"), "system": &system});
    let (rt, _dir) = runtime(&json!({"fs": roots, "fs_read_only": ["system"]}));
    for (method, args) in [
        ("WriteFile", json!(["x.txt", "x"])),
        ("WriteFileBuffer", json!(["app.yao", "x"])),
        ("AppendFile", json!(["app.yao", "x"])),
        ("Mkdir", json!(["d"])),
        ("MkdirAll", json!(["d/e"])),
        ("Remove", json!(["app.yao"])),
        ("RemoveAll", json!(["scripts"])),
        ("Move", json!(["app.yao", "moved.yao"])),
        ("Copy", json!(["app.yao", "copy.yao"])),
    ] {
        let err = fs(&rt, "system", method, args).unwrap_err();
        assert_eq!(err.code(), 403, "{method}: {err}");
        assert!(err.message().contains("root \"system\" is read-only"), "{method}: {err}");
    }
    let mut left: Vec<_> = std::fs::read_dir(&system).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["app.yao", "scripts"], "nothing under the root changed");
    assert_eq!(std::fs::read_to_string(system.join("app.yao")).unwrap(), "{}");
    // Reads are served; the other root is writable; an unknown method is still a 404.
    assert_eq!(fs(&rt, "system", "ReadFile", json!(["app.yao"])).unwrap(), json!("{}"));
    assert_eq!(fs(&rt, "system", "ReadDir", json!([".", true])).unwrap(), json!(["app.yao", "scripts"]));
    assert_eq!(fs(&rt, "system", "Size", json!(["app.yao"])).unwrap(), json!(2));
    assert_eq!(fs(&rt, "data", "WriteFile", json!(["x.txt", "x"])).unwrap(), json!(1));
    assert_eq!(code(fs(&rt, "system", "Teleport", json!(["app.yao"]))), 404);
    // Naming a root that is not configured is a config error.
    let err =
        Runtime::from_json(Some(&json!({"fs": {"data": base.path().join("data")}, "fs_read_only": ["system"]}).to_string())).err().unwrap();
    assert_eq!(err.code(), 400);
    assert!(err.message().contains("fs_read_only names \"system\""), "{err}");
}

#[test]
fn fs_without_roots_refuses_everything() {
    let (rt, _dir) = runtime(&json!({}));
    assert_eq!(code(fs(&rt, "data", "Exists", json!(["x"]))), 403);
}

#[test]
fn fs_read_is_capped_by_guest_memory() {
    let base = tempfile::tempdir().unwrap();
    std::fs::write(base.path().join("big"), vec![b'x'; 2 << 20]).unwrap();
    let (rt, _dir) = runtime(&json!({"fs": {"data": base.path()}, "max_memory_mb": 1}));
    assert_eq!(code(fs(&rt, "data", "ReadFile", json!(["big"]))), 413);
}

// ------------------------------------------------------------------ http

/// A tiny HTTP/1.1 server on 127.0.0.1 for the tests: each connection on its
/// own thread, one request per connection.
fn http_server() -> u16 {
    counting_http_server().0
}

/// [`http_server`], with the number of connections it has accepted.
fn counting_http_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = serve(&mut stream, port);
            });
        }
    });
    (port, accepted)
}

fn serve<S: Read + std::io::Write>(stream: &mut S, port: u16) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let mut headers = serde_json::Map::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.insert(k, Json::String(v));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let (status, content_type, out): (&str, &str, Vec<u8>) = match path {
        "/echo" => {
            let mut echo = json!({"method": method, "query": query, "headers": headers,
                                  "body": String::from_utf8_lossy(&body)});
            let content_type = headers.get("content-type").and_then(Json::as_str).unwrap_or_default();
            if let Some(boundary) = content_type.strip_prefix("multipart/form-data; boundary=") {
                echo["form"] = parse_form(&body, boundary);
            }
            ("200 OK", "application/json; charset=utf-8", echo.to_string().into_bytes())
        }
        "/text" => ("200 OK", "text/plain", b"plain text".to_vec()),
        "/bytes" => ("200 OK", "application/octet-stream", vec![0, 1, 2, 255]),
        "/badjson" => ("200 OK", "application/json", b"{not json".to_vec()),
        "/missing" => ("404 Not Found", "application/json", b"{\"error\":\"nope\"}".to_vec()),
        "/big" => ("200 OK", "text/plain", vec![b'b'; 5000]),
        "/slow" => {
            std::thread::sleep(Duration::from_millis(1500));
            ("200 OK", "text/plain", b"late".to_vec())
        }
        "/redirect" => {
            let reply =
                format!("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:{port}/echo\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return reader.get_mut().write_all(reply.as_bytes());
        }
        "/chunked_big" => {
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")?;
            for _ in 0..10 {
                reader.get_mut().write_all(b"3e8\r\n")?;
                reader.get_mut().write_all(&[b'c'; 1000])?;
                reader.get_mut().write_all(b"\r\n")?;
            }
            return reader.get_mut().write_all(b"0\r\n\r\n");
        }
        _ => ("404 Not Found", "text/plain", b"no route".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nX-Multi: one\r\nX-Multi: two\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        out.len()
    );
    reader.get_mut().write_all(head.as_bytes())?;
    if method != "HEAD" {
        reader.get_mut().write_all(&out)?;
    }
    Ok(())
}

/// A multipart/form-data body as `{"fields": {name: text}, "files": {name:
/// {"filename", "type", "bytes": [..]}}, "closed": bool}`, read strictly:
/// every part must have its headers, and the body must end with the closing
/// delimiter and nothing after it.
fn parse_form(body: &[u8], boundary: &str) -> Json {
    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }
    let (mut fields, mut files) = (serde_json::Map::new(), serde_json::Map::new());
    let first = format!("--{boundary}\r\n");
    assert!(body.starts_with(first.as_bytes()), "the body starts with the first boundary");
    let mut rest = &body[first.len()..];
    let delimiter = format!("\r\n--{boundary}");
    loop {
        let end = find(rest, delimiter.as_bytes()).expect("every part ends with a delimiter");
        let part = &rest[..end];
        let head_end = find(part, b"\r\n\r\n").expect("a part has headers");
        let head = String::from_utf8(part[..head_end].to_vec()).unwrap();
        let content = &part[head_end + 4..];
        let param = |key: &str| {
            let key = format!("{key}=\"");
            head.find(&key).map(|at| head[at + key.len()..].split('"').next().unwrap().to_owned())
        };
        let name = param("name").expect("a part has a name");
        match param("filename") {
            Some(filename) => {
                let kind = head.lines().find_map(|l| l.strip_prefix("Content-Type: ")).unwrap_or_default();
                files.insert(name, json!({"filename": filename, "type": kind, "bytes": content}));
            }
            None => {
                fields.insert(name, json!(String::from_utf8_lossy(content)));
            }
        }
        rest = &rest[end + delimiter.len()..];
        if rest == b"--\r\n" {
            break;
        }
        assert!(rest.starts_with(b"\r\n"), "a delimiter is followed by CRLF or --CRLF");
        rest = &rest[2..];
    }
    json!({"fields": fields, "files": files})
}

fn http(rt: &Runtime, method: &str, args: Json) -> Result<Json, Error> {
    exec(rt, "Http", &[method.as_bytes(), &mp(&args)])
}

fn http_runtime(port: u16, extra: Json) -> (Runtime, tempfile::TempDir) {
    let mut config = json!({"http_allow": [format!("127.0.0.1:{port}")], "http_max_response_bytes": 4096, "timeout_ms": 5000});
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    runtime(&config)
}

#[test]
fn http_every_method() {
    let port = http_server();
    let (rt, _dir) = http_runtime(port, json!({}));
    let url = format!("http://127.0.0.1:{port}/echo");
    let got = http(&rt, "Get", json!([url, {"q": "a b", "n": 1, "many": ["x", "y"]}, {"X-Token": "t1"}])).unwrap();
    assert_eq!(got["status"], json!(200));
    assert_eq!(got["headers"]["x-multi"], json!(["one", "two"]));
    assert_eq!(got["data"]["method"], json!("GET"));
    assert_eq!(got["data"]["query"], json!("many=x&many=y&n=1&q=a+b"));
    assert_eq!(got["data"]["headers"]["x-token"], json!("t1"));
    assert_eq!(got["data"]["body"], json!(""));

    let post = http(&rt, "Post", json!([url, {"name": "Ada", "n": [1, 2]}])).unwrap();
    assert_eq!(post["data"]["method"], json!("POST"));
    assert_eq!(post["data"]["headers"]["content-type"], json!("application/json"));
    let body: Json = serde_json::from_str(post["data"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"name": "Ada", "n": [1, 2]}));

    let text = http(&rt, "Put", json!([url, "raw text", {"v": "2"}, {"Content-Type": "text/csv"}])).unwrap();
    assert_eq!(text["data"]["method"], json!("PUT"));
    assert_eq!(text["data"]["query"], json!("v=2"));
    assert_eq!(text["data"]["body"], json!("raw text"));
    assert_eq!(text["data"]["headers"]["content-type"], json!("text/csv"));

    let mut bytes_args = vec![0x92];
    rmp::encode::write_str(&mut bytes_args, &url).unwrap();
    rmp::encode::write_bin(&mut bytes_args, b"bin\x01").unwrap();
    let patch = json(&rt.exec("scripts.api.Http", &fields(&[b"Patch", &bytes_args])).unwrap());
    assert_eq!(patch["data"]["method"], json!("PATCH"));
    assert_eq!(patch["data"]["headers"]["content-type"], json!("application/octet-stream"));
    assert_eq!(patch["data"]["body"], json!("bin\u{1}"));

    assert_eq!(http(&rt, "Delete", json!([url])).unwrap()["data"]["method"], json!("DELETE"));
    let head = http(&rt, "Head", json!([url])).unwrap();
    assert_eq!((head["status"].clone(), head["data"].clone()), (json!(200), Json::Null));
    let send = http(&rt, "Send", json!(["options", url, null, {"k": "v"}, {"X-A": "b"}, 2000])).unwrap();
    assert_eq!(send["data"]["method"], json!("OPTIONS"));
    assert_eq!(send["data"]["query"], json!("k=v"));

    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(http(&rt, "Get", json!([format!("{base}/text")])).unwrap()["data"], json!("plain text"));
    let bytes = rt.exec("scripts.api.Http", &fields(&[b"Get", &mp(&json!([format!("{base}/bytes")]))])).unwrap();
    let bytes = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
    let data = bytes.as_map().unwrap().iter().find(|(k, _)| k.as_str() == Some("data")).unwrap().1.clone();
    assert_eq!(data, rmpv::Value::Binary(vec![0, 1, 2, 255]));
    assert_eq!(http(&rt, "Get", json!([format!("{base}/badjson")])).unwrap()["data"], json!("{not json"));
    let missing = http(&rt, "Get", json!([format!("{base}/missing")])).unwrap();
    assert_eq!((missing["status"].clone(), missing["data"].clone()), (json!(404), json!({"error": "nope"})));
    let redirect = http(&rt, "Get", json!([format!("{base}/redirect")])).unwrap();
    assert_eq!(redirect["status"], json!(302), "redirects are not followed");
}

/// A host allowed only by a `*.domain` entry never reaches the host itself
/// (loopback here; link-local and unspecified in src/http_resolve.rs's unit
/// tests), however its name resolves; an exact entry for the same place
/// does. `*.0.0.1` stands in for a wildcard whose DNS answers 127.0.0.1: it
/// matches the name "127.0.0.1", and no name lookup leaves the machine.
#[test]
fn http_a_wildcard_entry_never_reaches_the_host_itself() {
    let (port, accepted) = counting_http_server();
    let url = format!("http://127.0.0.1:{port}/echo");
    let (wildcard, _dir) = runtime(&json!({"http_allow": ["*.0.0.1"], "timeout_ms": 5000}));
    let err = http(&wildcard, "Get", json!([url])).unwrap_err();
    assert_eq!(err.code(), 403, "{err}");
    assert!(err.to_string().contains("127.0.0.1 is allowed only by a *.domain entry of http_allow"), "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "refused before connecting");
    let (exact, _dir) = runtime(&json!({"http_allow": ["*.0.0.1", format!("127.0.0.1:{port}")], "timeout_ms": 5000}));
    assert_eq!(http(&exact, "Get", json!([url])).unwrap()["status"], json!(200), "named exactly, it is reached");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[test]
fn http_refusals() {
    let port = http_server();
    let (rt, _dir) = http_runtime(port, json!({}));
    let base = format!("http://127.0.0.1:{port}");
    // Hosts not in http_allow: another port, another name for the same host, another address.
    assert_eq!(code(http(&rt, "Get", json!([format!("http://127.0.0.1:{}/echo", port.wrapping_add(1))]))), 403);
    assert_eq!(code(http(&rt, "Get", json!([format!("http://localhost:{port}/echo")]))), 403);
    assert_eq!(code(http(&rt, "Get", json!([format!("http://127.0.0.2:{port}/echo")]))), 403);
    assert_eq!(code(http(&rt, "Get", json!([format!("http://user@127.0.0.2:{port}/")]))), 403);
    assert_eq!(code(http(&rt, "Get", json!(["https://127.0.0.1/"]))), 403, "https on port 443 is another host:port");
    assert_eq!(code(http(&rt, "Get", json!(["ftp://127.0.0.1/"]))), 400);
    assert_eq!(code(http(&rt, "Get", json!(["not a url"]))), 400);
    assert_eq!(code(http(&rt, "Get", json!([]))), 400);
    assert_eq!(code(http(&rt, "Teleport", json!([base]))), 404);
    assert_eq!(code(http(&rt, "Send", json!(["TRACE", base]))), 400);
    assert_eq!(code(http(&rt, "Post", json!([base, null, [{"file": "x"}]]))), 400, "files must be a map");
    assert_eq!(code(http(&rt, "Get", json!([base, "q=1"]))), 400, "query must be a map");
    assert_eq!(code(http(&rt, "Get", json!([base, null, {"h": 1}]))), 400, "headers are strings");
    // Size cap: by Content-Length and by counting a chunked body.
    assert_eq!(code(http(&rt, "Get", json!([format!("{base}/big")]))), 413);
    assert_eq!(code(http(&rt, "Get", json!([format!("{base}/chunked_big")]))), 413);
    // Timeout: the request's own, and http_timeout_ms.
    let started = Instant::now();
    assert_eq!(code(http(&rt, "Get", json!([format!("{base}/slow"), null, null, 200]))), 408);
    assert!(started.elapsed() < Duration::from_millis(1200), "{:?}", started.elapsed());
    let (short, _d) = http_runtime(port, json!({"http_timeout_ms": 200}));
    assert_eq!(code(http(&short, "Get", json!([format!("{base}/slow")]))), 408);
    // Nothing listening on an allowed port: 502.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (rt2, _d2) = http_runtime(closed, json!({}));
    assert_eq!(code(http(&rt2, "Get", json!([format!("http://127.0.0.1:{closed}/")]))), 502);
    // No http_allow at all: every host is refused.
    let (none, _d3) = runtime(&json!({}));
    assert_eq!(code(http(&none, "Get", json!([format!("{base}/echo")]))), 403);
}

#[test]
fn http_wildcard_allow() {
    let (rt, _dir) = runtime(&json!({"http_allow": ["*.invalid"]}));
    // Allowed by the pattern, so the refusal is the connection's (no such
    // name), not the allow list's.
    assert_eq!(code(http(&rt, "Get", json!(["http://api.yaowasm.invalid:9/"]))), 502);
    assert_eq!(code(http(&rt, "Get", json!(["http://invalid:9/"]))), 403);
    assert_eq!(code(http(&rt, "Get", json!(["http://api.yaowasm.invalid.evil:9/"]))), 403);
}

/// An http runtime whose fs root "data" is `base/data`; `base/outside`
/// holds secret.txt, reachable only by escaping.
fn upload_runtime(port: u16, base: &std::path::Path) -> (Runtime, tempfile::TempDir) {
    for d in ["data", "outside"] {
        std::fs::create_dir_all(base.join(d)).unwrap();
    }
    std::fs::write(base.join("outside/secret.txt"), "SECRET").unwrap();
    http_runtime(port, json!({"fs": {"data": base.join("data")}, "http_max_response_bytes": 1 << 20}))
}

#[test]
fn http_post_uploads_files_and_form_fields() {
    let (port, _) = counting_http_server();
    let base = tempfile::tempdir().unwrap();
    let (rt, _dir) = upload_runtime(port, base.path());
    let data = base.path().join("data");
    std::fs::create_dir_all(data.join("docs")).unwrap();
    std::fs::create_dir_all(data.join("bin")).unwrap();
    std::fs::write(data.join("docs/report.txt"), "quarterly\r\n--not a boundary\r\n").unwrap();
    let every_byte: Vec<u8> = (0..=255).collect();
    std::fs::write(data.join("bin/ünïcødé 文件.bin"), &every_byte).unwrap();
    std::os::unix::fs::symlink("docs/report.txt", data.join("inside_link")).unwrap();
    let url = format!("http://127.0.0.1:{port}/echo");

    let payload = json!({"title": "Q3 ✓", "n": 7, "ratio": 1.5, "ok": true, "none": null, "nested": {"a": [1, "b"]}});
    let files = json!({"report": "docs/report.txt", "blob": "./bin//ünïcødé 文件.bin", "we\"ird": "inside_link"});
    // The caller's Content-Type gives way to the form's (a Content-Length
    // of the caller's is a 400, as for every request: tests/security_net.rs).
    let headers = json!({"Content-Type": "application/json", "X-Token": "t1"});
    let got = http(&rt, "Post", json!([url, payload, files, {"q": "1"}, headers])).unwrap();
    assert_eq!(got["status"], json!(200));
    let echo = &got["data"];
    assert_eq!((&echo["method"], &echo["query"], &echo["headers"]["x-token"]), (&json!("POST"), &json!("q=1"), &json!("t1")));
    let content_type = echo["headers"]["content-type"].as_str().unwrap();
    assert!(content_type.starts_with("multipart/form-data; boundary="), "{content_type}");
    let form = &echo["form"];
    assert_eq!(form["fields"], json!({"title": "Q3 ✓", "n": "7", "ratio": "1.5", "ok": "true", "none": "", "nested": "{\"a\":[1,\"b\"]}"}));
    assert_eq!(
        form["files"]["report"],
        json!({"filename": "report.txt", "type": "text/plain", "bytes": b"quarterly\r\n--not a boundary\r\n"})
    );
    assert_eq!(form["files"]["blob"], json!({"filename": "ünïcødé 文件.bin", "type": "application/octet-stream", "bytes": every_byte}));
    // A `"` in a name is escaped as browsers do; a symlink inside the root is followed.
    assert_eq!(form["files"]["we%22ird"]["filename"], json!("inside_link"));
    assert_eq!(form["files"]["we%22ird"]["bytes"], form["files"]["report"]["bytes"]);

    // Files only, no payload; and no files (nil or {}) is a plain request.
    let only = http(&rt, "Post", json!([url, null, {"f": "docs/report.txt"}])).unwrap();
    assert_eq!(only["data"]["form"]["fields"], json!({}));
    assert_eq!(only["data"]["form"]["files"]["f"]["filename"], json!("report.txt"));
    for none in [json!({}), Json::Null] {
        let plain = http(&rt, "Post", json!([url, {"a": 1}, none])).unwrap();
        assert_eq!(plain["data"]["headers"]["content-type"], json!("application/json"));
        assert_eq!(plain["data"]["body"], json!("{\"a\":1}"));
    }
    // An empty file is an empty part.
    std::fs::write(data.join("empty"), "").unwrap();
    let empty = http(&rt, "Post", json!([url, null, {"e": "empty"}])).unwrap();
    assert_eq!(empty["data"]["form"]["files"]["e"]["bytes"], json!([]));
}

#[test]
fn http_post_upload_refusals_never_reach_the_server() {
    let (port, accepted) = counting_http_server();
    let base = tempfile::tempdir().unwrap();
    let (rt, _dir) = upload_runtime(port, base.path());
    let (data, outside) = (base.path().join("data"), base.path().join("outside"));
    std::os::unix::fs::symlink(&outside, data.join("out_dir")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), data.join("out_file")).unwrap();
    std::os::unix::fs::symlink("../outside/secret.txt", data.join("rel_out")).unwrap();
    std::os::unix::fs::symlink(outside.join("missing.txt"), data.join("dangling")).unwrap();
    std::fs::create_dir(data.join("dir")).unwrap();
    std::fs::write(data.join("ok.txt"), "ok").unwrap();
    let url = format!("http://127.0.0.1:{port}/echo");

    let refused: &[(Json, Json, i32)] = &[
        // Escapes: the fs API's codes.
        (json!({"f": "../outside/secret.txt"}), Json::Null, 403),
        (json!({"f": "dir/../../outside/secret.txt"}), Json::Null, 403),
        (json!({"f": outside.join("secret.txt")}), Json::Null, 403),
        (json!({"f": "/etc/passwd"}), Json::Null, 403),
        (json!({"f": "out_file"}), Json::Null, 403),
        (json!({"f": "rel_out"}), Json::Null, 403),
        (json!({"f": "out_dir/secret.txt"}), Json::Null, 403),
        (json!({"f": "dangling"}), Json::Null, 403),
        (json!({"f": "ok.txt\u{0}/x"}), Json::Null, 400),
        (json!({"f": "n".repeat(256)}), Json::Null, 400),
        // One bad file among good ones sends nothing.
        (json!({"a": "ok.txt", "f": "../outside/secret.txt"}), Json::Null, 403),
        // Missing, not a file.
        (json!({"f": "missing.txt"}), Json::Null, 404),
        (json!({"f": "dir"}), Json::Null, 400),
        (json!({"f": ""}), Json::Null, 400),
        // Shapes: files a map of strings; with files, the payload nil or a map.
        (json!({"f": 42}), Json::Null, 400),
        (json!({"f": ["ok.txt"]}), Json::Null, 400),
        (json!(["ok.txt"]), Json::Null, 400),
        (json!("ok.txt"), Json::Null, 400),
        (json!({"f": "ok.txt"}), json!("raw text"), 400),
        (json!({"f": "ok.txt"}), json!([1, 2]), 400),
    ];
    for (files, payload, expect) in refused {
        let got = http(&rt, "Post", json!([url, payload, files]));
        assert_eq!(code(got), *expect, "files {files}, payload {payload}");
    }
    // A host not allowed is a 403 before any file is looked at: a missing
    // file, a bad value, an escape are all 403s for the host.
    let elsewhere = format!("http://127.0.0.1:{}/echo", port.wrapping_add(1));
    for files in [json!({"f": "missing.txt"}), json!({"f": 42}), json!("x"), json!({"f": "ok.txt\u{0}"})] {
        let err = http(&rt, "Post", json!([elsewhere, null, files])).unwrap_err();
        assert_eq!(err.code(), 403, "{files}: {err}");
        assert!(err.message().contains("http_allow"), "{err}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "no refused upload reached the server");
    // Nothing outside was touched.
    assert_eq!(std::fs::read_to_string(outside.join("secret.txt")).unwrap(), "SECRET");
    // The message names the field and the path as the guest gave it, never the host path.
    let err = http(&rt, "Post", json!([url, null, {"avatar": "missing.txt"}])).unwrap_err();
    assert!(err.message().contains("files.avatar") && err.message().contains("missing.txt"), "{err}");
    assert!(!err.message().contains(base.path().to_str().unwrap()), "{err}");
    // The same server answers a good upload (so the count above means something).
    assert_eq!(http(&rt, "Post", json!([url, null, {"f": "ok.txt"}])).unwrap()["status"], json!(200));
    assert_eq!(accepted.load(Ordering::SeqCst), 1);

    // No fs root "data" configured: 403 naming it, server not contacted.
    let (no_root, _d) = http_runtime(port, json!({}));
    let err = http(&no_root, "Post", json!([url, null, {"f": "ok.txt"}])).unwrap_err();
    assert_eq!(err.code(), 403, "{err}");
    assert!(err.message().contains("\"data\" is not configured"), "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[test]
fn http_post_upload_over_the_cap_is_413_before_sending() {
    const MAX_UPLOAD_BYTES: u64 = 256 << 20; // http_max_upload_bytes' default
    let (port, accepted) = counting_http_server();
    let base = tempfile::tempdir().unwrap();
    let (rt, _dir) = upload_runtime(port, base.path());
    let data = base.path().join("data");
    // Sparse files: their size is set, no block is written or read.
    let sparse = |name: &str, len: u64| std::fs::File::create(data.join(name)).unwrap().set_len(len).unwrap();
    sparse("huge.bin", MAX_UPLOAD_BYTES + 1);
    sparse("half_a.bin", MAX_UPLOAD_BYTES / 2);
    sparse("half_b.bin", MAX_UPLOAD_BYTES / 2);
    let url = format!("http://127.0.0.1:{port}/echo");
    let err = http(&rt, "Post", json!([url, null, {"f": "huge.bin"}])).unwrap_err();
    assert_eq!(err.code(), 413, "{err}");
    assert!(err.message().contains(&MAX_UPLOAD_BYTES.to_string()), "{err}");
    // The cap is on the whole body: two halves and their part headers.
    assert_eq!(code(http(&rt, "Post", json!([url, null, {"a": "half_a.bin", "b": "half_b.bin"}]))), 413);
    assert_eq!(accepted.load(Ordering::SeqCst), 0);

    // A configured cap: what fits is sent, one byte more is not.
    std::fs::write(data.join("small.txt"), vec![b'x'; 1000]).unwrap();
    let fits = |cap: u64| {
        let mut config = json!({"fs": {"data": &data}, "http_max_response_bytes": 1 << 20, "http_max_upload_bytes": cap});
        config["http_allow"] = json!([format!("127.0.0.1:{port}")]);
        let (rt, _dir) = runtime(&config);
        http(&rt, "Post", json!([url, {"k": "v"}, {"f": "small.txt"}]))
    };
    let sent = fits(1 << 20).unwrap();
    let body_len = sent["data"]["headers"]["content-length"].as_str().unwrap().parse::<u64>().unwrap();
    assert!(body_len > 1000, "{sent}");
    assert_eq!(fits(body_len).unwrap()["status"], json!(200), "exactly the cap is sent");
    let err = fits(body_len - 1).unwrap_err();
    assert_eq!(err.code(), 413, "{err}");
    assert!(err.message().contains("over http_max_upload_bytes"), "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    assert_eq!(Runtime::from_json(Some(r#"{"http_max_upload_bytes": 0}"#)).err().map(|e| e.code()), Some(400));
}

/// A certificate authority and, signed by it, a certificate for `localhost`
/// and 127.0.0.1: (CA PEM, server TLS config).
fn test_ca() -> (String, Arc<rustls::ServerConfig>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "yaowasm test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    (ca.pem(), Arc::new(server))
}

/// The test server of [`serve`] behind TLS.
fn https_server(tls: Arc<rustls::ServerConfig>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let tls = tls.clone();
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
                let mut stream = rustls::StreamOwned::new(rustls::ServerConnection::new(tls).unwrap(), tcp);
                if serve(&mut stream, port).is_ok() {
                    stream.conn.send_close_notify();
                    let _ = stream.flush();
                }
            });
        }
    });
    port
}

#[test]
fn https_trusts_the_configured_ca_and_refuses_others() {
    let (ca_pem, tls) = test_ca();
    let port = https_server(tls);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let allow = json!([format!("localhost:{port}"), format!("127.0.0.1:{port}")]);
    let (rt, _d) = runtime(&json!({"http_allow": allow, "http_ca_file": ca_file, "timeout_ms": 5000}));
    for host in ["localhost", "127.0.0.1"] {
        let got = http(&rt, "Post", json!([format!("https://{host}:{port}/echo"), {"a": 1}])).unwrap();
        assert_eq!(got["status"], json!(200), "{host}");
        assert_eq!((got["data"]["method"].clone(), got["data"]["body"].clone()), (json!("POST"), json!(r#"{"a":1}"#)));
    }
    // Without the CA the same server is an unknown issuer: 502, and the
    // message says why.
    let (untrusting, _d2) = runtime(&json!({"http_allow": allow, "timeout_ms": 5000}));
    let err = http(&untrusting, "Get", json!([format!("https://localhost:{port}/echo")])).unwrap_err();
    assert_eq!(err.code(), 502, "{err}");
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
    // Plain http to the TLS port is not an answer either.
    assert_eq!(code(http(&rt, "Get", json!([format!("http://localhost:{port}/echo")]))), 502);
    // The runtime keeps serving after the refusal.
    assert_eq!(http(&rt, "Get", json!([format!("https://localhost:{port}/text")])).unwrap()["data"], json!("plain text"));
}

#[test]
fn http_ca_file_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    for path in [dir.path().join("missing.pem"), empty] {
        let err = Runtime::from_json(Some(&json!({"http_ca_file": path}).to_string())).err().unwrap();
        assert_eq!(err.code(), 400, "{err}");
        assert!(err.to_string().contains("http_ca_file"), "{err}");
    }
}

// ------------------------------------------------------------------ query, config, load

#[test]
fn query_goes_to_the_host_as_query_run() {
    let (rt, _dir) = runtime(&json!({}));
    assert_eq!(code(exec(&rt, "Query", &[&mp(&json!([{"select": ["id"]}]))])), 404, "no handler");
    let calls: Arc<Mutex<Vec<(String, Json)>>> = Arc::default();
    let seen = calls.clone();
    rt.set_process_handler(Some(Arc::new(move |name: &str, args: &[u8]| {
        seen.lock().unwrap().push((name.to_owned(), json(args)));
        Ok(mp(&json!([{"id": 1}])))
    })));
    let dsl = json!([{"select": ["id"], "from": "user", "wheres": [{":id": "id", "=": 1}]}]);
    assert_eq!(exec(&rt, "Query", &[&mp(&dsl)]).unwrap(), json!([{"id": 1}]));
    // Bindings, an engine and a method pass through unchanged.
    let full = json!([{"select": ["id"], "from": "user", "wheres": [{":id": "id", "=": "?:id"}]}, {"id": 7}, "secondary", "Paginate"]);
    assert_eq!(exec(&rt, "Query", &[&mp(&full)]).unwrap(), json!([{"id": 1}]));
    assert_eq!(*calls.lock().unwrap(), vec![("query.Run".to_owned(), dsl), ("query.Run".to_owned(), full)]);
    let source = json!(["{\"select\": [\"id\"], \"from\": \"user\"}", null, null, "First"]);
    assert_eq!(exec(&rt, "Query", &[&mp(&source)]).unwrap(), json!([{"id": 1}]), "the DSL as JSON text, nils in between");
    for (bad, why) in [
        (json!("not an array"), "args must be a MessagePack array"),
        (json!([]), "arg 1 must be the QueryDSL"),
        (json!([7]), "arg 1 must be the QueryDSL"),
        (json!([{}, [1]]), "arg 2 must be the bindings"),
        (json!([{}, null, ""]), "arg 3 must be the engine name"),
        (json!([{}, null, 3]), "arg 3 must be the engine name"),
        (json!([{}, null, null, "Delete"]), "arg 4 must be the method (Run, Get, First, Paginate)"),
        (json!([{}, null, null, "get"]), "arg 4 must be the method"),
        (json!([{}, null, null, null, 5]), "takes at most 4 args"),
    ] {
        let err = exec(&rt, "Query", &[&mp(&bad)]).unwrap_err();
        assert_eq!(err.code(), 400, "{bad}: {err}");
        assert!(err.to_string().contains(why), "{bad}: {err}");
    }
    assert_eq!(calls.lock().unwrap().len(), 3, "a refused call never reaches the host");
}

#[test]
fn config_keys_are_checked() {
    for bad in [
        json!({"stores": {"s": {"backend": "etcd"}}}),
        json!({"stores": {"s": {"backend": "redis"}}}),
        json!({"stores": {"s": {"backend": "memory", "typo": 1}}}),
        json!({"fs": {"data": "/definitely/not/here"}}),
        json!({"http_max_response_bytes": 0}),
        json!({"http_timeout": 5}),
    ] {
        assert_eq!(Runtime::from_json(Some(&bad.to_string())).err().map(|e| e.code()), Some(400), "{bad}");
    }
}

#[test]
fn modules_importing_the_host_api_load() {
    // The api guest imports all of them; an unknown yao import still fails.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.wasm",
        &wasm(&format!(
            r#"(module (import "yao" "store_teleport" (func (param i32))) (memory (export "memory") 1) {ALLOC}
           (func (export "F") (param i32 i32) (result i64) (i64.const 0)))"#
        )),
    );
    let rt = Runtime::from_json(None).unwrap();
    let report = rt.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, 0);
    assert!(report.problems[0].message.contains("store_teleport"), "{:?}", report.problems);
}
