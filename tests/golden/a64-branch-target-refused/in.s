# Case (arm64): refusals at the entry.
# golden: build = a64-elf-exec
#
# p = `paciasp; 1: add w0, w0, #1; ...` with a loop back to p+4: the
# patch would overwrite p+0..p+7 (PACIASP moves into the trampoline, BTI c
# + B take its place and the next instruction's), and p+4 is a branch
# target. Call sites would serve (a64-loop-head-callsites), but nothing
# here calls p or takes its address: refused, naming both techniques.
# d = a word the Arm ARM leaves unallocated (0x00000001, udf-space data)
# at the entry: refused, it is most likely data.
# Expected: exit 1, one error per rule naming the reason; no OUT.
        .text
        .globl  _start
        .type   _start, %function
_start:
        mov     w0, #0
        mov     x8, #93
        svc     #0
        .size   _start, .-_start

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

        .globl  d
        .type   d, %function
        .p2align 4
d:
        .word   0x00000001
        ret
        .size   d, .-d
