# Case: a glob's matches that cannot be hooked are skipped, each with its
# reason, and the run goes on (exact rules would be errors instead).
#
# Glob "s_*", passthrough, over (address order):
#   s_ok      `lea eax,[rdi+1]; ret` + padding        -> hooked
#   s_short   `xor eax,eax; ret`, s_short2 right after -> hooked with a
#             jmp rel8 to an island in s_ok's padding, past the 5 bytes
#             s_ok's own jump takes
#   s_short2  `mov eax,2; ret` (6 bytes)              -> hooked
#   s_loop    loop back to s_loop+2                   -> "a branch lands
#             inside the 6 bytes the jump would overwrite (a loop to the
#             top, or a second entry point); tried call sites instead (no
#             direct call ... was found)"
#   s_callr   `call rax; mov eax,1; ret`              -> "cannot relocate
#             'call rax' at ADDR: a stolen call would leave a return
#             address in the new section (no return address given)"
#   s_rodata  a FUNC symbol in .rodata                -> "not executable
#             code: it lies in a non-executable segment (r--) at ..."
# Expected: exit 0, "hooked 3 functions, skipped 3", one "skipped NAME
# (ADDR): REASON" line per skip in address order; --json lists the three
# under skipped_hooks with the same reasons and has no diagnostics;
# exit status s_ok(1) + s_short2() = 2 + 2 = 4 before and after.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $1, %edi
        call    s_ok
        mov     %eax, %ebx
        call    s_short2
        add     %eax, %ebx
        mov     %ebx, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  s_ok
        .type   s_ok, @function
        .p2align 4, 0xcc
s_ok:
        lea     1(%rdi), %eax
        ret
        .size   s_ok, .-s_ok

        .globl  s_short
        .type   s_short, @function
        .p2align 4, 0xcc
s_short:
        xor     %eax, %eax
        ret
        .size   s_short, .-s_short
        .globl  s_short2
        .type   s_short2, @function
s_short2:
        mov     $2, %eax
        ret
        .size   s_short2, .-s_short2

        .globl  s_loop
        .type   s_loop, @function
        .p2align 4, 0xcc
s_loop:
        xor     %eax, %eax
.L1:
        add     %edi, %eax
        dec     %edi
        jnz     .L1
        ret
        .size   s_loop, .-s_loop

        .globl  s_callr
        .type   s_callr, @function
        .p2align 4, 0xcc
s_callr:
        call    *%rax
        mov     $1, %eax
        ret
        .size   s_callr, .-s_callr

        .section .rodata
        .globl  s_rodata
        .type   s_rodata, @function
s_rodata:
        mov     $5, %eax
        ret
        .size   s_rodata, .-s_rodata
