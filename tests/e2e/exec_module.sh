#!/usr/bin/env bash
# `hookpatch exec` with no RULES (issue 17): the rules are ./hookpatch.toml,
# and go test runs each package's test binary in the package's directory,
# so one `go test -exec "hookpatch exec --" ./...` serves a whole module.
# Once per Go toolchain (go_toolchains in lib.sh), on a module of two
# packages:
#  - a/ has a hookpatch.toml: its test passes only when Answer returns the
#    hook's 42; its Small is inlined and folded (built without -l), which
#    draws a warning, and the test checks the warning is true (Small(1) is
#    2, F(1) through the func value is the hook's 7);
#  - b/ has none: its test passes only when it runs unpatched, under its
#    own name b.test (no temporary copy);
#  - the `go test -v` output is exactly the tests' own plus the warning: no
#    summary line; --strict fails package a with the warning as an error
#    and leaves b alone; `exec -v` adds the summary and says why b runs
#    unpatched; HOOKPATCH_RUNNER runs the patched a and the original b.
# Then, with a C program (no Go needed): without hookpatch.toml the program
# runs exactly as without hookpatch (output, status, signal, nothing on
# stderr, no temporary); a malformed hookpatch.toml is an error naming
# hookpatch.toml:LINE:COL and the program does not run; a dangling
# hookpatch.toml link is an error, not a silent unpatched run; an explicit
# RULES wins over hookpatch.toml.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init
export GOPATH="$HP_WORK/gopath" GOFLAGS=-mod=mod GOPROXY=off

write_module()
{
    mkdir -p a b
    printf 'module example.com/mod\n\ngo 1.19\n' >go.mod
    cat >a/a.go <<'GO'
package a

//go:noinline
func Answer() int { return 1 }

func Small(x int) int { return x + 1 }

var F = Small
GO
    cat >a/a_test.go <<'GO'
package a

import "testing"

func TestAnswer(t *testing.T) {
	if got := Answer(); got != 42 {
		t.Fatalf("Answer() = %d, want 42 (the hook in hookpatch.toml)", got)
	}
}

func TestSmall(t *testing.T) {
	if by, val := Small(1), F(1); by != 2 || val != 7 {
		t.Fatalf("Small(1), F(1) = %d, %d, want 2, 7", by, val)
	}
}
GO
    printf '[[hook]]\ntarget = "example.com/mod/a.Answer"\naction = "return"\nvalue = 42\n\n' >a/hookpatch.toml
    printf '[[hook]]\ntarget = "example.com/mod/a.Small"\naction = "return"\nvalue = 7\n' >>a/hookpatch.toml
    cat >b/b.go <<'GO'
package b

//go:noinline
func Answer() int { return 1 }
GO
    cat >b/b_test.go <<'GO'
package b

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPlain(t *testing.T) {
	if got, name := Answer(), filepath.Base(os.Args[0]); got != 1 || name != "b.test" {
		t.Fatalf("Answer() = %d in %s, want 1 in b.test: the test ran patched", got, name)
	}
}
GO
}

# go test's output with its timings made constant, then "rc=STATUS".
gotest()
{
    local rc=0
    go test -count=1 "$@" >"$HP_WORK/.gotest" 2>&1 || rc=$?
    sed -E 's/\([0-9.]+s\)/(T)/; s/\t[0-9.]+s$/\tT/' "$HP_WORK/.gotest"
    echo "rc=$rc"
}

WARN="hookpatch.toml:7:10: no direct call to example.com/mod/a.Small remains; calls through func values are redirected, but calls by name were probably inlined: rebuild with -gcflags=all=-l"

