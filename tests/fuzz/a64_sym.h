/* a64_sym: an independent check of what hp_a64_relocate emits, shared by
 * tests/unit/test_arm64_reloc.c and tests/fuzz/fuzz_arm64.c. It decodes the
 * output itself (its own field extraction, not relocs/arm64's) and follows
 * every path through it symbolically: registers start as "the value xN had",
 * ADR/ADRP/MOVZ/MOVN/MOVK/ORR/ADD produce constants, loads are recorded, and
 * a conditional is matched against the original's test (same or inverted).
 * sym_check then insists the sequence means what the original word meant at
 * src_va: same branch target on the same condition, same address in the
 * same register, same load, x30 = ret_va for calls, and every register
 * outside the scratch set and the instruction's own destination unchanged.
 * Words it does not know are only accepted as a verbatim copy. */
#ifndef A64_SYM_H
#define A64_SYM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { SV_CONST, SV_REG, SV_UNKNOWN };
typedef struct sym_val {
    int kind;
    uint64_t v; /* SV_CONST: the value; SV_REG: the register number */
} sym_val;

typedef struct sym_load {
    uint32_t base; /* the load's opcode bits (size, V, opc) without fields */
    unsigned rt;
    uint64_t va;
} sym_load;

typedef struct sym_path {
    sym_val r[32];
    bool indirect;      /* left through a BR-form word (br_word, with operands) */
    uint32_t br_word;   /* the BR-form word with Rn/Rm cleared */
    sym_val br_target, br_mod;
    uint64_t exit_va;   /* direct exits */
    sym_load loads[2];
    unsigned nloads;
    unsigned nprefetch;
    uint64_t prefetch_va;
    bool copied; /* ran the original word verbatim */
} sym_path;

static int64_t sym_sext(uint64_t v, unsigned bits)
{
    uint64_t m = 1ull << (bits - 1);
    v &= bits == 64 ? ~0ull : (1ull << bits) - 1;
    return (int64_t)((v ^ m) - m);
}

/* The Arm ARM's DecodeBitMasks for a logical immediate. */
static bool sym_bitmask(unsigned n, unsigned immr, unsigned imms, bool sf, uint64_t *out)
{
    unsigned combined = (n << 6) | (~imms & 0x3f), len = 0;
    for (int i = 6; i >= 0; i--)
        if (combined & (1u << i)) {
            len = (unsigned)i;
            break;
        }
    if (len < 1 || (!sf && n))
        return false;
    unsigned esize = 1u << len, levels = esize - 1, s = imms & levels, r = immr & levels;
    if (s == levels)
        return false;
    uint64_t emask = esize == 64 ? ~0ull : (1ull << esize) - 1;
    uint64_t welem = (s + 1 == 64) ? ~0ull : (1ull << (s + 1)) - 1;
    uint64_t elem = r ? ((welem >> r) | (welem << (esize - r))) & emask : welem;
    uint64_t v = 0;
    for (unsigned i = 0; i < 64; i += esize)
        v |= elem << i;
    *out = sf ? v : v & 0xffffffffu;
    return true;
}

/* Whether a conditional word w tests what orig tests (1), the inverse (0),
 * or something else (-1); *t its target when it is one. */
static int sym_cond(uint32_t orig, uint32_t w, uint64_t va, uint64_t *t)
{
    if ((w & 0xff000000u) == 0x54000000u && (orig & 0xff000000u) == 0x54000000u) {
        *t = va + (uint64_t)(sym_sext(w >> 5, 19) * 4);
        if ((w & 0x10) != (orig & 0x10))
            return -1;
        return (w & 15) == (orig & 15) ? 1 : ((w ^ orig) & 15) == 1 && (orig & 14) != 14 ? 0 : -1;
    }
    uint32_t keep;
    if ((w & 0x7e000000u) == 0x34000000u) {
        *t = va + (uint64_t)(sym_sext(w >> 5, 19) * 4);
        keep = 0x8000001fu;
    } else if ((w & 0x7e000000u) == 0x36000000u) {
        *t = va + (uint64_t)(sym_sext(w >> 5, 14) * 4);
        keep = 0x80f8001fu;
    } else if ((w & 0x7e000000u) == 0x74000000u) {
        *t = va + (uint64_t)(sym_sext(w >> 5, 9) * 4);
        return (w & ~0x3fe0u) == (orig & ~0x3fe0u) ? 1 : -1;
    } else {
        return -1;
    }
    if ((w & 0x7e000000u) != (orig & 0x7e000000u) || (w & keep) != (orig & keep))
        return -1;
    return ((w ^ orig) >> 24) & 1 ? 0 : 1;
}

static sym_val sym_c(uint64_t v) { return (sym_val){SV_CONST, v}; }

