#!/usr/bin/env bash
# hookpatch benchmarks: patch time and peak memory against cp, scaling with
# the number of hooks and the file size, correctness of the big case (llc-14
# on a patched libLLVM), the cost of a hooked call (and of a call through a
# switchable hook: bench/switch_cost.sh), and start-up time.
# Run by hand (not by CI):
#
#   bench/run.sh                 # everything; results in bench/out/
#
# Environment:
#   HOOKPATCH=path    use this binary instead of building a Release one
#   REPS=5            runs per measured command (the median is reported)
#   CC=clang-14       compiler for the synthetic programs (at -O1)
#   MAX_LOAD=1.5      wait (up to WAIT_LOAD seconds, default 900) for the
#                     1-minute load average to drop below this before measuring
#   GO_SUITE=1        also run net/http's whole test suite (-short) patched
#
# Prints the tables and writes bench/out/report.md, bench/out/scaling.png and
# the committed copy bench/scaling.png (BENCHMARKS.md is written by hand from
# report.md). Generated inputs are cached in bench/out/work (delete it to
# rebuild them: about 2 minutes for the Go test binary and 2-4 for the
# synthetic programs). With cached inputs a run takes about 3 minutes on a
# quiet 2-core machine, plus any wait for the load to drop.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
OUT=$BENCH/out
REPS=${REPS:-5}
CC=${CC:-clang-14}
MAX_LOAD=${MAX_LOAD:-1.5}
WAIT_LOAD=${WAIT_LOAD:-900}
LIBLLVM=/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

mkdir -p "$OUT" "$OUT/tmp"
LOG=$OUT/run.log
: >"$LOG"
say() { printf '[%s] %s\n' "$(date +%T)" "$*" | tee -a "$LOG" >&2; }
die() { say "run.sh: $*"; exit 1; }
T_START=$(date +%s)

# ---- tools -----------------------------------------------------------------
need_pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2"); }
need gnuplot gnuplot-nox
need valgrind valgrind
need go golang-go
need clang-14 clang-14
need llc-14 llvm-14
need cmake cmake
need qemu-aarch64-static qemu-user-static
[ -x /usr/bin/time ] || need_pkgs+=(time)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    say "installing ${need_pkgs[*]}"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_pkgs[@]}" >>"$LOG"
fi
[ -f "$LIBLLVM" ] || die "$LIBLLVM missing (apt-get install libllvm14)"

# ---- machine -----------------------------------------------------------------
WAITED=0
wait_quiet() {
    local waited=0 load
    while :; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        if "$PY" -c "import sys; sys.exit(0 if $load <= $MAX_LOAD else 1)"; then
            return 0
        fi
        if [ "$waited" -ge "$WAIT_LOAD" ]; then
            say "load $load still > $MAX_LOAD after ${waited}s: measuring anyway (see the load column)"
            return 0
        fi
        [ "$waited" = 0 ] && say "load $load > $MAX_LOAD: waiting for a quieter machine"
        sleep 30
        waited=$((waited + 30))
        WAITED=$((WAITED + 30))
    done
}

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "cores: $(nproc) ($(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core)"
    echo "ram: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
    echo "kernel: $(uname -sr)"
    echo "os: Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
    dev=$(df --output=source "$OUT" | tail -1)
    echo "disk: $dev, $(df --output=fstype "$OUT" | tail -1), $(lsblk -dno SIZE "$dev" 2>/dev/null | tr -d ' ') (virtio; kernel says rotational=$(lsblk -dno ROTA "$dev" 2>/dev/null | tr -d ' ')), container: $(systemd-detect-virt 2>/dev/null || echo '?')"
    echo "compilers: $($CC --version | head -1); $(go version); $(llc-14 --version | grep -m1 -o 'LLVM version [0-9.]*')"
    echo "hookpatch: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- . ':!bench' ':!BENCHMARKS.md' 2>/dev/null || echo ' (+ local changes)')"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" | tee -a "$LOG" >&2

