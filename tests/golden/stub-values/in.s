# Case: the return and trap stubs for values of every encoding size.
#
# v1, v2, v3, v4: `mov eax,0x55; ret` (6 bytes) each; t: the same.
# Rules: v1 return 7; v2 return -1; v3 return 0x100000000 (2^32); v4
# return 0xffffffff; t trap.
# Expected stubs, 16 bytes apart in rule order, each entry patched with a
# 5-byte jump over the 5-byte mov:
# - 7          -> `mov eax,7; ret` (b8 imm32: the upper half is zeroed);
# - -1         -> `mov rax,-1; ret` (48 c7 c0 imm32, sign-extended);
# - 2^32       -> `movabs rax,0x100000000; ret` (48 b8 imm64);
# - 0xffffffff -> `mov eax,0xffffffff; ret` (zero-extended, not -1);
# - trap       -> `ud2`;
# - the program adds 1 for v1() == 7, 2 for v2() == -1, 4 for v3() ==
#   2^32 and 8 for v4() == 0xffffffff (64-bit compares), writes the
#   character 'A' + that sum, then calls t: before, nothing matches
#   (every function returns 0x55): 'A', exit 0; after, all four match:
#   'P' (= 'A' + 15), then t's stub traps (SIGILL: exit -4).
        .text
        .globl  _start
        .type   _start, @function
_start:
        xor     %ebx, %ebx
        call    v1
        cmp     $7, %rax
        jne     1f
        or      $1, %ebx
1:      call    v2
        cmp     $-1, %rax
        jne     1f
        or      $2, %ebx
1:      call    v3
        movabs  $0x100000000, %rcx
        cmp     %rcx, %rax
        jne     1f
        or      $4, %ebx
1:      call    v4
        mov     $0xffffffff, %ecx
        cmp     %rcx, %rax
        jne     1f
        or      $8, %ebx
1:      lea     65(%rbx), %eax
        mov     %al, buf(%rip)
        mov     $1, %eax                # write(1, buf, 2)
        mov     $1, %edi
        lea     buf(%rip), %rsi
        mov     $2, %edx
        syscall
        call    t
        xor     %edi, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  v1
        .type   v1, @function
        .p2align 4, 0xcc
v1:
        mov     $0x55, %eax
        ret
        .size   v1, .-v1

        .globl  v2
        .type   v2, @function
        .p2align 4, 0xcc
v2:
        mov     $0x55, %eax
        ret
        .size   v2, .-v2

        .globl  v3
        .type   v3, @function
        .p2align 4, 0xcc
v3:
        mov     $0x55, %eax
        ret
        .size   v3, .-v3

        .globl  v4
        .type   v4, @function
        .p2align 4, 0xcc
v4:
        mov     $0x55, %eax
        ret
        .size   v4, .-v4

        .globl  t
        .type   t, @function
        .p2align 4, 0xcc
t:
        mov     $0x55, %eax
        ret
        .size   t, .-t

        .data
buf:    .ascii "?\n"
