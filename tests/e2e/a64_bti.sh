#!/usr/bin/env bash
# The AArch64 BTI fixture (tests/fixtures/a64_bti), which the hooked BTI
# cases build on: shows that enforcement under qemu -cpu max is real. An
# indirect call onto a `bti c` landing pad works; an indirect call onto
# an ordinary instruction dies with SIGILL; the same program built without
# the GNU property note runs all three calls. Built with gcc and with
# clang + lld (both link with -z force-bti).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

case_for()
{
    local cc=$1 w=$HP_WORK/$1
    mkdir -p "$w"
    if ! a64_bti_build "$w/bti" marked "$cc" 2>"$w/build.err" ||
        ! a64_bti_build "$w/plain" plain "$cc" 2>>"$w/build.err"; then
        fail "$cc: build the fixture" "$(cat "$w/build.err")"
        return
    fi
    check_eq "$cc: the marked program carries BTI and PAC" "BTI, PAC" "$(a64_features "$w/bti")"
    check_eq "$cc: the control carries no property" "" "$(a64_features "$w/plain")"
    a64_run "$w/bti" direct
    check_eq "$cc: BTI: a direct call" "0 direct=5" "$RUN_RC $RUN_OUT"
    a64_run "$w/bti" pad
    check_eq "$cc: BTI: an indirect call onto bti c" "0 pad=5" "$RUN_RC $RUN_OUT"
    a64_run "$w/bti" nopad
    check_eq "$cc: BTI: an indirect call onto a mov dies with SIGILL" "132 " "$RUN_RC $RUN_OUT"
    a64_run "$w/plain" nopad
    check_eq "$cc: no property: the same call runs" "0 nopad=7" "$RUN_RC $RUN_OUT"
}

if a64_have "a64 BTI fixture"; then
    par_start case_for gcc
    if command -v clang >/dev/null && command -v ld.lld >/dev/null; then
        par_start case_for clang
    else
        skip "clang" "clang or ld.lld missing"
    fi
    par_wait
fi
e2e_finish
