/* gopclntab: Go's function table (pclntab) and what hangs off it: function
 * names, entries and sizes (so stripped Go binaries can be hooked), and the
 * inline tree (so hookpatch can say where a target was inlined). Format
 * backends locate the table (img->pclntab); hp_go_load does the rest. Every
 * read is bounds-checked: the table comes from an untrusted file. */
#ifndef HP_GOPCLNTAB_H
#define HP_GOPCLNTAB_H

#include "../image.h"

typedef enum hp_go_layout {
    HP_GO_116 = 116, /* magic 0xfffffffa: Go 1.16-1.17 */
    HP_GO_118 = 118, /* magic 0xfffffff0: Go 1.18-1.19 */
    HP_GO_120 = 120, /* magic 0xfffffff1: Go 1.20+ */
} hp_go_layout;

typedef struct hp_gotab {
    const uint8_t *data; /* the pclntab bytes (borrowed) */
    size_t size;
    hp_go_layout layout;
    uint8_t ptr_size;
    uint8_t pc_quantum; /* pcHeader.minLC: pc-table deltas are in these units */
    uint64_t text_va; /* base of entry offsets (1.18+: pcHeader.textStart) */
    uint64_t nfuncs;
    /* offsets of the sub-tables inside data, validated against size */
    uint64_t funcname_off, cu_off, filetab_off, pctab_off, functab_off, functab_size;
    /* Go 1.18+: funcdata offsets are relative to moduledata.gofunc, which
     * lives outside pclntab; 0 when it could not be found (inline tree then
     * unavailable). */
    uint64_t gofunc_va;
    const hp_image *img; /* borrowed, for reading gofunc data; may be NULL */
} hp_gotab;

typedef struct hp_gofunc {
    const char *name; /* points into data, NUL-terminated inside bounds */
    uint64_t entry_va;
    uint64_t end_va; /* next function's entry (or the table's end entry) */
    uint64_t func_off; /* offset of the _func record inside data */
} hp_gofunc;

/* Validate the header and tables. On failure returns HP_ERR_FORMAT (or
 * HP_ERR_UNSUPPORTED for Go 1.2-1.15 and big-endian tables) and a one-line
 * reason in why ("pclntab truncated: functab needs N bytes, M left"); why
 * may be NULL. When pcHeader.textStart is 0, text_va comes from img
 * (runtime.text symbol, then moduledata.text) before text_va_hint; 1.16
 * entries are absolute and the hint is informative. With img, gofunc_va is
 * located (see hp_go_table); the moduledata scan needs img->pclntab == data
 * and img->pclntab_va. */
hp_status hp_gotab_open(const uint8_t *data, size_t size, uint64_t text_va_hint,
                        const hp_image *img, hp_gotab *out, char *why, size_t why_len);
/* Function i (0 <= i < nfuncs). HP_ERR_FORMAT if its record is corrupt,
 * HP_ERR_RESOLVE if i >= nfuncs. */
hp_status hp_gotab_func(const hp_gotab *t, uint64_t i, hp_gofunc *out);
/* Index of the function containing va, or HP_ERR_RESOLVE. */
hp_status hp_gotab_find(const hp_gotab *t, uint64_t va, uint64_t *index);

/* Call fn once per distinct inlined callee inside function i, with the number
 * of inlined call sites of that callee (callee points into the table, like
 * hp_gofunc.name). HP_ERR_UNSUPPORTED when the inline tree cannot be located
 * (gofunc unknown, or no image to read it from); a function with no inline
 * tree calls nothing and returns HP_OK; HP_ERR_FORMAT for a corrupt tree. */
typedef void (*hp_go_inline_fn)(void *ctx, const char *callee, uint32_t sites);
hp_status hp_gotab_inlined(const hp_gotab *t, uint64_t i, hp_go_inline_fn fn, void *ctx);

/* For backends: when img->pclntab is set, add Go function symbols (source
 * HP_SRC_PCLNTAB) for functions the symbol table does not already name, and
 * use the table's function bounds for their sizes (also for a same-named
 * symbol of size 0). A symbol at the entry whose name the table spells
 * differently counts as the same function: generic "pkg.F[go.shape.int_0]"
 * is "pkg.F[...]" in the table, assembly "pkg.f.abi0" is "pkg.f". Records
 * that fail validation are skipped with one warning. A corrupt table is a
 * warning in img->diags (the symbol table still works), not an error, unless
 * the image has no other symbols. Call before hp_image_finish_syms. */
hp_status hp_go_load(hp_image *img);

/* Open the image's table (img->pclntab, after hp_go_load) with gofunc
 * located, for inline queries. Cheap: no allocation; the gofunc search is
 * one pass over the symbols, or over the data segments when stripped.
 * HP_ERR_UNSUPPORTED when the image has no pclntab; reasons for a corrupt
 * table were reported by hp_go_load. out borrows img. */
hp_status hp_go_table(const hp_image *img, hp_gotab *out);

#endif
