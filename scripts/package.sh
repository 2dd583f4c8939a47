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
# The edge image (docs/DEPLOY.md, "The edge build"): stages the build
# context of deploy/Containerfile for one app, by default in dist/edge/:
#
#   scripts/package.sh --edge APP [--config FILE] [--target TRIPLE] [--bin FILE]
#                      [--out DIR] [--debug] [--no-build]
#
#     Containerfile      deploy/Containerfile
#     bin/yaowasm        the runtime-only CLI (no compiler), stripped
#     app/scripts, app/apis   the app's .wasm scripts and its routes
#     config.json        the runtime config (FILE, else {}), with "target"
#                        when --target is given
#     cache/             every module, and the JS engine snapshot when the
#                        app has JS/TS scripts, precompiled with that config
#                        by the full CLI (`yaowasm compile`): for this
#                        machine's triple (baseline CPU, no features of this
#                        one), or for TRIPLE
#
# --target pulley64 builds the runtime-only CLI with the `pulley` feature
# (wasmtime's interpreter: runs on any 64-bit little-endian Linux). Any
# other TRIPLE than this machine's needs --bin, a runtime-only yaowasm built
# for that machine (none can be built here: docs/DEPLOY.md).
#
# It builds both CLIs first, in one target folder: the runtime-only one in
# the `edge` profile (<target>/edge/yaowasm; fat LTO, opt-level s: under
# 8 MB) and the full one in release. With --debug both are dev builds (for
# tests): the runtime-only one first, copied to
# <target>/runtime-only/debug/yaowasm, then the full one, so
# <target>/debug/yaowasm stays the full CLI and the crates both builds
# share compile once (only wasmtime and what uses it build twice).
# --no-build uses what those two paths hold.
#
# The release build takes a while (wasmtime and cranelift at opt-level 3);
# CARGO_TARGET_DIR is honoured. The JS engine (js/engine/build.sh: clang-19,
# lld-19, wasi-libc) must be built first, or TS/JS scripts cannot run: this
# script builds it when it is missing and refuses to package without it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build=1
edge=""; edge_config=""; edge_out="dist/edge"; profile=release; edge_target=""; edge_bin=""
usage="usage: scripts/package.sh [--no-build] | --edge APP [--config FILE] [--target TRIPLE] [--bin FILE] [--out DIR] [--debug] [--no-build]"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --edge) edge="${2:?$usage}"; shift ;;
    --config) edge_config="${2:?$usage}"; shift ;;
    --target) edge_target="${2:?$usage}"; shift ;;
    --bin) edge_bin="${2:?$usage}"; shift ;;
    --out) edge_out="${2:?$usage}"; shift ;;
    --debug) profile=debug ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$edge" ] && { [ -n "$edge_config$edge_target$edge_bin" ] || [ "$edge_out" != dist/edge ] || [ "$profile" != release ]; }; then
  echo "$usage" >&2; exit 2
fi

if [ -n "$edge" ]; then
  host="$(rustc -vV | sed -n 's/^host: //p')"
  features=runtime
  case "$edge_target" in
    "" | "$host") ;;
    pulley64) features=runtime,pulley ;;
    *) [ -n "$edge_bin" ] || { echo "package: --target $edge_target needs --bin, a runtime-only yaowasm built for it" >&2; exit 2; } ;;
  esac
  target_dir="${CARGO_TARGET_DIR:-$root/target}"
  full="$target_dir/$profile/yaowasm"
  if [ "$profile" = release ]; then
    # The `edge` profile (Cargo.toml: fat LTO, opt-level s): the smallest
    # binary, in a folder of its own.
    cargo_profile=(--release); small_profile=(--profile edge)
    small="${edge_bin:-$target_dir/edge/yaowasm}"
  else
    cargo_profile=(); small_profile=()
    small="${edge_bin:-$target_dir/runtime-only/$profile/yaowasm}"
  fi
  if [ ! -f js/engine/build/engine.wasm ]; then
    bash js/engine/build.sh
  fi
  if [ "$build" = 1 ]; then
    if [ -z "$edge_bin" ]; then
      cargo build "${small_profile[@]}" --locked -p yaowasm-cli --no-default-features --features "$features"
      if [ "$profile" != release ]; then
        # Same path as the full CLI's: keep a copy before that build.
        mkdir -p "$(dirname "$small")"
        cp "$full" "$small.tmp" && mv "$small.tmp" "$small"
      fi
    fi
    cargo build "${cargo_profile[@]}" --locked -p yaowasm-cli
  fi
  for f in "$full" "$small"; do
    [ -x "$f" ] || { echo "package: $f is missing (run without --no-build)" >&2; exit 1; }
  done
  [ -d "$edge/scripts" ] || { echo "package: $edge is not a Yao app (no scripts/)" >&2; exit 1; }
  rm -rf "$edge_out"
  mkdir -p "$edge_out/bin" "$edge_out/app/scripts" "$edge_out/app/apis"
  install -m 0644 deploy/Containerfile "$edge_out/Containerfile"
  install -m 0755 "$small" "$edge_out/bin/yaowasm"
  strip "$edge_out/bin/yaowasm" 2>/dev/null || true
  # The scripts: the .wasm files only (TS sources, projects and
  # node_modules stay behind); the routes as they are.
  (cd "$edge/scripts" && find . -name '*.wasm' -type f -not -path '*/node_modules/*' -print0) |
    while IFS= read -r -d '' f; do
      install -D -m 0644 "$edge/scripts/$f" "$edge_out/app/scripts/$f"
    done
  if [ -d "$edge/apis" ]; then cp -R "$edge/apis/." "$edge_out/app/apis/"; fi
  # The config, with the target the cache is compiled for: the runtime
  # there reads the same file, so its cache keys match.
  python3 - "${edge_config:-}" "$edge_target" >"$edge_out/config.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1])) if sys.argv[1] else {}
if sys.argv[2]:
    config["target"] = sys.argv[2]
print(json.dumps(config, indent=2))
PY
  # The cache: 0700, its key 0600 (the image keeps these modes; the
  # Containerfile gives it to the user that runs serve).
  # Without --target: this machine's triple, which compiles for its
  # baseline CPU rather than for this CPU's features, so the image runs on
  # any x86-64 (or aarch64) machine (wasmtime refuses code that needs a
  # feature the CPU lacks). Same triple, same cache keys: no config needed.
  "$full" compile "$edge_out/app" --cache-dir "$edge_out/cache" --config "@$edge_out/config.json" --target "${edge_target:-$host}"
  if [ -z "$edge_bin" ]; then "$edge_out/bin/yaowasm" --version | grep -q runtime-only; fi
  echo "$edge_out: bin/yaowasm ($(du -h "$edge_out/bin/yaowasm" | cut -f1)), app/, cache/ ($(du -sh "$edge_out/cache" | cut -f1))"
  exit 0
fi

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
