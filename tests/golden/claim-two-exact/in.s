# Case: two exact rules that name one function by different spellings (a
# symbol, an alias at the same address, the address): the resolver's
# claim is an error at each later rule, naming the first. (Two rules with
# the same spelling are refused earlier, by the rules reader.)
#
# f at 0x401010 (`mov eax,1; ret`), f_alias at the same address.
# Rules: f return 1 (line 1); f_alias passthrough (line 6); "0x401010"
# trap (line 10).
# Expected: two errors, at the second and third rules' target values,
# "target 'f_alias': 'f_alias' is already hooked by the rule at
# rules.toml:2:10" and "target '0x401010': 'f' is already hooked by the
# rule at rules.toml:2:10" (an address names the first function symbol
# there); exit 1, no output. Resolving stops the run before analysis, so
# --json lists no hooks (see json-unanalysed-hooks).
# golden: run = no
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  f, f_alias
        .type   f, @function
        .type   f_alias, @function
        .p2align 4, 0xcc
f:
f_alias:
        mov     $1, %eax
        ret
        .size   f, .-f
        .size   f_alias, .-f_alias
