#!/usr/bin/env bash
# Tiny targets (issue 18, technique 1): functions shorter than the 5-byte
# jump take a 2-byte jmp rel8 to an island, free padding within rel8 reach
# holding the jmp rel32. The fixture (tests/fixtures/tiny) has touch (1
# byte, ret), zero (3: xor eax,eax; ret), add (4: lea eax,[rdi+rsi]; ret,
# alone in the last object) and answer (6, called through a pointer), built
# by gcc and clang at -Os and -O2 -falign-functions=1 (packed back to back,
# with int3 filler in front of them: tiny.c) and at -O2 with only the
# compiler's own alignment padding (add is then the last function of .text
# in PIE and non-PIE), as PIE, non-PIE and static. (clang aligns x86-64
# functions to 16 bytes despite -falign-functions=1: there only add, the
# last, lacks padding after it.) Per build:
# - the fixture's shape (sizes; packed builds: no padding after zero or add);
# - `replace` + `original =`, `action = "return"` and `passthrough` on zero
#   and add run with the exact expected output;
# - the report names the island; the patched entry is `jmp` rel8 (eb) to the
#   island, whose `jmp` rel32 goes where the report says;
# - two runs give the same bytes; `list` shows the island;
# - touch (1 byte) takes neither: it is hooked at its one call site
#   (technique 2, tests/e2e/tiny_callsites.sh).
# To narrow a run by hand: HP_E2E_CC=gcc HP_E2E_MODES=static bash tiny_targets.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/tiny
PLAIN=$'zero=0 add=5 add(-5,2)=-3 answer=42\nvia ptr add=30 counter=0'
REPLACED=$'zero=7 add=1005 add(-5,2)=997 answer=42\nvia ptr add=1030 counter=4'
RETURNED=$'zero=5 add=77 add(-5,2)=77 answer=9\nvia ptr add=77 counter=0'

sym_size() { nm -S "$1" | awk -v s="$2" '$4 == s { print $2 }' | { read -r x && echo $((16#$x)); }; }
sym_va() { nm "$1" | awk -v s="$2" '$3 == s { print $1 }'; }

# insn_at FILE VA: the bytes and text of the instruction at VA (hex, no 0x).
insn_at()
{
    objdump -d --start-address="0x$2" --stop-address=$((16#$2 + 5)) "$1" |
        awk '/^ *[0-9a-f]+:\t/ { sub(/^ *[0-9a-f]+:\t/, ""); gsub(/[ \t]+/, " "); print; exit }'
}

# check_island V DIR FUNC RULES MAY_ENTRY: the report's line for FUNC
# names an island, FUNC's entry is eb <island>, and the island's jmp rel32
# goes to the report's destination. With MAY_ENTRY=yes (static builds,
# where libc's padding may follow add) the plain jump at the entry, e9
# <destination> over 5 bytes, is right too.
check_island()
{
    local v=$1 dir=$2 fn=$3 rules=$4 may_entry=$5 out=$2/$4.out line isl dest e i err=""
    line=$(grep "^hook $fn " "$dir/$rules.report" || true)
    if [[ ! $line =~ \ -\>\ .*\ 0x([0-9a-f]+)\;\ patch ]]; then
        fail "$v: $rules: $fn: report line" "$line"
        return
    fi
    dest=${BASH_REMATCH[1]}
    e=$(insn_at "$out" "$(sym_va "$out" "$fn")")
    if [[ $may_entry == yes && $line != *"; island 0x"* ]]; then
        [[ $line == *"(5 bytes)"* && $e =~ ^e9(\ [0-9a-f]{2}){4}\ jmp\ ([0-9a-f]+) &&
            ${BASH_REMATCH[2]} == "$dest" ]] && pass "$v: $rules: $fn: jmp rel32 $dest at the entry" ||
            fail "$v: $rules: $fn: jmp rel32 at the entry" "$line" "$e"
        return
    fi
    if [[ ! $line =~ \;\ island\ 0x([0-9a-f]+) ]]; then
        fail "$v: $rules: $fn takes an island" "$line"
        return
    fi
    isl=${BASH_REMATCH[1]}
    [[ $e =~ ^eb\ [0-9a-f]{2}\ jmp\ ([0-9a-f]+) && ${BASH_REMATCH[1]} == "$isl" ]] ||
        err+="entry is '$e', want eb .. jmp $isl; "
    i=$(insn_at "$out" "$isl")
    [[ $i =~ ^e9(\ [0-9a-f]{2}){4}\ jmp\ ([0-9a-f]+) && ${BASH_REMATCH[2]} == "$dest" ]] ||
        err+="island is '$i', want e9 .. jmp $dest; "
    if [[ -z $err ]]; then pass "$v: $rules: $fn: jmp rel8 -> island $isl -> jmp rel32 $dest"
    else fail "$v: $rules: $fn: jmp rel8 -> island -> jmp rel32" "$line" "$err"; fi
}

# build_one CC OPT MODE DIR
build_one()
{
    local cc=$1 opt=$2 mode=$3 dir=$4 cflags ldflags f
    case $mode in
    pie) cflags=-fPIE ldflags=-pie ;;
    nopie) cflags=-fno-pie ldflags=-no-pie ;;
    static) cflags=-fno-pie ldflags=-static ;;
    esac
    case $opt in
    natural) cflags+=" -O2 -DHP_NATURAL_PADDING" ;;
    packed) cflags+=" -O2 -falign-functions=1" ;;
    Os) cflags+=" -Os" ;;
    esac
    mkdir -p "$dir"
    for f in main stubs tiny add; do
        "$cc" $cflags -c "$FIX/$f.c" -o "$dir/$f.o" || return 1
    done
    "$cc" $ldflags -o "$dir/in" "$dir/main.o" "$dir/stubs.o" "$dir/tiny.o" "$dir/add.o"
}

