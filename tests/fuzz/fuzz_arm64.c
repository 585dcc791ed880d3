/* libFuzzer harness for relocs/arm64: scan the input as a function body,
 * then relocate every word (measure at two unrelated addresses and at dst,
 * emit into a buffer of exactly the measured size) and check the output
 * with the independent symbolic evaluator of a64_sym.h: same branch target
 * on the same condition, same address, same load, x30 = the return address
 * for calls, no register outside the scratch set changed. Refusals and
 * range errors must carry a reason. The whole-image scans must agree with
 * decoding each word: hp_a64_branches reports exactly the decoded direct
 * branches, and hp_a64_branch_candidates with a filter exactly those whose
 * target the filter keeps. abort() on any mismatch.
 *
 * Input: 8 control bytes, then code. Control bits 0-31 are a signed
 * distance, scaled by bits 32-33 (x4, x1, x4096, /256); bits 34-36 choose
 * the scratch set; bits 37-38 the return address given for calls. */
#include "relocs/arm64.h"
#include "tests/fuzz/a64_sym.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRC_VA 0x0000555555550000ull

static void check(bool ok, const char *what, uint64_t va)
{
    if (!ok) {
        fprintf(stderr, "fuzz_arm64: %s (word at 0x%llx)\n", what, (unsigned long long)va);
        abort();
    }
}

static const uint32_t scratch_sets[8] = {
    0, 1u << 16, 3u << 16, 1u << 9, 1u << 9 | 1u << 10, 3u << 16 | 0xff, 0x7fffffffu, 1u << 30,
};

static int64_t distance(uint64_t ctl)
{
    int64_t d = (int32_t)ctl;
    switch ((ctl >> 32) & 3) {
    case 0: return d * 4;
    case 1: return d & ~3ll;
    case 2: return d * 4096;
    default: return (d / 256) & ~3ll;
    }
}

static uint64_t pick_ret(uint64_t ctl, uint64_t va)
{
    switch ((ctl >> 37) & 3) {
    case 0: return 0;
    case 1: return va + 4;
    case 2: return (ctl * 0x9e3779b97f4a7c15ull) & ~3ull;
    default: return va + 4 + (uint64_t)(distance(ctl) * 3);
    }
}

/* One reason, as the relocator promises: about the instruction, naming it. */
static bool has_reason(const hp_diags *why, uint64_t va)
{
    return why->n == 1 && why->v[0].level == HP_DIAG_REASON && why->v[0].va == va &&
           !strncmp(why->v[0].msg, "cannot relocate '", 17);
}

static void fuzz_one(const uint8_t *p, uint64_t src, uint64_t dst, uint64_t ret, uint32_t scratch)
{
    size_t m = 0, m2 = 0, m3 = 0, e = 0;
    char err[160];
    hp_diags why = {0};
    hp_status s = hp_a64_relocate(p, 4, src, dst, ret, scratch, NULL, &m, &why);
    hp_status s2 = hp_a64_relocate(p, 4, src, ~dst & ~3ull, ret, scratch, NULL, &m2, NULL);
    hp_status s3 = hp_a64_relocate(p, 4, src ^ 0x12345000, 0, ret, scratch, NULL, &m3, NULL);
    check(s == s2 && s == s3 && m == m2 && m == m3, "measure depends on the addresses", src);
    if (s != HP_OK) {
        check(s == HP_ERR_UNHOOKABLE && has_reason(&why, src) && m == 0,
              "refusal without reason", src);
        hp_diags_free(&why);
        return;
    }
    check(why.n == 0, "a reason without a refusal", src);
    check(m >= 4 && m <= HP_A64_RELOC_MAX && m % 4 == 0, "measured size", src);
    uint8_t *out = malloc(m);
    check(out != NULL, "malloc", src);
    s = hp_a64_relocate(p, 4, src, dst, ret, scratch, out, &e, &why);
    if (s == HP_ERR_RANGE) {
        check(e == 0 && has_reason(&why, src), "range error without reason", src);
    } else {
        check(s == HP_OK && e == m, "emit length != measured length", src);
        hp_insn in;
        check(hp_a64_decode(p, 4, src, &in) == HP_OK, "decode", src);
        uint64_t t = in.rip_rel ? in.mem_va : in.target_va;
        /* A target inside the new code itself cannot be told from a branch
         * within it; real placements never overlap the original code. */
        bool overlap = in.has_target && t - dst < e;
        if (!overlap && !sym_check(hp_rd32(p), src, out, e, dst, ret, scratch, err, sizeof err)) {
            char t[80];
            hp_a64_format(p, 4, src, t, sizeof t);
            fprintf(stderr, "'%s' 0x%llx -> 0x%llx scratch 0x%x: %s\n", t,
                    (unsigned long long)src, (unsigned long long)dst, scratch, err);
            check(false, "relocation changes the meaning", src);
        }
    }
    free(out);
    hp_diags_free(&why);
}

