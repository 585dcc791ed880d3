#!/usr/bin/env bash
# Acceptance (AArch64): the x86 C cases, cross-built and run under qemu.
#
# - c_link_modes' fixture (tests/fixtures/c) built by gcc and clang in every
#   link mode (PIE, -no-pie, -static, -static-pie) at -O0/-O2/-Os, and at
#   -O2/-Os with -mbranch-protection=standard: replace, return, trap; the
#   output runs as hooked; readelf -a is clean; two runs give the same
#   bytes; IN is untouched; --dry-run writes nothing; the report names the
#   architecture; patching the output again is refused; `hookpatch exec
#   --runner` (qemu) runs the hooked program.
# - the far layout (HOOKPATCH_TEST_FAR=1: new code 256 MiB away, out of B
#   reach): far prologues and far jumps back run end to end.
# - `original =` with PAC: a PACIASP function hooked and called back.
# - a shared library patched and used by an unpatched program.
# - BTI enforced (a15-elf's -nostdlib fixture, tests/fixtures/a64_bti): a
#   hooked function reached by BLR still lands on a landing pad.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/c
A64=$HP_SRC/tests/fixtures/a64_c

EXPECT_ORIG="answer=42
big=3,4,5
double=3.14159
counter=-5
tiny=5
indirect=1201"
EXPECT_HOOKED="answer=-7
big=300,7,8
double=2.71828
counter=4990
tiny=99
indirect=1234"

mode_flags()
{
    case $1 in
    pie) echo "-fPIE -pie" ;;
    nopie) echo "-fno-pie -no-pie" ;;
    static) echo "-fno-pie -static" ;;
    static-pie) echo "-fPIE -static-pie" ;;
    esac
}

cc_run() # gcc|clang ARGS...
{
    local cc=$1
    shift
    if [[ $cc == gcc ]]; then a64_cc "$@"; else a64_clang "$@"; fi
}

elf_type() { readelf -hW "$1" | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p'; }

# first_word FILE NAME: the first instruction of NAME (objdump's text).
first_word()
{
    aarch64-linux-gnu-objdump -d --no-show-raw-insn --disassemble="$2" "$1" |
        awk -v n="<$2>:" '$2 == n { on = 1; next } on && /^ *[0-9a-f]+:/ {
            sub(/^ *[0-9a-f]+:[ \t]*/, ""); print; on = 0 }'
}

variant() # CC MODE OPT BP(no|yes)
{
    local cc=$1 mode=$2 opt=$3 bp=$4 v="$1-$2$3" flags
    [[ $bp == yes ]] && v+="-bp"
    local dir=$HP_WORK/$v in=$HP_WORK/$v/in out=$HP_WORK/$v/out
    mkdir -p "$dir"
    flags="$opt $(mode_flags "$mode") -I$FIX"
    [[ $bp == yes ]] && flags+=" -mbranch-protection=standard"
    # shellcheck disable=SC2086
    if ! cc_run "$cc" $flags "$FIX/main.c" "$FIX/targets.c" -o "$in" >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    local want=DYN
    [[ $mode == nopie || $mode == static ]] && want=EXEC
    local shape=""
    [[ $(elf_type "$in") == "$want" ]] || shape+="ELF type $(elf_type "$in"), want $want; "
    readelf -hW "$in" | grep -q 'AArch64' || shape+="not AArch64; "
    if [[ $bp == yes && $opt != -O0 ]]; then
        [[ $(first_word "$in" tiny_add) == bti* ]] || shape+="tiny_add starts with '$(first_word "$in" tiny_add)', not bti; "
    fi
    if [[ -z $shape ]]; then pass "$v: fixture shape"; else fail "$v: fixture shape" "$shape"; fi

    a64_run "$in"
    check_eq "$v: original output" "$EXPECT_ORIG (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    local in_sha rules=$dir/hooks.toml
    in_sha=$(sha "$in")
    cat "$FIX/hooks.toml" "$FIX/hooks_tiny.toml" >"$rules"

    hp --dry-run "$in" "$out" "$rules"
    check_eq "$v: --dry-run writes nothing" "0 no" "$HP_RC $([[ -e $out ]] && echo yes || echo no)"
    hp --json "$in" "$out" "$rules"
    if [[ $HP_RC -ne 0 || $HP_ERR != *"hooked 7 functions, skipped 0"* ]]; then
        fail "$v: patch" "rc $HP_RC" "$HP_ERR"
        return
    fi
    pass "$v: patch"
    printf '%s\n' "$HP_OUT" >"$dir/report.json"
    check_eq "$v: --json: architecture, landing pads" "arm64 False 0" \
        "$(json_get "$dir/report.json" "j['architecture']" "j['ibt_disabled']" \
            "len([h for h in j['hooks'] if h['endbr64_overwritten'] or h['stolen_bytes'] != 4])" |
            tr '\n' ' ' | sed 's/ $//')"
    a64_run "$out"
    check_eq "$v: hooked output" "$EXPECT_HOOKED (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    a64_run "$out" trap
    check_eq "$v: trap hook dies with SIGILL" "rc 132" "rc $RUN_RC"
    local rerr
    if rerr=$(readelf_clean "$out"); then pass "$v: readelf -a is clean"; else fail "$v: readelf -a is clean" "$rerr"; fi
    hp -q "$in" "$dir/again" "$rules"
    if [[ $HP_RC -eq 0 ]] && cmp -s "$out" "$dir/again"; then
        pass "$v: deterministic output"
    else
        fail "$v: deterministic output" "rc $HP_RC; $(cmp "$out" "$dir/again" 2>&1 | head -1)"
    fi
    check_eq "$v: input unchanged" "$in_sha" "$(sha "$in")"
    if [[ $mode == pie && $bp == no ]]; then
        # exec: patch to a temporary file and run it through qemu.
        hp exec --runner "$A64_RUNNER" "$rules" -- "$in"
        check_eq "$v: hookpatch exec --runner" "$EXPECT_HOOKED (rc 0)" "$HP_OUT (rc $HP_RC)"
    fi
    hp -q "$out" "$dir/twice" "$rules"
    check_eq "$v: patching the output again is refused" "1 no" \
        "$HP_RC $([[ -e $dir/twice ]] && echo yes || echo no)"
}

