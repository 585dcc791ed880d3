/* Unit tests for sections/debug/dwarf.c, the DWARF inlined-subroutine reader.
 *
 * Three sources of debug info:
 *  - real programs built at test time from tests/fixtures/dwarf with gcc,
 *    clang, g++ and clang++ in many DWARF flavours (5, 4, 3, 2, 64-bit, LTO
 *    with cross-unit references, type units), opened with hp_image_open; the
 *    expected (callee, caller, sites) triples are read off the fixture
 *    sources, and totals are cross-checked against llvm-dwarfdump;
 *  - synthetic sections written by the small builder below, covering every
 *    form, unit type and reference kind, plus malformed and hostile inputs;
 *  - the real sections again, truncated and mutated, served through a fake
 *    format backend from exact-size heap copies so ASan sees any overread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sections/debug/dwarf.h"
#include "sections/format.h"

#ifndef HP_SOURCE_DIR
#error "HP_SOURCE_DIR must name the source tree"
#endif
#ifndef HP_BINARY_DIR
#error "HP_BINARY_DIR must name the build tree"
#endif

#define FIX_SRC HP_SOURCE_DIR "/tests/fixtures/dwarf"
#define FIX_OUT HP_BINARY_DIR "/dwarf-fixture"

/* ===================================================================== */
/* Collecting results                                                    */
/* ===================================================================== */

typedef struct triple {
    char *callee, *caller;
    uint32_t sites;
} triple;

typedef struct results {
    triple v[256];
    size_t n;
    size_t total; /* all sites, including pairs beyond v */
} results;

static void collect(void *ctx, const char *callee, const char *caller, uint32_t sites)
{
    results *r = ctx;
    assert_non_null(callee);
    assert_non_null(caller);
    assert_true(sites > 0);
    r->total += sites;
    if (r->n < sizeof r->v / sizeof r->v[0])
        r->v[r->n++] = (triple){strdup(callee), strdup(caller), sites};
}

static void results_free(results *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].callee);
        free(r->v[i].caller);
    }
    r->n = r->total = 0;
}

/* Results must equal want exactly, in order (sorted by caller, callee). */
static void expect(const results *r, const triple *want, size_t n)
{
    for (size_t i = 0; i < r->n; i++)
        print_message("  got %s in %s: %u\n", r->v[i].callee, r->v[i].caller, r->v[i].sites);
    assert_int_equal(r->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r->v[i].callee, want[i].callee);
        assert_string_equal(r->v[i].caller, want[i].caller);
        assert_int_equal(r->v[i].sites, want[i].sites);
    }
}

/* From tests/fixtures/dwarf/inl.c (see its header), sorted by caller. */
static const triple want_c[] = {
    {"small", "helper", 1}, {"inner", "main", 1}, {"mid", "main", 1}, {"small", "main", 2},
    {"inner", "mid", 1},    {"inner", "nested", 1}, {"outer", "nested", 1},
};

/* From tests/fixtures/dwarf/inl.cpp. */
static const triple want_cxx[] = {
    {"_ZN2ns7Counter4bumpEi", "_Z3useRN2ns7CounterEi", 1},
    {"_ZN2ns7Counter4bumpEi", "_ZN2ns7Counter3runEi", 2},
    {"_Z5twiceIiET_S0_", "main", 1},
};

/* ===================================================================== */
/* A fake backend serving sections from memory                           */
/* ===================================================================== */

typedef struct fake_sec {
    const char *name;
    uint8_t *data; /* exact-size heap copy, or NULL for "absent" */
    size_t size;
} fake_sec;

typedef struct fake {
    fake_sec s[8];
    size_t n;
} fake;

static bool fake_section(const hp_image *img, const char *name, const uint8_t **data,
                         size_t *size)
{
    const fake *f = img->priv;
    for (size_t i = 0; i < f->n; i++)
        if (f->s[i].data && !strcmp(f->s[i].name, name)) {
            *data = f->s[i].data;
            *size = f->s[i].size;
            return true;
        }
    return false;
}

static const hp_format fake_fmt = {.name = "fake", .section = fake_section};

static void fake_add(fake *f, const char *name, const void *data, size_t size)
{
    assert_true(f->n < 8);
    uint8_t *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    if (size)
        memcpy(copy, data, size);
    f->s[f->n++] = (fake_sec){name, copy, size};
}

static fake_sec *fake_get(fake *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->s[i].name, name))
            return &f->s[i];
    return NULL;
}

static void fake_free(fake *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->s[i].data);
    f->n = 0;
}

static hp_status fake_run(fake *f, results *r, char *why, size_t why_len)
{
    hp_image img = {.path = "fake", .fmt = &fake_fmt, .priv = f};
    return hp_dwarf_inlined(&img, collect, r, why, why_len);
}

static const char *const debug_secs[] = {".debug_info", ".debug_abbrev", ".debug_str",
                                         ".debug_line_str", ".debug_str_offsets"};

/* Copy the debug sections of a real image into a fake one. */
static void fake_from_image(const hp_image *img, fake *f)
{
    for (size_t i = 0; i < sizeof debug_secs / sizeof *debug_secs; i++) {
        const uint8_t *d;
        size_t n;
        if (hp_image_section(img, debug_secs[i], &d, &n))
            fake_add(f, debug_secs[i], d, n);
    }
}

/* ===================================================================== */
/* Real fixtures                                                         */
/* ===================================================================== */

typedef struct variant {
    const char *name;   /* output file under FIX_OUT */
    const char *cc;     /* compiler, checked with command -v */
    const char *flags;  /* besides -O2 */
    const char *src;    /* inl.c or inl.cpp */
    const triple *want; /* NULL: expect HP_ERR_UNSUPPORTED */
    size_t nwant;
    bool optional; /* the compiler may not know the flags: skip if it fails */
} variant;

#define C_WANT want_c, sizeof want_c / sizeof *want_c
#define CXX_WANT want_cxx, sizeof want_cxx / sizeof *want_cxx

