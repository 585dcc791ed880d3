#!/usr/bin/env bash
# Acceptance: the command line. Exit codes (0 ok, 1 error, 2 usage), --help,
# --version, the summary line, -q, --json, diagnostics with rules locations
# and "did you mean", globs that skip unhookable functions, refusals (two
# hooks on one function, an already patched input, non-ELF and truncated
# inputs), and that no error leaves an output or a temporary file behind or
# touches an existing OUT. Then `hookpatch list` and `list --json`.
#
# The subject is tests/fixtures/c built by gcc at -Os as a PIE, with one
# more function, tiny_nop (a 1-byte `ret` that nothing calls): get_answer
# is hookable, tiny_add (4 bytes) too (through an island or its call
# sites), and tiny_nop is not: too short for the jump and for an island,
# and no call site to re-point.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/c
W=$HP_WORK
IN=$W/prog
CC=gcc
command -v gcc >/dev/null || CC=clang
printf 'void tiny_nop(void) {}\n' >"$W/nop.c"
if ! $CC -Os -fPIE -pie -I"$FIX" "$FIX/targets.c" "$FIX/main.c" "$W/nop.c" -o "$IN" \
    >"$W/build.log" 2>&1; then
    fail "build the subject" "$(cat "$W/build.log")"
    e2e_finish
fi
IN_SHA=$(sha "$IN")
ORIG_ANSWER=$("$IN" | head -1)

# rules NAME CONTENT: write $W/NAME.toml.
rules() { printf '%s' "$2" >"$W/$1.toml"; }

rules ok '[[hook]]
target = "get_answer"
action = "return"
value = 1234
'

# after_error NAME OUT: an error must leave neither OUT nor a temporary.
no_debris()
{
    local out=$1 d
    d=$(dirname "$out")
    [[ ! -e $out && -z $(temp_files "$d") ]]
}

# ---------------------------------------------------------------- usage
hp
check_eq "no arguments: usage error, exit 2" "2 usage" "$HP_RC $([[ $HP_ERR == *"hookpatch: error: expected IN OUT RULES"*"--help"* ]] && echo usage)"

hp --frobnicate "$IN" "$W/o" "$W/ok.toml"
check_eq "unknown option: exit 2" "2 yes" "$HP_RC $([[ $HP_ERR == *"hookpatch: error: unknown option '--frobnicate'"* ]] && echo yes)"
check_true "unknown option: nothing written" "$W/o exists" no_debris "$W/o"

hp "$IN" "$W/o" "$W/ok.toml" extra
check_eq "too many arguments: exit 2" "2 yes" "$HP_RC $([[ $HP_ERR == *"unexpected argument 'extra'"* ]] && echo yes)"

hp "$IN" "$W/o"
check_eq "two arguments: exit 2" "2" "$HP_RC"

hp list
check_eq "list without input: exit 2" "2" "$HP_RC"

hp --help
check_eq "--help: exit 0, usage on stdout" "0 yes" \
    "$HP_RC $([[ $HP_OUT == "usage: hookpatch [options] IN OUT RULES"* && $HP_OUT == *"hookpatch list"* && $HP_OUT == *"--dry-run"* && -z $HP_ERR ]] && echo yes)"
hp -h
check_eq "-h: exit 0" "0 yes" "$HP_RC $([[ $HP_OUT == "usage: hookpatch"* ]] && echo yes)"

hp --version
check_true "--version: exit 0, 'hookpatch X.Y.Z'" "rc $HP_RC, '$HP_OUT'" \
    bash -c '[[ $0 == 0 && $1 =~ ^hookpatch\ [0-9]+\.[0-9]+\.[0-9]+$ ]]' "$HP_RC" "$HP_OUT"

# ---------------------------------------------------------------- success
hp "$IN" "$W/out" "$W/ok.toml"
check_eq "patch: exit 0, summary on stderr, nothing on stdout" \
    "0|hookpatch: hooked 1 function, skipped 0|" "$HP_RC|$HP_ERR|$HP_OUT"
