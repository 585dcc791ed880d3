# Case: the cross-checks between `replace` and `original` (issue 13), all
# reported in one run, each at its own location. An `original` function's
# entry is overwritten too (it jumps to the trampoline), so it may be
# neither the target, nor the replacement, nor hooked, nor bound twice,
# nor another rule's replacement; replacements may not form a cycle.
#
# Every function is `mov eax,N; ret` (6 bytes, hookable).
# Rules (line of [[hook]]) and expected errors (at the value named):
#  1 (1)  t1 -> mock, original t1: at original, "original 't1' is the
#         target itself: its entry is the one the hook overwrites, so the
#         hook would be undone"
#  2 (6)  t2 -> o2, original o2: at original, "original 'o2' is the
#         replacement itself: its entry would jump to the original code, so
#         the replacement would never run"
#  3 (11) t3 -> t3: at replace, "the replacement 't3' is the target itself"
#  4 (15) t4 -> mock, original shared;
#  5 (20) t5 -> mock, original shared: at rule 5's original, "original
#         'shared' is already bound by the rule at rules.toml:18:12"
#  6 (25) t6 -> mock, original hooked; 7 (30) hooked: trap: at rule 6's
#         original, "original 'hooked' is itself hooked by the rule at
#         rules.toml:31:10"
#  8 (34) t8 -> rep; 9 (38) t9 -> mock, original rep: at rule 9's
#         original, "original 'rep' is the replacement named by the rule at
#         rules.toml:36:11"
# 10 (43) c1 -> c2; 11 (47) c2 -> c1: at rule 10's replace, "the
#         replacements form a cycle, c1 -> c2 -> c1 (rules at
#         rules.toml:45:11, rules.toml:49:11): every call would loop
#         forever"
# 12 (51) glob "g*" (g1, g2, g3) passthrough, original o12: at original,
#         "'original' needs exactly one target, but the rule matches 3
#         functions"
# The order on stderr is the resolver's: per rule as it resolves (1, 2,
# 3, 12), then the cycle check (10), then the original checks (5, 6, 9).
# exit 1, no output. --json lists no hooks: nothing was analysed (see
# json-unanalysed-hooks).
# golden: run = no
        .text
        .globl  _start
        .type   _start, @function
_start:
        mov     $60, %eax
        syscall
        .size   _start, .-_start

        .globl  t1
        .type   t1, @function
        .p2align 4, 0xcc
t1:
        mov     $1, %eax
        ret
        .size   t1, .-t1

        .globl  t2
        .type   t2, @function
        .p2align 4, 0xcc
t2:
        mov     $2, %eax
        ret
        .size   t2, .-t2

        .globl  t3
        .type   t3, @function
        .p2align 4, 0xcc
t3:
        mov     $3, %eax
        ret
        .size   t3, .-t3

        .globl  t4
        .type   t4, @function
        .p2align 4, 0xcc
t4:
        mov     $4, %eax
        ret
        .size   t4, .-t4

        .globl  t5
        .type   t5, @function
        .p2align 4, 0xcc
t5:
        mov     $5, %eax
        ret
        .size   t5, .-t5

        .globl  t6
        .type   t6, @function
        .p2align 4, 0xcc
t6:
        mov     $6, %eax
        ret
        .size   t6, .-t6

        .globl  t8
        .type   t8, @function
        .p2align 4, 0xcc
t8:
        mov     $7, %eax
        ret
        .size   t8, .-t8

        .globl  t9
        .type   t9, @function
        .p2align 4, 0xcc
t9:
        mov     $8, %eax
        ret
        .size   t9, .-t9

        .globl  o2
        .type   o2, @function
        .p2align 4, 0xcc
o2:
        mov     $9, %eax
        ret
        .size   o2, .-o2

        .globl  shared
        .type   shared, @function
        .p2align 4, 0xcc
shared:
        mov     $10, %eax
        ret
        .size   shared, .-shared

        .globl  hooked
        .type   hooked, @function
        .p2align 4, 0xcc
hooked:
        mov     $11, %eax
        ret
        .size   hooked, .-hooked

        .globl  rep
        .type   rep, @function
        .p2align 4, 0xcc
rep:
        mov     $12, %eax
        ret
        .size   rep, .-rep

        .globl  mock
        .type   mock, @function
        .p2align 4, 0xcc
mock:
        mov     $13, %eax
        ret
        .size   mock, .-mock

        .globl  c1
        .type   c1, @function
        .p2align 4, 0xcc
c1:
        mov     $14, %eax
        ret
        .size   c1, .-c1

        .globl  c2
        .type   c2, @function
        .p2align 4, 0xcc
c2:
        mov     $15, %eax
        ret
        .size   c2, .-c2

        .globl  g1
        .type   g1, @function
        .p2align 4, 0xcc
g1:
        mov     $16, %eax
        ret
        .size   g1, .-g1

        .globl  g2
        .type   g2, @function
        .p2align 4, 0xcc
g2:
        mov     $17, %eax
        ret
        .size   g2, .-g2

        .globl  g3
        .type   g3, @function
        .p2align 4, 0xcc
g3:
        mov     $18, %eax
        ret
        .size   g3, .-g3

        .globl  o12
        .type   o12, @function
        .p2align 4, 0xcc
o12:
        mov     $19, %eax
        ret
        .size   o12, .-o12
