#!/usr/bin/env bash
# JS/TS on the shared QuickJS engine: builds the engine if needed, builds the
# TypeScript example with `yaowasm build` (so the conformance suite finds
# examples/app/scripts/ts/user.wasm), then the Rust tests of the JS path.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash js/engine/build.sh
unset RUST_BACKTRACE
cargo build -p yaowasm-cli
target/debug/yaowasm build examples/app/scripts/ts
cargo test -p yaowasm-cli --test js
cargo test --lib js::
