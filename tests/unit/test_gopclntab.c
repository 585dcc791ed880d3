/* Unit tests for sections/debug/gopclntab.c, the Go pclntab reader.
 *
 * Two sources of tables:
 *  - real Go binaries, built at test time from tests/fixtures/go/gotab in
 *    four variants (default, stripped, PIE, PIE stripped), for amd64 and
 *    for arm64 (GOARCH=arm64: pc quantum 4), with every Go toolchain
 *    go_toolchains.h lists (Go 1.19 and the current release), and checked
 *    against that toolchain's `go tool nm -size`. Each real-binary test
 *    runs once per architecture ("x86_..." and "a64_..."), and the arm64
 *    builds are also loaded through the ELF backend (hp_image_open). What differs
 *    between versions (how the table spells generic shapes, which section
 *    holds it) is read from the toolchain's own output, not assumed. The
 *    ELF backend is written elsewhere, so a small bounds-checked
 *    section/segment reader below finds the table and builds an hp_image by
 *    hand. Skipped only when no Go is installed.
 *  - synthetic tables for the 1.16, 1.18 and 1.20 layouts, written by the
 *    tiny writer below, with inline trees, a fake moduledata, and every
 *    truncation and header corruption we can think of. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "go_toolchains.h"
#include "sections/debug/gopclntab.h"

#ifndef HP_SOURCE_DIR
#error "HP_SOURCE_DIR must name the source tree"
#endif
#ifndef HP_BINARY_DIR
#error "HP_BINARY_DIR must name the build tree"
#endif

#define GO_WORK HP_BINARY_DIR "/gotab-fixture"
#define GO_FIXTURE HP_SOURCE_DIR "/tests/fixtures/go/gotab"

/* ===================================================================== */
/* Files and ELF                                                         */
/* ===================================================================== */

typedef struct elf_sec {
    uint64_t va, off, size;
} elf_sec;

/* The section that is named `name` (or, with name NULL, holds address
 * `va`) of a little-endian ELF64 file, every read bounds-checked. *found
 * is its name. */
static bool elf_find_section(const blob *b, const char *name, uint64_t va, elf_sec *out,
                             const char **found)
{
    const uint8_t *d = b->data;
    if (b->size < 64 || memcmp(d, "\177ELF", 4) || d[4] != 2 || d[5] != 1)
        return false;
    uint64_t shoff = hp_rd64(d + 0x28);
    uint16_t shentsize = hp_rd16(d + 0x3a), shnum = hp_rd16(d + 0x3c), shstrndx = hp_rd16(d + 0x3e);
    if (shentsize < 64 || shstrndx >= shnum ||
        !hp_in_bounds(shoff, (uint64_t)shnum * shentsize, b->size))
        return false;
    const uint8_t *strsh = d + shoff + (uint64_t)shstrndx * shentsize;
    uint64_t stroff = hp_rd64(strsh + 0x18), strsize = hp_rd64(strsh + 0x20);
    if (!hp_in_bounds(stroff, strsize, b->size) || !strsize || d[stroff + strsize - 1])
        return false;
    for (uint16_t i = 0; i < shnum; i++) {
        const uint8_t *sh = d + shoff + (uint64_t)i * shentsize;
        uint32_t nm = hp_rd32(sh);
        elf_sec s = {hp_rd64(sh + 0x10), hp_rd64(sh + 0x18), hp_rd64(sh + 0x20)};
        if (nm >= strsize || (name ? strcmp((const char *)d + stroff + nm, name) != 0
                                   : !s.va || va < s.va || va - s.va >= s.size))
            continue;
        *out = s;
        if (found)
            *found = (const char *)d + stroff + nm;
        return hp_in_bounds(out->off, out->size, b->size);
    }
    return false;
}

static bool elf_section(const blob *b, const char *name, elf_sec *out)
{
    return elf_find_section(b, name, 0, out, NULL);
}

/* The PT_LOAD segments of an ELF64 file, as hp_image segments. */
static void elf_segments(const blob *b, hp_image *img)
{
    const uint8_t *d = b->data;
    uint64_t phoff = hp_rd64(d + 0x20);
    uint16_t phentsize = hp_rd16(d + 0x36), phnum = hp_rd16(d + 0x38);
    assert_true(phentsize >= 56 && hp_in_bounds(phoff, (uint64_t)phnum * phentsize, b->size));
    for (uint16_t i = 0; i < phnum; i++) {
        const uint8_t *ph = d + phoff + (uint64_t)i * phentsize;
        if (hp_rd32(ph) != 1 /* PT_LOAD */)
            continue;
        uint32_t fl = hp_rd32(ph + 4);
        hp_segment s = {hp_rd64(ph + 0x10), hp_rd64(ph + 0x28), hp_rd64(ph + 8), hp_rd64(ph + 0x20),
                        (fl & 4 ? HP_PROT_R : 0) | (fl & 2 ? HP_PROT_W : 0) |
                            (fl & 1 ? HP_PROT_X : 0)};
        assert_int_equal(hp_image_add_segment(img, &s), HP_OK);
    }
}

/* ===================================================================== */
/* Building the Go fixture and reading `go tool nm`                        */
/* ===================================================================== */

enum { V_DEFAULT, V_STRIP, V_PIE, V_PIE_STRIP, V_COUNT };
static const char *const variant_name[V_COUNT] = {"default", "strip", "pie", "piestrip"};
static const char *const variant_flags[V_COUNT] = {"", "-ldflags='-s -w'", "-buildmode=pie",
                                                   "-buildmode=pie -ldflags='-s -w'"};
static bool g_go_ok[TGO_MAX]; /* the fixture built with tgo_all[i] */
static const tgo *g_go;       /* the toolchain of the running test */
/* The architecture of the running test's binaries: the same four variants
 * are built for amd64 and, in a directory of their own, for arm64. */
static bool g_a64;
static const char *const arch_dir[2] = {"", "a64-"};
static const char *const arch_env[2] = {"GOARCH=amd64 ", "GOARCH=arm64 "};

/* Environment for every go command after the toolchain's own (go_toolchains.h:
 * PATH, GOTOOLCHAIN=local, the version's cache): no network, internal
 * linking. */
#define GO_ENV                                                                                    \
    "GOPATH=" GO_WORK "/gopath GOFLAGS=-mod=mod GO111MODULE=on GOPROXY=off GOWORK=off "          \
    "CGO_ENABLED=0 "

static char *variant_path_of(const tgo *g, bool a64, int v)
{
    static char buf[V_COUNT][512];
    snprintf(buf[v], sizeof buf[v], GO_WORK "/%.15s/%sgotab-%s", g->label, arch_dir[a64],
             variant_name[v]);
    return buf[v];
}

static char *variant_path(int v) { return variant_path_of(g_go, g_a64, v); }

static int go_build_all(void **state)
{
    (void)state;
    mkdir(GO_WORK, 0755);
    for (size_t i = 0; i < tgo_count; i++) {
        const tgo *g = &tgo_all[i];
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "mkdir -p '" GO_WORK "/%.15s'", g->label);
        if (system(cmd) != 0)
            continue;
        bool ok = true;
        for (int k = 0; k < 2 * V_COUNT && ok; k++) {
            int v = k % V_COUNT;
            bool a64 = k >= V_COUNT;
            int n = snprintf(cmd, sizeof cmd, "cd '%s' && %s%s" GO_ENV "go build %s -o '%s' .",
                             GO_FIXTURE, g->env, arch_env[a64], variant_flags[v],
                             variant_path_of(g, a64, v));
            ok = n > 0 && (size_t)n < sizeof cmd && system(cmd) == 0;
            if (!ok) /* g_go_ok stays false: this toolchain's tests fail */
                fprintf(stderr, "%s: go build failed: %s\n", g->label, cmd);
        }
        g_go_ok[i] = ok;
    }
    return 0;
}

/* The running test's toolchain (its state): skip when no Go is installed. */
static void need_go(void **state)
{
    g_go = *state;
    if (!g_go)
        skip();
    assert_true(g_go_ok[g_go - tgo_all]);
}

typedef struct nm_sym {
    uint64_t va, size;
    char type;
    char *name;
} nm_sym;

typedef struct nm_list {
    nm_sym *v;
    size_t n;
} nm_list;

/* `go tool nm -size` of a variant: every symbol, names may hold spaces. */
static nm_list go_nm(int v)
{
    char cmd[4096];
    int n = snprintf(cmd, sizeof cmd, "%s" GO_ENV "go tool nm -size -sort address '%s'", g_go->env,
                     variant_path(v));
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    nm_list l = {0};
    size_t cap = 0;
    char line[4096];
    while (fgets(line, sizeof line, p)) {
        unsigned long long va, size;
        char type;
        int at = 0;
        if (sscanf(line, "%llx %llu %c %n", &va, &size, &type, &at) != 3 || !at)
            continue;
        line[strcspn(line, "\n")] = 0;
        assert_int_equal(HP_GROW(l.v, cap, l.n + 1), HP_OK);
        l.v[l.n++] = (nm_sym){va, size, type, strdup(line + at)};
    }
    assert_int_equal(pclose(p), 0);
    assert_true(l.n > 100);
    return l;
}

static void nm_free(nm_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    hp_free(l->v);
}

static const nm_sym *nm_find(const nm_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name))
            return &l->v[i];
    return NULL;
}

/* Go 1.19's table spells "pkg.G[go.shape.int_0]" as "pkg.G[...]",
 * an assembly function the symbol table calls "pkg.f.abi0" as "pkg.f", and
 * keeps the middle dot the ELF symbol table writes as "." (cmd/link
 * symtab.go: "Rewrite · to . for ASCII-only tools"; Go 1.26 names
 * functions "type:.eq.runtime.untracedG·7"). */
