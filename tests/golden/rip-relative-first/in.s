# Case: RIP-relative instructions in the stolen bytes are relocated: the
# trampoline's copy gets a new disp32 that reaches the same address.
#
# f = `mov eax,[rip+value]` (8b 05 disp32, 6 bytes), add, ret
# g = `cmp dword [rip+gate], 42` (83 3d disp32 2a, 7 bytes: an immediate
#     after the displacement, which must stay in place), cmove..., ret
# h = `lea rax,[rip+msg]` (48 8d 05 disp32, 7 bytes), movzx, ret
# Expected (passthrough for all three):
# - each steals exactly its first instruction (6, 7, 7 bytes);
# - in each trampoline the copied instruction keeps every byte but the
#   disp32, and the disassembly's comment shows the same absolute address
#   as the original's (value 0x402000, gate 0x402004, msg 0x402008);
#   g's copy keeps its trailing immediate 2a;
# - then `jmp` back to the second instruction;
# - exit status f(2) + g() + h() = 42 + 100 + 65 ('A') = 207, before and
#   after.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $2, %edi
        call    f
        mov     %eax, %ebx
        call    g
        add     %eax, %ebx
        call    h
        add     %eax, %ebx
        mov     %ebx, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
        mov     value(%rip), %eax
        add     %edi, %eax
        ret
        .size   f, .-f

        .globl  g
        .type   g, @function
        .p2align 4, 0xcc
g:
        cmpl    $42, gate(%rip)
        mov     $200, %eax
        mov     $100, %edx
        cmove   %edx, %eax
        ret
        .size   g, .-g

        .globl  h
        .type   h, @function
        .p2align 4, 0xcc
h:
        lea     msg(%rip), %rax
        movzbl  (%rax), %eax
        ret
        .size   h, .-h

        .data
value:  .long   40
gate:   .long   42
msg:    .asciz  "A"
