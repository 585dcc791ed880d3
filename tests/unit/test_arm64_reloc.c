/* Unit tests for relocs/arm64's relocation and fixed sequences. Every
 * relocated sequence is checked two ways:
 *   - symbolically (tests/fuzz/a64_sym.h): same target on the same
 *     condition, same address, same load, x30 = the return address for
 *     calls, and no register outside the scratch set and the destination
 *     changed, on every path;
 *   - by execution under unicorn (arm64, the "max" CPU): the original word
 *     at src and the sequence at dst run from the same random registers,
 *     SIMD registers, flags and memory, and must end with the same general
 *     and SIMD registers (scratch registers excepted), flags and PC.
 * Distances cover the edge of each form's reach: 127/129 MiB and 3.9/5 GiB
 * apart, both directions, on pages mapped at those addresses.
 * unicorn 2.0.1 cannot run some encodings, which therefore get only the
 * symbolic check: FEAT_HBC's BC.cond and FEAT_CMPBR's CB<cc> (undefined to
 * it), and the PAC branches (BLRAA and friends: undefined even on its max
 * CPU model). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "relocs/arm64.h"
#include "tests/fuzz/a64_sym.h"

#define SRC 0x2000000000ull /* 128 GiB: src - 5 GiB stays positive */
#define MiB (1ull << 20)
#define GiB (1ull << 30)

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t word_at(const uint8_t *p) { return hp_rd32(p); }

/* ---- unicorn */

static uc_engine *uc;
static uint64_t run_lo, run_hi; /* the code under test; leaving it stops the run */
static int last_intno;

static void on_code(uc_engine *u, uint64_t addr, uint32_t size, void *user)
{
    if (addr < run_lo || addr >= run_hi)
        uc_emu_stop(u);
}

static void on_intr(uc_engine *u, uint32_t intno, void *user)
{
    last_intno = (int)intno;
    uc_emu_stop(u);
}

static int uc_setup(void **state)
{
    uc_hook h;
    if (uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc) != UC_ERR_OK ||
        uc_ctl_set_cpu_model(uc, UC_CPU_ARM64_MAX) != UC_ERR_OK ||
        uc_hook_add(uc, &h, UC_HOOK_CODE, on_code, NULL, 1, 0) != UC_ERR_OK ||
        uc_hook_add(uc, &h, UC_HOOK_INTR, on_intr, NULL, 1, 0) != UC_ERR_OK)
        return -1;
    uint64_t cpacr = 3ull << 20; /* FP/SIMD on */
    return uc_reg_write(uc, UC_ARM64_REG_CPACR_EL1, &cpacr) == UC_ERR_OK ? 0 : -1;
}

static int uc_teardown(void **state)
{
    uc_close(uc);
    return 0;
}

typedef struct pages {
    uint64_t va[24];
    unsigned n;
} pages;

static void pages_add(pages *ps, uint64_t va, uint64_t len)
{
    for (uint64_t p = va & ~0xfffull; p < va + len; p += 0x1000) {
        bool have = false;
        for (unsigned i = 0; i < ps->n; i++)
            have |= ps->va[i] == p;
        if (!have) {
            assert_true(ps->n < 24);
            ps->va[ps->n++] = p;
        }
    }
}

static pages mapped; /* what is mapped now (a failed check leaves it so) */

static void pages_unmap(const pages *ps)
{
    (void)ps;
    for (unsigned i = 0; i < mapped.n; i++) {
        uc_ctl_remove_cache(uc, mapped.va[i], mapped.va[i] + 0x1000);
        assert_int_equal(uc_mem_unmap(uc, mapped.va[i], 0x1000), UC_ERR_OK);
    }
    mapped.n = 0;
}

/* Map the pages, filled with varied data for literal loads to read. The
 * words are all MOVZ: unicorn translates a whole block ahead of the hook
 * that stops it, and its decoder aborts on some random words. */
static void pages_map(const pages *ps)
{
    static uint8_t junk[0x1000];
    pages_unmap(&mapped);
    mapped = *ps;
    for (unsigned i = 0; i < ps->n; i++) {
        for (size_t k = 0; k < sizeof junk; k += 4)
            hp_wr32(junk + k, 0xd2800000u | ((uint32_t)rnd() & 0x7fffff));
        uc_err e = uc_mem_map(uc, ps->va[i], 0x1000, UC_PROT_ALL);
        if (e != UC_ERR_OK)
            fail_msg("mapping 0x%llx: %s", (unsigned long long)ps->va[i], uc_strerror(e));
        assert_int_equal(uc_mem_write(uc, ps->va[i], junk, sizeof junk), UC_ERR_OK);
    }
}


/* The mapped memory, to check that neither run stores anything. */
static uint8_t mem_before[24][0x1000];

static void mem_snapshot(void)
{
    for (unsigned i = 0; i < mapped.n; i++)
        assert_int_equal(uc_mem_read(uc, mapped.va[i], mem_before[i], 0x1000), UC_ERR_OK);
}

static void mem_unchanged(const char *what)
{
    static uint8_t now[0x1000];
    for (unsigned i = 0; i < mapped.n; i++) {
        assert_int_equal(uc_mem_read(uc, mapped.va[i], now, sizeof now), UC_ERR_OK);
        if (memcmp(now, mem_before[i], sizeof now) != 0)
            fail_msg("%s: memory at 0x%llx changed", what, (unsigned long long)mapped.va[i]);
    }
}

typedef struct cpu {
    uint64_t x[31], sp, nzcv, pc;
    uint8_t q[32][16];
} cpu;

static void cpu_random(cpu *c)
{
    for (int i = 0; i < 31; i++)
        c->x[i] = rnd();
    c->sp = rnd() & ~15ull;
    c->nzcv = (rnd() & 15) << 28;
    for (int i = 0; i < 32; i++)
        for (int k = 0; k < 16; k += 8)
            hp_wr64(c->q[i] + k, rnd());
}

static void cpu_put(const cpu *c)
{
    for (int i = 0; i <= 28; i++)
        uc_reg_write(uc, UC_ARM64_REG_X0 + i, &c->x[i]);
    uc_reg_write(uc, UC_ARM64_REG_X29, &c->x[29]);
    uc_reg_write(uc, UC_ARM64_REG_X30, &c->x[30]);
    uc_reg_write(uc, UC_ARM64_REG_SP, &c->sp);
    uc_reg_write(uc, UC_ARM64_REG_NZCV, &c->nzcv);
    for (int i = 0; i < 32; i++)
        uc_reg_write(uc, UC_ARM64_REG_Q0 + i, c->q[i]);
}

static void cpu_get(cpu *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i <= 28; i++)
        uc_reg_read(uc, UC_ARM64_REG_X0 + i, &c->x[i]);
    uc_reg_read(uc, UC_ARM64_REG_X29, &c->x[29]);
    uc_reg_read(uc, UC_ARM64_REG_X30, &c->x[30]);
    uc_reg_read(uc, UC_ARM64_REG_SP, &c->sp);
    uc_reg_read(uc, UC_ARM64_REG_NZCV, &c->nzcv);
    uc_reg_read(uc, UC_ARM64_REG_PC, &c->pc);
    for (int i = 0; i < 32; i++)
        uc_reg_read(uc, UC_ARM64_REG_Q0 + i, c->q[i]);
}

/* Run [lo, hi) from lo, starting in state *in; *out is the state when
 * control leaves the range. */