static const variant variants[] = {
    {"gcc-v5", "gcc", "-g", "inl.c", C_WANT, false},
    {"gcc-v4", "gcc", "-gdwarf-4", "inl.c", C_WANT, false},
    {"clang-v5", "clang", "-g", "inl.c", C_WANT, false},
    {"clang-v4", "clang", "-gdwarf-4", "inl.c", C_WANT, false},
    {"gcc-v3", "gcc", "-gdwarf-3 -gstrict-dwarf", "inl.c", C_WANT, true},
    {"gcc-v2", "gcc", "-gdwarf-2", "inl.c", C_WANT, true},
    {"clang-v2", "clang", "-gdwarf-2", "inl.c", C_WANT, true},
    {"gcc-v5-64", "gcc", "-g -gdwarf64", "inl.c", C_WANT, true},
    {"gcc-v4-64", "gcc", "-gdwarf-4 -gdwarf64", "inl.c", C_WANT, true},
    {"clang-v5-64", "clang", "-g -gdwarf64", "inl.c", C_WANT, true},
    {"gcc-lto", "gcc", "-g -flto", "inl.c", C_WANT, true}, /* DW_FORM_ref_addr origins */
    {"gcc-v4-lto", "gcc", "-gdwarf-4 -flto", "inl.c", C_WANT, true},
    {"gcc-types", "gcc", "-g -fdebug-types-section", "inl.c", C_WANT, true},
    {"clang-types", "clang", "-g -fdebug-types-section", "inl.c", C_WANT, true},
    {"gxx-v5", "g++", "-g", "inl.cpp", CXX_WANT, false},
    {"gxx-v4", "g++", "-gdwarf-4", "inl.cpp", CXX_WANT, false},
    {"clangxx-v5", "clang++", "-g", "inl.cpp", CXX_WANT, false},
    {"clangxx-v4", "clang++", "-gdwarf-4", "inl.cpp", CXX_WANT, false},
    {"gcc-nodebug", "gcc", "", "inl.c", NULL, 0, false},
    {"gcc-gz", "gcc", "-g -gz=zlib", "inl.c", NULL, 0, true},
    {"gcc-zdebug", "gcc", "-g -gz=zlib-gnu", "inl.c", NULL, 0, true},
    {"gcc-split", "gcc", "-g -gsplit-dwarf", "inl.c", NULL, 0, true}, /* names in .dwo */
    {"clang-split", "clang", "-g -gsplit-dwarf", "inl.c", NULL, 0, true},
};

static bool have_tool(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* Build a variant (once per run); false (and a message) when it cannot be
 * built here. */
static bool build(const variant *v, char *out, size_t out_len)
{
    static bool built[sizeof variants / sizeof *variants];
    bool *done = &built[v - variants];
    snprintf(out, out_len, "%s/%s", FIX_OUT, v->name);
    if (*done)
        return true;
    if (!have_tool(v->cc)) {
        print_message("  %s not installed: %s skipped\n", v->cc, v->name);
        return false;
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && %s -O2 %s -o %s %s/%s 2>%s.log", FIX_OUT, v->cc,
             v->flags, out, FIX_SRC, v->src, out);
    if (system(cmd) == 0)
        return *done = true;
    if (!v->optional)
        fail_msg("cannot build %s: %s", v->name, cmd);
    print_message("  %s does not take '%s': %s skipped\n", v->cc, v->flags, v->name);
    return false;
}

/* Number of DW_TAG_inlined_subroutine entries by llvm-dwarfdump, or -1. */
static long dwarfdump_count(const char *path)
{
    const char *tool = have_tool("llvm-dwarfdump-14") ? "llvm-dwarfdump-14"
                       : have_tool("llvm-dwarfdump")  ? "llvm-dwarfdump"
                                                      : NULL;
    if (!tool)
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --debug-info '%s' 2>/dev/null | "
             "grep -cE '^0x[0-9a-f]+: +DW_TAG_inlined_subroutine$'", tool, path);
    FILE *p = popen(cmd, "r");
    long n = -1;
    if (p && fscanf(p, "%ld", &n) != 1)
        n = -1;
    if (p)
        pclose(p);
    return n;
}

static void test_fixture(void **state)
{
    const variant *v = *state;
    char path[512];
    if (!build(v, path, sizeof path))
        skip();
    hp_diags d = {0};
    hp_image *img = NULL;
    assert_int_equal(hp_image_open(path, &d, &img), HP_OK);
    results r = {0};
    char why[256] = "x";
    hp_status s = hp_dwarf_inlined(img, collect, &r, why, sizeof why);
    print_message("  %s: %s %s\n", v->name, hp_status_str(s), why);
    if (!v->want) {
        assert_int_equal(s, HP_ERR_UNSUPPORTED);
        assert_true(why[0]);
        assert_int_equal(r.n, 0);
    } else {
        assert_int_equal(s, HP_OK);
        assert_string_equal(why, "");
        expect(&r, v->want, v->nwant);
        long dd = dwarfdump_count(path);
        if (dd >= 0)
            assert_int_equal((long)r.total, dd);
    }
    results_free(&r);
    hp_image_close(img);
    hp_diags_free(&d);
}

/* The test binary itself: hundreds of inlined entries from real code. */
static void test_self_vs_dwarfdump(void **state)
{
    (void)state;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    long dd = dwarfdump_count(self);
    if (dd < 0)
        skip();
    hp_diags d = {0};
    hp_image *img = NULL;
    assert_int_equal(hp_image_open(self, &d, &img), HP_OK);
    results r = {0};
    char why[256];
    hp_status s = hp_dwarf_inlined(img, collect, &r, why, sizeof why);
    print_message("  self: %s, %zu sites, llvm-dwarfdump %ld\n", hp_status_str(s), r.total, dd);
    if (s == HP_ERR_UNSUPPORTED) /* built without -g */
        assert_int_equal(dd, 0);
    else
        assert_int_equal((long)r.total, dd);
    results_free(&r);
    hp_image_close(img);
    hp_diags_free(&d);
}

/* ===================================================================== */
/* A builder for synthetic sections                                      */
/* ===================================================================== */

