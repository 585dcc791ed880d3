# Case: Go's big-frame stack check (lea r12 from rsp, then compare r12)
# with a short (rel8) `jmp f` trailer. The `lea` alone is 5 bytes, so the
# jump steals just that: no dead stolen bytes for an island, and the
# trailer cannot reach the trampoline with rel8. The island goes into the
# int3 padding after the function.
#
# f at 0x401040: lea r12,[rsp-0x80] (4c 8d 64 24 80); cmp r12,[r14+0x10]
#   (4d 3b 66 10); jbe .Lmore (76 xx); add eax,eax; ret;
#   .Lmore: call morestack; jmp f (eb eb at f+0x13). f ends at f+0x15;
#   int3 padding follows up to morestack at 0x401060.
# morestack, mock, f_orig and the exit status as in go-morestack-rel32.
# Expected (replace = mock, original = f_orig):
# - plan: patch 0x401040, 5 bytes, destination mock;
# - f+0: `jmp mock` over the lea;
# - the trailer becomes `eb 00` (to f+0x15, the first padding byte), where
#   the island `jmp <f.hookpatch_orig>` replaces 5 int3; in the listing the
#   two touch, so they show as one site;
# - f_orig+0: `jmp <f.hookpatch_orig>`;
# - trampoline: the lea copied, `jmp f+5` (the cmp, which now compares the
#   r12 the trampoline computed);
# - the record lists the sites in the order they were made: entry, island,
#   trailer, f_orig;
# - exit status before 138, after 212 (see go-morestack-rel32).
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
        lea     -0x80(%rsp), %r12
        cmp     16(%r14), %r12
        jbe     .Lmore
        add     %eax, %eax
        ret
.Lmore:
        call    morestack
        jmp     .Lf
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
