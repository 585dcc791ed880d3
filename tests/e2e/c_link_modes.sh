#!/usr/bin/env bash
# Acceptance: hook C programs built by gcc and clang in every link mode
# (PIE, -no-pie, -static, -static-pie) at -O0/-O2/-Os, and with
# -fcf-protection=full at -O2/-Os, then run them.
#
# The fixture (tests/fixtures/c) keeps the hooked functions in their own
# translation unit so no compiler can fold their results into main (no LTO).
# Per build it checks: the unpatched output; the patched output and the trap
# exit status; readelf -a has nothing to complain about; --dry-run writes
# nothing; two runs give the same bytes; IN is left alone; IN == OUT gives
# the same bytes as a fresh OUT; --json reports endbr64 overwrites and IBT is
# cleared exactly when one was overwritten.
#
# Builds run in parallel (HP_E2E_JOBS, default: CPUs). To narrow a run by
# hand: HP_E2E_CC="gcc" HP_E2E_MODES="static" bash c_link_modes.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/c

EXPECT_ORIG="answer=42
big=3,4,5
double=3.14159
counter=-5
tiny=5
indirect=1201"

# tiny_add's line depends on whether it could be hooked; filled per build.
expect_hooked()
{
    printf 'answer=-7\nbig=300,7,8\ndouble=2.71828\ncounter=4990\ntiny=%s\nindirect=1234' "$1"
}

# Flags per link mode: compile, link.
mode_cflags()
{
    case $1 in
    pie | static-pie) echo "-fPIE" ;;
    *) echo "-fno-pie" ;;
    esac
}
mode_ldflags()
{
    case $1 in
    pie) echo "-pie" ;;
    nopie) echo "-no-pie" ;;
    static) echo "-static" ;;
    static-pie) echo "-static-pie" ;;
    esac
}

# elf_type FILE: EXEC or DYN.
elf_type() { readelf -hW "$1" | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p'; }

# sym_size FILE NAME: st_size of a symbol in .symtab.
sym_size()
{
    readelf -sW "$1" | awk -v n="$2" '$8 == n && !done { print $3; done = 1 }'
}

# first_insn FILE NAME: the first instruction after an optional endbr64.
# (The awk scripts read all their input: an early exit would kill the
# producer with SIGPIPE, which pipefail turns into a failure.)
first_insn()
{
    objdump -d --no-show-raw-insn --disassemble="$2" "$1" |
        awk -v n="<$2>:" '$2 == n { on = 1; next } on && /^ *[0-9a-f]+:/ {
            sub(/^ *[0-9a-f]+:[ \t]*/, ""); if ($0 ~ /^endbr64/) next; print; on = 0 }'
}

# Objects depend on the compiler, -O level, CET and PIC, not on the link
# mode, so each set is compiled once, in phase 1.
obj_dir() { echo "$HP_WORK/obj/$1$2-cet_$3-$(mode_cflags "$4" | tr -d ' -')"; }

compile_objs() # CC OPT CET MODE
{
    local cc=$1 opt=$2 cet=$3 mode=$4 dir
    dir=$(obj_dir "$@")
    local cflags="$opt $(mode_cflags "$mode") -Wall -I$FIX"
    [[ $cet == yes ]] && cflags+=" -fcf-protection=full"
    mkdir -p "$dir"
    if (cd "$dir" && "$cc" $cflags -c "$FIX/targets.c" "$FIX/main.c") >"$dir.log" 2>&1; then
        echo "compiled $dir"
    else
        fail "$cc $opt cet=$cet $(mode_cflags "$mode"): compile" "$(tail -5 "$dir.log")"
    fi
}

link_variant() # NAME CC OPT CET MODE
{
    local name=$1 cc=$2 opt=$3 cet=$4 mode=$5 dir=$HP_WORK/$1 objs ldflags
    objs=$(obj_dir "$cc" "$opt" "$cet" "$mode")
    ldflags=$(mode_ldflags "$mode")
    if [[ $cet == yes ]]; then
        # Debian's crt1.o/crti.o carry no CET note, so the linker would drop
        # the IBT marking; force it so the output has something to clear.
        ldflags+=" -Wl,-z,ibt -Wl,-z,shstk"
    fi
    mkdir -p "$dir"
    [[ -f $objs/main.o && -f $objs/targets.o ]] || { echo "objects missing in $objs"; return 1; }
    "$cc" $ldflags "$objs/main.o" "$objs/targets.o" -o "$dir/in"
}