# ---- hookpatch -------------------------------------------------------------
if [ -z "${HOOKPATCH:-}" ]; then
    say "building hookpatch (Release)"
    cmake -S "$ROOT" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release -DHP_UNIT=OFF -DHP_E2E=OFF >>"$LOG"
    cmake --build "$OUT/build" -j2 --target hookpatch >>"$LOG"
    HOOKPATCH=$OUT/build/hookpatch
fi
HP=$HOOKPATCH
[ -x "$HP" ] || die "no hookpatch at $HP"

# ---- inputs ------------------------------------------------------------------
W=$OUT/work
mkdir -p "$W"
printf '[[hook]]\ntarget = "*"\naction = "passthrough"\n' >"$W/all.toml"
printf '[[hook]]\ntarget = "f[0-9]*"\naction = "passthrough"\n' >"$W/synth.toml"

say "inputs: Go test binary (net/http)"
if [ ! -x "$W/http.test" ]; then
    (cd "$W" && GOFLAGS=-mod=mod GOPROXY=off GOCACHE="$OUT/gocache" GO111MODULE=on \
        go test -c -gcflags=all=-l -o http.test net/http) >>"$LOG" 2>&1
fi

# The same package for arm64 (issue 15): the AArch64 row, run under qemu.
say "inputs: Go test binary (net/http, GOARCH=arm64)"
if [ ! -x "$W/http-arm64.test" ]; then
    (cd "$W" && GOFLAGS=-mod=mod GOPROXY=off GOCACHE="$OUT/gocache" GO111MODULE=on \
        GOARCH=arm64 CGO_ENABLED=0 go test -c -gcflags=all=-l -o http-arm64.test net/http) >>"$LOG" 2>&1
fi

say "inputs: libLLVM rules (1 and 1000 hooks)"
"$HP" list --json "$LIBLLVM" >"$W/llvm.list.json"
"$PY" - "$W" <<'EOF'
import json, sys
w = sys.argv[1]
fns = [f for f in json.load(open(f"{w}/llvm.list.json")) if f["hookable"] == "yes"]
by_va = {}
for f in sorted(fns, key=lambda f: (f["address"], f["name"])):
    by_va.setdefault(f["address"], f)          # one name per address (no aliases)
uniq = sorted(by_va.values(), key=lambda f: f["address"])
step = len(uniq) // 1000
pick = [uniq[i * step] for i in range(1000)]   # spread over the whole .text
with open(f"{w}/llvm1000.toml", "w") as out:
    for f in pick:
        out.write('[[hook]]\ntarget = "%s"\naction = "passthrough"\n' % f["name"])
EOF
# The 1-hook case hooks a function llc calls at start-up (see the trap check).
PCLO=_ZN4llvm2cl23ParseCommandLineOptionsEiPKPKcNS_9StringRefEPNS_11raw_ostreamES2_b
printf '[[hook]]\ntarget = "%s"\naction = "passthrough"\n' "$PCLO" >"$W/llvm1.toml"

build_synth() { # N PAD_MB -> $W/synth-N-padM/prog
    local n=$1 pad=$2 d=$W/synth-$1-pad$2
    local stamp
    stamp=$(cat "$BENCH/gen_synth.py" | sha1sum | cut -c1-12)-$CC
    if [ -x "$d/prog" ] && [ "$(cat "$d/stamp" 2>/dev/null)" = "$stamp" ]; then return; fi
    rm -rf "$d"
    "$PY" "$BENCH/gen_synth.py" "$n" "$d" "$pad"
    make -s -C "$d" -j2 CC="$CC" prog >>"$LOG" 2>&1
    echo "$stamp" >"$d/stamp"
}
SYNTH_N=(1 10 100 1000 10000 100000)
PAD_MB=(1 10 100)
say "inputs: synthetic programs (N = ${SYNTH_N[*]}; 1000 functions + ${PAD_MB[*]} MiB .rodata), CC=$CC -O1"
for n in "${SYNTH_N[@]}"; do build_synth "$n" 0; done
for m in "${PAD_MB[@]}"; do build_synth 1000 "$m"; done

