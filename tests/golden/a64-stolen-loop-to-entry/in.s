# Case (arm64): with `original =`, a branch back to the entry among the
# stolen instructions is relocated into the trampoline aimed at the
# trampoline's copy of the entry, not at the entry (which now jumps to the
# replacement). The arm64 sibling of stolen-loop-to-entry.
# golden: build = a64-elf-exec
# golden: far = yes
#
# The far layout (HOOKPATCH_TEST_FAR=1) steals 12 bytes, three
# instructions. f = `add w0, w0, #1; subs w1, w1, #1; b.ne f; ret`: counts
# w1 down to 0, adding 1 to w0 per pass; the loop's b.ne is the third
# stolen instruction. mock counts its calls and returns f_orig(n) + 10
# (w0 = 0 on entry). Rules: f replace mock, original f_orig.
# Expected:
# - plan: patch f, 12 bytes: `adrp x16; add x16; br x16` to mock; f_orig
#   the same to the trampoline;
# - trampoline: add; subs; the b.ne relocated to <f.hookpatch_orig>
#   itself (in reach: a near b.ne, the rest of its measured room nops);
#   then the far jump back to f+12 through x16 (the copy writes neither
#   x16 nor x17);
# - exit status = f(3) + 64 * mock calls: before 3, after 13 + 64 = 77
#   (a b.ne still aimed at f would run mock on every pass).
        .text
        .globl  _start
        .type   _start, %function
_start:
        mov     w0, #0
        mov     w1, #3
        bl      f
        adrp    x9, mock_calls
        ldr     w10, [x9, :lo12:mock_calls]
        add     w0, w0, w10, lsl #6
        mov     x8, #93
        svc     #0
        .size   _start, .-_start

        .globl  f
        .type   f, %function
        .p2align 4
f:
        add     w0, w0, #1
        subs    w1, w1, #1
        b.ne    f
        ret
        .size   f, .-f

        .globl  mock
        .type   mock, %function
        .p2align 4
mock:
        stp     x29, x30, [sp, #-16]!
        adrp    x9, mock_calls
        ldr     w10, [x9, :lo12:mock_calls]
        add     w10, w10, #1
        str     w10, [x9, :lo12:mock_calls]
        mov     w0, #0
        bl      f_orig
        add     w0, w0, #10
        ldp     x29, x30, [sp], #16
        ret
        .size   mock, .-mock

        .globl  f_orig
        .type   f_orig, %function
        .p2align 4
f_orig:
        mov     w0, #99
        nop
        ret
        .size   f_orig, .-f_orig

        .data
mock_calls:     .word 0
