/* arm64_reloc: relocating one AArch64 instruction, and the fixed sequences
 * (jumps, stubs) hookpatch emits on arm64. The quirks these follow are in
 * the essay at the top of arm64.c.
 *
 * Measure and emit run the same handlers. Measuring (out == NULL) makes
 * every helper count the longest form it could choose for this word and
 * scratch set; emitting picks the shortest form that reaches, then the
 * caller's fixed size is filled with NOPs. A conditional's inverted branch
 * skips to the end of that fixed size, so its fall-through path runs no
 * padding and its taken path ends in an unconditional branch before it. */
#include "arm64_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- encoders */

#define A64_RET 0xd65f03c0u
#define RBIT(n) (1u << ((n) & 31))

static bool fits(int64_t v, unsigned bits)
{
    return v >= -(1ll << (bits - 1)) && v < (1ll << (bits - 1));
}

static uint32_t field(int64_t v, unsigned bits, unsigned pos)
{
    return (uint32_t)(((uint64_t)v & ((1ull << bits) - 1)) << pos);
}

static int64_t page_delta(uint64_t at, uint64_t to) { return (int64_t)((to >> 12) - (at >> 12)); }

static uint32_t enc_b(int64_t off) { return 0x14000000u | field(off / 4, 26, 0); }
static uint32_t enc_br(unsigned rn) { return 0xd61f0000u | rn << 5; }
static uint32_t enc_mov(unsigned rd, unsigned rm) { return 0xaa0003e0u | rm << 16 | rd; }
static uint32_t enc_add_reg(unsigned rd, unsigned rn, unsigned rm)
{
    return 0x8b000000u | rm << 16 | rn << 5 | rd;
}
static uint32_t enc_add_imm(unsigned rd, unsigned rn, unsigned imm12)
{
    return 0x91000000u | imm12 << 10 | rn << 5 | rd;
}

static uint32_t enc_adr21(uint32_t op, unsigned rd, int64_t v)
{
    return op | field(v, 2, 29) | field(v >> 2, 19, 5) | rd;
}
static uint32_t enc_adr(unsigned rd, int64_t off) { return enc_adr21(0x10000000u, rd, off); }
static uint32_t enc_adrp(unsigned rd, int64_t pages) { return enc_adr21(0x90000000u, rd, pages); }

/* LDR (unsigned offset) with the literal load's size and destination. */
static uint32_t enc_ldr_uimm(uint32_t lit, unsigned rn, unsigned off)
{
    static const uint32_t gpr[3] = {0xb9400000u, 0xf9400000u, 0xb9800000u}; /* W, X, SW */
    static const uint32_t simd[3] = {0xbd400000u, 0xfd400000u, 0x3dc00000u}; /* S, D, Q */
    bool v;
    unsigned size = a64_lit_size(lit, &v), opc = lit >> 30;
    return (v ? simd : gpr)[opc] | (off / size) << 10 | rn << 5 | (lit & 31);
}

/* LDR Xt, [Xn, #off] (off a multiple of 8): the 64-bit literal load's form. */
static uint32_t enc_ldr_x(unsigned rt, unsigned rn, unsigned off)
{
    return enc_ldr_uimm(0x58000000u | rt, rn, off);
}

bool hp_a64_retarget(uint32_t w, a64_class c, uint64_t at, uint64_t to, uint32_t *out)
{
    int64_t d = (int64_t)(to - at);
    unsigned bits = 0, pos = 5;
    switch (c) {
    case A_B:
    case A_BL: bits = 26, pos = 0; break;
    case A_BCOND:
    case A_CB:
    case A_LDR_LIT:
    case A_PRFM_LIT: bits = 19; break;
    case A_TB: bits = 14; break;
    case A_CMPBR: bits = 9; break;
    case A_ADR:
        if (!fits(d, 21))
            return false;
        *out = enc_adr(0, d) | (w & 0x9f00001fu);
        return true;
    case A_ADRP:
        d = page_delta(at, to);
        if ((to & 0xfff) || !fits(d, 21))
            return false;
        *out = enc_adrp(0, d) | (w & 0x9f00001fu);
        return true;
    default: return false;
    }
    if ((d & 3) || !fits(d / 4, bits))
        return false;
    uint32_t mask = (uint32_t)(((1ull << bits) - 1) << pos);
    *out = (w & ~mask) | field(d / 4, bits, pos);
    return true;
}

