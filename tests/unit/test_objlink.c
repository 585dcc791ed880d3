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

#include "test_util.h"
#include "sections/elf/elf_defs.h"

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
    if (access(path, R_OK) == 0) /* built already: names are unique per recipe */
        return path;
    snprintf(cmd, sizeof cmd, "%s -c -g0 %s %s%s -o %s", cc, flags, FIX, src, path);
    assert_true(run(cmd));
    return path;
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
    assert_int_equal(hp_objlink_new(HP_MACH_X86_64, &k->l), HP_OK);
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
    if (!n)
        return;
    assert_int_equal(hp_buf_append_zeros(b, n), HP_OK);
    memset(b->data, v, n);
}

/* Measure, then set the regions up the way objlink.h asks: text at
 * text_va with text_used bytes of "stubs" (0x90), rodata and data on the
 * following pages. */
static void lk_layout(lk *k, uint64_t text_va, uint64_t text_used)
{
    assert_int_equal(hp_objlink_measure(k->l, text_used, k->size, NULL), HP_OK);
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

/* VA of the occurrence of n bytes in the rodata and data regions (0 if
 * none); *hits counts them. */
static uint64_t find_bytes(const hp_edit *ed, const void *p, size_t n, int *hits)
{
    uint64_t found = 0;
    *hits = 0;
    for (int r = HP_REGION_RODATA; r < HP_REGION_COUNT; r++) {
        const hp_buf *b = &ed->regions[r].bytes;
        for (size_t i = 0; i + n <= b->len; i++)
            if (!memcmp(b->data + i, p, n)) {
                found = ed->regions[r].va + i;
                (*hits)++;
            }
    }
    return found;
}

static uint64_t find_once(const hp_edit *ed, const void *p, size_t n)
{
    int hits;
    uint64_t va = find_bytes(ed, p, n, &hits);
    assert_int_equal(hits, 1);
    return va;
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

/* names[] = {"alpha", "beta"}: two pointers (rebased in a PIC output), or
 * with clang -fPIC -O2 two offsets from the table, which need no rebasing. */
static void check_names(const hp_edit *ed, bool pic)
{
    uint64_t names[2] = {find_once(ed, "alpha", 6), find_once(ed, "beta", 5)};
    int hits;
    uint64_t table = find_bytes(ed, names, sizeof names, &hits);
    if (hits) {
        assert_int_equal(hits, 1);
        assert_int_equal(has_abs(ed, table) && has_abs(ed, table + 8), pic);
        return;
    }
    insns is;
    size_t i;
    decode_fn(ed, "mock_name", &is);
    for (i = 0; i < is.n && !is.v[i].rip_rel; i++)
        ;
    assert_true(i < is.n);
    uint64_t t = is.v[i].mem_va;
    const uint8_t *p = at_va(ed, t, 8);
    assert_int_equal(t + (uint64_t)(int32_t)hp_rd32(p), names[0]);
    assert_int_equal(t + (uint64_t)(int32_t)hp_rd32(p + 4), names[1]);
}

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
    size_t i = 0;
    decode_fn(ed, "mock_ext", &is);
    if (mem_ref(&is, EXT_NEAR, &i)) {
        /* a relaxed GOT load (lea) under -fPIC, a direct mov otherwise */
        assert_true(opcode_of(&is, i) == 0x8d || opcode_of(&is, i) == 0x8b);
        assert_true(pic || opcode_of(&is, i) == 0x8b);
    } else { /* clang -fno-pic: mov ext_counter, %eax (R_X86_64_32S) */
        assert_false(pic);
        bool seen = false;
        for (i = 0; i < is.n; i++)
            seen |= is.v[i].len >= 7 && hp_rd32(is.bytes[i] + is.v[i].len - 4) == EXT_NEAR;
        assert_true(seen);
    }
    check_names(ed, pic);
    uint64_t ops[2] = {BOUND_ADD, mock_add};
    uint64_t optab = find_once(ed, ops, sizeof ops);
    assert_int_equal(has_abs(ed, optab) && has_abs(ed, optab + 8), pic);
    if (!pic)
        assert_int_equal(ed->nabs_ptrs, 0);
}

static void check_asm(lk *k, size_t obj, bool pic)
{
    const hp_edit *ed = &k->ed;
    insns is;
    size_t i = 0;
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
    size_t i = 0;
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

/* ---- execution ------------------------------------------------------ */

typedef struct mapping {
    void *p;
    size_t len;
} mapping;

typedef struct world {
    mapping m[8];
    size_t n;
} world;

/* Map [va, va+mem) (page-rounded) at exactly that address with bytes. */
static bool map_at(world *w, uint64_t va, const void *bytes, size_t len, size_t mem, int prot)
{
    uint64_t start = va & ~(PAGE - 1), end = hp_align_up(va + (mem ? mem : 1), PAGE);
    void *p = mmap((void *)(uintptr_t)start, end - start, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED || p != (void *)(uintptr_t)start) {
        if (p != MAP_FAILED)
            munmap(p, end - start);
        return false;
    }
    w->m[w->n++] = (mapping){p, end - start};
    if (len)
        memcpy((void *)(uintptr_t)va, bytes, len);
    return mprotect(p, end - start, prot) == 0;
}

static void unmap_all(world *w)
{
    for (size_t i = 0; i < w->n; i++)
        munmap(w->m[i].p, w->m[i].len);
    w->n = 0;
}

static int host_real_add(int a, int b) { return a * 10 + b; }

static char host_said[64];
static int host_puts(const char *s)
{
    snprintf(host_said, sizeof host_said, "%s", s);
    return 1;
}

/* The fake binary: jump thunks at base (real_add, puts), data at +PAGE. */
#define THUNK_ADD 0
#define THUNK_PUTS 16
#define EXT_OFF PAGE
static bool map_binary(world *w, uint64_t base, int ext_value)
{
    uint8_t page[64] = {0};
    const void *targets[] = {(void *)host_real_add, (void *)host_puts};
    for (int i = 0; i < 2; i++) {
        memcpy(page + 16 * i, "\xff\x25\x00\x00\x00\x00", 6);
        hp_wr64(page + 16 * i + 6, (uint64_t)(uintptr_t)targets[i]);
    }
    return map_at(w, base, page, sizeof page, sizeof page, PROT_READ | PROT_EXEC) &&
           map_at(w, base + EXT_OFF, &ext_value, sizeof ext_value, 4, PROT_READ | PROT_WRITE);
}

/* Map the regions delta bytes above their link VAs and rebase the
 * recorded absolute pointers the way the loader's R_X86_64_RELATIVE would
 * (they must all lie in the writable data region). */
static bool map_edit(world *w, const hp_edit *ed, uint64_t delta)
{
    static const int prot[HP_REGION_COUNT] = {PROT_READ | PROT_EXEC, PROT_READ,
                                              PROT_READ | PROT_WRITE};
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        const hp_region *g = &ed->regions[r];
        if (g->mem_size &&
            !map_at(w, g->va + delta, g->bytes.data, g->bytes.len, g->mem_size, prot[r]))
            return false;
    }
    const hp_region *data = &ed->regions[HP_REGION_DATA];
    for (size_t i = 0; i < ed->nabs_ptrs; i++) {
        uint64_t va = ed->abs_ptrs[i];
        assert_true(va >= data->va && va + 8 <= data->va + data->bytes.len);
        uint8_t *p = (uint8_t *)(uintptr_t)(va + delta);
        hp_wr64(p, hp_rd64(p) + delta);
    }
    return true;
}

#define FN(type, k, obj, name, delta) ((type)(uintptr_t)(symva(k, obj, name) + (delta)))

static void run_basic(lk *k, size_t obj, uint64_t delta, int *ext)
{
    int (*add)(int, int) = FN(int (*)(int, int), k, obj, "mock_add", delta);
    int (*calls)(void) = FN(int (*)(void), k, obj, "mock_calls", delta);
    const char *(*name)(int) = FN(const char *(*)(int), k, obj, "mock_name", delta);
    int (*op)(int, int, int) = FN(int (*)(int, int, int), k, obj, "mock_op", delta);
    int (*say)(const char *) = FN(int (*)(const char *), k, obj, "mock_say", delta);
    int (*get)(void) = FN(int (*)(void), k, obj, "mock_ext", delta);
    void (*bias)(int) = FN(void (*)(int), k, obj, "mock_set_bias", delta);
    assert_int_equal(calls(), 0);
    assert_int_equal(add(2, 3), 28);
    assert_int_equal(add(1, 1), 16);
    assert_int_equal(calls(), 2); /* state persists across calls */
    assert_string_equal(name(0), "alpha");
    assert_string_equal(name(1), "beta");
    assert_int_equal(op(0, 2, 3), 23);
    assert_int_equal(op(1, 2, 3), 28);
    assert_int_equal(say("hello"), 3);
    assert_string_equal(host_said, "hello");
    assert_int_equal(get(), 1234);
    *ext = 77;
    assert_int_equal(get(), 77);
    bias(7);
    assert_int_equal(add(0, 0), 7);
}

static void run_asm(lk *k, size_t obj, uint64_t delta, int ext)
{
    int (*get)(void) = FN(int (*)(void), k, obj, "asm_get_ext", delta);
    int (*jmp_add)(int, int) = FN(int (*)(int, int), k, obj, "asm_jmp_add", delta);
    int (*call_add)(int, int) = FN(int (*)(int, int), k, obj, "asm_call_add", delta);
    int (*slot)(void) = FN(int (*)(void), k, obj, "asm_slot_ext", delta);
    void *(*weak)(void) = FN(void *(*)(void), k, obj, "asm_weak", delta);
    uint64_t (*gotoff)(void) = FN(uint64_t (*)(void), k, obj, "asm_gotoff", delta);
    int (*size)(void) = FN(int (*)(void), k, obj, "asm_size", delta);
    int (*bump)(void) = FN(int (*)(void), k, obj, "asm_bump", delta);
    int (*aligned)(void) = FN(int (*)(void), k, obj, "asm_aligned", delta);
    uint64_t data = symva(k, obj, "asm_data") + delta;
    const uint64_t *d = (const uint64_t *)(uintptr_t)data;
    assert_int_equal(get(), ext);
    assert_int_equal(slot(), ext);
    assert_int_equal(jmp_add(4, 5), 45);
    assert_int_equal(call_add(4, 5), 45);
    assert_null(weak());
    assert_int_equal(FN(int (*)(void), k, obj, "asm_weak_call", delta)(), -1);
    assert_int_equal(gotoff(), data);
    assert_int_equal(size(), 6);
    assert_int_equal(bump(), 1);
    assert_int_equal(bump(), 2);
    assert_int_equal(aligned(), 42);
    assert_int_equal(d[0], (uint64_t)(uintptr_t)aligned);
    assert_int_equal(d[1], (uint64_t)(uintptr_t)aligned - (data + 8));
    assert_int_equal(d[2], 0);
}

/* Link at base, run at base + delta. */
static void exec_variant(size_t v, uint64_t base, uint64_t delta)
{
    lk k;
    lk_init(&k);
    size_t ob = lk_add(&k, build_variant(v, "mock_basic.c", "mb"));
    size_t oa = lk_add(&k, build_variant(v, "mock_asm.S", "ma"));
    hp_objlink_bind(k.l, "real_add", base + THUNK_ADD);
    lookup_ctx c = {0};
    provide(&c, "puts", base + THUNK_PUTS);
    provide(&c, "ext_counter", base + EXT_OFF);
    lk_layout(&k, base + 0x10030, 0x40);
    assert_int_equal(lk_emit(&k, variants[v].pic, &c), HP_OK);
    world w = {0};
    if (!map_binary(&w, base + delta, 1234) || !map_edit(&w, &k.ed, delta)) {
        print_message("cannot map at 0x%llx: %s; skipping\n", (unsigned long long)base,
                      strerror(errno));
        unmap_all(&w);
        lk_free(&k);
        return;
    }
    int *ext = (int *)(uintptr_t)(base + delta + EXT_OFF);
    run_basic(&k, ob, delta, ext);
    run_asm(&k, oa, delta, *ext);
    unmap_all(&w);
    lk_free(&k);
}

static void test_exec_matrix(void **state)
{
    for (size_t v = 0; v < NVARIANTS; v++) {
        if (!strcmp(variants[v].cc, "clang") && !have_clang)
            continue;
        print_message("exec %s %s\n", variants[v].cc, variants[v].flags);
        if (variants[v].pic) {
            exec_variant(v, 0x7e0000000000ull, 0);
            exec_variant(v, 0x7e0000000000ull, 0x3000000); /* loaded elsewhere */
        } else {
            exec_variant(v, 0x30000000ull, 0);
        }
    }
}

/* Externals far away (the real libc and this test's globals): calls go
 * through GOT slots, which hold the absolute addresses. */
static int far_ext = 555;
static void test_exec_far(void **state)
{
    lk k;
    lk_init(&k);
    size_t oa = lk_add(&k, build("gcc", "-fPIC", "mock_asm.S", "xfar.o"));
    hp_objlink_bind(k.l, "real_add", (uint64_t)(uintptr_t)host_real_add);
    lookup_ctx c = {0};
    provide(&c, "ext_counter", (uint64_t)(uintptr_t)&far_ext);
    lk_layout(&k, 0x7e0000400000ull, 0);
    assert_int_equal(lk_emit(&k, true, &c), HP_OK);
    world w = {0};
    if (map_edit(&w, &k.ed, 0)) {
        int (*get)(void) = FN(int (*)(void), &k, oa, "asm_get_ext", 0);
        int (*call_add)(int, int) = FN(int (*)(int, int), &k, oa, "asm_call_add", 0);
        int (*jmp_add)(int, int) = FN(int (*)(int, int), &k, oa, "asm_jmp_add", 0);
        assert_int_equal(get(), 555);
        assert_int_equal(call_add(6, 7), 67);
        assert_int_equal(jmp_add(6, 7), 67);
    }
    unmap_all(&w);
    lk_free(&k);
}

/* ---- COMDAT groups -------------------------------------------------- */

static void test_comdat(void **state)
{
    lk k;
    lk_init(&k);
    size_t a = lk_add(&k, build("gcc", "-DCOMDAT_VALUE=1 -DCALLER=call_a", "comdat_a.S", "ca.o"));
    size_t b = lk_add(&k, build("gcc", "-DCOMDAT_VALUE=2 -DCALLER=call_b", "comdat_a.S", "cb.o"));
    assert_true(hp_objlink_defines(k.l, b, "inl_fn"));
    lk_layout(&k, TEXT_VA, 0);
    assert_int_equal(lk_emit(&k, true, NULL), HP_OK);
    uint64_t inl = symva(&k, a, "inl_fn");
    assert_int_equal(symva(&k, b, "inl_fn"), inl);
    size_t copies = 0;
    for (size_t i = 0; i < k.ed.nsyms; i++)
        copies += !strcmp(k.ed.syms[i].name, "inl_fn");
    assert_int_equal(copies, 1);
    insns is;
    decode_fn(&k.ed, "call_b", &is);
    assert_non_null(branch_to(&is, inl, NULL));
    assert_memory_equal(at_va(&k.ed, inl, 5), "\xb8\x01\x00\x00\x00", 5); /* the first copy */
    lk_free(&k);
}

/* Real C++ inline functions and templates from two compilers. */
static void test_cxx_inline(void **state)
{
    if (!have_gxx || !have_clang)
        skip();
    lk k;
    lk_init(&k);
    size_t a = lk_add(&k, build("g++", "-O0 -fPIC -DTAG=100 -DCPP_ENTRY=entry_a", "inline.cpp",
                                "cxa.o"));
    size_t b = lk_add(&k, build("clang++", "-O0 -fPIC -DTAG=200 -DCPP_ENTRY=entry_b",
                                "inline.cpp", "cxb.o"));
    lk_layout(&k, 0x7e0000800000ull, 0);
    assert_int_equal(lk_emit(&k, true, NULL), HP_OK);
    world w = {0};
    if (map_edit(&w, &k.ed, 0)) {
        assert_int_equal(FN(int (*)(int), &k, a, "entry_a", 0)(3), 110);
        assert_int_equal(FN(int (*)(int), &k, b, "entry_b", 0)(3), 110); /* g++'s twice() */
    }
    unmap_all(&w);
    lk_free(&k);
}

/* Everything but the personality routine and typeinfo resolves. */
static hp_status eh_lookup(void *ctx, const char *name, uint64_t *va)
{
    lookup_ctx *c = ctx;
    lookup(c, name, va);
    if (strstr(name, "personality") || !strcmp(name, "_ZTIi"))
        return HP_ERR_RESOLVE;
    *va = 0x401000;
    return HP_OK;
}

/* Unwind tables and their satellites are dropped, so the personality
 * routine is never needed. */
static void test_cxx_eh(void **state)
{
    if (!have_gxx)
        skip();
    lk k;
    lk_init(&k);
    lk_add(&k, build("g++", "-O2 -fPIC", "eh.cpp", "eh.o"));
    lk_layout(&k, TEXT_VA, 0);
    lookup_ctx c = {0};
    hp_status s = hp_objlink_emit(k.l, &k.ed, true, eh_lookup, &c, &k.d);
    hp_diags_print(&k.d, stderr);
    assert_int_equal(s, HP_OK);
    assert_true(was_asked(&c, "_Z9may_throwi"));
    assert_false(was_asked(&c, "__gxx_personality_v0"));
    assert_non_null(edsym(&k.ed, "eh_entry"));
    lk_free(&k);
}

/* ---- refusals and errors -------------------------------------------- */

static hp_status try_add(lk *k, const char *path)
{
    size_t obj;
    return hp_objlink_add(k->l, path, &(hp_loc){"rules.toml", 3, 7}, &k->d, &obj);
}

static void expect_refused(const char *path, const char *a, const char *b)
{
    lk k;
    lk_init(&k);
    assert_int_equal(try_add(&k, path), HP_ERR_LINK);
    assert_true(diag_has(&k.d, a, b));
    assert_true(diag_has(&k.d, path, NULL));
    assert_string_equal(k.d.v[0].file, "rules.toml");
    assert_int_equal(k.d.v[0].line, 3);
    lk_free(&k);
}

static void test_refusals(void **state)
{
    expect_refused(build("gcc", "-fcommon", "common.c", "common.o"), "shared_counter",
                   "-fno-common");
    expect_refused(build("gcc", "-O2", "ctor.c", "ctor.o"), ".init_array", "constructors");
    expect_refused(build("gcc", "-O2 -fPIC", "tls.c", "tls_pic.o"), "R_X86_64_TLSGD",
                   "thread-local");
    expect_refused(build("gcc", "-O2 -fno-pic", "tls.c", "tls_le.o"), "R_X86_64_GOTTPOFF", NULL);
    expect_refused(build("gcc", "-O2 -fno-pic", "tls.c", "tls_le2.o"), ".tbss", "thread-local");
    if (have_clang)
        expect_refused(build("clang", "-O2", "ctor.c", "ctor_clang.o"), ".init_array", NULL);
    expect_refused(FIX "mock_basic.c", "not an ELF", NULL);
    expect_refused("/proc/self/exe", "not a relocatable object", NULL);
}

/* Write a patched copy of an object; returns its path. */
static const char *patched(const char *src, const char *name, void (*patch)(uint8_t *, size_t))
{
    static char path[512];
    blob in = read_file(src);
    uint8_t *b = in.data;
    size_t n = in.size;
    patch(b, n);
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    free(b);
    return path;
}

static void patch_machine(uint8_t *b, size_t n) { hp_wr16(b + 18, 40); }
static void patch_class(uint8_t *b, size_t n) { b[EI_CLASS] = ELFCLASS32; }

/* First relocation of .rela.text gets type 200. */
static void patch_reloc(uint8_t *b, size_t n)
{
    Elf64_Ehdr eh;
    memcpy(&eh, b, sizeof eh);
    for (size_t i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        memcpy(&sh, b + eh.e_shoff + i * sizeof sh, sizeof sh);
        if (sh.sh_type != SHT_RELA || sh.sh_info != 1 || !sh.sh_size)
            continue;
        Elf64_Rela r;
        memcpy(&r, b + sh.sh_offset, sizeof r);
        r.r_info = ELF64_R_INFO(ELF64_R_SYM(r.r_info), 200);
        memcpy(b + sh.sh_offset, &r, sizeof r);
        return;
    }
    fail_msg("no .rela.text");
}

static void test_bad_objects(void **state)
{
    const char *obj = build("gcc", "-O2 -fno-pic", "unresolved.c", "bad_src.o");
    expect_refused(patched(obj, "machine.o", patch_machine), "machine 40 is not x86-64 or AArch64", NULL);
    expect_refused(patched(obj, "class.o", patch_class), "64-bit", NULL);
    expect_refused(patched(obj, "reloc.o", patch_reloc), "unknown relocation type 200",
                   "section '.text' offset 0x");
    lk k;
    lk_init(&k);
    assert_int_equal(try_add(&k, "/nonexistent/x.o"), HP_ERR_IO);
    assert_true(diag_has(&k.d, "/nonexistent/x.o", "cannot read"));
    lk_free(&k);
}

static void test_unresolved(void **state)
{
    lk k;
    lk_init(&k);
    const char *path = build("gcc", "-O2 -fPIC", "unresolved.c", "unres.o");
    lk_add(&k, path);
    lookup_ctx c = {0};
    lk_layout(&k, TEXT_VA, TEXT_USED);
    hp_buf before = {0};
    hp_buf_append(&before, k.ed.regions[0].bytes.data, k.ed.regions[0].bytes.len);
    assert_int_equal(lk_emit(&k, true, &c), HP_ERR_LINK);
    assert_int_equal(k.d.errors, 3);
    assert_true(diag_has(&k.d, "missing_one", path));
    assert_true(diag_has(&k.d, "missing_two", path));
    assert_true(diag_has(&k.d, "missing_var", "undefined symbol"));
    assert_memory_equal(before.data, k.ed.regions[0].bytes.data, before.len); /* nothing emitted */
    assert_int_equal(k.ed.nsyms + k.ed.nabs_ptrs, 0);
    hp_buf_free(&before);
    lk_free(&k);
}

static void test_duplicates(void **state)
{
    lk k;
    lk_init(&k);
    const char *a = build("gcc", "-O2", "dup_a.c", "dup_a.o");
    const char *b = build(have_clang ? "clang" : "gcc", "-O2", "dup_b.c", "dup_b.o");
    size_t o1 = lk_add(&k, a), o2 = 7;
    assert_int_equal(hp_objlink_add(k.l, a, NULL, &k.d, &o2), HP_OK); /* same path: same object */
    assert_int_equal(o1, o2);
    assert_int_equal(try_add(&k, b), HP_ERR_LINK);
    assert_true(diag_has(&k.d, "dup_fn", a));
    assert_true(diag_has(&k.d, "dup_fn", b));
    lk_free(&k);
}

static hp_status link_overflow(uint64_t far, bool pic, lk *k)
{
    lk_init(k);
    lk_add(k, build("gcc", "", "overflow.S", "ovf.o"));
    lookup_ctx c = {0};
    provide(&c, "far_sym", far);
    lk_layout(k, TEXT_VA, 0);
    return lk_emit(k, pic, &c);
}

static void test_overflow(void **state)
{
    lk k;
    assert_int_equal(link_overflow(0x80000000ull, false, &k), HP_ERR_LINK);
    assert_int_equal(k.d.errors, 1);
    assert_true(diag_has(&k.d, "R_X86_64_32S against 'far_sym'", "overflows"));
    lk_free(&k);
    assert_int_equal(link_overflow(0xffffffff80000000ull, false, &k), HP_ERR_LINK);
    assert_int_equal(k.d.errors, 1);
    assert_true(diag_has(&k.d, "R_X86_64_32 against 'far_sym'", "overflows"));
    lk_free(&k);
    assert_int_equal(link_overflow(0x7ffff000ull, false, &k), HP_OK);
    assert_memory_equal(at_va(&k.ed, symva(&k, 0, "ovf_32s") + 3, 4), "\x00\xf0\xff\x7f", 4);
    assert_memory_equal(at_va(&k.ed, symva(&k, 0, "ovf_32"), 4), "\x00\xf0\xff\x7f", 4);
    lk_free(&k);
    assert_int_equal(link_overflow(0x1000, true, &k), HP_ERR_LINK);
    assert_true(diag_has(&k.d, "position-independent", "-fPIC"));
    lk_free(&k);
}

static void test_nopic_into_pic(void **state)
{
    lk k;
    lk_init(&k);
    lk_add(&k, build("gcc", "-O2 -fno-pic", "mock_basic.c", "np.o"));
    hp_objlink_bind(k.l, "real_add", BOUND_ADD);
    lookup_ctx c = {0};
    provide(&c, "puts", FAKE_PUTS);
    provide(&c, "ext_counter", EXT_NEAR);
    lk_layout(&k, TEXT_VA, 0);
    assert_int_equal(lk_emit(&k, true, &c), HP_ERR_LINK);
    assert_true(diag_has(&k.d, "R_X86_64_32S", "-fPIC"));
    lk_free(&k);
}

static void test_misuse(void **state)
{
    lk k;
    lk_init(&k);
    uint64_t size[HP_REGION_COUNT];
    assert_int_equal(hp_objlink_emit(k.l, &k.ed, false, NULL, NULL, &k.d), HP_ERR_INTERNAL);
    assert_int_equal(hp_objlink_measure(k.l, 0, size, NULL), HP_OK); /* nothing loaded */
    assert_int_equal(size[0] + size[1] + size[2], 0);
    assert_int_equal(hp_objlink_emit(k.l, &k.ed, false, NULL, NULL, &k.d), HP_OK);
    size_t o = lk_add(&k, build("gcc", "-O2", "dup_a.c", "mis.o"));
    assert_int_equal(hp_objlink_emit(k.l, &k.ed, false, NULL, NULL, &k.d), HP_ERR_INTERNAL);
    assert_int_equal(hp_objlink_measure(k.l, 0, size, NULL), HP_OK);
    assert_int_equal(hp_objlink_emit(k.l, &k.ed, false, NULL, NULL, &k.d), HP_ERR_INTERNAL);
    assert_true(hp_objlink_defines(k.l, o, "dup_fn"));
    assert_false(hp_objlink_defines(k.l, o, "nope"));
    assert_false(hp_objlink_defines(k.l, o + 1, "dup_fn"));
    uint64_t va;
    assert_int_equal(hp_objlink_symbol_va(k.l, o, "nope", &k.ed, &va), HP_ERR_RESOLVE);
    lk_free(&k);
}

/* ---- hostile input -------------------------------------------------- */

static hp_status any_sym(void *ctx, const char *name, uint64_t *va)
{
    *va = 0x401000;
    return HP_OK;
}

/* The fuzzer's pipeline: add, measure, lay out, emit. Never crashes. */
static hp_status pipeline(const uint8_t *b, size_t n, bool pic)
{
    lk k;
    lk_init(&k);
    size_t obj;
    hp_status s = hp_objlink_add_mem(k.l, "input.o", b, n, NULL, &k.d, &obj);
    if (s == HP_OK) {
        assert_int_equal(hp_objlink_measure(k.l, 0x10, k.size, NULL), HP_OK);
        lk_layout(&k, TEXT_VA, 0x10);
        s = hp_objlink_emit(k.l, &k.ed, pic, any_sym, NULL, &k.d);
    } else {
        assert_true(k.d.errors > 0);
    }
    lk_free(&k);
    return s;
}

static void test_truncated(void **state)
{
    const char *objs[] = {build("gcc", "-O2 -fPIC -ffunction-sections", "mock_basic.c", "t1.o"),
                          build("gcc", "", "mock_asm.S", "t2.o"),
                          build("gcc", "-DCOMDAT_VALUE=1 -DCALLER=c", "comdat_a.S", "t3.o")};
    for (size_t i = 0; i < 3; i++) {
        blob f = read_file(objs[i]);
        uint8_t *b = f.data;
        size_t n = f.size;
        assert_int_equal(pipeline(b, n, true), HP_OK);
        for (size_t len = 0; len < n; len++) {
            uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
            memcpy(copy, b, len);
            assert_int_not_equal(pipeline(copy, len, true), HP_OK);
            free(copy);
        }
        free(b);
    }
}

static void test_mutations(void **state)
{
    const char *objs[] = {build("gcc", "-O2 -fPIC", "mock_basic.c", "m1.o"),
                          build("gcc", "", "mock_asm.S", "m2.o")};
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < 2; i++) {
        blob f = read_file(objs[i]);
        uint8_t *b = f.data;
        size_t n = f.size;
        for (int iter = 0; iter < 3000; iter++) {
            uint8_t *copy = malloc(n);
            memcpy(copy, b, n);
            for (int f = 0; f < 1 + iter % 6; f++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                size_t at = (size_t)(rng >> 33) % n;
                copy[at] = (uint8_t)(iter & 1 ? copy[at] ^ (1u << (rng >> 61)) : rng >> 40);
            }
            pipeline(copy, n, iter & 2);
            free(copy);
        }
        free(b);
    }
}

