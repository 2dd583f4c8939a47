#!/usr/bin/env bash
# npm packages of the AssemblyScript guest SDK (its tests) and of the
# AssemblyScript example script: the compiler (assemblyscript 0.28) and the
# reference MessagePack codec the SDK's tests compare against. `npm ci` from
# the committed package-lock.json files; skipped when node_modules already
# matches the lock (npm writes node_modules/.package-lock.json).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
command -v npm >/dev/null || { echo "40-assemblyscript: npm is required (Node.js 20)"; exit 1; }
for dir in sdk/assemblyscript examples/guests/assemblyscript; do
  lock="$root/$dir/package-lock.json"
  installed="$root/$dir/node_modules/.package-lock.json"
  if [ -f "$installed" ] && [ "$installed" -nt "$lock" ] && [ "$installed" -nt "$root/$dir/package.json" ]; then
    continue
  fi
  echo "40-assemblyscript: npm ci in $dir"
  (cd "$root/$dir" && npm ci --no-audit --no-fund --loglevel=error)
done