static sym_val sym_reg(const sym_path *p, unsigned r, bool zr)
{
    if (r == 31)
        return zr ? sym_c(0) : (sym_val){SV_REG, 31};
    return p->r[r];
}

static void sym_set(sym_path *p, unsigned r, sym_val v)
{
    if (r != 31)
        p->r[r] = v;
}

/* Data-processing words the relocator emits. false: not one of them. */
static bool sym_dp(sym_path *p, uint32_t w, uint64_t va)
{
    unsigned rd = w & 31, rn = (w >> 5) & 31, rm = (w >> 16) & 31, hw = (w >> 21) & 3;
    uint64_t imm16 = (w >> 5) & 0xffff, bm;
    sym_val a = sym_reg(p, rn, false), b = sym_reg(p, rm, true);
    if ((w & 0x9f000000u) == 0x10000000u || (w & 0x9f000000u) == 0x90000000u) {
        int64_t imm = sym_sext((uint64_t)((w >> 5) & 0x7ffff) << 2 | ((w >> 29) & 3), 21);
        sym_set(p, rd, sym_c(w >> 31 ? (va & ~0xfffull) + (uint64_t)(imm * 4096)
                                     : va + (uint64_t)imm));
    } else if ((w & 0xff800000u) == 0x91000000u) { /* ADD x, x|sp, #imm{, lsl 12} */
        uint64_t imm = ((w >> 10) & 0xfff) << ((w >> 22) & 1 ? 12 : 0);
        sym_set(p, rd, a.kind == SV_CONST ? sym_c(a.v + imm) : (sym_val){SV_UNKNOWN, 0});
    } else if ((w & 0xffe0fc00u) == 0x8b000000u) { /* ADD x, x, x */
        a = sym_reg(p, rn, true);
        sym_set(p, rd, a.kind == SV_CONST && b.kind == SV_CONST ? sym_c(a.v + b.v)
                                                                : (sym_val){SV_UNKNOWN, 0});
    } else if ((w & 0xffe0ffe0u) == 0xaa0003e0u) { /* MOV x, x */
        sym_set(p, rd, b);
    } else if ((w & 0x7f800000u) == 0x52800000u) { /* MOVZ */
        sym_set(p, rd, sym_c(imm16 << (16 * hw)));
        if (!(w >> 31) && hw > 1)
            return false;
    } else if ((w & 0x7f800000u) == 0x12800000u) { /* MOVN */
        uint64_t v = ~(imm16 << (16 * hw));
        sym_set(p, rd, sym_c(w >> 31 ? v : v & 0xffffffffu));
        if (!(w >> 31) && hw > 1)
            return false;
    } else if ((w & 0x7f800000u) == 0x72800000u) { /* MOVK */
        sym_val o = sym_reg(p, rd, true);
        uint64_t v = (o.v & ~(0xffffull << (16 * hw))) | imm16 << (16 * hw);
        sym_set(p, rd, o.kind == SV_CONST ? sym_c(w >> 31 ? v : v & 0xffffffffu)
                                          : (sym_val){SV_UNKNOWN, 0});
    } else if ((w & 0x7f8003e0u) == 0x320003e0u &&
               sym_bitmask((w >> 22) & 1, (w >> 16) & 63, (w >> 10) & 63, w >> 31, &bm)) {
        if (rd == 31) /* ORR into sp: never emitted */
            return false;
        sym_set(p, rd, sym_c(bm));
    } else {
        return false;
    }
    return true;
}

/* LDR/LDRSW (unsigned offset) and the literal loads and prefetch. */
static bool sym_mem(sym_path *p, uint32_t w, uint64_t va)
{
    static const struct {
        uint32_t base;
        unsigned scale;
    } uimm[6] = {{0xb9400000u, 4}, {0xf9400000u, 8}, {0xb9800000u, 4},
                 {0xbd400000u, 4}, {0xfd400000u, 8}, {0x3dc00000u, 16}};
    static const uint32_t lit[6] = {0x18000000u, 0x58000000u, 0x98000000u,
                                    0x1c000000u, 0x5c000000u, 0x9c000000u};
    unsigned rt = w & 31, rn = (w >> 5) & 31;
    for (int i = 0; i < 6; i++) {
        uint64_t addr;
        if ((w & 0xffc00000u) == uimm[i].base) {
            sym_val b = sym_reg(p, rn, false);
            if (b.kind != SV_CONST)
                return false;
            addr = b.v + ((w >> 10) & 0xfff) * uimm[i].scale;
        } else if ((w & 0xff000000u) == lit[i]) {
            addr = va + (uint64_t)(sym_sext(w >> 5, 19) * 4);
        } else {
            continue;
        }
        if (p->nloads == 2)
            return false;
        p->loads[p->nloads++] = (sym_load){lit[i], rt, addr};
        if (i < 3)
            sym_set(p, rt, (sym_val){SV_UNKNOWN, 0});
        return true;
    }
    if ((w & 0xff000000u) == 0xd8000000u) { /* PRFM literal */
        p->nprefetch++;
        p->prefetch_va = va + (uint64_t)(sym_sext(w >> 5, 19) * 4);
        return true;
    }
    return false;
}

