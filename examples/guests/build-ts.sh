#!/usr/bin/env bash
# Builds the TypeScript version of the example app's scripts
# (examples/app/scripts/ts/*.ts → .wasm hooks) with `yaowasm build`, which
# runs esbuild and compiles to QuickJS bytecode with the engine itself.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
bash js/engine/build.sh
cargo build -q -p yaowasm-cli
target/debug/yaowasm build examples/app/scripts/ts
