#!/usr/bin/env bash
# Hostile and misused inputs on the rewriter's and the readers' side (issue
# 13), each built here by hand and each checked for its exact outcome:
#
#  1. two globs over the same functions: the second skips every function
#     the first claimed, naming the earlier rule's path:line:col (this
#     crashed: the claim held a pointer into the plan while it grew);
#  4. `original` and `replace` cross-checks (f() is 1, g() is 2, main
#     returns f()*10+g()): an original that is the target or the
#     replacement, an original bound twice, replace cycles of two and three
#     rules, every one a rules error at path:line:col, all in one run;
#  5. targets, replacements and originals outside executable code (a FUNC
#     symbol in .data or .rodata), an object's entry in a data section, and
#     object symbols whose value lies outside their section (ELF and COFF);
#  6. section flags that lie: .text without SHF_EXECINSTR (the program still
#     runs) must still be scanned for branches into hooked entries; the same
#     for a Mach-O __text without its instruction attributes; a PE section
#     whose code flag disagrees with what the loader maps executable;
#  3. errors that used to exit 1 with no message: objects whose data add up
#     to more than 1 GiB, a COFF symbol past its section, an ELF whose
#     executable segments are 320 GiB apart (the branch scan sized a bitmap
#     from that distance).
# Every refusal leaves no OUT and no temporary, leaves IN unchanged, prints
# `hookpatch: error:` with the location and the reason, and `--json` agrees
# (ok false, the same diagnostic).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

W=$HP_WORK
have() { command -v "$1" >/dev/null 2>&1; }

