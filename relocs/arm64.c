/* arm64: decode, scan and format AArch64 (A64) instructions; the Go
 * prologue facts. Relocation and the fixed sequences are in arm64_reloc.c.
 *
 * Quirks of moving AArch64 code, and what relocs/arm64*.c do about each:
 *
 * - Every instruction is one 32-bit little-endian word at a 4-aligned
 *   address, and the PC is not a general register (unlike AArch32). Position
 *   dependence therefore comes from a closed list of encodings that take a
 *   PC-relative immediate: B, BL, B.cond (and FEAT_HBC's BC.cond), CBZ/CBNZ,
 *   TBZ/TBNZ, FEAT_CMPBR's CB<cc>, ADR, ADRP, the literal loads (LDR
 *   W/X/S/D/Q, LDRSW) and PRFM literal, plus FEAT_PAuth_LR's
 *   AUTI*SPPC/RETA*SPPC labels and PACI*SPPC, which mix their own address
 *   into a signature. Every other word - allocated or not - means the same
 *   at any address, so it is copied: an unallocated word traps wherever it
 *   runs. hp_a64_is_reserved tells a caller which words are likely data.
 * - Decoding and encoding are hand-written and table-driven (a mask/value
 *   table, below), not capstone's: the list is small and closed, the
 *   relocator needs an encoder (capstone only decodes), a runtime
 *   dependency for a dozen classes is not worth it, and Debian's capstone
 *   4.0.2 predates the v8.3+ encodings above (PAC branches, BTI, HBC,
 *   CMPBR, PAuth_LR). capstone is the unit tests' oracle instead.
 * - Reach is short and differs by class: B/BL +-128 MiB, B.cond/CB/ADR and
 *   literals +-1 MiB, TB +-32 KiB, CB<cc> +-1 KiB, ADRP +-4 GiB of pages.
 *   A relocated instruction that no longer reaches becomes a longer
 *   sequence; measure reports the longest one the scratch set allows and
 *   emit pads the shortest with NOPs, so sizes never depend on addresses.
 * - There is no memory-indirect branch and no branch with a 64-bit
 *   immediate: every jump beyond B's reach goes through a dead register.
 *   AAPCS64 and Go both treat x16/x17 (IP0/IP1) as dead at a function entry
 *   and across calls (linker veneers clobber them), but Go's own prologue
 *   writes both, so the caller says which registers are free
 *   (hp_a64_regs_written helps) and the relocator never touches any other.
 *   Nothing it emits sets flags.
 * - ADRP works on 4 KiB pages of the PC, so a relocated ADRP is recomputed
 *   from the page of its new address. ADRP+LDR folds the low 12 bits into
 *   the load only when they are a multiple of the access size (the unsigned
 *   offset is scaled); otherwise ADD, then load.
 * - BTI: an indirect branch must land on a landing pad matching its type.
 *   BLR is a call (BTI c, jc, PACIASP/PACIBSP); BR through x16/x17 is
 *   accepted by every pad; BR through another register only by BTI j/jc.
 *   Far sequences therefore prefer x16/x17, and a relocated BLR turns into
 *   BR through x16/x17 when it can. A far jump into the middle of a function
 *   (no pad there) needs the output's BTI marking cleared.
 * - PAC: PACIASP/PACIBSP sign x30 with SP as the modifier, which does not
 *   depend on where they run, so they move. PACI*SPPC also mix in their own
 *   address and the matching AUTI*SPPC/RETA*SPPC name that address
 *   PC-relatively: they are refused.
 * - A stolen BL must not leave a return address in the new code, so it
 *   becomes "x30 := ret_va (ADR/ADRP+ADD); B callee". Under FEAT_GCS a real
 *   BL also pushes onto the guarded control stack and RET checks it; the
 *   emulation pushes nothing, so an output with relocated calls must not
 *   keep the GCS marking.
 * - Words of a literal pool inside .text decode as something; the scans
 *   treat every aligned word as code, which can only add spurious branch
 *   targets (a refusal too many), never hide a real one.
 */
#include "arm64_priv.h"

#include <pthread.h>
/* HP_HAVE_SSE2 (CMakeLists.txt): branch candidates 8 words at a time. Off
 * on hosts without SSE2 (Apple Silicon) and under HP_PORTABLE, where the
 * word loop of hp_a64_branch_candidates finds the same ones. */
#ifdef HP_HAVE_SSE2
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <string.h>

/* ---- classification */

