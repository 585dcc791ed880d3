# Case (arm64): a leading BTI c is kept and the B goes after it.
# golden: build = a64-elf-exec
#
# The input is BTI-marked (.note.gnu.property, AArch64 feature BTI, PAC),
# so qemu -cpu max enforces landing pads on its pages. _start calls f and
# g through BLR (indirect). f = `bti c; add w0, w0, #1; ret`, g = `bti c;
# lsl w0, w0, #1; ret`. Rules: f passthrough, g return 7.
# Expected:
# - plan: patches at f+4 and g+4, 4 bytes, landing pad not overwritten,
#   ibt_disabled false;
# - f+0 and g+0 keep `bti c`; f+4: `b <f.hookpatch_orig>`;
# - the trampoline and the stub start with `bti c` (the image is marked);
#   trampoline: bti c; add (copied); `b f+8`;
# - the property note still says BTI, PAC;
# - exit status f(41) + g(1) = 44 before, 42 + 7 = 49 after: the BLRs
#   still land on landing pads.
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
        ret
        .size   f, .-f

        .globl  g
        .type   g, %function
        .p2align 4
g:
        bti     c
        lsl     w0, w0, #1
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
