# Case: functions shorter than the jump whose following bytes are not free.
#
# g1 = `xor eax,eax; ret` at 0x401010, and the function g1next starts
#      right after it (g1+3): nothing after g1 may be overwritten;
# g2 = the same at 0x401020, followed by int3 bytes that belong to the
#      symbol `tbl` (a table placed in .text right after g2): owned bytes
#      are not padding even if they look like it;
# g3 = the same at 0x401030, followed by `00 00` (add [rax],al), which is
#      neither int3 nor nop.
# None can take the 5-byte jump. The short jump to an island (jmp rel8
# to free padding within reach holding the jmp rel32, rewriter/island.h)
# serves g1 (island in the int3 alignment after _start, 0x401007) and g2
# (island in the int3 alignment after g1next, 0x401019). g3 has none: the
# int3 bytes before it follow the object `tbl`, which owns what follows
# it, and after it come `00 00`.
# Nothing calls g3 nor takes its address, so call-site redirection
# (rewriter/callsite.h) has nothing to re-point either.
# Expected: one error, for g3 at its target's location, "too short: 3
# bytes; tried the jump at the entry (...), an island (no 5 bytes of free
# padding ...), and call sites (no direct call, jump or address
# computation of it was found)"; exit 1, no output;
# --json "ok": false, g1 and g2 planned with "technique": "island", g3
# under skipped_hooks with that reason.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  g1
        .type   g1, @function
        .p2align 4, 0xcc
g1:
        xor     %eax, %eax
        ret
        .size   g1, .-g1
        .globl  g1next
        .type   g1next, @function
g1next:
        mov     $1, %eax
        ret
        .size   g1next, .-g1next

        .globl  g2
        .type   g2, @function
        .p2align 4, 0xcc
g2:
        xor     %eax, %eax
        ret
        .size   g2, .-g2
        .type   tbl, @object
tbl:
        .byte   0xcc, 0xcc, 0xcc, 0xcc
        .size   tbl, .-tbl

        .globl  g3
        .type   g3, @function
        .p2align 4, 0xcc
g3:
        xor     %eax, %eax
        ret
        .size   g3, .-g3
        .byte   0, 0
        .p2align 4, 0xcc
