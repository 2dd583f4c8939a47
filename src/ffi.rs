//! The C API (`include/yaowasm.h`, generated from this file by cbindgen).
//!
//! A thin layer: each function converts its arguments, calls the safe
//! [`Runtime`](crate::Runtime) API and converts the result through
//! [`guard`], which also catches panics, so no panic and no trap ever crosses
//! the boundary. Unsafe code here relies only on what the header asks of the
//! caller: valid pointers, NUL-terminated strings, buffers of the stated
//! length.
//!
//! The failure rule (the header states it at its top, and `tests/ffi.rs`
//! walks the header to check that every function keeps it): a function
//! returns an `int32_t` status, 0 for success or the Yao code; results come
//! only through out-params; the message is only in [`yaowasm_last_error`],
//! per thread. The exceptions are the three that report (`yaowasm_last_error`,
//! `yaowasm_last_error_code`, `yaowasm_version`) and the `_free` functions
//! of bufs and cancel flags, which take NULL like `free()`.
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
/// A buf with bytes has `ptr[len]` == NUL (not counted in `len`), so text
/// results can be used as C strings; an empty buf (every out-param after a
/// failure) is `{NULL, 0}`.
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
    if bytes.is_empty() {
        return yaowasm_buf { ptr: std::ptr::null_mut(), len: 0 };
    }
    // One allocation of exactly len + 1 bytes. Pushing the NUL onto a Vec
    // whose capacity is its length (a result is) would grow it, and
    // into_boxed_slice would then shrink it: two reallocations and copies.
    let len = bytes.len();
    let mut exact = Vec::with_capacity(len + 1);
    exact.extend_from_slice(&bytes);
    exact.push(0);
    let ptr = Box::into_raw(exact.into_boxed_slice()) as *mut u8;
    yaowasm_buf { ptr, len }
}

/// The failure side of a function with an `out` buf: `out` is emptied
/// (`{NULL, 0}`), the code returned; the message is already the last error.
unsafe fn fail_into(out: *mut yaowasm_buf, error: &Error) -> i32 {
    // SAFETY: the caller passes NULL or a writable yaowasm_buf.
    if let Some(out) = unsafe { out.as_mut() } {
        *out = yaowasm_buf { ptr: std::ptr::null_mut(), len: 0 };
    }
    error.code()
}

/// The failure side of a function with a pointer out-param: NULL in `out`.
unsafe fn fail_null<T>(out: *mut *mut T, error: &Error) -> i32 {
    // SAFETY: the caller passes NULL or a writable pointer slot.
    if let Some(out) = unsafe { out.as_mut() } {
        *out = std::ptr::null_mut();
    }
    error.code()
}

/// A writable out-param or a 400 naming it: a result with nowhere to go is
/// a caller's mistake, not something to compute and drop.
unsafe fn out_param<'a, T>(out: *mut T, what: &str) -> Result<&'a mut T> {
    // SAFETY: the caller passes NULL or a writable T.
    unsafe { out.as_mut() }.ok_or_else(|| Error::bad_request(format!("{what} is NULL")))
}

/// Puts `bytes` into `out`; 0.
fn put(out: &mut yaowasm_buf, bytes: Vec<u8>) -> Result<i32> {
    *out = buf_from(bytes);
    Ok(0)
}

/// Puts `value` into `out` as a MessagePack map with field names; 0.
fn put_msgpack<T: serde::Serialize>(out: &mut yaowasm_buf, value: &T) -> Result<i32> {
    put(out, rmp_serde::to_vec_named(value).map_err(|e| Error::internal(e.to_string()))?)
}

/// Makes a runtime into `*out`. `config_json` may be NULL (defaults): a JSON
/// object whose keys, all optional, are listed with their defaults and
/// ranges in the README's config table and docs/ABI.md §9 (src/config.rs is
/// the normative list). An unknown key or a bad value is a 400 naming it.
///
/// Returns 0 (free `*out` with `yaowasm_runtime_free`), or 400 (bad config,
/// NULL `out`), 500; `*out` is NULL on failure. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_new(config_json: *const c_char, out: *mut *mut yaowasm_runtime) -> i32 {
    guard(
        |e| unsafe { fail_null(out, e) },
        || {
            let slot = unsafe { out_param(out, "out") }?;
            let config = if config_json.is_null() { None } else { Some(unsafe { text(config_json, "config_json") }?) };
            let runtime = Runtime::from_json(config)?;
            *slot = Box::into_raw(Box::new(yaowasm_runtime { runtime }));
            Ok(0)
        },
    )
}

