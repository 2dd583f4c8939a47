//! The C API (`include/yaowasm.h`, generated from this file by cbindgen).
//!
//! A thin layer: each function converts its arguments, calls the safe
//! [`Runtime`](crate::Runtime) API and converts the result through
//! [`guard`], which also catches panics, so no panic and no trap ever crosses
//! the boundary. Unsafe code here relies only on what the header asks of the
//! caller: valid pointers, NUL-terminated strings, buffers of the stated
//! length.
//!
//! Error model (as in libgit2): functions return a status code, 0 for success
//! or one of the Yao codes 400, 404, 408, 413, 500 (or a code a guest or host
//! raised, 100–599); the details are in [`yaowasm_last_error`], per thread.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use crate::error::{Error, Result};
use crate::log::LogLevel;
use crate::runtime::Runtime;
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

/// A runtime: loaded scripts, their compiled modules and instance pool, and
/// the host's handlers. Opaque. Made by `yaowasm_runtime_new`, freed by
/// `yaowasm_runtime_free`. Every function taking one is thread-safe.
pub struct yaowasm_runtime {
    runtime: Runtime,
}

/// The answer slot of one process-handler call. Opaque; valid only during the
/// handler call it was passed to.
pub struct yaowasm_result {
    answer: Option<Result<Vec<u8>>>,
}

/// Bytes owned by the library. Release with `yaowasm_buf_free` exactly once.
/// `ptr[len]` is always a NUL byte (not counted in `len`), so text results can
/// be used as C strings. An empty buf is `{NULL, 0}`.
#[repr(C)]
pub struct yaowasm_buf {
    pub ptr: *mut u8,
    pub len: usize,
}

/// The host's process handler: called synchronously, on the thread running
/// the guest, for every `yao.process` call the runtime does not serve itself.
/// `name` (not NUL-terminated: use `name_len`) and `args` (a MessagePack
/// array) are valid only during the call. Answer with `yaowasm_result_ok` or
/// `yaowasm_result_error`; returning without answering is a 500. The handler
/// may call `yaowasm_runtime_exec` again (a nested call, counted towards
/// `max_depth` and sharing the top-level deadline).
pub type yaowasm_process_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        name: *const c_char,
        name_len: usize,
        args: *const u8,
        args_len: usize,
        res: *mut yaowasm_result,
    ),
>;

/// The host's log handler: `level` 0 trace, 1 debug, 2 info, 3 warn, 4 error;
/// `msg` is UTF-8, NOT NUL-terminated (use `len`), valid only during the call.
/// Called on the thread running the guest.
pub type yaowasm_log_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, level: i32, msg: *const c_char, len: usize)>;

thread_local! {
    /// The last error of this thread: its code and its text.
    static LAST_ERROR: RefCell<Option<(i32, CString)>> = const { RefCell::new(None) };
}

fn set_last_error(code: i32, message: &str) {
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = Some((code, text)));
}

fn clear_last_error() {
    LAST_ERROR.with(|e| *e.borrow_mut() = None);
}

/// Runs `body` with the last error cleared, catching panics (500). On error
/// the message becomes this thread's last error and `failed(&error)` is
/// returned.
fn guard<T>(failed: impl FnOnce(&Error) -> T, body: impl FnOnce() -> Result<T>) -> T {
    clear_last_error();
    let outcome = catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|panic| Err(Error::internal(format!("internal error (panic): {}", panic_text(&panic)))));
    match outcome {
        Ok(value) => value,
        Err(error) => {
            set_last_error(error.code(), error.message());
            failed(&error)
        }
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".into())
}

unsafe fn runtime<'a>(rt: *mut yaowasm_runtime) -> Result<&'a Runtime> {
    // SAFETY: the caller passes NULL or a pointer from yaowasm_runtime_new
    // that it has not freed.
    unsafe { rt.as_ref() }.map(|r| &r.runtime).ok_or_else(|| Error::bad_request("runtime is NULL"))
}

unsafe fn text<'a>(ptr: *const c_char, what: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::bad_request(format!("{what} is NULL")));
    }
    // SAFETY: the caller passes a NUL-terminated string.
    unsafe { CStr::from_ptr(ptr) }.to_str().map_err(|_| Error::bad_request(format!("{what} is not UTF-8")))
}

unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the caller passes `len` readable bytes at `ptr`.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

fn buf_from(bytes: Vec<u8>) -> yaowasm_buf {
    let mut bytes = bytes;
    bytes.push(0);
    let len = bytes.len() - 1;
    let ptr = Box::into_raw(bytes.into_boxed_slice()) as *mut u8;
    yaowasm_buf { ptr, len }
}

/// The failure side of the functions with an `out` buf: the message goes in
/// `out`, the code is returned.
unsafe fn message_into(out: *mut yaowasm_buf, error: &Error) -> i32 {
    unsafe { put(out, buf_from(error.message().as_bytes().to_vec())) };
    error.code()
}

unsafe fn put(out: *mut yaowasm_buf, value: yaowasm_buf) {
    // SAFETY: the caller passes NULL or a writable yaowasm_buf.
    match unsafe { out.as_mut() } {
        Some(out) => *out = value,
        None => unsafe { yaowasm_buf_free(value) },
    }
}

/// Puts `value` into `out` as a MessagePack map with field names; 0.
unsafe fn put_msgpack<T: serde::Serialize>(out: *mut yaowasm_buf, value: &T) -> Result<i32> {
    let bytes = rmp_serde::to_vec_named(value).map_err(|e| Error::internal(e.to_string()))?;
    unsafe { put(out, buf_from(bytes)) };
    Ok(0)
}

/// Makes a runtime. `config_json` may be NULL (defaults). Keys, all optional:
/// `max_memory_mb` (64; linear memory cap per instance, also the pool slot
/// size), `timeout_ms` (1000; wall clock per top-level exec), `cache_dir`
/// (none; folder of precompiled modules, created if missing), `max_depth` (32;
/// nested process calls, the top-level call is depth 1), `wasi`
/// (`{"preopen": {"/guest/path": "host/dir"}}`), `http_allow`
/// (`["host:port", "*.domain"]`), and the host API's `stores`
/// (`{"name": {"backend": "memory"|"process"|"redis", ...}}`), `fs`
/// (`{"data": "host/dir"}`), `http_max_response_bytes` (10 MiB),
/// `http_timeout_ms` (30000), each described in docs/ABI.md §9. An unknown
/// key or a bad value is an error.
///
/// Returns the runtime (free it with `yaowasm_runtime_free`), or NULL with the
/// reason in `yaowasm_last_error` (400 bad config, 500 internal). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_new(config_json: *const c_char) -> *mut yaowasm_runtime {
    guard(
        |_| std::ptr::null_mut(),
        || {
            let config = if config_json.is_null() { None } else { Some(unsafe { text(config_json, "config_json") }?) };
            let runtime = Runtime::from_json(config)?;
            Ok(Box::into_raw(Box::new(yaowasm_runtime { runtime })))
        },
    )
}

/// Frees a runtime and everything it loaded. NULL does nothing. No call on
/// this runtime may be running or start afterwards.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_free(rt: *mut yaowasm_runtime) {
    guard(
        |_| (),
        || {
            if !rt.is_null() {
                // SAFETY: rt came from yaowasm_runtime_new and is freed once.
                drop(unsafe { Box::from_raw(rt) });
            }
            Ok(())
        },
    )
}

/// Loads every `.wasm` under `dir` recursively (`dir/a/b.wasm` is script
/// `a.b`), or atomically reloads them if `dir` was loaded before: scripts
/// that came from `dir` are replaced all at once, calls in flight finish on
/// the old version, scripts from other folders stay.
///
/// Returns the number of scripts now served from `dir`, or -1 if `dir` cannot
/// be read (404), is NULL or not UTF-8 (400). Files that did not load (bad
/// bytes, missing imports, ID collisions, limits) do not stop the others:
/// they are listed, one line each with its code, in `yaowasm_last_error`.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_load_dir(rt: *mut yaowasm_runtime, dir: *const c_char) -> i32 {
    guard(
        |_| -1,
        || {
            let runtime = unsafe { runtime(rt) }?;
            let report = runtime.load_dir(Path::new(unsafe { text(dir, "dir") }?))?;
            if let Some(problems) = report.problems_text() {
                // The code of a partial load is that of its first problem.
                set_last_error(report.problems[0].code, &problems);
            }
            Ok(report.loaded as i32)
        },
    )
}