static void run(uint64_t lo, uint64_t hi, const cpu *in, cpu *out)
{
    cpu_put(in);
    run_lo = lo;
    run_hi = hi;
    last_intno = -1;
    uc_err e = uc_emu_start(uc, lo, 1, 0, 200);
    if (e != UC_ERR_OK || last_intno >= 0)
        fail_msg("emulation at 0x%llx failed: %s, exception %d", (unsigned long long)lo,
                 uc_strerror(e), last_intno);
    cpu_get(out);
}

/* Same state except the scratch registers. */
static void same_cpu(const cpu *a, const cpu *b, uint32_t scratch, const char *what)
{
    for (int i = 0; i < 31; i++)
        if (!(scratch & (1u << i)) && a->x[i] != b->x[i])
            fail_msg("%s: x%d 0x%llx vs 0x%llx", what, i, (unsigned long long)a->x[i],
                     (unsigned long long)b->x[i]);
    if (a->pc != b->pc)
        fail_msg("%s: pc 0x%llx vs 0x%llx", what, (unsigned long long)a->pc,
                 (unsigned long long)b->pc);
    if (a->sp != b->sp || a->nzcv != b->nzcv)
        fail_msg("%s: sp or flags differ", what);
    if (memcmp(a->q, b->q, sizeof a->q) != 0)
        fail_msg("%s: SIMD registers differ", what);
}

/* ---- one relocation case */

typedef struct rcase {
    uint32_t w;
    uint64_t src, dst, ret;
    uint32_t scratch;
} rcase;

typedef struct relo {
    uint8_t b[HP_A64_RELOC_MAX + 16];
    size_t len;
    char why[256]; /* the message of the reason a refusal left */
} relo;

/* A refusal's reason: one HP_DIAG_REASON about the instruction at src,
 * with no target; its message kept in o->why. */
static void take_reason(hp_diags *why, uint64_t src, relo *o)
{
    assert_int_equal(why->n, 1);
    assert_int_equal(why->errors + why->warnings, 0);
    assert_int_equal(why->v[0].level, HP_DIAG_REASON);
    assert_null(why->v[0].target);
    assert_true(why->v[0].va == src);
    snprintf(o->why, sizeof o->why, "%s", why->v[0].msg);
    hp_diags_free(why);
}

/* Measure at dst and at two unrelated addresses, emit at dst; sizes agree,
 * nothing past the measured size is written. */
static hp_status relocate(const rcase *c, relo *o)
{
    uint8_t w[4];
    hp_wr32(w, c->w);
    size_t m0 = 99, m1 = 99, m2 = 99;
    hp_status s0 = hp_a64_relocate(w, 4, c->src, c->dst, c->ret, c->scratch, NULL, &m0, NULL);
    hp_status s1 = hp_a64_relocate(w, 4, c->src, 0, c->ret, c->scratch, NULL, &m1, NULL);
    hp_status s2 = hp_a64_relocate(w, 4, c->src ^ 0x7ffff000, 0xfffffffffff00000ull, c->ret,
                                   c->scratch, NULL, &m2, NULL);
    assert_int_equal(s0, s1);
    assert_int_equal(s0, s2);
    memset(o->b, 0xa5, sizeof o->b);
    o->len = 77;
    o->why[0] = 0;
    hp_diags why = {0};
    hp_status s = hp_a64_relocate(w, 4, c->src, c->dst, c->ret, c->scratch, o->b, &o->len, &why);
    if (s0 != HP_OK) {
        assert_int_equal(s, s0);
        assert_int_equal(o->len, 0);
        take_reason(&why, c->src, o);
        return s;
    }
    assert_int_equal(m0, m1);
    assert_int_equal(m0, m2);
    assert_true(m0 >= 4 && m0 <= HP_A64_RELOC_MAX && m0 % 4 == 0);
    if (s != HP_OK) {
        assert_int_equal(o->len, 0);
        take_reason(&why, c->src, o);
        return s;
    }
    assert_int_equal(why.n, 0);
    assert_int_equal(o->len, m0);
    for (size_t i = o->len; i < sizeof o->b; i++)
        assert_int_equal(o->b[i], 0xa5);
    return s;
}

static void sym_ok(const rcase *c, const relo *o)
{
    char err[160];
    if (!sym_check(c->w, c->src, o->b, o->len, c->dst, c->ret, c->scratch, err, sizeof err)) {
        char t[64];
        uint8_t b[4];
        hp_wr32(b, c->w);
        hp_a64_format(b, 4, c->src, t, sizeof t);
        fail_msg("'%s' (0x%08x) 0x%llx -> 0x%llx scratch 0x%x: %s", t, c->w,
                 (unsigned long long)c->src, (unsigned long long)c->dst, c->scratch, err);
    }
}

/* unicorn runs the base instruction set (v8.0-v8.2 here). */
static bool executable(uint32_t w)
{
    return (w & 0xff000010) != 0x54000010 && (w & 0x7e000000) != 0x74000000 &&
           (w & 0xfefff800) != 0xd63f0800; /* BLRAA, BLRAB, BLRAAZ, BLRABZ */
}

/* The branch target a BLR's register holds in these runs. */
static uint64_t blr_target(const rcase *c) { return (c->src & ~0xfffull) + 0x5000; }

/* Execute the original at src and the relocation at dst side by side. */
static void exec_case(const rcase *c, const relo *o, int runs)
{
    uint8_t w[4];
    hp_wr32(w, c->w);
    hp_insn in;
    assert_int_equal(hp_a64_decode(w, 4, c->src, &in), HP_OK);
    bool blr = in.kind == HP_INSN_CALL_IND;
    unsigned rn = (c->w >> 5) & 31, rt = c->w & 31;
    if (blr && rn == 31)
        return; /* blr xzr: jumps to 0 */
    pages ps = {.n = 0};
    pages_add(&ps, c->src, 8);
    pages_add(&ps, c->dst, o->len + 4);
    if (in.has_target)
        pages_add(&ps, in.rip_rel ? in.mem_va : in.target_va, 16);
    if (blr)
        pages_add(&ps, blr_target(c), 4);
    pages_map(&ps);
    assert_int_equal(uc_mem_write(uc, c->src, w, 4), UC_ERR_OK);
    assert_int_equal(uc_mem_write(uc, c->dst, o->b, o->len), UC_ERR_OK);
    mem_snapshot();
    for (int k = 0; k < runs; k++) {
        cpu s, a, b;
        cpu_random(&s);
        if (blr)
            s.x[rn] = blr_target(c);
        if ((c->w & 0x7e000000) == 0x34000000 && (k & 1) && rt != 31) /* cbz: make it zero */
            s.x[rt] = c->w >> 31 ? 0 : rnd() << 32;
        run(c->src, c->src + 4, &s, &a);
        run(c->dst, c->dst + o->len, &s, &b);
        if (a.pc == c->src + 4) /* falling through the word = through the sequence */
            a.pc = c->dst + o->len;
        char what[96];
        snprintf(what, sizeof what, "0x%08x 0x%llx -> 0x%llx", c->w, (unsigned long long)c->src,
                 (unsigned long long)c->dst);
        same_cpu(&a, &b, c->scratch, what);
        mem_unchanged(what);
    }
    pages_unmap(&ps);
}

/* ---- generating words of each class */