# The far layout: every prologue is adrp+add+br x16 and every jump back is
# far. tiny_add (8 bytes, or 12 with bti c) may be too short there.
far_variant() # CC MODE OPT BP
{
    local cc=$1 mode=$2 opt=$3 bp=$4 v="far-$1-$2$3" flags
    [[ $bp == yes ]] && v+="-bp"
    local dir=$HP_WORK/$v in=$HP_WORK/$v/in out=$HP_WORK/$v/out
    mkdir -p "$dir"
    flags="$opt $(mode_flags "$mode") -I$FIX"
    [[ $bp == yes ]] && flags+=" -mbranch-protection=standard"
    # shellcheck disable=SC2086
    if ! cc_run "$cc" $flags "$FIX/main.c" "$FIX/targets.c" -o "$in" >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    HOOKPATCH_TEST_FAR=1 hp --json "$in" "$out" "$FIX/hooks.toml"
    if [[ $HP_RC -ne 0 ]]; then
        fail "$v: patch" "rc $HP_RC" "$HP_ERR"
        return
    fi
    printf '%s\n' "$HP_OUT" >"$dir/report.json"
    check_eq "$v: every patch is the 12-byte far form" "6 []" \
        "$(json_get "$dir/report.json" "len(j['hooks'])" "[h['target'] for h in j['hooks'] if h['stolen_bytes'] != 12]" |
            tr '\n' ' ' | sed 's/ $//')"
    local dist
    dist=$(json_get "$dir/report.json" "min(abs(h['destination'] - h['patch_address']) for h in j['hooks'] if h['destination_name'] != 'get_e' and not h['destination_name'].endswith('_mock'))")
    check_true "$v: the stubs are out of B reach ($dist bytes away)" "" test "$dist" -gt $((128 << 20))
    a64_run "$out"
    check_eq "$v: hooked output (far)" "$(sed 's/^tiny=99$/tiny=5/' <<<"$EXPECT_HOOKED") (rc 0)" \
        "$RUN_OUT (rc $RUN_RC)"
    a64_run "$out" trap
    check_eq "$v: trap hook dies with SIGILL (far)" "rc 132" "rc $RUN_RC"
    local rerr
    if rerr=$(readelf_clean "$out"); then pass "$v: readelf -a is clean"; else fail "$v: readelf -a is clean" "$rerr"; fi
}

original_case() # CC MODE
{
    local cc=$1 mode=$2 v="orig-$1-$2" dir=$HP_WORK/orig-$1-$2
    mkdir -p "$dir"
    # shellcheck disable=SC2046
    if ! cc_run "$cc" -O2 -mbranch-protection=standard $(mode_flags "$mode") "$A64/orig.c" -o "$dir/in" >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    local first
    first=$(first_word "$dir/in" compute)
    check_true "$v: compute starts with paciasp ('$first')" "" test "${first%% *}" = paciasp
    a64_run "$dir/in"
    check_eq "$v: original output" $'compute(3)\ncompute(4)\n8 10 (rc 0)' "$RUN_OUT (rc $RUN_RC)"
    hp -v "$dir/in" "$dir/out" "$A64/orig.toml"
    check_eq "$v: patch: paciasp + next insn stolen" "0 yes" \
        "$HP_RC $([[ $HP_OUT == *"hook compute "*"(8 bytes); original compute_orig -> trampoline"* ]] && echo yes)"
    a64_run "$dir/out"
    check_eq "$v: hooked, the original called back under PAC" \
        $'compute(3)\ncompute(4)\n1008 1010 (rc 0)' "$RUN_OUT (rc $RUN_RC)"
    first=$(first_word "$dir/out" compute)
    check_eq "$v: the entry is now a landing pad" "bti c" "$(tr '\t' ' ' <<<"$first")"
}