/* Fail the Nth allocation for every N: no crash, no leak (ASan), and a
 * clean HP_ERR_NOMEM until enough memory is allowed. */
static void test_alloc_failures(void **state)
{
    const char *mb = build("gcc", "-O2 -fPIC", "mock_basic.c", "nm1.o");
    const char *ma = build("gcc", "", "mock_asm.S", "nm2.o");
    for (long n = 0;; n++) {
        lk k;
        lk_init(&k);
        size_t o;
        hp_mem_fail_after(n);
        hp_status s = hp_objlink_add(k.l, mb, NULL, &k.d, &o);
        if (s == HP_OK)
            s = hp_objlink_add(k.l, ma, NULL, &k.d, &o);
        if (s == HP_OK)
            s = hp_objlink_bind(k.l, "real_add", BOUND_ADD);
        hp_mem_fail_after(-1);
        if (s == HP_OK) {
            lk_layout(&k, TEXT_VA, 0);
            hp_mem_fail_after(n);
            s = hp_objlink_emit(k.l, &k.ed, true, any_sym, NULL, &k.d);
            hp_mem_fail_after(-1);
        }
        lk_free(&k);
        if (s == HP_OK && n > 10)
            break;
        assert_true(s == HP_OK || s == HP_ERR_NOMEM);
        assert_true(n < 5000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_matrix),
        cmocka_unit_test(test_far_targets),
        cmocka_unit_test(test_exec_matrix),
        cmocka_unit_test(test_exec_far),
        cmocka_unit_test(test_comdat),
        cmocka_unit_test(test_cxx_inline),
        cmocka_unit_test(test_cxx_eh),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bad_objects),
        cmocka_unit_test(test_unresolved),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_nopic_into_pic),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
