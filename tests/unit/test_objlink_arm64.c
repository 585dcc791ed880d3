/* Unit tests for relocs/objlink on AArch64 ELF objects (objlink_arm64.c).
 * Objects are real: assembled or compiled at test time with
 * aarch64-linux-gnu-gcc and clang --target=aarch64-linux-gnu. Two oracles:
 *   - GNU ld: an object with one relocation against an absolute symbol t
 *     is linked by aarch64-linux-gnu-ld (-Ttext/-Tdata, --defsym t=V) and
 *     by hookpatch's linker at the same addresses; the relocated bytes must
 *     be equal. Every relocation type is taken to both ends of its reach,
 *     and one past each end must be an overflow error (ld refuses too).
 *   - execution under unicorn: a C mock (tests/fixtures/objlink_arm64/
 *     mock.c) is linked with its "binary" near and far (veneers), PIC and
 *     not, mapped at its link address and, for PIC, again elsewhere with
 *     only ed->abs_ptrs rebased (what R_AARCH64_RELATIVE does), and run;
 *     the same mock compiled into this test for the host gives the
 *     expected results. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"
#include "sections/elf/elf_defs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unicorn/unicorn.h>

#include "relocs/objlink.h"

#define FIX HP_SOURCE_DIR "/tests/fixtures/objlink_arm64/"
#define PAGE 0x1000ull
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define TVA 0x200000000ull /* 8 GiB: 4 GiB below stays positive */
#define DVA (TVA + 0x100000ull)

/* ---- the host's copy of the mock: the oracle ------------------------- */

int counter_ext = 5;
int real_add(int a, int b) { return a + b; }
#define table host_table
#define names host_names
#define sh host_sh
#define ch host_ch
#define q host_q
#define pick host_pick
#define mock_add host_mock_add
#define mock_tail host_mock_tail
#define mock_state host_mock_state
#define mock_scale host_mock_scale
#include "../fixtures/objlink_arm64/mock.c"
#undef table
#undef names
#undef sh
#undef ch
#undef q
#undef pick

/* ---- building objects ------------------------------------------------ */

static char tmpdir[256];
static bool have_clang;

static bool run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        print_message("command failed (%d): %s\n", rc, cmd);
    return rc == 0;
}

static const char *tmp_path(const char *name)
{
    static char paths[16][600];
    static int next;
    char *p = paths[next++ % 16];
    snprintf(p, 600, "%s/%s", tmpdir, name);
    return p;
}

/* Assemble src (AArch64 assembly) into tmpdir/name.o. */
static const char *as_obj(const char *name, const char *src)
{
    char s[600], o[300], cmd[1400];
    snprintf(o, sizeof o, "%s.s", name);
    snprintf(s, sizeof s, "%s", tmp_path(o));
    snprintf(o, sizeof o, "%s.o", name);
    FILE *f = fopen(s, "w");
    assert_non_null(f);
    fputs(src, f);
    fclose(f);
    const char *obj = tmp_path(o);
    snprintf(cmd, sizeof cmd, "aarch64-linux-gnu-gcc -c %s -o %s", s, obj);
    assert_true(run(cmd));
    return obj;
}

/* Compile FIX/src with cc and flags into tmpdir/out. */
static const char *cc_obj(const char *cc, const char *flags, const char *src, const char *out)
{
    char cmd[1200];
    const char *o = tmp_path(out);
    snprintf(cmd, sizeof cmd, "%s -c -g0 %s %s%s -o %s", cc, flags, FIX, src, o);
    assert_true(run(cmd));
    return o;
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hp_objlink_a64_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    have_clang = system("clang --version >/dev/null 2>&1") == 0;
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- linking --------------------------------------------------------- */

typedef struct fake_sym {
    const char *name;
    uint64_t va;
} fake_sym;

typedef struct lookup_ctx {
    fake_sym v[8];
    size_t n;
} lookup_ctx;

static hp_status lookup(void *ctx, const char *name, uint64_t *va)
{
    lookup_ctx *c = ctx;
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].name, name)) {
            *va = c->v[i].va;
            return HP_OK;
        }
    return HP_ERR_RESOLVE;
}

static void provide(lookup_ctx *c, const char *name, uint64_t va)
{
    c->v[c->n++] = (fake_sym){name, va};
}

typedef struct lk {
    hp_objlink *l;
    hp_edit ed;
    hp_diags d;
    uint64_t size[HP_REGION_COUNT];
} lk;

static const hp_loc rules_loc = {"rules.toml", 3, 5};

static void lk_init(lk *k, hp_machine m)
{
    memset(k, 0, sizeof *k);
    assert_int_equal(hp_objlink_new(m, &k->l), HP_OK);
}

static void lk_free(lk *k)
{
    hp_objlink_free(k->l);
    hp_edit_free(&k->ed);
    hp_diags_free(&k->d);
}

static hp_status lk_try_add(lk *k, const char *path, size_t *obj)
{
    return hp_objlink_add(k->l, path, &rules_loc, &k->d, obj);
}

