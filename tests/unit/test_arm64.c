/* Unit tests for relocs/arm64: decoding, the capstone cross-check, the
 * scans, formatting, written registers and the Go prologue facts.
 * Relocation and the fixed sequences, executed under unicorn, are in
 * test_arm64_reloc.c.
 *
 * capstone 4.0.2 (Debian) is the oracle. Its known gaps, each handled by
 * name in capstone_gap() below:
 *   - it predates ARMv8.3 pointer authentication: RETAA/RETAB, BRAA/BRAB,
 *     BRAAZ/BRABZ, BLRAA/BLRAB, BLRAAZ/BLRABZ, ERETAA/ERETAB and
 *     PACIA/PACIB/PACIZA/PACIZB are invalid to it; PACIASP and friends are
 *     "hint #N";
 *   - ARMv8.5 BTI is "hint #0x20..0x26";
 *   - FEAT_HBC's BC.cond (B.cond with bit 4 set), FEAT_CMPBR's CB<cc> and
 *     FEAT_PAuth_LR's AUTI*SPPC, RETA*SPPC and PACI*SPPC are invalid to it;
 *   - UDF (0x0000xxxx) is invalid to it (it is a real instruction);
 *   - its regs_access is wrong for a few instructions: CMP/CMN/TST report
 *     their first source as written, MSR and SYS their source register, SVC
 *     the link register; those are skipped (cs_regs_bug). sp and xzr are
 *     not general registers here and are ignored. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "relocs/arm64.h"
#include "sections/elf/elf_defs.h"

#define SRC 0x400000ull

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static hp_insn dec(uint32_t w, uint64_t va)
{
    uint8_t b[4];
    hp_wr32(b, w);
    hp_insn in;
    assert_int_equal(hp_a64_decode(b, 4, va, &in), HP_OK);
    return in;
}

/* ---- decoding */

typedef struct kind_case {
    uint32_t w;
    uint8_t kind;
    bool rip_rel, has_target, plain;
    int64_t target; /* relative to SRC */
} kind_case;

static const kind_case kind_cases[] = {
    {0x14000010, HP_INSN_JMP, false, true, false, 0x40},          /* b +0x40 */
    {0x17ffffff, HP_INSN_JMP, false, true, false, -4},            /* b -4 */
    {0x94000010, HP_INSN_CALL, false, true, false, 0x40},         /* bl */
    {0x54000041, HP_INSN_JCC, false, true, false, 8},             /* b.ne */
    {0x5400004e, HP_INSN_JMP, false, true, false, 8},             /* b.al */
    {0x5400004f, HP_INSN_JMP, false, true, false, 8},             /* b.nv */
    {0x54000050, HP_INSN_JCC, false, true, false, 8},             /* bc.eq */
    {0xb4ffffe0, HP_INSN_JCC, false, true, false, -4},            /* cbz x0 */
    {0x35000040, HP_INSN_JCC, false, true, false, 8},             /* cbnz w0 */
    {0xb7f80040, HP_INSN_JCC, false, true, false, 8},             /* tbnz x0, #63 */
    {0x7403a005, HP_INSN_JCC, false, true, false, -1024},         /* cbgt w5, w3 */
    {0xf51fa005, HP_INSN_JCC, false, true, false, -1024},         /* cbgt x5, #63 */
    {0x10000040, HP_INSN_OTHER, true, true, false, 8},            /* adr x0 */
    {0x70000000, HP_INSN_OTHER, true, true, false, 3},            /* adr x0, .+3 */
    {0x90000040, HP_INSN_OTHER, true, true, false, 0x8000},       /* adrp x0 */
    {0x58000040, HP_INSN_OTHER, true, true, false, 8},            /* ldr x0, lit */
    {0x9c000040, HP_INSN_OTHER, true, true, false, 8},            /* ldr q0, lit */
    {0x98000040, HP_INSN_OTHER, true, true, false, 8},            /* ldrsw */
    {0xd8000040, HP_INSN_OTHER, true, true, false, 8},            /* prfm */
    {0xf380009f, HP_INSN_OTHER, true, true, false, -16},          /* autiasppc */
    {0x5500009f, HP_INSN_RET, true, true, false, -16},            /* retaasppc */
    {0xd65f03c0, HP_INSN_RET, false, false, true, 0},             /* ret */
    {0xd65f0bff, HP_INSN_RET, false, false, true, 0},             /* retaa */
    {0xd69f03e0, HP_INSN_RET, false, false, true, 0},             /* eret */
    {0xd61f0200, HP_INSN_JMP_IND, false, false, true, 0},         /* br x16 */
    {0xd71f0a30, HP_INSN_JMP_IND, false, false, true, 0},         /* braa x17, x16 */
    {0xd63f0200, HP_INSN_CALL_IND, false, false, false, 0},       /* blr x16 */
    {0xd63f0a1f, HP_INSN_CALL_IND, false, false, false, 0},       /* blraaz x16 */
    {0xd503201f, HP_INSN_NOP, false, false, true, 0},             /* nop */
    {0xd503203f, HP_INSN_OTHER, false, false, true, 0},           /* yield */
    {0xd503245f, HP_INSN_LANDING, false, false, true, 0},         /* bti c */
    {0xd50324df, HP_INSN_LANDING, false, false, true, 0},         /* bti jc */
    {0xd503233f, HP_INSN_PAC_SIGN, false, false, true, 0},        /* paciasp */
    {0xd503237f, HP_INSN_PAC_SIGN, false, false, true, 0},        /* pacibsp */
    {0xdac103fe, HP_INSN_PAC_SIGN, false, false, true, 0},        /* pacia x30, sp */
    {0xdac1a3fe, HP_INSN_PAC_SIGN, false, false, false, 0},       /* paciasppc */
    {0xd50323bf, HP_INSN_OTHER, false, false, true, 0},           /* autiasp */
    {0xd4207d00, HP_INSN_TRAP, false, false, true, 0},            /* brk #0x3e8 */
    {0x00000000, HP_INSN_UD, false, false, true, 0},              /* udf #0 */
    {0xf9400b90, HP_INSN_OTHER, false, false, true, 0},           /* ldr x16, [x28, #16] */
    {0xdc000040, HP_INSN_OTHER, false, false, true, 0},           /* unallocated literal */
};

