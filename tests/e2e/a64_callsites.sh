#!/usr/bin/env bash
# Tiny targets on arm64 (issue 18, item 4): call-site redirection through
# the architecture table, cross-built and run under qemu-user.
#
# The fixture is tiny_callsites' (tests/fixtures/tiny_cs): touch (`ret`, 4
# bytes), zero, add and answer (8 bytes each) packed between two 160-byte
# functions, called directly, through pointers in data (zero_ptr,
# answer_ptr: R_AARCH64_RELATIVE in PIE, absolute words otherwise) and
# through a pointer to add made by code (ADRP+ADD in every mode, or a GOT
# load). Per build (gcc and clang; -Os, -O2 -falign-functions=1, -O2; PIE,
# non-PIE, static; gcc -Os -mbranch-protection=standard; and gcc -Os
# -mcmodel=large, whose code loads the pointer to add from a literal pool
# in .text, non-PIE and static):
# - near layout (every ordinary image): a B fits every entry, so touch,
#   zero and add are "entry" in --json and every path reaches the hook;
# - far layout (HOOKPATCH_TEST_FAR=1: the new code 256 MiB away, as in an
#   image too large for B): a function shorter than the 12-byte far jump
#   with no padding after it is hooked at its call sites: BL/B through an
#   island of padding in their reach holding the far jump, ADRP+ADD pairs
#   re-pointed in place, RELATIVE-relocated words re-pointed. Asserted per
#   build from --json: the technique (packed builds: "callsites"), that
#   PIE misses nothing, that non-PIE misses exactly the absolute zero_ptr
#   (named in the warning; --strict makes it an error and writes no OUT)
#   while the ADRP+ADD pointer to add is redirected (large: the literal is
#   named as not redirected); answer, reached only
#   through answer_ptr in non-PIE, is refused naming the techniques tried;
#   then `replace` + `original =`, `return` and `passthrough` run with the
#   exact expected output; two runs give the same bytes.
# And a library (-O2 -falign-functions=1 -fPIC) whose exported 8-byte
# lib_add is replaced in the far layout: the unpatched program calling it
# (and lib_twice, through the library's PLT) sees the hook through the
# re-pointed .dynsym value.
# To narrow a run by hand: HP_E2E_CC=gcc HP_E2E_MODES=pie bash a64_callsites.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init
a64_have "a64 call sites" || { e2e_finish; exit 0; }

FIX=$HP_SRC/tests/fixtures/tiny_cs
. "$FIX/expected.sh"

cc_a64() # gcc|clang ARGS...
{
    local cc=$1
    shift
    if [[ $cc == gcc ]]; then a64_cc "$@"; else a64_clang "$@"; fi
}

build_one()
{
    local cc=$1 opt=$2 mode=$3 dir=$4 f
    local -a cflags ldflags
    case $mode in
    pie) cflags=(-fPIE) ldflags=(-pie) ;;
    nopie) cflags=(-fno-pie) ldflags=(-no-pie) ;;
    static) cflags=(-fno-pie) ldflags=(-static) ;;
    esac
    case $opt in
    O2) cflags+=(-O2) ;;
    packed) cflags+=(-O2 -falign-functions=1) ;;
    Os) cflags+=(-Os) ;;
    large) cflags+=(-Os -mcmodel=large) ;;
    bti) cflags+=(-Os -mbranch-protection=standard) ;;
    esac
    mkdir -p "$dir"
    for f in main stubs cs; do
        cc_a64 "$cc" "${cflags[@]}" -c "$FIX/$f.c" -o "$dir/$f.o" || return 1
    done
    cc_a64 "$cc" "${ldflags[@]}" -o "$dir/in" "$dir/main.o" "$dir/stubs.o" "$dir/cs.o"
}

# field JSON NAME EXPR: EXPR of NAME's hook h in the --json report.
field() { json_get "$1" "[$3 for h in j['hooks'] if h['target'] == '$2'][0]"; }
# missed JSON NAME: the symbols (sym+off) of NAME's places not redirected.
missed()
{
    field "$1" "$2" "' '.join(sorted(str(m['address']) for m in h.get('not_redirected', [])))"
}

