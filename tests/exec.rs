//! SPEC §2–§5 through the Rust API: values in and out, error codes, the host
//! process handler, nesting, limits.

mod common;
use common::*;
use serde_json::json;
use std::sync::{Arc, Mutex};
use yaowasm::{Error, LogLevel, Runtime};

#[test]
fn echo_round_trips_values() {
    let (rt, _dir) = sink_runtime("{}");
    let args = json!([1, -2, 3.5, "héllo", null, true, {"k": [1, {"n": null}]}, u64::MAX]);
    let out = rt.exec("scripts.sink.Echo", &mp(&args)).unwrap();
    assert_eq!(json(&out), args);
    // The group and ID are case-insensitive; empty args mean [].
    assert_eq!(rt.exec("SCRIPTS.Sink.Echo", &[]).unwrap(), vec![0x90]);
    assert_eq!(rt.exec_json("scripts.sink.Echo", r#"[{"a":1}]"#).unwrap(), r#"[{"a":1}]"#);
    assert_eq!(rt.exec_json("scripts.sink.Echo", "").unwrap(), "[]");
}

#[test]
fn json_numbers_print_as_go_prints_them() {
    // The guest (WAT) answers MessagePack float64s: 15.0 is `15`, as Yao's
    // own JSON (Go's encoding/json) has it, whatever language the guest is in.
    let (rt, _dir) = sink_runtime("{}");
    let mut args = Vec::new();
    rmp::encode::write_array_len(&mut args, 1).unwrap();
    rmp::encode::write_f64(&mut args, 15.0).unwrap();
    let out = rt.exec("scripts.sink.Echo", &args).unwrap();
    assert_eq!(out, args, "the value itself stays a float64");
    assert_eq!(yaowasm::value::msgpack_to_json_text(&out).unwrap(), "[15]");
    assert_eq!(
        rt.exec_json("scripts.sink.Echo", r#"[15.0, -0.0, 1e21, 1e20, 1e-7, 0.1, {"price": 2.50, "qty": 3}]"#).unwrap(),
        r#"[15,-0,1e+21,100000000000000000000,1e-7,0.1,{"price":2.5,"qty":3}]"#
    );
}

#[test]
fn zero_result_is_nil() {
    let (rt, _dir) = sink_runtime("{}");
    assert_eq!(rt.exec("scripts.sink.Nil", &[]).unwrap(), vec![0xc0]);
}

#[test]
fn names_and_args_are_checked() {
    let (rt, _dir) = sink_runtime("{}");
    let code = |name: &str, args: &[u8]| rt.exec(name, args).unwrap_err().code();
    assert_eq!(code("scripts.nope.Echo", &[]), 404);
    assert_eq!(code("scripts.sink.echo", &[]), 404, "function names are case-sensitive");
    assert_eq!(code("scripts.sink.not_a_script", &[]), 404, "wrong signature is not a script function");
    assert_eq!(code("scripts.sink.yao_alloc", &[]), 404, "reserved exports are not script functions");
    assert_eq!(code("studio.sink.Echo", &[]), 404);
    assert_eq!(code("models.user.Find", &[]), 404);
    assert_eq!(code("scripts.Echo", &[]), 400);
    assert_eq!(code("scripts.sink.Echo", &mp(&json!({"not": "array"}))), 400);
    assert_eq!(code("scripts.sink.Echo", &[0x92, 0x01]), 400, "truncated");
    assert_eq!(code("scripts.sink.Echo", &[0xd4, 0, 0]), 400, "ext is not a Yao value");
    assert_eq!(rt.exec_json("scripts.sink.Echo", "{nope").unwrap_err().code(), 400);
    let e = rt.exec("scripts.sink.Nope", &[]).unwrap_err();
    assert!(e.message().contains("Echo"), "404 lists the functions: {e}");
}

#[test]
fn guest_errors_keep_their_code() {
    let (rt, _dir) = sink_runtime("{}");
    let e = rt.exec("scripts.sink.Raise", &[]).unwrap_err();
    assert_eq!((e.code(), e.message()), (418, "teapot"));
    assert_eq!(rt.exec("scripts.sink.RaiseBadCode", &[]).unwrap_err().code(), 500, "code outside 100-599");
}

#[test]
fn traps_and_bad_results_are_500_and_the_runtime_keeps_serving() {
    let (rt, _dir) = sink_runtime("{}");
    for (f, needle) in [
        ("Trap", "unreachable"),
        ("DivZero", "divide by zero"),
        ("Recurse", "stack overflow"),
        ("BadPtr", "out-of-bounds"),
        ("BadLen", "out-of-bounds"),
        ("BadMsgpack", "invalid MessagePack"),
        ("Trailing", "trailing"),
        ("WildProcess", "out-of-bounds"),
        ("WildLog", "out-of-bounds"),
    ] {
        let e = rt.exec(&format!("scripts.sink.{f}"), &[]).unwrap_err();
        assert_eq!(e.code(), 500, "{f}: {e}");
        assert!(e.message().contains(needle), "{f}: {e}");
        assert_eq!(rt.exec("scripts.sink.Echo", &[0x90]).unwrap(), vec![0x90], "still serving after {f}");
    }
}

#[test]
fn every_call_gets_a_fresh_instance() {
    let (rt, _dir) = sink_runtime("{}");
    for _ in 0..3 {
        assert_eq!(rt.exec("scripts.sink.Counter", &[]).unwrap(), vec![1]);
    }
}

/// Bytes at 100 (zero in the image), 70000 (7, inside the 128 KiB that the
/// fallback reset copies back in place), 150000 (9, past them) and 190000
/// (zero, past them), and at 196708 in a page grown by the call: it returns
/// what it read, as a MessagePack array, then scribbles over all five.
const SCRIBBLE_WAT: &str = r#"(module
  (memory (export "memory") 3)
  (data (i32.const 70000) "\07")
  (data (i32.const 150000) "\09")
  (func (export "yao_alloc") (param i32) (result i32) (i32.const 1024))
  (func $at (param $i i32) (param $addr i32)
    (i32.store8 (i32.add (i32.const 301) (local.get $i)) (i32.load8_u (local.get $addr)))
    (i32.store8 (local.get $addr) (i32.const 0x55)))
  (func (export "Scribble") (param i32 i32) (result i64)
    (drop (memory.grow (i32.const 1)))
    (i32.store8 (i32.const 300) (i32.const 0x95))
    (call $at (i32.const 1) (i32.const 70000))
    (call $at (i32.const 2) (i32.const 150000))
    (call $at (i32.const 3) (i32.const 190000))
    (call $at (i32.const 4) (i32.const 196708))
    (call $at (i32.const 0) (i32.const 100))
    (i64.or (i64.shl (i64.const 300) (i64.const 32)) (i64.const 6)))
)"#;

#[test]
fn both_memory_resets_give_every_call_the_image_again() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "scribble.wasm", &wasm(SCRIBBLE_WAT));
    // `pagemap` works where the kernel has PAGEMAP_SCAN (Linux 6.7+), else
    // the runtime says why it cannot start; `auto` takes it where it works.
    let has_pagemap = match Runtime::from_json(Some(r#"{"memory_reset": "pagemap"}"#)) {
        Ok(rt) => rt.stats().memory_reset == "pagemap",
        Err(e) => {
            assert_eq!(e.code(), 400, "{e}");
            assert!(e.message().contains("PAGEMAP_SCAN") && e.message().contains("memory_reset"), "{e}");
            false
        }
    };
    for (reset, resolved) in [("fallback", "fallback"), ("auto", if has_pagemap { "pagemap" } else { "fallback" }), ("pagemap", "pagemap")]
    {
        if reset == "pagemap" && !has_pagemap {
            continue;
        }
        let rt = Runtime::from_json(Some(&json!({"memory_reset": reset}).to_string())).unwrap();
        assert_eq!(rt.stats().memory_reset, resolved, "memory_reset {reset}");
        rt.load_dir(dir.path()).unwrap();
        for _ in 0..3 {
            assert_eq!(rt.exec("scripts.scribble.Scribble", &[0x90]).unwrap(), vec![0x95, 0, 7, 9, 0, 0], "memory_reset {reset}");
        }
    }
}

#[test]
fn infinite_loop_times_out_with_408() {
    let (rt, _dir) = sink_runtime(r#"{"timeout_ms": 50}"#);
    let start = std::time::Instant::now();
    let e = rt.exec("scripts.sink.Loop", &[]).unwrap_err();
    assert_eq!(e.code(), 408, "{e}");
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(rt.exec("scripts.sink.Nil", &[]).unwrap(), vec![0xc0]);
}

#[test]
fn memory_growth_past_the_cap_is_413() {
    let (rt, _dir) = sink_runtime(r#"{"max_memory_mb": 2}"#);
    let e = rt.exec("scripts.sink.Grow", &[]).unwrap_err();
    assert_eq!(e.code(), 413, "{e}");
    assert!(e.message().contains("max_memory_mb is 2"), "{e}");
    // Args too large for the guest's memory: yao_alloc answers 0.
    let big = mp(&json!(["x".repeat(3 << 20)]));
    assert_eq!(rt.exec("scripts.sink.Echo", &big).unwrap_err().code(), 413);
    assert_eq!(rt.exec("scripts.sink.Nil", &[]).unwrap(), vec![0xc0]);
}

#[test]
fn host_process_handler_gets_calls_and_its_errors_keep_their_code() {
    // Generous timeout: a panic with RUST_BACKTRACE=1 in a debug build is slow.
    let (rt, _dir) = sink_runtime(r#"{"timeout_ms": 60000}"#);
    assert_eq!(rt.exec("scripts.sink.CallHost", &[]).unwrap_err().code(), 404, "no handler set");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    rt.set_process_handler(Some(Arc::new(move |name: &str, args: &[u8]| {
        log.lock().unwrap().push((name.to_owned(), json(args)));
        Ok(mp(&json!({"id": 1, "name": "Ada"})))
    })));
    assert_eq!(json(&rt.exec("scripts.sink.CallHost", &[]).unwrap()), json!({"id": 1, "name": "Ada"}));
    assert_eq!(*seen.lock().unwrap(), vec![("models.user.Find".to_owned(), json!([1]))]);

    rt.set_process_handler(Some(Arc::new(|_: &str, _: &[u8]| Err(Error::new(422, "bad user")))));
    let e = rt.exec("scripts.sink.CallHost", &[]).unwrap_err();
    assert_eq!((e.code(), e.message()), (422, "bad user"));

    rt.set_process_handler(Some(Arc::new(|_: &str, _: &[u8]| Ok(vec![0xc1]))));
    assert_eq!(rt.exec("scripts.sink.CallHost", &[]).unwrap_err().code(), 500, "invalid MessagePack from the host");

    rt.set_process_handler(Some(Arc::new(|_: &str, _: &[u8]| panic!("host bug"))));
    let e = rt.exec("scripts.sink.CallHost", &[]).unwrap_err();
    assert_eq!(e.code(), 500);
    assert!(e.message().contains("panicked"), "{e}");
    assert_eq!(rt.exec("scripts.sink.Nil", &[]).unwrap(), vec![0xc0]);
}

#[test]
fn loaded_scripts_are_served_in_runtime_and_depth_is_capped() {
    let (rt, _dir) = sink_runtime(r#"{"max_depth": 5}"#);
    rt.set_process_handler(Some(Arc::new(|name: &str, _: &[u8]| panic!("{name} must not reach the host"))));
    assert_eq!(json(&rt.exec("scripts.sink.CallEcho", &[]).unwrap()), json!([1]));
    let e = rt.exec("scripts.sink.CallSelf", &[]).unwrap_err();
    assert_eq!(e.code(), 500, "{e}");
    assert!(e.message().contains("max_depth 5"), "{e}");
    assert!(e.message().contains("scripts.sink.CallSelf -> scripts.sink.CallSelf"), "names the chain: {e}");
}

#[test]
fn host_round_trips_nest_too() {
    // A guest calls the host, whose handler calls back into the runtime: the
    // depth keeps counting across the host (Go process → wasm script).
    let (rt, _dir) = sink_runtime(r#"{"max_depth": 4}"#);
    let inner = rt.clone();
    rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| inner.exec("scripts.sink.CallHost", &[]))));
    let e = rt.exec("scripts.sink.CallHost", &[]).unwrap_err();
    assert_eq!(e.code(), 500);
    assert!(e.message().contains("max_depth 4"), "{e}");
}

#[test]
fn time_in_a_host_callback_counts() {
    let (rt, _dir) = sink_runtime(r#"{"timeout_ms": 100}"#);
    rt.set_process_handler(Some(Arc::new(|_: &str, _: &[u8]| {
        std::thread::sleep(std::time::Duration::from_millis(150));
        Ok(vec![0xc0])
    })));
    assert_eq!(rt.exec("scripts.sink.CallHost", &[]).unwrap_err().code(), 408);
    rt.set_process_handler(Some(Arc::new(|_: &str, _: &[u8]| Ok(vec![0xc0]))));
    assert_eq!(rt.exec("scripts.sink.CallHostThenLoop", &[]).unwrap_err().code(), 408);
}

#[test]
fn log_goes_to_the_handler_with_levels() {
    let (rt, _dir) = sink_runtime("{}");
    let logs = capture_logs(&rt);
    rt.exec("scripts.sink.Log", &[]).unwrap();
    assert_eq!(*logs.lock().unwrap(), vec![(LogLevel::Info, "hello".to_owned()), (LogLevel::Error, "hello".to_owned())]);
}

#[test]
fn log_records_name_the_script_that_wrote_them() {
    let (rt, _dir) = sink_runtime("{}");
    let records = Arc::new(Mutex::new(Vec::new()));
    let sink = records.clone();
    rt.set_log_record_handler(Some(Arc::new(move |r: &yaowasm::LogRecord<'_>| {
        sink.lock().unwrap().push((r.level, r.script.map(str::to_owned), r.message.to_owned()))
    })));
    rt.exec("scripts.sink.Log", &[]).unwrap();
    // A call nested through the host: its records name the inner process.
    let inner = rt.clone();
    rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| inner.exec("scripts.Sink.Log", &[]))));
    rt.exec("scripts.sink.CallHost", &[]).unwrap();
    let named = |s: &str| (Some(s.to_owned()), "hello".to_owned());
    let got: Vec<_> = records.lock().unwrap().iter().map(|(_, s, m)| (s.clone(), m.clone())).collect();
    assert_eq!(got, vec![named("scripts.sink.Log"), named("scripts.sink.Log"), named("scripts.Sink.Log"), named("scripts.Sink.Log")]);
    // The message-only handler still gets the bare message.
    let logs = capture_logs(&rt);
    rt.exec("scripts.sink.Log", &[]).unwrap();
    assert_eq!(logs.lock().unwrap()[0], (LogLevel::Info, "hello".to_owned()));
}

