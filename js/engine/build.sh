#!/usr/bin/env bash
# Builds js/engine/build/engine.wasm: QuickJS-ng (C sources of the
# rquickjs-sys crate from crates.io) + engine.c, for wasm32-wasi, with
# clang-19. The library embeds the result (src/js.rs); the snapshot
# (wasmtime-wizer) is taken at run time, once per cache_dir.
# Idempotent: rebuilds only when an input is newer than the output.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/build/engine.wasm"
QJS_CRATE_VERSION="0.14.0"   # QuickJS-ng 0.16.2

find_sources() {
  ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/rquickjs-sys-"$QJS_CRATE_VERSION"/quickjs 2>/dev/null | head -1
}
Q="$(find_sources || true)"
if [ -z "$Q" ]; then
  # Let cargo download the crate (crates.io) through a throwaway manifest.
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/src" && : > "$tmp/src/lib.rs"
  printf '[package]\nname = "qjs-sources"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nrquickjs-sys = "=%s"\n' "$QJS_CRATE_VERSION" > "$tmp/Cargo.toml"
  (cd "$tmp" && cargo fetch -q)
  rm -rf "$tmp"
  Q="$(find_sources)"
fi

mkdir -p "$here/build"
if [ -f "$out" ] && [ "$out" -nt "$here/engine.c" ] && [ "$out" -nt "$here/prelude.js" ] && [ "$out" -nt "$here/build.sh" ]; then
  exit 0
fi
python3 - "$here/prelude.js" "$here/build/prelude.h" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
body = ",".join(str(b) for b in data)
open(sys.argv[2], "w").write(
    "/* generated from prelude.js by build.sh */\n"
    f"static const unsigned char yao_prelude_js[] = {{{body},0}};\n"
    f"static const unsigned int yao_prelude_js_len = {len(data)};\n")
PY
echo "js engine: compiling QuickJS-ng from $Q (about 30 s)"
# -mbulk-memory: memcpy/memset become memory.copy/memory.fill (wasmtime runs
# them natively) instead of calls into wasi-libc: user.ts Check p50
# 48.0 -> 46.3 us over 9 alternating bench rounds (machine loaded).
clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -mbulk-memory -mexec-model=reactor -D_GNU_SOURCE \
  -DNDEBUG -I"$Q" -I"$here/build" \
  -Wno-everything \
  "$Q/quickjs.c" "$Q/libregexp.c" "$Q/libunicode.c" "$Q/dtoa.c" "$here/engine.c" \
  -Wl,-z,stack-size=1048576 -Wl,--strip-all \
  -o "$out.tmp"
mv "$out.tmp" "$out"
ls -l "$out"