test_variant() # CC MODE OPT CET
{
    local cc=$1 mode=$2 opt=$3 cet=$4
    local v="$cc-$mode$opt" dir rules
    [[ $cet == yes ]] && v+="-cet"
    dir=$HP_WORK/$v

    if ! link_variant "$v" "$cc" "$opt" "$cet" "$mode" >"$HP_WORK/$v.buildlog" 2>&1; then
        fail "$v: build" "$(tail -5 "$HP_WORK/$v.buildlog")"
        return
    fi
    local in=$dir/in out=$dir/out
    local want_type=DYN
    [[ $mode == nopie || $mode == static ]] && want_type=EXEC
    local tiny_ok=yes tiny_over_endbr=False
    [[ $opt == -Os && $cet == no ]] && tiny_ok=no
    [[ $opt == -Os && $cet == yes ]] && tiny_over_endbr=True

    rules=$dir/hooks.toml
    cat "$FIX/hooks.toml" >"$rules"
    [[ $tiny_ok == yes ]] && { echo; cat "$FIX/hooks_tiny.toml"; } >>"$rules"
    local nhooks=6
    [[ $tiny_ok == yes ]] && nhooks=7

    # ---- the fixture is what it claims to be
    local shape_err=""
    [[ $(elf_type "$in") == "$want_type" ]] || shape_err+="ELF type $(elf_type "$in"), want $want_type; "
    if [[ $opt != -O0 ]]; then
        local want_tiny=4 insn
        [[ $cet == yes ]] && want_tiny=8
        [[ $(sym_size "$in" tiny_add) == "$want_tiny" ]] ||
            shape_err+="tiny_add is $(sym_size "$in" tiny_add) bytes, want $want_tiny; "
        insn=$(first_insn "$in" counter_minus)
        [[ $insn == *"(%rip)"* ]] || shape_err+="counter_minus starts with '$insn', not a rip-relative read; "
    fi
    if [[ $cet == yes && $(x86_features "$in") != *IBT* ]]; then
        shape_err+="input is not IBT-marked ($(x86_features "$in")); "
    fi
    if [[ -z $shape_err ]]; then pass "$v: fixture shape"; else fail "$v: fixture shape" "$shape_err"; fi

    # ---- unpatched
    run_prog "$in"
    check_eq "$v: original output" "$EXPECT_ORIG (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    run_prog "$in" trap
    check_eq "$v: original trap path" "boom=1 (rc 0)" "$RUN_OUT (rc $RUN_RC)"

    local in_sha
    in_sha=$(sha "$in")

    # ---- patch
    hp --json "$in" "$out" "$rules"
    local summary="hookpatch: hooked $nhooks functions, skipped 0"
    if [[ $HP_RC -eq 0 && $HP_ERR == *"$summary"* && -x $out ]]; then
        pass "$v: patch"
    else
        fail "$v: patch" "rc $HP_RC, want 0 and '$summary'" "$HP_ERR"
        return
    fi
    printf '%s\n' "$HP_OUT" >"$dir/report.json"

    run_prog "$out"
    check_eq "$v: hooked output" "$(expect_hooked "$([[ $tiny_ok == yes ]] && echo 99 || echo 5)") (rc 0)" \
        "$RUN_OUT (rc $RUN_RC)"
    run_prog "$out" trap
    check_eq "$v: trap hook exits with SIGILL" "rc 132" "rc $RUN_RC"

    local rerr
    if rerr=$(readelf_clean "$out"); then
        pass "$v: readelf -a is clean"
    else
        fail "$v: readelf -a is clean" "$rerr"
    fi

    # ---- --json: endbr64 and IBT
    local jerr="" got
    local -a g
    if ! got=$(json_get "$dir/report.json" "len(j['hooks'])" \
        "[h['endbr64_overwritten'] for h in j['hooks'] if h['target'] == 'tiny_add']" \
        "sorted(h['target'] for h in j['hooks'] if h['endbr64_overwritten'] and h['target'] != 'tiny_add')" \
        "j['ibt_disabled']" 2>&1); then
        jerr="--json output is not the expected JSON: $got; "
    else
        mapfile -t g <<<"$got"
        [[ ${g[0]} == "$nhooks" ]] || jerr+="hooks has ${g[0]} entries, want $nhooks; "
        if [[ $tiny_ok == yes && ${g[1]} != "[$tiny_over_endbr]" ]]; then
            jerr+="tiny_add endbr64_overwritten ${g[1]}, want $tiny_over_endbr; "
        fi
        [[ ${g[2]} == "[]" ]] || jerr+="endbr64 overwritten in ${g[2]}, which have room after it; "
        [[ ${g[3]} == "$tiny_over_endbr" ]] || jerr+="ibt_disabled ${g[3]}, want $tiny_over_endbr; "
    fi
    if [[ $cet == yes ]]; then
        local feat
        feat=$(x86_features "$out")
        if [[ $tiny_over_endbr == True ]]; then
            [[ $feat != *IBT* && $feat == *SHSTK* ]] ||
                jerr+="output x86 features '$feat': want SHSTK without IBT; "
        else
            [[ $feat == *IBT* ]] || jerr+="output x86 features '$feat': IBT dropped though no endbr64 was overwritten; "
        fi
    fi
    if [[ -z $jerr ]]; then pass "$v: json report and IBT note"; else fail "$v: json report and IBT note" "$jerr"; fi

    # ---- --dry-run writes nothing
    hp --dry-run "$in" "$dir/dry" "$rules"
    if [[ $HP_RC -eq 0 && ! -e $dir/dry && -z $(temp_files "$dir") && $HP_OUT == *"hook get_answer"* ]]; then
        pass "$v: --dry-run writes nothing"
    else
        fail "$v: --dry-run writes nothing" "rc $HP_RC; dry exists: $([[ -e $dir/dry ]] && echo yes || echo no); temps: $(temp_files "$dir")" "$HP_OUT"
    fi

    # ---- determinism and IN untouched
    hp "$in" "$dir/out2" "$rules"
    if [[ $HP_RC -eq 0 ]] && cmp -s "$out" "$dir/out2"; then
        pass "$v: deterministic output"
    else
        fail "$v: deterministic output" "rc $HP_RC; $(cmp "$out" "$dir/out2" 2>&1 | head -1)"
    fi
    check_eq "$v: input unchanged" "$in_sha" "$(sha "$in")"

    # ---- IN == OUT
    cp "$in" "$dir/inplace"
    hp "$dir/inplace" "$dir/inplace" "$rules"
    if [[ $HP_RC -eq 0 ]] && cmp -s "$out" "$dir/inplace" && [[ -x $dir/inplace && -z $(temp_files "$dir") ]]; then
        pass "$v: in-place patch equals fresh output"
    else
        fail "$v: in-place patch equals fresh output" "rc $HP_RC; $(cmp "$out" "$dir/inplace" 2>&1 | head -1)" "$HP_ERR"
    fi

    # ---- a 4-byte function with nothing after it is refused, not broken,
    # unless free padding within a short jump's reach (libc's, in static
    # builds) takes an island for it (tests/e2e/tiny_targets.sh), or its
    # call sites are redirected (tests/e2e/tiny_callsites.sh): then it runs
    # hooked
    if [[ $tiny_ok == no ]]; then
        cat "$FIX/hooks_tiny.toml" >"$dir/tiny.toml"
        hp --dry-run "$in" "$dir/tiny-out" "$dir/tiny.toml"
        local how
        for how in "; island 0x" "; call sites ("; do
            [[ $HP_RC -eq 0 && $HP_OUT == *"hook tiny_add "*"$how"* ]] || continue
            hp "$in" "$dir/tiny-out" "$dir/tiny.toml"
            run_prog "$dir/tiny-out"
            check_eq "$v: 4-byte tiny_add through '$how'" "${EXPECT_ORIG/tiny=5/tiny=99} (rc 0)" \
                "$RUN_OUT (rc $RUN_RC)"
            return
        done
        hp "$in" "$dir/tiny-out" "$dir/tiny.toml"
        if [[ $HP_RC -eq 1 && $HP_ERR == *"hookpatch: error: "*"tiny.toml:2:"*"too short"* &&
            ! -e $dir/tiny-out && -z $(temp_files "$dir") ]]; then
            pass "$v: 4-byte tiny_add without padding is refused"
        else
            fail "$v: 4-byte tiny_add without padding is refused" "rc $HP_RC" "$HP_ERR"
        fi
    fi
}