/// Loads one `.wasm` file as script `id` (NULL: the file name without
/// extension). A script loaded earlier by this function under the same ID is
/// replaced; an ID that a loaded folder provides is a 400.
///
/// Returns 0, or 400 (bad id, bad module), 404 (no such file), 413 (beyond
/// the limits), 500. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_load_file(rt: *mut yaowasm_runtime, path: *const c_char, id: *const c_char) -> i32 {
    guard(
        |e| e.code(),
        || {
            let runtime = unsafe { runtime(rt) }?;
            let id = if id.is_null() { None } else { Some(unsafe { text(id, "id") }?) };
            runtime.load_file(Path::new(unsafe { text(path, "path") }?), id)?;
            Ok(0)
        },
    )
}

/// Removes script `id`; calls in flight finish. Returns 0, or 404 for an
/// unknown id, 400 for a NULL or malformed one. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_unload(rt: *mut yaowasm_runtime, id: *const c_char) -> i32 {
    guard(
        |e| e.code(),
        || {
            unsafe { runtime(rt) }?.unload(unsafe { text(id, "id") }?)?;
            Ok(0)
        },
    )
}

/// Writes into `out` a MessagePack array with one map per loaded script,
/// sorted by id: `id` (string), `file` (string), `functions` (array of
/// strings), `shadows` (array of `.ts`/`.js` paths this `.wasm` shadows),
/// `encoding` ("msgpack" or "json"), `wasi` (bool), `size` (bytes).
///
/// Returns 0 (free `out` with `yaowasm_buf_free`), or 400 (NULL runtime; out
/// is empty). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_list(rt: *mut yaowasm_runtime, out: *mut yaowasm_buf) -> i32 {
    guard(
        |e| unsafe { message_into(out, e) },
        || {
            let list = unsafe { runtime(rt) }?.list();
            unsafe { put_msgpack(out, &list) }
        },
    )
}

/// Writes into `out` a MessagePack map of the runtime's counters:
/// `scripts`, an array with one map per loaded script sorted by id (`id`,
/// `calls`, `errors`, `timeouts` (408s), `busy_us`: calls finished, nested
/// ones included, since the script was first loaded; a reload of a changed
/// file keeps them), `instances_in_use` (calls in flight, nested ones
/// included) and `instance_slots` (the pool's size; past it, calls wait).
///
/// Returns 0 (free `out` with `yaowasm_buf_free`), or 400 (NULL runtime;
/// out holds the message). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_stats(rt: *mut yaowasm_runtime, out: *mut yaowasm_buf) -> i32 {
    guard(
        |e| unsafe { message_into(out, e) },
        || {
            let stats = unsafe { runtime(rt) }?.stats();
            unsafe { put_msgpack(out, &stats) }
        },
    )
}

/// Runs process `process` (`scripts.<id>.<Function>`) with `args`, a
/// MessagePack array of `args_len` bytes (NULL or 0 bytes mean no args), in a
/// fresh instance.
///
/// Returns 0 with the MessagePack result in `out`; otherwise the error code
/// with the UTF-8 error message in `out` (and in `yaowasm_last_error`): 400
/// bad name or args, 404 no such script or function (or a name outside
/// `scripts.`), 408 timeout, 413 memory or size limit, 500 trap or internal
/// error, or the code the guest raised. Free `out` with `yaowasm_buf_free`
/// in every case. Thread-safe; calls run in parallel.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_exec(
    rt: *mut yaowasm_runtime,
    process: *const c_char,
    args: *const u8,
    args_len: usize,
    out: *mut yaowasm_buf,
) -> i32 {
    guard(
        |e| unsafe { message_into(out, e) },
        || {
            let result = unsafe { runtime(rt) }?.exec(unsafe { text(process, "process") }?, unsafe { bytes(args, args_len) })?;
            unsafe { put(out, buf_from(result)) };
            Ok(0)
        },
    )
}

