#!/usr/bin/env bash
# Acceptance for the PE32+ backend: build Windows programs, patch them, run
# them under wine and compare their output.
#
#  - mingw-w64 C programs at -O0, -O2 and -O2 -static (hooked functions in
#    their own translation unit, tests/fixtures/pe/c): return, trap,
#    replace, passthrough and `original =` trampolines; the checksum; a
#    second run refused; --dry-run; determinism; IN == OUT;
#  - a program whose section table fills SizeOfHeaders (section data moves);
#  - an Authenticode-signed program (osslsigncode): the signature is removed;
#  - a DLL hooked under an unpatched EXE: with COFF symbols, stripped
#    (exports only), and rebased by the loader (its base collides);
#  - Go programs (GOOS=windows), with symbols and stripped (-s -w), with
#    every Go toolchain go_toolchains lists (Go 1.19 and the current
#    release). Each output is checked structurally (checksum, objdump -x,
#    the record `hookpatch list` reads back, the jump objdump decodes at
#    each patched entry) and then run under wine. Go 1.22+ needs
#    bcryptprimitives.dll, which wine 8 lacks: the prefix gets a stand-in
#    (tests/fixtures/pe/shim) when it has none; if a Go program still
#    cannot start under wine, its run checks are skipped with the reason;
#  - `hookpatch list`, and malformed PEs refused with no output left.
# Wine prints \r\n: outputs are compared with \r removed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/pe
CC=x86_64-w64-mingw32-gcc
WINE_OK=no

# ---- helpers ---------------------------------------------------------

# wine_init: the shared prefix (lib.sh wine_prefix; no Mono/Gecko prompts,
# no winedbg on a crash, the trap case, which is slow and made the exit
# status flaky).
wine_init()
{
    if wine_prefix; then
        WINE_OK=yes
        pass "wine prefix initialized"
    elif [[ ! -x $WINE ]]; then
        skip "wine" "$WINE_WHY"
    else
        fail "wine prefix initialized" "$WINE_WHY"
    fi
}

# run_wine PROG ARGS...: RUN_RC, RUN_OUT (\r stripped), RUN_ERR.
run_wine()
{
    local o e
    o=$(mktemp "$HP_WORK/.wine-out.XXXXXX")
    e=$(mktemp "$HP_WORK/.wine-err.XXXXXX")
    RUN_RC=0
    (cd "$(dirname "$1")" && timeout 60 "$WINE" "$@") >"$o" 2>"$e" </dev/null || RUN_RC=$?
    RUN_OUT=$(tr -d '\r' <"$o")
    RUN_ERR=$(tr -d '\r' <"$e")
    rm -f "$o" "$e"
}

# pe_info FILE: "nsects soh checksum_ok secdir" computed independently.
pe_info()
{
    python3 - "$1" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
pe = struct.unpack_from('<I', d, 0x3c)[0]
opt = pe + 24
nsec = struct.unpack_from('<H', d, pe + 6)[0]
soh, stored = struct.unpack_from('<II', d, opt + 60)
sec = struct.unpack_from('<II', d, opt + 112 + 4 * 8)
n = len(d)
struct.pack_into('<I', d, opt + 64, 0)
if n % 2:
    d += b'\0'
s = 0
for (w,) in struct.iter_unpack('<H', d):
    s += w
    s = (s & 0xffff) + (s >> 16)
s = ((s & 0xffff) + (s >> 16)) + n
print(nsec, hex(soh), 'ok' if s == stored else 'bad(%x!=%x)' % (stored, s), sec[1])
EOF
}

checksum_ok() { [[ $(pe_info "$1" | cut -d' ' -f3) == ok ]]; }

# objdump_clean FILE: objdump -x reads the whole file without a complaint.
objdump_clean()
{
    local err
    err=$(x86_64-w64-mingw32-objdump -x "$1" 2>&1 >/dev/null) || return 1
    [[ -z $err ]] || { printf '%s\n' "$err" | head -5; return 1; }
}

# ---- C programs ------------------------------------------------------

EXPECT_C_ORIG="answer=42
big=3,4,5
double=3.14159
counter=15
indirect=1201
scale=75
twice=36"
EXPECT_C_HOOKED="answer=-7
big=300,7,8
double=2.71828
counter=5010
indirect=1234
scale=75
twice=1036"

build_c() # DIR CFLAGS LDFLAGS [EXTRA_SRC]
{
    local dir=$1 cflags=$2 ldflags=$3 extra=${4:-}
    mkdir -p "$dir"
    $CC $cflags -I"$FIX/c" -c "$FIX/c/targets.c" -o "$dir/targets.o" &&
        $CC $cflags -I"$FIX/c" -c "$FIX/c/main.c" -o "$dir/main.o" &&
        $CC $ldflags "$dir/main.o" "$dir/targets.o" $extra -o "$dir/in.exe"
}