typedef struct bb {
    uint8_t *p;
    size_t n, cap;
} bb;

static void bput(bb *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void bint(bb *b, uint64_t v, int size)
{
    for (int i = 0; i < size; i++) {
        uint8_t c = i < 8 ? (uint8_t)(v >> (8 * i)) : 0;
        bput(b, &c, 1);
    }
}

static void bset(bb *b, size_t at, uint64_t v, int size)
{
    for (int i = 0; i < size; i++)
        b->p[at + i] = (uint8_t)(v >> (8 * i));
}

static void buleb(bb *b, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        c |= v ? 0x80 : 0;
        bput(b, &c, 1);
    } while (v);
}

static void bsleb(bb *b, int64_t v)
{
    for (bool more = true; more;) {
        uint8_t c = v & 0x7f;
        v >>= 7;
        more = !((v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40)));
        bput(b, &(uint8_t){c | (more ? 0x80 : 0)}, 1);
    }
}

static size_t bstr(bb *b, const char *s)
{
    size_t at = b->n;
    bput(b, s, strlen(s) + 1);
    return at;
}

static void bfree(bb *b)
{
    free(b->p);
    *b = (bb){0};
}

enum {
    T_compile_unit = 0x11, T_partial_unit = 0x3c, T_type_unit = 0x41, T_lexical_block = 0x0b,
    T_inlined = 0x1d, T_subprogram = 0x2e,
    AT_name = 0x03, AT_low_pc = 0x11, AT_inline = 0x20, AT_origin = 0x31, AT_decl = 0x3c,
    AT_spec = 0x47, AT_linkage = 0x6e, AT_sob = 0x72, AT_mips_linkage = 0x2007, AT_user = 0x2100,
    F_addr = 0x01, F_block2 = 0x03, F_block4 = 0x04, F_data2 = 0x05, F_data4 = 0x06,
    F_data8 = 0x07, F_string = 0x08, F_block = 0x09, F_block1 = 0x0a, F_data1 = 0x0b,
    F_flag = 0x0c, F_sdata = 0x0d, F_strp = 0x0e, F_udata = 0x0f, F_ref_addr = 0x10,
    F_ref1 = 0x11, F_ref2 = 0x12, F_ref4 = 0x13, F_ref8 = 0x14, F_ref_udata = 0x15,
    F_indirect = 0x16, F_sec_offset = 0x17, F_exprloc = 0x18, F_flag_present = 0x19,
    F_strx = 0x1a, F_addrx = 0x1b, F_ref_sup4 = 0x1c, F_strp_sup = 0x1d, F_data16 = 0x1e,
    F_line_strp = 0x1f, F_ref_sig8 = 0x20, F_implicit_const = 0x21, F_loclistx = 0x22,
    F_rnglistx = 0x23, F_ref_sup8 = 0x24, F_strx1 = 0x25, F_strx2 = 0x26, F_strx3 = 0x27,
    F_strx4 = 0x28, F_addrx1 = 0x29, F_addrx2 = 0x2a, F_addrx3 = 0x2b, F_addrx4 = 0x2c,
    F_GNU_addr_index = 0x1f01, F_GNU_str_index = 0x1f02, F_GNU_ref_alt = 0x1f20,
    F_GNU_strp_alt = 0x1f21,
};

/* One declaration: (attribute, form) int pairs ending with 0, 0; an
 * implicit_const form takes its value as the next int. */
static void abbrev(bb *a, uint64_t code, int tag, int children, ...)
{
    va_list ap;
    va_start(ap, children);
    buleb(a, code);
    buleb(a, (uint64_t)tag);
    bint(a, (uint64_t)children, 1);
    for (;;) {
        int at = va_arg(ap, int), form = va_arg(ap, int);
        buleb(a, (uint64_t)at);
        buleb(a, (uint64_t)form);
        if (form == F_implicit_const)
            bsleb(a, va_arg(ap, int));
        if (!at && !form)
            break;
    }
    va_end(ap);
}

typedef struct unit {
    size_t start; /* unit header offset: CU-relative references count from here */
    int off_size;
} unit;

/* A unit header; version 5 takes a unit type. unit_end patches the length. */
static unit unit_begin(bb *info, int version, int type, int addr_size, uint64_t abbrev_off,
                       int off_size)
{
    unit u = {info->n, off_size};
    if (off_size == 8)
        bint(info, 0xffffffffu, 4);
    bint(info, 0, off_size);
    bint(info, (uint64_t)version, 2);
    if (version >= 5) {
        bint(info, (uint64_t)type, 1);
        bint(info, (uint64_t)addr_size, 1);
        bint(info, abbrev_off, off_size);
    } else {
        bint(info, abbrev_off, off_size);
        bint(info, (uint64_t)addr_size, 1);
    }
    return u;
}

static void unit_end(bb *info, unit u)
{
    size_t len_at = u.start + (u.off_size == 8 ? 4 : 0);
    bset(info, len_at, info->n - len_at - (size_t)u.off_size, u.off_size);
}

typedef struct dwarf_bufs {
    bb info, abbrev, str, line_str, str_offs;
} dwarf_bufs;

static void bufs_to_fake(const dwarf_bufs *d, fake *f)
{
    fake_add(f, ".debug_info", d->info.p, d->info.n);
    fake_add(f, ".debug_abbrev", d->abbrev.p, d->abbrev.n);
    if (d->str.n)
        fake_add(f, ".debug_str", d->str.p, d->str.n);
    if (d->line_str.n)
        fake_add(f, ".debug_line_str", d->line_str.p, d->line_str.n);
    if (d->str_offs.n)
        fake_add(f, ".debug_str_offsets", d->str_offs.p, d->str_offs.n);
}

static void bufs_free(dwarf_bufs *d)
{
    bfree(&d->info);
    bfree(&d->abbrev);
    bfree(&d->str);
    bfree(&d->line_str);
    bfree(&d->str_offs);
}

/* ===================================================================== */
/* The synthetic corpus: every form, unit kind and reference kind        */
/* ===================================================================== */

