#!/usr/bin/env bash
# Hostile text and "may not take effect" warnings:
#   - a rules file nested ~32k levels deep (toml++ builds the tree, then
#     overflows the stack destroying it) is refused with its location under
#     a 1 MiB stack; files at the depth limit parse under that stack (run
#     from the ASan build too, this is the stack-safety proof);
#   - symbol names holding ESC sequences, invalid UTF-8, C1 controls, a
#     newline and a bidi override: the patched program still works, JSON
#     stays valid UTF-8 JSON with the names in it, text output shows the
#     bytes escaped and never sends a control character to the terminal;
#   - --strict (and its alias --strict-inlining) turns "inlined" into an
#     error, for patching and for exec;
#   - a universal Mach-O: every slice is patched; a slice of an
#     architecture hookpatch cannot patch (arm64e, i386) is named in a
#     warning, the summary and --json; --strict refuses it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init
W=$HP_WORK
cd "$W"

# text_safe FILE [json]: valid UTF-8, no control character but newline (and
# tab, cJSON's indentation, in JSON), no DEL, no C1 control, no bidi
# override or separator.
cat >text_safe.py <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
layout = "\n\t" if sys.argv[2:] == ["json"] else "\n"
try:
    text = data.decode("utf-8")
except UnicodeDecodeError as e:
    sys.exit("invalid UTF-8: %s" % e)
for ch in text:
    o = ord(ch)
    if (o < 0x20 and ch not in layout) or 0x7f <= o <= 0x9f or o in (0x200e, 0x200f) \
            or 0x2028 <= o <= 0x202e or 0x2066 <= o <= 0x2069:
        sys.exit("raw U+%04X in the output" % o)
PY
text_safe() { $PY text_safe.py "$@"; }
# json_ok FILE: strict UTF-8 and valid JSON, as a strict consumer reads it.
json_ok() { PYTHONIOENCODING=utf-8 $PY -m json.tool <"$1" >/dev/null; }

# ---- 1. deep TOML -------------------------------------------------------
cat >m.c <<'C'
int main(void) { return 0; }
C
gcc -O1 m.c -o m
$PY - <<'PY'
key = ".".join(["a"] * 256)             # 255 dots: under the old per-line limit
with open("deep.toml", "w") as f:      # 127 x 257 levels, 254 nested values
    f.write("x = [\n" + "".join("{%s = [\n" % key for _ in range(127)))
    f.write("]}" * 127 + "\n]\n")
hook = '[[hook]]\ntarget = "main"\naction = "passthrough"\n'
def w(name, text):
    open(name, "w").write(text)
# Each at exactly 128 levels, the limit, in every way to nest.
w("lim_arrays.toml", "x = " + "[" * 128 + "]" * 128 + "\n" + hook)
w("lim_inline.toml", "x = " + "{a = " * 127 + "1" + "}" * 127 + "\n" + hook)
w("lim_key.toml", ".".join(["a"] * 128) + " = 1\n" + hook)
w("lim_header.toml", hook + "[" + ".".join(["a"] * 63) + "]\nb = [1]\n")
w("lim_aot.toml", hook + "".join("[[" + ".".join(["a"] * k) + "]]\n" for k in range(1, 65)))
lines, d = ["x = ["], 1                 # d: the innermost array's level
while d + 22 < 128:
    lines.append("{" + ".".join(["a"] * 21) + " = [")   # table d+1, array d+22
    d += 22
lines.append("{" + ".".join(["a"] * (127 - d)) + " = 1}")  # the value at 128
w("lim_mixed.toml", "\n".join(lines) + "\n" + "]}" * (len(lines) - 2) + "]\n" + hook)
PY
hp_small_stack() { # like hp, under a 1 MiB stack
    local o e
    o=$(mktemp "$W/.hp-out.XXXXXX") e=$(mktemp "$W/.hp-err.XXXXXX")
    HP_RC=0
    (ulimit -s 1024 && exec timeout 120 "$HOOKPATCH" "$@") >"$o" 2>"$e" || HP_RC=$?
    HP_ERR=$(cat "$e")
    rm -f "$o" "$e"
}
hp_small_stack m deep.out deep.toml
check_eq "deep TOML: refused at its location, 1 MiB stack" \
    "1 hookpatch: error: deep.toml:2:253: invalid TOML: nested too deeply: more than 128 levels of tables, arrays and dotted-key parts" \
    "$HP_RC $HP_ERR"
