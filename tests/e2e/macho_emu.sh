#!/usr/bin/env bash
# Acceptance for the Mach-O backend, without a Mac: build x86-64 macOS
# programs with clang + ld64.lld (C: executable, dylib, universal with an
# arm64 slice) and Go (GOOS=darwin, with every Go toolchain go_toolchains
# lists: Go 1.19 links an exe at a fixed address, Go 1.26 a PIE), patch
# them, then
#   - parse the output with llvm-objdump (no warnings), with LIEF (a second
#     reader, in a forked child) and with macho_emu.py's own reader
#     (__HOOKPATCH present, __LINKEDIT last, nothing overlaps);
#   - verify the ad hoc code signature's page hashes with Python's hashlib;
#   - call the hooked functions under unicorn (macho_emu.py) and compare
#     with the unpatched input: return 42, replace, trap, passthrough.
# Plus the refusals: no header padding (names -headerpad), patching twice.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/macho
PY=/usr/bin/python3
EMU=$HP_SRC/tests/e2e/macho_emu.py
W=$HP_WORK
LLD=ld64.lld-14
OBJDUMP=llvm-objdump-14
LD_X86=("$LLD" -arch x86_64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup)

have() { command -v "$1" >/dev/null 2>&1; }

if ! have clang || ! have "$LLD" || ! have "$OBJDUMP"; then
    skip "macho" "needs clang, $LLD and $OBJDUMP"
    e2e_finish || true
    exit 0
fi
EMU_OK=1
$PY -c 'import unicorn' 2>/dev/null || EMU_OK=0

# ---- build the fixtures ----
cc_x86() { clang -target x86_64-apple-macos11 -O1 -c "$@"; }
cc_x86 "$FIX/main.c" -o "$W/main.o"
cc_x86 "$FIX/targets.c" -o "$W/targets.o"
"${LD_X86[@]}" -headerpad 0x1000 -adhoc_codesign -o "$W/exe" "$W/main.o" "$W/targets.o"
"${LD_X86[@]}" -headerpad 0x1000 -o "$W/exe_unsigned" "$W/main.o" "$W/targets.o"
"${LD_X86[@]}" -o "$W/exe_nopad" "$W/main.o" "$W/targets.o"
"${LD_X86[@]}" -dylib -headerpad 0x1000 -adhoc_codesign -install_name @rpath/libt.dylib \
    -o "$W/libt.dylib" "$W/targets.o"

FAT=0
if have llvm-lipo-14 &&
    clang -target arm64-apple-macos11 -O1 -c "$FIX/main.c" -o "$W/main_a.o" 2>/dev/null &&
    clang -target arm64-apple-macos11 -O1 -c "$FIX/targets.c" -o "$W/targets_a.o" 2>/dev/null &&
    "$LLD" -arch arm64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup \
        -headerpad 0x1000 -o "$W/exe_arm64" "$W/main_a.o" "$W/targets_a.o" 2>/dev/null &&
    llvm-lipo-14 -create "$W/exe" "$W/exe_arm64" -output "$W/fat"; then
    FAT=1
fi

# go_build: the Go fixture with the current toolchain, as $W/$GO_LABEL/gobin.
go_build()
{
    mkdir -p "$W/$GO_LABEL/go"
    cp "$FIX/go/go.mod" "$FIX/go/main.go" "$W/$GO_LABEL/go/"
    (cd "$W/$GO_LABEL/go" && GOOS=darwin GOARCH=amd64 CGO_ENABLED=0 GOFLAGS=-mod=mod GOPROXY=off \
        go build -gcflags=all=-l -o "$W/$GO_LABEL/gobin" .) >"$W/$GO_LABEL/go.log" 2>&1
}

LIEF_OK=0
if cc "$FIX/lief_check.c" -o "$W/lief_check" -lLIEF -lstdc++ -lm >"$W/lief.log" 2>&1; then
    LIEF_OK=1
fi

# ---- checks on one output ----

