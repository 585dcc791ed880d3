# Case (a fixed crash): `--json` crashed (SIGSEGV, exit 139) when a rule's
# `replace` named no function. Without --json the same run exits 1 with
# the error.
#
# fn_one (`mov eax,1; ret`) and mock.
# Rules: fn_one replace "mocc" (a typo for mock).
# Why it broke: the JSON report lists the hooks resolved so far even when
# resolving failed, and names each replace hook's destination through its
# replacement symbol (cli/report.c, hp_dest_name: h->replace->name), which
# is NULL when the name did not resolve. The contract: never crash.
# Expected (hand-written): --json prints the report with ok false and the
# error "no function named 'mocc'; did you mean 'mock'?" at
# rules.toml:3:11, and no hooks (nothing was analysed: see
# json-unanalysed-hooks; the fix of that bug alone removes this crash,
# and hp_dest_name no longer trusts the replacement to be resolved); exit 1. stderr as without --json.
# golden: run = no
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  fn_one
        .type   fn_one, @function
        .p2align 4, 0xcc
fn_one:
        mov     $1, %eax
        ret
        .size   fn_one, .-fn_one

        .globl  mock
        .type   mock, @function
        .p2align 4, 0xcc
mock:
        mov     $4, %eax
        ret
        .size   mock, .-mock