# refused NAME IN RULES EXPECTED...: exit 1, every EXPECTED line on stderr
# (exactly, as a whole line), as many errors as EXPECTED lines, nothing
# written, IN unchanged, and --json says ok false with the same messages.
refused()
{
    local name=$1 in=$2 rules=$3
    shift 3
    local sha_in out=$W/refused.out
    sha_in=$(sha "$in")
    rm -f "$out"
    hp "$in" "$out" "$rules"
    local errs missing=()
    errs=$(grep -c '^hookpatch: error: ' <<<"$HP_ERR" || true)
    for e in "$@"; do
        grep -qxF -- "$e" <<<"$HP_ERR" || missing+=("$e")
    done
    if [[ $HP_RC != 1 || ${#missing[@]} -ne 0 || $errs != "$#" ]]; then
        fail "$name" "exit $HP_RC, $errs error(s), expected 1 and $#; missing:" \
            "${missing[@]}" "stderr:" "$HP_ERR"
        return
    fi
    if [[ -e $out || -n $(temp_files "$W") || $(sha "$in") != "$sha_in" ]]; then
        fail "$name" "debris left or IN changed"
        return
    fi
    hp --json "$in" "$out" "$rules"
    printf '%s' "$HP_OUT" >"$W/refused.json"
    local want got
    want=$(printf '%s\n' "$@" | sed 's/^hookpatch: error: //' | sort)
    got=$(json_get "$W/refused.json" \
        "'\n'.join(sorted(((d['file'] + ':' + str(d['line']) + ':' + str(d['column']) + ': ') if d.get('file') and d.get('line') else (d['file'] + ': ' if d.get('file') else '')) + (\"target '\" + d['target'] + \"': \" if d.get('target') else '') + d['message'] for d in j['diagnostics'] if d['level'] == 'error'))" \
        "j['ok']" 2>&1) || true
    if [[ $HP_RC != 1 || $got != "$want"$'\n'False || -e $out ]]; then
        fail "$name" "--json: exit $HP_RC; expected:" "$want" "False" "got:" "$got"
        return
    fi
    pass "$name"
}

# nm_addr FILE SYM: the symbol's value, as hookpatch prints it (0x%llx).
nm_addr() { printf '0x%x' "0x$(nm "$1" | awk -v s="$2" '$3 == s { print $1; exit }')"; }

# seg_va FILE ADDR: the VA of the PT_LOAD holding ADDR, as 0x%llx.
seg_va()
{
    local type off va pa fs ms rest
    while read -r type off va pa fs ms rest; do
        if [[ $type == LOAD ]] && (($2 >= va && $2 < va + ms)); then
            printf '0x%x' "$va"
            return
        fi
    done < <(readelf -lW "$1")
}

# ---------------------------------------------------------------- inputs
cat >"$W/m.c" <<'EOF'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
    char buf[64];
    snprintf(buf, sizeof buf, "hello %d", argc + 41);
    printf("%s %zu\n", buf, strlen(argv[0]) > 0);
    return 0;
}
EOF
gcc -O1 -static "$W/m.c" -o "$W/m"

# f() is 1, g() is 2, main returns f()*10+g(); the others are there to be
# named by rules.
cat >"$W/fg.c" <<'EOF'
#include <stdio.h>
#define FN(n, v) __attribute__((noinline)) int n(void) { return v; }
FN(f, 1) FN(g, 2) FN(h, 3) FN(k, 4) FN(p, 5) FN(q, 6) FN(r, 7) FN(s, 8)
FN(t1, 9) FN(t2, 10) FN(t3, 11) FN(o1, 12) FN(o2, 13)
int main(void)
{
    int v = f() * 10 + g();
    printf("%d\n", v);
    return v;
}
EOF
gcc -O0 -fno-inline "$W/fg.c" -o "$W/fg"

# A FUNC symbol in .data and one in .rodata (hand-written: a compiler
# never makes one); main prints datafn's first byte (0xb8 = 184).
cat >"$W/fd.c" <<'EOF'
#include <stdio.h>
extern int datafn(void), rofn(void);
__attribute__((noinline)) int f(void) { return 1; }
int main(void)
{
    printf("%d %d %d\n", f(), ((unsigned char *)datafn)[0], ((unsigned char *)rofn)[0]);
    return 0;
}
EOF
cat >"$W/fd.s" <<'EOF'
	.data
	.globl datafn
	.type datafn,@function
datafn:
	.byte 0xb8,1,0,0,0,0xc3,0x90,0x90
	.size datafn, 8
	.section .rodata
	.globl rofn
	.type rofn,@function
rofn:
	.byte 0xb8,2,0,0,0,0xc3,0x90,0x90
	.size rofn, 8
	.section .note.GNU-stack,"",@progbits
EOF
gcc -O1 "$W/fd.c" "$W/fd.s" -o "$W/fd"

# ---------------------------------------------------------------- 1. two globs
printf '[[hook]]\ntarget="*"\naction="passthrough"\n' >"$W/one.toml"
printf '[[hook]]\ntarget="*"\naction="passthrough"\n[[hook]]\ntarget="*"\naction="trap"\n' >"$W/two.toml"
run_prog "$W/m"
M_OUT=$RUN_OUT
hp "$W/m" "$W/m.one" "$W/one.toml"
read -r H K < <(sed -n 's/^hookpatch: hooked \([0-9]*\) functions, skipped \([0-9]*\)$/\1 \2/p' <<<"$HP_ERR")
hp "$W/m" "$W/m.two" "$W/two.toml"
n_claimed=$(grep -cxE "  skipped .*: already hooked by the rule at $W/two.toml:2:8" <<<"$HP_ERR" || true)
run_prog "$W/m.two"
check_eq "two globs: the second skips all the first claimed, naming two.toml:2:8" \
    "0|hookpatch: hooked $H functions, skipped $((K + H + K))|$((H + K))|0|$M_OUT" \
    "$HP_RC|$(head -1 <<<"$HP_ERR")|$n_claimed|$RUN_RC|$RUN_OUT"

# ---------------------------------------------------------------- 4. original / replace
run_prog "$W/fg"
check_eq "fg: f()*10+g() is 12 unpatched" "12|12" "$RUN_OUT|$RUN_RC"
printf '[[hook]]\ntarget = "f"\nreplace = "g"\n' >"$W/ok_rep.toml"
hp "$W/fg" "$W/fg.rep" "$W/ok_rep.toml"
run_prog "$W/fg.rep"
check_eq "fg: f -> g gives 22 (the control for the refusals below)" "0|22|22" \
    "$HP_RC|$RUN_OUT|$RUN_RC"

R=$W/orig_target.toml
printf '[[hook]]\ntarget = "f"\nreplace = "g"\noriginal = "f"\n' >"$R"
refused "original = the target itself" "$W/fg" "$R" \
    "hookpatch: error: $R:4:12: target 'f': original 'f' is the target itself: its entry is the one the hook overwrites, so the hook would be undone"

R=$W/orig_rep.toml
printf '[[hook]]\ntarget = "f"\nreplace = "g"\noriginal = "g"\n' >"$R"
refused "original = the replacement" "$W/fg" "$R" \
    "hookpatch: error: $R:4:12: target 'f': original 'g' is the replacement itself: its entry would jump to the original code, so the replacement would never run"

R=$W/orig_twice.toml
printf '[[hook]]\ntarget = "f"\nreplace = "h"\noriginal = "o1"\n[[hook]]\ntarget = "g"\naction = "passthrough"\noriginal = "o1"\n' >"$R"
refused "original bound by two rules" "$W/fg" "$R" \
    "hookpatch: error: $R:8:12: target 'g': original 'o1' is already bound by the rule at $R:4:12"

R=$W/cycle2.toml
printf '[[hook]]\ntarget = "f"\nreplace = "g"\n[[hook]]\ntarget = "g"\nreplace = "f"\n' >"$R"
refused "replace cycle f -> g -> f" "$W/fg" "$R" \
    "hookpatch: error: $R:3:11: target 'f': the replacements form a cycle, f -> g -> f (rules at $R:3:11, $R:6:11): every call would loop forever"

R=$W/cycle3.toml
printf '[[hook]]\ntarget = "g"\nreplace = "h"\n[[hook]]\ntarget = "h"\nreplace = "f"\n[[hook]]\ntarget = "f"\nreplace = "g"\n' >"$R"
refused "replace cycle through a chain of three" "$W/fg" "$R" \
    "hookpatch: error: $R:3:11: target 'g': the replacements form a cycle, g -> h -> f -> g (rules at $R:3:11, $R:6:11, $R:9:11): every call would loop forever"

R=$W/orig_hooked.toml
printf '[[hook]]\ntarget = "f"\nreplace = "h"\noriginal = "g"\n[[hook]]\ntarget = "g"\naction = "trap"\n[[hook]]\ntarget = "k"\nreplace = "p"\n[[hook]]\ntarget = "q"\naction = "passthrough"\noriginal = "p"\n' >"$R"
refused "original that another rule hooks or uses as its replacement" "$W/fg" "$R" \
    "hookpatch: error: $R:4:12: target 'f': original 'g' is itself hooked by the rule at $R:6:10" \
    "hookpatch: error: $R:14:12: target 'q': original 'p' is the replacement named by the rule at $R:10:11"

R=$W/all_refs.toml
cat >"$R" <<'EOF'
[[hook]]
target = "f"
action = "passthrough"
original = "f"

[[hook]]
target = "g"
replace = "h"
original = "h"

[[hook]]
target = "k"
replace = "p"
original = "o1"

[[hook]]
target = "q"
action = "passthrough"
original = "o1"

[[hook]]
target = "r"
replace = "s"

[[hook]]
target = "s"
replace = "r"

[[hook]]
target = "t1"
replace = "t2"

[[hook]]
target = "t2"
replace = "t3"

[[hook]]
target = "t3"
replace = "t1"
EOF
refused "every original/replace error reported in one run" "$W/fg" "$R" \
    "hookpatch: error: $R:4:12: target 'f': original 'f' is the target itself: its entry is the one the hook overwrites, so the hook would be undone" \
    "hookpatch: error: $R:9:12: target 'g': original 'h' is the replacement itself: its entry would jump to the original code, so the replacement would never run" \
    "hookpatch: error: $R:19:12: target 'q': original 'o1' is already bound by the rule at $R:14:12" \
    "hookpatch: error: $R:23:11: target 'r': the replacements form a cycle, r -> s -> r (rules at $R:23:11, $R:27:11): every call would loop forever" \
    "hookpatch: error: $R:31:11: target 't1': the replacements form a cycle, t1 -> t2 -> t3 -> t1 (rules at $R:31:11, $R:35:11, $R:39:11): every call would loop forever"

# ---------------------------------------------------------------- 5. not code
run_prog "$W/fd"
FD_OUT=$RUN_OUT
DATA=$(nm_addr "$W/fd" datafn)
RO=$(nm_addr "$W/fd" rofn)
DSEG=$(seg_va "$W/fd" "$DATA")
RSEG=$(seg_va "$W/fd" "$RO")
check_eq "fd: datafn and rofn start with b8 (mov eax)" "1 184 184" "$FD_OUT"

R=$W/data_target.toml
printf '[[hook]]\ntarget = "datafn"\naction = "trap"\n[[hook]]\ntarget = "rofn"\naction = "return"\nvalue = 3\n' >"$R"
refused "exact targets in .data and .rodata are refused" "$W/fd" "$R" \
    "hookpatch: error: $R:2:10: target 'datafn': cannot hook at $DATA: not executable code: it lies in a non-executable segment (rw-) at $DSEG" \
    "hookpatch: error: $R:5:10: target 'rofn': cannot hook at $RO: not executable code: it lies in a non-executable segment (r--) at $RSEG"

R=$W/data_refs.toml
printf '[[hook]]\ntarget = "f"\nreplace = "datafn"\n[[hook]]\ntarget = "main"\naction = "passthrough"\noriginal = "rofn"\n' >"$R"
refused "replace = and original = outside executable code are refused" "$W/fd" "$R" \
    "hookpatch: error: $R:3:11: target 'f': the replacement 'datafn' at $DATA is not executable code: it lies in a non-executable segment (rw-) at $DSEG" \
    "hookpatch: error: $R:7:12: target 'main': the original 'rofn' at $RO is not executable code: it lies in a non-executable segment (r--) at $RSEG"

hp "$W/fd" "$W/fd.all" "$W/one.toml"
run_prog "$W/fd.all"
check_eq "a glob skips FUNC symbols in data with the reason; the data is untouched" \
    "0|  skipped datafn ($DATA): not executable code: it lies in a non-executable segment (rw-) at $DSEG|  skipped rofn ($RO): not executable code: it lies in a non-executable segment (r--) at $RSEG|$FD_OUT" \
    "$HP_RC|$(grep -F "skipped datafn" <<<"$HP_ERR")|$(grep -F "skipped rofn" <<<"$HP_ERR")|$RUN_OUT"

# Objects: an entry in a data section; a symbol value outside its section.
cat >"$W/mock.c" <<'EOF'
int hook(void) { return 7; }
EOF
cat >"$W/mock_data.s" <<'EOF'
	.data
	.globl datahook
	.type datahook,@function
datahook:
	.byte 0xb8,7,0,0,0,0xc3
	.size datahook, 6
	.section .note.GNU-stack,"",@progbits
EOF
gcc -O1 -fPIC -c "$W/mock.c" -o "$W/mock.o"
gcc -c "$W/mock_data.s" -o "$W/mock_data.o"
R=$W/obj_data.toml
printf '[[hook]]\ntarget = "f"\nobject = "mock_data.o"\nsymbol = "datahook"\n' >"$R"
refused "an object's entry in .data is refused" "$W/fg" "$R" \
    "hookpatch: error: $R:4:10: target 'f': object 'mock_data.o': 'datahook' is in section '.data', which is not executable code"

# set_elf_sym OBJ OUT NAME VALUE: copy OBJ with NAME's st_value set.
set_elf_sym()
{
    "$PY" - "$@" <<'EOF'
import struct, sys
src, dst, name, value = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4], 0)
d = bytearray(open(src, 'rb').read())
shoff, = struct.unpack_from('<Q', d, 0x28)
shentsize, shnum = struct.unpack_from('<HH', d, 0x3a)
sh = [struct.unpack_from('<IIQQQQIIQQ', d, shoff + i * shentsize) for i in range(shnum)]
for s in sh:
    if s[1] == 2:  # SHT_SYMTAB
        strtab = sh[s[6]][4]
        for off in range(s[4], s[4] + s[5], 24):
            n = struct.unpack_from('<I', d, off)[0]
            if d[strtab + n:d.index(b'\0', strtab + n)] == name:
                struct.pack_into('<Q', d, off + 8, value)
open(dst, 'wb').write(d)
EOF
}
set_elf_sym "$W/mock.o" "$W/mock_far.o" hook 0x1000
TEXT_SIZE=$(printf '0x%x' "0x$(objdump -h "$W/mock.o" | awk '$2 == ".text" { print $3 }')")
R=$W/obj_far.toml
printf '[[hook]]\ntarget = "f"\nobject = "mock_far.o"\nsymbol = "hook"\n' >"$R"
refused "an ELF object symbol past its section is refused" "$W/fg" "$R" \
    "hookpatch: error: $R:3:10: object '$W/mock_far.o': symbol 'hook': value 0x1000 outside its section '.text' ($TEXT_SIZE bytes)"