static size_t lk_add(lk *k, const char *path)
{
    size_t obj = 99;
    hp_status s = lk_try_add(k, path, &obj);
    if (s != HP_OK)
        hp_diags_print(&k->d, stderr);
    assert_int_equal(s, HP_OK);
    return obj;
}

static void fill(hp_buf *b, size_t n)
{
    if (n)
        assert_int_equal(hp_buf_append_zeros(b, n), HP_OK);
}

/* Measure, then set the regions up: text at tva after text_used bytes of
 * "stubs", data at dva (0: the pages after the text and rodata). */
static void lk_layout(lk *k, uint64_t tva, uint64_t text_used, uint64_t dva)
{
    assert_int_equal(hp_objlink_measure(k->l, text_used, k->size, NULL), HP_OK);
    hp_region *t = &k->ed.regions[HP_REGION_TEXT], *r = &k->ed.regions[HP_REGION_RODATA],
              *w = &k->ed.regions[HP_REGION_DATA];
    t->va = tva;
    fill(&t->bytes, text_used + k->size[HP_REGION_TEXT]);
    t->mem_size = t->bytes.len;
    r->va = hp_align_up(t->va + t->mem_size, PAGE);
    fill(&r->bytes, k->size[HP_REGION_RODATA]);
    r->mem_size = r->bytes.len;
    w->va = dva ? dva : hp_align_up(r->va + r->mem_size + 1, PAGE);
    fill(&w->bytes, hp_objlink_data_filesz(k->l));
    w->mem_size = k->size[HP_REGION_DATA];
}

static hp_status lk_emit(lk *k, bool pic, lookup_ctx *c)
{
    return hp_objlink_emit(k->l, &k->ed, pic, lookup, c, &k->d);
}

static bool diag_has(const hp_diags *d, const char *a, const char *b)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].msg && strstr(d->v[i].msg, a) && (!b || strstr(d->v[i].msg, b)))
            return true;
    return false;
}

static uint64_t symva(lk *k, size_t obj, const char *name)
{
    uint64_t va = 0;
    assert_int_equal(hp_objlink_symbol_va(k->l, obj, name, &k->ed, &va), HP_OK);
    return va;
}

/* ---- the ld oracle --------------------------------------------------- */

typedef struct rcase {
    const char *name; /* the relocation, as objdump and our errors spell it */
    const char *src;  /* one instruction or datum referring to t */
    bool data;        /* in .data (at DVA), else .text (at TVA) */
    int kind;         /* how lo/hi read, below */
    int64_t lo, hi;   /* the reach, inclusive */
    int64_t step;     /* one past */
} rcase;

/* K_ABS_U: absolute, and GNU ld checks it as unsigned where AAELF64 (and
 * lld) accept -2^(N-1) too: the negative end is checked against the value
 * itself, and ld's refusal of it is asserted, to notice if ld changes. */
enum { K_PCREL, K_PAGE, K_ABS, K_ABS_U, K_NC };

static const rcase rcases[] = {
    {"R_AARCH64_JUMP26", "b t", false, K_PCREL, -(1ll << 27), (1ll << 27) - 4, 4},
    {"R_AARCH64_CALL26", "bl t", false, K_PCREL, -(1ll << 27), (1ll << 27) - 4, 4},
    {"R_AARCH64_CONDBR19", "b.ne t", false, K_PCREL, -(1ll << 20), (1ll << 20) - 4, 4},
    {"R_AARCH64_TSTBR14", "tbz x3, #37, t", false, K_PCREL, -(1ll << 15), (1ll << 15) - 4, 4},
    {"R_AARCH64_LD_PREL_LO19", "ldr x1, t", false, K_PCREL, -(1ll << 20), (1ll << 20) - 4, 4},
    {"R_AARCH64_ADR_PREL_LO21", "adr x2, t", false, K_PCREL, -(1ll << 20), (1ll << 20) - 1, 1},
    {"R_AARCH64_ADR_PREL_PG_HI21", "adrp x3, t", false, K_PAGE, -(1ll << 32),
     (1ll << 32) - 1, 1},
    {"R_AARCH64_ADR_PREL_PG_HI21_NC", "adrp x3, :pg_hi21_nc:t", false, K_NC, -(1ll << 32) - 1,
     (1ll << 32), 0},
    {"R_AARCH64_ADD_ABS_LO12_NC", "add x4, x3, :lo12:t", false, K_NC, 0x123456789abcll,
     0xfffll, 0},
    {"R_AARCH64_LDST8_ABS_LO12_NC", "ldrb w4, [x3, :lo12:t]", false, K_NC, 0x1fffll, 0x2001ll,
     0},
    {"R_AARCH64_LDST16_ABS_LO12_NC", "ldrh w4, [x3, :lo12:t]", false, K_NC, 0x1ffell,
     0x2002ll, 0},
    {"R_AARCH64_LDST32_ABS_LO12_NC", "ldr w4, [x3, :lo12:t]", false, K_NC, 0x1ffcll, 0x2004ll,
     0},
    {"R_AARCH64_LDST64_ABS_LO12_NC", "ldr x4, [x3, :lo12:t]", false, K_NC, 0x1ff8ll, 0x2008ll,
     0},
    {"R_AARCH64_LDST128_ABS_LO12_NC", "ldr q4, [x3, :lo12:t]", false, K_NC, 0x1ff0ll,
     0x2010ll, 0},
    {"R_AARCH64_ABS64", ".xword t + 3", true, K_NC, -5, 0x7fffffffffffffffll, 0},
    {"R_AARCH64_ABS32", ".word t", true, K_ABS_U, -(1ll << 31), (1ll << 32) - 1, 1},
    {"R_AARCH64_ABS16", ".hword t", true, K_ABS_U, -(1ll << 15), (1ll << 16) - 1, 1},
    {"R_AARCH64_PREL64", ".xword t - .", true, K_NC, -(1ll << 40), 1ll << 40, 0},
    {"R_AARCH64_PREL32", ".word t - .", true, K_PCREL, -(1ll << 31), (1ll << 31) - 1, 1},
    {"R_AARCH64_PREL16", ".hword t - .", true, K_PCREL, -(1ll << 15), (1ll << 15) - 1, 1},
};

