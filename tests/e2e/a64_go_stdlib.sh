#!/usr/bin/env bash
# Trampolines on real Go code on arm64: the standard library's own test
# binaries (strings, strconv, regexp, encoding/json, math/big), built with
# GOARCH=arm64 `go test -c -gcflags=all=-l`, every function of the binary
# passed through (target = "*": the runtime, reflect, testing, everything),
# run under qemu-user with -test.short in the package's source directory
# (as `go test` runs them): they PASS. At least 99.5% of the named
# functions are hooked and every skip is printed with its reason; the
# summary line agrees with --json, .hookpatch.info records every hook, and
# the first hooked entry is a B to its trampoline. Once per Go toolchain
# go_toolchains lists (Go 1.19 and the current release).
#
# Builds run one at a time (go uses the cores itself); the qemu runs in
# parallel (par_start). Tests that fail on the UNPATCHED binary are handled
# as in go_stdlib_passthrough.sh: only the known allocation counts that need
# inlining (math/big TestNewIntAllocs) may be skipped, and only after the
# unpatched binary failed them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

a64_have "a64_go_stdlib" || { e2e_finish; exit $?; }
mapfile -t TOOLCHAINS < <(go_toolchains)
if [[ ${#TOOLCHAINS[@]} -eq 0 ]]; then
    skip "a64_go_stdlib" "go is not installed"
    e2e_finish
    exit $?
fi
# GOPATH mode outside any module: the test binaries get the GODEBUG
# defaults of their own Go release (encoding/json's synctest tests need it).
export GOPATH=$HP_WORK/gopath GOFLAGS= GOPROXY=off GOTELEMETRY=off
export GOOS=linux GOARCH=arm64 CGO_ENABLED=0
OBJDUMP=aarch64-linux-gnu-objdump
command -v $OBJDUMP >/dev/null || OBJDUMP=llvm-objdump
# The slowest under qemu first, so the parallel runs end together.
PACKAGES=(math/big encoding/json regexp strconv strings)
declare -A UNPATCHED_FAILS=([math/big]='TestNewIntAllocs')
printf '[[hook]]\ntarget = "*"\naction = "passthrough"\n' >"$HP_WORK/all.toml"

# run_test BIN PKG OUT [SKIP-RE]: the test binary under qemu as `go test`
# runs it, without the tests SKIP-RE matches; its output in OUT. Go 1.19
# has no -test.skip: the other tests are named with -test.run instead.
run_test()
{
    local bin=$1 pkg=$2 out=$3 re=${4:-} names
    local -a only=()
    cd "$(go env GOROOT)/src/$pkg"
    if [[ -n $re ]]; then
        # shellcheck disable=SC2086 # A64_RUNNER is a command line
        names=$(timeout 600 $A64_RUNNER "$bin" -test.list '.*' | grep -Ev "$re" | paste -sd'|')
        only=(-test.run "^($names)\$")
    fi
    # shellcheck disable=SC2086
    timeout 600 $A64_RUNNER "$bin" -test.short -test.count=1 "${only[@]}" >"$out" 2>&1
}

# known_fails PKG: KNOWN_RE := the regexp of PKG's known unpatched failures
# that really fail unpatched with this toolchain (each run alone: fast);
# empty when none does.
known_fails()
{
    local pkg=$1 bin=$PWD/${1//\//_}.test tn re=""
    for tn in ${UNPATCHED_FAILS[$pkg]:-}; do
        # shellcheck disable=SC2086 # A64_RUNNER is a command line
        if ! (cd "$(go env GOROOT)/src/$pkg" && timeout 600 $A64_RUNNER "$bin" \
            -test.short -test.count=1 -test.run "^$tn\$") >"$bin.$tn.plain" 2>&1; then
            if ! grep -q -- "^--- FAIL: $tn " "$bin.$tn.plain"; then
                fail "$GO_LABEL $pkg: $tn alone" "$(tail -5 "$bin.$tn.plain")"
                continue
            fi
            echo "# $GO_LABEL $pkg: $tn fails unpatched too (an allocation count that needs inlining): skipped"
            re+="${re:+|}$tn"
        fi
    done
    KNOWN_RE=${re:+^($re)\$}
}

# patch PKG: patch the test binary; the coverage and the report.
patch()
{
    local pkg=$1 n=${1//\//_} v="$GO_LABEL $1" rc=0
    "$HOOKPATCH" --json "$n.test" "$n.out" "$HP_WORK/all.toml" >"$n.json" 2>"$n.err" || rc=$?
    [[ $rc -eq 0 ]] || { fail "$v: hookpatch exit $rc" "$(head -5 "$n.err")"; return 1; }
    local hooked skipped first
    read -r hooked skipped first < <("$PY" - "$n.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["hooked"] == len(j["hooks"]) and j["skipped"] == len(j["skipped_hooks"])
h = j["hooks"][0]
print(j["hooked"], j["skipped"], "%x:%s" % (h["patch_address"], h["target"]))
PY
    )
    local matched=$((hooked + skipped))
    echo "# $v: target = \"*\": matched $matched, hooked $hooked, skipped $skipped" \
        "($(awk -v h="$hooked" -v m="$matched" 'BEGIN { printf "%.3f", 100 * h / m }')% hooked)"
    grep '^  skipped ' "$n.err" | sed 's/^/#   /' || true
    if [[ $hooked -gt 1000 && $((skipped * 1000)) -le $((matched * 5)) ]]; then
        pass "$v: $hooked of $matched functions hooked (>= 99.5%)"
    else fail "$v: coverage" "hooked $hooked of $matched"; fi
    [[ $(grep -c '^  skipped .*: ' "$n.err" || true) == "$skipped" ]] &&
        pass "$v: every skip is printed with its reason" || fail "$v: skip lines" "$(head -5 "$n.err")"
    grep -q "^hookpatch: hooked $hooked functions, skipped $skipped$" "$n.err" &&
        pass "$v: summary line agrees with --json" || fail "$v: summary line" "$(head -2 "$n.err")"
    local recorded
    recorded=$("$HOOKPATCH" list "$n.out" | grep -c '^hook passthrough ' || true)
    check_eq "$v: .hookpatch.info records every hook" "$hooked" "$recorded"
    local va=${first%%:*} name=${first#*:} insn
    insn=$($OBJDUMP -d --no-show-raw-insn --start-address=0x"$va" --stop-address=$((0x$va + 4)) \
        "$n.out" | grep -E "^ *$va:" || true)
    [[ $insn =~ [[:space:]]b[[:space:]].*hookpatch_orig ]] &&
        pass "$v: $name starts with a B to its trampoline" || fail "$v: $name at 0x$va" "$insn"
}

# job PKG BIN WHAT SKIP-RE: one qemu run of the test binary; it must PASS.
job()
{
    local pkg=$1 bin=$2 what=$3 re=$4 t=$SECONDS rc=0 n=$2.run
    run_test "$bin" "$pkg" "$n" "$re" || rc=$?
    if [[ $rc -eq 0 && $(tail -1 "$n") == PASS ]]; then
        pass "$GO_LABEL $pkg: $what: tests PASS under qemu${re:+ (skipping $re)} ($((SECONDS - t)) s)"
    else
        fail "$GO_LABEL $pkg: $what: tests (rc $rc, $((SECONDS - t)) s)" "$(awk '!/^0x/ && n++ < 25' "$n")"
    fi
}

T0=$SECONDS
for tc in "${TOOLCHAINS[@]}"; do
    go_use $tc
    mkdir -p "$HP_WORK/$GO_LABEL"
    for pkg in "${PACKAGES[@]}"; do
        t=$SECONDS
        if go test -c -gcflags=all=-l -o "$HP_WORK/$GO_LABEL/${pkg//\//_}.test" "$pkg" \
            >"$HP_WORK/$GO_LABEL/${pkg//\//_}.build" 2>&1; then
            echo "# $GO_LABEL $pkg: test binary built in $((SECONDS - t)) s"
        else
            fail "$GO_LABEL $pkg: go test -c" "$(tail -5 "$HP_WORK/$GO_LABEL/${pkg//\//_}.build")"
        fi
    done
done
echo "# builds: $((SECONDS - T0)) s"
# Patch and check serially (fast), then every qemu run in parallel.
for tc in "${TOOLCHAINS[@]}"; do
    go_use $tc
    cd "$HP_WORK/$GO_LABEL"
    for pkg in "${PACKAGES[@]}"; do
        n=${pkg//\//_}
        [[ -x $n.test ]] || continue
        known_fails "$pkg"
        re=$KNOWN_RE
        patch "$pkg" || continue
        par_start job "$pkg" "$PWD/$n.out" "every function passed through" "$re"
        par_start job "$pkg" "$PWD/$n.test" "unpatched" "$re"
    done
done
par_wait
e2e_finish
