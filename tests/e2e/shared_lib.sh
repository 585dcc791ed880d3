#!/usr/bin/env bash
# Acceptance: patch a shared library (tests/fixtures/shlib, gcc and clang,
# -shared -fPIC) and load it into programs that are not patched: one linked
# against it and found through LD_LIBRARY_PATH, one that dlopens it. Hooks:
# an exported function with a return stub, and another replaced by a hidden
# function inside the library (named only in .symtab). shl_total is not
# hooked but calls shl_value inside the library, so it must change too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/shlib
RULES=$FIX/hooks.toml
ORIG=$'value=13\nscale=40\ntotal=14'
HOOKED=$'value=77\nscale=4003\ntotal=78'

test_cc() # CC
{
    local cc=$1 v=$1 dir=$HP_WORK/$1
    mkdir -p "$dir/orig" "$dir/patched"
    if ! { "$cc" -O2 -fPIC -shared -Wl,-soname,libshl.so "$FIX/shl.c" -o "$dir/orig/libshl.so" &&
        "$cc" -O2 -I"$FIX" "$FIX/app.c" -L"$dir/orig" -lshl -o "$dir/app" &&
        "$cc" -O2 "$FIX/dlapp.c" -o "$dir/dlapp" -ldl; } >"$dir/build.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir/build.log")"
        return
    fi
    local lib=$dir/orig/libshl.so out=$dir/patched/libshl.so

    # ---- the fixture is what it claims to be
    local shape=""
    readelf -hW "$lib" | grep -q 'Type: *DYN' || shape+="not ET_DYN; "
    readelf --dyn-syms -W "$lib" | grep -qw shl_scale_mock && shape+="shl_scale_mock is exported; "
    readelf -sW "$lib" | grep -qw shl_scale_mock || shape+="shl_scale_mock is not in .symtab; "
    readelf -dW "$dir/app" | grep -q 'NEEDED.*libshl.so' || shape+="app does not need libshl.so; "
    readelf -dW "$dir/app" | grep -qE 'RPATH|RUNPATH' && shape+="app has an rpath; "
    if [[ -z $shape ]]; then pass "$v: fixture shape"; else fail "$v: fixture shape" "$shape"; fi

    run_prog env LD_LIBRARY_PATH="$dir/orig" "$dir/app"
    check_eq "$v: original library, linked" "$ORIG (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    run_prog "$dir/dlapp" "$lib"
    check_eq "$v: original library, dlopen" "$ORIG (rc 0)" "$RUN_OUT (rc $RUN_RC)"

    local in_sha
    in_sha=$(sha "$lib")
    hp --json "$lib" "$out" "$RULES"
    printf '%s\n' "$HP_OUT" >"$dir/report.json"
    if [[ $HP_RC -eq 0 && $HP_ERR == *"hookpatch: hooked 2 functions, skipped 0"* ]]; then
        pass "$v: patch"
    else
        fail "$v: patch" "rc $HP_RC" "$HP_ERR"
        return
    fi
    local fmt
    fmt=$(json_get "$dir/report.json" "j['format']" 2>&1 || true)
    check_eq "$v: reported as a shared library" "ELF shared library" "$fmt"

    run_prog env LD_LIBRARY_PATH="$dir/patched" "$dir/app"
    check_eq "$v: patched library, linked" "$HOOKED (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    run_prog env LD_LIBRARY_PATH="$dir/patched" LD_BIND_NOW=1 "$dir/app"
    check_eq "$v: patched library, linked, LD_BIND_NOW" "$HOOKED (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    run_prog "$dir/dlapp" "$out"
    check_eq "$v: patched library, dlopen" "$HOOKED (rc 0)" "$RUN_OUT (rc $RUN_RC)"

    local rerr
    if rerr=$(readelf_clean "$out"); then pass "$v: readelf -a is clean"; else fail "$v: readelf -a is clean" "$rerr"; fi

    hp "$lib" "$dir/again.so" "$RULES"
    if [[ $HP_RC -eq 0 ]] && cmp -s "$out" "$dir/again.so"; then
        pass "$v: deterministic output"
    else
        fail "$v: deterministic output" "rc $HP_RC; $(cmp "$out" "$dir/again.so" 2>&1 | head -1)"
    fi
    check_eq "$v: input unchanged" "$in_sha" "$(sha "$lib")"
}

for cc in gcc clang; do
    if command -v "$cc" >/dev/null; then
        test_cc "$cc"
    else
        skip "$cc" "not installed"
    fi
done

e2e_finish
