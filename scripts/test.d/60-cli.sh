#!/usr/bin/env bash
# The yaowasm CLI: unit tests, command tests (assert_cmd) and the loopback
# serve test. Debug profile, like the core's suite, so wasmtime is built once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
env -u RUST_BACKTRACE cargo test -p yaowasm-cli