run_prog "$W/out"
check_eq "patch: the program runs hooked" "answer=1234 ($ORIG_ANSWER before)" "$(head -1 <<<"$RUN_OUT") ($ORIG_ANSWER before)"
check_true "patch: output keeps the input's mode" "$(stat -c %a "$IN") vs $(stat -c %a "$W/out")" \
    test "$(stat -c %a "$IN")" = "$(stat -c %a "$W/out")"
check_true "patch: no temporary left" "$(temp_files "$W")" test -z "$(temp_files "$W")"

# Only `replace` hooks: no stub or trampoline, an empty new text region.
rules replace_only '[[hook]]
target = "get_pi"
replace = "get_e"
'
hp "$IN" "$W/out-replace" "$W/replace_only.toml"
run_prog "$W/out-replace"
check_eq "replace-only rules (no new code): exit 0, program hooked" \
    "0|hookpatch: hooked 1 function, skipped 0|double=2.71828" \
    "$HP_RC|$HP_ERR|$(grep '^double=' <<<"$RUN_OUT")"

hp -q "$IN" "$W/out-q" "$W/ok.toml"
check_eq "-q: summary line only" "0|hookpatch: hooked 1 function, skipped 0|" "$HP_RC|$HP_ERR|$HP_OUT"

hp -v "$IN" "$W/out-v" "$W/ok.toml"
check_eq "-v: prints the plan" "0 yes" "$HP_RC $([[ $HP_OUT == *"hook get_answer 0x"*"return 1234"* ]] && echo yes)"

hp --dry-run "$IN" "$W/dry" "$W/ok.toml"
check_eq "--dry-run: plan on stdout, nothing written" "0 yes" \
    "$HP_RC $([[ $HP_OUT == "# $IN: ELF PIE executable"*"hook get_answer"* ]] && no_debris "$W/dry" && echo yes)"

hp --json "$IN" "$W/out-json" "$W/ok.toml"
printf '%s\n' "$HP_OUT" >"$W/report.json"
if [[ $HP_RC -eq 0 ]] && json_valid "$W/report.json"; then
    got=$(json_get "$W/report.json" "j['ok'], j['dry_run'], j['hooked'], j['skipped']" \
        "[(h['target'], h['action'], h['value'], h['destination_name']) for h in j['hooks']]" \
        "j['skipped_hooks'], j['diagnostics'], j['output'].endswith('out-json')")
    check_eq "--json: valid JSON with the hooks array" \
        "(True, False, 1, 0)
[('get_answer', 'return', 1234, 'return stub')]
([], [], True)" "$got"
else
    fail "--json: valid JSON with the hooks array" "rc $HP_RC" "$HP_OUT"
fi
check_true "--json: the summary stays on stderr" "$HP_ERR" test "$HP_ERR" = "hookpatch: hooked 1 function, skipped 0"

# ---------------------------------------------------------------- resolve errors
rules typo '[[hook]]
target = "get_answr"
action = "return"
value = 1
'
hp "$IN" "$W/o" "$W/typo.toml"
check_true "unknown target: exit 1, rules location, did you mean" "rc $HP_RC: $HP_ERR" \
    bash -c '[[ $0 == 1 && $1 == *"hookpatch: error: $2:2:10: target '\''get_answr'\'': no function named '\''get_answr'\''; did you mean '\''get_answer'\''"* ]]' \
    "$HP_RC" "$HP_ERR" "$W/typo.toml"
check_true "unknown target: nothing written" "" no_debris "$W/o"

rules typo2 '[[hook]]
target = "get_answer"
replace = "get_pie"
'
hp "$IN" "$W/o" "$W/typo2.toml"
check_true "unknown replacement: exit 1, location of the value" "rc $HP_RC: $HP_ERR" \
    bash -c '[[ $0 == 1 && $1 == *"hookpatch: error: $2:3:11: "*"no function named '\''get_pie'\''; did you mean '\''get_pi'\''"* ]]' \
    "$HP_RC" "$HP_ERR" "$W/typo2.toml"

# Every bad rule is reported in one run, not just the first.
rules typos '[[hook]]
target = "get_answr"
action = "return"
value = 1

[[hook]]
target = "make_bigg"
action = "trap"
'
hp "$IN" "$W/o" "$W/typos.toml"
check_true "two unknown targets: both reported" "rc $HP_RC: $HP_ERR" \
    bash -c '[[ $0 == 1 && $1 == *"typos.toml:2:10:"*"typos.toml:7:10:"*"did you mean '\''make_big'\''"* ]]' "$HP_RC" "$HP_ERR"

