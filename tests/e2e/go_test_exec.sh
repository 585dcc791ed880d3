#!/usr/bin/env bash
# The Go test workflow: `go test -exec "hookpatch exec rules.toml --"` on the
# example module (examples/gotest), and what `hookpatch exec` passes
# through: arguments, stdin/stdout/stderr, exit status, signals, and the
# temporary file's removal. Offline: the modules have no dependencies.
# Once per Go toolchain go_toolchains lists; check names say which.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${HOOKPATCH:?} ${HP_SRC:?} ${HP_WORK:?}"
rm -rf "$HP_WORK"; mkdir -p "$HP_WORK"
export GOPATH="$HP_WORK/gopath" GOFLAGS=-mod=mod GOPROXY=off
pass=0 fail=0
ok() { echo "ok   $GO_LABEL: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $GO_LABEL: $1"; fail=$((fail + 1)); }

exec_for()
{
  W=$HP_WORK/$GO_LABEL
  mkdir -p "$W"
  cp -r "$HP_SRC/examples/gotest" "$W/gotest"
  cd "$W/gotest"
  if go test -count=1 -gcflags=all=-l -exec "$HOOKPATCH exec rules.toml --" ./... >out.txt 2>&1 &&
    grep -q '^ok' out.txt; then ok "go test -exec passes with the mocks patched in"
  else bad "go test -exec"; cat out.txt; fi
  if ! go test -count=1 -gcflags=all=-l ./... >plain.txt 2>&1 && grep -q 'want 42' plain.txt
  then ok "without hookpatch the same tests fail (they really depend on the patch)"
  else bad "unpatched run should fail"; cat plain.txt; fi
  go test -count=1 -gcflags=all=-l -v -exec "$HOOKPATCH exec rules.toml --" -run Counter ./... >v.txt 2>&1 || true
  if grep -q -- '--- PASS: TestCounterIsMocked' v.txt; then ok "pointer-receiver method hooked in a test"
  else bad "method hook"; cat v.txt; fi

  cp -r "$HP_SRC/tests/fixtures/go_exec" "$W/execcheck"
  cd "$W/execcheck"
  go build -gcflags=all=-l -o prog .
  run() { "$HOOKPATCH" exec rules.toml -- ./prog "$@"; }
  [ "$(printf 'a\nb\n' | run echo 2>/dev/null)" = $'patched:a\npatched:b' ] &&
    ok "stdin and stdout pass through, code is patched" || bad "stdin/stdout"
  [ "$(printf 'x\n' | run echo 2>&1 >/dev/null)" = "to stderr" ] && ok "stderr passes through" ||
    bad "stderr"
  set +e; run exit 7; rc=$?; set -e
  [ "$rc" = 7 ] && ok "exit status passes through" || bad "exit status: got $rc"
  [ "$(run self)" = "patched true" ] && ok "argv[0] and os.Executable name the patched binary" ||
    bad "self"
  "$HOOKPATCH" exec rules.toml -- ./prog wait >wait.txt 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q ready wait.txt 2>/dev/null && break; sleep 0.1; done
  kill -USR1 "$pid"; sleep 0.5; kill -TERM "$pid"
  set +e; wait "$pid"; rc=$?; set -e
  grep -q 'got SIGUSR1' wait.txt && ok "signals are forwarded to the child" || bad "SIGUSR1 forward"
  [ "$rc" = 143 ] && ok "death by SIGTERM is reported as such (status 143)" ||
    bad "signal status: got $rc"
  left=$(find . -name '.prog.hookpatch-*' | wc -l)
  [ "$left" = 0 ] && ok "the temporary patched binary is removed" || bad "$left temporaries left"
  set +e; "$HOOKPATCH" exec missing.toml -- ./prog echo </dev/null >/dev/null 2>err.txt; rc=$?; set -e
  [ "$rc" = 1 ] && grep -q '^hookpatch: error: .*missing.toml' err.txt && ok "bad rules: exit 1 with an error" ||
    bad "bad rules: rc=$rc $(cat err.txt)"
  set +e; "$HOOKPATCH" exec rules.toml ./prog >/dev/null 2>&1; rc=$?; set -e
  [ "$rc" = 2 ] && ok "usage error without --" || bad "usage: rc=$rc"
}

T0=$SECONDS
mapfile -t TOOLCHAINS < <(go_toolchains)
[ ${#TOOLCHAINS[@]} -gt 0 ] || { echo "FAIL no Go toolchain found"; fail=1; }
for tc in "${TOOLCHAINS[@]}"; do
  go_use $tc
  t=$SECONDS
  exec_for
  echo "# $GO_LABEL: $((SECONDS - t)) s"
done
echo "time: $((SECONDS - T0)) s"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
