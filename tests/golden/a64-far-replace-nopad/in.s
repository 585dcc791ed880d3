# Case (arm64): under the far layout the prologue reaches a replacement by
# BR x16; in a BTI-marked image a replacement without a landing pad would
# fault, so the output's BTI marking is cleared and the report says so.
# golden: build = a64-elf-exec
# golden: far = yes
#
# f = `bti c; add w0, w0, #1; nop; nop; ret`; mock = `mov w0, #9; ret`
# (no bti: assembly, never called indirectly in the input). Rules: f
# replaced by mock.
# Expected:
# - plan: patch f+4, 12 bytes (`adrp x16; add x16; br x16` to mock);
# - ibt_disabled true, the note; the property keeps PAC only;
# - exit status f(41) = 42 before, 9 after (with the marking kept, the
#   BR x16 onto mock's mov would die with SIGILL under qemu -cpu max).
        .text
        .globl  _start
        .type   _start, %function
_start:
        bti     c
        mov     w0, #41
        bl      f
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

        .globl  mock
        .type   mock, %function
        .p2align 4
mock:
        mov     w0, #9
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