# ---------------------------------------------------------------- 6. section flags
# clear_elf_flag IN OUT SECTION: SHF_EXECINSTR cleared on SECTION.
clear_elf_flag()
{
    "$PY" - "$@" <<'EOF'
import struct, sys
src, dst, name = sys.argv[1], sys.argv[2], sys.argv[3].encode()
d = bytearray(open(src, 'rb').read())
shoff, = struct.unpack_from('<Q', d, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from('<HHH', d, 0x3a)
names = struct.unpack_from('<Q', d, shoff + shstrndx * shentsize + 0x18)[0]
for i in range(shnum):
    o = shoff + i * shentsize
    n = struct.unpack_from('<I', d, o)[0]
    if d[names + n:d.index(b'\0', names + n)] == name:
        struct.pack_into('<Q', d, o + 8, struct.unpack_from('<Q', d, o + 8)[0] & ~4)
open(dst, 'wb').write(d)
EOF
    chmod +x "$2"
}
clear_elf_flag "$W/m" "$W/m.nx" .text
run_prog "$W/m.nx"
check_eq ".text without SHF_EXECINSTR still runs (the segment is executable)" \
    "0|$M_OUT|.text PROGBITS A" \
    "$RUN_RC|$RUN_OUT|$(readelf -SW "$W/m.nx" | sed -n 's/.*\] \(\.text\) *\(PROGBITS\) *[0-9a-f]* [0-9a-f]* [0-9a-f]* [0-9a-f]* *\([A-Z]*\) .*/\1 \2 \3/p')"
hp "$W/m.nx" "$W/m.nx.out" "$W/one.toml"
NX_SUMMARY=$(head -1 <<<"$HP_ERR")
NX_SKIPS=$(grep '^  skipped' <<<"$HP_ERR" || true)
hp "$W/m" "$W/m.one" "$W/one.toml"
run_prog "$W/m.nx.out"
check_eq ".text without SHF_EXECINSTR: the same functions are skipped, the output runs" \
    "$(head -1 <<<"$HP_ERR")|$(grep '^  skipped' <<<"$HP_ERR" || true)|0|$M_OUT" \
    "$NX_SUMMARY|$NX_SKIPS|$RUN_RC|$RUN_OUT"

# A branch into the first bytes of entry (from `into`), in hand-written
# assembly for each format: hooking `entry` must be refused however the
# code section's flags are set. On Mach-O, where a symbol's kind follows
# its section's attributes, entry sits in a section of its own and the
# branch in __text, whose attributes the test clears.
cat >"$W/br.c" <<'EOF'
int printf(const char *, ...); /* no libc headers for the Mach-O target */
#if defined(__APPLE__)
#define S(x) "_" #x
#define T(x) ""
#define SEC_ENTRY ".section __TEXT,__hptext,regular,pure_instructions\n"
#elif defined(_WIN32)
#define S(x) #x
#define T(x) ".def " #x "; .scl 2; .type 32; .endef\n"
#define SEC_ENTRY ".text\n"
#else
#define S(x) #x
#define T(x) ".type " #x ",@function\n"
#define SEC_ENTRY ".text\n"
#endif
__asm__(SEC_ENTRY ".globl " S(entry) "\n" T(entry) S(entry) ":\n nop\n mov $1, %eax\n ret\n"
        ".text\n.globl " S(into) "\n" T(into) S(into) ":\n mov $2, %eax\n jmp " S(entry) "+1\n");
int entry(void), into(void);
int main(void)
{
    printf("%d %d\n", entry(), into());
    return 0;
}
EOF
gcc -O1 "$W/br.c" -o "$W/br"
clear_elf_flag "$W/br" "$W/br.nx" .text
printf '[[hook]]\ntarget = "entry"\naction = "passthrough"\n' >"$W/entry.toml"
R=$W/entry.toml
E=$(nm_addr "$W/br" entry)
# seen NAME IN RULES TARGET ADDR: the branch into TARGET's first bytes was
# seen, so the entry is left alone and TARGET is hooked at its call sites
# (not patched at the entry, as it would be if the scan missed the branch).
seen()
{
    hp --dry-run "$2" "$W/seen.out" "$3"
    if [[ $HP_RC == 0 && $HP_OUT == *"hook $4 $5 passthrough"*"patch $5 (0 bytes); call sites ("* &&
        ! -e $W/seen.out ]]; then
        pass "$1"
    else
        fail "$1" "exit $HP_RC" "$HP_OUT" "$HP_ERR"
    fi
}
seen "ELF: a branch into the entry is seen with .text's SHF_EXECINSTR cleared" "$W/br.nx" "$R" \
    entry "$E"

LLD=ld64.lld-14
if have clang && have "$LLD"; then
    clang -target x86_64-apple-macos11 -O1 -c "$W/br.c" -o "$W/br_macho.o"
    "$LLD" -arch x86_64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup \
        -headerpad 0x1000 -o "$W/br_macho" "$W/br_macho.o"
    # clear_macho_attrs IN OUT: __text loses S_ATTR_PURE/SOME_INSTRUCTIONS.
    "$PY" - "$W/br_macho" "$W/br_macho.nx" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
ncmds = struct.unpack_from('<I', d, 16)[0]
o = 32
for _ in range(ncmds):
    cmd, size = struct.unpack_from('<II', d, o)
    if cmd == 0x19:
        for k in range(struct.unpack_from('<I', d, o + 64)[0]):
            s = o + 72 + 80 * k
            if d[s:s + 16].rstrip(b'\0') == b'__text':
                f = struct.unpack_from('<I', d, s + 64)[0]
                struct.pack_into('<I', d, s + 64, f & ~0x80000400)
    o += size
open(sys.argv[2], 'wb').write(d)
EOF
    EM=$(printf '0x%x' "0x$(llvm-nm-14 "$W/br_macho" | awk '$3 == "_entry" { print $1 }')")
    seen "Mach-O: a branch into the entry is seen with __text's instruction attributes cleared" \
        "$W/br_macho.nx" "$R" _entry "$EM"
else
    skip "Mach-O section attributes" "needs clang and $LLD"
fi

MINGW=x86_64-w64-mingw32-gcc
if have "$MINGW"; then
    "$MINGW" -O1 "$W/br.c" -o "$W/br.exe"
    # set_pe_chars IN OUT SECTION CLEAR: the section's characteristics
    # without the CLEAR bits.
    set_pe_chars()
    {
        "$PY" - "$@" <<'EOF'
import struct, sys
src, dst, name, clear = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4], 0)
d = bytearray(open(src, 'rb').read())
pe = struct.unpack_from('<I', d, 0x3c)[0]
nsec, = struct.unpack_from('<H', d, pe + 6)
opt, = struct.unpack_from('<H', d, pe + 20)
for i in range(nsec):
    s = pe + 24 + opt + 40 * i
    if d[s:s + 8].rstrip(b'\0') == name:
        c = struct.unpack_from('<I', d, s + 36)[0]
        struct.pack_into('<I', d, s + 36, c & ~clear)
