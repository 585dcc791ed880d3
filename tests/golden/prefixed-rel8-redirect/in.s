# A short branch back to the entry that carries a prefix (here the
# branch-taken hint 3e, `jne,pt`) is redirected through a jump island like
# any rel8 branch: short and near branches are told apart by their
# encoding (the table's short_branch/retarget), not by their length.
#
# f (0x401020) = `.Lf: inc eax (ff c0); dec edi (ff cf); nop (90);
#     test edi,edi; ds jnz .Lf (3e 75 f5); ret`, then int3 padding: it
#     counts edi down to 0, adding 1 to eax per pass. The jump takes inc +
#     dec + nop = 5 bytes; the jnz at f+7 is a branch back to the entry.
# mock counts its calls and returns f_orig(n) + 10 (eax = 0 on entry).
# Rules: f replace mock, original f_orig.
# Told by length (2 bytes is rel8, anything else rel32), the prefixed jnz
# got no island and a 4-byte displacement written at byte len - 4 = -1 of
# its patch: "writing failed: internal error" after a dry run that
# reported success.
# Expected:
# - plan: patch 0x401020, 5 bytes, destination mock, original f_orig;
# - island: 5 int3 at f's end (0x40102b) become `jmp <f.hookpatch_orig>`;
# - the jnz keeps its 3e prefix and opcode, its rel8 re-aimed at the
#   island: `3e 75 01` (over the ret, to f+0xb);
# - f_orig's entry jumps to the trampoline (inc; dec; nop; `jmp f+5`);
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
        nop
        test    %edi, %edi
        .byte   0x3e
        jnz     .Lf
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
