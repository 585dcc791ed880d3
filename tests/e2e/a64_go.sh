#!/usr/bin/env bash
# Acceptance (AArch64): the x86-64 Go cases, built with GOARCH=arm64 and run
# under qemu-user, once per Go toolchain go_toolchains lists (Go 1.19 and
# the current release; check names say which). Jobs run in parallel
# (par_start).
#
# - basic (tests/fixtures/go_basic), default and -buildmode=pie: a function,
#   a pointer-receiver method, a recursive function whose entry is Go's
#   arm64 stack check (ldr x16, [x28, #16]) and time.Now replaced; the same
#   output under GOGC=1; deterministic; IN untouched; the entry is a B.
# - original (tests/fixtures/go_original), default and PIE: replace +
#   original on the three stack-check forms (cmp sp; sub x17; mov x27 +
#   subs + b.lo). Stack growth re-enters through the morestack trailer's
#   "b entry", which must go to the trampoline (checked in the
#   disassembly): every hook count is exact, with goroutines and the GC.
# - names (tests/fixtures/go_names), default/PIE, with symbols and stripped
#   (-ldflags=-s -w): methods, closures, generics (bare name: every shape),
#   `return`, `replace` and `passthrough`.
# - whole binary: target = "*" passthrough on go_basic, the runtime included;
#   same output; every skip printed with its reason; runtime.goexit refused
#   with its reason (as an exact target: an error naming goexit+4).
# - far layout (HOOKPATCH_TEST_FAR=1: new code out of B reach):
#   passthrough on every main.* function runs; the far jump back chooses a
#   register the stack check does not still read; `original =` whose
#   morestack trailer cannot reach the trampoline is refused with the reason.
# - `go test -exec "hookpatch exec --runner '<qemu>' rules.toml --"` with
#   GOARCH=arm64 on examples/gotest (and without hookpatch the tests fail),
#   and what exec passes through the runner (stdin/stdout/stderr, status).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