# objdump_clean NAME FILE: headers and disassembly parse with no warning.
objdump_clean()
{
    local name=$1 f=$2 err
    if ! err=$("$OBJDUMP" --macho --private-headers "$f" 2>&1 >"$W/hdr.txt") || [[ -n $err ]]; then
        fail "$name: objdump headers" "$err"
        return
    fi
    if ! err=$("$OBJDUMP" --macho -d "$f" 2>&1 >/dev/null) || [[ -n $err ]]; then
        fail "$name: objdump -d" "$err"
        return
    fi
    if ! grep -q 'segname __HOOKPATCH$' "$W/hdr.txt"; then
        fail "$name: objdump headers" "no __HOOKPATCH segment"
        return
    fi
    if ! err=$("$OBJDUMP" -d --section=__text "$f" 2>&1 >"$W/dis.txt") || [[ -n $err ]] ||
        ! grep -qE 'Disassembly of section __HOOKPATCH,__text|\(__HOOKPATCH,__text\) section' \
            "$W/dis.txt"; then
        fail "$name: objdump __HOOKPATCH,__text" "$err"
        return
    fi
    pass "$name: llvm-objdump parses it, no warnings"
}

layout_ok()
{
    local name=$1 f=$2 out
    if out=$($PY "$EMU" layout "$f" 2>&1) && [[ $out == *__HOOKPATCH*__LINKEDIT ]]; then
        pass "$name: layout ($out)"
    else
        fail "$name: layout" "$out"
    fi
}

lief_ok()
{
    local name=$1 f=$2 out
    if [[ $LIEF_OK == 0 ]]; then
        skip "$name: LIEF" "cannot build lief_check (liblief-dev missing?)"
        return
    fi
    if out=$(timeout 60 "$W/lief_check" "$f" 2>&1) && [[ $out == *__HOOKPATCH* ]]; then
        pass "$name: LIEF reads it"
    else
        fail "$name: LIEF" "$out"
    fi
}

# sig_ok NAME FILE EXPECT: EXPECT is "ok" (valid ad hoc signature) or "unsigned".
sig_ok()
{
    local name=$1 f=$2 want=$3 out
    out=$($PY "$EMU" sig "$f" 2>&1) || true
    if [[ $out == "$want"* ]]; then
        pass "$name: signature $out"
    else
        fail "$name: signature" "expected $want" "$out"
    fi
}

# emu NAME FILE SYMBOL ABI EXPECT ARGS...: queue a call under unicorn;
# emu_flush runs the queue in one Python process and checks each result.
EMU_CASES=()
emu()
{
    EMU_CASES+=("$(printf '%s\t' "$@")")
}

emu_flush()
{
    local c input="" i=0 name f sym abi want args
    local -a results=()
    if [[ $EMU_OK == 0 ]]; then
        for c in "${EMU_CASES[@]}"; do
            skip "${c%%$'\t'*}" "python3-unicorn missing (apt-get install python3-unicorn)"
        done
        EMU_CASES=()
        return
    fi
    for c in "${EMU_CASES[@]}"; do
        IFS=$'\t' read -r name f sym abi want args <<<"$c"
        input+="$f $sym $abi $args"$'\n'
    done
    mapfile -t results < <(printf '%s' "$input" | timeout 300 $PY "$EMU" batch 2>&1)
    for c in "${EMU_CASES[@]}"; do
        IFS=$'\t' read -r name f sym abi want args <<<"$c"
        check_eq "$name" "$want" "${results[i]:-no result}"
        i=$((i + 1))
    done
    EMU_CASES=()
}

# dyld_same NAME IN OUT: what dyld reads from __LINKEDIT (which moved) is
# unchanged: rebase, bind, lazy and weak bind, exports, function starts,
# data in code, and the indirect symbols by name (their indices shift by the
# symbols hookpatch adds).
dyld_same()
{
    local name=$1 in=$2 out=$3 opt a b
    for opt in --rebase --bind --lazy-bind --weak-bind --exports-trie --function-starts \
        --data-in-code --indirect-symbols; do
        a=$("$OBJDUMP" --macho $opt "$in" 2>&1 | tail -n +2 | awk '{ $2 = ($0 ~ /^0x/) ? "" : $2; print }')
        b=$("$OBJDUMP" --macho $opt "$out" 2>&1 | tail -n +2 | awk '{ $2 = ($0 ~ /^0x/) ? "" : $2; print }')
        if [[ $a != "$b" ]]; then
            fail "$name: dyld tables ($opt)" "$(diff <(echo "$a") <(echo "$b") | head -10)"
            return
        fi
    done
    pass "$name: rebase/bind/exports/function starts/indirect symbols unchanged"
}

