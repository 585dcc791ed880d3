# With `original =`, a branch back to the entry that lies inside the
# stolen bytes is relocated into the trampoline aimed at the trampoline
# (the copy of the entry), not at the entry, which now jumps to the
# replacement: the loop runs in the original and the replacement once
# per call. (arm64 sibling: a64-stolen-loop-to-entry.)
#
# f (0x401020) = `.Lf: inc eax (ff c0); dec edi (ff cf); jnz .Lf (75 fa);
#     add eax,0; ret`: it counts edi down to 0, adding 1 to eax per pass.
#     The jump takes inc + dec + jnz = 6 bytes: the loop's jnz is among
#     them.
# mock counts its calls and returns f_orig(n) + 10 (eax = 0 on entry).
# Rules: f replace mock, original f_orig.
# Branches back to the entry were once redirected only when they lay
# after the stolen bytes (site.c, hp_site_check_targets); the copy in the
# trampoline kept the jnz's target, f, so f(3) ran mock three times (exit
# status 223 = 31 + 3 * 64). hp_site_relocate now relocates such a branch
# to the trampoline. (plan.c's refusal "the whole function fits in the
# jump and it branches back to its entry" was meant for this and could
# never be given; it is gone: such a function works like this one.)
# Expected: the trampoline's
# copy of the jnz aims at the trampoline itself, whose first bytes are
# f's first bytes:
# - trampoline: inc; dec; `jne <f.hookpatch_orig>` (0f 85 rel32);
#   `jmp f+6`;
# - f: `jmp mock` + int3; f_orig: `jmp <f.hookpatch_orig>`;
# - exit status = f(3) + 64 * mock calls: before 3, after 13 + 64 = 77.
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