check_true "deep TOML: no output" "deep.out exists" test ! -e deep.out
for f in lim_arrays lim_inline lim_key lim_header lim_aot lim_mixed; do
    hp_small_stack m "$f.out" "$f.toml"
    # Parsed: only the schema complains (unknown keys), no crash.
    if [[ $HP_RC == 1 && $HP_ERR == *"unknown key 'a"* || $HP_RC == 1 && $HP_ERR == *"unknown key 'x'"* ]] &&
        [[ $HP_ERR != *"nested too deeply"* && ! -e $f.out ]]; then
        pass "$f: 128 levels parse under a 1 MiB stack"
    else
        fail "$f: 128 levels" "rc=$HP_RC" "$HP_ERR"
    fi
done

# ---- 2. hostile symbol names --------------------------------------------
# Functions get same-length placeholder names; their bytes in .strtab are
# then replaced. The names: ESC sequences, invalid UTF-8 (0xff, 0xfe, an
# overlong '/'), valid UTF-8, a C1 CSI, a newline forging a line, a bidi
# override.
cat >names.py <<'PY'
import sys
names = [b"\x1b[31mRED\x1b[0m_esc", b"bad\xff\xfe\xc0\xafname", b"caf\xc3\xa9_\xe6\x97\xa5",
         b"csi\xc2\x9b" b"2Jx", b"nl\nhookpatch: fake", b"bidi\xe2\x80\xaerev"]
def ph(i, n):
    return ("h%d" % i).ljust(n, "_")
if sys.argv[1] == "c":
    print("#include <stdio.h>")
    for i, n in enumerate(names):
        print("__attribute__((noinline)) int %s(void) { return %d; }" % (ph(i, len(n)), i + 1))
    calls = ", ".join(ph(i, len(n)) + "()" for i, n in enumerate(names))
    print('int main(void) { printf("%%d %%d %%d %%d %%d %%d\\n", %s); return 0; }' % calls)
else:
    data = open(sys.argv[2], "rb").read()
    for i, n in enumerate(names):
        p = ph(i, len(n)).encode()
        assert data.count(p) == 1, p
        data = data.replace(p, n)
    open(sys.argv[3], "wb").write(data)
PY
$PY names.py c >names.c
gcc -O1 names.c -o names0
$PY names.py patch names0 names
chmod +x names
run_prog ./names
check_eq "names: the renamed program runs" "1 2 3 4 5 6 (rc 0)" "$RUN_OUT (rc $RUN_RC)"

# What each name looks like in text output, and in JSON once decoded.
SHOWN=('\x1b[31mRED\x1b[0m_esc' 'bad\xff\xfe\xc0\xafname' $'caf\xc3\xa9_\xe6\x97\xa5'
    'csi\u009b2Jx' 'nl\x0ahookpatch: fake' 'bidi\u202erev')
cat >json_names.py <<'PY'
import json, sys
doc = json.loads(open(sys.argv[2], "rb").read().decode("utf-8"))
if sys.argv[1] == "list":
    got = [o["name"] for o in doc]
else:
    got = [h["target"] for h in doc["hooks"]]
want = ["\x1b[31mRED\x1b[0m_esc", "bad\\xff\\xfe\\xc0\\xafname", "caf\u00e9_\u65e5",
        "csi\x9b2Jx", "nl\nhookpatch: fake", "bidi\u202erev"]
missing = [w for w in want if w not in got]
if missing:
    sys.exit("missing %r in %r" % (missing, got))
if sys.argv[1] == "report" and got != want:
    sys.exit("hooks %r" % got)
PY

"$HOOKPATCH" list names >list.txt
if text_safe list.txt; then pass "list: text is safe for a terminal"; else fail "list: text" "$(cat -A list.txt)"; fi
shown=0
for s in "${SHOWN[@]}"; do
    grep -qF -- " $s" list.txt && shown=$((shown + 1))