# syms_ok NAME IN OUT: every input symbol is still there, at the same
# address, and the stubs and trampolines got names.
syms_ok()
{
    local name=$1 in=$2 out=$3 missing nm_out
    nm_out=$(llvm-nm-14 --arch=x86_64 "$out" | sort)
    missing=$(comm -23 <(llvm-nm-14 --arch=x86_64 "$in" | sort) <(echo "$nm_out"))
    if [[ -n $missing ]]; then
        fail "$name: symbols" "lost: $(echo "$missing" | head -5)"
    elif [[ $nm_out != *hookpatch_stub* || $nm_out != *hookpatch_orig* ]]; then
        fail "$name: symbols" "no hookpatch_stub / hookpatch_orig symbol"
    else
        pass "$name: symbols kept, stubs and trampolines named"
    fi
}

# patch_and_check NAME IN RULES SIGNED ABI PREFIX: the whole battery.
patch_and_check()
{
    local name=$1 in=$2 rules=$3 signed=$4 abi=$5 p=$6 out=$W/$1.out
    hp "$in" "$out" "$rules"
    if [[ $HP_RC != 0 ]]; then
        fail "$name: hookpatch" "rc=$HP_RC" "$HP_ERR"
        return
    fi
    pass "$name: hookpatch"
    objdump_clean "$name" "$out"
    layout_ok "$name" "$out"
    lief_ok "$name" "$out"
    sig_ok "$name" "$out" "$signed"
    dyld_same "$name" "$in" "$out"
    syms_ok "$name" "$in" "$out"
    emu "$name: original add" "$in" "${p}add" "$abi" 10 7 3
    emu "$name: original mul" "$in" "${p}mul" "$abi" 21 7 3
    emu "$name: original checked" "$in" "${p}checked" "$abi" 10 5
    emu "$name: original twice" "$in" "${p}twice" "$abi" 10 5
    emu "$name: add returns 42" "$out" "${p}add" "$abi" 42 7 3
    emu "$name: mul replaced by sub" "$out" "${p}mul" "$abi" 4 7 3
    emu "$name: checked traps" "$out" "${p}checked" "$abi" trap 5
    emu "$name: twice passes through" "$out" "${p}twice" "$abi" 10 5
    emu "$name: sub untouched" "$out" "${p}sub" "$abi" 4 7 3
    emu_flush
}

patch_and_check exe "$W/exe" "$FIX/rules.toml" ok c _
patch_and_check exe_unsigned "$W/exe_unsigned" "$FIX/rules.toml" unsigned c _
patch_and_check dylib "$W/libt.dylib" "$FIX/rules.toml" ok c _

if [[ $FAT == 1 ]]; then
    patch_and_check fat "$W/fat" "$FIX/rules.toml" ok c _
    if [[ -f $W/fat.out ]]; then
        $PY "$EMU" slice "$W/fat" arm64 "$W/arm.in"
        $PY "$EMU" slice "$W/fat.out" arm64 "$W/arm.out"
        # patched too (macho_universal.sh runs it); here: it changed
        check_true "fat: arm64 slice patched as well" "the arm64 slice is unchanged" \
            test -s "$W/arm.out" -a -n "$(cmp "$W/arm.in" "$W/arm.out" 2>&1)"
        out=$(llvm-lipo-14 -archs "$W/fat.out" 2>&1) || true
        check_eq "fat: lipo -archs" "x86_64 arm64" "$(echo $out)"
    fi
else
    skip "fat" "no llvm-lipo-14 or arm64 linking"
fi