a64_have "a64_go" || { e2e_finish; exit $?; }
mapfile -t TOOLCHAINS < <(go_toolchains)
if [[ ${#TOOLCHAINS[@]} -eq 0 ]]; then
    skip "a64_go" "go is not installed"
    e2e_finish
    exit $?
fi
export GOFLAGS=-mod=mod GOPROXY=off GOPATH=$HP_WORK/gopath
export GO111MODULE=on GOTELEMETRY=off GOOS=linux GOARCH=arm64 CGO_ENABLED=0
unset GOROOT_FINAL
OBJDUMP=aarch64-linux-gnu-objdump
command -v $OBJDUMP >/dev/null || OBJDUMP=llvm-objdump

elf_type() { readelf -hW "$1" | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p'; }

# insns FILE SYMBOL [N]: the first N instructions of a function (all when
# N is 0), one per line, without address or comment.
insns()
{
    $OBJDUMP -d --no-show-raw-insn --disassemble="$2" "$1" |
        awk -v n="<$2>:" -v want="${3:-0}" '$2 == n { on = 1; next }
            on && /^ *[0-9a-f]+:/ { sub(/^ *[0-9a-f]+:[ \t]*/, ""); sub(/ *\/\/.*$/, ""); sub(/[ \t]+$/, "");
                                    gsub(/[ \t]+/, " "); if (!want || got++ < want) print }
            on && /^$/ { on = 0 }'
}

# qrun PROG ARGS...: run an arm64 program under qemu (run_prog's RUN_*).
qrun() { a64_run "$@"; }

# build DIR OUT FLAGS...: go build in DIR, the log next to OUT.
build()
{
    local dir=$1 out=$2
    shift 2
    (cd "$dir" && go build -gcflags=all=-l "$@" -o "$out" .) >"$out.build" 2>&1 ||
        { fail "$GO_LABEL: go build $* ($dir)" "$(tail -5 "$out.build")"; return 1; }
}

# ---- go_basic: replace on a function, a method, a recursive function with
# the stack check, and time.Now.
job_basic()
{
    local mode=$1 v="$GO_LABEL basic $1" dir=$HP_WORK/$GO_LABEL/basic-$1 flags=()
    [[ $mode == pie ]] && flags=(-buildmode=pie)
    mkdir -p "$dir" && cp -r "$HP_SRC/tests/fixtures/go_basic" "$dir/src"
    local in=$dir/in out=$dir/out rules=$dir/src/hooks.toml want_type=EXEC shape=""
    build "$dir/src" "$in" "${flags[@]}" || return 0
    [[ $mode == pie ]] && want_type=DYN
    [[ $(elf_type "$in") == "$want_type" ]] || shape+="ELF type $(elf_type "$in"), want $want_type; "
    readelf -hW "$in" | grep -q 'Machine: *AArch64' || shape+="not an AArch64 ELF; "
    local first
    first=$(insns "$in" main.Depth 1)
    [[ $first == "ldr x16, [x28, #16]" ]] || shape+="main.Depth starts with '$first', not Go's stack check; "
    if [[ -z $shape ]]; then pass "$v: fixture shape (AArch64 $want_type, stack check)"; else fail "$v: fixture shape" "$shape"; fi

    qrun "$in"
    local orig_re=$'^add 5\nmethod 8\ndepth 100000\nnow 2[0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
    if [[ $RUN_RC -eq 0 && $RUN_OUT =~ $orig_re ]]; then pass "$v: original output"
    else fail "$v: original output" "rc $RUN_RC" "$RUN_OUT" "$RUN_ERR"; fi

    local in_sha
    in_sha=$(sha "$in")
    hp "$in" "$out" "$rules"
    if [[ $HP_RC -eq 0 && $HP_ERR == *"hookpatch: hooked 4 functions, skipped 0"* ]]; then
        pass "$v: patch"
    else
        fail "$v: patch" "rc $HP_RC" "$HP_ERR"
        return 0
    fi
    local want=$'add 203\nmethod 1007\ndepth 200000\nnow 2001-02-03T04:05:06Z (rc 0)'
    qrun "$out"
    check_eq "$v: hooked output" "$want" "$RUN_OUT (rc $RUN_RC)"
    # The collector and the stack copier walk hooked frames too.
    run_prog env GOGC=1 GODEBUG=gcstoptheworld=1 $A64_RUNNER "$out"
    check_eq "$v: hooked output under GOGC=1" "$want" "$RUN_OUT (rc $RUN_RC)"
    first=$(insns "$out" main.Depth 1)
    [[ $first =~ ^b\ [0-9a-f]+\ \<main\.DepthMock ]] || [[ $first =~ ^b\ [0-9a-f]+\ \<.*hookpatch ]] &&
        pass "$v: main.Depth's entry is one B ($first)" || fail "$v: main.Depth's entry" "$first"
    hp "$in" "$dir/out2" "$rules"
    if [[ $HP_RC -eq 0 ]] && cmp -s "$out" "$dir/out2"; then pass "$v: deterministic output"
    else fail "$v: deterministic output" "rc $HP_RC; $(cmp "$out" "$dir/out2" 2>&1 | head -1)"; fi
    check_eq "$v: input unchanged" "$in_sha" "$(sha "$in")"
}

# ---- go_original: replace + original on the three stack-check forms.
job_original()
{
    local mode=$1 v="$GO_LABEL original $1" dir=$HP_WORK/$GO_LABEL/orig-$1 flags=()
    local fix=$HP_SRC/tests/fixtures/go_original
    [[ $mode == pie ]] && flags=(-buildmode=pie)
    mkdir -p "$dir" && cp -r "$fix" "$dir/src"
    local in=$dir/in out=$dir/out err="" p
    build "$dir/src" "$in" "${flags[@]}" || return 0
    p=$(insns "$in" main.Small 3 | tr '\n' ';')
    [[ $p =~ ^ldr\ x16,\ \[x28,\ #16\]\;cmp\ sp,\ x16\;b\.ls\  ]] || err+="Small: '$p'; "
    p=$(insns "$in" main.Deep 4 | tr '\n' ';')
    [[ $p =~ ^ldr\ x16,\ \[x28,\ #16\]\;sub\ x17,\ sp,\ #0x[0-9a-f]+\;cmp\ x17,\ x16\;b\.ls\  ]] ||
        err+="Deep: '$p'; "
    p=$(insns "$in" main.Huge 6 | tr '\n' ';')
    [[ $p =~ ^ldr\ x16,\ \[x28,\ #16\]\;mov\ x27,\ #0x[0-9a-f]+\;subs\ x17,\ sp,\ x27\;b\.(cc|lo)\ [^\;]*\;cmp\ x17,\ x16\;b\.ls\  ]] ||
        err+="Huge: '$p'; "
    [[ -z $err ]] && pass "$v: Small/Deep/Huge have the cmp sp, sub x17 and mov x27/subs/b.lo stack checks" ||
        fail "$v: fixture shape" "$err"
    run_prog timeout 300 $A64_RUNNER "$in"
    check_eq "$v: unpatched output" "$(cat "$fix/expected_plain.txt") (rc 0)" "$RUN_OUT (rc $RUN_RC)"

    hp --json "$in" "$out" "$dir/src/rules.toml"
    local counts
    counts=$("$PY" -c 'import json,sys
j = json.loads(sys.stdin.read())
print(j["hooked"], j["skipped"], sum(1 for h in j["hooks"] if h.get("original", "").endswith("Orig")))' <<<"$HP_OUT" 2>&1 || true)
    check_eq "$v: 6 hooked, each with its original bound" "6 0 6 (rc 0)" "$counts (rc $HP_RC)"
    [[ $HP_RC -eq 0 ]] || { printf '        | %s\n' "$HP_ERR"; return 0; }
    # The morestack trailer ends in "b entry": now "b <trampoline>".
    local f last
    for f in Small Deep Huge Work; do
        last=$(insns "$out" "main.$f" | grep -E '^b [0-9a-f]+ <' | tail -1)
        [[ $last == *"<main.$f.hookpatch_orig>" ]] &&
            pass "$v: main.$f's morestack trailer branches to the trampoline" ||
            fail "$v: main.$f's morestack trailer" "last B: '$last'"
    done
    local run
    for run in 1 2; do
        run_prog timeout 300 $A64_RUNNER "$out"
        check_eq "$v: run $run: every hook ran exactly once per call" \
            "$(cat "$fix/expected_hooked.txt") (rc 0)" "$RUN_OUT (rc $RUN_RC)"
        [[ $RUN_RC -eq 0 ]] || grep -m3 -E 'unknown pc|fatal error|panic|SIGSEGV|unexpected return pc' <<<"$RUN_ERR" || true
    done
}

# ---- go_names: every name shape, with and without symbols.
job_names()
{
    local mode=$1 strip=$2 v="$GO_LABEL names $1-$2" dir=$HP_WORK/$GO_LABEL/names-$1-$2
    local flags=()
    [[ $mode == pie ]] && flags+=(-buildmode=pie)
    [[ $strip == stripped ]] && flags+=(-ldflags=-s\ -w)
    mkdir -p "$dir" && cp -r "$HP_SRC/tests/fixtures/go_names" "$dir/src"
    cd "$dir/src"
    local in=$dir/in
    build "$dir/src" "$dir/nm" || return 0
    build "$dir/src" "$in" "${flags[@]}" || return 0
    local shapes int_shape rules=rules-go.toml expected=expected.txt
    shapes=$(go tool nm "$dir/nm" | awk '$2 == "T" && $3 ~ /^main\.G\[/ { print $3 }' | sort)
    int_shape=$(grep '^main\.G\[go\.shape\.int' <<<"$shapes" || true)
    [[ -n $int_shape ]] || { fail "$v: no main.G int shape in '$shapes'"; return 0; }
    sed "s/main\.G\[go\.shape\.int_0\]/$int_shape/" rules.toml >rules-go.toml
    if [[ $strip == stripped ]]; then
        readelf -SW "$in" | grep -q '\.symtab' && { fail "$v: expected no .symtab"; return 0; }
        if grep -qaF 'main.G[...]' "$in"; then
            # Go 1.19's pclntab abbreviates shapes (see go_names.sh).
            sed 's/^generic 8 1$/generic 1 1/' expected.txt >expected-stripped.txt
            rules=rules_stripped.toml expected=expected-stripped.txt
        fi
    fi
    hp "$in" "$dir/out" "$rules"
    [[ $HP_RC -eq 0 ]] || { fail "$v: patch" "rc $HP_RC" "$HP_ERR"; return 0; }
    qrun "$dir/out"
    check_eq "$v: return/replace/passthrough on methods, closures, generics, other packages" \
        "$(cat "$expected") (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    hp "$in" "$dir/all" rules_all_shapes.toml
    qrun "$dir/all"
    if [[ $(grep generic <<<"$RUN_OUT") == "generic 77 77" && $HP_ERR == *"hooking all 2 instantiations"* ]]; then
        pass "$v: bare generic name hooks every shape"
    else fail "$v: generic" "rc $HP_RC/$RUN_RC" "$HP_ERR" "$RUN_OUT"; fi
}

# ---- every function of a whole binary, and runtime.goexit.
job_whole()
{
    local v="$GO_LABEL whole" dir=$HP_WORK/$GO_LABEL/whole
    mkdir -p "$dir" && cp -r "$HP_SRC/tests/fixtures/go_basic" "$dir/src"
    build "$dir/src" "$dir/in" || return 0
    printf '[[hook]]\ntarget = "*"\naction = "passthrough"\n' >"$dir/all.toml"
    hp "$dir/in" "$dir/out" "$dir/all.toml"
    local hooked skipped
    read -r hooked skipped <<<"$(sed -n 's/^hookpatch: hooked \([0-9]*\) functions, skipped \([0-9]*\)$/\1 \2/p' <<<"$HP_ERR")"
    echo "# $v: target = \"*\": hooked $hooked, skipped $skipped:"
    grep '^  skipped ' <<<"$HP_ERR" || true
    if [[ $HP_RC -eq 0 && ${hooked:-0} -gt 1000 && $((skipped * 200)) -lt $((hooked + skipped)) ]]; then
        pass "$v: target = \"*\": $hooked hooked, $skipped skipped (< 0.5%), each with a reason"
    else fail "$v: target = \"*\"" "rc $HP_RC, hooked '$hooked', skipped '$skipped'" "$(head -5 <<<"$HP_ERR")"; fi
    [[ $(grep -c '^  skipped ' <<<"$HP_ERR") == "$skipped" ]] &&
        pass "$v: every skip is printed with its reason" || fail "$v: skip lines"
    [[ $HP_ERR == *"skipped runtime.goexit"*"every goroutine returns into runtime.goexit+4"* ]] &&
        pass "$v: runtime.goexit is skipped with its reason" || fail "$v: goexit skip" "$HP_ERR"
    qrun "$dir/out"
    [[ $RUN_RC -eq 0 && $RUN_OUT == $'add 5\nmethod 8\ndepth 100000\nnow '* ]] &&
        pass "$v: every function passed through: same output" ||
        fail "$v: passthrough output" "rc $RUN_RC" "$RUN_OUT" "$(head -5 <<<"$RUN_ERR")"
    printf '[[hook]]\ntarget = "runtime.goexit.abi0"\naction = "passthrough"\n' >"$dir/goexit.toml"
    hp "$dir/in" "$dir/goexit" "$dir/goexit.toml"
    [[ $HP_RC -eq 1 && ! -e $dir/goexit &&
        $HP_ERR == *"error: $dir/goexit.toml:2:10: target 'runtime.goexit.abi0': cannot hook at 0x"*": every goroutine returns into runtime.goexit+4, past the patched entry"* ]] &&
        pass "$v: runtime.goexit as an exact target: an error with the reason, no OUT" ||
        fail "$v: goexit refusal" "rc $HP_RC" "$HP_ERR"
}

# ---- the far layout: new code out of B reach.
job_far()
{
    local v="$GO_LABEL far" dir=$HP_WORK/$GO_LABEL/far fix=$HP_SRC/tests/fixtures/go_original
    mkdir -p "$dir" && cp -r "$fix" "$dir/src"
    build "$dir/src" "$dir/in" || return 0
    printf '[[hook]]\ntarget = "main.*"\naction = "passthrough"\n' >"$dir/main.toml"
    HOOKPATCH_TEST_FAR=1 hp "$dir/in" "$dir/out" "$dir/main.toml"
    echo "# $v: main.* passthrough, far:"
    printf '%s\n' "$HP_ERR" | sed 's/^/#   /'
    local f p
    for f in Small Deep Huge; do
        p=$(insns "$dir/out" "main.$f" 3 | tr '\n' ';')
        [[ $p =~ ^adrp\ x16,.*\;add\ x16,\ x16,.*\;br\ x16\; ]] &&
            pass "$v: main.$f enters through the far prologue" || fail "$v: main.$f far prologue" "'$p'"
    done
    [[ $HP_RC -eq 0 && $HP_ERR != *"skipped main.Small "* && $HP_ERR != *"skipped main.Deep "* &&
        $HP_ERR != *"skipped main.Huge "* ]] &&
        pass "$v: every stack-check form is hooked (the jump back uses a register the check no longer reads)" ||
        fail "$v: stack-check forms hooked" "rc $HP_RC"
    run_prog timeout 300 $A64_RUNNER "$dir/out"
    check_eq "$v: passthrough output" "$(cat "$fix/expected_plain.txt") (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    HOOKPATCH_TEST_FAR=1 hp "$dir/in" "$dir/orig" "$dir/src/rules.toml"
    [[ $HP_RC -eq 1 && ! -e $dir/orig &&
        $HP_ERR == *"target 'main.Small': cannot hook at 0x"*"returns to the entry, and the trampoline is out of its reach (far layout)"* ]] &&
        pass "$v: original = with a morestack trailer out of reach is refused with the reason" ||
        fail "$v: original refusal" "rc $HP_RC" "$HP_ERR"
}

# ---- go test -exec through qemu.
job_exec()
{
    local v="$GO_LABEL exec" dir=$HP_WORK/$GO_LABEL/exec
    mkdir -p "$dir" && cp -r "$HP_SRC/examples/gotest" "$dir/gotest"
    cd "$dir/gotest"
    if go test -count=1 -gcflags=all=-l -v \
        -exec "$HOOKPATCH exec --runner '$A64_RUNNER' rules.toml --" ./... >out.txt 2>&1 &&
        grep -q '^ok' out.txt && grep -q -- '--- PASS: TestCounterIsMocked' out.txt; then
        pass "$v: GOARCH=arm64 go test -exec 'hookpatch exec --runner qemu' passes (time.Now, a method)"
    else fail "$v: go test -exec" "$(tail -20 out.txt)"; fi
    if ! go test -count=1 -gcflags=all=-l -exec "$A64_RUNNER" ./... >plain.txt 2>&1 &&
        grep -q 'want 42' plain.txt; then
        pass "$v: under qemu without hookpatch the same tests fail"
    else fail "$v: unpatched run should fail" "$(tail -5 plain.txt)"; fi

    cp -r "$HP_SRC/tests/fixtures/go_exec" "$dir/execcheck"
    cd "$dir/execcheck"
    go build -gcflags=all=-l -o prog .
    run() { "$HOOKPATCH" exec --runner "$A64_RUNNER" rules.toml -- ./prog "$@"; }
    [[ $(printf 'a\nb\n' | run echo 2>/dev/null) == $'patched:a\npatched:b' ]] &&
        pass "$v: stdin and stdout pass through qemu, code is patched" || fail "$v: stdin/stdout"
    [[ $(printf 'x\n' | run echo 2>&1 >/dev/null) == "to stderr" ]] && pass "$v: stderr passes through" ||
        fail "$v: stderr"
    local rc=0
    run exit 7 </dev/null || rc=$?
    check_eq "$v: exit status passes through" 7 "$rc"
    [[ $(find . -name '.prog.hookpatch-*' | wc -l) == 0 ]] && pass "$v: the temporary is removed" ||
        fail "$v: temporaries left"
}

# Each job inherits the toolchain go_use set when it started.
for tc in "${TOOLCHAINS[@]}"; do
    go_use $tc
    echo "# $(go version)"
    for m in exe pie; do par_start job_basic $m; done
    for m in default pie; do par_start job_original $m; done
    for m in default pie; do
        for s in symbols stripped; do par_start job_names $m $s; done
    done
    par_start job_whole
    par_start job_far
    par_start job_exec
done
par_wait
e2e_finish
