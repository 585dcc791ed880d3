#!/usr/bin/env bash
# Acceptance (issue 16): a real third-party Go darwin/arm64 binary. The
# npm package @esbuild/darwin-arm64 (pinned version, its tarball's SHA-256
# checked) ships bin/esbuild: a stripped Go 1.26 Mach-O arm64 executable,
# ad hoc linker-signed by Go's linker. With every function passed through
# (target = "*"):
#   - it patches; hooked + skipped is the pclntab's function count (read by
#     macho_emu.py, not hookpatch), coverage >= 99.5%, every skip has a
#     reason (printed grouped by reason), runtime.goexit among them;
#   - macho_sigcheck.py (independent of the signer) accepts the output's
#     signature, which keeps the input's form (ad hoc + linker-signed,
#     CodeDirectory only, same identifier);
#   - llvm-objdump-14 --macho --private-headers prints no warning, the
#     segments are 16 KiB-aligned, hookpatch list reads every hook back;
#   - output deterministic, IN unchanged;
#   - pure functions of esbuild and of its Go runtime/standard library run
#     under unicorn (macho_emu.py: g in x28; stack guard below sp, and above
#     it with runtime.morestack emulated) on the input and on the output
#     with the same exact results, and their entries in the output branch
#     into __HOOKPATCH.
# The runnable twin: @esbuild/linux-arm64 of the same version (the same Go
# code for linux), patched with the same rules, runs under qemu-user:
# `--version`, and a bundle of 40 modules (with --minify and the parallel
# parser) whose output is byte-identical to the unpatched binary's.
#
# Tarballs are fetched once with `npm pack` (without npm: from the registry
# with python) into HP_NPM_CACHE (default:
# npm-cache next to this test's work directory, in the build tree). A
# failed download skips, under CI it fails. Figures (patch time against
# `cp` of the same file, coverage) are printed as "# " lines.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

VERSION=0.28.2
SHA_DARWIN=1980cde09749094452b20d36ff267585ccb3f72749c7bc97291cd9996ccf5a2a
SHA_LINUX=a96dbfa41d3ef5dbd1ef22b1c10d5187be9267e86093a870f06402a7ec931596
CACHE=${HP_NPM_CACHE:-$(dirname "$HP_WORK")/npm-cache}
EMU=$HP_SRC/tests/e2e/macho_emu.py
SIGCHECK=$HP_SRC/tests/e2e/macho_sigcheck.py
OBJDUMP=llvm-objdump-14
W=$HP_WORK

# missing WHAT: skip the test, or fail it under CI.
missing()
{
    if [[ -n ${CI:-} ]]; then fail "macho_esbuild" "$1"; else skip "macho_esbuild" "$1"; fi
    e2e_finish || true
    [[ -n ${CI:-} ]] && exit 1
    exit 0
}

command -v $OBJDUMP >/dev/null 2>&1 || missing "$OBJDUMP is not installed"
"$PY" -c 'import unicorn' 2>/dev/null || missing "python3-unicorn is not installed"

# fetch PKG SHA: the package's tarball, unpacked into $W/PKG; "" on failure.
fetch()
{
    local pkg=$1 want=$2 tgz
    tgz=$CACHE/esbuild-$pkg-$VERSION.tgz
    mkdir -p "$CACHE"
    if [[ ! -s $tgz ]] && command -v npm >/dev/null 2>&1; then
        (cd "$CACHE" && timeout 300 npm pack --silent "@esbuild/$pkg@$VERSION") >"$W/npm-$pkg.log" 2>&1 ||
            rm -f "$tgz"
    fi
    # Without npm (or when it failed): the same tarball from the registry
    # directly; the pinned SHA-256 below checks it either way.
    if [[ ! -s $tgz ]]; then
        timeout 300 "$PY" - "https://registry.npmjs.org/@esbuild/$pkg/-/$pkg-$VERSION.tgz" "$tgz" \
            >>"$W/npm-$pkg.log" 2>&1 <<'PYEOF' || { rm -f "$tgz"; return 1; }
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=120) as r:
    data = r.read()
open(sys.argv[2], "wb").write(data)
PYEOF
    fi
    if [[ $(sha "$tgz") != "$want" ]]; then
        fail "$pkg: tarball SHA-256" "$tgz: $(sha "$tgz"), pinned $want"
        e2e_finish || true
        exit 1
    fi
    mkdir -p "$W/$pkg" && tar -xzf "$tgz" -C "$W/$pkg"
}

fetch darwin-arm64 $SHA_DARWIN ||
    missing "fetching @esbuild/darwin-arm64@$VERSION failed: $(tail -2 "$W/npm-darwin-arm64.log" 2>/dev/null)"