done
check_eq "list: every name shown with its bytes escaped" 6 "$shown"
check_true "list: a newline in a name forges no line" "$(cat list.txt)" \
    bash -c '! grep -q "^hookpatch: fake" list.txt'
"$HOOKPATCH" list --json names >list.json
if json_ok list.json; then pass "list --json: valid UTF-8 JSON"; else fail "list --json" "$(head -c 600 list.json | cat -A)"; fi
check_true "list --json: no raw control byte" "$(cat -A list.json | head)" text_safe list.json json
if err=$($PY json_names.py list list.json 2>&1); then pass "list --json: names escaped, valid text kept"; else fail "list --json: names" "$err"; fi

cat >names.toml <<'TOML'
[[hook]]
target = "\u001b\\[31mRED\u001b\\[0m_esc"
action = "return"
value = 101
[[hook]]
target = "bad*name"
action = "return"
value = 102
[[hook]]
target = "caf\u00e9_\u65e5"
action = "return"
value = 103
[[hook]]
target = "csi\u009b2Jx"
action = "return"
value = 104
[[hook]]
target = "nl\nhookpatch: fake"
action = "return"
value = 105
[[hook]]
target = "bidi\u202erev"
action = "passthrough"
TOML
"$HOOKPATCH" -v names names.out names.toml >plan.txt 2>summary.txt
run_prog ./names.out
check_eq "names: every hostile name hooked" "101 102 103 104 105 6 (rc 0)" "$RUN_OUT (rc $RUN_RC)"
for f in plan.txt summary.txt; do
    if text_safe $f; then pass "patch: $f is safe for a terminal"; else fail "patch: $f" "$(cat -A $f)"; fi
done
shown=0
for s in "${SHOWN[@]}"; do
    grep -qF -- "hook $s 0x" plan.txt && shown=$((shown + 1))
done
check_eq "patch -v: the plan names every target, escaped" 6 "$shown"
"$HOOKPATCH" --json names names.out2 names.toml >report.json 2>/dev/null
if json_ok report.json; then pass "--json: valid UTF-8 JSON"; else fail "--json" "$(head -c 600 report.json | cat -A)"; fi
check_true "--json: no raw control byte" "$(cat -A report.json | head)" text_safe report.json json
if err=$($PY json_names.py report report.json 2>&1); then pass "--json: hook targets escaped"; else fail "--json: targets" "$err"; fi

# Diagnostics: a rules string with control characters, and a did-you-mean
# that suggests a hostile name.
printf '[[hook]]\ntarget = "\\u001b]0;pwned\\u0007gone"\naction = "trap"\n[[hook]]\ntarget = "bad\\u00ffname"\naction = "trap"\n' >miss.toml
set +e
"$HOOKPATCH" names miss.out miss.toml 2>miss.err
rc=$?
"$HOOKPATCH" --json names miss.out miss.toml >miss.json 2>/dev/null
set -e
check_eq "diagnostics: names and rules strings escaped" \
    "1
hookpatch: error: miss.toml:2:10: target '\x1b]0;pwned\x07gone': no function named '\x1b]0;pwned\x07gone'
hookpatch: error: miss.toml:5:10: target 'bad$(printf '\xc3\xbf')name': no function named 'bad$(printf '\xc3\xbf')name'; did you mean 'bad\xff\xfe\xc0\xafname'?" \
    "$rc
