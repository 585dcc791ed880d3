#!/usr/bin/env bash
# Trampolines on real C code: drivers (tests/fixtures/clibs) linked against
# Debian's static zlib, sqlite and Lua, as PIE, non-PIE, -static and
# -static-pie, patched with target = "*", action = "passthrough" (every
# function in the binary: the library, the driver, and in the static builds
# libc too). The patched program must print exactly what the original prints
# and exit the same way; fewer than 1% of the matched functions may be
# skipped. The patched sqlite driver also runs once under valgrind.
set -euo pipefail
: "${HOOKPATCH:?} ${HP_SRC:?} ${HP_WORK:?}"
rm -rf "$HP_WORK"; mkdir -p "$HP_WORK"
export LC_ALL=C
PY=$(python3 -c 'import sys; print(sys.executable)')
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
FIX=$HP_SRC/tests/fixtures/clibs
LIB=/usr/lib/x86_64-linux-gnu
cd "$HP_WORK"
T0=$SECONDS
table=()
printf '[[hook]]\ntarget = "*"\naction = "passthrough"\n' >all.toml

# build NAME DRIVER MODE: compile the driver and link the static library.
build()
{
    local name=$1 drv=$2 mode=$3 flags=(-O2 -Wall) libs=()
    case $mode in
    pie) flags+=(-fPIE -pie) ;;
    nopie) flags+=(-fno-pie -no-pie) ;;
    static) flags+=(-fno-pie -static) ;;
    static-pie) flags+=(-fPIE -static-pie) ;;
    esac
    case $drv in
    z) libs=("$LIB/libz.a") ;;
    sql) libs=("$LIB/libsqlite3.a" -lm -lpthread -ldl) ;;
    lua) flags+=(-I/usr/include/lua5.4); libs=("$LIB/liblua5.4.a" -lm -ldl) ;;
    esac
    # Static links warn that dlopen needs the shared glibc at run time;
    # the drivers never load extensions.
    gcc "${flags[@]}" -o "$name" "$FIX/${drv}driver.c" "${libs[@]}" >"$name.build" 2>&1
}

# run_to FILE PROG: run with the driver's arguments; stdout+stderr to FILE,
# then the exit status as the last line.
run_to()
{
    local f=$1 prog=$2 rc=0 args=()
    [[ $prog == *lua-* ]] && args=("$FIX/script.lua")
    timeout 120 "$prog" "${args[@]}" >"$f" 2>&1 || rc=$?
    echo "exit $rc" >>"$f"
}

# A small static program skips about 1.2%: glibc's 12 memcpy variants are
# entered at +3 by their memmove twins, whatever the program. Hence the
# static builds use the bigger drivers.
variants=(z-pie sql-nopie sql-static-pie lua-pie lua-static)
for v in "${variants[@]}"; do
    drv=${v%%-*} mode=${v#*-}
    if ! build "$v" "$drv" "$mode"; then bad "$v: build"; cat "$v.build"; continue; fi
    want=DYN; [[ $mode == nopie || $mode == static ]] && want=EXEC
    type=$(readelf -hW "$v" | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p')
    interp=$(readelf -lW "$v" | grep -c 'Requesting program interpreter' || true)
    static=no; [[ $mode == static* ]] && static=yes
    if [[ $type == "$want" ]] && { [[ $static == yes && $interp == 0 ]] || [[ $static == no && $interp == 1 ]]; }
    then ok "$v: ELF $type, $([ $static = yes ] && echo static || echo dynamic)"
    else bad "$v: ELF type $type (want $want), interpreter $interp"; fi

    run_to "$v.want" "./$v"
    [ "$(tail -1 "$v.want")" = "exit 0" ] && [ "$(wc -l <"$v.want")" -gt 5 ] &&
        ok "$v: the unpatched driver runs" || { bad "$v: unpatched run"; tail -5 "$v.want"; }

    rc=0
    "$HOOKPATCH" --json "./$v" "$v.out" all.toml >"$v.json" 2>"$v.err" || rc=$?
    if [ "$rc" != 0 ]; then bad "$v: hookpatch exit $rc"; head -5 "$v.err"; continue; fi
    read -r matched hooked skipped libc_hooked <<<"$("$PY" - "$v.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
names = {h["target"] for h in j["hooks"]}
print(j["hooked"] + j["skipped"], j["hooked"], j["skipped"],
      int("__libc_start_main" in names and bool(names & {"printf", "_IO_printf"})))
PY
)"
    echo "  $v: matched $matched, hooked $hooked, skipped $skipped"
    "$PY" -c 'import collections, json, sys
for r, n in collections.Counter(s["reason"] for s in json.load(open(sys.argv[1]))["skipped_hooks"]).most_common():
    print("    skipped %d: %s" % (n, r))' "$v.json"
    grep -q "^hookpatch: hooked $hooked functions, skipped $skipped$" "$v.err" &&
        ok "$v: summary line agrees with --json" || { bad "$v: summary line"; head -3 "$v.err"; }
    if [ "$hooked" -gt 0 ] && [ $((skipped * 100)) -lt "$matched" ]; then
        ok "$v: skipped $skipped of $matched (< 1%)"
    else bad "$v: skipped $skipped of $matched (want < 1%)"; fi
    if [ "$static" = yes ]; then
        [ "$libc_hooked" = 1 ] && ok "$v: libc's functions are hooked too (__libc_start_main, printf)" ||
            bad "$v: libc functions not among the hooks"
    fi
    recorded=$("$HOOKPATCH" list "$v.out" | grep -c '^hook passthrough ' || true)
    [ "$recorded" = "$hooked" ] && ok "$v: .hookpatch.info records all $hooked hooks" ||
        bad "$v: .hookpatch.info records $recorded hooks, want $hooked"

    t=$SECONDS
    run_to "$v.got" "./$v.out"
    result=FAIL
    if cmp -s "$v.want" "$v.got"; then
        ok "$v: patched output byte-identical ($(wc -l <"$v.got") lines, $((SECONDS - t)) s)"; result=same
    else
        bad "$v: patched output differs"
        diff "$v.want" "$v.got" >"$v.diff" || true
        head -20 "$v.diff"
    fi
    table+=("$(printf '%-14s %7s %7s %7s  %s' "$v" "$matched" "$hooked" "$skipped" "$result")")
done

# ---- valgrind: the patched code must not read uninitialised or freed
# memory, and valgrind must be able to follow the new segment.
if command -v valgrind >/dev/null && [ -x sql-nopie.out ]; then
    t=$SECONDS rc=0
    timeout 300 valgrind -q --error-exitcode=99 ./sql-nopie.out >vg.out 2>vg.err || rc=$?
    echo "exit $rc" >>vg.out
    if [ "$rc" = 0 ] && cmp -s sql-nopie.want vg.out; then
        ok "sql-nopie: patched driver clean under valgrind, same output ($((SECONDS - t)) s)"
    else
        bad "sql-nopie under valgrind: rc $rc"
        head -20 vg.err
        diff sql-nopie.want vg.out >vg.diff || true
        head vg.diff
    fi
else
    echo "skip valgrind: not installed or no patched sqlite driver"
fi

echo
printf '%-14s %7s %7s %7s  %s\n' binary matched hooked skipped output
printf '%s\n' "${table[@]}"
echo "time: $((SECONDS - T0)) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
