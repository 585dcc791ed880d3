# Case: functions shorter than the 5-byte jump, followed by padding that
# is free: int3 or nop bytes that no symbol owns, up to the next symbol.
#
# f1 = `xor eax,eax; ret` (31 c0 c3) at 0x401030, then int3 (.p2align fill)
# f2 = `mov eax,edi; ret` (89 f8 c3) at 0x401040, then single-byte nops
#      (90) up to the next 16-byte boundary
# f3 = `lea eax,[rdi+3]; ret` (8d 47 03 c3) at 0x401050, then a 4-byte
#      `nop dword [rax]` (0f 1f 40 00) and int3: the padding check decodes
#      the nop as one instruction
# Expected (action = "return" for each):
# - every hook steals exactly 5 bytes from the entry: the function and
#   the first 2 (f1, f2) or 1 (f3) padding bytes; the jump goes to a
#   `mov eax, N; ret` stub in .hookpatch, stubs 16 bytes apart in rule
#   order;
# - f3's site ends inside the 4-byte nop: the input's listing shows the
#   whole nop as changed and the output the 5-byte jump followed by the
#   nop's tail bytes `1f 40 00`, which nothing runs;
# - exit status: before f1() + f2(10) + f3(10) = 0 + 10 + 13 = 23, after
#   5 + 6 + 7 = 18.
        .text
        .globl  _start
        .type   _start, @function
_start:
        call    f1
        mov     %eax, %ebx
        mov     $10, %edi
        call    f2
        add     %eax, %ebx
        mov     $10, %edi
        call    f3
        add     %eax, %ebx
        mov     %ebx, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f1
        .type   f1, @function
        .p2align 4, 0xcc
f1:
        xor     %eax, %eax
        ret
        .size   f1, .-f1

        .globl  f2
        .type   f2, @function
        .p2align 4, 0xcc
f2:
        mov     %edi, %eax
        ret
        .size   f2, .-f2
        .fill   13, 1, 0x90             # GAS would pad with multi-byte nops

        .globl  f3
        .type   f3, @function
f3:
        lea     3(%rdi), %eax
        ret
        .size   f3, .-f3
        .byte   0x0f, 0x1f, 0x40, 0x00
        .p2align 4, 0xcc