/* First match wins: specific encodings precede the groups they sit in. */
static const struct a64_pattern {
    uint32_t mask, value;
    uint8_t cls;
} a64_patterns[] = {
    {0xfc000000, 0x14000000, A_B},
    {0xfc000000, 0x94000000, A_BL},
    {0xff000000, 0x54000000, A_BCOND}, /* o1 = 0; o0 (bit 4) = BC.cond */
    {0x7e000000, 0x34000000, A_CB},
    {0x7e000000, 0x36000000, A_TB},
    {0x7e000000, 0x74000000, A_CMPBR}, /* register (bit 24 = 0) and immediate forms */
    {0x9f000000, 0x10000000, A_ADR},
    {0x9f000000, 0x90000000, A_ADRP},
    {0xff000000, 0xd8000000, A_PRFM_LIT},
    {0xff000000, 0xdc000000, A_OTHER}, /* literal opc=11 V=1: unallocated */
    {0x3b000000, 0x18000000, A_LDR_LIT},
    {0xffc0001f, 0xf380001f, A_PAUTH_LR},     /* AUTIASPPC, AUTIBSPPC */
    {0xffc0001f, 0x5500001f, A_PAUTH_LR_RET}, /* RETAASPPC, RETABSPPC */
    {0xfffffc1f, 0xd65f0000, A_RET},
    {0xfffffbff, 0xd65f0bff, A_RET}, /* RETAA, RETAB */
    {0xfffffbff, 0xd69f0bff, A_ERET},
    {0xffffffff, 0xd69f03e0, A_ERET},
    {0xffffffff, 0xd6bf03e0, A_ERET}, /* DRPS */
    {0xfffffc1f, 0xd61f0000, A_BR},
    {0xfffff800, 0xd71f0800, A_BR},  /* BRAA, BRAB */
    {0xfffff81f, 0xd61f081f, A_BR},  /* BRAAZ, BRABZ */
    {0xfffffc1f, 0xd63f0000, A_BLR},
    {0xfffff800, 0xd73f0800, A_BLR}, /* BLRAA, BLRAB */
    {0xfffff81f, 0xd63f081f, A_BLR}, /* BLRAAZ, BLRABZ */
    {0xffffffff, 0xd503201f, A_NOP},
    {0xffffff3f, 0xd503241f, A_BTI},      /* BTI, BTI c, j, jc */
    {0xffffffbf, 0xd503233f, A_PAC_SIGN}, /* PACIASP, PACIBSP */
    {0xffffffbf, 0xd503231f, A_PAC_SIGN}, /* PACIAZ, PACIBZ */
    {0xfffff01f, 0xd503201f, A_HINT},
    {0xffffdbff, 0xdac103fe, A_PAC_SIGN},    /* PACIA/PACIB x30, sp; PACIZA/PACIZB x30 */
    {0xfffffbff, 0xdac1a3fe, A_PAC_SIGN_PC}, /* PACIASPPC, PACIBSPPC */
    {0xfffffbff, 0xdac183fe, A_PAC_SIGN_PC}, /* PACNBIASPPC, PACNBIBSPPC */
    {0xffe0001f, 0xd4200000, A_BRK},
    {0xffff0000, 0x00000000, A_UDF},
};
#define A64_NPATTERNS (sizeof a64_patterns / sizeof a64_patterns[0])

/* First pattern that can match a given top byte (A64_NPATTERNS: none), so
 * the common word - no pattern at all - costs one load. */
static uint8_t a64_first[256];
static pthread_once_t a64_first_once = PTHREAD_ONCE_INIT;

static void a64_first_init(void)
{
    for (unsigned b = 0; b < 256; b++) {
        a64_first[b] = A64_NPATTERNS;
        for (unsigned i = 0; i < A64_NPATTERNS; i++) {
            uint32_t m = a64_patterns[i].mask >> 24, v = a64_patterns[i].value >> 24;
            if ((b & m) == v) {
                a64_first[b] = (uint8_t)i;
                break;
            }
        }
    }
}

a64_class hp_a64_classify(uint32_t w)
{
    pthread_once(&a64_first_once, a64_first_init);
    for (unsigned i = a64_first[w >> 24]; i < A64_NPATTERNS; i++)
        if ((w & a64_patterns[i].mask) == a64_patterns[i].value)
            return (a64_class)a64_patterns[i].cls;
    return A_OTHER;
}

static int64_t adr_imm(uint32_t w)
{
    return a64_sext((uint64_t)((w >> 5) & 0x7ffff) << 2 | ((w >> 29) & 3), 21);
}

uint64_t hp_a64_target(uint32_t w, a64_class c, uint64_t va)
{
    switch (c) {
    case A_B:
    case A_BL: return va + (uint64_t)(a64_sext(w, 26) * 4);
    case A_BCOND:
    case A_CB:
    case A_LDR_LIT:
    case A_PRFM_LIT: return va + (uint64_t)(a64_sext(w >> 5, 19) * 4);
    case A_TB: return va + (uint64_t)(a64_sext(w >> 5, 14) * 4);
    case A_CMPBR: return va + (uint64_t)(a64_sext(w >> 5, 9) * 4);
    case A_ADR: return va + (uint64_t)adr_imm(w);
    case A_ADRP: return (va & ~0xfffull) + (uint64_t)(adr_imm(w) * 4096);
    case A_PAUTH_LR:
    case A_PAUTH_LR_RET: return va - (uint64_t)((w >> 5) & 0xffff) * 4;
    default: return 0;
    }
}

