#!/usr/bin/env bash
# `object =` on thin arm64 Mach-O (issue 16): mocks compiled with clang
# -target arm64-apple-macos11 -c (-O0 and -O2, tests/fixtures/macho/
# mock_a64.c) linked into the arm64 C fixture of macho_a64.sh (ld64.lld-14:
# dyld info), patched, and every hooked function called under unicorn
# (macho_emu.py) with exact results:
#   add      BRANCH26 to the original (`original =`) and to the binary,
#            state in __bss
#   mul      PAGE21 + PAGEOFF12 on loads and stores of 1, 2, 4, 8 and 16
#            bytes (LDST8 ... LDST128)
#   sub      string literals, a pointer table in __DATA,__const (UNSIGNED
#            64: rebase opcodes), &arr[3] (-O2: an ARM64_RELOC_ADDEND)
#   checked  the binary's data and function addresses through the GOT
#            (GOT_LOAD_PAGE21 / GOT_LOAD_PAGEOFF12)
# Each output: llvm-objdump parses it without warnings, macho_sigcheck.py
# (independent of the signer) accepts its signature, a second run is
# byte-identical. Then: HOOKPATCH_TEST_FAR=1 puts the new code 256 MiB away,
# so the mock's BLs into the binary go through veneers (counted) and still
# give the right result; a chained-fixup input (lld 19/16 -fixup_chains)
# takes a mock with pc-relative references only (mock_a64_far.c), and one with
# absolute pointers (the pointer table and GOT slots become chained rebases,
# run with dyld's rebasing emulated); an x86-64 object in the arm64 binary and the
# arm64 object in an x86-64 binary are refused naming both machines; an
# arm64e object and thread-locals are refused by name. Nothing is written on
# a refusal.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/macho
EMU=$HP_SRC/tests/e2e/macho_emu.py
SIGCHECK=$HP_SRC/tests/e2e/macho_sigcheck.py
W=$HP_WORK
OBJDUMP=llvm-objdump-14
LD_ARGS=(-platform_version macos 11.0 11.0 -undefined dynamic_lookup -headerpad 0x1000)
A64=(clang -target arm64-apple-macos11)
X64=(clang -target x86_64-apple-macos11)

# The tools, or skip (under CI: fail, as a64_have does).
missing=()
for t in clang ld64.lld-14 "$OBJDUMP"; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
"$PY" -c 'import unicorn' 2>/dev/null || missing+=("python3-unicorn")
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ -n ${CI:-} ]]; then fail "tools" "missing: ${missing[*]}"
    else skip "objects_macho_a64" "missing: ${missing[*]}"; fi
    e2e_finish || true
    [[ -z ${CI:-} ]]
    exit
fi

# ---- the binaries ----
cp "$FIX"/main.c "$FIX"/targets.c "$FIX"/mock_a64*.c "$FIX"/mock_a64*_rules.toml "$W/"
cd "$W"
"${A64[@]}" -O1 -c main.c -o main.o
"${A64[@]}" -O1 -c targets.c -o targets.o
ld64.lld-14 -arch arm64 "${LD_ARGS[@]}" -o exe main.o targets.o
exe_sha=$(sha exe)

# emu NAME FILE SYMBOL EXPECT ARGS...: queued, run by emu_flush in one process.
EMU_CASES=()
emu() { EMU_CASES+=("$(printf '%s\t' "$@")"); }

emu_flush()
{
    local c input="" i=0 name f sym want args
    local -a results=()
    for c in "${EMU_CASES[@]}"; do
        IFS=$'\t' read -r name f sym want args <<<"$c"
        input+="$f $sym c $args"$'\n'
    done
    mapfile -t results < <(printf '%s' "$input" | timeout 300 "$PY" "$EMU" batch 2>&1)
    for c in "${EMU_CASES[@]}"; do
        IFS=$'\t' read -r name f sym want args <<<"$c"
        check_eq "$name" "$want" "${results[i]:-no result}"
        i=$((i + 1))
    done
    EMU_CASES=()
}

