#!/usr/bin/env bash
# Builds the example app's Go and AssemblyScript scripts:
#   examples/guests/go             -> examples/app/scripts/go/user.wasm             (GOOS=wasip1 reactor)
#   examples/guests/assemblyscript -> examples/app/scripts/assemblyscript/user.wasm (asc, no WASI)
# Idempotent and quick when nothing changed: a module is rebuilt only when a
# source it depends on (its guest folder, its SDK, this script) is newer.
# Go comes from the machine (>= 1.24); the npm packages from
# scripts/setup.d/40-assemblyscript.sh (run here too if they are missing).
# Prints each module's size.
set -euo pipefail
guests="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$guests/../.." && pwd)"
scripts="$root/examples/app/scripts"
mkdir -p "$scripts/go" "$scripts/assemblyscript"

# True when $1 is missing or older than any file under the other arguments
# (node_modules and build output left out).
stale() {
  local out="$1"; shift
  [ -f "$out" ] || return 0
  [ -n "$(find "$@" \( -name node_modules -o -name build \) -prune -o -type f -newer "$out" -print -quit)" ]
}

# A Go >= 1.24 (wasip1 reactors and //go:wasmexport): PATH first, then the
# usual install folder.
find_go() {
  local go
  for go in "$(command -v go || true)" /usr/local/go/bin/go; do
    [ -x "$go" ] || continue
    local minor
    minor="$("$go" env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
    if [ -n "$minor" ] && [ "$minor" -ge 24 ]; then echo "$go"; return 0; fi
  done
  echo "build-go-as: Go >= 1.24 is required (GOOS=wasip1 with //go:wasmexport); none found" >&2
  return 1
}

go_out="$scripts/go/user.wasm"
if stale "$go_out" "$guests/go" "$root/sdk/go" "${BASH_SOURCE[0]}"; then
  go="$(find_go)"
  (
    cd "$guests/go"
    GOOS=wasip1 GOARCH=wasm "$go" build -buildmode=c-shared -trimpath -ldflags=-s -o "$go_out.tmp" .
  )
  mv "$go_out.tmp" "$go_out"
fi
echo "go/user.wasm: $(stat -c %s "$go_out") bytes"

as_out="$scripts/assemblyscript/user.wasm"
if stale "$as_out" "$guests/assemblyscript" "$root/sdk/assemblyscript" "${BASH_SOURCE[0]}"; then
  if [ ! -x "$guests/assemblyscript/node_modules/.bin/asc" ]; then
    bash "$root/scripts/setup.d/40-assemblyscript.sh"
  fi
  (
    cd "$guests/assemblyscript"
    # --runtime stub: every call runs in a fresh instance, so a collector
    # would only add size; --use abort= drops the env.abort import.
    node_modules/.bin/asc assembly/user.ts -O3 --runtime stub --use abort= -o "$as_out.tmp"
  )
  mv "$as_out.tmp" "$as_out"
fi
echo "assemblyscript/user.wasm: $(stat -c %s "$as_out") bytes"