/* The object for case c: its field is the first bytes of its section. */
static const char *rcase_obj(const rcase *c)
{
    char src[256], name[64];
    snprintf(src, sizeof src, "%s\n.globl f\nf:\n  %s\n  .space 8\n", c->data ? ".data" : ".text",
             c->src);
    snprintf(name, sizeof name, "r_%s", c->name + 10);
    return as_obj(name, src);
}

/* ld's bytes for the field with t = v; false when ld refuses. */
static bool ld_link(const char *obj, const rcase *c, uint64_t v, uint8_t out[8])
{
    char cmd[1500];
    const char *elf = tmp_path("ld.elf"), *bin = tmp_path("ld.bin");
    snprintf(cmd, sizeof cmd,
             "aarch64-linux-gnu-ld -o %s -e 0 -Ttext=0x%llx -Tdata=0x%llx --defsym t=0x%llx %s "
             ">%s/ld.log 2>&1", elf, TVA, DVA, (unsigned long long)v, obj, tmpdir);
    if (system(cmd) != 0)
        return false;
    snprintf(cmd, sizeof cmd, "aarch64-linux-gnu-objcopy -O binary -j %s %s %s",
             c->data ? ".data" : ".text", elf, bin);
    assert_true(run(cmd));
    blob b = read_file(bin);
    assert_true(b.size >= 8 || (!c->data && b.size >= 4));
    memcpy(out, b.data, b.size >= 8 ? 8 : 4);
    free(b.data);
    return true;
}

/* Ours, at the same addresses: HP_OK and the bytes, or the error. */
static hp_status our_link(lk *k, const char *obj, const rcase *c, uint64_t v, uint8_t out[8])
{
    lookup_ctx lc = {0};
    provide(&lc, "t", v);
    lk_init(k, HP_MACH_ARM64);
    lk_add(k, obj);
    lk_layout(k, TVA, 0, DVA);
    hp_status s = lk_emit(k, false, &lc);
    if (s == HP_OK) {
        const hp_region *r = &k->ed.regions[c->data ? HP_REGION_DATA : HP_REGION_TEXT];
        assert_true(r->bytes.len >= (c->data ? 8u : 4u));
        memcpy(out, r->bytes.data, c->data ? 8 : 4);
    }
    return s;
}

static uint64_t rcase_value(const rcase *c, int64_t off)
{
    uint64_t P = c->data ? DVA : TVA;
    switch (c->kind) {
    case K_PCREL: return P + (uint64_t)off;
    case K_PAGE: return (P & ~0xfffull) + (uint64_t)off;
    case K_ABS:
    case K_ABS_U: return (uint64_t)off;
    default: return c->data || c->lo > 0 ? (uint64_t)off : P + (uint64_t)off;
    }
}

static void expect_same_as_ld(const char *obj, const rcase *c, int64_t off)
{
    uint8_t ours[8] = {0}, theirs[8] = {0};
    uint64_t v = rcase_value(c, off);
    lk k;
    hp_status s = our_link(&k, obj, c, v, ours);
    if (s != HP_OK)
        hp_diags_print(&k.d, stderr);
    assert_int_equal(s, HP_OK);
    if (c->kind == K_ABS_U && off < 0) {
        assert_false(ld_link(obj, c, v, theirs));
        assert_int_equal(hp_rd64(ours), v & (c->hi == 0xffff ? 0xffffu : 0xffffffffu));
        return lk_free(&k);
    }
    if (!ld_link(obj, c, v, theirs)) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "cat %s/ld.log >&2", tmpdir);
        (void)!system(cmd);
        fail_msg("%s, t = 0x%llx: ld refused", c->name, (unsigned long long)v);
    }
    if (memcmp(ours, theirs, c->data ? 8 : 4))
        fail_msg("%s, t = 0x%llx: ours %08x%08x, ld's %08x%08x", c->name, (unsigned long long)v,
                 hp_rd32(ours + 4), hp_rd32(ours), hp_rd32(theirs + 4), hp_rd32(theirs));
    lk_free(&k);
}