static hp_insn_kind a64_kind(uint32_t w, a64_class c)
{
    switch (c) {
    case A_B: return HP_INSN_JMP;
    case A_BL: return HP_INSN_CALL;
    case A_BCOND: return a64_bcond_always(w) ? HP_INSN_JMP : HP_INSN_JCC;
    case A_CB:
    case A_TB:
    case A_CMPBR: return HP_INSN_JCC;
    case A_RET:
    case A_ERET:
    case A_PAUTH_LR_RET: return HP_INSN_RET;
    case A_BR: return HP_INSN_JMP_IND;
    case A_BLR: return HP_INSN_CALL_IND;
    case A_NOP: return HP_INSN_NOP;
    case A_BTI: return HP_INSN_LANDING;
    case A_PAC_SIGN:
    case A_PAC_SIGN_PC: return HP_INSN_PAC_SIGN;
    case A_BRK: return HP_INSN_TRAP;
    case A_UDF: return HP_INSN_UD;
    default: return HP_INSN_OTHER;
    }
}

static void a64_fill(uint32_t w, uint64_t va, hp_insn *out)
{
    a64_class c = hp_a64_classify(w);
    memset(out, 0, sizeof *out);
    out->va = va;
    out->len = HP_A64_INSN_LEN;
    out->kind = (uint8_t)a64_kind(w, c);
    if (a64_is_branch(c)) {
        out->has_target = true;
        out->target_va = hp_a64_target(w, c, va);
    } else if (a64_is_pcrel(c)) {
        out->has_target = out->rip_rel = true;
        out->mem_va = hp_a64_target(w, c, va);
    }
    out->plain = !a64_is_pcrel(c) && c != A_BLR && c != A_PAC_SIGN_PC;
}

hp_status hp_a64_decode(const uint8_t *p, size_t n, uint64_t va, hp_insn *out)
{
    if (!out)
        return HP_ERR_INTERNAL;
    if (!p || n < HP_A64_INSN_LEN || (va & 3))
        return HP_ERR_FORMAT;
    a64_fill(hp_rd32(p), va, out);
    return HP_OK;
}

bool hp_a64_is_reserved(uint32_t w)
{
    unsigned op0 = (w >> 25) & 0xf;
    return (op0 == 0 && !(w >> 31)) || op0 == 1 || op0 == 3;
}

unsigned hp_a64_bti_accepts(uint32_t w)
{
    a64_class c = hp_a64_classify(w);
    if (c == A_BTI)
        return ((w >> 6) & 1 ? HP_A64_BTI_C : 0) | ((w >> 7) & 1 ? HP_A64_BTI_J : 0);
    if (c == A_PAC_SIGN && (w & 0xffffffbf) == 0xd503233f) /* PACIASP, PACIBSP */
        return HP_A64_BTI_C;
    return 0;
}

/* ---- registers written */

#define RBIT(n) (1u << ((n) & 31))

static uint32_t a64_pair(unsigned r) { return RBIT(r) | (r < 30 ? RBIT(r + 1) : 0); }

/* Loads and stores (op0 = x1x0). */
static uint32_t a64_ldst_written(uint32_t w)
{
    unsigned rt = w & 31, rn = (w >> 5) & 31, rt2 = (w >> 10) & 31, rs = (w >> 16) & 31;
    bool simd = (w >> 26) & 1;
    uint32_t gpr_rt = simd ? 0 : RBIT(rt);
    if ((w & 0x3b000000) == 0x18000000) /* literal; PRFM writes nothing */
        return simd || (w >> 30) == 3 ? 0 : RBIT(rt);
    if ((w & 0x3a000000) == 0x28000000) /* pairs: writeback when bit 23 */
        return (simd ? 0 : RBIT(rt) | RBIT(rt2)) | ((w >> 23) & 1 ? RBIT(rn) : 0);
    if ((w & 0x3b000000) == 0x39000000) /* unsigned offset */
        return gpr_rt;
    if ((w & 0x3b000000) == 0x38000000) {
        unsigned k = (w >> 10) & 3;
        if (!((w >> 21) & 1)) /* unscaled, post-index, unprivileged, pre-index */
            return gpr_rt | (k == 1 || k == 3 ? RBIT(rn) : 0);
        if (k == 2) /* register offset */
            return gpr_rt;
        if (k == 0) { /* atomics, swaps, LD64B (eight registers), ST64BV status */
            if ((w & 0xfffffc00) == 0xf83fd000)
                return (uint32_t)(0xffull << rt) & 0x7fffffffu;
            return gpr_rt | RBIT(rs);
        }
        return gpr_rt | RBIT(rn); /* LDRAA/LDRAB, writeback when bit 11 */
    }
    /* Exclusives, CAS/CASP, MOPS, tags, SIMD structures, RCW: every field,
     * and the pairs CASP/RCWCASP use. */
    return a64_pair(rt) | RBIT(rn) | RBIT(rt2) | a64_pair(rs);
}