# output_ok NAME FILE: llvm-objdump reads it without a warning, the
# independent verifier accepts the signature (lld's linker-signed form and
# identifier kept).
output_ok()
{
    local name=$1 f=$2 err got
    if ! err=$("$OBJDUMP" --macho --private-headers "$f" 2>&1 >/dev/null) || [[ -n $err ]]; then
        fail "$name: objdump headers" "$err"
    elif ! err=$("$OBJDUMP" --macho -d "$f" 2>&1 >/dev/null) || [[ -n $err ]]; then
        fail "$name: objdump -d" "$err"
    else
        pass "$name: llvm-objdump parses it, no warnings"
    fi
    got=$("$PY" "$SIGCHECK" "$f" 2>&1) || true
    check_eq "$name: signature verifies" "ok ident=${3:-exe} flags=0x20002 special=0" \
        "${got% pages=*}"
}

# refused NAME IN RULES PATTERN...: exit 1, "hookpatch: error:" lines with
# every pattern, no output file.
refused()
{
    local name=$1 in=$2 rules=$3 p ok=1
    shift 3
    rm -f "$W/refused.out"
    hp "$in" "$W/refused.out" "$rules"
    [[ $HP_RC == 1 && $HP_ERR == *"hookpatch: error: "* && ! -e $W/refused.out ]] || ok=0
    for p in "$@"; do
        [[ $HP_ERR == *"$p"* ]] || ok=0
    done
    if [[ $ok == 1 ]]; then pass "$name"; else fail "$name" "rc=$HP_RC" "$HP_ERR"; fi
}

# ---- the mocks at -O0 and -O2 ----
for opt in -O0 -O2; do
    v=mock$opt
    "${A64[@]}" "$opt" -c mock_a64.c -o mock_a64.o
    if [[ $opt == -O2 ]]; then # the explicit-addend case must really be there
        check_true "$v: the object has an ARM64_RELOC_ADDEND" "none in mock_a64.o" \
            grep -q 'ADDEND' <("$OBJDUMP" --macho -r mock_a64.o)
    fi
    hp exe "out$opt" mock_a64_rules.toml
    if [[ $HP_RC != 0 ]]; then
        fail "$v: hookpatch" "rc=$HP_RC" "$HP_ERR"
        continue
    fi
    pass "$v: hookpatch"
    output_ok "$v" "out$opt"
    n=$("$OBJDUMP" --macho --rebase "out$opt" | grep -c '^__HOOKPATCH_D' || true)
    check_eq "$v: rebase entries: 3 for the pointer table, 2 GOT slots (ops, sub)" 5 "$n"
    hp exe "out$opt.2" mock_a64_rules.toml
    check_true "$v: deterministic output" "second run differs" cmp -s "out$opt" "out$opt.2"
    emu "$v: add: original + call into the binary + state" "out$opt" _add 1015 7 3
    emu "$v: mul: loads and stores of 1..16 bytes" "out$opt" _mul 366 7 3
    emu "$v: sub: strings, pointer table, &arr[3]" "out$opt" _sub 116027 4 2
    emu "$v: checked: GOT loads of the binary's data and function" "out$opt" _checked 1105 5
    emu "$v: twice untouched" "out$opt" _twice 10 5
done
emu "unpatched add" exe _add 10 7 3
emu_flush

# ---- far: the new code 256 MiB away, the mock's calls through veneers ----
"${A64[@]}" -O2 -c mock_a64_far.c -o mock_a64_far.o
rm -f far.out
if HOOKPATCH_TEST_FAR=1 "$HOOKPATCH" -q exe far.out mock_a64_far_rules.toml 2>err.txt; then
    output_ok far far.out
    # veneers (adrp x16 / add x16 / br x16) follow the mock's code, one per
    # far callee: mul, twice
    n=$("$OBJDUMP" --macho --section=__HOOKPATCH,__text -d far.out |
        awk '/^_checked_far:/ { on = 1 } on && /br[[:space:]]+x16/ { n++ } END { print n + 0 }')
    check_eq "far: two veneers (mul, twice) after the mock" 2 "$n"
    emu "far: checked_far = original, mul and twice through veneers" far.out _checked 10025 5
    emu_flush
else
    fail "far: hookpatch" "$(cat err.txt)"
fi