/* Run the sequence with the original's condition = cond. err on failure. */
static bool sym_run(uint32_t orig, bool plain, const uint8_t *out, size_t len, uint64_t dst,
                    bool cond, sym_path *p, char *err, size_t errn)
{
    memset(p, 0, sizeof *p);
    for (unsigned i = 0; i < 32; i++)
        p->r[i] = (sym_val){SV_REG, i};
    size_t n = len / 4, i = 0;
    for (unsigned steps = 0; steps < 64; steps++) {
        if (i >= n) {
            p->exit_va = dst + 4 * i;
            return true;
        }
        uint64_t va = dst + 4 * i, t;
        uint32_t w = (uint32_t)out[4 * i] | (uint32_t)out[4 * i + 1] << 8 |
                     (uint32_t)out[4 * i + 2] << 16 | (uint32_t)out[4 * i + 3] << 24;
        int pol = sym_cond(orig, w, va, &t);
        if (plain && i == 0 && w == orig) {
            p->copied = true;
            i++;
        } else if (w == 0xd503201fu) {
            i++;
        } else if ((w & 0xfc000000u) == 0x14000000u) { /* B */
            t = va + (uint64_t)(sym_sext(w, 26) * 4);
            if (t < dst || t >= dst + 4 * n || (t & 3)) {
                p->exit_va = t;
                return true;
            }
            i = (size_t)(t - dst) / 4;
        } else if (pol >= 0) {
            if ((pol == 1) != cond) {
                i++;
                continue;
            }
            if (t < dst || t >= dst + 4 * n || (t & 3)) {
                p->exit_va = t;
                return true;
            }
            i = (size_t)(t - dst) / 4;
        } else if ((w & 0xfefff000u) == 0xd61f0000u) {
            p->indirect = true; /* BR, BRAA(Z), BRAB(Z) */
            p->br_word = w & ~0x3ffu;
            p->br_target = sym_reg(p, (w >> 5) & 31, true);
            p->br_mod = (w & 31) == 31 ? (sym_val){SV_REG, 31} : sym_reg(p, w & 31, true);
            return true;
        } else if (sym_dp(p, w, va) || sym_mem(p, w, va)) {
            i++;
        } else {
            snprintf(err, errn, "word %zu (0x%08x) is not one the relocator emits", i, w);
            return false;
        }
    }
    snprintf(err, errn, "no exit after 64 steps");
    return false;
}

/* What the original word is, decoded on the test side. */
enum { SK_PLAIN, SK_B, SK_COND, SK_BL, SK_BLR, SK_ADR, SK_LDR, SK_PRFM };

static int sym_kind(uint32_t w, uint64_t va, uint64_t *t)
{
    if ((w & 0x7c000000u) == 0x14000000u) {
        *t = va + (uint64_t)(sym_sext(w, 26) * 4);
        return w >> 31 ? SK_BL : SK_B;
    }
    if ((w & 0xff000000u) == 0x54000000u)
        return sym_cond(w, w, va, t), (w & 14) == 14 ? SK_B : SK_COND;
    if (sym_cond(w, w, va, t) == 1)
        return SK_COND;
    if ((w & 0x1f000000u) == 0x10000000u) {
        sym_path p;
        memset(&p, 0, sizeof p);
        sym_dp(&p, w, va);
        *t = p.r[w & 31].v;
        return (w & 31) == 31 ? SK_PLAIN : SK_ADR;
    }
    if ((w & 0x3b000000u) == 0x18000000u && (w >> 30 != 3 || !((w >> 26) & 1))) {
        *t = va + (uint64_t)(sym_sext(w >> 5, 19) * 4);
        return w >> 30 == 3 ? SK_PRFM : SK_LDR;
    }
    if ((w & 0xfffffc1fu) == 0xd63f0000u || (w & 0xfffff800u) == 0xd73f0800u ||
        (w & 0xfffff81fu) == 0xd63f081fu)
        return SK_BLR;
    return SK_PLAIN;
}

static bool sym_fail(char *err, size_t errn, const char *what, bool cond)
{
    snprintf(err, errn, "%s (condition %s)", what, cond ? "true" : "false");
    return false;
}

