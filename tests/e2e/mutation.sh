#!/usr/bin/env bash
# Hostile inputs: hundreds of mutated copies (byte flips in headers and
# tables, truncations) of an ELF, a PE and a Mach-O fixture. For every one:
# no crash signal, no hang, the input untouched, and either a clean error
# (exit 1, "hookpatch: error:", no output and no temporary left behind) or
# a successful patch whose output is a well-formed file.
set -euo pipefail
: "${HOOKPATCH:?} ${HP_SRC:?} ${HP_WORK:?}"
rm -rf "$HP_WORK"; mkdir -p "$HP_WORK"; cd "$HP_WORK"
per_format=${HP_MUTATIONS:-200}

cat >fixture.c <<'C'
int printf(const char *, ...);
int add(int a, int b) { return a + b + 1; }
int answer(void) { return 7; }
int main(void) { printf("%d %d\n", add(1, 2), answer()); return 0; }
C
cat >rules.toml <<'T'
[[hook]]
target = "answer"
action = "return"
value = 42
[[hook]]
target = "add"
action = "passthrough"
T
fixtures=()
gcc -O2 -o elf fixture.c && fixtures+=(elf)
if command -v x86_64-w64-mingw32-gcc >/dev/null; then
  x86_64-w64-mingw32-gcc -O2 -o pe.exe fixture.c && fixtures+=(pe.exe)
fi
if command -v ld64.lld-14 >/dev/null; then
  clang -target x86_64-apple-macos11 -O2 -c fixture.c -o macho.o &&
    ld64.lld-14 -arch x86_64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup \
      -o macho macho.o 2>/dev/null && fixtures+=(macho)
fi

pass=0 fail=0 errors=0 patched=0
check_one() {  # file -> sets verdict
  local f=$1 out=$HP_WORK/out/$(basename "$1").out before after rc
  before=$(sha256sum "$f" | cut -d' ' -f1)
  set +e
  timeout -s KILL 20 "$HOOKPATCH" -q "$f" "$out" rules.toml >/dev/null 2>err.txt
  rc=$?
  set -e
  after=$(sha256sum "$f" | cut -d' ' -f1)
  if [ "$before" != "$after" ]; then echo "FAIL $f: input modified"; return 1; fi
  if ls "$HP_WORK/out"/.*.hookpatch-* >/dev/null 2>&1; then
    echo "FAIL $f: temporary file left behind"; return 1
  fi
  case $rc in
    0) [ -s "$out" ] || { echo "FAIL $f: exit 0 without output"; return 1; }
       if [[ $f == */elf/* ]] && ! readelf -h "$out" >/dev/null 2>&1; then
         echo "FAIL $f: output is not a readable ELF"; return 1
       fi
       patched=$((patched + 1)); rm -f "$out" ;;
    1) grep -q '^hookpatch: error: ' err.txt || { echo "FAIL $f: exit 1 without an error line"; cat err.txt; return 1; }
       [ ! -e "$out" ] || { echo "FAIL $f: output left after an error"; return 1; }
       errors=$((errors + 1)) ;;
    137) echo "FAIL $f: hang (killed after 20 s)"; return 1 ;;
    *) echo "FAIL $f: exit $rc (crash signal $((rc - 128)))"; cat err.txt; return 1 ;;
  esac
}

for fx in "${fixtures[@]}"; do
  name=${fx%.exe}
  python3 "$HP_SRC/tests/tools/mutate.py" "$fx" "mut/$name" "$per_format" 20261123
  mkdir -p out
  fx_pass=0 fx_fail=0 errors=0 patched=0
  for f in mut/"$name"/m*; do
    if check_one "$f"; then fx_pass=$((fx_pass + 1)); else fx_fail=$((fx_fail + 1)); fi
  done
  echo "mutation $name: $fx_pass ok ($errors clean errors, $patched patched), $fx_fail failed"
  pass=$((pass + fx_pass)); fail=$((fail + fx_fail))
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
