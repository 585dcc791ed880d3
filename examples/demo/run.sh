#!/usr/bin/env bash
# The bundled example: build a small program, patch it with rules.toml,
# run both and show the difference. Usage: examples/demo/run.sh [HOOKPATCH]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hookpatch=${1:-$here/../../build/hookpatch}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/shop" "$here/shop.c" "$here/lib.c"
echo "\$ hookpatch shop shop.patched rules.toml"
"$hookpatch" "$work/shop" "$work/shop.patched" "$here/rules.toml"
"$work/shop" >"$work/before.txt"
"$work/shop.patched" >"$work/after.txt"
echo; echo "--- ./shop (original)"; cat "$work/before.txt"
echo; echo "+++ ./shop.patched"; cat "$work/after.txt"
echo; echo "\$ diff -u original patched"
diff -u --label original --label patched "$work/before.txt" "$work/after.txt" || true