/* Unit 1 (DWARF 5): abstract "small" and "tiny" (strx1 names, implicit_const
 * DW_AT_inline), a declaration, concrete "main" whose abbreviation uses
 * every form, an out-of-line copy of small named only through its origin.
 * Returns the offset of small's abstract DIE for the other units. */
static size_t synth_unit1(dwarf_bufs *d)
{
    bb *a = &d->abbrev, *i = &d->info;
    size_t s_main = bstr(&d->str, "main");
    bstr(&d->line_str, "/comp/dir");
    bint(&d->str_offs, 4 + 5 * 4, 4), bint(&d->str_offs, 5, 2), bint(&d->str_offs, 0, 2);
    bint(&d->str_offs, bstr(&d->str, "small"), 4);
    bint(&d->str_offs, bstr(&d->str, "tiny"), 4);
    bint(&d->str_offs, bstr(&d->str, "producer"), 4);
    bint(&d->str_offs, bstr(&d->str, "desc"), 4);
    bint(&d->str_offs, bstr(&d->str, "more"), 4);

    abbrev(a, 1, T_compile_unit, 1, AT_sob, F_sec_offset, 0x25, F_strx1, 0x1b, F_line_strp,
           0x1c, F_data16, 0, 0);
    abbrev(a, 2, T_subprogram, 1, AT_name, F_strx1, AT_inline, F_implicit_const, 3, 0x3b,
           F_data2, 0x40, F_exprloc, 0, 0);
    abbrev(a, 3, T_subprogram, 1, AT_name, F_strp, AT_low_pc, F_addrx, 0x12, F_data4, 0x55,
           F_rnglistx, 0x02, F_loclistx, 0x3a, F_block1, 0x3b, F_block2, 0x3e, F_block4, 0x10,
           F_block, 0x39, F_sdata, 0x3f, F_flag, 0x34, F_flag_present, 0x1c, F_data8, 0x49,
           F_ref_sig8, 0x52, F_addr, AT_user + 0, F_addrx1, AT_user + 1, F_addrx2, AT_user + 2,
           F_addrx3, AT_user + 3, F_addrx4, AT_user + 4, F_strx, AT_user + 5, F_strx2,
           AT_user + 6, F_strx3, AT_user + 7, F_strx4, AT_user + 8, F_ref_udata, AT_user + 9,
           F_ref_addr, AT_user + 10, F_GNU_addr_index, AT_user + 11, F_GNU_str_index,
           AT_user + 12, F_ref_sup4, AT_user + 13, F_ref_sup8, AT_user + 14, F_strp_sup,
           AT_user + 15, F_GNU_strp_alt, AT_user + 16, F_data1, AT_user + 17, F_data2,
           AT_user + 18, F_data4, AT_user + 19, F_ref1, AT_user + 20, F_ref2, AT_user + 21,
           F_ref4, AT_user + 22, F_ref8, AT_user + 23, F_sec_offset, AT_user + 24, F_udata,
           AT_user + 25, F_string, AT_user + 26, F_implicit_const, -5, AT_user + 27, F_indirect,
           AT_name, F_string /* a second name: ignored */, 0, 0);
    abbrev(a, 4, T_inlined, 0, AT_origin, F_ref4, 0x59, F_udata, 0, 0);
    abbrev(a, 5, T_inlined, 1, AT_origin, F_indirect, 0, 0);
    abbrev(a, 6, T_inlined, 0, AT_origin, F_ref_sig8, 0, 0);
    abbrev(a, 7, T_inlined, 0, AT_origin, F_GNU_ref_alt, 0, 0);
    abbrev(a, 8, T_subprogram, 1, AT_name, F_string, AT_decl, F_flag_present, 0, 0);
    abbrev(a, 9, T_lexical_block, 1, 0, 0);
    abbrev(a, 10, T_subprogram, 1, AT_origin, F_ref1, AT_low_pc, F_addr, 0, 0);
    bint(a, 0, 1);

    unit u = unit_begin(i, 5, 1, 8, 0, 4);
    buleb(i, 1), bint(i, 8, 4), bint(i, 2, 1), bint(i, 0, 4), bint(i, 0, 16);
    size_t small = i->n; /* abstract: its inlined child holds no code */
    buleb(i, 2), bint(i, 0, 1), bint(i, 10, 2), buleb(i, 1), bint(i, 0x9c, 1);
    buleb(i, 4);
    size_t fix_tiny = i->n;
    bint(i, 0, 4), buleb(i, 7), bint(i, 0, 1);
    size_t tiny = i->n;
    bset(i, fix_tiny, tiny - u.start, 4);
    buleb(i, 2), bint(i, 1, 1), bint(i, 11, 2), buleb(i, 0), bint(i, 0, 1);
    buleb(i, 8), bstr(i, "decl_only"); /* a declaration: not counted either */
    buleb(i, 4), bint(i, small - u.start, 4), buleb(i, 1), bint(i, 0, 1);

    buleb(i, 3), bint(i, s_main, 4), buleb(i, 0), bint(i, 0x40, 4), buleb(i, 1), buleb(i, 2);
    bint(i, 1, 1), bint(i, 0xaa, 1);
    bint(i, 2, 2), bint(i, 0xbbbb, 2);
    bint(i, 3, 4), bint(i, 0xcccccc, 3);
    buleb(i, 1), bint(i, 0xdd, 1);
    bsleb(i, -100), bint(i, 1, 1), bint(i, 0x1122334455667788ull, 8), bint(i, 0xabcdef, 8);
    bint(i, 0x401000, 8);
    bint(i, 1, 1), bint(i, 2, 2), bint(i, 3, 3), bint(i, 4, 4);
    buleb(i, 3), bint(i, 4, 2), bint(i, 3, 3), bint(i, 2, 4);
    buleb(i, small - u.start), bint(i, small, 4), buleb(i, 5), buleb(i, 3);
    bint(i, 7, 4), bint(i, 7, 8), bint(i, 7, 4), bint(i, 7, 4);
    bint(i, 1, 1), bint(i, 2, 2), bint(i, 3, 4), bint(i, 4, 1), bint(i, 5, 2), bint(i, 6, 4);
    bint(i, 7, 8), bint(i, 8, 4), buleb(i, 300), bstr(i, "blob");
    buleb(i, F_data16), bint(i, 0, 16); /* the indirect attribute */
    bstr(i, "ignored_second_name");
    buleb(i, 4), bint(i, small - u.start, 4), buleb(i, 3);
    buleb(i, 9);
    buleb(i, 5), buleb(i, F_ref_udata), buleb(i, small - u.start);
    buleb(i, 4), bint(i, tiny - u.start, 4), buleb(i, 4), bint(i, 0, 1);
    buleb(i, 6), bint(i, 0x1234, 8);
    buleb(i, 7), bint(i, 0x10, 4);
    bint(i, 0, 1), bint(i, 0, 1);

    buleb(i, 10), bint(i, small - u.start, 1), bint(i, 0x402000, 8);
    buleb(i, 4), bint(i, tiny - u.start, 4), buleb(i, 5), bint(i, 0, 1);
    bint(i, 0, 1);
    unit_end(i, u);
    return small;
}