static bool go_name_eq(const char *sym, const char *tab_name)
{
    char tab[4096];
    size_t n = 0;
    for (const char *c = tab_name; *c && n + 1 < sizeof tab; c++) {
        bool dot = (unsigned char)c[0] == 0xc2 && (unsigned char)c[1] == 0xb7;
        tab[n++] = dot ? '.' : *c;
        c += dot;
    }
    tab[n] = 0;
    if (!strncmp(sym, tab, n) && (!sym[n] || !strcmp(sym + n, ".abi0")))
        return true;
    const char *dots = strstr(tab, "[...]");
    if (!dots || strncmp(sym, tab, (size_t)(dots - tab)) || sym[dots - tab] != '[')
        return false;
    const char *close = strrchr(sym, ']');
    return close && !strcmp(close + 1, dots + 5);
}

/* ===================================================================== */
/* Opening real tables                                                     */
/* ===================================================================== */

typedef struct real_tab {
    blob file;
    elf_sec pcln, text;
    hp_gotab t;
} real_tab;

static void real_open(int v, real_tab *r)
{
    r->file = read_file(variant_path(v));
    assert_true(elf_section(&r->file, ".gopclntab", &r->pcln) ||
                elf_section(&r->file, ".data.rel.ro.gopclntab", &r->pcln));
    assert_true(elf_section(&r->file, ".text", &r->text));
    char why[256];
    hp_status s = hp_gotab_open(r->file.data + r->pcln.off, r->pcln.size, r->text.va, NULL, &r->t,
                                why, sizeof why);
    if (s != HP_OK)
        fail_msg("%s: %s", variant_name[v], why);
    assert_true(r->t.layout == HP_GO_118 || r->t.layout == HP_GO_120);
    assert_int_equal(r->t.ptr_size, 8);
    assert_int_equal(r->t.pc_quantum, g_a64 ? 4 : 1);
    assert_true(r->t.nfuncs > 1000);
    assert_int_equal(r->t.text_va, r->text.va); /* internal linking: runtime.text */
}

static void real_close(real_tab *r) { free(r->file.data); }

/* The padding after a function of `size` bytes at `va` whose table bounds
 * end at `end` is only alignment: Go aligns functions to 32 bytes on amd64
 * (16 on arm64, which this bound covers),
 * and an assembly function with PCALIGN $64 (Go 1.26's AVX-512 code in
 * internal/runtime/gc/scan) to 64, so the next one may start up to 63 bytes
 * later. The alignment is read off `end`, the next function's entry. */
static bool only_padding(uint64_t va, uint64_t size, uint64_t end)
{
    uint64_t align = end & (0 - end);
    if (align < 32 || !end)
        align = 32;
    if (align > 64)
        align = 64;
    return end >= va + size && end - (va + size) < align;
}

/* Every function nm lists as T is in the table at the same address, under
 * the same name, and the table's bounds cover nm's size up to the next
 * function's alignment. */
static void check_against_nm(const hp_gotab *t, const nm_list *nm)
{
    size_t checked = 0;
    for (size_t k = 0; k < nm->n; k++) {
        const nm_sym *s = &nm->v[k];
        if (s->type != 'T')
            continue;
        uint64_t i;
        hp_gofunc f;
        if (hp_gotab_find(t, s->va, &i) != HP_OK)
            fail_msg("%s at 0x%llx not found", s->name, (unsigned long long)s->va);
        assert_int_equal(hp_gotab_func(t, i, &f), HP_OK);
        if (f.entry_va != s->va || !go_name_eq(s->name, f.name))
            fail_msg("nm %s at 0x%llx, table %s at 0x%llx", s->name, (unsigned long long)s->va,
                     f.name, (unsigned long long)f.entry_va);
        if (!only_padding(s->va, s->size, f.end_va))
            fail_msg("%s: nm size %llu, table span %llu", s->name, (unsigned long long)s->size,
                     (unsigned long long)(f.end_va - f.entry_va));
        checked++;
    }
    assert_true(checked > 1000);
}

/* Every table function is an nm text symbol: nothing invented. */
static void check_table_in_nm(const hp_gotab *t, const nm_list *nm)
{
    size_t k = 0;
    for (uint64_t i = 0; i < t->nfuncs; i++) {
        hp_gofunc f;
        assert_int_equal(hp_gotab_func(t, i, &f), HP_OK);
        while (k < nm->n && nm->v[k].va < f.entry_va)
            k++;
        bool found = false;
        for (size_t j = k; j < nm->n && nm->v[j].va == f.entry_va && !found; j++)
            found = (nm->v[j].type == 'T' || nm->v[j].type == 't') &&
                    go_name_eq(nm->v[j].name, f.name);
        if (!found)
            fail_msg("table function %s at 0x%llx is not in nm", f.name,
                     (unsigned long long)f.entry_va);
    }
}

static void test_real_default_matches_nm(void **state)
{
    need_go(state);
    real_tab r;
    real_open(V_DEFAULT, &r);
    nm_list nm = go_nm(V_DEFAULT);
    check_against_nm(&r.t, &nm);
    check_table_in_nm(&r.t, &nm);
    /* The fixture's own functions, spelled as the table spells them. */
    static const char *const want[] = {"main.main", "main.(*T).M", "main.F.func1", "main.Small",
                                       "main.apply"};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        const nm_sym *s = nm_find(&nm, want[w]);
        uint64_t i;
        hp_gofunc f;
        assert_non_null(s);
        assert_int_equal(hp_gotab_find(&r.t, s->va + s->size - 1, &i), HP_OK); /* last byte */
        assert_int_equal(hp_gotab_func(&r.t, i, &f), HP_OK);
        assert_string_equal(f.name, want[w]);
    }
    nm_free(&nm);
    real_close(&r);
}

static size_t count_named(const hp_gotab *t, const char *name)
{
    size_t n = 0;
    for (uint64_t i = 0; i < t->nfuncs; i++) {
        hp_gofunc f;
        assert_int_equal(hp_gotab_func(t, i, &f), HP_OK);
        n += !strcmp(f.name, name);
    }
    return n;
}

/* Go 1.19's table spells every instantiation of main.G "main.G[...]"
 * (cmd/link pcln.go, nameParts); later releases (1.26 does) spell each
 * shape in full, as the symbol table does ("main.G[go.shape.int]"). Which
 * one this toolchain wrote is read from the table's own bytes. */
static bool tab_abbreviates_shapes(const real_tab *r)
{
    return memmem(r->file.data + r->pcln.off, r->pcln.size, "main.G[...]", 12) != NULL;
}

/* main.G's instantiations as the symbol table (nm) names them. */
static size_t nm_shapes(const nm_list *nm, const nm_sym **out, size_t max)
{
    size_t n = 0;
    for (size_t k = 0; k < nm->n; k++)
        if (nm->v[k].type == 'T' && !strncmp(nm->v[k].name, "main.G[", 7) && n < max)
            out[n++] = &nm->v[k];
    assert_int_equal(n, 2); /* int and string shapes */
    return n;
}

static void test_real_generic_names(void **state)
{
    need_go(state);
    real_tab r;
    real_open(V_DEFAULT, &r);
    nm_list nm = go_nm(V_DEFAULT);
    const nm_sym *shape[2];
    bool abbrev = tab_abbreviates_shapes(&r);
    for (size_t k = 0; k < nm_shapes(&nm, shape, 2); k++) {
        uint64_t i;
        hp_gofunc f;
        assert_int_equal(hp_gotab_find(&r.t, shape[k]->va, &i), HP_OK);
        assert_int_equal(hp_gotab_func(&r.t, i, &f), HP_OK);
        assert_string_equal(f.name, abbrev ? "main.G[...]" : shape[k]->name);
        if (!abbrev)
            assert_int_equal(count_named(&r.t, shape[k]->name), 1);
    }
    assert_int_equal(count_named(&r.t, "main.G[...]"), abbrev ? 2 : 0);
    nm_free(&nm);
    real_close(&r);
}

/* A stripped build has no symbols to compare with, but the same functions:
 * the table must list the same names with the same code layout. */
static void check_same_functions(const hp_gotab *a, const hp_gotab *b)
{
    assert_int_equal(a->nfuncs, b->nfuncs);
    for (uint64_t i = 0; i < a->nfuncs; i++) {
        hp_gofunc fa, fb;
        assert_int_equal(hp_gotab_func(a, i, &fa), HP_OK);
        assert_int_equal(hp_gotab_func(b, i, &fb), HP_OK);
        assert_string_equal(fa.name, fb.name);
        assert_int_equal(fa.entry_va - a->text_va, fb.entry_va - b->text_va);
        assert_int_equal(fa.end_va - fa.entry_va, fb.end_va - fb.entry_va);
    }
}

static void test_real_stripped_same_as_default(void **state)
{
    need_go(state);
    real_tab d, s;
    real_open(V_DEFAULT, &d);
    real_open(V_STRIP, &s);
    check_same_functions(&d.t, &s.t);
    real_close(&d);
    real_close(&s);
}

static void test_real_pie_matches_nm(void **state)
{
    need_go(state);
    real_tab r;
    real_open(V_PIE, &r);
    nm_list nm = go_nm(V_PIE);
    /* The table is where the linker says: Go 1.19 puts it in the writable
     * .data.rel.ro.gopclntab under PIE (nm type d), Go 1.26 in a read-only
     * .gopclntab (r). real_open found one of them; it must be that one. */
    const nm_sym *start = nm_find(&nm, "runtime.pclntab"), *end = nm_find(&nm, "runtime.epclntab");
    assert_non_null(start);
    assert_non_null(end);
    assert_int_equal(r.pcln.va, start->va);
    assert_true(r.pcln.size >= end->va - start->va);
    check_against_nm(&r.t, &nm);
    check_table_in_nm(&r.t, &nm);
    nm_free(&nm);
    real_tab s;
    real_open(V_PIE_STRIP, &s);
    check_same_functions(&r.t, &s.t);
    real_close(&s);
    real_close(&r);
}