enum { K_B, K_BL, K_BCOND, K_CB, K_TB, K_ADR, K_ADRP, K_LDR, K_PRFM, K_BLR, K_BC, K_CMPBR, K_N };
static const char *const k_name[K_N] = {"b",   "bl",  "b.cond", "cbz", "tbz", "adr",
                                        "adrp", "ldr", "prfm",   "blr", "bc",  "cb<cc>"};

/* A register, often one the scratch policy cares about. */
static unsigned pick_reg(void)
{
    static const unsigned hot[] = {16, 17, 30, 0, 9, 31};
    uint64_t r = rnd();
    return r & 1 ? hot[(r >> 1) % 6] : (unsigned)((r >> 8) % 32);
}

static uint32_t gen(int k)
{
    uint32_t r = (uint32_t)rnd(), rt = pick_reg();
    switch (k) {
    case K_B: return 0x14000000u | (r & 0x3ffffff);
    case K_BL: return 0x94000000u | (r & 0x3ffffff);
    case K_BCOND: return 0x54000000u | (r & 0xffffef);
    case K_BC: return 0x54000010u | (r & 0xffffef);
    case K_CB: return 0x34000000u | (r & 0x81ffffe0) | rt;
    case K_TB: return 0x36000000u | (r & 0x81ffffe0) | rt;
    case K_CMPBR: return 0x74000000u | (r & 0x81ffffe0) | rt;
    case K_ADR: return 0x10000000u | (r & 0x60ffffe0) | rt;
    case K_ADRP: return 0x90000000u | (r & 0x60ffffe0) | rt;
    case K_LDR: { /* W, X, SW, S, D, Q */
        static const uint32_t op[6] = {0x18000000, 0x58000000, 0x98000000,
                                       0x1c000000, 0x5c000000, 0x9c000000};
        return op[(r >> 29) % 6] | (r & 0xffffe0) | rt;
    }
    case K_PRFM: return 0xd8000000u | (r & 0xffffff);
    default: break;
    }
    unsigned rn = pick_reg(), rm = pick_reg();
    switch (r % 3) {
    case 0: return 0xd63f0000u | rn << 5;                           /* blr */
    case 1: return 0xd73f0800u | ((r >> 4) & 1) << 10 | rn << 5 | rm; /* blraa/ab */
    default: return 0xd63f081fu | ((r >> 4) & 1) << 10 | rn << 5;   /* blraaz/abz */
    }
}

static const uint32_t scratch_sets[] = {0, HP_A64_REG(16), HP_A64_X16_X17, HP_A64_REG(9),
                                        HP_A64_REG(9) | HP_A64_REG(10) | HP_A64_REG(30)};
#define NSCRATCH (sizeof scratch_sets / sizeof scratch_sets[0])

#define GIB39 ((int64_t)(39 * GiB / 10) & ~3ll) /* 3.9 GiB */
static const int64_t distances[] = {0x1000,          -0x1000,         127 * (int64_t)MiB,
                                    -127 * (int64_t)MiB, 129 * (int64_t)MiB, -129 * (int64_t)MiB,
                                    GIB39,           -GIB39,          5 * (int64_t)GiB,
                                    -5 * (int64_t)GiB};
#define NDIST (sizeof distances / sizeof distances[0])