static void test_decode_kinds(void **state)
{
    for (size_t i = 0; i < sizeof kind_cases / sizeof kind_cases[0]; i++) {
        const kind_case *c = &kind_cases[i];
        hp_insn in = dec(c->w, SRC);
        if (in.kind != c->kind || in.rip_rel != c->rip_rel || in.has_target != c->has_target ||
            in.plain != c->plain)
            fail_msg("0x%08x: kind %d rip_rel %d has_target %d plain %d", c->w, in.kind,
                     in.rip_rel, in.has_target, in.plain);
        assert_int_equal(in.len, 4);
        if (c->has_target)
            assert_int_equal(c->rip_rel ? in.mem_va : in.target_va, SRC + (uint64_t)c->target);
    }
    /* ADRP computes from the page of the PC */
    assert_int_equal(dec(0x90000000, 0x400ffc).mem_va, 0x400000);
    assert_int_equal(dec(0xf0ffffe0, 0x401234).mem_va, 0x400000); /* adrp x0, -1 page */
}

static void test_decode_invalid(void **state)
{
    hp_insn in;
    const uint8_t b[4] = {0x1f, 0x20, 0x03, 0xd5};
    assert_int_equal(hp_a64_decode(b, 3, SRC, &in), HP_ERR_FORMAT);
    assert_int_equal(hp_a64_decode(b, 4, SRC + 2, &in), HP_ERR_FORMAT);
    assert_int_equal(hp_a64_decode(NULL, 4, SRC, &in), HP_ERR_FORMAT);
    assert_int_equal(hp_a64_decode(b, 4, SRC, NULL), HP_ERR_INTERNAL);
}

static void test_bti_and_reserved(void **state)
{
    assert_int_equal(hp_a64_bti_accepts(0xd503245f), HP_A64_BTI_C);
    assert_int_equal(hp_a64_bti_accepts(0xd503249f), HP_A64_BTI_J);
    assert_int_equal(hp_a64_bti_accepts(0xd50324df), HP_A64_BTI_C | HP_A64_BTI_J);
    assert_int_equal(hp_a64_bti_accepts(0xd503241f), 0); /* plain bti: no branch */
    assert_int_equal(hp_a64_bti_accepts(0xd503233f), HP_A64_BTI_C); /* paciasp */
    assert_int_equal(hp_a64_bti_accepts(0xd503237f), HP_A64_BTI_C);
    assert_int_equal(hp_a64_bti_accepts(0xd503231f), 0); /* paciaz is no landing pad */
    assert_int_equal(hp_a64_bti_accepts(0xd503201f), 0);
    assert_true(hp_a64_is_reserved(0x00000000));
    assert_true(hp_a64_is_reserved(0x00006870));
    assert_true(hp_a64_is_reserved(0x02000000)); /* op0 0001 */
    assert_true(hp_a64_is_reserved(0x86000000)); /* op0 0011 */
    assert_false(hp_a64_is_reserved(0x80000000)); /* SME */
    assert_false(hp_a64_is_reserved(0x04000000)); /* SVE */
    assert_false(hp_a64_is_reserved(0xd503201f));
}

/* ---- the capstone cross-check */

static csh cs;
static cs_insn *cs_buf;

static int cs_setup(void **state)
{
    if (cs_open(CS_ARCH_ARM64, CS_MODE_LITTLE_ENDIAN, &cs) != CS_ERR_OK)
        return -1;
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    cs_buf = cs_malloc(cs);
    return cs_buf ? 0 : -1;
}

static int cs_teardown(void **state)
{
    cs_free(cs_buf, 1);
    cs_close(&cs);
    return 0;
}

/* What capstone says about a word, in hp_insn terms. */
typedef struct cs_view {
    bool valid;
    hp_insn in;
    char text[224];
} cs_view;

static bool cs_last_imm(const cs_arm64 *d, uint64_t *v)
{
    for (int i = 0; i < d->op_count; i++)
        if (d->operands[i].type == ARM64_OP_MEM)
            return false;
    if (d->op_count == 0 || d->operands[d->op_count - 1].type != ARM64_OP_IMM)
        return false;
    *v = (uint64_t)d->operands[d->op_count - 1].imm;
    return true;
}

static uint8_t cs_hint_kind(const cs_arm64 *d)
{
    uint64_t imm = d->op_count ? (uint64_t)d->operands[0].imm : 0;
    if (imm == 0x18 || imm == 0x19 || imm == 0x1a || imm == 0x1b)
        return HP_INSN_PAC_SIGN;
    if (imm == 0x20 || imm == 0x22 || imm == 0x24 || imm == 0x26)
        return HP_INSN_LANDING;
    return HP_INSN_OTHER;
}

