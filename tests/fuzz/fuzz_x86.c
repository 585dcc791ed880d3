/* libFuzzer harness for relocs/x86: scan the input as a function body, then
 * relocate every decoded instruction (measure, then emit into a buffer of
 * exactly the measured size) and re-decode the output to check that it means
 * the same thing: same branch targets, same RIP-relative addresses, same
 * pushed return address, untouched bytes elsewhere. Also: every branch a
 * linear decode finds is among hp_x86_branch_candidates' (the branch-target
 * table relies on it). abort() on any mismatch.
 *
 * Input: 8 control bytes, then code. Control bits 0-31 are a signed dst
 * offset (mostly within rel32 reach); bit 63 uses all 64 bits as the offset
 * instead; bits 32-33 choose the return address given for calls. */
#include "relocs/x86.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRC_VA 0x0000555555550000ull

static void check(bool ok, const char *what, uint64_t va)
{
    if (!ok) {
        fprintf(stderr, "fuzz_x86: %s (insn at 0x%llx)\n", what, (unsigned long long)va);
        abort();
    }
}

typedef struct decoded {
    hp_insn v[8];
    size_t n;
} decoded;

static void decode_out(const uint8_t *b, size_t len, uint64_t va, decoded *d)
{
    size_t off = 0;
    d->n = 0;
    while (off < len) {
        check(d->n < 8, "too many output instructions", va);
        check(hp_x86_decode(b + off, len - off, va + off, &d->v[d->n]) == HP_OK,
              "output does not decode", va);
        off += d->v[d->n++].len;
    }
    check(off == len, "output decodes past its end", va);
}

static void same_text(const uint8_t *p, size_t n, uint64_t src, const uint8_t *q, size_t qn,
                      uint64_t dst)
{
    char a[160], b[160];
    hp_x86_format(p, n, src, a, sizeof a);
    hp_x86_format(q, qn, dst, b, sizeof b);
    if (strcmp(a, b) != 0)
        fprintf(stderr, "'%s' != '%s'\n", a, b);
    check(strcmp(a, b) == 0, "relocated text differs", src);
}

/* "lea rsp,[rsp-8]; push rax; lea rax,[rip+X]; mov [rsp+8],rax; pop rax"
 * at dst must leave exactly ret_va at [rsp]. */
static void check_push(const uint8_t *b, uint64_t ret_va, uint64_t dst, uint64_t va)
{
    check(memcmp(b, "\x48\x8d\x64\x24\xf8\x50\x48\x8d\x05", 9) == 0 &&
              memcmp(b + 13, "\x48\x89\x44\x24\x08\x58", 6) == 0,
          "push sequence shape", va);
    check(dst + 13 + (uint64_t)(int64_t)(int32_t)hp_rd32(b + 9) == ret_va, "pushed value", va);
}

/* Bytes differ at most in one run of 4 (a patched disp32/rel32 field). */
static void differs_in_one_field(const uint8_t *p, const uint8_t *q, size_t n, uint64_t va)
{
    size_t first = n, last = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] != q[i]) {
            first = i < first ? i : first;
            last = i;
        }
    check(first == n || last - first < 4, "bytes outside one field changed", va);
}

static void verify_call(const hp_insn *a, const uint8_t *p, const uint8_t *out,
                        const decoded *d, uint64_t ret_va, uint64_t dst)
{
    check(d->n == 6, "call: expected the 5-instruction push, then jmp", a->va);
    check_push(out, ret_va, dst, a->va);
    const hp_insn *j = &d->v[5];
    if (a->kind == HP_INSN_CALL) {
        check(j->kind == HP_INSN_JMP && j->target_va == a->target_va, "call target", a->va);
        return;
    }
    check(j->kind == HP_INSN_JMP_IND && j->len == a->len, "indirect call -> jmp", a->va);
    check(j->rip_rel == a->rip_rel && (!a->rip_rel || j->mem_va == a->mem_va),
          "indirect call operand", a->va);
}

static void verify_loop(const hp_insn *a, const uint8_t *p, const uint8_t *out, size_t len,
                        const decoded *d, uint64_t dst)
{
    check(d->n == 3 && len == (size_t)a->len + 7, "loop: expected op, jmp, jmp", a->va);
    check(memcmp(out, p, a->len - 1u) == 0, "loop prefix/opcode changed", a->va);
    check(d->v[0].kind == HP_INSN_LOOP && d->v[0].target_va == dst + a->len + 2, "loop taken",
          a->va);
    check(d->v[1].kind == HP_INSN_JMP && d->v[1].target_va == dst + len, "loop fall-through",
          a->va);
    check(d->v[2].kind == HP_INSN_JMP && d->v[2].target_va == a->target_va, "loop target", a->va);
}

static void verify_same_insn(const hp_insn *a, const uint8_t *p, const uint8_t *out, size_t len,
                             const decoded *d, uint64_t dst)
{
    const hp_insn *b = &d->v[0];
    bool branch = a->kind == HP_INSN_JMP || a->kind == HP_INSN_JCC;
    check(d->n == 1 && b->kind == a->kind, "one instruction of the same kind", a->va);
    check(b->has_target == a->has_target && b->rip_rel == a->rip_rel, "target flags", a->va);
    check(b->target_va == a->target_va && b->mem_va == a->mem_va, "absolute target", a->va);
    if (branch) {
        check(len <= 7, "branch is a rel32 form", a->va);
    } else {
        check(len == a->len, "length preserved", a->va);
        differs_in_one_field(p, out, len, a->va);
        if (!a->has_target)
            check(memcmp(p, out, len) == 0, "position-independent bytes copied", a->va);
    }
    same_text(p, a->len, a->va, out, len, dst);
}

