# Case: an entry that is a loop head two bytes in (-Os's `xor eax,eax`
# before the loop), reached only through an absolute pointer in data: the
# jump would cover the loop's target and call sites find nothing to
# re-point, so the entry takes the 2-byte short jump (over the xor alone)
# to an island in a neighbour's instructions moved out of the way.
#
# sum(n) = `xor eax,eax` then the loop `add eax,edi; dec edi; jnz loop`
#     (its target at sum+2), called only through psum in .data;
# hook: sum replaced by mock(n) = sum_orig(n) + 100, with `original =
#     sum_orig`: sum_orig's entry jumps to the trampoline, which runs the
#     xor and jumps back to sum+2, into the loop;
# work (after sum) = push rbx, then 19 bytes of plain instructions: the
#     run that moves (a jump at work+1), the island at work+6.
# Expected: sum "island ... in code moved out of work"; exit status
# sum(4) + work() = 10 + 3 = 13 before, 110 + 3 = 113 after.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $4, %edi
        call    *psum
        mov     %eax, %ebx
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

        .globl  sum
        .type   sum, @function
sum:
        xor     %eax, %eax
.Lloop:
        add     %edi, %eax
        dec     %edi
        jnz     .Lloop
        ret
        .size   sum, .-sum

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

        .globl  sum_orig
        .type   sum_orig, @function
sum_orig:
        mov     $-1, %eax
        ret
        .size   sum_orig, .-sum_orig

        .globl  mock
        .type   mock, @function
mock:
        call    sum_orig
        add     $100, %eax
        ret
        .size   mock, .-mock

        .data
        .p2align 3
psum:   .quad   sum
