/* Unit tests for relocs/objlink: fixture objects are compiled at test time
 * with gcc and clang (several -O levels, PIC and not, with and without
 * per-function sections) from tests/fixtures/objlink. Links are checked two
 * ways: by decoding the produced bytes (branch targets, RIP-relative
 * operands, pointer tables, the abs_ptrs list), and by mapping the regions
 * at their link addresses in this process and calling the mocks, with the
 * "binary" played by a page of jump thunks next to them. Every refusal and
 * malformed-input path is exercised too, including allocation failures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "relocs/objlink.h"
#include "relocs/x86.h"

#define FIX HP_SOURCE_DIR "/tests/fixtures/objlink/"
#define PAGE 0x1000ull

static char tmpdir[256];
static bool have_clang, have_gxx;

/* ---- building fixtures ---------------------------------------------- */

static bool run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        print_message("command failed (%d): %s\n", rc, cmd);
    return rc == 0;
}

/* Compile FIX/src into tmpdir/out with cc and flags; returns the path. */
static const char *build(const char *cc, const char *flags, const char *src, const char *out)
{
    static char paths[64][512];
    static int next;
    char *path = paths[next++ % 64];
    char cmd[1536];
    snprintf(path, 512, "%s/%s", tmpdir, out);
    snprintf(cmd, sizeof cmd, "%s -c -g0 %s %s%s -o %s", cc, flags, FIX, src, path);
    assert_true(run(cmd));
    return path;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n ? *n : 1);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hp_objlink_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    have_clang = system("clang --version >/dev/null 2>&1") == 0;
    have_gxx = system("g++ --version >/dev/null 2>&1") == 0;
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- linking into an edit ------------------------------------------- */

typedef struct fake_sym {
    const char *name;
    uint64_t va;
} fake_sym;

typedef struct lookup_ctx {
    fake_sym v[16];
    size_t n;
    char asked[32][64];
    size_t nasked;
} lookup_ctx;

static hp_status lookup(void *ctx, const char *name, uint64_t *va)
{
    lookup_ctx *c = ctx;
    if (c->nasked < 32)
        snprintf(c->asked[c->nasked++], 64, "%s", name);
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

static bool was_asked(const lookup_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->nasked; i++)
        if (!strcmp(c->asked[i], name))
            return true;
    return false;
}

typedef struct lk {
    hp_objlink *l;
    hp_edit ed;
    hp_diags d;
    uint64_t size[HP_REGION_COUNT];
    uint64_t text_used;
} lk;

static void lk_init(lk *k)
{
    memset(k, 0, sizeof *k);
    assert_int_equal(hp_objlink_new(&k->l), HP_OK);
}

static void lk_free(lk *k)
{
    hp_objlink_free(k->l);
    hp_edit_free(&k->ed);
    hp_diags_free(&k->d);
}

static size_t lk_add(lk *k, const char *path)
{
    size_t obj = 99;
    hp_status s = hp_objlink_add(k->l, path, NULL, &k->d, &obj);
    if (s != HP_OK)
        hp_diags_print(&k->d, stderr);
    assert_int_equal(s, HP_OK);
    return obj;
}

static void fill(hp_buf *b, size_t n, uint8_t v)
{
    assert_int_equal(hp_buf_append_zeros(b, n), HP_OK);
    memset(b->data, v, n);
}

/* Measure, then set the regions up the way objlink.h asks: text at
 * text_va with text_used bytes of "stubs" (0x90), rodata and data on the
 * following pages. */
static void lk_layout(lk *k, uint64_t text_va, uint64_t text_used)
{
    assert_int_equal(hp_objlink_measure(k->l, text_used, k->size), HP_OK);
    k->text_used = text_used;
    hp_region *t = &k->ed.regions[HP_REGION_TEXT], *r = &k->ed.regions[HP_REGION_RODATA],
              *w = &k->ed.regions[HP_REGION_DATA];
    t->va = text_va;
    fill(&t->bytes, text_used + k->size[HP_REGION_TEXT], 0x90);
    t->mem_size = t->bytes.len;
    r->va = hp_align_up(t->va + t->mem_size, PAGE);
    fill(&r->bytes, k->size[HP_REGION_RODATA], 0xee);
    r->mem_size = r->bytes.len;
    w->va = hp_align_up(r->va + r->mem_size + 1, PAGE);
    uint64_t filesz = hp_objlink_data_filesz(k->l);
    assert_true(filesz <= k->size[HP_REGION_DATA]);
    fill(&w->bytes, filesz, 0xee);
    w->mem_size = k->size[HP_REGION_DATA];
}