IN=$W/darwin-arm64/package/bin/esbuild
OUT=$W/esbuild.out
printf '[[hook]]\ntarget = "*"\naction = "passthrough"\n' >"$W/all.toml"
pass "esbuild $VERSION (darwin-arm64) fetched, SHA-256 as pinned"

# ---- the darwin binary, every function passed through ----
A=$("$PY" "$SIGCHECK" "$IN" 2>&1) || true
[[ $A == "ok ident=a.out flags=0x20002 special=0 pages="*" blobs=0" ]] &&
    pass "input: Go's ad hoc linker signature ($A)" || fail "input signature" "$A"
IN_SHA=$(sha "$IN")
t0=$(date +%s%N)
hp --json "$IN" "$OUT" "$W/all.toml"
t1=$(date +%s%N)
cp "$IN" "$W/copy"
t2=$(date +%s%N)
echo "# patch time: $(((t1 - t0) / 1000000)) ms; cp of the same $(stat -c %s "$IN")-byte file: $(((t2 - t1) / 1000000)) ms"
[[ $HP_RC == 0 ]] || { fail "hookpatch target = \"*\"" "rc=$HP_RC" "$(grep -v warning <<<"$HP_ERR" | head)"; e2e_finish; exit 1; }
NFUNC=$("$PY" "$EMU" funcs "$IN")
report=$("$PY" -c '
import collections, json, re, sys
j = json.loads(sys.stdin.read())
nfunc = int(sys.argv[1])
skips = j["skipped_hooks"]
print(j["hooked"], j["skipped"], len(skips), sum(1 for s in skips if s.get("reason")))
print("# coverage: %d of %d pclntab functions hooked (%.3f%%), %d skipped:" %
      (j["hooked"], nfunc, 100.0 * j["hooked"] / nfunc, j["skipped"]))
groups = collections.defaultdict(list)
for s in skips:
    groups[re.sub(r"0x[0-9a-f]+", "ADDR", s["reason"])].append(s["target"])
for reason, names in sorted(groups.items()):
    print("#   %d: %s: %s" % (len(names), reason, ", ".join(names)))
' "$NFUNC" <<<"$HP_OUT" 2>&1) || true
read -r hooked skipped nskips nreasons <<<"$(head -1 <<<"$report")"
tail -n +2 <<<"$report"
if [[ $((hooked + skipped)) == "$NFUNC" && $((hooked * 1000)) -ge $((NFUNC * 995)) ]]; then
    pass "coverage: $hooked of $NFUNC functions (>= 99.5%), hooked + skipped = the pclntab's count"
else
    fail "coverage" "hooked $hooked, skipped $skipped, pclntab $NFUNC"
fi
[[ $nskips == "$skipped" && $nreasons == "$skipped" ]] && pass "every skip is listed with its reason" ||
    fail "skip reasons" "$skipped skipped, $nskips listed, $nreasons with a reason"
[[ $report == *"every goroutine returns into runtime.goexit+4"*": runtime.goexit"* ]] &&
    pass "runtime.goexit skipped with its reason" || fail "goexit skip" "$report"

B=$("$PY" "$SIGCHECK" "$OUT" 2>&1) || true
[[ $B == "${A%% pages=*} pages="*" blobs=0" ]] &&
    pass "output: macho_sigcheck accepts the signature; form kept ($B)" ||
    fail "output signature" "input:  $A" "output: $B"
if ! err=$($OBJDUMP --macho --private-headers "$OUT" 2>&1 >"$W/hdr.txt") || [[ -n $err ]] ||
    ! grep -q 'segname __HOOKPATCH$' "$W/hdr.txt"; then
    fail "llvm-objdump --private-headers" "$err"
else
    pass "llvm-objdump --private-headers: no warning, __HOOKPATCH present"
fi
out=$("$PY" "$EMU" layout "$OUT" 2>&1) && [[ $out == *__HOOKPATCH*__LINKEDIT ]] &&
    pass "layout, 16 KiB-aligned ($out)" || fail "layout" "$out"
hp list "$OUT"
n=$(grep -c '^hook passthrough ' <<<"$HP_OUT" || true)
[[ $HP_RC == 0 && $n == "$hooked" ]] && pass "list reads all $n hooks back" ||
    fail "list" "rc=$HP_RC, $n hook lines for $hooked hooked"
hp "$IN" "$W/esbuild.out2" "$W/all.toml"
check_true "deterministic output" "$(cmp "$OUT" "$W/esbuild.out2" 2>&1 | head -1)" cmp -s "$OUT" "$W/esbuild.out2"
check_eq "IN unchanged" "$IN_SHA" "$(sha "$IN")"

# ---- pure functions under unicorn, input and output ----
J=github.com/evanw/esbuild/internal
CASES=(
    "$J/js_ast.IsIdentifier|go8|1|@s:foo_1 5"
    "$J/js_ast.IsIdentifier|go8|0|@s:1abc 4"
    "$J/js_ast.IsIdentifier|go8|1|@s:café 5"
    "$J/js_ast.IsIdentifier|go8|0|@s:a-b 3"
    "$J/js_ast.IsIdentifier|gomore8|1 morestack=1 resume=$J/js_ast.IsIdentifier|@s:foo_1 5"
    "$J/helpers.IsInsideNodeModules|go8|1|@s:a/node_modules/b 16"
    "$J/helpers.IsInsideNodeModules|go8|0|@s:a/src/b 7"
    "strings.Count|go|2|@s:banana 6 @s:an 2"
    "strings.Count|gomore|2 morestack=1 resume=strings.Count|@s:banana 6 @s:an 2"
    "runtime.memequal|go8|1|@s:abcdef @s:abcdef 6"
    "runtime.memequal|go8|0|@s:abcdef @s:abcxef 6"
    "internal/bytealg.IndexByteString|go|5|@s:hello,world 11 0x2c"
    "unicode/utf8.DecodeRuneInString|go|233|@s:é 2"
)
input=""
for f in "$IN" "$OUT"; do
    for c in "${CASES[@]}"; do
        IFS='|' read -r sym abi want args <<<"$c"
        input+="$f $sym $abi $args"$'\n'
    done
done
mapfile -t results < <(printf '%s' "$input" | timeout 600 "$PY" "$EMU" batch 2>&1)
i=0
for f in in out; do
    for c in "${CASES[@]}"; do
        IFS='|' read -r sym abi want args <<<"$c"
        check_eq "$f: ${sym##*/} ($abi) $args" "$want" "${results[i]:-no result}"
        i=$((i + 1))
    done
done
for sym in $J/js_ast.IsIdentifier $J/helpers.IsInsideNodeModules strings.Count runtime.memequal \
    internal/bytealg.IndexByteString unicode/utf8.DecodeRuneInString; do
    a=$("$PY" "$EMU" entry "$IN" "$sym" 2>&1)
    b=$("$PY" "$EMU" entry "$OUT" "$sym" 2>&1)
    [[ $a == "insn "* && $b == "b __HOOKPATCH" ]] && pass "${sym##*/}: the output's entry branches into __HOOKPATCH" ||
        fail "${sym##*/}: entry" "input: $a" "output: $b"
done

# ---- the linux-arm64 twin under qemu ----
if ! command -v "$A64_QEMU" >/dev/null 2>&1; then
    if [[ -n ${CI:-} ]]; then fail "linux-arm64 twin" "$A64_QEMU missing"; else skip "linux-arm64 twin" "$A64_QEMU missing"; fi
elif ! fetch linux-arm64 $SHA_LINUX; then
    if [[ -n ${CI:-} ]]; then fail "linux-arm64 twin" "fetching the package failed"; else skip "linux-arm64 twin" "fetching the package failed"; fi
else
    LIN=$W/linux-arm64/package/bin/esbuild
    hp "$LIN" "$W/lin.out" "$W/all.toml"
    echo "# linux-arm64 twin: $(grep '^hookpatch: hooked' <<<"$HP_ERR")"
    [[ $HP_RC == 0 ]] && pass "linux-arm64 twin: patched" || fail "linux-arm64 twin: patch" "$HP_ERR"
    run_prog "$A64_QEMU" "$W/lin.out" --version
    check_eq "linux-arm64 twin: --version" "$VERSION (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    mkdir -p "$W/js"
    for k in $(seq 1 40); do
        printf 'import { f%d } from "./m%d.js";\nexport function f%d(x) { return f%d(x) + %d; }\nexport const unused%d = [1, 2, 3].map((v) => v * %d);\n' \
            $((k - 1)) $((k - 1)) $k $((k - 1)) $k $k $k >"$W/js/m$k.js"
    done
    printf 'export function f0(x) { return x; }\n' >"$W/js/m0.js"
    printf 'import { f40 } from "./m40.js";\nconsole.log(`sum ${f40(1)}`);\n' >"$W/js/main.js"
    run_prog "$A64_QEMU" "$LIN" "$W/js/main.js" --bundle --minify --format=esm --target=es2017
    want=$RUN_OUT
    [[ $RUN_RC == 0 && $want == *"sum "* ]] && pass "linux-arm64 twin: unpatched bundle job runs" ||
        fail "linux-arm64 twin: unpatched bundle" "rc $RUN_RC" "$RUN_ERR"
    run_prog "$A64_QEMU" "$W/lin.out" "$W/js/main.js" --bundle --minify --format=esm --target=es2017
    check_eq "linux-arm64 twin: patched bundle of 41 modules, byte-identical output" "$want (rc 0)" "$RUN_OUT (rc $RUN_RC)"
fi
e2e_finish
