#!/usr/bin/env bash
# The Python binding's pytest suite, against target/debug/libyaowasm.so
# (built by 10-rust.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[ -e target/debug/libyaowasm.so ] || cargo build --lib
cd bindings/python
python3 -m pytest -q tests
