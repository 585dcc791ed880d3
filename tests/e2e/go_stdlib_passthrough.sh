#!/usr/bin/env bash
# Trampolines on real Go code: the standard library's own test binaries,
# built with `go test -c -gcflags=all=-l`, patched with passthrough on every
# function of the package under test (and of its external _test package),
# must still PASS their tests (-test.short). math/big and crypto/sha256 bring
# assembly (ABI0 functions and their ABIInternal wrappers). Then target = "*"
# on whole binaries: the runtime, reflect, testing, everything.
# For each binary: fewer than 1% of the matched functions may be skipped, the
# output must record every hook, and one hooked entry must really be a jmp.
# Everything once per Go toolchain go_toolchains lists (Go 1.19 and the
# current release); check names and the table say which. Test binaries run
# in their package's source directory, as `go test` runs them (math/big's
# TestEscape runs `go build` there).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${HOOKPATCH:?} ${HP_SRC:?} ${HP_WORK:?}"
# The Go build caches survive reruns: compiling the standard library with
# -l costs about two minutes on two cores per Go version, and cannot change
# the result.
mkdir -p "$HP_WORK"
find "$HP_WORK" -mindepth 1 -maxdepth 1 ! -name gocache -exec rm -rf {} +
export GOPATH="$HP_WORK/gopath" GOFLAGS=-mod=mod GOPROXY=off
export LC_ALL=C
PY=$(python3 -c 'import sys; print(sys.executable)')
pass=0 fail=0
ok() { echo "ok   $GO_LABEL $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $GO_LABEL $1"; fail=$((fail + 1)); }
T0=$SECONDS
table=()

# Tests that fail on the UNPATCHED test binary built with -gcflags=all=-l
# (found with Go 1.26; Go 1.19 passes them): each counts heap allocations
# that only inlining avoids, so no hookpatch output could pass it either.
#   bytes          TestNewBufferShallow: "allocations occurred while shallow copying"
#   math/big       TestNewIntAllocs: "x.Add(x, NewInt(0)), wanted 0 allocations, got 1"
#   crypto/sha256  TestAllocations: "allocs = 8, want 0",
#                  TestAllocatonsWithTypeAsserts: "allocs = 3; want = 0"
# One of them is skipped (-test.skip) only after the unpatched binary of
# this toolchain failed it, and only if the unpatched binary then passes
# without it; then the patched binaries skip it too. Any other unpatched
# failure fails the package.
declare -A UNPATCHED_FAILS=(
    [bytes]='TestNewBufferShallow'
    [math/big]='TestNewIntAllocs'
    [crypto/sha256]='TestAllocations TestAllocatonsWithTypeAsserts'
)
declare -A SKIP_RE # package -> the -test.skip regexp its binaries run with

# run_test BIN PKG OUT: run a test binary as `go test` would, in the
# package's directory, with the package's skips; its output in OUT.
run_test()
{
    local bin=$1 pkg=$2 out=$3
    local -a skip=()
    [ -n "${SKIP_RE[$pkg]:-}" ] && skip=(-test.skip "${SKIP_RE[$pkg]}")
    (cd "$GOROOT_SRC/$pkg" && timeout 180 "$bin" -test.short -test.count=1 "${skip[@]}") >"$out" 2>&1
}