/* Unit 2: 64-bit DWARF 4, sparse abbreviation codes, linkage names (strp
 * with 8-byte offsets, DW_AT_MIPS_linkage_name), ref_addr and ref8. */
static void synth_unit2(dwarf_bufs *d, size_t small)
{
    bb *a = &d->abbrev, *i = &d->info;
    size_t tab = a->n, s_link = bstr(&d->str, "_Z6helperv");
    abbrev(a, 1000000, T_compile_unit, 1, AT_name, F_string, 0, 0);
    abbrev(a, 3000000000u, T_subprogram, 1, AT_linkage, F_strp, AT_name, F_string, 0, 0);
    abbrev(a, 5, T_subprogram, 1, AT_mips_linkage, F_string, AT_name, F_string, AT_inline,
           F_data1, 0, 0);
    abbrev(a, 7, T_inlined, 0, AT_origin, F_ref_addr, 0, 0);
    abbrev(a, 8, T_inlined, 0, AT_origin, F_ref8, 0, 0);
    bint(a, 0, 1);
    unit u = unit_begin(i, 4, 0, 8, tab, 8);
    buleb(i, 1000000), bstr(i, "cu2");
    size_t local = i->n;
    buleb(i, 5), bstr(i, "_ZL5localv"), bstr(i, "local"), bint(i, 1, 1), bint(i, 0, 1);
    buleb(i, 3000000000u), bint(i, s_link, 8), bstr(i, "helper");
    buleb(i, 7), bint(i, small, 8);
    buleb(i, 8), bint(i, local - u.start, 8);
    bint(i, 0, 1), bint(i, 0, 1);
    unit_end(i, u);
}

/* Unit 3: DWARF 2 with 8-byte addresses, where ref_addr is address-sized;
 * "main" again, as an inline string (merged with unit 1's by content). */
static void synth_unit3(dwarf_bufs *d, size_t small)
{
    bb *a = &d->abbrev, *i = &d->info;
    size_t tab = a->n;
    abbrev(a, 1, T_compile_unit, 1, 0, 0);
    abbrev(a, 2, T_subprogram, 1, AT_name, F_string, AT_low_pc, F_addr, 0, 0);
    abbrev(a, 3, T_inlined, 0, AT_origin, F_ref_addr, 0, 0);
    bint(a, 0, 1);
    unit u = unit_begin(i, 2, 0, 8, tab, 4);
    buleb(i, 1);
    const char *fns[] = {"v2fn", "main"};
    for (int k = 0; k < 2; k++) {
        buleb(i, 2), bstr(i, fns[k]), bint(i, 0x1000, 8);
        buleb(i, 3), bint(i, small, 8), bint(i, 0, 1);
    }
    bint(i, 0, 1);
    unit_end(i, u);
    /* A DWARF 5 type unit with the same shape of content: never walked. */
    u = unit_begin(i, 5, 2, 8, tab, 4);
    bint(i, 0x1122334455667788ull, 8), bint(i, 0, 4);
    buleb(i, 1), buleb(i, 2), bstr(i, "tu_fn"), bint(i, 0, 8);
    buleb(i, 3), bint(i, small, 4), bint(i, 0, 1), bint(i, 0, 1);
    unit_end(i, u);
}

/* Units 4-6: an unknown version and an unknown unit type (both skipped),
 * then a DWARF 5 partial unit (as dwz makes) whose function holds small. */
static void synth_unit4(dwarf_bufs *d, size_t small)
{
    bb *a = &d->abbrev, *i = &d->info;
    unit u = unit_begin(i, 9, 0, 8, 0, 4);
    bint(i, 0xdeadbeef, 4);
    unit_end(i, u);
    u = unit_begin(i, 5, 0x80, 8, 0, 4);
    bint(i, 0xdeadbeef, 4);
    unit_end(i, u);
    size_t tab = a->n, s_pfn = bstr(&d->str, "pfn");
    abbrev(a, 1, T_partial_unit, 1, 0, 0);
    abbrev(a, 2, T_subprogram, 1, AT_name, F_strp, 0, 0);
    abbrev(a, 3, T_inlined, 0, AT_origin, F_ref_addr, 0, 0);
    bint(a, 0, 1);
    u = unit_begin(i, 5, 3, 8, tab, 4);
    buleb(i, 1), buleb(i, 2), bint(i, s_pfn, 4);
    buleb(i, 3), bint(i, small, 4), bint(i, 0, 1), bint(i, 0, 1);
    unit_end(i, u);
}

static void synth_all(dwarf_bufs *d)
{
    size_t small = synth_unit1(d);
    synth_unit2(d, small);
    synth_unit3(d, small);
    synth_unit4(d, small);
}

static const triple want_synth[] = {
    {"_ZL5localv", "_Z6helperv", 1}, {"small", "_Z6helperv", 1}, {"small", "main", 3},
    {"tiny", "main", 1},             {"small", "pfn", 1},        {"tiny", "small", 1},
    {"small", "v2fn", 1},
};

