#!/usr/bin/env bash
# The C host example: includes yaowasm.h, links libyaowasm.so, runs checks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../examples/host-c"
make -s clean
make -s run
