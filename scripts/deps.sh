#!/usr/bin/env bash
# Install everything hookpatch needs to build and to run its whole test
# suite, from Debian packages. Needs root (or sudo). The AArch64 tests run
# cross-built programs under qemu-user (qemu-user-static, the aarch64 gcc
# and libc; clang and lld cross-compile too; lld-16/lld-19 link chained-fixup
# Mach-O files); CI sets CI, so there a
# missing one fails those tests instead of skipping them. tcl (tclsh) and
# dpkg-dev build zlib, sqlite and Lua at -Os from Debian's source packages
# (tests/e2e/c_libs_os.sh).
set -euo pipefail
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  ca-certificates cmake make ninja-build meson pkg-config gcc g++ binutils file xxd \
  groff-base dpkg-dev \
  clang lld lld-16 lld-19 llvm libclang-rt-14-dev \
  liblief-dev libzydis-dev libcmocka-dev libtomlplusplus-dev libcjson-dev \
  libcapstone-dev libunicorn-dev \
  qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
  golang-go gcc-mingw-w64-x86-64 wine64 \
  libsqlite3-dev zlib1g-dev liblua5.4-dev tcl \
  python3 python3-unicorn gnuplot-nox hyperfine valgrind >/dev/null
echo "hookpatch: dependencies installed"
# The Go tests run with Debian's golang-go (Go 1.19) and with the current Go
# release in /usr/local/go, which Debian does not package (tests/e2e/lib.sh,
# go_toolchains); a missing one is left out of the runs.
[ -x /usr/local/go/bin/go ] ||
  echo "hookpatch: no /usr/local/go: the Go tests run with Go 1.19 only (current Go: https://go.dev/dl/)"
