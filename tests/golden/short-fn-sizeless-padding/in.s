# Case: the padding after the code of a function whose size the object did
# not record is free for an island (gcc -O2's own case: crtstuff's
# frame_dummy is `endbr64; jmp register_tm_clones` with no .size, then the
# alignment nops before the program's last function, `add`).
#
# guessed (no .size) = `jmp helper` and 14 bytes of nops up to t1; t1 =
#      `lea eax,[rdi+5]; ret` (4 bytes) with t1next right after it: its
#      only free padding is guessed's tail, whose last instruction before
#      the nops does not fall through.
# fall (no .size) = `xor eax,eax` and 8 nops that run into after_fall:
#      those nops are on fall's path, not padding; t2 = `lea eax,[rdi+6];
#      ret` after it, with t2next right after: no island for t2 (big, 201
#      bytes, keeps guessed's padding out of t2's reach).
# Expected: t1's island at guessed's first nop, `jmp rel8` at t1 and
# `jmp rel32` in the island to t1's stub; the glob t2* finds no island for
# t2 and hooks it at its call site in _start instead, and skips t2next
# (nothing reaches it). Exit status t1(1) + t2(1) = 6 + 7 = 13 before,
# 7 + 9 = 16 after.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $1, %edi
        call    t1
        mov     %eax, %ebx
        mov     $1, %edi
        call    t2
        add     %eax, %ebx
        mov     %ebx, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .type   helper, @function
helper:
        ret
        .size   helper, .-helper

        .type   guessed, @function
guessed:
        jmp     helper
        .p2align 4

        .globl  t1
        .type   t1, @function
t1:
        lea     5(%rdi), %eax
        ret
        .size   t1, .-t1

        .type   t1next, @function
t1next:
        ret
        .size   t1next, .-t1next

        .type   big, @function
big:
        .fill   200, 1, 0x90
        ret
        .size   big, .-big

        .type   fall, @function
fall:
        xor     %eax, %eax
        .fill   8, 1, 0x90

        .type   after_fall, @function
after_fall:
        ret
        .size   after_fall, .-after_fall

        .globl  t2
        .type   t2, @function
t2:
        lea     6(%rdi), %eax
        ret
        .size   t2, .-t2

        .type   t2next, @function
t2next:
        ret
        .size   t2next, .-t2next
