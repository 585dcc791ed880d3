/* Unit tests for the COFF and Mach-O object readers (sections/pe/coff_obj.c,
 * sections/macho/macho_obj.c), through the object linker. Fixtures are compiled at test
 * time from tests/fixtures/objlink_formats with x86_64-w64-mingw32-gcc,
 * clang --target=x86_64-w64-windows-gnu and clang -target
 * x86_64-apple-macos11 (-O0 ... -O2). Each link is placed at realistic
 * image addresses (PE 0x140000000, Mach-O 0x100000000) and checked by
 * decoding the output (call targets, RIP-relative data, pointer tables,
 * abs_ptrs for a PIC output), then run: the regions are mapped at their
 * link addresses in this process, next to a page of jump thunks playing the
 * binary. COFF code runs through ms_abi function pointers, Mach-O code is
 * SysV like Linux. Refusals and malformed objects (hand-built COFF,
 * truncated and mutated real objects, failing allocations) must end in an
 * error, never a crash. Compilers that are missing skip their cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "relocs/objlink.h"
#include "relocs/x86.h"

#define FIX HP_SOURCE_DIR "/tests/fixtures/objlink_formats/"
#define PAGE 0x1000ull
#define MINGW "x86_64-w64-mingw32-gcc"
#define CLANG_COFF "clang --target=x86_64-w64-windows-gnu"
#define CLANG_MACHO "clang -target x86_64-apple-macos11"

static char tmpdir[256];
static bool have_mingw, have_clang_coff, have_clang_macho;

/* ---- building fixtures ---------------------------------------------- */

static bool run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        print_message("command failed (%d): %s\n", rc, cmd);
    return rc == 0;
}