/* ===================================================================== */
/* Real binaries through an hp_image                                       */
/* ===================================================================== */

/* An image the way a format backend leaves it before hp_go_load: segments
 * from the program headers, the pclntab located, no symbols. */
static hp_image *real_image(real_tab *r, hp_diags *d)
{
    hp_image *img = calloc(1, sizeof *img);
    assert_non_null(img);
    img->data = r->file.data;
    img->size = r->file.size;
    img->diags = d;
    elf_segments(&r->file, img);
    img->pclntab = r->file.data + r->pcln.off;
    img->pclntab_size = r->pcln.size;
    img->pclntab_va = r->pcln.va;
    img->go_text_va = r->text.va;
    return img;
}

static const hp_symbol *image_sym(const hp_image *img, const char *name, size_t *count)
{
    const hp_symbol *found = NULL;
    *count = 0;
    for (size_t i = 0; i < img->nsyms; i++)
        if (!strcmp(img->syms[i].name, name)) {
            found = &img->syms[i];
            (*count)++;
        }
    return found;
}

typedef struct inl_seen {
    char names[32][128];
    uint32_t sites[32];
    size_t n;
} inl_seen;

static void inl_collect(void *ctx, const char *callee, uint32_t sites)
{
    inl_seen *s = ctx;
    assert_true(s->n < 32);
    snprintf(s->names[s->n], sizeof s->names[s->n], "%s", callee);
    s->sites[s->n++] = sites;
}

static uint32_t inl_sites(const inl_seen *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name))
            return s->sites[i];
    return 0;
}

static inl_seen inlined_into(const hp_gotab *t, uint64_t va)
{
    inl_seen seen = {0};
    uint64_t i;
    assert_int_equal(hp_gotab_find(t, va, &i), HP_OK);
    assert_int_equal(hp_gotab_inlined(t, i, inl_collect, &seen), HP_OK);
    return seen;
}

/* gofunc's address, from the unstripped build's symbol table. */
static uint64_t nm_gofunc(const nm_list *nm)
{
    const nm_sym *s = nm_find(nm, "go:func.*");
    if (!s)
        s = nm_find(nm, "go.func.*");
    assert_non_null(s);
    return s->va;
}

/* Stripped builds: hp_go_load names every function, and the inline tree
 * is reached through runtime.firstmoduledata found by scanning data. */
static void check_stripped_image(int v, int unstripped)
{
    real_tab r;
    real_open(v, &r);
    hp_diags d = {0};
    hp_image *img = real_image(&r, &d);
    assert_int_equal(hp_go_load(img), HP_OK);
    assert_int_equal(d.n, 0);
    assert_int_equal(img->nsyms, r.t.nfuncs);
    assert_int_equal(hp_image_finish_syms(img), HP_OK);
    nm_list nm = go_nm(unstripped);
    size_t n;
    const hp_symbol *mm = image_sym(img, "main.main", &n);
    const nm_sym *want = nm_find(&nm, "main.main");
    assert_int_equal(n, 1);
    assert_int_equal(mm->source, HP_SRC_PCLNTAB);
    assert_int_equal(mm->kind, HP_SYM_FUNC);
    assert_int_equal(mm->va, want->va); /* same text layout as unstripped */
    assert_true(mm->size >= want->size && mm->size - want->size < 32);
    const nm_sym *shape[2];
    bool abbrev = tab_abbreviates_shapes(&r);
    for (size_t k = 0; k < nm_shapes(&nm, shape, 2); k++) {
        const hp_symbol *g = image_sym(img, abbrev ? "main.G[...]" : shape[k]->name, &n);
        assert_int_equal(n, abbrev ? 2 : 1);
        if (!abbrev)
            assert_int_equal(g->va, shape[k]->va);
    }

    /* gofunc is at the same offset of the same section as in the build
     * with symbols, and that section may have moved: Go 1.26 also writes
     * the -ldflags into .rodata, so later sections start 0x20 bytes later
     * in the stripped build (Go 1.19's layouts are identical). */
    blob full = read_file(variant_path(unstripped));
    elf_sec in_full, in_strip;
    const char *sec_name;
    assert_true(elf_find_section(&full, NULL, nm_gofunc(&nm), &in_full, &sec_name));
    assert_true(elf_section(&r.file, sec_name, &in_strip));
    hp_gotab t;
    assert_int_equal(hp_go_table(img, &t), HP_OK);
    assert_int_equal(t.gofunc_va, in_strip.va + (nm_gofunc(&nm) - in_full.va));
    free(full.data);
    inl_seen main_inl = inlined_into(&t, mm->va);
    assert_int_equal(inl_sites(&main_inl, "main.Small"), 2); /* a := ..., b := ... */
    inl_seen apply_inl = inlined_into(&t, image_sym(img, "main.apply", &n)->va);
    assert_int_equal(inl_sites(&apply_inl, "main.Small"), 0); /* called through f */
    nm_free(&nm);
    hp_image_close(img);
    hp_diags_free(&d);
    real_close(&r);
}

static void test_real_stripped_inline_via_moduledata(void **state)
{
    need_go(state);
    check_stripped_image(V_STRIP, V_DEFAULT);
}

static void test_real_pie_stripped_inline_via_moduledata(void **state)
{
    need_go(state);
    check_stripped_image(V_PIE_STRIP, V_PIE);
}

/* With a symbol table: gofunc comes from the go.func.* / go:func.* symbol,
 * and hp_go_load adds nothing the symbols already name (generic
 * instantiations included) while every function keeps a single name. */
static void test_real_symtab_no_duplicates(void **state)
{
    need_go(state);
    real_tab r;
    real_open(V_DEFAULT, &r);
    hp_diags d = {0};
    hp_image *img = real_image(&r, &d);
    nm_list nm = go_nm(V_DEFAULT);
    for (size_t k = 0; k < nm.n; k++) {
        const nm_sym *s = &nm.v[k];
        bool func = s->type == 'T' || s->type == 't';
        assert_int_equal(hp_image_add_symbol(img, s->name, strlen(s->name), s->va, s->size,
                                             func ? HP_SYM_FUNC : HP_SYM_DATA, HP_SRC_SYMTAB,
                                             s->type == 'T'),
                         HP_OK);
    }
    size_t before = img->nsyms;
    assert_int_equal(hp_go_load(img), HP_OK);
    assert_int_equal(img->nsyms, before);
    size_t n;
    image_sym(img, "main.G[...]", &n);
    assert_int_equal(n, 0);
    hp_gotab t;
    assert_int_equal(hp_go_table(img, &t), HP_OK);
    assert_int_equal(t.gofunc_va, nm_gofunc(&nm));
    inl_seen seen = inlined_into(&t, nm_find(&nm, "main.main")->va);
    assert_int_equal(inl_sites(&seen, "main.Small"), 2);
    nm_free(&nm);
    hp_image_close(img);
    hp_diags_free(&d);
    real_close(&r);
}

/* The binary through the ELF backend, as hookpatch loads it: the machine,
 * and every function nm lists as T is a function symbol at the same
 * address, under the same name, with nm's size up to alignment; the
 * stripped twin gets the same functions from the table alone. */
static void check_elf_image(int v, int stripped)
{
    hp_diags d = {0};
    hp_image *img = NULL, *st = NULL;
    if (hp_image_open(variant_path(v), &d, &img) != HP_OK)
        fail_msg("%s: %s", variant_path(v), d.n ? d.v[0].msg : "?");
    assert_int_equal(img->machine, g_a64 ? HP_MACH_ARM64 : HP_MACH_X86_64);
    assert_int_equal(img->pic, v == V_PIE);
    nm_list nm = go_nm(v);
    size_t checked = 0;
    for (size_t k = 0; k < nm.n; k++) {
        const nm_sym *s = &nm.v[k];
        if (s->type != 'T')
            continue;
        const hp_symbol *f = hp_image_sym_at(img, s->va);
        if (!f || !go_name_eq(s->name, f->name))
            fail_msg("nm %s at 0x%llx: image has %s", s->name, (unsigned long long)s->va,
                     f ? f->name : "nothing");
        if (!only_padding(s->va, s->size, s->va + f->size))
            fail_msg("%s: nm size %llu, image size %llu", s->name, (unsigned long long)s->size,
                     (unsigned long long)f->size);
        checked++;
    }
    assert_true(checked > 1000);
    assert_int_equal(hp_image_open(variant_path(stripped), &d, &st), HP_OK);
    assert_false(st->has_symtab);
    size_t funcs = 0;
    for (size_t i = 0; i < st->nsyms; i++)
        funcs += st->syms[i].kind == HP_SYM_FUNC && st->syms[i].source == HP_SRC_PCLNTAB;
    real_tab r;
    real_open(stripped, &r);
    assert_int_equal(funcs, r.t.nfuncs);
    real_close(&r);
    static const char *const want[] = {"main.main", "main.(*T).M", "main.F.func1", "main.apply"};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        const hp_symbol *a = NULL, *b = NULL;
        for (size_t i = 0; i < img->nsyms; i++)
            a = !a && !strcmp(img->syms[i].name, want[w]) ? &img->syms[i] : a;
        for (size_t i = 0; i < st->nsyms; i++)
            b = !b && !strcmp(st->syms[i].name, want[w]) ? &st->syms[i] : b;
        if (!a || !b)
            fail_msg("%s missing (%s build)", want[w], a ? "stripped" : "full");
        if (!only_padding(0, a->size, b->size)) /* symtab size vs the table's span */
            fail_msg("%s: size %llu, stripped %llu", want[w], (unsigned long long)a->size,
                     (unsigned long long)b->size);
    }
    nm_free(&nm);
    hp_image_close(st);
    hp_image_close(img);
    hp_diags_free(&d);
}

