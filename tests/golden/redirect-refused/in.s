# Case: the refusals that only a hook with `original =` meets: with a
# trampoline reached by the replacement, every branch back to the entry
# must be found and sent to the trampoline, so the whole function is
# decoded, and some functions cannot be handled.
#
# f9 at 0x401010: `test edi,edi; jz .Ldone; dec edi` (6 stolen bytes),
#     then nine `jmp f9` (rel32): "more than 8 branches back to the entry"
#     (a hook records at most 8).
# fd at 0x401050: `mov eax,1 (5 bytes)`, then a byte 06 that does not
#     decode in 64-bit mode, then ret: the entry is fine, but the rest of
#     fd cannot be searched for branches back to it: "cannot decode the
#     instruction at 0x401055 (data in code?), so branches into the entry
#     cannot be ruled out".
# (A branch back to the entry among the stolen bytes is no refusal: its
# copy in the trampoline aims at the trampoline, see stolen-loop-to-entry.)
# Expected: two errors in rule order, each "cannot hook at ADDR: REASON";
# exit 1, no output.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f9
        .type   f9, @function
        .p2align 4, 0xcc
f9:
.Lf9:
        test    %edi, %edi
        jz      .Ldone
        dec     %edi
        .rept   9
        {disp32} jmp .Lf9
        .endr
.Ldone:
        ret
        .size   f9, .-f9

        .globl  fd
        .type   fd, @function
        .p2align 4, 0xcc
fd:
        mov     $1, %eax
        .byte   0x06
        ret
        .size   fd, .-fd

        .globl  mock
        .type   mock, @function
        .p2align 4, 0xcc
mock:
        xor     %eax, %eax
        ret
        .size   mock, .-mock

        .globl  o1
        .type   o1, @function
        .p2align 4, 0xcc
o1:
        mov     $1, %eax
        ret
        .size   o1, .-o1

        .globl  o2
        .type   o2, @function
        .p2align 4, 0xcc
o2:
        mov     $2, %eax
        ret
        .size   o2, .-o2
