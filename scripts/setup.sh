#!/usr/bin/env bash
# Installs everything yaowasm needs on a fresh Debian 12 machine, then runs
# each scripts/setup.d/*.sh (one per part of the project). Idempotent: a
# second run only checks.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
export PATH="$HOME/.cargo/bin:$PATH"

apt_packages=(
  # guests: Rust (second rustc with std sources for build-std), C, AssemblyScript tools
  rustc-web rust-web-src cargo-web lld-22 wabt clang-19 lld-19 llvm-19 wasi-libc libclang-rt-19-dev-wasm32
  # host-API tests and load benchmarks
  redis-server wrk
  # the many-node test (scripts/test.d/74-many-nodes.sh): the balancer in front
  nginx
  pkg-config
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get -o DPkg::Lock::Timeout=900 install -y -qq "${missing[@]}" >/dev/null
fi

python3 -c "import msgpack, pytest" 2>/dev/null || python3 -m pip install -q msgpack pytest

for part in "$here"/setup.d/*.sh; do
  [ -e "$part" ] || continue
  echo "setup: $(basename "$part")"
  bash "$part"
done