open(dst, 'wb').write(d)
EOF
    }
    PE_E=$(printf '0x%x' "0x$(x86_64-w64-mingw32-nm "$W/br.exe" | awk '$3 == "entry" { print $1 }')")
    set_pe_chars "$W/br.exe" "$W/br_nocode.exe" .text 0x20
    seen "PE: .text without CNT_CODE is still executable, and scanned" "$W/br_nocode.exe" "$R" \
        entry "$PE_E"
    set_pe_chars "$W/br.exe" "$W/br_noexec.exe" .text 0x20000000
    PE_T=$(printf '0x%x' "$(( $(x86_64-w64-mingw32-objdump -h "$W/br.exe" | awk '$2 == ".text" { print "0x" $4 }') ))")
    printf '[[hook]]\ntarget = "main"\naction = "trap"\n' >"$W/main.toml"
    R=$W/main.toml
    PE_M=$(printf '0x%x' "0x$(x86_64-w64-mingw32-nm "$W/br.exe" | awk '$3 == "main" { print $1 }')")
    refused "PE: CNT_CODE without MEM_EXECUTE is not executable code" "$W/br_noexec.exe" "$R" \
        "hookpatch: error: $R:2:10: target 'main': cannot hook at $PE_M: not executable code: it lies in a non-executable segment (r--) at $PE_T"