static void cs_classify(const cs_insn *ci, hp_insn *in)
{
    const cs_arm64 *d = &ci->detail->arm64;
    uint64_t v = 0;
    bool imm = cs_last_imm(d, &v);
    switch (ci->id) {
    case ARM64_INS_B:
        in->kind = d->cc == ARM64_CC_INVALID || d->cc == ARM64_CC_AL || d->cc == ARM64_CC_NV
                       ? HP_INSN_JMP
                       : HP_INSN_JCC;
        break;
    case ARM64_INS_BL: in->kind = HP_INSN_CALL; break;
    case ARM64_INS_CBZ:
    case ARM64_INS_CBNZ:
    case ARM64_INS_TBZ:
    case ARM64_INS_TBNZ: in->kind = HP_INSN_JCC; break;
    case ARM64_INS_ADR:
    case ARM64_INS_ADRP: in->rip_rel = true; break;
    case ARM64_INS_LDR:
    case ARM64_INS_LDRSW:
    case ARM64_INS_PRFM: in->rip_rel = imm; break;
    case ARM64_INS_RET:
    case ARM64_INS_ERET:
    case ARM64_INS_DRPS: in->kind = HP_INSN_RET; return;
    case ARM64_INS_BR: in->kind = HP_INSN_JMP_IND; return;
    case ARM64_INS_BLR: in->kind = HP_INSN_CALL_IND; return;
    case ARM64_INS_BRK: in->kind = HP_INSN_TRAP; return;
    case ARM64_INS_NOP: in->kind = HP_INSN_NOP; return;
    case ARM64_INS_HINT: in->kind = cs_hint_kind(d); return;
    default: return;
    }
    in->has_target = in->kind != HP_INSN_OTHER || in->rip_rel;
    if (in->rip_rel)
        in->mem_va = v;
    else if (in->has_target)
        in->target_va = v;
}

static cs_view cs_look(uint32_t w, uint64_t va)
{
    cs_view r;
    memset(&r, 0, sizeof r);
    uint8_t b[4];
    hp_wr32(b, w);
    const uint8_t *p = b;
    size_t n = 4;
    uint64_t a = va;
    if (!cs_disasm_iter(cs, &p, &n, &a, cs_buf))
        return r;
    r.valid = true;
    cs_classify(cs_buf, &r.in);
    snprintf(r.text, sizeof r.text, "%s%s%s", cs_buf->mnemonic, cs_buf->op_str[0] ? " " : "",
             cs_buf->op_str);
    return r;
}

/* Words capstone 4 cannot decode that hookpatch must (see the top). */
static bool capstone_gap(uint32_t w)
{
    return (w & 0xff000010) == 0x54000010 ||                          /* BC.cond */
           (w & 0x7e000000) == 0x74000000 ||                          /* CB<cc> */
           (w & 0xffc0001f) == 0xf380001f ||                          /* AUTI*SPPC */
           (w & 0xffc0001f) == 0x5500001f ||                          /* RETA*SPPC */
           (w & 0xfffffbff) == 0xdac1a3fe || (w & 0xfffffbff) == 0xdac183fe || /* PACI*SPPC */
           (w & 0xfffffbff) == 0xd65f0bff || (w & 0xfffffbff) == 0xd69f0bff || /* RETA*, ERETA* */
           (w & 0xfefff800) == 0xd61f0800 ||                          /* BRAA.., BLRAA.. */
           (w & 0xffffdbff) == 0xdac103fe ||                          /* PACIA x30 etc. */
           (w & 0xffff0000) == 0;                                     /* UDF */
}

/* Whether capstone's text for the classes compared should equal ours. */
static bool same_syntax_class(const hp_insn *in)
{
    return in->has_target || in->kind == HP_INSN_RET || in->kind == HP_INSN_JMP_IND ||
           in->kind == HP_INSN_CALL_IND || in->kind == HP_INSN_NOP || in->kind == HP_INSN_TRAP;
}

typedef struct xstats {
    unsigned long words, cs_valid, pcrel, gaps, text_cmp;
} xstats;

static void cross_one(uint32_t w, uint64_t va, xstats *st)
{
    hp_insn me = dec(w, va);
    cs_view c = cs_look(w, va);
    st->words++;
    st->pcrel += me.has_target;
    if (!c.valid) {
        bool named = me.has_target || me.kind != HP_INSN_OTHER;
        if (named && !capstone_gap(w))
            fail_msg("0x%08x: capstone cannot decode it but we call it kind %d target %d", w,
                     me.kind, me.has_target);
        st->gaps += named;
        return;
    }
    st->cs_valid++;
    const hp_insn *o = &c.in;
    if (me.kind != o->kind || me.has_target != o->has_target || me.rip_rel != o->rip_rel ||
        (me.has_target && (me.rip_rel ? me.mem_va != o->mem_va : me.target_va != o->target_va)))
        fail_msg("0x%08x '%s': ours kind %d target %d/%d 0x%llx/0x%llx, capstone kind %d "
                 "target %d/%d 0x%llx/0x%llx",
                 w, c.text, me.kind, me.has_target, me.rip_rel,
                 (unsigned long long)me.target_va, (unsigned long long)me.mem_va, o->kind,
                 o->has_target, o->rip_rel, (unsigned long long)o->target_va,
                 (unsigned long long)o->mem_va);
    if (same_syntax_class(&me)) {
        char t[160];
        uint8_t b[4];
        hp_wr32(b, w);
        hp_a64_format(b, 4, va, t, sizeof t);
        if (strcmp(t, c.text) != 0)
            fail_msg("0x%08x: we print '%s', capstone '%s'", w, t, c.text);
        st->text_cmp++;
    }
}

