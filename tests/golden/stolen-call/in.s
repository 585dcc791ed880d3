# Case: a call among the stolen bytes. The trampoline must not call from
# the new section (the return address would point there): it pushes the
# return address inside f and jumps to the callee.
#
# f = `call helper` (e8 rel32, 5 bytes) at 0x401020, `add eax,edi`, ret.
# helper returns 1 when its return address is f+5, else 0.
# The input is marked IBT and SHSTK.
# Expected (passthrough):
# - plan: patch 0x401020, 5 bytes; shstk_disabled true (the pushed return
#   address is not on the shadow stack: a `ret` to it would fault);
# - stderr note "a trampoline replays a stolen call; CET shadow stacks are
#   disabled in the output";
# - trampoline: `lea rsp,[rsp-8]; push rax; lea rax,[rip+X]` (X reaching
#   0x401025 = f+5), `mov [rsp+8],rax; pop rax; jmp helper`, then the
#   usual `jmp f+5` (not reached: helper returns to f+5 itself);
# - GNU property: IBT, SHSTK before; IBT alone after;
# - exit status f(40) = 1 + 40 = 41 before and after (40 would mean the
#   return address was in the trampoline).
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $40, %edi
        call    f
        mov     %eax, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
        call    helper
.Lret:
        add     %edi, %eax
        ret
        .size   f, .-f

        .globl  helper
        .type   helper, @function
        .p2align 4, 0xcc
helper:
        mov     (%rsp), %rdx
        lea     .Lret(%rip), %rcx
        xor     %eax, %eax
        cmp     %rcx, %rdx
        sete    %al
        ret
        .size   helper, .-helper

        .section .note.gnu.property, "a"
        .p2align 3
        .long   4, 16, 5                # namesz, descsz, NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .long   0xc0000002, 4, 3        # X86_FEATURE_1_AND: IBT | SHSTK
        .p2align 3
