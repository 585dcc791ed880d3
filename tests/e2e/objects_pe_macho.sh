#!/usr/bin/env bash
# Object-file mocks in the object format of the binary they patch:
#  - PE: a mingw-w64 host (hooked function in its own translation unit)
#    patched with a COFF mock built by x86_64-w64-mingw32-gcc and by clang
#    --target=x86_64-w64-windows-gnu at -O0/-O2 (static state, a string
#    table, puts from the binary, `original`), run under wine, output
#    compared;
#  - Mach-O: a host linked by ld64.lld patched with a Mach-O object mock
#    (clang -target x86_64-apple-macos11, -O0/-O2), the hooked function and
#    the mock called in the unicorn emulator (macho_emu.py); the mock's
#    absolute pointers get rebase opcodes;
#  - refusals with the reason and no output: a COFF object of another
#    machine, a PE image given as the object, a Mach-O mock calling an
#    imported function (the Mach-O reader names no stubs), thread-locals.
# Wine prints \r\n: outputs are compared with \r removed.
set -euo pipefail
: "${HOOKPATCH:?} ${HP_SRC:?} ${HP_WORK:?}"
rm -rf "$HP_WORK"; mkdir -p "$HP_WORK"
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
skip() { echo "skip $1: $2"; }
have() { command -v "${1%% *}" >/dev/null 2>&1; }
FIX=$HP_SRC/tests/fixtures/objlink_formats
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
EMU=$HP_SRC/tests/e2e/macho_emu.py

# refused NAME IN RULES PATTERN: hookpatch exits 1 naming the reason and
# writes nothing.
refused()
{
    local name=$1 in=$2 rules=$3 pattern=$4 rc=0
    rm -f refused.out
    "$HOOKPATCH" -q "$in" refused.out "$rules" 2>err.txt || rc=$?
    if [ "$rc" = 1 ] && grep -q -- "$pattern" err.txt && [ ! -e refused.out ]; then ok "$name"
    else bad "$name: rc=$rc"; cat err.txt; fi
}

# ---- PE: COFF mocks under wine ------------------------------------------

CC=x86_64-w64-mingw32-gcc
WINE=${HP_WINE:-/usr/lib/wine/wine64}
# No Mono/Gecko prompts, no winedbg on a crash.
export WINEDEBUG=-all WINEPREFIX=$HP_WORK/wineprefix WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
cleanup() { timeout 30 wineserver -k >/dev/null 2>&1 || true; }
trap cleanup EXIT