/// Frees a runtime and everything it loaded. NULL does nothing (0). No call
/// on this runtime may be running on another thread or start afterwards.
/// Freeing a runtime from inside one of its own calls (a process or log
/// handler running on this thread) is refused with 400 and frees nothing:
/// the call would return into freed memory.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_free(rt: *mut yaowasm_runtime) -> i32 {
    guard(
        |e| e.code(),
        || {
            // SAFETY: the caller passes NULL or a pointer from
            // yaowasm_runtime_new that it has not freed.
            let Some(runtime) = (unsafe { rt.as_ref() }) else { return Ok(0) };
            if runtime.runtime.is_running_on_this_thread() {
                return Err(Error::bad_request(
                    "yaowasm_runtime_free called from inside a call of the same runtime: free it after the call returns",
                ));
            }
            // SAFETY: rt came from yaowasm_runtime_new and is freed once.
            drop(unsafe { Box::from_raw(rt) });
            Ok(0)
        },
    )
}

/// Loads every `.wasm` under `dir` recursively (`dir/a/b.wasm` is script
/// `a.b`), or atomically reloads them if `dir` was loaded before: scripts
/// that came from `dir` are replaced all at once, calls in flight finish on
/// the old version, scripts from other folders stay.
///
/// Returns 0 when the folder was read, with `report` (NULL: not wanted) a
/// MessagePack map: `loaded` (scripts now served from `dir`) and `problems`,
/// an array with one map per file that did not load (bad bytes, missing
/// imports, ID collisions, limits), sorted by file: `file`, `id` (nil when
/// the file maps to none), `code`, `message`. A problem file does not stop
/// the others. Otherwise 404 (`dir` cannot be read) or 400 (NULL, not
/// UTF-8). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_load_dir(rt: *mut yaowasm_runtime, dir: *const c_char, report: *mut yaowasm_buf) -> i32 {
    guard(
        |e| unsafe { fail_into(report, e) },
        || {
            let runtime = unsafe { runtime(rt) }?;
            let loaded = runtime.load_dir(Path::new(unsafe { text(dir, "dir") }?))?;
            match unsafe { report.as_mut() } {
                Some(report) => put_msgpack(report, &loaded),
                None => Ok(0),
            }
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
/// Returns 0 (free `out` with `yaowasm_buf_free`), or 400 (NULL runtime or
/// `out`). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_list(rt: *mut yaowasm_runtime, out: *mut yaowasm_buf) -> i32 {
    guard(
        |e| unsafe { fail_into(out, e) },
        || {
            let out = unsafe { out_param(out, "out") }?;
            put_msgpack(out, &unsafe { runtime(rt) }?.list())
        },
    )
}

/// Writes into `out` a MessagePack map of the runtime's counters:
/// `scripts`, an array with one map per loaded script sorted by id (`id`,
/// `calls`, `errors`, `timeouts` (408s), `busy_us`: calls finished, nested
/// ones included, since the script was first loaded; a reload of a changed
/// file keeps them), `instances_in_use` (calls in flight, nested ones
/// included), `instance_slots` (the pool's size; past it, calls wait) and
/// `memory_reset` (`"pagemap"` or `"fallback"`: config `memory_reset` as it
/// resolved on this kernel).
///
/// Returns 0 (free `out` with `yaowasm_buf_free`), or 400 (NULL runtime or
/// `out`). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_stats(rt: *mut yaowasm_runtime, out: *mut yaowasm_buf) -> i32 {
    guard(
        |e| unsafe { fail_into(out, e) },
        || {
            let out = unsafe { out_param(out, "out") }?;
            put_msgpack(out, &unsafe { runtime(rt) }?.stats())
        },
    )
}

