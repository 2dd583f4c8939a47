#!/usr/bin/env bash
# The Go and AssemblyScript guest SDKs: builds the example scripts in both
# languages, runs each SDK's own tests (Go: go test on the host, vet for
# wasip1; AssemblyScript: node:test over compiled test modules), then the
# cross-language conformance suite when it exists (it loads the modules
# built here through the C API).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

bash examples/guests/build-go-as.sh

go=go
command -v go >/dev/null || go=/usr/local/go/bin/go
echo "--- sdk/go"
(cd sdk/go && "$go" test ./... && GOOS=wasip1 GOARCH=wasm "$go" vet ./...)
(cd examples/guests/go && "$go" test ./... && GOOS=wasip1 GOARCH=wasm "$go" vet ./...)

echo "--- sdk/assemblyscript"
[ -x sdk/assemblyscript/node_modules/.bin/asc ] || bash scripts/setup.d/40-assemblyscript.sh
(cd sdk/assemblyscript && node --test tests/)

if [ -d tests/conformance ]; then
  echo "--- tests/conformance"
  # The Rust and C rows belong to their own suite; this one checks ours.
  YAO_CONFORMANCE_LANGS=go,assemblyscript python3 -m pytest -q tests/conformance
fi
