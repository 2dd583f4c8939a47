#!/usr/bin/env bash
# The edge build on another CPU (docs/DEPLOY.md, "The edge build"):
# cross-builds the runtime-only CLI for aarch64-unknown-linux-gnu, compiles
# examples/app's TS script for aarch64 with the full CLI (`compile
# --target`), and runs it under qemu-user: the answer must equal the native
# one, and an empty cache must be refused with the message.
#
# Needs the Rust target (rustup target add aarch64-unknown-linux-gnu) and
# Debian's gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and
# qemu-user-static. Not in scripts/test.d: the Rust target is not on a
# fresh machine, and the cross build (a third wasmtime build) took 16.5 min
# on the 2 shared cores here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
unset RUST_BACKTRACE
triple=aarch64-unknown-linux-gnu
[ -n "${EDGE_AARCH64_BIN:-}" ] || rustup target list --installed | grep -qx "$triple" || { echo "rustup target add $triple first"; exit 1; }
for tool in aarch64-linux-gnu-gcc qemu-aarch64-static; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static"; exit 1; }
done
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
# EDGE_AARCH64_BIN: a runtime-only aarch64 yaowasm built before (skips
# the cross build).
target_dir="${CARGO_TARGET_DIR:-target}"
full="$target_dir/debug/yaowasm"
arm="${EDGE_AARCH64_BIN:-$target_dir/$triple/debug/yaowasm}"
cargo build -q -p yaowasm-cli
[ -n "${EDGE_AARCH64_BIN:-}" ] || cargo build -q -p yaowasm-cli --no-default-features --features runtime --target "$triple"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
[ -f examples/app/scripts/ts/user.wasm ] || "$full" build -q examples/app/scripts/ts
payload='{"name":"Ada","email":"ada@example.com"}'
"$full" compile examples/app --target "$triple" --cache-dir "$tmp/cache"
file "$(ls "$tmp"/cache/*.cwasm | head -1)" | grep -q "ARM aarch64" || { echo "FAIL: the cache holds no aarch64 code"; exit 1; }
native="$("$full" run examples/app scripts.ts.user.Check "$payload" --no-cache)"
qemu() { qemu-aarch64-static -L /usr/aarch64-linux-gnu "$arm" "$@"; }
qemu --version | grep -q runtime-only
on_arm="$(qemu run examples/app scripts.ts.user.Check "$payload" --cache-dir "$tmp/cache")"
[ "$on_arm" = "$native" ] || { echo "FAIL: aarch64 answered $on_arm, native $native"; exit 1; }
mkdir -m 700 "$tmp/empty"
if qemu run examples/app scripts.ts.user.Check "$payload" --cache-dir "$tmp/empty" 2>"$tmp/err"; then
  echo "FAIL: aarch64 ran without a precompiled module"; exit 1
fi
grep -q "not precompiled" "$tmp/err" || { echo "FAIL: no 'not precompiled' message"; cat "$tmp/err"; exit 1; }
echo "edge-aarch64: ok ($triple under qemu-user: $on_arm)"