# patch_and_run NAME DIR IN: patch with the C rules, run, check output/trap.
patch_and_run()
{
    local v=$1 dir=$2 in=$3 out=$2/out.exe
    hp "$in" "$out" "$FIX/c/hooks.toml"
    if [[ $HP_RC -eq 0 && $HP_ERR == *"hooked 8 functions, skipped 0"* && -f $out ]]; then
        pass "$v: patch"
    else
        fail "$v: patch" "rc $HP_RC" "$HP_ERR"
        return 1
    fi
    if checksum_ok "$out"; then pass "$v: checksum"; else fail "$v: checksum" "$(pe_info "$out")"; fi
    local oerr
    if oerr=$(objdump_clean "$out"); then pass "$v: objdump -x is clean"; else fail "$v: objdump -x is clean" "$oerr"; fi
    [[ $WINE_OK == yes ]] || return 0
    run_wine "$out"
    check_eq "$v: hooked output (return, replace, passthrough, original)" "$EXPECT_C_HOOKED (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    run_wine "$out" trap
    if [[ $RUN_RC -eq 29 && $RUN_ERR == *"illegal instruction"* ]]; then
        pass "$v: trap hook raises STATUS_ILLEGAL_INSTRUCTION"
    else
        fail "$v: trap hook raises STATUS_ILLEGAL_INSTRUCTION" "rc $RUN_RC, want 29 (0xC000001D & 0xff)" "$(printf '%s\n' "$RUN_ERR" | head -3)"
    fi
}

test_c_variant() # NAME CFLAGS LDFLAGS
{
    local v=$1 dir=$HP_WORK/$1
    if ! build_c "$dir" "$2" "$3" >"$HP_WORK/$v.buildlog" 2>&1; then
        fail "$v: build" "$(tail -5 "$HP_WORK/$v.buildlog")"
        return
    fi
    if [[ $WINE_OK == yes ]]; then
        run_wine "$dir/in.exe"
        check_eq "$v: original output" "$EXPECT_C_ORIG (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    fi
    local in_sha
    in_sha=$(sha "$dir/in.exe")
    patch_and_run "$v" "$dir" "$dir/in.exe" || return 0
    check_eq "$v: input unchanged" "$in_sha" "$(sha "$dir/in.exe")"
    hp "$dir/in.exe" "$dir/out2.exe" "$FIX/c/hooks.toml"
    if [[ $HP_RC -eq 0 ]] && cmp -s "$dir/out.exe" "$dir/out2.exe"; then
        pass "$v: deterministic output"
    else
        fail "$v: deterministic output" "rc $HP_RC; $(cmp "$dir/out.exe" "$dir/out2.exe" 2>&1 | head -1)"
    fi
    cp "$dir/in.exe" "$dir/inplace.exe"
    hp "$dir/inplace.exe" "$dir/inplace.exe" "$FIX/c/hooks.toml"
    if [[ $HP_RC -eq 0 ]] && cmp -s "$dir/out.exe" "$dir/inplace.exe" && [[ -z $(temp_files "$dir") ]]; then
        pass "$v: in-place patch equals fresh output"
    else
        fail "$v: in-place patch equals fresh output" "rc $HP_RC" "$HP_ERR"
    fi
    hp "$dir/out.exe" "$dir/twice.exe" "$FIX/c/hooks.toml"
    if [[ $HP_RC -eq 1 && $HP_ERR == *"already patched"* && ! -e $dir/twice.exe ]]; then
        pass "$v: a patched output is refused"
    else
        fail "$v: a patched output is refused" "rc $HP_RC" "$HP_ERR"
    fi
}

