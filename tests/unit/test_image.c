/* Unit tests for sections/image.c, the format-neutral image model:
 * segments and the byte lookup's bounds, symbol bookkeeping (dedupe, size
 * fill, lookups, aliases), the edit helpers, and allocation failure at
 * every allocation of a typical sequence. Images are built by hand over a
 * byte array; no file and no format backend is involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sections/format.h"

#include <string.h>

/* ---- fixture: an image over a 0x3000-byte buffer, no backend */

static uint8_t it_data[0x3000];

static hp_image *it_new(void)
{
    hp_image *img = hp_calloc(1, sizeof *img);
    assert_non_null(img);
    for (size_t i = 0; i < sizeof it_data; i++)
        it_data[i] = (uint8_t)(i * 7 + 3);
    img->data = it_data;
    img->size = sizeof it_data;
    img->kind = HP_FMT_ELF;
    return img;
}

static void it_seg(hp_image *img, uint64_t va, uint64_t mem, uint64_t off, uint64_t filesz)
{
    hp_segment s = {va, mem, off, filesz, HP_PROT_R | HP_PROT_X};
    assert_int_equal(hp_image_add_segment(img, &s), HP_OK);
}

static void it_sym(hp_image *img, const char *name, uint64_t va, uint64_t size, hp_sym_kind kind,
                   hp_sym_source src)
{
    assert_int_equal(hp_image_add_symbol(img, name, strlen(name), va, size, kind, src, true),
                     HP_OK);
}

/* The standard layout: text [0x401000, +0x1000) from offset 0x1000, and
 * data [0x403000, +0x2000) with 0x800 bytes in the file at 0x2000 (the rest
 * is bss). The gap [0x402000, 0x403000) is unmapped. */
static hp_image *it_std(void)
{
    hp_image *img = it_new();
    it_seg(img, 0x403000, 0x2000, 0x2000, 0x800);
    it_seg(img, 0x401000, 0x1000, 0x1000, 0x1000);
    return img;
}

static const hp_symbol *it_find(const hp_image *img, const char *name, uint64_t va)
{
    for (size_t i = 0; i < img->nsyms; i++)
        if (!strcmp(img->syms[i].name, name) && img->syms[i].va == va)
            return &img->syms[i];
    return NULL;
}

/* ---- segments */

static void test_segments_sorted(void **state)
{
    (void)state;
    hp_image *img = it_new();
    it_seg(img, 0x5000, 0x100, 0x500, 0x100);
    it_seg(img, 0x1000, 0x100, 0x100, 0x100);
    it_seg(img, 0x3000, 0x100, 0x300, 0x100);
    assert_int_equal(img->nsegs, 3);
    assert_int_equal(img->segs[0].va, 0x1000);
    assert_int_equal(img->segs[1].va, 0x3000);
    assert_int_equal(img->segs[2].va, 0x5000);
    assert_int_equal(img->base_va, 0x1000);
    assert_int_equal(hp_image_end_va(img), 0x5100);
    hp_image_close(img);
}

static void test_segment_at(void **state)
{
    (void)state;
    hp_image *img = it_std();
    assert_null(hp_image_segment_at(img, 0x400fff));
    assert_int_equal(hp_image_segment_at(img, 0x401000)->va, 0x401000);
    assert_int_equal(hp_image_segment_at(img, 0x401fff)->va, 0x401000);
    assert_null(hp_image_segment_at(img, 0x402000)); /* the gap */
    assert_int_equal(hp_image_segment_at(img, 0x404fff)->va, 0x403000); /* bss */
    assert_null(hp_image_segment_at(img, 0x405000));
    assert_null(hp_image_segment_at(img, UINT64_MAX));
    assert_int_equal(hp_image_end_va(img), 0x405000);
    hp_image_close(img);
}

/* ---- hp_image_bytes */

static void test_bytes_inside(void **state)
{
    (void)state;
    hp_image *img = it_std();
    assert_ptr_equal(hp_image_bytes(img, 0x401000, 1), it_data + 0x1000);
    assert_ptr_equal(hp_image_bytes(img, 0x401234, 16), it_data + 0x1234);
    /* up to the last byte of the segment's file part */
    assert_ptr_equal(hp_image_bytes(img, 0x401ff0, 0x10), it_data + 0x1ff0);
    assert_ptr_equal(hp_image_bytes(img, 0x401000, 0x1000), it_data + 0x1000);
    assert_ptr_equal(hp_image_bytes(img, 0x403000, 0x800), it_data + 0x2000);
    hp_image_close(img);
}

