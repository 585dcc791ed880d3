# Case: short (rel8) jumps among the stolen bytes are widened to rel32 in
# the trampoline, pointing at the same targets in the original function.
#
# f(edi)  = `test edi,edi (85 ff); je .Lz (74 xx); lea eax,[rdi+1]; ret;
#           .Lz: mov eax,50; ret`: stolen test + je + lea = 7 bytes.
# f2(edi) = `jmp .Lbody (eb 03)` first, then 3 dead int3, .Lbody: lea
#           eax,[rdi+2]; ret: stolen jmp (2) + int3 int3 int3 = 5 bytes
#           (.Lbody = f2+5 is right after them, not inside).
# f3(edi) = `test edi,edi; ds je .Lz3 (3e 74 xx)` (a branch-taken hint),
#           `lea eax,[rdi+3]; ret`: test (2) + je (3) = 5 bytes are enough;
#           the hint prefix has no architectural effect and the widened
#           copy drops it.
# Expected (passthrough on all three):
# - f's trampoline: test copied, `je` as `0f 84 rel32` to f's .Lz, lea
#   copied, `jmp f+7`;
# - f2's trampoline: `jmp` as `e9 rel32` to f2's .Lbody, the three int3
#   copied, `jmp f2+5`;
# - f3's trampoline: test, `0f 84 rel32` to .Lz3 (no 3e), `jmp f3+5`;
# - exit status, before and after: f(0) + f(7) + f2(1) + f3(0) + f3(4)
#   = 50 + 8 + 3 + 60 + 7 = 128.
        .text
        .globl  _start
        .type   _start, @function
_start:
        xor     %edi, %edi
        call    f
        mov     %eax, %ebx
        mov     $7, %edi
        call    f
        add     %eax, %ebx
        mov     $1, %edi
        call    f2
        add     %eax, %ebx
        xor     %edi, %edi
        call    f3
        add     %eax, %ebx
        mov     $4, %edi
        call    f3
        add     %eax, %ebx
        mov     %ebx, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
        test    %edi, %edi
        je      .Lz
        lea     1(%rdi), %eax
        ret
.Lz:
        mov     $50, %eax
        ret
        .size   f, .-f

        .globl  f2
        .type   f2, @function
        .p2align 4, 0xcc
f2:
        jmp     .Lbody
        int3
        int3
        int3
.Lbody:
        lea     2(%rdi), %eax
        ret
        .size   f2, .-f2

        .globl  f3
        .type   f3, @function
        .p2align 4, 0xcc
f3:
        test    %edi, %edi
        .byte   0x3e
        je      .Lz3
        lea     3(%rdi), %eax
        ret
.Lz3:
        mov     $60, %eax
        ret
        .size   f3, .-f3
