#!/usr/bin/env bash
# The README's first command: sets up, builds the example guests that exist
# and the yaowasm CLI (debug profile), then runs the demo app through the
# binary: inspect, a few runs, and a short serve session with curl.
# Languages whose guest is not built yet are skipped with a message.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$root"
app=examples/app
bin=target/debug/yaowasm

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "build the example guests"
shopt -s nullglob
builders=(examples/guests/build-*.sh)
if ((${#builders[@]} == 0)); then
  echo "no examples/guests/build-*.sh yet: no guest to build"
fi
for b in "${builders[@]}"; do
  echo "-- $b"
  bash "$b" || echo "   (failed: that language is skipped)"
done

step "build the CLI"
cargo build -p yaowasm-cli
mkdir -p "$app/scripts"

langs=()
for m in "$app"/scripts/*/user.wasm; do
  langs+=("$(basename "$(dirname "$m")")")
done
if ((${#langs[@]} == 0)); then
  echo "no guest module under $app/scripts/<lang>/user.wasm: nothing to run yet"
  exit 0
fi
echo "guests found: ${langs[*]}"

step "yaowasm compile $app (precompile every module into the app's cache)"
"$bin" compile "$app"

step "yaowasm inspect $app"
"$bin" inspect "$app" || echo "(inspect found problems, listed above)"

step "yaowasm run"
for lang in "${langs[@]}"; do
  for payload in '{"name":"Ada","email":"ada@example.com"}' '{"name":"","email":"nope"}'; do
    echo "\$ yaowasm run $app scripts.$lang.user.Check '$payload'"
    "$bin" run "$app" "scripts.$lang.user.Check" "$payload" || echo "   -> exit status $?"
  done
done

step "yaowasm serve $app --process-api (a short session; the process API is off without the flag)"
log="$(mktemp)"
"$bin" serve "$app" --listen 127.0.0.1:0 --process-api >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
# Startup loads (and, without a cache, compiles) every module: allow for it.
for _ in $(seq 600); do grep -q "^listening on" "$log" && break; sleep 0.2; done
url="$(sed -n 's/^listening on //p' "$log" | head -1)"
[ -n "$url" ] || { cat "$log"; echo "serve did not start"; exit 1; }
echo "\$ curl $url/health"; curl -s "$url/health"; echo
for lang in "${langs[@]}"; do
  echo "\$ curl $url/api/process/scripts.$lang.user.Check -H 'Content-Type: application/json' -d '[{\"name\":\"Ada\",\"email\":\"ada@example.com\"}]'"
  curl -s "$url/api/process/scripts.$lang.user.Check" -H 'Content-Type: application/json' -d '[{"name":"Ada","email":"ada@example.com"}]'; echo
done
# The app's own routes (examples/app/apis/user.http.yao), Yao style.
# Bodies must be JSON (Content-Type: application/json): a form or text/plain is a 415.
json=(-H 'Content-Type: application/json')
echo "\$ curl $url/api/user/check -H 'Content-Type: application/json' -d '{\"name\":\"Ada\",\"email\":\"ada@example.com\"}'"
curl -s "$url/api/user/check" "${json[@]}" -d '{"name":"Ada","email":"ada@example.com"}'; echo
echo "\$ curl $url/api/user/echo -H 'Content-Type: application/json' -d '{\"hello\":[1,2.5,\"x\"]}'"
curl -s "$url/api/user/echo" "${json[@]}" -d '{"hello":[1,2.5,"x"]}'; echo
echo "\$ curl $url/api/process/scripts.nope.Check -H 'Content-Type: application/json' -d '[]'"
curl -s -w ' (HTTP %{http_code})' "$url/api/process/scripts.nope.Check" "${json[@]}" -d '[]'; echo
echo "\$ curl $url/api/user/check -d '{}'     # curl's default Content-Type is a form's"
curl -s -w ' (HTTP %{http_code})' "$url/api/user/check" -d '{}'; echo
kill -TERM "$pid"; wait "$pid" || true
trap - EXIT
echo "-- serve log:"; cat "$log"; rm -f "$log"