static uint64_t dist(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

/* How far the forms this scratch set allows reach, for the word's class:
 * must succeed well within, must fail well beyond (contract of
 * hp_a64_relocate). Returns the reach for the target; *ret_reach for the
 * return address of calls. */
static uint64_t reach_of(int k, uint32_t w, uint32_t scratch, uint64_t *ret_reach)
{
    unsigned rt = w & 31, rn = (w >> 5) & 31;
    uint32_t free = scratch;
    if (k == K_CB || k == K_TB || k == K_CMPBR)
        free &= ~(1u << rt);
    if (k == K_CMPBR && !((w >> 24) & 1))
        free &= ~(1u << ((w >> 16) & 31));
    if (k == K_ADR || k == K_ADRP || k == K_BL || k == K_BLR)
        free &= ~(1u << (k == K_BL || k == K_BLR ? 30 : rt));
    if (k == K_BLR) { /* the copies reloc_blr makes before x30 changes */
        bool has_rm = (w & 0xfffff800u) == 0xd73f0800u, copy_m = has_rm && rt == 30 && rn != 30;
        free &= ~(1u << rn) & ~(has_rm ? 1u << rt : 0);
        uint32_t non = free & ~HP_A64_X16_X17;
        if (copy_m && free)
            free &= ~(non ? non & (0 - non) : (free & (1u << 16) ? 1u << 16 : 1u << 17));
        if (rn != 16 && rn != 17 && (free & HP_A64_X16_X17))
            free &= ~((free & (1u << 16)) ? 1u << 16 : 1u << 17);
        else if (rn == 30 && free)
            free &= free - 1;
    }
    bool simd = (w >> 26) & 1;
    if (k == K_LDR && !simd && rt != 31)
        free &= ~(1u << rt);
    int s = __builtin_popcount(free);
    *ret_reach = s ? UINT64_MAX : 4 * GiB;
    switch (k) {
    case K_BL: return s ? UINT64_MAX : 128 * MiB;
    case K_ADR:
    case K_ADRP: return s || rt == 31 ? UINT64_MAX : 4 * GiB; /* xzr: copied */
    case K_LDR:
        if (!simd && rt != 31)
            return s ? UINT64_MAX : 4 * GiB;
        return s >= 2 ? UINT64_MAX : s ? 4 * GiB : MiB;
    case K_PRFM:
    case K_BLR: return UINT64_MAX;
    default: return s >= 2 ? UINT64_MAX : s ? 4 * GiB : 128 * MiB;
    }
}

/* A call through x30 (or with x30 as its PAC modifier) needs a scratch
 * register to copy it to before x30 becomes the return address. */
static bool blr_needs_copy_reg(uint32_t w, uint32_t scratch)
{
    unsigned rn = (w >> 5) & 31, rm = w & 31;
    bool has_rm = (w & 0xfffff800u) == 0xd73f0800u;
    uint32_t free = scratch & ~(1u << 30 | 1u << rn | (has_rm ? 1u << rm : 0));
    unsigned need = (rn == 30) + (has_rm && rm == 30 && rn != 30);
    return (unsigned)__builtin_popcount(free) < need;
}

static void expect_status(int k, const rcase *c, hp_status s, uint64_t target)
{
    if (k == K_BLR && blr_needs_copy_reg(c->w, c->scratch)) {
        assert_int_equal(s, HP_ERR_UNHOOKABLE);
        return;
    }
    uint64_t rreach, reach = reach_of(k, c->w, c->scratch, &rreach);
    uint64_t d = dist(target, c->dst), dr = c->ret ? dist(c->ret, c->dst) : 0;
    bool within = d + 2 * MiB < reach && (k != K_BL && k != K_BLR ? true : dr + 2 * MiB < rreach);
    bool beyond = (reach != UINT64_MAX && d > reach + 2 * MiB) ||
                  ((k == K_BL || k == K_BLR) && rreach != UINT64_MAX && dr > rreach + 2 * MiB);
    if (within && s != HP_OK)
        fail_msg("%s 0x%08x scratch 0x%x, %llu bytes away: status %d, want OK", k_name[k], c->w,
                 c->scratch, (unsigned long long)d, s);
    if (beyond && s != HP_ERR_RANGE && s != HP_ERR_UNHOOKABLE)
        fail_msg("%s 0x%08x scratch 0x%x, %llu bytes away: status %d, want a range error",
                 k_name[k], c->w, c->scratch, (unsigned long long)d, s);
}

typedef struct tally {
    unsigned ok, range, refused, executed;
} tally;

static void side_by_side(int k, int per, tally *t)
{
    for (size_t di = 0; di < NDIST; di++)
        for (size_t si = 0; si < NSCRATCH; si++)
            for (int i = 0; i < per; i++) {
                rcase c = {.w = gen(k), .src = SRC + (rnd() & 0xffffc)};
                c.scratch = scratch_sets[si];
                c.dst = (uint64_t)((int64_t)c.src + distances[di]) + (rnd() & 0x7fc);
                c.ret = (k == K_BL || k == K_BLR) && (i % 8) ? c.src + 4 : 0;
                relo o;
                hp_status s = relocate(&c, &o);
                uint8_t b[4];
                hp_insn in;
                hp_wr32(b, c.w);
                assert_int_equal(hp_a64_decode(b, 4, c.src, &in), HP_OK);
                uint64_t target = in.rip_rel ? in.mem_va : in.has_target ? in.target_va : c.dst;
                if (c.ret || (k != K_BL && k != K_BLR))
                    expect_status(k, &c, s, target);
                else
                    assert_int_equal(s, HP_ERR_UNHOOKABLE); /* a call needs ret_va */
                t->ok += s == HP_OK;
                t->range += s == HP_ERR_RANGE;
                t->refused += s == HP_ERR_UNHOOKABLE;
                if (s != HP_OK)
                    continue;
                sym_ok(&c, &o);
                if (executable(c.w)) {
                    exec_case(&c, &o, 2);
                    t->executed++;
                }
            }
}

static void test_side_by_side(void **state)
{
    for (int k = 0; k < K_N; k++) {
        tally t = {0};
        side_by_side(k, k == K_LDR || k == K_BCOND ? 16 : 10, &t);
        print_message("%-7s relocated %u, out of reach %u, refused %u, executed %u\n", k_name[k],
                      t.ok, t.range, t.refused, t.executed);
        assert_true(t.ok > 0);
    }
}

/* TBZ/TBNZ at every bit position, bit set and clear, near and far. */
static void test_tbz_bits(void **state)
{
    for (unsigned bit = 0; bit < 64; bit++)
        for (int nz = 0; nz < 2; nz++) {
            rcase c = {.src = SRC + 0x10000, .scratch = HP_A64_X16_X17};
            c.w = 0x36000000u | (bit >> 5) << 31 | (unsigned)nz << 24 | (bit & 31) << 19 |
                  (0x1000u & 0x3fff) << 5 | 3; /* tb(n)z x3, #bit, .+0x4000 */
            c.dst = c.src + (bit & 1 ? 129 * MiB : 0x100);
            relo o;
            assert_int_equal(relocate(&c, &o), HP_OK);
            sym_ok(&c, &o);
            pages ps = {.n = 0};
            pages_add(&ps, c.src, 8);
            pages_add(&ps, c.dst, o.len + 4);
            pages_add(&ps, c.src + 0x4000, 4);
            pages_map(&ps);
            uint8_t w[4];
            hp_wr32(w, c.w);
            uc_mem_write(uc, c.src, w, 4);
            uc_mem_write(uc, c.dst, o.b, o.len);
            for (int set = 0; set < 2; set++) {
                cpu s, a, b;
                cpu_random(&s);
                s.x[3] = set ? s.x[3] | 1ull << bit : s.x[3] & ~(1ull << bit);
                run(c.src, c.src + 4, &s, &a);
                run(c.dst, c.dst + o.len, &s, &b);
                assert_int_equal(a.pc, (set != nz) ? c.src + 4 : c.src + 0x4000);
                if (a.pc == c.src + 4)
                    a.pc = c.dst + o.len;
                same_cpu(&a, &b, c.scratch, "tbz");
            }
            pages_unmap(&ps);
        }
}

/* Every condition code, taken and not, with each NZCV value. */
static void test_bcond_all_flags(void **state)
{
    for (unsigned cond = 0; cond < 16; cond++) {
        rcase c = {.src = SRC + 0x20000, .scratch = HP_A64_REG(16)};
        c.w = 0x54000000u | (0x40000u / 4) << 5 | cond; /* b.cond .+0x40000 */
        c.dst = c.src + 200 * MiB;
        relo o;
        assert_int_equal(relocate(&c, &o), HP_OK);
        sym_ok(&c, &o);
        pages ps = {.n = 0};
        pages_add(&ps, c.src, 8);
        pages_add(&ps, c.dst, o.len + 4);
        pages_add(&ps, c.src + 0x40000, 4);
        pages_map(&ps);
        uint8_t w[4];
        hp_wr32(w, c.w);
        uc_mem_write(uc, c.src, w, 4);
        uc_mem_write(uc, c.dst, o.b, o.len);
        for (uint64_t f = 0; f < 16; f++) {
            cpu s, a, b;
            cpu_random(&s);
            s.nzcv = f << 28;
            run(c.src, c.src + 4, &s, &a);
            run(c.dst, c.dst + o.len, &s, &b);
            if (a.pc == c.src + 4)
                a.pc = c.dst + o.len;
            same_cpu(&a, &b, c.scratch, "b.cond");
        }
        pages_unmap(&ps);
    }
}

/* ---- the limit of each form's reach, and one past it */

typedef struct limit_case {
    const char *name;
    uint32_t w;       /* the original; its field is re-aimed per case */
    int64_t lo, hi;   /* native reach of dst->target: [lo, hi] */
    int64_t step;     /* one past */
} limit_case;

static const limit_case limits[] = {
    {"b", 0x14000000u, -(1ll << 27), (1ll << 27) - 4, 4},
    {"b.ne", 0x54000001u, -(1ll << 20), (1ll << 20) - 4, 4},
    {"bc.ne", 0x54000011u, -(1ll << 20), (1ll << 20) - 4, 4},
    {"cbnz x5", 0xb5000005u, -(1ll << 20), (1ll << 20) - 4, 4},
    {"tbz w7, #3", 0x36180007u, -(1ll << 15), (1ll << 15) - 4, 4},
    {"cbgt x5, x3", 0xf4032005u, -1024, 1020, 4},
    {"adr x2", 0x10000002u, -(1ll << 20), (1ll << 20) - 1, 1},
    {"ldr x4", 0x58000004u, -(1ll << 20), (1ll << 20) - 4, 4},
    {"ldr q1", 0x9c000001u, -(1ll << 20), (1ll << 20) - 4, 4},
    {"ldrsw x6", 0x98000006u, -(1ll << 20), (1ll << 20) - 4, 4},
    {"prfm", 0xd8000000u, -(1ll << 20), (1ll << 20) - 4, 4},
};

/* Re-aim the original word at target from src (the test builds it). */
static uint32_t aim(uint32_t w, uint64_t src, uint64_t t)
{
    int64_t d = (int64_t)(t - src);
    if ((w & 0x7c000000u) == 0x14000000u)
        return (w & 0xfc000000u) | (uint32_t)((d / 4) & 0x3ffffff);
    if ((w & 0x7e000000u) == 0x36000000u)
        return (w & ~(0x3fffu << 5)) | (uint32_t)((d / 4) & 0x3fff) << 5;
    if ((w & 0x7e000000u) == 0x74000000u)
        return (w & ~(0x1ffu << 5)) | (uint32_t)((d / 4) & 0x1ff) << 5;
    if ((w & 0x9f000000u) == 0x10000000u)
        return (w & 0x9f00001fu) | (uint32_t)(d & 3) << 29 | (uint32_t)((d >> 2) & 0x7ffff) << 5;
    return (w & ~(0x7ffffu << 5)) | (uint32_t)((d / 4) & 0x7ffff) << 5;
}

static void limit_one(const limit_case *l, int64_t off, bool native)
{
    /* dst exactly off from the target; the original sits near the target */
    rcase c = {.dst = SRC + 0x400000, .scratch = HP_A64_X16_X17};
    uint64_t target = c.dst + (uint64_t)off;
    c.src = (target & ~3ull) - 0x100;
    c.w = aim(l->w, c.src, target);
    relo o;
    assert_int_equal(relocate(&c, &o), HP_OK);
    hp_insn a, b;
    uint8_t w[4];
    hp_wr32(w, c.w);
    assert_int_equal(hp_a64_decode(w, 4, c.src, &a), HP_OK);
    assert_int_equal(hp_a64_decode(o.b, o.len, c.dst, &b), HP_OK);
    bool is_native = word_at(o.b) == aim(c.w, c.dst, target);
    if (is_native) /* and it means the same */
        assert_true(b.kind == a.kind && b.rip_rel == a.rip_rel &&
                    (a.rip_rel ? b.mem_va == a.mem_va : b.target_va == a.target_va));
    if (is_native != native)
        fail_msg("%s at %lld: native %d, want %d", l->name, (long long)off, is_native, native);
    for (size_t i = 4; native && i < o.len; i += 4)
        assert_int_equal(word_at(o.b + i), 0xd503201f); /* padding */
    if (!native && (c.w >> 24) == 0xd8)
        assert_int_equal(word_at(o.b), 0xd503201f); /* an unreachable prefetch is dropped */
    sym_ok(&c, &o);
    if (executable(c.w))
        exec_case(&c, &o, 4);
}

static void test_reach_limits(void **state)
{
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        const limit_case *l = &limits[i];
        limit_one(l, l->hi, true);
        limit_one(l, l->hi + l->step, false);
        limit_one(l, l->lo, true);
        limit_one(l, l->lo - l->step, false);
    }
}