one_build()
{
    local cc=$1 opt=$2 mode=$3 v="$1 $2 $3" dir=$HP_WORK/$1-$2-$3 in r err=""
    if ! build_one "$cc" "$opt" "$mode" "$dir" >"$dir.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir.log")"
        return
    fi
    in=$dir/in
    # tight: zero is packed against the next function. clang on x86-64
    # aligns functions to 16 bytes whatever -falign-functions says, so its
    # "packed" build is like the natural one but for the filler.
    local tight=yes
    [[ $opt == natural || ($opt == packed && $cc == clang) ]] && tight=no
    [[ $(sym_size "$in" touch) == 1 ]] || err+="touch is $(sym_size "$in" touch) bytes; "
    [[ $(sym_size "$in" zero) == 3 ]] || err+="zero is $(sym_size "$in" zero) bytes; "
    [[ $(sym_size "$in" add) == 4 ]] || err+="add is $(sym_size "$in" add) bytes; "
    [[ $(sym_size "$in" answer) == 6 ]] || err+="answer is $(sym_size "$in" answer) bytes; "
    if [[ $tight == yes ]]; then
        # packed: the next function starts right after zero and add (or
        # add ends .text): no padding after them for the 5-byte jump
        local nz
        nz=$(printf '%x' $((16#$(sym_va "$in" zero) + 3)))
        nm "$in" | awk -v a="$nz" '{ sub(/^0+/, "", $1) } $1 == a { f = 1 } END { exit !f }' ||
            err+="padding after zero; "
    fi
    if [[ $mode != static && $opt == natural ]]; then
        local last
        last=$(nm -n "$in" | awk '$2 ~ /^[tT]$/ && $3 != "_fini" && $3 != "_init" { l = $3 } END { print l }')
        [[ $last == add ]] || err+="add is not last in .text ($last is); "
    fi
    if [[ -z $err ]]; then pass "$v: fixture shape"; else fail "$v: fixture shape" "$err"; fi

    run_prog "$in"
    check_eq "$v: unpatched" "$PLAIN (rc 0)" "$RUN_OUT (rc $RUN_RC)"

    local -A want=([replace]=$REPLACED [return]=$RETURNED [passthrough]=$PLAIN)
    for r in replace return passthrough; do
        hp --dry-run "$in" "$dir/unused" "$FIX/$r.toml"
        printf '%s\n' "$HP_OUT" >"$dir/$r.report"
        hp "$in" "$dir/$r.out" "$FIX/$r.toml"
        if [[ $HP_RC -ne 0 ]]; then
            fail "$v: $r: hookpatch" "rc $HP_RC" "$HP_ERR"
            continue
        fi
        run_prog "$dir/$r.out"
        check_eq "$v: $r: output" "${want[$r]} (rc 0)" "$RUN_OUT (rc $RUN_RC)"
        check_island "$v" "$dir" add "$r" "$([[ $mode == static ]] && echo yes || echo no)"
        [[ $tight == no ]] || check_island "$v" "$dir" zero "$r" no
    done
    hp "$in" "$dir/replace.again" "$FIX/replace.toml"
    if [[ $HP_RC -eq 0 && -f $dir/replace.out ]]; then
        check_eq "$v: deterministic output" "$(sha "$dir/replace.out")" "$(sha "$dir/replace.again")"
    else
        fail "$v: deterministic output" "rc $HP_RC" "$HP_ERR"
    fi

    hp list "$in" add
    [[ $HP_OUT =~ \ yes\ +add\ +#\ island\ 0x || ($mode == static && $HP_OUT =~ \ yes\ +add$) ]] && pass "$v: list shows the island" ||
        fail "$v: list shows the island" "$HP_OUT"

    if [[ $tight == yes ]]; then
        # neither the jump nor an island: the call in main is redirected
        # (tests/e2e/tiny_callsites.sh runs that technique in depth)
        hp --dry-run "$in" "$dir/unused" "$FIX/touch.toml"
        if [[ $HP_RC -eq 0 && $HP_OUT == *"hook touch "*"; call sites (1)"* ]]; then
            pass "$v: 1-byte touch takes its call site"
        else
            fail "$v: 1-byte touch takes its call site" "rc $HP_RC" "$HP_OUT" "$HP_ERR"
        fi
    fi
}

for cc in ${HP_E2E_CC:-gcc clang}; do
    if ! command -v "$cc" >/dev/null; then
        skip "$cc" "not installed"
        continue
    fi
    for opt in Os packed natural; do
        for mode in ${HP_E2E_MODES:-pie nopie static}; do
            if [[ $mode == static ]] && ! echo 'int main(void){return 0;}' |
                "$cc" -static -x c - -o "$HP_WORK/static-probe" 2>/dev/null; then
                skip "$cc $opt static" "no static libc"
                continue
            fi
            par_start one_build "$cc" "$opt" "$mode"
        done
    done
done
par_wait
e2e_finish
