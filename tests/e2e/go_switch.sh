#!/usr/bin/env bash
# Issue 17, Go: per-test mocks with hookpatch.dev/mock (go/mock) on the
# module tests/e2e/go_switch, run by `go test -exec` through hookpatch
# exec, once per Go toolchain go_toolchains lists (check names say which).
#
# - clock (hookpatch.toml: switch time.Now, Add, Sum, (*Meter).Tick):
#   mocks, closures capturing state, the real function and Original within
#   one binary; a second Patch replaces the first; cleanups put back what
#   was there (each test checks the real functions first, -count=2 runs
#   the whole set twice); method expressions, interface calls, variadics,
#   func values, goroutines, GC. Run as ./... next to plain/, a package with
#   no hookpatch.toml, which runs unpatched. Exact PASS lines.
# - gor: PatchGoroutine in parallel subtests mocking one function in
#   different ways, goroutines that must see the non-goroutine behaviour,
#   under -race -count=20; exact PASS counts. Its benchmarks run once
#   (1000 iterations) so they are known to work.
# - gor again, built with go test -c (a symbol table), patched directly.
# - failcases (-tags failcases): the exact messages for a target with no
#   switch rule and for two parallel tests that Patch the same target.
# - go/mock's own tests, under -race (no hookpatch needed).
# - without hookpatch, clock fails with the message saying to run under
#   hookpatch exec.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

