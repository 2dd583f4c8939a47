#!/usr/bin/env bash
# Set-up for bindings/ and examples/host-go/: Python's msgpack and pytest, wabt
# (wat2wasm, for the test guests), and the Go modules of bindings/go (a Go
# toolchain >= 1.24 is expected on PATH). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python3 -c "import msgpack, pytest" 2>/dev/null || python3 -m pip install -q msgpack pytest
command -v wat2wasm >/dev/null || {
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get -o DPkg::Lock::Timeout=900 install -y -qq wabt >/dev/null
}
if command -v go >/dev/null; then
  for m in bindings/go bindings/go/gou examples/host-go; do
    [ -f "$root/$m/go.mod" ] && (cd "$root/$m" && go mod download)
  done
fi
exit 0
