#!/usr/bin/env bash
# Trampolines on real arm64 code: a libc-heavy driver
# (tests/fixtures/a64_c/libcdriver.c: stdio, printf floats, strtod, qsort,
# regex, iconv, locale and wide chars, time, setjmp, heavy malloc) linked
# -static and -static-pie with gcc and clang, patched with target = "*",
# action = "passthrough": every named function, glibc included, runs
# through a trampoline. The patched program must print exactly what the
# original prints and exit the same way; at least 99.5% of the matched
# functions must be hooked, and every skip's reason is printed here. Once
# more under the far layout (HOOKPATCH_TEST_FAR=1: 12-byte far prologues,
# far jumps back through x16/x17), where entries give up three instructions
# and more are refused (both scratch registers written; a function shorter
# than the far jump with nothing to re-point at its call sites: none
# found, or only an absolute word, or a branch inside another hook's
# stolen bytes): at least 99% there (measured: gcc 99.37%, clang 99.46%;
# 98.55% for both before call sites served the far layout).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

DRV=$HP_SRC/tests/fixtures/a64_c/libcdriver.c
printf '[[hook]]\ntarget = "*"\naction = "passthrough"\n' >"$HP_WORK/all.toml"

one() # CC MODE [far]
{
    local cc=$1 mode=$2 far=${3:-} v="$1-$2${3:+-far}" dir=$HP_WORK/$1-$2${3:+-far} flags=(-O2 -Wall)
    local permille=995 env=()
    [[ $far ]] && permille=990 env=(HOOKPATCH_TEST_FAR=1)
    mkdir -p "$dir"
    case $mode in
    static) flags+=(-fno-pie -static) ;;
    static-pie) flags+=(-fPIE -static-pie) ;;
    esac
    local c=a64_cc
    [[ $cc == clang ]] && c=a64_clang
    if ! "$c" "${flags[@]}" -o "$dir/in" "$DRV" -lm >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    a64_run "$dir/in"
    local want="$RUN_OUT (rc $RUN_RC)"
    check_true "$v: the driver runs (exit 3)" "$want" test "$RUN_RC" = 3
    local t0=$SECONDS
    env "${env[@]}" "$HOOKPATCH" --json "$dir/in" "$dir/out" "$HP_WORK/all.toml" >"$dir/report.json" 2>"$dir/hp.err" && HP_RC=0 || HP_RC=$?
    HP_ERR=$(cat "$dir/hp.err")
    if [[ $HP_RC -ne 0 ]]; then
        fail "$v: patch" "rc $HP_RC" "$(head -20 <<<"$HP_ERR")"
        return
    fi
    local hooked skipped
    hooked=$(json_get "$dir/report.json" "j['hooked']")
    skipped=$(json_get "$dir/report.json" "j['skipped']")
    echo "# $v: hooked $hooked, skipped $skipped ($((SECONDS - t0))s to patch); skips:"
    json_get "$dir/report.json" "'\n'.join('#   %s: %s' % (h['target'], h['reason']) for h in j['skipped_hooks'])"
    check_true "$v: at least $((permille / 10)).$((permille % 10))% of $((hooked + skipped)) functions hooked ($hooked)" "" \
        test $((hooked * 1000)) -ge $(((hooked + skipped) * permille))
    check_true "$v: thousands of functions matched" "" test "$hooked" -gt 1000
    a64_run "$dir/out"
    check_eq "$v: every function passed through: same output, same exit" "$want" "$RUN_OUT (rc $RUN_RC)"
    local rerr
    if rerr=$(readelf_clean "$dir/out"); then pass "$v: readelf -a is clean"; else fail "$v: readelf -a is clean" "$rerr"; fi
}

if a64_have "a64 libc passthrough"; then
    par_start one gcc static
    par_start one gcc static-pie
    par_start one gcc static far
    if command -v clang >/dev/null && command -v ld.lld >/dev/null; then
        par_start one clang static
        par_start one clang static-pie far
    else
        skip "clang" "clang or ld.lld missing"
    fi
    par_wait
fi
e2e_finish
