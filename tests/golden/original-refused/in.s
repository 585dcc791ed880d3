# Case: the function named by `original =` gets a jump at its entry too
# (to the trampoline), so it must pass the same entry checks as a target;
# when it does not, the error names the original and its location.
#
# f1, f2: hookable targets (`mov eax,N; ret`, 6 bytes).
# o1 at 0x401030 = `xor eax,eax; ret` (3 bytes), with the function o1next
#     right after it: too short for the jump, it takes a jmp rel8 to an
#     island in int3 padding within its reach, so f1 is hooked.
# o2 at 0x401040 = `push rbx; mov ebx,edi; lea eax,[rbx+1]; pop rbx; ret`,
#     and g jumps to o2+3: "a branch lands inside the 6 bytes the jump
#     would overwrite (a loop to the top, or a second entry point)".
# Expected: one error, for f2, at the `original` value's location (line 9,
# column 12), "target 'f2': original 'o2' cannot be redirected: REASON";
# exit 1, no output. --json lists f1 as planned and f2 as skipped with
# "original 'o2' cannot be redirected".
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f1
        .type   f1, @function
        .p2align 4, 0xcc
f1:
        mov     $1, %eax
        ret
        .size   f1, .-f1

        .globl  f2
        .type   f2, @function
        .p2align 4, 0xcc
f2:
        mov     $2, %eax
        ret
        .size   f2, .-f2

        .globl  o1
        .type   o1, @function
        .p2align 4, 0xcc
o1:
        xor     %eax, %eax
        ret
        .size   o1, .-o1
        .globl  o1next
        .type   o1next, @function
o1next:
        ret
        .size   o1next, .-o1next

        .globl  o2
        .type   o2, @function
        .p2align 4, 0xcc
o2:
        push    %rbx
        mov     %edi, %ebx
.Lmid:
        lea     1(%rbx), %eax
        pop     %rbx
        ret
        .size   o2, .-o2

        .globl  g
        .type   g, @function
        .p2align 4, 0xcc
g:
        jmp     .Lmid
        .size   g, .-g

        .globl  mock
        .type   mock, @function
        .p2align 4, 0xcc
mock:
        xor     %eax, %eax
        ret
        .size   mock, .-mock
