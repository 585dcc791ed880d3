#!/usr/bin/env bash
# Acceptance for switchable hooks in C and C++ (issue 17): include/hookpatch.h
# and `action = "switch"` rules, end to end.
#
# The program (tests/fixtures/c_switch/main.c; the targets in their own
# translation unit) flips functions between mocks and their originals at run
# time with hookpatch_set/hookpatch_reset and prints every result: eight
# integer arguments (every argument register and the stack), varargs with
# nine doubles (AL and every vector register), a struct returned in memory,
# doubles mixed with ints, calls through function pointers, a mock that
# calls hookpatch_original, and a function with no rule (every helper
# refuses it, with the rule to add). Checked exactly, stdout and stderr:
#   - ELF x86-64 by gcc and clang: PIE, -no-pie, -static, -O0, -Os (where
#     sw_add is too short to hook: hookpatch skips it, the helpers refuse
#     it), IBT;
#     the unpatched input (every helper says the binary was not patched);
#     the output is deterministic and IN is left alone; `hookpatch exec`;
#   - a program with the header and no switch rule (an empty table), and
#     switch rules in a program without the header (a warning);
#   - a shared library with the switch and its setter inside, used by an
#     unpatched program (refusals name the exported function, via dladdr),
#     also patched after strip --strip-all (the marker is exported);
#   - C++ (g++): the header's templates and extern "C";
#   - mingw-w64 PE under wine; AArch64 ELF under qemu (gcc and clang);
#   - Mach-O x86-64 and arm64, called under unicorn (macho_emu.py);
#   - the helpers against forged tables (HOOKPATCH_TEST_TABLE): binary
#     search, slots, Go entries and unknown versions/ABIs refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/c_switch
INC=$HP_SRC/include
RULES=$FIX/hooks.toml

ROW_ORIG="sum8=204 vavg=5.000 triple=10,11,12 mix=7.500 add=5 square=49 ptr=25 apply=36"
# expect_patched [tiny]: the patched output. With "tiny", sw_add (4 bytes at
# -Os, no padding after it) was skipped by hookpatch as too short, so every
# helper call on it fails as not switchable (3) and it stays the original.
expect_patched()
{
    local a=0 add=501
    [[ ${1:-} == tiny ]] && a=3 add=5
    printf '%s\n' "original: $ROW_ORIG" "set: 0 0 0 0 $a 0" \
        "mocked: sum8=12345678 vavg=285.000 triple=-10,100,7 mix=-4.500 add=$add square=-7 ptr=-5 apply=-6" \
        "original sum8 while mocked: 204" "reset: 0 0, set to itself: $a, set again: 0" \
        "partly reset: sum8=12345678 vavg=5.000 triple=-10,100,7 mix=7.500 add=5 square=1007 ptr=1005 apply=1006" \
        "reset: 0 0 $a 0" "reset: $ROW_ORIG" "not_switched: set=3 reset=3 original=NULL value=7"
}
EXPECT_PATCHED=$(expect_patched)
# expect_refused CODE: the output when every helper call fails with CODE.
expect_refused()
{
    local c=$1
    printf '%s\n' "original: $ROW_ORIG" "set: $c $c $c $c $c $c" "mocked: $ROW_ORIG" \
        "original sum8 while mocked: -1" "reset: $c $c, set to itself: $c, set again: $c" \
        "partly reset: $ROW_ORIG" "reset: $c $c $c $c" "reset: $ROW_ORIG" \
        "not_switched: set=$c reset=$c original=NULL value=7"
}
EXPECT_UNPATCHED=$(expect_refused 1)
NOT_PATCHED="this binary was not patched by hookpatch (it has no switch table): patch it, or run it under \`hookpatch exec\`, with the rule"
NOT_SWITCHABLE="not switchable in this binary: patch it with the rule"

# addr FILE SYMBOL [NM]: the symbol's value as 0x%x.
addr()
{
    local v
    v=$("${3:-nm}" "$1" | awk -v s="$2" '$3 == s { print $1; exit }')
    [[ -n $v ]] && printf '0x%x' "$((16#$v))"
}

