"""Cross-language conformance: every case of cases.json against the example
`user` script of every language, all loaded from examples/app/scripts into one
runtime (scripts.<lang>.user.<Function>).

The languages are ["rust", "c", "go", "assemblyscript", "ts"]; a language whose
module is missing FAILS (build it with examples/guests/build-*.sh), unless
YAO_CONFORMANCE_LANGS (comma-separated) narrows the list.
YAO_CONFORMANCE_SCRIPTS points at another scripts folder of the same layout.

The host serves models.user.Find (id 1 → the user of cases.json, any other →
404 "user not found"), the store `hoststore` (stores.hoststore.*, a dict) and
query.Run, and records every process call and log record, which the cases
check in order. The host API cases (docs/ABI.md) also get an fs root `data`
and a local HTTP server on 127.0.0.1 in http_allow (its POST /upload
echoes a multipart/form-data upload, parse_multipart). A case with a `langs`
list is skipped, with that reason, for the languages not in it.

The store `shared` is on Redis: a redis-server the suite starts itself on a
free port of 127.0.0.1 (conftest.py), keys under "yao:conformance:<pid>:".
Before a StoreRoundTrip on it, the runner writes a sentinel key under that
prefix straight to Redis; after it, nothing may be left under the prefix (the
guest's Clear took the sentinel, GetDel and Del the rest), which fails if the
store fell back to memory or used another prefix. Without redis-server the
Redis case and test_redis_server_is_running FAIL (they never skip).
"""
from __future__ import annotations

import base64
import json
import os
import re
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from yaowasm import Runtime, YaoError

ROOT = Path(__file__).resolve().parents[2]
# YAO_CONFORMANCE_SCRIPTS runs the same table over other builds of the same
# scripts (the SDK suite uses it for no-libc C and wasm32-unknown-unknown Rust).
SCRIPTS = Path(os.environ.get("YAO_CONFORMANCE_SCRIPTS", ROOT / "examples" / "app" / "scripts")).resolve()
TABLE = json.loads((Path(__file__).with_name("cases.json")).read_text(encoding="utf-8"))
CASES = TABLE["cases"]
HOST_USER = TABLE["host_user"]
LEVELS = ["trace", "debug", "info", "warn", "error"]
ALL_LANGS = ["rust", "c", "go", "assemblyscript", "ts"]
# The Redis stores of the runtime (url filled in from the redis_server fixture).
REDIS_STORES = {"shared": {"backend": "redis", "prefix": f"yao:conformance:{os.getpid()}:"}}


def languages() -> list[str]:
    wanted = os.environ.get("YAO_CONFORMANCE_LANGS", "").strip()
    if not wanted:
        return ALL_LANGS
    langs = [lang.strip() for lang in wanted.split(",") if lang.strip()]
    unknown = sorted(set(langs) - set(ALL_LANGS))
    assert not unknown, f"YAO_CONFORMANCE_LANGS names unknown languages: {unknown}"
    return langs


