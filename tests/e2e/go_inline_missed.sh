#!/usr/bin/env bash
# The inlining case the inline trees miss (issue 17): Go inlines Small(1)
# and folds it to 2, which leaves no inline-tree entry, so nothing used to
# warn and the test silently saw the real Small. hookpatch now warns when a
# small Go target has no direct call left in the code, with the caveat that
# calls through func values (f(2)) are redirected. Checked, once per Go
# toolchain (go_toolchains in lib.sh), on the issue's exact program:
#  - built as users build it (no -l), with and without symbols and as PIE:
#    the warning, exactly once, and the patched program prints "2 40"
#    (Small(1) inlined, f(2) redirected), which is what the warning says;
#  - --strict: an error, exit 1, no output file;
#  - built with -gcflags=all=-l: no warning, and "40 40";
# and on a package of small functions, some inlined and folded, some
# inlined with an inline-tree entry, all kept by a table of func values,
# plus one that is not inlined: a glob over the package prints one line
# counting the four inlined ones (no line per target, no line for the
# fifth); -v adds one note per target; --strict makes the one line an
# error.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init
export GOPATH="$HP_WORK/gopath" GOFLAGS=-mod=mod GOPROXY=off

# The issue's program, as written there.
write_small()
{
    printf 'module example.com/small\n\ngo 1.19\n' >go.mod
    cat >main.go <<'GO'
package main

import "fmt"

func Small(x int) int { return x + 1 }

var f = Small

func main() {
	fmt.Println(Small(1), f(2))
}
GO
    printf '[[hook]]\ntarget = "main.Small"\naction = "return"\nvalue = 40\n' >rules.toml
}

MISSED="hookpatch: warning: rules.toml:2:10: no direct call to main.Small remains; calls through func values are redirected, but calls by name were probably inlined: rebuild with -gcflags=all=-l"

small_for()
{
    local L=$1 d=$HP_WORK/$1/small variant
    mkdir -p "$d" && cd "$d"
    write_small
    for variant in default stripped pie; do
        local flags=()
        case $variant in
        stripped) flags=(-ldflags=-s\ -w) ;;
        pie) flags=(-buildmode=pie) ;;
        esac
        go build "${flags[@]}" -o prog-$variant .
        hp prog-$variant out-$variant rules.toml
        check_eq "$L $variant, no -l: warned once, with the func-value caveat" \
            "0|$MISSED
hookpatch: hooked 1 function, skipped 0" "$HP_RC|$HP_ERR"
        run_prog ./out-$variant
        check_eq "$L $variant: the call by name was inlined, the func value is redirected" \
            "2 40" "$RUN_OUT"
    done
    hp --strict prog-default out-strict rules.toml
    check_eq "$L --strict: the warning is an error, no output" \
        "1|${MISSED/warning/error}|no" "$HP_RC|$HP_ERR|$([[ -e out-strict ]] && echo yes || echo no)"
    go build -gcflags=all=-l -o prog-l .
    hp prog-l out-l rules.toml
    check_eq "$L -gcflags=all=-l: no warning" "0|hookpatch: hooked 1 function, skipped 0" \
        "$HP_RC|$HP_ERR"
    run_prog ./out-l
    check_eq "$L -gcflags=all=-l: both calls redirected" "40 40" "$RUN_OUT"
}

# A package of small functions: A and B are folded at their constant call
# (no inline-tree entry), C and D inlined at a call on a run-time value
# (an inline-tree entry), E is not inlined. Ops keeps them all in the
# binary, as func values.
write_calc()
{
    printf 'module example.com/m\n\ngo 1.19\n' >go.mod
    mkdir -p calc
    cat >calc/calc.go <<'GO'
package calc

func A(x int) int { return x + 1 }
func B(x int) int { return x * 3 }
func C(x int) int { return x - 5 }
func D(x int) int { return x ^ 6 }

//go:noinline
func E(x int) int { return x + 100 }

var Ops = []func(int) int{A, B, C, D, E}
GO
    cat >main.go <<'GO'
package main

import (
	"fmt"
	"os"

	"example.com/m/calc"
)

func main() {
	n := len(os.Args)
	fmt.Println(calc.A(1), calc.B(2), calc.C(n), calc.D(n), calc.E(n), len(calc.Ops))
}
GO
    printf '[[hook]]\ntarget = "example.com/m/calc.*"\naction = "passthrough"\n' >rules.toml
}

glob_for()
{
    local L=$1 d=$HP_WORK/$1/calc
    mkdir -p "$d" && cd "$d"
    write_calc
    go build -o prog .
    run_prog ./prog
    local want=$RUN_OUT
    check_eq "$L glob: the program runs" "2 6 -4 7 101 5" "$want"
    local line="rules.toml:2:10: 4 targets matched by 'example.com/m/calc.*' were inlined or have no direct call left; calls by name are not redirected: rebuild with -gcflags=all=-l"
    hp prog out rules.toml
    check_eq "$L glob: one line for the four inlined targets" \
        "0|hookpatch: warning: $line; -v lists them
hookpatch: hooked 5 functions, skipped 0" "$HP_RC|$HP_ERR"
    run_prog ./out
    check_eq "$L glob: passthrough keeps the behaviour" "$want" "$RUN_OUT"
    hp -v prog out-v rules.toml
    local p="hookpatch: note: rules.toml:2:10: target 'example.com/m/calc"
    check_eq "$L glob -v: the line, then each target" \
        "hookpatch: warning: $line
$p.A': no direct call to example.com/m/calc.A remains; calls through func values are redirected, but calls by name were probably inlined: rebuild with -gcflags=all=-l
$p.B': no direct call to example.com/m/calc.B remains; calls through func values are redirected, but calls by name were probably inlined: rebuild with -gcflags=all=-l
$p.C': example.com/m/calc.C is inlined into main.main (1 site); those calls are not redirected — rebuild with -gcflags=all=-l
$p.D': example.com/m/calc.D is inlined into main.main (1 site); those calls are not redirected — rebuild with -gcflags=all=-l" \
        "$(grep -v '^hookpatch: hooked' <<<"$HP_ERR")"
    hp --strict prog out-strict rules.toml
    check_eq "$L glob --strict: the one line is an error" "1|hookpatch: error: $line; -v lists them" \
        "$HP_RC|$HP_ERR"
}

mapfile -t TOOLCHAINS < <(go_toolchains)
[[ ${#TOOLCHAINS[@]} -gt 0 ]] || fail "a Go toolchain" "none found"
for tc in "${TOOLCHAINS[@]}"; do
    go_use $tc
    t=$SECONDS
    small_for "$GO_LABEL"
    glob_for "$GO_LABEL"
    echo "# $GO_LABEL: $((SECONDS - t)) s"
done
e2e_finish