/* Branches, exception generation, system (op0 = 101x). */
static uint32_t a64_sys_written(uint32_t w)
{
    if ((w & 0xffe0001f) == 0xd4000001) /* SVC: the kernel's result */
        return RBIT(0);
    if ((w & 0xff800000) == 0xd5000000 && ((w >> 21) & 1)) /* MRS, SYSL, MRRS, TSTART */
        return a64_pair(w & 31);
    return 0;
}

uint32_t hp_a64_regs_written(uint32_t w)
{
    unsigned op0 = (w >> 25) & 0xf;
    switch (hp_a64_classify(w)) {
    case A_BL:
    case A_BLR:
    case A_PAC_SIGN:
    case A_PAC_SIGN_PC:
    case A_PAUTH_LR: return RBIT(30);
    case A_HINT: return RBIT(16) | RBIT(17) | RBIT(30); /* PAC 1716/LR forms, CHKFEAT */
    case A_ADR:
    case A_ADRP: return RBIT(w & 31);
    default: break;
    }
    if ((op0 & 0x5) == 0x4) /* x1x0: loads and stores */
        return a64_ldst_written(w);
    if ((op0 & 0xe) == 0xa) /* 101x */
        return a64_sys_written(w);
    /* Data processing (immediate, register, SIMD&FP: a GPR destination is
     * Rd), SVE, SME, unallocated. */
    return RBIT(w & 31);
}

/* ---- scanning */

/* Top byte -> how to pull a direct branch's byte offset out of the word:
 * ((int32_t)(w << l) >> r) & ~3. l == 0: not a direct branch. */
typedef struct a64_brfield {
    uint8_t l, r;
} a64_brfield;

#define BR26 {6, 4}
#define BR19 {8, 11}
#define BR14 {13, 16}
#define BR9 {18, 21}
static const a64_brfield a64_brtab[256] = {
    [0x14] = BR26, [0x15] = BR26, [0x16] = BR26, [0x17] = BR26, /* B */
    [0x94] = BR26, [0x95] = BR26, [0x96] = BR26, [0x97] = BR26, /* BL */
    [0x54] = BR19,                                              /* B.cond, BC.cond */
    [0x34] = BR19, [0x35] = BR19, [0xb4] = BR19, [0xb5] = BR19, /* CBZ, CBNZ */
    [0x36] = BR14, [0x37] = BR14, [0xb6] = BR14, [0xb7] = BR14, /* TBZ, TBNZ */
    [0x74] = BR9,  [0x75] = BR9,  [0xf4] = BR9,  [0xf5] = BR9,  /* CB<cc> */
};

static inline uint64_t a64_brtarget(uint32_t w, a64_brfield f, uint64_t at)
{
    return at + (uint64_t)(int64_t)(((int32_t)(w << f.l) >> f.r) & ~3);
}

/* Targets are marked in a bitmap over the body's words: dedup and sort for
 * free, and memory stays proportional to size. */
static hp_status mark_target(uint64_t **bits, uint64_t words, uint64_t k)
{
    if (!*bits) {
        *bits = hp_calloc((size_t)(words / 64 + 1), sizeof **bits);
        if (!*bits)
            return HP_ERR_NOMEM;
    }
    (*bits)[k / 64] |= 1ull << (k % 64);
    return HP_OK;
}

static hp_status collect_targets(const uint64_t *bits, uint64_t words, uint64_t va,
                                 hp_func_scan *out)
{
    if (!bits)
        return HP_OK;
    size_t n = (size_t)(words / 64 + 1), count = 0;
    for (size_t i = 0; i < n; i++)
        count += (size_t)__builtin_popcountll(bits[i]);
    HP_CHECK(HP_GROW(out->targets, out->targets_cap, count));
    for (size_t i = 0; i < n; i++)
        for (uint64_t m = bits[i]; m; m &= m - 1)
            out->targets[out->ntargets++] =
                va + 4 * ((uint64_t)i * 64 + (uint64_t)__builtin_ctzll(m));
    return HP_OK;
}

static hp_status scan_body(const uint8_t *p, uint64_t words, uint64_t va, hp_func_scan *out,
                           uint64_t **bits)
{
    HP_CHECK(HP_GROW(out->insns, out->insns_cap, (size_t)words));
    for (uint64_t k = 0; k < words; k++) {
        hp_insn *in = &out->insns[out->ninsns++];
        a64_fill(hp_rd32(p + 4 * k), va + 4 * k, in);
        /* Unsigned wrap makes targets below va land beyond the body. */
        uint64_t off = in->target_va - va;
        if (in->has_target && !in->rip_rel && off < 4 * words && !(off & 3))
            HP_CHECK(mark_target(bits, words, off / 4));
    }
    out->ok_size = 4 * words;
    return HP_OK;
}

