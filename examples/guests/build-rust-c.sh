#!/usr/bin/env bash
# Builds the example app's Rust and C scripts:
#   examples/guests/rust -> examples/app/scripts/rust/user.wasm (wasm32-wasip1)
#   examples/guests/c    -> examples/app/scripts/c/user.wasm    (wasi-libc reactor)
# Idempotent and quick when nothing changed (cargo and a timestamp check
# decide; an unchanged module is not copied, so its mtime stays).
# The toolchains: Debian's rustc-web with build-std for Rust (see
# examples/guests/rust/.cargo/config.toml), clang-19 + wasi-libc for C;
# scripts/setup.sh installs them. Prints each module's size.
set -euo pipefail
guests="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$guests/../.." && pwd)"
scripts="$root/examples/app/scripts"
mkdir -p "$scripts/rust" "$scripts/c"

# Copies $1 to $2 unless they are already the same bytes.
install_module() {
  if ! cmp -s "$1" "$2"; then cp "$1" "$2.tmp" && mv "$2.tmp" "$2"; fi
  echo "$(basename "$(dirname "$2")")/user.wasm: $(stat -c %s "$2") bytes"
}

# Rust: the second toolchain (/usr/bin/cargo 1.96, build-std) — the rustup
# one has no wasm targets.
(
  cd "$guests/rust"
  PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    /usr/bin/cargo build --quiet --release --target wasm32-wasip1
)
install_module "$guests/rust/target/wasm32-wasip1/release/yao_example_user.wasm" "$scripts/rust/user.wasm"

# C: clang with wasi-libc, as a reactor (exports _initialize).
c_out="$guests/c/build/user.wasm"
mkdir -p "$guests/c/build"
if [ ! -f "$c_out" ] || [ "$guests/c/user.c" -nt "$c_out" ] || [ "$root/sdk/c/yao.h" -nt "$c_out" ] \
   || [ "${BASH_SOURCE[0]}" -nt "$c_out" ]; then
  clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Wextra -Werror -mexec-model=reactor \
    -Wl,--strip-all -I"$root/sdk/c" -o "$c_out.tmp" "$guests/c/user.c"
  mv "$c_out.tmp" "$c_out"
fi
install_module "$c_out" "$scripts/c/user.wasm"
