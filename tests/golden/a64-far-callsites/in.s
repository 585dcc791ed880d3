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
# u = `mov w0, #3; ret` (8 bytes) is reached only by a pair nested in
# another pair of t's: `adrp x11, t; adrp x10, u; add x10, x10, :lo12:u;
# add x11, x11, :lo12:t`: each pair's words are patched alone, so the
# outer pair's patches leave the inner one's alone (one patch over the
# four words would write u's old words back).
# Rules: t return 40, u return 50.
# Expected: t hooked at 3 call sites, u at 1, no warning; t's and u's bytes
# unchanged; exit status t(1) + t(2) + g() + u() + t(0), the last two
# through the nested pairs: 2 + 3 + 5 + 3 + 1 = 14 before, 40 + 40 + 5 +
# 50 + 40 = 175 after.
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
        add     w19, w19, w0
        adrp    x11, t
        adrp    x10, u
        add     x10, x10, :lo12:u
        add     x11, x11, :lo12:t
        blr     x10
        add     w19, w19, w0
        mov     w0, #0
        blr     x11
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

        .globl  u
        .type   u, %function
u:
        mov     w0, #3
        ret
        .size   u, .-u

        .globl  g
        .type   g, %function
g:
        mov     w0, #5
        ret
        .size   g, .-g