mapfile -t TOOLCHAINS < <(go_toolchains)
if [[ ${#TOOLCHAINS[@]} -eq 0 ]]; then
    skip "go_switch" "go is not installed"
    e2e_finish
    exit $?
fi
export GOFLAGS=-mod=mod GOPROXY=off GOPATH=$HP_WORK/gopath GOTELEMETRY=off
unset GOOS GOARCH

# `hookpatch exec --` (no RULES: ./hookpatch.toml, none = unpatched): the
# documented form, used as users type it.
EXEC="$HOOKPATCH exec --"

# The tests of the ./... run (clock, gor, plain) and of gor.
ALL_TESTS=(TestAdd TestAllReal TestCleanupRestores TestCleanupRestores/inner TestGC TestMethod
    TestNow TestNowReal TestVariadic TestDouble)
GOR_TESTS=(TestOverPatch TestOverPatch/both TestPerGoroutine TestPerGoroutine/closure
    TestPerGoroutine/mul TestPerGoroutine/original TestPerGoroutine/real TestPerGoroutine/sub)
ALL_TESTS+=("${GOR_TESTS[@]}")

# passed N TEST...: what results prints when each TEST passed N times.
passed()
{
    local n=$1
    shift
    printf "$n --- PASS: %s\\n" "$@" | sort
}

# results FILE: the test result lines of `go test -v` output, without
# timings, counted: "2 --- PASS: TestNow".
results()
{
    grep -E '^ *--- (PASS|FAIL|SKIP)' "$1" | sed -E 's/^ *//; s/ \([0-9.]+s\)$//' | sort | uniq -c |
        sed -E 's/^ *//'
}

# package_lines FILE: the per-package summary lines, without timings.
package_lines()
{
    grep -E '^(ok|FAIL|\?)[[:space:]]' "$1" | sed -E 's/[[:space:]]+/ /g; s/ [0-9.]+s$//; s/ \(cached\)$//'
}

job()
{
    local v=$GO_LABEL dir=$HP_WORK/$GO_LABEL/sw rc
    mkdir -p "$HP_WORK/$GO_LABEL"
    cp -r "$HP_SRC/tests/e2e/go_switch" "$dir"
    cd "$dir"
    go mod edit -replace "hookpatch.dev=$HP_SRC/go"

    # The package's own tests (no hookpatch: the table reader, messages).
    rc=0
    (cd "$HP_SRC/go" && go test -count=1 -race ./...) >unit.txt 2>&1 || rc=$?
    check_eq "$v: go/mock's unit tests (-race)" "0|ok hookpatch.dev/mock" "$rc|$(package_lines unit.txt)"

    rc=0
    go test -count=2 -gcflags=all=-l -v -exec "$EXEC" ./... >all.txt 2>&1 || rc=$?
    check_eq "$v: go test -count=2 ./... through hookpatch exec passes" \
        "0|ok example.com/sw/clock|? example.com/sw/failcases [no test files]|ok example.com/sw/gor|ok example.com/sw/plain" \
        "$rc|$(package_lines all.txt | paste -sd'|')"
    # line LINE-TEXT FILE: the line number of the (first) line containing it.
    line() { grep -nF -- "$1" "$2" | head -1 | cut -d: -f1; }
    check_eq "$v: every test passed, twice (clock, gor, plain)" "$(passed 2 "${ALL_TESTS[@]}")" "$(results all.txt)"

    rc=0
    go test -count=1 -gcflags=all=-l -v ./clock ./plain >plain.txt 2>&1 || rc=$?
    check_eq "$v: without hookpatch, Patch fails saying how to run the tests" \
        "1|FAIL example.com/sw/clock|ok example.com/sw/plain|    clock_test.go:$(line "return fixed })" clock/clock_test.go): mock.Patch(time.Now): this test binary was not patched by hookpatch; run the tests under it, with the switch rules in the package's hookpatch.toml: go test -gcflags=all=-l -exec \"hookpatch exec --\" ./..." \
        "$rc|$(package_lines plain.txt | paste -sd'|')|$(grep -F 'mock.Patch(time.Now)' plain.txt)"

    rc=0
    go test -count=1 -gcflags=all=-l -v -tags failcases -exec "$EXEC" ./failcases >fail.txt 2>&1 || rc=$?
    check_eq "$v: failcases: which tests fail" \
        "1|1 --- FAIL: TestNotSwitchable|1 --- FAIL: TestRace|1 --- FAIL: TestRace/b|1 --- PASS: TestNoRace|1 --- PASS: TestNoRace/a|1 --- PASS: TestNoRace/b|1 --- PASS: TestRace/a" \
        "$rc|$(results fail.txt | paste -sd'|')"
    check_eq "$v: a target with no switch rule: the rule to add" \
        "    fail_test.go:$(line 'Patch(t, Unlisted' failcases/fail_test.go): "'mock.Patch(example.com/sw/failcases.Unlisted): the target is not switchable in this test binary; add this rule to the package'"'"'s hookpatch.toml:
        
        [[hook]]
        target = "example.com/sw/failcases.Unlisted"
        action = "switch"' \
        "$(sed -n '/mock.Patch(example.com\/sw\/failcases.Unlisted)/,/action/p' fail.txt)"
    check_eq "$v: two parallel tests Patch one target: the second fails, pointing to PatchGoroutine" \
        "fail_test.go:$(line 'return 2 })' failcases/fail_test.go): mock.Patch(example.com/sw/failcases.Listed): TestRace/a has patched it and is still running: tests that run in parallel must not Patch the same function (every goroutine sees a Patch); use mock.PatchGoroutine" \
        "$(grep -F 'mock.Patch(example.com/sw/failcases.Listed)' fail.txt | sed -E 's/^ +//')"
    check_eq "$v: a failed Patch stops the test" 0 "$(grep -c 'not reached' fail.txt || true)"

    rc=0
    go test -race -count=20 -gcflags=all=-l -v -exec "$EXEC" ./gor >race.txt 2>&1 || rc=$?
    check_eq "$v: PatchGoroutine in parallel subtests, -race -count=20" \
        "0|ok example.com/sw/gor|$(passed 20 "${GOR_TESTS[@]}")|0" \
        "$rc|$(package_lines race.txt)|$(results race.txt)|$(grep -c 'WARNING: DATA RACE' race.txt || true)"

    # A test binary that keeps its symbol table (go test -c): the targets
    # are still Go functions (the Go dispatch stub, not the C one).
    rc=0
    (cd gor && go test -c -gcflags=all=-l -o ../gor.test . && "$HOOKPATCH" -q ../gor.test ../gor.out hookpatch.toml &&
        ../gor.out -test.v -test.count=2) >symtab.txt 2>&1 || rc=$?
    check_eq "$v: go test -c (with .symtab), patched, run" \
        "0|yes|$(passed 2 "${GOR_TESTS[@]}")" \
        "$rc|$(readelf -SW gor.test | grep -q ' .symtab ' && echo yes)|$(results symtab.txt)"

    rc=0
    go test -count=1 -gcflags=all=-l -run '^$' -bench . -benchtime=1000x -exec "$EXEC" ./gor >bench.txt 2>&1 || rc=$?
    check_eq "$v: the benchmarks run" \
        "0|5" "$rc|$(grep -cE '^Benchmark[A-Za-z]+(-[0-9]+)?[[:space:]]+1000[[:space:]]' bench.txt || true)"
    if [[ $rc != 0 ]]; then cat all.txt race.txt bench.txt | grep -vE '^(=== |    ---|---)' | head -40; fi
}

# The ./... run again, GOARCH=arm64 under qemu-user (HOOKPATCH_RUNNER),
# without -race (a cross race build needs cgo).
job_a64()
{
    local v="$GO_LABEL arm64" dir=$HP_WORK/$GO_LABEL/sw-a64 rc=0
    cp -r "$HP_SRC/tests/e2e/go_switch" "$dir"
    cd "$dir"
    go mod edit -replace "hookpatch.dev=$HP_SRC/go"
    GOARCH=arm64 CGO_ENABLED=0 HOOKPATCH_RUNNER=$A64_RUNNER \
        go test -count=2 -gcflags=all=-l -v -exec "$EXEC" ./... >all.txt 2>&1 || rc=$?
    check_eq "$v: go test -count=2 ./... through hookpatch exec under qemu: every test passed, twice" \
        "0|ok example.com/sw/clock|? example.com/sw/failcases [no test files]|ok example.com/sw/gor|ok example.com/sw/plain|$(passed 2 "${ALL_TESTS[@]}")" \
        "$rc|$(package_lines all.txt | paste -sd'|')|$(results all.txt)"
}

for tc in "${TOOLCHAINS[@]}"; do
    # shellcheck disable=SC2086 # "LABEL PATH"
    go_use $tc
    t0=$SECONDS
    job
    echo "# $GO_LABEL: $((SECONDS - t0)) s"
    if a64_have "$GO_LABEL arm64"; then
        t0=$SECONDS
        job_a64
        echo "# $GO_LABEL arm64: $((SECONDS - t0)) s"
    fi
done
e2e_finish
