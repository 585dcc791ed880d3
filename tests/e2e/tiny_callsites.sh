#!/usr/bin/env bash
# Tiny targets (issue 18, technique 2): call-site redirection. The fixture
# (tests/fixtures/tiny_cs) has touch (1 byte), zero (3), add (4) and answer
# (6) packed between two 160-byte functions, so in packed builds (gcc -Os,
# gcc -O2 -falign-functions=1, clang -Os) no free padding is in a short
# jump's reach: touch, zero and add take neither the jump nor an island and
# are hooked where they are reached. main calls them directly, through
# pointers in data (zero_ptr, answer_ptr: RELATIVE relocations in PIE,
# absolute words otherwise) and through a pointer made by code (add passed
# to call2: lea [rip+add] in PIE, mov imm32 otherwise). Per build (gcc and
# clang; -Os, -O2 -falign-functions=1, -O2; PIE, non-PIE, static; gcc also
# a PIE linked with -z pack-relative-relocs, whose data pointers are
# DT_RELR words, re-pointed like RELATIVE ones):
# - `replace` + `original =`, `action = "return"` and `passthrough` run
#   with the exact expected output. PIE: every pointer is redirected.
#   Non-PIE: call sites would miss the absolute pointers, so zero and add
#   take the short jump to an island in code moved out of a neighbour
#   (rewriter/move.h: --json names it), and every pointer reaches the hook;
#   with --no-move they keep their call sites, are not reached through
#   their absolute pointers, and the warning names each (zero_ptr in data,
#   the mov in main), asserted; where the compiler's padding gives a target
#   the entry jump or an island instead (-O2, clang), pointers reach it
#   too: the expected output follows the technique the --json report gives;
# - packed builds: touch, zero and add are "callsites" in --json, and
#   `hookpatch list` says "call sites (N)";
# - non-PIE with --no-move: --strict makes the missed pointers an error,
#   OUT not created;
# - two runs give the same bytes.
# And a library built with -O2 -falign-functions=1 -fPIC whose exported
# 4-byte lib_add is replaced (with `original =`) and made to return a value:
# the unpatched program that calls it (and lib_twice, through the library's
# own PLT) sees the hook, through the re-pointed .dynsym value; .symtab
# still names the original.
# And the same under wine for mingw -Os PE (an EXE, and a DLL whose export
# table entry is re-pointed), unless HP_E2E_CC narrows the run.
# To narrow a run by hand: HP_E2E_CC=gcc HP_E2E_MODES=pie bash tiny_callsites.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/tiny_cs

. "$HP_SRC/tests/fixtures/tiny_cs/expected.sh"

# expected RULES MODE ZERO_CS ADD_CS: the program's output; ZERO_CS/ADD_CS
# say whether zero/add are hooked at call sites (then their absolute
# pointers in non-PIE code still reach the original).
expected()
{
    local zp=yes ap=yes
    if [[ $2 != pie ]]; then
        [[ $3 == yes ]] && zp=no
        [[ $4 == yes ]] && ap=no
    fi
    tiny_cs_expected "$1" "$zp" "$ap"
}

build_one()
{
    local cc=$1 opt=$2 mode=$3 dir=$4 cflags ldflags f
    case $mode in
    pie) cflags=-fPIE ldflags=-pie ;;
    relr) cflags=-fPIE ldflags="-pie -Wl,-z,pack-relative-relocs" ;;
    nopie) cflags=-fno-pie ldflags=-no-pie ;;
    static) cflags=-fno-pie ldflags=-static ;;
    esac
    case $opt in
    O2) cflags+=" -O2" ;;
    packed) cflags+=" -O2 -falign-functions=1" ;;
    Os) cflags+=" -Os" ;;
    esac
    mkdir -p "$dir"
    for f in main stubs cs; do
        "$cc" $cflags -c "$FIX/$f.c" -o "$dir/$f.o" || return 1
    done
    "$cc" $ldflags -o "$dir/in" "$dir/main.o" "$dir/stubs.o" "$dir/cs.o"
}

