# With `original =`, a function shorter than the jump that loops back to
# its entry is hooked: the jump takes the whole function plus free padding,
# and the trampoline's copy of the loop aims at the trampoline itself.
# (plan.c once had a refusal for this, "the whole function fits in the
# jump and it branches back to its entry", that could never be given; the
# situation needs none.)
#
# f (0x401020, 3 bytes) = `.Lf: loop .Lf (e2 fe); ret`, then int3
#     padding: spins rcx down to 0, eax untouched. The jump takes f's 3
#     bytes and 2 bytes of padding.
# mock counts its calls and returns f_orig(n) + 10 (eax = 0 on entry).
# Rules: f replace mock, original f_orig.
# Expected:
# - plan: patch 0x401020, 5 bytes, destination mock, original f_orig;
# - trampoline: the loop rewritten (`loop` to a `jmp` to
#   <f.hookpatch_orig>, skipped by a short jmp when rcx reaches 0); ret;
#   then a trap (ud2) instead of a jump back: the copy is the whole
#   function;
# - exit status = f(3) + 64 * mock calls: before 0, after 10 + 64 = 74
#   (a loop still aimed at f would run mock three times: 30 + 192 = 222).
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $3, %ecx
        xor     %eax, %eax
        call    f
        mov     mock_calls(%rip), %edx
        shl     $6, %edx
        add     %edx, %eax
        mov     %eax, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
.Lf:
        loop    .Lf
        ret
        .size   f, .-f

        .globl  mock
        .type   mock, @function
        .p2align 4, 0xcc
mock:
        incl    mock_calls(%rip)
        xor     %eax, %eax
        call    f_orig
        add     $10, %eax
        ret
        .size   mock, .-mock

        .globl  f_orig
        .type   f_orig, @function
        .p2align 4, 0xcc
f_orig:
        mov     $99, %eax
        ret
        .size   f_orig, .-f_orig

        .data
mock_calls:     .long 0
