#!/usr/bin/env bash
# Acceptance (issue 16): Go GOOS=darwin GOARCH=arm64 binaries, without a
# Mac. tests/fixtures/macho/go_a64 is built with every Go toolchain
# go_toolchains lists (Go 1.26 and 1.19), with symbols and stripped
# (-ldflags=-s -w; Go 1.26 then leaves the pclntab as the only function
# table, Go 1.19's darwin linker still writes a symbol table), and patched
#   - with rules.toml: replace + original on Sum (a stack check; its mock is
#     nosplit), replace Mul -> Sub, return on a function, a pointer-receiver
#     method and a generic (every shape), passthrough by glob;
#   - with target = "*" passthrough: every function, the runtime included.
# Each output is checked
#   - structurally: llvm-objdump-14 --macho --private-headers prints no
#     warning, -d no warning the input does not draw too, the rebase, bind
#     and export tables are unchanged, macho_emu.py's reader finds the
#     segments page-aligned (16 KiB), hookpatch list reads the hooks back;
#   - signature: macho_sigcheck.py (independent of the signer) accepts it,
#     and it keeps the form Go's linker wrote (ad hoc + linker-signed,
#     CodeDirectory only, same identifier);
#   - by emulation (macho_emu.py, unicorn arm64): each hooked function is
#     called with Go's register ABI, g in x28, stackguard0 below sp, and the
#     result compared with the unpatched binary's; and with stackguard0
#     ABOVE sp, so the prologue takes its morestack trailer: the emulated
#     runtime.morestack checks where the trailer resumes. Sum's must go to
#     its trampoline (hookpatch retargets the trailer's "b entry" when the
#     original is reachable through `original =`; through the entry, the
#     mock would run twice: 2009, not 1009); a passthrough's goes to the
#     entry, as in the input. A copy of the output with Sum's trailer put
#     back to "b entry" must give the wrong result (the check can fail).
# Plus: deterministic output, IN unchanged, runtime.goexit skipped with its
# reason under "*" (with symbols too: Mach-O spells it _runtime.goexit.abi0),
# at most 0.5% of the functions skipped. The four builds run as parallel
# jobs (par_start).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/macho/go_a64
SWFIX=$HP_SRC/tests/fixtures/macho/go_a64_switch
EMU=$HP_SRC/tests/e2e/macho_emu.py
SIGCHECK=$HP_SRC/tests/e2e/macho_sigcheck.py
OBJDUMP=llvm-objdump-14
W=$HP_WORK

