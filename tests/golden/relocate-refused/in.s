# Case: stolen instructions that cannot run from a trampoline. Only hooks
# that need a trampoline copy them (passthrough here): each exact rule is
# an error naming the instruction and the reason.
#
# r1 = `call rax` (ff d0) then `mov eax,1`: the call is not the last stolen
#      instruction, so the return address cannot be the original code's
#      (it would be mid-steal): "a stolen call would leave a return address
#      in the new section (no return address given)";
# r2 = `push rbx; call [rsp+8]` (53 ff 54 24 08): the call is last, but its
#      operand is read through rsp, which the pushed return address would
#      move: "its operand depends on rsp, which the pushed return address
#      would shift";
# r3 = `66 74 00` (je with an operand-size prefix) then `mov eax,1`: rel16
#      on AMD, ignored on Intel: "operand-size prefix on a branch means
#      rel16 on AMD but not on Intel";
# r4 = `mov eax,[eip+0]` (67 8b 05 disp32): EIP-relative addressing wraps at
#      4 GiB, which a moved copy cannot reproduce: "eip-relative addressing
#      wraps at 4 GiB";
# r5 = `call far [rax]` (ff 18) then `mov eax,1`: "only near indirect calls
#      can be relocated".
# Expected: five errors in rule order "target 'rN': cannot hook at ADDR:
# cannot relocate 'INSN' at ADDR: REASON"; exit 1, no output.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  r1
        .type   r1, @function
        .p2align 4, 0xcc
r1:
        call    *%rax
        mov     $1, %eax
        ret
        .size   r1, .-r1

        .globl  r2
        .type   r2, @function
        .p2align 4, 0xcc
r2:
        push    %rbx
        call    *8(%rsp)
        pop     %rbx
        ret
        .size   r2, .-r2

        .globl  r3
        .type   r3, @function
        .p2align 4, 0xcc
r3:
        .byte   0x66, 0x74, 0x00
        mov     $1, %eax
        ret
        .size   r3, .-r3

        .globl  r4
        .type   r4, @function
        .p2align 4, 0xcc
r4:
        .byte   0x67, 0x8b, 0x05
        .long   0
        ret
        .size   r4, .-r4

        .globl  r5
        .type   r5, @function
        .p2align 4, 0xcc
r5:
        lcall   *(%rax)
        mov     $1, %eax
        ret
        .size   r5, .-r5