/* The fuzzer's container format (tests/fuzz/fuzz_dwarf.c), so the corpus
 * can be written as a seed: HP_DWARF_SEED_OUT=path tests/test_dwarf. */
static void write_seed(const dwarf_bufs *d, const char *path)
{
    const bb *secs[] = {&d->info, &d->abbrev, &d->str, &d->line_str, &d->str_offs};
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("HPDW", 1, 4, f);
    for (int k = 0; k < 5; k++)
        fwrite((uint8_t[4]){secs[k]->n, secs[k]->n >> 8, secs[k]->n >> 16, secs[k]->n >> 24},
               1, 4, f);
    for (int k = 0; k < 5; k++)
        fwrite(secs[k]->p ? (const void *)secs[k]->p : "", 1, secs[k]->n, f);
    assert_int_equal(fclose(f), 0);
}

static void test_synthetic(void **state)
{
    (void)state;
    dwarf_bufs d = {0};
    synth_all(&d);
    if (getenv("HP_DWARF_SEED_OUT"))
        write_seed(&d, getenv("HP_DWARF_SEED_OUT"));
    fake f = {0};
    bufs_to_fake(&d, &f);
    results r = {0};
    char why[256];
    hp_status s = fake_run(&f, &r, why, sizeof why);
    print_message("  %s %s\n", hp_status_str(s), why);
    assert_int_equal(s, HP_OK);
    expect(&r, want_synth, sizeof want_synth / sizeof *want_synth);
    results_free(&r);
    fake_free(&f);
    bufs_free(&d);
}

/* ===================================================================== */
/* Malformed and unsupported input                                       */
/* ===================================================================== */

/* A minimal DWARF 4 unit: abbreviations 1 (unit), 2 (subprogram "f"),
 * 3 (inlined, ref4 origin), 4 (subprogram with ref4 origin, no children),
 * 5 (lexical block) and what `extra` adds; the body is up to the caller. */
static unit mini_begin(dwarf_bufs *d, void (*extra)(bb *a))
{
    bb *a = &d->abbrev;
    size_t tab = a->n;
    abbrev(a, 1, T_compile_unit, 1, 0, 0);
    abbrev(a, 2, T_subprogram, 1, AT_name, F_string, 0, 0);
    abbrev(a, 3, T_inlined, 0, AT_origin, F_ref4, 0, 0);
    abbrev(a, 4, T_subprogram, 0, AT_name, F_string, AT_origin, F_ref4, 0, 0);
    abbrev(a, 5, T_lexical_block, 1, 0, 0);
    if (extra)
        extra(a);
    bint(a, 0, 1);
    unit u = unit_begin(&d->info, 4, 0, 8, tab, 4);
    buleb(&d->info, 1);
    return u;
}

/* One good unit: g inlined once into f. */
static void mini_good(dwarf_bufs *d)
{
    bb *i = &d->info;
    unit u = mini_begin(d, NULL);
    size_t g = i->n;
    buleb(i, 2), bstr(i, "g"), bint(i, 0, 1);
    buleb(i, 2), bstr(i, "f"), buleb(i, 3), bint(i, g - u.start, 4), bint(i, 0, 1);
    bint(i, 0, 1);
    unit_end(i, u);
}

static hp_status run_bufs(dwarf_bufs *d, results *r, char *why, size_t why_len)
{
    fake f = {0};
    bufs_to_fake(d, &f);
    hp_status s = fake_run(&f, r, why, why_len);
    print_message("  %s: %s\n", hp_status_str(s), why);
    fake_free(&f);
    return s;
}

static void expect_format(dwarf_bufs *d, const char *reason, size_t nresults)
{
    results r = {0};
    char why[256] = "";
    assert_int_equal(run_bufs(d, &r, why, sizeof why), HP_ERR_FORMAT);
    assert_non_null(strstr(why, reason));
    assert_null(strchr(why, '\n'));
    assert_int_equal(r.n, nresults);
    results_free(&r);
    bufs_free(d);
}

static void test_bad_cycle(void **state)
{
    (void)state;
    dwarf_bufs d = {0};
    bb *i = &d.info;
    unit u = mini_begin(&d, NULL);
    size_t x = i->n, y = x + 1 + 1 + 4; /* code, "", ref4: x -> y -> x */
    buleb(i, 4), bstr(i, ""), bint(i, y - u.start, 4);
    buleb(i, 4), bstr(i, ""), bint(i, x - u.start, 4);
    buleb(i, 2), bstr(i, "f"), buleb(i, 3), bint(i, x - u.start, 4), bint(i, 0, 1);
    bint(i, 0, 1);
    unit_end(i, u);
    expect_format(&d, "chain", 0);
}

static void extra_unknown_form(bb *a) { abbrev(a, 6, T_subprogram, 0, AT_name, 0x7f, 0, 0); }

static void test_bad_form(void **state)
{
    (void)state;
    dwarf_bufs d = {0};
    unit u = mini_begin(&d, extra_unknown_form);
    buleb(&d.info, 6), bint(&d.info, 0, 4), bint(&d.info, 0, 1);
    unit_end(&d.info, u);
    expect_format(&d, "unknown form 0x7f", 0);
}

static void test_bad_depth(void **state)
{
    (void)state;
    dwarf_bufs d = {0};
    unit u = mini_begin(&d, NULL);
    for (int k = 0; k < 5000; k++)
        buleb(&d.info, 5);
    unit_end(&d.info, u);
    expect_format(&d, "nested deeper", 0);
}

static void test_bad_code_and_ref(void **state)
{
    (void)state;
    dwarf_bufs d = {0};
    unit u = mini_begin(&d, NULL);
    buleb(&d.info, 99), bint(&d.info, 0, 1);
    unit_end(&d.info, u);
    expect_format(&d, "abbreviation code 99", 0);

    u = mini_begin(&d, NULL);
    buleb(&d.info, 2), bstr(&d.info, "f"), buleb(&d.info, 3), bint(&d.info, 0x100000, 4);
    bint(&d.info, 0, 2);
    unit_end(&d.info, u);
    expect_format(&d, "bad reference", 0);
}

