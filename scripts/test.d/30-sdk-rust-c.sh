#!/usr/bin/env bash
# The Rust and C guest SDKs: the C codec tests (natively, with ASan/UBSan),
# the Rust SDK's unit tests (on the build machine), the example scripts
# built as the app uses them (examples/guests/build-rust-c.sh), and the
# other builds each SDK supports — C without any libc, Rust for
# wasm32-unknown-unknown — checked for their imports/exports and run
# through the whole conformance table in the runtime.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$PWD"
export PATH="$HOME/.cargo/bin:$PATH"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "--- C SDK: codec tests (gcc, ASan + UBSan)"
gcc -std=c11 -Wall -Wextra -Werror -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  -Isdk/c sdk/c/test/codec_test.c -o "$work/codec_test" -lm
"$work/codec_test"

echo "--- Rust SDK: unit tests on the build machine"
CARGO_TARGET_DIR="$root/sdk/rust/target" cargo test --quiet --manifest-path sdk/rust/Cargo.toml

echo "--- examples: Rust (wasm32-wasip1) and C (wasi-libc reactor)"
bash examples/guests/build-rust-c.sh

echo "--- the other builds: C without libc, Rust for wasm32-unknown-unknown"
mkdir -p "$work/scripts/c" "$work/scripts/rust"
clang-19 --target=wasm32 -O2 -Wall -Wextra -Werror -nostdlib -Wl,--no-entry -Wl,--strip-all \
  -Isdk/c -o "$work/scripts/c/user.wasm" examples/guests/c/user.c
(cd examples/guests/rust && PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
  /usr/bin/cargo build --quiet --release --target wasm32-unknown-unknown)
cp examples/guests/rust/target/wasm32-unknown-unknown/release/yao_example_user.wasm "$work/scripts/rust/user.wasm"

# imports_of FILE: "module.name" per import; exports_of FILE: export names.
imports_of() { wasm-objdump -x -j Import "$1" | sed -n 's/.* <- \(.*\)$/\1/p'; }
exports_of() { wasm-objdump -x -j Export "$1" | sed -n 's/.* -> "\(.*\)"$/\1/p'; }
functions="Add BeforeSave Check Deny Echo Log Nested StoreRoundTrip StoreLists FsRoundTrip FsRead HttpGet HttpPost HttpUpload Query Context Parallel"
check_module() { # FILE ALLOWED-IMPORT-REGEX
  local file="$1" allowed="$2" bad
  bad="$(imports_of "$file" | grep -Ev "$allowed" || true)"
  [ -z "$bad" ] || { echo "$file: unexpected imports: $bad"; return 1; }
  for name in yao_alloc yao_free memory $functions; do
    [ "$(exports_of "$file" | grep -cx "$name")" = 1 ] || { echo "$file: export $name missing or repeated"; return 1; }
  done
  echo "$file: $(stat -c %s "$file") bytes, imports: $(imports_of "$file" | tr '\n' ' ')"
}
check_module "$work/scripts/c/user.wasm" '^yao\.(process|log|store|store_get|store_set|store_del|fs|http|query|context|tasks|sleep)$'
check_module "$work/scripts/rust/user.wasm" '^yao\.(process|log|store|store_get|store_set|store_del|fs|http|query|context|tasks|sleep)$'
check_module examples/app/scripts/c/user.wasm '^(yao\.(process|log|store|store_get|store_set|store_del|fs|http|query|context|tasks|sleep)|wasi_snapshot_preview1\..*)$'
check_module examples/app/scripts/rust/user.wasm '^(yao\.(process|log|store|store_get|store_set|store_del|fs|http|query|context|tasks|sleep)|wasi_snapshot_preview1\..*)$'
exports_of examples/app/scripts/c/user.wasm | grep -qx _initialize || { echo "the C reactor does not export _initialize"; exit 1; }

echo "--- the conformance table over the no-libc C and wasm32-unknown-unknown Rust modules"
[ -f target/debug/libyaowasm.so ] || cargo build --lib
YAO_CONFORMANCE_SCRIPTS="$work/scripts" YAO_CONFORMANCE_LANGS=rust,c \
  python3 -m pytest -q -p no:cacheprovider tests/conformance
