# KNOWN BUG: with `original =`, a branch back to the entry that lies
# inside the stolen bytes is copied into the trampoline still aimed at the
# entry, so every pass of the loop re-enters the replacement.
#
# f (0x401020) = `.Lf: inc eax (ff c0); dec edi (ff cf); jnz .Lf (75 fa);
#     add eax,0; ret`: it counts edi down to 0, adding 1 to eax per pass.
#     The jump takes inc + dec + jnz = 6 bytes: the loop's jnz is among
#     them.
# mock counts its calls and returns f_orig(n) + 10 (eax = 0 on entry).
# Rules: f replace mock, original f_orig.
# Why it breaks: branches back to the entry are redirected to the
# trampoline only when they lie after the stolen bytes (site.c,
# hp_site_check_targets skips the stolen ones); the copy in the trampoline
# (emit.c, hp_copy_insns) keeps the jnz's target, f, whose entry now jumps
# to mock. The README promises the replacement runs once per call, and
# site.h says branches back to the entry must go to the trampoline. Today
# f(3) runs mock three times: exit status 223 (31 + 3 * 64) instead of
# 77.
# (plan.c's refusal "the whole function fits in the jump and it branches
# back to its entry" looks meant for this situation, but its condition,
# a redirect after the stolen bytes in a function that ends inside them,
# can never hold: no case here can show that message.)
# Expected (written with a fixed build, checked by hand): the trampoline's
# copy of the jnz aims at the trampoline itself, whose first bytes are
# f's first bytes:
# - trampoline: inc; dec; `jne <f.hookpatch_orig>` (0f 85 rel32);
#   `jmp f+6`;
# - f: `jmp mock` + int3; f_orig: `jmp <f.hookpatch_orig>`;
# - exit status = f(3) + 64 * mock calls: before 3, after 13 + 64 = 77.
# (Refusing such a hook would also be correct; this expectation takes the
# behaviour the README describes.)
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $3, %edi
        xor     %eax, %eax
        call    f
        mov     mock_calls(%rip), %ecx
        shl     $6, %ecx
        add     %ecx, %eax
        mov     %eax, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
.Lf:
        inc     %eax
        dec     %edi
        jnz     .Lf
        add     $0, %eax
        ret
        .size   f, .-f

        .globl  mock
        .type   mock, @function
        .p2align 4, 0xcc
mock:
        incl    mock_calls(%rip)
        xor     %eax, %eax
        call    f_orig
        add     $10, %eax
        ret
        .size   mock, .-mock

        .globl  f_orig
        .type   f_orig, @function
        .p2align 4, 0xcc
f_orig:
        mov     $99, %eax
        ret
        .size   f_orig, .-f_orig

        .data
mock_calls:     .long 0