#[test]
fn json_guests_get_and_give_json() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "j.wasm", &wasm(&json_wat()));
    let rt = yaowasm::Runtime::from_json(None).unwrap();
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 1);
    assert_eq!(rt.list()[0].encoding, "json");
    // Bytes reach a JSON guest as base64, as Go's encoding/json writes them.
    let mut args = Vec::new();
    rmp::encode::write_array_len(&mut args, 2).unwrap();
    rmp::encode::write_bin(&mut args, b"hi").unwrap();
    rmp::encode::write_sint(&mut args, -5).unwrap();
    assert_eq!(json(&rt.exec("scripts.j.Echo", &args).unwrap()), json!(["aGk=", -5]));
    assert_eq!(json(&rt.exec("scripts.j.Obj", &[]).unwrap()), json!({"a": [1, 2.5, "x"], "b": null}));
    let e = rt.exec("scripts.j.Conflict", &[]).unwrap_err();
    assert_eq!((e.code(), e.message()), (409, "conflict"));
    assert_eq!(rt.exec("scripts.j.Bad", &[]).unwrap_err().code(), 500);
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    rt.set_process_handler(Some(Arc::new(move |_: &str, args: &[u8]| {
        *s.lock().unwrap() = Some(json(args));
        Ok(mp(&json!({"ok": true})))
    })));
    assert_eq!(json(&rt.exec("scripts.j.CallHost", &[]).unwrap()), json!({"ok": true}));
    assert_eq!(seen.lock().unwrap().clone(), Some(json!([7, "q"])), "the host sees MessagePack");
}