# norm: the run-time address printed first (ASLR) becomes ADDR; lines sorted
# (the order of a printf's arguments is the compiler's).
norm()
{
    sed -E 's/^(hookpatch: hookpatch_[a-z]+\()(0x)?[0-9a-fA-F]+/\1ADDR/; s/table at (0x)?[0-9a-fA-F]+/table at ADDR/' | sort
}

# refusals WHAT VA MODULE: the three sorted lines for not_switched.
refusals()
{
    local what=$1 va=$2 mod=$3 f
    for f in hookpatch_original hookpatch_reset hookpatch_set; do
        echo "hookpatch: $f(ADDR, link address $va$mod): $what [[hook]] target = \"$va\" action = \"switch\" (or the function's name)"
    done
}

# ---- ELF x86-64 ---------------------------------------------------------

elf_flags() # MODE -> compile and link flags
{
    case $1 in
    pie) echo "-O2 -fPIE -pie" ;;
    nopie) echo "-O2 -fno-pie -no-pie" ;;
    static) echo "-O2 -fno-pie -static" ;;
    O0) echo "-O0" ;;
    Os) echo "-Os" ;;
    ibt) echo "-O2 -fcf-protection=full -Wl,-z,ibt -Wl,-z,shstk" ;;
    esac
}

elf_variant() # CC MODE
{
    local cc=$1 mode=$2 v="$1-$2" dir=$HP_WORK/$1-$2
    mkdir -p "$dir"
    # shellcheck disable=SC2046
    if ! "$cc" $(elf_flags "$mode") -Wall -I"$INC" -I"$FIX" "$FIX/main.c" "$FIX/targets.c" -o "$dir/in" \
        >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    local va mod=" in $dir/out" imod=" in $dir/in"
    va=$(addr "$dir/in" not_switched)
    # A static program has no dladdr (weak, not linked): no module name.
    [[ $mode == static ]] && mod="" imod=""
    run_prog "$dir/in"
    check_eq "$v: unpatched: the helpers refuse, the originals run" "$EXPECT_UNPATCHED (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    local line="hookpatch: hookpatch_set(ADDR, link address $va$imod): $NOT_PATCHED [[hook]] target = \"$va\" action = \"switch\" (or the function's name)"
    check_eq "$v: unpatched: 18 messages, all 'not patched', one for not_switched" "18 18 1" \
        "$(grep -c . <<<"$RUN_ERR") $(grep -cF "$NOT_PATCHED" <<<"$RUN_ERR") $(norm <<<"$RUN_ERR" | grep -cxF "$line")"
    local in_sha
    in_sha=$(sha "$dir/in")
    hp "$dir/in" "$dir/out" "$RULES"
    if [[ $HP_RC -ne 0 || ! -x $dir/out ]]; then
        fail "$v: patch" "rc $HP_RC" "$HP_ERR"
        return
    fi
    pass "$v: patch"
    local tiny="" want_err
    want_err=$(refusals "$NOT_SWITCHABLE" "$va" "$mod")
    if [[ $mode == Os ]]; then
        # sw_add is `lea; ret`: hookpatch skips it, and the helpers agree.
        tiny=tiny
        local ava
        ava=$(addr "$dir/in" sw_add)
        check_eq "$v: sw_add skipped as too short" "yes" \
            "$([[ $HP_ERR == *"skipped sw_add ($ava): too short"* ]] && echo yes)"
        want_err=$({
            echo "$want_err"
            for f in hookpatch_set hookpatch_set hookpatch_reset; do
                echo "hookpatch: $f(ADDR, link address $ava$mod): $NOT_SWITCHABLE [[hook]] target = \"$ava\" action = \"switch\" (or the function's name)"
            done
        } | sort)
    fi
    run_prog "$dir/out"
    check_eq "$v: switched at run time" "$(expect_patched $tiny) (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    check_eq "$v: refusals name the link address" "$want_err" "$(norm <<<"$RUN_ERR")"
    hp "$dir/in" "$dir/out2" "$RULES"
    if [[ $HP_RC -eq 0 ]] && cmp -s "$dir/out" "$dir/out2"; then
        pass "$v: deterministic output"
    else
        fail "$v: deterministic output" "rc $HP_RC; $(cmp "$dir/out" "$dir/out2" 2>&1 | head -1)"
    fi
    check_eq "$v: input unchanged" "$in_sha" "$(sha "$dir/in")"
    if [[ $mode == ibt ]]; then
        check_eq "$v: the output keeps IBT (every stub entry has a landing pad)" "IBT, SHSTK" "$(x86_features "$dir/out")"
    fi
    if [[ $v == gcc-pie ]]; then
        hp exec "$RULES" -- "$dir/in"
        check_eq "$v: hookpatch exec" "$EXPECT_PATCHED (rc 0)" "$HP_OUT (rc $HP_RC)"
    fi
}

