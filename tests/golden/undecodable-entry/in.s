# An entry that does not decode is refused for that reason, not as "too
# short".
#
# bad  (0x401010, 7 bytes) = `06` (push es: invalid in 64-bit mode), then
#      `mov eax,1; ret`.
# bad2 (0x401020, 9 bytes) = `xor eax,eax`, `06`, `mov eax,1; ret`.
# Both must be refused: the bytes the jump would take cannot be split
# into instructions. The entry decoder (site.c, hp_site_scan_entry)
# records where it stopped, so the refusal names the byte instead of
# reading the stop as the end of the function (which once gave "too
# short: 7 bytes and no free padding after it", sending the user looking
# for padding; `hookpatch list` shares the analysis).
# Expected: the reason the planner gives for the same bytes when it
# decodes the whole function (with `original =`): "cannot decode the
# instruction at 0x401010 (data in code?), so branches into the entry
# cannot be ruled out", and "... at 0x401022 ..." for bad2; exit 1, no
# output.
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
