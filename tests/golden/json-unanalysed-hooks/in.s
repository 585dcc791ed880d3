# Case (a fixed bug): when resolving failed, --json listed the hooks
# claimed so far under "hooks", as if planned, with patch address, stolen
# bytes and destination 0, while "hooked" said 0. Now a plan records
# whether its hooks were analysed (hp_plan.analysed) and the report lists
# none when they were not.
#
# Input and rules as claim-two-exact: f (0x401010) and f_alias at the same
# address; rules f return 1, f_alias passthrough, "0x401010" trap. The
# second and third rules are errors; the first rule's claim on f is never
# analysed.
# Why it was wrong: "hooks" is the plan, and there is none: nothing was
# analysed, nothing will be written. A reader of the JSON that trusts
# "hooks" sees a hook of f with destination 0 (cli/report.c lists every
# hook whose state is still the initial HP_HOOK_PLANNED). The same shows
# in claim-two-exact, resolve-errors, original-cross-checks and
# already-patched, whose expected.json keep today's output so that they
# guard the diagnostics; the fix rebased those four files (reviewed: only
# the unanalysed hooks left). It also turned json-unknown-replacement
# into a crash.
# Expected (hand-written): "hooks": [], "skipped_hooks": [], the two
# errors as today; stderr unchanged.
# golden: run = no
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f, f_alias
        .type   f, @function
        .type   f_alias, @function
        .p2align 4, 0xcc
f:
f_alias:
        mov     $1, %eax
        ret
        .size   f, .-f
        .size   f_alias, .-f_alias