# The header without a switch rule: the table is there, empty; every call
# is refused as not switchable (not as "not patched").
no_rule_case()
{
    local v=no-rule dir=$HP_WORK/no-rule
    mkdir -p "$dir"
    gcc -O2 -I"$INC" -I"$FIX" "$FIX/main.c" "$FIX/targets.c" -o "$dir/in"
    # not_switched(2) is 7 either way: the hook changes nothing visible.
    printf '[[hook]]\ntarget = "not_switched"\naction = "return"\nvalue = 7\n' >"$dir/rules.toml"
    hp "$dir/in" "$dir/out" "$dir/rules.toml"
    check_eq "$v: patch" "0" "$HP_RC"
    run_prog "$dir/out"
    check_eq "$v: every helper call refused as not switchable" "$(expect_refused 3) (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    check_eq "$v: 18 messages, all 'not switchable'" "18 18" \
        "$(grep -c . <<<"$RUN_ERR") $(grep -cF "$NOT_SWITCHABLE" <<<"$RUN_ERR")"
}

# Switch rules in a program without hookpatch.h: patched, the originals
# run (the slots stay empty), and a warning says what to link.
no_header_case()
{
    local v=no-header dir=$HP_WORK/no-header
    mkdir -p "$dir"
    printf '#include <stdio.h>\n#include "targets.h"\nint main(void) { printf("%%d %%ld\\n", sw_add(2, 3), sw_sum8(1, 2, 3, 4, 5, 6, 7, 8)); return 0; }\n' >"$dir/m.c"
    gcc -O2 -I"$FIX" "$dir/m.c" "$FIX/targets.c" -o "$dir/in"
    hp "$dir/in" "$dir/out" "$RULES"
    check_eq "$v: patched, with a warning that names hookpatch.h" "0 yes" \
        "$HP_RC $([[ $HP_ERR == *warning*hookpatch.h* ]] && echo yes)"
    run_prog "$dir/out"
    check_eq "$v: the originals run" "5 204 (rc 0)" "$RUN_OUT (rc $RUN_RC)"
}

# ---- shared library -------------------------------------------------------

shlib_case() # CC
{
    local cc=$1 v="shlib-$1" dir=$HP_WORK/shlib-$1
    mkdir -p "$dir/orig" "$dir/patched" "$dir/stripped"
    if ! { "$cc" -O2 -fPIC -shared -I"$INC" -I"$FIX" "$FIX/lib.c" -o "$dir/orig/libswlib.so" &&
        "$cc" -O2 -I"$FIX" "$FIX/app.c" -L"$dir/orig" -lswlib -o "$dir/app" &&
        strip --strip-all "$dir/orig/libswlib.so" -o "$dir/stripped.so"; } >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    run_prog env LD_LIBRARY_PATH="$dir/orig" "$dir/app"
    check_eq "$v: unpatched library: refused, originals" "lib: 50, on=1 50 60, off=1 50 60, plain=1 4 (rc 0)" \
        "$RUN_OUT (rc $RUN_RC)"
    local va
    va=$(addr "$dir/orig/libswlib.so" lib_plain)
    # Stripped, the library still exports the marker (protected) and lib_scale.
    local kind in out
    for kind in patched stripped; do
        in=$dir/orig/libswlib.so
        [[ $kind == stripped ]] && in=$dir/stripped.so
        out=$dir/$kind/libswlib.so
        hp "$in" "$out" "$FIX/lib.toml"
        check_eq "$v $kind: patch the library" "0" "$HP_RC"
        run_prog env LD_LIBRARY_PATH="$dir/$kind" "$dir/app"
        check_eq "$v $kind: switched inside the library, for the unpatched program" \
            "lib: 50, on=0 57 67, off=0 50 60, plain=3 4 (rc 0)" "$RUN_OUT (rc $RUN_RC)"
        check_eq "$v $kind: lib_plain refused by name" \
            "hookpatch: hookpatch_set(ADDR lib_plain, link address $va in $out): $NOT_SWITCHABLE [[hook]] target = \"lib_plain\" action = \"switch\"" \
            "$(norm <<<"$RUN_ERR")"
    done
}