/* ADRP: page distance 2^20 - 1 pages is the limit (one ADRP); BL: the
 * callee at the edge of the B after "adr x30". */
static void test_reach_limits_adrp_bl(void **state)
{
    for (int sign = -1; sign <= 1; sign += 2)
        for (int past = 0; past < 2; past++) {
            rcase c = {.src = SRC + 0x400000, .scratch = 0};
            uint64_t page = (c.src & ~0xfffull) + 0x3000;
            c.w = 0x90000008u | (3u & 3) << 29 | (3u >> 2) << 5; /* adrp x8, +3 pages */
            int64_t pages = sign > 0 ? (1ll << 20) - 1 + past : -(1ll << 20) - past;
            c.dst = page - (uint64_t)(pages * 4096) + 0x10;
            relo o;
            hp_status s = relocate(&c, &o);
            if (past) { /* without scratch, beyond one ADRP is out of reach */
                assert_int_equal(s, HP_ERR_RANGE);
                c.scratch = HP_A64_REG(16);
                assert_int_equal(relocate(&c, &o), HP_OK);
            } else {
                assert_int_equal(s, HP_OK);
                assert_int_equal(word_at(o.b) & 0x9f00001fu, 0x90000008u);
            }
            sym_ok(&c, &o);
            exec_case(&c, &o, 2);
        }
    for (int sign = -1; sign <= 1; sign += 2)
        for (int past = 0; past < 2; past++) {
            rcase c = {.src = SRC + 0x4000000, .scratch = 0};
            c.ret = c.src + 4;
            c.dst = c.ret + (sign > 0 ? -0x100 : 0x100);
            int64_t off = sign > 0 ? (1ll << 27) - 4 + 4 * past : -(1ll << 27) - 4 * past;
            uint64_t callee = c.dst + 4 + (uint64_t)off;
            c.w = 0x94000000u | (uint32_t)(((int64_t)(callee - c.src) / 4) & 0x3ffffff);
            relo o;
            hp_status s = relocate(&c, &o);
            if (past) {
                assert_int_equal(s, HP_ERR_RANGE);
                c.scratch = HP_A64_REG(16);
                assert_int_equal(relocate(&c, &o), HP_OK);
            } else {
                assert_int_equal(s, HP_OK);
                assert_int_equal(word_at(o.b) & 0x9f00001fu, 0x1000001eu); /* adr x30 */
                assert_int_equal(word_at(o.b + 4) >> 26, 0x05);            /* b */
            }
            sym_ok(&c, &o);
            exec_case(&c, &o, 2);
        }
}

/* ---- refusals and the scratch policy */

static void expect(uint32_t w, uint64_t dst_off, uint64_t ret, uint32_t scratch, hp_status want,
                   const char *needle)
{
    rcase c = {.w = w, .src = SRC, .dst = SRC + dst_off, .ret = ret, .scratch = scratch};
    relo o;
    hp_status s = relocate(&c, &o);
    if (s != want)
        fail_msg("0x%08x: status %d, want %d (%s)", w, s, want, o.why);
    if (needle && !strstr(o.why, needle))
        fail_msg("0x%08x: reason '%s' lacks '%s'", w, o.why, needle);
}

static void test_refusals(void **state)
{
    /* the reason names the instruction as the disassembler prints it */
    char want[200];
    snprintf(want, sizeof want, "cannot relocate 'bl #0x%llx' at 0x%llx: a stolen call would "
             "leave a return address in the new code (no return address given)",
             (unsigned long long)SRC + 0x40, (unsigned long long)SRC);
    rcase c = {.w = 0x94000010, .src = SRC, .dst = SRC + 0x100, .scratch = HP_A64_X16_X17};
    relo o;
    assert_int_equal(relocate(&c, &o), HP_ERR_UNHOOKABLE);
    assert_string_equal(o.why, want);
    expect(0x94000010, 0x100, 0, HP_A64_X16_X17, HP_ERR_UNHOOKABLE, "return address");
    expect(0xd63f0200, 0x100, 0, HP_A64_X16_X17, HP_ERR_UNHOOKABLE, "return address");
    expect(0xd63f03c0, 0x100, SRC + 4, 0, HP_ERR_UNHOOKABLE, "x30"); /* blr x30 */
    expect(0xd73f083e, 0x100, SRC + 4, 0, HP_ERR_UNHOOKABLE, "x30"); /* blraa x1, x30 */
    expect(0xd63f03c0, 0x100, SRC + 4, HP_A64_REG(5), HP_OK, NULL);
    expect(0xdac1a3fe, 0x100, 0, HP_A64_X16_X17, HP_ERR_UNHOOKABLE, "own address");
    expect(0xf380009f, 0x100, 0, HP_A64_X16_X17, HP_ERR_UNHOOKABLE, "label");
    expect(0x5500009f, 0x100, 0, HP_A64_X16_X17, HP_ERR_UNHOOKABLE, "label");
    /* out of reach without (enough) scratch: RANGE, with the reason */
    expect(0x14000010, 200 * MiB, 0, 0, HP_ERR_RANGE, "scratch");
    expect(0x9c000041, 2 * MiB, 0, 0, HP_ERR_RANGE, "scratch"); /* ldr q1 */
    expect(0x9c000041, 5 * GiB, 0, HP_A64_REG(16), HP_ERR_RANGE, "scratch");
    expect(0x14000010, 5 * GiB, 0, HP_A64_REG(16), HP_ERR_RANGE, "one scratch");
    expect(0x14000010, 5 * GiB, 0, HP_A64_X16_X17, HP_OK, NULL);
    /* malformed input */
    uint8_t w[4] = {0x1f, 0x20, 0x03, 0xd5};
    size_t len = 9;
    hp_diags why = {0};
    assert_int_equal(hp_a64_relocate(w, 3, SRC, SRC, 0, 0, NULL, &len, &why), HP_ERR_FORMAT);
    assert_int_equal(len, 0);
    take_reason(&why, SRC, &o);
    snprintf(want, sizeof want, "no whole aligned instruction at 0x%llx", (unsigned long long)SRC);
    assert_string_equal(o.why, want);
    assert_int_equal(hp_a64_relocate(w, 4, SRC + 2, SRC, 0, 0, NULL, &len, NULL), HP_ERR_FORMAT);
    assert_int_equal(hp_a64_relocate(w, 4, SRC, SRC + 2, 0, 0, NULL, &len, &why),
                     HP_ERR_INTERNAL);
    assert_int_equal(why.n, 0);
    assert_int_equal(hp_a64_relocate(w, 4, SRC, SRC, 0, 0, NULL, NULL, NULL), HP_ERR_INTERNAL);
}