static hp_status lk_emit(lk *k, bool pic, lookup_ctx *c)
{
    hp_status s = hp_objlink_emit(k->l, &k->ed, pic, lookup, c, &k->d);
    if (s != HP_OK && getenv("HP_TEST_VERBOSE"))
        hp_diags_print(&k->d, stderr);
    return s;
}

static uint64_t symva(lk *k, size_t obj, const char *name)
{
    uint64_t va = 0;
    assert_int_equal(hp_objlink_symbol_va(k->l, obj, name, &k->ed, &va), HP_OK);
    return va;
}

static const hp_newsym *edsym(const hp_edit *ed, const char *name)
{
    for (size_t i = 0; i < ed->nsyms; i++)
        if (!strcmp(ed->syms[i].name, name))
            return &ed->syms[i];
    return NULL;
}

/* Bytes at va in the edit; bss reads as zeros. */
static const uint8_t *at_va(const hp_edit *ed, uint64_t va, size_t n)
{
    static const uint8_t zeros[64];
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        const hp_region *g = &ed->regions[r];
        if (va >= g->va && va - g->va + n <= g->bytes.len)
            return g->bytes.data + (va - g->va);
        if (va >= g->va && va - g->va + n <= g->mem_size && n <= sizeof zeros)
            return zeros;
    }
    return NULL;
}

static bool has_abs(const hp_edit *ed, uint64_t va)
{
    for (size_t i = 0; i < ed->nabs_ptrs; i++)
        if (ed->abs_ptrs[i] == va)
            return true;
    return false;
}

static bool diag_has(const hp_diags *d, const char *a, const char *b)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].msg && strstr(d->v[i].msg, a) && (!b || strstr(d->v[i].msg, b)))
            return true;
    return false;
}

/* VA of the only occurrence of n bytes in the rodata and data regions. */
static uint64_t find_once(const hp_edit *ed, const void *p, size_t n)
{
    uint64_t found = 0;
    int hits = 0;
    for (int r = HP_REGION_RODATA; r < HP_REGION_COUNT; r++) {
        const hp_buf *b = &ed->regions[r].bytes;
        for (size_t i = 0; i + n <= b->len; i++)
            if (!memcmp(b->data + i, p, n)) {
                found = ed->regions[r].va + i;
                hits++;
            }
    }
    assert_int_equal(hits, 1);
    return found;
}

/* ---- decoding the output -------------------------------------------- */

typedef struct insns {
    hp_insn v[512];
    const uint8_t *bytes[512];
    size_t n;
} insns;

static void decode_fn(const hp_edit *ed, const char *name, insns *out)
{
    const hp_newsym *s = edsym(ed, name);
    assert_non_null(s);
    assert_true(s->func);
    const uint8_t *p = at_va(ed, s->va, s->size);
    assert_non_null(p);
    out->n = 0;
    for (uint64_t off = 0; off < s->size && out->n < 512;) {
        hp_insn *in = &out->v[out->n];
        assert_int_equal(hp_x86_decode(p + off, s->size - off, s->va + off, in), HP_OK);
        out->bytes[out->n++] = p + off;
        off += in->len;
    }
}

static const hp_insn *branch_to(const insns *is, uint64_t target, size_t *idx)
{
    for (size_t i = 0; i < is->n; i++)
        if (is->v[i].has_target && !is->v[i].rip_rel && is->v[i].target_va == target) {
            if (idx)
                *idx = i;
            return &is->v[i];
        }
    return NULL;
}

static const hp_insn *mem_ref(const insns *is, uint64_t mem, size_t *idx)
{
    for (size_t i = 0; i < is->n; i++)
        if (is->v[i].rip_rel && is->v[i].mem_va == mem) {
            if (idx)
                *idx = i;
            return &is->v[i];
        }
    return NULL;
}

/* ---- the compiler matrix -------------------------------------------- */

typedef struct variant {
    const char *cc, *flags;
    bool pic;
} variant;

