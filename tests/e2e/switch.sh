#!/usr/bin/env bash
# Switchable hooks (action = "switch", issue 17), the rewriter's half, with
# test-local helpers written from the table format in rewriter/switch.h
# (tests/fixtures/switch_c, tests/fixtures/switch_go), not the shipped ones:
#
# - C (gcc and clang; PIE, non-PIE, static): the program reads the table
#   through its marker, sets slots to mocks (7 arguments with one on the
#   stack; varargs with AL; a mock that calls the original through the
#   table's trampoline), resets them, and prints each result: exact output.
#   The unpatched program runs the originals and finds no table.
# - The table read back from the file (switch_table.py): magic, count,
#   sorted targets, each entry's target = the symbol, its trampoline = the
#   `<target>.hookpatch_orig` symbol, the slots in a writable zero-filled
#   segment; `<target>.hookpatch_switch` is the stub the entry jumps to;
#   two runs give the same bytes.
# - Objects and switch in one run: a linked object mock with data and
#   rodata, and the table and slots after them.
# - Diagnostics: no marker (warning naming the helper, an error under
#   --strict, for C and Go); a rule naming the marker (error) or a glob over
#   it (skipped); a marker too short to patch (error naming it); a switch
#   target too short (refused with the usual message); `value` with switch.
# - Go 1.19 and the current release: closures (context register),
#   a pointer-receiver method, 13 arguments with floats; the Go entries say
#   abi 1 and hookpatchCurG returns g.
# - PE (mingw, x86-64) under wine: the C program's exact output.
# - Mach-O x86-64 and arm64: a freestanding driver called under unicorn
#   (macho_emu.py), signature checked.
# - arm64 under qemu, C (near and far layouts) and Go, when the cross tools
#   are installed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/switch_c
GOFIX=$HP_SRC/tests/fixtures/switch_go
W=$HP_WORK

EXPECT_C="table=yes
add6=140
sum=7
next=1
set=0
add6=-1234567
sum=11.25
next=102
reset=0
add6=140
sum=7
next=3
unswitchable=-1"
EXPECT_C_PLAIN="table=no
add6=140
sum=7
next=1
set=-1
add6=140
sum=7
next=2
reset=-1
add6=140
sum=7
next=3
unswitchable=-1"

# GCC's interprocedural register allocation lets a caller keep values in
# registers a known callee does not touch; a mock may touch them. (The same
# holds for every hook whose replacement is another function.)
CFLAGS=(-O2 -fno-ipa-ra)

# sym FILE NAME: NAME's address in FILE's symbol table, as 0x%x.
sym()
{
    local a
    a=$(nm "$1" | awk -v n="$2" '$3 == n { print $1; exit }')
    [[ -n $a ]] && printf '0x%x\n' "0x$a"
}

# table_va JSON: the switch table's address from a --json report.
table_va() { json_get "$1" 'hex(int(j["switch_table"]["address"]))'; }

c_mode()
{
    local cc=$1 mode=$2 flags=()
    case $mode in
    pie) flags=(-fPIE -pie) ;;
    nopie) flags=(-fno-pie -no-pie) ;;
    static) flags=(-static) ;;
    esac
    local in=$W/c-$cc-$mode out=$W/c-$cc-$mode.out
    local cflags=("${CFLAGS[@]}")
    [[ $cc == clang ]] && cflags=(-O2)
    if ! $cc "${cflags[@]}" "${flags[@]}" -o "$in" "$FIX/prog.c" 2>"$W/cc.log"; then
        fail "c $cc $mode: build" "$(head -5 "$W/cc.log")"
        return
    fi
    run_prog "$in"
    check_eq "c $cc $mode: unpatched" "$EXPECT_C_PLAIN" "$RUN_OUT"
    hp "$in" "$out" "$FIX/switch.toml"
    if [[ $HP_RC != 0 ]]; then
        fail "c $cc $mode: hookpatch" "$HP_ERR"
        return
    fi
    check_eq "c $cc $mode: summary" "hookpatch: hooked 3 functions, skipped 0" "$HP_ERR"
    run_prog "$out"
    check_eq "c $cc $mode: switched at run time" "$EXPECT_C" "$RUN_OUT"
}