# The section table fills SizeOfHeaders: pad sections take the free slots.
test_full_headers()
{
    local v=c-full-headers dir=$HP_WORK/c-full-headers
    mkdir -p "$dir"
    build_c "$dir" -O2 "" >"$HP_WORK/$v.buildlog" 2>&1 || { fail "$v: build" "$(tail -5 "$HP_WORK/$v.buildlog")"; return; }
    local free
    free=$(python3 - "$dir/in.exe" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', d, 0x3c)[0]
n, opt = struct.unpack_from('<H', d, pe + 6)[0], struct.unpack_from('<H', d, pe + 20)[0]
soh = struct.unpack_from('<I', d, pe + 24 + 60)[0]
print((soh - (pe + 24 + opt + 40 * n)) // 40)
EOF
)
    for i in $(seq 1 "$free"); do
        echo "__attribute__((section(\".hp$i\"), used)) const int hp_pad$i = $i;"
    done >"$dir/pad.c"
    $CC -O2 -c "$dir/pad.c" -o "$dir/pad.o"
    build_c "$dir" -O2 "" "$dir/pad.o" >>"$HP_WORK/$v.buildlog" 2>&1 || { fail "$v: build" "$(tail -5 "$HP_WORK/$v.buildlog")"; return; }
    local before after
    before=$(pe_info "$dir/in.exe")
    patch_and_run "$v" "$dir" "$dir/in.exe" || return 0
    after=$(pe_info "$dir/out.exe")
    if [[ ${before#* } == 0x600* && ${after#* } == 0x800* ]]; then
        pass "$v: SizeOfHeaders grew, section data moved"
    else
        fail "$v: SizeOfHeaders grew, section data moved" "before: $before" "after: $after"
    fi
}

test_signed()
{
    local v=c-signed dir=$HP_WORK/c-signed
    if ! command -v osslsigncode >/dev/null || ! command -v openssl >/dev/null; then
        skip "$v" "osslsigncode or openssl not installed"
        return
    fi
    mkdir -p "$dir"
    if ! { build_c "$dir" -O2 "" &&
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/k.pem" -out "$dir/c.pem" \
            -subj /CN=hookpatch-test -days 2 &&
        osslsigncode sign -certs "$dir/c.pem" -key "$dir/k.pem" -in "$dir/in.exe" -out "$dir/signed.exe"; } \
        >"$HP_WORK/$v.buildlog" 2>&1; then
        fail "$v: build and sign" "$(tail -5 "$HP_WORK/$v.buildlog")"
        return
    fi
    patch_and_run "$v" "$dir" "$dir/signed.exe" || return 0
    local sec left
    sec=$(pe_info "$dir/out.exe" | cut -d' ' -f4)
    # Is the certificate blob of signed.exe still anywhere in the output?
    left=$(python3 - "$dir/signed.exe" "$dir/out.exe" <<'EOF'
import struct, sys
s = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', s, 0x3c)[0]
off, size = struct.unpack_from('<II', s, pe + 24 + 112 + 4 * 8)
print('yes' if size and s[off:off + size] in open(sys.argv[2], 'rb').read() else 'no')
EOF
)
    if [[ $HP_ERR == *"warning: "*"Authenticode"* && $sec == 0 && $left == no ]]; then
        pass "$v: signature removed with a warning"
    else
        fail "$v: signature removed with a warning" "security dir size $sec, certificate left: $left" "$HP_ERR"
    fi
}

# ---- DLL -------------------------------------------------------------

test_dll() # NAME DLL_LDFLAGS
{
    local v=$1 dir=$HP_WORK/$1
    mkdir -p "$dir/orig" "$dir/patched"
    if ! { $CC -O2 -shared $2 "$FIX/dll/hooklib.c" -o "$dir/orig/hooklib.dll" \
        -Wl,--out-implib,"$dir/libhooklib.a" &&
        $CC -O2 "$FIX/dll/app.c" -L"$dir" -lhooklib -o "$dir/orig/app.exe"; } >"$HP_WORK/$v.buildlog" 2>&1; then
        fail "$v: build" "$(tail -5 "$HP_WORK/$v.buildlog")"
        return
    fi
    cp "$dir/orig/app.exe" "$dir/patched/app.exe"
    hp "$dir/orig/hooklib.dll" "$dir/patched/hooklib.dll" "$FIX/dll/hooks.toml"
    if [[ $HP_RC -eq 0 && $HP_ERR == *"hooked 3 functions, skipped 0"* ]]; then
        pass "$v: patch the DLL"
    else
        fail "$v: patch the DLL" "rc $HP_RC" "$HP_ERR"
        return
    fi
    checksum_ok "$dir/patched/hooklib.dll" && pass "$v: checksum" || fail "$v: checksum" "$(pe_info "$dir/patched/hooklib.dll")"
    [[ $WINE_OK == yes ]] || return 0
    run_wine "$dir/orig/app.exe"
    check_eq "$v: original output" "add=5
scale=30
sub=4 (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    run_wine "$dir/patched/app.exe"
    check_eq "$v: unpatched EXE calls the hooked DLL" "add=77
scale=4003
sub=4 (rc 0)" "$RUN_OUT (rc $RUN_RC)"
}

# ---- Go --------------------------------------------------------------

# entry_jmp FILE VA: the jump objdump decodes at VA ("jmp 0x..." target).
entry_jmp()
{
    x86_64-w64-mingw32-objdump -d --no-show-raw-insn --start-address="$2" \
        --stop-address=$(($2 + 5)) "$1" |
        awk -v a="${2#0x}:" '$1 == a && $2 == "jmp" { sub(/^0x/, "", $3); print "0x" $3 }'
}

# go_structure NAME IN OUT: what can be checked without running OUT: the
# checksum, objdump -x, the record `hookpatch list` reads back, and at each
# patched entry a jmp that objdump decodes to the replacement's address
# (both addresses as hookpatch list reads them from the input).
go_structure()
{
    local v=$1 in=$2 out=$3 oerr t r tva rva got bad=""
    checksum_ok "$out" && pass "$v: checksum" || fail "$v: checksum" "$(pe_info "$out")"
    if oerr=$(objdump_clean "$out"); then pass "$v: objdump -x is clean"; else fail "$v: objdump -x is clean" "$oerr"; fi
    hp list "$out"
    local rec=$HP_OUT
    for t in main.Add:main.AddMock time.Now:main.FixedNow; do
        r=${t#*:} t=${t%:*}
        hp list "$in" "$t"
        tva=$(awk -v n="$t" '$4 == n { print $1 }' <<<"$HP_OUT")
        hp list "$in" "$r"
        rva=$(awk -v n="$r" '$4 == n { print $1 }' <<<"$HP_OUT")
        tva=$(printf '0x%x' "${tva:-0}") rva=$(printf '0x%x' "${rva:-0}")
        [[ $rec == *"hook replace $t $tva $tva "*" -> $rva"* ]] || bad+="no record 'hook replace $t $tva ... -> $rva'; "
        got=$(entry_jmp "$out" "$tva")
        [[ $got =~ ^0x[0-9a-f]+$ && $((got)) -eq $((rva)) ]] ||
            bad+="$t at $tva: objdump decodes 'jmp $got', want jmp $rva; "
    done
    if [[ -z $bad ]]; then
        pass "$v: list reads the record back, each entry is a jmp to its replacement"
    else
        fail "$v: patched entries" "$bad" "$rec"
    fi
}

test_go() # NAME LDFLAGS (with the current Go toolchain, go_use)
{
    local v="$GO_LABEL $1" dir=$HP_WORK/$GO_LABEL-$1
    mkdir -p "$dir"
    if ! (cd "$FIX/go" && env GOOS=windows GOARCH=amd64 GOFLAGS=-mod=mod GOPROXY=off \
        go build -gcflags=all=-l -ldflags="$2" -o "$dir/in.exe" .) \
        >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    hp list "$dir/in.exe" 'main.Add*'
    if [[ $HP_RC -eq 0 && $HP_OUT == *" yes "*"main.Add"* && $HP_OUT == *"main.AddMock"* ]]; then
        pass "$v: list finds main.Add"
    else
        fail "$v: list finds main.Add" "rc $HP_RC" "$HP_OUT" "$HP_ERR"
    fi
    local run=$WINE_OK
    if [[ $run == yes ]]; then
        run_wine "$dir/in.exe"
        if [[ $RUN_RC -eq 0 && $RUN_OUT == "add 5"$'\n'"year true "* ]]; then
            pass "$v: original output"
        elif [[ $RUN_ERR == *"bcryptprimitives.dll not found"* ]]; then
            skip "$v: runs under wine" "the unpatched program cannot start: this wine has no bcryptprimitives.dll (Go 1.22+ needs ProcessPrng)"
            run=no
        else
            fail "$v: original output" "rc $RUN_RC" "$RUN_OUT" "$(head -5 <<<"$RUN_ERR")"
        fi
    fi
    hp "$dir/in.exe" "$dir/out.exe" "$FIX/go/hooks.toml"
    if [[ $HP_RC -eq 0 && $HP_ERR == *"hooked 2 functions, skipped 0"* ]]; then
        pass "$v: patch main.Add and time.Now"
    else
        fail "$v: patch main.Add and time.Now" "rc $HP_RC" "$HP_ERR"
        return
    fi
    go_structure "$v" "$dir/in.exe" "$dir/out.exe"
    [[ $run == yes ]] || return 0
    run_wine "$dir/out.exe"
    check_eq "$v: hooked output" "add 203
year false 2001-02-03 (rc 0)" "$RUN_OUT (rc $RUN_RC)"
}

test_go_all()
{
    local tc
    local -a tcs
    mapfile -t tcs < <(go_toolchains)
    if [[ ${#tcs[@]} -eq 0 ]]; then
        skip "go" "no Go toolchain installed"
        return
    fi
    for tc in "${tcs[@]}"; do
        go_use $tc
        test_go go ""
        test_go go-stripped "-s -w"
    done
}

# ---- list and malformed input -----------------------------------------

test_list()
{
    local in=$HP_WORK/c-O2/in.exe
    [[ -f $in ]] || { fail "list" "c-O2 was not built"; return; }
    hp list "$in" 'get_*'
    if [[ $HP_RC -eq 0 && $HP_OUT == *" yes "*"get_answer"* && $HP_OUT == *"get_pi"* ]]; then
        pass "list on a PE"
    else
        fail "list on a PE" "rc $HP_RC" "$HP_OUT" "$HP_ERR"
    fi
    hp list --json "$in" 'add_counter*'
    if [[ $HP_RC -eq 0 ]] && printf '%s' "$HP_OUT" | python3 -c \
        'import json,sys; j=json.load(sys.stdin); assert sorted(x["name"] for x in j)==["add_counter","add_counter_mock"]' 2>/dev/null; then
        pass "list --json on a PE"
    else
        fail "list --json on a PE" "rc $HP_RC" "$HP_OUT"
    fi
    hp --dry-run "$in" "$HP_WORK/dry.exe" "$FIX/c/hooks.toml"
    if [[ $HP_RC -eq 0 && ! -e $HP_WORK/dry.exe && $HP_OUT == *"hook get_answer"* ]]; then
        pass "--dry-run on a PE writes nothing"
    else
        fail "--dry-run on a PE writes nothing" "rc $HP_RC" "$HP_OUT"
    fi
}

# mutate IN OUT KIND: write a malformed copy of IN.
mutate()
{
    python3 - "$@" <<'EOF'
import struct, sys
src, dst, kind = sys.argv[1:4]
d = bytearray(open(src, 'rb').read())
pe = struct.unpack_from('<I', d, 0x3c)[0]
opt = pe + 24
tab = opt + struct.unpack_from('<H', d, pe + 20)[0]
if kind == 'truncated-headers':
    d = d[:pe + 60]
elif kind == 'section-table-oob':
    struct.pack_into('<H', d, pe + 6, 0xffff)
elif kind == 'overlapping-sections':
    struct.pack_into('<I', d, tab + 40 + 12, struct.unpack_from('<I', d, tab + 12)[0] + 0x10)
elif kind == 'rawdata-beyond-eof':
    struct.pack_into('<I', d, tab + 16, len(d))
elif kind == 'no-pe-signature':
    d[pe:pe + 4] = b'XX\0\0'
elif kind == 'i386':
    struct.pack_into('<H', d, pe + 4, 0x14c)
elif kind == 'pe32':
    struct.pack_into('<H', d, opt, 0x10b)
elif kind == 'export-dir-oob':
    struct.pack_into('<II', d, opt + 112, 0x7ff00000, 0x1000)
open(dst, 'wb').write(d)
EOF
}

test_malformed()
{
    local in=$HP_WORK/c-O2/in.exe dir=$HP_WORK/malformed kind
    [[ -f $in ]] || { fail "malformed" "c-O2 was not built"; return; }
    mkdir -p "$dir"
    for kind in truncated-headers section-table-oob overlapping-sections rawdata-beyond-eof \
        no-pe-signature i386 pe32 export-dir-oob; do
        mutate "$in" "$dir/$kind.exe" "$kind"
        hp "$dir/$kind.exe" "$dir/$kind-out.exe" "$FIX/c/hooks.toml"
        local rc1=$HP_RC err1=$HP_ERR
        hp list "$dir/$kind.exe"
        if [[ $rc1 -eq 1 && $err1 == "hookpatch: error: "* && ! -e $dir/$kind-out.exe &&
            -z $(temp_files "$dir") && $HP_RC -eq 1 && $HP_ERR == "hookpatch: error: "* ]]; then
            pass "malformed $kind: refused ($(printf '%s' "$err1" | head -1 | cut -c1-90))"
        else
            fail "malformed $kind: refused" "patch rc $rc1, list rc $HP_RC" "$err1"
        fi
    done
}

# ---- run -------------------------------------------------------------

if ! command -v $CC >/dev/null; then
    skip "mingw-w64" "$CC not installed"
    e2e_finish
    exit $?
fi
wine_init
test_c_variant c-O0 -O0 ""
test_c_variant c-O2 -O2 ""
test_c_variant c-O2-static -O2 -static
test_full_headers
test_signed
test_dll dll ""
test_dll dll-stripped "-s"
# Same preferred base as app.exe: the loader must rebase the patched DLL.
test_dll dll-rebased "-Wl,--image-base,0x140000000"
test_go_all
test_list
test_malformed
e2e_finish