$(cat miss.err)"
msgs=$($PY -c '
import json, sys
d = json.loads(open("miss.json", "rb").read().decode("utf-8"))
print(d["ok"], [g["message"] for g in d["diagnostics"]] == [
    "no function named \x27\x1b]0;pwned\x07gone\x27",
    "no function named \x27bad\u00ffname\x27; did you mean \x27bad\\xff\\xfe\\xc0\\xafname\x27?"])
' 2>&1 || true)
check_eq "diagnostics: --json carries them, valid" "False True" "$msgs"
check_true "diagnostics: --json has no raw control byte" "$(cat -A miss.json | head)" text_safe miss.json json

# ---- 3. --strict ----------------------------------------------------------
cat >inl.c <<'C'
#include <stdio.h>
int small(int x) { return x * 3 + 1; }
int (*volatile through_pointer)(int) = small;
int main(int argc, char **argv) { printf("%d %d\n", small(argc), through_pointer(2)); return 0; }
C
printf '[[hook]]\ntarget = "small"\naction = "return"\nvalue = 99\n' >inl.toml
gcc -O2 -g inl.c -o inl
gcc -O2 -g -fno-inline inl.c -o noinl
INL_MSG="inl.toml:2:10: small is inlined into main (1 site); those calls are not redirected"
hp inl inl.out inl.toml
check_eq "inlined, no --strict: a warning, exit 0" "0 yes" \
    "$HP_RC $([[ $HP_ERR == *"hookpatch: warning: $INL_MSG"* && -x inl.out ]] && echo yes)"
for opt in --strict --strict-inlining; do
    hp $opt inl "inl$opt.out" inl.toml
    check_eq "inlined, $opt: an error, exit 1, no output" "1 yes" \
        "$HP_RC $([[ $HP_ERR == *"hookpatch: error: $INL_MSG"* && $HP_ERR != *warning* &&
            ! -e inl$opt.out && -z $(temp_files .) ]] && echo yes)"
done
hp --strict -q --dry-run inl inl-dry.out inl.toml
check_eq "inlined, --strict -q --dry-run: still an error" "1 yes" \
    "$HP_RC $([[ $HP_ERR == *"error: $INL_MSG"* ]] && echo yes)"
hp --strict --json inl inl-json.out inl.toml
echo "$HP_OUT" >strict.json
check_eq "inlined, --strict --json: not ok, the error flagged" "1 False error True" \
    "$HP_RC $($PY -c '
import json
d = json.load(open("strict.json"))
g = [g for g in d["diagnostics"] if "inlined" in g["message"]][0]
print(d["ok"], g["level"], g.get("may_not_take_effect"))' 2>&1)"
hp --strict noinl noinl.out inl.toml
run_prog ./noinl.out
check_eq "not inlined, --strict: patched as usual" "0 99 99" "$HP_RC $RUN_OUT"
set +e
exec_out=$("$HOOKPATCH" exec inl.toml --strict -- ./inl 2>exec.err)
exec_rc=$?
plain_out=$("$HOOKPATCH" exec inl.toml -- ./inl 2>/dev/null)
plain_rc=$?
set -e
check_eq "exec --strict: refuses before running the program" "1 [] yes" \
    "$exec_rc [$exec_out] $(grep -q "error: $INL_MSG" exec.err && echo yes)"
check_eq "exec without --strict: runs the patched program" "0 4 99" "$plain_rc $plain_out"
hp --help
check_true "--help documents --strict" "$HP_OUT" grep -q -- '--strict  ' <<<"$HP_OUT"

# ---- 4. universal Mach-O --------------------------------------------------
have() { command -v "$1" >/dev/null 2>&1; }
FIX=$HP_SRC/tests/fixtures/macho
if have clang && have ld64.lld-14 && have llvm-lipo-14 &&
    clang -target x86_64-apple-macos11 -O1 -c "$FIX/main.c" -o mx.o 2>/dev/null &&
    clang -target x86_64-apple-macos11 -O1 -c "$FIX/targets.c" -o tx.o 2>/dev/null &&
    clang -target arm64-apple-macos11 -O1 -c "$FIX/main.c" -o ma.o 2>/dev/null &&
    clang -target arm64-apple-macos11 -O1 -c "$FIX/targets.c" -o ta.o 2>/dev/null &&
    ld64.lld-14 -arch x86_64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup \
        -headerpad 0x1000 -o thin mx.o tx.o 2>/dev/null &&
    ld64.lld-14 -arch arm64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup \
        -headerpad 0x1000 -o thin_a ma.o ta.o 2>/dev/null &&
    llvm-lipo-14 -create thin thin_a -output fat; then
    # Every slice is patched: a summary line each, no warning.
    SUMMARY="hookpatch: x86_64 slice: hooked 4 functions, skipped 0
