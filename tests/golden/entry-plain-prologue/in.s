# Case: a plain frame-pointer prologue.
#
# f starts `push rbp (55); mov rbp,rsp (48 89 e5); sub rsp,0x10 (48 83 ec
# 10)`: 1 + 3 = 4 bytes are not enough for the 5-byte jump, so the whole
# `sub` is taken too: 8 stolen bytes, all position-independent.
# Expected (action = "passthrough"):
# - plan: patch 0x401020 (f; _start takes 19 bytes), 8 bytes, destination the
#   trampoline, the first thing in the new text section .hookpatch
#   (0x4020b0);
# - f+0: `jmp <f.hookpatch_orig>` then 3 int3 over the rest of the `sub`;
# - trampoline: the three instructions copied byte for byte, then
#   `jmp f+8` (back to `mov [rbp-4],edi`), padded with int3 to 16 bytes;
# - the program's exit status (f(7) = 7*3 = 21) is the same before and
#   after: the trampoline runs f unchanged.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $7, %edi
        call    f
        mov     %eax, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
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
        .size   f, .-f
