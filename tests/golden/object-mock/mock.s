# The mock object for object-mock/in.s: add_hook(a, b) = real_add(a, b)
# * 100 + (++calls).
        .text
        .globl  add_hook
        .type   add_hook, @function
add_hook:
        call    real_add
        imul    $100, %eax, %eax
        incl    calls(%rip)
        add     calls(%rip), %eax
        ret
        .size   add_hook, .-add_hook

        .data
calls:  .long   0
