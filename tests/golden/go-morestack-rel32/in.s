# Case: Go's stack-check prologue with a morestack trailer whose `jmp f`
# is rel32, hooked with replace + original.
#
# f (Go ABIInternal: argument and result in rax, g in r14) at 0x401040:
#   cmp rsp,[r14+0x10] (49 3b 66 10); jbe .Lmore (76 xx); add eax,eax; ret
#   .Lmore: call morestack; jmp f (e9 rel32)
# The jump takes the 6-byte check. When the original runs through the
# trampoline and the stack must grow, morestack is called from f's own
# code, and its `jmp f` must go to the trampoline: back to f's entry it
# would run the replacement a second time.
# Here `morestack` sets g's stack guard to 0 (the stack "grew") and
# returns; mock counts its calls and returns f_orig(x) + 10.
# Expected (replace = mock, original = f_orig):
# - plan: patch 0x401040, 6 bytes, destination mock; original f_orig ->
#   trampoline;
# - f+0: `jmp mock` + int3; the trailer's `e9` now reaches
#   <f.hookpatch_orig> (rel32: no island); f_orig+0: `jmp
#   <f.hookpatch_orig>` over its `mov eax,99`;
# - trampoline: the cmp copied, `jbe` widened to `0f 86` reaching f's
#   .Lmore, `jmp f+6`;
# - exit status = f(5) + 64 * mock calls + 128 * morestack calls:
#   before 10 + 0 + 128 = 138; after 20 + 64 + 128 = 212 (a missing
#   redirect would give mock two calls: 30 + 128 + 128 = 286 & 255 = 30).
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
        {disp32} jmp .Lf
        .size   f, .-f

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