static void test_capstone_random(void **state)
{
    xstats st = {0};
    for (unsigned i = 0; i < 2500000; i++) {
        uint64_t r = rnd();
        cross_one((uint32_t)r, (SRC + (r >> 32 & 0xffffff) * 4) & ~3ull, &st);
    }
    print_message("random words: %lu, capstone decodes %lu, PC-relative %lu, capstone gaps %lu, "
                  "text compared %lu\n",
                  st.words, st.cs_valid, st.pcrel, st.gaps, st.text_cmp);
    assert_true(st.cs_valid > st.words / 4 && st.pcrel > st.words / 10);
}

/* Every PC-relative class (and the named ones) with random fields, at
 * random addresses including near 0 and the top of the address space. */
static const struct {
    uint32_t mask, value;
} class_space[] = {
    {0xfc000000, 0x14000000}, {0xfc000000, 0x94000000}, {0xff000010, 0x54000000},
    {0x7e000000, 0x34000000}, {0x7e000000, 0x36000000}, {0x9f000000, 0x10000000},
    {0x9f000000, 0x90000000}, {0x3b000000, 0x18000000}, {0xfffffc1f, 0xd65f0000},
    {0xfffffc1f, 0xd61f0000}, {0xfffffc1f, 0xd63f0000}, {0xffe0001f, 0xd4200000},
    {0xfffff01f, 0xd503201f}, {0xff000010, 0x54000010}, {0x7e000000, 0x74000000},
};

static void test_capstone_classes(void **state)
{
    xstats st = {0};
    static const uint64_t bases[] = {0, 0x1000, SRC, 0x7ffffffff000ull, 0xfffffffffff00000ull};
    for (size_t k = 0; k < sizeof class_space / sizeof class_space[0]; k++)
        for (unsigned i = 0; i < 40000; i++) {
            uint64_t r = rnd();
            uint32_t w = ((uint32_t)r & ~class_space[k].mask) | class_space[k].value;
            uint64_t va = (bases[i % 5] + ((r >> 32) & 0xfffff) * 4) & ~3ull;
            cross_one(w, va, &st);
        }
    print_message("class words: %lu, capstone decodes %lu, gaps %lu, text compared %lu\n",
                  st.words, st.cs_valid, st.gaps, st.text_cmp);
}

/* Words in the unallocated top-level groups: capstone decodes none. */
static void test_reserved_vs_capstone(void **state)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 200000; i++) {
        uint32_t w = (uint32_t)rnd();
        if (!hp_a64_is_reserved(w))
            continue;
        n++;
        if (cs_look(w, SRC).valid)
            fail_msg("0x%08x: reserved to us, capstone decodes it", w);
    }
    assert_true(n > 20000);
}

/* ---- written registers */

/* capstone 4's regs_access is wrong for these: CMP/CMN/TST "write" their
 * first source, MSR and SYS their source xt, SVC "writes" lr. */
static bool cs_regs_bug(unsigned id)
{
    return id == ARM64_INS_CMP || id == ARM64_INS_CMN || id == ARM64_INS_TST ||
           id == ARM64_INS_MSR || id == ARM64_INS_SYS || id == ARM64_INS_SVC;
}

static uint32_t cs_written(uint32_t w, bool *ok)
{
    cs_regs rd, wr;
    uint8_t nr = 0, nw = 0;
    uint32_t m = 0;
    *ok = cs_look(w, SRC).valid && cs_regs_access(cs, cs_buf, rd, &nr, wr, &nw) == CS_ERR_OK;
    for (unsigned i = 0; *ok && i < nw; i++) {
        const char *name = cs_reg_name(cs, wr[i]);
        unsigned r;
        char c;
        if (name && sscanf(name, "%c%u", &c, &r) == 2 && (c == 'x' || c == 'w') && r < 31)
            m |= 1u << r;
    }
    return m;
}