hookpatch: arm64 slice: hooked 4 functions, skipped 0"
    hp fat fat.out "$FIX/rules.toml"
    check_eq "fat: both slices patched, a summary each" "0
$SUMMARY" "$HP_RC
$HP_ERR"
    hp --strict fat fat-strict.out "$FIX/rules.toml"
    check_eq "fat --strict: nothing to refuse" "0 yes" "$HP_RC $([[ -s fat-strict.out ]] && echo yes)"
    # The arm64 slice's offset and size, from the universal header.
    read -r off size < <($PY -c '
import struct
d = open("fat", "rb").read()
n = struct.unpack(">I", d[4:8])[0]
for i in range(n):
    cpu, sub, off, size, al = struct.unpack(">iiIII", d[8 + 20 * i:28 + 20 * i])
    if cpu == 0x0100000c:
        print(hex(off), size)')
    # Slices hookpatch cannot patch, by CPU type and subtype: arm64e (with
    # the pointer-auth ABI bits of the subtype's top byte), i386. Only the
    # universal header is read for them, so rewriting it is enough.
    for arch in "arm64e:0x0100000c:0x80000002:arm64e code signs its pointers with keys hookpatch cannot use" \
        "i386:7:3:hookpatch patches x86-64 and arm64 code only"; do
        IFS=: read -r name cpu sub why <<<"$arch"
        $PY -c '
import struct, sys
d = bytearray(open("fat", "rb").read())
for i in range(struct.unpack(">I", d[4:8])[0]):
    e = 8 + 20 * i
    if struct.unpack(">i", d[e:e + 4])[0] == 0x0100000c:
        d[e:e + 8] = struct.pack(">II", int(sys.argv[1], 0), int(sys.argv[2], 0))
open("fat_" + sys.argv[3], "wb").write(d)' "$cpu" "$sub" "$name"
        WARN="hookpatch: warning: fat_$name: $name slice: copied unpatched (offset $off, $size bytes): $why, so the hooks do not take effect where the file runs as $name"
        SUMMARY="hookpatch: x86_64 slice: hooked 4 functions, skipped 0
hookpatch: $name slice: copied unpatched"
        hp "fat_$name" "fat_$name.out" "$FIX/rules.toml"
        check_eq "fat: a $name slice is named in a warning and the summary, exit 0" "0
$WARN
$SUMMARY" "$HP_RC
$HP_ERR"
        hp -q "fat_$name" "fat_$name-q.out" "$FIX/rules.toml"
        check_eq "fat -q: the summary still says so ($name)" "0 $SUMMARY" "$HP_RC $HP_ERR"
        hp --json "fat_$name" "fat_$name-json.out" "$FIX/rules.toml"
        echo "$HP_OUT" >"fat_$name.json"
        check_eq "fat --json: the $name slice and the flagged warning" \
            "0 True [('x86_64', True, 4), ('$name', False, None)] warning $name True 4" \
            "$HP_RC $($PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
g = [g for g in d["diagnostics"] if "copied unpatched" in g["message"]][0]
print(d["ok"], [(s["slice"], s["patched"], s.get("hooked")) for s in d["slices"]], g["level"],
      g["slice"], g.get("may_not_take_effect"), len(d["hooks"]))' "fat_$name.json" 2>&1)"
        hp --strict "fat_$name" "fat_$name-strict.out" "$FIX/rules.toml"
        check_eq "fat --strict: a $name slice is an error, exit 1, no output" "1 ${WARN/warning/error} yes" \
            "$HP_RC $HP_ERR $([[ ! -e fat_$name-strict.out && -z $(temp_files .) ]] && echo yes)"
    done
    hp thin thin.out "$FIX/rules.toml"
    check_eq "thin x86-64 Mach-O: no slice warning" "0 hookpatch: hooked 4 functions, skipped 0" \
        "$HP_RC $HP_ERR"
else
    skip "universal Mach-O" "needs clang, ld64.lld-14 and llvm-lipo-14"
fi

e2e_finish