static void test_real_elf_image(void **state)
{
    need_go(state);
    check_elf_image(V_DEFAULT, V_STRIP);
    check_elf_image(V_PIE, V_PIE_STRIP);
}

/* Every real-binary test, once for amd64 and once for arm64 builds. */
#define HP_PER_ARCH(name)                                                                         \
    static void x86_##name(void **state)                                                          \
    {                                                                                             \
        g_a64 = false;                                                                            \
        name(state);                                                                              \
    }                                                                                             \
    static void a64_##name(void **state)                                                          \
    {                                                                                             \
        g_a64 = true;                                                                             \
        name(state);                                                                              \
    }
HP_PER_ARCH(test_real_default_matches_nm)
HP_PER_ARCH(test_real_generic_names)
HP_PER_ARCH(test_real_stripped_same_as_default)
HP_PER_ARCH(test_real_pie_matches_nm)
HP_PER_ARCH(test_real_stripped_inline_via_moduledata)
HP_PER_ARCH(test_real_pie_stripped_inline_via_moduledata)
HP_PER_ARCH(test_real_symtab_no_duplicates)
HP_PER_ARCH(test_real_elf_image)

/* ===================================================================== */
/* A writer for synthetic tables                                           */
/* ===================================================================== */

/* One function: name, code offset from text, code size, the callee of
 * each inline-tree entry (NULL-terminated; NULL for no tree), and how many
 * pcdata tables a function with a tree has (3 or more). */
typedef struct syn_func {
    const char *name;
    uint32_t off, size;
    const char *const *inl;
    uint32_t npcdata;
} syn_func;

/* The fake image file: [pclntab][gofunc: inline trees][moduledata].
 * The first two are one read-only segment, moduledata a writable one. */
typedef struct syn {
    hp_go_layout layout;
    hp_buf file;
    size_t pcln_size, gofunc_off, md_off;
    uint32_t scratch; /* pctab offset of SYN_SCRATCH zero bytes for tests */
    uint64_t funcname_off, functab_off;
    uint32_t names[64]; /* funcnametab offset of each distinct string */
    const char *strs[64];
    size_t nstrs;
} syn;

#define SYN_PCLN_VA 0x600000u
#define SYN_MD_VA 0x700000u
#define SYN_TEXT_VA 0x401000u
#define SYN_SCRATCH 256

static const char *const inl_main[] = {"main.Small", "fmt.Println", "main.Small", "main.G[...]",
                                       NULL};
static const char *const inl_last[] = {"main.Small", NULL};
/* main.a·1 has Go's middle dot (U+00B7), which ELF symbol tables spell ".". */
#define SYN_DOT_NAME "main.a\xc2\xb7" "1"
static const syn_func syn_funcs[] = {
    {SYN_DOT_NAME, 0x0, 0x20, NULL, 0},
    {"main.(*T).M", 0x20, 0x40, NULL, 0},
    {"main.main", 0x60, 0x100, inl_main, 3},
    /* Last: the table ends in its funcdata. Four pcdata make 1.16 pad the
     * pointer-sized funcdata (44 + 16 bytes is not a multiple of 8). */
    {"main.F.func1", 0x160, 0x10, inl_last, 4},
};
#define SYN_NFUNCS (sizeof syn_funcs / sizeof syn_funcs[0])
#define SYN_END 0x170u

static size_t inl_count(const syn_func *f)
{
    size_t n = 0;
    while (f->inl && f->inl[n])
        n++;
    return n;
}