hp_status hp_a64_scan(const uint8_t *p, uint64_t size, uint64_t va, hp_func_scan *out)
{
    if (!out)
        return HP_ERR_INTERNAL;
    memset(out, 0, sizeof *out);
    if (!p && size)
        return HP_ERR_INTERNAL;
    if (va & 3)
        return HP_OK; /* nothing decodes at a misaligned address */
    uint64_t words = size / 4;
    if (words > SIZE_MAX / sizeof(hp_insn))
        return HP_ERR_NOMEM;
    if (words && va + (4 * words - 1) < va)
        return HP_ERR_RANGE; /* a body wrapping past 2^64 has no sorted order */
    uint64_t *bits = NULL;
    hp_status s = scan_body(p, words, va, out, &bits);
    if (s == HP_OK)
        s = collect_targets(bits, words, va, out);
    hp_free(bits);
    if (s != HP_OK)
        hp_a64_scan_free(out);
    return s;
}

void hp_a64_scan_free(hp_func_scan *s)
{
    if (!s)
        return;
    hp_free(s->insns);
    hp_free(s->targets);
    memset(s, 0, sizeof *s);
}

/* The first aligned offset of [va, va + size), and the whole words from it. */
static uint64_t first_word(uint64_t va, uint64_t size, uint64_t *words)
{
    uint64_t skip = (0 - va) & 3;
    *words = size > skip ? (size - skip) / 4 : 0;
    return skip;
}

hp_status hp_a64_branches(const uint8_t *p, uint64_t size, uint64_t va, hp_branch_fn fn,
                          void *ctx, uint64_t *ok_size)
{
    if (!fn || !ok_size || (!p && size))
        return HP_ERR_INTERNAL;
    uint64_t words, skip = first_word(va, size, &words);
    *ok_size = skip + 4 * words;
    return hp_a64_branch_candidates(p, size, va, NULL, fn, ctx);
}

/* Report (at, t) unless the filter drops t. */
static inline hp_status a64_report(const hp_target_filter *f, uint64_t at, uint64_t t,
                                   hp_branch_fn fn, void *ctx)
{
    uint64_t o = t - f->lo;
    if (o >= f->span || (f->blocks && !(f->blocks[o >> 9] & (1u << ((o >> 6) & 7)))))
        return HP_OK;
    return fn(ctx, at, t);
}

#ifdef HP_HAVE_SSE2
/* Bit k set: word k of the 32 bytes at p has a direct branch's top bits
 * (B/BL, CB/TB, B.cond/BC.cond, CB<cc>). Most words have none, so whole
 * groups are skipped without a branch per word. */
static inline unsigned a64_branch_mask8(const uint8_t *p)
{
    const __m128i m7c = _mm_set1_epi32(0x7c000000), m7e = _mm_set1_epi32(0x7e000000),
                  mff = _mm_set1_epi32((int)0xff000000u);
    unsigned m = 0;
    for (int h = 0; h < 2; h++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + 16 * h)), top = _mm_and_si128(x, m7c);
        __m128i any = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi32(top, _mm_set1_epi32(0x14000000)),
                         _mm_cmpeq_epi32(top, _mm_set1_epi32(0x34000000))),
            _mm_or_si128(_mm_cmpeq_epi32(_mm_and_si128(x, mff), _mm_set1_epi32(0x54000000)),
                         _mm_cmpeq_epi32(_mm_and_si128(x, m7e), _mm_set1_epi32(0x74000000))));
        m |= (unsigned)_mm_movemask_ps(_mm_castsi128_ps(any)) << (4 * h);
    }
    return m;
}
#endif

hp_status hp_a64_branch_candidates(const uint8_t *p, uint64_t size, uint64_t va,
                                   const hp_target_filter *filter, hp_branch_fn fn, void *ctx)
{
    if (!fn || (!p && size))
        return HP_ERR_INTERNAL;
    const hp_target_filter all = {0, UINT64_MAX, NULL};
    const hp_target_filter *f = filter ? filter : &all;
    uint64_t words, skip = first_word(va, size, &words), k = 0;
    const uint8_t *q = p + skip;
    uint64_t at = va + skip;
#ifdef HP_HAVE_SSE2
    for (; k + 8 <= words; k += 8)
        for (unsigned m = a64_branch_mask8(q + 4 * k); m; m &= m - 1) {
            uint64_t i = k + (unsigned)__builtin_ctz(m);
            uint32_t w = hp_rd32(q + 4 * i);
            HP_CHECK(a64_report(f, at + 4 * i, a64_brtarget(w, a64_brtab[w >> 24], at + 4 * i),
                                fn, ctx));
        }
#endif
    for (; k < words; k++) {
        uint32_t w = hp_rd32(q + 4 * k);
        a64_brfield e = a64_brtab[w >> 24];
        if (e.l != 0)
            HP_CHECK(a64_report(f, at + 4 * k, a64_brtarget(w, e, at + 4 * k), fn, ctx));
    }
    return HP_OK;
}

/* ---- formatting: capstone/LLVM syntax for the classes above */

static const char *const a64_conds[16] = {"eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc",
                                          "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"};

/* capstone prints small immediates (addresses too) in decimal, others in
 * hex. */
static void fmt_imm(char *b, size_t n, uint64_t v)
{
    snprintf(b, n, v <= 9 ? "#%llu" : "#0x%llx", (unsigned long long)v);
}

