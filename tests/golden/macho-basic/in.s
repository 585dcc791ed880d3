# Case: the rewriter core on a Mach-O executable (clang -target
# x86_64-apple-macos11, ld64.lld, -headerpad 0x1000): the same program and
# plan as pe-basic. Symbols carry the underscore (_f), and the rules name
# the functions at source level (f); the plan reports the symbol's
# spelling. Not run; checked by plan, listing and record.
# Function sizes come from LC_FUNCTION_STARTS: g runs to the next start,
# so its int3 padding is its own, as in PE.
# Expected: as pe-basic, with the new code in segment __HOOKPATCH
# (section __text) and the record in its __info section.
# golden: build = macho-exe
        .text
        .globl  _start
_start:
        mov     $7, %edi
        call    _f
        mov     %eax, %ebx
        call    _g
        add     %eax, %ebx
        mov     $3, %edi
        xor     %eax, %eax
        call    _c
        add     %ebx, %eax
        ret

        .globl  _f
        .p2align 4, 0xcc
_f:
        push    %rbp
        mov     %rsp, %rbp
        sub     $0x10, %rsp
        mov     %edi, -4(%rbp)
        mov     -4(%rbp), %eax
        lea     (%rax,%rax,2), %eax
        leave
        ret

        .globl  _g
        .p2align 4, 0xcc
_g:
        xor     %eax, %eax
        ret

        .globl  _c
        .p2align 4, 0xcc
_c:
1:
        test    %edi, %edi
        jz      2f
        dec     %edi
        inc     %eax
        {disp32} jmp 1b
2:
        ret

        .globl  _c_orig
        .p2align 4, 0xcc
_c_orig:
        mov     $99, %eax
        ret

        .globl  _mock
        .p2align 4, 0xcc
_mock:
        xor     %eax, %eax
        call    _c_orig
        add     $10, %eax
        ret