bool hp_a64_retarget_branch(uint8_t *p, uint64_t at_va, uint64_t to_va)
{
    uint32_t w = hp_rd32(p), nw;
    a64_class c = hp_a64_classify(w);
    if (!a64_is_branch(c) || !hp_a64_retarget(w, c, at_va, to_va, &nw))
        return false;
    hp_wr32(p, nw);
    return true;
}

bool hp_a64_is_b_or_bl(uint32_t word)
{
    a64_class c = hp_a64_classify(word);
    return c == A_B || c == A_BL;
}

/* ---- addresses computed in code (call-site redirection) */

/* ADD Xd, Xn, #imm12 (64-bit, no shift, flags untouched). */
static bool is_add_x_imm(uint32_t w) { return (w & 0xffc00000u) == 0x91000000u; }

/* MOVZ / MOVK, W or X. */
static bool is_movz(uint32_t w) { return (w & 0x7f800000u) == 0x52800000u; }
static bool is_movk(uint32_t w) { return (w & 0x7f800000u) == 0x72800000u; }

/* The last MOVK w of a run MOVZ Rd; MOVK Rd... (adjacent words, one
 * register and width) builds an absolute value: reported when it ends
 * there (the next word is not another MOVK of it). */
static bool movk_chain(const uint8_t *p, size_t before, size_t n, uint32_t w, hp_addr_ref *out)
{
    uint32_t key = w & 0x8000001fu; /* sf and Rd */
    if (n >= 8 && is_movk(hp_rd32(p + 4)) && (hp_rd32(p + 4) & 0x8000001fu) == key)
        return false;
    uint64_t v = 0, seen = 0;
    for (size_t k = 0; k <= 12 && k <= before; k += 4) {
        uint32_t x = hp_rd32(p - k);
        if ((x & 0x8000001fu) != key || (!is_movk(x) && !is_movz(x)))
            return false;
        unsigned sh = ((x >> 21) & 3) * 16;
        uint64_t m = 0xffffull << sh;
        if (!(seen & m))
            v |= (uint64_t)((x >> 5) & 0xffff) << sh; /* the latest write wins */
        seen |= m;
        if (is_movz(x)) {
            *out = (hp_addr_ref){.kind = HP_REF_ABS, .addr = v,
                                 .why = "an absolute address built by MOVZ/MOVK (not "
                                        "re-pointed)"};
            return true;
        }
    }
    return false;
}

/* Whether any register field of w (bits 0, 5, 10, 16) is r: w may read
 * it. Over-approximate on purpose: a yes only costs a re-pointing. */
static bool may_name(uint32_t w, unsigned r)
{
    return (w & 31) == r || ((w >> 5) & 31) == r || ((w >> 10) & 31) == r ||
           ((w >> 16) & 31) == r;
}

/* The ADRP that set Xrn for the word at p (va), looked for up to 8 words
 * back (before bytes readable), stopping at a branch or another write of
 * Xrn: its distance *k and page; *between: a word between them may read
 * Xrn. */
static bool adrp_before(const uint8_t *p, size_t before, uint64_t va, unsigned rn, size_t *k,
                        uint64_t *page, bool *between)
{
    *between = false;
    for (*k = 4; *k <= 32 && *k <= before; *k += 4) {
        uint32_t v = hp_rd32(p - *k);
        a64_class vc = hp_a64_classify(v);
        if (vc == A_ADRP && (v & 31) == rn) {
            *page = hp_a64_target(v, vc, va - *k);
            return true;
        }
        if (a64_is_branch(vc) || vc == A_RET || vc == A_BR || vc == A_BLR || vc == A_ERET ||
            (hp_a64_regs_written(v) & HP_A64_REG(rn)))
            return false;
        *between |= may_name(v, rn);
    }
    return false;
}

/* An 8-byte word at lit, if it lies in the bytes given: a literal in code. */
static bool literal_at(const uint8_t *p, size_t before, size_t n, uint64_t va, uint64_t lit,
                       hp_addr_ref *out)
{
    if (lit < va - before || lit + 8 > va + n || lit + 8 < lit)
        return false;
    *out = (hp_addr_ref){.kind = HP_REF_ABS, .addr = hp_rd64(p + (lit - va)),
                         .why = "a literal word in code holding the absolute address (not "
                                "re-pointed)"};
    return true;
}

