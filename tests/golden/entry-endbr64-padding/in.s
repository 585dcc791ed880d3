# Case: the same 8-byte `endbr64; lea; ret` function, but followed by int3
# padding that no symbol owns: the endbr64 is kept and the jump reaches
# one byte into the padding.
#
# f = `endbr64; lea eax,[rdi+1]; ret` at 0x401020, then int3 up to g at
# 0x401030. From f+4: lea + ret = 4 bytes, the function ends at f+8, and
# f+8 is an int3 owned by nobody, so the 5-byte jump fits at f+4:
# 5 stolen bytes, of which 4 are f's instructions.
# Expected (passthrough):
# - plan: patch 0x401024, 5 bytes, endbr64 kept, ibt_disabled false;
# - f+4: `jmp <f.hookpatch_orig>` over lea, ret and the int3 at f+8;
# - trampoline: lea; ret (copied), then ud2 instead of a jump back: the
#   copy took the whole rest of f, there is nothing to return to;
# - GNU property unchanged (IBT, SHSTK);
# - exit status f(41) = 42 before and after.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $41, %edi
        call    f
        mov     %eax, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
        endbr64
        lea     1(%rdi), %eax
        ret
        .size   f, .-f

        .globl  g
        .type   g, @function
        .p2align 4, 0xcc
g:
        endbr64
        mov     $2, %eax
        ret
        .size   g, .-g

        .section .note.gnu.property, "a"
        .p2align 3
        .long   4, 16, 5                # namesz, descsz, NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .long   0xc0000002, 4, 3        # X86_FEATURE_1_AND: IBT | SHSTK
        .p2align 3