static void test_regs_written(void **state)
{
    static const struct {
        uint32_t w, want;
    } cases[] = {
        {0xf9400b90, 1u << 16},                /* ldr x16, [x28, #16] */
        {0xd10183f1, 1u << 17},                /* sub x17, sp, #0x60 */
        {0xeb10023f, 1u << 31},                /* cmp x17, x16 */
        {0xd283da1b, 1u << 27},                /* mov x27, #0x1ed0 */
        {0x94000010, 1u << 30},                /* bl */
        {0xd63f0200, 1u << 30},                /* blr x16 */
        {0xd503233f, 1u << 30},                /* paciasp */
        {0x14000010, 0},                       /* b */
        {0xd65f03c0, 0},                       /* ret */
        {0xa9bf7bfd, 1u << 29 | 1u << 30 | 1u << 31}, /* stp x29, x30, [sp, #-16]! */
        {0xa8c17bfd, 1u << 29 | 1u << 30 | 1u << 31}, /* ldp x29, x30, [sp], #16 */
        {0xf8408c20, 1u << 0 | 1u << 1},       /* ldr x0, [x1, #8]! */
        {0xf8201c20, 1u << 0 | 1u << 1},       /* ldraa x0, [x1, #8]! (capstone 4 lacks it) */
        {0x3dc00020, 0},                       /* ldr q0, [x1] */
        {0xf83fd020, 0xffu},                   /* ld64b x0, [x1] */
        {0xd53bd040, 1u << 0 | 1u << 1},       /* mrs x0, tpidr_el0 (and the pair) */
        {0xd4000001, 1u << 0},                 /* svc #0 */
        {0x10000040, 1u << 0},                 /* adr x0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (hp_a64_regs_written(cases[i].w) != cases[i].want)
            fail_msg("0x%08x: written 0x%x, want 0x%x", cases[i].w,
                     hp_a64_regs_written(cases[i].w), cases[i].want);
    /* Everything capstone knows is written is in our set. */
    unsigned checked = 0, bugs = 0;
    for (unsigned i = 0; i < 400000; i++) {
        uint32_t w = (uint32_t)rnd();
        bool ok;
        uint32_t theirs = cs_written(w, &ok);
        if (!ok)
            continue;
        checked++;
        uint32_t ours = hp_a64_regs_written(w) & 0x7fffffffu;
        if (cs_regs_bug(cs_buf->id)) {
            bugs++;
            continue;
        }
        if (theirs & ~ours) {
            char t[224];
            snprintf(t, sizeof t, "%s %s", cs_buf->mnemonic, cs_buf->op_str);
            fail_msg("0x%08x '%s': capstone writes 0x%x, we say 0x%x", w, t, theirs, ours);
        }
    }
    print_message("written registers: %u words compared, %u skipped (capstone bugs)\n", checked,
                  bugs);
    assert_true(checked > 100000);
}

/* ---- scans */

typedef struct brlist {
    uint64_t at[4096], t[4096];
    size_t n;
} brlist;

static hp_status br_add(void *ctx, uint64_t at, uint64_t t)
{
    brlist *l = ctx;
    if (l->n < 4096) {
        l->at[l->n] = at;
        l->t[l->n++] = t;
    }
    return HP_OK;
}

static void random_code(uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i += 4) {
        uint32_t w = (uint32_t)rnd();
        if (i % 12 == 0) /* plenty of branches */
            w = (w & 0x03ffffff) | 0x14000000 | (i % 24 ? 0x80000000 : 0);
        hp_wr32(p + i, w);
    }
}

static void test_scan(void **state)
{
    uint8_t p[4096];
    random_code(p, sizeof p);
    /* a function with a loop back to its second word and a call */
    hp_wr32(p, 0xd503233f);          /* paciasp */
    hp_wr32(p + 4, 0xf100041f);      /* cmp x0, #1 */
    hp_wr32(p + 8, 0x54ffffe1);      /* b.ne p+4 */
    hp_wr32(p + 12, 0x97fffffd);     /* bl p */
    hp_wr32(p + 16, 0xb4ffffe0);     /* cbz x0, p+12 */
    hp_wr32(p + 20, 0x17fffffb);     /* b p */
    hp_func_scan s;
    assert_int_equal(hp_a64_scan(p, 26, SRC, &s), HP_OK);
    assert_int_equal(s.ok_size, 24);
    assert_int_equal(s.ninsns, 6);
    assert_int_equal(s.ntargets, 3);
    assert_int_equal(s.targets[0], SRC);
    assert_int_equal(s.targets[1], SRC + 4);
    assert_int_equal(s.targets[2], SRC + 12);
    assert_int_equal(s.insns[2].kind, HP_INSN_JCC);
    assert_int_equal(s.insns[3].kind, HP_INSN_CALL);
    hp_a64_scan_free(&s);
    assert_int_equal(hp_a64_scan(p, 24, SRC + 2, &s), HP_OK); /* misaligned: nothing */
    assert_int_equal(s.ninsns, 0);
    hp_a64_scan_free(&s);
}

/* branches == every decoded direct branch; candidates with a filter ==
 * those whose target passes the filter. */
static void test_branches_and_candidates(void **state)
{
    static uint8_t p[16384];
    static brlist all, cand;
    for (int round = 0; round < 20; round++) {
        random_code(p, sizeof p);
        uint64_t va = SRC + (uint64_t)round * 0x100000 + (round & 1 ? 2 : 0);
        all.n = cand.n = 0;
        uint64_t ok;
        assert_int_equal(hp_a64_branches(p, sizeof p, va, br_add, &all, &ok), HP_OK);
        size_t skip = (size_t)((0 - va) & 3), k = 0;
        assert_int_equal(ok, skip + (sizeof p - skip) / 4 * 4);
        for (size_t off = skip; off + 4 <= sizeof p; off += 4) {
            hp_insn in = dec(hp_rd32(p + off), va + off);
            if (!in.has_target || in.rip_rel)
                continue;
            assert_true(k < all.n);
            assert_int_equal(all.at[k], va + off);
            assert_int_equal(all.t[k], in.target_va);
            k++;
        }
        assert_int_equal(k, all.n);
        uint8_t blocks[64];
        for (size_t i = 0; i < sizeof blocks; i++)
            blocks[i] = (uint8_t)rnd();
        hp_target_filter f = {va - 0x4000, 0x8000, round & 2 ? blocks : NULL};
        assert_int_equal(hp_a64_branch_candidates(p, sizeof p, va, &f, br_add, &cand), HP_OK);
        size_t j = 0;
        for (size_t i = 0; i < all.n; i++) {
            uint64_t o = all.t[i] - f.lo;
            bool keep = o < f.span && (!f.blocks || (f.blocks[o >> 9] >> ((o >> 6) & 7) & 1));
            if (!keep)
                continue;
            assert_true(j < cand.n);
            assert_int_equal(cand.at[j], all.at[i]);
            assert_int_equal(cand.t[j], all.t[i]);
            j++;
        }
        assert_int_equal(j, cand.n);
    }
}

