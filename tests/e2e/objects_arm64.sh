#!/usr/bin/env bash
# `object =` on arm64 ELF hosts (issue 15): the mocks of tests/fixtures/
# objects (static state, a table of string pointers, a call to the original
# through `original =`, printf through the PLT or directly when static)
# compiled for AArch64 with gcc and clang, -O0/-O2, -fPIC and not, linked
# into hosts built in every link mode and run under qemu. The same with the
# new code placed out of B's reach (HOOKPATCH_TEST_FAR=1): the mock's calls
# into the binary go through veneers. And an x86-64 object for an arm64
# host is refused with the rules location and both machines.
#
# Not registered yet: it needs branch a15-seam (the arm64 rewriter, the
# arm64 ELF reader and writer, lib.sh's a64_* helpers and
# HOOKPATCH_TEST_FAR). After merging a15-seam and a15-objlink, move it to
# tests/e2e/ (ctest registers every tests/e2e/*.sh). It passed on such a
# merge (a15-objlink + a15-seam 2626daf): 62 cases, 45 s with 2 jobs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

# mocks CC OPT PIC DIR: compile the fixture's two mocks into DIR/mocks.
mocks()
{
    local cc=$1 opt=$2 pic=$3 d=$4
    $cc $opt $pic -c "$d/mocks/scale_mock.c" -o "$d/mocks/scale_mock.o" &&
        $cc $opt $pic -ffunction-sections -fdata-sections -c "$d/mocks/greet_mock.c" \
            -o "$d/mocks/greet_mock.o"
}

# patch_run NAME DIR HOST [ENV...]: patch HOST with DIR/rules.toml, run it,
# compare with the fixture's expected output.
patch_run()
{
    local name=$1 d=$2 host=$3
    shift 3
    rm -f "$d/out"
    if ! env "$@" "$HOOKPATCH" -q "$host" "$d/out" "$d/rules.toml" 2>"$d/err.txt"; then
        fail "$name: hookpatch" "$(cat "$d/err.txt")"
        return
    fi
    a64_run "$d/out"
    check_eq "$name" "0 $(cat "$d/expected.txt")" "$RUN_RC $RUN_OUT"
}

link_mode()
{
    local link=$1 d=$HP_WORK/$1 lflags
    case $link in
    pie) lflags=(-fPIE -pie) ;; no-pie) lflags=(-fno-pie -no-pie) ;;
    static) lflags=(-fno-pie -static) ;; static-pie) lflags=(-fPIE -static-pie) ;;
    esac
    cp -r "$HP_SRC/tests/fixtures/objects" "$d"
    if ! a64_cc -O2 "${lflags[@]}" "$d/host.c" "$d/lib.c" -o "$d/host" 2>"$d/build.err"; then
        fail "$link: build the host" "$(cat "$d/build.err")"
        return
    fi
    local cc opt pic
    for cc in aarch64-linux-gnu-gcc "clang --target=aarch64-linux-gnu"; do
        for opt in -O0 -O2; do
            for pic in -fPIC -fno-pic; do
                local v="$link/${cc%% *}$opt$pic"
                if ! mocks "$cc" $opt $pic "$d" 2>"$d/build.err"; then
                    fail "$v: build the mocks" "$(cat "$d/build.err")"
                    continue
                fi
                patch_run "$v" "$d" "$d/host"
                [[ $opt == -O2 ]] && patch_run "$v, far: veneers" "$d" "$d/host" HOOKPATCH_TEST_FAR=1
            done
        done
    done
    # The last output (clang -O2 -fno-pic, far): mocks named in .symtab,
    # and the veneer of printf (adrp/add/br x16) follows greet_mock.
    check_true "$link: scale_mock named in .symtab" "" \
        bash -c "aarch64-linux-gnu-nm '$d/out' | grep -q ' T scale_mock$'"
    check_true "$link: a veneer after the mocks' code" "" \
        bash -c "aarch64-linux-gnu-objdump -d '$d/out' | sed -n '/<greet_mock>:/,/^\$/p' | grep -q 'br.x16'"
    check_true "$link: readelf -a prints no warnings" "" \
        bash -c "aarch64-linux-gnu-readelf -a '$d/out' 2>&1 >/dev/null | (! grep -q .)"
}

refusal()
{
    local d=$HP_WORK/refusal
    cp -r "$HP_SRC/tests/fixtures/objects" "$d"
    a64_cc -O2 "$d/host.c" "$d/lib.c" -o "$d/host"
    gcc -O2 -c "$d/mocks/greet_mock.c" -o "$d/mocks/greet_mock.o"
    aarch64-linux-gnu-gcc -O2 -c "$d/mocks/scale_mock.c" -o "$d/mocks/scale_mock.o"
    local rc=0
    "$HOOKPATCH" "$d/host" "$d/out" "$d/rules.toml" 2>"$d/err.txt" || rc=$?
    check_eq "x86-64 object for an arm64 host: exit 1, no OUT" "1 no" \
        "$rc $([[ -e $d/out ]] && echo yes || echo no)"
    check_true "x86-64 object: the rules location, the object and both machines" \
        "$(cat "$d/err.txt")" \
        grep -q "rules.toml:9:10: .*object '.*greet_mock.o': its code is x86-64, but the binary's is arm64" \
        "$d/err.txt"
}

if a64_have "arm64 objects"; then
    for link in pie no-pie static static-pie; do
        par_start link_mode $link
    done
    par_start refusal
    par_wait
fi
e2e_finish