static void test_bytes_crossing_ends(void **state)
{
    (void)state;
    hp_image *img = it_std();
    /* one byte past the segment */
    assert_null(hp_image_bytes(img, 0x401ff0, 0x11));
    assert_null(hp_image_bytes(img, 0x401000, 0x1001));
    /* into the unmapped gap, and starting in it */
    assert_null(hp_image_bytes(img, 0x401fff, 2));
    assert_null(hp_image_bytes(img, 0x402000, 1));
    /* before the first segment */
    assert_null(hp_image_bytes(img, 0x400ff0, 0x20));
    hp_image_close(img);
}

static void test_bytes_bss(void **state)
{
    (void)state;
    hp_image *img = it_std();
    /* mapped, but not backed by the file */
    assert_null(hp_image_bytes(img, 0x403800, 1));
    assert_null(hp_image_bytes(img, 0x404000, 0x10));
    /* starts in the file part, ends in bss */
    assert_null(hp_image_bytes(img, 0x4037f0, 0x20));
    assert_non_null(hp_image_bytes(img, 0x4037f0, 0x10));
    hp_image_close(img);
}

static void test_bytes_adjacent_segments(void **state)
{
    (void)state;
    /* Two segments contiguous in memory and in the file: a range across
     * them is still refused ("within one segment"). */
    hp_image *img = it_new();
    it_seg(img, 0x1000, 0x1000, 0x0, 0x1000);
    it_seg(img, 0x2000, 0x1000, 0x1000, 0x1000);
    assert_non_null(hp_image_bytes(img, 0x1ff8, 8));
    assert_non_null(hp_image_bytes(img, 0x2000, 8));
    assert_null(hp_image_bytes(img, 0x1ffc, 8));
    hp_image_close(img);
}

static void test_bytes_overflow(void **state)
{
    (void)state;
    hp_image *img = it_std();
    assert_null(hp_image_bytes(img, 0x401010, UINT64_MAX));
    assert_null(hp_image_bytes(img, 0x401010, UINT64_MAX - 0x401010 + 1)); /* va+len wraps to 0 */
    assert_null(hp_image_bytes(img, 0x401010, UINT64_MAX - 0xf)); /* wraps into the segment */
    assert_null(hp_image_bytes(img, UINT64_MAX, 2));
    hp_image_close(img);

    /* A segment at the very top of the address space. */
    img = it_new();
    it_seg(img, UINT64_MAX - 0xff, 0x100, 0x100, 0x100);
    assert_non_null(hp_image_bytes(img, UINT64_MAX - 0xff, 0x100));
    assert_non_null(hp_image_bytes(img, UINT64_MAX, 1));
    assert_null(hp_image_bytes(img, UINT64_MAX, 2));
    assert_null(hp_image_bytes(img, UINT64_MAX - 0x10, 0x20));
    hp_image_close(img);
}

static void test_bytes_segment_beyond_file(void **state)
{
    (void)state;
    /* A segment claiming file bytes past the end of the data: the lookup
     * must check the file size too, not trust the segment. */
    hp_image *img = it_new();
    it_seg(img, 0x10000, 0x2000, 0x2800, 0x2000); /* file ends at 0x3000 */
    assert_non_null(hp_image_bytes(img, 0x10000, 0x800));
    assert_null(hp_image_bytes(img, 0x10000, 0x801));
    assert_null(hp_image_bytes(img, 0x11000, 1));
    hp_image_close(img);
}

static void test_bytes_file_offset_wraps(void **state)
{
    (void)state;
    /* file_off + rel wraps past zero and lands inside the file: the second
     * bounds check must not be fooled into returning data + 0xf. */
    hp_image *img = it_new();
    it_seg(img, 0x10000, 0x100, UINT64_MAX - 0x10, 0x100);
    const uint8_t *a = hp_image_bytes(img, 0x10000, 1);
    const uint8_t *b = hp_image_bytes(img, 0x10020, 1);
    hp_image_close(img);
    assert_null(a);
    assert_null(b);
}

