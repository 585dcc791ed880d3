#!/usr/bin/env bash
# Thin arm64 Mach-O (issue 16, first part), without a Mac: build the C
# fixture of macho_emu.sh for arm64 macOS with clang + ld64.lld (lld 14:
# dyld info; lld 19 with -fixup_chains: chained fixups; an executable and a
# dylib; lld signs every arm64 output ad hoc, "linker-signed"), patch them,
# then
#   - llvm-objdump parses the output with no warning, hookpatch's own reader
#     reads it back (list), segments are 16 KiB aligned (macho_emu.py layout);
#   - macho_sigcheck.py, a verifier independent of the signer, accepts the
#     new signature: every page hash, codeLimit, slot counts, special slots;
#     the identifier and the linker-signed form are kept;
#   - each hooked function is called under unicorn arm64 and compared with
#     the unpatched input: return 42, replace, trap, passthrough, untouched.
# Plus: an input with entitlements and an unsigned input are signed right;
# an input with a real signature (CMS blob, team ID) warns naming them;
# flipping one byte of a signed page makes the verifier fail; arm64e
# is refused; the output is deterministic.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/macho
EMU=$HP_SRC/tests/e2e/macho_emu.py
SIGCHECK=$HP_SRC/tests/e2e/macho_sigcheck.py
W=$HP_WORK
OBJDUMP=llvm-objdump-14
LD_ARGS=(-arch arm64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup -headerpad 0x1000)

have() { command -v "$1" >/dev/null 2>&1; }

if ! have clang || ! have ld64.lld-14 || ! have "$OBJDUMP"; then
    skip "macho arm64" "needs clang, ld64.lld-14 and $OBJDUMP"
    e2e_finish || true
    exit 0
fi
EMU_OK=1
$PY -c 'import unicorn' 2>/dev/null || EMU_OK=0

# ---- the fixtures ----
cc_a64() { clang -target arm64-apple-macos11 -O1 -c "$@"; }
cc_a64 "$FIX/main.c" -o "$W/main.o"
cc_a64 "$FIX/targets.c" -o "$W/targets.o"
ld64.lld-14 "${LD_ARGS[@]}" -o "$W/exe" "$W/main.o" "$W/targets.o"
ld64.lld-14 "${LD_ARGS[@]}" -dylib -install_name @rpath/libt.dylib -o "$W/libt.dylib" \
    "$W/targets.o"
INPUTS=(exe libt.dylib)
LLD_NEW=
for v in 19 16; do
    have ld64.lld-$v && LLD_NEW=ld64.lld-$v && break
done
if [[ -n $LLD_NEW ]]; then
    "$LLD_NEW" "${LD_ARGS[@]}" -fixup_chains -o "$W/exe_chained" "$W/main.o" "$W/targets.o"
    INPUTS+=(exe_chained)
else
    skip "exe_chained" "no ld64.lld-19 or ld64.lld-16 for -fixup_chains"
fi

# ---- checks on one output ----

objdump_clean()
{
    local name=$1 f=$2 err
    if ! err=$("$OBJDUMP" --macho --private-headers "$f" 2>&1 >"$W/hdr.txt") || [[ -n $err ]]; then
        fail "$name: objdump headers" "$err"
    elif ! err=$("$OBJDUMP" --macho -d "$f" 2>&1 >/dev/null) || [[ -n $err ]]; then
        fail "$name: objdump -d" "$err"
    elif ! grep -q 'segname __HOOKPATCH$' "$W/hdr.txt"; then
        fail "$name: objdump headers" "no __HOOKPATCH segment"
    else
        pass "$name: llvm-objdump parses it, no warnings"
    fi
}

# emu NAME FILE SYMBOL EXPECT ARGS...: queued, run by emu_flush in one process.
EMU_CASES=()
emu() { EMU_CASES+=("$(printf '%s\t' "$@")"); }

emu_flush()
{
    local c input="" i=0 name f sym want args
    local -a results=()
    if [[ $EMU_OK == 0 ]]; then
        for c in "${EMU_CASES[@]}"; do
            skip "${c%%$'\t'*}" "python3-unicorn missing (apt-get install python3-unicorn)"
        done
        EMU_CASES=()
        return
    fi
    for c in "${EMU_CASES[@]}"; do
        IFS=$'\t' read -r name f sym want args <<<"$c"
        input+="$f $sym c $args"$'\n'
    done
    mapfile -t results < <(printf '%s' "$input" | timeout 300 $PY "$EMU" batch 2>&1)
    for c in "${EMU_CASES[@]}"; do
        IFS=$'\t' read -r name f sym want args <<<"$c"
        check_eq "$name" "$want" "${results[i]:-no result}"
        i=$((i + 1))
    done
    EMU_CASES=()
}

