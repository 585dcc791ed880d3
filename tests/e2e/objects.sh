#!/usr/bin/env bash
# Replacement code from relocatable objects: mocks compiled separately with
# gcc and clang (-O0/-O2, -fPIC and not) linked into hosts built in every
# link mode; a Go host hooked with an assembly object following Go's
# register ABI (with every Go toolchain go_toolchains lists); and the error
# paths (unresolved symbols, missing symbol).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${HOOKPATCH:?} ${HP_SRC:?} ${HP_WORK:?}"
rm -rf "$HP_WORK"; mkdir -p "$HP_WORK"
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
cp -r "$HP_SRC/tests/fixtures/objects" "$HP_WORK/c"
cd "$HP_WORK/c"

for link in pie no-pie static static-pie; do
  case $link in
    pie) lflags=(-fPIE -pie) ;; no-pie) lflags=(-fno-pie -no-pie) ;;
    static) lflags=(-fno-pie -static) ;; static-pie) lflags=(-fPIE -static-pie) ;;
  esac
  gcc -O2 "${lflags[@]}" host.c lib.c -o "host-$link"
  for cc in gcc clang; do
    for opt in -O0 -O2; do
      for pic in -fPIC -fno-pic; do
        v="$link/$cc$opt$pic"
        "$cc" $opt $pic -c mocks/scale_mock.c -o mocks/scale_mock.o
        "$cc" $opt $pic -ffunction-sections -fdata-sections -c mocks/greet_mock.c -o mocks/greet_mock.o
        if [ "$pic" = -fno-pic ] && { [ "$link" = pie ] || [ "$link" = static-pie ]; }; then
          # Like ld, refuse 32-bit absolute addresses in an image that loads
          # anywhere, and say how to fix it.
          rm -f out-np
          set +e; "$HOOKPATCH" -q "host-$link" out-np rules.toml 2>err.txt; rc=$?; set -e
          if [ "$rc" = 1 ] && grep -q 'position-independent output.*-fPIC\|text relocation' err.txt &&
            [ ! -e out-np ]; then ok "$v: refused with the reason"; else bad "$v: rc=$rc"; cat err.txt; fi
          continue
        fi
        if "$HOOKPATCH" -q "host-$link" out rules.toml 2>err.txt && ./out >got.txt &&
          diff -u expected.txt got.txt >diff.txt; then ok "$v"
        else bad "$v"; cat err.txt diff.txt 2>/dev/null | head -20; fi
        cp out "out-$link"
      done
    done
  done
  nm "out-$link" >nm.txt
  if grep -q ' scale_mock$' nm.txt; then ok "$link: mock functions named in .symtab"
  else bad "$link: scale_mock missing from .symtab"; fi
  readelf -a "out-$link" >/dev/null 2>readelf.err
  [ ! -s readelf.err ] && ok "$link: readelf -a prints no warnings" || { bad "$link: readelf"; head readelf.err; }
done

# Every unresolved symbol is listed, and nothing is written.
gcc -c mocks/unresolved.c -o mocks/unresolved.o
printf '[[hook]]\ntarget = "scale"\nobject = "mocks/unresolved.o"\nsymbol = "bad_mock"\n' >bad.toml
set +e; "$HOOKPATCH" host-pie out-bad bad.toml 2>err.txt; rc=$?; set -e
if [ "$rc" = 1 ] && grep -q not_in_the_binary err.txt && grep -q also_missing err.txt && [ ! -e out-bad ]
then ok "unresolved symbols: each listed, exit 1, no output"; else bad "unresolved: rc=$rc"; cat err.txt; fi
printf '[[hook]]\ntarget = "scale"\nobject = "mocks/greet_mock.o"\nsymbol = "nope"\n' >bad2.toml
set +e; "$HOOKPATCH" host-pie out-bad bad2.toml 2>err.txt; rc=$?; set -e
[ "$rc" = 1 ] && grep -q "bad2.toml:4:10: .*defines no function 'nope'" err.txt &&
  ok "missing replacement symbol names rules location" || { bad "missing symbol rc=$rc"; cat err.txt; }
printf 'int counter;\nint uses_common(void) { return counter; }\n' >common.c
gcc -fcommon -c common.c -o mocks/common.o
printf '[[hook]]\ntarget = "scale"\nobject = "mocks/common.o"\nsymbol = "uses_common"\n' >bad3.toml
set +e; "$HOOKPATCH" host-pie out-bad bad3.toml 2>err.txt; rc=$?; set -e
[ "$rc" = 1 ] && grep -qi "common" err.txt && ok "COMMON symbols refused by name" ||
  { bad "common rc=$rc"; cat err.txt; }

# Go: an assembly mock following ABIInternal (integer args in RAX, RBX,
# RCX, RDI, RSI, R8-R11; result in RAX), tail-calling the original.
mapfile -t TOOLCHAINS < <(go_toolchains)
for tc in "${TOOLCHAINS[@]}"; do
  go_use $tc
  export GOPATH="$HP_WORK/gopath" GOFLAGS=-mod=mod GOPROXY=off
  mkdir -p "$HP_WORK/go/$GO_LABEL" && cd "$HP_WORK/go/$GO_LABEL"
  printf 'module example.com/objhost\n\ngo 1.19\n' >go.mod
  cat >main.go <<'GO'
package main

import "fmt"

func Add(a, b int) int { return a + b }
func Mul(a, b int) int { return a * b }

func main() { fmt.Println(Add(3, 4), Mul(5, 6)) }
GO
  cat >mock.S <<'ASM'
    .text
    .globl add_mock
add_mock:               # Add(a, b) -> a*10 + b: a in RAX, b in RBX
    imul $10, %rax, %rax
    add %rbx, %rax
    ret
    .globl mul_mock
mul_mock:               # Mul(a, b) -> original(a+1, b): a tail call keeps
    inc %rax            # no mock frame on the goroutine stack
    jmp real_mul
ASM
  gcc -c mock.S -o mock.o
  printf '[[hook]]\ntarget = "main.Add"\nobject = "mock.o"\nsymbol = "add_mock"\n\n[[hook]]\ntarget = "main.Mul"\nobject = "mock.o"\nsymbol = "mul_mock"\noriginal = "real_mul"\n' >rules.toml
  for mode in exe pie; do
    go build -gcflags=all=-l -buildmode=$mode -o prog .
    if "$HOOKPATCH" -q prog out rules.toml && [ "$(./out)" = "34 36" ]; then ok "$GO_LABEL $mode: assembly mock with Go's register ABI"
    else bad "$GO_LABEL $mode: got '$(./out 2>&1)'"; fi
  done
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