# unpatched PKG BIN: the unpatched tests pass, or fail only in tests of
# UNPATCHED_FAILS, which are then skipped for this package.
unpatched()
{
    local pkg=$1 bin=$2 n=${2##*/} failed t re=""
    SKIP_RE[$pkg]=""
    run_test "$bin" "$pkg" "$n.plain" && return 0
    failed=$(sed -n 's/^--- FAIL: \([^ ]*\).*/\1/p' "$n.plain" | sort -u)
    for t in $failed; do
        if [[ " ${UNPATCHED_FAILS[$pkg]:-} " != *" $t "* ]]; then
            bad "$pkg: the unpatched tests fail"; tail -5 "$n.plain"; return 1
        fi
        re+="${re:+|}$t"
    done
    [ -n "$re" ] || { bad "$pkg: the unpatched tests fail"; tail -5 "$n.plain"; return 1; }
    SKIP_RE[$pkg]="^($re)\$"
    if run_test "$bin" "$pkg" "$n.plain"; then
        ok "$pkg: unpatched tests PASS without $(echo $failed), which fail unpatched too (allocation counts that need inlining)"
        return 0
    fi
    bad "$pkg: the unpatched tests fail even without $(echo $failed)"; tail -5 "$n.plain"
    return 1
}

# summarize JSON PREFIX...: "matched hooked skipped foreign" then one line per
# skip reason. foreign counts hooked targets outside the given name prefixes
# (empty list: none expected).
summarize()
{
    "$PY" - "$@" <<'PY'
import collections, json, sys
j = json.load(open(sys.argv[1]))
prefixes = tuple(sys.argv[2:])
hooks, skips = j["hooks"], j["skipped_hooks"]
assert j["hooked"] == len(hooks) and j["skipped"] == len(skips)
foreign = [h["target"] for h in hooks if prefixes and not h["target"].startswith(prefixes)]
print(len(hooks) + len(skips), len(hooks), len(skips), len(foreign))
for f in foreign[:5]:
    print("  foreign target:", f)
for r, n in collections.Counter(s["reason"] for s in skips).most_common():
    print("  skipped %d: %s" % (n, r))
for s in skips[:20]:
    print("    %s (0x%x)" % (s["target"], s["address"]))
PY
}

# first_hook JSON: "name patch_address" of the first hooked target.
first_hook()
{
    "$PY" -c 'import json,sys
h = json.load(open(sys.argv[1]))["hooks"][0]
print("%x %s" % (h["patch_address"], h["target"]))' "$1"
}

# check_binary LABEL OUT JSON ERR PREFIX...: the report, the recorded
# patches, one patched entry, the 1% bound and the patched test run.
check_binary()
{
    local label=$1 out=$2 json=$3 err=$4
    shift 4
    local sum matched hooked skipped foreign result=FAIL
    sum=$(summarize "$json" "$@")
    read -r matched hooked skipped foreign <<<"$(head -1 <<<"$sum")"
    echo "  $label: matched $matched, hooked $hooked, skipped $skipped"
    tail -n +2 <<<"$sum"
    [ "$foreign" = 0 ] && ok "$label: every hooked target is in ${*:-the binary}" ||
        bad "$label: $foreign hooked targets outside ${*}"
    if [ "$hooked" -gt 0 ] && [ $((skipped * 100)) -lt "$matched" ]; then
        ok "$label: skipped $skipped of $matched (< 1%)"
    else bad "$label: skipped $skipped of $matched (want < 1%, and something hooked)"; fi
    grep -q "^hookpatch: hooked $hooked functions, skipped $skipped$" "$err" &&
        ok "$label: summary line agrees with --json" || { bad "$label: summary line"; head -3 "$err"; }
    local recorded
    recorded=$("$HOOKPATCH" list "$out" | grep -c '^hook passthrough ' || true)
    [ "$recorded" = "$hooked" ] && ok "$label: .hookpatch.info records all $hooked hooks" ||
        bad "$label: .hookpatch.info records $recorded hooks, want $hooked"
    local va name insn
    read -r va name <<<"$(first_hook "$json")"
    insn=$(objdump -d --no-show-raw-insn --start-address=0x"$va" --stop-address=$((0x$va + 5)) "$out" |
        grep -E "^ *$va:" || true)
    [[ $insn == *jmp*hookpatch_orig* ]] && ok "$label: $name starts with a jmp to its trampoline" ||
        bad "$label: $name at 0x$va: '$insn'"
    local t=$SECONDS rc=0
    run_test "$PWD/$out" "$PKG" "$out.run" || rc=$?
    if [ "$rc" = 0 ] && [ "$(tail -1 "$out.run")" = PASS ]; then
        ok "$label: patched tests PASS ($((SECONDS - t)) s)"; result=PASS
    else
        bad "$label: patched tests (rc $rc, $((SECONDS - t)) s)"; awk '!/^0x/ && n++ < 25' "$out.run"
    fi
    table+=("$(printf '%-7s %-16s %-40s %7s %7s %7s  %s' "$GO_LABEL" "$PKG" "$RULE" "$matched" "$hooked" "$skipped" "$result")")
}

rules_for() # GLOB...: one passthrough rule per glob
{
    local g
    for g in "$@"; do printf '[[hook]]\ntarget = "%s"\naction = "passthrough"\n\n' "$g"; done
}

# ---- one package at a time: PKG.* and PKG_test.*
packages=(strings bytes sort unicode/utf8 container/list math/big crypto/sha256)
stdlib_for()
{
    mkdir -p "$HP_WORK/$GO_LABEL" && cd "$HP_WORK/$GO_LABEL"
    GOROOT_SRC=$(go env GOROOT)/src
    for PKG in "${packages[@]}"; do
        n=${PKG//\//_}
        t=$SECONDS
        if ! go test -c -gcflags=all=-l -o "$n.test" "$PKG" >"$n.build" 2>&1; then
            bad "$PKG: go test -c"; cat "$n.build"; continue
        fi
        echo "# $GO_LABEL $PKG: test binary built in $((SECONDS - t)) s"
        # Unpatched first: a failing test here is not hookpatch's doing.
        unpatched "$PKG" "$PWD/$n.test" || continue
        rules_for "$PKG.*" "${PKG}_test.*" >"$n.toml"
        RULE="$PKG.* ${PKG}_test.*"
        rc=0
        "$HOOKPATCH" --json "$n.test" "$n.out" "$n.toml" >"$n.json" 2>"$n.err" || rc=$?
        if [ "$rc" != 0 ]; then bad "$PKG: hookpatch exit $rc"; head -5 "$n.err"; continue; fi
        own=$("$PY" -c 'import json,sys
print(sum(h["target"].startswith(sys.argv[2] + ".") for h in json.load(open(sys.argv[1]))["hooks"]))' \
            "$n.json" "$PKG")
        [ "$own" -ge 10 ] && ok "$PKG: $own functions of the package itself hooked" ||
            bad "$PKG: only $own functions of the package itself hooked"
        check_binary "$PKG" "$n.out" "$n.json" "$n.err" "$PKG." "${PKG}_test."
    done

    # ---- target = "*": every function of the binary, the runtime included.
    rules_for '*' >all.toml
    for PKG in container/list math/big; do
        n=${PKG//\//_}
        [ -x "$n.test" ] || { bad "$PKG: no test binary for target = \"*\""; continue; }
        RULE='*'
        rc=0
        "$HOOKPATCH" --json "$n.test" "$n.all" all.toml >"$n.all.json" 2>"$n.all.err" || rc=$?
        if [ "$rc" != 0 ]; then bad "$PKG *: hookpatch exit $rc"; head -5 "$n.all.err"; continue; fi
        # Thousands of hooks: the scan, the entry analysis and the trampolines
        # ran on every core; on one core the output must be the same bytes.
        if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -gt 1 ]; then
            taskset -c 0 "$HOOKPATCH" -q "$n.test" "$n.all1" all.toml 2>/dev/null &&
                cmp -s "$n.all" "$n.all1" && ok "$PKG *: one core gives the same bytes" ||
                bad "$PKG *: output on one core differs"
        fi
        before=$fail
        check_binary "$PKG (*)" "$n.all" "$n.all.json" "$n.all.err"
        if [ "$fail" != "$before" ] && "$PY" -c 'import json,sys
sys.exit(not any(h["target"].startswith("runtime.goexit") for h in json.load(open(sys.argv[1]))["hooks"]))' \
                "$n.all.json"; then
            # Diagnosis, not a test: the same hooks without runtime.goexit.
            # Every goroutine's first frame returns to goexit+1 (newproc1 sets
            # sched.pc = goexit + PCQuantum), which a patched goexit overwrites.
            "$PY" -c 'import json,sys
for h in json.load(open(sys.argv[1]))["hooks"]:
    if not h["target"].startswith("runtime.goexit"):
        print("[[hook]]\ntarget = %s\naction = \"passthrough\"\n" % json.dumps(h["target"]))' \
                "$n.all.json" >"$n.nogoexit.toml"
            rc=0
            "$HOOKPATCH" -q "$n.test" "$n.nogoexit" "$n.nogoexit.toml" 2>/dev/null &&
                run_test "$PWD/$n.nogoexit" "$PKG" "$n.nogoexit.run" || rc=$?
            echo "  note: the same hooks minus runtime.goexit: $([ "$rc" = 0 ] && echo PASS || echo "also fail (rc $rc)")"
        fi
    done
}

mapfile -t TOOLCHAINS < <(go_toolchains)
[ ${#TOOLCHAINS[@]} -gt 0 ] || { echo "FAIL no Go toolchain found"; fail=1; }
for tc in "${TOOLCHAINS[@]}"; do
    go_use $tc
    t0=$SECONDS
    stdlib_for
    echo "# $GO_LABEL: $((SECONDS - t0)) s"
done

echo
printf '%-7s %-16s %-40s %7s %7s %7s  %s\n' go package rules matched hooked skipped tests
printf '%s\n' "${table[@]}"
echo "time: $((SECONDS - T0)) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