/* "<head> #target" */
static void fmt_to(char *buf, size_t n, const char *head, uint64_t t)
{
    char a[24];
    fmt_imm(a, sizeof a, t);
    snprintf(buf, n, "%s %s", head, a);
}

static void fmt_reg(char *b, size_t n, bool x, unsigned r)
{
    if (r == 31)
        snprintf(b, n, x ? "xzr" : "wzr");
    else
        snprintf(b, n, "%c%u", x ? 'x' : 'w', r);
}

static void fmt_prfop(char *b, size_t n, unsigned op)
{
    static const char *const type[3] = {"pld", "pli", "pst"};
    unsigned t = op >> 3, target = (op >> 1) & 3;
    if (t < 3 && target < 3)
        snprintf(b, n, "%sl%u%s", type[t], target + 1, (op & 1) ? "strm" : "keep");
    else
        fmt_imm(b, n, op);
}

static void fmt_literal(char *buf, size_t n, uint32_t w, uint64_t t)
{
    bool simd;
    unsigned size = a64_lit_size(w, &simd), rt = w & 31;
    char r[16], head[32];
    if (simd)
        snprintf(r, sizeof r, "%c%u", size == 4 ? 's' : size == 8 ? 'd' : 'q', rt);
    else
        fmt_reg(r, sizeof r, (w >> 30) != 0, rt);
    snprintf(head, sizeof head, "%s %s,", (w >> 30) == 2 && !simd ? "ldrsw" : "ldr", r);
    fmt_to(buf, n, head, t);
}

static void fmt_cmpbr(char *buf, size_t n, uint32_t w, uint64_t t)
{
    static const char *const cc[8] = {"gt", "ge", "hi", "hs", "?4", "?5", "eq", "ne"};
    static const char *const cci[8] = {"gt", "lt", "hi", "lo", "?4", "?5", "eq", "ne"};
    bool x = w >> 31, imm = (w >> 24) & 1;
    unsigned k = (w >> 21) & 7, sz = (w >> 14) & 3;
    char a[8], b[24], head[48];
    fmt_reg(a, sizeof a, x, w & 31);
    if (imm)
        fmt_imm(b, sizeof b, (w >> 15) & 63);
    else
        fmt_reg(b, sizeof b, x, (w >> 16) & 31);
    snprintf(head, sizeof head, "cb%s%s %s, %s,", imm ? "" : sz == 2 ? "b" : sz == 3 ? "h" : "",
             imm ? cci[k] : cc[k], a, b);
    fmt_to(buf, n, head, t);
}

static void fmt_branch(char *buf, size_t n, uint32_t w, a64_class c, uint64_t t)
{
    char r[8], bit[8], head[40];
    switch (c) {
    case A_B: fmt_to(buf, n, "b", t); return;
    case A_BL: fmt_to(buf, n, "bl", t); return;
    case A_BCOND:
        snprintf(head, sizeof head, "%s.%s", (w >> 4) & 1 ? "bc" : "b", a64_conds[w & 15]);
        break;
    case A_CB:
        fmt_reg(r, sizeof r, w >> 31, w & 31);
        snprintf(head, sizeof head, "%s %s,", (w >> 24) & 1 ? "cbnz" : "cbz", r);
        break;
    case A_TB:
        fmt_reg(r, sizeof r, w >> 31, w & 31);
        fmt_imm(bit, sizeof bit, (w >> 31) << 5 | ((w >> 19) & 31));
        snprintf(head, sizeof head, "%s %s, %s,", (w >> 24) & 1 ? "tbnz" : "tbz", r, bit);
        break;
    default: fmt_cmpbr(buf, n, w, t); return;
    }
    fmt_to(buf, n, head, t);
}

/* Branch-register family: RET/BR/BLR and their PAC forms. */
static void fmt_breg(char *buf, size_t n, uint32_t w, a64_class c)
{
    unsigned rn = (w >> 5) & 31, rm = w & 31;
    bool pac = (w >> 11) & 1, key_b = (w >> 10) & 1, mod = (w >> 24) & 1;
    const char *base = c == A_RET ? "ret" : c == A_BR ? "br" : "blr";
    char r[8], m[8];
    fmt_reg(r, sizeof r, true, rn);
    if (rm == 31)
        snprintf(m, sizeof m, "sp");
    else
        fmt_reg(m, sizeof m, true, rm);
    if (c == A_RET && pac)
        snprintf(buf, n, "reta%c", key_b ? 'b' : 'a');
    else if (c == A_RET)
        snprintf(buf, n, rn == 30 ? "ret" : "ret %s", r);
    else if (!pac)
        snprintf(buf, n, "%s %s", base, r);
    else if (!mod)
        snprintf(buf, n, "%sa%cz %s", base, key_b ? 'b' : 'a', r);
    else
        snprintf(buf, n, "%sa%c %s, %s", base, key_b ? 'b' : 'a', r, m);
}

