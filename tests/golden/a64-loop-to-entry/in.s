# Case (arm64): with `original =`, branches back to the entry go to the
# trampoline. A B.cond reaches +-1 MiB, which the new code need not be in,
# so both go through a jump island (a B) in the free padding after f.
# golden: build = a64-elf-exec
#
# f = `add w0, w0, #1; cmp w0, #10; b.lt f; cmp w0, #100; b.eq f; ret`
# (loops to its entry), then nop padding up to g. Rules: f replaced by
# mock, which calls the original through f_orig and adds 1000.
# Expected:
# - plan: patch f (4 bytes); island in the padding after f's ret;
# - b.lt f and b.eq f retargeted to the island at f+0x18 (a nop before),
#   now `b <f.hookpatch_orig>`; so the loop runs in the original, not the
#   hook;
# - exit status f(0) = 10 before, 1010 & 0xff = 242 after.
        .text
        .globl  _start
        .type   _start, %function
_start:
        mov     w0, #0
        bl      f
        mov     x8, #93
        svc     #0
        .size   _start, .-_start

        .globl  f
        .type   f, %function
        .p2align 4
f:
        add     w0, w0, #1
        cmp     w0, #10
        b.lt    f
        cmp     w0, #100
        b.eq    f
        ret
        .size   f, .-f

        .p2align 5
        .globl  f_orig
        .type   f_orig, %function
f_orig:
        mov     w0, #-1
        ret
        .size   f_orig, .-f_orig

        .globl  mock
        .type   mock, %function
        .p2align 4
mock:
        stp     x29, x30, [sp, #-16]!
        bl      f_orig
        add     w0, w0, #1000
        ldp     x29, x30, [sp], #16
        ret
        .size   mock, .-mock
