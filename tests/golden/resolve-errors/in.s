# Case: names that resolve to nothing usable. Every one is reported in the
# same run, at its own location, and nothing is analysed or written.
#
# Functions: fn_one, fn_two, fn_three, mock (all `mov eax,N; ret`);
# counter: a data object in .data; rodatafn: a FUNC symbol in .rodata.
# Rules and expected errors, in rule order:
#  1 target "fn_on"      -> "no function named 'fn_on'; did you mean
#                            'fn_one', 'fn_two'?" (the names within
#                            len/3 + 2 = 3 edits, nearest first: fn_one is
#                            1 edit away, fn_two 3; fn_three and mock are
#                            farther)
#  2 target "counter"    -> "target 'counter' is data, not a function"
#  3 target "zz*"        -> "the pattern matches no function"
#  4 target "0x401011"   -> "no function starts at 0x401011" (inside
#                            fn_one)
#  5 original "nosuch"   -> "no function named 'nosuch'; did you mean
#                            'mock'?" at the original value (4 edits,
#                            within 6/3 + 2)
#  6 replace "rodatafn"  -> "the replacement 'rodatafn' at 0x402000 is not
#                            executable code: it lies in a non-executable
#                            segment (r--) at 0x402000"
#  7 original "rodatafn" -> the same for "the original 'rodatafn'"
# (An unknown `replace` name: json-unknown-replacement.) --json lists no
# hooks: nothing was analysed (see json-unanalysed-hooks).
# exit 1, no output.
# golden: run = no
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  fn_one
        .type   fn_one, @function
        .p2align 4, 0xcc
fn_one:
        mov     $1, %eax
        ret
        .size   fn_one, .-fn_one

        .globl  fn_two
        .type   fn_two, @function
        .p2align 4, 0xcc
fn_two:
        mov     $2, %eax
        ret
        .size   fn_two, .-fn_two

        .globl  fn_three
        .type   fn_three, @function
        .p2align 4, 0xcc
fn_three:
        mov     $3, %eax
        ret
        .size   fn_three, .-fn_three

        .globl  mock
        .type   mock, @function
        .p2align 4, 0xcc
mock:
        mov     $4, %eax
        ret
        .size   mock, .-mock

        .data
        .globl  counter
        .type   counter, @object
counter:
        .quad   0
        .size   counter, 8

        .section .rodata
        .globl  rodatafn
        .type   rodatafn, @function
rodatafn:
        mov     $5, %eax
        ret
        .size   rodatafn, .-rodatafn
