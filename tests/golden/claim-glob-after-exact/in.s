# Case: a glob after an exact rule skips the functions the exact rule
# already claimed (no error), and skips, with the reason, the ones it
# matches that cannot be hooked.
#
# f, f2, f3: `lea eax,[rdi+N]; ret` (4 bytes) followed by int3 padding:
#     hookable; f4: `xor eax,eax; ret` with the function f4next right
#     after it: too short for the jump, so it takes a jmp rel8 to an
#     island in the int3 alignment after _start. (f4next also matches the glob `f*` and is
#     hookable: `mov eax,1; ret`, 6 bytes.)
# Rules: f return 100 (line 1); glob "f*" passthrough (line 6).
# Expected:
# - hooks, in order: f return 100 (rule 1); then the glob's matches in
#   address order: f skipped "already hooked by the rule at
#   rules.toml:2:10", f2 and f3 passthrough, f4 passthrough through the
#   island at 0x40103b (its trampoline copies the xor and jumps back to
#   its ret), f4next passthrough; exit 0, with "hooked 5 functions,
#   skipped 1" and the skip on stderr;
# - the passthrough trampolines copy lea + ret and end in ud2 (each
#   function ends inside its 5 stolen bytes); f4next's copies its mov and
#   jumps back to its ret;
# - exit status f(1) + f2(1) + f3(1) + f4() + f4next() = 100 + 3 + 4 +
#   0 + 1 = 108 after (2 + 3 + 4 + 0 + 1 = 10 before).
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $1, %edi
        call    f
        mov     %eax, %ebx
        mov     $1, %edi
        call    f2
        add     %eax, %ebx
        mov     $1, %edi
        call    f3
        add     %eax, %ebx
        call    f4
        add     %eax, %ebx
        call    f4next
        add     %eax, %ebx
        mov     %ebx, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
        lea     1(%rdi), %eax
        ret
        .size   f, .-f

        .globl  f2
        .type   f2, @function
        .p2align 4, 0xcc
f2:
        lea     2(%rdi), %eax
        ret
        .size   f2, .-f2

        .globl  f3
        .type   f3, @function
        .p2align 4, 0xcc
f3:
        lea     3(%rdi), %eax
        ret
        .size   f3, .-f3

        .globl  f4
        .type   f4, @function
        .p2align 4, 0xcc
f4:
        xor     %eax, %eax
        ret
        .size   f4, .-f4
        .globl  f4next
        .type   f4next, @function
f4next:
        mov     $1, %eax
        ret
        .size   f4next, .-f4next