# need NAME WHAT...: the tools are here, or skip (under CI: fail).
missing=()
command -v $OBJDUMP >/dev/null 2>&1 || missing+=($OBJDUMP)
"$PY" -c 'import unicorn' 2>/dev/null || missing+=("python3-unicorn")
mapfile -t TOOLCHAINS < <(go_toolchains)
[[ ${#TOOLCHAINS[@]} -gt 0 ]] || missing+=(go)
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ -n ${CI:-} ]]; then fail "macho_go_a64" "missing: ${missing[*]}"
    else skip "macho_go_a64" "missing: ${missing[*]}"; fi
    e2e_finish || true
    [[ -n ${CI:-} ]] && exit 1
    exit 0
fi
export GOFLAGS=-mod=mod GOPROXY=off GOPATH=$W/gopath GO111MODULE=on GOTELEMETRY=off
export GOOS=darwin GOARCH=arm64 CGO_ENABLED=0
unset GOROOT_FINAL

# emu NAME FILE SYMBOL ABI EXPECT ARGS...: queued; emu_flush runs the queue
# in one Python process (importing unicorn is slow) and checks each result.
EMU_CASES=()
emu() { EMU_CASES+=("$(printf '%s\t' "$@")"); }
emu_flush()
{
    local c input="" i=0 name f sym abi want args
    local -a results=()
    for c in "${EMU_CASES[@]}"; do
        IFS=$'\t' read -r name f sym abi want args <<<"$c"
        input+="$f $sym $abi $args"$'\n'
    done
    mapfile -t results < <(printf '%s' "$input" | timeout 600 "$PY" "$EMU" batch 2>&1)
    for c in "${EMU_CASES[@]}"; do
        IFS=$'\t' read -r name f sym abi want args <<<"$c"
        check_eq "$name" "$want" "${results[i]:-no result}"
        i=$((i + 1))
    done
    EMU_CASES=()
}

objdump_clean()
{
    local name=$1 f=$2 err
    if ! err=$($OBJDUMP --macho --private-headers "$f" 2>&1 >"$f.hdr") || [[ -n $err ]]; then
        fail "$name: llvm-objdump --private-headers" "$err"
    elif ! grep -q 'segname __HOOKPATCH$' "$f.hdr"; then
        fail "$name: llvm-objdump --private-headers" "no __HOOKPATCH segment"
    else
        pass "$name: llvm-objdump --private-headers: no warning, __HOOKPATCH present"
    fi
}

# disasm_same NAME IN OUT: llvm-objdump -d warns no more on OUT than on IN
# (a stripped Go binary's data in __text already draws warnings), and what
# dyld reads (rebase, bind, lazy bind, exports) is unchanged.
disasm_same()
{
    local name=$1 in=$2 out=$3 a b opt
    a=$($OBJDUMP --macho -d "$in" 2>&1 >/dev/null | sort | uniq -c)
    b=$($OBJDUMP --macho -d "$out" 2>&1 >/dev/null | sort | uniq -c)
    check_eq "$name: llvm-objdump -d: the input's warnings, no new one" "$a" "$b"
    for opt in --rebase --bind --lazy-bind --weak-bind --exports-trie; do
        a=$($OBJDUMP --macho $opt "$in" 2>&1 | tail -n +2)
        b=$($OBJDUMP --macho $opt "$out" 2>&1 | tail -n +2)
        [[ $a == "$b" ]] || { fail "$name: dyld tables ($opt)" "$(diff <(echo "$a") <(echo "$b") | head -5)"; return; }
    done
    pass "$name: rebase/bind/lazy bind/exports unchanged"
}

layout_ok()
{
    local name=$1 f=$2 out
    if out=$("$PY" "$EMU" layout "$f" 2>&1) && [[ $out == *__HOOKPATCH*__LINKEDIT ]]; then
        pass "$name: layout, 16 KiB-aligned ($out)"
    else
        fail "$name: layout" "$out"
    fi
}

# sig_same NAME IN OUT: both verify; the output keeps the input's form.
sig_same()
{
    local name=$1 in=$2 out=$3 a b
    a=$("$PY" "$SIGCHECK" "$in" 2>&1) || true
    b=$("$PY" "$SIGCHECK" "$out" 2>&1) || true
    if [[ $a != "ok ident=a.out flags=0x20002 special=0 pages="*" blobs=0" ]]; then
        fail "$name: input signature (Go's linker: ad hoc, linker-signed)" "$a"
    elif [[ $b == "${a%% pages=*} pages="*" blobs=0" ]]; then
        pass "$name: macho_sigcheck accepts the output; form kept (${b% blobs=})"
    else
        fail "$name: output signature" "input:  $a" "output: $b"
    fi
}

# trailer_to_entry OUT COPY: COPY is OUT with main.Sum's morestack trailer
# branching to main.Sum's entry again, as before hookpatch retargeted it.
trailer_to_entry()
{
    "$PY" -c '
import struct, sys
sys.path.insert(0, sys.argv[3])
import macho_emu as E
d = bytearray(open(sys.argv[1], "rb").read())
m = E.MachO(bytes(d))
sym = lambda n: m.symbols().get("_" + n) or m.symbols().get(n) or m.pclntab()[n]
entry, tramp = sym("main.Sum"), sym("main.Sum.hookpatch_orig")
text = m.sect("__TEXT", "__text")
fo = lambda va: va - text[0] + text[2]
for va in range(entry, entry + 0x100, 4):
    insn = struct.unpack_from("<I", d, fo(va))[0]
    off = (insn & 0x3FFFFFF) << 2
    off -= (1 << 28) if off >> 27 else 0
    if insn >> 26 == 5 and va + off == tramp:
        struct.pack_into("<I", d, fo(va), (5 << 26) | (((entry - va) >> 2) & 0x3FFFFFF))
        open(sys.argv[2], "wb").write(d)
        sys.exit(0)
sys.exit("no B to the trampoline in main.Sum")' "$1" "$2" "$HP_SRC/tests/e2e"
}

# one_build STRIP: build, patch and check one variant ("symbols"/"stripped").
one_build()
{
    local strip=$1 v="$GO_LABEL $1" d=$W/$GO_LABEL-$1 flags=()
    [[ $strip == stripped ]] && flags=(-ldflags=-s\ -w)
    mkdir -p "$d" && cp "$FIX/go.mod" "$FIX/main.go" "$d/"
    local in=$d/in out=$d/out all=$d/all
    if ! (cd "$d" && go build -gcflags=all=-l "${flags[@]}" -o "$in" .) >"$d/build.log" 2>&1; then
        fail "$v: go build" "$(tail -5 "$d/build.log")"
        return
    fi
    # The instantiation's name as this Go spells it.
    local maxi=main.Max[go.shape.int] maxi64=main.Max[go.shape.int64]
    [[ $GO_LABEL == go1.19 ]] && maxi=main.Max[go.shape.int_0] maxi64=main.Max[go.shape.int64_0]
    if [[ $strip == symbols ]]; then
        local p
        p=$($OBJDUMP --macho -d --no-show-raw-insn "$in" | awk '/^_main\.(Sum|Deep):/ { n = 2 } n && /^1/ && n-- { $1 = ""; printf "%s;", $0 }')
        [[ $p == " ldr x16, [x28, #16]; cmp sp, x16; ldr x16, [x28, #16]; subs x17, sp, #"* ||
           $p == " ldr x16, [x28, #16]; cmp sp, x16; ldr x16, [x28, #16]; sub x17, sp, #"* ]] &&
            pass "$v: Sum and Deep start with Go's arm64 stack check" || fail "$v: fixture shape" "$p"
    elif [[ $GO_LABEL != go1.19 ]]; then
        # Go 1.19's darwin linker keeps the symbol table under -s.
        [[ -z $(llvm-nm-14 "$in" 2>/dev/null | grep '_main\.') ]] &&
            pass "$v: no main.* symbols: the pclntab is the only function table" ||
            fail "$v: stripped" "main.* symbols left"
    fi
    local in_sha
    in_sha=$(sha "$in")

    hp "$in" "$out" "$FIX/rules.toml"
    if [[ $HP_RC == 0 && $HP_ERR == *"hooked 8 functions, skipped 0"* ]]; then
        pass "$v: rules.toml: hooked 8 functions"
    else
        fail "$v: hookpatch rules.toml" "rc=$HP_RC" "$HP_ERR"
        return
    fi
    objdump_clean "$v" "$out"
    disasm_same "$v" "$in" "$out"
    layout_ok "$v" "$out"
    sig_same "$v" "$in" "$out"
    hp list "$out"
    local hooks
    hooks=$(grep -E '^hook (replace|return|passthrough) ' <<<"$HP_OUT" | awk '{ sub(/^_/, "", $3); print $2, $3 }' | sort | tr '\n' ';')
    check_eq "$v: list reads the hooks back" \
        "$(printf '%s\n' "passthrough main.Deep" "passthrough main.Twice" "replace main.Mul" "replace main.Sum" \
            "return main.(*Acc).Bump" "return $maxi64" "return $maxi" "return main.Add" | sort | tr '\n' ';')" \
        "$hooks"
    hp "$in" "$d/out2" "$FIX/rules.toml"
    check_true "$v: deterministic output" "$(cmp "$out" "$d/out2" 2>&1 | head -1)" cmp -s "$out" "$d/out2"
    check_eq "$v: IN unchanged" "$in_sha" "$(sha "$in")"

    hp "$in" "$all" "$W/all.toml"
    local hooked skipped
    read -r hooked skipped <<<"$(sed -n 's/^hookpatch: hooked \([0-9]*\) functions, skipped \([0-9]*\)$/\1 \2/p' <<<"$HP_ERR")"
    echo "# $v: target = \"*\": hooked $hooked, skipped $skipped"
    grep '^  skipped ' <<<"$HP_ERR" | sed 's/^/#  /' || true
    if [[ $HP_RC == 0 && ${hooked:-0} -gt 1000 && $((skipped * 200)) -le $((hooked + skipped)) &&
        $(grep -c '^  skipped ' <<<"$HP_ERR") == "$skipped" ]]; then
        pass "$v: target = \"*\": $hooked hooked, $skipped skipped (<= 0.5%), each with its reason"
    else
        fail "$v: target = \"*\"" "rc=$HP_RC hooked=$hooked skipped=$skipped" "$(head -5 <<<"$HP_ERR")"
    fi
    [[ $HP_ERR == *"skipped _runtime.goexit.abi0 "*"every goroutine returns into runtime.goexit+4"* ||
        $HP_ERR == *"skipped runtime.goexit "*"every goroutine returns into runtime.goexit+4"* ]] &&
        pass "$v: runtime.goexit skipped with its reason" || fail "$v: goexit" "$HP_ERR"
    objdump_clean "$v all" "$all"
    disasm_same "$v all" "$in" "$all"
    layout_ok "$v all" "$all"
    sig_same "$v all" "$in" "$all"

    # The unpatched input, the rules' output, and every function passed
    # through. Symbols name the resume target ("_main.Sum") when the binary
    # has them, else the pclntab ("main.Sum").
    local f s=""
    [[ $strip == symbols || $GO_LABEL == go1.19 ]] && s=_
    for f in in out all; do
        local x=$d/$f exp
        case $f in
        in | all) exp=(10 21 4 10 16 20 50 7 "16 morestack=1 resume=${s}main.Sum" "20 morestack=1 resume=${s}main.Deep") ;;
        out) exp=(42 4 4 10 1009 20 77 99 "1009 morestack=1 resume=${s}main.Sum.hookpatch_orig" "20 morestack=1 resume=${s}main.Deep") ;;
        esac
        emu "$v $f: Add(7, 3)" "$x" main.Add go "${exp[0]}" 7 3
        emu "$v $f: Mul(7, 3)" "$x" main.Mul go "${exp[1]}" 7 3
        emu "$v $f: Sub(7, 3)" "$x" main.Sub go "${exp[2]}" 7 3
        emu "$v $f: Twice(5)" "$x" main.Twice go "${exp[3]}" 5
        emu "$v $f: Sum(5, 2)" "$x" main.Sum go "${exp[4]}" 5 2
        emu "$v $f: Deep(3, 4)" "$x" main.Deep go "${exp[5]}" 3 4
        emu "$v $f: (*Acc).Bump(5)" "$x" 'main.(*Acc).Bump' go "${exp[6]}" @buf 5
        emu "$v $f: Max(6, 7)" "$x" "$maxi" go "${exp[7]}" 0 6 7
        emu "$v $f: Sum(5, 2), stack guard above sp" "$x" main.Sum gomore "${exp[8]}" 5 2
        emu "$v $f: Deep(3, 4), stack guard above sp" "$x" main.Deep gomore "${exp[9]}" 3 4
    done
    if trailer_to_entry "$out" "$d/broken" 2>"$d/broken.log"; then
        emu "$v: Sum's trailer put back to 'b entry': the mock runs twice" "$d/broken" main.Sum gomore \
            "2009 morestack=1 resume=${s}main.Sum" 5 2
    else
        fail "$v: Sum's trailer" "$(cat "$d/broken.log")"
    fi
    emu_flush
}

