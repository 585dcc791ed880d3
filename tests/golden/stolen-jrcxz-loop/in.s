# Case: rel8-only branches (jrcxz, loop, jecxz) among the stolen bytes.
# They have no rel32 form: the trampoline keeps each instruction with its
# rel8 pointed 2 bytes ahead, `op L1; jmp short L2; L1: jmp rel32 T; L2:`,
# so rcx/ecx and flags behave exactly as before.
#
# f(rcx) = `jrcxz .Lzero (e3 08); loop .Lmany (e2 0c); mov eax,200;
#   ret`: 100 when rcx = 0, 200 when rcx = 1, 300 when rcx > 1.
#   Stolen: jrcxz (2) + loop (2) + mov (5) = 9 bytes.
# f2(rcx) = `jecxz .Lz (67 e3 06); mov eax,5; ret; .Lz: mov eax,6; ret`:
#   tests only ecx (the 0x67 prefix); stolen: jecxz (3) + mov (5) = 8.
# Expected (passthrough on both):
# - f's trampoline: `e3 02 eb 05 e9 <.Lzero>`, `e2 02 eb 05 e9 <.Lmany>`,
#   the mov copied, `jmp f+9`;
# - f2's trampoline: `67 e3 02 eb 05 e9 <.Lz>` (prefix kept), the mov,
#   `jmp f2+8`;
# - exit status, before and after: f(0)/100 + 3*f(1)/100 + 9*f(5)/100
#   + f2(0x100000000) = 1 + 6 + 27 + 6 = 40 (f2 sees ecx = 0: jecxz is
#   taken although rcx is not 0).
        .text
        .globl  _start
        .type   _start, @function
_start:
        xor     %ebx, %ebx
        xor     %ecx, %ecx
        call    f                       # 100
        mov     $100, %esi
        xor     %edx, %edx
        div     %esi
        add     %eax, %ebx
        mov     $1, %ecx
        call    f                       # 200
        xor     %edx, %edx
        div     %esi
        lea     (%rax,%rax,2), %eax
        add     %eax, %ebx
        mov     $5, %ecx
        call    f                       # 300
        xor     %edx, %edx
        div     %esi
        imul    $9, %eax, %eax
        add     %eax, %ebx
        mov     $1, %rcx
        shl     $32, %rcx
        call    f2                      # 6
        add     %eax, %ebx
        mov     %ebx, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
        jrcxz   .Lzero
        loop    .Lmany
        mov     $200, %eax
        ret
.Lzero:
        mov     $100, %eax
        ret
.Lmany:
        mov     $300, %eax
        ret
        .size   f, .-f

        .globl  f2
        .type   f2, @function
        .p2align 4, 0xcc
f2:
        jecxz   .Lz
        mov     $5, %eax
        ret
.Lz:
        mov     $6, %eax
        ret
        .size   f2, .-f2