static void put(hp_buf *b, uint64_t v, int bytes)
{
    uint8_t tmp[8];
    assert_true(bytes > 0 && bytes <= 8);
    for (int i = 0; i < bytes; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    assert_int_equal(hp_buf_append(b, tmp, (size_t)bytes), HP_OK);
}

static void put_varint(hp_buf *b, uint32_t v)
{
    for (; v >= 0x80; v >>= 7)
        put(b, (v & 0x7f) | 0x80, 1);
    put(b, v, 1);
}

static void put_str(hp_buf *b, const char *s)
{
    assert_int_equal(hp_buf_append(b, s, strlen(s) + 1), HP_OK);
}

static bool is_116(const syn *s) { return s->layout == HP_GO_116; }

static uint64_t syn_gofunc_va(const syn *s) { return SYN_PCLN_VA + s->gofunc_off; }

/* funcnametab offset of a name already written, or UINT32_MAX. */
static uint32_t syn_nameoff(const syn *s, const char *name)
{
    for (size_t i = 0; i < s->nstrs; i++)
        if (!strcmp(s->strs[i], name))
            return s->names[i];
    return UINT32_MAX;
}

static uint32_t syn_name(syn *s, hp_buf *tab, const char *name)
{
    if (syn_nameoff(s, name) != UINT32_MAX)
        return syn_nameoff(s, name);
    assert_true(s->nstrs < 64);
    s->strs[s->nstrs] = name;
    s->names[s->nstrs] = (uint32_t)tab->len;
    put_str(tab, name);
    return s->names[s->nstrs++];
}

/* funcnametab: function names first, then any other callee. */
static hp_buf syn_funcnametab(syn *s)
{
    hp_buf b = {0};
    for (size_t i = 0; i < SYN_NFUNCS; i++)
        syn_name(s, &b, syn_funcs[i].name);
    for (size_t i = 0; i < SYN_NFUNCS; i++)
        for (size_t k = 0; k < inl_count(&syn_funcs[i]); k++)
            syn_name(s, &b, syn_funcs[i].inl[k]);
    return b;
}

/* pctab: offset 0 means "no table", so it starts with a pad byte. Each
 * function with a tree gets a PCDATA_InlTreeIndex table that steps through
 * entries 0..n-1 (two bytes each) and then back to -1. */
static hp_buf syn_pctab(uint32_t *inl_tab, uint32_t *scratch)
{
    hp_buf b = {0};
    put(&b, 0, 1);
    for (size_t i = 0; i < SYN_NFUNCS; i++) {
        size_t n = inl_count(&syn_funcs[i]);
        inl_tab[i] = n ? (uint32_t)b.len : 0;
        if (!n)
            continue;
        for (size_t k = 0; k < n; k++) {
            put_varint(&b, 2); /* zig-zag +1: -1 -> 0, then k -> k+1 */
            put_varint(&b, 2);
        }
        put_varint(&b, (uint32_t)(2 * n - 1)); /* zig-zag -n: back to -1 */
        put_varint(&b, syn_funcs[i].size - 2 * (uint32_t)n);
        put(&b, 0, 1);
    }
    *scratch = (uint32_t)b.len;
    assert_int_equal(hp_buf_append_zeros(&b, SYN_SCRATCH), HP_OK);
    return b;
}

/* The inline trees, as the gofunc area; tree_off[i] is each one's offset. */
static hp_buf syn_trees(syn *s, uint32_t *tree_off)
{
    hp_buf b = {0};
    for (size_t i = 0; i < SYN_NFUNCS; i++) {
        size_t n = inl_count(&syn_funcs[i]);
        tree_off[i] = UINT32_MAX;
        if (!n)
            continue;
        if (!b.len)
            put(&b, 0, 8); /* no tree at gofunc itself: offset 0 is not special */
        tree_off[i] = (uint32_t)b.len;
        for (size_t k = 0; k < n; k++) {
            uint32_t nameoff = syn_nameoff(s, syn_funcs[i].inl[k]);
            if (s->layout == HP_GO_120) { /* funcID, _[3], nameOff, parentPc, startLine */
                put(&b, 0, 4), put(&b, nameoff, 4), put(&b, 0, 4), put(&b, 7, 4);
            } else { /* parent, funcID, _, file, line, func_, parentPc */
                put(&b, k ? k - 1 : 0xffff, 2), put(&b, 0, 2), put(&b, 0, 4), put(&b, 9, 4);
                put(&b, nameoff, 4), put(&b, 0, 4);
            }
        }
    }
    return b;
}

/* One _func record and its pcdata/funcdata arrays, appended to b. */
static void syn_record(const syn *s, hp_buf *b, const syn_func *f, uint32_t inl_tab,
                       uint32_t tree_off, uint32_t nameoff, uint64_t gofunc_va)
{
    bool old = is_116(s);
    bool tree = f->inl != NULL;
    put(b, old ? SYN_TEXT_VA + f->off : f->off, old ? 8 : 4);
    put(b, nameoff, 4);
    for (int k = 0; k < 5; k++) /* args, deferreturn, pcsp, pcfile, pcln */
        put(b, 0, 4);
    put(b, f->npcdata, 4);
    put(b, 0, 4);            /* cuOffset */
    if (s->layout == HP_GO_120)
        put(b, 12, 4); /* startLine */
    put(b, 0, 3);      /* funcID, flag, pad */
    put(b, tree ? 4 : 0, 1);
    if (!tree)
        return;
    put(b, 0, 4), put(b, 0, 4), put(b, inl_tab, 4);
    for (uint32_t k = 3; k < f->npcdata; k++)
        put(b, 0, 4);
    if (old) {
        assert_int_equal(hp_buf_align(b, 8, 0xee), HP_OK); /* relative to functab start */
        put(b, 0, 8), put(b, 0, 8), put(b, 0, 8), put(b, gofunc_va + tree_off, 8);
    } else {
        put(b, UINT32_MAX, 4), put(b, UINT32_MAX, 4), put(b, UINT32_MAX, 4), put(b, tree_off, 4);
    }
}

/* functab: ftab then the records, each pointer-aligned. */
static hp_buf syn_functab(syn *s, const uint32_t *inl_tab, const uint32_t *tree_off,
                          uint64_t gofunc_va)
{
    int fs = is_116(s) ? 8 : 4;
    hp_buf b = {0};
    assert_int_equal(hp_buf_append_zeros(&b, (2 * SYN_NFUNCS + 1) * (size_t)fs), HP_OK);
    for (size_t i = 0; i < SYN_NFUNCS; i++) {
        assert_int_equal(hp_buf_align(&b, 8, 0), HP_OK);
        uint64_t entry = is_116(s) ? SYN_TEXT_VA + syn_funcs[i].off : syn_funcs[i].off;
        for (int k = 0; k < fs; k++) {
            b.data[2 * i * fs + k] = (uint8_t)(entry >> (8 * k));
            b.data[(2 * i + 1) * fs + k] = (uint8_t)(b.len >> (8 * k));
        }
        syn_record(s, &b, &syn_funcs[i], inl_tab[i], tree_off[i], s->names[i], gofunc_va);
    }
    uint64_t end = is_116(s) ? SYN_TEXT_VA + SYN_END : SYN_END;
    for (int k = 0; k < fs; k++)
        b.data[2 * SYN_NFUNCS * fs + k] = (uint8_t)(end >> (8 * k));
    return b;
}

static void syn_header(syn *s, hp_buf *out, const uint64_t *off, uint64_t text_start)
{
    static const uint32_t magic[] = {0xfffffffa, 0xfffffff0, 0xfffffff1};
    put(out, magic[s->layout == HP_GO_116 ? 0 : s->layout == HP_GO_118 ? 1 : 2], 4);
    put(out, 0, 2), put(out, 1, 1), put(out, 8, 1);
    put(out, SYN_NFUNCS, 8), put(out, 1, 8);
    if (!is_116(s))
        put(out, text_start, 8);
    for (int i = 0; i < 5; i++)
        put(out, off[i], 8);
}

static void append_at(hp_buf *out, const hp_buf *part, uint64_t *off)
{
    *off = out->len;
    assert_int_equal(hp_buf_append(out, part->data, part->len), HP_OK);
}

/* The moduledata fields hp_gotab checks, and gofunc at the layout's slot. */
static void syn_moduledata(syn *s, uint64_t gofunc_va)
{
    hp_buf *f = &s->file;
    assert_int_equal(hp_buf_align(f, 64, 0), HP_OK);
    s->md_off = f->len;
    uint64_t w[48] = {0};
    w[0] = SYN_PCLN_VA;
    w[1] = SYN_PCLN_VA + s->funcname_off;
    w[13] = w[16] = SYN_PCLN_VA + s->functab_off;
    w[17] = SYN_NFUNCS + 1;
    w[22] = SYN_TEXT_VA;
    w[s->layout == HP_GO_120 ? 40 : 38] = gofunc_va;
    for (int i = 0; i < 48; i++)
        put(f, w[i], 8);
}

/* The five sub-table offsets; the functab is the last, pointer-aligned. */
static void syn_offsets(const syn *s, size_t names_len, size_t pctab_len, uint64_t *off)
{
    off[0] = 8 + (is_116(s) ? 7 : 8) * 8; /* after the header */
    off[1] = off[0] + names_len;
    off[2] = off[1] + 4; /* cutab: one uint32 */
    off[3] = off[2] + 5; /* filetab: "x.go" */
    off[4] = hp_align_up(off[3] + pctab_len, 8);
}

/* Write the whole fake file for a layout. text_start is pcHeader's value. */
static void syn_build(syn *s, hp_go_layout layout, uint64_t text_start)
{
    memset(s, 0, sizeof *s);
    s->layout = layout;
    uint32_t inl_tab[SYN_NFUNCS], tree_off[SYN_NFUNCS];
    hp_buf names = syn_funcnametab(s), pctab = syn_pctab(inl_tab, &s->scratch);
    hp_buf trees = syn_trees(s, tree_off);
    uint64_t off[5], at;
    syn_offsets(s, names.len, pctab.len, off);
    /* The trees (gofunc) follow the pclntab; 1.16 needs their address
     * inside the functab, so measure it once before writing it. */
    hp_buf ft = syn_functab(s, inl_tab, tree_off, 0);
    s->gofunc_off = (size_t)hp_align_up(off[4] + ft.len, 16);
    hp_buf_free(&ft);
    ft = syn_functab(s, inl_tab, tree_off, is_116(s) ? syn_gofunc_va(s) : 0);
    syn_header(s, &s->file, off, text_start);
    append_at(&s->file, &names, &at);
    put(&s->file, 0, 4);
    put_str(&s->file, "x.go");
    append_at(&s->file, &pctab, &at);
    assert_int_equal(hp_buf_align(&s->file, 8, 0), HP_OK);
    append_at(&s->file, &ft, &at);
    assert_int_equal(at, off[4]);
    s->pcln_size = s->file.len;
    s->funcname_off = off[0];
    s->functab_off = off[4];
    assert_int_equal(hp_buf_align(&s->file, 16, 0), HP_OK);
    assert_int_equal(s->file.len, s->gofunc_off);
    append_at(&s->file, &trees, &at);
    syn_moduledata(s, syn_gofunc_va(s));
    hp_buf_free(&names), hp_buf_free(&pctab), hp_buf_free(&trees), hp_buf_free(&ft);
}

/* An image over the fake file; with_md keeps the moduledata segment. */
static hp_image *syn_image(syn *s, bool with_md, hp_diags *d)
{
    hp_image *img = calloc(1, sizeof *img);
    assert_non_null(img);
    img->data = s->file.data;
    img->size = s->file.len;
    img->diags = d;
    hp_segment ro = {SYN_PCLN_VA, s->md_off, 0, s->md_off, HP_PROT_R};
    assert_int_equal(hp_image_add_segment(img, &ro), HP_OK);
    if (with_md) {
        hp_segment rw = {SYN_MD_VA, s->file.len - s->md_off, s->md_off, s->file.len - s->md_off,
                         HP_PROT_R | HP_PROT_W};
        assert_int_equal(hp_image_add_segment(img, &rw), HP_OK);
    }
    img->pclntab = s->file.data;
    img->pclntab_size = s->pcln_size;
    img->pclntab_va = SYN_PCLN_VA;
    img->go_text_va = SYN_TEXT_VA;
    return img;
}

static void syn_free(syn *s) { hp_buf_free(&s->file); }

static const hp_go_layout all_layouts[] = {HP_GO_116, HP_GO_118, HP_GO_120};

static void syn_open(const syn *s, const hp_image *img, uint64_t hint, hp_gotab *t)
{
    char why[256];
    hp_status st = hp_gotab_open(s->file.data, s->pcln_size, hint, img, t, why, sizeof why);
    if (st != HP_OK)
        fail_msg("layout %d: %s", s->layout, why);
}

static void add_gofunc_symbol(hp_image *img, const syn *s)
{
    const char *name = s->layout == HP_GO_120 ? "go:func.*" : "go.func.*";
    assert_int_equal(hp_image_add_symbol(img, name, strlen(name), syn_gofunc_va(s), 0,
                                         HP_SYM_DATA, HP_SRC_SYMTAB, false),
                     HP_OK);
}

/* main.main's tree, reported sorted by name with site counts. */
static void check_main_inlined(const hp_gotab *t)
{
    inl_seen seen = {0};
    assert_int_equal(hp_gotab_inlined(t, 2, inl_collect, &seen), HP_OK);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.names[0], "fmt.Println");
    assert_string_equal(seen.names[1], "main.G[...]");
    assert_string_equal(seen.names[2], "main.Small");
    assert_int_equal(seen.sites[0], 1);
    assert_int_equal(seen.sites[1], 1);
    assert_int_equal(seen.sites[2], 2);
    seen = (inl_seen){0};
    assert_int_equal(hp_gotab_inlined(t, 3, inl_collect, &seen), HP_OK);
    assert_int_equal(seen.n, 1);
    assert_int_equal(inl_sites(&seen, "main.Small"), 1);
}

static void check_syn_funcs(const hp_gotab *t)
{
    assert_int_equal(t->nfuncs, SYN_NFUNCS);
    for (uint64_t i = 0; i < SYN_NFUNCS; i++) {
        hp_gofunc f;
        assert_int_equal(hp_gotab_func(t, i, &f), HP_OK);
        assert_string_equal(f.name, syn_funcs[i].name);
        assert_int_equal(f.entry_va, SYN_TEXT_VA + syn_funcs[i].off);
        assert_int_equal(f.end_va, SYN_TEXT_VA + syn_funcs[i].off + syn_funcs[i].size);
        assert_true(f.func_off >= t->functab_off + t->functab_size && f.func_off < t->size);
    }
    hp_gofunc f;
    assert_int_equal(hp_gotab_func(t, SYN_NFUNCS, &f), HP_ERR_RESOLVE);
}

