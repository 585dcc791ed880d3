# Case: a Go generic function's bare name hooks every instantiation
# `name[...]`, with a note; an instantiation can also be named in full.
#
# pkg.G[go.shape.int] (0x401010) and pkg.G[go.shape.string] (0x401020):
#     two instantiations; pkg.Gx (0x401030): another function whose name
#     merely starts with pkg.G; pkg.H[go.shape.int] (0x401040).
# Rules: "pkg.G" return 1 (line 1); "pkg.H[go.shape.int]" return 2
# (line 6).
# Expected: three hooks: both pkg.G[...] (return 1), then
# pkg.H[go.shape.int] (return 2); pkg.Gx untouched; a note at
# rules.toml:2:10 "generic function: hooking all 2 instantiations;
# instantiations that share a GC shape share code and are hooked
# together" (in --json as a "note" diagnostic); exit 0.
# golden: run = no
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  "pkg.G[go.shape.int]"
        .type   "pkg.G[go.shape.int]", @function
        .p2align 4, 0xcc
"pkg.G[go.shape.int]":
        mov     $7, %eax
        ret
        .size   "pkg.G[go.shape.int]", .-"pkg.G[go.shape.int]"

        .globl  "pkg.G[go.shape.string]"
        .type   "pkg.G[go.shape.string]", @function
        .p2align 4, 0xcc
"pkg.G[go.shape.string]":
        mov     $7, %eax
        ret
        .size   "pkg.G[go.shape.string]", .-"pkg.G[go.shape.string]"

        .globl  "pkg.Gx"
        .type   "pkg.Gx", @function
        .p2align 4, 0xcc
"pkg.Gx":
        mov     $7, %eax
        ret
        .size   "pkg.Gx", .-"pkg.Gx"

        .globl  "pkg.H[go.shape.int]"
        .type   "pkg.H[go.shape.int]", @function
        .p2align 4, 0xcc
"pkg.H[go.shape.int]":
        mov     $7, %eax
        ret
        .size   "pkg.H[go.shape.int]", .-"pkg.H[go.shape.int]"