static void expect_overflow(const char *obj, const rcase *c, int64_t off, bool ld_refuses)
{
    uint8_t ours[8], theirs[8];
    uint64_t v = rcase_value(c, off);
    lk k;
    assert_int_equal(our_link(&k, obj, c, v, ours), HP_ERR_LINK);
    char where[256];
    snprintf(where, sizeof where, "section '%s' offset 0x0: relocation %s against 't' overflows",
             c->data ? ".data" : ".text", c->name);
    if (!diag_has(&k.d, where, obj)) {
        hp_diags_print(&k.d, stderr);
        fail_msg("%s, t = 0x%llx: no overflow error", c->name, (unsigned long long)v);
    }
    assert_string_equal(k.d.v[0].file, "rules.toml");
    assert_int_equal(k.d.v[0].line, 3);
    /* Nothing reaches the edit on a link error. */
    assert_int_equal(k.ed.nabs_ptrs, 0);
    assert_int_equal(k.ed.nsyms, 0);
    if (ld_refuses)
        assert_false(ld_link(obj, c, v, theirs));
    lk_free(&k);
}

/* Each relocation at both ends of its reach, and one past each end. */
static void test_relocs_match_ld(void **state)
{
    for (size_t i = 0; i < sizeof rcases / sizeof rcases[0]; i++) {
        const rcase *c = &rcases[i];
        const char *obj = rcase_obj(c);
        expect_same_as_ld(obj, c, c->lo);
        expect_same_as_ld(obj, c, c->hi);
        expect_same_as_ld(obj, c, c->kind == K_NC ? 0x40 : c->step * 3);
        if (c->step == 0)
            continue;
        /* B/BL past their reach go through a veneer (test_veneer). */
        if (strstr(c->name, "26"))
            continue;
        expect_overflow(obj, c, c->lo - c->step, true);
        expect_overflow(obj, c, c->hi + c->step, true);
    }
}

/* A misaligned low-12 offset of a scaled load is an error, not silently
 * truncated (ld warns nothing and drops the low bits). */
static void test_ldst_misaligned(void **state)
{
    static const struct {
        size_t i;
        unsigned scale;
    } v[] = {{10, 2}, {11, 4}, {12, 8}, {13, 16}};
    for (size_t n = 0; n < sizeof v / sizeof v[0]; n++) {
        const rcase *c = &rcases[v[n].i];
        const char *obj = rcase_obj(c);
        uint8_t out[8];
        lk k;
        assert_int_equal(our_link(&k, obj, c, 0x4000 + v[n].scale / 2, out), HP_ERR_LINK);
        char want[64];
        snprintf(want, sizeof want, "is not a multiple of %u", v[n].scale);
        assert_true(diag_has(&k.d, c->name, want));
        lk_free(&k);
    }
}

/* ---- unicorn --------------------------------------------------------- */

#define RET_VA 0xfff0000ull /* LR on entry: the run stops there */
#define STACK_VA 0x7f000000ull

typedef struct emu {
    uc_engine *uc;
    uint64_t pages[64];
    unsigned n;
} emu;

static void emu_open(emu *e)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &e->uc), UC_ERR_OK);
    assert_int_equal(uc_ctl_set_cpu_model(e->uc, UC_CPU_ARM64_MAX), UC_ERR_OK);
    uint64_t cpacr = 3ull << 20; /* FP/SIMD on */
    assert_int_equal(uc_reg_write(e->uc, UC_ARM64_REG_CPACR_EL1, &cpacr), UC_ERR_OK);
    assert_int_equal(uc_mem_map(e->uc, STACK_VA, 16 * PAGE, UC_PROT_READ | UC_PROT_WRITE),
                     UC_ERR_OK);
}

static void emu_close(emu *e) { uc_close(e->uc); }

/* Map [va, va+mem) (pages not mapped yet) and write bytes at va. */
static void emu_put(emu *e, uint64_t va, const void *bytes, size_t len, size_t mem)
{
    for (uint64_t p = va & ~(PAGE - 1); p < va + (mem > len ? mem : len); p += PAGE) {
        bool have = false;
        for (unsigned i = 0; i < e->n; i++)
            have |= e->pages[i] == p;
        if (have)
            continue;
        assert_true(e->n < 64);
        e->pages[e->n++] = p;
        assert_int_equal(uc_mem_map(e->uc, p, PAGE, UC_PROT_ALL), UC_ERR_OK);
    }
    if (len)
        assert_int_equal(uc_mem_write(e->uc, va, bytes, len), UC_ERR_OK);
}

static void emu_word(emu *e, uint64_t va, uint32_t w)
{
    uint8_t b[4];
    hp_wr32(b, w);
    emu_put(e, va, b, 4, 4);
}

/* Map the edit's regions moved by delta, with every recorded absolute
 * pointer rebased by delta: what the loader does for R_AARCH64_RELATIVE. */
static void emu_load(emu *e, const hp_edit *ed, uint64_t delta)
{
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        const hp_region *g = &ed->regions[r];
        if (g->mem_size)
            emu_put(e, g->va + delta, g->bytes.data, g->bytes.len, g->mem_size);
    }
    for (size_t i = 0; i < ed->nabs_ptrs; i++) {
        uint8_t b[8];
        assert_int_equal(uc_mem_read(e->uc, ed->abs_ptrs[i] + delta, b, 8), UC_ERR_OK);
        hp_wr64(b, hp_rd64(b) + delta);
        assert_int_equal(uc_mem_write(e->uc, ed->abs_ptrs[i] + delta, b, 8), UC_ERR_OK);
    }
}