static void verify(const hp_insn *a, const uint8_t *p, const uint8_t *out, size_t len,
                   uint64_t dst, uint64_t ret_va)
{
    decoded d;
    decode_out(out, len, dst, &d);
    if (a->kind == HP_INSN_CALL || a->kind == HP_INSN_CALL_IND)
        verify_call(a, p, out, &d, ret_va, dst);
    else if (a->kind == HP_INSN_LOOP)
        verify_loop(a, p, out, len, &d, dst);
    else
        verify_same_insn(a, p, out, len, &d, dst);
}

/* One reason, as the relocator promises: about the instruction, naming it. */
static bool has_reason(const hp_diags *why, uint64_t va)
{
    return why->n == 1 && why->v[0].level == HP_DIAG_REASON && why->v[0].va == va &&
           !strncmp(why->v[0].msg, "cannot relocate '", 17);
}

static void fuzz_one(const hp_insn *a, const uint8_t *p, size_t n, uint64_t dst, uint64_t ret_va)
{
    size_t m = 0, m2 = 0, e = 0;
    char fmt[160];
    hp_diags why = {0};
    hp_x86_format(p, n, a->va, fmt, sizeof fmt);
    hp_status s = hp_x86_relocate(p, n, a->va, dst, ret_va, NULL, &m, &why);
    hp_status s2 = hp_x86_relocate(p, n, a->va, ~dst, ret_va, NULL, &m2, NULL);
    check(s == s2 && m == m2, "measure depends on dst", a->va);
    if (s != HP_OK) {
        check(s == HP_ERR_UNHOOKABLE && has_reason(&why, a->va) && m == 0,
              "refusal without reason", a->va);
        hp_diags_free(&why);
        return;
    }
    check(why.n == 0, "a reason without a refusal", a->va);
    check(m > 0 && m <= HP_X86_RELOC_MAX, "measured size", a->va);
    uint8_t *out = malloc(m);
    check(out != NULL, "malloc", a->va);
    s = hp_x86_relocate(p, n, a->va, dst, ret_va, out, &e, &why);
    if (s == HP_ERR_RANGE)
        check(e == 0 && has_reason(&why, a->va), "range error without reason", a->va);
    else
        check(s == HP_OK && e == m, "emit length != measured length", a->va);
    if (s == HP_OK)
        verify(a, p, out, e, dst, ret_va);
    free(out);
    hp_diags_free(&why);
}

static uint64_t pick_ret(uint64_t ctl, const hp_insn *a)
{
    switch ((ctl >> 32) & 3) {
    case 0: return 0;
    case 1: return a->va + a->len;
    case 2: return ctl * 0x9e3779b97f4a7c15ull;
    default: return 0xffffffff80000000ull | (uint32_t)ctl;
    }
}

static void check_scan(const hp_func_scan *s, uint64_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < s->ninsns; i++) {
        check(s->insns[i].va == SRC_VA + sum, "scan: instructions not contiguous", SRC_VA + sum);
        sum += s->insns[i].len;
    }
    check(sum == s->ok_size && sum <= n, "scan: ok_size", SRC_VA);
    for (size_t i = 0; i < s->ntargets; i++) {
        check(s->targets[i] - SRC_VA < n, "scan: target outside body", s->targets[i]);
        check(i == 0 || s->targets[i] > s->targets[i - 1], "scan: targets unsorted", s->targets[i]);
    }
}

/* The candidate scan (no decoding) must report every branch the linear
 * decode finds: same target, opcode within the instruction. */
typedef struct cands {
    uint64_t at[4096], target[4096];
    size_t n;
    bool full;
} cands;

static hp_status cand_add(void *ctx, uint64_t at, uint64_t target)
{
    cands *c = ctx;
    if (c->n == 4096)
        c->full = true;
    else {
        c->at[c->n] = at;
        c->target[c->n++] = target;
    }
    return HP_OK;
}

static hp_status cand_check(void *ctx, uint64_t insn_va, uint64_t target)
{
    const cands *c = ctx;
    for (size_t i = 0; i < c->n; i++)
        if (c->target[i] == target && c->at[i] >= insn_va && c->at[i] < insn_va + 15)
            return HP_OK;
    check(c->full, "a decoded branch is not among the candidates", insn_va);
    return HP_OK;
}

static void check_candidates(const uint8_t *code, size_t n)
{
    static cands c;
    c.n = 0;
    c.full = false;
    check(hp_x86_branch_candidates(code, n, SRC_VA, NULL, cand_add, &c) == HP_OK,
          "candidate scan failed", SRC_VA);
    for (size_t start = 0; start < n && start < 16; start++) {
        uint64_t ok = 0;
        check(hp_x86_branches(code + start, n - start, SRC_VA + start, cand_check, &c, &ok) ==
                  HP_OK,
              "branch decode failed", SRC_VA + start);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t ctl = hp_rd64(data);
    int64_t off = ctl >> 63 ? (int64_t)ctl : (int64_t)(int32_t)ctl;
    const uint8_t *code = data + 8;
    size_t n = size - 8;
    check_candidates(code, n);
    hp_func_scan s;
    check(hp_x86_scan(code, n, SRC_VA, &s) == HP_OK, "scan failed", SRC_VA);
    check_scan(&s, n);
    for (size_t i = 0; i < s.ninsns; i++) {
        const hp_insn *a = &s.insns[i];
        size_t at = (size_t)(a->va - SRC_VA);
        fuzz_one(a, code + at, n - at, a->va + (uint64_t)off, pick_ret(ctl, a));
    }
    hp_x86_scan_free(&s);
    return 0;
}