rules data '[[hook]]
target = "counter"
action = "return"
value = 1
'
hp "$IN" "$W/o" "$W/data.toml"
check_eq "a data symbol as target: exit 1" "1 yes" "$HP_RC $([[ $HP_ERR == *"data.toml:2:10:"*"data, not a function"* ]] && echo yes)"

# ---------------------------------------------------------------- unhookable
rules glob '[[hook]]
target = "[gt]*_*"
action = "return"
value = 0
'
hp --json "$IN" "$W/out-glob" "$W/glob.toml"
printf '%s\n' "$HP_OUT" >"$W/glob.json"
if [[ $HP_RC -eq 0 ]]; then
    got=$(json_get "$W/glob.json" "sorted(h['target'] for h in j['hooks'])" \
        "[(h['target'], 'too short' in h['reason']) for h in j['skipped_hooks']]")
    check_eq "glob with an unhookable match: exit 0, skipped in --json" \
        "['get_answer', 'get_e', 'get_pi', 'tiny_add']
[('tiny_nop', True)]" "$got"
    check_true "glob: summary and reason on stderr" "$HP_ERR" \
        bash -c '[[ $0 == *"hookpatch: hooked 4 functions, skipped 1"*"skipped tiny_nop (0x"*"): too short"* ]]' "$HP_ERR"
    run_prog "$W/out-glob"
    check_eq "glob: hooked functions changed" $'answer=0\ntiny=0' \
        "$(grep -E '^(answer|tiny)=' <<<"$RUN_OUT")"
    nop_off=$(readelf -sW "$IN" | awk '$8 == "tiny_nop" { print $2 }')
    check_eq "glob: the skipped one did not change" \
        "$(od -An -tx1 -j $((0x$nop_off)) -N1 "$IN")" "$(od -An -tx1 -j $((0x$nop_off)) -N1 "$W/out-glob")"
else
    fail "glob with an unhookable match: exit 0, skipped in --json" "rc $HP_RC" "$HP_ERR"
fi
hp -q "$IN" "$W/out-glob-q" "$W/glob.toml"
check_eq "-q: skip details are not printed" "0|hookpatch: hooked 4 functions, skipped 1" "$HP_RC|$HP_ERR"

rules tiny '[[hook]]
target = "tiny_nop"
action = "return"
value = 0
'
echo precious >"$W/existing"
hp "$IN" "$W/existing" "$W/tiny.toml"
check_true "exact unhookable target: exit 1 with location and reason" "rc $HP_RC: $HP_ERR" \
    bash -c '[[ $0 == 1 && $1 == *"hookpatch: error: $2:2:10: target '\''tiny_nop'\'': cannot hook at 0x"*"too short"* && $1 != *"hooked"* ]]' \
    "$HP_RC" "$HP_ERR" "$W/tiny.toml"
check_eq "failed run: an existing OUT is unchanged" "precious" "$(cat "$W/existing")"
check_true "failed run: no temporary left" "$(temp_files "$W")" test -z "$(temp_files "$W")"

# ---------------------------------------------------------------- two hooks on one function
rules dup '[[hook]]
target = "get_answer"
action = "return"
value = 1

[[hook]]
target = "get_answer"
action = "trap"
'
hp "$IN" "$W/o" "$W/dup.toml"
check_eq "same target twice: exit 1 naming both rules" "1 yes" \
    "$HP_RC $([[ $HP_ERR == *"hookpatch: error: $W/dup.toml:7:10: "*"already hooked"* && $HP_ERR == *"dup.toml:2:10"* ]] && no_debris "$W/o" && echo yes)"

addr=$(readelf -sW "$IN" | awk '$8 == "get_answer" { print "0x" $2 }' | sed 's/0x0*/0x/')
rules dup2 "[[hook]]
target = \"get_answer\"
action = \"return\"
value = 1

[[hook]]
target = \"$addr\"
action = \"trap\"
"
hp "$IN" "$W/o" "$W/dup2.toml"
check_eq "one function by name and by address: exit 1" "1 yes" \
    "$HP_RC $([[ $HP_ERR == *"dup2.toml:7:10: "*"already hooked"* ]] && no_debris "$W/o" && echo yes)"