bool hp_a64_addr_ref(const uint8_t *p, size_t before, size_t n, uint64_t va, hp_addr_ref *out)
{
    *out = (hp_addr_ref){0};
    if (n < 4)
        return false;
    uint32_t w = hp_rd32(p);
    a64_class c = hp_a64_classify(w);
    if (c == A_ADR && before >= 4 && hp_rd32(p - 4) == A64_NOP) {
        /* NOP; ADR (lld relaxes ADRP+ADD so): becomes ADRP+ADD again */
        *out = (hp_addr_ref){.kind = HP_REF_PCADDR, .size = 8, .addr = hp_a64_target(w, c, va),
                             .back = 4, .len = 8};
        return true;
    }
    if (c == A_ADR) {
        *out = (hp_addr_ref){.kind = HP_REF_ABS, .addr = hp_a64_target(w, c, va),
                             .why = "an ADR, whose +-1 MiB reach may not cover the new code "
                                    "(not re-pointed)"};
        return true;
    }
    if (c == A_LDR_LIT && (w & 0xff000000u) == 0x58000000u) /* LDR Xt, literal */
        return literal_at(p, before, n, va, hp_a64_target(w, c, va), out);
    if (is_movk(w))
        return movk_chain(p, before, n, w, out);
    bool add = is_add_x_imm(w), ldr = (w & 0xffc00000u) == 0xf9400000u; /* LDR Xt, [Xn, #] */
    unsigned rn = (w >> 5) & 31, rd = w & 31, imm = (w >> 10) & 0xfff;
    size_t k;
    uint64_t page;
    bool between;
    if ((!add && !ldr) || rn == 31 || !adrp_before(p, before, va, rn, &k, &page, &between))
        return false;
    if (ldr) /* a load of a word in code (-mcmodel=large's literal pool) */
        return literal_at(p, before, n, va, page + imm * 8, out);
    if (rd == rn && !between) {
        *out = (hp_addr_ref){.kind = HP_REF_PCADDR, .size = 8, .addr = page + imm,
                             .back = (uint8_t)k, .len = (uint8_t)(k + 4)};
        return true;
    }
    *out = (hp_addr_ref){.kind = HP_REF_ABS, .addr = page + imm,
                         .why = "an ADRP+ADD address computation whose page stays in its "
                                "register, or may be read between them (not re-pointed)"};
    return true;
}

bool hp_a64_retarget_addr(uint8_t *p, size_t len, uint64_t at_va, const hp_addr_ref *ref,
                          uint64_t to_va)
{
    if (ref->kind != HP_REF_PCADDR || len < 8 || len % 4)
        return false;
    uint32_t adrp = hp_rd32(p), add = hp_rd32(p + len - 4), nw;
    if (len == 8 && adrp == A64_NOP && hp_a64_classify(add) == A_ADR) {
        unsigned rd = add & 31; /* NOP; ADR Xd -> ADRP Xd; ADD Xd, Xd, #lo12 */
        adrp = enc_adrp(rd, 0);
        add = 0x91000000u | rd << 5 | rd;
    }
    if (hp_a64_classify(adrp) != A_ADRP || !is_add_x_imm(add) ||
        !hp_a64_retarget(adrp, A_ADRP, at_va, to_va & ~0xfffull, &nw))
        return false;
    hp_wr32(p, nw);
    hp_wr32(p + len - 4, (add & ~(0xfffu << 10)) | (uint32_t)(to_va & 0xfff) << 10);
    return true;
}

/* ---- materialising a 64-bit constant */

/* N:immr:imms (bits 22:10) of the bitmask immediate equal to v, for a
 * 64-bit or (width 32, v < 2^32) 32-bit ORR. */
static bool bitmask_imm(uint64_t v, unsigned width, uint32_t *enc)
{
    if (width == 32)
        v = (v & 0xffffffffu) | v << 32;
    if (v == 0 || v == ~0ull)
        return false;
    unsigned e = 64;
    while (e > 2) { /* the smallest element v replicates */
        unsigned h = e / 2;
        uint64_t m = (1ull << h) - 1;
        if ((v & m) != ((v >> h) & m))
            break;
        e = h;
    }
    if (width == 32 && e == 64)
        return false;
    uint64_t m = e == 64 ? ~0ull : (1ull << e) - 1, x = v & m;
    unsigned ones = (unsigned)__builtin_popcountll(x);
    uint64_t run = (1ull << ones) - 1; /* ones < e: x is neither 0 nor all ones */
    for (unsigned r = 0; r < e; r++) {
        uint64_t rot = r ? ((run >> r) | (run << (e - r))) & m : run;
        if (rot == x) {
            *enc = (e == 64 ? 1u : 0u) << 12 | r << 6 | ((~(2 * e - 1) & 0x3f) | (ones - 1));
            return true;
        }
    }
    return false;
}

static unsigned halfword(uint64_t v, unsigned i) { return (unsigned)(v >> (16 * i)) & 0xffff; }

