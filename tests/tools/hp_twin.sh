#!/usr/bin/env bash
# hp_twin: stands in for the hookpatch binary and runs two builds of it on
# the same arguments, to prove a refactor changes nothing a user can see.
# The reference build (HP_TWIN_REF) runs first, writing OUT to a side file;
# then the candidate (HP_TWIN_NEW) runs exactly as asked, and its stdout,
# stderr and exit status are what the caller sees. Any difference in exit
# status, stdout, stderr or the bytes of OUT is appended to HP_TWIN_LOG.
#
# Set by tests/tools/compare_builds.sh, which runs the end-to-end suite with
# HOOKPATCH pointing here. `hookpatch exec` runs a program, so it is not run
# twice: it goes to the candidate alone. Output of --timings is not
# compared (it holds times).
set -uo pipefail
: "${HP_TWIN_REF:?} ${HP_TWIN_NEW:?} ${HP_TWIN_LOG:?}"

case ${1:-} in
exec) exec "$HP_TWIN_NEW" "$@" ;;
esac
# A test that drops privileges cannot write the log: candidate only.
[[ -w $HP_TWIN_LOG ]] || exec "$HP_TWIN_NEW" "$@"

# Find OUT: the second positional argument of a patch run (list has none).
args=("$@")
out_idx=-1
if [[ ${1:-} != list ]]; then
    npos=0 opts_done=0 skip=0
    for i in "${!args[@]}"; do
        a=${args[$i]}
        if [[ $skip == 1 ]]; then
            skip=0 # the value of an option that takes one (--depfile FILE)
        elif [[ $opts_done == 0 && $a == --depfile ]]; then
            skip=1
        elif [[ $opts_done == 0 && $a == -- ]]; then
            opts_done=1
        elif [[ $opts_done == 1 || $a != -* || $a == - ]]; then
            npos=$((npos + 1))
            [[ $npos == 2 ]] && out_idx=$i
        fi
    done
fi
dry=0 timings=0
for a in "$@"; do
    [[ $a == --dry-run ]] && dry=1
    [[ $a == --timings ]] && timings=1
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hp_twin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ref_args=("${args[@]}")
out=""
if [[ $out_idx -ge 0 && $dry == 0 ]]; then
    out=${args[$out_idx]}
    # OUT that is not a plain file (a directory, a device, a link): where
    # the reference would write is not comparable; candidate only.
    if [[ -L $out || ( -e $out && ! -f $out ) ]]; then
        printf 'SKIP %s\n' "$*" >>"$HP_TWIN_LOG"
        exec "$HP_TWIN_NEW" "$@"
    fi
    # The reference writes next to OUT, like the real run, so a
    # cross-device or permission case behaves the same.
    ref_out="$(dirname -- "$out")/.hp_twin_ref.$$.$(basename -- "$out")"
    ref_args[$out_idx]=$ref_out
fi

ref_rc=0
"$HP_TWIN_REF" "${ref_args[@]}" </dev/null >"$tmp/ref.out" 2>"$tmp/ref.err" || ref_rc=$?
new_rc=0
"$HP_TWIN_NEW" "$@" </dev/null >"$tmp/new.out" 2>"$tmp/new.err" || new_rc=$?

diffs=()
[[ $ref_rc == "$new_rc" ]] || diffs+=("exit status: reference $ref_rc, candidate $new_rc")
if [[ -n $out ]]; then
    # Messages name OUT; the reference named its side file instead.
    sed -i "s|$(printf '%s' "$ref_out" | sed 's/[][\\.*^$|/]/\\&/g')|$out|g" "$tmp/ref.out" "$tmp/ref.err"
    if [[ -e $ref_out || -e $out ]]; then
        if [[ $new_rc == 0 && $ref_rc == 0 ]] && ! cmp -s "$ref_out" "$out"; then
            diffs+=("OUT bytes differ: $out")
        fi
    fi
    rm -f -- "$ref_out"
fi
cmp -s "$tmp/ref.out" "$tmp/new.out" ||
    diffs+=("stdout differs:" "$(diff "$tmp/ref.out" "$tmp/new.out" | head -20)")
if [[ $timings == 0 ]] && ! cmp -s "$tmp/ref.err" "$tmp/new.err"; then
    diffs+=("stderr differs:" "$(diff "$tmp/ref.err" "$tmp/new.err" | head -20)")
fi
{
    flock 9
    printf 'RUN %s\n' "$*"
    for d in "${diffs[@]}"; do printf 'DIFF %s\n' "$d"; done
} 9>>"$HP_TWIN_LOG" >>"$HP_TWIN_LOG"

cat "$tmp/new.out"
cat "$tmp/new.err" >&2
exit "$new_rc"
