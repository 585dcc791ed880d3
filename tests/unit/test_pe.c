/* Unit tests for the PE32+ backend (sections/pe/pe.c, sections/pe/pe_write.c).
 *
 * Two sources of images:
 *  - synthetic ones from the small PE writer below: headers, .text with
 *    three functions, .rdata with exports, .pdata and a debug directory,
 *    .data, .reloc and a COFF symbol table. Used for load, place + emit
 *    round trips (re-opened with hp_image_open), header growth, the
 *    certificate, every malformation we can think of, truncations, byte
 *    flips and allocation failures;
 *  - real ones, built at test time with x86_64-w64-mingw32-gcc and
 *    GOOS=windows go, with every Go toolchain go_toolchains.h lists (each
 *    skipped when its toolchain is missing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "go_toolchains.h"
#include "rewriter/rewriter.h"
#include "sections/format.h"

#ifndef HP_SOURCE_DIR
#error "HP_SOURCE_DIR must name the source tree"
#endif
#ifndef HP_BINARY_DIR
#error "HP_BINARY_DIR must name the build tree"
#endif

#define WORK HP_BINARY_DIR "/pe-unit"
#define BASE 0x140000000ull

/* ===================================================================== */
/* A minimal PE32+ writer                                                */
/* ===================================================================== */

typedef struct tp_sect {
    char name[9];
    uint32_t rva, vsize, chars, len, raw_off;
    uint8_t data[0x400];
} tp_sect;

typedef struct tp_pe {
    uint32_t fa, sa, room; /* room: spare section headers in SizeOfHeaders */
    uint16_t file_chars, dll_chars;
    tp_sect s[6];
    int ns;
    uint32_t dir[16][2];
    uint8_t syms[18 * 16];
    uint32_t nsyms;
    uint8_t strs[256];
    uint32_t strs_len; /* including the 4-byte size */
    uint8_t tail[64];  /* appended after everything (a certificate) */
    uint32_t tail_len;
    /* computed by tp_layout */
    uint32_t soh, sym_off, end;
} tp_pe;

enum { OPT = 0x58, SECT_TABLE = 0x58 + 240 };

static uint32_t al(uint32_t v, uint32_t a) { return (v + a - 1) & ~(a - 1); }

static void tp_layout(tp_pe *t)
{
    t->soh = al(SECT_TABLE + (t->ns + t->room) * 40, t->fa);
    uint32_t off = t->soh;
    for (int i = 0; i < t->ns; i++) {
        t->s[i].raw_off = t->s[i].len ? off : 0;
        off += al(t->s[i].len, t->fa);
    }
    t->sym_off = t->nsyms ? off : 0;
    t->end = off + t->nsyms * 18 + (t->nsyms ? t->strs_len : 0);
}

static uint8_t *tp_build(tp_pe *t, size_t *size)
{
    tp_layout(t);
    *size = t->end + t->tail_len;
    uint8_t *p = calloc(1, *size);
    assert_non_null(p);
    p[0] = 'M', p[1] = 'Z';
    hp_wr32(p + 0x3c, 0x40);
    memcpy(p + 0x40, "PE\0\0", 4);
    hp_wr16(p + 0x44, 0x8664);
    hp_wr16(p + 0x46, (uint16_t)t->ns);
    hp_wr32(p + 0x4c, t->sym_off);
    hp_wr32(p + 0x50, t->nsyms);
    hp_wr16(p + 0x54, 240);
    hp_wr16(p + 0x56, t->file_chars);
    uint8_t *o = p + OPT;
    hp_wr16(o, 0x20b);
    hp_wr32(o + 16, 0x1000); /* entry */
    hp_wr64(o + 24, BASE);
    hp_wr32(o + 32, t->sa);
    hp_wr32(o + 36, t->fa);
    hp_wr16(o + 48, 6);
    const tp_sect *last = &t->s[t->ns - 1];
    hp_wr32(o + 56, al(last->rva + last->vsize, t->sa));
    hp_wr32(o + 60, t->soh);
    hp_wr16(o + 68, 3);
    hp_wr16(o + 70, t->dll_chars);
    hp_wr32(o + 108, 16);
    for (int i = 0; i < 16; i++) {
        hp_wr32(o + 112 + 8 * i, t->dir[i][0]);
        hp_wr32(o + 116 + 8 * i, t->dir[i][1]);
    }
    for (int i = 0; i < t->ns; i++) {
        uint8_t *h = p + SECT_TABLE + 40 * i;
        const tp_sect *s = &t->s[i];
        memcpy(h, s->name, strlen(s->name));
        hp_wr32(h + 8, s->vsize);
        hp_wr32(h + 12, s->rva);
        hp_wr32(h + 16, al(s->len, t->fa));
        hp_wr32(h + 20, s->raw_off);
        hp_wr32(h + 36, s->chars);
        memcpy(p + s->raw_off, s->data, s->len);
    }
    if (t->nsyms) {
        memcpy(p + t->sym_off, t->syms, t->nsyms * 18);
        hp_wr32(t->strs, t->strs_len);
        memcpy(p + t->sym_off + t->nsyms * 18, t->strs, t->strs_len);
    }
    memcpy(p + t->end, t->tail, t->tail_len);
    return p;
}