else
    skip "PE section characteristics" "needs $MINGW"
fi

# ---------------------------------------------------------------- 3. silent errors
# (a) two 600 MiB bss arrays in their own sections: each fits, the sum not.
cat >"$W/big.c" <<'EOF'
static char a[600u << 20], b[600u << 20];
char *pa = a, *pb = b;
int hook(void) { return pa[1] + pb[1]; }
EOF
gcc -O1 -fPIC -fdata-sections -c "$W/big.c" -o "$W/big.o"
R=$W/big.toml
printf '[[hook]]\ntarget = "f"\nobject = "big.o"\nsymbol = "hook"\n' >"$R"
refused "objects whose data add up to more than 1 GiB" "$W/fg" "$R" \
    "hookpatch: error: $R:3:10: object '$W/big.o': section '.bss.a' does not fit: the objects' writable data, bss and GOT add up to more than 1 GiB, the most hookpatch places in one region"

# (b) a COFF mock whose symbol value lies past its section.
if have "$MINGW"; then
    "$MINGW" -O1 "$W/fg.c" -o "$W/fg.exe"
    "$MINGW" -O1 -c "$W/mock.c" -o "$W/mock_coff.o"
    "$PY" - "$W/mock_coff.o" "$W/mock_coff_far.o" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
symoff, nsym = struct.unpack_from('<II', d, 8)
for i in range(nsym):
    o = symoff + 18 * i
    if d[o:o + 8].rstrip(b'\0') == b'hook':
        struct.pack_into('<I', d, o + 8, 0xfffffff0)