#[test]
fn wasi_guests_initialize_and_print_to_the_log() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "w.wasm", &wasm(&wasi_wat()));
    let rt = yaowasm::Runtime::from_json(None).unwrap();
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 1, "WASI imports are provided");
    assert!(rt.list()[0].wasi);
    assert_eq!(rt.exec("scripts.w.Initialized", &[]).unwrap(), vec![0x2a], "_initialize ran first");
    let logs = capture_logs(&rt);
    rt.exec("scripts.w.Hello", &[]).unwrap();
    let logs = logs.lock().unwrap().clone();
    assert!(logs.contains(&(LogLevel::Info, "hello from wasi".into())), "{logs:?}");
    assert!(logs.contains(&(LogLevel::Info, "partial".into())), "the unterminated line is flushed: {logs:?}");
    assert!(logs.contains(&(LogLevel::Error, "oops".into())), "stderr: {logs:?}");
}

/// A WASI guest that opens files in its first preopen (fd 3) and answers
/// the errno (0: opened).
fn wasi_files_wat() -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "new.txt")
  (data (i32.const 32) "old.txt")
  {ALLOC}
  {PACK}
  (func $answer (param $errno i32) (result i64)
    (i32.store8 (i32.const 600) (local.get $errno)) (call $pack (i32.const 600) (i32.const 1)))
  ;; O_CREAT with the right to write.
  (func (export "Create") (param i32 i32) (result i64)
    (call $answer (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 7)
      (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 700))))
  ;; An existing file, to read.
  (func (export "Read") (param i32 i32) (result i64)
    (call $answer (call $path_open (i32.const 3) (i32.const 0) (i32.const 32) (i32.const 7)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 700))))
)"#
    )
}