static tp_sect *tp_add(tp_pe *t, const char *name, uint32_t rva, uint32_t vsize, uint32_t chars)
{
    tp_sect *s = &t->s[t->ns++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->rva = rva, s->vsize = vsize, s->chars = chars;
    return s;
}

static void tp_put(tp_sect *s, uint32_t rva, const void *p, size_t n)
{
    memcpy(s->data + (rva - s->rva), p, n);
    if (rva - s->rva + n > s->len)
        s->len = (uint32_t)(rva - s->rva + n);
}

static void tp_put32(tp_sect *s, uint32_t rva, uint32_t v)
{
    uint8_t b[4];
    hp_wr32(b, v);
    tp_put(s, rva, b, 4);
}

/* One symbol record; long names go to the string table. */
static void tp_sym(tp_pe *t, const char *name, uint32_t value, int16_t sec, uint16_t type,
                   uint8_t cls, uint8_t naux)
{
    uint8_t *r = t->syms + 18 * t->nsyms;
    memset(r, 0, 18 * (1u + naux));
    if (!t->strs_len)
        t->strs_len = 4;
    if (strlen(name) <= 8) {
        memcpy(r, name, strlen(name));
    } else {
        hp_wr32(r + 4, t->strs_len);
        memcpy(t->strs + t->strs_len, name, strlen(name) + 1);
        t->strs_len += (uint32_t)strlen(name) + 1;
    }
    hp_wr32(r + 8, value);
    hp_wr16(r + 12, (uint16_t)sec);
    hp_wr16(r + 14, type);
    r[16] = cls, r[17] = naux;
    t->nsyms += 1u + naux;
}

static const uint8_t F1[] = {0x55, 0x48, 0x89, 0xe5, 0x89, 0xc8, 0x01, 0xd0, 0x5d, 0xc3};
static const uint8_t F2[] = {0x48, 0x83, 0xec, 0x28, 0xb8, 0x07, 0x00, 0x00,
                             0x00, 0x48, 0x83, 0xc4, 0x28, 0xc3};
static const uint8_t F3[] = {0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3};

/* .text: f1 0x1000 (pdata 10 bytes), f2 0x1010 (pdata 14), f3 0x1020 (no
 * pdata). .rdata: exports f1, exp_f2 (= f2) and a forwarder; .pdata; a
 * debug directory. .data: a pointer to f1 (rebased by .reloc). */
static void tp_basic(tp_pe *t, uint16_t type)
{
    memset(t, 0, sizeof *t);
    t->fa = 0x200, t->sa = 0x1000, t->room = 8;
    t->file_chars = 0x22, t->dll_chars = 0x160;
    tp_sect *x = tp_add(t, ".text", 0x1000, 0x40, 0x60000020);
    memset(x->data, 0xcc, 0x40);
    x->len = 0x40;
    tp_put(x, 0x1000, F1, sizeof F1);
    tp_put(x, 0x1010, F2, sizeof F2);
    tp_put(x, 0x1020, F3, sizeof F3);
    tp_sect *r = tp_add(t, ".rdata", 0x2000, 0x200, 0x40000040);
    tp_put32(r, 0x200c, 0x2100);          /* Name */
    tp_put32(r, 0x2010, 1);               /* Base */
    tp_put32(r, 0x2014, 3);               /* NumberOfFunctions */
    tp_put32(r, 0x2018, 3);               /* NumberOfNames */
    tp_put32(r, 0x201c, 0x2040);          /* AddressOfFunctions */
    tp_put32(r, 0x2020, 0x2050);          /* AddressOfNames */
    tp_put32(r, 0x2024, 0x2060);          /* AddressOfNameOrdinals */
    tp_put32(r, 0x2040, 0x1000);
    tp_put32(r, 0x2044, 0x1010);
    tp_put32(r, 0x2048, 0x2080);          /* a forwarder: inside the directory */
    tp_put32(r, 0x2050, 0x2110);
    tp_put32(r, 0x2054, 0x2118);
    tp_put32(r, 0x2058, 0x2120);
    uint8_t ords[6] = {1, 0, 0, 0, 2, 0};
    tp_put(r, 0x2060, ords, 6);
    tp_put(r, 0x2080, "KERNEL32.Sleep", 15);
    tp_put(r, 0x2100, "basic.dll", 10);
    tp_put(r, 0x2110, "exp_f2", 7);
    tp_put(r, 0x2118, "f1", 3);
    tp_put(r, 0x2120, "fwd", 4);
    uint32_t pdata[] = {0x1000, 0x100a, 0x21c0, 0x1010, 0x101e, 0x21c8};
    for (int i = 0; i < 6; i++)
        tp_put32(r, 0x2180 + 4 * i, pdata[i]);
    tp_put32(r, 0x21c0, 1);
    tp_put32(r, 0x21c8, 1);
    tp_put32(r, 0x21d0 + 12, 2);          /* debug: IMAGE_DEBUG_TYPE_CODEVIEW */
    tp_put32(r, 0x21d0 + 16, 8);          /* SizeOfData */
    tp_put32(r, 0x21d0 + 20, 0x21f0);     /* AddressOfRawData */
    tp_put(r, 0x21f0, "RSDSdbg", 8);      /* PointerToRawData: after layout */
    tp_sect *d = tp_add(t, ".data", 0x3000, 0x100, 0xc0000040);
    uint8_t ptr[8];
    hp_wr64(ptr, BASE + 0x1000);
    tp_put(d, 0x3000, ptr, 8);
    tp_put32(d, 0x3008, 5);
    tp_sect *rl = tp_add(t, ".reloc", 0x4000, 12, 0x42000040);
    tp_put32(rl, 0x4000, 0x3000);
    tp_put32(rl, 0x4004, 12);
    tp_put32(rl, 0x4008, 0xa000);
    t->dir[0][0] = 0x2000, t->dir[0][1] = 0xa0;
    t->dir[3][0] = 0x2180, t->dir[3][1] = 24;
    t->dir[5][0] = 0x4000, t->dir[5][1] = 12;
    t->dir[6][0] = 0x21d0, t->dir[6][1] = 28;
    tp_sym(t, ".file", 0, -2, 0, 103, 1);
    tp_sym(t, ".text", 0, 1, 0, 3, 1);
    tp_sym(t, "f1", 0, 1, type, 2, 0);
    tp_sym(t, "a_long_function_name", 0x10, 1, type, 3, 0);
    tp_sym(t, "f3", 0x20, 1, type, 2, 0);
    tp_sym(t, "counter", 8, 3, type == 0x20 ? 0 : type, 2, 0);
    tp_sym(t, "lbl", 5, 1, 0, 6, 0);
    tp_layout(t);
    tp_put32(r, 0x21d0 + 24, r->raw_off + 0x1f0);
}

/* ===================================================================== */
/* Helpers                                                               */
/* ===================================================================== */

/* The standard image checksum, written independently of pe_write.c: the
 * CheckSum field's two words are skipped rather than zeroed. */
static uint32_t tp_checksum(const uint8_t *p, size_t n)
{
    size_t field = hp_rd32(p + 0x3c) + 24 + 64;
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i += 2) {
        uint32_t w = (i == field || i == field + 2) ? 0 : p[i] | (i + 1 < n ? p[i + 1] << 8 : 0);
        sum += w;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum + (uint32_t)n;
}

static uint32_t tp_stored_checksum(const uint8_t *p) { return hp_rd32(p + hp_rd32(p + 0x3c) + 88); }

static const hp_symbol *find_sym(const hp_image *img, const char *name)
{
    for (size_t i = 0; i < img->nsyms; i++)
        if (!strcmp(img->syms[i].name, name))
            return &img->syms[i];
    return NULL;
}

static bool has_diag(const hp_diags *d, hp_diag_level lvl, const char *needle)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].level == lvl && d->v[i].msg && strstr(d->v[i].msg, needle))
            return true;
    return false;
}