# ---------------------------------------------------------------- inputs
hp "$W/out" "$W/o" "$W/ok.toml"
check_eq "already patched input: refused" "1 yes" \
    "$HP_RC $([[ $HP_ERR == *"hookpatch: error: $W/out: already patched by hookpatch"* ]] && no_debris "$W/o" && echo yes)"

echo 'not a binary at all' >"$W/text"
hp "$W/text" "$W/o" "$W/ok.toml"
check_eq "non-ELF input: exit 1" "1 yes" \
    "$HP_RC $([[ $HP_ERR == "hookpatch: error: $W/text: "* ]] && no_debris "$W/o" && echo yes)"

: >"$W/empty"
hp "$W/empty" "$W/o" "$W/ok.toml"
check_eq "empty input: exit 1" "1 yes" "$HP_RC $([[ $HP_ERR == "hookpatch: error: "* ]] && no_debris "$W/o" && echo yes)"

for n in 4 40 64 200 4096; do
    head -c "$n" "$IN" >"$W/trunc$n"
    hp "$W/trunc$n" "$W/o" "$W/ok.toml"
    check_eq "ELF truncated to $n bytes: exit 1" "1 yes" \
        "$HP_RC $([[ $HP_ERR == "hookpatch: error: $W/trunc$n: "* ]] && no_debris "$W/o" && echo yes)"
done
# Cut in the middle of .text: headers are fine, the section table is gone.
head -c $(($(stat -c %s "$IN") / 2)) "$IN" >"$W/trunc-half"
hp "$W/trunc-half" "$W/o" "$W/ok.toml"
check_eq "ELF truncated to half: exit 1" "1 yes" \
    "$HP_RC $([[ $HP_ERR == "hookpatch: error: $W/trunc-half: "* ]] && no_debris "$W/o" && echo yes)"

hp "$W/missing" "$W/o" "$W/ok.toml"
check_eq "missing input: exit 1" "1 yes" \
    "$HP_RC $([[ $HP_ERR == "hookpatch: error: $W/missing: cannot open"* ]] && no_debris "$W/o" && echo yes)"

hp "$W" "$W/o" "$W/ok.toml"
check_eq "a directory as input: exit 1" "1 yes" "$HP_RC $([[ $HP_ERR == "hookpatch: error: "* ]] && no_debris "$W/o" && echo yes)"

hp "$IN" "$W/o" "$W/no-such-rules.toml"
check_eq "missing rules file: exit 1 naming it" "1 yes" \
    "$HP_RC $([[ $HP_ERR == "hookpatch: error: "*"$W/no-such-rules.toml"*"No such file"* ]] && no_debris "$W/o" && echo yes)"

rules syntax '[[hook]]
target = "get_answer
'
hp "$IN" "$W/o" "$W/syntax.toml"
check_eq "rules syntax error: exit 1 with line" "1 yes" \
    "$HP_RC $([[ $HP_ERR == *"hookpatch: error: $W/syntax.toml:2:"* ]] && no_debris "$W/o" && echo yes)"

check_eq "the input was never modified" "$IN_SHA" "$(sha "$IN")"

# ---------------------------------------------------------------- output directory
hp "$IN" "$W/no/such/dir/out" "$W/ok.toml"
check_eq "missing output directory: exit 1, clear error" "1 yes" \
    "$HP_RC $([[ $HP_ERR == "hookpatch: error: $W/no/such/dir/out: cannot create a temporary file"*"No such file or directory"* ]] && echo yes)"

# The rename is the last step: when it fails, the temporary must go too.
mkdir -p "$W/outdir/keep"
hp "$IN" "$W/outdir" "$W/ok.toml"
check_eq "OUT is a directory: exit 1, no temporary left" "1 yes" \
    "$HP_RC $([[ $HP_ERR == "hookpatch: error: $W/outdir: "* && -z $(temp_files "$W") && -d $W/outdir/keep ]] && echo yes)"