static hp_status stop_at_second(void *ctx, uint64_t at, uint64_t t)
{
    int *n = ctx;
    return ++*n == 2 ? HP_ERR_RANGE : HP_OK;
}

static void test_branch_callback_stops(void **state)
{
    uint8_t p[16];
    for (int i = 0; i < 4; i++)
        hp_wr32(p + 4 * i, 0x14000001);
    int n = 0;
    assert_int_equal(hp_a64_branch_candidates(p, sizeof p, SRC, NULL, stop_at_second, &n),
                     HP_ERR_RANGE);
    assert_int_equal(n, 2);
}

/* ---- formatting */

static void test_format(void **state)
{
    static const struct {
        uint32_t w;
        const char *text;
    } cases[] = {
        {0x14000010, "b #0x400040"},
        {0x54000050, "bc.eq #0x400008"},
        {0x74032005, "cbgt w5, w3, #0x3ffc00"},
        {0x7403a005, "cbbgt w5, w3, #0x3ffc00"},
        {0x7403e005, "cbhgt w5, w3, #0x3ffc00"},
        {0xf51fa005, "cbgt x5, #0x3f, #0x3ffc00"},
        {0xd503233f, "paciasp"},
        {0xd503245f, "bti c"},
        {0xd65f0bff, "retaa"},
        {0xd71f0a30, "braa x17, x16"},
        {0xd63f0a1f, "blraaz x16"},
        {0xdac1a3fe, "paciasppc"},
        {0x5500009f, "retaasppc #0x3ffff0"},
        {0x00006870, "udf #0x6870"},
        {0xf9400b90, ".word 0xf9400b90"},
    };
    char t[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t b[4];
        hp_wr32(b, cases[i].w);
        hp_a64_format(b, 4, SRC, t, sizeof t);
        assert_string_equal(t, cases[i].text);
    }
    hp_a64_format((const uint8_t *)"\x1f\x20", 2, SRC, t, sizeof t);
    assert_string_equal(t, "(bad)");
    hp_a64_format((const uint8_t *)"\x1f\x20\x03\xd5", 4, SRC, t, 3);
    assert_true(strlen(t) <= 2);
}

/* ---- Go */

static void test_go_forms(void **state)
{
    static const struct {
        uint32_t w[10];
        unsigned nw, len;
        int64_t m; /* morestack, relative to SRC; 0: not a stack check */
    } cases[] = {
        {{0xf9400b90, 0xeb3063ff, 0x54000529}, 3, 12, 8 + 0xa4},
        {{0xf9400f90, 0xeb3063ff, 0x54000529}, 3, 12, 8 + 0xa4},
        {{0xf9400b90, 0xd10183f1, 0xeb10023f, 0x54000529}, 4, 16, 12 + 0xa4},
        {{0xf9400b90, 0xf10403f1, 0x540000a3, 0xeb10023f, 0x54000069}, 5, 20, 8 + 20},
        {{0xf9400b90, 0xd283da1b, 0xeb3b63f1, 0x540000a3, 0xeb10023f, 0x54000069}, 6, 24,
         12 + 20},
        {{0xf9400b90, 0xd290c61b, 0xf2a0003b, 0xeb3b63f1, 0x540000a3, 0xeb10023f, 0x54000069},
         7, 28, 16 + 20},
        {{0xf9400b90, 0xeb3063ff, 0x54000528}, 3, 0, 0},              /* b.hi, not b.ls */
        {{0xf9400b91, 0xeb3063ff, 0x54000529}, 3, 0, 0},              /* ldr x17 */
        /* the two branches go to different places */
        {{0xf9400b90, 0xf10403f1, 0x540000a3, 0xeb10023f, 0x54000089}, 5, 0, 0},
        {{0xf9400b90, 0xeb3063ff}, 2, 0, 0},                          /* truncated */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t b[40];
        for (unsigned k = 0; k < cases[i].nw; k++)
            hp_wr32(b + 4 * k, cases[i].w[k]);
        hp_a64_go_check gc;
        bool ok = hp_a64_go_stack_check(b, 4 * cases[i].nw, SRC, &gc);
        if (ok != (cases[i].len != 0))
            fail_msg("case %zu: recognised %d", i, ok);
        if (ok) {
            assert_int_equal(gc.len, cases[i].len);
            assert_int_equal(gc.morestack_va, SRC + (uint64_t)cases[i].m);
        }
    }
    /* trailer: spill, mov x3, x30, bl, reload, b entry */
    uint8_t t[20];
    hp_wr32(t, 0xf90007e0);
    hp_wr32(t + 4, 0xaa1e03e3);
    hp_wr32(t + 8, 0x97ff8456);
    hp_wr32(t + 12, 0xf94007e0);
    hp_wr32(t + 16, 0x17ffffd0); /* b -0xc0 */
    uint64_t bva = 0;
    assert_true(hp_a64_go_morestack_return(t, 20, SRC + 0xc0 - 16, SRC, &bva));
    assert_int_equal(bva, SRC + 0xc0);
    assert_false(hp_a64_go_morestack_return(t, 20, SRC + 0xc0 - 16, SRC + 4, &bva));
    assert_false(hp_a64_go_morestack_return(t, 16, SRC + 0xc0 - 16, SRC, &bva));
}

