#!/usr/bin/env bash
# Go names as users write them, on default and PIE builds, with and without
# symbols (-ldflags=-s -w leaves only the pclntab): every variant must hook
# the same functions and print the same output, and `list` must show every
# name. Also: a generic's bare name hooks all its shape instantiations, and
# an inlined target is reported with the function it was inlined into.
#
# Once per Go toolchain (go_toolchains in lib.sh). What differs between Go
# versions is read from what the toolchain built, not assumed:
#  - a shape's spelling: `go tool nm` shows main.G[go.shape.int_0] for Go
#    1.19 and main.G[go.shape.int] for Go 1.26; the one-shape rule is
#    written with the spelling this toolchain uses, and the other spelling
#    must be answered with a "did you mean" naming it;
#  - whether the pclntab abbreviates shapes: Go 1.19 writes "main.G[...]"
#    for every instantiation (then one shape cannot be named without
#    symbols, and hookpatch says how to hook them instead), Go 1.26 writes
#    the full names (then a stripped build hooks exactly like one with
#    symbols). Told apart by the bytes "main.G[...]" in the stripped binary.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${HOOKPATCH:?} ${HP_SRC:?} ${HP_WORK:?}"
rm -rf "$HP_WORK"; mkdir -p "$HP_WORK"
export GOPATH="$HP_WORK/gopath" GOFLAGS=-mod=mod GOPROXY=off
pass=0 fail=0
ok() { echo "ok   $GO_LABEL $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $GO_LABEL $1"; fail=$((fail + 1)); }

# names_for: build every variant with the current toolchain, check the names.
names_for()
{
  mkdir -p "$HP_WORK/$GO_LABEL"
  cp -r "$HP_SRC/tests/fixtures/go_names" "$HP_WORK/$GO_LABEL/src"
  cd "$HP_WORK/$GO_LABEL/src"
  go build -gcflags=all=-l -o prog-nm .
  local shapes int_shape other
  shapes=$(go tool nm prog-nm | awk '$2 == "T" && $3 ~ /^main\.G\[/ { print $3 }' | sort)
  int_shape=$(grep '^main\.G\[go\.shape\.int' <<<"$shapes" || true)
  if [ "$(wc -l <<<"$shapes")" = 2 ] && [ "$(wc -l <<<"$int_shape")" = 1 ]; then
    ok "go tool nm names the shapes: $(echo $shapes)"
  else
    bad "go tool nm: want two main.G shapes, got '$shapes'"; return
  fi
  # The fixture's rules name Go 1.19's int shape; use this toolchain's.
  sed "s/main\.G\[go\.shape\.int_0\]/$int_shape/" rules.toml >rules-go.toml
  # The other Go version's spelling of the same shape.
  if [[ $int_shape == *_0\] ]]; then other=${int_shape/_0\]/\]}; else other=${int_shape/\]/_0\]}; fi
  printf '[[hook]]\ntarget = "%s"\naction = "trap"\n' "$other" >rules-other.toml
  set +e; "$HOOKPATCH" -q prog-nm out-other rules-other.toml 2>err.txt; rc=$?; set -e
  if [ "$rc" = 1 ] && grep -qF "no function named '$other'; did you mean '$int_shape'" err.txt; then
    ok "the other Go version's spelling $other suggests $int_shape"
  else bad "other spelling $other: rc $rc"; cat err.txt; fi

  local mode strip v rules expected want missing n
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
      rules=rules-go.toml expected=expected.txt
      want=('main.T.Value' 'main.(*T).Ptr' 'main.unexported' 'main.F.func1'
        $shapes 'example.com/names.v2/inner.Twice')
      if [ "$strip" = stripped ] && grep -qaF 'main.G[...]' "prog-$v"; then
        # This pclntab abbreviates shapes: one instantiation cannot be
        # named without symbols, and hookpatch says how to hook them instead.
        set +e; "$HOOKPATCH" -q "prog-$v" "out-$v" "$rules" 2>err.txt; rc=$?; set -e
        grep -q "names every instantiation 'main.G\[...\]'; hook them all with 'main.G'" err.txt &&
          [ "$rc" = 1 ] && ok "$v: a shape name explains itself" || { bad "$v: shape"; cat err.txt; }
        sed 's/^generic 8 1$/generic 1 1/' expected.txt >expected-stripped.txt
        rules=rules_stripped.toml expected=expected-stripped.txt
        want=('main.T.Value' 'main.(*T).Ptr' 'main.unexported' 'main.F.func1' 'main.G[...]'
          'example.com/names.v2/inner.Twice')
      elif [ "$strip" = stripped ]; then
        n=$(grep -caF "$int_shape" "prog-$v" || true)
        [ "$n" -gt 0 ] && ok "$v: the pclntab spells $int_shape in full" ||
          bad "$v: neither 'main.G[...]' nor '$int_shape' in the stripped binary"
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
}

# Inlining: Small is inlined into main.main at one call site and also
# called through a func value (the out-of-line copy, which is hooked).
inlining_for()
{
  mkdir -p "$HP_WORK/$GO_LABEL/inl" && cd "$HP_WORK/$GO_LABEL/inl"
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
  local strip flags rc
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
}

T0=$SECONDS
mapfile -t TOOLCHAINS < <(go_toolchains)
[ ${#TOOLCHAINS[@]} -gt 0 ] || { echo "FAIL no Go toolchain found"; fail=1; }
for tc in "${TOOLCHAINS[@]}"; do
  go_use $tc
  t=$SECONDS
  names_for
  inlining_for
  echo "# $GO_LABEL: $((SECONDS - t)) s"
done

echo "time: $((SECONDS - T0)) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