/* A bad unit after a good one: the good unit's pair is still reported. */
static void test_bad_partial(void **state)
{
    (void)state;
    dwarf_bufs d = {0};
    mini_good(&d);
    unit u = mini_begin(&d, NULL);
    buleb(&d.info, 2), bstr(&d.info, "h"), buleb(&d.info, 77);
    unit_end(&d.info, u);
    mini_good(&d); /* and a good one after it */
    results r = {0};
    char why[256];
    assert_int_equal(run_bufs(&d, &r, why, sizeof why), HP_ERR_FORMAT);
    assert_non_null(strstr(why, "abbreviation code 77"));
    expect(&r, (const triple[]){{"g", "f", 2}}, 1);
    results_free(&r);

    /* A unit running past the end: the scan stops, earlier units stand. */
    bint(&d.info, 0x1000, 4), bint(&d.info, 4, 2);
    assert_int_equal(run_bufs(&d, &r, why, sizeof why), HP_ERR_FORMAT);
    assert_non_null(strstr(why, "runs past the end"));
    assert_int_equal(r.total, 2);
    results_free(&r);
    bufs_free(&d);
}

static void extra_strx(bb *a) { abbrev(a, 6, T_subprogram, 1, AT_name, F_strx1, 0, 0); }

static void test_bad_strings(void **state)
{
    (void)state;
    dwarf_bufs d = {0};
    unit u = mini_begin(&d, extra_strx);
    size_t g = d.info.n;
    buleb(&d.info, 2), bstr(&d.info, "g"), bint(&d.info, 0, 1);
    buleb(&d.info, 6), bint(&d.info, 200, 1); /* strx1 200: beyond .debug_str_offsets */
    buleb(&d.info, 3), bint(&d.info, g - u.start, 4), bint(&d.info, 0, 2);
    unit_end(&d.info, u);
    bint(&d.str_offs, 0, 8);
    bstr(&d.str, "x");
    expect_format(&d, "string index 200", 0);
}

static void test_unsupported(void **state)
{
    (void)state;
    results r = {0};
    char why[256];
    fake f = {0};
    fake_add(&f, ".text", "\xc3", 1);
    assert_int_equal(fake_run(&f, &r, why, sizeof why), HP_ERR_UNSUPPORTED);
    assert_non_null(strstr(why, ".debug_info"));
    /* An SHF_COMPRESSED section: Elf64_Chdr, zlib. */
    uint8_t chdr[32] = {1, 0, 0, 0, 0, 0, 0, 0, 0x40};
    fake_add(&f, ".debug_info", chdr, sizeof chdr);
    assert_int_equal(fake_run(&f, &r, why, sizeof why), HP_ERR_UNSUPPORTED);
    assert_non_null(strstr(why, "compressed"));
    fake_free(&f);
    /* Empty .debug_info: nothing to report. */
    fake_add(&f, ".debug_info", "", 0);
    assert_int_equal(fake_run(&f, &r, why, sizeof why), HP_OK);
    fake_free(&f);
    /* .debug_info without .debug_abbrev. */
    fake_add(&f, ".debug_info", "\x07\0\0\0\x04\0\0\0\0\0\x08", 11);
    assert_int_equal(fake_run(&f, &r, why, sizeof why), HP_ERR_FORMAT);
    assert_non_null(strstr(why, ".debug_abbrev"));
    /* Reserved length, then a truncated header. */
    fake_add(&f, ".debug_abbrev", "\0", 1);
    f.s[0].data[0] = 0xf0, f.s[0].data[1] = f.s[0].data[2] = f.s[0].data[3] = 0xff;
    assert_int_equal(fake_run(&f, &r, why, sizeof why), HP_ERR_FORMAT);
    assert_non_null(strstr(why, "reserved"));
    fake_free(&f);
    assert_int_equal(r.n, 0);
    hp_image img = {.fmt = &fake_fmt, .priv = &f};
    assert_int_equal(hp_dwarf_inlined(NULL, collect, &r, why, sizeof why), HP_ERR_INTERNAL);
    assert_int_equal(hp_dwarf_inlined(&img, NULL, &r, NULL, 0), HP_ERR_INTERNAL);
}

/* ===================================================================== */
/* Hostile input must stay linear                                        */
/* ===================================================================== */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* 200k zero-size attributes in one abbreviation, used by 1M DIEs. */
static void test_hostile_wide_abbrev(void **state)
{
    (void)state;
    dwarf_bufs d = {0};
    bb *a = &d.abbrev;
    buleb(a, 1), buleb(a, T_compile_unit), bint(a, 1, 1), bint(a, 0, 2);
    buleb(a, 2), buleb(a, T_lexical_block), bint(a, 0, 1);
    for (int k = 0; k < 200000; k++) {
        buleb(a, AT_user), buleb(a, k & 1 ? F_flag_present : F_implicit_const);
        if (!(k & 1))
            bsleb(a, k);
    }
    bint(a, 0, 3);
    unit u = unit_begin(&d.info, 5, 1, 8, 0, 4);
    buleb(&d.info, 1);
    for (int k = 0; k < 1000000; k++)
        buleb(&d.info, 2);
    unit_end(&d.info, u);
    results r = {0};
    char why[256];
    double t0 = now();
    assert_int_equal(run_bufs(&d, &r, why, sizeof why), HP_OK);
    print_message("  %.3f s\n", now() - t0);
    assert_true(now() - t0 < 20);
    bufs_free(&d);
}

