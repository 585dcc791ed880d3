# Case: a pointer in read-only data that the link put in the text segment
# (-z noseparate-code: one R+X segment holds .text and .rodata) is found by
# call-site redirection like one in a data segment (rewriter/xref_src.c).
# golden: ldflags = -z noseparate-code
#
# t = `ret` (1 byte), then u right after it: no room for the jump or the
# short jump, so t is hooked at its call sites. What reaches t:
#   - `call t` in _start: re-pointed at the stub;
#   - `.quad t` in .rodata (table), which _start calls through: an absolute
#     word with no relocation (non-PIE): not re-pointed, named in a warning
#     (table+0x0), never silent.
# Expected: t hooked at 1 call site, the warning names table+0x0; exit
# status: t returns eax unchanged (0 at process start) twice: 0 before;
# after, the direct call returns 2 and the one through the table still
# runs the original (eax 2 from the first): 4.
        .text
        .globl  _start
        .type   _start, @function
_start:
        call    t
        mov     %eax, %ebx
        call    *table(%rip)
        add     %eax, %ebx
        mov     %ebx, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  t
        .type   t, @function
t:
        ret
        .size   t, .-t
        .globl  u
        .type   u, @function
u:
        xor     %eax, %eax
        ret
        .size   u, .-u

        .section .rodata
        .p2align 3
        .globl  table
        .type   table, @object
table:
        .quad   t
        .size   table, 8