# ---- 1. patch time and peak memory --------------------------------------------
PATCH_TSV=$OUT/patch.tsv
META_TSV=$OUT/workloads.tsv
printf 'workload\tvariant\trep\twall_s\tgnu_e_s\tuser_s\tsys_s\tmaxrss_kb\tload1\n' >"$PATCH_TSV"
printf 'workload\tseries\tx\tinput_bytes\thooks\tskipped\n' >"$META_TSV"

# run_timed WORKLOAD VARIANT REP CMD...: GNU time for %M (and its %e, 10 ms
# resolution), the shell's microsecond clock for the wall time.
run_timed() {
    local wl=$1 var=$2 rep=$3
    shift 3
    local t0 t1 tf=$OUT/tmp/time.txt
    t0=${EPOCHREALTIME/./}
    /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >/dev/null 2>"$OUT/tmp/stderr.txt" ||
        { cat "$OUT/tmp/stderr.txt" >&2; die "failed: $*"; }
    t1=${EPOCHREALTIME/./}
    read -r e u s m <"$tf"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$wl" "$var" "$rep" \
        "$(((t1 - t0) / 1000000)).$(printf '%06d' $(((t1 - t0) % 1000000)))" "$e" "$u" "$s" "$m" \
        "$(cut -d' ' -f1 /proc/loadavg)" >>"$PATCH_TSV"
}

# measure WORKLOAD SERIES X INPUT RULES: REPS rounds, each runs the four
# commands in turn (interleaved, so a change of load hits all of them).
measure() {
    local wl=$1 series=$2 x=$3 in=$4 rules=$5
    local hpo=$OUT/tmp/$wl.hp cpo=$OUT/tmp/$wl.cp
    rm -f "$hpo"
    "$HP" -q --no-fsync "$in" "$hpo" "$rules" 2>"$OUT/tmp/summary.txt" ||
        { cat "$OUT/tmp/summary.txt" >&2; die "hookpatch failed on $wl"; }
    local hooks skipped
    hooks=$(sed -n 's/.*hooked \([0-9]*\) function.*/\1/p' "$OUT/tmp/summary.txt")
    skipped=$(sed -n 's/.*skipped \([0-9]*\).*/\1/p' "$OUT/tmp/summary.txt")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$wl" "$series" "$x" "$(stat -c %s "$in")" "$hooks" \
        "$skipped" >>"$META_TSV"
    say "  $wl: $hooks hooks, $(($(stat -c %s "$in") / 1048576)) MiB, $REPS rounds"
    for r in $(seq 1 "$REPS"); do
        rm -f "$hpo"; run_timed "$wl" hp_nofsync "$r" "$HP" -q --no-fsync "$in" "$hpo" "$rules"
        rm -f "$cpo"; run_timed "$wl" cp "$r" cp "$in" "$cpo"
        rm -f "$hpo"; run_timed "$wl" hp_fsync "$r" "$HP" -q "$in" "$hpo" "$rules"
        rm -f "$cpo"; run_timed "$wl" cp_sync "$r" sh -c 'cp "$1" "$2" && sync "$2" "${2%/*}"' _ "$in" "$cpo"
    done
    rm -f "$cpo"
}

wait_quiet
say "1. patch time and peak memory (median of $REPS; input files hot in the page cache)"
sync
measure go-http named 0 "$W/http.test" "$W/all.toml"
measure go-http-arm64 named 0 "$W/http-arm64.test" "$W/all.toml"
cp "$OUT/tmp/go-http-arm64.hp" "$W/http-arm64.patched"
measure llvm-all named 0 "$LIBLLVM" "$W/all.toml"
cp "$OUT/tmp/llvm-all.hp" "$W/libLLVM.patched" # for the checks below
measure llvm-1 named 0 "$LIBLLVM" "$W/llvm1.toml"
measure llvm-1000 named 0 "$LIBLLVM" "$W/llvm1000.toml"
for n in "${SYNTH_N[@]}"; do
    measure "synth-$n" hooks "$n" "$W/synth-$n-pad0/prog" "$W/synth.toml"