c_table()
{
    local in=$W/c-gcc-pie out=$W/c-gcc-pie.out
    [[ -x $in ]] || return 0
    hp --json "$in" "$W/t.out" "$FIX/switch.toml"
    printf '%s\n' "$HP_OUT" >"$W/t.json"
    local t got want
    t=$(table_va "$W/t.json" 2>/dev/null) || {
        fail "table in --json" "$HP_OUT"
        return
    }
    got=$("$PY" "$HP_SRC/tests/e2e/switch_table.py" "$W/t.out" "$t" 2>&1 | grep -v '^slots') || true
    want=$(printf 'count 3\n'
        for f in add6 counter_next sum_va; do
            printf '%s %s 0\n' "$(sym "$W/t.out" $f)" "$(sym "$W/t.out" $f.hookpatch_orig)"
        done | sort | sed 's/^/entry /')
    check_eq "table read back: sorted entries, targets and trampolines" "$want" "$got"
    local slots
    slots=$("$PY" "$HP_SRC/tests/e2e/switch_table.py" "$W/t.out" "$t" 2>&1 | grep '^slots' || true)
    check_eq "table: slots in a writable zero-filled segment" "rw-zero" "${slots##* }"
    local stub jmp
    stub=$(sym "$W/t.out" add6.hookpatch_switch)
    jmp=$(objdump -d --no-show-raw-insn --disassemble=add6 "$W/t.out" |
        awk '/^ *[0-9a-f]+:/ { print $2, $3; exit }')
    check_eq "the entry jumps to <target>.hookpatch_switch" "jmp ${stub#0x}" "$jmp"
    check_eq "own hook reported in --json, not counted" "1 3 hookpatch_switch_table switch_table" \
        "$(json_get "$W/t.json" 'len(j["own_hooks"])' 'j["hooked"]' \
            'j["own_hooks"][0]["target"]' 'j["own_hooks"][0]["marker"]' | tr '\n' ' ' | sed 's/ $//')"
    hp "$in" "$W/t2.out" "$FIX/switch.toml"
    check_true "deterministic output" "two runs differ" cmp -s "$W/t.out" "$W/t2.out"
}

c_objects()
{
    cat >"$W/mock.c" <<'EOF'
static int calls;                      /* data (bss) */
static const char *const tag = "obj";  /* rodata */
int twice(int x) { calls++; return 2 * x + (tag[0] == 'o') - 1 + 0 * calls; }
EOF
    cat >"$W/objsw.c" <<'EOF'
#include <stdio.h>
#include <stdint.h>
#include <string.h>
static void *volatile none;
__attribute__((noinline, used)) void *hookpatch_switch_table(void) { return none; }
__attribute__((noinline, used)) int triple(int x) { return 3 * x; }
__attribute__((noinline, used)) int negate(int x) { return -x; }
__attribute__((noinline, used)) int square(int x) { return x * x; }
int main(void)
{
    const uint8_t *t = hookpatch_switch_table();
    if (!t || memcmp(t, "HPSWTAB1", 8)) { puts("no table"); return 1; }
    uint32_t n; int64_t slots_rel, target_rel;
    memcpy(&n, t + 12, 4); memcpy(&slots_rel, t + 16, 8); memcpy(&target_rel, t + 32, 8);
    int (*volatile tr)(int) = triple;
    int (*volatile ng)(int) = negate;
    printf("%u %d %d\n", n, tr(5), ng(5));
    if (t + target_rel != (const uint8_t *)negate) { puts("wrong target"); return 1; }
    *(void *volatile *)(t + slots_rel) = (void *)square;
    printf("%d %d\n", tr(5), ng(5));
    return 0;
}
EOF
    cat >"$W/objsw.toml" <<EOF
[[hook]]
target = "triple"
object = "$W/mock.o"
symbol = "twice"

[[hook]]
target = "negate"
action = "switch"
EOF
    gcc -O2 -fno-ipa-ra -c -fPIC -o "$W/mock.o" "$W/mock.c"
    gcc "${CFLAGS[@]}" -o "$W/objsw" "$W/objsw.c"
    hp --json "$W/objsw" "$W/objsw.out" "$W/objsw.toml"
    if [[ $HP_RC != 0 ]]; then
        fail "objects and switch in one run" "$HP_ERR"
        return
    fi
    run_prog "$W/objsw.out"
    check_eq "objects and switch in one run" "1 10 -5
10 25" "$RUN_OUT"
}

