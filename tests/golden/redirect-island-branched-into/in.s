# Case: the padding after a function, chosen for the island that sends its
# rel8 loop back to the entry to the trampoline, is a branch target: the
# hook is refused (rewriter/plan.c: the redirect island is watched like
# every other island). Writing the island there would make the branch into
# the padding run a jump to the trampoline.
#
# f(edi = n) = `.Lf: test edi,edi; jz .Ldone; dec edi; jmp .Lf (rel8);
#   .Ldone: xor eax,eax; ret`, then int3 padding; g (never called) jumps
#   to the first padding byte after f's ret, a label there.
# Rules: f replaced by mock with `original = f_orig`, so the rel8 loop
# needs the island.
# Expected: exit 1, "a branch lands in the padding at ADDR chosen for the
# island that sends branches back to the entry to the trampoline"; no OUT.
# golden: run = no
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $3, %edi
        call    f
        mov     %eax, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
        test    %edi, %edi
        jz      .Ldone
        dec     %edi
        jmp     f
.Ldone:
        xor     %eax, %eax
        ret
        .size   f, .-f
.Lpad:
        .fill   11, 1, 0xcc

        .globl  g
        .type   g, @function
        .p2align 4, 0xcc
g:
        jmp     .Lpad
        .size   g, .-g

        .globl  mock
        .type   mock, @function
        .p2align 4, 0xcc
mock:
        jmp     f_orig
        .size   mock, .-mock

        .globl  f_orig
        .type   f_orig, @function
f_orig:
        .fill   8, 1, 0xcc
        .size   f_orig, .-f_orig