static void fmt_hint(char *buf, size_t n, uint32_t w, a64_class c)
{
    static const char *const bti[4] = {"bti", "bti c", "bti j", "bti jc"};
    unsigned imm = (w >> 5) & 0x7f;
    switch (imm) {
    case 0x19: snprintf(buf, n, "paciasp"); return;
    case 0x1b: snprintf(buf, n, "pacibsp"); return;
    case 0x18: snprintf(buf, n, "paciaz"); return;
    case 0x1a: snprintf(buf, n, "pacibz"); return;
    case 0x1d: snprintf(buf, n, "autiasp"); return;
    case 0x1f: snprintf(buf, n, "autibsp"); return;
    default: break;
    }
    if (c == A_BTI)
        snprintf(buf, n, "%s", bti[(w >> 6) & 3]);
    else
        snprintf(buf, n, "hint #0x%x", imm);
}

static void fmt_other(char *buf, size_t n, uint32_t w, a64_class c, uint64_t va)
{
    char r[16], head[32];
    uint64_t t = hp_a64_target(w, c, va);
    switch (c) {
    case A_ADR:
    case A_ADRP:
        fmt_reg(r, sizeof r, true, w & 31);
        snprintf(head, sizeof head, "%s %s,", c == A_ADR ? "adr" : "adrp", r);
        fmt_to(buf, n, head, t);
        return;
    case A_LDR_LIT: fmt_literal(buf, n, w, t); return;
    case A_PRFM_LIT:
        fmt_prfop(r, sizeof r, w & 31);
        snprintf(head, sizeof head, "prfm %s,", r);
        fmt_to(buf, n, head, t);
        return;
    case A_PAUTH_LR:
    case A_PAUTH_LR_RET:
        snprintf(head, sizeof head, "%s%csppc", c == A_PAUTH_LR ? "auti" : "reta",
                 (w >> 21) & 1 ? 'b' : 'a');
        fmt_to(buf, n, head, t);
        return;
    case A_RET:
    case A_BR:
    case A_BLR: fmt_breg(buf, n, w, c); return;
    case A_ERET:
        snprintf(buf, n, "%s", w == 0xd6bf03e0 ? "drps" : w == 0xd69f03e0 ? "eret"
                                                 : (w >> 10) & 1 ? "eretab" : "eretaa");
        return;
    case A_NOP: snprintf(buf, n, "nop"); return;
    case A_BTI:
    case A_HINT: fmt_hint(buf, n, w, c); return;
    case A_BRK: /* capstone: "#0", else always hex */
        snprintf(buf, n, (w >> 5) & 0xffff ? "brk #0x%x" : "brk #%u", (w >> 5) & 0xffff);
        return;
    case A_UDF: snprintf(buf, n, "udf #0x%x", w & 0xffff); return;
    default: break;
    }
    bool key_b = (w >> 10) & 1;
    if (c == A_PAC_SIGN && (w >> 13) & 1)
        snprintf(buf, n, "paciz%c x30", key_b ? 'b' : 'a');
    else if (c == A_PAC_SIGN)
        snprintf(buf, n, "paci%c x30, sp", key_b ? 'b' : 'a');
    else if (c == A_PAC_SIGN_PC)
        snprintf(buf, n, "pac%si%csppc", (w >> 13) & 1 ? "" : "nb", key_b ? 'b' : 'a');
    else
        snprintf(buf, n, ".word 0x%08x", w);
}

void hp_a64_format(const uint8_t *p, size_t n, uint64_t va, char *buf, size_t buf_len)
{
    if (!buf || buf_len == 0)
        return;
    if (!p || n < 4) {
        snprintf(buf, buf_len, "(bad)");
        return;
    }
    uint32_t w = hp_rd32(p);
    a64_class c = hp_a64_classify(w);
    if (a64_is_branch(c))
        fmt_branch(buf, buf_len, w, c, hp_a64_target(w, c, va));
    else if (c == A_PAC_SIGN && (w >> 24) == 0xd5) /* the hint forms */
        fmt_hint(buf, buf_len, w, A_HINT);
    else
        fmt_other(buf, buf_len, w, c, va);
}

/* ---- Go */

#define GO_LDR_G16 0xf9400b90u   /* ldr x16, [x28, #16] */
#define GO_LDR_G24 0xf9400f90u   /* ldr x16, [x28, #24] */
#define GO_CMP_SP 0xeb3063ffu    /* cmp sp, x16 */
#define GO_CMP_X17 0xeb10023fu   /* cmp x17, x16 */
#define GO_SUBS_X27 0xeb3b63f1u  /* subs x17, sp, x27 */
#define GO_MOV_X3_LR 0xaa1e03e3u /* mov x3, x30 */

/* b.<cond> to a target; 0 when w is not one. */
static bool go_bcond(uint32_t w, unsigned cond, uint64_t va, uint64_t *t)
{
    if ((w & 0xff00001f) != (0x54000000u | cond))
        return false;
    *t = hp_a64_target(w, A_BCOND, va);
    return true;
}

