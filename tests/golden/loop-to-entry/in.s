# Case: a loop inside the function branches back into the bytes the jump
# would overwrite: refused, in both ways the planner can find it.
#
# f  = `xor eax,eax (31 c0); .L1: add eax,edi (01 f8); dec edi (ff cf);
#      jnz .L1 (75 fa); ret` at 0x401010. The jump needs xor + add + dec =
#      6 bytes, and .L1 = f+2 lies strictly inside them: once patched, the
#      loop would land in the middle of the jump.
#      With action = "return" (no trampoline) only the entry is decoded and
#      the image-wide branch table finds the jnz: "a branch lands inside
#      the 6 bytes the jump would overwrite (a loop to the top, or a second
#      entry point)"; call sites are tried instead and nothing reaches f
#      ("no direct call, jump or address computation of it was found").
# f2 = the same code at 0x401020, hooked with replace + original: the
#      planner decodes all of f2 to find branches back to its entry, and
#      sees the jnz itself: "a branch inside the function lands at
#      0x401022, within the 6 bytes the jump would overwrite".
# Expected: those two errors, exit 1, no output. f2's comes first: the
# planner reports what entry analysis finds (f2) in one pass over the
# hooks, then what the branch table finds (f) in a second pass.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
        xor     %eax, %eax
.L1:
        add     %edi, %eax
        dec     %edi
        jnz     .L1
        ret
        .size   f, .-f

        .globl  f2
        .type   f2, @function
        .p2align 4, 0xcc
f2:
        xor     %eax, %eax
.L2:
        add     %edi, %eax
        dec     %edi
        jnz     .L2
        ret
        .size   f2, .-f2

        .globl  g
        .type   g, @function
        .p2align 4, 0xcc
g:
        jmp     f2_orig
        .size   g, .-g

        .globl  f2_orig
        .type   f2_orig, @function
        .p2align 4, 0xcc
f2_orig:
        mov     $1, %eax
        ret
        .size   f2_orig, .-f2_orig