/* MOVZ (inv false) or MOVN (inv true) of the first halfword that differs
 * from the fill, then MOVK for each other one that differs. */
static unsigned mov_wide(uint32_t *o, unsigned rd, uint64_t v, unsigned hws, bool inv)
{
    unsigned fill = inv ? 0xffff : 0, first = 0, n = 1;
    uint32_t sf = hws == 4 ? 0x80000000u : 0;
    while (first < hws && halfword(v, first) == fill)
        first++;
    if (first == hws) /* v is all fill: one MOVZ #0 or MOVN #0 */
        first = 0;
    unsigned h = halfword(v, first);
    o[0] = sf | (inv ? 0x12800000u : 0x52800000u) | first << 21 | (inv ? ~h & 0xffff : h) << 5 |
           rd;
    for (unsigned i = first + 1; i < hws; i++)
        if ((h = halfword(v, i)) != fill)
            o[n++] = sf | 0x72800000u | i << 21 | h << 5 | rd;
    return n;
}

/* ORR with a bitmask equal to v except in one halfword, then MOVK it. */
static unsigned orr_movk(uint32_t *o, unsigned rd, uint64_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        unsigned cand[6] = {halfword(v, 0), halfword(v, 1), halfword(v, 2), halfword(v, 3), 0,
                            0xffff};
        for (unsigned k = 0; k < 6; k++) {
            uint64_t x = (v & ~(0xffffull << (16 * i))) | (uint64_t)cand[k] << (16 * i);
            uint32_t enc;
            if (x != v && bitmask_imm(x, 64, &enc)) {
                o[0] = 0xb20003e0u | enc << 10 | rd;
                o[1] = 0xf2800000u | i << 21 | halfword(v, i) << 5 | rd;
                return 2;
            }
        }
    }
    return 0;
}

/* xrd := v in 1 to 4 words (written to o); the count depends only on v. */
static unsigned mov_imm(uint32_t *o, unsigned rd, uint64_t v)
{
    uint32_t best[4], cand[4], enc;
    unsigned n = mov_wide(best, rd, v, 4, false), k;
#define TRY(expr)                                                                             \
    do {                                                                                      \
        k = (expr);                                                                           \
        if (k && k < n) {                                                                     \
            n = k;                                                                            \
            memcpy(best, cand, sizeof cand);                                                  \
        }                                                                                     \
    } while (0)
    TRY(mov_wide(cand, rd, v, 4, true));
    if (v >> 32 == 0)
        TRY(mov_wide(cand, rd, v, 2, true)); /* MOVN w zero-extends */
    if (bitmask_imm(v, 64, &enc))
        TRY((cand[0] = 0xb20003e0u | enc << 10 | rd, 1));
    if (v >> 32 == 0 && bitmask_imm(v, 32, &enc))
        TRY((cand[0] = 0x320003e0u | enc << 10 | rd, 1));
    if (n > 2)
        TRY(orr_movk(cand, rd, v));
#undef TRY
    memcpy(o, best, n * sizeof *o);
    return n;
}

/* ---- relocation */

/* State of one hp_a64_relocate pass. out == NULL measures the worst case. */
typedef struct a64_reloc {
    uint32_t w;
    a64_class c;
    uint64_t src_va, dst_va, ret_va;
    uint64_t end_va; /* dst_va + the measured size (emitting only) */
    uint32_t free;   /* scratch registers not yet excluded */
    uint8_t *out;    /* borrowed; NULL when measuring */
    size_t len;
    hp_diags *why;   /* borrowed; NULL: no reason wanted */
} a64_reloc;