/* Section header i of a file, or NULL. */
static const uint8_t *shdr(const blob *b, const char *name)
{
    uint32_t pe = hp_rd32(b->data + 0x3c);
    unsigned n = hp_rd16(b->data + pe + 6);
    const uint8_t *t = b->data + pe + 24 + hp_rd16(b->data + pe + 20);
    for (unsigned i = 0; i < n; i++)
        if (!strncmp((const char *)t + 40 * i, name, 8))
            return t + 40 * i;
    return NULL;
}

static uint32_t opt32(const blob *b, unsigned off) { return hp_rd32(b->data + hp_rd32(b->data + 0x3c) + 24 + off); }

static int setup(void **state)
{
    (void)state;
    mkdir(WORK, 0755);
    return 0;
}

/* ===================================================================== */
/* Loading                                                               */
/* ===================================================================== */

/* The code map: the code section only (not .rdata, which also holds the
 * export and exception tables), and the .pdata begin addresses. */
static void test_code_map(void **state)
{
    (void)state;
    tp_pe t;
    tp_basic(&t, 0x20);
    size_t n;
    uint8_t *p = tp_build(&t, &n);
    hp_diags d = {0};
    hp_image *img;
    assert_int_equal(hp_image_open_mem(p, n, "basic.exe", &d, &img), HP_OK);
    hp_code_map m;
    assert_int_equal(hp_image_code(img, &m), HP_OK);
    assert_int_equal(m.nranges, 1);
    assert_int_equal(m.ranges[0].va, BASE + 0x1000);
    assert_int_equal(m.ranges[0].size, 0x40); /* VirtualSize, not the raw 0x200 */
    bool f1 = false, f2 = false;
    for (size_t i = 0; i < m.nstarts; i++) {
        f1 |= m.starts[i] == BASE + 0x1000;
        f2 |= m.starts[i] == BASE + 0x1010;
        assert_true(i == 0 || m.starts[i - 1] < m.starts[i]);
    }
    assert_true(f1 && f2);
    hp_code_map_free(&m);
    hp_image_close(img);
    hp_diags_free(&d);
    free(p);
}

static void test_load_basic(void **state)
{
    (void)state;
    tp_pe t;
    tp_basic(&t, 0x20);
    size_t n;
    uint8_t *p = tp_build(&t, &n);
    hp_diags d = {0};
    hp_image *img;
    assert_int_equal(hp_image_open_mem(p, n, "basic.exe", &d, &img), HP_OK);
    assert_int_equal(img->kind, HP_FMT_PE);
    assert_int_equal(img->nsegs, 4);
    assert_int_equal(img->segs[0].va, BASE + 0x1000);
    assert_int_equal(img->segs[0].prot, HP_PROT_R | HP_PROT_X);
    assert_int_equal(img->segs[2].mem_size, 0x100);
    assert_int_equal(img->segs[2].file_size, 0x100); /* min(raw 0x200, virtual 0x100) */
    assert_true(img->pic && img->has_dynreloc && !img->shared && img->has_symtab);
    const hp_symbol *s = find_sym(img, "f1");
    assert_non_null(s);
    assert_int_equal(s->va, BASE + 0x1000);
    assert_int_equal(s->size, 10); /* from .pdata */
    assert_int_equal(s->source, HP_SRC_DYNSYM); /* exported and in COFF: the export wins */
    s = find_sym(img, "a_long_function_name");
    assert_non_null(s);
    assert_int_equal(s->size, 14);
    assert_int_equal(s->source, HP_SRC_SYMTAB);
    assert_false(s->global);
    s = find_sym(img, "exp_f2");
    assert_true(s && s->va == BASE + 0x1010 && s->kind == HP_SYM_FUNC);
    s = find_sym(img, "f3");
    assert_true(s && s->kind == HP_SYM_FUNC && s->size == 0x20); /* to the end of .text */
    s = find_sym(img, "counter");
    assert_true(s && s->kind == HP_SYM_DATA && s->va == BASE + 0x3008);
    assert_null(find_sym(img, "fwd"));
    assert_null(find_sym(img, ".text"));
    assert_null(find_sym(img, "lbl"));
    assert_null(find_sym(img, ".file"));
    assert_null(img->prior_info);
    assert_int_equal(d.errors, 0);
    const uint8_t *sec;
    size_t sec_size;
    assert_true(hp_image_section(img, ".rdata", &sec, &sec_size));
    assert_true(sec == p + t.s[1].raw_off && sec_size == 0x200);
    assert_false(hp_image_section(img, ".debug_info", &sec, &sec_size));
    hp_image_close(img);
    hp_diags_free(&d);
    free(p);
}

