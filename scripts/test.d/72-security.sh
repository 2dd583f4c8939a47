#!/usr/bin/env bash
# Regression tests of SECURITY.md's holes (issue: a hostile review): one
# tests/security_*.rs file per area; each test failed on the code before its
# fix. The serve holes are in the CLI's own suite (60-cli).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
targets=()
for f in tests/security_*.rs; do
  [ -e "$f" ] && targets+=(--test "$(basename "$f" .rs)")
done
((${#targets[@]})) || { echo "no tests/security_*.rs"; exit 1; }
env -u RUST_BACKTRACE cargo test "${targets[@]}"
