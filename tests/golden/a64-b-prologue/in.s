# Case (arm64): the prologue is a single B when the new code is in reach.
# golden: build = a64-elf-exec
#
# f = `add w0, w0, #1; ret`, g = `lsl w0, w0, #1; ret`, h = `mov w0, #5;
# ret`. Rules: f passthrough, g return 7, h trap (never called).
# Expected:
# - plan: each patch is 4 bytes (one instruction) at the entry;
# - f+0: `b <f.hookpatch_orig>`; trampoline: the add (copied), `b f+4`;
# - g+0: `b <g.hookpatch_stub>`; stub: `mov w0/x0, #7; ret`;
# - h+0: `b <h.hookpatch_stub>`; stub: `udf #0x6870`;
# - exit status f(41) + g(1): 42 + 2 = 44 before, 42 + 7 = 49 after.
        .text
        .globl  _start
        .type   _start, %function
_start:
        mov     w0, #41
        bl      f
        mov     w19, w0
        mov     w0, #1
        bl      g
        add     w0, w0, w19
        mov     x8, #93
        svc     #0
        .size   _start, .-_start

        .globl  f
        .type   f, %function
        .p2align 4
f:
        add     w0, w0, #1
        ret
        .size   f, .-f

        .globl  g
        .type   g, %function
        .p2align 4
g:
        lsl     w0, w0, #1
        ret
        .size   g, .-g

        .globl  h
        .type   h, %function
        .p2align 4
h:
        mov     w0, #5
        ret
        .size   h, .-h
