# Case: an input that is itself a hookpatch output (the runner builds the
# program, then patches it with prepatch.toml into `in`). Patching it
# again would stack trampolines on trampolines and lose the record of the
# original bytes.
# Expected: one error at the input file, "in: already patched by hookpatch
# (it has hookpatch's section or segment); patch the original binary
# instead"; exit 1, no output. --json lists no hooks: nothing was
# analysed (see json-unanalysed-hooks).
# golden: run = no
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
        mov     $1, %eax
        ret
        .size   f, .-f

        .globl  g
        .type   g, @function
        .p2align 4, 0xcc
g:
        mov     $2, %eax
        ret
        .size   g, .-g
