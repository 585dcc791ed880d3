# Case: a short (rel8) branch back to the entry with no room for a jump
# island: refused, in both ways that can happen.
#
# f at 0x401040: cmp rsp,[r14+0x10]; jbe .Lmore (76 xx); add eax,eax;
#   ret; .Lmore: call morestack; jmp f (eb xx at f+0xe). The jump steals
#   only 6 bytes (no dead room for an island) and f is exactly 16 bytes:
#   morestack starts right after it, so there is no padding either.
# f2 at 0x401050: the same check, a rel8 trailer at f2+0xd, then 140
#   more bytes of body before its ret; the int3 padding after f2 is free
#   but more than 127 bytes past the trailer, out of rel8 reach.
# Expected (replace = mock, original = f_orig / f2_orig): two errors,
# "cannot hook at ADDR: a short branch at TRAILER returns to the entry
# (Go's morestack trailer or a loop) and there is no room for a jump
# island to send it to the trampoline", with TRAILER 0x40104e and
# 0x40105d; exit 1, no output.
        .text
        .globl  _start
        .type   _start, @function
_start:
        lea     gstruct(%rip), %r14
        movq    $-1, 16(%r14)           # the first stack check fails
        mov     $5, %eax
        call    f
        mov     mock_calls(%rip), %ecx
        shl     $6, %ecx
        add     %ecx, %eax
        mov     more_calls(%rip), %ecx
        shl     $7, %ecx
        add     %ecx, %eax
        mov     %eax, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
.Lf:
        cmp     16(%r14), %rsp
        jbe     .Lmore
        add     %eax, %eax
        ret
.Lmore:
        call    morestack
        jmp     .Lf
        .size   f, .-f

        .globl  f2
        .type   f2, @function
        .p2align 4, 0xcc
f2:
.Lf2:
        cmp     16(%r14), %rsp
        jbe     .Lmore2
        jmp     .Lbody2
.Lmore2:
        call    morestack
        jmp     .Lf2
.Lbody2:
        .fill   140, 1, 0x90
        add     %eax, %eax
        ret
        .size   f2, .-f2

        .globl  f2_orig
        .type   f2_orig, @function
        .p2align 4, 0xcc
f2_orig:
        mov     $98, %eax
        ret
        .size   f2_orig, .-f2_orig

        .globl  morestack
        .type   morestack, @function
        .p2align 4, 0xcc
morestack:
        movq    $0, 16(%r14)
        incl    more_calls(%rip)
        ret
        .size   morestack, .-morestack

        .globl  mock
        .type   mock, @function
        .p2align 4, 0xcc
mock:
        incl    mock_calls(%rip)
        call    f_orig
        add     $10, %eax
        ret
        .size   mock, .-mock

        .globl  f_orig
        .type   f_orig, @function
        .p2align 4, 0xcc
f_orig:
        mov     $99, %eax
        ret
        .size   f_orig, .-f_orig

        .data
        .p2align 3
gstruct:        .quad 0, 0, 0
mock_calls:     .long 0
more_calls:     .long 0