c_diags()
{
    local in=$W/plain
    cat >"$W/plain.c" <<'EOF'
#include <stdio.h>
__attribute__((noinline)) int work(int x) { return x * 7 + 1; }
int main(void) { printf("%d\n", work(6)); return 0; }
EOF
    gcc -O2 -o "$in" "$W/plain.c"
    printf '[[hook]]\ntarget = "work"\naction = "switch"\n' >"$W/plain.toml"
    hp "$in" "$W/plain.out" "$W/plain.toml"
    check_eq "no marker: exit 0" 0 "$HP_RC"
    check_true "no marker: warning names the C helper" "$HP_ERR" \
        grep -q "warning: .*no switch helper in this binary (no marker function 'hookpatch_switch_table').*include include/hookpatch.h" <<<"$HP_ERR"
    check_true "no marker: warning located at the rule" "$HP_ERR" grep -q "plain.toml:2:10" <<<"$HP_ERR"
    run_prog "$W/plain.out"
    check_eq "no marker: the original runs" "43" "$RUN_OUT"
    hp --strict "$in" "$W/plain2.out" "$W/plain.toml"
    check_true "no marker: --strict fails, no OUT" "rc=$HP_RC" \
        test "$HP_RC" != 0 -a ! -e "$W/plain2.out"

    local m=$W/c-gcc-pie
    printf '[[hook]]\ntarget = "hookpatch_switch_table"\naction = "return"\nvalue = 0\n' >"$W/m.toml"
    hp "$m" "$W/m.out" "$W/m.toml"
    check_true "a rule on the marker: error" "rc=$HP_RC $HP_ERR" \
        grep -q "error: .*m.toml:2:10: .*'hookpatch_switch_table' is hookpatch's own marker function" <<<"$HP_ERR"
    check_true "a rule on the marker: no OUT" "" test ! -e "$W/m.out"
    printf '[[hook]]\ntarget = "hookpatch_*"\naction = "passthrough"\n' >"$W/g.toml"
    hp -v "$m" "$W/g.out" "$W/g.toml"
    check_true "a glob over the marker: skipped with the reason" "rc=$HP_RC $HP_ERR" \
        grep -q "skipped hookpatch_switch_table (0x[0-9a-f]*): hookpatch's own marker function" <<<"$HP_ERR"

    hp list "$m" 'hookpatch_*'
    check_true "list: the marker is marked" "$HP_OUT" \
        grep -q "yes *hookpatch_switch_table  # hookpatch's own marker (switch_table)$" <<<"$HP_OUT"
    hp --dry-run "$m" "$W/d.out" "$FIX/switch.toml"
    check_true "dry run: own line and table line" "$HP_OUT" \
        grep -q "^own hookpatch_switch_table 0x[0-9a-f]* marker -> switch table stub" <<<"$HP_OUT"
    check_true "dry run: the table line" "$HP_OUT" \
        grep -q "^switch table 0x[0-9a-f]*: 3 entries, slots at 0x[0-9a-f]*$" <<<"$HP_OUT"

    # A marker of 1 byte (`ret`) followed at once by another function, and
    # called by nothing: neither the entry jump, an island (it needs 2
    # bytes) nor call sites can hook it.
    cat >"$W/short.s" <<'EOF'
    .text
    .globl hookpatch_switch_table
    .type hookpatch_switch_table, @function
hookpatch_switch_table:
    ret
    .size hookpatch_switch_table, .-hookpatch_switch_table
    .globl tiny
    .type tiny, @function
tiny:
    mov $1, %eax
    ret
    .size tiny, .-tiny
    .globl main
    .type main, @function
main:
    sub $8, %rsp
    call tiny
    xor %eax, %eax
    add $8, %rsp
    ret
    .size main, .-main
    .section .note.GNU-stack,"",@progbits
EOF
    gcc -o "$W/short" "$W/short.s"
    printf '[[hook]]\ntarget = "main"\naction = "passthrough"\n' >"$W/short.toml"
    hp "$W/short" "$W/short.out" "$W/short.toml"
    check_true "a marker too short: error naming it" "rc=$HP_RC $HP_ERR" \
        grep -q "error: .*hookpatch_switch_table.*cannot replace hookpatch's marker function" <<<"$HP_ERR"
    check_true "a marker too short: exit non-zero, no OUT" "rc=$HP_RC" \
        test "$HP_RC" != 0 -a ! -e "$W/short.out"
    sed 's/hookpatch_switch_table/not_a_marker/g' "$W/short.s" >"$W/tiny.s"
    gcc -o "$W/tiny" "$W/tiny.s"
    printf '[[hook]]\ntarget = "not_a_marker"\naction = "switch"\n' >"$W/tiny.toml"
    hp "$W/tiny" "$W/tiny.out" "$W/tiny.toml"
    check_true "a switch target too short: refused with the reason" "rc=$HP_RC $HP_ERR" \
        grep -q "error: .*tiny.toml:2:10: target 'not_a_marker': cannot hook at 0x[0-9a-f]*: too short" <<<"$HP_ERR"
    check_true "a switch target too short: no OUT" "" test ! -e "$W/tiny.out"
    printf '[[hook]]\ntarget = "not_a*"\naction = "switch"\n' >"$W/tinyg.toml"
    hp "$W/tiny" "$W/tinyg.out" "$W/tinyg.toml"
    check_true "a switch glob over a too-short target: skipped" "rc=$HP_RC $HP_ERR" \
        grep -q "skipped not_a_marker (0x[0-9a-f]*): too short" <<<"$HP_ERR"
    printf '[[hook]]\ntarget = "work"\naction = "switch"\nvalue = 1\n' >"$W/v.toml"
    hp "$in" "$W/v.out" "$W/v.toml"
    check_true "switch with value: a rules error" "rc=$HP_RC $HP_ERR" \
        grep -q "error: .*v.toml:4:1: .*'value' is only allowed with action = \"return\"" <<<"$HP_ERR"
}

