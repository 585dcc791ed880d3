#!/usr/bin/env bash
# The cost of a call through a switchable hook (issue 17), next to an
# unhooked call, `replace` and `passthrough`; run by hand or by bench/run.sh:
#
#   bench/switch_cost.sh          # results in bench/out/switch_cost.md
#
# C (gcc -O2, x86-64): instructions per call from callgrind
# ((Ir at N = 10^6 - Ir at N = 0) / 10^6) and TSC ticks per call (median and
# minimum of 21 runs of N = 2*10^7), the loop a dependent chain x = target(x)
# as in bench/fixtures/callcost.c. Cases: unpatched; replace; passthrough;
# switch with an empty slot; switch with the slot set to an identical
# function (hookpatch_set, include/hookpatch.h).
#
# Go (the current Go, /usr/local/go): ns/op from `go test -bench`
# (median of -count 7) of the same body under no hook, `replace`, switch
# empty, mock.Patch, mock.PatchGoroutine (the patching goroutine, and another
# one), and gomonkey's ApplyFunc (a runtime patcher, from the module proxy)
# for comparison. Go is timed only: callgrind's counts of a Go benchmark mix
# in the runtime's own work per iteration.
#
# Environment: HOOKPATCH=path (else bench/out/build/hookpatch, built if
# missing), REPS (TSC runs, default 21), MAX_LOAD/WAIT_LOAD as in run.sh.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
OUT=$BENCH/out
REPS=${REPS:-21}
MAX_LOAD=${MAX_LOAD:-1.5}
WAIT_LOAD=${WAIT_LOAD:-600}
GO=${GO:-/usr/local/go/bin/go}
W=$OUT/switch
mkdir -p "$W"
say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "switch_cost.sh: $*"; exit 1; }

HP=${HOOKPATCH:-}
if [ -z "$HP" ]; then
    if [ ! -x "$OUT/build/hookpatch" ]; then
        say "building hookpatch (Release)"
        cmake -S "$ROOT" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release -DHP_UNIT=OFF -DHP_E2E=OFF >/dev/null
    fi
    cmake --build "$OUT/build" -j2 --target hookpatch >/dev/null
    HP=$OUT/build/hookpatch
fi
[ -x "$HP" ] || die "no hookpatch at $HP"
for t in valgrind gcc "$GO"; do command -v "$t" >/dev/null || die "$t is missing"; done

wait_quiet() {
    local waited=0 load
    while :; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        awk -v l="$load" -v m="$MAX_LOAD" 'BEGIN { exit !(l <= m) }' && return 0
        if [ "$waited" -ge "$WAIT_LOAD" ]; then
            say "load $load still > $MAX_LOAD after ${waited}s: measuring anyway"
            return 0
        fi
        sleep 15
        waited=$((waited + 15))
    done
}

# ---- C --------------------------------------------------------------------------
say "C: building and patching"
gcc -O2 -no-pie -falign-functions=64 -I "$ROOT/include" -o "$W/unpatched" \
    "$BENCH/fixtures/callcost_switch.c"
printf '[[hook]]\ntarget = "target"\nreplace = "target_copy"\n' >"$W/replace.toml"
printf '[[hook]]\ntarget = "target"\naction = "passthrough"\n' >"$W/passthrough.toml"
printf '[[hook]]\ntarget = "target"\naction = "switch"\n' >"$W/switch.toml"
for r in replace passthrough switch; do
    "$HP" -q "$W/unpatched" "$W/hp_$r" "$W/$r.toml"
done
# name:binary:extra argument
CASES=(unpatched:unpatched:- replace:hp_replace:- passthrough:hp_passthrough:-
       switch_empty:hp_switch:- switch_set:hp_switch:set)
# The switch_set binary must really call target_copy through the slot.
"$W/hp_switch" 1 - set || die "hookpatch_set failed in the patched binary"
if "$W/unpatched" 1 - set 2>/dev/null; then die "hookpatch_set succeeded unpatched"; fi
{
    echo "# entry of target() and the dispatch stub"
    objdump -d --no-show-raw-insn "$W/hp_switch" |
        awk '/<target>:/ || /<target.hookpatch_switch>:/ {p=1; n=0} p && n++ < 7 {print} /^$/ {p=0}'
} >"$W/entries.txt"
ir() { # BINARY N ARG -> total Ir
    valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" "$1" "$2" - "$3" >/dev/null 2>&1
    awk '/^(summary|totals):/ {print $2; exit}' "$W/cg.out"
}
TSV=$W/c.tsv
: >"$TSV"
say "C: callgrind"
for c in "${CASES[@]}"; do
    IFS=: read -r name bin arg <<<"$c"
    i0=$(ir "$W/$bin" 0 "$arg")
    i1=$(ir "$W/$bin" 1000000 "$arg")
    printf '%s\tipc\t%s\n' "$name" "$(awk -v a="$i0" -v b="$i1" 'BEGIN { printf "%.4f", (b - a) / 1e6 }')" >>"$TSV"