# ---- C++ ------------------------------------------------------------------

cxx_case()
{
    local v=c++ dir=$HP_WORK/cxx
    mkdir -p "$dir"
    if ! { g++ -O2 -Wall -Wextra -I"$INC" -I"$FIX" -c "$FIX/main.cpp" -o "$dir/main.o" &&
        gcc -O2 -I"$FIX" -c "$FIX/targets.c" -o "$dir/targets.o" &&
        g++ "$dir/main.o" "$dir/targets.o" -o "$dir/in"; } >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    check_eq "$v: compiles without a warning" "" "$(cat "$dir/build.log")"
    if command -v clang++ >/dev/null; then
        check_eq "$v: clang++ -std=c++11 -Wpedantic: no warning" "" \
            "$(clang++ -std=c++11 -Wall -Wextra -Wpedantic -fsyntax-only -I"$INC" -I"$FIX" "$FIX/main.cpp" 2>&1)"
    fi
    printf '#include "hookpatch.h"\nint f(int); long g(int);\nint main() { return hookpatch_set(f, g); }\n' >"$dir/bad.cpp"
    if g++ -I"$INC" -fsyntax-only "$dir/bad.cpp" >"$dir/bad.log" 2>&1; then
        fail "$v: a mock of another type is a compile error" "g++ accepted hookpatch_set(int(*)(int), long(*)(int))"
    else
        pass "$v: a mock of another type is a compile error"
    fi
    hp "$dir/in" "$dir/out" "$RULES"
    check_eq "$v: patch" "0" "$HP_RC"
    run_prog "$dir/out"
    check_eq "$v: switched from C++ (templates, lambdas, original)" \
        "c++ original: add=5 square=16
c++ set: 0 0 mocked: add=501 square=-4 apply=-6
c++ reset: 0 0 add=5 square=16
c++ not switched: 3 (rc 0)" "$RUN_OUT (rc $RUN_RC)"
}

# ---- forged tables ----------------------------------------------------------

FORGED_OUT="unpatched: set=1 reset=1 original=NULL
C entries: every set, original and reset right
set: rc=0 slot=mock; set to itself: rc=0 slot=empty
absent: set=3
go: set=4 reset=4 original=NULL
abi 7: set=4
slots after refusals: all empty
version 2: set=2
empty table: set=3"

forged_case() # CC
{
    local cc=$1 v="forged-$1" dir=$HP_WORK/forged-$1
    mkdir -p "$dir"
    if ! "$cc" -O2 -Wall -Wextra -I"$INC" "$FIX/forged.c" -o "$dir/f" >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    run_prog "$dir/f"
    check_eq "$v: results" "$FORGED_OUT (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    local f0 ab m=" in $dir/f" go="a Go function (its slot holds a Go func value): switch it from Go with hookpatch.dev/mock (mock.Patch), not with hookpatch.h"
    f0=$(addr "$dir/f" f0)
    ab=$(addr "$dir/f" absent)
    check_eq "$v: messages" "$(
        {
            for f in set reset original; do
                echo "hookpatch: hookpatch_$f(ADDR, link address $f0$m): $NOT_PATCHED [[hook]] target = \"$f0\" action = \"switch\" (or the function's name)"
                echo "hookpatch: hookpatch_$f(ADDR): $go"
            done
            echo "hookpatch: hookpatch_set(ADDR, link address $ab$m): $NOT_SWITCHABLE [[hook]] target = \"$ab\" action = \"switch\" (or the function's name)"
            echo "hookpatch: hookpatch_set(ADDR): its switch uses ABI 7, which this hookpatch.h does not know: use the hookpatch.h of the hookpatch that patched the binary"
            echo "hookpatch: hookpatch_set(ADDR): the switch table at ADDR is not version 1 (magic HPSWTAB1, version 2, entry size 24): this hookpatch.h does not match the hookpatch that patched the binary"
            echo "hookpatch: hookpatch_set(ADDR, link address $f0$m): $NOT_SWITCHABLE [[hook]] target = \"$f0\" action = \"switch\" (or the function's name)"
        } | sort
    )" "$(norm <<<"$RUN_ERR")"
}

