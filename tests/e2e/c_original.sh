#!/usr/bin/env bash
# `replace` + `original` on C, by gcc and clang, in every link mode (PIE,
# -no-pie, -static, -static-pie) at -O0 and -O2, and with
# -fcf-protection=full at -O2. The replacements (tests/fixtures/c_original)
# log and forward to the original code through the trampoline: one changes
# an argument, one counts and fails its third call, one wraps a function
# whose entry reads RIP-relative data, one a recursive function whose
# original calls back into the hook (the counts must match exactly), and
# three have entries no compiler writes reliably (asm_targets.S, and
# traced.c built with -pg -mfentry): a call as the first instruction (the
# relocator turns it into push + jmp, so the callee returns into the
# original function), `addr32 call` (GCC's PIC -mfentry call relaxed by the
# linker), and a RIP-relative compare with an immediate after the
# displacement. Every build prints the same text, unpatched and patched.
set -euo pipefail
: "${HOOKPATCH:?} ${HP_SRC:?} ${HP_WORK:?}"
rm -rf "$HP_WORK"; mkdir -p "$HP_WORK"
export LC_ALL=C
PY=$(python3 -c 'import sys; print(sys.executable)')
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
FIX=$HP_SRC/tests/fixtures/c_original
cd "$HP_WORK"
T0=$SECONDS

# build DIR CC MODE OPT CET: compile every translation unit (once per
# compiler, -O level, PIC and CET: the link modes share objects), link.
build()
{
    local dir=$1 cc=$2 mode=$3 opt=$4 cet=$5 cflags ldflags objs
    case $mode in
    pie) cflags=-fPIE ldflags=-pie ;;
    nopie) cflags=-fno-pie ldflags=-no-pie ;;
    static) cflags=-fno-pie ldflags=-static ;;
    static-pie) cflags=-fPIE ldflags=-static-pie ;;
    esac
    objs=$HP_WORK/obj/$cc$opt$cflags-cet_$cet
    cflags+=" $opt -Wall -I$FIX"
    [ "$cet" = yes ] && cflags+=" -fcf-protection=full"
    if [ ! -f "$objs/.built" ]; then
        mkdir -p "$objs" && cd "$objs"
        "$cc" $cflags -c "$FIX/targets.c" "$FIX/hooks.c" "$FIX/stubs.c" "$FIX/main.c" \
            "$FIX/asm_targets.S"
        "$cc" $cflags -pg -mfentry -c "$FIX/traced.c"
        touch .built
    fi
    mkdir -p "$dir" && cd "$objs"
    "$cc" $ldflags -o "$dir/in" targets.o hooks.o stubs.o main.o asm_targets.o traced.o
}

# entry FILE FUNC N: the first N instructions of FUNC after an optional
# endbr64, one per line, without addresses and bytes.
entry()
{
    objdump -d --no-show-raw-insn --disassemble="$2" "$1" |
        awk -v n="<$2>:" -v want="$3" '$2 == n { on = 1; next }
            on && /^ *[0-9a-f]+:/ { sub(/^ *[0-9a-f]+:[ \t]*/, ""); if ($0 ~ /^endbr64/) next;
                                    if (got++ < want) print }
            /^$/ { on = 0 }'
}

