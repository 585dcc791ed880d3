#!/usr/bin/env bash
# The whole test suite: unit, golden and end-to-end tests on a normal build,
# the same suite on a build with the portable fallbacks (HP_PORTABLE) and on
# an ASan+UBSan build, and every libFuzzer harness for a short fixed time.
# Usage: scripts/test.sh [FUZZ_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_secs=${1:-${HP_FUZZ_SECONDS:-20}}
jobs=$(nproc)
# One Go build cache for every test and both builds, one subdirectory per Go
# version the tests run (go1.19, go1.26; tests/e2e/lib.sh go_use): the
# standard library compiled with -gcflags=all=-l is reused instead of
# rebuilt per test.
export HP_GOCACHE="${HP_GOCACHE:-$PWD/build-gocache}"
# Likewise the zlib, sqlite and Lua sources and -Os builds of
# tests/e2e/c_libs_os.sh: downloaded and compiled once, not per build.
export HP_CLIBS_CACHE="${HP_CLIBS_CACHE:-$PWD/build-clibs-os}"
# And one wine prefix (~700 MB) for every PE test of every build
# (tests/e2e/lib.sh wine_prefix).
export HP_WINEPREFIX="${HP_WINEPREFIX:-$PWD/build-wineprefix}"

# ctest_build DIR [ENV...]: run DIR's tests. When they all pass, their
# scratch directories (DIR/e2e, DIR/golden: about 1 GB per build) are
# removed, so the three builds need the disk of one; a failing build keeps
# them to be read (set -e stops here).
ctest_build()
{
    local dir=$1
    shift
    env "$@" ctest --test-dir "$dir" --output-on-failure -j"$jobs"
    rm -rf "$dir/e2e" "$dir/golden"
}

echo "== build and test (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest_build build

echo "== build and test with the portable fallbacks (HP_PORTABLE: as on macOS)"
# Every Linux-only call and the SSE2 scans switched to their portable code
# (cmake/HookpatchSys.cmake), so what a Mac build runs is built and tested
# here; test_sys checks that nothing native is left.
cmake -S . -B build-portable -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHP_PORTABLE=ON >/dev/null
cmake --build build-portable -j"$jobs"
ctest_build build-portable

echo "== build and test with AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHP_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
ctest_build build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== fuzz every harness for ${fuzz_secs}s"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DHP_FUZZ=ON \
  -DHP_E2E=OFF -DHP_UNIT=OFF >/dev/null
cmake --build build-fuzz -j"$jobs"
tests/fuzz/run.sh build-fuzz "$fuzz_secs"