/* ---- symbols */

static void test_finish_syms_sort_and_dedupe(void **state)
{
    (void)state;
    hp_image *img = it_std();
    it_sym(img, "b", 0x401100, 0x10, HP_SYM_FUNC, HP_SRC_SYMTAB);
    it_sym(img, "a", 0x401000, 0x20, HP_SYM_FUNC, HP_SRC_SYMTAB);
    it_sym(img, "a", 0x401000, 0x20, HP_SYM_FUNC, HP_SRC_DYNSYM);
    it_sym(img, "a", 0x401000, 0x20, HP_SYM_FUNC, HP_SRC_SYMTAB); /* exact duplicate */
    it_sym(img, "a_alias", 0x401000, 0x20, HP_SYM_FUNC, HP_SRC_SYMTAB);
    it_sym(img, "a", 0x401800, 0x8, HP_SYM_FUNC, HP_SRC_SYMTAB); /* same name, other va */
    assert_int_equal(hp_image_finish_syms(img), HP_OK);
    assert_int_equal(img->nsyms, 4);
    for (size_t i = 1; i < img->nsyms; i++)
        assert_true(img->syms[i - 1].va <= img->syms[i].va);
    const hp_symbol *a = it_find(img, "a", 0x401000);
    assert_non_null(a);
    assert_int_equal(a->source, HP_SRC_DYNSYM); /* the better source is kept */
    assert_non_null(it_find(img, "a_alias", 0x401000));
    assert_non_null(it_find(img, "a", 0x401800));
    assert_non_null(it_find(img, "b", 0x401100));
    hp_image_close(img);
}

static void test_finish_syms_merge_size_and_binding(void **state)
{
    (void)state;
    hp_image *img = it_std();
    /* The better source has no size; the other one does: keep the size. */
    assert_int_equal(hp_image_add_symbol(img, "f", 1, 0x401000, 0, HP_SYM_FUNC, HP_SRC_DYNSYM,
                                         false), HP_OK);
    assert_int_equal(hp_image_add_symbol(img, "f", 1, 0x401000, 0x30, HP_SYM_FUNC,
                                         HP_SRC_SYMTAB, true), HP_OK);
    it_sym(img, "g", 0x401100, 0x10, HP_SYM_FUNC, HP_SRC_SYMTAB);
    assert_int_equal(hp_image_finish_syms(img), HP_OK);
    assert_int_equal(img->nsyms, 2);
    const hp_symbol *f = it_find(img, "f", 0x401000);
    assert_non_null(f);
    assert_int_equal(f->size, 0x30);
    assert_true(f->global);
    hp_image_close(img);
}

static void test_finish_syms_size_fill(void **state)
{
    (void)state;
    hp_image *img = it_std();
    it_sym(img, "f", 0x401000, 0, HP_SYM_FUNC, HP_SRC_SYMTAB);
    it_sym(img, "tbl", 0x401040, 0, HP_SYM_DATA, HP_SRC_SYMTAB); /* data bounds f */
    it_sym(img, "g", 0x401080, 0, HP_SYM_FUNC, HP_SRC_SYMTAB);
    it_sym(img, "h", 0x401100, 0x10, HP_SYM_FUNC, HP_SRC_SYMTAB); /* known size kept */
    it_sym(img, "last", 0x401f00, 0, HP_SYM_FUNC, HP_SRC_SYMTAB); /* runs to segment end */
    it_sym(img, "d", 0x403000, 0x10, HP_SYM_FUNC, HP_SRC_SYMTAB); /* next segment */
    assert_int_equal(hp_image_finish_syms(img), HP_OK);
    assert_int_equal(it_find(img, "f", 0x401000)->size, 0x40);
    assert_int_equal(it_find(img, "tbl", 0x401040)->size, 0); /* data is not filled */
    assert_int_equal(it_find(img, "g", 0x401080)->size, 0x80);
    assert_int_equal(it_find(img, "h", 0x401100)->size, 0x10);
    assert_int_equal(it_find(img, "last", 0x401f00)->size, 0x100);
    hp_image_close(img);
}

