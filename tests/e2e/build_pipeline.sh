#!/usr/bin/env bash
# hookpatch in a build pipeline (issue 19), from the user's side:
#   - the man page: groff finds nothing to warn about, it documents every
#     option --help prints (and no other), its version is the program's;
#   - `cmake --install` into a temporary prefix: binary, man page, CMake
#     package;
#   - examples/cmake configured against that prefix with find_package(),
#     once with Make and once with Ninja: app.hooked built by `all` and run,
#     its ctest passes; editing the rules, the mock's C source or the app
#     patches again with the new behaviour; a build with nothing changed
#     does not run hookpatch;
#   - the same without depfiles (HOOKPATCH_NO_DEPFILE, what Makefiles before
#     CMake 3.20 get), with a mock built by the project and with a prebuilt
#     one found by `hookpatch --print-deps`;
#   - examples/make and examples/meson built, run, rebuilt;
#   - `cpack -G DEB` from the build tree: its files, its Depends, and the
#     binary and CMake package it installs (dpkg -x) at work.
# ctest runs it with HOOKPATCH in the build tree it installs from.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

BUILD=${HP_BUILD:-$(dirname "$HOOKPATCH")}
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
    echo "e2e: $BUILD is not a CMake build tree (set HP_BUILD)" >&2
    exit 2
fi
W=$HP_WORK
PREFIX=$W/prefix
EX=$HP_SRC/examples
VERSION=$("$HOOKPATCH" --version)