static void check_syn_find(const hp_gotab *t)
{
    static const struct { uint64_t off; uint64_t want; } hits[] = {
        {0x0, 0}, {0x1f, 0}, {0x20, 1}, {0x60, 2}, {0x61, 2}, {0x15f, 2}, {0x160, 3}, {0x16f, 3}};
    for (size_t k = 0; k < sizeof hits / sizeof hits[0]; k++) {
        uint64_t i = 99;
        assert_int_equal(hp_gotab_find(t, SYN_TEXT_VA + hits[k].off, &i), HP_OK);
        assert_int_equal(i, hits[k].want);
    }
    uint64_t i;
    assert_int_equal(hp_gotab_find(t, SYN_TEXT_VA - 1, &i), HP_ERR_RESOLVE);
    assert_int_equal(hp_gotab_find(t, SYN_TEXT_VA + SYN_END, &i), HP_ERR_RESOLVE);
}

static void test_syn_layouts_open_func_find(void **state)
{
    (void)state;
    for (size_t l = 0; l < 3; l++) {
        syn s;
        syn_build(&s, all_layouts[l], SYN_TEXT_VA);
        hp_gotab t;
        syn_open(&s, NULL, SYN_TEXT_VA, &t);
        assert_int_equal(t.layout, all_layouts[l]);
        assert_int_equal(t.ptr_size, 8);
        assert_int_equal(t.text_va, SYN_TEXT_VA);
        assert_int_equal(t.gofunc_va, 0);
        check_syn_funcs(&t);
        check_syn_find(&t);
        syn_free(&s);
    }
}

/* Without an image the tree cannot be read; a function without a tree
 * still answers "nothing inlined". */
static void test_syn_inlined_needs_image(void **state)
{
    (void)state;
    for (size_t l = 0; l < 3; l++) {
        syn s;
        syn_build(&s, all_layouts[l], SYN_TEXT_VA);
        hp_gotab t;
        syn_open(&s, NULL, SYN_TEXT_VA, &t);
        inl_seen seen = {0};
        assert_int_equal(hp_gotab_inlined(&t, 0, inl_collect, &seen), HP_OK);
        assert_int_equal(hp_gotab_inlined(&t, 1, inl_collect, &seen), HP_OK);
        assert_int_equal(hp_gotab_inlined(&t, 2, inl_collect, &seen), HP_ERR_UNSUPPORTED);
        assert_int_equal(seen.n, 0);
        assert_int_equal(hp_gotab_inlined(&t, SYN_NFUNCS, inl_collect, &seen), HP_ERR_RESOLVE);
        syn_free(&s);
    }
}

/* 1.16 funcdata are absolute; 1.18+ find gofunc from the symbol table. */
static void test_syn_inlined_via_symbol(void **state)
{
    (void)state;
    for (size_t l = 0; l < 3; l++) {
        syn s;
        syn_build(&s, all_layouts[l], SYN_TEXT_VA);
        hp_image *img = syn_image(&s, false, NULL);
        if (all_layouts[l] != HP_GO_116)
            add_gofunc_symbol(img, &s);
        hp_gotab t;
        assert_int_equal(hp_go_table(img, &t), HP_OK);
        assert_int_equal(t.gofunc_va, all_layouts[l] == HP_GO_116 ? 0 : syn_gofunc_va(&s));
        check_main_inlined(&t);
        hp_image_close(img);
        syn_free(&s);
    }
}

/* Stripped 1.18+: gofunc comes from the moduledata found in data. */
static void test_syn_inlined_via_moduledata(void **state)
{
    (void)state;
    for (size_t l = 1; l < 3; l++) {
        syn s;
        syn_build(&s, all_layouts[l], SYN_TEXT_VA);
        hp_image *img = syn_image(&s, true, NULL);
        hp_gotab t;
        assert_int_equal(hp_go_table(img, &t), HP_OK);
        assert_int_equal(t.gofunc_va, syn_gofunc_va(&s));
        check_main_inlined(&t);
        hp_image_close(img);
        /* Without moduledata or symbol, gofunc stays unknown. */
        img = syn_image(&s, false, NULL);
        assert_int_equal(hp_go_table(img, &t), HP_OK);
        assert_int_equal(t.gofunc_va, 0);
        inl_seen seen = {0};
        assert_int_equal(hp_gotab_inlined(&t, 2, inl_collect, &seen), HP_ERR_UNSUPPORTED);
        hp_image_close(img);
        syn_free(&s);
    }
}

/* A moduledata whose ftab length disagrees is somebody else's: ignored. */
static void test_syn_moduledata_must_match(void **state)
{
    (void)state;
    syn s;
    syn_build(&s, HP_GO_120, SYN_TEXT_VA);
    s.file.data[s.md_off + 17 * 8] ^= 1; /* ftab.len */
    hp_image *img = syn_image(&s, true, NULL);
    hp_gotab t;
    assert_int_equal(hp_go_table(img, &t), HP_OK);
    assert_int_equal(t.gofunc_va, 0);
    hp_image_close(img);
    s.file.data[s.md_off + 17 * 8] ^= 1;
    s.file.data[s.md_off + 22 * 8] ^= 0x10; /* text */
    img = syn_image(&s, true, NULL);
    assert_int_equal(hp_go_table(img, &t), HP_OK);
    assert_int_equal(t.gofunc_va, 0);
    hp_image_close(img);
    s.file.data[s.md_off + 22 * 8] ^= 0x10;
    hp_wr64(s.file.data + s.md_off + 40 * 8, 0x900000); /* gofunc: not mapped */
    img = syn_image(&s, true, NULL);
    assert_int_equal(hp_go_table(img, &t), HP_OK);
    assert_int_equal(t.gofunc_va, 0);
    hp_image_close(img);
    syn_free(&s);
}

/* pcHeader.textStart of 0: runtime.text from the symbols or moduledata
 * beats the hint (a section start, which external linking can move). */
static void test_syn_text_start_fallbacks(void **state)
{
    (void)state;
    syn s;
    syn_build(&s, HP_GO_120, 0);
    hp_gotab t;
    syn_open(&s, NULL, SYN_TEXT_VA, &t);
    assert_int_equal(t.text_va, SYN_TEXT_VA);
    check_syn_funcs(&t);
    char why[256];
    assert_int_equal(hp_gotab_open(s.file.data, s.pcln_size, 0, NULL, &t, why, sizeof why),
                     HP_ERR_FORMAT);
    assert_non_null(strstr(why, "textStart"));
    hp_image *img = syn_image(&s, true, NULL);
    img->go_text_va = SYN_TEXT_VA - 0x40; /* crt code before runtime.text */
    assert_int_equal(hp_go_table(img, &t), HP_OK);
    assert_int_equal(t.text_va, SYN_TEXT_VA);
    assert_int_equal(t.gofunc_va, syn_gofunc_va(&s));
    check_syn_funcs(&t);
    hp_diags d = {0};
    img->diags = &d;
    assert_int_equal(hp_go_load(img), HP_OK);
    assert_int_equal(img->syms[0].va, SYN_TEXT_VA + syn_funcs[0].off);
    hp_image_close(img);
    img = syn_image(&s, false, NULL);
    img->go_text_va = SYN_TEXT_VA - 0x40;
    assert_int_equal(hp_image_add_symbol(img, "runtime.text", 12, SYN_TEXT_VA, 0, HP_SYM_FUNC,
                                         HP_SRC_SYMTAB, false),
                     HP_OK);
    assert_int_equal(hp_go_table(img, &t), HP_OK);
    assert_int_equal(t.text_va, SYN_TEXT_VA);
    hp_image_close(img);
    hp_diags_free(&d);
    syn_free(&s);
}

/* ===================================================================== */
/* Hostile tables                                                          */
/* ===================================================================== */

/* Read everything a caller could: never crash, and report failures. */
static bool exercise(const hp_gotab *t)
{
    bool all_ok = true;
    for (uint64_t i = 0; i < t->nfuncs; i++) {
        hp_gofunc f;
        inl_seen seen = {0};
        if (hp_gotab_func(t, i, &f) != HP_OK) {
            all_ok = false;
            continue;
        }
        assert_true(strlen(f.name) < t->size);
        uint64_t j;
        if (f.end_va > f.entry_va)
            assert_int_equal(hp_gotab_find(t, f.entry_va, &j), HP_OK);
        hp_status s = hp_gotab_inlined(t, i, inl_collect, &seen);
        assert_true(s == HP_OK || s == HP_ERR_FORMAT || s == HP_ERR_UNSUPPORTED);
        all_ok &= s == HP_OK;
    }
    return all_ok;
}

/* Truncating a table anywhere must be noticed: by open, or by the record
 * that lost its bytes (the table ends inside the last function's data). */
static void test_syn_truncated_everywhere(void **state)
{
    (void)state;
    for (size_t l = 0; l < 3; l++) {
        syn s;
        syn_build(&s, all_layouts[l], SYN_TEXT_VA);
        hp_image *img = syn_image(&s, false, NULL);
        if (all_layouts[l] != HP_GO_116)
            add_gofunc_symbol(img, &s);
        for (size_t len = 0; len < s.pcln_size; len++) {
            uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
            assert_non_null(copy);
            memcpy(copy, s.file.data, len);
            hp_gotab t;
            char why[256] = "unset";
            hp_status st = hp_gotab_open(copy, len, SYN_TEXT_VA, img, &t, why, sizeof why);
            if (st != HP_OK) {
                assert_int_equal(st, HP_ERR_FORMAT);
                assert_true(why[0] && strcmp(why, "unset"));
            } else {
                assert_false(exercise(&t));
            }
            free(copy);
        }
        hp_image_close(img);
        syn_free(&s);
    }
}

static hp_status open_why(const syn *s, char *why)
{
    hp_gotab t;
    return hp_gotab_open(s->file.data, s->pcln_size, SYN_TEXT_VA, NULL, &t, why, 256);
}

