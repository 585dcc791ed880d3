# Shared helpers for the end-to-end tests. Source it from a test script that
# runs under `set -euo pipefail`:
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init            # checks HOOKPATCH/HP_SRC, recreates $HP_WORK
#   ...                 # pass NAME / fail NAME DETAIL / skip NAME REASON
#   e2e_finish          # "N passed, M failed[, K skipped]"; non-zero on failure
#
# ctest sets HOOKPATCH (the binary), HP_SRC (the source tree) and HP_WORK (a
# scratch directory of this test's own). Run by hand, they default to a
# build in /tmp/build-e2e and a directory under /tmp.

E2E_PASSED=0
E2E_FAILED=0
E2E_SKIPPED=0
E2E_FAILURES=()

e2e_init()
{
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    : "${HP_SRC:=$(cd "$here/../.." && pwd)}"
    : "${HOOKPATCH:=/tmp/build-e2e/hookpatch}"
    : "${HP_WORK:=/tmp/hp-e2e/$(basename "$0" .sh)}"
    if [[ ! -x $HOOKPATCH ]]; then
        echo "e2e: HOOKPATCH=$HOOKPATCH is not an executable" >&2
        exit 2
    fi
    case $HP_WORK in
    "" | / | "$HOME" | "$HP_SRC" | "$HP_SRC/") echo "e2e: refusing HP_WORK=$HP_WORK" >&2; exit 2 ;;
    esac
    rm -rf "$HP_WORK"
    mkdir -p "$HP_WORK"
    export HP_SRC HOOKPATCH HP_WORK
    export LC_ALL=C
    # A sanitizer build of hookpatch must fail the test on a leak or UB,
    # not just print a report.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}
    # The python3 on PATH may be a slow version-manager shim (seconds per
    # call): resolve the interpreter once.
    PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3 || true)
    # python3-unicorn is a Debian package: when the python3 on PATH is
    # another interpreter that lacks it, use Debian's own.
    if [[ -x /usr/bin/python3 && $PY != /usr/bin/python3* ]] &&
        ! "$PY" -c 'import unicorn' 2>/dev/null &&
        /usr/bin/python3 -c 'import unicorn' 2>/dev/null; then
        PY=/usr/bin/python3
    fi
    export PY
    E2E_T0=$SECONDS
}

pass()
{
    E2E_PASSED=$((E2E_PASSED + 1))
    printf 'ok      %s\n' "$1"
}

