# Case (arm64): PACIASP at the entry moves into the trampoline, and the
# entry gets a BTI c landing pad in its place.
# golden: build = a64-elf-exec
#
# The input is BTI- and PAC-marked; qemu -cpu max enforces landing pads
# and authenticates return addresses. f = `paciasp; stp x29, x30,
# [sp, #-16]!; mov x29, sp; add w0, w0, #1; ldp x29, x30, [sp], #16;
# autiasp; ret`, called through BLR. Rules: f replaced by mock, which
# calls the original through f_orig and adds 100.
# Expected:
# - plan: patch at f (8 bytes: paciasp + stp), landing pad not
#   overwritten, ibt_disabled false;
# - f+0: `bti c` (the BLR still lands on a pad; mock gets x30 unsigned);
#   f+4: `b <mock>`;
# - trampoline: bti c; paciasp; stp (copied); `b f+8`, so f's autiasp
#   authenticates the x30 signed in the trampoline with the same SP;
# - f_orig+0: `b <f.hookpatch_orig>`;
# - exit status f(41) = 42 before, 142 after (mock -> original -> 42+100).
        .text
        .globl  _start
        .type   _start, %function
_start:
        bti     c
        mov     w0, #41
        adr     x9, f
        blr     x9
        mov     x8, #93
        svc     #0
        .size   _start, .-_start

        .globl  f
        .type   f, %function
        .p2align 4
f:
        paciasp
        stp     x29, x30, [sp, #-16]!
        mov     x29, sp
        add     w0, w0, #1
        ldp     x29, x30, [sp], #16
        autiasp
        ret
        .size   f, .-f

        .globl  f_orig
        .type   f_orig, %function
        .p2align 4
f_orig:
        bti     c
        mov     w0, #-1
        ret
        .size   f_orig, .-f_orig

        .globl  mock
        .type   mock, %function
        .p2align 4
mock:
        bti     c
        stp     x29, x30, [sp, #-16]!
        bl      f_orig
        add     w0, w0, #100
        ldp     x29, x30, [sp], #16
        ret
        .size   mock, .-mock

        .section .note.gnu.property, "a"
        .p2align 3
        .word   4, 16, 5        // namesz, descsz, NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .word   0xc0000000      // GNU_PROPERTY_AARCH64_FEATURE_1_AND
        .word   4
        .word   3               // BTI | PAC
        .word   0