patch_and_check()
{
    local name=$1 in=$W/$1 out=$W/$1.out out2=$W/$1.out2 got
    hp "$in" "$out" "$FIX/rules.toml"
    if [[ $HP_RC != 0 ]]; then
        fail "$name: hookpatch" "rc=$HP_RC" "$HP_ERR"
        return
    fi
    pass "$name: hookpatch"
    objdump_clean "$name" "$out"
    got=$($PY "$EMU" layout "$out" 2>&1) || true
    check_eq "$name: layout, 16 KiB segments" \
        "$($PY "$EMU" layout "$in" | sed 's/ __LINKEDIT$/ __HOOKPATCH __LINKEDIT/')" "$got"
    hp list "$out"
    if [[ $HP_RC == 0 && $HP_OUT == *twice* && $HP_OUT == *checked* ]]; then
        pass "$name: hookpatch reads its output back (list)"
    else
        fail "$name: list" "rc=$HP_RC" "$HP_OUT" "$HP_ERR"
    fi
    # lld's own signature passes the verifier (a check on the verifier)
    got=$($PY "$SIGCHECK" "$in" 2>&1) || true
    check_eq "$name: input signature (lld's) verifies" \
        "ok ident=$name flags=0x20002 special=0" "${got% pages=*}"
    got=$($PY "$SIGCHECK" "$out" 2>&1) || true
    check_eq "$name: output re-signed, linker-signed form and identifier kept" \
        "ok ident=$name flags=0x20002 special=0" "${got% pages=*}"
    hp "$in" "$out2" "$FIX/rules.toml"
    check_true "$name: deterministic output" "second run differs" cmp -s "$out" "$out2"
    emu "$name: original add" "$in" _add 10 7 3
    emu "$name: original mul" "$in" _mul 21 7 3
    emu "$name: original checked" "$in" _checked 10 5
    emu "$name: original twice" "$in" _twice 10 5
    emu "$name: add returns 42" "$out" _add 42 7 3
    emu "$name: mul replaced by sub" "$out" _mul 4 7 3
    emu "$name: checked traps" "$out" _checked trap 5
    emu "$name: twice passes through" "$out" _twice 10 5
    emu "$name: sub untouched" "$out" _sub 4 7 3
    emu_flush
}

for n in "${INPUTS[@]}"; do
    patch_and_check "$n"
done

