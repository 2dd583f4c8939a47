#!/usr/bin/env bash
# Runs every fuzz target for a bounded time: fuzz/run.sh [seconds per target]
# (default 120). Not part of CI (scripts/test.d): it needs a nightly-flag
# build of wasmtime with coverage instrumentation (~10 min the first time)
# and real CPU time. Crashes land in fuzz/artifacts/<target>/; each one
# found must be fixed with a regression test (RELIABILITY.md).
#
# cargo-fuzz needs nightly flags: a stable toolchain takes them with
# RUSTC_BOOTSTRAP=1. CARGO/RUSTC pick the toolchain (default: the ones on
# PATH); SANITIZER=address|none (default none: the code under test is safe
# Rust over wasmtime, and ASan doubles the build and halves the speed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
seconds="${1:-120}"
targets="${TARGETS:-value packed load}"
export RUSTC_BOOTSTRAP=1
unset RUST_BACKTRACE
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
sanitizer="${SANITIZER:-none}"
for target in $targets; do cargo fuzz build --release --sanitizer "$sanitizer" "$target"; done
for target in $targets; do
  corpus="corpus/$target"
  mkdir -p "$corpus" "artifacts/$target"
  seeds=()
  [ -d "seeds/$target" ] && seeds=("seeds/$target")
  echo "=== fuzz $target for ${seconds}s"
  # One job on purpose: the machine is shared. -rss_limit_mb: the load
  # target reserves address space for the instance pool, not RSS.
  cargo fuzz run --release --sanitizer "$sanitizer" "$target" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
    2>&1 | tee "artifacts/$target/last-run.log" | grep -E "^(#[0-9]+ *DONE|stat::|==[0-9]+==|INFO: Running|thread '.*' panicked|SUMMARY)" || true
  if ls "artifacts/$target"/crash-* "artifacts/$target"/oom-* "artifacts/$target"/timeout-* >/dev/null 2>&1; then
    echo "=== $target: FOUND CRASHES in fuzz/artifacts/$target"; found=1
  fi
done
exit "${found:-0}"
