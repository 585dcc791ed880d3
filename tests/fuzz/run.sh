#!/usr/bin/env bash
# Run every built fuzzer for a fixed time from its seed corpus.
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS
set -euo pipefail
build=$(cd "$1" && pwd) secs=$2
src=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0
for exe in "$build"/tests/fuzz/fuzz_*; do
  [ -x "$exe" ] || continue
  name=$(basename "$exe"); short=${name#fuzz_}
  work="$build/fuzz-work/$short"; rm -rf "$work"; mkdir -p "$work/corpus" "$work/artifacts"
  [ -d "$src/corpus/$short" ] && cp -r "$src/corpus/$short/." "$work/corpus/"
  if (cd "$work" && ASAN_OPTIONS=detect_leaks=1 "$exe" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" corpus >"$work/log" 2>&1); then
    runs=$(grep -o 'Done [0-9]* runs' "$work/log" | tail -1 || true)
    echo "fuzz $short: ok (${secs}s, ${runs:-?})"; pass=$((pass+1))
  else
    echo "fuzz $short: FAILED"; tail -40 "$work/log"; fail=$((fail+1))
  fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" = 0 ]
