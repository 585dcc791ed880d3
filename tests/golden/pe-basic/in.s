# Case: the rewriter core on a PE32+ executable (mingw as + ld, no CRT):
# the same plan as on ELF, only addresses and the new section's name
# (.hookp) differ. Not run (that needs wine); checked by plan, listing and
# record.
#
# f: the frame-pointer prologue of entry-plain-prologue (8 stolen bytes);
# g: `xor eax,eax; ret`; c: a loop whose `jmp c` (rel32) goes back to the
# entry; c_orig, mock as in emit-order.
# A COFF symbol has no size and this program has no .pdata, so a function
# runs to the next symbol: g's int3 padding is part of g (the jump takes
# xor, ret and two int3 as g's own bytes: copy 5 of 5).
# Rules: f passthrough; g return 5; c replace mock, original c_orig.
# Expected:
# - f: patch 8 bytes at f to its trampoline (push; mov; sub; jmp f+8);
# - g: patch 5 bytes to a `mov eax,5; ret` stub;
# - c: patch 6 bytes (test; jz; dec) to mock; the `jmp c` at c+8 re-aimed
#   at c's trampoline (test; jz widened; dec; jmp c+6); c_orig's entry
#   jumps to that trampoline;
# - new code in section .hookp at 0x140003000, symbols f.hookpatch_orig,
#   g.hookpatch_stub, c.hookpatch_orig; the record in section .hookinf.
# golden: build = pe-exe
        .text
        .globl  _start
_start:
        mov     $7, %edi
        call    f
        mov     %eax, %ebx
        call    g
        add     %eax, %ebx
        mov     $3, %edi
        xor     %eax, %eax
        call    c
        add     %ebx, %eax
        ret

        .globl  f
        .p2align 4, 0xcc
f:
        push    %rbp
        mov     %rsp, %rbp
        sub     $0x10, %rsp
        mov     %edi, -4(%rbp)
        mov     -4(%rbp), %eax
        lea     (%rax,%rax,2), %eax
        leave
        ret

        .globl  g
        .p2align 4, 0xcc
g:
        xor     %eax, %eax
        ret

        .globl  c
        .p2align 4, 0xcc
c:
1:
        test    %edi, %edi
        jz      2f
        dec     %edi
        inc     %eax
        {disp32} jmp 1b
2:
        ret

        .globl  c_orig
        .p2align 4, 0xcc
c_orig:
        mov     $99, %eax
        ret

        .globl  mock
        .p2align 4, 0xcc
mock:
        xor     %eax, %eax
        call    c_orig
        add     $10, %eax
        ret