/// The body of every exec variant: its arguments checked, the call run with
/// `options`, the MessagePack result into `out`.
unsafe fn exec_into(
    rt: *mut yaowasm_runtime,
    process: *const c_char,
    args: *const u8,
    args_len: usize,
    options: &crate::ExecOptions,
    out: *mut yaowasm_buf,
) -> Result<i32> {
    let out = unsafe { out_param(out, "out") }?;
    let runtime = unsafe { runtime(rt) }?;
    put(out, runtime.exec_with(unsafe { text(process, "process") }?, unsafe { bytes(args, args_len) }, options)?)
}

/// A call's limits as the C API passes them: `timeout_ms` 0 is the
/// runtime's, `cancel` NULL is none.
unsafe fn limits(timeout_ms: u64, cancel: *const yaowasm_cancel) -> crate::ExecOptions {
    crate::ExecOptions {
        timeout: (timeout_ms > 0).then(|| std::time::Duration::from_millis(timeout_ms)),
        // SAFETY: NULL or a live pointer from yaowasm_cancel_new.
        cancel: unsafe { cancel.as_ref() }.map(|c| c.token.clone()),
        context: None,
    }
}

/// Runs process `process` (`scripts.<id>.<Function>`) with `args`, a
/// MessagePack array of `args_len` bytes (NULL or 0 bytes mean no args), in a
/// fresh instance.
///
/// Returns 0 with the MessagePack result in `out` (free it with
/// `yaowasm_buf_free`); otherwise the error code, `out` empty and the message
/// in `yaowasm_last_error`: 400 bad name or args (or NULL `out`), 403
/// refused, 404 no such script or function (or a name outside `scripts.`),
/// 408 timeout, 413 memory or size limit, 500 trap or internal error, or the
/// code the guest raised. Thread-safe; calls run in parallel.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_exec(
    rt: *mut yaowasm_runtime,
    process: *const c_char,
    args: *const u8,
    args_len: usize,
    out: *mut yaowasm_buf,
) -> i32 {
    guard(|e| unsafe { fail_into(out, e) }, || unsafe { exec_into(rt, process, args, args_len, &crate::ExecOptions::default(), out) })
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
        |e| unsafe { fail_into(out, e) },
        || {
            let out = unsafe { out_param(out, "out") }?;
            let args = if args_json.is_null() { "" } else { unsafe { text(args_json, "args_json") }? };
            let result = unsafe { runtime(rt) }?.exec_json(unsafe { text(process, "process") }?, args)?;
            put(out, result.into_bytes())
        },
    )
}

/// A cancel flag for `yaowasm_runtime_exec_with`: lets another thread stop
/// a running call (a Go context, a client that went away). Opaque.
pub struct yaowasm_cancel {
    token: crate::CancelToken,
}

/// Makes a cancel flag, not yet triggered, into `*out`. Returns 0, or 400
/// for a NULL `out`. Free it with `yaowasm_cancel_free` once no call uses
/// it. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_cancel_new(out: *mut *mut yaowasm_cancel) -> i32 {
    guard(
        |e| unsafe { fail_null(out, e) },
        || {
            let slot = unsafe { out_param(out, "out") }?;
            *slot = Box::into_raw(Box::new(yaowasm_cancel { token: crate::CancelToken::new() }));
            Ok(0)
        },
    )
}

/// Triggers the flag: every call running with it ends with 408 ("cancelled
/// by the host") at its next epoch tick (about 1 ms), or as soon as a host
/// callback it waits on returns. Later calls with it end at once. Returns
/// 0, or 400 for NULL. Thread-safe: meant to be called from another thread.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_cancel_trigger(cancel: *const yaowasm_cancel) -> i32 {
    guard(
        |e| e.code(),
        || {
            // SAFETY: NULL or a live pointer from yaowasm_cancel_new.
            let cancel = unsafe { cancel.as_ref() }.ok_or_else(|| Error::bad_request("cancel is NULL"))?;
            cancel.token.cancel();
            Ok(0)
        },
    )
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
        |e| unsafe { fail_into(out, e) },
        || {
            let options = unsafe { limits(timeout_ms, cancel) };
            unsafe { exec_into(rt, process, args, args_len, &options, out) }
        },
    )
}