static void test_finish_syms_empty(void **state)
{
    (void)state;
    hp_image *img = it_std();
    assert_int_equal(hp_image_finish_syms(img), HP_OK);
    assert_int_equal(img->nsyms, 0);
    assert_null(hp_image_sym_at(img, 0x401000));
    assert_false(hp_image_owned(img, 0x401000));
    assert_int_equal(hp_image_next_sym_va(img, 0x401000), 0x402000);
    hp_image_close(img);
}

static hp_image *it_syms(void)
{
    hp_image *img = it_std();
    it_sym(img, "f", 0x401000, 0x20, HP_SYM_FUNC, HP_SRC_SYMTAB);
    it_sym(img, "f_data_alias", 0x401000, 0x20, HP_SYM_DATA, HP_SRC_SYMTAB);
    it_sym(img, "g", 0x401030, 0x10, HP_SYM_FUNC, HP_SRC_SYMTAB); /* pad 0x20..0x30 */
    it_sym(img, "tbl", 0x401040, 0x40, HP_SYM_DATA, HP_SRC_SYMTAB);
    it_sym(img, "puts@plt", 0x401100, 0x10, HP_SYM_FUNC, HP_SRC_PLT);
    it_sym(img, "k", 0x403000, 0x10, HP_SYM_FUNC, HP_SRC_SYMTAB);
    assert_int_equal(hp_image_finish_syms(img), HP_OK);
    return img;
}

static void test_sym_at(void **state)
{
    (void)state;
    hp_image *img = it_syms();
    const hp_symbol *s = hp_image_sym_at(img, 0x401000);
    assert_non_null(s);
    assert_string_equal(s->name, "f"); /* the function, not the data alias */
    assert_null(hp_image_sym_at(img, 0x401001)); /* not a start */
    assert_string_equal(hp_image_sym_at(img, 0x401030)->name, "g");
    assert_null(hp_image_sym_at(img, 0x401040)); /* data */
    assert_null(hp_image_sym_at(img, 0x401100)); /* PLT entries are not functions to hook */
    assert_string_equal(hp_image_sym_at(img, 0x403000)->name, "k");
    assert_null(hp_image_sym_at(img, 0));
    assert_null(hp_image_sym_at(img, UINT64_MAX));
    hp_image_close(img);
}

static void test_next_sym_va(void **state)
{
    (void)state;
    hp_image *img = it_syms();
    assert_int_equal(hp_image_next_sym_va(img, 0x401000), 0x401030);
    assert_int_equal(hp_image_next_sym_va(img, 0x40101f), 0x401030);
    assert_int_equal(hp_image_next_sym_va(img, 0x401030), 0x401040); /* data counts */
    assert_int_equal(hp_image_next_sym_va(img, 0x401040), 0x401100); /* PLT counts */
    /* the next symbol is in another segment: stop at this one's end */
    assert_int_equal(hp_image_next_sym_va(img, 0x401100), 0x402000);
    assert_int_equal(hp_image_next_sym_va(img, 0x401fff), 0x402000);
    assert_int_equal(hp_image_next_sym_va(img, 0x403000), 0x405000);
    hp_image_close(img);
}

static void test_owned(void **state)
{
    (void)state;
    hp_image *img = it_syms();
    assert_true(hp_image_owned(img, 0x401000));
    assert_true(hp_image_owned(img, 0x40101f));
    assert_false(hp_image_owned(img, 0x401020)); /* padding between f and g */
    assert_false(hp_image_owned(img, 0x40102f));
    assert_true(hp_image_owned(img, 0x401030));
    assert_false(hp_image_owned(img, 0x401040)); /* data is not a function */
    assert_false(hp_image_owned(img, 0x401050));
    assert_false(hp_image_owned(img, 0x400fff));
    assert_false(hp_image_owned(img, UINT64_MAX));
    hp_image_close(img);
}