class HttpHandler(BaseHTTPRequestHandler):
    """The local HTTP server of the http cases."""

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/json":
            self.reply(200, "application/json", json.dumps({"hello": "world", "n": [1, 2.5]}).encode())
        elif self.path == "/text":
            self.reply(200, "text/plain; charset=utf-8", b"plain text")
        else:
            self.reply(404, "text/plain; charset=utf-8", b"no route")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/upload":
            self.echo_upload(body)
            return
        echo = {"method": "POST", "type": self.headers.get("Content-Type"), "got": json.loads(body or b"null")}
        self.reply(200, "application/json", json.dumps(echo).encode())

    def echo_upload(self, body: bytes) -> None:
        """POST /upload: the multipart/form-data form as JSON {type (the
        media type, without its boundary), fields {name: text}, files {name:
        {filename, type, base64 (the content)}}}; a body that is not a
        well-formed form is a 400 saying why."""
        kind = self.headers.get("Content-Type") or ""
        try:
            fields, files = parse_multipart(kind, body)
        except ValueError as e:
            self.reply(400, "text/plain; charset=utf-8", f"bad form: {e}".encode())
            return
        echo = {"type": kind.split(";")[0], "fields": fields, "files": files}
        self.reply(200, "application/json", json.dumps(echo).encode())

    def echo_request(self) -> None:
        """PUT, PATCH, DELETE, HEAD and OPTIONS on any path: the request as
        the server saw it, as JSON {method, query, header (X-Conformance),
        type, got (the body: JSON decoded, text as a string, null when
        empty)} and in the header X-Echo "<method> <query> <X-Conformance>"
        (a HEAD answer has no body to show it in)."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        kind = self.headers.get("Content-Type")
        got = None
        if body:
            got = json.loads(body) if kind == "application/json" else body.decode("utf-8")
        query = urlsplit(self.path).query
        header = self.headers.get("X-Conformance")
        echo = {"method": self.command, "query": query, "header": header, "type": kind, "got": got}
        payload = json.dumps(echo).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Echo", f"{self.command} {query} {header}")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = echo_request


def parse_multipart(content_type: str, body: bytes) -> tuple[dict, dict]:
    """A strict reader of the multipart/form-data bodies the runtime sends
    (RFC 7578; no `cgi`, gone from Python 3.13): `--boundary` CRLF, part
    headers, CRLF CRLF, content, CRLF, ..., `--boundary--` CRLF, nothing
    before or after. Returns ({field: text}, {field: {filename, type,
    base64}}); a repeated name, a part without a Content-Disposition
    form-data name, or any other shape is a ValueError."""
    media, _, params = content_type.partition(";")
    if media.strip() != "multipart/form-data" or not params.strip().startswith("boundary="):
        raise ValueError(f"Content-Type {content_type!r}")
    delimiter = b"\r\n--" + params.strip().removeprefix("boundary=").encode()
    pieces = (b"\r\n" + body).split(delimiter)
    if len(pieces) < 2 or pieces[0] != b"" or pieces[-1] != b"--\r\n":
        raise ValueError("not delimited by the boundary")
    fields: dict[str, str] = {}
    files: dict[str, dict] = {}
    for piece in pieces[1:-1]:
        head, sep, content = piece.partition(b"\r\n\r\n")
        if not head.startswith(b"\r\n") or not sep:
            raise ValueError("a part without headers")
        headers = {}
        for line in head[2:].decode("utf-8").split("\r\n"):
            name, colon, value = line.partition(":")
            if not colon:
                raise ValueError(f"header line {line!r}")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.pop("content-disposition", "")
        if not disposition.startswith("form-data;"):
            raise ValueError(f"Content-Disposition {disposition!r}")
        named = dict(re.findall(r'; (name|filename)="([^"]*)"', disposition))
        if "name" not in named or named["name"] in fields or named["name"] in files:
            raise ValueError(f"part name in {disposition!r}")
        if "filename" in named:
            files[named["name"]] = {"filename": named["filename"], "type": headers.pop("content-type", None),
                                    "base64": base64.b64encode(content).decode()}
        else:
            fields[named["name"]] = content.decode("utf-8")
        if headers:
            raise ValueError(f"unexpected part headers {sorted(headers)}")
    return fields, files


HTTP_SERVER = ThreadingHTTPServer(("127.0.0.1", 0), HttpHandler)
HTTP_SERVER.daemon_threads = True
threading.Thread(target=HTTP_SERVER.serve_forever, daemon=True).start()
HTTP_BASE = f"http://127.0.0.1:{HTTP_SERVER.server_address[1]}"


def decode(value: Any) -> Any:
    """cases.json → Python values: {"$bytes": b64} is bytes,
    {"$repeat": c, "times": n} a long string, {"$url": path} a URL of the
    local HTTP server."""
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"])
        if set(value) == {"$url"}:
            return HTTP_BASE + value["$url"]
        if set(value) == {"$repeat", "times"}:
            return value["$repeat"] * value["times"]
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def same(got: Any, want: Any, path: str = "$") -> str | None:
    """Strict equality: bool, int, float, str, bytes, nil are different
    types (Python's 1 == 1.0 == True does not count). Returns the first
    difference, or None."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{path}: want a map, got {got!r}"
        if set(got) != set(want):
            return f"{path}: keys {sorted(map(str, got))} != {sorted(map(str, want))}"
        for key in want:
            diff = same(got[key], want[key], f"{path}.{key}")
            if diff:
                return diff
        return None
    if isinstance(want, list):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            return f"{path}: want {want!r}, got {got!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            diff = same(g, w, f"{path}[{i}]")
            if diff:
                return diff
        return None
    if type(got) is not type(want) or got != want:
        return f"{path}: want {want!r} ({type(want).__name__}), got {got!r} ({type(got).__name__})"
    return None


class Host:
    """The host side: serves models.user.Find, records calls and logs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[list] = []
        self.logs: list[list] = []
        self.store: dict[str, Any] = {}

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.logs.clear()

    def process(self, name: str, args: list) -> Any:
        with self.lock:
            self.calls.append([name, args])
        if name == "models.user.Find":
            if len(args) >= 1 and type(args[0]) is int and args[0] == HOST_USER["id"]:
                return dict(HOST_USER)
            raise YaoError(404, "user not found")
        if name.startswith("stores.hoststore."):
            return self.host_store(name.rsplit(".", 1)[1], args)
        if name == "query.Run":
            return [{"id": 1}]
        raise YaoError(404, f"no such process: {name}")

    def host_store(self, method: str, args: list) -> Any:
        """gou's store, as a dict (no TTLs: the cases use none that expire)."""
        s = self.store
        if method == "Get":
            return s.get(args[0])
        if method == "Set":
            s[args[0]] = args[1]
            return None
        if method == "Has":
            return args[0] in s
        if method == "Del":
            s.pop(args[0], None)
            return None
        if method == "Keys":
            return sorted(s)
        if method == "Len":
            return len(s)
        if method == "Clear":
            s.clear()
            return None
        if method == "GetSet":
            return s.setdefault(args[0], args[1])
        if method == "GetDel":
            return s.pop(args[0], None)
        raise YaoError(404, f"hoststore: no method {method}")

    def log(self, level: int, message: str) -> None:
        with self.lock:
            self.logs.append([LEVELS[level] if 0 <= level < len(LEVELS) else str(level), message])


@pytest.fixture(scope="module")
def runtime(redis_server):
    # The compiled-module cache keeps reruns fast: compiling the Go module
    # with a debug build of the runtime takes minutes.
    cache = Path(os.environ.get("YAO_CONFORMANCE_CACHE", Path(__file__).parent / ".cache"))
    cache.mkdir(parents=True, exist_ok=True)
    # The fs root `data`: hello.txt, and link_out leading to a folder outside.
    files = tempfile.TemporaryDirectory(prefix="yao-conformance-")
    data = Path(files.name) / "data"
    (Path(files.name) / "outside").mkdir()
    (Path(files.name) / "outside" / "secret.txt").write_text("SECRET")
    data.mkdir()
    (data / "hello.txt").write_text("hello from the data root")
    (data / "link_out").symlink_to(Path(files.name) / "outside")
    rt = Runtime({"timeout_ms": 10000, "cache_dir": str(cache), "fs": {"data": str(data)},
                  "stores": {"hoststore": {"backend": "process"},
                             **{name: {**conf, "url": redis_server.url} for name, conf in REDIS_STORES.items()}},
                  "http_allow": [HTTP_BASE.removeprefix("http://")]})
    host = Host()
    rt.set_process_handler(host.process)
    rt.set_log_handler(host.log)
    try:
        rt.load_dir(SCRIPTS)
    except YaoError as e:  # per-file problems must not hide the others
        pytest.fail(f"load_dir({SCRIPTS}) failed: {e}")
    loaded = {entry["id"] for entry in rt.list()}
    yield rt, host, loaded
    rt.close()
    files.cleanup()


@pytest.mark.parametrize("lang", languages())
def test_module_is_built_and_loaded(runtime, lang):
    _, _, loaded = runtime
    module = SCRIPTS / lang / "user.wasm"
    assert module.is_file(), f"{module} is missing: run examples/guests/build-*.sh"
    assert f"{lang}.user" in loaded, f"{module} exists but did not load (see the runtime's last error)"


def test_redis_server_is_running(redis_server):
    if redis_server.error:
        pytest.fail(redis_server.error)
    assert redis_server.command("PING") == "PONG"


def redis_store_of(case: dict) -> dict | None:
    """The config of the Redis store a StoreRoundTrip case runs on, if any."""
    if case["function"] != "StoreRoundTrip" or not case["args"]:
        return None
    return REDIS_STORES.get(case["args"][0])


@pytest.mark.parametrize("lang", languages())
def test_json_numbers_print_as_go_prints_them(runtime, lang):
    """Yao's JSON is Go's encoding/json: the same Echo prints 15 (not 15.0)
    through exec_json in every language, whether the language hands the
    number back as a float64 (Rust, C, Go, AssemblyScript) or as an
    integer (TS: a whole JS number is a Yao int)."""
    rt, _, loaded = runtime
    assert f"{lang}.user" in loaded, f"{lang}/user.wasm did not load"
    out = rt.exec_json(f"scripts.{lang}.user.Echo", "[15.0, 2.5, 1e21, 1e-7, -0.0]")
    assert out == "[15,2.5,1e+21,1e-7,-0]", f"{lang}: {out}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
@pytest.mark.parametrize("lang", languages())
def test_case(runtime, redis_server, lang, case):
    rt, host, loaded = runtime
    if "langs" in case and lang not in case["langs"]:
        pytest.skip(f"{case['function']} is implemented for {case['langs']} only (the case's langs list)")
    module = SCRIPTS / lang / "user.wasm"
    assert module.is_file(), f"{module} is missing: run examples/guests/build-*.sh"
    assert f"{lang}.user" in loaded, f"{module} did not load"
    process = f"scripts.{lang}.user.{case['function']}"
    redis_store = redis_store_of(case)
    if redis_store is not None:
        if redis_server.error:
            pytest.fail(redis_server.error)
        sentinel = f"{redis_store['prefix']}sentinel-{lang}"
        assert redis_server.command("SET", sentinel, b"\xa1x") == "OK"  # MessagePack "x"
    host.reset()
    raised = None
    result = None
    try:
        result = rt.exec(process, *decode(case["args"]), context=case.get("context"))
    except YaoError as e:
        raised = e
    if "error" in case:
        want = case["error"]
        assert raised is not None, f"{process} returned {result!r}; want error {want}"
        assert (raised.code, raised.message) == (want["code"], want["message"])
    else:
        assert raised is None, f"{process} raised {raised.code}: {raised.message}"
        diff = same(result, decode(case["expect"]))
        assert diff is None, f"{process}: {diff}"
    with host.lock:
        calls, logs = list(host.calls), list(host.logs)
    want_calls = decode(case["host_calls"])
    if case.get("host_calls_unordered"):  # made from parallel tasks: any order
        calls, want_calls = sorted(calls, key=repr), sorted(want_calls, key=repr)
    assert same(calls, want_calls) is None, f"host calls: {calls!r}, want {case['host_calls']!r}"
    assert same(logs, decode(case["logs"])) is None, f"logs: {logs!r}, want {case['logs']!r}"
    if redis_store is not None:
        left = redis_server.command("KEYS", redis_store["prefix"] + "*")
        if left:  # so the next language starts clean
            redis_server.command("DEL", *left)
        assert left == [], (f"{process}: Redis still holds {left!r} under {redis_store['prefix']!r}: "
                            "the store did not Clear/GetDel/Del on Redis (did it fall back to memory?)")


def test_cases_are_well_formed():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    for c in CASES:
        assert set(c) <= {"name", "function", "args", "expect", "error", "host_calls", "logs", "langs", "context", "host_calls_unordered"}, c["name"]
        assert set(c.get("langs", ALL_LANGS)) <= set(ALL_LANGS) and c.get("langs", ALL_LANGS), c["name"]
        assert isinstance(c["args"], list), c["name"]
        assert "error" not in c or c.get("expect") is None, f"{c['name']}: expect and error both set"
        for level, _ in c["logs"]:
            assert level in LEVELS, c["name"]
