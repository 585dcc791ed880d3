#!/usr/bin/env bash
# C inlining diagnosis from DWARF: a target inlined at one call site and
# also called through a function pointer. The warning names the inlining
# function; the out-of-line call is redirected; --strict-inlining refuses.
set -euo pipefail
: "${HOOKPATCH:?} ${HP_SRC:?} ${HP_WORK:?}"
rm -rf "$HP_WORK"; mkdir -p "$HP_WORK"; cd "$HP_WORK"
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
cat >inl.c <<'C'
#include <stdio.h>
int small(int x) { return x * 3 + 1; }
int (*volatile through_pointer)(int) = small;
int main(int argc, char **argv) { printf("%d %d\n", small(argc), through_pointer(2)); return 0; }
C
printf '[[hook]]\ntarget = "small"\naction = "return"\nvalue = 99\n' >rules.toml
for cc in gcc clang; do
  for dw in -gdwarf-4 -gdwarf-5; do
    v="$cc $dw"
    "$cc" -O2 "$dw" inl.c -o prog
    "$HOOKPATCH" prog out rules.toml 2>err.txt
    grep -q "warning: rules.toml:2:10: small is inlined into main (1 site); those calls are not redirected" err.txt &&
      ok "$v: inlining reported with the inlining function" || { bad "$v: warning"; cat err.txt; }
    [ "$(./out)" = "4 99" ] && ok "$v: the call through the pointer is redirected" || bad "$v: got $(./out)"
    set +e; "$HOOKPATCH" --strict-inlining prog strict rules.toml 2>/dev/null; rc=$?; set -e
    [ "$rc" = 1 ] && [ ! -e strict ] && ok "$v: --strict-inlining is an error" || bad "$v: strict rc=$rc"
  done
done
"$HOOKPATCH" -q prog out2 rules.toml 2>err.txt
! grep -q warning err.txt && ok "-q hides the warning" || bad "-q"
gcc -O2 -fno-inline -g inl.c -o noinl
"$HOOKPATCH" noinl out3 rules.toml 2>err.txt
! grep -q inlined err.txt && [ "$(./out3)" = "99 99" ] && ok "-fno-inline: no warning, both calls hooked" ||
  { bad "-fno-inline"; cat err.txt; }
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
