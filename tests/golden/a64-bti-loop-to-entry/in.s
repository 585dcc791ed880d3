# Case (arm64): with a leading BTI c kept and `original =`, a self tail
# call `b f` (which lands on the BTI, before the patch point) goes to the
# trampoline like a branch to the patch point, so the replacement runs
# once per call. The arm64 sibling of endbr-loop-to-entry.
# golden: build = a64-elf-exec
#
# The input is BTI-marked (BTI, PAC), so qemu -cpu max enforces landing
# pads; _start calls f through BLR. f = `bti c; cbz w1, .Ldone; add w0,
# w0, #1; sub w1, w1, #1; b f; .Ldone: ret`: counts w1 down to 0, adding
# 1 to w0 per pass, looping through f's own start (the BTI).
# mock counts its calls and returns f_orig(n) + 10 (w0 = 0 on entry).
# Rules: f replace mock, original f_orig.
# Expected:
# - plan: patch f+4, 4 bytes (the cbz), landing pad kept, ibt_disabled
#   false;
# - f+4: `b mock`; the `b f` at f+0x10 (a B: no island needed) becomes
#   `b <f.hookpatch_orig>`; f_orig's entry `b <f.hookpatch_orig>`;
# - trampoline: bti c (the image is marked); the cbz relocated to f's
#   .Ldone (in reach, so the rest of its measured room is nops); `b f+8`;
# - the property note still says BTI, PAC;
# - exit status = f(3) + 64 * mock calls: before 3, after 13 + 64 = 77
#   (re-entering mock on every pass would give 4 calls: 40 + 256 = 296,
#   exit status 40).
        .text
        .globl  _start
        .type   _start, %function
_start:
        bti     c
        mov     w0, #0
        mov     w1, #3
        adr     x9, f
        blr     x9
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
        bti     c
        cbz     w1, .Ldone
        add     w0, w0, #1
        sub     w1, w1, #1
        b       f
.Ldone:
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
        ret
        .size   f_orig, .-f_orig

        .data
mock_calls:     .word 0

        .section .note.gnu.property, "a"
        .p2align 3
        .word   4, 16, 5        // namesz, descsz, NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .word   0xc0000000      // GNU_PROPERTY_AARCH64_FEATURE_1_AND
        .word   4
        .word   3               // BTI | PAC
        .word   0