/* Go marks no symbol as a function: an executable section decides. */
static void test_load_untyped_symbols(void **state)
{
    (void)state;
    tp_pe t;
    tp_basic(&t, 0x308);
    t.file_chars |= 0x2000; /* a DLL */
    size_t n;
    uint8_t *p = tp_build(&t, &n);
    hp_diags d = {0};
    hp_image *img;
    assert_int_equal(hp_image_open_mem(p, n, "go.dll", &d, &img), HP_OK);
    assert_true(img->shared);
    const hp_symbol *s = find_sym(img, "f3");
    assert_true(s && s->kind == HP_SYM_FUNC);
    s = find_sym(img, "counter");
    assert_true(s && s->kind == HP_SYM_DATA);
    hp_image_close(img);
    hp_diags_free(&d);
    free(p);
}

/* ===================================================================== */
/* Place and emit                                                        */
/* ===================================================================== */

static hp_image *open_blob(const uint8_t *p, size_t n, const char *path, hp_diags *d)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
    hp_image *img;
    assert_int_equal(hp_image_open(path, d, &img), HP_OK);
    return img;
}

/* The rewriter's part, by hand: every region, a patch, an absolute
 * pointer, new symbols and the record. */
static void fill_edit(hp_edit *ed, const hp_layout *lay)
{
    memset(ed, 0, sizeof *ed);
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        ed->regions[r].va = lay->va[r];
        ed->regions[r].mem_size = lay->size[r];
    }
    assert_int_equal(hp_buf_append_zeros(&ed->regions[0].bytes, lay->size[0]), HP_OK);
    memset(ed->regions[0].bytes.data, 0xc3, lay->size[0]);
    assert_int_equal(hp_buf_append(&ed->regions[1].bytes, "rodata!", 8), HP_OK);
    uint8_t ptr[8];
    hp_wr64(ptr, lay->va[1]);
    assert_int_equal(hp_buf_append(&ed->regions[2].bytes, ptr, 8), HP_OK);
    assert_int_equal(hp_edit_add_abs_ptr(ed, lay->va[2]), HP_OK);
    hp_patch pt = {.va = BASE + 0x1000, .len = 5, .bytes = {0xe9}};
    hp_wr32(pt.bytes + 1, (uint32_t)(lay->va[0] - (BASE + 0x1005)));
    memcpy(pt.orig, F1, 5);
    assert_int_equal(hp_edit_add_patch(ed, &pt), HP_OK);
    assert_int_equal(hp_edit_add_sym(ed, "f1.hookpatch_stub", lay->va[0], 1, true), HP_OK);
    assert_int_equal(hp_edit_add_sym(ed, "mock_data", lay->va[2], 8, false), HP_OK);
    assert_int_equal(hp_buf_append(&ed->info, "hookpatch-info 1\n", 17), HP_OK);
}

/* The image with ed applied, written to path. */
static hp_status write_out(const hp_image *img, const hp_edit *ed, const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0755);
    assert_true(fd >= 0);
    hp_status s = hp_image_emit(img, ed, fd, NULL);
    assert_int_equal(close(fd), 0);
    return s;
}

static hp_status place_emit(hp_image *img, hp_edit *ed, const char *out, hp_diags *d)
{
    hp_layout lay = {.size = {0x30, 8, 0x40}, .nabs_ptrs = 1};
    hp_status s = img->fmt->place(img, &lay);
    if (s != HP_OK)
        return s;
    assert_int_equal(lay.va[0], BASE + 0x5000);
    assert_int_equal(lay.va[1], BASE + 0x6000);
    assert_int_equal(lay.va[2], BASE + 0x7000);
    fill_edit(ed, &lay);
    return write_out(img, ed, out);
}

static void check_output_common(const char *path, const blob *in, hp_diags *d)
{
    blob b = read_file(path);
    assert_int_equal(tp_stored_checksum(b.data), tp_checksum(b.data, b.size));
    assert_int_equal(hp_rd16(b.data + 0x46), 9); /* 4 + text rodata data reloc info */
    assert_int_equal(opt32(&b, 56), 0xa000);      /* SizeOfImage */
    const uint8_t *h = shdr(&b, ".hookp");
    assert_non_null(h);
    assert_int_equal(hp_rd32(h + 12), 0x5000);
    assert_int_equal(hp_rd32(h + 36), 0x60000020);
    assert_int_equal(hp_rd32(h + 20) % 0x200, 0);
    h = shdr(&b, ".hookd");
    assert_true(h && hp_rd32(h + 8) == 0x40 && hp_rd32(h + 16) == 0x200 && hp_rd32(h + 12) == 0x7000);
    h = shdr(&b, ".hookrel");
    assert_true(h && hp_rd32(h + 12) == 0x8000);
    /* old block, then a DIR64 block for page 0x7000 */
    const uint8_t *rel = b.data + hp_rd32(h + 20);
    assert_int_equal(opt32(&b, 112 + 5 * 8), 0x8000);
    assert_int_equal(opt32(&b, 116 + 5 * 8), 24);
    assert_int_equal(hp_rd32(rel), 0x3000);
    assert_int_equal(hp_rd32(rel + 12), 0x7000);
    assert_int_equal(hp_rd32(rel + 16), 12);
    assert_int_equal(hp_rd16(rel + 20), 0xa000);
    assert_int_equal(opt32(&b, 4), 0x200); /* SizeOfCode (0 in the input) + .hookp */
    hp_image *out;
    assert_int_equal(hp_image_open(path, d, &out), HP_OK);
    const uint8_t *f1 = hp_image_bytes(out, BASE + 0x1000, 5);
    assert_true(f1 && f1[0] == 0xe9);
    assert_int_equal(BASE + 0x1005 + (int32_t)hp_rd32(f1 + 1), BASE + 0x5000);
    const uint8_t *ro = hp_image_bytes(out, BASE + 0x6000, 8);
    assert_true(ro && !memcmp(ro, "rodata!", 8));
    assert_non_null(out->prior_info);
    assert_int_equal(out->prior_info_size, 17);
    assert_memory_equal(out->prior_info, "hookpatch-info 1\n", 17);
    const hp_symbol *s = find_sym(out, "f1.hookpatch_stub");
    assert_true(s && s->va == BASE + 0x5000 && s->kind == HP_SYM_FUNC);
    s = find_sym(out, "mock_data");
    assert_true(s && s->va == BASE + 0x7000 && s->kind == HP_SYM_DATA);
    /* every original section's bytes are intact but the patch at f1 and
     * the debug entry's file offset (which moves with header growth) */
    hp_image *orig;
    hp_diags d2 = {0};
    assert_int_equal(hp_image_open_mem(in->data, in->size, "in", &d2, &orig), HP_OK);
    for (size_t i = 0; i < orig->nsegs; i++) {
        const hp_segment *sg = &orig->segs[i];
        const uint8_t *a = hp_image_bytes(orig, sg->va, sg->file_size);
        const uint8_t *c = hp_image_bytes(out, sg->va, sg->file_size);
        assert_true(a && c);
        for (uint64_t k = 0; k < sg->file_size; k++) {
            uint64_t va = sg->va + k;
            if (va - BASE - 0x1000 < 5 || va - BASE - 0x21e8 < 4)
                continue;
            assert_int_equal(a[k], c[k]);
        }
    }
    hp_image_close(orig);
    hp_image_close(out);
    hp_diags_free(&d2);
    free(b.data);
}

