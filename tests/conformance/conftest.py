"""Makes the Python binding (bindings/python, package yaowasm) importable
without installing it, and starts the Redis server of the Redis store case.

redis_server (session-scoped): a redis-server (Debian's package, installed by
scripts/setup.sh) on a free port of 127.0.0.1, without persistence, started
here and terminated at the end of the session, like tests/host_api.rs does.
When redis-server is missing or does not answer PING, the fixture still
yields (the other cases run), with `error` saying why; the Redis case and
test_redis_server_is_running then FAIL with that message (never skip).
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bindings" / "python"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_reply(f: Any) -> Any:
    """One RESP2 reply: simple string → str, error → RuntimeError, integer,
    bulk string → bytes (None for nil), array → list."""
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError(f"redis: truncated reply {line!r}")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode()
    if kind == b"-":
        raise RuntimeError(f"redis: {body.decode()}")
    if kind == b":":
        return int(body)
    if kind == b"$":
        n = int(body)
        return None if n < 0 else f.read(n + 2)[:-2]
    if kind == b"*":
        n = int(body)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise ConnectionError(f"redis: unexpected reply {line!r}")


class RedisServer:
    """A redis-server of this session (or, in `error`, why there is none)
    with a tiny RESP client to look at it directly."""

    def __init__(self) -> None:
        self.port = free_port()  # nothing listens here when `error` is set
        self.error: str | None = None
        self.proc: subprocess.Popen | None = None
        self.dir = tempfile.TemporaryDirectory(prefix="yao-conformance-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self, *args: str | bytes) -> Any:
        parts = [a if isinstance(a, bytes) else a.encode() for a in args]
        request = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(request)
            with s.makefile("rb") as f:
                return read_reply(f)

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            self.error = ("redis-server is missing: the Redis store case needs it "
                          "(Debian package redis-server: apt-get install redis-server, or scripts/setup.sh)")
            return
        log = Path(self.dir.name) / "redis.log"
        for _ in range(3):  # another process may take the free port first
            with log.open("wb") as out:
                self.proc = subprocess.Popen(
                    [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", self.dir.name],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if self.command("PING") == "PONG":
                        return
                except (OSError, RuntimeError):
                    pass
                time.sleep(0.05)
            self.stop()
            self.port = free_port()
        tail = log.read_text(errors="replace")[-2000:]
        self.error = f"redis-server ({exe}) did not answer PING on 127.0.0.1; its output:\n{tail}"

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.dir.cleanup()