/* Sizes: the worst case by scratch set, independent of the addresses, and
 * the largest within HP_A64_RELOC_MAX. */
static void test_sizes(void **state)
{
    static const struct {
        uint32_t w, scratch;
        bool ret;
        size_t size;
    } cases[] = {
        {0x14000010, 0, false, 4},               /* b: B only */
        {0x14000010, HP_A64_REG(16), false, 12}, /* adrp, add, br */
        {0x14000010, HP_A64_X16_X17, false, 28}, /* adr, mov x4, add, br */
        {0x54000001, 0, false, 8},               /* b.ne: inverted over B */
        {0x54000001, HP_A64_X16_X17, false, 32},
        {0x94000010, 0, true, 12},               /* adrp+add x30, b */
        {0x94000010, HP_A64_REG(16), true, 48},  /* HP_A64_RELOC_MAX */
        {0x10000002, 0, false, 8},               /* adr: adrp, add */
        {0x10000002, HP_A64_REG(16), false, 24},
        {0x58000004, 0, false, 12},              /* ldr x: adrp, add, ldr */
        {0x9c000001, 0, false, 4},               /* ldr q without scratch: native only */
        {0x9c000001, HP_A64_REG(16), false, 12},
        {0xd8000000, HP_A64_X16_X17, false, 4},  /* prfm */
        {0xd63f0200, HP_A64_X16_X17, true, 28},  /* blr x16: adr.. x30 (6), br */
        {0xd63f0140, HP_A64_X16_X17, true, 32},  /* blr x10: mov x16, x10 first */
        {0xaa0103e0, HP_A64_X16_X17, false, 4},  /* mov x0, x1: copied */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t w[4];
        hp_wr32(w, cases[i].w);
        size_t len = 0;
        assert_int_equal(hp_a64_relocate(w, 4, SRC, SRC + 8, cases[i].ret ? SRC + 4 : 0,
                                         cases[i].scratch, NULL, &len, NULL),
                         HP_OK);
        if (len != cases[i].size)
            fail_msg("case %zu (0x%08x): %zu bytes, want %zu", i, cases[i].w, len, cases[i].size);
        assert_true(len <= HP_A64_RELOC_MAX);
    }
}

/* ---- fixed sequences */

/* Run code placed at va (mapped by the caller) until it leaves [va, end). */
static void run_at(uint64_t va, uint64_t end, cpu *s, cpu *out)
{
    run(va, end, s, out);
}

static size_t movz_count(uint64_t v)
{
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        n += ((v >> (16 * i)) & 0xffff) != 0;
    return n ? n : 1;
}

static void ret_imm_one(int64_t v, uint64_t page)
{
    uint8_t b[32];
    size_t n = hp_a64_ret_imm(NULL, v);
    assert_int_equal(hp_a64_ret_imm(b, v), n);
    assert_true(n >= 8 && n <= 20 && n % 4 == 0);
    assert_int_equal(word_at(b + n - 4), 0xd65f03c0); /* ret */
    size_t z = movz_count((uint64_t)v), nz = movz_count(~(uint64_t)v);
    assert_true(n / 4 - 1 <= (z < nz ? z : nz)); /* never worse than MOVZ or MOVN */
    uc_mem_write(uc, page, b, n);
    uc_ctl_remove_cache(uc, page, page + 0x1000);
    cpu s, a;
    cpu_random(&s);
    s.x[30] = page + 0x800;
    run_at(page, page + n, &s, &a);
    if (a.x[0] != (uint64_t)v || a.pc != page + 0x800)
        fail_msg("ret_imm(0x%llx): x0 0x%llx pc 0x%llx", (unsigned long long)v,
                 (unsigned long long)a.x[0], (unsigned long long)a.pc);
    for (int i = 1; i < 31; i++)
        assert_int_equal(a.x[i], s.x[i]);
}

/* A value that is a bitmask immediate: a rotated run in a replicated
 * element, sometimes with one halfword changed. */
static uint64_t bitmask_like(void)
{
    unsigned e = 2u << (rnd() % 6), ones = 1 + (unsigned)(rnd() % (e - 1));
    unsigned r = (unsigned)(rnd() % e);
    uint64_t m = e == 64 ? ~0ull : (1ull << e) - 1, run = (1ull << ones) - 1;
    uint64_t el = r ? ((run >> r) | (run << (e - r))) & m : run, v = 0;
    for (unsigned i = 0; i < 64; i += e)
        v |= el << i;
    if (rnd() & 1)
        v ^= (rnd() & 0xffff) << (16 * (rnd() % 4));
    return v;
}

static void test_ret_imm(void **state)
{
    static const struct {
        int64_t v;
        size_t size;
    } cases[] = {
        {0, 8},
        {-1, 8},
        {INT64_MIN, 8},
        {INT64_MAX, 8},
        {0xffff0000, 8},
        {0xfffffffe, 8},               /* movn w0, #1 */
        {0x5555555555555555ll, 8},     /* orr */
        {0x0000ffff0000ffffll, 8},     /* orr */
        {0x1234000000005678ll, 12},    /* movz, movk */
        {(int64_t)0x123456789abcdef0ull, 20},
        {(int64_t)0xffffffff12345678ull, 12}, /* movn, movk */
        {0x00ff00ff00ff1234ll, 12},    /* orr, movk */
        {42, 8},
        {-42, 8},
    };
    uint64_t page = 0x7000000000ull;
    assert_int_equal(uc_mem_map(uc, page, 0x1000, UC_PROT_ALL), UC_ERR_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (hp_a64_ret_imm(NULL, cases[i].v) != cases[i].size)
            fail_msg("ret_imm(0x%llx): %zu bytes, want %zu", (unsigned long long)cases[i].v,
                     hp_a64_ret_imm(NULL, cases[i].v), cases[i].size);
        ret_imm_one(cases[i].v, page);
    }
    for (int i = 0; i < 3000; i++) {
        ret_imm_one((int64_t)rnd(), page);
        ret_imm_one((int64_t)bitmask_like(), page);
        ret_imm_one((int64_t)(rnd() & 0xffff00000000ffffull), page);
    }
    assert_int_equal(uc_mem_unmap(uc, page, 0x1000), UC_ERR_OK);
}