/// `yaowasm_runtime_exec` with JSON text: `args_json` is a NUL-terminated
/// JSON array (NULL or "" mean no args); on 0, `out` holds the result as JSON
/// text (bytes as base64 strings, non-string map keys as strings). Codes and
/// ownership as `yaowasm_runtime_exec`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_exec_json(
    rt: *mut yaowasm_runtime,
    process: *const c_char,
    args_json: *const c_char,
    out: *mut yaowasm_buf,
) -> i32 {
    guard(
        |e| unsafe { message_into(out, e) },
        || {
            let args = if args_json.is_null() { "" } else { unsafe { text(args_json, "args_json") }? };
            let result = unsafe { runtime(rt) }?.exec_json(unsafe { text(process, "process") }?, args)?;
            unsafe { put(out, buf_from(result.into_bytes())) };
            Ok(0)
        },
    )
}

/// A cancel flag for `yaowasm_runtime_exec_with`: lets another thread stop
/// a running call (a Go context, a client that went away). Opaque.
pub struct yaowasm_cancel {
    token: crate::CancelToken,
}

/// Makes a cancel flag, not yet triggered. Free it with `yaowasm_cancel_free`
/// once no call uses it. Thread-safe.
#[no_mangle]
pub extern "C" fn yaowasm_cancel_new() -> *mut yaowasm_cancel {
    Box::into_raw(Box::new(yaowasm_cancel { token: crate::CancelToken::new() }))
}

/// Triggers the flag: every call running with it ends with 408 ("cancelled
/// by the host") at its next epoch tick (about 1 ms), or as soon as a host
/// callback it waits on returns. Later calls with it end at once. NULL does
/// nothing. Thread-safe: meant to be called from another thread.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_cancel_trigger(cancel: *const yaowasm_cancel) {
    // SAFETY: NULL or a live pointer from yaowasm_cancel_new.
    if let Some(cancel) = unsafe { cancel.as_ref() } {
        cancel.token.cancel();
    }
}

/// Frees a cancel flag. NULL does nothing. No call may still be using it.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_cancel_free(cancel: *mut yaowasm_cancel) {
    if !cancel.is_null() {
        // SAFETY: from yaowasm_cancel_new, freed once.
        drop(unsafe { Box::from_raw(cancel) });
    }
}

/// `yaowasm_runtime_exec` with per-call limits: `timeout_ms` (0: the
/// runtime's `timeout_ms`; a larger value is capped at it) and `cancel` (NULL
/// or a flag another thread may trigger). Nested calls share both. A call
/// stopped by either returns 408. Codes and ownership as
/// `yaowasm_runtime_exec`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_exec_with(
    rt: *mut yaowasm_runtime,
    process: *const c_char,
    args: *const u8,
    args_len: usize,
    timeout_ms: u64,
    cancel: *const yaowasm_cancel,
    out: *mut yaowasm_buf,
) -> i32 {
    guard(
        |e| unsafe { message_into(out, e) },
        || {
            let options = crate::ExecOptions {
                timeout: (timeout_ms > 0).then(|| std::time::Duration::from_millis(timeout_ms)),
                // SAFETY: NULL or a live pointer from yaowasm_cancel_new.
                cancel: unsafe { cancel.as_ref() }.map(|c| c.token.clone()),
            };
            let runtime = unsafe { runtime(rt) }?;
            let result = runtime.exec_with(unsafe { text(process, "process") }?, unsafe { bytes(args, args_len) }, &options)?;
            unsafe { put(out, buf_from(result)) };
            Ok(0)
        },
    )
}

/// Frees a buf the library returned. `{NULL, 0}` does nothing. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_buf_free(buf: yaowasm_buf) {
    if buf.ptr.is_null() {
        return;
    }
    // SAFETY: ptr/len came from buf_from: a boxed slice of len + 1 bytes.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(buf.ptr, buf.len + 1)) });
}

struct HostPointer(*mut c_void);
// SAFETY: the header makes the host promise that user_data may be used from
// any thread that runs calls.
unsafe impl Send for HostPointer {}
unsafe impl Sync for HostPointer {}

impl HostPointer {
    // A method, so closures capture the whole Send + Sync wrapper rather than
    // the raw pointer field.
    fn get(&self) -> *mut c_void {
        self.0
    }
}

