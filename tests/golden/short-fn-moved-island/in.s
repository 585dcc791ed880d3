# Case: tiny targets with no free padding and nothing their call sites
# could re-point (reached only through absolute pointers in data: non-PIE,
# no relocation) take the short jump to an island in a neighbour's
# instructions moved out of the way (rewriter/move.h), and the hook runs
# through the pointers too.
#
# t1 = `lea eax,[rdi+5]; ret` (4 bytes) and t2 = `xor eax,eax; ret` (3)
#     are packed between their neighbours, called only through p1 and p2
#     in .data;
# jt (the nearest below, a run of 15 plain bytes in a case) dispatches
#     through a jump table: its cases may be landed in, no code of it
#     moves;
# eh (next below, the same run) has a landing-pad table (.cfi_lsda, read
#     from .eh_frame): no code of it moves either;
# work (right after t2) = push rbx, then 19 bytes of plain instructions
#     computing (10 + 20) * 3 - 87 = 3: that run moves into a trampoline
#     of its own (a jump to it at work+1), and both islands go after the
#     jump, t1's at work+6 and t2's at work+11;
# filler (300 int3 bytes) keeps _start's code out of the short jump's
#     reach.
# Expected: t1 and t2 "island ... in code moved out of work"; exit status
# t1(1) + t2(1) + work() = 6 + 0 + 3 = 9 before, 7 + 9 + 3 = 19 after.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $1, %edi
        call    *p1
        mov     %eax, %ebx
        mov     $1, %edi
        call    *p2
        add     %eax, %ebx
        call    work
        add     %eax, %ebx
        mov     %ebx, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .type   filler, @function
filler:
        .fill   300, 1, 0xcc
        .size   filler, .-filler

        .type   jt, @function
jt:
        jmp     *jtab(,%rdi,8)
.Lcase0:
        mov     $1, %eax
        mov     $2, %ecx
        mov     $3, %edx
        ret
.Lcase1:
        xor     %eax, %eax
        ret
        .size   jt, .-jt

        .type   eh, @function
eh:
        .cfi_startproc
        .cfi_personality 0x3, pers
        .cfi_lsda 0x3, .Llsda
        push    %rbx
        mov     $1, %eax
        mov     $2, %ecx
        mov     $3, %edx
        pop     %rbx
        ret
        .cfi_endproc
        .size   eh, .-eh

        .globl  t1
        .type   t1, @function
t1:
        lea     5(%rdi), %eax
        ret
        .size   t1, .-t1

        .globl  t2
        .type   t2, @function
t2:
        xor     %eax, %eax
        ret
        .size   t2, .-t2

        .type   work, @function
work:
        push    %rbx
        mov     $10, %eax
        mov     $20, %ecx
        add     %ecx, %eax
        imul    $3, %eax, %eax
        sub     $87, %eax
        pop     %rbx
        ret
        .size   work, .-work

        .type   pers, @function
pers:
        ret
        .size   pers, .-pers

        .section .rodata
        .p2align 3
jtab:
        .quad   .Lcase0, .Lcase1

        .section .gcc_except_table, "a", @progbits
.Llsda:
        .byte   0xff, 0xff, 0x01, 0x00

        .data
        .p2align 3
p1:     .quad   t1
p2:     .quad   t2