static void test_owned_with_symbols_inside(void **state)
{
    (void)state;
    /* A large function with a few data symbols inside it (jump tables in
     * .text, local labels of assembly code): addresses in its body are
     * still owned. */
    hp_image *img = it_std();
    it_sym(img, "big", 0x401000, 0x400, HP_SYM_FUNC, HP_SRC_SYMTAB);
    char name[32];
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof name, "label%d", i);
        it_sym(img, name, 0x401100 + 0x10 * (uint64_t)i, 0, HP_SYM_DATA, HP_SRC_SYMTAB);
    }
    assert_int_equal(hp_image_finish_syms(img), HP_OK);
    assert_true(hp_image_owned(img, 0x401180));
    assert_true(hp_image_owned(img, 0x4013ff));
    assert_false(hp_image_owned(img, 0x401400));
    hp_image_close(img);
}

static void test_symbol_matches_alias(void **state)
{
    (void)state;
    /* Mach-O spells C names with a leading underscore; users write the
     * source name. The image makes the alias where the format table says
     * C names carry one (Mach-O only). */
    hp_image *img = it_std();
    img->fmt = &hp_format_macho;
    it_sym(img, "_add", 0x401000, 0x10, HP_SYM_FUNC, HP_SRC_SYMTAB);
    it_sym(img, "_", 0x401010, 0x10, HP_SYM_FUNC, HP_SRC_SYMTAB);
    it_sym(img, "__x", 0x401020, 0x10, HP_SYM_FUNC, HP_SRC_SYMTAB);
    img->fmt = &hp_format_elf;
    it_sym(img, "_elf", 0x401030, 0x10, HP_SYM_FUNC, HP_SRC_SYMTAB);
    assert_int_equal(hp_image_finish_syms(img), HP_OK);

    const hp_symbol *add = it_find(img, "_add", 0x401000);
    assert_non_null(add);
    assert_string_equal(add->alias, "add");
    assert_true(hp_symbol_matches(add, "_add"));
    assert_true(hp_symbol_matches(add, "add"));
    assert_false(hp_symbol_matches(add, "ad"));
    assert_false(hp_symbol_matches(add, "__add"));
    assert_false(hp_symbol_matches(add, ""));

    const hp_symbol *u = it_find(img, "_", 0x401010);
    assert_null(u->alias); /* nothing would be left */
    assert_true(hp_symbol_matches(u, "_"));
    assert_false(hp_symbol_matches(u, ""));

    assert_string_equal(it_find(img, "__x", 0x401020)->alias, "_x");

    const hp_symbol *e = it_find(img, "_elf", 0x401030);
    assert_null(e->alias);
    assert_false(hp_symbol_matches(e, "elf"));
    hp_image_close(img);
}

static void test_intern(void **state)
{
    (void)state;
    hp_image *img = it_new();
    const char src[] = "hello world";
    const char *s = hp_image_intern(img, src, 5);
    assert_non_null(s);
    assert_string_equal(s, "hello");
    assert_ptr_not_equal(s, src);
    /* not NUL-terminated input, embedded in a larger buffer */
    const char *t = hp_image_intern(img, src + 6, 5);
    assert_string_equal(t, "world");
    assert_int_equal(img->nstrs, 2);
    hp_image_close(img);
}

/* A borrowed name is used as it is, never copied or freed by the image. */
static void test_symbol_ref(void **state)
{
    (void)state;
    static const char table[] = "\0_main\0helper\0";
    hp_image *img = it_std();
    assert_int_equal(hp_image_reserve_symbols(img, 3), HP_OK);
    assert_true(img->syms_cap >= 3);
    hp_symbol *before = img->syms;
    assert_int_equal(hp_image_add_symbol_ref(img, table + 7, 0x401100, 0x10, HP_SYM_FUNC,
                                             HP_SRC_SYMTAB, true),
                     HP_OK);
    assert_int_equal(hp_image_add_symbol_ref(img, table + 1, 0x401000, 0, HP_SYM_FUNC,
                                             HP_SRC_DYNSYM, false),
                     HP_OK);
    it_sym(img, "copied", 0x401200, 8, HP_SYM_FUNC, HP_SRC_SYMTAB);
    assert_ptr_equal(img->syms, before); /* reserved: no growth */
    assert_int_equal(img->nstrs, 1);     /* only the copy is owned */
    assert_int_equal(hp_image_finish_syms(img), HP_OK);
    assert_int_equal(img->nsyms, 3);
    assert_ptr_equal(img->syms[0].name, table + 1);
    assert_int_equal(img->syms[0].size, 0x100); /* filled from the next symbol */
    assert_null(img->syms[0].alias);            /* an ELF image: no alias */
    assert_ptr_equal(img->syms[1].name, table + 7);
    assert_string_equal(img->syms[2].name, "copied");
    assert_ptr_not_equal(img->syms[2].name, "copied");
    hp_image_close(img);

    /* Mach-O's alias is derived from a borrowed name too. */
    img = it_std();
    img->fmt = &hp_format_macho;
    assert_int_equal(hp_image_add_symbol_ref(img, table + 1, 0x401000, 4, HP_SYM_FUNC,
                                             HP_SRC_SYMTAB, true),
                     HP_OK);
    assert_ptr_equal(img->syms[0].alias, table + 2);
    assert_true(hp_symbol_matches(&img->syms[0], "main"));
    hp_image_close(img);
}

