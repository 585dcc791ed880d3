#!/usr/bin/env bash
# Acceptance: hook a Go program (tests/fixtures/go_basic), built as a plain
# executable and with -buildmode=pie, both with -gcflags=all=-l so nothing
# is inlined. Hooks: a function, a pointer-receiver method, a recursive
# function whose entry is the stack check (the recursion forces many stack
# growths through hooked frames), and time.Now from the standard library.
# Then `hookpatch list` on a `go test -c` binary: thousands of functions,
# in well under a few seconds. Everything once per Go toolchain
# (go_toolchains in lib.sh: Go 1.19 and the current release); each check
# is named after the one it used ("go1.26 pie: patch").
#
# Offline: no module downloads, one build cache per Go version.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init

mapfile -t TOOLCHAINS < <(go_toolchains)
if [[ ${#TOOLCHAINS[@]} -eq 0 ]]; then
    skip "go_basic" "go is not installed"
    e2e_finish
    exit $?
fi

export GOFLAGS=-mod=mod GOPROXY=off GOPATH=$HP_WORK/gopath
export GO111MODULE=on GOTELEMETRY=off
unset GOROOT_FINAL GOOS GOARCH

SRC=$HP_WORK/src
cp -r "$HP_SRC/tests/fixtures/go_basic" "$SRC"
RULES=$SRC/hooks.toml

elf_type() { readelf -hW "$1" | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p'; }

# first_insn FILE SYMBOL: the first instruction of a function.
first_insn()
{
    objdump -d --no-show-raw-insn --disassemble="$2" "$1" |
        awk -v n="<$2>:" '$2 == n { on = 1; next } on && /^ *[0-9a-f]+:/ {
            sub(/^ *[0-9a-f]+:[ \t]*/, ""); print; on = 0 }'
}

test_build() # NAME GO-BUILD-FLAGS...
{
    local v="$GO_LABEL $1" dir=$HP_WORK/$GO_LABEL/$1
    shift
    mkdir -p "$dir"
    local in=$dir/in out=$dir/out
    if ! (cd "$SRC" && go build -gcflags=all=-l "$@" -o "$in" .) >"$dir/build.log" 2>&1; then
        fail "$v: go build $*" "$(tail -5 "$dir/build.log")"
        return
    fi

    # ---- the fixture is what it claims to be
    local want_type=EXEC shape="" insn
    [[ " $* " == *" -buildmode=pie "* ]] && want_type=DYN
    [[ $(elf_type "$in") == "$want_type" ]] || shape+="ELF type $(elf_type "$in"), want $want_type; "
    insn=$(first_insn "$in" main.Depth)
    [[ $insn == *"%r14"* || $insn == "lea "*"(%rsp),%r12" ]] ||
        shape+="main.Depth starts with '$insn', not Go's stack check; "
    hp list "$in" 'main.*Mock'
    [[ $HP_OUT == *main.AddMock* && $HP_OUT == *main.MMock* && $HP_OUT == *main.DepthMock* ]] ||
        shape+="replacements missing from the binary: $HP_OUT; "
    hp list "$in" main.fakeNow
    [[ $HP_OUT == *main.fakeNow* ]] || shape+="main.fakeNow missing from the binary; "
    if [[ -z $shape ]]; then pass "$v: fixture shape"; else fail "$v: fixture shape" "$shape"; fi

    # ---- unpatched: the real clock, not the fake date
    run_prog "$in"
    local orig_re=$'^add 5\nmethod 8\ndepth 100000\nnow 2[0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
    if [[ $RUN_RC -eq 0 && $RUN_OUT =~ $orig_re && $RUN_OUT != *"now 2001-02-03"* ]]; then
        pass "$v: original output"
    else
        fail "$v: original output" "rc $RUN_RC" "$RUN_OUT" "$RUN_ERR"
    fi

    local in_sha
    in_sha=$(sha "$in")
    hp "$in" "$out" "$RULES"
    if [[ $HP_RC -eq 0 && $HP_ERR == *"hookpatch: hooked 4 functions, skipped 0"* ]]; then
        pass "$v: patch"
    else
        fail "$v: patch" "rc $HP_RC" "$HP_ERR"
        return
    fi

    run_prog "$out"
    check_eq "$v: hooked output" $'add 203\nmethod 1007\ndepth 200000\nnow 2001-02-03T04:05:06Z (rc 0)' \
        "$RUN_OUT (rc $RUN_RC)"
    [[ -z $RUN_ERR ]] || printf '        | stderr: %s\n' "$RUN_ERR" | head -20

    # The garbage collector and the stack copier walk hooked frames too:
    # run again with a collection at every allocation burst.
    run_prog env GOGC=1 GODEBUG=gcstoptheworld=1 "$out"
    check_eq "$v: hooked output under GOGC=1" \
        $'add 203\nmethod 1007\ndepth 200000\nnow 2001-02-03T04:05:06Z (rc 0)' \
        "$RUN_OUT (rc $RUN_RC)"

    local rerr
    if rerr=$(readelf_clean "$out"); then pass "$v: readelf -a is clean"; else fail "$v: readelf -a is clean" "$rerr"; fi

    hp "$in" "$dir/out2" "$RULES"
    if [[ $HP_RC -eq 0 ]] && cmp -s "$out" "$dir/out2"; then
        pass "$v: deterministic output"
    else
        fail "$v: deterministic output" "rc $HP_RC; $(cmp "$out" "$dir/out2" 2>&1 | head -1)"
    fi
    check_eq "$v: input unchanged" "$in_sha" "$(sha "$in")"
}

# ---- hookpatch list on a test binary
test_list()
{
    local dir=$HP_WORK/$GO_LABEL/test-c t0 t1 secs nfuncs nyes method
    mkdir -p "$dir"
    if ! (cd "$SRC" && go test -c -o "$dir/pkg.test" .) >"$dir/build.log" 2>&1; then
        fail "$GO_LABEL go test -c" "$(tail -5 "$dir/build.log")"
        return
    fi
    t0=$(date +%s.%N)
    hp list "$dir/pkg.test"
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    echo "# $GO_LABEL: hookpatch list on a go test -c binary: ${secs}s"
    printf '%s\n' "$HP_OUT" >"$dir/list.txt"
    nfuncs=$(grep -c '^0x' "$dir/list.txt" || true)
    nyes=$(awk '$3 == "yes"' "$dir/list.txt" | wc -l)
    # In a test binary the package is named by its import path.
    method=$(grep -E '^0x[0-9a-f]+ +[0-9]+ +yes +(main|hookpatch\.test/go_basic)\.\(\*T\)\.M$' "$dir/list.txt" || true)
    if [[ $HP_RC -eq 0 && $nfuncs -gt 1000 && -n $method ]]; then
        pass "$GO_LABEL go test -c: list shows $nfuncs functions ($nyes hookable) including (*T).M"
    else
        fail "$GO_LABEL go test -c: list" "rc $HP_RC, $nfuncs functions, method line '$method'" "$(head -3 <<<"$HP_ERR")"
    fi
    # Generous: this is about not being quadratic, not about a fast machine.
    if awk -v s="$secs" 'BEGIN { exit !(s < 20) }'; then
        pass "$GO_LABEL go test -c: list took ${secs}s"
    else
        fail "$GO_LABEL go test -c: list took ${secs}s"
    fi
}

for tc in "${TOOLCHAINS[@]}"; do
    go_use $tc
    t0=$SECONDS
    echo "# $(go version)"
    test_build exe
    test_build pie -buildmode=pie
    test_list
    echo "# $GO_LABEL: $((SECONDS - t0)) s"
done

e2e_finish
