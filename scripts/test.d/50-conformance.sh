#!/usr/bin/env bash
# The cross-language conformance run: builds every language's example
# scripts with the build scripts that exist (examples/guests/build-*.sh),
# then runs tests/conformance/cases.json against all of them in one runtime.
# A language whose module is missing fails; YAO_CONFORMANCE_LANGS narrows.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
for build in examples/guests/build-*.sh; do
  [ -e "$build" ] || continue
  echo "--- $build"
  bash "$build"
done
[ -f target/debug/libyaowasm.so ] || cargo build --lib
python3 -m pytest -q -p no:cacheprovider tests/conformance