open(sys.argv[2], 'wb').write(d)
EOF
    CT=$(printf '0x%x' "0x$(x86_64-w64-mingw32-objdump -h "$W/mock_coff.o" | awk '$2 == ".text" { print $3 }')")
    R=$W/coff_far.toml
    printf '[[hook]]\ntarget = "f"\nobject = "mock_coff_far.o"\nsymbol = "hook"\n' >"$R"
    refused "a COFF object symbol past its section" "$W/fg.exe" "$R" \
        "hookpatch: error: $R:3:10: object '$W/mock_coff_far.o': symbol 'hook': value 0xfffffff0 outside its section '.text' ($CT bytes)"
else
    skip "COFF symbol past its section" "needs $MINGW"
fi

# (c) executable segments 320 GiB apart.
cat >"$W/far.c" <<'EOF'
#include <stdio.h>
__attribute__((noinline, section("farcode"))) int farf(int x) { return x * 3 + 1; }
__attribute__((noinline)) int f(void) { return 1; }
int (*volatile fp)(int) = farf;
int main(void) { printf("%d\n", f() * 10 + fp(1)); return 0; }
EOF
gcc -O1 -no-pie -static -fno-asynchronous-unwind-tables "$W/far.c" -o "$W/far" \
    -Wl,--section-start=farcode=0x5000000000
run_prog "$W/far"
check_eq "far: runs, with a PT_LOAD R E at 0x5000000000" "14|yes" \
    "$RUN_OUT|$(readelf -lW "$W/far" | grep -q 'LOAD.*0x0000005000000000.*R E' && echo yes)"
R=$W/far.toml
printf '[[hook]]\ntarget = "f"\naction = "return"\nvalue = 5\n[[hook]]\ntarget = "farf"\naction = "trap"\n' >"$R"
refused "two targets in executable segments 320 GiB apart" "$W/far" "$R" \
    "hookpatch: error: $W/far: the image would exceed 2 GiB, beyond the reach of rel32 jumps"
hp list "$W/far" farf
check_eq "list: the far function, hookable, no 40 GiB bitmap" \
    "0|# architecture: x86-64
0x0000005000000000        5 yes          farf|" "$HP_RC|$HP_OUT|$HP_ERR"

e2e_finish