static const char *tmp_path(const char *name)
{
    static char paths[16][512];
    static int next;
    char *p = paths[next++ % 16];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

/* Compile FIX/src (or tmpdir/src when src has no '/') with cc and flags
 * into tmpdir/out; returns the path. */
static const char *build_at(const char *cc, const char *flags, const char *dir, const char *src,
                            const char *out)
{
    static char paths[64][512];
    static int next;
    char *path = paths[next++ % 64];
    char cmd[2048];
    snprintf(path, 512, "%s/%s", tmpdir, out);
    if (access(path, R_OK) == 0)
        return path;
    snprintf(cmd, sizeof cmd, "%s -c -g0 %s %s/%s -o %s 2>&1", cc, flags, dir, src, path);
    assert_true(run(cmd));
    return path;
}

static const char *build(const char *cc, const char *flags, const char *src, const char *out)
{
    return build_at(cc, flags, HP_SOURCE_DIR "/tests/fixtures/objlink_formats", src, out);
}

/* Write text to tmpdir/name and compile it into tmpdir/name.o. */
static const char *build_text(const char *cc, const char *flags, const char *name,
                              const char *text)
{
    FILE *f = fopen(tmp_path(name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    char out[128];
    snprintf(out, sizeof out, "%s.o", name);
    return build_at(cc, flags, tmpdir, name, out);
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hp_objfmt_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s -c -x c /dev/null -o %s/probe.o >/dev/null 2>&1", MINGW, tmpdir);
    have_mingw = system(cmd) == 0;
    snprintf(cmd, sizeof cmd, "%s -c -x c /dev/null -o %s/probe.o >/dev/null 2>&1", CLANG_COFF,
             tmpdir);
    have_clang_coff = system(cmd) == 0;
    snprintf(cmd, sizeof cmd, "%s -c -x c /dev/null -o %s/probe.o >/dev/null 2>&1", CLANG_MACHO,
             tmpdir);
    have_clang_macho = system(cmd) == 0;
    if (!have_mingw || !have_clang_macho)
        print_message("mingw %d, clang COFF %d, clang Mach-O %d: missing ones are skipped\n",
                      have_mingw, have_clang_coff, have_clang_macho);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- linking into an edit ------------------------------------------- */

typedef struct lookup_ctx {
    struct {
        const char *name;
        uint64_t va;
    } v[16];
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
    c->v[c->n].name = name;
    c->v[c->n++].va = va;
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

static hp_status lk_add_mem(lk *k, const uint8_t *p, size_t n)
{
    size_t obj;
    return hp_objlink_add_mem(k->l, "mem.o", p, n, NULL, &k->d, &obj);
}

static void fill(hp_buf *b, size_t n, uint8_t v)
{
    if (!n)
        return;
    assert_int_equal(hp_buf_append_zeros(b, n), HP_OK);
    memset(b->data, v, n);
}

/* Measure, then set up the regions as objlink.h asks: text at text_va,
 * rodata and data on the following pages. */
static void lk_layout(lk *k, uint64_t text_va)
{
    assert_int_equal(hp_objlink_measure(k->l, 0, k->size, NULL), HP_OK);
    hp_region *t = &k->ed.regions[HP_REGION_TEXT], *r = &k->ed.regions[HP_REGION_RODATA],
              *w = &k->ed.regions[HP_REGION_DATA];
    t->va = text_va;
    fill(&t->bytes, k->size[HP_REGION_TEXT], 0x90);
    t->mem_size = t->bytes.len;
    r->va = hp_align_up(t->va + t->mem_size, PAGE);
    fill(&r->bytes, k->size[HP_REGION_RODATA], 0xee);
    r->mem_size = r->bytes.len;
    w->va = hp_align_up(r->va + r->mem_size + 1, PAGE);
    fill(&w->bytes, hp_objlink_data_filesz(k->l), 0xee);
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

static bool in_region(const hp_edit *ed, int r, uint64_t va)
{
    const hp_region *g = &ed->regions[r];
    return va >= g->va && va < g->va + g->mem_size;
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
    assert_true(s->size > 0);
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

static const hp_insn *branch_to(const insns *is, uint64_t target)
{
    for (size_t i = 0; i < is->n; i++)
        if (is->v[i].has_target && !is->v[i].rip_rel && is->v[i].target_va == target)
            return &is->v[i];
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

/* The first RIP-relative operand of a function. */
static uint64_t first_mem(const insns *is)
{
    for (size_t i = 0; i < is->n; i++)
        if (is->v[i].rip_rel)
            return is->v[i].mem_va;
    fail_msg("no RIP-relative operand");
    return 0;
}

/* ---- formats and addresses ------------------------------------------ */

typedef struct variant {
    const char *cc, *flags;
    bool macho;
} variant;

static const variant variants[] = {
    {MINGW, "-O0", false},
    {MINGW, "-O2", false},
    {MINGW, "-O2 -ffunction-sections -fdata-sections", false},
    {CLANG_COFF, "-O0", false},
    {CLANG_COFF, "-O2", false},
    {CLANG_MACHO, "-O0", true},
    {CLANG_MACHO, "-O1", true},
    {CLANG_MACHO, "-O2", true},
    {CLANG_MACHO, "-Os", true},
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

static bool variant_ok(const variant *v)
{
    if (v->macho)
        return have_clang_macho;
    return !strcmp(v->cc, MINGW) ? have_mingw : have_clang_coff;
}

/* The "binary": an image base, a page of jump thunks at +0x1000 (real_add,
 * puts), a variable at +0x2000 (ext_counter); the new regions after them. */
#define PE_BASE 0x140000000ull
#define MACHO_BASE 0x100000000ull
#define THUNKS 0x1000ull
#define THUNK_ADD 0x0ull
#define THUNK_PUTS 0x10ull
#define EXT_OFF 0x2000ull
#define TEXT_OFF 0x12010ull /* 16-aligned, deliberately not 64-aligned */

static uint64_t base_of(bool macho) { return macho ? MACHO_BASE : PE_BASE; }

/* The object's spelling of C name c. */
static const char *cname(bool macho, const char *c)
{
    static char bufs[8][64];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 64, "%s%s", macho ? "_" : "", c);
    return b;
}

/* Link obj files at the format's addresses; lookups see puts and
 * ext_counter in the object's spelling. */
static void link_at(lk *k, bool macho, bool pic, lookup_ctx *c, uint64_t base)
{
    assert_int_equal(hp_objlink_bind(k->l, "real_add", base + THUNKS + THUNK_ADD), HP_OK);
    provide(c, macho ? "_puts" : "puts", base + THUNKS + THUNK_PUTS);
    provide(c, macho ? "_ext_counter" : "ext_counter", base + EXT_OFF);
    lk_layout(k, base + TEXT_OFF);
    hp_status s = lk_emit(k, pic, c);
    if (s != HP_OK)
        hp_diags_print(&k->d, stderr);
    assert_int_equal(s, HP_OK);
}

/* ---- byte checks of mock.c ------------------------------------------ */

/* A RIP-relative load of a data slot that holds `holds` (a GOT slot or a
 * mingw .refptr cell), rebased iff pic. */
static void expect_slot(const hp_edit *ed, const insns *is, uint64_t holds, bool pic)
{
    bool seen = false;
    for (size_t i = 0; i < is->n; i++) {
        const uint8_t *p = is->v[i].rip_rel ? at_va(ed, is->v[i].mem_va, 8) : NULL;
        if (!p || hp_rd64(p) != holds || !in_region(ed, HP_REGION_DATA, is->v[i].mem_va))
            continue;
        assert_int_equal(has_abs(ed, is->v[i].mem_va), pic);
        seen = true;
    }
    assert_true(seen);
}

/* names[] = {"alpha", "beta"}: two pointers (rebased in a PIC output), or
 * (clang -O2) two offsets from the table. */
static void check_names(const hp_edit *ed, bool macho, bool pic)
{
    uint64_t names[2] = {find_once(ed, "alpha", 6), find_once(ed, "beta", 5)};
    int hits;
    uint64_t table = find_bytes(ed, names, sizeof names, &hits);
    if (hits) {
        assert_int_equal(hits, 1);
        assert_int_equal(has_abs(ed, table) && has_abs(ed, table + 8), pic);
        assert_true(in_region(ed, HP_REGION_DATA, table)); /* rebased: writable */
        return;
    }
    insns is;
    decode_fn(ed, cname(macho, "mock_name"), &is);
    uint64_t t = first_mem(&is);
    const uint8_t *p = at_va(ed, t, 8);
    assert_non_null(p);
    assert_int_equal(t + (uint64_t)(int32_t)hp_rd32(p), names[0]);
    assert_int_equal(t + (uint64_t)(int32_t)hp_rd32(p + 4), names[1]);
}

static void check_mock(lk *k, size_t obj, bool macho, bool pic, const lookup_ctx *c)
{
    const hp_edit *ed = &k->ed;
    uint64_t base = base_of(macho);
    insns is;
    uint64_t mock_add = symva(k, obj, "mock_add");
    assert_int_equal(symva(k, obj, cname(macho, "mock_add")), mock_add);
    assert_int_equal(edsym(ed, cname(macho, "mock_add"))->va, mock_add);
    assert_true(in_region(ed, HP_REGION_TEXT, mock_add));
    decode_fn(ed, cname(macho, "mock_add"), &is);
    assert_non_null(branch_to(&is, base + THUNKS + THUNK_ADD)); /* the original */
    decode_fn(ed, cname(macho, "mock_say"), &is);
    assert_non_null(branch_to(&is, base + THUNKS + THUNK_PUTS));
    assert_true(was_asked(c, macho ? "_puts" : "puts"));
    decode_fn(ed, cname(macho, "mock_calls"), &is); /* static state in the data region */
    assert_true(in_region(ed, HP_REGION_DATA, first_mem(&is)));
    size_t i;
    decode_fn(ed, cname(macho, "mock_ext"), &is);
    if (mem_ref(&is, base + EXT_OFF, &i)) /* Mach-O GOT_LOAD relaxed: mov -> lea */
        assert_int_equal(is.bytes[i][is.v[i].len - 6], 0x8d);
    else /* a GOT slot (Mach-O) or a .refptr cell (mingw) */
        expect_slot(ed, &is, base + EXT_OFF, pic);
    check_names(ed, macho, pic);
    uint64_t ops[2] = {base + THUNKS + THUNK_ADD, mock_add};
    uint64_t optab = find_once(ed, ops, sizeof ops);
    assert_int_equal(has_abs(ed, optab) && has_abs(ed, optab + 8), pic);
    if (!pic)
        assert_int_equal(ed->nabs_ptrs, 0);
    for (size_t n = 0; n < ed->nabs_ptrs; n++) /* every rebased pointer is writable */
        assert_true(in_region(ed, HP_REGION_DATA, ed->abs_ptrs[n]));
}

/* ---- execution ------------------------------------------------------ */

typedef struct world {
    struct {
        void *p;
        size_t len;
    } m[8];
    size_t n;
} world;

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
    w->m[w->n].p = p;
    w->m[w->n++].len = end - start;
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

/* The binary's functions, in the ABI of the object's platform. */
static int sysv_real_add(int a, int b) { return a * 10 + b; }
__attribute__((ms_abi)) static int ms_real_add(int a, int b) { return a * 10 + b; }
static char host_said[64];
static int sysv_puts(const char *s)
{
    snprintf(host_said, sizeof host_said, "%s", s);
    return 1;
}
__attribute__((ms_abi)) static int ms_puts(const char *s) { return sysv_puts(s); }

static bool map_binary(world *w, uint64_t base, bool macho, int ext_value)
{
    uint8_t page[32] = {0};
    const void *targets[] = {macho ? (void *)sysv_real_add : (void *)ms_real_add,
                             macho ? (void *)sysv_puts : (void *)ms_puts};
    for (int i = 0; i < 2; i++) {
        memcpy(page + 16 * i, "\xff\x25\x00\x00\x00\x00", 6); /* jmp [rip]; .quad */
        hp_wr64(page + 16 * i + 6, (uint64_t)(uintptr_t)targets[i]);
    }
    return map_at(w, base + THUNKS, page, sizeof page, sizeof page, PROT_READ | PROT_EXEC) &&
           map_at(w, base + EXT_OFF, &ext_value, sizeof ext_value, 4, PROT_READ | PROT_WRITE);
}

/* Map the regions delta above their link VAs and rebase the recorded
 * absolute pointers as the loader would. */
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
    for (size_t i = 0; i < ed->nabs_ptrs; i++) {
        uint8_t *p = (uint8_t *)(uintptr_t)(ed->abs_ptrs[i] + delta);
        hp_wr64(p, hp_rd64(p) + delta);
    }
    return true;
}

/* Map the binary and the regions delta above their link addresses. The
 * realistic image bases (4 and 5 GiB) lie in AddressSanitizer's shadow gap:
 * a PIC link may then run in high memory instead (*delta moves there). */
#define HIGH_BASE 0x7e0000000000ull
static bool map_world(world *w, const hp_edit *ed, bool macho, bool pic, uint64_t *delta,
                      int ext)
{
    for (int tries = 0; tries < 2; tries++) {
        if (map_binary(w, base_of(macho) + *delta, macho, ext) && map_edit(w, ed, *delta))
            return true;
        unmap_all(w);
        if (!pic)
            break;
        *delta += HIGH_BASE - base_of(macho);
    }
    print_message("cannot map at 0x%llx: %s; skipping the run\n",
                  (unsigned long long)(base_of(macho) + *delta), strerror(errno));
    return false;
}

/* Calls in the object's ABI. */
typedef struct fn {
    uint64_t va;
    bool ms;
} fn;

static fn fn_of(lk *k, size_t obj, bool macho, const char *name, uint64_t delta)
{
    return (fn){symva(k, obj, name) + delta, !macho};
}

typedef int64_t (*sysv4)(int64_t, int64_t, int64_t);
typedef __attribute__((ms_abi)) int64_t (*ms4)(int64_t, int64_t, int64_t);

/* One function per ABI: in a single function with both calls, GCC 12 -O2
 * merged the two (the casts between function pointer types look useless to
 * it) and called ms_abi code with SysV registers. */
__attribute__((noinline)) static int64_t call_ms(uint64_t va, int64_t a, int64_t b, int64_t c)
{
    return ((ms4)(uintptr_t)va)(a, b, c);
}

__attribute__((noinline)) static int64_t call_sysv(uint64_t va, int64_t a, int64_t b,
                                                   int64_t c)
{
    return ((sysv4)(uintptr_t)va)(a, b, c);
}

static int64_t call3(fn f, int64_t a, int64_t b, int64_t c)
{
    return f.ms ? call_ms(f.va, a, b, c) : call_sysv(f.va, a, b, c);
}

static int call_i(fn f, int64_t a, int64_t b, int64_t c) { return (int)call3(f, a, b, c); }

static void run_mock(lk *k, size_t obj, bool macho, uint64_t delta, int *ext)
{
    fn add = fn_of(k, obj, macho, "mock_add", delta);
    fn calls = fn_of(k, obj, macho, "mock_calls", delta);
    fn name = fn_of(k, obj, macho, "mock_name", delta);
    fn op = fn_of(k, obj, macho, "mock_op", delta);
    fn say = fn_of(k, obj, macho, "mock_say", delta);
    fn get = fn_of(k, obj, macho, "mock_ext", delta);
    fn bias = fn_of(k, obj, macho, "mock_set_bias", delta);
    fn sw = fn_of(k, obj, macho, "mock_switch", delta);
    assert_int_equal(call_i(calls, 0, 0, 0), 0);
    assert_int_equal(call_i(add, 2, 3, 0), 28);
    assert_int_equal(call_i(add, 1, 1, 0), 16);
    assert_int_equal(call_i(calls, 0, 0, 0), 2); /* state persists across calls */
    assert_string_equal((const char *)(uintptr_t)call3(name, 0, 0, 0), "alpha");
    assert_string_equal((const char *)(uintptr_t)call3(name, 1, 0, 0), "beta");
    assert_int_equal(call_i(op, 0, 2, 3), 23);
    assert_int_equal(call_i(op, 1, 2, 3), 28);
    assert_int_equal(call_i(say, (int64_t)(uintptr_t) "hello", 0, 0), 3);
    assert_string_equal(host_said, "hello");
    assert_int_equal(call_i(get, 0, 0, 0), 1234);
    *ext = 77;
    assert_int_equal(call_i(get, 0, 0, 0), 77);
    call3(bias, 7, 0, 0);
    assert_int_equal(call_i(add, 0, 0, 0), 7);
    static const int want[] = {11, 23, 37, 41, 53, 61, -1, -1};
    for (int x = 0; x < 8; x++)
        assert_int_equal(call_i(sw, x, 0, 0), want[x]);
}

static void mock_variant(size_t v, bool pic, uint64_t delta)
{
    const variant *va = &variants[v];
    char out[64];
    snprintf(out, sizeof out, "mock_v%zu.o", v);
    lk k;
    lk_init(&k);
    size_t obj = lk_add(&k, build(va->cc, va->flags, "mock.c", out));
    assert_true(hp_objlink_defines(k.l, obj, "mock_add"));
    assert_false(hp_objlink_defines(k.l, obj, "names")); /* data, not a function */
    lookup_ctx c = {0};
    link_at(&k, va->macho, pic, &c, base_of(va->macho));
    check_mock(&k, obj, va->macho, pic, &c);
    world w = {0};
    if (map_world(&w, &k.ed, va->macho, pic, &delta, 1234)) {
        run_mock(&k, obj, va->macho, delta, (int *)(uintptr_t)(base_of(va->macho) + delta +
                                                               EXT_OFF));
        unmap_all(&w);
    }
    lk_free(&k);
}

static void test_mock_matrix(void **state)
{
    for (size_t v = 0; v < NVARIANTS; v++) {
        if (!variant_ok(&variants[v]))
            continue;
        print_message("mock.c: %s %s\n", variants[v].cc, variants[v].flags);
        mock_variant(v, true, 0);
        mock_variant(v, true, 0x3000000); /* a PIC image loaded elsewhere */
        mock_variant(v, false, 0);
    }
}

/* ---- Mach-O relocation kinds (macho_asm.s) -------------------------- */

static int64_t rd_s32(const hp_edit *ed, uint64_t va) { return (int32_t)hp_rd32(at_va(ed, va, 4)); }

static void check_macho_asm_bytes(lk *k, size_t obj, bool pic)
{
    const hp_edit *ed = &k->ed;
    uint64_t base = MACHO_BASE, slot = symva(k, obj, "slot"), got = symva(k, obj, "asm_got");
    uint64_t hello = find_once(ed, "hello", 6), world_ = find_once(ed, "world", 6);
    insns is;
    decode_fn(ed, "_asm_signed", &is);
    static const int64_t slot_offs[] = {0, 4, 6, 7, 8, 10};
    for (size_t i = 0; i < 6; i++) /* the immediate after the field is accounted for */
        assert_int_equal(is.v[i].mem_va, slot + slot_offs[i]);
    uint64_t lpriv = is.v[6].mem_va; /* section-relative: the start of __data */
    assert_true(in_region(ed, HP_REGION_DATA, lpriv));
    assert_int_equal(lpriv + 8, slot);
    assert_int_equal(is.v[7].mem_va, lpriv + 4);
    assert_int_equal(is.v[8].mem_va, lpriv + 6);
    assert_int_equal(is.v[9].mem_va, lpriv + 7);
    assert_int_equal(is.v[10].mem_va, slot);
    decode_fn(ed, "_asm_signed_n", &is);
    assert_int_equal(is.v[0].mem_va, slot);  /* SIGNED_2 */
    assert_int_equal(is.v[1].mem_va, slot);  /* SIGNED_1 */
    assert_int_equal(is.v[2].mem_va, lpriv); /* SIGNED_2, non-extern */
    assert_int_equal(is.v[3].mem_va, lpriv); /* SIGNED_1, non-extern */
    decode_fn(ed, "_asm_got", &is); /* GOT_LOAD relaxed to lea: the variable is near */
    assert_int_equal(is.v[0].mem_va, base + EXT_OFF);
    assert_int_equal(is.bytes[0][1], 0x8d);
    decode_fn(ed, "_asm_got_cmp", &is); /* GOT: through a slot */
    expect_slot(ed, &is, base + EXT_OFF, pic);
    assert_int_equal(is.v[1].mem_va, is.v[3].mem_va);
    decode_fn(ed, "_asm_branch", &is);
    assert_non_null(branch_to(&is, base + THUNKS + THUNK_ADD));
    const uint8_t *helper = at_va(ed, is.v[0].target_va, 6);
    assert_non_null(helper);
    assert_memory_equal(helper, "\xb8\x05\x00\x00\x00\xc3", 6); /* Lhelper, another section */
    decode_fn(ed, "_asm_weak", &is); /* the missing weak: slot 0, call to the next insn */
    expect_slot(ed, &is, 0, false);
    uint64_t rtab = symva(k, obj, "rtab"); /* SUBTRACTOR, 32-bit */
    assert_int_equal(rtab + rd_s32(ed, rtab), hello);
    assert_int_equal(rtab + rd_s32(ed, rtab + 4), world_);
    assert_int_equal(rtab + rd_s32(ed, rtab + 8), got);
    assert_int_equal(rtab + 12 + rd_s32(ed, rtab + 12), world_);
    decode_fn(ed, "_asm_reltab", &is); /* SUBTRACTOR, section-relative subtrahend */
    uint64_t lbase = first_mem(&is);
    assert_int_equal(lbase + rd_s32(ed, lbase), hello);
    assert_int_equal(lbase + rd_s32(ed, lbase + 4), got);
    uint64_t ptrs = symva(k, obj, "ptrs"); /* UNSIGNED 64 */
    assert_int_equal(hp_rd64(at_va(ed, ptrs, 8)), hello);
    assert_int_equal(hp_rd64(at_va(ed, ptrs + 8, 8)), got);
    assert_int_equal(hp_rd64(at_va(ed, ptrs + 16, 8)), base + THUNKS + THUNK_ADD + 16);
    for (int i = 0; i < 3; i++)
        assert_int_equal(has_abs(ed, ptrs + 8 * i), pic);
    uint64_t rtab64 = symva(k, obj, "rtab64"); /* SUBTRACTOR, 64-bit: no rebasing */
    assert_int_equal(rtab64 + hp_rd64(at_va(ed, rtab64, 8)), got);
    assert_int_equal(rtab64 + hp_rd64(at_va(ed, rtab64 + 8, 8)), world_);
    assert_false(has_abs(ed, rtab64) || has_abs(ed, rtab64 + 8) || has_abs(ed, rtab));
    assert_true(in_region(ed, HP_REGION_DATA, symva(k, obj, "zbuf")));
}

static void run_macho_asm(lk *k, size_t obj, uint64_t delta)
{
    uint64_t slot = symva(k, obj, "slot") + delta;
    assert_int_equal(call3(fn_of(k, obj, true, "asm_signed", delta), 0, 0, 0),
                     0x7877556611223344ll);
    assert_int_equal(hp_rd64((const uint8_t *)(uintptr_t)(slot + 8)), 0x03040102ull);
    assert_int_equal(hp_rd64((const uint8_t *)(uintptr_t)(slot - 8)), 0x0807050601020304ull);
    assert_int_equal(call3(fn_of(k, obj, true, "asm_signed_n", delta), 0, 0, 0),
                     0x0807050601020507ll);
    assert_int_equal(hp_rd64((const uint8_t *)(uintptr_t)slot), 0x7877556611225577ull);
    assert_int_equal(call_i(fn_of(k, obj, true, "asm_got", delta), 0, 0, 0), 1234);
    assert_int_equal(call_i(fn_of(k, obj, true, "asm_got_cmp", delta), 0, 0, 0), 1235);
    assert_int_equal(call_i(fn_of(k, obj, true, "asm_branch", delta), 1, 2, 0), 62);
    assert_int_equal(call_i(fn_of(k, obj, true, "asm_weak", delta), 0, 0, 0), -1);
    assert_int_equal(call_i(fn_of(k, obj, true, "weak_def", delta), 0, 0, 0), 9);
    const uint64_t *ptrs = (const uint64_t *)(uintptr_t)(symva(k, obj, "ptrs") + delta);
    assert_string_equal((const char *)(uintptr_t)ptrs[0], "hello");
    assert_int_equal(ptrs[1], symva(k, obj, "asm_got") + delta);
}

static void test_macho_asm(void **state)
{
    if (!have_clang_macho)
        skip();
    const char *path = build(CLANG_MACHO, "", "macho_asm.s", "macho_asm.o");
    for (int pic = 1; pic >= 0; pic--) {
        lk k;
        lk_init(&k);
        size_t obj = lk_add(&k, path);
        assert_true(hp_objlink_defines(k.l, obj, "asm_signed"));
        assert_true(hp_objlink_defines(k.l, obj, "weak_def"));
        lookup_ctx c = {0};
        link_at(&k, true, pic, &c, MACHO_BASE);
        assert_true(was_asked(&c, "_weak_missing"));
        check_macho_asm_bytes(&k, obj, pic);
        world w = {0};
        uint64_t delta = pic ? 0x5000000 : 0;
        if (map_world(&w, &k.ed, true, pic, &delta, 1234)) {
            run_macho_asm(&k, obj, delta);
            unmap_all(&w);
        }
        lk_free(&k);
    }
}

/* ---- COFF specifics (coff_asm.S, coff_comdat.S) --------------------- */

static void test_coff_asm(void **state)
{
    if (!have_mingw)
        skip();
    const char *a = build(MINGW, "", "coff_asm.S", "coff_asm.o");
    const char *b = build(MINGW, "", "coff_comdat.S", "coff_comdat.o");
    lk k;
    lk_init(&k);
    size_t oa = lk_add(&k, a), ob = lk_add(&k, b);
    assert_true(hp_objlink_defines(k.l, oa, "weak_default"));
    assert_false(hp_objlink_defines(k.l, oa, "_asm_imm")); /* no underscore games */
    lookup_ctx c = {0};
    link_at(&k, false, true, &c, PE_BASE);
    assert_true(was_asked(&c, "weak_missing"));
    const hp_edit *ed = &k.ed;
    uint64_t shared = symva(&k, oa, "shared_fn");
    assert_int_equal(symva(&k, ob, "shared_fn"), shared); /* the first copy wins */
    assert_memory_equal(at_va(ed, shared, 6), "\xb8\x01\x00\x00\x00\xc3", 6);
    insns is;
    decode_fn(ed, "asm_use_shared", &is);
    assert_non_null(branch_to(&is, shared));
    uint64_t tab = first_mem(&is);
    decode_fn(ed, "asm_use_shared_b", &is);
    assert_non_null(branch_to(&is, shared));
    assert_int_equal(first_mem(&is), tab); /* one shared_tab */
    assert_int_equal(hp_rd64(at_va(ed, tab, 8)), shared);
    assert_true(has_abs(ed, tab));
    assert_null(edsym(ed, ".weak.weak_default.shared_fn"));
    decode_fn(ed, "asm_imm", &is);
    uint64_t slot = is.v[0].mem_va;
    assert_int_equal(is.v[1].mem_va, slot + 4);
    assert_int_equal(is.v[2].mem_va, slot + 6);
    assert_int_equal(is.v[3].mem_va, slot);
    decode_fn(ed, "asm_long_name", &is);
    assert_int_equal(hp_rd32(at_va(ed, first_mem(&is), 4)), 7);
    world w = {0};
    uint64_t dl = 0;
    if (map_world(&w, ed, false, true, &dl, 1234)) {
        assert_int_equal(call_i(fn_of(&k, oa, false, "asm_use_shared", dl), 0, 0, 0), 1);
        assert_int_equal(call_i(fn_of(&k, ob, false, "asm_use_shared_b", dl), 0, 0, 0), 1);
        assert_int_equal(call_i(fn_of(&k, oa, false, "asm_weak_call", dl), 0, 0, 0), -1);
        assert_int_equal(call_i(fn_of(&k, oa, false, "weak_default", dl), 0, 0, 0), 9);
        assert_int_equal(call3(fn_of(&k, oa, false, "asm_imm", dl), 0, 0, 0), 0x77556611223344);
        assert_int_equal(call_i(fn_of(&k, oa, false, "asm_long_name", dl), 0, 0, 0), 7);
        unmap_all(&w);
    }
    lk_free(&k);
}

/* ---- hand-built COFF: REL32_1..5, ADDR32, and malformed variants ----- */

typedef struct coff_rel {
    uint32_t off, sym;
    uint16_t type;
} coff_rel;

typedef struct coff_spec {
    uint8_t text[64];
    uint8_t data[16];
    coff_rel trel[10], drel[2];
    size_t ntrel, ndrel;
} coff_spec;

static void put_sym(uint8_t *p, const char *name, uint32_t value, uint16_t sec, uint16_t type,
                    uint8_t cls, uint8_t naux)
{
    memset(p, 0, 18);
    memcpy(p, name, strnlen(name, 8));
    hp_wr32(p + 8, value);
    hp_wr16(p + 12, sec);
    hp_wr16(p + 14, type);
    p[16] = cls;
    p[17] = naux;
}

/* header | 2 section headers | .text | .data | relocs | 4 symbols | strtab.
 * Symbols: 0 "f" (global function at .text+0), 1 "d" (static, .data+4),
 * 2 "ext" (undefined), 3 "a_long_symbol_name" (global, .text+32). */
static size_t coff_build(const coff_spec *s, uint8_t *out)
{
    memset(out, 0, 1024);
    size_t text_off = 20 + 80, data_off = text_off + 64, trel_off = data_off + 16;
    size_t drel_off = trel_off + 10 * s->ntrel, sym_off = drel_off + 10 * s->ndrel;
    hp_wr16(out, 0x8664);
    hp_wr16(out + 2, 2);
    hp_wr32(out + 8, (uint32_t)sym_off);
    hp_wr32(out + 12, 4);
    uint8_t *h = out + 20;
    memcpy(h, ".text", 5);
    hp_wr32(h + 16, 64);
    hp_wr32(h + 20, (uint32_t)text_off);
    hp_wr32(h + 24, (uint32_t)trel_off);
    hp_wr16(h + 32, (uint16_t)s->ntrel);
    hp_wr32(h + 36, 0x60500020); /* code, execute, read, align 16 */
    h += 40;
    memcpy(h, ".data", 5);
    hp_wr32(h + 16, 16);
    hp_wr32(h + 20, (uint32_t)data_off);
    hp_wr32(h + 24, (uint32_t)drel_off);
    hp_wr16(h + 32, (uint16_t)s->ndrel);
    hp_wr32(h + 36, 0xc0400040); /* initialized data, read/write, align 8 */
    memcpy(out + text_off, s->text, 64);
    memcpy(out + data_off, s->data, 16);
    for (size_t i = 0; i < s->ntrel + s->ndrel; i++) {
        const coff_rel *r = i < s->ntrel ? &s->trel[i] : &s->drel[i - s->ntrel];
        uint8_t *p = out + trel_off + 10 * i;
        hp_wr32(p, r->off);
        hp_wr32(p + 4, r->sym);
        hp_wr16(p + 8, r->type);
    }
    uint8_t *sy = out + sym_off;
    put_sym(sy, "f", 0, 1, 0x20, 2, 0);
    put_sym(sy + 18, "d", 4, 2, 0, 3, 0);
    put_sym(sy + 36, "ext", 0, 0, 0x20, 2, 0);
    put_sym(sy + 54, "", 32, 1, 0x20, 2, 0);
    hp_wr32(sy + 54 + 4, 4); /* long name at string table offset 4 */
    uint8_t *st = sy + 72;
    static const char longname[] = "a_long_symbol_name";
    hp_wr32(st, 4 + sizeof longname);
    memcpy(st + 4, longname, sizeof longname);
    return (size_t)(st + 4 + sizeof longname - out);
}

static void coff_spec_rel32(coff_spec *s)
{
    memset(s, 0, sizeof *s);
    /* REL32 .. REL32_5 against d and ext, implicit addends 0 and 0x10. */
    for (uint16_t n = 0; n < 6; n++) {
        s->trel[s->ntrel++] = (coff_rel){n * 4, n % 2 ? 2 : 1, (uint16_t)(4 + n)};
        if (n == 2)
            hp_wr32(s->text + n * 4, 0x10);
    }
    hp_wr32(s->text + 24, 3); /* ADDR32 d+3 */
    s->trel[s->ntrel++] = (coff_rel){24, 1, 2};
    s->trel[s->ntrel++] = (coff_rel){28, 1, 0}; /* ABSOLUTE: ignored */
    s->drel[s->ndrel++] = (coff_rel){8, 3, 1};  /* ADDR64 a_long_symbol_name */
}

static void test_coff_handmade(void **state)
{
    coff_spec s;
    coff_spec_rel32(&s);
    static uint8_t obj[1024];
    size_t n = coff_build(&s, obj);
    lk k;
    lk_init(&k);
    assert_int_equal(lk_add_mem(&k, obj, n), HP_OK);
    assert_true(hp_objlink_defines(k.l, 0, "f"));
    assert_true(hp_objlink_defines(k.l, 0, "a_long_symbol_name"));
    lookup_ctx c = {0};
    provide(&c, "ext", 0x10001000);
    lk_layout(&k, 0x10010000); /* below 4 GiB: ADDR32 must fit */
    assert_int_equal(lk_emit(&k, false, &c), HP_OK);
    uint64_t text = symva(&k, 0, "f"), d = symva(&k, 0, "d");
    assert_int_equal(text, 0x10010000);
    assert_true(in_region(&k.ed, HP_REGION_DATA, d));
    for (int i = 0; i < 6; i++) { /* target - (P + 4 + N) */
        uint64_t P = text + 4 * i, S = i % 2 ? 0x10001000 : d;
        int64_t A = i == 2 ? 0x10 : 0;
        assert_int_equal(rd_s32(&k.ed, P), (int64_t)(S + A - (P + 4 + i)));
    }
    assert_int_equal(hp_rd32(at_va(&k.ed, text + 24, 4)), (uint32_t)(d + 3));
    assert_int_equal(hp_rd64(at_va(&k.ed, d - 4 + 8, 8)), text + 32);
    lk_free(&k);
    /* ADDR32 cannot follow a PIC image. */
    lk_init(&k);
    assert_int_equal(lk_add_mem(&k, obj, n), HP_OK);
    lk_layout(&k, 0x10010000);
    assert_int_equal(lk_emit(&k, true, &c), HP_ERR_LINK);
    assert_true(diag_has(&k.d, "R_X86_64_32", "position-independent"));
    lk_free(&k);
}

/* Load bytes that must be refused or rejected: an error with a message,
 * never a crash. Returns the status. */
static hp_status load_bad(const uint8_t *p, size_t n, const char *want)
{
    lk k;
    lk_init(&k);
    hp_status s = lk_add_mem(&k, p, n);
    if (want && !diag_has(&k.d, want, NULL)) {
        hp_diags_print(&k.d, stderr);
        fail_msg("expected a diagnostic containing '%s'", want);
    }
    if (s != HP_OK)
        assert_true(k.d.errors > 0);
    lk_free(&k);
    return s;
}

static void test_coff_malformed(void **state)
{
    coff_spec s;
    static uint8_t obj[1024], bad[1024];
    coff_spec_rel32(&s);
    size_t n = coff_build(&s, obj);
    for (size_t len = 0; len < n; len++) /* every truncation */
        load_bad(obj, len, NULL);
    struct {
        size_t off;
        uint32_t v;
        unsigned width;
        const char *want;
    } muts[] = {
        {8, 0xfffff000, 4, "symbol table out of bounds"},
        {12, 0x10000000, 4, "symbol table out of bounds"},
        {2, 0x100, 2, "section table out of bounds"},
        {20 + 20, 0xfffffff0, 4, "contents out of bounds"},          /* .text raw pointer */
        {20 + 24, 0xfffffff0, 4, "relocations out of bounds"},       /* .text relocs */
        {20 + 36, 0x60f00020, 4, "invalid alignment"},
        {20 + 36, 0x60e00020, 4, "larger than a page"},              /* 8 KiB */
        {20, 0x3939392f, 4, "name out of bounds"},                   /* "/999" */
        {0, 0x14c, 2, "i386"},
        {16, 0xf0, 2, "optional header"},
    };
    for (size_t i = 0; i < sizeof muts / sizeof muts[0]; i++) {
        memcpy(bad, obj, n);
        if (muts[i].width == 2)
            hp_wr16(bad + muts[i].off, (uint16_t)muts[i].v);
        else
            hp_wr32(bad + muts[i].off, muts[i].v);
        assert_int_not_equal(load_bad(bad, n, muts[i].want), HP_OK);
    }
    /* Relocation and symbol records: find them from the header. */
    uint32_t trel = hp_rd32(obj + 20 + 24), sym = hp_rd32(obj + 8);
    struct {
        size_t off;
        uint32_t v;
        unsigned width;
        const char *want;
    } more[] = {
        {trel + 4, 99, 4, "symbol index 99 out of range"},
        {trel, 62, 4, "outside the section"},
        {trel + 8, 0xb, 2, "IMAGE_REL_AMD64_SECREL"},
        {trel + 8, 0x3, 2, "ADDR32NB"},
        {trel + 8, 0x77, 2, "unknown relocation type"},
        {sym + 12, 9, 2, "section number 9 out of range"},
        {sym + 17, 9, 1, "auxiliary records run past"},
        {sym + 36 + 8, 4, 4, "COMMON"},                 /* ext with a value */
        {sym + 54 + 4, 5000, 4, "name out of bounds"},  /* long name offset */
        {sym + 72, 0xffffff, 4, "string table out of bounds"},
        {sym + 36 + 16, 103, 1, "storage class 103"},   /* ext becomes a FILE record */
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        memcpy(bad, obj, n);
        if (more[i].width == 1)
            bad[more[i].off] = (uint8_t)more[i].v;
        else if (more[i].width == 2)
            hp_wr16(bad + more[i].off, (uint16_t)more[i].v);
        else
            hp_wr32(bad + more[i].off, more[i].v);
        assert_int_not_equal(load_bad(bad, n, more[i].want), HP_OK);
    }
    /* A relocation naming an auxiliary record; a weak external whose tag is
     * out of range. */
    memcpy(bad, obj, n);
    bad[sym + 17] = 1; /* "f" gets an aux record: symbol 1 ("d") becomes it */
    assert_int_not_equal(load_bad(bad, n, "auxiliary symbol record"), HP_OK);
    memcpy(bad, obj, n);
    bad[sym + 18 + 16] = 105; /* "d" becomes a weak external with an aux record */
    bad[sym + 18 + 17] = 1;
    hp_wr32(bad + sym + 36, 77);
    assert_int_not_equal(load_bad(bad, n, "default symbol 77 out of range"), HP_OK);
    /* Byte flips over the headers and tables never crash. */
    for (size_t off = 0; off < n; off++)
        for (int v = 0; v < 4; v++) {
            static const uint8_t vals[] = {0x00, 0xff, 0x80, 0x01};
            memcpy(bad, obj, n);
            bad[off] = vals[v];
            load_bad(bad, n, NULL);
        }
}

/* ---- Mach-O malformed ----------------------------------------------- */

/* Offsets of interesting fields in a real Mach-O object. */
typedef struct macho_map {
    size_t seg, sect0, symtab, symoff, reloff;
    uint32_t nsects, nsyms;
} macho_map;

static void macho_find(const uint8_t *p, macho_map *m)
{
    memset(m, 0, sizeof *m);
    size_t off = 32;
    for (uint32_t i = 0; i < hp_rd32(p + 16); i++) {
        uint32_t cmd = hp_rd32(p + off), size = hp_rd32(p + off + 4);
        if (cmd == 0x19) {
            m->seg = off;
            m->sect0 = off + 72;
            m->nsects = hp_rd32(p + off + 64);
        }
        if (cmd == 0x2) {
            m->symtab = off;
            m->symoff = hp_rd32(p + off + 8);
            m->nsyms = hp_rd32(p + off + 12);
        }
        off += size;
    }
    for (uint32_t k = 0; k < m->nsects && !m->reloff; k++)
        if (hp_rd32(p + m->sect0 + 80 * k + 60)) /* the first section with relocations */
            m->reloff = hp_rd32(p + m->sect0 + 80 * k + 56);
    assert_true(m->seg && m->symtab && m->reloff);
}

static void test_macho_malformed(void **state)
{
    if (!have_clang_macho)
        skip();
    blob f = read_file(build(CLANG_MACHO, "-O2", "mock.c", "mock_mal.o"));
    uint8_t *obj = f.data;
    size_t n = f.size;
    uint8_t *bad = malloc(n);
    for (size_t len = 0; len < n; len++)
        load_bad(obj, len, NULL);
    macho_map m;
    macho_find(obj, &m);
    size_t s0 = m.sect0, r0 = m.reloff, y0 = m.symoff;
    struct {
        size_t off;
        uint32_t v;
        unsigned width;
        const char *want;
    } muts[] = {
        {16, 1000, 4, "out of bounds"},                     /* ncmds */
        {20, 0x7fffffff, 4, "load commands out of bounds"},  /* sizeofcmds */
        {36, 0, 4, "bad size"},                              /* first cmdsize */
        {m.seg + 64, 1000, 4, "malformed LC_SEGMENT_64"},
        {s0 + 48, 0x7ffffff0, 4, "contents out of bounds"},
        {s0 + 52, 64, 4, "alignment 2^64"},
        {s0 + 52, 13, 4, "larger than a page"},
        {s0 + 64, 0x80000008, 4, "section type 0x8"},        /* S_SYMBOL_STUBS */
        {s0 + 64, 0x80000009, 4, "constructors"},            /* S_MOD_INIT_FUNC_POINTERS */
        {s0 + 64, 0x80000011, 4, "thread-local"},
        {s0 + 56, 0x7ffffff0, 4, "relocations out of bounds"},
        {m.symtab + 8, 0x7ffffff0, 4, "symbol table out of bounds"},
        {m.symtab + 20, 0x7ffffff0, 4, "symbol table out of bounds"},
        {y0, 0x7ffffff0, 4, "name out of bounds"},
        {r0 + 4, 0x1d000000 | 0xffffff, 4, "out of range"},  /* SIGNED, extern 0xffffff */
        {r0 + 4, 0x15000000 | 0xffffff, 4, "ordinal"},       /* SIGNED, section 0xffffff */
        {r0, 0x7ffffff0, 4, "outside the section"},
        {r0, 0x80000000, 4, "scattered"},
        {r0 + 4, 0x9d000000 | 1, 4, "X86_64_RELOC_TLV"},
        {r0 + 4, 0xfd000000 | 1, 4, "unknown relocation type 15"},
        {r0 + 4, 0x0d000000 | 1, 4, "UNSIGNED with length 4, pc-relative"},
        {r0 + 4, 0x2b000000 | 1, 4, "BRANCH with length 2, pc-relative"},
        {r0 + 4, 0x5c000000 | 1, 4, "without its UNSIGNED pair"}, /* a lone SUBTRACTOR */
        {4, 0x0100000c, 4, "arm64"},
        {12, 2, 4, "file type 2"},
        {0, 0xfeedface, 4, "64-bit little-endian"},
        {0, 0xbebafeca, 4, "universal"},
    };
    for (size_t i = 0; i < sizeof muts / sizeof muts[0]; i++) {
        memcpy(bad, obj, n);
        if (muts[i].width == 1)
            bad[muts[i].off] = (uint8_t)muts[i].v;
        else
            hp_wr32(bad + muts[i].off, muts[i].v);
        assert_int_not_equal(load_bad(bad, n, muts[i].want), HP_OK);
    }
    /* Symbols: a bad section number, an address outside its section, a
     * COMMON symbol, an indirect one. */
    for (uint32_t i = 0; i < m.nsyms; i++) {
        const uint8_t *nl = obj + y0 + 16 * i;
        if ((nl[4] & 0x0e) != 0x0e)
            continue;
        memcpy(bad, obj, n);
        bad[y0 + 16 * i + 5] = 200;
        assert_int_not_equal(load_bad(bad, n, "section 200 out of range"), HP_OK);
        memcpy(bad, obj, n);
        hp_wr64(bad + y0 + 16 * i + 8, 0x7fffffff);
        assert_int_not_equal(load_bad(bad, n, "outside its section"), HP_OK);
        memcpy(bad, obj, n);
        bad[y0 + 16 * i + 4] = 0x01; /* N_UNDF | N_EXT, value != 0 */
        hp_wr64(bad + y0 + 16 * i + 8, 16);
        assert_int_not_equal(load_bad(bad, n, "COMMON"), HP_OK);
        memcpy(bad, obj, n);
        bad[y0 + 16 * i + 4] = 0x0b; /* N_INDR | N_EXT */
        assert_int_not_equal(load_bad(bad, n, "indirect"), HP_OK);
        break;
    }
    /* Byte flips over the header, load commands and tables never crash. */
    static const uint8_t vals[] = {0x00, 0xff, 0x80, 0x01, 0x7f};
    for (size_t off = 0; off < n; off++)
        for (int v = 0; v < 5; v++) {
            memcpy(bad, obj, n);
            bad[off] = vals[v];
            load_bad(bad, n, NULL);
        }
    free(bad);
    free(obj);
}

/* ---- refusals compiled from source ---------------------------------- */

static void expect_refused(const char *cc, const char *flags, const char *name,
                           const char *text, const char *want, const char *want2)
{
    const char *path = build_text(cc, flags, name, text);
    lk k;
    lk_init(&k);
    size_t obj;
    hp_status s = hp_objlink_add(k.l, path, NULL, &k.d, &obj);
    if (s == HP_OK || !diag_has(&k.d, want, want2)) {
        hp_diags_print(&k.d, stderr);
        fail_msg("%s: expected a refusal mentioning '%s'", name, want);
    }
    lk_free(&k);
}

static void test_coff_refusals(void **state)
{
    if (!have_mingw)
        skip();
    expect_refused(MINGW, "", "ctor.c",
                   "__attribute__((constructor)) static void init(void) {}\n"
                   "int f(void) { return 1; }\n", ".ctors", "constructors");
    expect_refused(MINGW, "-fcommon", "common.c",
                   "int counter;\nint f(void) { return counter; }\n", "counter", "COMMON");
    expect_refused(MINGW, "", "rva.S", ".text\n.globl f\nf: ret\n.section .rdata,\"dr\"\n.rva f\n",
                   "ADDR32NB", ".rdata");
    expect_refused(MINGW, "", "secrel.S", ".text\n.globl f\nf: ret\n.data\n.secrel32 f\n",
                   "IMAGE_REL_AMD64_SECREL", NULL);
    expect_refused(MINGW, "", "tls.S", ".section .tls$,\"w\"\n.long 1\n", ".tls$",
                   "thread-local");
    expect_refused(MINGW, "-Wa,-mbig-obj", "bigobj.c", "int f(void) { return 1; }\n",
                   "big COFF", NULL);
    /* A PE image passed as an object. */
    char cmd[1024];
    build_text(MINGW, "", "main.c", "int main(void) { return 0; }\n");
    snprintf(cmd, sizeof cmd, "%s -o %s/prog.exe %s/main.c.o", MINGW, tmpdir, tmpdir);
    assert_true(run(cmd));
    lk k;
    lk_init(&k);
    size_t obj;
    snprintf(cmd, sizeof cmd, "%s/prog.exe", tmpdir);
    assert_int_equal(hp_objlink_add(k.l, cmd, NULL, &k.d, &obj), HP_ERR_LINK);
    assert_true(diag_has(&k.d, "PE image", "-c"));
    lk_free(&k);
    /* .drectve directives (here -export:) load with a warning. */
    const char *exp = build_text(MINGW, "", "export.c",
                                 "__declspec(dllexport) int f(void) { return 1; }\n");
    lk_init(&k);
    lk_add(&k, exp);
    assert_true(diag_has(&k.d, "linker directives ignored", "-export:"));
    assert_int_equal(k.d.errors, 0);
    lk_free(&k);
}

static void test_macho_refusals(void **state)
{
    if (!have_clang_macho)
        skip();
    expect_refused(CLANG_MACHO, "", "tlv.c", "__thread int tv;\nint gt(void) { return tv; }\n",
                   "thread-local", NULL);
    expect_refused(CLANG_MACHO, "-fcommon", "mcommon.c",
                   "int counter;\nint f(void) { return counter; }\n", "_counter", "COMMON");
    expect_refused(CLANG_MACHO, "", "mctor.c",
                   "__attribute__((constructor)) void init(void) {}\n", "__mod_init_func",
                   "constructors");
    expect_refused(CLANG_MACHO, "", "cross.s",
                   ".text\n.globl _f\n_f: ret\n.section __TEXT,__const\n.globl _c\n_c: .long 0\n"
                   ".section __DATA,__data\n.globl _d\n_d: .long _f - _c\n",
                   "SUBTRACTOR", "'_c' is not in this section");
    expect_refused(CLANG_MACHO, "", "objc.s",
                   ".section __DATA,__objc_classlist,regular,no_dead_strip\n.quad 0\n",
                   "Objective-C", NULL);
    if (run("clang -target arm64-apple-macos11 -c -x c /dev/null -o /dev/null 2>/dev/null"))
        expect_refused("clang -target arm64-apple-macos11", "", "arm.c",
                       "int f(void) { return 1; }\n", "arm64", NULL);
    /* A 32-bit absolute address: fine at a fixed address, refused in a PIC
     * output; autolinking options load with a warning. */
    const char *abs32 = build_text(CLANG_MACHO, "", "abs32.s",
                                   ".linker_option \"-lfoo\"\n.text\n.globl _f\n_f: ret\n"
                                   ".section __DATA,__data\n.globl _p\n_p: .long _f\n");
    for (int pic = 0; pic < 2; pic++) {
        lk k;
        lk_init(&k);
        size_t obj = lk_add(&k, abs32);
        assert_true(diag_has(&k.d, "linker options ignored", "-lfoo"));
        lookup_ctx c = {0};
        lk_layout(&k, 0x10000010);
        assert_int_equal(lk_emit(&k, pic, &c), pic ? HP_ERR_LINK : HP_OK);
        if (pic)
            assert_true(diag_has(&k.d, "R_X86_64_32", "position-independent"));
        else
            assert_int_equal(hp_rd32(at_va(&k.ed, symva(&k, obj, "p"), 4)), symva(&k, obj, "f"));
        lk_free(&k);
    }
}

/* ---- names: Mach-O underscores, bindings ---------------------------- */

static void test_macho_names(void **state)
{
    if (!have_clang_macho)
        skip();
    const char *path = build(CLANG_MACHO, "-O2", "mock.c", "mock_names.o");
    lk k;
    lk_init(&k);
    size_t obj = lk_add(&k, path);
    assert_true(hp_objlink_defines(k.l, obj, "mock_add"));
    assert_true(hp_objlink_defines(k.l, obj, "_mock_add"));
    assert_false(hp_objlink_defines(k.l, obj, "__mock_add"));
    assert_false(hp_objlink_defines(k.l, obj, "ock_add"));
    /* An explicit binding of the raw spelling wins over the C name's. */
    assert_int_equal(hp_objlink_bind(k.l, "real_add", 0x100001000), HP_OK);
    assert_int_equal(hp_objlink_bind(k.l, "_real_add", 0x100001100), HP_OK);
    lookup_ctx c = {0};
    provide(&c, "_puts", 0x100001200);
    provide(&c, "_ext_counter", 0x100002000);
    lk_layout(&k, MACHO_BASE + TEXT_OFF);
    assert_int_equal(lk_emit(&k, true, &c), HP_OK);
    assert_false(was_asked(&c, "_real_add") || was_asked(&c, "real_add"));
    assert_false(was_asked(&c, "puts"));
    insns is;
    decode_fn(&k.ed, "_mock_add", &is);
    assert_non_null(branch_to(&is, 0x100001100));
    assert_null(edsym(&k.ed, "mock_add")); /* the output keeps the Mach-O spelling */
    lk_free(&k);
    /* Unbound and unknown: the error names the raw symbol. */
    lk_init(&k);
    lk_add(&k, path);
    lookup_ctx none = {0};
    lk_layout(&k, MACHO_BASE + TEXT_OFF);
    assert_int_equal(lk_emit(&k, true, &none), HP_ERR_LINK);
    assert_true(diag_has(&k.d, "undefined symbol '_real_add'", NULL));
    assert_true(diag_has(&k.d, "undefined symbol '_puts'", NULL));
    lk_free(&k);
}

/* ---- allocation failures -------------------------------------------- */

static void nomem_loop(const char *path, bool macho)
{
    for (long n = 0;; n++) {
        lk k;
        lk_init(&k);
        size_t o;
        hp_mem_fail_after(n);
        hp_status s = hp_objlink_add(k.l, path, NULL, &k.d, &o);
        if (s == HP_OK)
            s = hp_objlink_bind(k.l, "real_add", base_of(macho) + THUNKS);
        hp_mem_fail_after(-1);
        if (s == HP_OK) {
            lookup_ctx c = {0};
            provide(&c, macho ? "_puts" : "puts", base_of(macho) + THUNKS + THUNK_PUTS);
            provide(&c, macho ? "_ext_counter" : "ext_counter", base_of(macho) + EXT_OFF);
            lk_layout(&k, base_of(macho) + TEXT_OFF);
            hp_mem_fail_after(n);
            s = hp_objlink_emit(k.l, &k.ed, true, lookup, &c, &k.d);
            hp_mem_fail_after(-1);
        }
        lk_free(&k);
        if (s == HP_OK && n > 10)
            break;
        assert_true(s == HP_OK || s == HP_ERR_NOMEM);
        assert_true(n < 5000);
    }
}

static void test_nomem(void **state)
{
    if (have_mingw)
        nomem_loop(build(MINGW, "-O2", "mock.c", "mock_nomem_coff.o"), false);
    if (have_clang_macho)
        nomem_loop(build(CLANG_MACHO, "-O2", "mock.c", "mock_nomem_macho.o"), true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_matrix),
        cmocka_unit_test(test_macho_asm),
        cmocka_unit_test(test_coff_asm),
        cmocka_unit_test(test_coff_handmade),
        cmocka_unit_test(test_coff_malformed),
        cmocka_unit_test(test_macho_malformed),
        cmocka_unit_test(test_coff_refusals),
        cmocka_unit_test(test_macho_refusals),
        cmocka_unit_test(test_macho_names),
        cmocka_unit_test(test_nomem),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