mkdir -p "$W/ro"
chmod 0555 "$W/ro"
if [[ $(id -u) -ne 0 ]]; then
    hp "$IN" "$W/ro/out" "$W/ok.toml"
    ro_rc=$HP_RC ro_err=$HP_ERR
elif command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$HOOKPATCH" -a -r "$IN" -a -r "$W/ok.toml"; then
    # root writes anywhere: drop to nobody for this case.
    ro_rc=0
    ro_err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$HOOKPATCH" "$IN" "$W/ro/out" "$W/ok.toml" 2>&1) || ro_rc=$?
else
    ro_rc=skip
fi
if [[ $ro_rc == skip ]]; then
    skip "read-only output directory" "running as root and cannot drop privileges to test it"
else
    check_eq "read-only output directory: exit 1, clear error" "1 yes" \
        "$ro_rc $([[ $ro_err == "hookpatch: error: $W/ro/out: cannot create a temporary file"*"Permission denied"* && -z $(ls -A "$W/ro") ]] && echo yes)"
fi
chmod 0755 "$W/ro"

# ---------------------------------------------------------------- list
hp list "$IN"
printf '%s\n' "$HP_OUT" >"$W/list.txt"
sym_va=$(printf '0x%016x' "0x$(readelf -sW "$IN" | awk '$8 == "get_answer" { print $2 }')")
sym_size=$(readelf -sW "$IN" | awk '$8 == "get_answer" { print $3 }')
line=$(grep -E ' get_answer$' "$W/list.txt" || true)
check_true "list: '0x<16 hex> <size> yes <name>' for a hookable function" "rc $HP_RC: '$line' (va $sym_va size $sym_size)" \
    bash -c '[[ $0 == 0 && $1 =~ ^0x[0-9a-f]{16}\ +[0-9]+\ yes\ +get_answer$ && $1 == "$2 "*" $3 yes"* ]]' \
    "$HP_RC" "$line" "$sym_va" "$sym_size"
line=$(grep -E ' tiny_nop  # ' "$W/list.txt" || true)
check_true "list: unhookable function with the reason" "'$line'" \
    bash -c '[[ $0 =~ ^0x[0-9a-f]{16}\ +1\ no\ +tiny_nop\ \ #\ .*too\ short ]]' "$line"
check_true "list: sorted by address" "" bash -c 'grep "^0x" "$0" | cut -c1-18 | sort -c' "$W/list.txt"
check_true "list: only functions (no data symbols)" "" bash -c '! grep -qE " (counter|indirect)$" "$0"' "$W/list.txt"

hp list "$IN" 'get_*'
check_eq "list GLOB: only the matches" "0 get_answer get_e get_pi" \
    "$HP_RC $(awk '/^0x/ { print $4 }' <<<"$HP_OUT" | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "list: the architecture in the header" "# architecture: x86-64" "$(grep '^# arch' <<<"$HP_OUT")"

hp list --json "$IN" 'get_answer'
printf '%s\n' "$HP_OUT" >"$W/list.json"
if [[ $HP_RC -eq 0 ]] && json_valid "$W/list.json"; then
    got=$(json_get "$W/list.json" "[(f['name'], '0x%016x' % f['address'], f['size'], f['hookable']) for f in j]")
    check_eq "list --json: name, address, size, hookable" "[('get_answer', '$sym_va', $sym_size, 'yes')]" "$got"
else
    fail "list --json: name, address, size, hookable" "rc $HP_RC" "$HP_OUT"
fi
hp list --json "$IN" 'tiny_nop'
printf '%s\n' "$HP_OUT" >"$W/list2.json"
got=$(json_get "$W/list2.json" "[(f['name'], f['hookable'], 'too short' in f['reason']) for f in j]" 2>&1 || true)
check_eq "list --json: the reason of an unhookable function" "[('tiny_nop', 'no', True)]" "$got"

hp list "$W/text"
check_eq "list of a non-ELF file: exit 1" "1 yes" "$HP_RC $([[ $HP_ERR == "hookpatch: error: "* ]] && echo yes)"

hp list "$W/out"
check_eq "list of a patched binary shows the hookpatch record" "0 yes" \
    "$HP_RC $([[ $HP_OUT == "# patched by hookpatch:"*"hook return get_answer"* ]] && echo yes)"

e2e_finish
