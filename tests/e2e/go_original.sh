#!/usr/bin/env bash
# `replace` + `original` on every Go toolchain go_toolchains lists (Go 1.19
# and the current release; check names say which), -gcflags=all=-l, default
# and -buildmode=pie (tests/fixtures/go_original): a function, a pointer-receiver
# method (whose original is bound to a method), and recursive functions with
# each of Go's three stack-check prologues (frame < 128 bytes: cmp rsp;
# ~512 bytes: lea r12; > 4 KiB: mov r12,rsp; sub; jb) whose originals run
# through the trampoline 3000 to 200000 frames deep, so the stack grows many
# times. Growing re-enters the function through its morestack trailer; if
# that reached the patched entry the hook would run twice, so the hooks count
# and every count must be exact. Then 8 goroutines call a hooked function
# 10000 times each while another runs runtime.GC() in a loop (stacks shrink
# and grow again): no crash, no "unknown pc", exact counts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${HOOKPATCH:?} ${HP_SRC:?} ${HP_WORK:?}"
rm -rf "$HP_WORK"; mkdir -p "$HP_WORK"
export GOPATH="$HP_WORK/gopath" GOFLAGS=-mod=mod GOPROXY=off
export LC_ALL=C
PY=$(python3 -c 'import sys; print(sys.executable)')
pass=0 fail=0
ok() { echo "ok   $GO_LABEL $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $GO_LABEL $1"; fail=$((fail + 1)); }
FIX=$HP_SRC/tests/fixtures/go_original
T0=$SECONDS

# prologue BIN FUNC N: FUNC's first N instructions, without addresses.
prologue()
{
    objdump -d --no-show-raw-insn --disassemble="$2" "$1" |
        awk -v n="<$2>:" -v want="$3" '$2 == n { on = 1; next }
            on && /^ *[0-9a-f]+:/ { sub(/^ *[0-9a-f]+:[ \t]*/, ""); gsub(/  +/, " ");
                                    sub(/ *<.*>$/, ""); if (got++ < want) print }
            /^$/ { on = 0 }' | tr '\n' ';'
}

# shape BIN: the recursive targets really have the three prologue forms.
shape()
{
    local bin=$1 err="" p
    p=$(prologue "$bin" main.Small 2)
    [[ $p =~ ^cmp\ 0x10\(%r14\),%rsp\;jbe\ [0-9a-f]+\;$ ]] || err+="Small: '$p'; "
    p=$(prologue "$bin" main.Deep 3)
    [[ $p =~ ^lea\ -0x[0-9a-f]+\(%rsp\),%r12\;cmp\ 0x10\(%r14\),%r12\;jbe\ [0-9a-f]+\;$ ]] ||
        err+="Deep: '$p'; "
    p=$(prologue "$bin" main.Huge 5)
    [[ $p =~ ^mov\ %rsp,%r12\;sub\ \$0x[0-9a-f]+,%r12\;jb\ [0-9a-f]+\;cmp\ 0x10\(%r14\),%r12\;jbe\ [0-9a-f]+\;$ ]] ||
        err+="Huge: '$p'; "
    local frame
    frame=$(prologue "$bin" main.Huge 2 | sed -n 's/.*sub \$0x\([0-9a-f]*\),%r12.*/\1/p')
    [ -n "$frame" ] && [ $((0x$frame)) -gt 4096 ] || err+="Huge's frame is 0x$frame bytes, want > 4 KiB; "
    [ -z "$err" ] && return 0
    echo "  $err"
    return 1
}

# original_for: both modes with the current toolchain.
original_for()
{
    mkdir -p "$HP_WORK/$GO_LABEL"
    cp -r "$FIX" "$HP_WORK/$GO_LABEL/src"
    cd "$HP_WORK/$GO_LABEL/src"
    local mode flags t rc hooked skipped bound run
    for mode in default pie; do
        flags=(-gcflags=all=-l)
        [ "$mode" = pie ] && flags+=(-buildmode=pie)
        t=$SECONDS
        if ! go build "${flags[@]}" -o "prog-$mode" . >"build-$mode.txt" 2>&1; then
            bad "$mode: go build"; cat "build-$mode.txt"; continue
        fi
        echo "# $GO_LABEL $mode: built in $((SECONDS - t)) s"
        shape "prog-$mode" && ok "$mode: Small/Deep/Huge have the cmp, lea and mov/sub/jb stack checks" ||
            bad "$mode: fixture shape"
        rc=0; timeout 120 "./prog-$mode" >"plain-$mode.txt" 2>&1 || rc=$?
        [ "$rc" = 0 ] && diff -u "$FIX/expected_plain.txt" "plain-$mode.txt" &&
            ok "$mode: unpatched output" || bad "$mode: unpatched output (rc $rc)"

        rc=0
        "$HOOKPATCH" --json "prog-$mode" "out-$mode" rules.toml >"report-$mode.json" 2>"err-$mode.txt" || rc=$?
        if [ "$rc" != 0 ]; then bad "$mode: hookpatch exit $rc"; cat "err-$mode.txt"; continue; fi
        read -r hooked skipped bound <<<"$("$PY" -c 'import json,sys
j = json.load(open(sys.argv[1]))
print(j["hooked"], j["skipped"], sum(1 for h in j["hooks"] if h.get("original", "").endswith("Orig")))' \
            "report-$mode.json")"
        [ "$hooked/$skipped/$bound" = 6/0/6 ] && ok "$mode: 6 hooked, each with its original bound" ||
            { bad "$mode: hooked $hooked, skipped $skipped, originals $bound"; cat "err-$mode.txt"; }

        # Three runs: the goroutine/GC part is timing-dependent.
        for run in 1 2 3; do
            rc=0; t=$SECONDS
            timeout 120 "./out-$mode" >"hooked-$mode-$run.txt" 2>&1 || rc=$?
            if [ "$rc" = 0 ] && diff -u "$FIX/expected_hooked.txt" "hooked-$mode-$run.txt"; then
                ok "$mode: run $run: every hook ran exactly once per call ($((SECONDS - t)) s)"
            else
                bad "$mode: run $run: patched output (rc $rc)"
                grep -m3 -E 'unknown pc|fatal error|panic|SIGSEGV|unexpected return pc' "hooked-$mode-$run.txt" || true
            fi
        done
    done
}

mapfile -t TOOLCHAINS < <(go_toolchains)
[ ${#TOOLCHAINS[@]} -gt 0 ] || { echo "FAIL no Go toolchain found"; fail=1; }
for tc in "${TOOLCHAINS[@]}"; do
    go_use $tc
    t=$SECONDS
    original_for
    echo "# $GO_LABEL: $((SECONDS - t)) s"
done

echo "time: $((SECONDS - T0)) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