/* Every header byte flipped three ways: a clean answer, never a crash. */
static void test_syn_header_flips(void **state)
{
    (void)state;
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    for (size_t l = 0; l < 3; l++) {
        syn s;
        syn_build(&s, all_layouts[l], SYN_TEXT_VA);
        size_t hdr = (size_t)s.funcname_off;
        for (size_t b = 0; b < hdr; b++)
            for (size_t m = 0; m < sizeof masks; m++) {
                char why[256] = "";
                s.file.data[b] ^= masks[m];
                hp_gotab t;
                hp_status st = hp_gotab_open(s.file.data, s.pcln_size, SYN_TEXT_VA, NULL, &t, why,
                                             sizeof why);
                if (st == HP_OK)
                    exercise(&t);
                else
                    assert_true((st == HP_ERR_FORMAT || st == HP_ERR_UNSUPPORTED) && why[0]);
                s.file.data[b] ^= masks[m];
            }
        syn_free(&s);
    }
}

static void expect_open(syn *s, hp_status want, const char *reason)
{
    char why[256] = "";
    assert_int_equal(open_why(s, why), want);
    if (!strstr(why, reason))
        fail_msg("reason '%s' does not mention '%s'", why, reason);
}

static void test_syn_header_reasons(void **state)
{
    (void)state;
    syn s;
    syn_build(&s, HP_GO_120, SYN_TEXT_VA);
    uint8_t *d = s.file.data;
    hp_wr32(d, 0xfffffffb);
    expect_open(&s, HP_ERR_UNSUPPORTED, "1.2-1.15");
    hp_wr32(d, 0xf1ffffff);
    expect_open(&s, HP_ERR_UNSUPPORTED, "big-endian");
    hp_wr32(d, 0x12345678);
    expect_open(&s, HP_ERR_FORMAT, "magic 0x12345678");
    hp_wr32(d, 0xfffffff1);
    d[5] = 1;
    expect_open(&s, HP_ERR_FORMAT, "padding");
    d[5] = 0, d[6] = 3;
    expect_open(&s, HP_ERR_FORMAT, "quantum");
    d[6] = 1, d[7] = 2;
    expect_open(&s, HP_ERR_FORMAT, "pointer size");
    d[7] = 8;
    hp_wr64(d + 8, UINT64_MAX / 2); /* nfunc */
    expect_open(&s, HP_ERR_FORMAT, "functab");
    hp_wr64(d + 8, 1000);
    expect_open(&s, HP_ERR_FORMAT, "functab");
    hp_wr64(d + 8, SYN_NFUNCS);
    uint64_t cu = hp_rd64(d + 8 + 4 * 8);
    hp_wr64(d + 8 + 4 * 8, s.pcln_size + 1); /* cutab past the end */
    expect_open(&s, HP_ERR_FORMAT, "cutab");
    hp_wr64(d + 8 + 4 * 8, 4); /* cutab before funcnametab */
    expect_open(&s, HP_ERR_FORMAT, "cutab");
    hp_wr64(d + 8 + 4 * 8, cu);
    hp_wr64(d + 8 + 2 * 8, UINT64_MAX - 0x100); /* textStart + offsets wrap */
    expect_open(&s, HP_ERR_FORMAT, "overflows");
    hp_wr64(d + 8 + 2 * 8, SYN_TEXT_VA);
    hp_wr32(d + s.functab_off + 8, 0x1000); /* entry of function 1 > function 2 */
    expect_open(&s, HP_ERR_FORMAT, "not sorted at function 1");
    syn_free(&s);
    char why[64];
    hp_gotab t;
    assert_int_equal(hp_gotab_open((const uint8_t *)"\xf1\xff\xff", 3, 0, NULL, &t, why, sizeof why),
                     HP_ERR_FORMAT);
    assert_non_null(strstr(why, "truncated"));
    assert_int_equal(hp_gotab_open(NULL, 0, 0, NULL, &t, NULL, 0), HP_ERR_FORMAT);
}

/* Offset of funcdata[k] of function i in a 1.20 synthetic table. */
static size_t syn120_funcdata(const hp_gotab *t, uint64_t i, int k)
{
    hp_gofunc f;
    assert_int_equal(hp_gotab_func(t, i, &f), HP_OK);
    return (size_t)f.func_off + 44 + 3 * 4 + (size_t)k * 4;
}

static void test_syn_record_corruption(void **state)
{
    (void)state;
    syn s;
    syn_build(&s, HP_GO_120, SYN_TEXT_VA);
    hp_image *img = syn_image(&s, false, NULL);
    add_gofunc_symbol(img, &s);
    hp_gotab t;
    assert_int_equal(hp_go_table(img, &t), HP_OK);
    hp_gofunc f;
    inl_seen seen = {0};
    uint8_t *d = s.file.data;

    /* An inline tree that runs off its segment. */
    size_t fd = syn120_funcdata(&t, 2, 3);
    uint32_t tree = hp_rd32(d + fd);
    hp_wr32(d + fd, (uint32_t)(s.md_off - s.gofunc_off - 8));
    assert_int_equal(hp_gotab_inlined(&t, 2, inl_collect, &seen), HP_ERR_FORMAT);
    hp_wr32(d + fd, tree);
    /* A callee name that is not NUL-terminated inside funcnametab. */
    d[t.cu_off - 1] = 'x';
    assert_int_equal(hp_gotab_inlined(&t, 2, inl_collect, &seen), HP_ERR_FORMAT);
    d[t.cu_off - 1] = 0;
    assert_int_equal(seen.n, 0);
    /* A name offset past funcnametab, and an entry disagreeing with ftab. */
    assert_int_equal(hp_gotab_func(&t, 1, &f), HP_OK);
    hp_wr32(d + f.func_off + 4, (uint32_t)(t.cu_off - t.funcname_off));
    assert_int_equal(hp_gotab_func(&t, 1, &f), HP_ERR_FORMAT);
    hp_wr32(d + f.func_off + 4, 0x80000000u);
    assert_int_equal(hp_gotab_func(&t, 1, &f), HP_ERR_FORMAT);
    hp_wr32(d + f.func_off + 4, 0);
    hp_wr32(d + f.func_off, 0x21);
    assert_int_equal(hp_gotab_func(&t, 1, &f), HP_ERR_FORMAT);
    hp_wr32(d + f.func_off, 0x20);
    /* npcdata claiming more bytes than the table has. */
    hp_wr32(d + f.func_off + 4 + 24, 0xffffffffu);
    assert_int_equal(hp_gotab_func(&t, 1, &f), HP_ERR_FORMAT);
    hp_wr32(d + f.func_off + 4 + 24, 0);
    assert_true(exercise(&t)); /* everything restored */
    hp_image_close(img);
    syn_free(&s);
}

/* Point function i's PCDATA_InlTreeIndex at the pctab scratch area,
 * filled with `len` bytes of tab, and ask for its inlined calls. */
static hp_status inlined_with_table(syn *s, hp_gotab *t, uint64_t i, const uint8_t *tab,
                                    size_t len, inl_seen *seen)
{
    hp_gofunc f;
    assert_int_equal(hp_gotab_func(t, i, &f), HP_OK);
    assert_true(len <= SYN_SCRATCH);
    memset(s->file.data + t->pctab_off + s->scratch, 0, SYN_SCRATCH);
    memcpy(s->file.data + t->pctab_off + s->scratch, tab, len);
    hp_wr32(s->file.data + f.func_off + 40 + 2 * 4, s->scratch); /* 1.18: 40-byte _func */
    *seen = (inl_seen){0};
    return hp_gotab_inlined(t, i, inl_collect, seen);
}

/* Garbage pc tables: past the function, endless varints, empty pc ranges
 * by the hundred, and an index no real inline depth reaches. */
static void test_syn_pcvalue_bounds(void **state)
{
    (void)state;
    syn s;
    syn_build(&s, HP_GO_118, SYN_TEXT_VA);
    hp_image *img = syn_image(&s, false, NULL);
    add_gofunc_symbol(img, &s);
    hp_gotab t;
    assert_int_equal(hp_go_table(img, &t), HP_OK);
    inl_seen seen;
    /* main.F.func1 is 16 bytes and has a one-entry tree. */
    static const uint8_t ok[] = {2, 4, 1, 4, 2, 8, 0}; /* 0, -1, 0 */
    assert_int_equal(inlined_with_table(&s, &t, 3, ok, sizeof ok, &seen), HP_OK);
    assert_int_equal(inl_sites(&seen, "main.Small"), 1);
    static const uint8_t none[] = {0, 16, 0}; /* -1 throughout: nothing inlined here */
    assert_int_equal(inlined_with_table(&s, &t, 3, none, sizeof none, &seen), HP_OK);
    assert_int_equal(seen.n, 0);
    static const uint8_t past[] = {2, 17, 0};
    assert_int_equal(inlined_with_table(&s, &t, 3, past, sizeof past, &seen), HP_ERR_FORMAT);
    uint8_t endless[SYN_SCRATCH];
    memset(endless, 0x80, sizeof endless);
    assert_int_equal(inlined_with_table(&s, &t, 3, endless, sizeof endless, &seen),
                     HP_ERR_FORMAT);
    /* Empty ranges: 8 steps fit a 16-byte function, 20 do not. */
    uint8_t flat[81] = {0};
    for (size_t k = 0; k < 40; k++)
        flat[2 * k] = k % 2 ? 1 : 2; /* +1, -1, ... with pc delta 0 */
    flat[16] = 0;
    assert_int_equal(inlined_with_table(&s, &t, 3, flat, 17, &seen), HP_OK);
    assert_int_equal(inl_sites(&seen, "main.Small"), 1);
    flat[16] = 2;
    assert_int_equal(inlined_with_table(&s, &t, 3, flat, 41, &seen), HP_ERR_FORMAT);
    static const uint8_t deep[] = {0xd0, 0x0f, 8, 0}; /* index 999 after one step */
    assert_int_equal(inlined_with_table(&s, &t, 3, deep, sizeof deep, &seen), HP_ERR_FORMAT);
    assert_int_equal(seen.n, 0);
    hp_image_close(img);
    syn_free(&s);
}