static void jump_exec(const uint8_t *code, size_t n, uint64_t at, uint64_t to, unsigned xreg)
{
    pages ps = {.n = 0};
    pages_add(&ps, at, n + 4);
    pages_add(&ps, to, 4);
    pages_map(&ps);
    uc_mem_write(uc, at, code, n);
    cpu s, a;
    cpu_random(&s);
    run_at(at, at + n, &s, &a);
    assert_int_equal(a.pc, to);
    s.pc = to;
    same_cpu(&s, &a, 1u << xreg, "jump");
    pages_unmap(&ps);
}

static void test_jumps(void **state)
{
    static const int64_t far[] = {127 * (int64_t)MiB,  -127 * (int64_t)MiB, 129 * (int64_t)MiB,
                                  -129 * (int64_t)MiB, GIB39,               -GIB39};
    uint8_t b[16];
    uint64_t at = SRC + 0x123450;
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
        uint64_t to = at + (uint64_t)far[i] + 0x344;
        assert_int_equal(hp_a64_jmp_far(NULL, at, to, 16), 12);
        assert_int_equal(hp_a64_jmp_far(b, at, to, 16), 12);
        jump_exec(b, 12, at, to, 16);
        assert_int_equal(hp_a64_jmp_far(b, at, to, 9), 12);
        jump_exec(b, 12, at, to, 9);
        bool near = far[i] > -(int64_t)(128 * MiB) && far[i] < (int64_t)(128 * MiB);
        assert_int_equal(hp_a64_b_reach(at, to), near);
        assert_int_equal(hp_a64_b(b, at, to), near ? 4 : 0);
        if (near)
            jump_exec(b, 4, at, to, 31);
    }
    /* the exact edges of B */
    assert_true(hp_a64_b_reach(at, at + (1ull << 27) - 4));
    assert_false(hp_a64_b_reach(at, at + (1ull << 27)));
    assert_true(hp_a64_b_reach(at, at - (1ull << 27)));
    assert_false(hp_a64_b_reach(at, at - (1ull << 27) - 4));
    assert_false(hp_a64_b_reach(at, at + 2));
    assert_int_equal(hp_a64_b(NULL, at, at + 5 * GiB), 4);
    /* beyond +-4 GiB: the ADRP form refuses, the literal form goes anywhere */
    assert_int_equal(hp_a64_jmp_far(b, at, at + 5 * GiB, 16), 0);
    assert_int_equal(hp_a64_jmp_far(b, at, at + 8, 31), 0);
    for (int sign = -1; sign <= 1; sign += 2) {
        uint64_t to = at + (uint64_t)(sign * (int64_t)(5 * GiB)) + 0x88;
        assert_int_equal(hp_a64_jmp_abs(NULL, to, 17), 16);
        assert_int_equal(hp_a64_jmp_abs(b, to, 17), 16);
        assert_int_equal(hp_rd64(b + HP_A64_JMP_ABS_QUAD), to);
        jump_exec(b, 16, at, to, 17);
    }
    assert_int_equal(hp_a64_jmp_abs(b, at, 31), 0);
}

/* ---- addresses computed by ADRP+ADD (call-site redirection) */

/* Independent encoders for the sequences under test. */
static uint32_t t_adrp(unsigned rd, uint64_t at, uint64_t to)
{
    int64_t pages = (int64_t)((to >> 12) - (at >> 12));
    return 0x90000000u | ((uint32_t)pages & 3) << 29 | ((uint32_t)(pages >> 2) & 0x7ffff) << 5 | rd;
}
static uint32_t t_add(unsigned rd, unsigned rn, uint64_t to)
{
    return 0x91000000u | (uint32_t)(to & 0xfff) << 10 | rn << 5 | rd;
}

/* Run the len bytes at at (the ADRP first) and check that they leave
 * want in xd, with only xd and what mask names changed. */
static void addr_exec(const uint8_t *code, size_t len, uint64_t at, unsigned xd, uint64_t want,
                      uint32_t mask)
{
    pages ps = {.n = 0};
    pages_add(&ps, at, len + 4);
    pages_add(&ps, want & ~0xfffull, 8); /* a load between them reads the page */
    pages_map(&ps);
    uc_mem_write(uc, at, code, len);
    cpu s, a;
    cpu_random(&s);
    run_at(at, at + len, &s, &a);
    if (a.x[xd] != want)
        fail_msg("x%u 0x%llx, want 0x%llx", xd, (unsigned long long)a.x[xd],
                 (unsigned long long)want);
    s.pc = at + len;
    same_cpu(&s, &a, mask | 1u << xd, "adrp+add");
    pages_unmap(&ps);
}

