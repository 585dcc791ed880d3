# Case (arm64): in the far layout (HOOKPATCH_TEST_FAR=1: the new code is
# 256 MiB away, out of B reach), a function shorter than the 12-byte far
# jump is hooked at its call sites.
# golden: build = a64-elf-exec
# golden: far = yes
#
# t = `add w0, w0, #1; ret` (8 bytes, then g): the far prologue does not
# fit. What reaches t:
#   - `bl t` in _start: out of reach of the new code, so re-pointed at an
#     island, the nop padding after _start, holding `adrp x16; add x16;
#     br x16` to the stub (x16 is free wherever a call lands);
#   - `adrp x9, t; add x9, x9, :lo12:t` then `blr x9`: re-pointed at the
#     stub (+-4 GiB).
# Rules: t return 40.
# Expected: t hooked at 2 call sites, no warning; t's bytes unchanged;
# exit status t(1) + t(2) + g(0) = 2 + 3 + 5 = 10 before, 40 + 40 + 5 = 85
# after.
        .text
        .globl  _start
        .type   _start, %function
_start:
        mov     w0, #1
        bl      t
        mov     w19, w0
        mov     w0, #2
        adrp    x9, t
        add     x9, x9, :lo12:t
        blr     x9
        add     w19, w19, w0
        bl      g
        add     w0, w0, w19
        mov     x8, #93
        svc     #0
        .size   _start, .-_start

        .globl  t
        .type   t, %function
        .p2align 5
t:
        add     w0, w0, #1
        ret
        .size   t, .-t

        .globl  g
        .type   g, %function
g:
        mov     w0, #5
        ret
        .size   g, .-g
