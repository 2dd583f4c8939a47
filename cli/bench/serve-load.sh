#!/usr/bin/env bash
# A bounded load run against `yaowasm serve` on 127.0.0.1 (report, not test):
# requests per second and p99 latency for a trivial script (WAT echo), the
# Rust SDK's user.Check and the TypeScript user.Check when built, plus the
# stripped binary size. wrk: 2 threads, 32 connections, $DURATION (10s) per
# endpoint. Prints a Markdown table for BENCHMARKS.md ("## CLI serve").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
duration="${DURATION:-10s}"
cd "$root"
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/setup.sh installs it)"; exit 1; }

# The one release build of the CLI (waits for, and reuses, a running one);
# YAOWASM_BIN=path uses an already built binary instead.
if [ -n "${YAOWASM_BIN:-}" ]; then
  bin="$YAOWASM_BIN"
else
  env -u RUST_BACKTRACE cargo build --release -p yaowasm-cli >&2
  bin="$root/target/release/yaowasm"
fi

app="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$app"' EXIT
pid=""
mkdir -p "$app/scripts/bench" "$app/scripts/rust" "$app/scripts/ts"
# Trivial: returns its args as they came (a bump allocator and one function).
cat >"$app/trivial.wat" <<'WAT'
(module
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (func (export "yao_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n)))
    (local.get $p))
  (func (export "Echo") (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n)))))
WAT
wat2wasm "$app/trivial.wat" -o "$app/scripts/bench/trivial.wasm"
have_rust=0; have_ts=0
if [ -f examples/app/scripts/rust/user.wasm ]; then cp examples/app/scripts/rust/user.wasm "$app/scripts/rust/user.wasm"; have_rust=1; fi
if [ -f examples/app/scripts/ts/user.wasm ]; then
  cp examples/app/scripts/ts/user.wasm "$app/scripts/ts/user.wasm"; have_ts=1
elif [ -f examples/app/scripts/ts/user.ts ] && "$bin" build examples/app/scripts/ts/user.ts --out "$app/scripts/ts/user.wasm" >&2; then
  have_ts=1
else
  echo "no TypeScript guest could be built: the TS row is skipped" >&2
fi
"$bin" compile "$app" >&2

log="$app/serve.log"
env -u RUST_BACKTRACE "$bin" serve "$app" --listen 127.0.0.1:0 --no-watch --process-api >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "^listening on" "$log" && break; sleep 0.1; done
url="$(sed -n 's/^listening on //p' "$log" | head -1)"
[ -n "$url" ] || { cat "$log"; exit 1; }
case "$url" in http://127.0.0.1:*) ;; *) echo "refusing to load anything but 127.0.0.1: $url"; exit 1 ;; esac

user='[{"name":"Ada","email":"ada@example.com"}]'
run() { # name process body
  local out rps p99 errors
  out="$(BODY="$3" wrk -t2 -c32 -d"$duration" --latency -s "$here/post.lua" "$url/api/process/$2")"
  # A run with any non-2xx answer or socket error is not a valid figure.
  errors="$(printf '%s\n' "$out" | grep -E "Non-2xx|Socket errors" || true)"
  rps="$(printf '%s\n' "$out" | awk '/^Requests\/sec/ {print $2}')"
  p99="$(printf '%s\n' "$out" | awk '$1 == "99%" {print $2}')"
  echo "| $1 | \`$2\` | $rps | $p99 | ${errors:-none} |"
}
echo "| script | process | requests/s | p99 | errors |"
echo "|---|---|---|---|---|"
curl -sf "$url/api/process/scripts.bench.trivial.Echo" -H 'Content-Type: application/json' -d "$user" >/dev/null
run "trivial (WAT echo)" scripts.bench.trivial.Echo "$user"
((have_rust)) && run "Rust SDK user.Check" scripts.rust.user.Check "$user"
((have_ts)) && run "TypeScript user.Check" scripts.ts.user.Check "$user"
kill -TERM "$pid"; wait "$pid" || true; pid=""
strip -o "$app/yaowasm.stripped" "$bin"
echo
echo "binary: $(stat -c %s "$bin") bytes release, $(stat -c %s "$app/yaowasm.stripped") bytes stripped ($(( $(stat -c %s "$app/yaowasm.stripped") / 1024 / 1024 )) MiB)"
echo "machine: $(nproc) cores shared with other builds; wrk -t2 -c32 -d$duration on 127.0.0.1"