# ---- the man page
check_man()
{
    local man=$HP_SRC/man/hookpatch.1 err text help_opts man_opts
    err=$(groff -man -ww -z "$man" 2>&1) && check_eq "man: groff -man -ww -z prints nothing" "" "$err" ||
        fail "man: groff -man -ww -z failed" "$err"
    text=$(groff -man -Tascii -P-cbou "$man" 2>/dev/null)
    # Options as --help prints them: "  -q, --quiet  ..." and "  --depfile FILE".
    help_opts=$("$HOOKPATCH" --help | grep -oE -- '(^|[ ,[(])--?[a-z][a-z-]*' | grep -oE -- '--?[a-z][a-z-]*' | sort -u)
    # Options the man page's OPTIONS section has an entry for.
    man_opts=$(printf '%s\n' "$text" | sed -n '/^OPTIONS$/,/^[A-Z]/p' |
        grep -oE '^       --?[a-z][a-z-]*(, --?[a-z][a-z-]*)?' | grep -oE -- '--?[a-z][a-z-]*' | sort -u)
    local missing=() o
    for o in $help_opts; do
        # Not `printf | grep -q`: grep -q exits at the first match, printf
        # then dies of SIGPIPE, and pipefail turns a found option into a
        # missing one (seen intermittently with larger man pages).
        grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" <<<"$text" || missing+=("$o")
    done
    check_eq "man: every option --help prints is in the man page" "" "${missing[*]}"
    check_eq "man: the OPTIONS section has an entry for exactly the options --help prints" \
        "$help_opts" "$man_opts"
    missing=()
    for o in $help_opts; do
        grep -qF -- "\`$o" "$HP_SRC/README.md" || missing+=("$o")
    done
    check_eq "README: every option --help prints is in its table" "" "${missing[*]}"
    check_eq "man: .TH carries the version --version prints" "$VERSION" \
        "$(sed -n 's/^\.TH .*"\(hookpatch [^"]*\)".*/\1/p' "$man")"
}

# ---- helpers for the example builds. Each build's output goes to a log.
# cbuild BUILD_DIR LOG: cmake --build, one job (the machine is shared).
cbuild() { cmake --build "$1" -j1 >"$2" 2>&1; }
# inode and mtime: a rebuild that does not run hookpatch leaves both as they
# are (hookpatch renames a new file over OUT).
stamp() { stat -c '%i %y' "$1"; }
ran_hookpatch() { grep -c 'hookpatch: patching' "$1" || true; }

# cmake_flow LABEL GENERATOR [CMAKE ARGS...]: examples/cmake against the
# installed package, built, tested and rebuilt after each kind of edit.
cmake_flow()
{
    local l=$1 gen=$2
    shift 2
    local src=$W/$l/src b=$W/$l/build log=$W/$l/log s
    mkdir -p "$W/$l"
    cp -r "$EX/cmake" "$src"
    if ! cmake -S "$src" -B "$b" -G "$gen" -DCMAKE_PREFIX_PATH="$PREFIX" "$@" >"$log.cfg" 2>&1; then
        fail "$l: configure" "$(tail -20 "$log.cfg")"
        return
    fi
    cbuild "$b" "$log.1" || { fail "$l: build" "$(tail -20 "$log.1")"; return; }
    check_eq "$l: app.hooked beside app, made by all" "yes" \
        "$([[ -x $b/app && -x $b/app.hooked ]] && echo yes)"
    run_prog "$b/app.hooked"
    check_eq "$l: app.hooked runs the mock and the stub" "1999: 12 degrees, heating on" "$RUN_OUT"
    if (cd "$b" && ctest --output-on-failure >"$log.ctest" 2>&1); then
        check_eq "$l: ctest runs app.hooked and passes" "1" "$(grep -c '100% tests passed' "$log.ctest")"
    else
        fail "$l: ctest" "$(tail -20 "$log.ctest")"
    fi

    s=$(stamp "$b/app.hooked")
    cbuild "$b" "$log.2" || fail "$l: no-op build" "$(tail "$log.2")"
    check_eq "$l: nothing changed: hookpatch does not run, app.hooked untouched" "0|$s" \
        "$(ran_hookpatch "$log.2")|$(stamp "$b/app.hooked")"

    sed -i 's/value  = 1999/value  = 2042/' "$src/rules.toml.in"
    cbuild "$b" "$log.3" || fail "$l: build after editing the rules" "$(tail "$log.3")"
    run_prog "$b/app.hooked"
    check_eq "$l: rules edited: patched again, new value" "1|2042: 12 degrees, heating on" \
        "$(ran_hookpatch "$log.3")|$RUN_OUT"

    sed -i 's/return 12;/return 25;/' "$src/mocks/sensor_mock.c"
    cbuild "$b" "$log.4" || fail "$l: build after editing the mock" "$(tail "$log.4")"
    run_prog "$b/app.hooked"
    check_eq "$l: mock's C source edited: object rebuilt, patched again" "1|2042: 25 degrees, heating off" \
        "$(ran_hookpatch "$log.4")|$RUN_OUT"
    # The test checks what the program does: a warm mock must fail it.
    if (cd "$b" && ctest >"$log.ctest2" 2>&1); then
        fail "$l: ctest passes although app.hooked now says 'heating off'"
    else
        pass "$l: ctest fails once the mock makes the room warm"
    fi

    sed -i 's/heating %s/heater %s/' "$src/app.c"
    cbuild "$b" "$log.5" || fail "$l: build after editing the app" "$(tail "$log.5")"
    run_prog "$b/app.hooked"
    check_eq "$l: app edited: relinked, patched again" "1|2042: 25 degrees, heater off" \
        "$(ran_hookpatch "$log.5")|$RUN_OUT"

    s=$(stamp "$b/app.hooked")
    cbuild "$b" "$log.6" || fail "$l: second no-op build" "$(tail "$log.6")"
    check_eq "$l: nothing changed after the edits: hookpatch does not run" "0|$s" \
        "$(ran_hookpatch "$log.6")|$(stamp "$b/app.hooked")"
}

# A project whose rules are a plain file naming a prebuilt object: without
# a depfile, `hookpatch --print-deps` at configure time must find it.
prebuilt_flow()
{
    local l=prebuilt-no-depfile src=$W/prebuilt-no-depfile/src b=$W/prebuilt-no-depfile/build
    local log=$W/prebuilt-no-depfile/log s
    mkdir -p "$src/mocks"
    cp "$EX/cmake/app.c" "$EX/cmake/sensor.c" "$EX/cmake/sensor.h" "$src/"
    cat >"$src/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.18)
project(prebuilt C)
find_package(hookpatch 0.1 REQUIRED)
add_executable(app app.c sensor.c)
hookpatch_patch(app RULES rules.toml OUTPUT app.patched OPTIONS -q)
EOF
    printf '[[hook]]\ntarget = "read_temperature"\nobject = "mocks/prebuilt.o"\nsymbol = "fake_temperature"\n' \
        >"$src/rules.toml"
    printf 'int fake_temperature(void) { return 5; }\n' >"$W/prebuilt.c"
    cc -O2 -fPIC -c "$W/prebuilt.c" -o "$src/mocks/prebuilt.o"
    if ! cmake -S "$src" -B "$b" -DHOOKPATCH_NO_DEPFILE=ON -DCMAKE_PREFIX_PATH="$PREFIX" >"$log.cfg" 2>&1; then
        fail "$l: configure" "$(tail -20 "$log.cfg")"
        return
    fi
    cbuild "$b" "$log.1" || { fail "$l: build" "$(tail -20 "$log.1")"; return; }
    run_prog "$b/app.patched"
    check_eq "$l: OUTPUT names the file" "5 degrees" "$(grep -o '5 degrees' <<<"$RUN_OUT")"
    printf 'int fake_temperature(void) { return 7; }\n' >"$W/prebuilt.c"
    cc -O2 -fPIC -c "$W/prebuilt.c" -o "$src/mocks/prebuilt.o"
    cbuild "$b" "$log.2" || fail "$l: build after replacing the object" "$(tail "$log.2")"
    run_prog "$b/app.patched"
    check_eq "$l: prebuilt object replaced: patched again" "1|7 degrees" \
        "$(ran_hookpatch "$log.2")|$(grep -o '7 degrees' <<<"$RUN_OUT")"
    cp "$src/mocks/prebuilt.o" "$src/mocks/other.o"
    printf 'int fake_temperature(void) { return 9; }\n' >"$W/prebuilt.c"
    cc -O2 -fPIC -c "$W/prebuilt.c" -o "$src/mocks/other.o"
    sed -i 's/prebuilt\.o/other.o/' "$src/rules.toml"
    cbuild "$b" "$log.3" || fail "$l: build after editing the rules" "$(tail "$log.3")"
    run_prog "$b/app.patched"
    check_eq "$l: rules name another object: configured again, patched again" "1|9 degrees" \
        "$(ran_hookpatch "$log.3")|$(grep -o '9 degrees' <<<"$RUN_OUT")"
    touch "$src/mocks/other.o"
    cbuild "$b" "$log.4" || fail "$l: build after touching the new object" "$(tail "$log.4")"
    check_eq "$l: the newly named object is a dependency" "1" "$(ran_hookpatch "$log.4")"
    s=$(stamp "$b/app.patched")
    cbuild "$b" "$log.5" || fail "$l: no-op build" "$(tail "$log.5")"
    check_eq "$l: nothing changed: hookpatch does not run" "0|$s" \
        "$(ran_hookpatch "$log.5")|$(stamp "$b/app.patched")"
}

make_flow()
{
    local d=$W/make s
    cp -r "$EX/make" "$d"
    local mk=(make -C "$d" HOOKPATCH="$PREFIX/bin/hookpatch")
    "${mk[@]}" >"$d.log1" 2>&1 || { fail "make: build" "$(tail -20 "$d.log1")"; return; }
    run_prog "$d/app.hooked"
    check_eq "make: app.hooked runs the mock" "1999: 12 degrees, heating on" "$RUN_OUT"
    "${mk[@]}" check >"$d.log2" 2>&1 && pass "make: make check" || fail "make: make check" "$(cat "$d.log2")"
    check_eq "make: the depfile names the mock's object" "1" \
        "$(grep -cxF "  $d/mocks/sensor_mock.o" "$d/app.hooked.d")"
    s=$(stamp "$d/app.hooked")
    "${mk[@]}" >"$d.log3" 2>&1
    check_eq "make: nothing changed: hookpatch does not run" "0|$s" \
        "$(grep -c 'hookpatch -q' "$d.log3" || true)|$(stamp "$d/app.hooked")"
    sed -i 's/return 12;/return 25;/' "$d/mocks/sensor_mock.c"
    "${mk[@]}" >"$d.log4" 2>&1 || fail "make: rebuild" "$(tail "$d.log4")"
    run_prog "$d/app.hooked"
    check_eq "make: mock edited: patched again" "1999: 25 degrees, heating off" "$RUN_OUT"
    sed -i 's/value  = 1999/value  = 2042/' "$d/rules.toml"
    "${mk[@]}" >"$d.log5" 2>&1 || fail "make: rebuild" "$(tail "$d.log5")"
    run_prog "$d/app.hooked"
    check_eq "make: rules edited: patched again" "2042: 25 degrees, heating off" "$RUN_OUT"
}

meson_flow()
{
    local src=$W/meson/src b=$W/meson/build log=$W/meson/log s
    mkdir -p "$W/meson"
    cp -r "$EX/meson" "$src"
    # The example finds hookpatch on PATH, as an installed one would be.
    export PATH="$PREFIX/bin:$PATH"
    if ! meson setup "$b" "$src" >"$log.cfg" 2>&1; then
        fail "meson: setup" "$(tail -20 "$log.cfg")"
        return
    fi
    ninja -C "$b" -j1 >"$log.1" 2>&1 || { fail "meson: build" "$(tail -20 "$log.1")"; return; }
    run_prog "$b/app.hooked"
    check_eq "meson: app.hooked runs the mock" "1999: 12 degrees, heating on" "$RUN_OUT"
    (cd "$b" && meson test >"$log.test" 2>&1) && pass "meson: meson test" ||
        fail "meson: meson test" "$(tail -20 "$log.test")"
    s=$(stamp "$b/app.hooked")
    ninja -C "$b" -j1 >"$log.2" 2>&1
    check_eq "meson: nothing changed: no work" "1|$s" \
        "$(grep -c 'no work to do' "$log.2")|$(stamp "$b/app.hooked")"
    sed -i 's/return 12;/return 25;/' "$src/mocks/sensor_mock.c"
    ninja -C "$b" -j1 >"$log.3" 2>&1 || fail "meson: rebuild" "$(tail "$log.3")"
    run_prog "$b/app.hooked"
    check_eq "meson: mock edited: patched again" "1999: 25 degrees, heating off" "$RUN_OUT"
    sed -i 's/value  = 1999/value  = 2042/' "$src/rules.toml.in"
    ninja -C "$b" -j1 >"$log.4" 2>&1 || fail "meson: rebuild" "$(tail "$log.4")"
    run_prog "$b/app.hooked"
    check_eq "meson: rules edited: patched again" "2042: 25 degrees, heating off" "$RUN_OUT"
}

deb_flow()
{
    local d=$W/deb deb list root
    mkdir -p "$d"
    if ! cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$d" >"$d/cpack.log" 2>&1; then
        fail "deb: cpack -G DEB" "$(tail -20 "$d/cpack.log")"
        return
    fi
    deb=$(ls "$d"/hookpatch_*.deb)
    list=$(dpkg-deb -c "$deb" | awk '{print $NF}')
    local f missing=()
    for f in ./usr/bin/hookpatch ./usr/share/man/man1/hookpatch.1 \
        ./usr/lib/cmake/hookpatch/hookpatchConfig.cmake \
        ./usr/lib/cmake/hookpatch/hookpatchConfigVersion.cmake \
        ./usr/lib/cmake/hookpatch/hookpatchTargets.cmake \
        ./usr/lib/cmake/hookpatch/HookpatchPatch.cmake ./usr/include/hookpatch.h \
        ./usr/share/hookpatch/go/mock/mock.go; do
        grep -qx -- "$f" <<<"$list" || missing+=("$f")
    done
    check_eq "deb: dpkg-deb -c lists the binary, the man page, the CMake package" "" "${missing[*]}"
    check_eq "deb: Package and Version" "hookpatch ${VERSION#hookpatch }" \
        "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
    # Every shared library the binary needs, by the package that has it.
    local deps lib want=() got=() arch
    deps=$(dpkg-deb -f "$deb" Depends)
    # Package names, one a line (a file, not a pipe into grep -q: see check_man).
    local dep_names
    dep_names=$(tr ',' '\n' <<<"$deps" | sed 's/^ *//; s/ .*//')
    arch=$(gcc -print-multiarch)
    for lib in $(readelf -d "$HOOKPATCH" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
        f=$(dpkg -S "*/$arch/$lib" 2>/dev/null | head -1 | cut -d: -f1)
        [[ -n $f ]] || continue
        want+=("$f")
        grep -qxF -- "$f" <<<"$dep_names" && got+=("$f")
    done
    check_eq "deb: Depends has the package of every DT_NEEDED library (${want[*]})" "${want[*]}" "${got[*]}"
    check_eq "deb: Depends names Zydis, cJSON, toml++, libstdc++ and libc" "5" \
        "$(tr ',' '\n' <<<"$deps" | grep -cE '^ ?(libzydis|libcjson|libtomlplusplus|libstdc\+\+6|libc6)')"

    root=$d/root
    dpkg -x "$deb" "$root"
    run_prog "$root/usr/bin/hookpatch" --version
    check_eq "deb: the installed binary runs" "0|$VERSION" "$RUN_RC|$RUN_OUT"
    cc -O2 -o "$d/shop" "$EX/demo/shop.c" "$EX/demo/lib.c"
    run_prog "$root/usr/bin/hookpatch" -q "$d/shop" "$d/shop.patched" "$EX/demo/rules.toml"
    if [[ $RUN_RC == 0 ]]; then
        run_prog "$d/shop.patched"
        check_eq "deb: the installed binary patches the demo" "1" "$(grep -c '1999' <<<"$RUN_OUT")"
    else
        fail "deb: the installed binary patches the demo" "$RUN_ERR"
    fi
    # The package's CMake files are relocatable: found under the scratch root.
    local b=$d/example
    if cmake -S "$EX/cmake" -B "$b" -G "Unix Makefiles" -DCMAKE_PREFIX_PATH="$root/usr" \
        >"$d/cfg.log" 2>&1 && cbuild "$b" "$d/build.log"; then
        run_prog "$b/app.hooked"
        check_eq "deb: examples/cmake builds with the packaged CMake package and its binary" \
            "1999: 12 degrees, heating on|1" \
            "$RUN_OUT|$(grep -c "^[[:space:]]$root/usr/bin/hookpatch " \
                "$b/CMakeFiles/hookpatch_app.hooked.dir/build.make")"
    else
        fail "deb: examples/cmake with the packaged CMake package" "$(tail -20 "$d/cfg.log" "$d/build.log" 2>/dev/null)"
    fi
}

# hookpatch_patch() called wrongly: configure stops with a message saying
# why. A project without languages configures in a fraction of a second.
bad_calls()
{
    local d=$W/bad-calls n call want got
    mkdir -p "$d/src"
    touch "$d/src/rules.toml"
    local calls=(
        "hookpatch_patch(nosuch RULES rules.toml)|there is no target named 'nosuch'"
        "hookpatch_patch(iface RULES rules.toml)|'iface' is of type INTERFACE_LIBRARY; hookpatch patches executables and shared libraries"
        "hookpatch_patch(tool)|RULES <file> is required"
        "hookpatch_patch(tool RULES rules.toml DEPENDS nosuch)|DEPENDS takes targets; 'nosuch' is not one"
        "hookpatch_patch(tool RULES rules.toml EXTRA)|unexpected arguments: EXTRA"
    )
    for n in "${!calls[@]}"; do
        call=${calls[$n]%%|*}
        want=${calls[$n]#*|}
        cat >"$d/src/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.18)
project(bad NONE)
find_package(hookpatch REQUIRED)
add_library(iface INTERFACE)
add_executable(tool IMPORTED)
set_target_properties(tool PROPERTIES IMPORTED_LOCATION /bin/true)
$call
EOF
        rm -rf "$d/b"
        got=0
        cmake -S "$d/src" -B "$d/b" -DCMAKE_PREFIX_PATH="$PREFIX" >"$d/log" 2>&1 || got=$?
        check_eq "hookpatch_patch: $call: configure fails saying why" "1|1" \
            "$got|$(tr -d '\n' <"$d/log" | sed 's/  */ /g' | grep -cF -- "$want")"
    done
}

check_man

# ---- cmake --install into a temporary prefix
if cmake --install "$BUILD" --prefix "$PREFIX" >"$W/install.log" 2>&1; then
    missing=()
    for f in bin/hookpatch share/man/man1/hookpatch.1 lib/cmake/hookpatch/hookpatchConfig.cmake \
        lib/cmake/hookpatch/hookpatchConfigVersion.cmake lib/cmake/hookpatch/HookpatchPatch.cmake \
        lib/cmake/hookpatch/hookpatchTargets.cmake include/hookpatch.h \
        share/hookpatch/go/go.mod share/hookpatch/go/mock/mock.go share/hookpatch/go/mock/dispatch_amd64.s; do
        [[ -f $PREFIX/$f ]] || missing+=("$f")
    done
    check_eq "install: binary, man page, switch helpers, CMake package and version file" "" "${missing[*]}"
    run_prog "$PREFIX/bin/hookpatch" --version
    check_eq "install: the installed binary runs" "0|$VERSION" "$RUN_RC|$RUN_OUT"
else
    fail "install: cmake --install" "$(tail -20 "$W/install.log")"
    e2e_finish
    exit 1
fi

par_start cmake_flow cmake-make "Unix Makefiles"
par_start cmake_flow cmake-ninja Ninja
par_start cmake_flow cmake-make-no-depfile "Unix Makefiles" -DHOOKPATCH_NO_DEPFILE=ON
par_start deb_flow
par_start prebuilt_flow
par_start make_flow
par_start meson_flow
par_start bad_calls
par_wait

# A new hookpatch patches again (the others are done: none sees the change).
touch "$PREFIX/bin/hookpatch"
cbuild "$W/cmake-ninja/build" "$W/cmake-ninja/log.7" || fail "cmake-ninja: build after touching hookpatch"
check_eq "cmake-ninja: hookpatch itself changed: patched again" "1" "$(ran_hookpatch "$W/cmake-ninja/log.7")"

e2e_finish