static void test_emit_roundtrip(void **state)
{
    (void)state;
    tp_pe t;
    tp_basic(&t, 0x20);
    blob in;
    in.data = tp_build(&t, &in.size);
    hp_diags d = {0};
    hp_image *img = open_blob(in.data, in.size, WORK "/rt.exe", &d);
    hp_edit ed;
    assert_int_equal(place_emit(img, &ed, WORK "/rt-out.exe", &d), HP_OK);
    check_output_common(WORK "/rt-out.exe", &in, &d);
    blob b = read_file(WORK "/rt-out.exe");
    assert_int_equal(opt32(&b, 60), t.soh); /* room was there: nothing moved */
    /* the symbol table ended the input: rewritten, not duplicated */
    size_t copies = 0;
    for (size_t i = 0; i + 20 <= b.size; i++)
        copies += !memcmp(b.data + i, "a_long_function_name", 20);
    assert_int_equal(copies, 1);
    assert_true(hp_rd32(b.data + 0x4c) > t.sym_off);
    assert_int_equal(hp_rd32(shdr(&b, ".text") + 20), t.s[0].raw_off);
    /* a second run is refused by the planner: the record is found */
    hp_image *again = open_blob(b.data, b.size, WORK "/rt2.exe", &d);
    assert_non_null(again->prior_info);
    hp_image_close(again);
    free(b.data);
    hp_edit_free(&ed);
    hp_image_close(img);
    hp_diags_free(&d);
    free(in.data);
}

/* No spare header slots: section data moves forward one FileAlignment and
 * every file offset follows; a bound import table after the section table
 * is dropped. */
static void test_header_growth(void **state)
{
    (void)state;
    tp_pe t;
    tp_basic(&t, 0x20);
    t.room = 0;
    tp_layout(&t);
    assert_int_equal(t.soh, 0x200);
    tp_put32(&t.s[1], 0x21d0 + 24, t.s[1].raw_off + 0x1f0); /* the debug data's new offset */
    t.dir[11][0] = SECT_TABLE + 4 * 40, t.dir[11][1] = 16;
    blob in;
    in.data = tp_build(&t, &in.size);
    hp_diags d = {0};
    hp_image *img = open_blob(in.data, in.size, WORK "/grow.exe", &d);
    hp_edit ed;
    assert_int_equal(place_emit(img, &ed, WORK "/grow-out.exe", &d), HP_OK);
    check_output_common(WORK "/grow-out.exe", &in, &d);
    blob b = read_file(WORK "/grow-out.exe");
    assert_int_equal(opt32(&b, 60), 0x400);
    for (int i = 0; i < t.ns; i++)
        assert_int_equal(hp_rd32(b.data + SECT_TABLE + 40 * i + 20), t.s[i].raw_off + 0x200);
    assert_int_equal(opt32(&b, 112 + 11 * 8), 0);
    /* the debug entry's PointerToRawData follows its data */
    uint32_t dbg = hp_rd32(shdr(&b, ".rdata") + 20) + 0x1d0;
    uint32_t ptr = hp_rd32(b.data + dbg + 24);
    assert_int_equal(ptr, t.s[1].raw_off + 0x1f0 + 0x200);
    assert_memory_equal(b.data + ptr, "RSDSdbg", 8);
    /* the COFF symbol table moved to the end with the new symbols */
    uint32_t symoff = hp_rd32(b.data + 0x4c);
    assert_true(symoff > t.sym_off + 0x200);
    assert_memory_equal(b.data + symoff, in.data + t.sym_off, t.nsyms * 18);
    hp_image *out;
    assert_int_equal(hp_image_open(WORK "/grow-out.exe", &d, &out), HP_OK);
    assert_non_null(find_sym(out, "a_long_function_name"));
    hp_image_close(out);
    free(b.data);
    hp_edit_free(&ed);
    hp_image_close(img);
    hp_diags_free(&d);
    free(in.data);
}

/* Low-alignment image: the first section starts where the headers end, so
 * no amount of moving file data makes room in the mapped headers. */