go_one()
{
    local label=$1 goarch=$2 run=$3
    local dir=$W/go-$label-$goarch
    mkdir -p "$dir"
    if ! (cd "$GOFIX" && GOARCH=$goarch GOFLAGS=-mod=mod GOPROXY=off \
        go build -ldflags="-s -w" -o "$dir/prog" ./prog) >"$dir/build.log" 2>&1; then
        fail "go $label $goarch: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    hp "$dir/prog" "$dir/out" "$GOFIX/switch.toml"
    if [[ $HP_RC != 0 ]]; then
        fail "go $label $goarch: hookpatch" "$HP_ERR"
        return
    fi
    $run "$dir/out"
    check_eq "go $label $goarch: closures, methods, 13 arguments switched" "g true abi 1
real 5 509 1
set true
mock 1006 3.99167965e+07 -1
mock 2006
reset true
real 5 509 2
unswitchable false" "$RUN_OUT"
}

go_nomarker()
{
    local dir=$W/go-nomarker
    mkdir -p "$dir"
    cat >"$dir/main.go" <<'EOF'
package main

import "fmt"

//go:noinline
func Add(a, b int) int { return a + b }

func main() { fmt.Println(Add(1, 2)) }
EOF
    printf 'module nomarker\n\ngo 1.19\n' >"$dir/go.mod"
    (cd "$dir" && go build -o prog .) >"$dir/build.log" 2>&1 || {
        fail "go: build without helper" "$(tail -3 "$dir/build.log")"
        return
    }
    printf '[[hook]]\ntarget = "main.Add"\naction = "switch"\n' >"$dir/r.toml"
    hp "$dir/prog" "$dir/out" "$dir/r.toml"
    check_true "go, no marker: warning names the Go helper" "$HP_ERR" \
        grep -q "no marker function 'hookpatch.dev/mock.hookpatchSwitchTable'.*import \"hookpatch.dev/mock\"" <<<"$HP_ERR"
}

for cc in gcc clang; do
    command -v $cc >/dev/null || { skip "c $cc" "no $cc"; continue; }
    for mode in pie nopie static; do
        c_mode $cc $mode
    done
done
c_table
c_objects
c_diags

mapfile -t TOOLCHAINS < <(go_toolchains)
for tc in "${TOOLCHAINS[@]}"; do
    # shellcheck disable=SC2086 # "label path"
    go_use $tc
    go_one "$GO_LABEL" amd64 run_prog