static hp_status refuse(a64_reloc *r, hp_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static hp_status refuse(a64_reloc *r, hp_status s, const char *fmt, ...)
{
    if (!r->why)
        return s;
    char text[64];
    uint8_t b[4];
    hp_wr32(b, r->w);
    hp_a64_format(b, 4, r->src_va, text, sizeof text);
    va_list ap;
    va_start(ap, fmt);
    hp_status st = hp_insn_refuse(r->why, s, r->src_va, text, fmt, ap);
    va_end(ap);
    return st;
}

static hp_status out_of_reach(a64_reloc *r, uint64_t to, const char *need)
{
    return refuse(r, HP_ERR_RANGE, "0x%llx is out of reach from 0x%llx %s",
                  (unsigned long long)to, (unsigned long long)r->dst_va, need);
}

static void put(a64_reloc *r, uint32_t w)
{
    if (r->out)
        hp_wr32(r->out + r->len, w);
    r->len += 4;
}

static void count(a64_reloc *r, unsigned words) { r->len += 4 * words; }

static uint64_t here(const a64_reloc *r) { return r->dst_va + r->len; }

/* Scratch registers are used x16, x17 first (BR through them is a call-type
 * branch every BTI landing pad accepts), then x0 upwards. */
static int nth_free(uint32_t free, unsigned k)
{
    static const uint8_t order[31] = {16, 17, 0,  1,  2,  3,  4,  5,  6,  7,  8,
                                      9,  10, 11, 12, 13, 14, 15, 18, 19, 20, 21,
                                      22, 23, 24, 25, 26, 27, 28, 29, 30};
    for (unsigned i = 0; i < 31; i++)
        if ((free & RBIT(order[i])) && k-- == 0)
            return order[i];
    return -1;
}

static void put_mov_imm(a64_reloc *r, unsigned rd, uint64_t v)
{
    uint32_t o[4];
    unsigned n = mov_imm(o, rd, v);
    for (unsigned i = 0; i < n; i++)
        put(r, o[i]);
}

/* xrd := to, PC-relatively. Worst case 2 words, 6 with a tmp register. */
static hp_status put_addr(a64_reloc *r, unsigned rd, uint64_t to, int tmp)
{
    if (!r->out) {
        count(r, tmp >= 0 ? 6 : 2);
        return HP_OK;
    }
    int64_t d = (int64_t)(to - here(r)), pages = page_delta(here(r), to);
    if (fits(d, 21)) {
        put(r, enc_adr(rd, d));
    } else if (fits(pages, 21)) {
        put(r, enc_adrp(rd, pages));
        if (to & 0xfff)
            put(r, enc_add_imm(rd, rd, (unsigned)(to & 0xfff)));
    } else if (tmp >= 0) {
        uint64_t anchor = here(r);
        put(r, enc_adr(rd, 0));
        put_mov_imm(r, (unsigned)tmp, to - anchor);
        put(r, enc_add_reg(rd, rd, (unsigned)tmp));
    } else {
        return out_of_reach(r, to, "(+-4 GiB) without a scratch register");
    }
    return HP_OK;
}

/* Jump to `to`. anchor >= 0 is a register holding anchor_va, which saves
 * the ADR the any-distance form needs. Worst case: 1 word without scratch,
 * 3 with one, 6 with one and an anchor, 7 with two. */
static hp_status put_jump(a64_reloc *r, uint64_t to, int anchor, uint64_t anchor_va)
{
    int s1 = nth_free(r->free, 0), s2 = anchor >= 0 ? -1 : nth_free(r->free, 1);
    if (!r->out) {
        count(r, s1 < 0 ? 1 : anchor >= 0 ? 6 : s2 >= 0 ? 7 : 3);
        return HP_OK;
    }
    int64_t pages = page_delta(here(r), to);
    if (hp_a64_b_reach(here(r), to)) {
        put(r, enc_b((int64_t)(to - here(r))));
        return HP_OK;
    }
    if (s1 < 0)
        return out_of_reach(r, to, "(+-128 MiB) without a scratch register");
    if (fits(pages, 21)) {
        put(r, enc_adrp((unsigned)s1, pages));
        if (to & 0xfff)
            put(r, enc_add_imm((unsigned)s1, (unsigned)s1, (unsigned)(to & 0xfff)));
    } else {
        if (anchor < 0 && s2 < 0)
            return out_of_reach(r, to, "(+-4 GiB) with one scratch register");
        if (anchor < 0) {
            anchor = s2;
            anchor_va = here(r);
            put(r, enc_adr((unsigned)s2, 0));
        }
        put_mov_imm(r, (unsigned)s1, to - anchor_va);
        put(r, enc_add_reg((unsigned)s1, (unsigned)s1, (unsigned)anchor));
    }
    put(r, enc_br((unsigned)s1));
    return HP_OK;
}

/* w (of class c) re-aimed at `to` from here; emitting only. */
static hp_status put_aimed(a64_reloc *r, uint32_t w, a64_class c, uint64_t to)
{
    uint32_t nw = 0;
    if (r->out && !hp_a64_retarget(w, c, here(r), to, &nw))
        return HP_ERR_INTERNAL; /* only used for hops within the sequence */
    put(r, nw);
    return HP_OK;
}

/* B.cond, BC.cond, CB(N)Z, TB(N)Z, CB<cc>: the original re-aimed when it
 * reaches; else the inverted condition skips a jump to the target. CB<cc>
 * has no inverse for every condition, so it hops over a B instead:
 * "cb<cc> L; b end; L: jump target". */
static hp_status reloc_cond(a64_reloc *r, uint64_t to)
{
    uint32_t nw;
    unsigned rt = r->w & 31;
    if (r->c == A_CB || r->c == A_TB || r->c == A_CMPBR)
        r->free &= ~RBIT(rt);
    if (r->c == A_CMPBR && !((r->w >> 24) & 1))
        r->free &= ~RBIT(r->w >> 16);
    if (r->out && hp_a64_retarget(r->w, r->c, here(r), to, &nw)) {
        put(r, nw);
        return HP_OK;
    }
    if (r->c == A_CMPBR) {
        HP_CHECK(put_aimed(r, r->w, r->c, here(r) + 8));
        HP_CHECK(put_aimed(r, 0x14000000u, A_B, r->end_va));
    } else {
        uint32_t inv = r->w ^ (r->c == A_BCOND ? 1u : 1u << 24); /* cond lsb; the NZ bit */
        HP_CHECK(put_aimed(r, inv, r->c, r->end_va));
    }
    return put_jump(r, to, -1, 0);
}

static hp_status need_ret(a64_reloc *r)
{
    if (r->ret_va)
        return HP_OK;
    return refuse(r, HP_ERR_UNHOOKABLE, "a stolen call would leave a return address in the "
                                        "new code (no return address given)");
}

/* BL: x30 := ret_va; jump to the callee (x30 is then the anchor). */
static hp_status reloc_bl(a64_reloc *r, uint64_t callee)
{
    HP_CHECK(need_ret(r));
    r->free &= ~RBIT(30);
    HP_CHECK(put_addr(r, 30, r->ret_va, nth_free(r->free, 0)));
    return put_jump(r, callee, 30, r->ret_va);
}

/* A register the BR form can use instead of xn: x16/x17 keep the branch a
 * call for BTI; xn == x30 must be copied before x30 is overwritten. */
static int blr_branch_reg(a64_reloc *r, unsigned rn)
{
    if (rn == 16 || rn == 17)
        return (int)rn;
    if (r->free & RBIT(16))
        return 16;
    if (r->free & RBIT(17))
        return 17;
    return rn == 30 ? nth_free(r->free, 0) : (int)rn;
}

/* A register for a copy of x30 as the PAC modifier, leaving x16/x17 to the
 * branch when there is a choice. */
static int blr_mod_reg(a64_reloc *r)
{
    int m = nth_free(r->free & ~HP_A64_X16_X17, 0);
    return m >= 0 ? m : nth_free(r->free, 0);
}

/* BLR, BLRAA/BLRAB (modifier xm or sp), BLRAAZ/BLRABZ: x30 := ret_va, then
 * the BR form of the same instruction (bit 21 clear). Operands in x30 are
 * copied first. */
static hp_status reloc_blr(a64_reloc *r)
{
    unsigned rn = (r->w >> 5) & 31, rm = r->w & 31;
    bool has_rm = (r->w & 0xfffff800u) == 0xd73f0800u, copy_m = has_rm && rm == 30 && rn != 30;
    HP_CHECK(need_ret(r));
    r->free &= ~(RBIT(30) | RBIT(rn) | (has_rm ? RBIT(rm) : 0));
    int mreg = copy_m ? blr_mod_reg(r) : (int)rm;
    if (mreg < 0)
        return refuse(r, HP_ERR_UNHOOKABLE, "its modifier is x30, which must become the "
                                            "return address: needs a scratch register");
    if (copy_m)
        r->free &= ~RBIT(mreg);
    int breg = blr_branch_reg(r, rn);
    if (breg < 0)
        return refuse(r, HP_ERR_UNHOOKABLE, "it branches through x30, which must become the "
                                            "return address: needs a scratch register");
    if ((unsigned)breg != rn) {
        put(r, enc_mov((unsigned)breg, rn));
        r->free &= ~RBIT(breg);
    }
    if (copy_m)
        put(r, enc_mov((unsigned)mreg, 30));
    if (has_rm && rm == 30 && rn == 30)
        mreg = breg; /* one copy of x30 serves both */
    HP_CHECK(put_addr(r, 30, r->ret_va, nth_free(r->free, 0)));
    uint32_t br = (r->w & ~(1u << 21) & ~(31u << 5)) | (unsigned)breg << 5;
    put(r, has_rm ? (br & ~31u) | (unsigned)mreg : br);
    return HP_OK;
}

/* ADR, ADRP: the same address into the same register. */
static hp_status reloc_adr(a64_reloc *r, uint64_t to)
{
    unsigned rd = r->w & 31;
    if (rd == 31) { /* writes xzr: no effect anywhere */
        put(r, r->w);
        return HP_OK;
    }
    r->free &= ~RBIT(rd);
    return put_addr(r, rd, to, nth_free(r->free, 0));
}

/* LDR/LDRSW literal (and PRFM). A general destination holds its own
 * address; SIMD and xzr destinations need a scratch register for it. */
static hp_status reloc_literal(a64_reloc *r, uint64_t to)
{
    uint32_t nw;
    bool simd;
    unsigned size = a64_lit_size(r->w, &simd), rt = r->w & 31, lo = (unsigned)(to & 0xfff);
    if (r->out && hp_a64_retarget(r->w, r->c, here(r), to, &nw)) {
        put(r, nw);
        return HP_OK;
    }
    if (r->c == A_PRFM_LIT) { /* a hint: dropping it changes nothing architectural */
        put(r, A64_NOP);
        return HP_OK;
    }
    bool own = !simd && rt != 31;
    int areg = own ? (int)rt : nth_free(r->free, 0);
    if (areg < 0) {
        if (r->out)
            return out_of_reach(r, to, "(+-1 MiB) without a scratch register for the address");
        count(r, 1);
        return HP_OK;
    }
    r->free &= ~RBIT(areg);
    int tmp = nth_free(r->free, 0);
    if (!r->out) {
        count(r, tmp >= 0 ? 7 : 3);
        return HP_OK;
    }
    int64_t pages = page_delta(here(r), to);
    if (fits(pages, 21) && lo % size == 0) {
        put(r, enc_adrp((unsigned)areg, pages));
        put(r, enc_ldr_uimm(r->w, (unsigned)areg, lo));
        return HP_OK;
    }
    HP_CHECK(put_addr(r, (unsigned)areg, to, tmp));
    put(r, enc_ldr_uimm(r->w, (unsigned)areg, 0));
    return HP_OK;
}

static hp_status reloc_dispatch(a64_reloc *r)
{
    uint64_t t = hp_a64_target(r->w, r->c, r->src_va);
    switch (r->c) {
    case A_B: return put_jump(r, t, -1, 0);
    case A_BCOND:
        if (a64_bcond_always(r->w))
            return put_jump(r, t, -1, 0);
        return reloc_cond(r, t);
    case A_CB:
    case A_TB:
    case A_CMPBR: return reloc_cond(r, t);
    case A_BL: return reloc_bl(r, t);
    case A_BLR: return reloc_blr(r);
    case A_ADR:
    case A_ADRP: return reloc_adr(r, t);
    case A_LDR_LIT:
    case A_PRFM_LIT: return reloc_literal(r, t);
    case A_PAC_SIGN_PC:
        return refuse(r, HP_ERR_UNHOOKABLE, "it signs with its own address (FEAT_PAuth_LR), "
                                            "which the epilogue checks");
    case A_PAUTH_LR:
    case A_PAUTH_LR_RET:
        return refuse(r, HP_ERR_UNHOOKABLE, "it authenticates against a PC-relative label "
                                            "(FEAT_PAuth_LR)");
    default: put(r, r->w); return HP_OK;
    }
}

hp_status hp_a64_relocate(const uint8_t *p, size_t n, uint64_t src_va, uint64_t dst_va,
                          uint64_t ret_va, uint32_t scratch, uint8_t *out, size_t *len,
                          hp_diags *why)
{
    if (!len)
        return HP_ERR_INTERNAL;
    *len = 0;
    if (!p || n < HP_A64_INSN_LEN || (src_va & 3)) {
        hp_status st = hp_diag_reason(why, NULL, NULL, src_va,
                                      "no whole aligned instruction at 0x%llx",
                                      (unsigned long long)src_va);
        return st == HP_OK ? HP_ERR_FORMAT : st;
    }
    if (dst_va & 3)
        return HP_ERR_INTERNAL;
    uint32_t w = hp_rd32(p);
    a64_reloc r = {.w = w, .c = hp_a64_classify(w), .src_va = src_va, .dst_va = dst_va,
                   .ret_va = ret_va, .free = scratch & 0x7fffffffu, .why = why};
    HP_CHECK(reloc_dispatch(&r));
    size_t size = r.len;
    if (out) {
        r.len = 0;
        r.out = out;
        r.end_va = dst_va + size;
        r.free = scratch & 0x7fffffffu;
        HP_CHECK(reloc_dispatch(&r));
        if (r.len > size)
            return HP_ERR_INTERNAL;
        while (r.len < size)
            put(&r, A64_NOP);
    }
    *len = size;
    return HP_OK;
}

/* ---- fixed sequences */

bool hp_a64_b_reach(uint64_t at_va, uint64_t to_va)
{
    int64_t d = (int64_t)(to_va - at_va);
    return !(d & 3) && fits(d / 4, 26);
}

size_t hp_a64_b(uint8_t *out, uint64_t at_va, uint64_t to_va)
{
    if (!out)
        return 4;
    if (!hp_a64_b_reach(at_va, to_va))
        return 0;
    hp_wr32(out, enc_b((int64_t)(to_va - at_va)));
    return 4;
}

size_t hp_a64_jmp_far(uint8_t *out, uint64_t at_va, uint64_t to_va, unsigned xreg)
{
    if (xreg > 30)
        return 0;
    if (!out)
        return 12;
    int64_t pages = page_delta(at_va, to_va);
    if (!fits(pages, 21))
        return 0;
    hp_wr32(out, enc_adrp(xreg, pages));
    hp_wr32(out + 4, enc_add_imm(xreg, xreg, (unsigned)(to_va & 0xfff)));
    hp_wr32(out + 8, enc_br(xreg));
    return 12;
}

size_t hp_a64_jmp_abs(uint8_t *out, uint64_t to_va, unsigned xreg)
{
    if (xreg > 30)
        return 0;
    if (out) {
        hp_wr32(out, 0x58000040u | xreg); /* ldr xreg, #8 */
        hp_wr32(out + 4, enc_br(xreg));
        hp_wr64(out + HP_A64_JMP_ABS_QUAD, to_va);
    }
    return 16;
}

size_t hp_a64_ret_imm(uint8_t *out, int64_t value)
{
    uint32_t o[5];
    unsigned n = mov_imm(o, 0, (uint64_t)value);
    o[n++] = A64_RET;
    for (unsigned i = 0; out && i < n; i++)
        hp_wr32(out + 4 * i, o[i]);
    return 4 * n;
}

static size_t put_word(uint8_t *out, uint32_t w)
{
    if (out)
        hp_wr32(out, w);
    return 4;
}

size_t hp_a64_trap(uint8_t *out) { return put_word(out, HP_A64_TRAP_IMM); } /* udf #imm */
size_t hp_a64_bti_c(uint8_t *out) { return put_word(out, 0xd503245fu); }
size_t hp_a64_nop(uint8_t *out) { return put_word(out, A64_NOP); }

/* ADRP+LDR of an 8-byte word at slot_va into xreg. */
static bool a64_load_slot(uint8_t *out, uint64_t at_va, uint64_t slot_va, unsigned xreg)
{
    int64_t pages = page_delta(at_va, slot_va);
    if (!fits(pages, 21) || (slot_va & 7))
        return false;
    hp_wr32(out, enc_adrp(xreg, pages));
    hp_wr32(out + 4, enc_ldr_x(xreg, xreg, (unsigned)(slot_va & 0xfff)));
    return true;
}

size_t hp_a64_dispatch(uint8_t *out, uint64_t at_va, uint64_t slot_va, uint64_t tramp_va,
                       bool go)
{
    size_t n = go ? 28 : 20;
    if (!out)
        return n;
    if (!a64_load_slot(out, at_va, slot_va, 16) || !hp_a64_b_reach(at_va + 12, tramp_va))
        return 0;
    hp_wr32(out + 8, 0xb5000000u | 2u << 5 | 16); /* cbnz x16, .+8 */
    hp_wr32(out + 12, enc_b((int64_t)(tramp_va - (at_va + 12))));
    if (!go) {
        hp_wr32(out + 16, enc_br(16));
        return n;
    }
    hp_wr32(out + 16, enc_mov(26, 16));          /* the closure context */
    hp_wr32(out + 20, enc_ldr_x(17, 16, 0)); /* the func value's code */
    hp_wr32(out + 24, enc_br(17));
    return n;
}

size_t hp_a64_ret_addr(uint8_t *out, uint64_t at_va, uint64_t to_va)
{
    if (!out)
        return 12;
    int64_t pages = page_delta(at_va, to_va);
    if (!fits(pages, 21))
        return 0;
    hp_wr32(out, enc_adrp(0, pages));
    hp_wr32(out + 4, enc_add_imm(0, 0, (unsigned)(to_va & 0xfff)));
    hp_wr32(out + 8, A64_RET);
    return 12;
}

/* Go's ABIInternal keeps g in x28. */
size_t hp_a64_ret_go_g(uint8_t *out)
{
    if (out) {
        hp_wr32(out, enc_mov(0, 28));
        hp_wr32(out + 4, A64_RET);
    }
    return 8;
}