# switch_build: issue 17 on darwin/arm64. A stripped program that links
# hookpatch.dev/mock (tests/fixtures/macho/go_a64_switch), main.Sum
# switchable: the helper's markers are found in the pclntab and return the
# switch table's address (as the --json report gives it) and g (x28); Sum's
# entry reaches the dispatch stub, which runs the original while the slot is
# empty (also through morestack, resuming in the trampoline) and the func
# value's code when the emulator stores a func value of main.Mul there.
switch_build()
{
    local v="$GO_LABEL switch" d=$W/$GO_LABEL-switch
    mkdir -p "$d" && cp "$SWFIX/main.go" "$d/"
    sed "s|=> ../../../../go|=> $HP_SRC/go|" "$SWFIX/go.mod" >"$d/go.mod"
    if ! (cd "$d" && go build -gcflags=all=-l -ldflags="-s -w" -o "$d/in" .) >"$d/build.log" 2>&1; then
        fail "$v: go build" "$(tail -5 "$d/build.log")"
        return
    fi
    printf '[[hook]]\ntarget = "main.Sum"\naction = "switch"\n' >"$d/rules.toml"
    if ! "$HOOKPATCH" --json "$d/in" "$d/out" "$d/rules.toml" >"$d/report.json" 2>"$d/err"; then
        fail "$v: hookpatch" "$(cat "$d/err")"
        return
    fi
    local table slot
    read -r table slot < <("$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
h = [h for h in r["hooks"] if h.get("slot_address") is not None]
print(r["switch_table"]["address"], h[0]["slot_address"] if len(h) == 1 else "none")' "$d/report.json")
    [[ -n $table && $slot != none ]] && pass "$v: one switch hook, a table and a slot in the report" ||
        fail "$v: report" "$(head -c 600 "$d/report.json")"
    objdump_clean "$v" "$d/out"
    layout_ok "$v" "$d/out"
    sig_same "$v" "$d/in" "$d/out"
    local s=""
    [[ $GO_LABEL == go1.19 ]] && s=_ # Go 1.19's darwin linker keeps a symbol table under -s
    emu "$v: hookpatchSwitchTable() is the table" "$d/out" hookpatch.dev/mock.hookpatchSwitchTable go "$table"
    emu "$v: hookpatchCurG() is g" "$d/out" hookpatch.dev/mock.hookpatchCurG go $((0x7FFD00000000))
    emu "$v: unpatched hookpatchSwitchTable() is 0" "$d/in" hookpatch.dev/mock.hookpatchSwitchTable go 0
    emu "$v: Sum(5, 2), slot empty" "$d/out" main.Sum go 16 5 2
    emu "$v: Sum(5, 2), slot empty, stack guard above sp" "$d/out" main.Sum gomore \
        "16 morestack=1 resume=${s}main.Sum.hookpatch_orig" 5 2
    emu "$v: Sum(5, 2), slot = func value of Mul" "$d/out" main.Sum go 10 5 2 "@fv:$slot=main.Mul"
    emu_flush
}

printf '[[hook]]\ntarget = "*"\naction = "passthrough"\n' >"$W/all.toml"
for tc in "${TOOLCHAINS[@]}"; do
    go_use $tc
    echo "# $(go version)"
    par_start one_build symbols
    par_start one_build stripped
    par_start switch_build
done
par_wait
e2e_finish
