#!/usr/bin/env bash
# compare_builds.sh REF NEW [E2E-NAME...]: run the end-to-end suite with
# every hookpatch call made by both builds (tests/tools/hp_twin.sh), and
# report each call whose exit status, stdout, stderr or OUT bytes differ.
# Used to prove a refactor changes nothing: exit 0 when no call differs.
# `exec` calls and tests that signal hookpatch itself run the new build only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
ref=$(realpath "$1") new=$(realpath "$2")
shift 2
work=${HP_COMPARE_WORK:-/tmp/hp-compare}
rm -rf "$work"
mkdir -p "$work"
export HP_TWIN_REF=$ref HP_TWIN_NEW=$new HP_TWIN_LOG=$work/twin.log
: >"$HP_TWIN_LOG"
tests=("$@")
if [[ ${#tests[@]} == 0 ]]; then
    for t in "$src"/tests/e2e/*.sh; do
        n=$(basename "$t" .sh)
        [[ $n == lib ]] || tests+=("$n")
    done
fi
for n in "${tests[@]}"; do
    echo "== $n"
    HOOKPATCH=$here/hp_twin.sh HP_SRC=$src HP_WORK=$work/$n \
        bash "$src/tests/e2e/$n.sh" >"$work/$n.log" 2>&1 || echo "   (test failed under the twin; see $work/$n.log)"
done
runs=$(grep -c '^RUN ' "$HP_TWIN_LOG" || true)
awk '/^RUN /{run=$0; next} /^DIFF /{if (run != last) {print run; last = run} print}' \
    "$HP_TWIN_LOG" >"$work/diffs.txt"
ndiff=$(grep -c '^RUN ' "$work/diffs.txt" || true)
echo "compared $runs hookpatch calls; $ndiff differ (details: $work/diffs.txt)"
[[ $ndiff == 0 ]]
