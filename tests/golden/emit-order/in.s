# Case: emit ordering. Stubs and trampolines are laid out in rule order;
# patches are made hook by hook (entry, then island, then redirects, then
# the original's entry), so in address order they interleave: c's island
# lies between c and d although d's entry was patched first.
#
# a (0x401060) = `mov eax,1; ret`; b (0x401070) = `mov eax,2; ret`;
# c (0x401080) = `.Lc: test edi,edi; jz .Ldone; dec edi; inc eax;
#     jmp .Lc (eb f6); .Ldone: ret`, 11 bytes, then 5 int3, then
# d (0x401090) = `lea eax,[rdi+rdi]; ret`, 4 bytes + int3 padding;
# c_orig (`mov eax,99; ret`), mock (counts its calls, returns
# c_orig(n) + 10).
# Rules, in this order: d passthrough; a return 3; c replace mock,
# original c_orig; b trap.
# Expected:
# - new text (.hookpatch, after .data), in rule order: d's trampoline
#   (lea; ret; ud2) at 0x4030e0, a's stub `mov eax,3; ret` at +0x10, c's
#   trampoline (test; je widened to c's .Ldone; dec; `jmp c+6`) at +0x20,
#   b's stub `ud2` at +0x30;
# - in address order: a, b, c (entry `jmp mock`), c+8 (`jmp .Lc` now
#   `eb 01`, to c+0xb), c+0xb (the island, in c's padding, `jmp
#   <c.hookpatch_orig>`) touching d's entry patch at c+0x10 (so the
#   listing shows the two as one site), c_orig (`jmp
#   <c.hookpatch_orig>`);
# - the record lists hooks in rule order and sites as made: d, a, c, c's
#   island, c's redirect, c_orig, b;
# - the program prints one character, 'A' + a() + c(3) + d(5) + 16 * mock
#   calls, then calls b: before 'A' + 1 + 3 + 10 = 'O' and exit 0; after
#   'A' + 3 + 13 + 10 + 16 = 'k', then b traps (ud2: SIGILL, exit -4).
        .text
        .globl  _start
        .type   _start, @function
_start:
        call    a
        mov     %eax, %ebx
        mov     $3, %edi
        xor     %eax, %eax
        call    c
        add     %eax, %ebx
        mov     $5, %edi
        call    d
        add     %eax, %ebx
        mov     mock_calls(%rip), %eax
        shl     $4, %eax
        lea     65(%rax,%rbx), %eax
        mov     %al, buf(%rip)
        mov     $1, %eax                # write(1, buf, 2)
        mov     $1, %edi
        lea     buf(%rip), %rsi
        mov     $2, %edx
        syscall
        call    b
        xor     %edi, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  a
        .type   a, @function
        .p2align 4, 0xcc
a:
        mov     $1, %eax
        ret
        .size   a, .-a

        .globl  b
        .type   b, @function
        .p2align 4, 0xcc
b:
        mov     $2, %eax
        ret
        .size   b, .-b

        .globl  c
        .type   c, @function
        .p2align 4, 0xcc
c:
.Lc:
        test    %edi, %edi
        jz      .Ldone
        dec     %edi
        inc     %eax
        jmp     .Lc
.Ldone:
        ret
        .size   c, .-c

        .globl  d
        .type   d, @function
        .p2align 4, 0xcc
d:
        lea     (%rdi,%rdi), %eax
        ret
        .size   d, .-d

        .globl  c_orig
        .type   c_orig, @function
        .p2align 4, 0xcc
c_orig:
        mov     $99, %eax
        ret
        .size   c_orig, .-c_orig

        .globl  mock
        .type   mock, @function
        .p2align 4, 0xcc
mock:
        incl    mock_calls(%rip)
        xor     %eax, %eax
        call    c_orig
        add     $10, %eax
        ret
        .size   mock, .-mock

        .data
mock_calls:     .long 0
buf:            .ascii "?\n"
