# Case: an 8-byte `endbr64; lea; ret` function with no free byte after it:
# the endbr64 must be overwritten and IBT cleared.
#
# f = `endbr64 (4); lea eax,[rdi+1] (8d 47 01); ret (c3)` at 0x401020;
# g starts at f+8, right after the ret (no alignment), so nothing after f
# is free. From f+4 only lea + ret = 4 bytes remain: too few. So the jump
# goes at f+0 over endbr64 + lea = 7 bytes.
# Expected (passthrough):
# - plan: patch 0x401020, 7 bytes, "endbr64 overwritten";
#   ibt_disabled true (an indirect call to f would now fault under IBT);
# - stderr: "note: an endbr64 was overwritten; CET IBT is disabled in the
#   output";
# - f+0: `jmp <f.hookpatch_orig>` + 2 int3; the ret at f+7 stays;
# - trampoline: endbr64; lea (copied) and `jmp f+7`;
# - GNU property: IBT, SHSTK in the input, SHSTK alone in the output;
# - exit status f(41) + g() = 42 + 2 = 44 before and after.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $41, %edi
        call    f
        mov     %eax, %ebx
        call    g
        lea     (%rax,%rbx), %edi
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