/* Call fn(x0, x1) (d0 = d); returns x0, *d_out = d0. */
static uint64_t emu_call(emu *e, uint64_t fn, uint64_t x0, uint64_t x1, double d, double *d_out)
{
    uint64_t sp = STACK_VA + 15 * PAGE, lr = RET_VA, dbits;
    memcpy(&dbits, &d, 8);
    uc_reg_write(e->uc, UC_ARM64_REG_X0, &x0);
    uc_reg_write(e->uc, UC_ARM64_REG_X1, &x1);
    uc_reg_write(e->uc, UC_ARM64_REG_D0, &dbits);
    uc_reg_write(e->uc, UC_ARM64_REG_SP, &sp);
    uc_reg_write(e->uc, UC_ARM64_REG_LR, &lr);
    uc_err err = uc_emu_start(e->uc, fn, RET_VA, 0, 100000);
    uint64_t pc;
    uc_reg_read(e->uc, UC_ARM64_REG_PC, &pc);
    if (err != UC_ERR_OK || pc != RET_VA)
        fail_msg("run of 0x%llx stopped at 0x%llx: %s", (unsigned long long)fn,
                 (unsigned long long)pc, uc_strerror(err));
    uc_reg_read(e->uc, UC_ARM64_REG_X0, &x0);
    uc_reg_read(e->uc, UC_ARM64_REG_D0, &dbits);
    if (d_out)
        memcpy(d_out, &dbits, 8);
    return x0;
}

static int32_t emu_rd32(emu *e, uint64_t va)
{
    uint8_t b[4];
    assert_int_equal(uc_mem_read(e->uc, va, b, 4), UC_ERR_OK);
    return (int32_t)hp_rd32(b);
}

#define A64_RET 0xd65f03c0u
#define A64_ADD_W0_W0_W1 0x0b010000u
#define A64_MOV_W0_42 0x52800540u

/* ---- veneers --------------------------------------------------------- */

static const char veneer_src[] =
    ".text\n"
    ".globl f, g, h\n"
    "f: stp x29, x30, [sp, -16]!\n"
    "   bl far\n"
    "   add w0, w0, #1\n"
    "   ldp x29, x30, [sp], 16\n"
    "   ret\n"
    "g: b far\n"
    "h: cbz x0, 1f\n"
    "   bl wk\n"
    "1: mov w0, #7\n"
    "   ret\n"
    ".weak wk\n";

/* A BL and a B to the binary 512 MiB away go through one shared veneer
 * (ADRP/ADD/BR x16); the call runs and returns through it. The weak call
 * gets a veneer reserved but becomes a branch to the next instruction. */
static void test_veneer(void **state)
{
    const char *obj = as_obj("veneer", veneer_src);
    static const int64_t dist[] = {-(int64_t)(512 * MiB), (int64_t)(3 * GiB),
                                   -(int64_t)(128 * MiB) - 0x1000};
    for (size_t i = 0; i < sizeof dist / sizeof dist[0]; i++) {
        lk k;
        lk_init(&k, HP_MACH_ARM64);
        size_t o = lk_add(&k, obj);
        lk_layout(&k, TVA, 0x40, 0);
        /* 5 + 1 + 4 words of code, then two veneers: (far, 0), (wk, 0). */
        assert_int_equal(k.size[HP_REGION_TEXT], 10 * 4 + 2 * 12);
        uint64_t far = TVA + (uint64_t)dist[i];
        lookup_ctx lc = {0};
        provide(&lc, "far", far);
        assert_int_equal(lk_emit(&k, false, &lc), HP_OK);
        uint64_t f = symva(&k, o, "f"), g = symva(&k, o, "g"), h = symva(&k, o, "h");
        assert_int_equal(f, TVA + 0x40);
        const uint8_t *t = k.ed.regions[HP_REGION_TEXT].bytes.data;
        uint64_t vens = TVA + 0x40 + 10 * 4;
        /* bl far -> a veneer; b far -> the same one; bl wk -> bl .+4 */
        uint32_t bl = hp_rd32(t + (f - TVA) + 4);
        assert_int_equal(bl >> 26, 0x25);
        uint64_t ven = f + 4 + ((uint64_t)(bl & 0x3ffffff) << 2);
        assert_true(ven == vens || ven == vens + 12);
        assert_int_equal(hp_rd32(t + (g - TVA)), 0x14000000u | (uint32_t)((ven - g) >> 2));
        assert_int_equal(hp_rd32(t + (h - TVA) + 4), 0x94000001u);
        assert_int_equal(hp_rd32(t + (ven - TVA) + 8), 0xd61f0200u); /* br x16 */
        uint64_t unused = ven == vens ? vens + 12 : vens; /* wk's: never written, udf */
        for (int w = 0; w < 3; w++)
            assert_int_equal(hp_rd32(t + (unused - TVA) + 4 * w), 0);
        emu e;
        emu_open(&e);
        emu_load(&e, &k.ed, 0);
        emu_word(&e, far, A64_MOV_W0_42);
        emu_word(&e, far + 4, A64_RET);
        assert_int_equal(emu_call(&e, f, 0, 0, 0, NULL), 43);
        assert_int_equal(emu_call(&e, g, 0, 0, 0, NULL), 42);
        assert_int_equal(emu_call(&e, h, 0, 0, 0, NULL), 7);
        emu_close(&e);
        lk_free(&k);
    }
}