# ---- PE (mingw-w64, wine) ---------------------------------------------------

WINE=${HP_WINE:-/usr/lib/wine/wine64}
PE_CC=x86_64-w64-mingw32-gcc

run_wine()
{
    local o e
    o=$(mktemp "$HP_WORK/.wine-out.XXXXXX")
    e=$(mktemp "$HP_WORK/.wine-err.XXXXXX")
    RUN_RC=0
    (cd "$(dirname "$1")" && timeout 120 "$WINE" "$@") >"$o" 2>"$e" </dev/null || RUN_RC=$?
    RUN_OUT=$(tr -d '\r' <"$o")
    RUN_ERR=$(tr -d '\r' <"$e")
    rm -f "$o" "$e"
}

pe_case()
{
    if ! command -v "$PE_CC" >/dev/null || [[ ! -x $WINE ]]; then
        skip "pe" "needs $PE_CC and $WINE"
        return
    fi
    if ! wine_prefix; then
        fail "pe: wine prefix" "$WINE_WHY"
        return
    fi
    local opt
    for opt in -O2 -O0; do
        local v="pe$opt" dir=$HP_WORK/pe$opt
        mkdir -p "$dir"
        if ! "$PE_CC" $opt -Wall -I"$INC" -I"$FIX" "$FIX/main.c" "$FIX/targets.c" -o "$dir/in.exe" >"$dir/build.log" 2>&1; then
            fail "$v: build" "$(tail -5 "$dir/build.log")"
            continue
        fi
        run_wine "$dir/in.exe"
        check_eq "$v: unpatched: the helpers refuse, the originals run" "$EXPECT_UNPATCHED (rc 0)" "$RUN_OUT (rc $RUN_RC)"
        check_eq "$v: unpatched: 18 messages, all 'not patched'" "18 18" \
            "$(grep -c . <<<"$RUN_ERR") $(grep -cF "$NOT_PATCHED" <<<"$RUN_ERR")"
        hp "$dir/in.exe" "$dir/out.exe" "$RULES"
        if [[ $HP_RC -ne 0 ]]; then
            fail "$v: patch" "rc $HP_RC" "$HP_ERR"
            continue
        fi
        pass "$v: patch"
        run_wine "$dir/out.exe"
        check_eq "$v: switched at run time" "$EXPECT_PATCHED (rc 0)" "$RUN_OUT (rc $RUN_RC)"
        local va base rva
        va=$(addr "$dir/in.exe" not_switched x86_64-w64-mingw32-nm)
        base=$(x86_64-w64-mingw32-objdump -p "$dir/in.exe" | awk '$1 == "ImageBase" { print $2 }')
        rva=$(printf '0x%x' $((va - 16#$base)))
        check_eq "$v: not_switched refused with its RVA and module" "$(
            for f in original reset set; do
                echo "hookpatch: hookpatch_$f(ADDR, RVA $rva in Z:${dir//\//\\}\\out.exe): $NOT_SWITCHABLE [[hook]] target = \"<the function's name>\" action = \"switch\""
            done
        )" "$(norm <<<"$RUN_ERR")"
    done
}

# ---- AArch64 (qemu) -----------------------------------------------------------

a64_variant() # CC MODE
{
    local cc=$1 mode=$2 v="a64-$1-$2" dir=$HP_WORK/a64-$1-$2 flags
    mkdir -p "$dir"
    case $mode in
    pie) flags="-O2 -fPIE -pie" ;;
    nopie) flags="-O2 -fno-pie -no-pie" ;;
    static) flags="-O2 -static" ;;
    bp) flags="-O2 -mbranch-protection=standard" ;;
    esac
    local build=a64_cc
    [[ $cc == clang ]] && build=a64_clang
    # shellcheck disable=SC2086
    if ! $build $flags -Wall -I"$INC" -I"$FIX" "$FIX/main.c" "$FIX/targets.c" -o "$dir/in" >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    a64_run "$dir/in"
    check_eq "$v: unpatched: the helpers refuse, the originals run" "$EXPECT_UNPATCHED (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    hp "$dir/in" "$dir/out" "$RULES"
    if [[ $HP_RC -ne 0 ]]; then
        fail "$v: patch" "rc $HP_RC" "$HP_ERR"
        return
    fi
    pass "$v: patch"
    a64_run "$dir/out"
    check_eq "$v: switched at run time" "$EXPECT_PATCHED (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    local va mod=" in $dir/out"
    va=$(addr "$dir/in" not_switched aarch64-linux-gnu-nm)
    [[ $mode == static ]] && mod=""
    check_eq "$v: not_switched refused with its link address" "$(refusals "$NOT_SWITCHABLE" "$va" "$mod")" \
        "$(norm <<<"$RUN_ERR")"
}