static void test_no_header_room(void **state)
{
    (void)state;
    tp_pe t;
    memset(&t, 0, sizeof t);
    t.fa = t.sa = 0x200, t.file_chars = 0x22;
    for (uint32_t i = 0; i < 4; i++) { /* the table fills SizeOfHeaders */
        tp_sect *x = tp_add(&t, ".text", 0x200 * (i + 1), 0x10, 0x60000020);
        tp_put(x, x->rva, F1, sizeof F1);
    }
    size_t n;
    uint8_t *p = tp_build(&t, &n);
    hp_diags d = {0};
    hp_image *img;
    assert_int_equal(hp_image_open_mem(p, n, "low.exe", &d, &img), HP_OK);
    hp_layout lay = {.size = {0x10}};
    assert_int_equal(img->fmt->place(img, &lay), HP_ERR_UNSUPPORTED);
    assert_true(has_diag(&d, HP_DIAG_ERROR, "no room for 2 more section headers"));
    hp_image_close(img);
    hp_diags_free(&d);
    free(p);
}

static void test_authenticode_removed(void **state)
{
    (void)state;
    tp_pe t;
    tp_basic(&t, 0x20);
    memset(t.tail, 0xab, 32);
    t.tail_len = 32;
    tp_layout(&t);
    t.dir[4][0] = t.end, t.dir[4][1] = 32; /* a file offset */
    blob in;
    in.data = tp_build(&t, &in.size);
    hp_diags d = {0};
    hp_image *img = open_blob(in.data, in.size, WORK "/signed.exe", &d);
    hp_edit ed;
    assert_int_equal(place_emit(img, &ed, WORK "/signed-out.exe", &d), HP_OK);
    assert_true(has_diag(&d, HP_DIAG_WARNING, "Authenticode"));
    blob b = read_file(WORK "/signed-out.exe");
    assert_int_equal(opt32(&b, 112 + 4 * 8), 0);
    assert_int_equal(opt32(&b, 116 + 4 * 8), 0);
    for (size_t i = 0; i + 32 <= b.size; i++)
        assert_false(b.data[i] == 0xab && !memcmp(b.data + i, t.tail, 32));
    assert_int_equal(tp_stored_checksum(b.data), tp_checksum(b.data, b.size));
    free(b.data);
    hp_edit_free(&ed);
    hp_image_close(img);
    hp_diags_free(&d);
    free(in.data);
}

/* The real planner on a synthetic image: return and passthrough hooks. */
static void test_plan_and_write(void **state)
{
    (void)state;
    tp_pe t;
    tp_basic(&t, 0x20);
    blob in;
    in.data = tp_build(&t, &in.size);
    hp_diags d = {0};
    hp_image *img = open_blob(in.data, in.size, WORK "/plan.exe", &d);
    hp_hook_req req[2] = {
        {.target = "f1", .target_kind = HP_TGT_NAME, .action = HP_ACT_RETURN, .value = 9},
        {.target = "exp_f2", .target_kind = HP_TGT_NAME, .action = HP_ACT_PASSTHROUGH}};
    hp_hook_reqs reqs = {.path = "t.toml", .v = req, .n = 2};
    hp_options opt = {0};
    hp_plan plan;
    hp_status s = hp_plan_build(img, &reqs, &opt, &d, &plan);
    if (s != HP_OK)
        hp_diags_print(&d, stderr);
    assert_int_equal(s, HP_OK);
    assert_int_equal(write_out(img, &plan.ed, WORK "/plan-out.exe"), HP_OK);
    blob b = read_file(WORK "/plan-out.exe");
    assert_int_equal(tp_stored_checksum(b.data), tp_checksum(b.data, b.size));
    hp_image *out;
    assert_int_equal(hp_image_open(WORK "/plan-out.exe", &d, &out), HP_OK);
    const uint8_t *f1 = hp_image_bytes(out, BASE + 0x1000, 5);
    assert_true(f1 && f1[0] == 0xe9);
    const uint8_t *stub = hp_image_bytes(out, BASE + 0x1005 + (int32_t)hp_rd32(f1 + 1), 1);
    assert_non_null(stub);
    assert_non_null(find_sym(out, "f1.hookpatch_stub"));
    assert_non_null(out->prior_info);
    assert_non_null(strstr((const char *)out->prior_info, "hook return f1"));
    hp_image_close(out);
    free(b.data);
    hp_plan_free(&plan);
    hp_image_close(img);
    hp_diags_free(&d);
    free(in.data);
}

/* ===================================================================== */
/* Hostile input                                                         */
/* ===================================================================== */