/* 20k units whose abbreviation offsets are suffixes of one long table. */
static void test_hostile_overlapping_tables(void **state)
{
    (void)state;
    dwarf_bufs d = {0};
    for (int k = 0; k < 20000; k++)
        abbrev(&d.abbrev, 1, T_compile_unit, 0, AT_user, F_data1, 0, 0);
    for (int k = 0; k < 20000; k++) {
        unit u = unit_begin(&d.info, 4, 0, 8, (uint64_t)k * 8, 4); /* 8-byte entries */
        buleb(&d.info, 1), bint(&d.info, 0, 1);
        unit_end(&d.info, u);
    }
    results r = {0};
    char why[256];
    double t0 = now();
    assert_int_equal(run_bufs(&d, &r, why, sizeof why), HP_ERR_FORMAT);
    assert_non_null(strstr(why, "overlap"));
    print_message("  %.3f s\n", now() - t0);
    assert_true(now() - t0 < 20);
    bufs_free(&d);
}

/* ===================================================================== */
/* Truncated and mutated real sections                                   */
/* ===================================================================== */

static void run_mutant(fake *f)
{
    results r = {0};
    char why[256];
    hp_status s = fake_run(f, &r, why, sizeof why);
    assert_true(s == HP_OK || s == HP_ERR_FORMAT || s == HP_ERR_UNSUPPORTED);
    if (s != HP_OK)
        assert_true(why[0] != '\0');
    results_free(&r);
}

/* Every truncation of every section, every byte of .debug_info and
 * .debug_abbrev flipped four ways, then random multi-byte mutations. */
static void mutate_all(fake *f, unsigned seed)
{
    for (size_t k = 0; k < f->n; k++) {
        fake_sec *sec = &f->s[k];
        size_t size = sec->size;
        for (size_t n = 0; n < size; n += 1 + n / 512) {
            uint8_t *orig = sec->data;
            sec->data = malloc(n ? n : 1);
            memcpy(sec->data, orig, n);
            sec->size = n;
            run_mutant(f);
            free(sec->data);
            sec->data = orig;
            sec->size = size;
        }
    }
    const char *flip[] = {".debug_info", ".debug_abbrev"};
    for (int k = 0; k < 2; k++) {
        fake_sec *sec = fake_get(f, flip[k]);
        for (size_t at = 0; sec && at < sec->size; at += 1 + at / 2048) {
            uint8_t keep = sec->data[at];
            const uint8_t vals[] = {keep ^ 0xff, keep ^ 0x80, 0, 0xff};
            for (int v = 0; v < 4; v++)
                sec->data[at] = vals[v], run_mutant(f);
            sec->data[at] = keep;
        }
    }
    srand(seed);
    for (int iter = 0; iter < 3000; iter++) {
        fake_sec *sec = &f->s[(size_t)rand() % f->n];
        if (!sec->size)
            continue;
        uint8_t *copy = malloc(sec->size), *orig = sec->data;
        memcpy(copy, orig, sec->size);
        for (int m = 0, nm = 1 + rand() % 8; m < nm; m++)
            copy[(size_t)rand() % sec->size] = (uint8_t)rand();
        sec->data = copy;
        run_mutant(f);
        sec->data = orig;
        free(copy);
    }
}

static void test_mutate_fixtures(void **state)
{
    (void)state;
    const char *names[] = {"gcc-v5", "clang-v5", "gcc-lto", "gcc-v4-64", "gxx-v4"};
    size_t done = 0;
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        const variant *v = NULL;
        for (size_t j = 0; j < sizeof variants / sizeof *variants; j++)
            if (!strcmp(variants[j].name, names[k]))
                v = &variants[j];
        char path[512];
        if (!v || !build(v, path, sizeof path))
            continue;
        hp_diags dg = {0};
        hp_image *img = NULL;
        assert_int_equal(hp_image_open(path, &dg, &img), HP_OK);
        fake f = {0};
        fake_from_image(img, &f);
        hp_image_close(img);
        hp_diags_free(&dg);
        mutate_all(&f, (unsigned)k);
        fake_free(&f);
        done++;
    }
    if (!done)
        skip();
}

static void test_mutate_synthetic(void **state)
{
    (void)state;
    dwarf_bufs d = {0};
    synth_all(&d);
    fake f = {0};
    bufs_to_fake(&d, &f);
    mutate_all(&f, 42);
    fake_free(&f);
    bufs_free(&d);
}

/* Every allocation failing in turn: HP_ERR_NOMEM and nothing leaked. */
static void test_alloc_failure(void **state)
{
    (void)state;
    dwarf_bufs d = {0};
    synth_all(&d);
    fake f = {0};
    bufs_to_fake(&d, &f);
    hp_status s = HP_ERR_NOMEM;
    long n = 0;
    for (; s == HP_ERR_NOMEM && n < 10000; n++) {
        results r = {0};
        char why[256];
        hp_mem_fail_after(n);
        s = fake_run(&f, &r, why, sizeof why);
        hp_mem_fail_after(-1);
        if (s == HP_ERR_NOMEM)
            assert_int_equal(r.n, 0);
        results_free(&r);
    }
    print_message("  succeeded with %ld allocations allowed\n", n - 1);
    assert_int_equal(s, HP_OK);
    fake_free(&f);
    bufs_free(&d);
}

int main(void)
{
    struct CMUnitTest tests[sizeof variants / sizeof *variants + 16];
    size_t n = 0;
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++)
        tests[n++] = (struct CMUnitTest){variants[i].name, test_fixture, NULL, NULL,
                                         (void *)&variants[i]};
    const struct CMUnitTest rest[] = {
        cmocka_unit_test(test_self_vs_dwarfdump),
        cmocka_unit_test(test_synthetic),
        cmocka_unit_test(test_bad_cycle),
        cmocka_unit_test(test_bad_form),
        cmocka_unit_test(test_bad_depth),
        cmocka_unit_test(test_bad_code_and_ref),
        cmocka_unit_test(test_bad_partial),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_hostile_wide_abbrev),
        cmocka_unit_test(test_hostile_overlapping_tables),
        cmocka_unit_test(test_mutate_synthetic),
        cmocka_unit_test(test_mutate_fixtures),
        cmocka_unit_test(test_alloc_failure),
    };
    for (size_t i = 0; i < sizeof rest / sizeof *rest; i++)
        tests[n++] = rest[i];
    return _cmocka_run_group_tests("dwarf", tests, n, NULL, NULL);
}