/* Out of the veneer's reach (+-4 GiB) too: an error naming the object,
 * section and offset, relocation and symbol. */
static void test_veneer_out_of_reach(void **state)
{
    const char *obj = as_obj("veneer", veneer_src);
    lk k;
    lk_init(&k, HP_MACH_ARM64);
    lk_add(&k, obj);
    lk_layout(&k, TVA, 0, 0);
    lookup_ctx lc = {0};
    provide(&lc, "far", TVA + 5 * GiB);
    assert_int_equal(lk_emit(&k, false, &lc), HP_ERR_LINK);
    assert_true(diag_has(&k.d, "section '.text' offset 0x4: relocation R_AARCH64_CALL26 against "
                               "'far' overflows", "veneer"));
    assert_true(diag_has(&k.d, "section '.text' offset 0x14: relocation R_AARCH64_JUMP26", obj));
    assert_true(diag_has(&k.d, "4 GiB", NULL));
    assert_int_equal(k.ed.nsyms, 0);
    lk_free(&k);
}

/* ---- the GOT --------------------------------------------------------- */

static const char got_src[] =
    ".text\n"
    ".globl gget\n"
    "gget: adrp x0, :got:cnt\n"
    "   ldr x0, [x0, :got_lo12:cnt]\n"
    "   ldr w0, [x0]\n"
    "   ldr x1, :got:cnt\n"
    "   ldr w1, [x1]\n"
    "   add w0, w0, w1\n"
    "   adrp x2, :got:gget\n"
    "   ldr x2, [x2, :got_lo12:gget]\n"
    "   sub x2, x2, x30\n"
    "   ret\n";

/* ADR_GOT_PAGE + LD64_GOT_LO12_NC and GOT_LD_PREL19 share one slot per
 * symbol; the slots hold the addresses, a PIC link records exactly the
 * slots as absolute pointers, and the code runs at its link address and,
 * rebased through those records only, 0x30000000 higher. */
static void test_got(void **state)
{
    const char *obj = as_obj("got", got_src);
    for (int pic = 0; pic < 2; pic++) {
        lk k;
        lk_init(&k, HP_MACH_ARM64);
        size_t o = lk_add(&k, obj);
        lk_layout(&k, TVA, 0, 0);
        assert_int_equal(k.size[HP_REGION_DATA], 16); /* two slots, cnt and gget */
        uint64_t cnt = TVA - 64 * MiB;
        lookup_ctx lc = {0};
        provide(&lc, "cnt", cnt);
        assert_int_equal(lk_emit(&k, pic, &lc), HP_OK);
        const hp_region *w = &k.ed.regions[HP_REGION_DATA];
        uint64_t gget = symva(&k, o, "gget");
        assert_true((hp_rd64(w->bytes.data) == cnt && hp_rd64(w->bytes.data + 8) == gget) ||
                    (hp_rd64(w->bytes.data) == gget && hp_rd64(w->bytes.data + 8) == cnt));
        assert_int_equal(k.ed.nabs_ptrs, pic ? 2 : 0);
        if (pic)
            assert_true((k.ed.abs_ptrs[0] == w->va && k.ed.abs_ptrs[1] == w->va + 8) ||
                        (k.ed.abs_ptrs[1] == w->va && k.ed.abs_ptrs[0] == w->va + 8));
        for (uint64_t delta = 0; delta <= (pic ? 0x30000000u : 0); delta += 0x30000000u) {
            emu e;
            emu_open(&e);
            emu_load(&e, &k.ed, delta);
            emu_put(&e, cnt + delta, (int32_t[]){21}, 4, 4);
            /* lr = RET_VA: x2 = gget - RET_VA proves the slot of gget. */
            uint64_t r = emu_call(&e, gget + delta, 0, 0, 0, NULL);
            assert_int_equal((uint32_t)r, 42);
            uint64_t x2;
            uc_reg_read(e.uc, UC_ARM64_REG_X2, &x2);
            assert_int_equal(x2, gget + delta - RET_VA);
            emu_close(&e);
        }
        lk_free(&k);
    }
}

/* A GOT reference with an addend would need a slot for S + A: refused by
 * name rather than silently pointing at S. */
static void test_got_addend(void **state)
{
    const char *obj = as_obj("got_add", ".text\nadrp x0, :got:cnt+8\n");
    lk k;
    lk_init(&k, HP_MACH_ARM64);
    lk_add(&k, obj);
    lk_layout(&k, TVA, 0, 0);
    lookup_ctx lc = {0};
    provide(&lc, "cnt", TVA - MiB);
    assert_int_equal(lk_emit(&k, false, &lc), HP_ERR_LINK);
    assert_true(diag_has(&k.d, "R_AARCH64_ADR_GOT_PAGE against 'cnt' with addend 8", NULL));
    lk_free(&k);
}