/// Options of `yaowasm_runtime_exec_ctx`. Zero-initialize it
/// (`yaowasm_exec_options opts = {0};`) and set what you need: a zero or
/// NULL field means its default.
#[repr(C)]
pub struct yaowasm_exec_options {
    /// A timeout for this call in ms (0: the runtime's `timeout_ms`; a
    /// larger value is capped at it).
    pub timeout_ms: u64,
    /// NULL, or a flag another thread may trigger to stop the call (408).
    pub cancel: *const yaowasm_cancel,
    /// NULL, or the call's context: a MessagePack map of `context_len`
    /// bytes (copied) with the keys, all optional, `sid` (string: the
    /// session id), `global` (map: the caller's globals), `authorized` (map:
    /// authorization info, opaque to the runtime); nil means absent, any
    /// other key or type is a 400. Every call nested in this one inherits
    /// it, and the process handler reads it with `yaowasm_context_current`.
    pub context: *const u8,
    /// The length of `context` in bytes.
    pub context_len: usize,
}

/// `yaowasm_runtime_exec` with options (`opts` NULL: all defaults, exactly
/// `yaowasm_runtime_exec`): a per-call timeout, a cancel flag and the call's
/// context (who it runs for: session id, globals, authorization info). A
/// call nested in another one (a handler calling back into the runtime)
/// shares the top-level call's deadline and cancel flag whatever it passes;
/// its context, when it passes none, is its caller's. Codes and ownership
/// as `yaowasm_runtime_exec`, plus 400 for a malformed context.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_exec_ctx(
    rt: *mut yaowasm_runtime,
    process: *const c_char,
    args: *const u8,
    args_len: usize,
    opts: *const yaowasm_exec_options,
    out: *mut yaowasm_buf,
) -> i32 {
    guard(
        |e| unsafe { fail_into(out, e) },
        || {
            let mut options = crate::ExecOptions::default();
            // SAFETY: NULL or a readable yaowasm_exec_options.
            if let Some(opts) = unsafe { opts.as_ref() } {
                options = unsafe { limits(opts.timeout_ms, opts.cancel) };
                if !opts.context.is_null() {
                    let context = crate::CallContext::from_msgpack(unsafe { bytes(opts.context, opts.context_len) })?;
                    options.context = Some(Arc::new(context));
                }
            }
            unsafe { exec_into(rt, process, args, args_len, &options, out) }
        },
    )
}

/// Writes into `out` the context of the call running on this thread, as a
/// MessagePack map `{sid: string, global: map, authorized: map or nil}`
/// (`{"sid": "", "global": {}, "authorized": nil}` for a call without one).
/// Call it inside a process handler to learn who the `yao.process` call it
/// serves runs for: the context given to the top-level exec, at any depth.
///
/// Returns 0 (free `out` with `yaowasm_buf_free`), or 400 (NULL `out`, or
/// no call running on this thread). Thread-safe: each thread sees only its
/// own call's context.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_context_current(out: *mut yaowasm_buf) -> i32 {
    guard(
        |e| unsafe { fail_into(out, e) },
        || {
            let out = unsafe { out_param(out, "out") }?;
            if !crate::runtime::nesting::in_a_call() {
                return Err(Error::bad_request(
                    "yaowasm_context_current: no call is running on this thread (call it inside a process handler)",
                ));
            }
            let context = crate::runtime::nesting::current_context(None).unwrap_or_default();
            put(out, context.to_msgpack())
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
/// Returns 0, or 400 for a NULL runtime. Thread-safe; calls already running
/// keep the handler they started with.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_set_process_handler(
    rt: *mut yaowasm_runtime,
    r#fn: yaowasm_process_fn,
    user_data: *mut c_void,
) -> i32 {
    guard(
        |e| e.code(),
        || {
            let runtime = unsafe { runtime(rt) }?;
            let handler = r#fn.map(|f| {
                let user = HostPointer(user_data);
                Arc::new(move |name: &str, args: &[u8]| {
                    let mut slot = yaowasm_result { answer: None };
                    // SAFETY: f is the host's function; every pointer passed is
                    // valid for the duration of the call.
                    unsafe { f(user.get(), name.as_ptr().cast(), name.len(), args.as_ptr(), args.len(), &mut slot) };
                    slot.answer
                        .unwrap_or_else(|| Err(Error::internal(format!("the host process handler returned without answering {name}"))))
                }) as Arc<crate::ProcessHandler>
            });
            runtime.set_process_handler(handler);
            Ok(0)
        },
    )
}

