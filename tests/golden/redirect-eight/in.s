# Case: eight branches back to the entry (the most one hook takes), of
# every kind: rel8 and rel32 jcc, rel8 and rel32 jmp, loop, jrcxz. With
# `original =`, each must reach the trampoline instead of re-entering
# the hook: rel32 ones directly, rel8 ones through one jump island.
#
# f(edi = n, eax = 0) loops n times back to its entry, counting in eax:
#   .Lf: test edi,edi; jz .Ldone; inc eax       <- 6 stolen bytes
#        dec edi; ecx = edi & 7; then for ecx = 1..7, 0 one branch to .Lf:
#        1 `je` rel8, 2 `je` rel32, 3 `jmp` rel32, 4 `jmp` rel8,
#        5 `loop` (rcx = 2), 6 `jrcxz` (rcx = 0), 7 `jae` rel8,
#        0 `jmp` rel32; .Ldone: ret.
#   f is 0x4c bytes from 0x401020; 8 int3 and the alignment's int3
#   follow, up to mock at 0x401080.
# mock counts its calls and returns f_orig(n) + 10; f_orig is 6 bytes.
# Expected (replace = mock, original = f_orig):
# - plan: patch 0x401020, 6 bytes, destination mock;
# - island: 5 bytes at f's end (0x40106c, the first padding byte), within
#   rel8 reach of all five rel8 branches (the earliest is at f+0x10);
# - the five rel8 branches (je, jmp, loop, jrcxz, jae) re-targeted at the
#   island, the three rel32 ones (je, jmp, jmp) at <f.hookpatch_orig>;
#   nothing else in f changes;
# - f_orig+0: `jmp <f.hookpatch_orig>`;
# - trampoline: test; `jz` widened to reach f's .Ldone; inc; `jmp f+6`;
# - exit status = result + 64 * mock calls: before f(16) = 16, after
#   (16 + 10) + 64 = 90: every one of the eight branch kinds is taken at
#   least once, and mock runs once.
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $16, %edi
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
        test    %edi, %edi
        jz      .Ldone
        inc     %eax
        dec     %edi
        mov     %edi, %ecx
        and     $7, %ecx
        cmp     $1, %ecx
        je      .Lf                     # 1: jcc rel8
        cmp     $2, %ecx
        {disp32} je .Lf                 # 2: jcc rel32
        cmp     $3, %ecx
        jne     1f
        {disp32} jmp .Lf                # 3: jmp rel32
1:      cmp     $4, %ecx
        jne     1f
        jmp     .Lf                     # 4: jmp rel8
1:      cmp     $5, %ecx
        jne     1f
        mov     $2, %ecx
        loop    .Lf                     # 5: loop (rcx 2 -> 1: taken)
1:      cmp     $6, %ecx
        jne     1f
        xor     %ecx, %ecx
        jrcxz   .Lf                     # 6: jrcxz
1:      cmp     $7, %ecx
        jae     .Lf                     # 7: jcc rel8
        {disp32} jmp .Lf                # 0: jmp rel32
.Ldone:
        ret
        .size   f, .-f
        .fill   8, 1, 0xcc              # free padding for the island

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
