#!/usr/bin/env bash
# JS/TS scripts: esbuild (and dayjs / lodash-es for the bundling tests) from
# npm into js/node_modules, at the versions of js/package-lock.json; then the
# QuickJS-ng engine (js/engine/build.sh: C sources of the rquickjs-sys crate,
# clang-19 for wasm32-wasi), which the library embeds when it is built.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$root/js"
if [ ! -x node_modules/.bin/esbuild ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node_modules/.bin/esbuild --version >/dev/null
bash "$root/js/engine/build.sh"