static void test_reserve_symbols(void **state)
{
    (void)state;
    hp_image *img = it_std();
    assert_int_equal(hp_image_reserve_symbols(img, 0), HP_OK);
    it_sym(img, "f", 0x401000, 4, HP_SYM_FUNC, HP_SRC_SYMTAB);
    assert_int_equal(hp_image_reserve_symbols(img, SIZE_MAX), HP_ERR_NOMEM);
    assert_int_equal(hp_image_reserve_symbols(img, SIZE_MAX / 2), HP_ERR_NOMEM);
    assert_int_equal(img->nsyms, 1); /* unchanged by the failures */
    assert_string_equal(img->syms[0].name, "f");
    assert_int_equal(hp_image_reserve_symbols(img, 1000), HP_OK);
    assert_true(img->syms_cap >= 1001);
    hp_image_close(img);
}

/* ---- the edit */

static void test_edit_helpers(void **state)
{
    (void)state;
    hp_edit ed = {0};
    for (int i = 0; i < 100; i++) {
        hp_patch p = {.va = 0x1000 + 8 * (uint64_t)i, .len = 5};
        p.bytes[0] = 0xe9;
        p.orig[0] = (uint8_t)i;
        assert_int_equal(hp_edit_add_patch(&ed, &p), HP_OK);
    }
    assert_int_equal(ed.npatches, 100);
    assert_true(ed.patches_cap >= 100);
    assert_int_equal(ed.patches[42].va, 0x1000 + 8 * 42);
    assert_int_equal(ed.patches[42].orig[0], 42);
    assert_int_equal(ed.patches[99].bytes[0], 0xe9);

    char name[32] = "get_answer.hookpatch_stub";
    assert_int_equal(hp_edit_add_sym(&ed, name, 0x5000, 6, true), HP_OK);
    name[0] = 'X'; /* the edit owns a copy */
    assert_int_equal(hp_edit_add_sym(&ed, "data", 0x6000, 8, false), HP_OK);
    assert_int_equal(ed.nsyms, 2);
    assert_string_equal(ed.syms[0].name, "get_answer.hookpatch_stub");
    assert_int_equal(ed.syms[0].va, 0x5000);
    assert_int_equal(ed.syms[0].size, 6);
    assert_true(ed.syms[0].func);
    assert_false(ed.syms[1].func);

    for (uint64_t i = 0; i < 20; i++)
        assert_int_equal(hp_edit_add_abs_ptr(&ed, 0x7000 + 8 * i), HP_OK);
    assert_int_equal(ed.nabs_ptrs, 20);
    assert_int_equal(ed.abs_ptrs[19], 0x7000 + 8 * 19);

    assert_int_equal(hp_buf_append(&ed.regions[HP_REGION_TEXT].bytes, "\xcc\xcc", 2), HP_OK);
    assert_int_equal(hp_buf_append(&ed.info, "x", 1), HP_OK);
    hp_edit_free(&ed);
    assert_int_equal(ed.npatches, 0);
    assert_null(ed.patches);
    assert_int_equal(ed.nsyms, 0);
    assert_null(ed.syms);
    assert_null(ed.abs_ptrs);
    assert_null(ed.regions[HP_REGION_TEXT].bytes.data);
    assert_null(ed.info.data);
    hp_edit_free(&ed); /* twice is harmless */
}

/* ---- allocation failure: every allocation of a typical build-up, in turn */

