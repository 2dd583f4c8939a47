//! The C API as a C host sees it: status codes, out-params, the thread-local
//! last error, handlers through function pointers, cancel; and the header's
//! failure rule, checked on the header itself.

mod common;
use common::*;
use serde_json::json;
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;
use yaowasm::ffi::*;

fn last_error() -> Option<String> {
    let p = yaowasm_last_error();
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

const EMPTY: yaowasm_buf = yaowasm_buf { ptr: ptr::null_mut(), len: 0 };

/// `yaowasm_runtime_new` → (code, runtime).
fn new_runtime(config: Option<&str>) -> (i32, *mut yaowasm_runtime) {
    let config = config.map(cstr);
    let mut rt = ptr::dangling_mut::<yaowasm_runtime>(); // a failure must write NULL over it
    let code = unsafe { yaowasm_runtime_new(config.as_ref().map_or(ptr::null(), |c| c.as_ptr()), &mut rt) };
    (code, rt)
}

/// `yaowasm_runtime_load_dir` → (code, the report as JSON).
fn load_dir(rt: *mut yaowasm_runtime, dir: &std::path::Path) -> (i32, serde_json::Value) {
    let dir = cstr(dir.to_str().unwrap());
    let mut report = EMPTY;
    let code = unsafe { yaowasm_runtime_load_dir(rt, dir.as_ptr(), &mut report) };
    let value =
        if report.ptr.is_null() { serde_json::Value::Null } else { json(unsafe { std::slice::from_raw_parts(report.ptr, report.len) }) };
    unsafe { yaowasm_buf_free(report) };
    (code, value)
}

struct Rt(*mut yaowasm_runtime, tempfile::TempDir);

impl Rt {
    fn new(config: Option<&str>) -> Rt {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sink.wasm", &wasm(&sink_wat()));
        let (code, rt) = new_runtime(config);
        assert_eq!(code, 0, "{:?}", last_error());
        let (code, report) = load_dir(rt, dir.path());
        assert_eq!((code, &report["loaded"]), (0, &json!(1)), "{:?}", last_error());
        Rt(rt, dir)
    }

    /// (code, result) on success, (code, the last error) on failure, which
    /// must leave `out` empty.
    fn exec(&self, name: &str, args: &[u8]) -> (i32, Vec<u8>) {
        let name = cstr(name);
        let mut out = EMPTY;
        let code = unsafe { yaowasm_runtime_exec(self.0, name.as_ptr(), args.as_ptr(), args.len(), &mut out) };
        if code != 0 {
            assert!(out.ptr.is_null() && out.len == 0, "a failure leaves out empty");
            return (code, last_error().unwrap_or_default().into_bytes());
        }
        let bytes = unsafe { std::slice::from_raw_parts(out.ptr, out.len) }.to_vec();
        assert_eq!(unsafe { *out.ptr.add(out.len) }, 0, "bufs end with a NUL byte");
        unsafe { yaowasm_buf_free(out) };
        (code, bytes)
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        unsafe { yaowasm_runtime_free(self.0) };
    }
}

#[test]
fn bad_config_is_400_with_null_out_and_last_error() {
    let (code, rt) = new_runtime(Some(r#"{"max_memory_mb": 0}"#));
    assert_eq!((code, rt), (400, ptr::null_mut()));
    assert!(last_error().unwrap().contains("max_memory_mb"));
    assert_eq!(yaowasm_last_error_code(), 400);
    let (code, ok) = new_runtime(None);
    assert!(code == 0 && !ok.is_null());
    assert_eq!(last_error(), None, "every call clears the last error");
    assert_eq!(yaowasm_last_error_code(), 0);
    assert_eq!(unsafe { yaowasm_runtime_new(ptr::null(), ptr::null_mut()) }, 400, "NULL out");
    assert_eq!(unsafe { yaowasm_runtime_free(ok) }, 0);
    assert_eq!(unsafe { yaowasm_runtime_free(ptr::null_mut()) }, 0, "free(NULL) does nothing");
    unsafe { yaowasm_buf_free(EMPTY) };
}

#[test]
fn null_arguments_are_400_for_every_function() {
    let rt = Rt::new(None);
    let name = cstr("scripts.sink.Echo");
    let mut out = EMPTY;
    let null_rt: *mut yaowasm_runtime = ptr::null_mut();
    let codes = unsafe {
        [
            yaowasm_runtime_load_dir(null_rt, name.as_ptr(), &mut out),
            yaowasm_runtime_load_dir(rt.0, ptr::null(), &mut out),
            yaowasm_runtime_load_file(null_rt, name.as_ptr(), ptr::null()),
            yaowasm_runtime_load_file(rt.0, ptr::null(), ptr::null()),
            yaowasm_runtime_unload(rt.0, ptr::null()),
            yaowasm_runtime_list(null_rt, &mut out),
            yaowasm_runtime_list(rt.0, ptr::null_mut()),
            yaowasm_runtime_stats(rt.0, ptr::null_mut()),
            yaowasm_runtime_exec(rt.0, name.as_ptr(), ptr::null(), 0, ptr::null_mut()),
            yaowasm_runtime_exec(rt.0, ptr::null(), ptr::null(), 0, &mut out),
            yaowasm_runtime_exec_json(rt.0, name.as_ptr(), ptr::null(), ptr::null_mut()),
            yaowasm_runtime_exec_with(rt.0, name.as_ptr(), ptr::null(), 0, 0, ptr::null(), ptr::null_mut()),
            yaowasm_runtime_set_process_handler(null_rt, None, ptr::null_mut()),
            yaowasm_runtime_set_log_handler(null_rt, None, ptr::null_mut()),
            yaowasm_result_ok(ptr::null_mut(), ptr::null(), 0),
            yaowasm_result_error(ptr::null_mut(), 500, ptr::null(), 0),
            yaowasm_cancel_new(ptr::null_mut()),
            yaowasm_cancel_trigger(ptr::null()),
            yaowasm_runtime_exec_ctx(rt.0, name.as_ptr(), ptr::null(), 0, ptr::null(), ptr::null_mut()),
            yaowasm_runtime_exec_ctx(rt.0, ptr::null(), ptr::null(), 0, ptr::null(), &mut out),
            yaowasm_context_current(ptr::null_mut()),
        ]
    };
    assert_eq!(codes, [400; 21]);
    assert!(out.ptr.is_null(), "failures never fill out");
    assert!(last_error().unwrap().contains("NULL"));
}

/// The header states one failure rule; every function it declares keeps it:
/// an int32_t status, except the ones the rule names.
#[test]
fn header_functions_all_return_a_status() {
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/yaowasm.h")).unwrap();
    assert!(header.contains("The failure rule"), "the rule is stated at the top of the header");
    let exceptions = ["yaowasm_last_error", "yaowasm_last_error_code", "yaowasm_version", "yaowasm_buf_free", "yaowasm_cancel_free"];
    let mut seen = 0;
    for line in header.lines().filter(|l| l.contains("yaowasm_") && l.contains('(') && !l.trim_start().starts_with(['*', '/', '#', 't'])) {
        let at = line.find("yaowasm_").unwrap();
        let (ret, rest) = line.split_at(at);
        let name = rest.split('(').next().unwrap().to_owned();
        seen += 1;
        if exceptions.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(ret.trim(), "int32_t", "{name} must return an int32_t status: {line}");
    }
    assert!(seen >= 21, "walked {seen} functions");
    for code in ["YAOWASM_BAD_REQUEST 400", "YAOWASM_FORBIDDEN 403", "YAOWASM_NOT_FOUND 404", "YAOWASM_TIMEOUT 408"] {
        assert!(header.contains(&format!("#define {code}")), "{code}");
    }
    assert!(header.contains(&format!("#define YAOWASM_VERSION \"{}\"", yaowasm::VERSION)));
}

unsafe extern "C" fn free_inside(
    user: *mut c_void,
    _name: *const c_char,
    _len: usize,
    _args: *const u8,
    _args_len: usize,
    res: *mut yaowasm_result,
) {
    let rt = user as *mut yaowasm_runtime;
    let code = unsafe { yaowasm_runtime_free(rt) };
    let answer = mp(&json!(code));
    unsafe { yaowasm_result_ok(res, answer.as_ptr(), answer.len()) };
}

#[test]
fn freeing_a_runtime_from_its_own_handler_is_refused() {
    let rt = Rt::new(None);
    unsafe { yaowasm_runtime_set_process_handler(rt.0, Some(free_inside), rt.0.cast()) };
    let (code, bytes) = rt.exec("scripts.sink.CallHost", &[]);
    assert_eq!((code, json(&bytes)), (0, json!(400)), "the handler saw 400, and the runtime still serves");
    assert_eq!(rt.exec("scripts.sink.Echo", &[0x90]).0, 0);
}

#[test]
fn exec_codes_and_messages() {
    let rt = Rt::new(None);
    assert_eq!(rt.exec("scripts.sink.Echo", &[0x91, 0x07]), (0, vec![0x91, 0x07]));
    let (code, message) = rt.exec("scripts.sink.Raise", &[]);
    assert_eq!((code, message.as_slice()), (418, &b"teapot"[..]));
    assert_eq!(last_error().as_deref(), Some("teapot"));
    assert_eq!(rt.exec("scripts.sink.Trap", &[]).0, 500);
    assert_eq!(rt.exec("scripts.nope.F", &[]).0, 404);
    assert_eq!(rt.exec("scripts.sink.Echo", &[0xc1]).0, 400);

    let mut out = EMPTY;
    let name = cstr("scripts.sink.Echo");
    assert_eq!(unsafe { yaowasm_runtime_exec(ptr::null_mut(), name.as_ptr(), ptr::null(), 0, &mut out) }, 400);
    assert!(out.ptr.is_null(), "the message is only in the last error");
    assert_eq!(last_error().as_deref(), Some("runtime is NULL"));

    let args = cstr(r#"[{"a": [1, 2]}]"#);
    let mut out = yaowasm_buf { ptr: ptr::null_mut(), len: 0 };
    assert_eq!(unsafe { yaowasm_runtime_exec_json(rt.0, name.as_ptr(), args.as_ptr(), &mut out) }, 0);
    assert_eq!(unsafe { CStr::from_ptr(out.ptr.cast()) }.to_str().unwrap(), r#"[{"a":[1,2]}]"#);
    unsafe { yaowasm_buf_free(out) };
}

#[test]
fn list_load_file_unload() {
    let rt = Rt::new(None);
    let mut out = yaowasm_buf { ptr: ptr::null_mut(), len: 0 };
    assert_eq!(unsafe { yaowasm_runtime_list(rt.0, &mut out) }, 0);
    let list = json(unsafe { std::slice::from_raw_parts(out.ptr, out.len) });
    unsafe { yaowasm_buf_free(out) };
    assert_eq!(list[0]["id"], "sink");
    assert!(list[0]["functions"].as_array().unwrap().contains(&json!("Echo")));
    assert_eq!(list[0]["shadows"], json!([]));

    let file = cstr(rt.1.path().join("sink.wasm").to_str().unwrap());
    let id = cstr("copy");
    assert_eq!(unsafe { yaowasm_runtime_load_file(rt.0, file.as_ptr(), id.as_ptr()) }, 0);
    assert_eq!(rt.exec("scripts.copy.Echo", &[0x90]).0, 0);
    assert_eq!(unsafe { yaowasm_runtime_unload(rt.0, id.as_ptr()) }, 0);
    assert_eq!(unsafe { yaowasm_runtime_unload(rt.0, id.as_ptr()) }, 404);

    // The counters: a map, its scripts sorted by id.
    assert_eq!(rt.exec("scripts.sink.Echo", &[0x90]).0, 0);
    let mut out = yaowasm_buf { ptr: ptr::null_mut(), len: 0 };
    assert_eq!(unsafe { yaowasm_runtime_stats(rt.0, &mut out) }, 0);
    let stats = json(unsafe { std::slice::from_raw_parts(out.ptr, out.len) });
    unsafe { yaowasm_buf_free(out) };
    assert_eq!(stats["scripts"][0]["id"], "sink");
    assert_eq!(stats["scripts"][0]["calls"], 1);
    assert_eq!((&stats["instances_in_use"], &stats["instance_slots"]), (&json!(0), &json!(1000)));
    assert!(stats["memory_reset"] == "pagemap" || stats["memory_reset"] == "fallback", "{stats}");
    let mut out = yaowasm_buf { ptr: ptr::null_mut(), len: 0 };
    assert_eq!(unsafe { yaowasm_runtime_stats(ptr::null_mut(), &mut out) }, 400);
    unsafe { yaowasm_buf_free(out) };
    let (code, report) = load_dir(rt.0, std::path::Path::new("/no/such/dir"));
    assert_eq!((code, report), (404, serde_json::Value::Null));
    assert_eq!(yaowasm_last_error_code(), 404);
    assert!(last_error().unwrap().contains("/no/such/dir"));
}

#[test]
fn load_dir_reports_skipped_files_in_its_report() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.wasm", &wasm(&versioned_wat(1, 0)));
    write(dir.path(), "bad.wasm", b"nope");
    let (_, rt) = new_runtime(None);
    let (code, report) = load_dir(rt, dir.path());
    assert_eq!((code, &report["loaded"]), (0, &json!(1)));
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert!(problems[0]["file"].as_str().unwrap().ends_with("bad.wasm"));
    assert_eq!((&problems[0]["id"], &problems[0]["code"]), (&json!("bad"), &json!(400)));
    assert!(problems[0]["message"].as_str().unwrap().contains("not a valid WebAssembly module"), "{report}");
    assert_eq!(last_error(), None, "a partial load is a success: the report says what was skipped");
    let d = cstr(dir.path().to_str().unwrap());
    assert_eq!(unsafe { yaowasm_runtime_load_dir(rt, d.as_ptr(), ptr::null_mut()) }, 0, "the report is optional");
    unsafe { yaowasm_runtime_free(rt) };
}

unsafe extern "C" fn answer(
    user: *mut c_void,
    name: *const c_char,
    len: usize,
    args: *const u8,
    args_len: usize,
    res: *mut yaowasm_result,
) {
    let mode = unsafe { *(user as *const u8) };
    let name = std::str::from_utf8(unsafe { std::slice::from_raw_parts(name.cast::<u8>(), len) }).unwrap();
    let args = unsafe { std::slice::from_raw_parts(args, args_len) };
    assert_eq!((name, args), ("models.user.Find", &[0x91u8, 0x01][..]));
    match mode {
        0 => {
            let ok = mp(&json!({"id": 1}));
            assert_eq!(unsafe { yaowasm_result_ok(res, ok.as_ptr(), ok.len()) }, 0);
            let ignored = b"nope";
            assert_eq!(unsafe { yaowasm_result_error(res, 500, ignored.as_ptr().cast(), ignored.len()) }, 400, "answered already");
        }
        1 => {
            let msg = b"no such user";
            assert_eq!(unsafe { yaowasm_result_error(res, 404, msg.as_ptr().cast(), msg.len()) }, 0);
            assert_eq!(unsafe { yaowasm_result_ok(res, [0xc0u8].as_ptr(), 1) }, 400, "answered already");
        }
        2 => {} // never answers
        _ => unsafe {
            yaowasm_result_error(res, 9999, ptr::null(), 0);
        },
    }
}

#[test]
fn process_handler_first_answer_counts() {
    let rt = Rt::new(None);
    for (mode, want_code) in [(0u8, 0), (1, 404), (2, 500), (3, 500)] {
        let mut m = mode;
        unsafe { yaowasm_runtime_set_process_handler(rt.0, Some(answer), (&mut m as *mut u8).cast()) };
        let (code, bytes) = rt.exec("scripts.sink.CallHost", &[]);
        assert_eq!(code, want_code, "mode {mode}: {}", String::from_utf8_lossy(&bytes));
        if mode == 0 {
            assert_eq!(json(&bytes), json!({"id": 1}));
        }
        if mode == 2 {
            assert!(String::from_utf8_lossy(&bytes).contains("without answering"));
        }
        unsafe { yaowasm_runtime_set_process_handler(rt.0, None, ptr::null_mut()) };
    }
}

unsafe extern "C" fn collect(user: *mut c_void, level: i32, msg: *const c_char, len: usize) {
    let logs = unsafe { &*(user as *const std::sync::Mutex<Vec<(i32, String)>>) };
    let msg = String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(msg.cast::<u8>(), len) }).into_owned();
    logs.lock().unwrap().push((level, msg));
}

#[test]
fn log_handler_receives_records() {
    let rt = Rt::new(None);
    let logs: Box<std::sync::Mutex<Vec<(i32, String)>>> = Box::new(std::sync::Mutex::new(Vec::new()));
    unsafe { yaowasm_runtime_set_log_handler(rt.0, Some(collect), &*logs as *const _ as *mut c_void) };
    assert_eq!(rt.exec("scripts.sink.Log", &[]).0, 0);
    assert_eq!(*logs.lock().unwrap(), vec![(2, "hello".to_owned()), (4, "hello".to_owned())]);
    unsafe { yaowasm_runtime_set_log_handler(rt.0, None, ptr::null_mut()) };
}

#[test]
fn cancel_and_per_call_timeout_end_calls_with_408() {
    let rt = Rt::new(Some(r#"{"timeout_ms": 10000}"#));
    let name = cstr("scripts.sink.Loop");
    let mut out = yaowasm_buf { ptr: ptr::null_mut(), len: 0 };
    let start = std::time::Instant::now();
    assert_eq!(unsafe { yaowasm_runtime_exec_with(rt.0, name.as_ptr(), ptr::null(), 0, 30, ptr::null(), &mut out) }, 408);
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    unsafe { yaowasm_buf_free(out) };

    let mut cancel = ptr::null_mut();
    assert_eq!(unsafe { yaowasm_cancel_new(&mut cancel) }, 0);
    let trigger = cancel as usize;
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        unsafe { yaowasm_cancel_trigger(trigger as *const yaowasm_cancel) };
    });
    let mut out = yaowasm_buf { ptr: ptr::null_mut(), len: 0 };
    let start = std::time::Instant::now();
    assert_eq!(unsafe { yaowasm_runtime_exec_with(rt.0, name.as_ptr(), ptr::null(), 0, 0, cancel, &mut out) }, 408);
    assert!(start.elapsed() < std::time::Duration::from_secs(2), "cancelled, not timed out");
    assert!(out.ptr.is_null() && last_error().unwrap().contains("cancelled"));
    t.join().unwrap();
    unsafe { yaowasm_cancel_free(cancel) };
    assert_eq!(rt.exec("scripts.sink.Nil", &[]).0, 0);
}

/// Answers every process call with the context `yaowasm_context_current`
/// reads for it.
unsafe extern "C" fn whoami(_: *mut c_void, _: *const c_char, _: usize, _: *const u8, _: usize, res: *mut yaowasm_result) {
    let mut ctx = EMPTY;
    assert_eq!(unsafe { yaowasm_context_current(&mut ctx) }, 0);
    unsafe { yaowasm_result_ok(res, ctx.ptr, ctx.len) };
    unsafe { yaowasm_buf_free(ctx) };
}

/// `yaowasm_runtime_exec_ctx` → (code, result or last error).
fn exec_ctx(rt: &Rt, name: &str, opts: Option<&yaowasm_exec_options>) -> (i32, Vec<u8>) {
    let name = cstr(name);
    let mut out = EMPTY;
    let code =
        unsafe { yaowasm_runtime_exec_ctx(rt.0, name.as_ptr(), ptr::null(), 0, opts.map_or(ptr::null(), |o| o as *const _), &mut out) };
    if code != 0 {
        assert!(out.ptr.is_null());
        return (code, last_error().unwrap().into_bytes());
    }
    let bytes = unsafe { std::slice::from_raw_parts(out.ptr, out.len) }.to_vec();
    unsafe { yaowasm_buf_free(out) };
    (code, bytes)
}

fn opts_with(context: &[u8]) -> yaowasm_exec_options {
    yaowasm_exec_options { timeout_ms: 0, cancel: ptr::null(), context: context.as_ptr(), context_len: context.len() }
}

#[test]
fn exec_ctx_gives_the_handler_the_context() {
    let rt = Rt::new(None);
    unsafe { yaowasm_runtime_set_process_handler(rt.0, Some(whoami), ptr::null_mut()) };
    let ctx = mp(&json!({"sid": "SID-42", "global": {"tenant": "t1"}, "authorized": {"user_id": 7}}));
    let (code, got) = exec_ctx(&rt, "scripts.sink.CallHost", Some(&opts_with(&ctx)));
    assert_eq!((code, json(&got)), (0, json!({"sid": "SID-42", "global": {"tenant": "t1"}, "authorized": {"user_id": 7}})));
    // Partial contexts, NULL opts and the plain exec: the missing parts empty.
    let (code, got) = exec_ctx(&rt, "scripts.sink.CallHost", Some(&opts_with(&mp(&json!({"sid": "S"})))));
    assert_eq!((code, json(&got)), (0, json!({"sid": "S", "global": {}, "authorized": null})));
    let empty = json!({"sid": "", "global": {}, "authorized": null});
    let (code, got) = exec_ctx(&rt, "scripts.sink.CallHost", None);
    assert_eq!((code, json(&got)), (0, empty.clone()));
    assert_eq!(json(&rt.exec("scripts.sink.CallHost", &[]).1), empty);
    // A malformed context is the caller's 400, named.
    for bad in [json!(["SID"]), json!({"sid": 42}), json!({"global": "x"}), json!({"user": "x"})] {
        let (code, msg) = exec_ctx(&rt, "scripts.sink.CallHost", Some(&opts_with(&mp(&bad))));
        assert_eq!(code, 400, "{bad}");
        assert!(String::from_utf8_lossy(&msg).contains("call context"), "{bad}");
    }
    unsafe { yaowasm_runtime_set_process_handler(rt.0, None, ptr::null_mut()) };
    // Outside any call there is no context to read.
    let mut out = EMPTY;
    assert_eq!(unsafe { yaowasm_context_current(&mut out) }, 400);
    assert!(out.ptr.is_null() && last_error().unwrap().contains("no call is running"));
}

#[test]
fn exec_ctx_options_carry_timeout_and_cancel() {
    let rt = Rt::new(Some(r#"{"timeout_ms": 10000}"#));
    let start = std::time::Instant::now();
    let opts = yaowasm_exec_options { timeout_ms: 30, cancel: ptr::null(), context: ptr::null(), context_len: 0 };
    assert_eq!(exec_ctx(&rt, "scripts.sink.Loop", Some(&opts)).0, 408);
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    let mut cancel = ptr::null_mut();
    assert_eq!(unsafe { yaowasm_cancel_new(&mut cancel) }, 0);
    unsafe { yaowasm_cancel_trigger(cancel) };
    let opts = yaowasm_exec_options { timeout_ms: 0, cancel, context: ptr::null(), context_len: 0 };
    let (code, msg) = exec_ctx(&rt, "scripts.sink.Loop", Some(&opts));
    assert_eq!(code, 408);
    assert!(String::from_utf8_lossy(&msg).contains("cancelled"));
    unsafe { yaowasm_cancel_free(cancel) };
}

#[test]
fn version_is_the_crate_version() {
    let v = unsafe { CStr::from_ptr(yaowasm_version()) }.to_str().unwrap();
    assert_eq!(v, yaowasm::VERSION);
}
