#!/usr/bin/env bash
# Runs the Go binding benchmarks against target/release/libyaowasm.so
# (cargo build --lib --release) in one `go test -bench` run and prints the
# median ns/op of each plus the figures BENCHMARKS.md reports.
# RUST_BACKTRACE is unset: it makes wasmtime's error paths 2-3x slower.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
count="${COUNT:-7}"
tags="${TAGS:-yaowasm_release}"
out="$(env -u RUST_BACKTRACE go test -tags "$tags" -run '^$' -bench . -benchtime "${BENCHTIME:-1s}" -count "$count" . )"
echo "$out" | grep -E '^(goos|goarch|cpu|Benchmark)'
echo "$out" | awk '
  /^Benchmark/ { name=$1; sub(/-[0-9]+$/, "", name); v[name]=v[name] " " $3 }
  END {
    for (n in v) {
      k = split(substr(v[n], 2), a, " ")
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      med[n] = (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
      printf "median %-32s %10.0f ns/op (n=%d)\n", n, med[n], k
    }
    printf "Go Exec overhead over the C ABI:        %8.2f us/call\n", (med["BenchmarkExec"] - med["BenchmarkCABIExec"]) / 1000
    printf "wazero / yaowasm, Echo:                 %8.2fx\n", med["BenchmarkWazeroExec"] / med["BenchmarkExec"]
    printf "wazero / yaowasm, Echo via host call:   %8.2fx\n", med["BenchmarkWazeroExecHostCall"] / med["BenchmarkExecHostCall"]
  }'
