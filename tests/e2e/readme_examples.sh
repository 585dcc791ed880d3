#!/usr/bin/env bash
# Issue 18, item 5: every example in README.md is complete and runs. The
# blocks are taken from README.md itself (tests/tools/readme_blocks.py),
# never copied here; a fenced block must be marked in the README as
# `<!-- example: NAME -->` (run here) or `<!-- fragment: WHY -->` (listed,
# not run), and every NAME the README marks must be used by this test.
#
# - quick-start: two commands; the scripts they name exist; the demo runs.
# - install: `cmake --install` into a $HOME of the test's own; then
#   cmake-build (examples/cmake against that prefix, ctest passes) and
#   cmake-minimal (the snippet as a project's CMakeLists.txt, its test
#   passing only when app.hooked is patched).
# - rules-*: each block is a whole rules file, patched into a C host
#   (answer, panic_path) or a Go host (main.Add, main.AddMock,
#   main.AddOrig, strings.*), run with exact output: 42, SIGILL, the mock,
#   the original through AddOrig, passthrough unchanged.
# - gotest-*: the greeter mocks and rules, `go test -exec "hookpatch exec
#   rules.toml --"`; switch-* and gomod-replace: a module using
#   hookpatch.dev/mock through the README's replace directive, `go test
#   -exec "hookpatch exec --"`. Each with every Go toolchain (go_toolchains).
# - c-switch-*: clock.c and test_clock.c built, patched and run by the
#   README's commands (prints ok; the unpatched build aborts).
# - mock-c-*: the host, the mock and the rules built, patched and run by
#   the README's commands; the output is the README's, exactly.
# - *-excerpt: each code line of an excerpt appears, in order, in the
#   example file it is taken from (tests/e2e/build_pipeline.sh builds and
#   runs those examples).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

README=$HP_SRC/README.md
TOOL=$HP_SRC/tests/tools/readme_blocks.py
USED=$HP_WORK/used-blocks.txt
: >"$USED"

# block NAME: the text of the README's block NAME (the test fails at once
# when there is none); records that NAME was used.
block()
{
    echo "$1" >>"$USED"
    "$PY" "$TOOL" "$README" get "$1"
}

# `hookpatch` in the README's commands is the one under test.
mkdir -p "$HP_WORK/bin"
ln -s "$HOOKPATCH" "$HP_WORK/bin/hookpatch"
export PATH="$HP_WORK/bin:$PATH"

# run_block NAME DIR [SED]: run block NAME's commands with bash -e in DIR
# (after the sed script SED, if any); RUN_RC, RUN_OUT, RUN_ERR.
run_block()
{
    local here=$PWD
    block "$1" | sed -e "${3:-}" >"$2/.block-$1.sh"
    cd "$2"
    run_prog bash -e "./.block-$1.sh"
    cd "$here"
}

# ---- the inventory
mapfile -t ALL < <("$PY" "$TOOL" "$README" list)
unmarked=() fragments=() names=()
for b in "${ALL[@]}"; do
    read -r line kind lang rest <<<"$b"
    case $kind in
    example) names+=("$rest") ;;
    fragment) fragments+=("README.md:$line ($lang): $rest") ;;
    *) unmarked+=("README.md:$line ($lang)") ;;
    esac
done
check_eq "every fenced block is marked <!-- example: NAME --> or <!-- fragment: WHY -->" "" "${unmarked[*]}"
printf 'fragment (not run): %s\n' "${fragments[@]}"
check_eq "fragments: only the package install (root) and the hour-long fuzz run" 2 "${#fragments[@]}"
check_eq "example names are unique" "" "$(printf '%s\n' "${names[@]}" | sort | uniq -d)"

# ---- Quick start
mapfile -t qs < <(block quick-start | grep -v '^$')
check_eq "quick-start: exactly two commands" 2 "${#qs[@]}"
missing=()
for w in $(printf '%s\n' "${qs[@]}" | tr ' ' '\n' | grep -E '^(scripts|examples)/'); do
    [[ -x $HP_SRC/$w ]] || missing+=("$w")