typedef void (*tp_mutate)(uint8_t *p, size_t *n, const tp_pe *t);
static void m_trunc_dos(uint8_t *p, size_t *n, const tp_pe *t) { (void)p, (void)t, *n = 0x30; }
static void m_trunc_coff(uint8_t *p, size_t *n, const tp_pe *t) { (void)p, (void)t, *n = 0x50; }
static void m_lfanew(uint8_t *p, size_t *n, const tp_pe *t) { (void)t, hp_wr32(p + 0x3c, (uint32_t)*n - 2); }
static void m_sig(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, p[0x41] = 'X'; }
static void m_machine(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr16(p + 0x44, 0x14c); }
static void m_pe32(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr16(p + OPT, 0x10b); }
static void m_nsects0(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr16(p + 0x46, 0); }
static void m_object(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr16(p + 0x56, 0); }
static void m_optsize(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr16(p + 0x54, 64); }
static void m_table_oob(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr16(p + 0x46, 0xffff); }
static void m_ndirs(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr32(p + OPT + 108, 1000); }
static void m_align(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr32(p + OPT + 36, 0x300); }
static void m_raw_eof(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr32(p + SECT_TABLE + 40 + 16, 0x100000); }
static void m_raw_off(uint8_t *p, size_t *n, const tp_pe *t) { (void)t, hp_wr32(p + SECT_TABLE + 20, (uint32_t)*n); }
static void m_overlap(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr32(p + SECT_TABLE + 40 + 12, 0x1020); }
static void m_unsorted(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr32(p + SECT_TABLE + 12, 0x5000); }
static void m_rva_hdr(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr32(p + SECT_TABLE + 12, 0x100); }
static void m_soh(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr32(p + OPT + 60, 0x100); }
static void m_export_dir(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr32(p + OPT + 116, 0x10000); }
static void m_export_names(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, hp_wr32(p + t->s[1].raw_off + 0x18, 0x4000000); }
static void m_export_ord(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, p[t->s[1].raw_off + 0x60] = 9; }
static void m_export_name(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, hp_wr32(p + t->s[1].raw_off + 0x50, 0x9000); }
static void m_pdata_dir(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr32(p + OPT + 112 + 24, 0x7000); }
static void m_reloc_dir(uint8_t *p, size_t *n, const tp_pe *t) { (void)n, (void)t, hp_wr32(p + OPT + 112 + 44, 0xffff); }

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        tp_mutate fn;
        const char *needle;
    } cases[] = {
        {"truncated DOS header", m_trunc_dos, "truncated"},
        {"truncated COFF header", m_trunc_coff, "outside the file"},
        {"e_lfanew beyond EOF", m_lfanew, "outside the file"},
        {"bad signature", m_sig, "no PE signature"},
        {"i386", m_machine, "not x86-64"},
        {"PE32", m_pe32, "PE32 (32-bit)"},
        {"no sections", m_nsects0, "no sections"},
        {"object file", m_object, "not an executable"},
        {"optional header too small", m_optsize, "too small"},
        {"section table out of bounds", m_table_oob, "section table"},
        {"too many directories", m_ndirs, "data directories"},
        {"bad alignment", m_align, "alignment"},
        {"SizeOfRawData beyond EOF", m_raw_eof, "beyond the end of the file"},
        {"PointerToRawData at EOF", m_raw_off, "beyond the end of the file"},
        {"overlapping sections", m_overlap, "overlaps the previous section"},
        {"unsorted sections", m_unsorted, "overlaps the previous section"},
        {"section over the headers", m_rva_hdr, "overlaps the headers"},
        {"SizeOfHeaders too small", m_soh, "SizeOfHeaders"},
        {"export directory out of bounds", m_export_dir, "export directory"},
        {"export names out of bounds", m_export_names, "export table"},
        {"export ordinal out of range", m_export_ord, "ordinal index"},
        {"export name outside the file", m_export_name, "export 0"},
        {"exception directory out of bounds", m_pdata_dir, "exception directory"},
        {"reloc directory out of bounds", m_reloc_dir, "base relocation directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tp_pe t;
        tp_basic(&t, 0x20);
        size_t n;
        uint8_t *p = tp_build(&t, &n);
        cases[i].fn(p, &n, &t);
        hp_diags d = {0};
        hp_image *img = NULL;
        hp_status s = hp_image_open_mem(p, n, "bad.exe", &d, &img);
        if (s != HP_ERR_FORMAT || !has_diag(&d, HP_DIAG_ERROR, cases[i].needle)) {
            fprintf(stderr, "case '%s': status %s\n", cases[i].name, hp_status_str(s));
            hp_diags_print(&d, stderr);
            fail();
        }
        assert_null(img);
        hp_diags_free(&d);
        free(p);
    }
}

/* Load, place and emit to /dev/null; any status but a crash is fine. */
static void exercise(const uint8_t *p, size_t n)
{
    hp_diags d = {0};
    hp_image *img = NULL;
    hp_status s = hp_image_open_mem(p, n, "x.exe", &d, &img);
    assert_true(s == HP_OK || s == HP_ERR_FORMAT || s == HP_ERR_UNSUPPORTED);
    if (s == HP_OK) {
        hp_layout lay = {.size = {0x20, 0, 0x10}};
        if (img->fmt->place(img, &lay) == HP_OK) {
            hp_edit ed = {0};
            ed.regions[0].va = lay.va[0];
            ed.regions[0].mem_size = 0x20;
            hp_buf_append_zeros(&ed.regions[0].bytes, 0x20);
            ed.regions[2].va = lay.va[2];
            ed.regions[2].mem_size = 0x10;
            hp_buf_append(&ed.info, "x", 1);
            int fd = open("/dev/null", O_WRONLY);
            hp_image_emit(img, &ed, fd, NULL);
            close(fd);
            hp_edit_free(&ed);
        }
    }
    hp_image_close(img);
    hp_diags_free(&d);
}

static void test_truncations_and_flips(void **state)
{
    (void)state;
    tp_pe t;
    tp_basic(&t, 0x20);
    size_t n;
    uint8_t *p = tp_build(&t, &n);
    for (size_t len = 0; len <= n; len++) {
        uint8_t *c = malloc(len + 1);
        memcpy(c, p, len);
        exercise(c, len);
        free(c);
    }
    uint32_t x = 12345;
    uint8_t *c = malloc(n);
    for (int round = 0; round < 3000; round++) {
        memcpy(c, p, n);
        for (int k = 0; k < 1 + round % 4; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % (round % 2 ? 0x400 : n); /* headers, then anywhere */
            c[at] ^= (uint8_t)(1u << (x & 7));
        }
        exercise(c, n);
    }
    free(c);
    free(p);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    tp_pe t;
    tp_basic(&t, 0x20);
    size_t n;
    uint8_t *p = tp_build(&t, &n);
    for (long k = 0; k < 200; k++) {
        hp_diags d = {0};
        hp_image *img = NULL;
        hp_mem_fail_after(k);
        hp_status s = hp_image_open_mem(p, n, "x.exe", &d, &img);
        hp_mem_fail_after(-1);
        assert_true(s == HP_OK || s == HP_ERR_NOMEM);
        hp_image_close(img);
        hp_diags_free(&d);
    }
    free(p);
}

/* ===================================================================== */
/* Real binaries                                                         */
/* ===================================================================== */