/// Sets the host's process handler (NULL `fn` removes it; process calls then
/// answer 404). `user_data` is passed back to every call, from whichever
/// thread runs the guest, so it must be usable from any thread; the host
/// keeps it alive until the handler is replaced or the runtime freed.
/// Thread-safe; calls already running keep the handler they started with.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_set_process_handler(rt: *mut yaowasm_runtime, r#fn: yaowasm_process_fn, user_data: *mut c_void) {
    guard(
        |_| (),
        || {
            let runtime = unsafe { runtime(rt) }?;
            let handler = r#fn.map(|f| {
                let user = HostPointer(user_data);
                Arc::new(move |name: &str, args: &[u8]| {
                    let mut slot = yaowasm_result { answer: None };
                    // SAFETY: f is the host's function; every pointer passed is
                    // valid for the duration of the call.
                    unsafe { f(user.get(), name.as_ptr().cast(), name.len(), args.as_ptr(), args.len(), &mut slot) };
                    slot.answer.unwrap_or_else(|| {
                        Err(Error::internal(format!("the host process handler returned without answering {name}")))
                    })
                }) as Arc<crate::ProcessHandler>
            });
            runtime.set_process_handler(handler);
            Ok(())
        },
    )
}

/// Answers a process-handler call with a MessagePack value (`len` bytes,
/// copied; the host keeps ownership). Bytes that are not one valid
/// MessagePack value make the guest's call fail with 500. Only the first
/// answer counts. Call it only inside the handler, with its `res`.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_result_ok(res: *mut yaowasm_result, msgpack: *const u8, len: usize) {
    guard(
        |_| (),
        || {
            // SAFETY: res is the slot passed to the running handler.
            if let Some(slot) = unsafe { res.as_mut() } {
                if slot.answer.is_none() {
                    slot.answer = Some(Ok(unsafe { bytes(msgpack, len) }.to_vec()));
                }
            }
            Ok(())
        },
    )
}

/// Answers a process-handler call with an error: `code` (outside 100–599
/// becomes 500) and a UTF-8 `message` of `len` bytes (copied; NULL allowed
/// when `len` is 0). Only the first answer counts.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_result_error(res: *mut yaowasm_result, code: i32, message: *const c_char, len: usize) {
    guard(
        |_| (),
        || {
            // SAFETY: res is the slot passed to the running handler.
            if let Some(slot) = unsafe { res.as_mut() } {
                if slot.answer.is_none() {
                    let text = String::from_utf8_lossy(unsafe { bytes(message.cast(), len) }).into_owned();
                    slot.answer = Some(Err(Error::new(code, text)));
                }
            }
            Ok(())
        },
    )
}

/// Sets the log handler (NULL `fn`: records go to stderr as
/// `yaowasm [level] message`). Receives `yao.log` calls and WASI stdout
/// (info) and stderr (error) lines. `user_data` as for the process handler.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_set_log_handler(rt: *mut yaowasm_runtime, r#fn: yaowasm_log_fn, user_data: *mut c_void) {
    guard(
        |_| (),
        || {
            let runtime = unsafe { runtime(rt) }?;
            let handler = r#fn.map(|f| {
                let user = HostPointer(user_data);
                Arc::new(move |level: LogLevel, message: &str| {
                    // SAFETY: the host's function; message outlives the call.
                    unsafe { f(user.get(), level as i32, message.as_ptr().cast(), message.len()) }
                }) as Arc<crate::LogHandler>
            });
            runtime.set_log_handler(handler);
            Ok(())
        },
    )
}

/// The last error of the calling thread as UTF-8 text, or NULL if the last
/// call on this thread succeeded. Owned by the library: valid until the next
/// yaowasm call on this thread; never free it. Every function clears it on
/// entry (except this one); a failing call, or a load that skipped files,
/// sets it.
#[no_mangle]
pub extern "C" fn yaowasm_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |(_, text)| text.as_ptr()))
}

/// The Yao code of the calling thread's last error (400, 404, 408, 413,
/// 500, or a code a guest raised), or 0 if the last call on this thread
/// succeeded. Tells apart failures that return only NULL or -1
/// (`yaowasm_runtime_new`, `yaowasm_runtime_load_dir`). For a load that
/// skipped files it is the code of the first file listed.
#[no_mangle]
pub extern "C" fn yaowasm_last_error_code() -> i32 {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(0, |(code, _)| *code))
}

/// The library version ("major.minor.patch"), a static string.
#[no_mangle]
pub extern "C" fn yaowasm_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
