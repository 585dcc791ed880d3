# Case (arm64): the far prologue through x16 in a BTI-marked image
# (HOOKPATCH_TEST_FAR=1: the new code is 256 MiB away, out of B reach).
# golden: build = a64-elf-exec
# golden: far = yes
#
# f = `bti c; add w0, w0, #1; nop; nop; ret`, g = `bti c; lsl w0, w0, #1;
# nop; nop; ret`, both called through BLR. Rules: f passthrough, g return 7.
# Expected:
# - plan: patches at f+4 and g+4 (bti c kept), 12 bytes each:
#   `adrp x16; add x16; br x16`;
# - the stub and the trampoline start with `bti c`: BR x16 lands on a pad;
# - the trampoline's jump back is `adrp x16; add x16; br x16` to f+16, which
#   is no landing pad: ibt_disabled true, the note says so, and the output's
#   property keeps PAC only;
# - exit status f(41) + g(1) = 44 before, 42 + 7 = 49 after.
        .text
        .globl  _start
        .type   _start, %function
_start:
        bti     c
        mov     w0, #41
        adr     x9, f
        blr     x9
        mov     w19, w0
        mov     w0, #1
        adr     x9, g
        blr     x9
        add     w0, w0, w19
        mov     x8, #93
        svc     #0
        .size   _start, .-_start

        .globl  f
        .type   f, %function
        .p2align 4
f:
        bti     c
        add     w0, w0, #1
        nop
        nop
        ret
        .size   f, .-f

        .globl  g
        .type   g, %function
        .p2align 4
g:
        bti     c
        lsl     w0, w0, #1
        nop
        nop
        ret
        .size   g, .-g

        .section .note.gnu.property, "a"
        .p2align 3
        .word   4, 16, 5        // namesz, descsz, NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .word   0xc0000000      // GNU_PROPERTY_AARCH64_FEATURE_1_AND
        .word   4
        .word   3               // BTI | PAC
        .word   0