# ---- chained fixups (lld 19/16 -fixup_chains) ----
LLD_NEW=
for v in 19 16; do
    command -v ld64.lld-$v >/dev/null 2>&1 && LLD_NEW=ld64.lld-$v && break
done
if [[ -n $LLD_NEW ]]; then
    "$LLD_NEW" -arch arm64 "${LD_ARGS[@]}" -fixup_chains -o exe_chained main.o targets.o
    # a mock with pc-relative references only: no pointer to rebase
    hp exe_chained chained.out mock_a64_far_rules.toml
    if [[ $HP_RC == 0 ]]; then
        output_ok chained chained.out exe_chained
        emu "chained: checked_far = original, mul and twice" chained.out _checked 10025 5
        emu_flush
    else
        fail "chained: hookpatch" "rc=$HP_RC" "$HP_ERR"
    fi
    # absolute pointers (the table in __DATA,__const, GOT slots): the
    # new data segment's pointers join the chains (macho_chained.c), and
    # the emulator applies them as dyld does before each call
    hp exe_chained chained_ptrs.out mock_a64_rules.toml
    if [[ $HP_RC == 0 ]]; then
        output_ok chained_ptrs chained_ptrs.out exe_chained
        emu "chained: add: original + call into the binary + state" chained_ptrs.out _add 1015 7 3
        emu "chained: mul: loads and stores of 1..16 bytes" chained_ptrs.out _mul 366 7 3
        emu "chained: sub: strings, pointer table, &arr[3]" chained_ptrs.out _sub 116027 4 2
        emu "chained: checked: GOT loads of the binary's data and function" chained_ptrs.out \
            _checked 1105 5
        emu_flush
    else
        fail "chained: hookpatch with absolute pointers" "rc=$HP_RC" "$HP_ERR"
    fi
elif [[ -n ${CI:-} ]]; then
    fail "chained" "no ld64.lld-19 or ld64.lld-16"
else
    skip "chained" "no ld64.lld-19 or ld64.lld-16"
fi

# ---- refusals ----
# an x86-64 object in the arm64 binary, and the reverse
"${X64[@]}" -O2 -c mock_a64.c -o mock_x86.o
sed 's/mock_a64\.o/mock_x86.o/' mock_a64_rules.toml >x86_rules.toml
refused "an x86-64 object in an arm64 binary: both machines named" exe x86_rules.toml \
    "x86_rules.toml:4:12: object '$W/mock_x86.o': its code is x86-64, but the binary's is arm64"
"${X64[@]}" -O1 -c main.c -o xmain.o
"${X64[@]}" -O1 -c targets.c -o xtargets.o
ld64.lld-14 -arch x86_64 "${LD_ARGS[@]}" -o xexe xmain.o xtargets.o
"${A64[@]}" -O2 -c mock_a64.c -o mock_a64.o
refused "an arm64 object in an x86-64 binary: both machines named" xexe mock_a64_rules.toml \
    "mock_a64_rules.toml:4:12: object '$W/mock_a64.o': " \
    "its code is arm64, but the binary's is x86-64"
# arm64e (cpusubtype 2)
"$PY" -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[8] = 2
open(sys.argv[2], "wb").write(d)' mock_a64.o mock_a64e.o
sed 's/mock_a64\.o/mock_a64e.o/' mock_a64_rules.toml >a64e_rules.toml
refused "an arm64e object is refused by name" exe a64e_rules.toml \
    "a64e_rules.toml:4:12:" "arm64e object (pointer-authenticated ABI)"
# thread-locals: TLVP_LOAD_PAGE21 in code, a __thread_vars section
printf '__thread int tv;\nint add_hook(int a, int b) { return a + b + tv; }\n' >tlv.c
"${A64[@]}" -O2 -c tlv.c -o mock_a64.o
head -6 mock_a64_rules.toml >tlv_rules.toml
refused "thread-locals are refused by name" exe tlv_rules.toml "tlv_rules.toml:4:12:" \
    "ARM64_RELOC_TLVP_LOAD_PAGE21 (thread-local storage) is not supported"
check_eq "the input is never modified" "$exe_sha" "$(sha exe)"

e2e_finish