/* "mov x27, #N" (MOVZ, MOVN or ORR with a bitmask) then MOVKs: words used. */
static unsigned go_mov_x27(const uint32_t *w, unsigned n)
{
    if (n == 0 || !((w[0] & 0xff80001f) == 0xd280001b || (w[0] & 0xff80001f) == 0x9280001b ||
                    (w[0] & 0xff8003ff) == 0xb20003fb))
        return 0;
    unsigned k = 1;
    while (k < n && k < 4 && (w[k] & 0xff80001f) == 0xf280001b)
        k++;
    return k;
}

/* Words of the frame-size computation after the guard load: 0 = unknown.
 * *lo is set when it is followed by "b.lo M" (the underflow check). */
static unsigned go_frame_calc(const uint32_t *w, unsigned n, bool *lo)
{
    *lo = false;
    if (n >= 1 && w[0] == GO_CMP_SP)
        return 1;
    if (n >= 2 && (w[0] & 0xff8003ff) == 0xd10003f1 && w[1] == GO_CMP_X17) /* sub x17, sp, #N */
        return 2;
    unsigned k = 0;
    if (n >= 1 && (w[0] & 0xff8003ff) == 0xf10003f1) /* subs x17, sp, #N */
        k = 1;
    else if ((k = go_mov_x27(w, n)) != 0 && k < n && w[k] == GO_SUBS_X27)
        k++;
    else
        return 0;
    *lo = true;
    return k;
}

bool hp_a64_go_stack_check(const uint8_t *p, size_t n, uint64_t va, hp_a64_go_check *out)
{
    uint32_t w[10];
    unsigned nw = (unsigned)(n / 4 < 10 ? n / 4 : 10);
    if (!p || !out || (va & 3) || nw < 3)
        return false;
    for (unsigned i = 0; i < nw; i++)
        w[i] = hp_rd32(p + 4 * i);
    if (w[0] != GO_LDR_G16 && w[0] != GO_LDR_G24)
        return false;
    bool lo;
    unsigned k = 1 + go_frame_calc(w + 1, nw - 1, &lo);
    uint64_t m = 0, m2;
    if (k == 1)
        return false;
    if (lo) { /* b.lo M; cmp x17, x16 */
        if (k + 2 > nw || !go_bcond(w[k], 3, va + 4 * k, &m) || w[k + 1] != GO_CMP_X17)
            return false;
        k += 2;
    }
    if (k >= nw || !go_bcond(w[k], 9, va + 4 * k, &m2) || (lo && m2 != m))
        return false;
    out->len = 4 * (k + 1);
    out->morestack_va = m2;
    return true;
}

/* The registers a word of the check reads, among Go's scratch registers
 * (ldr reads x28, the sub(s) forms sp, b.cond the flags). */
static uint32_t go_check_reads(uint32_t w)
{
    if (w == GO_CMP_SP)
        return HP_A64_REG(16);
    if (w == GO_CMP_X17)
        return HP_A64_X16_X17;
    if (w == GO_SUBS_X27 || (w & 0xff80001f) == 0xf280001b) /* movk x27 */
        return HP_A64_REG(27);
    return 0;
}

bool hp_a64_go_scratch(const uint8_t *p, size_t n, uint64_t va, uint32_t off, uint32_t *free)
{
    hp_a64_go_check c;
    if (!free || (off & 3) || off > n || !hp_a64_go_stack_check(p, n, va, &c))
        return false;
    uint32_t stop = off < c.len ? off : c.len, written = 0, read = 0;
    for (uint32_t k = 0; k < stop; k += 4)
        written |= hp_a64_regs_written(hp_rd32(p + k));
    for (uint32_t k = stop; k < c.len; k += 4)
        read |= go_check_reads(hp_rd32(p + k));
    uint32_t f = HP_A64_GO_SCRATCH & ~(written & read);
    for (uint32_t k = c.len; k < off; k += 4)
        f &= ~hp_a64_regs_written(hp_rd32(p + k));
    *free = f;
    return true;
}

bool hp_a64_go_morestack_return(const uint8_t *p, size_t n, uint64_t va, uint64_t entry_va,
                                uint64_t *b_va)
{
    if (!p || !b_va || (va & 3))
        return false;
    bool called = false;
    for (size_t off = 0; off + 4 <= n && off < 4 * 64; off += 4) {
        uint32_t w = hp_rd32(p + off);
        a64_class c = hp_a64_classify(w);
        if (!called) { /* spills, then mov x3, x30; bl */
            if (w == GO_MOV_X3_LR && off + 8 <= n &&
                hp_a64_classify(hp_rd32(p + off + 4)) == A_BL) {
                called = true;
                off += 4;
            } else if (c != A_OTHER && c != A_NOP) {
                return false;
            }
            continue;
        }
        if (c == A_OTHER || c == A_NOP) /* reloads */
            continue;
        if (c != A_B || hp_a64_target(w, c, va + off) != entry_va)
            return false;
        *b_va = va + off;
        return true;
    }
    return false;
}