# fail NAME DETAIL...: DETAIL is printed indented under the case line.
fail()
{
    local name=$1
    shift
    E2E_FAILED=$((E2E_FAILED + 1))
    E2E_FAILURES+=("$name")
    printf 'FAIL    %s\n' "$name"
    if [[ $# -gt 0 ]]; then
        printf '%s\n' "$@" | sed 's/^/        | /'
    fi
}

skip()
{
    E2E_SKIPPED=$((E2E_SKIPPED + 1))
    printf 'SKIP    %s: %s\n' "$1" "$2"
}

# check NAME EXPECTED ACTUAL: pass when equal, else fail with a diff.
check_eq()
{
    if [[ "$2" == "$3" ]]; then
        pass "$1"
    else
        fail "$1" "expected:" "$2" "actual:" "$3"
    fi
}

# check_true NAME DETAIL CMD...: pass when CMD succeeds.
check_true()
{
    local name=$1 detail=$2
    shift 2
    if "$@"; then
        pass "$name"
    else
        fail "$name" "$detail"
    fi
}

# ---- wine. wine_prefix points WINE and WINEPREFIX at the one wine prefix
# every test of a run shares, creating it once: a prefix is ~700 MB on disk
# (system32 alone is 630 MB) and a wineboot takes tens of seconds, and with
# one per test and per build the suite once filled the CI machine's disk.
# The prefix is HP_WINEPREFIX (scripts/test.sh sets one for all its builds),
# else build/e2e/wineprefix beside this test's HP_WORK. Tests run wine in it
# at the same time (they share its wineserver), so no test may run
# `wineserver -k`. It also installs the bcryptprimitives.dll stand-in that
# Go 1.22 and later need under wine 8 (tests/fixtures/pe/shim).
# Returns 0 when the prefix is ready; else 1, with WINE_WHY saying why.
wine_prefix()
{
    WINE=${HP_WINE:-/usr/lib/wine/wine64}
    WINE_WHY=
    export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
    export WINEPREFIX=${HP_WINEPREFIX:-$(dirname "$HP_WORK")/wineprefix}
    if [[ ! -x $WINE ]]; then
        WINE_WHY="$WINE not found"
        return 1
    fi
    mkdir -p "$(dirname "$WINEPREFIX")"
    local lk rc=0 out sys32
    exec {lk}>"$WINEPREFIX.lock"
    flock "$lk"
    # Wine and its wineserver must not inherit the lock's descriptor: the
    # server outlives wineboot and would hold the lock.
    if [[ ! -e $WINEPREFIX/.hookpatch-ready ]]; then
        rm -rf "$WINEPREFIX"
        out=$(timeout 300 "$WINE" wineboot -i 2>&1 {lk}>&-) || rc=$?
        if [[ $rc -ne 0 ]]; then
            WINE_WHY="wineboot -i exited $rc: $(printf '%s\n' "$out" | tail -5)"
        else
            sys32=$WINEPREFIX/drive_c/windows/system32
            if [[ ! -e $sys32/bcryptprimitives.dll ]] &&
                ! x86_64-w64-mingw32-gcc -O2 -shared "$HP_SRC/tests/fixtures/pe/shim/bcryptprimitives.c" \
                    -lbcrypt -o "$sys32/bcryptprimitives.dll" >"$WINEPREFIX.shim.log" 2>&1 {lk}>&-; then
                echo "# wine has no bcryptprimitives.dll and the stand-in did not build:"
                tail -3 "$WINEPREFIX.shim.log"
            fi
            touch "$WINEPREFIX/.hookpatch-ready"
        fi
    fi
    flock -u "$lk"
    exec {lk}>&-
    [[ $rc -eq 0 ]]
}

# ---- parallel jobs. par_start runs `CMD...` in the background (at most
# HP_E2E_JOBS at once, default: the number of CPUs) with its output in a log
# of its own; par_wait waits for all of them, then prints the logs in start
# order and counts their ok/FAIL/SKIP lines. A job that exits non-zero
# (set -e tripped) counts as one more failure.
E2E_PAR_LOGS=()

par_start()
{
    local log=$HP_WORK/.par.${#E2E_PAR_LOGS[@]}.log
    E2E_PAR_LOGS+=("$log")
    local -a running
    while :; do
        mapfile -t running < <(jobs -rp)
        [[ ${#running[@]} -lt ${HP_E2E_JOBS:-$(nproc)} ]] && break
        wait -n || true
    done
    { ("$@") >"$log" 2>&1 && echo 0 >"$log.rc" || echo $? >"$log.rc"; } &
}

par_wait()
{
    wait || true
    local log n
    for log in "${E2E_PAR_LOGS[@]}"; do
        cat "$log"
        n=$(grep -c '^ok      ' "$log" || true)
        E2E_PASSED=$((E2E_PASSED + n))
        n=$(grep -c '^SKIP    ' "$log" || true)
        E2E_SKIPPED=$((E2E_SKIPPED + n))
        while IFS= read -r n; do
            E2E_FAILED=$((E2E_FAILED + 1))
            E2E_FAILURES+=("${n#FAIL    }")
        done < <(grep '^FAIL    ' "$log" || true)
        if [[ $(cat "$log.rc" 2>/dev/null) != 0 ]]; then
            fail "job $(basename "$log") exited with status $(cat "$log.rc" 2>/dev/null) (see above)"
        fi
    done
    E2E_PAR_LOGS=()
}

e2e_finish()
{
    echo
    echo "time: $((SECONDS - E2E_T0)) s"
    if [[ $E2E_FAILED -gt 0 ]]; then
        echo "failed cases:"
        printf '  %s\n' "${E2E_FAILURES[@]}"
    fi
    if [[ $E2E_SKIPPED -gt 0 ]]; then
        echo "$E2E_PASSED passed, $E2E_FAILED failed, $E2E_SKIPPED skipped"
    else
        echo "$E2E_PASSED passed, $E2E_FAILED failed"
    fi
    [[ $E2E_FAILED -eq 0 && $E2E_PASSED -gt 0 ]]
}

# hp ARGS...: run hookpatch; sets HP_RC, HP_OUT (stdout) and HP_ERR (stderr).
# Never fails the script by itself.
hp()
{
    local o e
    o=$(mktemp "$HP_WORK/.hp-out.XXXXXX")
    e=$(mktemp "$HP_WORK/.hp-err.XXXXXX")
    HP_RC=0
    timeout 120 "$HOOKPATCH" "$@" >"$o" 2>"$e" || HP_RC=$?
    HP_OUT=$(cat "$o")
    HP_ERR=$(cat "$e")
    rm -f "$o" "$e"
}

# run_prog PROG ARGS...: run a (patched) program with a time limit; sets
# RUN_RC, RUN_OUT (stdout) and RUN_ERR (stderr). A program killed by a
# signal gives 128+signal, as in a shell, without the shell's "Illegal
# instruction" message on our own stderr.
run_prog()
{
    local o e
    o=$(mktemp "$HP_WORK/.run-out.XXXXXX")
    e=$(mktemp "$HP_WORK/.run-err.XXXXXX")
    RUN_RC=0
    bash -c 'timeout 30 "$@"; exit $?' run_prog "$@" >"$o" 2>"$e" </dev/null || RUN_RC=$?
    RUN_OUT=$(cat "$o")
    RUN_ERR=$(cat "$e")
    rm -f "$o" "$e"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# Hookpatch's temporary output files (".OUT.hookpatch-XXXXXX") in DIR.
temp_files() { find "$1" -maxdepth 1 -name '.*.hookpatch-*' | sort; }

# readelf_clean FILE: readelf -a prints nothing on stderr and succeeds.
readelf_clean()
{
    local err
    err=$(readelf -a -W "$1" 2>&1 >/dev/null) || return 1
    [[ -z $err ]] || {
        printf '%s\n' "$err" | head -5
        return 1
    }
}

# x86 feature bits in the GNU property note ("IBT, SHSTK"), or empty.
x86_features()
{
    readelf -n "$1" 2>/dev/null | awk '/x86 feature: / && !done { sub(/.*x86 feature: /, ""); print; done = 1 }'
}

# json_valid FILE: python3 -m json.tool accepts it.
json_valid() { "$PY" -m json.tool "$1" >/dev/null 2>&1; }

# json_get FILE EXPR...: evaluate Python expressions over the parsed JSON
# `j`, one result per line (one interpreter start for all of them).
json_get()
{
    "$PY" -c 'import json,sys
j = json.load(open(sys.argv[1]))
for e in sys.argv[2:]:
    print(eval(e))' "$@"
}

# ---- Go toolchains. Every Go test runs once per toolchain, and each of its
# check names starts with the toolchain's label ("go1.26 pie: patch"):
#
#   while read -r label go; do
#       go_use "$label" "$go"      # `go` is now that toolchain
#       ...
#   done < <(go_toolchains)
#
# The unit tests read the same list (tests/unit/go_toolchains.h runs
# go_toolchains), so there is one definition of what "every Go" means.

# go_toolchains: one line "LABEL PATH" per Go toolchain to test, newest
# first: the current release in /usr/local/go and Debian's Go 1.19, each
# when installed. HP_GO_LIST (paths to go binaries, separated by spaces or
# colons) replaces that list. With neither installed and no HP_GO_LIST, the
# `go` on PATH. LABEL is "go1.MINOR" from `go env GOVERSION`; a second
# toolchain with the same label is dropped.
go_toolchains()
{
    local list=${HP_GO_LIST:-/usr/local/go/bin/go /usr/lib/go-1.19/bin/go} g v seen=" " n=0
    for g in ${list//:/ }; do
        [[ -x $g ]] || continue
        v=$(env -u GOROOT GOTOOLCHAIN=local "$g" env GOVERSION 2>/dev/null) || continue
        [[ $v =~ go1\.[0-9]+ ]] || continue
        v=${BASH_REMATCH[0]}
        [[ $seen == *" $v "* ]] && continue
        seen+="$v "
        echo "$v $g"
        n=$((n + 1))
    done
    if [[ $n -eq 0 && -z ${HP_GO_LIST:-} ]] && g=$(command -v go) &&
        v=$(env -u GOROOT GOTOOLCHAIN=local "$g" env GOVERSION 2>/dev/null) &&
        [[ $v =~ go1\.[0-9]+ ]]; then
        echo "${BASH_REMATCH[0]} $g"
    fi
}

# go_use LABEL PATH: PATH's go becomes this shell's `go` (first on PATH,
# GOROOT from outside dropped), nothing is downloaded (GOTOOLCHAIN=local),
# and the build cache is the version's own: $HP_GOCACHE/LABEL. HP_GOCACHE
# is shared by every test of a run (scripts/test.sh sets it); without it,
# the build tree's gocache/ (HP_GOCACHE_DEFAULT, from ctest), else one
# under $HP_WORK. Sets GO_LABEL.
go_use()
{
    GO_LABEL=$1
    : "${E2E_PATH0:=$PATH}"
    PATH="$(dirname "$2"):$E2E_PATH0"
    unset GOROOT
    export PATH GOTOOLCHAIN=local
    export GOCACHE="${HP_GOCACHE:-${HP_GOCACHE_DEFAULT:-$HP_WORK/gocache}}/$1"
}

# ---- AArch64 (issue 15). Programs are cross-built (gcc-aarch64-linux-gnu
# and libc6-dev-arm64-cross, or clang --target=aarch64-linux-gnu with lld)
# and run under qemu-user: binfmt_misc is not assumed. `-cpu max` enforces
# BTI (in programs that carry the property) and authenticates PAC.
#
#   a64_have NAME || { e2e_finish; exit; }   # the tools, or skip (CI: fail)
#   a64_cc -O2 -o prog prog.c                # gcc cross compiler
#   a64_clang -O2 -o prog prog.c             # clang cross, linked with lld
#   a64_run prog ARGS...                     # RUN_RC/RUN_OUT/RUN_ERR, as run_prog
#   hookpatch exec --runner "$A64_RUNNER" RULES -- prog ARGS...
A64_QEMU=qemu-aarch64-static
A64_SYSROOT=/usr/aarch64-linux-gnu
# The command that runs an AArch64 program here (hookpatch exec --runner).
A64_RUNNER="$A64_QEMU -cpu max -L $A64_SYSROOT"

# a64_have NAME: true when the cross compiler, its libc and qemu-user are
# installed. Otherwise records NAME as skipped with what is missing, or,
# when CI or HP_REQUIRE_A64 is set (scripts/deps.sh installs them, so CI
# must have them), as failed; and returns 1.
a64_have()
{
    local missing=() t
    for t in aarch64-linux-gnu-gcc "$A64_QEMU"; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    [[ -e $A64_SYSROOT/lib/ld-linux-aarch64.so.1 ]] || missing+=("$A64_SYSROOT (libc6-dev-arm64-cross)")
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ -n ${CI:-} || -n ${HP_REQUIRE_A64:-} ]]; then
        fail "$1" "missing: ${missing[*]} (scripts/deps.sh installs them)"
    else
        skip "$1" "missing: ${missing[*]} (scripts/deps.sh installs them)"
    fi
    return 1
}

a64_cc() { aarch64-linux-gnu-gcc "$@"; }
a64_clang() { clang --target=aarch64-linux-gnu -fuse-ld=lld "$@"; }

# a64_run PROG ARGS...: run_prog under qemu-user.
a64_run()
{
    # shellcheck disable=SC2086 # A64_RUNNER is a command line
    run_prog $A64_RUNNER "$@"
}

# a64_bti_build OUT [marked|plain] [gcc|clang]: the -nostdlib BTI fixture
# (tests/fixtures/a64_bti). marked: every object carries BTI|PAC and the
# link forces BTI, so qemu enforces it; plain: no property, no enforcement.
a64_bti_build()
{
    local out=$1 kind=${2:-marked} cc=a64_cc fix=$HP_SRC/tests/fixtures/a64_bti
    [[ ${3:-gcc} == clang ]] && cc=a64_clang
    local flags=(-O2 -ffreestanding -nostdlib -static -fno-stack-protector -fno-builtin)
    if [[ $kind == marked ]]; then
        flags+=(-mbranch-protection=standard -Wl,-z,force-bti)
    else
        flags+=(-DHP_NO_PROPERTY)
    fi
    "$cc" "${flags[@]}" "$fix/start.S" "$fix/main.c" -o "$out"
}

# AArch64 feature bits in the GNU property note ("BTI, PAC"), or empty.
a64_features()
{
    readelf -n "$1" 2>/dev/null | awk '/AArch64 feature: / && !done { sub(/.*AArch64 feature: /, ""); print; done = 1 }'
}

# Run directly (ctest registers every tests/e2e/*.sh, this file included),
# it checks its own helpers, so that file is not an empty pass.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    e2e_init
    run_prog sh -c 'echo out; echo err >&2; exit 3'
    check_eq "run_prog: output and status" "out|err|3" "$RUN_OUT|$RUN_ERR|$RUN_RC"
    run_prog sh -c 'kill -ILL $$'
    check_eq "run_prog: death by SIGILL is 132" "132" "$RUN_RC"
    hp --version
    check_eq "hp: runs \$HOOKPATCH" "0 yes" "$HP_RC $([[ $HP_OUT == hookpatch* ]] && echo yes)"
    touch "$HP_WORK/.out.hookpatch-abc123" "$HP_WORK/out"
    check_eq "temp_files: finds hookpatch temporaries only" "$HP_WORK/.out.hookpatch-abc123" "$(temp_files "$HP_WORK")"
    printf '{"a": [1, 2], "b": true}' >"$HP_WORK/j.json"
    check_eq "json_get: one line per expression" $'2\nTrue' "$(json_get "$HP_WORK/j.json" "len(j['a'])" "j['b']")"
    check_true "json_valid: accepts JSON" "" json_valid "$HP_WORK/j.json"
    printf '{"a": ' >"$HP_WORK/bad.json"
    check_true "json_valid: rejects a truncated document" "" eval '! json_valid "$HP_WORK/bad.json"'
    check_true "readelf_clean: hookpatch itself reads cleanly" "" readelf_clean "$HOOKPATCH"
    if a64_have "a64 helpers"; then
        printf 'int main(int c, char **v) { (void)v; return c + 40; }\n' >"$HP_WORK/a.c"
        a64_cc -o "$HP_WORK/a" "$HP_WORK/a.c" && a64_run "$HP_WORK/a" x
        check_eq "a64_cc + a64_run: an AArch64 program runs under qemu" 42 "$RUN_RC"
    fi
    check_eq "a64_have: a missing tool skips outside CI" \
        "SKIP    x: missing: /nonexistent/qemu (scripts/deps.sh installs them)
rc=1" \
        "$(A64_QEMU=/nonexistent/qemu CI= HP_REQUIRE_A64= a64_have x; echo "rc=$?")"
    check_eq "a64_have: a missing tool fails under CI" \
        "FAIL    x
        | missing: /nonexistent/qemu (scripts/deps.sh installs them)
rc=1" \
        "$(A64_QEMU=/nonexistent/qemu CI=true a64_have x; echo "rc=$?")"
    check_eq "go_toolchains: HP_GO_LIST of missing paths lists none" "" \
        "$(HP_GO_LIST=/nonexistent/go:/also/missing go_toolchains)"
    if g=$(command -v go); then
        check_eq "go_toolchains: one line per Go version" 1 "$(HP_GO_LIST="$g $g" go_toolchains | wc -l)"
        (go_use $(HP_GO_LIST=$g go_toolchains) && [[ $(command -v go) == "$g" &&
            $GOCACHE == */go1.* && $GOTOOLCHAIN == local ]]) &&
            pass "go_use: that go first on PATH, its own cache" || fail "go_use"
    fi
    e2e_finish
fi