static const variant variants[] = {
    {"gcc", "-O0 -fPIC", true},
    {"gcc", "-O2 -fPIC -ffunction-sections -fdata-sections", true},
    {"gcc", "-O3 -fPIC -fno-plt -ffunction-sections", true},
    {"gcc", "-O2 -fpie", true},
    {"gcc", "-O0 -fno-pic -ffunction-sections -fdata-sections", false},
    {"gcc", "-O2 -fno-pic", false},
    {"clang", "-O0 -fPIC -ffunction-sections -fdata-sections", true},
    {"clang", "-O2 -fPIC -fno-plt", true},
    {"clang", "-O0 -fno-pic", false},
    {"clang", "-O2 -fno-pic -ffunction-sections -fdata-sections", false},
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

static const char *build_variant(size_t i, const char *src, const char *tag)
{
    char out[64];
    snprintf(out, sizeof out, "%s_v%zu.o", tag, i);
    return build(variants[i].cc, variants[i].flags, src, out);
}


#define BOUND_ADD 0x401000ull
#define FAKE_PUTS 0x401100ull
#define EXT_NEAR 0x600000ull
#define TEXT_VA 0x500010ull /* 16-aligned, deliberately not 64-aligned */
#define TEXT_USED 0x23ull

static void expect_slot(const hp_edit *ed, const insns *is, uint64_t holds, bool rebased)
{
    bool seen = false;
    for (size_t i = 0; i < is->n; i++) {
        const uint8_t *p = is->v[i].rip_rel ? at_va(ed, is->v[i].mem_va, 8) : NULL;
        if (!p || hp_rd64(p) != holds || ed->regions[HP_REGION_DATA].va > is->v[i].mem_va)
            continue;
        assert_int_equal(has_abs(ed, is->v[i].mem_va), rebased);
        seen = true;
    }
    assert_true(seen);
}

/* The opcode byte of "op modrm disp32" (no immediate) instructions. */
static uint8_t opcode_of(const insns *is, size_t i) { return is->bytes[i][is->v[i].len - 6]; }

static void check_basic(lk *k, size_t obj, bool pic)
{
    const hp_edit *ed = &k->ed;
    insns is;
    uint64_t mock_add = symva(k, obj, "mock_add");
    assert_int_equal(edsym(ed, "mock_add")->va, mock_add);
    decode_fn(ed, "mock_add", &is);
    assert_non_null(branch_to(&is, BOUND_ADD, NULL));
    decode_fn(ed, "mock_say", &is);
    assert_non_null(branch_to(&is, FAKE_PUTS, NULL));
    size_t i;
    decode_fn(ed, "mock_ext", &is);
    assert_non_null(mem_ref(&is, EXT_NEAR, &i));
    assert_int_equal(opcode_of(&is, i), pic ? 0x8d : 0x8b); /* GOT load relaxed to lea */
    uint64_t names[2] = {find_once(ed, "alpha", 6), find_once(ed, "beta", 5)};
    uint64_t table = find_once(ed, names, sizeof names);
    uint64_t ops[2] = {BOUND_ADD, mock_add};
    uint64_t optab = find_once(ed, ops, sizeof ops);
    assert_int_equal(has_abs(ed, table) && has_abs(ed, table + 8), pic);
    assert_int_equal(has_abs(ed, optab) && has_abs(ed, optab + 8), pic);
    if (!pic)
        assert_int_equal(ed->nabs_ptrs, 0);
}

static void check_asm(lk *k, size_t obj, bool pic)
{
    const hp_edit *ed = &k->ed;
    insns is;
    size_t i;
    decode_fn(ed, "asm_get_ext", &is);
    assert_non_null(mem_ref(&is, EXT_NEAR, &i));
    assert_int_equal(opcode_of(&is, i), 0x8d);
    decode_fn(ed, "asm_jmp_add", &is);
    assert_non_null(branch_to(&is, BOUND_ADD, &i));
    assert_int_equal(is.bytes[i][0], 0xe9);
    assert_int_equal(is.v[i + 1].kind, HP_INSN_NOP);
    decode_fn(ed, "asm_call_add", &is);
    assert_non_null(branch_to(&is, BOUND_ADD, &i));
    assert_memory_equal(is.bytes[i], "\x67\xe8", 2);
    decode_fn(ed, "asm_slot_ext", &is);
    expect_slot(ed, &is, EXT_NEAR, pic);
    decode_fn(ed, "asm_weak", &is);
    expect_slot(ed, &is, 0, false);
    uint64_t aligned = symva(k, obj, "asm_aligned"), data = symva(k, obj, "asm_data");
    assert_int_equal(aligned % 64, 0);
    assert_int_equal(edsym(ed, "asm_aligned")->size, 6);
    const uint8_t *p = at_va(ed, data, 24);
    assert_int_equal(hp_rd64(p), aligned);
    assert_int_equal(hp_rd64(p + 8), aligned - (data + 8));
    assert_int_equal(hp_rd64(p + 16), 0);
    assert_int_equal(has_abs(ed, data), pic);
    assert_false(has_abs(ed, data + 8) || has_abs(ed, data + 16));
}

static void link_matrix(size_t v, lk *k, size_t *ob, size_t *oa)
{
    const char *mb = build_variant(v, "mock_basic.c", "mb");
    const char *ma = build_variant(v, "mock_asm.S", "ma");
    lk_init(k);
    *ob = lk_add(k, mb);
    *oa = lk_add(k, ma);
    assert_int_equal(hp_objlink_bind(k->l, "real_add", BOUND_ADD), HP_OK);
    assert_int_equal(hp_objlink_bind(k->l, "mock_add", 0xdead), HP_OK); /* own wins */
    lookup_ctx c = {0};
    provide(&c, "puts", FAKE_PUTS);
    provide(&c, "ext_counter", EXT_NEAR);
    provide(&c, "real_add", 0xbad);
    lk_layout(k, TEXT_VA, TEXT_USED);
    assert_int_equal(lk_emit(k, variants[v].pic, &c), HP_OK);
    assert_false(was_asked(&c, "real_add"));
    assert_false(was_asked(&c, "mock_add"));
}

static void test_bytes_matrix(void **state)
{
    for (size_t v = 0; v < NVARIANTS; v++) {
        if (!strcmp(variants[v].cc, "clang") && !have_clang)
            continue;
        print_message("variant %s %s\n", variants[v].cc, variants[v].flags);
        lk k, k2;
        size_t ob, oa;
        link_matrix(v, &k, &ob, &oa);
        for (size_t i = 0; i < TEXT_USED; i++)
            assert_int_equal(k.ed.regions[HP_REGION_TEXT].bytes.data[i], 0x90);
        check_basic(&k, ob, variants[v].pic);
        check_asm(&k, oa, variants[v].pic);
        link_matrix(v, &k2, &ob, &oa); /* same inputs, same bytes */
        for (int r = 0; r < HP_REGION_COUNT; r++) {
            assert_int_equal(k.ed.regions[r].bytes.len, k2.ed.regions[r].bytes.len);
            assert_memory_equal(k.ed.regions[r].bytes.data, k2.ed.regions[r].bytes.data,
                                k.ed.regions[r].bytes.len);
        }
        assert_int_equal(k.ed.nabs_ptrs, k2.ed.nabs_ptrs);
        lk_free(&k);
        lk_free(&k2);
    }
}

/* A target out of rel32 reach: GOT loads fall back to the slot; direct
 * PC-relative references are errors naming the symbol. */
static void test_far_targets(void **state)
{
    uint64_t far = TEXT_VA + 0x90000000ull;
    lk k;
    lk_init(&k);
    size_t oa = lk_add(&k, build("gcc", "-fPIC", "mock_asm.S", "far_asm.o"));
    lookup_ctx c = {0};
    provide(&c, "ext_counter", far);
    provide(&c, "real_add", far + 16);
    lk_layout(&k, TEXT_VA, 0);
    assert_int_equal(lk_emit(&k, true, &c), HP_OK);
    insns is;
    size_t i;
    decode_fn(&k.ed, "asm_get_ext", &is);
    assert_null(mem_ref(&is, far, NULL));
    expect_slot(&k.ed, &is, far, true);
    assert_true(mem_ref(&is, is.v[0].mem_va, &i) && opcode_of(&is, i) == 0x8b);
    decode_fn(&k.ed, "asm_call_add", &is);
    expect_slot(&k.ed, &is, far + 16, true);
    (void)oa;
    lk_free(&k);

    lk_init(&k);
    lk_add(&k, build("gcc", "-O2 -fno-pic", "mock_basic.c", "far_mb.o"));
    hp_objlink_bind(k.l, "real_add", far);
    lookup_ctx c2 = {0};
    provide(&c2, "ext_counter", EXT_NEAR);
    provide(&c2, "puts", FAKE_PUTS);
    lk_layout(&k, TEXT_VA, 0);
    uint8_t before = k.ed.regions[HP_REGION_TEXT].bytes.data[0];
    assert_int_equal(lk_emit(&k, false, &c2), HP_ERR_LINK);
    assert_true(diag_has(&k.d, "real_add", "2 GiB"));
    assert_int_equal(k.ed.regions[HP_REGION_TEXT].bytes.data[0], before);
    assert_int_equal(k.ed.nsyms, 0);
    lk_free(&k);
}
