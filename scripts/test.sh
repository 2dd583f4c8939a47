#!/usr/bin/env bash
# Runs every test of the project: set-up first, then each scripts/test.d/*.sh
# in order. Prints one line per suite and a closing "N passed, N failed" line.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$root"
bash "$here/setup.sh" || { echo "setup failed"; exit 1; }

passed=0; failed=0; failures=()
for suite in "$here"/test.d/*.sh; do
  name="$(basename "$suite" .sh)"
  echo "=== $name"
  start=$(date +%s)
  if bash "$suite"; then
    passed=$((passed + 1)); echo "=== $name: ok ($(( $(date +%s) - start )) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($(( $(date +%s) - start )) s)"
  fi
done
((failed)) && echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed"
exit $((failed > 0))
