"""The Runtime class: a Python face over one yaowasm_runtime."""
from __future__ import annotations

import ctypes
import json
import logging
import os
import sys
import threading
import traceback
from typing import Any, Callable, NamedTuple

import msgpack

from . import _lib

logger = logging.getLogger("yaowasm")

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

# yaowasm log levels (SPEC §3: 0 trace, 1 debug, 2 info, 3 warn, 4 error)
# to logging levels.
LOG_LEVELS = {0: TRACE, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}


class YaoError(Exception):
    """An error with a Yao code (SPEC §4: 400, 404, 408, 413, 500, or any
    100-599 code a guest or a handler raised) and a message.

    Raised by Runtime methods; raise it from a process handler to answer the
    guest with that code.
    """

    def __init__(self, code: int, message: str):
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class Problem(NamedTuple):
    """One file that load_dir skipped (an entry of the C API's load report)."""

    file: str
    message: str
    code: int
    id: str | None = None


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def _pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def _path(path: str | os.PathLike) -> bytes:
    return os.fsencode(path)


def _cstr(text: str, what: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    data = text.encode("utf-8")
    if b"\0" in data:
        raise YaoError(400, f"{what} contains a NUL byte")
    return data


def _valid_code(code: Any) -> int:
    try:
        code = int(code)
    except (TypeError, ValueError):
        return 500
    return code if 100 <= code <= 599 else 500


class Runtime:
    """A yaowasm runtime: loaded scripts plus the host's handlers.

    Thread-safe: any thread may call any method, and exec calls run in
    parallel (the GIL is released while wasm runs). Handlers are called on
    the thread running the guest. close() waits for calls in flight.
    """

    def __init__(self, config: dict | None = None, library: str | None = None):
        self._lib = _lib.load(library)
        self._lock = threading.Condition()
        self._inflight = 0
        self._local = threading.local()
        # Every CFUNCTYPE ever handed to the library stays referenced until
        # close(): calls already running keep the handler they started with.
        self._callbacks: list[Any] = []
        self.problems: list[Problem] = []
        cfg = None if config is None else json.dumps(config).encode("utf-8")
        rt = ctypes.c_void_p()
        code = self._lib.yaowasm_runtime_new(cfg, ctypes.byref(rt))
        if code:
            raise YaoError(code, self._last_error() or "yaowasm_runtime_new failed")
        self._rt = rt.value
        self.set_log_handler(None)

    # -- lifetime ---------------------------------------------------------

    def close(self) -> None:
        """Frees the runtime after the calls in flight end. Idempotent.
        Calling it from inside a handler of this runtime is an error."""
        if getattr(self._local, "depth", 0):
            raise YaoError(400, "close() called from inside a call on this runtime")
        with self._lock:
            rt, self._rt = getattr(self, "_rt", None), None
            while self._inflight:
                self._lock.wait()
        if rt:
            self._lib.yaowasm_runtime_free(rt)
        self._callbacks.clear()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if getattr(self, "_rt", None):
                self.close()
        except Exception:
            pass

    def _enter(self) -> int:
        with self._lock:
            if not self._rt:
                raise YaoError(400, "runtime is closed")
            self._inflight += 1
            self._local.depth = getattr(self._local, "depth", 0) + 1
            return self._rt

    def _leave(self) -> None:
        with self._lock:
            self._inflight -= 1
            self._local.depth -= 1
            if not self._inflight:
                self._lock.notify_all()

    def _last_error(self) -> str | None:
        text = self._lib.yaowasm_last_error()
        return None if text is None else text.decode("utf-8", "replace")

    # -- loading ----------------------------------------------------------

    def load_dir(self, path: str | os.PathLike) -> int:
        """Loads (or reloads) every .wasm under `path`; returns the number of
        scripts served from it. Files that did not load are in
        `self.problems` (a list of Problem(file, message, code), empty when
        all loaded) and logged as warnings on the "yaowasm" logger. Raises
        YaoError if the folder cannot be read."""
        out = _lib.Buf()
        rt = self._enter()
        try:
            code = self._lib.yaowasm_runtime_load_dir(rt, _path(path), ctypes.byref(out))
            text = self._last_error()
        finally:
            self._leave()
        data = _lib.take(self._lib, out)
        if code:
            raise YaoError(code, text or f"cannot load {os.fspath(path)!r}")
        report = _unpack(data)
        self.problems = [Problem(p["file"], p["message"], p["code"], p["id"]) for p in report["problems"]]
        for p in self.problems:
            logger.warning("not loaded: %s: %s (%d)", p.file, p.message, p.code)
        return report["loaded"]

    def load_file(self, path: str | os.PathLike, id: str | None = None) -> None:
        """Loads one .wasm as script `id` (default: the file name without
        extension). Raises YaoError (400, 404, 413, 500)."""
        cid = None if id is None else _cstr(id, "id")
        rt = self._enter()
        try:
            code = self._lib.yaowasm_runtime_load_file(rt, _path(path), cid)
            text = self._last_error()
        finally:
            self._leave()
        if code:
            raise YaoError(code, text or f"load_file failed ({code})")

    def unload(self, id: str) -> None:
        """Removes script `id`. Raises YaoError 404 if it is not loaded."""
        cid = _cstr(id, "id")
        rt = self._enter()
        try:
            code = self._lib.yaowasm_runtime_unload(rt, cid)
            text = self._last_error()
        finally:
            self._leave()
        if code:
            raise YaoError(code, text or f"unload failed ({code})")

    def list(self) -> list[dict]:
        """One dict per loaded script: id, file, functions, shadows, ..."""
        out = _lib.Buf()
        rt = self._enter()
        try:
            code = self._lib.yaowasm_runtime_list(rt, ctypes.byref(out))
            text = self._last_error()
        finally:
            self._leave()
        data = _lib.take(self._lib, out)
        if code:
            raise YaoError(code, text or f"list failed ({code})")
        return _unpack(data)

    def stats(self) -> dict:
        """The runtime's counters: `scripts`, one dict per loaded script
        sorted by id (`id`, `calls`, `errors`, `timeouts` (408s), `busy_us`;
        calls finished, nested ones included), `instances_in_use` (calls in
        flight), `instance_slots` (the pool's size) and `memory_reset`
        (`"pagemap"`, or `"fallback"` on Linux before 6.7)."""
        out = _lib.Buf()
        rt = self._enter()
        try:
            code = self._lib.yaowasm_runtime_stats(rt, ctypes.byref(out))
            text = self._last_error()
        finally:
            self._leave()
        data = _lib.take(self._lib, out)
        if code:
            raise YaoError(code, text or f"stats failed ({code})")
        return _unpack(data)

    # -- calling ----------------------------------------------------------

    def exec(self, name: str, *args: Any, context: dict | None = None, timeout_ms: int = 0) -> Any:
        """Runs process `name` (scripts.<id>.<Function>) with `args` and
        returns its result as a Python value. Values: None, bool, int, float,
        str, bytes, list/tuple, dict. Raises YaoError with the Yao code.

        `context` is who the call runs for (SPEC §3a): a dict with the keys,
        all optional, "sid" (str), "global" (dict), "authorized" (dict).
        Every call nested in this one inherits it, and a process handler
        reads it with `Runtime.current_context()`. `timeout_ms` (0: the
        runtime's) shortens this call's timeout."""
        cname = _cstr(name, "name")
        try:
            payload = _pack(list(args))
        except (TypeError, ValueError, OverflowError) as e:
            raise YaoError(400, f"args cannot be encoded: {e}") from None
        opts = None
        if context is not None or timeout_ms:
            opts = _lib.ExecOptions(timeout_ms=max(0, int(timeout_ms)))
            if context is not None:
                if not isinstance(context, dict):
                    raise YaoError(400, f"context must be a dict, not {type(context).__name__}")
                try:
                    packed = _pack(context)
                except (TypeError, ValueError, OverflowError) as e:
                    raise YaoError(400, f"context cannot be encoded: {e}") from None
                opts.context, opts.context_len = packed, len(packed)
        out = _lib.Buf()
        rt = self._enter()
        try:
            if opts is None:
                code = self._lib.yaowasm_runtime_exec(rt, cname, payload, len(payload), ctypes.byref(out))
            else:
                code = self._lib.yaowasm_runtime_exec_ctx(
                    rt, cname, payload, len(payload), ctypes.byref(opts), ctypes.byref(out)
                )
            text = self._last_error() if code else None
        finally:
            self._leave()
        data = _lib.take(self._lib, out)
        if code:
            raise YaoError(code, text or f"exec failed ({code})")
        return _unpack(data) if data else None

    def exec_json(self, name: str, args_json: str | None) -> str:
        """exec with a JSON array in and JSON text out."""
        cname = _cstr(name, "name")
        cargs = None if args_json is None else _cstr(args_json, "args_json")
        out = _lib.Buf()
        rt = self._enter()
        try:
            code = self._lib.yaowasm_runtime_exec_json(rt, cname, cargs, ctypes.byref(out))
            message = self._last_error() if code else None
        finally:
            self._leave()
        text = _lib.take(self._lib, out).decode("utf-8", "replace")
        if code:
            raise YaoError(code, message or f"exec failed ({code})")
        return text

    # -- handlers ---------------------------------------------------------

    def current_context(self) -> dict:
        """Inside a process handler: the context of the call it serves,
        {"sid": str, "global": dict, "authorized": dict or None}, as given to
        the top-level exec at any depth (empty values when none was). Raises
        YaoError 400 outside a call."""
        out = _lib.Buf()
        code = self._lib.yaowasm_context_current(ctypes.byref(out))
        text = self._last_error() if code else None
        data = _lib.take(self._lib, out)
        if code:
            raise YaoError(code, text or "no context")
        return _unpack(data)

    def set_process_handler(self, fn: Callable[[str, list], Any] | None) -> None:
        """Answers the guests' yao.process calls that the runtime does not
        serve itself. `fn(name, args)` returns the result value; raising
        YaoError(code, message) answers with that code, any other exception
        answers 500 with its text. None removes the handler (calls get 404).
        `fn` runs on the thread running the guest and may call exec; it
        reads the call's context with `self.current_context()`."""
        if fn is None:
            self._set_process(ctypes.cast(None, _lib.PROCESS_FN))
            return
        lib = self._lib

        def on_process(_user, name_p, name_len, args_p, args_len, res):
            depth = getattr(self._local, "depth", 0)
            self._local.depth = depth + 1
            try:
                try:
                    name = ctypes.string_at(name_p, name_len).decode("utf-8", "replace")
                    args = _unpack(ctypes.string_at(args_p, args_len)) if args_len else []
                    data = _pack(fn(name, args))
                except YaoError as e:
                    msg = str(e.message).encode("utf-8", "replace")
                    lib.yaowasm_result_error(res, _valid_code(e.code), msg, len(msg))
                except BaseException as e:  # noqa: BLE001 - nothing may cross into C
                    msg = f"{type(e).__name__}: {e}".encode("utf-8", "replace")
                    lib.yaowasm_result_error(res, 500, msg, len(msg))
                else:
                    lib.yaowasm_result_ok(res, data, len(data))
            finally:
                self._local.depth = depth

        self._set_process(_lib.PROCESS_FN(on_process))

    def _set_process(self, cb: Any) -> None:
        rt = self._enter()
        try:
            self._callbacks.append(cb)
            self._lib.yaowasm_runtime_set_process_handler(rt, cb, None)
        finally:
            self._leave()

    def set_log_handler(self, fn: Callable[[int, str], None] | None) -> None:
        """Receives yao.log records and WASI stdout/stderr lines as
        `fn(level, message)`, level 0 trace .. 4 error. None (the default)
        sends them to the "yaowasm" logger of Python's logging (0 -> TRACE
        (5), 1 DEBUG, 2 INFO, 3 WARNING, 4 ERROR)."""
        if fn is None:
            def fn(level: int, message: str) -> None:
                logger.log(LOG_LEVELS.get(level, logging.WARNING), "%s", message)

        def on_log(_user, level, msg_p, msg_len):
            try:
                fn(int(level), ctypes.string_at(msg_p, msg_len).decode("utf-8", "replace"))
            except BaseException:  # noqa: BLE001 - nothing may cross into C
                traceback.print_exc(file=sys.stderr)

        cb = _lib.LOG_FN(on_log)
        rt = self._enter()
        try:
            self._callbacks.append(cb)
            self._lib.yaowasm_runtime_set_log_handler(rt, cb, None)
        finally:
            self._leave()


def version(library: str | None = None) -> str:
    """The library's version string."""
    return _lib.load(library).yaowasm_version().decode()