/* The registers free after each prefix of every stack-check form: x16,
 * x17 and x27 minus those written and read again later in the check; after
 * the check, minus what the next words write. */
static void test_go_scratch(void **state)
{
    (void)state;
    enum { X16 = 1u << 16, X17 = 1u << 17, X27 = 1u << 27, ALL = X16 | X17 | X27 };
    static const struct {
        uint32_t w[10];
        unsigned nw;
        uint32_t free[10]; /* before word k, k = 0..nw */
    } cases[] = {
        /* ldr x16; cmp sp, x16; b.ls; then "mov x17, x0" (orr) */
        {{0xf9400b90, 0xeb3063ff, 0x54000529, 0xaa0003f1}, 4,
         {ALL, X17 | X27, ALL, ALL, X16 | X27}},
        /* ldr x16; sub x17, sp, #N; cmp x17, x16; b.ls */
        {{0xf9400b90, 0xd10183f1, 0xeb10023f, 0x54000529}, 4,
         {ALL, X17 | X27, X27, ALL, ALL}},
        /* ldr x16; subs x17, sp, #N; b.lo; cmp x17, x16; b.ls */
        {{0xf9400b90, 0xf10403f1, 0x540000a3, 0xeb10023f, 0x54000069}, 5,
         {ALL, X17 | X27, X27, X27, ALL, ALL}},
        /* ldr x16; mov x27, #N; movk x27; subs x17, sp, x27; b.lo; cmp; b.ls */
        {{0xf9400b90, 0xd290c61b, 0xf2a0003b, 0xeb3b63f1, 0x540000a3, 0xeb10023f, 0x54000069},
         7, {ALL, X17 | X27, X17, X17, X27, X27, ALL, ALL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t b[40];
        for (unsigned k = 0; k < cases[i].nw; k++)
            hp_wr32(b + 4 * k, cases[i].w[k]);
        for (unsigned k = 0; k <= cases[i].nw; k++) {
            uint32_t f = 0xdead;
            if (!hp_a64_go_scratch(b, 4 * cases[i].nw, SRC, 4 * k, &f))
                fail_msg("case %zu: not recognised at word %u", i, k);
            if (f != cases[i].free[k])
                fail_msg("case %zu, before word %u: free 0x%x, want 0x%x", i, k, f,
                         cases[i].free[k]);
        }
    }
    uint8_t b[12];
    hp_wr32(b, 0xf9400b91); /* ldr x17: no stack check */
    hp_wr32(b + 4, 0xeb3063ff);
    hp_wr32(b + 8, 0x54000529);
    uint32_t f = 7;
    assert_false(hp_a64_go_scratch(b, 12, SRC, 4, &f));
    assert_int_equal(f, 7);
    hp_wr32(b, 0xf9400b90);
    assert_false(hp_a64_go_scratch(b, 12, SRC, 16, &f)); /* past n */
    assert_false(hp_a64_go_scratch(b, 12, SRC, 2, &f));  /* misaligned */
}

/* A minimal ELF64 reader for the Go binaries: .text and its functions. */
typedef struct gobin {
    uint8_t *data;
    size_t size;
    uint64_t text_va, text_size;
    const uint8_t *text;
    const Elf64_Sym *syms;
    size_t nsyms;
    const char *str;
} gobin;

static bool gobin_load(const char *path, gobin *g)
{
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !(g->data = malloc((size_t)st.st_size)) ||
        fread(g->data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        fclose(f);
        return false;
    }
    fclose(f);
    g->size = (size_t)st.st_size;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)g->data;
    if (eh->e_machine != EM_AARCH64)
        return false;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(g->data + eh->e_shoff);
    const char *names = (const char *)g->data + sh[eh->e_shstrndx].sh_offset;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (!strcmp(names + sh[i].sh_name, ".text")) {
            g->text_va = sh[i].sh_addr;
            g->text_size = sh[i].sh_size;
            g->text = g->data + sh[i].sh_offset;
        } else if (sh[i].sh_type == SHT_SYMTAB) {
            g->syms = (const Elf64_Sym *)(g->data + sh[i].sh_offset);
            g->nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
            g->str = (const char *)g->data + sh[sh[i].sh_link].sh_offset;
        }
    }
    return g->text && g->syms;
}

static const char *go_cache(void)
{
    const char *c = getenv("HP_GOCACHE");
    return c && *c ? c : HP_BINARY_DIR "/gocache";
}

static bool go_build(const char *go, const char *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s/tests/fixtures/go_arm64' && env GOOS=linux GOARCH=arm64 CGO_ENABLED=0 "
             "GOCACHE='%s' GOPATH='%s/gopath' GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local "
             "GOWORK=off %s build -gcflags=all=-l -o '%s' . >/dev/null 2>&1",
             HP_SOURCE_DIR, go_cache(), HP_BINARY_DIR, go, out);
    return system(cmd) == 0;
}

typedef struct go_stats {
    unsigned funcs, checks, trailers;
} go_stats;

static bool in_text(const gobin *g, uint64_t va, uint64_t n)
{
    uint64_t off = va - g->text_va;
    return va >= g->text_va && off <= g->text_size && n <= g->text_size - off;
}