# shape DIR/in OPT CET: the fixture has the entries the test is about.
shape()
{
    local in=$1 opt=$2 cet=$3 err="" e
    e=$(entry "$in" traced 1)
    [[ $e =~ ^(addr32\ )?call\ +[0-9a-f]+\ \<__fentry__\>$ ]] || err+="traced starts with '$e'; "
    e=$(entry "$in" with_call 1)
    [[ $e =~ ^call\ +[0-9a-f]+\ \<with_call_helper\>$ ]] || err+="with_call starts with '$e'; "
    e=$(entry "$in" rip_cmp 1)
    [[ $e == cmpl*'$0x2a,0x'*'(%rip)'* ]] || err+="rip_cmp starts with '$e'; "
    if [ "$opt" = -O2 ]; then
        # GCC reads base_value first; clang moves edi to eax first, and the
        # read is still among the stolen bytes.
        e=$(entry "$in" rip_read 2 | tr '\n' ';')
        [[ $e == *'(%rip)'* ]] || err+="rip_read starts with '$e', no RIP-relative read; "
    fi
    local calls
    calls=$(objdump -d --no-show-raw-insn --disassemble=walk "$in" | grep -c 'call .*<walk>' || true)
    [ "$calls" -ge 2 ] || err+="walk makes $calls recursive calls (a loop?); "
    if [ "$cet" = yes ]; then
        for f in scale walk with_call rip_cmp traced orig_scale; do
            [ "$(objdump -d --disassemble="$f" "$in" | grep -A1 "<$f>:" | grep -c endbr64)" = 1 ] ||
                err+="$f has no endbr64; "
        done
    fi
    [ -z "$err" ] && return 0
    echo "  $err"
    return 1
}

variants=()
for cc in gcc clang; do
    for mode in pie nopie static static-pie; do
        for opt in -O0 -O2; do variants+=("$cc $mode $opt no"); done
    done
    variants+=("$cc pie -O2 yes")
done

table=()
for spec in "${variants[@]}"; do
    read -r cc mode opt cet <<<"$spec"
    v="$cc-$mode$opt"; [ "$cet" = yes ] && v+="-cet"
    dir=$HP_WORK/$v
    if ! (build "$dir" "$cc" "$mode" "$opt" "$cet") >"$v.build" 2>&1; then
        bad "$v: build"; tail -5 "$v.build"; continue
    fi
    in=$dir/in out=$dir/out
    shape "$in" "$opt" "$cet" && ok "$v: fixture shape (call/addr32 call/RIP-relative entries, recursion)" ||
        bad "$v: fixture shape"
    rc=0; timeout 30 "$in" >"$dir/plain.txt" 2>&1 || rc=$?
    [ "$rc" = 0 ] && diff -u "$FIX/expected_plain.txt" "$dir/plain.txt" >"$dir/plain.diff" &&
        ok "$v: unpatched output" || { bad "$v: unpatched output (rc $rc)"; head -20 "$dir/plain.diff"; }
    rc=0
    "$HOOKPATCH" --json "$in" "$out" "$FIX/hooks.toml" >"$dir/report.json" 2>"$dir/err.txt" || rc=$?
    if [ "$rc" != 0 ]; then bad "$v: hookpatch exit $rc"; cat "$dir/err.txt"; continue; fi
    summary=$("$PY" -c 'import json,sys
j = json.load(open(sys.argv[1]))
bound = sum(1 for h in j["hooks"] if h.get("original") == "orig_" + h["target"])
over = sum(1 for h in j["hooks"] if h["endbr64_overwritten"])
print(j["hooked"], j["skipped"], bound, over, j["ibt_disabled"])' "$dir/report.json")
    read -r hooked skipped bound over ibt <<<"$summary"
    [ "$hooked/$skipped/$bound" = 7/0/7 ] && ok "$v: 7 hooked, each with its original bound" ||
        { bad "$v: hooked $hooked, skipped $skipped, originals bound $bound"; cat "$dir/err.txt"; }
    if [ "$cet" = yes ]; then
        [ "$over/$ibt" = 0/False ] && ok "$v: every jump fits after endbr64" ||
            bad "$v: $over endbr64 overwritten, ibt_disabled $ibt"
    fi
    rc=0; timeout 30 "$out" >"$dir/hooked.txt" 2>&1 || rc=$?
    result=FAIL
    if [ "$rc" = 0 ] && diff -u "$FIX/expected_hooked.txt" "$dir/hooked.txt" >"$dir/hooked.diff"; then
        ok "$v: patched output: hooks ran, originals ran through the trampolines"; result=ok
    else bad "$v: patched output (rc $rc)"; head -30 "$dir/hooked.diff"; fi
    table+=("$(printf '%-22s %s' "$v" "$result")")
done

echo
printf '%s\n' "${table[@]}"
echo "time: $((SECONDS - T0)) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
