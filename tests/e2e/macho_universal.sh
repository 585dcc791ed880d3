#!/usr/bin/env bash
# Universal (fat) Mach-O files (issue 16), without a Mac: the C fixture of
# macho_emu.sh built for x86-64 and arm64 (clang + ld64.lld-14), joined with
# llvm-lipo-14 (an executable, a dylib, and the executable with a 64-bit
# universal header), patched with the fixture's rules. Then
#   - every slice is patched, and is byte for byte the thin file patched
#     alone (so everything macho_emu.sh and macho_a64.sh check of those holds
#     for it); llvm-objdump parses each slice (llvm-lipo -thin) with no
#     warning; llvm-lipo lists the same architectures; an independent reader
#     (python, below) checks the header: order, CPU types, alignment, each
#     slice at its 2^align, fat64 kept;
#   - each slice runs its hooked functions under unicorn (macho_emu.py), and
#     the arm64 slice's signature passes macho_sigcheck.py;
#   - hookpatch list reads the output back, slice by slice (text and JSON);
#   - a rule whose target only the x86-64 slice has is an error naming the
#     arm64 slice, in text and --json, worded as the thin arm64 file's;
#   - an arm64e slice and an i386 slice are copied byte for byte with a
#     warning naming them; --strict makes it an error;
#   - hookpatch exec patches a universal file (run through a --runner that
#     emulates it);
#   - the output is deterministic.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/macho
EMU=$HP_SRC/tests/e2e/macho_emu.py
SIGCHECK=$HP_SRC/tests/e2e/macho_sigcheck.py
W=$HP_WORK
OBJDUMP=llvm-objdump-14
LIPO=llvm-lipo-14
LD_X86=(ld64.lld-14 -arch x86_64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup
    -headerpad 0x1000)
LD_A64=(ld64.lld-14 -arch arm64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup
    -headerpad 0x1000)

have() { command -v "$1" >/dev/null 2>&1; }
missing=()
for t in clang ld64.lld-14 "$OBJDUMP" "$LIPO"; do
    have "$t" || missing+=("$t")
done
$PY -c 'import unicorn' 2>/dev/null || missing+=("python3-unicorn")
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ -n ${CI:-} ]]; then
        fail "universal Mach-O" "missing: ${missing[*]} (scripts/deps.sh installs them)"
    else
        skip "universal Mach-O" "missing: ${missing[*]}"
    fi
    e2e_finish || true
    exit 0
fi

# ---- the fixtures ----
cd "$W"
clang -target x86_64-apple-macos11 -O1 -c "$FIX/main.c" -o main_x.o
clang -target x86_64-apple-macos11 -O1 -c "$FIX/targets.c" -o targets_x.o
clang -target arm64-apple-macos11 -O1 -c "$FIX/main.c" -o main_a.o
clang -target arm64-apple-macos11 -O1 -c "$FIX/targets.c" -o targets_a.o
# only in the x86-64 slice
echo 'int only_x86(int a) { return a * 3; }' >only.c
clang -target x86_64-apple-macos11 -O1 -c only.c -o only_x.o
"${LD_X86[@]}" -adhoc_codesign -o exe_x main_x.o targets_x.o only_x.o
"${LD_A64[@]}" -o exe_a main_a.o targets_a.o
"${LD_X86[@]}" -adhoc_codesign -dylib -install_name @rpath/libt.dylib -o lib_x targets_x.o
"${LD_A64[@]}" -dylib -install_name @rpath/libt.dylib -o lib_a targets_a.o
$LIPO -create exe_x exe_a -output fat
$LIPO -create lib_x lib_a -output fatlib

# fat_header FILE: "magic n; cpu/sub off size align; ..." read here, not by
# hookpatch: the check of the output's universal header.
cat >fat_header.py <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
magic, n = struct.unpack_from(">II", d, 0)
wide = magic == 0xCAFEBABF
out = ["%s %d" % ("fat64" if wide else "fat", n)]
end = 8 + n * (32 if wide else 20)
for i in range(n):
    if wide:
        cpu, sub, off, size, align, _ = struct.unpack_from(">IIQQII", d, 8 + 32 * i)
    else:
        cpu, sub, off, size, align = struct.unpack_from(">IIIII", d, 8 + 20 * i)
    ok = off % (1 << align) == 0 and off >= end and off + size <= len(d)
    end = max(end, off + size)
    out.append("%x/%x align=%d %s" % (cpu, sub, align, "placed" if ok else "MISPLACED"))
