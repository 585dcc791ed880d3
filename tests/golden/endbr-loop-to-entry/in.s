# With the endbr64 at the entry kept and `original =`, a branch back to
# the function's start (the endbr64, before the patch point) is redirected
# to the trampoline like a branch to the patch point, so the loop runs in
# the original and the replacement once per call. (arm64 sibling, a kept
# BTI c: a64-bti-loop-to-entry.)
#
# f (0x401020) = `endbr64; test edi,edi; jz .Ldone; inc eax; dec edi;
#     jmp f (eb xx); .Ldone: ret`: counts edi down to 0, adding 1 to eax
#     per pass, looping through f's own start.
# The jump goes after the endbr64 (patch f+4, 6 bytes: test, jz, inc).
# mock counts its calls and returns f_orig(n) + 10 (eax = 0 on entry).
# Rules: f replace mock, original f_orig.
# Branches to the patch point, f+4, were once the only ones redirected
# (site.c, hp_site_check_targets): the `jmp f` aims at f+0, the endbr64,
# which runs into the hook's jump to mock, so f(3) ran mock four times
# (exit status 40). Without an endbr64 the same loop is redirected (see
# emit-order, redirect-eight). (Compilers loop to a label after the
# endbr64; this takes hand-written code or a self tail call.)
# Expected:
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