# go_check: patch, parse and emulate the current toolchain's build.
go_check()
{
    local g=$GO_LABEL bin=$W/$GO_LABEL/gobin out=$W/$GO_LABEL/go.out
    if ! go_build; then
        fail "$g: GOOS=darwin go build" "$(tail -3 "$W/$GO_LABEL/go.log")"
        return
    fi
    # Go symbols are "_main.Add"; the rules use the source name "main.Add".
    hp "$bin" "$out" "$FIX/go/rules.toml"
    if [[ $HP_RC != 0 ]]; then
        fail "$g: hookpatch" "rc=$HP_RC" "$HP_ERR"
        return
    fi
    pass "$g: hookpatch"
    objdump_clean "$g" "$out"
    layout_ok "$g" "$out"
    lief_ok "$g" "$out"
    sig_ok "$g" "$out" unsigned
    dyld_same "$g" "$bin" "$out"
    syms_ok "$g" "$bin" "$out"
    emu "$g: original Add" "$bin" _main.Add go 10 7 3
    emu "$g: original Mul" "$bin" _main.Mul go 21 7 3
    emu "$g: original Twice" "$bin" _main.Twice go 10 5
    emu "$g: Add returns 42" "$out" _main.Add go 42 7 3
    emu "$g: Mul replaced by Sub" "$out" _main.Mul go 4 7 3
    emu "$g: Checked traps" "$out" _main.Checked go trap 5
    emu "$g: Twice passes through" "$out" _main.Twice go 10 5
    emu_flush
}

mapfile -t TOOLCHAINS < <(go_toolchains)
[[ ${#TOOLCHAINS[@]} -gt 0 ]] || skip "go" "no Go toolchain installed"
for tc in "${TOOLCHAINS[@]}"; do
    go_use $tc
    go_check
done

# ---- an object-file mock with absolute pointers: rebase opcodes ----
mkdir -p "$W/mock"
cp "$FIX/mock_rules.toml" "$W/mock/rules.toml"
if clang -O1 -c "$FIX/mock.c" -o "$W/mock/mock.o"; then
    hp "$W/exe" "$W/mock.out" "$W/mock/rules.toml"
    if [[ $HP_RC != 0 ]]; then
        fail "mock: hookpatch" "rc=$HP_RC" "$HP_ERR"
    else
        pass "mock: hookpatch"
        objdump_clean mock "$W/mock.out"
        sig_ok mock "$W/mock.out" ok
        # the old entries, then one per pointer of twice_table
        rebase_in=$("$OBJDUMP" --macho --rebase "$W/exe" 2>&1 | tail -n +2)
        rebase=$("$OBJDUMP" --macho --rebase "$W/mock.out" 2>&1 | tail -n +2)
        if [[ $(grep -c '^__HOOKPATCH_D *__data .* pointer' <<<"$rebase") == 2 &&
            $(grep -v '__HOOKPATCH_D' <<<"$rebase") == "$rebase_in" ]]; then
            pass "mock: both table pointers are rebased"
        else
            fail "mock: rebase opcodes" "$rebase"
        fi
        emu "mock: twice calls the mock, which calls the original" "$W/mock.out" _twice c 210 5
        emu "mock: add untouched" "$W/mock.out" _add c 10 7 3
        emu_flush
    fi
else
    skip "mock" "clang cannot build a host object"
fi

# ---- refusals ----
hp "$W/exe_nopad" "$W/nopad.out" "$FIX/rules.toml"
if [[ $HP_RC != 0 && $HP_ERR == *-headerpad* && ! -e $W/nopad.out ]]; then
    pass "no header padding: refused, names -headerpad"
else
    fail "no header padding" "rc=$HP_RC" "$HP_ERR"
fi

if [[ -f $W/exe.out ]]; then
    hp "$W/exe.out" "$W/twice.out" "$FIX/rules.toml"
    if [[ $HP_RC != 0 && $HP_ERR == *"already patched"* ]]; then
        pass "patching twice is refused"
    else
        fail "patching twice" "rc=$HP_RC" "$HP_ERR"
    fi
    hp list "$W/exe.out"
    if [[ $HP_RC == 0 && $HP_OUT == *twice* ]]; then
        pass "list reads the output"
    else
        fail "list reads the output" "rc=$HP_RC" "$HP_ERR"
    fi
fi

e2e_finish
