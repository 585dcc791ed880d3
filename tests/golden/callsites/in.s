# Case: a 1-byte function hooked at its call sites (rewriter/callsite.h).
#
# t = `ret` (1 byte), and tail starts right after it: no room for the
#     jump, and an entry shorter than the 2-byte short jump takes no
#     island. What reaches t:
#   - `call t` in _start (rel32): re-pointed at the stub in place;
#   - `jmp t` in tail (rel8, a tail call): re-pointed at an island, the
#     int3 padding after tail (within its rel8 reach), which holds the
#     `jmp rel32` to the stub;
#   - `lea t(%rip), %rcx` in _start, then `call *%rcx`: the lea's disp32
#     re-pointed at the stub;
#   - `mov $t, %edx` in _start: an absolute address in an immediate, which
#     cannot be told from a number for certain: not re-pointed, named in a
#     warning (never run here).
# Expected: t hooked, "technique": "callsites", "call_sites": 3,
# "not_redirected" names the mov (_start+0x19); a warning "hooked at 3
# call site(s), but 1 place(s) reaching ... were not redirected ...:
# ADDR (_start+0x19): an absolute address in an instruction's immediate";
# t's byte is unchanged. Exit status: t returns eax unchanged (0 at
# process start) three times: 0 before; each call returns 2 after: 6.
        .text
        .globl  _start
        .type   _start, @function
_start:
        call    t
        mov     %eax, %ebx
        call    tail
        add     %eax, %ebx
        lea     t(%rip), %rcx
        call    *%rcx
        add     %eax, %ebx
        mov     $t, %edx
        mov     %ebx, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  t
        .type   t, @function
t:
        ret
        .size   t, .-t
        .globl  tail
        .type   tail, @function
tail:
        jmp     t
        .size   tail, .-tail
        .p2align 4, 0xcc
