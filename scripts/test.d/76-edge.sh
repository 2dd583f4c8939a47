#!/usr/bin/env bash
# The edge build (issue 20, docs/DEPLOY.md "The edge build"):
#  1. `scripts/package.sh --edge APP --debug --target pulley64` stages the
#     image context of examples/app (its routes and its TS script: the
#     other languages' modules, when earlier suites built them, are left
#     out to keep this quick and its cache one entry); every path deploy/Containerfile COPYs is in
#     it, the binary is the runtime-only build, the cache holds the modules.
#  2. The staged binary serves the staged app from the staged cache on
#     loopback (Pulley, the config's target): POST /api/user/check answers
#     what the full build answers natively; `run` too, and a reload of a
#     precompiled script (rewrite + rename) keeps serving.
#  3. The same binary runs native code precompiled by the full build, with
#     the same result.
#  4. With one cache entry removed, serve refuses to start, naming the
#     script and the `yaowasm compile` to run; `run` fails the same way.
# One runtime-only build (with the pulley feature) serves every check: a
# second wasmtime build is the cost of this suite (docs/DEPLOY.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$PWD"
unset RUST_BACKTRACE

# $tmp, $pids (killed on exit), free_port.
source scripts/lib/background.sh
fail() { echo "76-edge: FAIL: $*"; for f in "$tmp"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }

bash js/engine/build.sh
cargo build -q -p yaowasm-cli
full="$root/target/debug/yaowasm"
[ -f examples/app/scripts/ts/user.wasm ] || "$full" build -q examples/app/scripts/ts

# ---- 1. Stage the image context.
mkdir -p "$tmp/app/scripts/ts"
cp -R examples/app/apis "$tmp/app/apis"
cp examples/app/scripts/ts/user.wasm "$tmp/app/scripts/ts/user.wasm"
edge="$tmp/edge"
started=$(date +%s)
scripts/package.sh --edge "$tmp/app" --debug --target pulley64 --out "$edge" >"$tmp/package.log" 2>&1 || fail "package.sh --edge"
echo "76-edge: package.sh --edge took $(($(date +%s) - started)) s"
# Every COPY source of the Containerfile (all words but the last, flags
# skipped) exists in the context.
copies=0
while read -r word rest; do
  [ "$word" = COPY ] || continue
  set -- $rest
  sources=()
  for arg in "$@"; do case "$arg" in --*) ;; *) sources+=("$arg") ;; esac; done
  unset 'sources[${#sources[@]}-1]'
  for src in "${sources[@]}"; do
    [ -e "$edge/$src" ] || fail "the Containerfile copies $src, which package.sh did not stage"
    copies=$((copies + 1))
  done
done <"$edge/Containerfile"
[ "$copies" -ge 4 ] || fail "expected at least 4 COPY sources, found $copies"
cmp -s deploy/Containerfile "$edge/Containerfile" || fail "the staged Containerfile differs from deploy/Containerfile"
bin="$edge/bin/yaowasm"
"$bin" --version | grep -q "runtime-only" || fail "the staged binary is not the runtime-only build"
"$bin" compile --help >/dev/null 2>&1 && fail "the runtime-only build has a compile command"
ls "$edge"/cache/*.cwasm >/dev/null 2>&1 || fail "no precompiled module in the staged cache"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["target"] == "pulley64"' "$edge/config.json" || fail "config.json has no target"

payload='{"name":"Ada","email":"ada@example.com"}'
expected="$("$full" run examples/app scripts.ts.user.Check "$payload" --no-cache)"
[ -n "$expected" ] || fail "the full build's native run answered nothing"

# ---- 2. Serve the staged app on Pulley.
port="$(free_port)"
start_serve() { # $1: log file
  "$bin" serve "$edge/app" --listen "127.0.0.1:$port" --cache-dir "$edge/cache" --config "@$edge/config.json" >"$1" 2>&1 &
  serve_pid=$!
  pids+=("$serve_pid")
}
start_serve "$tmp/serve.log"
for _ in $(seq 200); do grep -q "listening on" "$tmp/serve.log" && break; kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.05; done
grep -q "listening on" "$tmp/serve.log" || fail "serve did not become ready"
check() {
  curl -s -o "$tmp/body" -w '%{http_code}' -H 'Content-Type: application/json' -d "$payload" "http://127.0.0.1:$port/api/user/check"
}
status="$(check)"
[ "$status" = 200 ] || fail "POST /api/user/check: $status $(cat "$tmp/body")"
python3 -c 'import json,sys; a,b=json.load(open(sys.argv[1])),json.loads(sys.argv[2]); assert a==b, (a,b)' "$tmp/body" "$expected" ||
  fail "Pulley served $(cat "$tmp/body"), native answered $expected"
pulley_run="$("$bin" run "$edge/app" scripts.ts.user.Check "$payload" --cache-dir "$edge/cache" --config "@$edge/config.json")"
[ "$pulley_run" = "$expected" ] || fail "run on Pulley: $pulley_run, native: $expected"
# A reload of a precompiled script (same bytes, written beside and renamed).
cp "$edge/app/scripts/ts/user.wasm" "$edge/app/scripts/ts/.user.wasm.new"
mv "$edge/app/scripts/ts/.user.wasm.new" "$edge/app/scripts/ts/user.wasm"
for _ in $(seq 100); do grep -q "scripts reloaded" "$tmp/serve.log" && break; sleep 0.05; done
grep -q "scripts reloaded" "$tmp/serve.log" || fail "serve did not reload the rewritten script"
grep -q "not loaded" "$tmp/serve.log" && fail "the reload did not load the precompiled script"
status="$(check)"
[ "$status" = 200 ] || fail "POST /api/user/check after the reload: $status $(cat "$tmp/body")"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true

# ---- 3. Native code, precompiled by the full build, on the same binary.
"$full" compile "$edge/app" --cache-dir "$tmp/native-cache" >/dev/null
native_run="$("$bin" run "$edge/app" scripts.ts.user.Check "$payload" --cache-dir "$tmp/native-cache")"
[ "$native_run" = "$expected" ] || fail "native run on the runtime-only build: $native_run, expected $expected"

# ---- 4. A missing entry: serve refuses, naming the script and the command.
entry="$(ls "$edge"/cache/*.cwasm | head -1)"
rm "$entry"
port="$(free_port)"
start_serve "$tmp/refuse.log"
code=0; wait "$serve_pid" || code=$?
[ "$code" != 0 ] || fail "serve started with a module missing from the cache"
grep -q "not precompiled" "$tmp/refuse.log" || fail "serve's refusal does not say 'not precompiled'"
grep -q "user.wasm" "$tmp/refuse.log" || fail "serve's refusal does not name the script"
grep -q "yaowasm compile" "$tmp/refuse.log" || fail "serve's refusal does not name the compile command"
grep -q "listening on" "$tmp/refuse.log" && fail "serve said it was listening"
code=0
"$bin" run "$edge/app" scripts.ts.user.Check "$payload" --cache-dir "$edge/cache" --config "@$edge/config.json" >"$tmp/run.out" 2>"$tmp/run.log" || code=$?
[ "$code" = 2 ] || fail "run with a module missing from the cache: exit $code, expected 2"
grep -q '"code":400.*not precompiled' "$tmp/run.log" || fail "run's error does not say 'not precompiled'"
echo "76-edge: ok (staged $(du -sh "$edge" | cut -f1); runtime-only debug binary $(du -h "$bin" | cut -f1) stripped)"