/* Registers outside keep (scratch + the destination) are unchanged. */
static bool sym_preserved(const sym_path *p, uint32_t keep, char *err, size_t errn, bool cond)
{
    for (unsigned r = 0; r < 31; r++)
        if (!(keep & (1u << r)) && (p->r[r].kind != SV_REG || p->r[r].v != r)) {
            char what[64];
            snprintf(what, sizeof what, "x%u clobbered", r);
            return sym_fail(err, errn, what, cond);
        }
    return true;
}

static bool sym_check_blr(uint32_t orig, const sym_path *p, uint64_t ret, char *err,
                          size_t errn, bool cond)
{
    bool has_rm = (orig & 0xfffff800u) == 0xd73f0800u;
    uint32_t want = (orig & ~(1u << 21)) & ~0x3ffu;
    if (!p->indirect || p->br_word != want)
        return sym_fail(err, errn, "call did not become the matching BR form", cond);
    unsigned rn = (orig >> 5) & 31; /* xzr when 31 */
    if (rn == 31 ? p->br_target.kind != SV_CONST || p->br_target.v != 0
                 : p->br_target.kind != SV_REG || p->br_target.v != rn)
        return sym_fail(err, errn, "BR goes elsewhere than the call's register", cond);
    if (has_rm && (p->br_mod.kind != SV_REG || p->br_mod.v != (orig & 31)))
        return sym_fail(err, errn, "PAC modifier changed", cond);
    if (p->r[30].kind != SV_CONST || p->r[30].v != ret)
        return sym_fail(err, errn, "x30 is not the return address", cond);
    return true;
}

/* One path against the original's meaning. */
static bool sym_check_path(uint32_t orig, int kind, uint64_t t, const sym_path *p, uint64_t end,
                           uint64_t ret, char *err, size_t errn, bool cond)
{
    switch (kind) {
    case SK_B:
    case SK_BL:
        if (p->indirect ? p->br_word != 0xd61f0000u || p->br_target.kind != SV_CONST ||
                              p->br_target.v != t
                        : p->exit_va != t)
            return sym_fail(err, errn, "branch target changed", cond);
        if (kind == SK_BL && (p->r[30].kind != SV_CONST || p->r[30].v != ret))
            return sym_fail(err, errn, "x30 is not the return address", cond);
        return true;
    case SK_COND:
        if (!cond)
            return !p->indirect && p->exit_va == end
                       ? true
                       : sym_fail(err, errn, "fall-through does not reach the end", cond);
        return sym_check_path(orig, SK_B, t, p, end, ret, err, errn, cond);
    case SK_BLR: return sym_check_blr(orig, p, ret, err, errn, cond);
    default: break;
    }
    if (p->indirect || p->exit_va != end)
        return sym_fail(err, errn, "does not fall through to the end", cond);
    if (kind == SK_ADR && (p->r[orig & 31].kind != SV_CONST || p->r[orig & 31].v != t))
        return sym_fail(err, errn, "address register holds another value", cond);
    if (kind == SK_LDR && (p->nloads != 1 || p->loads[0].va != t ||
                           p->loads[0].base != (orig & 0xff000000u) ||
                           p->loads[0].rt != (orig & 31)))
        return sym_fail(err, errn, "not the same load from the same address", cond);
    if (kind == SK_PRFM && (p->nloads || (p->nprefetch && p->prefetch_va != t)))
        return sym_fail(err, errn, "prefetch changed", cond);
    if (kind == SK_PLAIN && !p->copied)
        return sym_fail(err, errn, "position-independent word not copied", cond);
    return true;
}

/* The registers a relocation may change: scratch, plus the destination. */
static uint32_t sym_keep(uint32_t orig, int kind, uint32_t scratch)
{
    uint32_t keep = scratch;
    if (kind == SK_BL || kind == SK_BLR)
        keep |= 1u << 30;
    if (kind == SK_ADR || kind == SK_LDR)
        keep |= 1u << (orig & 31);
    if (kind == SK_PLAIN)
        keep = 0x7fffffffu; /* a copied word writes what it writes */
    return keep;
}

/* Whether out[0..len) at dst does what orig did at src (see the top). */
static bool sym_check(uint32_t orig, uint64_t src, const uint8_t *out, size_t len, uint64_t dst,
                      uint64_t ret, uint32_t scratch, char *err, size_t errn)
{
    uint64_t t = 0;
    int kind = sym_kind(orig, src, &t);
    for (int c = 1; c >= (kind == SK_COND ? 0 : 1); c--) {
        sym_path p;
        if (!sym_run(orig, kind == SK_PLAIN, out, len, dst, c, &p, err, errn) ||
            !sym_check_path(orig, kind, t, &p, dst + len, ret, err, errn, c) ||
            !sym_preserved(&p, sym_keep(orig, kind, scratch), err, errn, c))
            return false;
    }
    return true;
}

#endif