done
check_eq "quick-start: every script it names exists and is executable" "" "${missing[*]}"
demo=${qs[0]##*&& }
check_eq "quick-start: the first command ends by running the demo" "examples/demo/run.sh build/hookpatch" "$demo"
run_prog "$HP_SRC/${demo% build/hookpatch}" "$HOOKPATCH"
check_eq "quick-start: the demo runs both programs" "0|1" \
    "$RUN_RC|$(grep -c '^+++ ./shop.patched' <<<"$RUN_OUT")"
[[ $(sed -n '/^\$ diff/,$p' <<<"$RUN_OUT" | grep -c '^[-+][^-+]') -gt 0 ]] &&
    pass "quick-start: the demo's diff shows changed lines" || fail "quick-start: the demo's diff is empty" "$RUN_OUT"

# ---- Installing, and the CMake blocks against the installed package
export HOME=$HP_WORK/home
mkdir -p "$HOME" "$HP_WORK/inst"
ln -s "$(dirname "$HOOKPATCH")" "$HP_WORK/inst/build"
run_block install "$HP_WORK/inst"
check_eq "install: cmake --install into \$HOME/.local succeeds" "0" "$RUN_RC"
missing=()
for f in bin/hookpatch include/hookpatch.h lib/cmake/hookpatch/hookpatchConfig.cmake share/hookpatch/go/go.mod; do
    [[ -e $HOME/.local/$f ]] || missing+=("$f")
done
check_eq "install: binary, header, CMake package and Go module installed" "" "${missing[*]}"

mkdir -p "$HP_WORK/cmb"
ln -s "$HP_SRC/examples" "$HP_WORK/cmb/examples"
run_block cmake-build "$HP_WORK/cmb"
check_eq "cmake-build: examples/cmake configures, builds and its ctest passes" "0|1" \
    "$RUN_RC|$(grep -c '100% tests passed' <<<"$RUN_OUT")"

# The C host of the Rules blocks: answer() and panic_path(), kept out of
# main by noipa.
HOSTC='#include <stdio.h>
__attribute__((noipa)) int answer(void) { return 7; }
__attribute__((noipa)) void panic_path(void) { puts("panic_path ran"); }
int main(int argc, char **argv)
{
    (void)argv;
    int a = answer();
    printf("answer() = %d\n", a);
    fflush(stdout);
    if (argc > 1)
        panic_path();
    return a == 42 ? 0 : 1;
}'

C=$HP_WORK/cmin
mkdir -p "$C"
printf 'cmake_minimum_required(VERSION 3.18)\nproject(readme_minimal C)\nenable_testing()\n' >"$C/CMakeLists.txt"
block cmake-minimal >>"$C/CMakeLists.txt"
printf '%s\n' "$HOSTC" >"$C/app.c"
block rules-return-trap >"$C/rules.toml"
rc=0
(cd "$C" && cmake -S . -B b -DCMAKE_PREFIX_PATH="$HOME/.local" && cmake --build b && ctest --test-dir b) \
    >"$C/log" 2>&1 || rc=$?
run_prog "$C/b/app"
check_eq "cmake-minimal: app.hooked built by the snippet, its test passes (unpatched app exits 1)" \
    "0|1|1" "$rc|$(grep -c '100% tests passed' "$C/log")|$RUN_RC"

# ---- Rules: C host
R=$HP_WORK/rules
mkdir -p "$R"
printf '%s\n' "$HOSTC" >"$R/host.c"
gcc -O2 -o "$R/host" "$R/host.c"
block rules-return-trap >"$R/return-trap.toml"
hp "$R/host" "$R/host.rt" "$R/return-trap.toml"
check_eq "rules-return-trap: accepted, both hooked" "0|hookpatch: hooked 2 functions, skipped 0" "$HP_RC|$HP_ERR"
run_prog "$R/host"
check_eq "rules-return-trap: unpatched host" "1|answer() = 7" "$RUN_RC|$RUN_OUT"
run_prog "$R/host.rt"
check_eq "rules-return-trap: answer() returns value = 42" "0|answer() = 42" "$RUN_RC|$RUN_OUT"
run_prog "$R/host.rt" trap
check_eq "rules-return-trap: panic_path dies with SIGILL" "132|answer() = 42" "$RUN_RC|$RUN_OUT"

# ---- Rules (Go), the greeter and the switch module: per Go toolchain
export GOFLAGS=-mod=mod GOPROXY=off GOPATH=$HP_WORK/gopath GOTELEMETRY=off
unset GOOS GOARCH

HOSTGO='package main

import (
	"fmt"
	"os"
	"strings"
)

func Add(a, b int) int { return a + b }

// AddMock replaces Add.
func AddMock(a, b int) int { return a * b }

// AddOrig is bound to the original Add by an original = rule.
func AddOrig(a, b int) int { return 0 }

var mocks = []func(int, int) int{AddMock}

func main() {
	fmt.Println("Add(2, 3) =", Add(2, 3))
	fmt.Println("AddOrig(2, 3) =", AddOrig(2, 3))
	fmt.Println(strings.ToUpper("done"), strings.Repeat("ab", 2))
	if len(os.Args) > 1 {
		fmt.Println(mocks[0](2, 3))
	}
}'

GREETER_CHECKS='package greeter

import "testing"

func TestGreeting(t *testing.T) {
	if got := Greeting("Ada"); got != "Good morning, Ada!" {
		t.Fatal(got)
	}
}

func TestNext(t *testing.T) {
	var c Counter
	if got := c.Next(); got != 42 {
		t.Fatal(got)
	}
}
'

APP_GO='package app

import "time"

func Stamp() string { return time.Now().UTC().Format(time.RFC3339) }

type Meter struct{ n int }

func (m *Meter) Tick() int { m.n++; return m.n }

func Add(a, b int) int { return a + b }
'

# go_lines FILE: the test and package result lines, without timings, sorted
# (parallel subtests finish in any order).
go_lines()
{
    grep -E '^( *--- (PASS|FAIL)|ok |FAIL)' "$1" | sed -E 's/^ +//; s/[[:space:]]+/ /g; s/ \(?[0-9.]+s\)?$//' |
        sort | paste -sd'|'
}

go_job()
{
    local v=$GO_LABEL d=$HP_WORK/$GO_LABEL rc
    mkdir -p "$d/host" "$d/greeter" "$d/app"

    # Rules blocks on a Go host.
    cd "$d/host"
    printf 'module example.com/host\n\ngo 1.19\n' >go.mod
    printf '%s\n' "$HOSTGO" >main.go
    go build -gcflags=all=-l -o host . 2>build.log || { fail "$v: Go host builds" "$(cat build.log)"; return; }
    local base="Add(2, 3) = 5|AddOrig(2, 3) = 0|DONE abab"
    run_prog ./host
    check_eq "$v: rules: unpatched Go host" "0|$base" "$RUN_RC|${RUN_OUT//$'\n'/|}"
    local name want
    for name in rules-replace rules-original rules-passthrough; do
        block "$name" >"$name.toml"
        case $name in
        rules-replace) want="Add(2, 3) = 6|AddOrig(2, 3) = 0|DONE abab" ;;
        rules-original) want="Add(2, 3) = 6|AddOrig(2, 3) = 5|DONE abab" ;;
        rules-passthrough) want=$base ;;
        esac
        hp ./host "./host.$name" "$name.toml"
        if [[ $HP_RC -ne 0 ]]; then
            fail "$v: $name: hookpatch accepts it" "$HP_ERR"
            continue
        fi
        run_prog "./host.$name"
        check_eq "$v: $name: the patched host's output" "0|$want" "$RUN_RC|${RUN_OUT//$'\n'/|}"
    done
    [[ $(sed -nE 's/^hookpatch: hooked ([0-9]+) functions?, .*/\1/p' <<<"$HP_ERR") -ge 2 ]] &&
        pass "$v: rules-passthrough: strings.* functions were hooked" ||
        fail "$v: rules-passthrough: strings.* functions were hooked" "$HP_ERR"

    # Testing with go test -exec: the greeter.
    cd "$d/greeter"
    cp "$HP_SRC/examples/gotest/go.mod" "$HP_SRC/examples/gotest/greeter.go" .
    { printf 'package greeter\n\nimport (\n\t"testing"\n\t"time"\n)\n\n'; block gotest-mocks; } >greeter_test.go
    printf '%s' "$GREETER_CHECKS" >checks_test.go
    block gotest-rules >rules.toml
    rc=0
    go test -count=1 -gcflags=all=-l -v -exec "hookpatch exec rules.toml --" ./... >exec.txt 2>&1 || rc=$?
    check_eq "$v: gotest-mocks + gotest-rules: go test -exec passes" \
        "0|--- PASS: TestGreeting|--- PASS: TestNext|--- PASS: TestReplacementsKept|ok example.com/greeter" "$rc|$(go_lines exec.txt)"
    rc=0
    go test -count=1 -gcflags=all=-l ./... >plain.txt 2>&1 || rc=$?
    check_eq "$v: gotest: the same tests fail unpatched" "1" "$rc"

    # Per-test mocks: hookpatch.dev/mock through the README's replace.
    cd "$d/app"
    { printf 'module example.com/app\n\ngo 1.19\n\n'; block gomod-replace | sed "s#/path/to/hookpatch#$HP_SRC#"; } >go.mod
    printf '%s' "$APP_GO" >app.go
    { printf 'package app\n\nimport (\n\t"fmt"\n\t"testing"\n\t"time"\n)\n\n'; block switch-go; } >app_test.go
    block switch-rules >hookpatch.toml
    rc=0
    go test -count=1 -gcflags=all=-l -v -exec "hookpatch exec --" ./... >exec.txt 2>&1 || rc=$?
    check_eq "$v: switch-go + switch-rules + gomod-replace: go test -exec passes" \
        "0|--- PASS: TestLater|--- PASS: TestParallel|--- PASS: TestParallel/2|--- PASS: TestParallel/3|--- PASS: TestStamp|--- PASS: TestTick|ok example.com/app" \
        "$rc|$(go_lines exec.txt)"
    [[ $rc -eq 0 ]] || sed 's/^/        | /' exec.txt | head -40
    rc=0
    go test -count=1 -gcflags=all=-l ./... >plain.txt 2>&1 || rc=$?
    check_eq "$v: switch: unpatched, mock.Patch fails saying to run under hookpatch exec" "1|1" \
        "$rc|$(grep -q 'this test binary was not patched by hookpatch' plain.txt && echo 1)"
}

