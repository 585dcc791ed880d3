#!/usr/bin/env bash
# Go names as users write them, on default and PIE builds, with and without
# symbols (-ldflags=-s -w leaves only the pclntab): every variant must hook
# the same functions and print the same output, and `list` must show every
# name. Also: a generic's bare name hooks all its shape instantiations, and
# an inlined target is reported with the function it was inlined into.
set -euo pipefail
: "${HOOKPATCH:?} ${HP_SRC:?} ${HP_WORK:?}"
rm -rf "$HP_WORK"; mkdir -p "$HP_WORK"
export GOCACHE="${HP_GOCACHE:-$HP_WORK/gocache}" GOPATH="$HP_WORK/gopath" GOFLAGS=-mod=mod GOPROXY=off
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
cp -r "$HP_SRC/tests/fixtures/go_names" "$HP_WORK/src"
cd "$HP_WORK/src"
names=('main.T.Value' 'main.(*T).Ptr' 'main.unexported' 'main.F.func1'
  'main.G[go.shape.int_0]' 'main.G[go.shape.string_0]' 'example.com/names.v2/inner.Twice')
for mode in default pie; do
  for strip in symbols stripped; do
    v="$mode-$strip"
    flags=(-gcflags=all=-l)
    [ "$mode" = pie ] && flags+=(-buildmode=pie)
    [ "$strip" = stripped ] && flags+=(-ldflags=-s\ -w)
    go build "${flags[@]}" -o "prog-$v" .
    if [ "$strip" = stripped ] && readelf -S "prog-$v" | grep -q '\.symtab'; then
      bad "$v: expected no .symtab"; continue
    fi
    rules=rules.toml expected=expected.txt want=("${names[@]}")
    if [ "$strip" = stripped ]; then
      # Go 1.19's pclntab abbreviates shapes: one instantiation cannot be
      # named without symbols, and hookpatch says how to hook them instead.
      set +e; "$HOOKPATCH" -q "prog-$v" "out-$v" rules.toml 2>err.txt; rc=$?; set -e
      grep -q "names every instantiation 'main.G\[...\]'; hook them all with 'main.G'" err.txt &&
        [ "$rc" = 1 ] && ok "$v: a shape name explains itself" || { bad "$v: shape"; cat err.txt; }
      sed 's/^generic 8 1$/generic 1 1/' expected.txt >expected-stripped.txt
      rules=rules_stripped.toml expected=expected-stripped.txt
      want=('main.T.Value' 'main.(*T).Ptr' 'main.unexported' 'main.F.func1' 'main.G[...]'
        'example.com/names.v2/inner.Twice')
    fi
    if "$HOOKPATCH" -q "prog-$v" "out-$v" "$rules" 2>err.txt && ./"out-$v" >got.txt &&
      diff -u "$expected" got.txt; then ok "$v: every name hooked, output as expected"
    else bad "$v: patched output"; cat err.txt; fi
    "$HOOKPATCH" list "prog-$v" >list.txt
    missing=0
    for n in "${want[@]}"; do grep -qF " $n" list.txt || { echo "  missing in list: $n"; missing=1; }; done
    [ "$missing" = 0 ] && ok "$v: list shows every name" || bad "$v: list"
    "$HOOKPATCH" "prog-$v" "all-$v" rules_all_shapes.toml 2>err.txt
    if [ "$(./"all-$v" | grep generic)" = "generic 77 77" ] && grep -q 'hooking all 2 instantiations' err.txt
    then ok "$v: bare generic name hooks every shape"; else bad "$v: generic"; cat err.txt; fi
  done
done

# Inlining: Small is inlined into main.main at one call site and also
# called through a func value (the out-of-line copy, which is hooked).
mkdir -p "$HP_WORK/inl" && cd "$HP_WORK/inl"
cat >go.mod <<'GO'
module example.com/inl

go 1.19
GO
cat >main.go <<'GO'
package main

import (
	"fmt"
	"os"
)

func Small(x int) int { return x*2 + 1 }

func SmallMock(x int) int { return -x }

var keep = []interface{}{SmallMock}
var viaValue = Small

func main() {
	if len(keep) != 1 {
		return
	}
	n := len(os.Args) + 2
	fmt.Println(Small(n), viaValue(3))
}
GO
printf '[[hook]]\ntarget = "main.Small"\nreplace = "main.SmallMock"\n' >rules.toml
for strip in symbols stripped; do
  flags=(); [ "$strip" = stripped ] && flags=(-ldflags=-s\ -w)
  go build "${flags[@]}" -o prog .   # inlining on: the case users hit
  "$HOOKPATCH" prog out rules.toml 2>err.txt
  if grep -q "warning: rules.toml:2:10: main.Small is inlined into main.main (1 site); those calls are not redirected — rebuild with -gcflags=all=-l" err.txt
  then ok "$strip: inlining reported with the inlining function"; else bad "$strip: warning"; cat err.txt; fi
  [ "$(./out)" = "7 -3" ] && ok "$strip: the out-of-line call (func value) is redirected" ||
    bad "$strip: out-of-line call: $(./out)"
  set +e; "$HOOKPATCH" --strict-inlining prog out-strict rules.toml 2>err.txt; rc=$?; set -e
  [ "$rc" = 1 ] && grep -q 'error: .*inlined into main.main' err.txt && [ ! -e out-strict ] &&
    ok "$strip: --strict-inlining makes it an error" || bad "$strip: strict rc=$rc"
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