#[test]
fn wasi_read_only_preopens_refuse_writes() {
    let (dir, files) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(dir.path(), "f.wasm", &wasm(&wasi_files_wat()));
    std::fs::write(files.path().join("old.txt"), "old").unwrap();
    let preopen = json!({"/data": files.path()});
    let read_only = Runtime::from_json(Some(&json!({"wasi": {"preopen": preopen, "read_only": ["/data"]}}).to_string())).unwrap();
    read_only.load_dir(dir.path()).unwrap();
    assert_eq!(read_only.exec("scripts.f.Read", &[]).unwrap(), vec![0], "reads are served");
    let errno = read_only.exec("scripts.f.Create", &[]).unwrap();
    assert_ne!(errno, vec![0], "creating a file is refused");
    assert!(!files.path().join("new.txt").exists(), "and nothing was written");

    let read_write = Runtime::from_json(Some(&json!({"wasi": {"preopen": preopen}}).to_string())).unwrap();
    read_write.load_dir(dir.path()).unwrap();
    assert_eq!(read_write.exec("scripts.f.Create", &[]).unwrap(), vec![0], "the default is read-write");
    assert!(files.path().join("new.txt").exists());

    let bad = json!({"wasi": {"preopen": preopen, "read_only": ["/elsewhere"]}}).to_string();
    let err = Runtime::from_json(Some(&bad)).err().unwrap();
    assert_eq!(err.code(), 400);
    assert!(err.message().contains("wasi.read_only names \"/elsewhere\""), "{err}");
}