/* ---- a C mock, run ----------------------------------------------------- */

#define BIN_FAR (TVA - 512 * MiB) /* out of B reach: veneers */
#define BIN_NEAR (TVA - 16 * MiB)

typedef struct mock_run {
    int add[6], tail, state;
    double scale;
    int32_t counter;
} mock_run;

static const int mock_args[6][2] = {{1, 2}, {3, 5}, {101, 4}, {-7, 9}, {250, 1}, {0, 0}};

static mock_run host_runs(void)
{
    static bool done;
    static mock_run m;
    if (done)
        return m;
    for (int i = 0; i < 6; i++)
        m.add[i] = host_mock_add(mock_args[i][0], mock_args[i][1]);
    m.tail = host_mock_tail(41);
    m.state = host_mock_state();
    m.scale = host_mock_scale(2.5);
    m.counter = counter_ext;
    done = true;
    return m;
}

static mock_run emu_runs(lk *k, size_t o, uint64_t bin, uint64_t delta)
{
    mock_run m;
    emu e;
    emu_open(&e);
    emu_load(&e, &k->ed, delta);
    emu_word(&e, bin + delta, A64_ADD_W0_W0_W1);
    emu_word(&e, bin + delta + 4, A64_RET);
    emu_put(&e, bin + delta + PAGE, (int32_t[]){5}, 4, 4); /* counter_ext's start */
    for (int i = 0; i < 6; i++)
        m.add[i] = (int)emu_call(&e, symva(k, o, "mock_add") + delta, (uint64_t)mock_args[i][0],
                                 (uint64_t)mock_args[i][1], 0, NULL);
    m.tail = (int)emu_call(&e, symva(k, o, "mock_tail") + delta, 41, 0, 0, NULL);
    m.state = (int)emu_call(&e, symva(k, o, "mock_state") + delta, 0, 0, 0, NULL);
    emu_call(&e, symva(k, o, "mock_scale") + delta, 0, 0, 2.5, &m.scale);
    m.counter = emu_rd32(&e, bin + delta + PAGE);
    emu_close(&e);
    return m;
}

static void expect_runs(const mock_run *got, const char *what)
{
    mock_run want = host_runs();
    for (int i = 0; i < 6; i++)
        if (got->add[i] != want.add[i])
            fail_msg("%s: mock_add(%d, %d) = %d, host %d", what, mock_args[i][0],
                     mock_args[i][1], got->add[i], want.add[i]);
    assert_int_equal(got->tail, want.tail);
    assert_int_equal(got->state, want.state);
    assert_int_equal(got->counter, want.counter);
    assert_true(fabs(got->scale - want.scale) < 1e-12);
}

static void run_mock(const char *cc, const char *flags, const char *out)
{
    const char *obj = cc_obj(cc, flags, "mock.c", out);
    for (int pic = 0; pic < 2; pic++)
        for (int far = 0; far < 2; far++) {
            uint64_t bin = far ? BIN_FAR : BIN_NEAR;
            lk k;
            lk_init(&k, HP_MACH_ARM64);
            size_t o = lk_add(&k, obj);
            lk_layout(&k, TVA, 0x20, 0);
            lookup_ctx lc = {0};
            provide(&lc, "real_add", bin);
            provide(&lc, "counter_ext", bin + PAGE);
            hp_status s = lk_emit(&k, pic, &lc);
            if (s != HP_OK)
                hp_diags_print(&k.d, stderr);
            assert_int_equal(s, HP_OK);
            /* Functions are named in the output; mapping symbols are not. */
            bool named = false;
            for (size_t i = 0; i < k.ed.nsyms; i++) {
                assert_true(k.ed.syms[i].name[0] != '$');
                named |= !strcmp(k.ed.syms[i].name, "mock_add") && k.ed.syms[i].size > 0;
            }
            assert_true(named);
            char what[300];
            snprintf(what, sizeof what, "%s %s, %s, binary %s", cc, flags, pic ? "PIC" : "fixed",
                     far ? "far" : "near");
            mock_run m = emu_runs(&k, o, bin, 0);
            expect_runs(&m, what);
            if (pic) { /* loaded elsewhere: only the recorded pointers move */
                m = emu_runs(&k, o, bin, 0x30000000);
                strcat(what, ", rebased");
                expect_runs(&m, what);
            }
            lk_free(&k);
        }
}

static void test_mock_gcc(void **state)
{
    run_mock("aarch64-linux-gnu-gcc", "-O0", "mock_gcc_O0.o");
    run_mock("aarch64-linux-gnu-gcc", "-O2", "mock_gcc_O2.o");
    run_mock("aarch64-linux-gnu-gcc", "-O2 -fPIC", "mock_gcc_O2_pic.o");
    run_mock("aarch64-linux-gnu-gcc", "-Os -mbranch-protection=standard -ffunction-sections "
                                      "-fdata-sections", "mock_gcc_Os_bti.o");
}

