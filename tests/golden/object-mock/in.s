# Case: a replacement linked from an object file (`object =`), bound to
# the original through an undefined symbol (`original = "real_add"`).
#
# add (0x401020) = `mov eax,edi; add eax,esi; ret`: 5 bytes, stolen whole.
# mock.s (assembled into mock.o by the runner): add_hook calls real_add
# (undefined in the object), multiplies by 100 and adds a counter kept in
# the object's .data.
# Expected:
# - plan: add -> add_hook, patch 0x401020, 5 bytes; the JSON names the
#   object's symbol as the destination;
# - new text: add's trampoline (mov; add; ret copied, `jmp add+5`), then
#   add_hook's code, its `call real_add` resolved to the trampoline;
# - add's entry jumps to add_hook; nothing else in the input changes;
# - exit status add(1, 1): before 2, after 2 * 100 + 1 = 201.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $1, %edi
        mov     $1, %esi
        call    add
        mov     %eax, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  add
        .type   add, @function
        .p2align 4, 0xcc
add:
        mov     %edi, %eax
        add     %esi, %eax
        ret
        .size   add, .-add