CCS=${HP_E2E_CC:-gcc clang}
MODES=${HP_E2E_MODES:-pie nopie static static-pie}
OPTS="-O0:no -O2:no -Os:no -O2:yes -Os:yes" # -O level : -fcf-protection=full

# Phase 1: which link modes the toolchains can produce, and the objects.
probe_job() # CC MODE
{
    local dir=$HP_WORK/probe/$1-$2
    mkdir -p "$dir"
    printf 'int main(void){return 0;}\n' >"$dir/p.c"
    if "$1" $(mode_cflags "$2") $(mode_ldflags "$2") "$dir/p.c" -o "$dir/p" >"$dir/log" 2>&1 &&
        "$dir/p"; then
        touch "$dir/ok"
    fi
    echo "probed $1 $2"
}
for cc in $CCS; do
    command -v "$cc" >/dev/null || continue
    for mode in $MODES; do
        par_start probe_job "$cc" "$mode"
    done
    for oc in $OPTS; do
        par_start compile_objs "$cc" "${oc%:*}" "${oc#*:}" pie
        par_start compile_objs "$cc" "${oc%:*}" "${oc#*:}" nopie
    done
done
par_wait >"$HP_WORK/phase1.log"
grep -v '^\(probed\|compiled\) ' "$HP_WORK/phase1.log" || true

# Phase 2: one job per build.
for cc in $CCS; do
    if ! command -v "$cc" >/dev/null; then
        skip "$cc" "not installed"
        continue
    fi
    for mode in $MODES; do
        if [[ ! -e $HP_WORK/probe/$cc-$mode/ok ]]; then
            skip "$cc-$mode" "the toolchain cannot link $(mode_ldflags "$mode"): $(tail -1 "$HP_WORK/probe/$cc-$mode/log")"
            continue
        fi
        for oc in $OPTS; do
            par_start test_variant "$cc" "$mode" "${oc%:*}" "${oc#*:}"
        done
    done
done
par_wait

e2e_finish
