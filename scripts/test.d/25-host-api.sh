#!/usr/bin/env bash
# The host API (docs/ABI.md §5-§8: store, fs, http, query) through WAT
# guests: tests/host_api.rs. The tests start what they need themselves and
# stop it: a redis-server on a free port of 127.0.0.1 (Debian's package,
# installed by scripts/setup.sh) and a small HTTP server on 127.0.0.1.
# 10-rust does not run them (nothing runs twice); the lib's store/fs/http
# unit tests run in 10-rust with every other lib test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install redis-server (scripts/setup.sh)"; exit 1; }
redis-server --version
cargo test --test host_api -- --test-threads 2