# ---- Mach-O (unicorn) -------------------------------------------------------

MACHO_STEPS="0:5501005 1:12345678 2:204 3:5285 4:-98993 5:-607 6:4242"

macho_case()
{
    local lld=ld64.lld-14 dir=$HP_WORK/macho
    if ! command -v clang >/dev/null || ! command -v $lld >/dev/null || ! /usr/bin/python3 -c 'import unicorn' 2>/dev/null; then
        skip "macho" "needs clang, $lld and python3-unicorn"
        return
    fi
    mkdir -p "$dir"
    local arch kind
    for arch in x86_64 arm64; do
        local cf=(-target "$arch-apple-macos11" -O1 -fno-stack-protector -nostdlibinc -isystem "$FIX/macsdk" -I"$INC" -I"$FIX")
        local ld=("$lld" -arch "$arch" -platform_version macos 11.0 11.0 -undefined dynamic_lookup -headerpad 0x1000)
        if ! { clang "${cf[@]}" -c "$FIX/selftest.c" -o "$dir/selftest-$arch.o" &&
            clang "${cf[@]}" -c "$FIX/targets.c" -o "$dir/targets-$arch.o" &&
            "${ld[@]}" -dylib -install_name @rpath/libsw.dylib -o "$dir/dylib-$arch" \
                "$dir/selftest-$arch.o" "$dir/targets-$arch.o" &&
            "${ld[@]}" -e _switch_selftest -o "$dir/exe-$arch" "$dir/selftest-$arch.o" "$dir/targets-$arch.o"; } \
            >"$dir/build-$arch.log" 2>&1; then
            fail "macho $arch: build" "$(tail -5 "$dir/build-$arch.log")"
            continue
        fi
        for kind in exe dylib; do
            local v="macho $arch $kind" f=$dir/$kind-$arch
            hp "$f" "$f.out" "$RULES"
            if [[ $HP_RC -ne 0 ]]; then
                fail "$v: patch" "rc $HP_RC" "$HP_ERR"
                continue
            fi
            pass "$v: patch"
            local s want="" got
            for s in $MACHO_STEPS; do
                want+="${s#*:} "
                echo "$f.out _switch_selftest c ${s%%:*}"
            done >"$dir/batch"
            got=$(/usr/bin/python3 "$HP_SRC/tests/e2e/macho_emu.py" batch <"$dir/batch" 2>&1 | tr '\n' ' ') || true
            check_eq "$v: every step switched under unicorn" "$want" "$got"
        done
    done
}

# Everything runs in parallel (HP_E2E_JOBS, default: CPUs); wine in one job.
for cc in gcc clang; do
    command -v "$cc" >/dev/null || { skip "$cc" "not installed"; continue; }
    for mode in pie nopie static O0 Os ibt; do
        par_start elf_variant "$cc" "$mode"
    done
    par_start shlib_case "$cc"
    par_start forged_case "$cc"
done
par_start no_rule_case
par_start no_header_case
par_start cxx_case
par_start pe_case
if a64_have "a64 switch"; then
    for mode in pie nopie static bp; do
        par_start a64_variant gcc "$mode"
    done
    command -v ld.lld >/dev/null && par_start a64_variant clang pie
fi
par_start macho_case
par_wait
e2e_finish