shlib_case() # CC
{
    local cc=$1 v="shlib-$1" dir=$HP_WORK/shlib-$1 S=$HP_SRC/tests/fixtures/shlib
    mkdir -p "$dir/orig" "$dir/patched"
    if ! { cc_run "$cc" -O2 -fPIC -shared -Wl,-soname,libshl.so "$S/shl.c" -o "$dir/orig/libshl.so" &&
        cc_run "$cc" -O2 -I"$S" "$S/app.c" -L"$dir/orig" -lshl -o "$dir/app"; } >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    a64_run -E LD_LIBRARY_PATH="$dir/orig" "$dir/app"
    check_eq "$v: original library" $'value=13\nscale=40\ntotal=14 (rc 0)' "$RUN_OUT (rc $RUN_RC)"
    hp "$dir/orig/libshl.so" "$dir/patched/libshl.so" "$S/hooks.toml"
    check_eq "$v: patch" "0" "$HP_RC"
    a64_run -E LD_LIBRARY_PATH="$dir/patched" "$dir/app"
    check_eq "$v: patched library, unpatched program" $'value=77\nscale=4003\ntotal=78 (rc 0)' "$RUN_OUT (rc $RUN_RC)"
    a64_run -E LD_LIBRARY_PATH="$dir/patched" -E LD_BIND_NOW=1 "$dir/app"
    check_eq "$v: patched library, LD_BIND_NOW" $'value=77\nscale=4003\ntotal=78 (rc 0)' "$RUN_OUT (rc $RUN_RC)"
    local rerr
    if rerr=$(readelf_clean "$dir/patched/libshl.so"); then pass "$v: readelf -a is clean"; else fail "$v: readelf -a is clean" "$rerr"; fi
}

bti_case() # CC
{
    local cc=$1 v="bti-$1" dir=$HP_WORK/bti-$1
    mkdir -p "$dir"
    if ! a64_bti_build "$dir/in" marked "$cc" >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    check_eq "$v: the input is BTI-marked" "BTI, PAC" "$(a64_features "$dir/in")"
    a64_run "$dir/in" nopad
    check_eq "$v: control: BTI is enforced (a BLR onto a mov dies)" "132" "$RUN_RC"
    local rules
    for rules in bti bti_pass; do
        local want=7
        [[ $rules == bti_pass ]] && want=5
        hp -v "$dir/in" "$dir/$rules.out" "$A64/$rules.toml"
        if [[ $HP_RC -ne 0 ]]; then
            fail "$v $rules: patch" "rc $HP_RC" "$HP_ERR"
            continue
        fi
        check_eq "$v $rules: the output stays BTI-marked" "BTI, PAC" "$(a64_features "$dir/$rules.out")"
        a64_run "$dir/$rules.out" pad
        check_eq "$v $rules: a BLR into the hooked function still lands on a pad" "0 pad=$want" "$RUN_RC $RUN_OUT"
        # clang folds hp_pad's constant result into the direct call site.
        if [[ $cc == gcc ]]; then
            a64_run "$dir/$rules.out" direct
            check_eq "$v $rules: a direct call" "0 direct=$want" "$RUN_RC $RUN_OUT"
        fi
        a64_run "$dir/$rules.out" nopad
        check_eq "$v $rules: enforcement still on in the output" "132" "$RUN_RC"
    done
    # Far: the jump back from the trampoline is a BR into the middle of
    # hp_pad, no landing pad: the marking is cleared and the report says so.
    HOOKPATCH_TEST_FAR=1 hp "$dir/in" "$dir/far.out" "$A64/bti_pass.toml"
    check_eq "$v far: BTI cleared, with the note" "0 PAC yes" \
        "$HP_RC $(a64_features "$dir/far.out") $([[ $HP_ERR == *"BTI is disabled in the output"* ]] && echo yes)"
    a64_run "$dir/far.out" pad
    check_eq "$v far: the indirect call runs" "0 pad=5" "$RUN_RC $RUN_OUT"
}

if a64_have "a64 C"; then
    have_clang=no
    command -v clang >/dev/null && command -v ld.lld >/dev/null && have_clang=yes
    ccs=(gcc)
    [[ $have_clang == yes ]] && ccs+=(clang) || skip "clang" "clang or ld.lld missing"
    for cc in "${ccs[@]}"; do
        for mode in pie nopie static static-pie; do
            for opt in -O0 -O2 -Os; do
                par_start variant "$cc" "$mode" "$opt" no
            done
            par_start variant "$cc" "$mode" -O2 yes
            par_start variant "$cc" "$mode" -Os yes
        done
        par_start far_variant "$cc" pie -O2 yes
        # gcc aligns functions at -O2 (free padding for the 12 bytes);
        # clang does not, so its static far build keeps branch protection.
        if [[ $cc == gcc ]]; then
            par_start far_variant "$cc" static -O2 no
        else
            par_start far_variant "$cc" static -O2 yes
        fi
        par_start original_case "$cc" pie
        par_start shlib_case "$cc"
        par_start bti_case "$cc"
    done
    par_start original_case gcc static
    par_wait
fi
e2e_finish
