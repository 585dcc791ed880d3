# Case: `replace` with `original =`: the target's entry jumps to the
# replacement, and the function named by `original` becomes the way to
# run the target's original code (its entry jumps to the trampoline).
#
# twice (0x401020) = `lea eax,[rdi+rdi]; nop; nop; ret` (the lea is 3
#     bytes, so the jump takes lea + nop + nop = 5);
# twice_orig (`mov eax,99; ret`): stands in for the original;
# mock(x) = twice_orig(x) + 1.
# Rules: twice replace mock, original twice_orig.
# Expected:
# - plan: twice -> mock, patch 0x401020, 5 bytes, "original twice_orig ->
#   trampoline";
# - twice: `jmp mock`; twice_orig: `jmp <twice.hookpatch_orig>` over its
#   5-byte mov; trampoline: lea; nop; nop; `jmp twice+5`;
# - exit status twice(20): before 40, after 41.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $20, %edi
        call    twice
        mov     %eax, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  twice
        .type   twice, @function
        .p2align 4, 0xcc
twice:
        lea     (%rdi,%rdi), %eax
        nop
        nop
        ret
        .size   twice, .-twice

        .globl  twice_orig
        .type   twice_orig, @function
        .p2align 4, 0xcc
twice_orig:
        mov     $99, %eax
        ret
        .size   twice_orig, .-twice_orig

        .globl  mock
        .type   mock, @function
        .p2align 4, 0xcc
mock:
        call    twice_orig
        inc     %eax
        ret
        .size   mock, .-mock