# technique JSON NAME: the --json report's technique for NAME.
technique() { json_get "$1" "[h['technique'] for h in j['hooks'] if h['target'] == '$2'][0]"; }
# moved JSON NAME: "yes" when NAME's island is in code moved out of a
# neighbour (the report names it, with the moved bytes' address), else "no".
moved()
{
    json_get "$1" "'yes' if [h for h in j['hooks'] if h['target'] == '$2' and h.get('moved_from') and h.get('moved_bytes', 0) >= 10] else 'no'"
}

one_build()
{
    local cc=$1 opt=$2 mode=$3 v="$1 $2 $3" dir=$HP_WORK/$1-$2-$3 r pm=$3
    [[ $mode == relr ]] && pm=pie # a PIE whose relative relocations are DT_RELR
    if ! build_one "$cc" "$opt" "$mode" "$dir" >"$dir.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir.log")"
        return
    fi
    local in=$dir/in tight=no
    [[ ($opt == Os) || ($opt == packed && $cc == gcc) ]] && tight=yes
    run_prog "$in"
    check_eq "$v: unpatched" "$(expected plain "$pm" no no) (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    # Non-PIE packed builds: the pointers to zero and add are absolute, so
    # call sites would miss them, and each takes an island in code moved
    # out of a neighbour instead (rewriter/move.h); --no-move keeps the call
    # sites and their warnings.
    local nm
    local -a passes=("")
    [[ $tight == yes && $pm != pie ]] && passes+=(--no-move)
    for nm in "${passes[@]}"; do
    for r in replace return passthrough; do
        local lbl=$r${nm:+ $nm} out=$dir/$r${nm:+-nomove}.out
        hp --dry-run --json $nm "$in" "$dir/unused" "$FIX/$r.toml"
        printf '%s\n' "$HP_OUT" >"$out.json"
        local tt tz ta zcs=no acs=no
        tt=$(technique "$out.json" touch 2>/dev/null || echo none)
        tz=$(technique "$out.json" zero 2>/dev/null || echo none)
        ta=$(technique "$out.json" add 2>/dev/null || echo none)
        [[ $tz == callsites ]] && zcs=yes
        [[ $ta == callsites ]] && acs=yes
        if [[ $tight == yes && ($pm == pie || -n $nm) ]]; then
            check_eq "$v: $lbl: techniques" "callsites callsites callsites" "$tt $tz $ta"
        elif [[ $tight == yes ]]; then
            check_eq "$v: $lbl: techniques (zero and add: islands in moved code)" \
                "callsites island island yes yes" "$tt $tz $ta $(moved "$out.json" zero) $(moved "$out.json" add)"
        fi
        hp $nm "$in" "$out" "$FIX/$r.toml"
        if [[ $HP_RC -ne 0 ]]; then
            fail "$v: $lbl: hookpatch" "rc $HP_RC" "$HP_ERR"
            continue
        fi
        run_prog "$out"
        check_eq "$v: $lbl: output ($tz/$ta)" "$(expected "$r" "$pm" "$zcs" "$acs") (rc 0)" \
            "$RUN_OUT (rc $RUN_RC)"
        # the places not redirected are named, and only where they exist
        local werr=""
        if [[ $pm != pie && $zcs == yes ]]; then
            [[ $HP_ERR == *"warning: "*"$r.toml:"*"target 'zero': hooked at "*"call site(s), but 1 place(s) reaching 0x"*"were not redirected"*"(zero_ptr+0x0): a pointer in data with no relocation (the address is absolute)"* ]] ||
                werr+="no warning naming zero_ptr; "
        fi
        if [[ $pm != pie && $acs == yes ]]; then
            [[ $HP_ERR == *"target 'add': hooked at "*"were not redirected"*"(main+0x"*"): an absolute address in an instruction's immediate"* ]] ||
                werr+="no warning naming the mov in main; "
        fi
        if [[ $pm == pie && $HP_ERR == *"not redirected"* ]]; then
            werr+="PIE: a place not redirected; "
        fi
        if [[ $pm != pie && $zcs == no && $acs == no && $HP_ERR == *"not redirected"* ]]; then
            werr+="entries hooked in place, yet a place not redirected; "
        fi
        if [[ -z $werr ]]; then pass "$v: $lbl: places not redirected are named"
        else fail "$v: $lbl: places not redirected are named" "$werr" "$HP_ERR"; fi
        if [[ $r == replace && $pm != pie && $zcs == yes ]]; then
            # shellcheck disable=SC2086 # $nm: one option or none
            tiny_cs_strict "$v" "$in" "$dir" "$FIX/$r.toml" $nm
        fi
    done
    done
    hp "$in" "$dir/replace.again" "$FIX/replace.toml"
    if [[ $HP_RC -eq 0 && -f $dir/replace.out ]]; then
        check_eq "$v: deterministic output" "$(sha "$dir/replace.out")" "$(sha "$dir/replace.again")"
    else
        fail "$v: deterministic output" "rc $HP_RC" "$HP_ERR"
    fi
    if [[ $tight == yes ]]; then
        hp list "$in" touch
        [[ $HP_OUT =~ \ yes\ +touch\ +#\ call\ sites\ \(1\) ]] && pass "$v: list: call sites" ||
            fail "$v: list: call sites" "$HP_OUT"
    fi
}

lib_build()
{
    local cc=$1 v="$1 shared" dir=$HP_WORK/$1-shared r
    mkdir -p "$dir/out"
    if ! { "$cc" -O2 -falign-functions=1 -fPIC -shared -o "$dir/libt.so" "$FIX/lib.c" &&
        "$cc" -O2 -o "$dir/app" "$FIX/app.c" -L"$dir" -lt; } >"$dir.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir.log")"
        return
    fi
    local size
    size=$(nm -S "$dir/libt.so" | awk '$4 == "lib_add" { print $2 }')
    check_eq "$v: lib_add is 4 bytes" 4 "$((16#$size))"
    LD_LIBRARY_PATH=$dir run_prog "$dir/app"
    check_eq "$v: unpatched" "lib_add=5 lib_twice=10 (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    local -A want=([lib]="lib_add=1005 lib_twice=2010" [lib_return]="lib_add=100 lib_twice=200")
    for r in lib lib_return; do
        hp --dry-run --json "$dir/libt.so" "$dir/unused" "$FIX/$r.toml"
        printf '%s\n' "$HP_OUT" >"$dir/$r.json"
        local t
        t=$(technique "$dir/$r.json" lib_add 2>/dev/null || echo none)
        [[ $cc == gcc ]] && check_eq "$v: $r: technique" callsites "$t"
        rm -f "$dir/out/libt.so"
        hp "$dir/libt.so" "$dir/out/libt.so" "$FIX/$r.toml"
        if [[ $HP_RC -ne 0 || $HP_ERR == *warning* ]]; then
            fail "$v: $r: hookpatch" "rc $HP_RC" "$HP_ERR"
            continue
        fi
        LD_LIBRARY_PATH=$dir/out run_prog "$dir/app"
        check_eq "$v: $r: the unpatched program sees the hook ($t)" "${want[$r]} (rc 0)" \
            "$RUN_OUT (rc $RUN_RC)"
        if [[ $t == callsites ]]; then
            # .dynsym points at the hook's code; .symtab keeps the original
            local dyn sym
            dyn=$(readelf -W --dyn-syms "$dir/out/libt.so" | awk '$8 == "lib_add" { print $2 }')
            sym=$(nm "$dir/out/libt.so" | awk '$3 == "lib_add" { print $1 }')
            [[ -n $dyn && -n $sym && $((16#$dyn)) -ne $((16#$sym)) &&
                $(nm "$dir/libt.so" | awk '$3 == "lib_add" { print $1 }') == "$sym" ]] &&
                pass "$v: $r: .dynsym re-pointed (0x$dyn), .symtab names the original" ||
                fail "$v: $r: .dynsym re-pointed, .symtab names the original" "$dyn" "$sym"
        fi
    done
}

# PE (mingw -Os, run under wine): the same program and rules, every
# pointer redirected (DIR64 base-relocated words re-pointed in place, the
# lea in call2's caller), and the DLL whose exported lib_add is hooked
# through its export table entry under an unpatched EXE.
pe_build()
{
    local v="mingw Os pe" dir=$HP_WORK/pe r cc=x86_64-w64-mingw32-gcc
    local wine=${HP_WINE:-/usr/lib/wine/wine64}
    mkdir -p "$dir/out"
    if ! { "$cc" -Os -o "$dir/in.exe" "$FIX/main.c" "$FIX/stubs.c" "$FIX/cs.c" &&
        "$cc" -Os -shared -o "$dir/libt.dll" "$FIX/lib.c" -Wl,--out-implib,"$dir/libt.a" &&
        "$cc" -Os -o "$dir/out/app.exe" "$FIX/app.c" -L"$dir" -lt; } >"$dir.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir.log")"
        return
    fi
    if ! wine_prefix; then
        fail "$v: wine prefix" "$WINE_WHY"
        return
    fi
    for r in replace return passthrough; do
        hp --dry-run --json "$dir/in.exe" "$dir/unused" "$FIX/$r.toml"
        printf '%s\n' "$HP_OUT" >"$dir/$r.json"
        local tt tz ta
        tt=$(technique "$dir/$r.json" touch 2>/dev/null || echo none)
        tz=$(technique "$dir/$r.json" zero 2>/dev/null || echo none)
        ta=$(technique "$dir/$r.json" add 2>/dev/null || echo none)
        check_eq "$v: $r: techniques" "callsites callsites callsites" "$tt $tz $ta"
        hp "$dir/in.exe" "$dir/$r.exe" "$FIX/$r.toml"
        if [[ $HP_RC -ne 0 || $HP_ERR == *warning* ]]; then
            fail "$v: $r: hookpatch, no warning" "rc $HP_RC" "$HP_ERR"
            continue
        fi
        RUN_OUT=$(cd "$dir" && timeout 120 "$wine" "./$r.exe" 2>/dev/null | tr -d '\r') || true
        check_eq "$v: $r: output under wine" "$(expected "$r" pie yes yes)" "$RUN_OUT"
    done
    local -A want=([lib]="lib_add=1005 lib_twice=2010" [lib_return]="lib_add=100 lib_twice=200")
    for r in lib lib_return; do
        rm -f "$dir/out/libt.dll"
        hp "$dir/libt.dll" "$dir/out/libt.dll" "$FIX/$r.toml"
        if [[ $HP_RC -ne 0 || $HP_ERR == *warning* || $HP_ERR != *"hooked 1 function"* ]]; then
            fail "$v: $r: hookpatch the DLL" "rc $HP_RC" "$HP_ERR"
            continue
        fi
        RUN_OUT=$(cd "$dir/out" && timeout 120 "$wine" ./app.exe 2>/dev/null | tr -d '\r') || true
        check_eq "$v: $r: the unpatched EXE sees the DLL's hook" "${want[$r]}" "$RUN_OUT"
    done
}

if [[ -n ${HP_E2E_CC:-} ]]; then
    :
elif ! command -v x86_64-w64-mingw32-gcc >/dev/null || [[ ! -x ${HP_WINE:-/usr/lib/wine/wine64} ]]; then
    skip "mingw Os pe" "mingw-w64 or wine not installed"
else
    par_start pe_build
fi
for cc in ${HP_E2E_CC:-gcc clang}; do
    if ! command -v "$cc" >/dev/null; then
        skip "$cc" "not installed"
        continue
    fi
    for opt in Os packed O2; do
        modes="pie nopie static"
        [[ $cc == gcc ]] && modes+=" relr" # the loader's format: one compiler will do
        for mode in ${HP_E2E_MODES:-$modes}; do
            if [[ $mode == static ]] && ! echo 'int main(void){return 0;}' |
                "$cc" -static -x c - -o "$HP_WORK/static-probe" 2>/dev/null; then
                skip "$cc $opt static" "no static libc"
                continue
            fi
            par_start one_build "$cc" "$opt" "$mode"
        done
    done
    par_start lib_build "$cc"
done
par_wait
e2e_finish
