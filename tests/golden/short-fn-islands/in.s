# Case: functions too short for the jump take a jmp rel8 to an island
# (rewriter/island.h); islands are given out in rule order without
# overlap, and padding a branch lands in is not used.
#
# t1 = `xor eax,eax; ret` (3 bytes) and t2 = `lea eax,[rdi+5]; ret` (4
#      bytes) packed back to back, then t2next right after t2: no padding
#      after t1 or t2. Before them: int3 alignment plus 16 bytes of int3
#      filler owned by no symbol after _start.
# big (201 bytes) puts t3 out of the filler's rel8 reach.
# t3 = `xor eax,eax; ret` with t3next right after it; before it, 13 int3
#      bytes that skipper (`jmp .Lpad`) jumps into at their first byte.
# Expected: t1's island is the first 5 bytes of the gap after _start, t2's
# the next 5: `jmp rel8` at each entry, `jmp rel32` in each island (to
# t1's trampoline, which copies the xor and jumps back to t1's ret, and to
# t2's stub). The glob t3* skips t3: "too short for the jump, and a branch
# lands in the padding at ADDR chosen for its island" (ADDR = skipper's
# end); t3next (6 bytes) takes the jump. Exit status t2(1) + t1() = 6
# before, 7 + 0 = 7 after.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $1, %edi
        call    t2
        mov     %eax, %ebx
        call    t1
        add     %eax, %ebx
        mov     %ebx, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start
        .p2align 4, 0xcc
        .fill   16, 1, 0xcc

        .globl  t1
        .type   t1, @function
t1:
        xor     %eax, %eax
        ret
        .size   t1, .-t1
        .globl  t2
        .type   t2, @function
t2:
        lea     5(%rdi), %eax
        ret
        .size   t2, .-t2
        .globl  t2next
        .type   t2next, @function
t2next:
        mov     $1, %eax
        ret
        .size   t2next, .-t2next

        .globl  big
        .type   big, @function
big:
        .fill   200, 1, 0x90
        ret
        .size   big, .-big

        .globl  skipper
        .type   skipper, @function
skipper:
        jmp     .Lpad
        .size   skipper, .-skipper
.Lpad:
        .fill   13, 1, 0xcc
        .globl  t3
        .type   t3, @function
t3:
        xor     %eax, %eax
        ret
        .size   t3, .-t3
        .globl  t3next
        .type   t3next, @function
t3next:
        mov     $1, %eax
        ret
        .size   t3next, .-t3next