print("; ".join(out), "ends" if end == len(d) else "TRAILING")
PY
# to_fat64 IN OUT: the same file with a 64-bit universal header (llvm-lipo
# 14 cannot write one); the slices stay where they are.
cat >to_fat64.py <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack_from(">I", d, 4)[0]
hdr = struct.pack(">II", 0xCAFEBABF, n)
for i in range(n):
    cpu, sub, off, size, align = struct.unpack_from(">IIIII", d, 8 + 20 * i)
    hdr += struct.pack(">IIQQII", cpu, sub, off, size, align, 0)
assert len(hdr) <= min(struct.unpack_from(">I", d, 8 + 20 * i + 8)[0] for i in range(n))
d[:len(hdr)] = hdr
open(sys.argv[2], "wb").write(d)
PY
$PY to_fat64.py fat fat64

# ---- the thin references: each architecture patched alone ----
for t in exe_x exe_a lib_x lib_a; do
    hp "$t" "$t.out" "$FIX/rules.toml"
    [[ $HP_RC == 0 ]] || fail "thin $t: hookpatch" "rc=$HP_RC" "$HP_ERR"
done

# thin_of FILE ARCH OUT: one slice, extracted by llvm-lipo.
thin_of() { $LIPO "$1" -thin "$2" -output "$3"; }

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
    mapfile -t results < <(printf '%s' "$input" | timeout 300 $PY "$EMU" batch 2>&1)
    for c in "${EMU_CASES[@]}"; do
        IFS=$'\t' read -r name f sym want args <<<"$c"
        check_eq "$name" "$want" "${results[i]:-no result}"
        i=$((i + 1))
    done
    EMU_CASES=()
}

