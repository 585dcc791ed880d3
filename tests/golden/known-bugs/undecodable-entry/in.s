# KNOWN BUG: an entry that does not decode is refused as "too short".
#
# bad  (0x401010, 7 bytes) = `06` (push es: invalid in 64-bit mode), then
#      `mov eax,1; ret`.
# bad2 (0x401020, 9 bytes) = `xor eax,eax`, `06`, `mov eax,1; ret`.
# Both must be refused: the bytes the jump would take cannot be split
# into instructions. But the reason given today is "too short: 7 bytes
# and no free padding after it; the jump needs 5" (and "9 bytes" for
# bad2): the entry decoder (site.c, hp_site_scan_entry) stops at the bad
# byte without saying so, and the steal then reads the stop as the end of
# the function. Both functions are longer than the jump; the message
# sends the user looking for padding. `hookpatch list` shows the same
# wrong reason.
# Expected (hand-written): the reason the planner already gives for the
# same bytes when it decodes the whole function (with `original =`):
# "cannot decode the instruction at 0x401010 (data in code?), so branches
# into the entry cannot be ruled out", and "... at 0x401022 ..." for
# bad2; exit 1, no output.
# golden: run = no
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  bad
        .type   bad, @function
        .p2align 4, 0xcc
bad:
        .byte   0x06
        mov     $1, %eax
        ret
        .size   bad, .-bad

        .globl  bad2
        .type   bad2, @function
        .p2align 4, 0xcc
bad2:
        xor     %eax, %eax
        .byte   0x06
        mov     $1, %eax
        ret
        .size   bad2, .-bad2