done
measure size-0 size 0 "$W/synth-1000-pad0/prog" "$W/synth.toml"
for m in "${PAD_MB[@]}"; do
    measure "size-$m" size "$m" "$W/synth-1000-pad$m/prog" "$W/synth.toml"
done
cp "$OUT/tmp/synth-10000.hp" "$W/synth10k.patched"
cp "$OUT/tmp/go-http.hp" "$W/http.patched"
rm -f "$OUT"/tmp/*.hp

# ---- 2. correctness of the big case ------------------------------------------
say "2. correctness: llc-14 with the patched libLLVM (every exported function hooked)"
CORR=$OUT/correctness.txt
: >"$CORR"
mkdir -p "$W/lib-patched" "$W/lib-trap"
cp "$W/libLLVM.patched" "$W/lib-patched/libLLVM-14.so.1"
printf '[[hook]]\ntarget = "%s"\naction = "trap"\n' "$PCLO" >"$W/trap.toml"
"$HP" -q --no-fsync "$LIBLLVM" "$W/lib-trap/libLLVM-14.so.1" "$W/trap.toml" 2>/dev/null
loaded=$(LD_LIBRARY_PATH=$W/lib-patched ldd "$(command -v llc-14)" | awk '/libLLVM/ {print $3}')
echo "llc-14 loads: $loaded" >>"$CORR"
clang-14 -S -emit-llvm -O2 -o "$W/llc_input.ll" "$BENCH/fixtures/llc_input.c"
echo "input: bench/fixtures/llc_input.c ($(wc -l <"$BENCH/fixtures/llc_input.c") lines) -> $(wc -l <"$W/llc_input.ll") lines of IR" >>"$CORR"
ok=1
for mode in "asm -O2" "obj -O2" "asm -O0" "obj -O3"; do
    set -- $mode
    ext=s; [ "$1" = obj ] && ext=o
    llc-14 "$2" -relocation-model=pic -filetype="$1" "$W/llc_input.ll" -o "$W/llc.orig.$ext"
    LD_LIBRARY_PATH=$W/lib-patched llc-14 "$2" -relocation-model=pic -filetype="$1" \
        "$W/llc_input.ll" -o "$W/llc.patched.$ext"
    if cmp -s "$W/llc.orig.$ext" "$W/llc.patched.$ext"; then r=identical; else r=DIFFERENT; ok=0; fi
    echo "llc-14 $2 -filetype=$1: $(stat -c %s "$W/llc.orig.$ext") bytes, patched vs unpatched: $r" >>"$CORR"
done
clang-14 -o "$W/llc_prog" "$W/llc.patched.s" -lm
clang-14 -O0 -o "$W/llc_prog_ref" "$BENCH/fixtures/llc_input.c" -lm
if [ "$("$W/llc_prog")" = "$("$W/llc_prog_ref")" ]; then r=same; else r=DIFFERENT; ok=0; fi
echo "program built from the patched llc's output prints the same as clang -O0's: $r" >>"$CORR"
set +e
LD_LIBRARY_PATH=$W/lib-trap llc-14 --version >/dev/null 2>&1
rc=$?
set -e
echo "control: llc-14 with a libLLVM whose cl::ParseCommandLineOptions is a trap exits with $rc ($([ $rc = 132 ] && echo 'SIGILL: the hooked library is the one loaded' || echo 'UNEXPECTED'))" >>"$CORR"
[ $rc = 132 ] || ok=0
echo "result: $([ $ok = 1 ] && echo PASS || echo FAIL)" >>"$CORR"
# Go: the whole-binary passthrough, one real test, and without runtime.goexit.
"$HP" list --json "$W/http.test" >"$W/http.list.json"
"$PY" - "$W" <<'EOF'
import json, sys
w = sys.argv[1]
seen = set()
with open(f"{w}/http.nogoexit.toml", "w") as out:
    for f in json.load(open(f"{w}/http.list.json")):
        if f["hookable"] != "yes" or f["name"].startswith("runtime.goexit") or f["address"] in seen:
            continue
        seen.add(f["address"])
        out.write('[[hook]]\ntarget = "0x%x"\naction = "passthrough"\n' % f["address"])
EOF
"$HP" -q --no-fsync "$W/http.test" "$W/http.nogoexit" "$W/http.nogoexit.toml" 2>/dev/null
GOSRC=$(go env GOROOT)/src/net/http
gotest() { # [RUNNER] BINARY ARGS... -> "exit N, verdict"
    local b=$1; shift
    set +e
    # shellcheck disable=SC2086 # b is "RUNNER BINARY" for arm64
    (cd "$GOSRC" && timeout 600 $b "$@" >"$OUT/tmp/gotest.txt" 2>&1)
    local rc=$?
    set -e
    local fails
    fails=$(grep -c -- '^--- FAIL' "$OUT/tmp/gotest.txt" || true)
    if grep -q 'fatal error' "$OUT/tmp/gotest.txt"; then
        echo "exit $rc, crashed: $(grep -m1 'fatal error' "$OUT/tmp/gotest.txt")"
    else
        echo "exit $rc, $fails failed test(s)$([ "$fails" != 0 ] && echo ": $(grep -- '^--- FAIL' "$OUT/tmp/gotest.txt" | awk '{print $3}' | tr '\n' ' ')")"
    fi
}
T1='^TestParseFormUnknownContentType$'
echo "go net/http $T1, unpatched: $(gotest "$W/http.test" -test.run "$T1")" >>"$CORR"
echo "go net/http $T1, passthrough on all (target = \"*\"): $(gotest "$W/http.patched" -test.run "$T1")" >>"$CORR"
echo "go net/http $T1, passthrough on all but runtime.goexit: $(gotest "$W/http.nogoexit" -test.run "$T1")" >>"$CORR"
# arm64: the runtime's own functions included (runtime.goexit is refused).
Q="qemu-aarch64-static -cpu max"
echo "go net/http arm64 (qemu) $T1, unpatched: $(gotest "$Q" "$W/http-arm64.test" -test.run "$T1")" >>"$CORR"
echo "go net/http arm64 (qemu) $T1, passthrough on all (target = \"*\"): $(gotest "$Q" "$W/http-arm64.patched" -test.run "$T1")" >>"$CORR"
if [ "${GO_SUITE:-0}" = 1 ]; then
    echo "go net/http -test.short, unpatched: $(gotest "$W/http.test" -test.short)" >>"$CORR"
    echo "go net/http -test.short, all but runtime.goexit: $(gotest "$W/http.nogoexit" -test.short)" >>"$CORR"
fi
sed 's/^/  /' "$CORR" | tee -a "$LOG" >&2

# ---- 3. cost of a hooked call --------------------------------------------------
say "3. cost of a hooked call (callgrind Ir, TSC ticks)"
CC_DIR=$W/callcost
mkdir -p "$CC_DIR"
gcc -O2 -no-pie -falign-functions=64 -o "$CC_DIR/unpatched" "$BENCH/fixtures/callcost.c"
printf '[[hook]]\ntarget = "target"\nreplace = "target_copy"\n' >"$CC_DIR/replace.toml"
printf '[[hook]]\ntarget = "target"\naction = "passthrough"\n' >"$CC_DIR/passthrough.toml"
"$HP" -q "$CC_DIR/unpatched" "$CC_DIR/hp_replace" "$CC_DIR/replace.toml" 2>/dev/null
"$HP" -q "$CC_DIR/unpatched" "$CC_DIR/hp_passthrough" "$CC_DIR/passthrough.toml" 2>/dev/null
"$PY" "$BENCH/entry_patch.py" "$CC_DIR/unpatched" "$CC_DIR/rt_movabs_jmp_rdx" movabs target target_copy >>"$LOG"
"$PY" "$BENCH/entry_patch.py" "$CC_DIR/unpatched" "$CC_DIR/rt_jmp_rip_quad" jmpmem target target_copy >>"$LOG"
chmod +x "$CC_DIR"/*
{
    echo "# entry of target() in each binary"
    for c in unpatched hp_replace hp_passthrough rt_movabs_jmp_rdx rt_jmp_rip_quad; do
        echo "## $c"
        objdump -d --no-show-raw-insn "$CC_DIR/$c" | awk '/<target>:/ {p=1; n=0} p && n++ < 4'
    done
} >"$OUT/callcost_entries.txt"
CASES=(unpatched hp_replace hp_passthrough rt_movabs_jmp_rdx rt_jmp_rip_quad)
CALL_TSV=$OUT/callcost.tsv
printf 'case\tmetric\trep\tvalue\n' >"$CALL_TSV"
ir() { # BINARY N -> total Ir
    valgrind --tool=callgrind --callgrind-out-file="$OUT/tmp/cg.out" "$1" "$2" >/dev/null 2>&1
    awk '/^(summary|totals):/ {print $2; exit}' "$OUT/tmp/cg.out"
}
for c in "${CASES[@]}"; do
    i0=$(ir "$CC_DIR/$c" 0)
    i1=$(ir "$CC_DIR/$c" 1000000)
    printf '%s\tir0\t1\t%s\n%s\tir1e6\t1\t%s\n' "$c" "$i0" "$c" "$i1" >>"$CALL_TSV"
done
wait_quiet
TSC_N=20000000
printf 'all\ttsc_n\t1\t%s\n' "$TSC_N" >>"$CALL_TSV"
for r in $(seq 1 21); do
    for c in "${CASES[@]}"; do
        printf '%s\ttsc\t%s\t%s\n' "$c" "$r" "$("$CC_DIR/$c" $TSC_N t | cut -d' ' -f1)" >>"$CALL_TSV"
    done
done

# ---- 3b. cost of a call through a switchable hook (issue 17) ------------------------
say "3b. cost of a call through a switch (bench/switch_cost.sh -> bench/out/switch_cost.md)"
HOOKPATCH="$HP" REPS=21 MAX_LOAD="$MAX_LOAD" "$BENCH/switch_cost.sh" >>"$LOG" 2>&1

# ---- 4. start-up time ----------------------------------------------------------
say "4. start-up time (bench/startup.py: interleaved runs, spawn to exit)"
SU=$OUT/startup
mkdir -p "$SU"
rm -f "$SU"/*.json
printf '[[hook]]\ntarget = "net/http.ServeFile"\naction = "passthrough"\n' >"$W/http1.toml"
"$HP" -q --no-fsync "$W/http.test" "$W/http.1hook" "$W/http1.toml" 2>/dev/null
# Both sides are fresh copies written with one write() from memory. How a file
# got into the page cache changes how fast it execs on this kernel (folio
# sizes): for llc-14 --version, libLLVM copied by cp or written by one pwrite
# from a mapping (as hookpatch does) starts ~30% slower than the same bytes
# written from memory, and the installed file read from disk slower still.
# Rewriting both sides the same way leaves only the content's effect; the
# A/A row (the Go binary as `go` wrote it vs its fresh copy) shows the size
# of the page-cache effect.
fresh() { "$PY" -c 'import os,sys; d=open(sys.argv[1],"rb").read(); f=os.open(sys.argv[2],os.O_WRONLY|os.O_CREAT|os.O_TRUNC,0o755); os.write(f,d); os.close(f)' "$1" "$2"; }
fresh "$W/synth-10000-pad0/prog" "$W/synth10k.fresh"
fresh "$W/synth10k.patched" "$W/synth10k.patched.fresh"
fresh "$W/http.test" "$W/http.fresh"
fresh "$W/http.1hook" "$W/http.1hook.fresh"
fresh "$W/http.patched" "$W/http.patched.fresh"
mkdir -p "$W/lib-fresh" "$W/lib-patched-fresh"
fresh "$LIBLLVM" "$W/lib-fresh/libLLVM-14.so.1"
fresh "$W/libLLVM.patched" "$W/lib-patched-fresh/libLLVM-14.so.1"
mkdir -p "$W/lib-asis"
"$HP" -q --no-fsync "$LIBLLVM" "$W/lib-asis/libLLVM-14.so.1" "$W/all.toml" 2>/dev/null
wait_quiet
st() { "$PY" "$BENCH/startup.py" "$SU/$1.json" "$2" "$3" "$4"; }
st aa-go-http 300 "$W/http.test -test.run=^\$" "$W/http.fresh -test.run=^\$"
st c-synth10k 1000 "$W/synth10k.fresh" "$W/synth10k.patched.fresh"
st go-http-1 300 "$W/http.fresh -test.run=^\$" "$W/http.1hook.fresh -test.run=^\$"
st go-http 300 "$W/http.fresh -test.run=^\$" "$W/http.patched.fresh -test.run=^\$"
st llc-version 200 "env LD_LIBRARY_PATH=$W/lib-fresh llc-14 --version" \
    "env LD_LIBRARY_PATH=$W/lib-patched-fresh llc-14 --version"
st llc-version-asis 200 "env LD_LIBRARY_PATH=$W/lib-fresh llc-14 --version" \
    "env LD_LIBRARY_PATH=$W/lib-asis llc-14 --version"
st llc-compile 40 "env LD_LIBRARY_PATH=$W/lib-fresh llc-14 -O2 -relocation-model=pic $W/llc_input.ll -o /dev/null" \
    "env LD_LIBRARY_PATH=$W/lib-patched-fresh llc-14 -O2 -relocation-model=pic $W/llc_input.ll -o /dev/null"

# ---- profile summary -----------------------------------------------------------
profile() { # NAME INPUT RULES -> $OUT/profile-NAME.txt
    local data=$OUT/perf-$1.data
    rm -f "$OUT/tmp/prof.out"
    perf record -e cpu-clock -F 1000 --call-graph dwarf,16384 -o "$data" "$HP" -q --no-fsync \
        "$2" "$OUT/tmp/prof.out" "$3" >>"$LOG" 2>&1 || return 0
    rm -f "$OUT/tmp/prof.out"
    rm -f "$OUT/tmp/prof.out"
    "$HP" -q --no-fsync --timings "$2" "$OUT/tmp/prof.out" "$3" 2>"$OUT/tmp/timings.txt" >/dev/null || true
    rm -f "$OUT/tmp/prof.out"
    {
        echo "# phases (hookpatch --timings, wall time of one run without perf)"
        grep 'time:' "$OUT/tmp/timings.txt" | sed 's/^hookpatch: time: //'
        echo "# phases (inclusive time, hookpatch functions)"
        perf report -i "$data" --children --stdio -g none --sort sym 2>/dev/null |
            grep -E ' (hp_image_open|hp_image_load|hp_resolve|hp_xrefs_build|hp_x86_branch_candidates|hp_x86_branches|hp_image_code|hp_analyze_one|hp_inline_check|hp_measure|hp_emit|hp_info_encode|hp_image_emit|hp_write_at|hp_claim|hp_plan_add)$' |
            awk '{print $1, $4}'
        echo "# top self time"
        perf report -i "$data" --no-children --stdio -g none --sort dso,sym \
            --percent-limit 1 2>/dev/null | grep '%' | awk '{print $1, $2, $4}'
    } >"$OUT/profile-$1.txt" || true
}
if command -v perf >/dev/null 2>&1; then
    say "profile: perf record (cpu-clock, dwarf call graphs) of llvm-all and synth-100000"
    profile llvm-all "$LIBLLVM" "$W/all.toml"
    profile synth-100000 "$W/synth-100000-pad0/prog" "$W/synth.toml"
fi

# ---- report ----------------------------------------------------------------------
T_END=$(date +%s)
echo "run time: $((T_END - T_START)) s, of which $WAITED s waiting for the load to drop; load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
"$PY" "$BENCH/report.py" "$OUT" | tee -a "$LOG"
gnuplot -e "out='$OUT'" "$BENCH/plot.gp" && cp "$OUT/scaling.png" "$BENCH/scaling.png"
say "wrote $OUT/report.md, $OUT/scaling.png and bench/scaling.png in $((T_END - T_START)) s"