#[test]
fn calls_run_in_parallel_threads() {
    let (rt, _dir) = sink_runtime("{}");
    std::thread::scope(|s| {
        for t in 0..8 {
            let rt = &rt;
            s.spawn(move || {
                for i in 0..200 {
                    let args = json!([t, i, "x"]);
                    assert_eq!(json(&rt.exec("scripts.sink.Echo", &mp(&args)).unwrap()), args);
                }
            });
        }
    });
    // Counted per CPU, reported as one sum.
    assert_eq!(rt.stats().scripts[0].calls, 8 * 200);
}

#[test]
fn a_call_whose_engine_shard_is_full_runs_on_another() {
    // Four shards of 250 slots; 900 calls parked in a host callback, all
    // started on CPU 0, fill shard 0 and spill into the other three.
    const PARKED: usize = 900;
    let (rt, _dir) = sink_runtime(r#"{"engine_shards": 4, "timeout_ms": 20000}"#);
    let rt = Arc::new(rt);
    assert_eq!(rt.stats().instance_slots, 1000);
    let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let entered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (g, e) = (gate.clone(), entered.clone());
    rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| {
        e.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut open = g.0.lock().unwrap();
        while !*open {
            open = g.1.wait(open).unwrap();
        }
        Ok(vec![0x91, 0x07])
    })));
    let parked: Vec<_> = (0..PARKED)
        .map(|_| {
            let rt = rt.clone();
            std::thread::Builder::new()
                .stack_size(256 << 10)
                .spawn(move || {
                    pin_to_cpu(0);
                    rt.exec("scripts.sink.CallHost", &[0x90])
                })
                .unwrap()
        })
        .collect();
    let start = std::time::Instant::now();
    while entered.load(std::sync::atomic::Ordering::SeqCst) < PARKED {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(15),
            "only {} calls got a slot",
            entered.load(std::sync::atomic::Ordering::SeqCst)
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(rt.stats().instances_in_use, PARKED as u64, "summed over the shards");
    // Slots are still free (in the last shard): a call does not wait.
    let now = std::time::Instant::now();
    assert_eq!(rt.exec("scripts.sink.Echo", &[0x91, 0x01]).unwrap(), vec![0x91, 0x01]);
    assert!(now.elapsed() < std::time::Duration::from_secs(1));
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    for p in parked {
        assert_eq!(p.join().unwrap().unwrap(), vec![0x91, 0x07]);
    }
    assert_eq!(rt.stats().instances_in_use, 0, "every slot back");
    assert_eq!(rt.stats().scripts[0].calls, PARKED as u64 + 1);
}

