# Case: another function jumps into the bytes the jump would overwrite
# (a second entry point, as glibc's __mempcpy_* jump into __memmove_*).
#
# f = `push rbx (53); mov ebx,edi (89 fb); lea eax,[rbx+1] (8d 43 01);
#     pop rbx; ret` at 0x401010: the jump needs 1 + 2 + 3 = 6 bytes.
# g = `mov edi,1; jmp f+3`: lands on the lea, inside those 6 bytes.
# h = `jmp f`: a tail call to f's entry itself, which is fine.
# Expected: the entry cannot take the jump (g's branch would land inside
# it), so f is hooked at its call sites instead, its bytes untouched: h's
# `jmp f` is re-pointed at f's return stub ("call sites (1)"), and g still
# enters f's middle, as the code it shares with f should.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
        push    %rbx
        mov     %edi, %ebx
.Lmid:
        lea     1(%rbx), %eax
        pop     %rbx
        ret
        .size   f, .-f

        .globl  g
        .type   g, @function
        .p2align 4, 0xcc
g:
        mov     $1, %edi
        jmp     .Lmid
        .size   g, .-g

        .globl  h
        .type   h, @function
        .p2align 4, 0xcc
h:
        jmp     f
        .size   h, .-h
