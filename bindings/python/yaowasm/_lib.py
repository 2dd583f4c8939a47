"""Finding and declaring libyaowasm (include/yaowasm.h) for ctypes.

Only this file knows the C signatures; runtime.py uses them.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

# bindings/python/yaowasm/_lib.py -> the repository root is three levels up.
_REPO = Path(__file__).resolve().parents[3]


class Buf(ctypes.Structure):
    """yaowasm_buf: bytes owned by the library, freed with yaowasm_buf_free."""

    _fields_ = [("ptr", ctypes.POINTER(ctypes.c_uint8)), ("len", ctypes.c_size_t)]


class ExecOptions(ctypes.Structure):
    """yaowasm_exec_options: per-call timeout, cancel flag, call context."""

    _fields_ = [
        ("timeout_ms", ctypes.c_uint64),
        ("cancel", ctypes.c_void_p),
        ("context", ctypes.c_char_p),
        ("context_len", ctypes.c_size_t),
    ]


# void (*)(void *user_data, const char *name, size_t name_len,
#          const uint8_t *args, size_t args_len, yaowasm_result *res)
PROCESS_FN = ctypes.CFUNCTYPE(
    None,
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_char),
    ctypes.c_size_t,
    ctypes.POINTER(ctypes.c_uint8),
    ctypes.c_size_t,
    ctypes.c_void_p,
)
# void (*)(void *user_data, int32_t level, const char *msg, size_t len)
LOG_FN = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t
)


def candidates(library: str | None = None) -> list[str]:
    """Where the library is looked for, in order."""
    if library:
        return [library]
    found = []
    env = os.environ.get("YAOWASM_LIB")
    if env:
        found.append(env)
    for profile in ("debug", "release"):
        path = _REPO / "target" / profile / "libyaowasm.so"
        if path.exists():
            found.append(str(path))
    found.append(ctypes.util.find_library("yaowasm") or "libyaowasm.so")
    return found


def load(library: str | None = None) -> ctypes.CDLL:
    """Loads libyaowasm: `library` if given, else $YAOWASM_LIB, else the
    repository's target/debug, then target/release, then the system loader.

    ctypes.CDLL (not PyDLL) releases the GIL during every foreign call, which
    is what lets exec run in parallel and callbacks arrive from any thread.
    """
    errors = []
    for path in candidates(library):
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
            continue
        _declare(lib)
        return lib
    raise OSError("libyaowasm not found; tried " + "; ".join(errors))


def _declare(lib: ctypes.CDLL) -> None:
    c_rt = ctypes.c_void_p
    i32 = ctypes.c_int32
    sig = {
        "yaowasm_runtime_new": (i32, [ctypes.c_char_p, ctypes.POINTER(c_rt)]),
        "yaowasm_runtime_free": (i32, [c_rt]),
        "yaowasm_runtime_load_dir": (i32, [c_rt, ctypes.c_char_p, ctypes.POINTER(Buf)]),
        "yaowasm_runtime_load_file": (i32, [c_rt, ctypes.c_char_p, ctypes.c_char_p]),
        "yaowasm_runtime_unload": (i32, [c_rt, ctypes.c_char_p]),
        "yaowasm_runtime_list": (i32, [c_rt, ctypes.POINTER(Buf)]),
        "yaowasm_runtime_stats": (i32, [c_rt, ctypes.POINTER(Buf)]),
        "yaowasm_runtime_exec": (
            i32,
            [c_rt, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(Buf)],
        ),
        "yaowasm_runtime_exec_ctx": (
            i32,
            [c_rt, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ExecOptions), ctypes.POINTER(Buf)],
        ),
        "yaowasm_context_current": (i32, [ctypes.POINTER(Buf)]),
        "yaowasm_runtime_exec_json": (
            i32,
            [c_rt, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(Buf)],
        ),
        "yaowasm_buf_free": (None, [Buf]),
        "yaowasm_runtime_set_process_handler": (i32, [c_rt, PROCESS_FN, ctypes.c_void_p]),
        "yaowasm_result_ok": (i32, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]),
        "yaowasm_result_error": (
            i32,
            [ctypes.c_void_p, i32, ctypes.c_char_p, ctypes.c_size_t],
        ),
        "yaowasm_runtime_set_log_handler": (i32, [c_rt, LOG_FN, ctypes.c_void_p]),
        "yaowasm_last_error": (ctypes.c_char_p, []),
        "yaowasm_last_error_code": (i32, []),
        "yaowasm_version": (ctypes.c_char_p, []),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def take(lib: ctypes.CDLL, buf: Buf) -> bytes:
    """Copies a library-owned buf into Python bytes and frees it."""
    try:
        return ctypes.string_at(buf.ptr, buf.len) if buf.len else b""
    finally:
        lib.yaowasm_buf_free(buf)