/* Does the function call runtime.morestack (any spelling)? */
static bool calls_morestack(const gobin *g, const Elf64_Sym *fn, const uint64_t *ms, size_t nms)
{
    const uint8_t *p = g->text + (fn->st_value - g->text_va);
    for (uint64_t off = 0; off + 4 <= fn->st_size; off += 4) {
        hp_insn in = dec(hp_rd32(p + off), fn->st_value + off);
        for (size_t k = 0; in.kind == HP_INSN_CALL && k < nms; k++)
            if (in.target_va == ms[k])
                return true;
    }
    return false;
}

static void check_go_function(const gobin *g, const Elf64_Sym *fn, const uint64_t *ms,
                              size_t nms, go_stats *st)
{
    const char *name = g->str + fn->st_name;
    const uint8_t *p = g->text + (fn->st_value - g->text_va);
    hp_a64_go_check gc;
    bool check = hp_a64_go_stack_check(p, (size_t)fn->st_size, fn->st_value, &gc);
    bool calls = calls_morestack(g, fn, ms, nms);
    st->funcs++;
    if (check != calls && strncmp(name, "runtime.morestack", 17) != 0)
        fail_msg("%s: stack check recognised %d, calls morestack %d", name, check, calls);
    if (!check)
        return;
    st->checks++;
    uint64_t m = gc.morestack_va, b = 0;
    if (m < fn->st_value || m >= fn->st_value + fn->st_size)
        fail_msg("%s: morestack branch leaves the function", name);
    const uint8_t *q = p + (m - fn->st_value);
    if (!hp_a64_go_morestack_return(q, (size_t)(fn->st_value + fn->st_size - m), m,
                                    fn->st_value, &b))
        fail_msg("%s: no b back to the entry after morestack at 0x%llx", name,
                 (unsigned long long)m);
    assert_true(b > m && b < fn->st_value + fn->st_size);
    st->trailers++;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static hp_status count_cb(void *ctx, uint64_t at, uint64_t t)
{
    (*(size_t *)ctx)++;
    return HP_OK;
}

/* Candidate scan throughput over the binary's .text (printed, not asserted:
 * the machine is shared). */
static void scan_speed(const gobin *g, const char *label)
{
    size_t hits = 0;
    uint8_t blocks[1] = {0xff};
    hp_target_filter f = {g->text_va + 0x1000, 64, blocks};
    uint64_t t0 = now_ns();
    unsigned reps = 40;
    for (unsigned i = 0; i < reps; i++)
        assert_int_equal(hp_a64_branch_candidates(g->text, g->text_size, g->text_va, &f,
                                                  count_cb, &hits),
                         HP_OK);
    double secs = (double)(now_ns() - t0) / 1e9;
    print_message("%s: candidate scan %.0f MB/s over %.1f MB of .text\n", label,
                  (double)g->text_size * reps / 1e6 / secs, (double)g->text_size / 1e6);
}

static void go_version_check(const char *go, const char *label)
{
    char out[512];
    if (access(go, X_OK) != 0) {
        print_message("skipping %s: %s is not installed\n", label, go);
        skip();
    }
    snprintf(out, sizeof out, "%s/arm64-prologue-%s", HP_BINARY_DIR, label);
    if (!go_build(go, out))
        fail_msg("%s build failed", label);
    gobin g;
    assert_true(gobin_load(out, &g));
    uint64_t ms[8];
    size_t nms = 0;
    for (size_t i = 0; i < g.nsyms; i++) {
        const char *n = g.str + g.syms[i].st_name;
        if (nms < 8 && (!strcmp(n, "runtime.morestack.abi0") ||
                        !strcmp(n, "runtime.morestack_noctxt.abi0") ||
                        !strcmp(n, "runtime.morestackc.abi0") || !strcmp(n, "runtime.morestackc") ||
                        !strcmp(n, "runtime.morestack") || !strcmp(n, "runtime.morestack_noctxt")))
            ms[nms++] = g.syms[i].st_value;
    }
    assert_true(nms >= 2);
    go_stats st = {0};
    for (size_t i = 0; i < g.nsyms; i++) {
        const Elf64_Sym *s = &g.syms[i];
        if (ELF64_ST_TYPE(s->st_info) == STT_FUNC && s->st_size &&
            in_text(&g, s->st_value, s->st_size))
            check_go_function(&g, s, ms, nms, &st);
    }
    print_message("%s: %u functions, %u stack checks, %u morestack returns\n", label, st.funcs,
                  st.checks, st.trailers);
    assert_true(st.checks > 500);
    scan_speed(&g, label);
    free(g.data);
}

static void test_go_126(void **state) { go_version_check("/usr/local/go/bin/go", "go1.26"); }
static void test_go_119(void **state) { go_version_check("/usr/lib/go-1.19/bin/go", "go1.19"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_kinds),
        cmocka_unit_test(test_decode_invalid),
        cmocka_unit_test(test_bti_and_reserved),
        cmocka_unit_test(test_capstone_random),
        cmocka_unit_test(test_capstone_classes),
        cmocka_unit_test(test_reserved_vs_capstone),
        cmocka_unit_test(test_regs_written),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_branches_and_candidates),
        cmocka_unit_test(test_branch_callback_stops),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_go_forms),
        cmocka_unit_test(test_go_scratch),
        cmocka_unit_test(test_go_126),
        cmocka_unit_test(test_go_119),
    };
    return cmocka_run_group_tests(tests, cs_setup, cs_teardown);
}