# ---- an input signed with entitlements (macho_sign_ent.py, codesign's
# form, not linker-signed): the blob survives byte for byte, its special
# slot is recomputed, CS_LINKER_SIGNED stays off ----
cat >"$W/ents.plist" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict><key>com.apple.security.get-task-allow</key><true/></dict></plist>
EOF
$PY "$HP_SRC/tests/e2e/macho_sign_ent.py" "$W/exe" "$W/exe_ent" "$W/ents.plist"
ent_sha=$($PY -c 'import hashlib, struct, sys; b = open(sys.argv[1], "rb").read()
print(hashlib.sha256(struct.pack(">II", 0xFADE7171, 8 + len(b)) + b).hexdigest())' "$W/ents.plist")
reqs_sha=$(printf '\xfa\xde\x0c\x01\0\0\0\x0c\0\0\0\0' | sha256sum | cut -d' ' -f1)
want="ok ident=exe flags=0x2 special=5 blobs=0,2,5 sha2=$reqs_sha sha5=$ent_sha"
got=$($PY "$SIGCHECK" "$W/exe_ent" 2>&1) || true
check_eq "entitlements: the test's signer makes a valid input" "$want" \
    "$(sed 's/ pages=[0-9]*//' <<<"$got")"
hp "$W/exe_ent" "$W/exe_ent.out" "$FIX/rules.toml"
if [[ $HP_RC == 0 ]]; then
    got=$($PY "$SIGCHECK" "$W/exe_ent.out" 2>&1) || true
    check_eq "entitlements: kept byte for byte, special slots recomputed" "$want" \
        "$(sed 's/ pages=[0-9]*//' <<<"$got")"
    objdump_clean exe_ent "$W/exe_ent.out"
    emu "entitlements: add returns 42" "$W/exe_ent.out" _add 42 7 3
    emu "entitlements: twice passes through" "$W/exe_ent.out" _twice 10 5
    emu_flush
else
    fail "entitlements: hookpatch" "rc=$HP_RC" "$HP_ERR"
fi

# ---- a real (non-ad hoc) signature: macho_sign_ent.py writes a team ID in
# the CodeDirectory and a CMS blob (slot 0x10000) whose leaf certificate
# names the identity. Re-signing ad hoc drops it: the warning names the
# identity and the team (or what could be read of them: a CMS blob cut
# short still gets the warning, with the team); the output has no CMS blob
# and verifies. An ad hoc input gets no such warning. ----
ID="Developer ID Application: Foo (ABCDE12345)"
TAIL="the output is signed ad hoc: that signature is dropped, re-sign the output with codesign to keep it"
real_sig()
{
    local name=$1 want_warn=$2
    shift 2
    $PY "$HP_SRC/tests/e2e/macho_sign_ent.py" "$W/exe" "$W/$name" - "$@"
    hp "$W/$name" "$W/$name.out" "$FIX/rules.toml"
    if [[ $HP_RC != 0 ]]; then
        fail "$name: hookpatch" "rc=$HP_RC" "$HP_ERR"
        return
    fi
    check_eq "$name: the warning names the identity it had" \
        "hookpatch: warning: $W/$name: the input $want_warn; $TAIL" \
        "$(grep 'warning:.*signed' <<<"$HP_ERR")"
    got=$($PY "$SIGCHECK" "$W/$name.out" 2>&1) || true
    check_eq "$name: output signed ad hoc, the CMS blob gone, verifies" \
        "ok ident=exe flags=0x2 special=2 blobs=0,2 sha2=$reqs_sha" \
        "$(sed 's/ pages=[0-9]*//' <<<"$got")"
}
real_sig exe_real "was signed by '$ID' (team ABCDE12345)" --team ABCDE12345 --cms "$ID"
real_sig exe_real_noteam "was signed by '$ID' (no team identifier)" --cms "$ID"
real_sig exe_real_badcms "was signed by team ABCDE12345 (the signer's certificate could not be read)" \
    --team ABCDE12345 --cms-bad
real_sig exe_real_nothing \
    "had a real signature (its signer's certificate could not be read, no team identifier)" --cms-bad
if [[ -f $W/exe_real.out ]]; then
    emu "real signature: add returns 42" "$W/exe_real.out" _add 42 7 3
    emu_flush
fi
hp "$W/exe" "$W/exe.out3" "$FIX/rules.toml"
check_eq "ad hoc input: no signer warning" "0|" "$HP_RC|$(grep 'signed by\|real signature' <<<"$HP_ERR" || true)"

# ---- an unsigned arm64 input (-no_adhoc_codesign) is signed: arm64 macOS
# runs no unsigned code. A new LC_CODE_SIGNATURE, codesign's form (not
# linker-signed: no linker signed it), the file name as identifier ----
ld64.lld-14 "${LD_ARGS[@]}" -no_adhoc_codesign -o "$W/exe_unsigned" "$W/main.o" "$W/targets.o"
check_eq "unsigned: the input is unsigned" "unsigned" "$($PY "$SIGCHECK" "$W/exe_unsigned" 2>&1)"
hp "$W/exe_unsigned" "$W/exe_unsigned.out" "$FIX/rules.toml"
if [[ $HP_RC == 0 ]]; then
    got=$($PY "$SIGCHECK" "$W/exe_unsigned.out" 2>&1) || true
    check_eq "unsigned: output signed ad hoc" \
        "ok ident=exe_unsigned flags=0x2 special=2 blobs=0,2 sha2=$reqs_sha" \
        "$(sed 's/ pages=[0-9]*//' <<<"$got")"
    objdump_clean exe_unsigned "$W/exe_unsigned.out"
    got=$($PY "$EMU" layout "$W/exe_unsigned.out" 2>&1) || true
    check_eq "unsigned: layout" "__PAGEZERO __TEXT __DATA_CONST __DATA __HOOKPATCH __LINKEDIT" "$got"
    emu "unsigned: add returns 42" "$W/exe_unsigned.out" _add 42 7 3
    emu "unsigned: checked traps" "$W/exe_unsigned.out" _checked trap 5
    emu "unsigned: sub untouched" "$W/exe_unsigned.out" _sub 4 7 3
    emu_flush
else
    fail "unsigned: hookpatch" "rc=$HP_RC" "$HP_ERR"
fi

# ---- the verifier catches a changed page ----
if [[ -f $W/exe.out ]]; then
    # a byte inside __TEXT,__text (page 4 of the 16 KiB-aligned __TEXT)
    $PY -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[0x4100] ^= 1
open(sys.argv[2], "wb").write(d)' "$W/exe.out" "$W/flipped"
    got=$($PY "$SIGCHECK" "$W/flipped" 2>&1) && rc=0 || rc=$?
    check_eq "verifier: one flipped byte in a signed page fails" \
        "1 error: page 4 hash mismatch" "$rc $got"
fi

# ---- arm64e is refused ----
$PY -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[8] = 2
open(sys.argv[2], "wb").write(d)' "$W/exe" "$W/exe_arm64e"
hp "$W/exe_arm64e" "$W/arm64e.out" "$FIX/rules.toml"
if [[ $HP_RC != 0 && $HP_ERR == *"hookpatch: error:"*"arm64e Mach-O (pointer-authenticated ABI"* &&
    ! -e $W/arm64e.out ]]; then
    pass "arm64e: refused, named"
else
    fail "arm64e" "rc=$HP_RC" "$HP_ERR"
fi

e2e_finish