static void test_addr_ref(void **state)
{
    const uint64_t at = SRC + 0x1230, fn = SRC - 0x52000 + 0x9a4;
    static const struct {
        const char *what;
        uint32_t mid;    /* a word between the ADRP and the ADD (0: none) */
        unsigned rd, rn; /* the ADD's; the ADRP writes rn */
        int kind;        /* HP_REF_PCADDR, HP_REF_ABS, or -1: not an address */
        uint32_t mask;   /* registers the middle word writes */
    } cases[] = {
        {"adjacent", 0, 9, 9, HP_REF_PCADDR, 0},
        {"mov w0 between", 0x52800000u, 9, 9, HP_REF_PCADDR, 1u},
        {"ldr x1, [x9] between: may read the page", 0xf9400121u, 9, 9, HP_REF_ABS, 2u},
        {"page kept in x10", 0, 11, 10, HP_REF_ABS, 1u << 10},
        {"branch between", 0x14000001u, 9, 9, -1, 0},
        {"x9 written between", 0xd2800029u, 9, 9, -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t b[12];
        size_t len = 0;
        hp_wr32(b, t_adrp(cases[i].rn, at, fn));
        len = 4;
        if (cases[i].mid) {
            hp_wr32(b + len, cases[i].mid);
            len += 4;
        }
        hp_wr32(b + len, t_add(cases[i].rd, cases[i].rn, fn));
        len += 4;
        hp_addr_ref r;
        bool got = hp_a64_addr_ref(b + len - 4, len - 4, 4, at + len - 4, &r);
        if (cases[i].kind < 0) {
            if (got)
                fail_msg("%s: an address was reported", cases[i].what);
            continue;
        }
        if (!got || r.kind != cases[i].kind || r.addr != fn)
            fail_msg("%s: got %d kind %d addr 0x%llx", cases[i].what, got, r.kind,
                     (unsigned long long)r.addr);
        /* the CPU agrees with the address reported */
        addr_exec(b, len, at, cases[i].rd, fn, cases[i].mask);
        if (r.kind == HP_REF_ABS) {
            assert_non_null(r.why);
            assert_false(hp_a64_retarget_addr(b, len, at, &r, fn + 0x1000));
            continue;
        }
        assert_int_equal(r.back, len - 4);
        assert_int_equal(r.len, len);
        static const int64_t dist[] = {0x40, -0x40, 5 * (int64_t)MiB, -5 * (int64_t)MiB,
                                       GIB39, -GIB39};
        for (size_t k = 0; k < sizeof dist / sizeof dist[0]; k++) {
            uint8_t c[12];
            memcpy(c, b, len);
            uint64_t to = at + (uint64_t)dist[k] + 0x5b0;
            assert_true(hp_a64_retarget_addr(c, len, at, &r, to));
            if (len == 12)
                assert_int_equal(hp_rd32(c + 4), cases[i].mid); /* untouched */
            addr_exec(c, len, at, cases[i].rd, to, cases[i].mask);
            hp_addr_ref again;
            assert_true(hp_a64_addr_ref(c + len - 4, len - 4, 4, at + len - 4, &again));
            assert_int_equal(again.addr, to);
        }
        /* beyond +-4 GiB: refused, nothing written */
        uint8_t c[12];
        memcpy(c, b, len);
        assert_false(hp_a64_retarget_addr(c, len, at, &r, at + 5 * GiB));
        assert_memory_equal(c, b, len);
    }
    /* not seen without the words before it */
    uint8_t b[8];
    hp_wr32(b, t_adrp(9, at, fn));
    hp_wr32(b + 4, t_add(9, 9, fn));
    hp_addr_ref r;
    assert_false(hp_a64_addr_ref(b + 4, 0, 4, at + 4, &r));
    /* NOP; ADR (lld's relaxed ADRP+ADD): re-pointed as ADRP+ADD */
    uint8_t na[8];
    hp_wr32(na, 0xd503201fu);
    hp_wr32(na + 4, 0x10000000u | (0x4400u >> 2 & 0x7ffffu) << 5 | 3); /* adr x3, .+0x4400 */
    assert_true(hp_a64_addr_ref(na + 4, 4, 4, at + 4, &r));
    assert_int_equal(r.kind, HP_REF_PCADDR);
    assert_int_equal(r.addr, at + 4 + 0x4400);
    assert_int_equal(r.back, 4);
    assert_int_equal(r.len, 8);
    addr_exec(na, 8, at, 3, at + 4 + 0x4400, 0);
    for (int sign = -1; sign <= 1; sign += 2) {
        uint8_t c[8];
        memcpy(c, na, 8);
        uint64_t to = at + (uint64_t)(sign * GIB39) + 0x778;
        assert_true(hp_a64_retarget_addr(c, 8, at, &r, to));
        addr_exec(c, 8, at, 3, to, 0);
    }
    /* ADR: reported, never re-pointed (+-1 MiB) */
    hp_wr32(b, 0x10000000u | (0x40u >> 2) << 5 | 3); /* adr x3, .+0x40 */
    assert_true(hp_a64_addr_ref(b, 0, 4, at, &r));
    assert_int_equal(r.kind, HP_REF_ABS);
    assert_int_equal(r.addr, at + 0x40);
    assert_non_null(r.why);
    /* an absolute address, reported: a MOVZ/MOVK run at its last MOVK, and
     * an LDR of a literal word in the bytes given */
    uint8_t m[16];
    hp_wr32(m, 0xd2824680u);     /* movz x0, #0x1234 */
    hp_wr32(m + 4, 0xf2a00800u); /* movk x0, #0x40, lsl #16 */
    hp_wr32(m + 8, 0xf2c00020u); /* movk x0, #0x1, lsl #32 */
    hp_wr32(m + 12, 0xd65f03c0u);
    assert_false(hp_a64_addr_ref(m + 4, 4, 12, at + 4, &r)); /* the run goes on */
    assert_true(hp_a64_addr_ref(m + 8, 8, 8, at + 8, &r));
    assert_int_equal(r.kind, HP_REF_ABS);
    assert_int_equal(r.addr, 0x100401234ull);
    assert_non_null(r.why);
    hp_wr32(m + 8, 0xd65f03c0u);
    assert_true(hp_a64_addr_ref(m + 4, 4, 12, at + 4, &r));
    assert_int_equal(r.addr, 0x401234ull);
    hp_wr32(m, 0xd2824681u); /* movz x1: another register */
    assert_false(hp_a64_addr_ref(m + 4, 4, 12, at + 4, &r));
    hp_wr32(m, 0x58000041u); /* ldr x1, .+8 */
    hp_wr32(m + 4, 0xd65f03c0u);
    hp_wr64(m + 8, fn);
    assert_true(hp_a64_addr_ref(m, 0, 16, at, &r));
    assert_int_equal(r.kind, HP_REF_ABS);
    assert_int_equal(r.addr, fn);
    assert_false(hp_a64_addr_ref(m, 0, 12, at, &r)); /* the literal is not in the bytes */
    /* ADD from sp, a 32-bit ADD, ADDS: not addresses */
    hp_wr32(b, t_adrp(9, at, fn));
    static const uint32_t nots[] = {0x910003e9u /* add x9, sp, #0 */,
                                    0x11000129u /* add w9, w9, #0 */,
                                    0xb1000129u /* adds x9, x9, #0 */,
                                    0x91400129u /* add x9, x9, #0, lsl #12 */};
    for (size_t i = 0; i < sizeof nots / sizeof nots[0]; i++) {
        hp_wr32(b + 4, nots[i]);
        assert_false(hp_a64_addr_ref(b + 4, 4, 4, at + 4, &r));
    }
}

static void test_small_stubs(void **state)
{
    uint8_t b[4];
    hp_insn in;
    assert_int_equal(hp_a64_trap(NULL), 4);
    assert_int_equal(hp_a64_trap(b), 4);
    assert_int_equal(hp_a64_decode(b, 4, SRC, &in), HP_OK);
    assert_int_equal(in.kind, HP_INSN_UD);
    assert_true(hp_a64_is_reserved(word_at(b)));
    /* it raises the undefined-instruction exception (SIGILL on Linux) */
    uint64_t page = 0x7100000000ull;
    assert_int_equal(uc_mem_map(uc, page, 0x1000, UC_PROT_ALL), UC_ERR_OK);
    uc_mem_write(uc, page, b, 4);
    cpu s;
    cpu_random(&s);
    cpu_put(&s);
    run_lo = page;
    run_hi = page + 4;
    last_intno = -1;
    uc_emu_start(uc, page, 1, 0, 10);
    assert_int_equal(last_intno, 1); /* EXCP_UDEF; BRK would be 7 (EXCP_BKPT) */
    assert_int_equal(uc_mem_unmap(uc, page, 0x1000), UC_ERR_OK);
    assert_int_equal(hp_a64_bti_c(b), 4);
    assert_int_equal(hp_a64_decode(b, 4, SRC, &in), HP_OK);
    assert_int_equal(in.kind, HP_INSN_LANDING);
    assert_int_equal(hp_a64_bti_accepts(word_at(b)), HP_A64_BTI_C);
    assert_int_equal(hp_a64_nop(b), 4);
    assert_int_equal(hp_a64_decode(b, 4, SRC, &in), HP_OK);
    assert_int_equal(in.kind, HP_INSN_NOP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_side_by_side),
        cmocka_unit_test(test_tbz_bits),
        cmocka_unit_test(test_bcond_all_flags),
        cmocka_unit_test(test_reach_limits),
        cmocka_unit_test(test_reach_limits_adrp_bl),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_ret_imm),
        cmocka_unit_test(test_jumps),
        cmocka_unit_test(test_addr_ref),
        cmocka_unit_test(test_small_stubs),
    };
    return cmocka_run_group_tests(tests, uc_setup, uc_teardown);
}
