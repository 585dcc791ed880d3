# Case (arm64): an entry whose B would overwrite a loop head is hooked at
# its call sites (relocs/arch.h addr_ref, retarget_addr; rewriter/callsite.h).
# golden: build = a64-elf-exec
#
# The input is BTI-marked, so qemu -cpu max enforces landing pads.
# p = `paciasp; 1: add w0, w0, #1; cmp w0, #3; b.lt 1b; autiasp; ret`:
# the patch would take p+0..p+7 (PACIASP moves into the trampoline, BTI c
# + B take its place and the next instruction's), and the loop branches to
# p+4, inside it: the entry is left alone. What reaches p:
#   - `bl p` in _start: re-pointed at the stub in place (B/BL reach the
#     new code);
#   - `adrp x9, p; mov w0, #0; add x9, x9, :lo12:p` then `blr x9`: the
#     ADRP and the ADD re-pointed at the stub (the mov between them does
#     not name x9), which starts with `bti c`;
#   - `b.eq p` in q, a conditional tail call (+-1 MiB, which the new code
#     need not be in): re-pointed at an island, the nop padding after q,
#     holding `b <stub>`;
#   - `adrp x10, p; add x11, x10, :lo12:p` in r (never run): the page
#     stays in x10, which later code may read: not re-pointed, and named
#     in a warning.
# Rules: p return 7 (the stub starts with `bti c`).
# Expected: p hooked, "technique": "callsites", "call_sites": 3,
# "not_redirected" names r+0x8 (the add); p's bytes unchanged; exit status
# p(0) three times: 3 + 3 + 3 = 9 before, 7 + 7 + 7 = 21 after.
        .text
        .globl  _start
        .type   _start, %function
_start:
        bti     c
        mov     w0, #0
        bl      p
        mov     w19, w0
        adrp    x9, p
        mov     w0, #0
        add     x9, x9, :lo12:p
        blr     x9
        add     w19, w19, w0
        mov     w0, #0
        bl      q
        add     w0, w0, w19
        mov     x8, #93
        svc     #0
        .size   _start, .-_start

        .globl  q
        .type   q, %function
        .p2align 4
q:
        bti     c
        cmp     w0, #0
        b.eq    p
        mov     w0, #100
        ret
        .size   q, .-q

        .globl  r
        .type   r, %function
        .p2align 5
r:
        bti     c
        adrp    x10, p
        add     x11, x10, :lo12:p
        mov     x0, x11
        ret
        .size   r, .-r

        .globl  p
        .type   p, %function
        .p2align 4
p:
        paciasp
1:      add     w0, w0, #1
        cmp     w0, #3
        b.lt    1b
        autiasp
        ret
        .size   p, .-p

        .section .note.gnu.property, "a"
        .p2align 3
        .word   4, 16, 5        // namesz, descsz, NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .word   0xc0000000      // GNU_PROPERTY_AARCH64_FEATURE_1_AND
        .word   4
        .word   3               // BTI | PAC
        .word   0
