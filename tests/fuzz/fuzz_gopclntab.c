/* libFuzzer harness for sections/debug/gopclntab.c.
 *
 * The input is a pclntab. It is read three ways:
 *  1. alone (img NULL), as a format backend's caller would before symbols:
 *     open, every function, a few lookups, every inline tree (UNSUPPORTED
 *     is the expected answer for 1.18+ trees, which live outside);
 *  2. inside an image whose one segment maps the input at FUZZ_VA, with a
 *     "go:func.*" symbol at FUZZ_VA, so 1.16 absolute funcdata and 1.18+
 *     gofunc offsets both land in fuzzed bytes and the tree reader runs;
 *  3. the same image without the symbol, through hp_go_load and
 *     hp_go_table, so the moduledata scan runs over the input too.
 *
 * Built by tests/fuzz/CMakeLists.txt (HP_FUZZ=ON) against hp_sections;
 * tests/fuzz/run.sh runs it from the corpus. */
#include "sections/format.h"
#include "sections/debug/gopclntab.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_TEXT_VA 0x401000u
#define FUZZ_VA 0x600000u

static void hp_fuzz_sink(void *ctx, const char *callee, uint32_t sites)
{
    /* Touch the whole name: it must be NUL-terminated in bounds. */
    *(size_t *)ctx += strlen(callee) + sites;
}

static void hp_fuzz_walk(const hp_gotab *t)
{
    size_t sink = 0;
    for (uint64_t i = 0; i < t->nfuncs; i++) {
        hp_gofunc f;
        if (hp_gotab_func(t, i, &f) != HP_OK)
            continue;
        sink += strlen(f.name);
        uint64_t j;
        /* A function with code is the one find returns for its entry. */
        if (f.end_va > f.entry_va && (hp_gotab_find(t, f.entry_va, &j) != HP_OK || j != i))
            abort();
        hp_gotab_inlined(t, i, hp_fuzz_sink, &sink);
    }
    static const uint64_t probes[] = {0, FUZZ_TEXT_VA - 1, FUZZ_TEXT_VA, FUZZ_TEXT_VA + 0x40,
                                      FUZZ_TEXT_VA + 0x1000, UINT64_MAX};
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        uint64_t j;
        if (hp_gotab_find(t, probes[k], &j) == HP_OK && j >= t->nfuncs)
            abort();
    }
    if (sink == SIZE_MAX)
        abort(); /* keep the compiler from dropping the reads */
}

static hp_image *hp_fuzz_image(const uint8_t *data, size_t size, hp_diags *d)
{
    hp_image *img = hp_calloc(1, sizeof *img);
    if (!img)
        return NULL;
    img->data = data;
    img->size = size;
    img->diags = d;
    hp_segment seg = {FUZZ_VA, size, 0, size, HP_PROT_R | HP_PROT_W};
    if (hp_image_add_segment(img, &seg) != HP_OK) {
        hp_image_close(img);
        return NULL;
    }
    img->pclntab = data;
    img->pclntab_size = size;
    img->pclntab_va = FUZZ_VA;
    img->go_text_va = FUZZ_TEXT_VA;
    return img;
}

static void hp_fuzz_with_symbol(const uint8_t *data, size_t size)
{
    hp_image *img = hp_fuzz_image(data, size, NULL);
    if (!img)
        return;
    hp_gotab t;
    char why[256];
    if (hp_image_add_symbol(img, "go:func.*", 9, FUZZ_VA, 0, HP_SYM_DATA, HP_SRC_SYMTAB, false) ==
            HP_OK &&
        hp_gotab_open(data, size, FUZZ_TEXT_VA, img, &t, why, sizeof why) == HP_OK)
        hp_fuzz_walk(&t);
    hp_image_close(img);
}

static void hp_fuzz_load(const uint8_t *data, size_t size)
{
    hp_diags d = {0};
    hp_image *img = hp_fuzz_image(data, size, &d);
    if (!img)
        return;
    hp_gotab t;
    if (hp_go_load(img) == HP_OK && hp_image_finish_syms(img) == HP_OK &&
        hp_go_table(img, &t) == HP_OK)
        hp_fuzz_walk(&t);
    hp_image_close(img);
    hp_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hp_gotab t;
    char why[256];
    if (hp_gotab_open(data, size, FUZZ_TEXT_VA, NULL, &t, why, sizeof why) == HP_OK)
        hp_fuzz_walk(&t);
    else if (!why[0])
        abort(); /* every failure names its reason */
    hp_fuzz_with_symbol(data, size);
    hp_fuzz_load(data, size);
    return 0;
}