go_run() { go_use "$1" "$2" && go_job; }

mapfile -t TOOLCHAINS < <(go_toolchains)
if [[ ${#TOOLCHAINS[@]} -eq 0 ]]; then
    fail "Go examples" "no Go toolchain (scripts/deps.sh installs them)"
else
    for tc in "${TOOLCHAINS[@]}"; do
        # shellcheck disable=SC2086 # "LABEL PATH"
        par_start go_run $tc
    done
fi

# ---- C and C++ switch
S=$HP_WORK/cswitch
mkdir -p "$S"
block c-switch-clock >"$S/clock.c"
block c-switch-test >"$S/test_clock.c"
block c-switch-rules >"$S/rules.toml"
run_block c-switch-commands "$S" "s#/path/to/hookpatch#$HP_SRC#g"
check_eq "c-switch: built, patched and run by the README's commands: ok" "0|ok" "$RUN_RC|$RUN_OUT"
run_prog "$S/test_clock"
check_eq "c-switch: the unpatched build aborts (hookpatch_set refused)" "134|1" \
    "$RUN_RC|$(grep -q '^hookpatch: ' <<<"$RUN_ERR" && echo 1)"

# ---- Writing mocks in C
M=$HP_WORK/mockc
mkdir -p "$M/mocks"
block mock-c-host-add >"$M/add.c"
block mock-c-host-main >"$M/main.c"
block mock-c-mock >"$M/mocks/add.c"
block mock-c-rules >"$M/rules.toml"
run_block mock-c-commands "$M"
check_eq "mock-c: built, patched and run by the README's commands: the README's output" \
    "0|$(block mock-c-output)" "$RUN_RC|$RUN_OUT"
check_eq "mock-c: hookpatch hooked add" "1" "$(grep -c '^hookpatch: hooked 1 function, skipped 0' <<<"$RUN_ERR")"
run_prog "$M/app"
check_eq "mock-c: the unpatched app" \
    $'add(1, 2) = 3\nadd(2, 2) = 4\nadd(3, 2) = 5' "$RUN_OUT"

# ---- Excerpts of the build-system examples (built by build_pipeline.sh)
# in_order BLOCK FILE: every line of the block that is not blank or a
# comment appears in FILE, in that order.
in_order()
{
    block "$1" | "$PY" -c '
import sys
want = [l.rstrip() for l in sys.stdin if l.strip() and not l.lstrip().startswith("#")]
have = [l.rstrip() for l in open(sys.argv[1])]
i = 0
for w in want:
    while i < len(have) and have[i] != w:
        i += 1
    if i == len(have):
        print("not found in order:", w)
        sys.exit(1)
    i += 1
' "$2"
}
for pair in cmake-excerpt:examples/cmake/CMakeLists.txt cmake-rules-excerpt:examples/cmake/rules.toml.in \
    make-excerpt:examples/make/Makefile meson-excerpt:examples/meson/meson.build; do
    out=$(in_order "${pair%%:*}" "$HP_SRC/${pair#*:}" 2>&1) && pass "${pair%%:*}: its lines are in ${pair#*:}" ||
        fail "${pair%%:*}: its lines are in ${pair#*:}" "$out"
done

par_wait

# ---- every example the README marks was run
check_eq "every <!-- example --> block of README.md is used by this test" "" \
    "$(comm -23 <(printf '%s\n' "${names[@]}" | sort -u) <(sort -u "$USED"))"

e2e_finish