static bool have(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

static void test_mingw(void **state)
{
    (void)state;
    if (!have("x86_64-w64-mingw32-gcc"))
        skip();
    const char *fix = HP_SOURCE_DIR "/tests/fixtures/pe";
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "x86_64-w64-mingw32-gcc -O2 -I%s/c %s/c/targets.c %s/c/main.c -o %s/c.exe && "
             "x86_64-w64-mingw32-gcc -O2 -shared -s %s/dll/hooklib.c -o %s/hooklib.dll",
             fix, fix, fix, WORK, fix, WORK);
    assert_int_equal(system(cmd), 0);
    blob in = read_file(WORK "/c.exe");
    assert_int_equal(tp_stored_checksum(in.data), tp_checksum(in.data, in.size));
    hp_diags d = {0};
    hp_image *img;
    assert_int_equal(hp_image_open(WORK "/c.exe", &d, &img), HP_OK);
    assert_true(img->has_symtab && img->pic && !img->shared);
    static const char *const names[] = {"get_answer", "make_big", "add_counter", "twice", "main"};
    for (size_t i = 0; i < 5; i++) {
        const hp_symbol *s = find_sym(img, names[i]);
        assert_non_null(s);
        assert_true(s->kind == HP_SYM_FUNC && s->source == HP_SRC_SYMTAB);
        assert_true(s->size > 0 && s->size < 0x200);
    }
    assert_int_equal(find_sym(img, "get_answer")->size, 6); /* mov eax,42; ret: pdata says 6 */
    const uint8_t *dbg; /* the mingw CRT brings DWARF; its name is a long one ("/19") */
    size_t dbg_size;
    assert_true(hp_image_section(img, ".debug_info", &dbg, &dbg_size) && dbg_size > 11);
    hp_hook_req req = {.target = "get_answer", .action = HP_ACT_RETURN, .value = -7};
    hp_hook_reqs reqs = {.path = "t.toml", .v = &req, .n = 1};
    hp_options opt = {0};
    hp_plan plan;
    assert_int_equal(hp_plan_build(img, &reqs, &opt, &d, &plan), HP_OK);
    assert_int_equal(write_out(img, &plan.ed, WORK "/c-out.exe"), HP_OK);
    blob b = read_file(WORK "/c-out.exe");
    assert_int_equal(tp_stored_checksum(b.data), tp_checksum(b.data, b.size));
    free(b.data);
    hp_plan_free(&plan);
    hp_image_close(img);
    assert_int_equal(hp_image_open(WORK "/hooklib.dll", &d, &img), HP_OK);
    assert_true(img->shared && !img->has_symtab);
    const hp_symbol *s = find_sym(img, "lib_scale");
    assert_true(s && s->source == HP_SRC_DYNSYM && s->kind == HP_SYM_FUNC && s->size > 5);
    hp_image_close(img);
    hp_diags_free(&d);
    free(in.data);
}

/* runtime.text as the toolchain's own nm reports it in FILE. */
static uint64_t go_nm_text(const tgo *g, const char *file)
{
    char cmd[4096], line[512];
    snprintf(cmd, sizeof cmd, "%s go tool nm '%s'", g->env, file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    uint64_t va = 0;
    while (fgets(line, sizeof line, p)) {
        unsigned long long a;
        int at = 0;
        if (sscanf(line, "%llx T %n", &a, &at) == 1 && at && !strcmp(line + at, "runtime.text\n"))
            va = a;
    }
    pclose(p);
    return va;
}

/* Go keeps its pclntab in .rdata; stripped, we find it by its header. Go
 * 1.19 links Windows programs at 0x400000, Go 1.26 at 0x140000000: the
 * text address is the one the toolchain's nm reports. A build failure
 * skips. */
static void test_go(void **state)
{
    const tgo *g = *state;
    if (!g)
        skip();
    char dir[512], files[2][600], cmd[8192];
    snprintf(dir, sizeof dir, WORK "/go-%.15s", g->label);
    snprintf(files[0], sizeof files[0], "%s/g.exe", dir);
    snprintf(files[1], sizeof files[1], "%s/gs.exe", dir);
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s && cd %s/tests/fixtures/pe/go && %s GOOS=windows GOARCH=amd64 "
             "GOFLAGS=-mod=mod GOPROXY=off go build -gcflags=all=-l -o %s . && %s GOOS=windows "
             "GOARCH=amd64 GOFLAGS=-mod=mod GOPROXY=off go build -gcflags=all=-l "
             "-ldflags=-s\\ -w -o %s . >%s/go.log 2>&1",
             dir, HP_SOURCE_DIR, g->env, files[0], g->env, files[1], dir);
    if (system(cmd) != 0)
        skip();
    uint64_t text_va = go_nm_text(g, files[0]);
    assert_true(text_va != 0);
    for (int i = 0; i < 2; i++) {
        hp_diags d = {0};
        hp_image *img;
        assert_int_equal(hp_image_open(files[i], &d, &img), HP_OK);
        assert_non_null(img->pclntab);
        assert_int_equal(hp_rd32(img->pclntab) & 0xfffffff0u, 0xfffffff0u);
        assert_int_equal(img->go_text_va, text_va);
        const hp_symbol *s = find_sym(img, "main.Add");
        assert_non_null(s);
        assert_int_equal(s->source, i == 0 ? HP_SRC_SYMTAB : HP_SRC_PCLNTAB);
        assert_true(s->kind == HP_SYM_FUNC && s->size > 0);
        assert_non_null(find_sym(img, "time.Now"));
        hp_image_close(img);
        hp_diags_free(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_basic),
        cmocka_unit_test(test_code_map),
        cmocka_unit_test(test_load_untyped_symbols),
        cmocka_unit_test(test_emit_roundtrip),
        cmocka_unit_test(test_header_growth),
        cmocka_unit_test(test_no_header_room),
        cmocka_unit_test(test_authenticode_removed),
        cmocka_unit_test(test_plan_and_write),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncations_and_flips),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_mingw),
    };
    const struct CMUnitTest per_go[] = {cmocka_unit_test(test_go)};
    return tgo_run("test_pe", tests, sizeof tests / sizeof tests[0], per_go, 1, setup, NULL);
}
