#!/usr/bin/env bash
# House style and lints over the whole workspace: rustfmt (rustfmt.toml)
# and clippy with warnings as errors, test and bench code included.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
