# Case: endbr64 at the entry is kept, the jump goes after it.
#
# f = `endbr64 (f3 0f 1e fa); push rbx (53); mov ebx,edi (89 fb);
# lea eax,[rbx+1] (8d 43 01); pop rbx; ret`. From f+4 the jump needs
# push + mov + lea = 6 bytes (1 + 2 = 3 is too few), all inside f.
# The input is marked IBT and SHSTK (.note.gnu.property).
# Expected (passthrough):
# - plan: patch 0x401024 = f+4, 6 bytes, endbr64 not overwritten,
#   ibt_disabled false: indirect calls still land on the endbr64 at f;
# - f+0..3 unchanged; f+4: `jmp <f.hookpatch_orig>` + 1 int3;
# - trampoline: push; mov; lea (copied), `jmp f+10` (the pop);
# - the GNU property note still says IBT, SHSTK;
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
        push    %rbx
        mov     %edi, %ebx
        lea     1(%rbx), %eax
        pop     %rbx
        ret
        .size   f, .-f

        .section .note.gnu.property, "a"
        .p2align 3
        .long   4, 16, 5                # namesz, descsz, NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .long   0xc0000002, 4, 3        # X86_FEATURE_1_AND: IBT | SHSTK
        .p2align 3
