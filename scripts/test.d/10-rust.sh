#!/usr/bin/env bash
# The core's unit and integration tests (debug profile: wasmtime builds once
# and is shared with the cdylib the other suites load), then the header check (`cargo xtask header --check`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo build --lib
# The core's own test targets; host_api, js and faults have suites of their
# own (25, 35, 70), so nothing runs twice.
cargo test --lib --test exec --test load --test ffi --test contract --test preinit
# The committed header must be what src/ffi.rs says (cargo xtask header).
cargo xtask header --check
# One feature set for the library and the CLI (no rebuild when alternating).
bash scripts/feature-check.sh