/* ===================================================================== */
/* hp_go_load on synthetic images                                          */
/* ===================================================================== */

static bool diag_has(const hp_diags *d, hp_diag_level lvl, const char *text)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].level == lvl && strstr(d->v[i].msg, text))
            return true;
    return false;
}

static void test_go_load_adds_and_sizes(void **state)
{
    (void)state;
    syn s;
    syn_build(&s, HP_GO_118, SYN_TEXT_VA);
    hp_diags d = {0};
    hp_image *img = syn_image(&s, false, &d);
    /* A symbol-table name for main.main with no size, and an unrelated
     * symbol at main.a·1's address under another name. */
    assert_int_equal(hp_image_add_symbol(img, "main.main", 9, SYN_TEXT_VA + 0x60, 0, HP_SYM_FUNC,
                                         HP_SRC_SYMTAB, true),
                     HP_OK);
    assert_int_equal(hp_image_add_symbol(img, "alias", 5, SYN_TEXT_VA, 0, HP_SYM_FUNC,
                                         HP_SRC_DYNSYM, true),
                     HP_OK);
    assert_int_equal(hp_go_load(img), HP_OK);
    assert_int_equal(d.n, 0);
    assert_int_equal(img->nsyms, 2 + 3);
    size_t n;
    const hp_symbol *mm = image_sym(img, "main.main", &n);
    assert_int_equal(n, 1);
    assert_int_equal(mm->source, HP_SRC_SYMTAB);
    assert_int_equal(mm->size, 0x100);
    const hp_symbol *a = image_sym(img, SYN_DOT_NAME, &n);
    assert_int_equal(n, 1);
    assert_int_equal(a->source, HP_SRC_PCLNTAB);
    assert_int_equal(a->va, SYN_TEXT_VA);
    assert_int_equal(a->size, 0x20);
    assert_int_equal(image_sym(img, "main.F.func1", &n)->size, 0x10);
    hp_image_close(img);
    hp_diags_free(&d);
    syn_free(&s);
}

/* The ELF symbol table writes "main.a·1" as "main.a.1" (the Go linker
 * rewrites "·" to "." for ASCII-only tools); PE's COFF table keeps "·".
 * Either is the table's function: hp_go_load adds no second name at the
 * same address (it used to, for Go 1.26's "type:.eq.runtime.untracedG·7"),
 * while a name that differs elsewhere is not taken for it. */
static void test_go_load_middle_dot(void **state)
{
    (void)state;
    static const char *const same[] = {"main.a.1", SYN_DOT_NAME, "main.a.1.abi0"};
    static const char *const other[] = {"main.a_1", "main.a.", "main.a.1x", "main.a"};
    for (size_t k = 0; k < 7; k++) {
        bool is_same = k < 3;
        const char *name = is_same ? same[k] : other[k - 3];
        syn s;
        syn_build(&s, HP_GO_120, SYN_TEXT_VA);
        hp_image *img = syn_image(&s, false, NULL);
        assert_int_equal(hp_image_add_symbol(img, name, strlen(name), SYN_TEXT_VA, 0, HP_SYM_FUNC,
                                             HP_SRC_SYMTAB, true),
                         HP_OK);
        assert_int_equal(hp_go_load(img), HP_OK);
        size_t n;
        const hp_symbol *sym = image_sym(img, name, &n);
        assert_int_equal(n, 1);
        if (is_same) {
            assert_int_equal(img->nsyms, SYN_NFUNCS);
            assert_int_equal(sym->size, 0x20); /* the table's bounds */
        } else {
            assert_int_equal(img->nsyms, SYN_NFUNCS + 1);
            assert_int_equal(image_sym(img, SYN_DOT_NAME, &n)->source, HP_SRC_PCLNTAB);
        }
        hp_image_close(img);
        syn_free(&s);
    }
}

static void test_go_load_corrupt_table(void **state)
{
    (void)state;
    syn s;
    syn_build(&s, HP_GO_120, SYN_TEXT_VA);
    hp_wr32(s.file.data, 0x12345678);
    hp_diags d = {0};
    hp_image *img = syn_image(&s, false, &d);
    /* No other symbols: the image has no names at all, an error. */
    assert_int_equal(hp_go_load(img), HP_ERR_FORMAT);
    assert_true(diag_has(&d, HP_DIAG_ERROR, "magic 0x12345678"));
    assert_int_equal(hp_image_add_symbol(img, "f", 1, 0x1000, 4, HP_SYM_FUNC, HP_SRC_SYMTAB, 1),
                     HP_OK);
    hp_diags_free(&d);
    assert_int_equal(hp_go_load(img), HP_OK); /* the symbol table still works */
    assert_true(diag_has(&d, HP_DIAG_WARNING, "magic 0x12345678"));
    assert_int_equal(d.errors, 0);
    assert_int_equal(img->nsyms, 1);
    hp_image_close(img);
    hp_diags_free(&d);
    /* Go 1.2-1.15: unsupported is a warning even with no other names. */
    hp_wr32(s.file.data, 0xfffffffb);
    img = syn_image(&s, false, &d);
    assert_int_equal(hp_go_load(img), HP_OK);
    assert_true(diag_has(&d, HP_DIAG_WARNING, "not supported"));
    hp_image_close(img);
    hp_diags_free(&d);
    syn_free(&s);
}

static void test_go_load_skips_bad_records(void **state)
{
    (void)state;
    syn s;
    syn_build(&s, HP_GO_116, SYN_TEXT_VA);
    hp_gotab t;
    syn_open(&s, NULL, SYN_TEXT_VA, &t);
    hp_gofunc f;
    assert_int_equal(hp_gotab_func(&t, 1, &f), HP_OK);
    hp_wr64(s.file.data + f.func_off, 0); /* entry disagrees with ftab */
    hp_diags d = {0};
    hp_image *img = syn_image(&s, false, &d);
    assert_int_equal(hp_go_load(img), HP_OK);
    assert_int_equal(img->nsyms, SYN_NFUNCS - 1);
    assert_true(diag_has(&d, HP_DIAG_WARNING, "1 of 4 function records are corrupt (first: #1)"));
    hp_image_close(img);
    hp_diags_free(&d);
    syn_free(&s);
}

/* Every allocation hp_go_load makes may fail: it reports NOMEM, leaks
 * nothing (ASan), and succeeds once allocations do. */
static void test_go_load_nomem(void **state)
{
    (void)state;
    syn s;
    syn_build(&s, HP_GO_120, SYN_TEXT_VA);
    bool ok = false;
    for (long k = 0; k < 64 && !ok; k++) {
        hp_image *img = syn_image(&s, false, NULL);
        hp_mem_fail_after(k);
        hp_status st = hp_go_load(img);
        hp_mem_fail_after(-1);
        assert_true(st == HP_OK || st == HP_ERR_NOMEM);
        ok = st == HP_OK;
        if (ok)
            assert_int_equal(img->nsyms, SYN_NFUNCS);
        hp_image_close(img);
    }
    assert_true(ok);
    /* The inline walk's one allocation. */
    hp_image *img = syn_image(&s, true, NULL);
    hp_gotab t;
    assert_int_equal(hp_go_table(img, &t), HP_OK);
    inl_seen seen = {0};
    hp_mem_fail_after(0);
    hp_status st = hp_gotab_inlined(&t, 2, inl_collect, &seen);
    hp_mem_fail_after(-1);
    assert_int_equal(st, HP_ERR_NOMEM);
    assert_int_equal(seen.n, 0);
    hp_image_close(img);
    syn_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syn_layouts_open_func_find),
        cmocka_unit_test(test_syn_inlined_needs_image),
        cmocka_unit_test(test_syn_inlined_via_symbol),
        cmocka_unit_test(test_syn_inlined_via_moduledata),
        cmocka_unit_test(test_syn_moduledata_must_match),
        cmocka_unit_test(test_syn_text_start_fallbacks),
        cmocka_unit_test(test_syn_truncated_everywhere),
        cmocka_unit_test(test_syn_header_flips),
        cmocka_unit_test(test_syn_header_reasons),
        cmocka_unit_test(test_syn_record_corruption),
        cmocka_unit_test(test_syn_pcvalue_bounds),
        cmocka_unit_test(test_go_load_adds_and_sizes),
        cmocka_unit_test(test_go_load_middle_dot),
        cmocka_unit_test(test_go_load_corrupt_table),
        cmocka_unit_test(test_go_load_skips_bad_records),
        cmocka_unit_test(test_go_load_nomem),
    };
#define HP_BOTH(name) cmocka_unit_test(x86_##name), cmocka_unit_test(a64_##name)
    const struct CMUnitTest per_go[] = {
        HP_BOTH(test_real_default_matches_nm),
        HP_BOTH(test_real_generic_names),
        HP_BOTH(test_real_stripped_same_as_default),
        HP_BOTH(test_real_pie_matches_nm),
        HP_BOTH(test_real_stripped_inline_via_moduledata),
        HP_BOTH(test_real_pie_stripped_inline_via_moduledata),
        HP_BOTH(test_real_symtab_no_duplicates),
        HP_BOTH(test_real_elf_image),
    };
    return tgo_run("test_gopclntab", tests, sizeof tests / sizeof tests[0], per_go,
                   sizeof per_go / sizeof per_go[0], go_build_all, NULL);
}
