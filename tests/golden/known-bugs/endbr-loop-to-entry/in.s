# KNOWN BUG: when the endbr64 at the entry is kept, a branch back to the
# function's start (the endbr64) is not redirected to the trampoline, so
# with `original =` the loop re-enters the replacement on every pass.
#
# f (0x401020) = `endbr64; test edi,edi; jz .Ldone; inc eax; dec edi;
#     jmp f (eb xx); .Ldone: ret`: counts edi down to 0, adding 1 to eax
#     per pass, looping through f's own start.
# The jump goes after the endbr64 (patch f+4, 6 bytes: test, jz, inc).
# mock counts its calls and returns f_orig(n) + 10 (eax = 0 on entry).
# Rules: f replace mock, original f_orig.
# Why it breaks: site.c (hp_site_check_targets) collects branches to the
# patch point, f+4; the `jmp f` aims at f+0, the endbr64, which then runs
# into the hook's jump to mock. Without an endbr64 the same loop is
# redirected (see emit-order, redirect-eight). Today f(3) runs mock four
# times: exit status 40 instead of 77. (Compilers loop to a label after
# the endbr64; this takes hand-written code or a self tail call.)
# Expected (written with a fixed build, checked by hand):
# - plan: patch 0x401024, 6 bytes, endbr64 kept;
# - the `jmp f` (rel8) at f+0xc goes through an island at f's end, in
#   the int3 padding after it (0x40102f), to <f.hookpatch_orig>;
# - trampoline: test; jz widened to f's .Ldone; inc; `jmp f+10`;
# - exit status = f(3) + 64 * mock calls: before 3, after 13 + 64 = 77.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $3, %edi
        xor     %eax, %eax
        call    f
        mov     mock_calls(%rip), %ecx
        shl     $6, %ecx
        add     %ecx, %eax
        mov     %eax, %edi
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f
        .type   f, @function
        .p2align 4, 0xcc
f:
.Lf:
        endbr64
        test    %edi, %edi
        jz      .Ldone
        inc     %eax
        dec     %edi
        jmp     .Lf
.Ldone:
        ret
        .size   f, .-f
        .fill   8, 1, 0xcc              # free padding for an island

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
