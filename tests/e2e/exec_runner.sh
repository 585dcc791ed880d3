#!/usr/bin/env bash
# `hookpatch exec --runner CMD` (and HOOKPATCH_RUNNER): the patched
# temporary runs as CMD's words + the file + ARGS, which is how AArch64
# test binaries run under qemu-user on an x86-64 machine. Checked with an
# x86-64 program and a runner script that records its argv, with
# qemu-x86_64 as a real emulating runner, and through `go test -exec`,
# whose command string quotes the runner. Errors: a missing runner exits
# 127 and an unrunnable one 126, with a message, before anything is patched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init
W=$HP_WORK
cd "$W"

cat >prog.c <<'C'
#include <signal.h>
#include <stdio.h>
#include <string.h>
__attribute__((noinline, noipa)) int get_answer(void) { return 1; }
int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "term")) raise(SIGTERM);
    printf("answer=%d", get_answer());
    for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
    printf("\n");
    return argc > 1 && !strcmp(argv[1], "seven") ? 7 : 0;
}
C
gcc -O2 -o prog prog.c
printf '[[hook]]\ntarget = "get_answer"\naction = "return"\nvalue = 42\n' >rules.toml
# rec.sh [TAG]: appends "TAG ARG..." (one per line) to $W/rec.txt, then
# runs the rest of its arguments.
cat >rec.sh <<'SH'
#!/bin/sh
tag=$1; shift
{ echo "$tag"; printf '%s\n' "$@"; } >>"$REC_FILE"
exec "$@"
SH
chmod +x rec.sh
export REC_FILE=$W/rec.txt
# rec.txt without the temporary's random suffix.
rec() { sed 's|/\.prog\.hookpatch-[A-Za-z0-9]*$|/.prog.hookpatch-X|' rec.txt; }

: >rec.txt
hp exec --runner "$W/rec.sh   opt" rules.toml -- ./prog a 'b c'
check_eq "--runner: the program runs patched, args intact" "0 answer=42 [a] [b c]" "$HP_RC $HP_OUT"
check_eq "--runner: argv is the runner's words, the patched file, the args" \
    "opt
./.prog.hookpatch-X
a
b c" "$(rec)"
check_eq "--runner: the temporary is removed" "" "$(temp_files "$W")"

: >rec.txt
HOOKPATCH_RUNNER="$W/rec.sh	env" hp exec rules.toml -- ./prog
check_eq "HOOKPATCH_RUNNER: used when no --runner (tab-separated)" "0 answer=42 env" \
    "$HP_RC $HP_OUT $(head -1 rec.txt)"

: >rec.txt
HOOKPATCH_RUNNER="$W/rec.sh env" hp exec rules.toml --runner="$W/rec.sh opt" -- ./prog
check_eq "--runner= after RULES wins over HOOKPATCH_RUNNER" "0 answer=42 opt" \
    "$HP_RC $HP_OUT $(head -1 rec.txt)"

: >rec.txt
HOOKPATCH_RUNNER="$W/rec.sh env" hp exec --runner '' rules.toml -- ./prog
check_eq "--runner '' turns the runner off" "0 answer=42 0" "$HP_RC $HP_OUT $(wc -c <rec.txt)"

hp exec --runner "$W/rec.sh x" rules.toml -- ./prog seven
check_eq "--runner: the exit status passes through" "7 answer=42 [seven]" "$HP_RC $HP_OUT"
hp exec --runner "$W/rec.sh x" rules.toml -- ./prog term
check_eq "--runner: death by a signal passes through (143)" "143" "$HP_RC"

hp exec --runner "no-such-runner -x" rules.toml -- ./prog
check_eq "a runner not in PATH: 127, said so, nothing patched" \
    "127|hookpatch: error: no-such-runner: not found in PATH (the runner, from --runner)|" \
    "$HP_RC|$HP_ERR|$(temp_files "$W")"
HOOKPATCH_RUNNER="$W/rules.toml" hp exec rules.toml -- ./prog
check_eq "a runner that cannot run: 126, said so" \
    "126|hookpatch: error: $W/rules.toml: cannot run it: Permission denied (the runner, from HOOKPATCH_RUNNER)" \
    "$HP_RC|$HP_ERR"
hp exec --runner
check_eq "--runner without a command: usage error" "2" "$HP_RC"

if command -v qemu-x86_64-static >/dev/null; then
    hp exec --runner "qemu-x86_64-static" rules.toml -- ./prog q
    check_eq "qemu-x86_64 as the runner: the patched program runs emulated" \
        "0 answer=42 [q]" "$HP_RC $HP_OUT"
elif [[ -n ${CI:-} ]]; then
    fail "qemu-x86_64 as the runner" "qemu-x86_64-static missing (scripts/deps.sh installs it)"
else
    skip "qemu-x86_64 as the runner" "qemu-x86_64-static missing"
fi

# go test -exec quotes the runner (Go splits -exec with quotes); first
# toolchain only, the rest of the workflow is go_test_exec.sh's.
read -r label go < <(go_toolchains) || true
if [[ -n ${go:-} ]]; then
    go_use "$label" "$go"
    export GOPATH="$W/gopath" GOFLAGS=-mod=mod GOPROXY=off
    cp -r "$HP_SRC/examples/gotest" gotest
    : >rec.txt
    if (cd gotest && go test -count=1 -gcflags=all=-l \
        -exec "$HOOKPATCH exec --runner '$W/rec.sh gotest' rules.toml --" ./... >../go.txt 2>&1); then
        check_eq "$label: go test -exec with a quoted --runner passes" "gotest" "$(head -1 rec.txt)"
    else
        fail "$label: go test -exec with a quoted --runner" "$(cat go.txt)"
    fi
fi
e2e_finish
