# Case: targets given by address.
#
# f at 0x401020 (`lea eax,[rdi+1]; ret` + int3 padding), with a second
# symbol f_alias at the same address; g at 0x401030 (`mov eax,2; ret`).
# Rules: "0x401020" return 9 (line 1); "0x401030" passthrough (line 6).
# Expected: two hooks, named after the first function symbol at each
# address (f, g); f: 5-byte patch to a `mov eax,9; ret` stub; g: 5-byte
# patch (its mov) to a trampoline that copies the mov and jumps back to
# g+5; exit status f(1) + g() = 9 + 2 = 11 after (2 + 2 = 4 before).
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $1, %edi
        call    f_alias
        mov     %eax, %ebx
        call    g
        add     %eax, %ebx
        mov     %ebx, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f, f_alias
        .type   f, @function
        .type   f_alias, @function
        .p2align 4, 0xcc
f:
f_alias:
        lea     1(%rdi), %eax
        ret
        .size   f, .-f
        .size   f_alias, .-f_alias

        .globl  g
        .type   g, @function
        .p2align 4, 0xcc
g:
        mov     $2, %eax
        ret
        .size   g, .-g