# check_universal NAME IN X86_REF A64_REF HEADER: patch IN, check as above.
check_universal()
{
    local name=$1 in=$2 xref=$3 aref=$4 header=$5 out=$W/$1.out a got err
    hp "$in" "$out" "$FIX/rules.toml"
    check_eq "$name: every slice patched, a summary line each" "0
hookpatch: x86_64 slice: hooked 4 functions, skipped 0
hookpatch: arm64 slice: hooked 4 functions, skipped 0" "$HP_RC
$HP_ERR"
    [[ -f $out ]] || return 0
    check_eq "$name: universal header (order, alignment, each slice placed)" "$header" \
        "$($PY fat_header.py "$out" 2>&1)"
    check_eq "$name: the input's header says the same" "$header" "$($PY fat_header.py "$in" 2>&1)"
    check_eq "$name: llvm-lipo reads it" "x86_64 arm64" "$(echo $($LIPO -archs "$out" 2>&1))"
    for a in x86_64 arm64; do
        if ! thin_of "$out" $a "$out.$a"; then
            fail "$name: llvm-lipo -thin $a"
            continue
        fi
        if ! err=$("$OBJDUMP" --macho --private-headers "$out.$a" 2>&1 >"$W/hdr.txt") ||
            [[ -n $err ]] || ! grep -q 'segname __HOOKPATCH$' "$W/hdr.txt"; then
            fail "$name: $a slice: llvm-objdump headers" "$err"
        else
            pass "$name: $a slice: llvm-objdump parses it, no warnings, __HOOKPATCH present"
        fi
    done
    check_true "$name: x86_64 slice = the thin x86-64 file patched alone" "differs" \
        cmp -s "$out.x86_64" "$xref"
    check_true "$name: arm64 slice = the thin arm64 file patched alone" "differs" \
        cmp -s "$out.arm64" "$aref"
    got=$($PY "$SIGCHECK" "$out" arm64 2>&1) || true
    check_eq "$name: arm64 slice's signature verifies (independent checker)" \
        "ok ident=${aref%.out} flags=0x20002 special=0" "${got% pages=*}"
    got=$($PY "$SIGCHECK" "$out" x86_64 2>&1) || true
    check_eq "$name: x86_64 slice's signature verifies" "ok" "${got%% *}"
    hp "$in" "$out.2" "$FIX/rules.toml"
    check_true "$name: deterministic output" "second run differs" cmp -s "$out" "$out.2"
    hp list "$out"
    got=$(grep -E '^# (slice|patched|architecture)' <<<"$HP_OUT" | sed 's/ (offset .*//')
    check_eq "$name: list reads the output back, slice by slice" "0 # slice: x86_64
# patched by hookpatch:
# architecture: x86-64
# slice: arm64
# patched by hookpatch:
# architecture: arm64" "$HP_RC $got"
    hp list --json "$out" twice
    got=$($PY -c 'import json, sys
print([(s["slice"], s["patched"], [f["name"] for f in s["functions"]]) for s in json.loads(sys.stdin.read())])' <<<"$HP_OUT" 2>&1) || true
    check_eq "$name: list --json, slice by slice" \
        "[('x86_64', True, ['twice']), ('arm64', True, ['twice'])]" "$got"
}

check_universal fat fat exe_x.out exe_a.out \
    "fat 2; 1000007/80000003 align=12 placed; 100000c/0 align=14 placed ends"
check_universal fat64 fat64 exe_x.out exe_a.out \
    "fat64 2; 1000007/80000003 align=12 placed; 100000c/0 align=14 placed ends"
check_universal fatlib fatlib lib_x.out lib_a.out \
    "fat 2; 1000007/3 align=12 placed; 100000c/0 align=14 placed ends"

# Each slice of the patched universal executable runs its hooks; the
# unpatched input's slices as a reference.
for a in x86_64 arm64; do
    thin_of fat $a "fat.in.$a"
    emu "fat: $a: original add" "fat.in.$a" _add 10 7 3
    emu "fat: $a: original twice" "fat.in.$a" _twice 10 5
    emu "fat: $a: add returns 42" "fat.out.$a" _add 42 7 3
    emu "fat: $a: mul replaced by sub" "fat.out.$a" _mul 4 7 3
    emu "fat: $a: checked traps" "fat.out.$a" _checked trap 5
    emu "fat: $a: twice passes through" "fat.out.$a" _twice 10 5
    emu "fat: $a: sub untouched" "fat.out.$a" _sub 4 7 3
    emu "fat64: $a: add returns 42" "fat64.out.$a" _add 42 7 3
    emu "fatlib: $a: twice passes through" "fatlib.out.$a" _twice 10 5
done
emu_flush

# ---- a rule that cannot apply in one slice ----
cat >only.toml <<'EOF'
[[hook]]
target = "only_x86"
action = "return"
value  = 1
EOF
hp exe_a exe_a.only.out only.toml
check_eq "one slice lacks the target: the thin arm64 file's error" \
    "1 hookpatch: error: only.toml:2:10: target 'only_x86': no function named 'only_x86'" \
    "$HP_RC $HP_ERR"
hp fat fat.only.out only.toml
check_eq "one slice lacks the target: the same error, naming the arm64 slice; exit 1, no output" \
    "1 hookpatch: error: only.toml:2:10: target 'only_x86': arm64 slice: no function named 'only_x86' no" \
    "$HP_RC $HP_ERR $([[ -e fat.only.out || -n $(temp_files .) ]] && echo yes || echo no)"
hp --json fat fat.only.json.out only.toml
got=$($PY -c 'import json, sys
d = json.loads(sys.stdin.read())
print(d["ok"], sorted({(g["level"], g.get("slice")) for g in d["diagnostics"]}))' <<<"$HP_OUT" 2>&1) || true
check_eq "one slice lacks the target: --json names the slice" "False [('error', 'arm64')]" "$got"

# Each slice reports its own problems, whatever the other's: the x86-64
# slice lacks the target (resolve), the arm64 one has it but no header
# room (place, after analysis).
echo 'int only_a64(int a) { return a * 5; }' >only_a.c
clang -target arm64-apple-macos11 -O1 -c only_a.c -o only_a.o
ld64.lld-14 -arch arm64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup \
    -o exe_a_nopad main_a.o targets_a.o only_a.o
$LIPO -create exe_x exe_a_nopad -output fat_two
sed 's/only_x86/only_a64/' only.toml >only_a.toml
hp fat_two fat_two.out only_a.toml
got=$(sed -e 's/need [0-9]* bytes, the header padding has [0-9]*;.*/.../' <<<"$HP_ERR")
check_eq "both slices' problems reported, each naming its slice" \
    "1 hookpatch: error: only_a.toml:2:10: target 'only_a64': x86_64 slice: no function named 'only_a64'; did you mean 'only_x86'?
hookpatch: error: fat_two: arm64 slice: no room for hookpatch's load commands in the Mach-O header: they ..." \
    "$HP_RC $got"

# ---- slices hookpatch cannot patch: arm64e (lipo'd from a thin arm64e
# file: the arm64 one with cpusubtype CPU_SUBTYPE_ARM64E | PTRAUTH_ABI) and
# i386 (a real i386 object: ld64.lld links no i386) ----
$PY -c 'import struct, sys; d = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<I", d, 8, 0x80000002); open(sys.argv[2], "wb").write(d)' exe_a exe_e
clang -target i386-apple-macos10.13 -O1 -c "$FIX/targets.c" -o targets_i.o
$LIPO -create exe_x exe_e -output fat_e
$LIPO -create exe_x targets_i.o exe_a -output fat_i
for v in "fat_e arm64e arm64e code signs its pointers with keys hookpatch cannot use" \
    "fat_i i386 hookpatch patches x86-64 and arm64 code only"; do
    read -r f arch why <<<"$v"
    hp "$f" "$f.out" "$FIX/rules.toml"
    warn=$(grep 'warning' <<<"$HP_ERR" | sed 's/(offset [^)]*)/(offset ...)/')
    check_eq "$f: the $arch slice is named in a warning, exit 0" \
        "0 hookpatch: warning: $f: $arch slice: copied unpatched (offset ...): $why, so the hooks do not take effect where the file runs as $arch" \
        "$HP_RC $warn"
    check_true "$f: the summary says the $arch slice is copied" "$HP_ERR" \
        grep -qx "hookpatch: $arch slice: copied unpatched" <<<"$HP_ERR"
    [[ -f $f.out ]] || continue
    thin_of "$f" "$arch" "$f.in.$arch"
    thin_of "$f.out" "$arch" "$f.out.$arch"
    check_true "$f: the $arch slice copied byte for byte" "differs" cmp -s "$f.in.$arch" "$f.out.$arch"
    thin_of "$f.out" x86_64 "$f.out.x86_64"
    check_true "$f: the x86_64 slice patched as alone" "differs" cmp -s "$f.out.x86_64" exe_x.out
    hp --strict "$f" "$f.strict.out" "$FIX/rules.toml"
    check_eq "$f --strict: an error, exit 1, no output" "1 yes yes" \
        "$HP_RC $(grep -q "error: $f: $arch slice: copied unpatched" <<<"$HP_ERR" && echo yes) $([[ ! -e $f.strict.out ]] && echo yes)"
done
check_eq "fat_i: the input's three slices" \
    "fat 3; 1000007/80000003 align=12 placed; 7/3 align=12 placed; 100000c/0 align=14 placed ends" \
    "$($PY fat_header.py fat_i 2>&1)"
check_eq "fat_i: three slices, order and alignment kept" \
    "fat 3; 1000007/80000003 align=12 placed; 7/3 align=12 placed; 100000c/0 align=14 placed ends" \
    "$($PY fat_header.py fat_i.out 2>&1)"
thin_of fat_i arm64 fat_i.in.arm64
thin_of fat_i.out arm64 fat_i.out.arm64
emu "fat_i: arm64 slice: add returns 42" fat_i.out.arm64 _add 42 7 3
emu "fat_i: arm64 slice: original add (input)" fat_i.in.arm64 _add 10 7 3
emu_flush

# A universal file with nothing hookpatch can patch is refused, as a thin
# arm64e file is.
$LIPO -create exe_e targets_i.o -output fat_none
hp fat_none fat_none.out "$FIX/rules.toml"
check_eq "only arm64e and i386: refused, named, no output" \
    "1 hookpatch: error: fat_none: universal binary has no slice hookpatch can patch (it has: i386, arm64e; hookpatch patches x86_64 and arm64) no" \
    "$HP_RC $HP_ERR $([[ -e fat_none.out ]] && echo yes || echo no)"

# ---- a universal Go binary (GOOS=darwin, amd64 and arm64, lipo'd) with
# the newest Go toolchain here: each slice is the thin build patched alone;
# the x86-64 slice runs its hooks (Go's register ABI); the arm64 slice's
# linker signature is redone. (macho_emu.py runs no Go arm64 code yet.) ----
read -r glabel gpath < <(go_toolchains | head -1) || true
if [[ -z ${gpath:-} ]]; then
    if [[ -n ${CI:-} ]]; then fail "go universal" "no Go toolchain"; else skip "go universal" "no Go toolchain"; fi
else
    go_use "$glabel" "$gpath"
    mkdir -p gosrc
    cp "$FIX/go/go.mod" "$FIX/go/main.go" gosrc/
    gok=1
    for a in amd64 arm64; do
        (cd gosrc && GOOS=darwin GOARCH=$a CGO_ENABLED=0 GOFLAGS=-mod=mod GOPROXY=off \
            go build -gcflags=all=-l -o "$W/go_$a" .) >go_$a.log 2>&1 || gok=0
    done
    if [[ $gok == 0 ]]; then
        fail "$glabel: GOOS=darwin go build" "$(tail -3 go_*.log)"
    else
        $LIPO -create go_amd64 go_arm64 -output gofat
        hp go_amd64 go_amd64.out "$FIX/go/rules.toml"
        hp go_arm64 go_arm64.out "$FIX/go/rules.toml"
        hp gofat gofat.out "$FIX/go/rules.toml"
        check_eq "$glabel universal: every slice patched" "0
hookpatch: x86_64 slice: hooked 4 functions, skipped 0
hookpatch: arm64 slice: hooked 4 functions, skipped 0" "$HP_RC
$HP_ERR"
        if [[ -f gofat.out ]]; then
            thin_of gofat.out x86_64 gofat.out.x86_64
            thin_of gofat.out arm64 gofat.out.arm64
            check_true "$glabel universal: x86_64 slice = the thin build patched alone" "differs" \
                cmp -s gofat.out.x86_64 go_amd64.out
            check_true "$glabel universal: arm64 slice = the thin build patched alone" "differs" \
                cmp -s gofat.out.arm64 go_arm64.out
            err=$("$OBJDUMP" --macho --private-headers gofat.out.arm64 2>&1 >/dev/null) || err="rc $?"
            check_eq "$glabel universal: arm64 slice: llvm-objdump, no warnings" "" "$err"
            got=$($PY "$SIGCHECK" gofat.out arm64 2>&1) || true
            check_eq "$glabel universal: arm64 slice's signature verifies" "ok" "${got%% *}"
            hp gofat gofat.out2 "$FIX/go/rules.toml"
            check_true "$glabel universal: deterministic" "second run differs" cmp -s gofat.out gofat.out2
            input="gofat.out.x86_64 _main.Add go 7 3
gofat.out.x86_64 _main.Mul go 7 3
gofat.out.x86_64 _main.Checked go 5
gofat.out.x86_64 _main.Twice go 5
"
            got=$(printf '%s' "$input" | timeout 300 $PY "$EMU" batch 2>&1 | tr '\n' ' ') || true
            check_eq "$glabel universal: x86_64 slice: Add 42, Mul is Sub, Checked traps, Twice passes through" \
                "42 4 trap 10 " "$got"
        fi
    fi
fi

# ---- hookpatch exec on a universal file: the runner emulates each slice
# of the patched temporary (there is no Mac to run it) ----
cat >run_emu.sh <<EOF
#!/usr/bin/env bash
set -e
for a in x86_64 arm64; do
    $LIPO "\$1" -thin \$a -output "\$1.\$a"
    printf '%s _add c 7 3\n%s _twice c 5\n' "\$1.\$a" "\$1.\$a" | $PY "$EMU" batch | tr '\n' ' '
    rm -f "\$1.\$a"
done
EOF
chmod +x run_emu.sh
cp fat fat_exec
set +e
exec_out=$("$HOOKPATCH" exec --runner "$W/run_emu.sh" "$FIX/rules.toml" -- ./fat_exec 2>exec.err)
exec_rc=$?
set -e
check_eq "exec: the universal file patched, both slices run hooked" "0 42 10 42 10  yes" \
    "$exec_rc $exec_out $([[ -z $(temp_files .) ]] && echo yes)"

e2e_finish