/// The answer slot of a running handler, or a 400; a second answer is a
/// 400 too (the first one counts).
unsafe fn unanswered<'a>(res: *mut yaowasm_result) -> Result<&'a mut yaowasm_result> {
    // SAFETY: res is NULL or the slot passed to the running handler.
    let slot = unsafe { res.as_mut() }.ok_or_else(|| Error::bad_request("res is NULL"))?;
    if slot.answer.is_some() {
        return Err(Error::bad_request("this handler call was already answered; the first answer counts"));
    }
    Ok(slot)
}

/// Answers a process-handler call with a MessagePack value (`len` bytes,
/// copied; the host keeps ownership). Bytes that are not one valid
/// MessagePack value make the guest's call fail with 500. Call it only
/// inside the handler, with its `res`. Returns 0, or 400 for a NULL `res`
/// or a call already answered (the first answer counts).
#[no_mangle]
pub unsafe extern "C" fn yaowasm_result_ok(res: *mut yaowasm_result, msgpack: *const u8, len: usize) -> i32 {
    guard(
        |e| e.code(),
        || {
            let slot = unsafe { unanswered(res) }?;
            slot.answer = Some(Ok(unsafe { bytes(msgpack, len) }.to_vec()));
            Ok(0)
        },
    )
}

/// Answers a process-handler call with an error: `code` (outside 100–599
/// becomes 500) and a UTF-8 `message` of `len` bytes (copied; NULL allowed
/// when `len` is 0). Returns 0, or 400 as `yaowasm_result_ok`.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_result_error(res: *mut yaowasm_result, code: i32, message: *const c_char, len: usize) -> i32 {
    guard(
        |e| e.code(),
        || {
            let slot = unsafe { unanswered(res) }?;
            let text = String::from_utf8_lossy(unsafe { bytes(message.cast(), len) }).into_owned();
            slot.answer = Some(Err(Error::new(code, text)));
            Ok(0)
        },
    )
}

/// Sets the log handler (NULL `fn`: records go to stderr as
/// `yaowasm [level] scripts.a.b.F: message`). Receives `yao.log` calls and WASI stdout
/// (info) and stderr (error) lines; the handler gets the message alone (the
/// script that wrote it: `Runtime::set_log_record_handler` in Rust). `user_data` as for the process handler.
/// Returns 0, or 400 for a NULL runtime. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn yaowasm_runtime_set_log_handler(rt: *mut yaowasm_runtime, r#fn: yaowasm_log_fn, user_data: *mut c_void) -> i32 {
    guard(
        |e| e.code(),
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
            Ok(0)
        },
    )
}

/// The last error of the calling thread as UTF-8 text, or NULL if the last
/// call on this thread succeeded. Owned by the library: valid until the next
/// yaowasm call on this thread; never free it. Every function clears it on
/// entry (except this one and `yaowasm_last_error_code`); a failing call
/// sets it.
#[no_mangle]
pub extern "C" fn yaowasm_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |(_, text)| text.as_ptr()))
}

/// The Yao code of the calling thread's last error (the code the failing
/// function returned), or 0 if the last call on this thread succeeded.
#[no_mangle]
pub extern "C" fn yaowasm_last_error_code() -> i32 {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(0, |(code, _)| *code))
}

/// The library version ("major.minor.patch", equal to `YAOWASM_VERSION` of
/// the header it was built with), a static string.
#[no_mangle]
pub extern "C" fn yaowasm_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