module_for()
{
    local L=$1 d=$HP_WORK/$1/mod out
    mkdir -p "$d" && cd "$d"
    write_module
    out=$(gotest -v -exec "$HOOKPATCH exec --" ./...)
    check_eq "$L go test -v ./...: a patched, b unpatched, a warning, no summary" \
        "hookpatch: warning: $WARN
=== RUN   TestAnswer
--- PASS: TestAnswer (T)
=== RUN   TestSmall
--- PASS: TestSmall (T)
PASS
ok  	example.com/mod/a	T
=== RUN   TestPlain
--- PASS: TestPlain (T)
PASS
ok  	example.com/mod/b	T
rc=0" "$out"
    out=$(gotest -exec "$HOOKPATCH exec --strict --" ./...)
    check_eq "$L --strict: the warning fails package a, b still passes" \
        "hookpatch: error: $WARN
FAIL	example.com/mod/a	T
ok  	example.com/mod/b	T
FAIL
rc=1" "$out"
    out=$(gotest -v -exec "$HOOKPATCH exec -v --" ./... | grep -E '^(hookpatch|rc=)' |
        sed -E 's|: /.*/b\.test runs|: B runs|')
    check_eq "$L exec -v: the summary, and why b runs unpatched" \
        "hookpatch: warning: $WARN
hookpatch: hooked 2 functions, skipped 0
hookpatch: no hookpatch.toml in the current directory: B runs unpatched
rc=0" "$out"
    printf '#!/bin/sh\nbasename "$1" | sed "s/hookpatch-.*/hookpatch-X/" >>"%s/rec.txt"\nexec "$@"\n' \
        "$d" >rec.sh
    chmod +x rec.sh
    : >rec.txt
    out=$(HOOKPATCH_RUNNER=$d/rec.sh gotest -exec "$HOOKPATCH exec --" ./...)
    check_eq "$L HOOKPATCH_RUNNER: runs the patched a and the original b" \
        "ok  	example.com/mod/a	T
ok  	example.com/mod/b	T
rc=0
.a.test.hookpatch-X
b.test" "$out
$(sort rec.txt)"
}

mapfile -t TOOLCHAINS < <(go_toolchains)
[[ ${#TOOLCHAINS[@]} -gt 0 ]] || fail "a Go toolchain" "none found"
for tc in "${TOOLCHAINS[@]}"; do
    go_use $tc
    t=$SECONDS
    module_for "$GO_LABEL"
    echo "# $GO_LABEL: $((SECONDS - t)) s"
done

# ---- the no-RULES form without Go
W=$HP_WORK/c
mkdir -p "$W" && cd "$W"
cat >prog.c <<'C'
#include <signal.h>
#include <stdio.h>
#include <string.h>
__attribute__((noinline, noipa)) int get_answer(void) { return 1; }
int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "term")) raise(SIGTERM);
    printf("answer=%d argv0=%s", get_answer(), argv[0]);
    for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
    printf("\n");
    return 3;
}
C
gcc -O2 -o prog prog.c
hp exec -- ./prog a 'b c'
check_eq "no hookpatch.toml: runs unpatched as itself, status kept, nothing printed" \
    "3|answer=1 argv0=./prog [a] [b c]||" "$HP_RC|$HP_OUT|$HP_ERR|$(temp_files "$W")"
hp exec -- ./prog term
check_eq "no hookpatch.toml: death by a signal passes through" "143|" "$HP_RC|$HP_ERR"
printf '[[hook]]\ntarget = "get_answer"\naction = "return"\nvalue = 42\n' >rules.toml
printf '[[hook]]\ntarget = get_answer"\n' >hookpatch.toml
hp exec -- ./prog
check_eq "malformed hookpatch.toml: an error at hookpatch.toml:2:10, the program does not run" \
    "1||hookpatch: error: hookpatch.toml:2:10: invalid TOML: Error while parsing value: could not determine value type" \
    "$HP_RC|$HP_OUT|$HP_ERR"
hp exec rules.toml -- ./prog
check_eq "RULES given: used instead of hookpatch.toml" "3|answer=42" "$HP_RC|${HP_OUT%% *}"
rm hookpatch.toml
ln -s missing.toml hookpatch.toml
hp exec -- ./prog
check_eq "a dangling hookpatch.toml link: an error, not an unpatched run" "1||yes" \
    "$HP_RC|$HP_OUT|$([[ $HP_ERR == "hookpatch: error: "*hookpatch.toml* ]] && echo yes)"
rm hookpatch.toml
cp rules.toml hookpatch.toml
hp exec -- ./prog
check_eq "hookpatch.toml in the current directory: patched, no summary" "3|answer=42|" \
    "$HP_RC|${HP_OUT%% *}|$HP_ERR"
e2e_finish
