#!/usr/bin/env bash
# The fault table of RELIABILITY.md: every hostile behaviour of a guest, a
# host or the files around them ends in its documented code, and the next
# call on the same runtime succeeds. (The soak bench and the fuzzers are not
# run here: see RELIABILITY.md for how to run them.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# A panic backtrace in a debug build takes seconds; some rows panic on purpose.
env -u RUST_BACKTRACE cargo test --test faults
