#!/usr/bin/env bash
# `hookpatch list` shows the header room (issue 16): the bytes free for the
# commands hookpatch adds, and how many it needs, so a build can check
# before patching. Mach-O: between the end of the load commands and the
# first section's content; PE: between the end of the section table and
# the first section's RVA; ELF has no such limit and prints no line.
#   - Mach-O x86-64 linked with -headerpad 0x1000 and without, and arm64
#     unsigned (it will need an LC_CODE_SIGNATURE too): the free bytes equal
#     what llvm-objdump's headers imply (first section or segment content
#     offset - 32 - sizeofcmds), computed here, not by hookpatch;
#   - the numbers are those place() checks: the unpadded input is refused
#     with the same "need N, the header padding has M" and the relink hint;
#   - the patch report (--dry-run --json) carries them as header_room;
#   - PE (mingw): the room computed from the file by a few lines of python.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/objlink_formats/macho
W=$HP_WORK
OBJDUMP=llvm-objdump-14
have() { command -v "$1" >/dev/null 2>&1; }

# room_objdump FILE: the free header bytes llvm-objdump's headers imply.
room_objdump()
{
    "$OBJDUMP" --macho --private-headers "$1" | awk '
        /^ *magic cputype/ { getline; cmds = $7 }
        $1 == "size" { size = ($2 !~ /^0x0*$/) }
        $1 == "offset" && size > 0 && $2 > 0 && (first == "" || $2 + 0 < first) { first = $2 + 0 }
        $1 == "fileoff" { fo = $2 + 0 }
        $1 == "filesize" && $2 > 0 && fo > 0 && (first == "" || fo < first) { first = fo }
        END { print first - 32 - cmds }'
}

room_line() { grep '^# header room' <<<"$HP_OUT" || true; }

if have clang && have ld64.lld-14 && have "$OBJDUMP"; then
    cd "$W"
    for a in x86_64 arm64; do
        clang -target $a-apple-macos11 -O1 -c "$FIX/main.c" -o main_$a.o
        clang -target $a-apple-macos11 -O1 -c "$FIX/lib.c" -o lib_$a.o
    done
    LD=(ld64.lld-14 -platform_version macos 11.0 11.0 -undefined dynamic_lookup)
    "${LD[@]}" -arch x86_64 -headerpad 0x1000 -o pad main_x86_64.o lib_x86_64.o
    "${LD[@]}" -arch x86_64 -o nopad main_x86_64.o lib_x86_64.o
    "${LD[@]}" -arch arm64 -no_adhoc_codesign -o a64 main_arm64.o lib_arm64.o
    printf '[[hook]]\ntarget = "add"\naction = "return"\nvalue = 1\n' >rules.toml

    want=$(room_objdump pad)
    hp list pad
    check_eq "macho -headerpad 0x1000: list shows the room objdump implies" \
        "# header room: $want bytes free for load commands; hookpatch needs 232 (544 with object mocks' data)" \
        "$(room_line)"
    check_eq "macho -headerpad 0x1000: 0x1000 bytes free" 4096 "$want"

    want=$(room_objdump nopad)
    hp list nopad
    check_eq "macho without -headerpad: list shows the room, too little" \
        "# header room: $want bytes free for load commands; hookpatch needs 232 (544 with object mocks' data): too little" \
        "$(room_line)"
    hp nopad nopad.out rules.toml
    if [[ $HP_RC == 1 && $HP_ERR == *"they need 232 bytes, the header padding has $want; relink with -Wl,-headerpad,0x1000"* && ! -e nopad.out ]]; then
        pass "macho without -headerpad: refused with the same numbers and the relink hint"
    else
        fail "macho without -headerpad: refusal" "rc=$HP_RC" "$HP_ERR"
    fi

    want=$(room_objdump a64)
    hp list a64
    check_eq "macho arm64 unsigned: list counts the LC_CODE_SIGNATURE it will add" \
        "# header room: $want bytes free for load commands; hookpatch needs 248 (560 with object mocks' data): too little" \
        "$(room_line)"

    hp --dry-run --json pad pad.out rules.toml
    printf '%s\n' "$HP_OUT" >report.json
    got=$(json_get report.json "j['header_room']" 2>&1 || true)
    check_eq "patch report --json: header_room" \
        "{'what': 'load commands', 'free': 4096, 'need_min': 232, 'need_max': 544}" "$got"
elif [[ -n ${CI:-} ]]; then
    fail "macho" "needs clang, ld64.lld-14 and $OBJDUMP"
else
    skip "macho" "needs clang, ld64.lld-14 and $OBJDUMP"
fi

# ---- PE: the section headers' room, up to the first section's RVA ----
if have x86_64-w64-mingw32-gcc; then
    cd "$W"
    printf 'int add(int a, int b) { return a + b; }\nint main(void) { return add(1, 2); }\n' >pe.c
    x86_64-w64-mingw32-gcc -O1 pe.c -o pe.exe
    want=$($PY -c 'import struct, sys
d = open(sys.argv[1], "rb").read()
pe = struct.unpack_from("<I", d, 0x3c)[0]
nsect, optsize = struct.unpack_from("<H", d, pe + 6)[0], struct.unpack_from("<H", d, pe + 20)[0]
table = pe + 24 + optsize
first = min(struct.unpack_from("<I", d, table + 40 * i + 12)[0] for i in range(nsect))
print(first - (table + 40 * nsect))' pe.exe)
    hp list pe.exe
    check_eq "pe: list shows the section header room" \
        "# header room: $want bytes free for section headers; hookpatch needs 80 (200 with object mocks' data)" \
        "$(room_line)"
elif [[ -n ${CI:-} ]]; then
    fail "pe" "needs x86_64-w64-mingw32-gcc"
else
    skip "pe" "needs x86_64-w64-mingw32-gcc"
fi

# ---- ELF: no limit, no line ----
printf 'int main(void) { return 0; }\n' >"$W/e.c"
gcc -O1 "$W/e.c" -o "$W/e"
hp list "$W/e"
check_eq "elf: no header room line (the program header table moves)" "0|" "$HP_RC|$(room_line)"

e2e_finish