if have "$CC"; then
  mkdir -p "$HP_WORK/pe" && cp "$FIX"/pe/* "$HP_WORK/pe/" && cd "$HP_WORK/pe"
  $CC -O2 -c host.c && $CC -O2 -c lib.c && $CC host.o lib.o -o host.exe
  wine_ok=0
  if [ -x "$WINE" ] && timeout 300 "$WINE" wineboot -i >/dev/null 2>&1; then wine_ok=1
  else skip "pe: running" "wine ($WINE) missing or its prefix cannot be created"; fi
  for cc in "$CC" "clang --target=x86_64-w64-windows-gnu"; do
    for opt in -O0 -O2; do
      v="pe/${cc%% *}$opt"
      if ! $cc $opt -c mock.c -o mock.o 2>/dev/null; then
        skip "$v" "$cc cannot build COFF"; continue
      fi
      rm -f out.exe
      if ! "$HOOKPATCH" -q host.exe out.exe rules.toml 2>err.txt; then
        bad "$v: hookpatch"; cat err.txt; continue
      fi
      if x86_64-w64-mingw32-nm out.exe | grep -q ' add_hook$'; then
        ok "$v: the mock is named in the COFF symbols"
      else bad "$v: add_hook missing from the symbols"; fi
      [ "$wine_ok" = 1 ] || continue
      got=$(timeout 60 "$WINE" out.exe </dev/null 2>/dev/null | tr -d '\r') || true
      if [ "$got" = "$(cat expected.txt)" ]; then ok "$v: runs under wine, mock and original as expected"
      else bad "$v: output"; diff -u expected.txt <(printf '%s\n' "$got") | head -20; fi
    done
  done
  # An i386 object: refused by name. (Patch the machine field of the mock.)
  $CC -O2 -c mock.c -o mock.o
  $PY -c 'd = bytearray(open("mock.o", "rb").read()); d[0:2] = b"\x4c\x01"
open("i386.o", "wb").write(d)'
  sed 's/mock.o/i386.o/' rules.toml >i386.toml
  refused "pe: an i386 COFF object is refused by name" host.exe i386.toml "i386"
  sed 's/mock.o/host.exe/' rules.toml >image.toml
  refused "pe: a PE image given as the object is refused" host.exe image.toml "PE image"
else
  skip "pe" "$CC missing"
fi

# ---- Mach-O: object mocks under unicorn ---------------------------------

LLD=ld64.lld-14
MCC="clang -target x86_64-apple-macos11"
if have clang && have "$LLD" && $MCC -c -x c /dev/null -o /dev/null 2>/dev/null; then
  mkdir -p "$HP_WORK/macho" && cp "$FIX"/macho/* "$HP_WORK/macho/" && cd "$HP_WORK/macho"
  $MCC -O1 -c main.c && $MCC -O1 -c lib.c
  "$LLD" -arch x86_64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup -headerpad 0x1000 \
    -o host main.o lib.o
  emu_ok=1
  $PY -c 'import unicorn' 2>/dev/null || { emu_ok=0; skip "macho: running" "python3-unicorn missing"; }
  for opt in -O0 -O2; do
    v="macho/clang$opt"
    $MCC $opt -c mock.c -o mock.o
    rm -f out
    if ! "$HOOKPATCH" -q host out rules.toml 2>err.txt; then
      bad "$v: hookpatch"; cat err.txt; continue
    fi
    if lay=$($PY "$EMU" layout out 2>&1) && [[ $lay == *__HOOKPATCH*__LINKEDIT ]]; then
      ok "$v: layout ($lay)"
    else bad "$v: layout: $lay"; fi
    if [ "$opt" = -O0 ]; then # the tags table holds absolute pointers (-O2 makes it relative)
      n=$(llvm-objdump-14 --macho --rebase out 2>/dev/null | grep -c '^__HOOKPATCH_D' || true)
      if [ "$n" = 2 ]; then ok "$v: both table pointers get rebase opcodes"
      else bad "$v: $n rebase entries in __HOOKPATCH_D"; llvm-objdump-14 --macho --rebase out | head; fi
    fi
    [ "$emu_ok" = 1 ] || continue
    # add(3,4) -> real_add 7 * 10 + calls 1 + 'B'; add_twice adds add(4,3)
    # -> 70 + 2 + 'a': the state carries over between calls.
    calls='out _add c 3 4\nout _add_twice c 3 4\nout _add_hook c 3 4\nhost _add c 3 4\n'
    mapfile -t res < <(printf "$calls" | timeout 300 $PY "$EMU" batch 2>&1)
    if [ "${res[*]}" = "137 306 137 7" ]; then
      ok "$v: hooked add, its caller and the mock give 137 306 137 (unpatched 7)"
    else bad "$v: emulator gave '${res[*]}', want '137 306 137 7'"; fi
  done
  # A Mach-O mock calling an imported function: the image names no stubs,
  # so _puts stays undefined (reported with the object's spelling).
  printf 'int puts(const char *);\nint real_add(int, int);\n%s\n' \
    'int add_hook(int a, int b) { puts("x"); return real_add(a, b); }' >imp.c
  $MCC -O2 -c imp.c -o mock.o
  refused "macho: an imported function is reported as undefined" host rules.toml "undefined symbol '_puts'"
  printf '__thread int tv;\nint add_hook(int a, int b) { return a + b + tv; }\n' >tlv.c
  $MCC -O2 -c tlv.c -o mock.o
  refused "macho: thread-locals are refused by name" host rules.toml "thread-local"
else
  skip "macho" "needs clang with the x86_64-apple-macos11 target and $LLD"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