done
say "C: TSC ($REPS runs per case, interleaved)"
wait_quiet
LOAD_C=$(cut -d' ' -f1 /proc/loadavg)
for r in $(seq 1 "$REPS"); do
    for c in "${CASES[@]}"; do
        IFS=: read -r name bin arg <<<"$c"
        printf '%s\ttsc\t%s\n' "$name" "$("$W/$bin" 20000000 t "$arg" | cut -d' ' -f1)" >>"$TSV"
    done
done

# ---- Go -------------------------------------------------------------------------
say "Go: building the benchmark ($("$GO" env GOVERSION))"
GODIR=$BENCH/fixtures/gocost
(cd "$GODIR" && GOFLAGS=-mod=mod "$GO" test -c -gcflags=all=-l -o "$W/gocost.test" .) >&2
"$HP" -q "$W/gocost.test" "$W/gocost.patched" "$GODIR/hookpatch.toml"
wait_quiet
LOAD_GO=$(cut -d' ' -f1 /proc/loadavg)
say "Go: go test -bench (count 7)"
(cd "$GODIR" && "$W/gocost.patched" -test.run '^$' -test.bench . -test.count 7 -test.benchtime 20000000x) \
    >"$W/go.txt"
GOVER=$("$GO" env GOVERSION)

# ---- report -------------------------------------------------------------------
python3 - "$TSV" "$W/go.txt" "$LOAD_C" "$LOAD_GO" "$GOVER" >"$OUT/switch_cost.md" <<'PY'
import statistics as st, sys, re
from collections import defaultdict
tsv, gotxt, load_c, load_go, gover = sys.argv[1:]
ipc, tsc = {}, defaultdict(list)
for line in open(tsv):
    name, metric, v = line.split()
    if metric == "ipc":
        ipc[name] = float(v)
    else:
        tsc[name].append(float(v))
names = {
    "unpatched": "unhooked (unpatched binary)",
    "replace": "`replace` (`jmp rel32` to an identical function)",
    "passthrough": "`passthrough` (`jmp rel32` to the trampoline, `jmp` back)",
    "switch_empty": "`switch`, slot empty (dispatch stub, then the trampoline)",
    "switch_set": "`switch`, slot set by `hookpatch_set` to an identical function",
}
print("### C, x86-64 (gcc -O2)\n")
print(f"Load average before the TSC runs: {load_c}. TSC ticks per call: median (minimum) "
      f"of {len(tsc['unpatched'])} runs of 2·10⁷ calls.\n")
print("| case | instructions / call | Δ vs unhooked | TSC ticks / call | Δ ticks (median) |")
print("|---|--:|--:|--:|--:|")
base_i, base_t = ipc["unpatched"], st.median(tsc["unpatched"])
for k in names:
    m = st.median(tsc[k])
    print(f"| {names[k]} | {ipc[k]:.4f} | {ipc[k] - base_i:+.4f} | {m:.2f} ({min(tsc[k]):.2f}) | "
          f"{m - base_t:+.2f} |")
ns = defaultdict(list)
for line in open(gotxt):
    m = re.match(r"Benchmark(\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op", line)
    if m:
        ns[m.group(1)].append(float(m.group(3)))
gnames = {
    "Unhooked": "unhooked",
    "Replace": "`replace` (rule, fixed per binary)",
    "SwitchEmpty": "`switch`, slot empty",
    "SwitchPatch": "`switch`, `mock.Patch`",
    "SwitchPatchGoroutine": "`switch`, `mock.PatchGoroutine`, the patching goroutine",
    "SwitchPatchGoroutineOther": "`switch`, `mock.PatchGoroutine` in force, another goroutine (original runs)",
    "GomonkeyApplyFunc": "gomonkey v2.13.0 `ApplyFunc` (runtime text patch), for comparison",
}
print(f"\n### Go, amd64 ({gover}, `-gcflags=all=-l`)\n")
print(f"Load average before the runs: {load_go}. ns per call: median (minimum) of "
      f"{len(ns['Unhooked'])} runs of 2·10⁷ calls (`-test.benchtime 20000000x`).\n")
print("| case | ns / call | × unhooked |")
print("|---|--:|--:|")
g0 = st.median(ns["Unhooked"])
for k, label in gnames.items():
    if ns[k]:
        m = st.median(ns[k])
        print(f"| {label} | {m:.2f} ({min(ns[k]):.2f}) | {m / g0:.2f}× |")
PY
cat "$OUT/switch_cost.md"
