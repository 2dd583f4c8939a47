#!/usr/bin/env bash
# Fails when `cargo build --lib` and `cargo build -p yaowasm-cli` would
# resolve different features for a crate both use: alternating the two would
# then rebuild wasmtime (minutes). Fix by asking for the feature in the root
# Cargo.toml's "feature unification" block.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tree() { cargo tree -q -p "$1" -e normal --target all -f '{p} [{f}]' --prefix none; }
python3 - <(tree yaowasm) <(tree yaowasm-cli) <<'PY'
import re, sys
def feats(path):
    out = {}
    for line in open(path):
        m = re.match(r'(\S+) (v\S+).*\[(.*)\]', line.strip())
        if m and not m.group(1).startswith('yaowasm'):
            out.setdefault((m.group(1), m.group(2)), set()).update(f for f in m.group(3).split(',') if f)
    return out
lib, cli = feats(sys.argv[1]), feats(sys.argv[2])
bad = [f"{n} {v}: lib {sorted(lib[(n, v)])} cli {sorted(cli[(n, v)])}" for (n, v) in sorted(lib.keys() & cli.keys()) if lib[(n, v)] != cli[(n, v)]]
if bad:
    print("features differ between the library and the CLI build:\n" + "\n".join(bad))
    sys.exit(1)
print(f"one feature set for the library and the CLI ({len(lib.keys() & cli.keys())} shared crates)")
PY
