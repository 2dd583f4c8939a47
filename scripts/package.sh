#!/usr/bin/env bash
# Makes a self-contained release tarball of yaowasm for this machine's
# target: dist/yaowasm-<version>-<target>.tar.gz, which unpacks to
#
#   yaowasm-<version>-<target>/
#     bin/yaowasm                  the CLI (the JS engine is inside it)
#     lib/libyaowasm.so            the C-ABI library (the JS engine is inside it)
#     include/yaowasm.h            its header
#     lib/pkgconfig/yaowasm.pc     pkg-config file, relocatable (prefix from its own folder)
#     share/yaowasm/sdk/…          the guest SDKs: rust, c, go, assemblyscript, typescript
#     README.md, cli-README.md, SECURITY.md, LICENSE* (those that exist)
#
# Use: PKG_CONFIG_PATH=<dir>/lib/pkgconfig for C and Go hosts (Go: -tags
# yaowasm_pkgconfig), <dir>/bin on PATH for the CLI.
#
#   scripts/package.sh               build (release) and package
#   scripts/package.sh --no-build    package what target/release already holds
#
# The release build takes a while (wasmtime and cranelift at opt-level 3);
# CARGO_TARGET_DIR is honoured. The JS engine (js/engine/build.sh: clang-19,
# lld-19, wasi-libc) must be built first, or TS/JS scripts cannot run: this
# script builds it when it is missing and refuses to package without it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build=1
case "${1:-}" in
  --no-build) build=0 ;;
  "") ;;
  *) echo "usage: scripts/package.sh [--no-build]" >&2; exit 2 ;;
esac

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
target="$(rustc -vV | sed -n 's/^host: //p')"
release="${CARGO_TARGET_DIR:-$root/target}/release"
name="yaowasm-$version-$target"

if [ ! -f js/engine/build/engine.wasm ]; then
  bash js/engine/build.sh
fi
if [ "$build" = 1 ]; then
  # The build script of the library embeds js/engine/build/engine.wasm.
  cargo build --release --locked -p yaowasm -p yaowasm-cli
fi
for f in "$release/yaowasm" "$release/libyaowasm.so"; do
  [ -f "$f" ] || { echo "package: $f is missing (run without --no-build)" >&2; exit 1; }
done

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
out="$stage/$name"
mkdir -p "$out/bin" "$out/lib/pkgconfig" "$out/include" "$out/share/yaowasm"
install -m 0755 "$release/yaowasm" "$out/bin/yaowasm"
install -m 0755 "$release/libyaowasm.so" "$out/lib/libyaowasm.so"
install -m 0644 include/yaowasm.h "$out/include/yaowasm.h"

# The pkg-config file: the Go binding's template, with a prefix found from
# the file's own place (pkg-config and pkgconf both define pcfiledir).
sed -e '/^#/d' \
    -e 's|^prefix=.*|prefix=${pcfiledir}/../..|' \
    -e "s|^Version:.*|Version: $version|" \
    bindings/go/yaowasm.pc.in > "$out/lib/pkgconfig/yaowasm.pc"

# The SDKs as committed (no node_modules, target/ or build output).
git ls-files -z sdk | while IFS= read -r -d '' f; do
  mkdir -p "$out/share/yaowasm/$(dirname "$f")"
  cp -p "$f" "$out/share/yaowasm/$f"
done

cp README.md SECURITY.md "$out/"
cp cli/README.md "$out/cli-README.md"
for f in LICENSE*; do [ -f "$f" ] && cp "$f" "$out/"; done

# Smoke test of what is in the box.
"$out/bin/yaowasm" --version >/dev/null
if command -v pkg-config >/dev/null; then
  PKG_CONFIG_PATH="$out/lib/pkgconfig" pkg-config --cflags --libs yaowasm >/dev/null
fi

mkdir -p dist
tar -C "$stage" -czf "dist/$name.tar.gz" "$name"
echo "dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1))"