one_build()
{
    local cc=$1 opt=$2 mode=$3 v="a64 $1 $2 $3" dir=$HP_WORK/$1-$2-$3 r
    if ! build_one "$cc" "$opt" "$mode" "$dir" >"$dir.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir.log")"
        return
    fi
    local in=$dir/in tight=no zptr aptr
    [[ $cc == gcc && ($opt == Os || $opt == packed || $opt == large) ]] && tight=yes
    a64_run "$in"
    check_eq "$v: unpatched" "$(tiny_cs_expected plain no no) (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    zptr=$((16#$(aarch64-linux-gnu-nm "$in" | awk '$3 == "zero_ptr" { print $1 }')))
    aptr=$((16#$(aarch64-linux-gnu-nm "$in" | awk '$3 == "answer_ptr" { print $1 }')))

    # near: the B at every entry
    hp --dry-run --json "$in" "$dir/unused" "$FIX/replace.toml"
    printf '%s\n' "$HP_OUT" >"$dir/near.json"
    check_eq "$v: near: techniques" "entry entry entry" \
        "$(for f in touch zero add; do field "$dir/near.json" $f "h['technique']"; done | xargs)"
    hp "$in" "$dir/near.out" "$FIX/replace.toml"
    a64_run "$dir/near.out"
    check_eq "$v: near: replace output" "$(tiny_cs_expected replace yes yes) (rc 0)" \
        "$RUN_OUT (rc $RUN_RC)"

    # far: call sites where the far jump does not fit. lld packs clang's
    # functions with no padding at all: no island for a BL, so touch
    # (reached only by one) is refused, naming why (static: glibc's own
    # padding is within reach).
    if [[ $cc == clang && $mode != static ]]; then
        HOOKPATCH_TEST_FAR=1 hp "$in" "$dir/refused.out" "$FIX/passthrough.toml"
        if [[ $HP_RC -eq 1 && ! -e $dir/refused.out &&
            $HP_ERR == *"target 'touch': cannot hook at 0x"*"too short: 4 bytes"*"call sites (none could be re-pointed: 0x"*"(main+0x"*"): a branch that does not reach the new code (far layout), with no free padding in its reach for an island)"* ]]; then
            pass "$v: far: no padding for an island: touch refused, naming why"
        else
            fail "$v: far: no padding for an island: touch refused, naming why" "rc $HP_RC" "$HP_ERR"
        fi
        return
    fi
    local rules=$dir/return3.toml
    awk 'BEGIN { RS = ""; ORS = "\n\n" } !/target = "answer"/' "$FIX/return.toml" >"$rules"
    for r in replace return passthrough; do
        local rf=$FIX/$r.toml zp=yes ap=yes ans=yes tt tz ta
        if [[ $r == return && $mode != pie ]]; then
            # answer is reached only through the absolute answer_ptr
            # (where the far jump fits at its entry, answer=9 is checked below)
            HOOKPATCH_TEST_FAR=1 hp "$in" "$dir/refused.out" "$rf"
            if [[ $tight == no && $HP_RC -eq 0 ]]; then
                :
            elif [[ $HP_RC -eq 1 && ! -e $dir/refused.out &&
                $HP_ERR == *"target 'answer': cannot hook at 0x"*"too short: 8 bytes; tried the jump at the entry (needs 12 bytes"*"an island (this architecture has no shorter jump to one), and call sites (none could be re-pointed: 0x"*"(answer_ptr+0x0): a pointer in data with no relocation (the address is absolute))"* ]]; then
                pass "$v: far: answer, reached only by an absolute pointer, is refused naming each technique"
            else
                fail "$v: far: answer refused naming each technique" "rc $HP_RC" "$HP_ERR"
            fi
            [[ $HP_RC -eq 1 ]] && rf=$rules ans=no
        fi
        HOOKPATCH_TEST_FAR=1 hp --dry-run --json "$in" "$dir/unused" "$rf"
        printf '%s\n' "$HP_OUT" >"$dir/$r.json"
        tt=$(field "$dir/$r.json" touch "h['technique']" 2>/dev/null || echo none)
        tz=$(field "$dir/$r.json" zero "h['technique']" 2>/dev/null || echo none)
        ta=$(field "$dir/$r.json" add "h['technique']" 2>/dev/null || echo none)
        [[ $tight == yes ]] && check_eq "$v: far: $r: techniques" "callsites callsites callsites" "$tt $tz $ta"
        if [[ $tz == callsites ]]; then
            local want=""
            [[ $mode != pie ]] && want=$zptr zp=no
            check_eq "$v: far: $r: zero's places not redirected" "$want" "$(missed "$dir/$r.json" zero)"
        fi
        if [[ $ta == callsites && $opt == large ]]; then
            # -mcmodel=large loads the address from a literal pool in .text
            ap=no
            [[ $(missed "$dir/$r.json" add) =~ ^[0-9]+$ ]] &&
                pass "$v: far: $r: add's literal-pool load is a place not redirected" ||
                fail "$v: far: $r: add's literal-pool load is a place not redirected" "$(cat "$dir/$r.json")"
        elif [[ $ta == callsites ]]; then
            check_eq "$v: far: $r: add's places not redirected (ADRP+ADD re-pointed)" "" \
                "$(missed "$dir/$r.json" add)"
        fi
        HOOKPATCH_TEST_FAR=1 hp "$in" "$dir/$r.out" "$rf"
        if [[ $HP_RC -ne 0 ]]; then
            fail "$v: far: $r: hookpatch" "rc $HP_RC" "$HP_ERR"
            continue
        fi
        if [[ $zp == no ]]; then
            [[ $HP_ERR == *"warning: "*"target 'zero': hooked at "*"call site(s), but 1 place(s) reaching 0x"*"(zero_ptr+0x0): a pointer in data with no relocation (the address is absolute)"* ]] &&
                pass "$v: far: $r: the missed pointer is named" ||
                fail "$v: far: $r: the missed pointer is named" "$HP_ERR"
            if [[ $ap == no ]]; then
                [[ $HP_ERR == *"warning: "*"target 'add': hooked at "*"(main+0x"*"): a literal word in code holding the absolute address (not re-pointed)"* ]] &&
                    pass "$v: far: $r: the missed literal is named" ||
                    fail "$v: far: $r: the missed literal is named" "$HP_ERR"
            fi
        elif [[ $HP_ERR == *warning* ]]; then
            fail "$v: far: $r: no warning" "$HP_ERR"
        fi
        a64_run "$dir/$r.out"
        check_eq "$v: far: $r: output ($tt/$tz/$ta)" "$(tiny_cs_expected "$r" "$zp" "$ap" "$ans") (rc 0)" \
            "$RUN_OUT (rc $RUN_RC)"
        if [[ $r == replace && $zp == no ]]; then
            HOOKPATCH_TEST_FAR=1 tiny_cs_strict "$v: far" "$in" "$dir" "$rf"
        fi
    done
    HOOKPATCH_TEST_FAR=1 hp "$in" "$dir/replace.again" "$FIX/replace.toml"
    check_eq "$v: far: deterministic output" "$(sha "$dir/replace.out")" "$(sha "$dir/replace.again")"
}

lib_build()
{
    local cc=$1 v="a64 $1 shared" dir=$HP_WORK/$1-shared r
    mkdir -p "$dir/out"
    if ! { cc_a64 "$cc" -O2 -falign-functions=1 -fPIC -shared -o "$dir/libt.so" "$FIX/lib.c" &&
        cc_a64 "$cc" -O2 -o "$dir/app" "$FIX/app.c" -L"$dir" -lt; } >"$dir.log" 2>&1; then
        fail "$v: build" "$(tail -5 "$dir.log")"
        return
    fi
    LD_LIBRARY_PATH=$dir a64_run "$dir/app"
    check_eq "$v: unpatched" "lib_add=5 lib_twice=10 (rc 0)" "$RUN_OUT (rc $RUN_RC)"
    local -A want=([lib]="lib_add=1005 lib_twice=2010" [lib_return]="lib_add=100 lib_twice=200")
    for r in lib lib_return; do
        HOOKPATCH_TEST_FAR=1 hp --dry-run --json "$dir/libt.so" "$dir/unused" "$FIX/$r.toml"
        printf '%s\n' "$HP_OUT" >"$dir/$r.json"
        local t
        t=$(field "$dir/$r.json" lib_add "h['technique']" 2>/dev/null || echo none)
        check_eq "$v: far: $r: technique" callsites "$t"
        rm -f "$dir/out/libt.so"
        HOOKPATCH_TEST_FAR=1 hp "$dir/libt.so" "$dir/out/libt.so" "$FIX/$r.toml"
        if [[ $HP_RC -ne 0 || $HP_ERR == *warning* ]]; then
            fail "$v: far: $r: hookpatch" "rc $HP_RC" "$HP_ERR"
            continue
        fi
        LD_LIBRARY_PATH=$dir/out a64_run "$dir/app"
        check_eq "$v: far: $r: the unpatched program sees the hook" "${want[$r]} (rc 0)" \
            "$RUN_OUT (rc $RUN_RC)"
        local dyn sym
        dyn=$(readelf -W --dyn-syms "$dir/out/libt.so" | awk '$8 == "lib_add" { print $2 }')
        sym=$(aarch64-linux-gnu-nm "$dir/out/libt.so" | awk '$3 == "lib_add" { print $1 }')
        [[ -n $dyn && -n $sym && $((16#$dyn)) -ne $((16#$sym)) ]] &&
            pass "$v: far: $r: .dynsym re-pointed (0x$dyn), .symtab names the original" ||
            fail "$v: far: $r: .dynsym re-pointed, .symtab names the original" "$dyn" "$sym"
    done
}

for cc in ${HP_E2E_CC:-gcc clang}; do
    [[ $cc == clang ]] && ! command -v clang >/dev/null && { skip "a64 clang" "not installed"; continue; }
    opts="Os packed O2"
    [[ $cc == gcc ]] && opts+=" bti large"
    for opt in $opts; do
        for mode in ${HP_E2E_MODES:-pie nopie static}; do
            [[ $opt == large && $mode == pie ]] && continue # no PIC in the large code model
            par_start one_build "$cc" "$opt" "$mode"
        done
    done
    par_start lib_build "$cc"
done
par_wait
e2e_finish
