# Case: function symbols whose bytes the loader does not map as code, or
# that the file does not hold.
#
# datafn = a FUNC symbol in .rodata (a read-only segment): a jump written
#     there would never run as code: "not executable code: it lies in a
#     non-executable segment (r--) at SEGMENT".
# bssfn = a FUNC symbol in an executable NOBITS section (.xbss, "awx"):
#     the segment is executable but the bytes are not in the file (the
#     loader zero-fills them): "function bytes are not in the file". (ld
#     puts .xbss in an RWE segment of its own.)
# Expected: two errors in rule order, "cannot hook at ADDR: REASON";
# exit 1, no output.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .section .rodata
        .globl  datafn
        .type   datafn, @function
datafn:
        mov     $1, %eax
        ret
        .size   datafn, .-datafn

        .section .xbss, "awx", @nobits
        .globl  bssfn
        .type   bssfn, @function
bssfn:
        .zero   16
        .size   bssfn, .-bssfn