/* Returns HP_OK when every step succeeded; on the first failure returns it
 * (which must be HP_ERR_NOMEM) with everything already released. */
static hp_status it_scenario(void)
{
    hp_image *img = hp_calloc(1, sizeof *img);
    if (!img)
        return HP_ERR_NOMEM;
    img->data = it_data;
    img->size = sizeof it_data;
    hp_status s = hp_image_reserve_symbols(img, 16);
    for (int i = 0; s == HP_OK && i < 12; i++) {
        hp_segment seg = {0x100000 * (uint64_t)(12 - i), 0x1000, 0, 0x1000, HP_PROT_R};
        s = hp_image_add_segment(img, &seg);
    }
    char name[32];
    for (int i = 0; s == HP_OK && i < 40; i++) {
        snprintf(name, sizeof name, "fn%d", i % 30);
        s = hp_image_add_symbol(img, name, strlen(name), 0x100000 + 0x10 * (uint64_t)(i % 30),
                                i % 3 ? 0 : 8, HP_SYM_FUNC, HP_SRC_SYMTAB, true);
    }
    if (s == HP_OK)
        s = hp_image_finish_syms(img);
    if (s == HP_OK && !hp_image_intern(img, "interned", 8))
        s = HP_ERR_NOMEM;
    if (s == HP_OK && img->nsyms != 30)
        s = HP_ERR_INTERNAL;
    hp_edit ed = {0};
    for (int i = 0; s == HP_OK && i < 20; i++) {
        hp_patch p = {.va = 0x100000 + 0x10 * (uint64_t)i, .len = 5};
        s = hp_edit_add_patch(&ed, &p);
        if (s == HP_OK)
            s = hp_edit_add_sym(&ed, "stub", 0x200000, 8, true);
        if (s == HP_OK)
            s = hp_edit_add_abs_ptr(&ed, 0x300000 + 8 * (uint64_t)i);
    }
    hp_edit_free(&ed);
    hp_image_close(img);
    return s;
}

static void test_alloc_failure_sweep(void **state)
{
    (void)state;
    long n;
    for (n = 0; n < 100000; n++) {
        hp_mem_fail_after(n);
        hp_status s = it_scenario();
        hp_mem_fail_after(-1);
        if (s == HP_OK)
            break;
        assert_int_equal(s, HP_ERR_NOMEM);
    }
    assert_true(n > 10); /* the sweep did fail allocations along the way */
    assert_true(n < 100000);
}

static void test_grow_overflow(void **state)
{
    (void)state;
    hp_patch *v = NULL;
    size_t cap = 0;
    assert_int_equal(HP_GROW(v, cap, SIZE_MAX / 2), HP_ERR_NOMEM);
    assert_null(v);
    assert_int_equal(cap, 0);
    assert_int_equal(HP_GROW(v, cap, 3), HP_OK);
    assert_true(cap >= 3);
    hp_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segments_sorted),
        cmocka_unit_test(test_segment_at),
        cmocka_unit_test(test_bytes_inside),
        cmocka_unit_test(test_bytes_crossing_ends),
        cmocka_unit_test(test_bytes_bss),
        cmocka_unit_test(test_bytes_adjacent_segments),
        cmocka_unit_test(test_bytes_overflow),
        cmocka_unit_test(test_bytes_segment_beyond_file),
        cmocka_unit_test(test_bytes_file_offset_wraps),
        cmocka_unit_test(test_finish_syms_sort_and_dedupe),
        cmocka_unit_test(test_finish_syms_merge_size_and_binding),
        cmocka_unit_test(test_finish_syms_size_fill),
        cmocka_unit_test(test_finish_syms_empty),
        cmocka_unit_test(test_sym_at),
        cmocka_unit_test(test_next_sym_va),
        cmocka_unit_test(test_owned),
        cmocka_unit_test(test_owned_with_symbols_inside),
        cmocka_unit_test(test_symbol_matches_alias),
        cmocka_unit_test(test_intern),
        cmocka_unit_test(test_symbol_ref),
        cmocka_unit_test(test_reserve_symbols),
        cmocka_unit_test(test_edit_helpers),
        cmocka_unit_test(test_alloc_failure_sweep),
        cmocka_unit_test(test_grow_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
