# Case (arm64): stolen PC-relative instructions are relocated into the
# trampolines, under the far layout (HOOKPATCH_TEST_FAR=1: the new code is
# placed 256 MiB away, out of B reach), so three instructions are stolen
# per entry and every relocation takes its long form.
# golden: build = a64-elf-exec
# golden: far = yes
#
# f1 = adrp x1, val; ldr w2, lit (literal); cmp w2, #5; b.eq ...
# f2 = cbz w0, ...; tbz w0, #1, ...; mov w3, #2; ...
# f3 = mov x9, x30; nop; bl g (a call, the last stolen instruction);
#      mov x30, x9; add w0, w0, #1; ret
# f4 = mov x16, #7; nop; nop; add w0, w16, w0; ret: the stolen code writes
#      x16 and the function reads it after, so the far jump back must use
#      x17.
# Every hook is passthrough. Expected:
# - each entry: `adrp x16; add x16; br x16` to its trampoline (12 bytes);
# - f1's trampoline: the ADRP recomputed for the new page (ADRP+ADD of
#   val's page), the literal load as ADRP+LDR, cmp copied, then the jump
#   back `adrp x16; add x16; br x16`;
# - f2's: CBZ and TBZ become the inverted branch over a far jump to the
#   original targets;
# - f3's: the BL becomes "x30 := f3+12 (the ldr after it); jump to g", so
#   g returns into f3, not into the trampoline;
# - f4's jump back goes through x17;
# - the output runs like the input: exit f1 5 + f2 20 + f3 3 + f4 8 = 36
#   before and after.
        .text
        .globl  _start
        .type   _start, %function
_start:
        bl      f1
        mov     w19, w0
        mov     w0, #0
        bl      f2
        add     w19, w19, w0
        mov     w0, #1
        bl      f3
        add     w19, w19, w0
        mov     w0, #1
        bl      f4
        add     w0, w19, w0
        mov     x8, #93
        svc     #0
        .size   _start, .-_start

        .globl  f1
        .type   f1, %function
        .p2align 4
f1:
        adrp    x1, val
        ldr     w2, lit
        cmp     w2, #5
        b.eq    1f
        mov     w0, #100
        ret
1:      ldr     w0, [x1, :lo12:val]
        add     w0, w0, w2
        ret
lit:    .word   5
        .size   f1, .-f1

        .globl  f2
        .type   f2, %function
        .p2align 4
f2:
        cbz     w0, 1f
        tbz     w0, #1, 2f
        mov     w3, #2
        mov     w0, #50
        ret
1:      mov     w0, #20
        ret
2:      mov     w0, #60
        ret
        .size   f2, .-f2

        .globl  g
        .type   g, %function
        .p2align 4
g:
        add     w0, w0, #1
        ret
        .size   g, .-g

        .globl  f3
        .type   f3, %function
        .p2align 4
f3:
        mov     x9, x30
        nop
        bl      g
        mov     x30, x9
        add     w0, w0, #1
        ret
        .size   f3, .-f3

        .globl  f4
        .type   f4, %function
        .p2align 4
f4:
        mov     x16, #7
        nop
        nop
        add     w0, w16, w0
        ret
        .size   f4, .-f4

        .data
        .p2align 2
val:    .word   0