static void test_mock_clang(void **state)
{
    if (!have_clang)
        skip();
    run_mock("clang --target=aarch64-linux-gnu", "-O0", "mock_clang_O0.o");
    run_mock("clang --target=aarch64-linux-gnu", "-O2", "mock_clang_O2.o");
    run_mock("clang --target=aarch64-linux-gnu", "-O2 -fPIC", "mock_clang_O2_pic.o");
    run_mock("clang --target=aarch64-linux-gnu", "-O1 -mbranch-protection=standard",
             "mock_clang_O1_bti.o");
}

/* ---- refusals -------------------------------------------------------- */

static void expect_add_refused(hp_machine m, const char *obj, const char *a, const char *b)
{
    lk k;
    size_t o;
    lk_init(&k, m);
    assert_int_equal(lk_try_add(&k, obj, &o), HP_ERR_LINK);
    if (!diag_has(&k.d, a, b) || !diag_has(&k.d, obj, NULL)) {
        hp_diags_print(&k.d, stderr);
        fail_msg("no error '%s'", a);
    }
    assert_string_equal(k.d.v[0].file, "rules.toml");
    assert_int_equal(k.d.v[0].line, 3);
    assert_int_equal(k.d.v[0].col, 5);
    lk_free(&k);
}

/* An object for another machine than the binary's, both ways. */
static void test_machine_mismatch(void **state)
{
    const char *a64 = as_obj("mm", ".text\n.globl f\nf: ret\n");
    expect_add_refused(HP_MACH_X86_64, a64, "its code is arm64, but the binary's is x86-64",
                       NULL);
    const char *x86 = cc_obj("gcc", "", "../objlink/mock_basic.c", "mm_x86.o");
    expect_add_refused(HP_MACH_ARM64, x86, "its code is x86-64, but the binary's is arm64",
                       NULL);
}

/* Relocations the linker does not apply are refused by name; TLS too. */
static void test_refused_relocs(void **state)
{
    expect_add_refused(HP_MACH_ARM64, as_obj("movw", ".text\nmovz x0, #:abs_g0:t\n"),
                       "section '.text' offset 0x0: relocation R_AARCH64_MOVW_UABS_G0 is not "
                       "supported", "-mcmodel=small");
    expect_add_refused(HP_MACH_ARM64, as_obj("tls", ".text\nadrp x0, :tlsdesc:tv\n"),
                       "thread-local storage", NULL);
    /* An unknown type number: patch the one relocation of a small object. */
    const char *obj = as_obj("unk", ".text\nbl t\n");
    blob b = read_file(obj);
    Elf64_Ehdr eh;
    memcpy(&eh, b.data, sizeof eh);
    bool patched = false;
    for (size_t i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        memcpy(&sh, b.data + eh.e_shoff + i * sizeof sh, sizeof sh);
        if (sh.sh_type != SHT_RELA)
            continue;
        uint8_t *info = b.data + sh.sh_offset + 8; /* r_info: symbol << 32 | type */
        assert_int_equal(hp_rd64(info) & 0xffffffffu, R_AARCH64_CALL26);
        hp_wr64(info, (hp_rd64(info) & ~0xffffffffull) | 999);
        patched = true;
    }
    assert_true(patched);
    FILE *f = fopen(tmp_path("unk999.o"), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b.data, 1, b.size, f), b.size);
    fclose(f);
    free(b.data);
    expect_add_refused(HP_MACH_ARM64, tmp_path("unk999.o"),
                       "section '.text' offset 0x0: unknown relocation type 999", NULL);
}

/* What a PIC output cannot have: an absolute pointer in code (a text
 * relocation) and 32- or 16-bit absolute values. */
static void test_pic_refusals(void **state)
{
    static const struct {
        const char *src, *want;
    } v[] = {
        {".text\n.xword t\n", "R_AARCH64_ABS64 against 't' in code needs a text relocation"},
        {".data\n.word t\n", "relocation R_AARCH64_ABS32 against 't' cannot be used in a "
                             "position-independent output"},
        {".data\n.hword t\n", "R_AARCH64_ABS16 against 't' cannot be used"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "pic%zu", i);
        const char *obj = as_obj(name, v[i].src);
        for (int pic = 0; pic < 2; pic++) {
            lk k;
            lk_init(&k, HP_MACH_ARM64);
            lk_add(&k, obj);
            lk_layout(&k, TVA, 0, 0);
            lookup_ctx lc = {0};
            provide(&lc, "t", 0x1234);
            assert_int_equal(lk_emit(&k, pic, &lc), pic ? HP_ERR_LINK : HP_OK);
            assert_int_equal(diag_has(&k.d, v[i].want, NULL), pic);
            lk_free(&k);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relocs_match_ld),
        cmocka_unit_test(test_ldst_misaligned),
        cmocka_unit_test(test_veneer),
        cmocka_unit_test(test_veneer_out_of_reach),
        cmocka_unit_test(test_got),
        cmocka_unit_test(test_got_addend),
        cmocka_unit_test(test_mock_gcc),
        cmocka_unit_test(test_mock_clang),
        cmocka_unit_test(test_machine_mismatch),
        cmocka_unit_test(test_refused_relocs),
        cmocka_unit_test(test_pic_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
