#!/usr/bin/env bash
# The Go binding and its gou adapter under the race detector, then the
# examples/host-go program built and run on the shared WAT test guest. Links
# target/debug/libyaowasm.so (built by 10-rust.sh). The gou adapter's TS
# tests build their script with the CLI and call the example Rust module:
# both are built here so they never skip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[ -e target/debug/libyaowasm.so ] || cargo build --lib
cargo build -p yaowasm-cli
[ -f examples/app/scripts/rust/user.wasm ] || bash examples/guests/build-rust-c.sh
unset RUST_BACKTRACE
(cd bindings/go && go vet ./... && go test -race -count=1 ./...)
(cd bindings/go/gou && go vet ./... && go test -race -count=1 ./...)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
wat2wasm bindings/testdata/testmod.wat -o "$tmp/demo.wasm"
(cd examples/host-go && go build -o "$tmp/host-go" .)
"$tmp/host-go" "$tmp"
