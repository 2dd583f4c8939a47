#!/usr/bin/env bash
# The core's unit and integration tests (debug profile: wasmtime builds once
# and is shared with the cdylib the other suites load), then the header check.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo build --lib
# The core's own test targets; host_api, js and faults have suites of their
# own (25, 35, 70), so nothing runs twice.
cargo test --lib --test exec --test load --test ffi --test contract
# build.rs regenerates include/yaowasm.h; a difference means it was stale.
if git rev-parse --git-dir >/dev/null 2>&1 && ! git diff --exit-code -- include/yaowasm.h; then
  echo "include/yaowasm.h is stale: commit the regenerated header"; exit 1
fi
