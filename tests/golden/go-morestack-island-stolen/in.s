# Case: Go's stack check with a rel32 `jbe` (a long function's morestack
# trailer is far away) and a short (rel8) `jmp f` trailer: the jump steals
# cmp (4) + jbe (6) = 10 bytes, so bytes f+5..f+9 are dead once the entry
# jumps away. The island goes there, within rel8 reach of the trailer, and
# is merged into the entry's patch (patches must not overlap).
#
# f at 0x401040: cmp rsp,[r14+0x10] (49 3b 66 10); jbe .Lmore (0f 86
#   rel32); add eax,eax; ret; .Lmore (f+0xd): call morestack; jmp f
#   (eb ec at f+0x12), then int3 padding (not needed: the stolen bytes
#   are tried first).
# morestack, mock, f_orig and the exit status as in go-morestack-rel32.
# Expected (replace = mock, original = f_orig):
# - plan: patch 0x401040, 10 bytes, destination mock;
# - one site f+0..f+10: `jmp mock` at f, island `jmp <f.hookpatch_orig>`
#   at f+5; the record has it as one 10-byte site;
# - the trailer becomes `eb f1`: from f+0x14 back to f+5, the island;
# - f_orig+0: `jmp <f.hookpatch_orig>`;
# - trampoline: the cmp copied, `jbe` re-targeted (rel32) at f's .Lmore,
#   `jmp f+10`;
# - exit status before 138, after 212.
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
        {disp32} jbe .Lmore
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