done
if [[ ${#TOOLCHAINS[@]} -gt 0 ]]; then
    go_nomarker
else
    skip "go" "no Go toolchain"
fi

# PE (mingw) under wine: the same program and output.
WINE=${HP_WINE:-/usr/lib/wine/wine64}
if [[ -x $WINE ]] && command -v x86_64-w64-mingw32-gcc >/dev/null; then
    export WINEDEBUG=-all WINEPREFIX=$W/wineprefix WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
    x86_64-w64-mingw32-gcc "${CFLAGS[@]}" -o "$W/pe.exe" "$FIX/prog.c"
    hp "$W/pe.exe" "$W/pe.out.exe" "$FIX/switch.toml"
    check_eq "pe: hookpatch" "0 hookpatch: hooked 3 functions, skipped 0" "$HP_RC $HP_ERR"
    timeout 300 "$WINE" wineboot -i >/dev/null 2>&1 || true # the prefix, once (slow)
    run_prog "$WINE" "$W/pe.out.exe"
    check_eq "pe under wine: switched at run time" "$EXPECT_C" "$(tr -d '\r' <<<"$RUN_OUT")"
    timeout 30 "$(dirname "$WINE")/wineserver" -k >/dev/null 2>&1 || true
else
    skip "pe" "no wine or mingw"
fi

# Mach-O, x86-64 and arm64 (no Mac here): tests/fixtures/switch_c/
# freestanding.c's drive(3) called under unicorn by macho_emu.py, on the
# signed output (its signature verified) and the input.
macho()
{
    local arch=$1 f=$W/fs-$1
    clang -target "$arch-apple-macos11" -O1 -c "$FIX/freestanding.c" -o "$f.o" &&
        ld64.lld-14 -arch "$arch" -platform_version macos 11.0 11.0 -undefined dynamic_lookup \
            -headerpad 0x1000 -adhoc_codesign -o "$f" "$f.o" || {
        fail "macho $arch: build"
        return
    }
    hp "$f" "$f.out" "$FIX/freestanding.toml"
    check_eq "macho $arch: hookpatch" "0 hookpatch: hooked 1 function, skipped 0" "$HP_RC $HP_ERR"
    [[ $HP_RC == 0 ]] || return 0
    local got
    got=$(/usr/bin/python3 "$HP_SRC/tests/e2e/macho_emu.py" call "$f.out" _drive c 3)
    got+=" $(/usr/bin/python3 "$HP_SRC/tests/e2e/macho_emu.py" call "$f" _drive c 3)"
    got+=" $(/usr/bin/python3 "$HP_SRC/tests/e2e/macho_emu.py" sig "$f.out" | cut -d' ' -f1)"
    check_eq "macho $arch: switched (patched, unpatched, signature)" "4300004 -1 ok" "$got"
    # No header room for the table's and the slots' segments: refused.
    ld64.lld-14 -arch "$arch" -platform_version macos 11.0 11.0 -undefined dynamic_lookup \
        -o "$f.nopad" "$f.o"
    hp "$f.nopad" "$f.nopad.out" "$FIX/freestanding.toml"
    check_true "macho $arch: no room for the table: an error, no OUT" "rc=$HP_RC $HP_ERR" \
        test "$HP_RC" = 1 -a ! -e "$f.nopad.out"
    check_true "macho $arch: no room for the table: says why" "$HP_ERR" \
        grep -q "error: .*no room for hookpatch's load commands.*headerpad" <<<"$HP_ERR"
}
if command -v clang >/dev/null && command -v ld64.lld-14 >/dev/null &&
    /usr/bin/python3 -c 'import unicorn' 2>/dev/null; then
    macho x86_64
    macho arm64
else
    skip "macho" "needs clang, ld64.lld-14 and python3-unicorn"
fi

if a64_have "arm64"; then
    in=$W/a64-c
    a64_cc "${CFLAGS[@]}" -o "$in" "$FIX/prog.c"
    hp "$in" "$in.out" "$FIX/switch.toml"
    a64_run "$in.out"
    check_eq "arm64 c: switched at run time" "$EXPECT_C" "$RUN_OUT"
    HOOKPATCH_TEST_FAR=1 hp "$in" "$in.far" "$FIX/switch.toml"
    a64_run "$in.far"
    check_eq "arm64 c, far layout: switched at run time" "$EXPECT_C" "$RUN_OUT"
    if [[ ${#TOOLCHAINS[@]} -gt 0 ]]; then
        # shellcheck disable=SC2086
        go_use ${TOOLCHAINS[-1]}
        go_one "$GO_LABEL" arm64 a64_run
    fi
fi

e2e_finish