typedef struct brs {
    uint64_t at[1024], t[1024];
    size_t n;
    bool full;
} brs;

static hp_status br_add(void *ctx, uint64_t at, uint64_t t)
{
    brs *b = ctx;
    if (b->n == 1024)
        b->full = true;
    else {
        b->at[b->n] = at;
        b->t[b->n++] = t;
    }
    return HP_OK;
}

static void check_scans(const uint8_t *code, size_t n, uint64_t ctl)
{
    static brs all, cand;
    all.n = cand.n = 0;
    all.full = cand.full = false;
    uint64_t ok = 0, va = SRC_VA + ((ctl >> 40) & 3); /* sometimes misaligned */
    check(hp_a64_branches(code, n, va, br_add, &all, &ok) == HP_OK, "branches failed", va);
    hp_func_scan s;
    check(hp_a64_scan(code, n, va, &s) == HP_OK, "scan failed", va);
    check((va & 3) ? s.ninsns == 0 : s.ok_size == n / 4 * 4, "scan ok_size", va);
    size_t k = 0;
    for (size_t i = 0; i < s.ninsns && !all.full; i++) {
        const hp_insn *in = &s.insns[i];
        check(in->va == va + 4 * i && in->len == 4, "scan: words not contiguous", in->va);
        if (!in->has_target || in->rip_rel)
            continue;
        check(k < all.n && all.at[k] == in->va && all.t[k] == in->target_va,
              "a decoded branch is not what hp_a64_branches reports", in->va);
        k++;
    }
    check(all.full || (va & 3) || k == all.n, "hp_a64_branches reports extra branches", va);
    for (size_t i = 0; i < s.ntargets; i++)
        check(s.targets[i] - va < n && (i == 0 || s.targets[i] > s.targets[i - 1]),
              "scan targets", va);
    hp_a64_scan_free(&s);
    uint8_t blocks[32]; /* covers the largest span below */
    for (int i = 0; i < 32; i++)
        blocks[i] = (uint8_t)(ctl >> (i % 8 * 8));
    hp_target_filter f = {va - 0x1000, 0x2000 + (ctl & 0xfff), blocks};
    check(hp_a64_branch_candidates(code, n, va, &f, br_add, &cand) == HP_OK, "candidates", va);
    size_t j = 0;
    for (size_t i = 0; i < all.n && !all.full; i++) {
        uint64_t o = all.t[i] - f.lo;
        if (o >= f.span || !(blocks[o >> 9] >> ((o >> 6) & 7) & 1))
            continue;
        check(j < cand.n && cand.at[j] == all.at[i], "filtered candidates", all.at[i]);
        j++;
    }
    check(all.full || j == cand.n, "filtered candidates: extra", va);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t ctl = hp_rd64(data);
    const uint8_t *code = data + 8;
    size_t n = size - 8;
    check_scans(code, n, ctl);
    uint32_t scratch = scratch_sets[(ctl >> 34) & 7];
    for (size_t off = 0; off + 4 <= n; off += 4) {
        uint64_t src = SRC_VA + off;
        uint64_t dst = (uint64_t)((int64_t)src + distance(ctl));
        hp_insn in;
        char t[96];
        check(hp_a64_decode(code + off, 4, src, &in) == HP_OK, "decode", src);
        hp_a64_format(code + off, 4, src, t, sizeof t);
        (void)hp_a64_regs_written(hp_rd32(code + off));
        (void)hp_a64_is_reserved(hp_rd32(code + off));
        fuzz_one(code + off, src, dst, pick_ret(ctl, src), scratch);
    }
    hp_a64_go_check gc;
    uint64_t bva;
    if (hp_a64_go_stack_check(code, n, SRC_VA, &gc))
        check(gc.len <= n && gc.len % 4 == 0, "go check length", SRC_VA);
    if (hp_a64_go_morestack_return(code, n, SRC_VA, SRC_VA - 0x100, &bva))
        check(bva >= SRC_VA && bva < SRC_VA + n, "morestack return", bva);
    return 0;
}
