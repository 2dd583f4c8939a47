#!/usr/bin/env bash
# A new user's first hour (issue 17), outside this repository: `yaowasm` is
# installed with `cargo install --path cli` into a temporary prefix and is
# the only yaowasm on PATH; then, for each of the five languages, in a
# temporary folder: `yaowasm new`, the project's own test, `yaowasm build`,
# `yaowasm run` (the README's quick start), and a bad input's 400.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export PATH="$HOME/.cargo/bin:$PATH"
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"

echo "--- cargo install --path cli (debug profile; this checkout's target/ holds the build)"
CARGO_TARGET_DIR="$root/target" cargo install --quiet --debug --locked --path "$root/cli" --root "$work/prefix"
export PATH="$work/prefix/bin:$PATH"
[ "$(command -v yaowasm)" = "$work/prefix/bin/yaowasm" ] || { echo "the installed yaowasm is not the one on PATH"; exit 1; }
# Nothing may come from the checkout: no esbuild or cache of ours.
unset YAOWASM_ESBUILD
export XDG_CACHE_HOME="$work/cache"

mkdir -p "$work/user" && cd "$work/user"
order='{"items":[{"price":10,"qty":2}],"coupon":5}'
for lang in c go typescript assemblyscript rust; do
  echo "--- $lang"
  name="orders_${lang}"
  yaowasm new "$lang" "$name" >/dev/null
  case "$lang" in
    c) (cd "$name" && cc -Wall -Wextra -Werror -I. test.c -o test && ./test) ;;
    go) (cd "$name" && go test ./...) ;;
    rust)
      # The Debian route (sdk/rust/README.md's note): these machines have no
      # rustup wasm targets. The examples' target folder already holds std
      # built for wasm, so it is not built again.
      mkdir -p "$name/.cargo" && cp "$root/examples/guests/rust/.cargo/config.toml" "$name/.cargo/"
      (cd "$name" && cargo test --quiet --lib 2>&1 | tail -2)
      export YAOWASM_CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
      export CARGO_TARGET_DIR="$root/examples/guests/rust/target"
      ;;
  esac
  if [ "$lang" = rust ]; then
    PATH="/usr/bin:$PATH" yaowasm build "$name"
  else
    yaowasm build "$name"
  fi
  [ "$lang" = assemblyscript ] && (cd "$name" && npm test --silent 2>&1 | grep -E "^# (pass|fail)")
  got="$(yaowasm run app "scripts.$name.Total" "$order")"
  [ "$got" = 15 ] || { echo "$lang: scripts.$name.Total answered $got, want 15"; exit 1; }
  status=0
  err="$(yaowasm run app "scripts.$name.Total" '{"items":[]}' 2>&1)" || status=$?
  [ "$status" = 2 ] && echo "$err" | grep -q '"code":400' || { echo "$lang: an empty order gave exit $status: $err"; exit 1; }
  echo "$lang: scripts.$name.Total = $got; an empty order is a 400"
done
unset YAOWASM_CARGO RUSTC RUSTC_BOOTSTRAP CARGO_TARGET_DIR
yaowasm inspect app | grep -E "^/|language|sdk:"