#[test]
fn engine_shards_is_checked() {
    for bad in [r#"{"engine_shards": 0}"#, r#"{"engine_shards": 17}"#, r#"{"engine_shards": "2"}"#] {
        let err = Runtime::from_json(Some(bad)).err().unwrap();
        assert_eq!(err.code(), 400, "{bad}");
        assert!(err.message().contains("engine_shards"), "{bad}: {err}");
    }
    for (config, slots) in [(r#"{"engine_shards": 1}"#, 1000), (r#"{"engine_shards": 3}"#, 999), (r#"{"engine_shards": 16}"#, 992)] {
        let (rt, _dir) = sink_runtime(config);
        assert_eq!(rt.stats().instance_slots, slots, "{config}");
        assert_eq!(rt.exec("scripts.sink.Echo", &[0x91, 0x02]).unwrap(), vec![0x91, 0x02], "{config}");
    }
}

#[test]
fn stats_count_calls_errors_and_timeouts_per_script() {
    let (rt, _dir) = sink_runtime(r#"{"timeout_ms": 200}"#);
    let seen_in_flight = Arc::new(Mutex::new(None));
    let (inner, seen) = (rt.clone(), seen_in_flight.clone());
    rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| {
        *seen.lock().unwrap() = Some(inner.stats().instances_in_use);
        Ok(vec![0x91, 0x07])
    })));
    let before = rt.stats();
    assert_eq!((before.instances_in_use, before.instance_slots), (0, 1000));
    assert_eq!(before.scripts.len(), 1);
    assert_eq!((before.scripts[0].id.as_str(), before.scripts[0].calls), ("sink", 0));

    for _ in 0..3 {
        rt.exec("scripts.sink.Echo", &[0x91, 0x01]).unwrap();
    }
    assert_eq!(rt.exec("scripts.sink.Raise", &[]).unwrap_err().code(), 418);
    assert_eq!(rt.exec("scripts.sink.Nope", &[]).unwrap_err().code(), 404);
    assert_eq!(rt.exec("scripts.sink.Loop", &[]).unwrap_err().code(), 408);
    rt.exec("scripts.sink.CallEcho", &[]).unwrap(); // nested: Echo counted too
    rt.exec("scripts.sink.CallHost", &[]).unwrap();
    assert_eq!(*seen_in_flight.lock().unwrap(), Some(1), "one instance in use inside the call");
    assert_eq!(rt.exec("scripts.other.Echo", &[]).unwrap_err().code(), 404, "no script: nothing to count");

    let sink = &rt.stats().scripts[0];
    assert_eq!((sink.calls, sink.errors, sink.timeouts), (3 + 3 + 2 + 1, 3, 1), "{sink:?}");
    assert!(sink.busy_us >= 200_000, "the 408 alone ran 200 ms: {sink:?}");
    assert_eq!(rt.stats().instances_in_use, 0, "every slot back");
}
