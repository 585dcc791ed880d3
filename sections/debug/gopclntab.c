/* Go's function table (pclntab): names, bounds and inline trees of Go
 * functions, read from untrusted bytes.
 *
 * The layout, from the Go linker (cmd/link/internal/ld/pcln.go) and runtime
 * (runtime/symtab.go), is one blob:
 *
 *   pcHeader     magic, 0, 0, minLC (pc quantum), ptrSize, then ptrSize
 *                words: nfunc, nfiles, [textStart,] and the offsets of the
 *                five sub-tables below, relative to the header
 *   funcnametab  NUL-terminated names; _func.nameoff indexes it
 *   cutab        uint32 file indexes per compilation unit
 *   filetab      NUL-terminated file names
 *   pctab        varint-encoded pc->value tables; pcdata offsets index it
 *   functab      ftab: nfunc {entry, funcoff} pairs plus one end entry,
 *                then the _func records (funcoff is relative to functab)
 *
 * Three layouts matter for Go 1.16+:
 *
 *   magic       Go      ftab fields        _func        funcdata[k]
 *   0xfffffffa  1.16-17 uintptr, absolute  entry uintptr absolute pointer,
 *                                          + 36 bytes   pointer-aligned
 *   0xfffffff0  1.18-19 uint32, from text  entryoff u32 uint32 offset from
 *                                          + 36 bytes   moduledata.gofunc
 *   0xfffffff1  1.20+   uint32, from text  + 40 bytes   same as 1.18
 *                                          (startLine)
 *
 * Missing funcdata is 0 in 1.16 and ~0 in 1.18+. Go 1.19 names generic
 * functions "pkg.F[...]" in funcnametab, whatever their shape
 * ("pkg.F[go.shape.int_0]" in the symbol table), so two instantiations
 * share that spelling; later releases (1.26 does) write the full name, as
 * the symbol table does, and spell shapes without the "_0"
 * ("pkg.F[go.shape.int]"). Go 1.26 still uses the 1.20 layout (magic,
 * _func and moduledata as below) but writes textStart as 0 ("no longer
 * stored", runtime/symtab.go): the text address then comes from
 * runtime.text or moduledata (hp_go_text).
 *
 * The inline tree (FUNCDATA_InlTree) is an array of inlinedCall records:
 * 20 bytes up to 1.19 ({parent i16, funcID u8, _, file, line, nameoff,
 * parentPc}), 16 bytes from 1.20 ({funcID u8, _[3], nameOff, parentPc,
 * startLine}). Its length is not stored. The compiler builds each
 * function's tree from the positions of instructions it actually emitted,
 * adding a call's parent before the call (cmd/internal/obj/pcln.go,
 * addBranch), so the largest index in the function's PCDATA_InlTreeIndex
 * table, plus one, is the entry count.
 *
 * From 1.18 the tree lives in go.func.* (go:func.* from 1.20), outside the
 * pclntab. Its address is the symbol's value when a symbol table exists;
 * in stripped binaries it is read from runtime.firstmoduledata, which we
 * find by scanning data for its first field, a pointer to the pclntab, and
 * confirm by the slices that must point back into the table. The Go linker
 * writes link-time values into the file even under PIE, so no relocation
 * needs applying.
 *
 * Everything is bounds-checked: offsets against the blob, counts against
 * the bytes that would hold them, varints against the end of pctab. */
#include "gopclntab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    HP_GO_PCDATA_INLTREEINDEX = 2,
    HP_GO_FUNCDATA_INLTREE = 3,
    HP_GO_HDR_PREFIX = 8, /* magic, two pads, minLC, ptrSize */
    HP_GO_MAX_INLINE_DEPTH = 64, /* inline-tree entries per pc-table step */
};

/* What differs between the layouts. Offsets inside _func are counted from
 * the end of its entry field (uintptr in 1.16, uint32 later). */
typedef struct hp_go_spec {
    uint32_t magic;
    hp_go_layout layout;
    uint8_t nwords;        /* header words after the prefix */
    int8_t text_word;      /* index of textStart among them, -1 if absent */
    uint8_t func_rest;     /* _func bytes after the entry field */
    uint8_t inl_size;      /* bytes per inlinedCall */
    uint8_t inl_name;      /* offset of its name offset */
    uint8_t md_gofunc;     /* moduledata word holding gofunc; 0 = none */
} hp_go_spec;

static const hp_go_spec hp_go_specs[] = {
    {0xfffffffau, HP_GO_116, 7, -1, 36, 20, 12, 0},
    {0xfffffff0u, HP_GO_118, 8, 2, 36, 20, 12, 38},
    /* 1.20 added moduledata.covctrs/ecovctrs before gofunc. */
    {0xfffffff1u, HP_GO_120, 8, 2, 40, 16, 4, 40},
};

/* moduledata word indexes shared by every supported version. */
enum { HP_MD_FUNCNAMETAB = 1, HP_MD_PCLNTABLE = 13, HP_MD_FTAB = 16, HP_MD_FTAB_LEN = 17,
       HP_MD_TEXT = 22 };

/* A parsed _func record: where its variable-length arrays are. */
typedef struct hp_go_rec {
    uint64_t pcdata_off; /* offset in data of pcdata[0] */
    uint32_t npcdata;
    uint32_t nfuncdata;
} hp_go_rec;

static const hp_go_spec *hp_go_spec_of(hp_go_layout l)
{
    for (size_t i = 0; i < sizeof hp_go_specs / sizeof hp_go_specs[0]; i++)
        if (hp_go_specs[i].layout == l)
            return &hp_go_specs[i];
    return NULL;
}

__attribute__((format(printf, 4, 5))) static hp_status hp_go_why(hp_status s, char *why,
                                                                 size_t len, const char *fmt, ...)
{
    if (why && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return s;
}

static uint64_t hp_go_word(uint8_t ptr_size, const uint8_t *p)
{
    return ptr_size == 8 ? hp_rd64(p) : hp_rd32(p);
}

/* Bytes per ftab field: a pointer in 1.16, uint32 after. */
static uint64_t hp_go_ftab_field(const hp_gotab *t)
{
    return t->layout == HP_GO_116 ? t->ptr_size : 4;
}

static uint64_t hp_go_ftab_entry(const hp_gotab *t, uint64_t i)
{
    uint64_t fs = hp_go_ftab_field(t);
    const uint8_t *p = t->data + t->functab_off + 2 * i * fs;
    return fs == 4 ? hp_rd32(p) : hp_go_word(t->ptr_size, p);
}

static uint64_t hp_go_ftab_funcoff(const hp_gotab *t, uint64_t i)
{
    uint64_t fs = hp_go_ftab_field(t);
    const uint8_t *p = t->data + t->functab_off + (2 * i + 1) * fs;
    return fs == 4 ? hp_rd32(p) : hp_go_word(t->ptr_size, p);
}

/* ftab entries are offsets from text in 1.18+, addresses in 1.16. */
static uint64_t hp_go_entry_va(const hp_gotab *t, uint64_t raw)
{
    return t->layout == HP_GO_116 ? raw : t->text_va + raw;
}

/* ---- header ---------------------------------------------------------- */

static hp_status hp_go_magic(const uint8_t *data, size_t size, const hp_go_spec **sp, char *why,
                             size_t wl)
{
    if (size < HP_GO_HDR_PREFIX)
        return hp_go_why(HP_ERR_FORMAT, why, wl, "pclntab truncated: header needs %d bytes, %zu left",
                         HP_GO_HDR_PREFIX, size);
    uint32_t magic = hp_rd32(data);
    for (size_t i = 0; i < sizeof hp_go_specs / sizeof hp_go_specs[0]; i++)
        if (hp_go_specs[i].magic == magic) {
            *sp = &hp_go_specs[i];
            return HP_OK;
        }
    if (magic == 0xfffffffbu)
        return hp_go_why(HP_ERR_UNSUPPORTED, why, wl,
                         "Go 1.2-1.15 pclntab (magic 0xfffffffb) is not supported");
    uint32_t swapped = __builtin_bswap32(magic);
    for (size_t i = 0; i < sizeof hp_go_specs / sizeof hp_go_specs[0]; i++)
        if (hp_go_specs[i].magic == swapped)
            return hp_go_why(HP_ERR_UNSUPPORTED, why, wl, "big-endian pclntab is not supported");
    return hp_go_why(HP_ERR_FORMAT, why, wl, "not a Go pclntab: magic 0x%08x", magic);
}

/* The five sub-table offsets must ascend in linker order and stay inside. */
static hp_status hp_go_offsets(hp_gotab *t, const uint64_t *off, uint64_t hdr_end, char *why,
                               size_t wl)
{
    static const char *const names[] = {"funcnametab", "cutab", "filetab", "pctab", "functab"};
    uint64_t prev = hdr_end;
    for (int i = 0; i < 5; i++) {
        if (off[i] < prev || off[i] > t->size)
            return hp_go_why(HP_ERR_FORMAT, why, wl,
                             "pclntab %s offset 0x%llx out of order or past the end (size 0x%zx)",
                             names[i], (unsigned long long)off[i], t->size);
        prev = off[i];
    }
    t->funcname_off = off[0];
    t->cu_off = off[1];
    t->filetab_off = off[2];
    t->pctab_off = off[3];
    t->functab_off = off[4];
    return HP_OK;
}

static hp_status hp_go_header(const uint8_t *data, size_t size, hp_gotab *t,
                              const hp_go_spec **spp, uint64_t *hdr_text, char *why, size_t wl)
{
    HP_CHECK(hp_go_magic(data, size, spp, why, wl));
    const hp_go_spec *sp = *spp;
    if (data[4] || data[5])
        return hp_go_why(HP_ERR_FORMAT, why, wl, "pclntab header padding is not zero");
    if (data[6] != 1 && data[6] != 2 && data[6] != 4)
        return hp_go_why(HP_ERR_FORMAT, why, wl, "pclntab pc quantum %u is not 1, 2 or 4", data[6]);
    if (data[7] != 4 && data[7] != 8)
        return hp_go_why(HP_ERR_FORMAT, why, wl, "pclntab pointer size %u is not 4 or 8", data[7]);
    t->data = data;
    t->size = size;
    t->layout = sp->layout;
    t->pc_quantum = data[6];
    t->ptr_size = data[7];
    uint64_t hdr_end = HP_GO_HDR_PREFIX + (uint64_t)sp->nwords * t->ptr_size;
    if (size < hdr_end)
        return hp_go_why(HP_ERR_FORMAT, why, wl,
                         "pclntab truncated: header needs %llu bytes, %zu left",
                         (unsigned long long)hdr_end, size);
    uint64_t w[8];
    for (int i = 0; i < sp->nwords; i++)
        w[i] = hp_go_word(t->ptr_size, data + HP_GO_HDR_PREFIX + (size_t)i * t->ptr_size);
    t->nfuncs = w[0];
    *hdr_text = sp->text_word >= 0 ? w[sp->text_word] : 0;
    return hp_go_offsets(t, &w[sp->nwords - 5], hdr_end, why, wl);
}

/* ftab must fit and ascend, so hp_gotab_find can binary-search it. */
static hp_status hp_go_check_ftab(hp_gotab *t, char *why, size_t wl)
{
    uint64_t fs = hp_go_ftab_field(t);
    uint64_t room = t->size - t->functab_off;
    if (t->nfuncs > room / (2 * fs))
        return hp_go_why(HP_ERR_FORMAT, why, wl,
                         "pclntab truncated: functab of %llu functions needs more than the %llu "
                         "bytes left",
                         (unsigned long long)t->nfuncs, (unsigned long long)room);
    t->functab_size = (2 * t->nfuncs + 1) * fs;
    if (t->functab_size > room)
        return hp_go_why(HP_ERR_FORMAT, why, wl,
                         "pclntab truncated: functab needs %llu bytes, %llu left",
                         (unsigned long long)t->functab_size, (unsigned long long)room);
    for (uint64_t i = 0; i < t->nfuncs; i++)
        if (hp_go_ftab_entry(t, i) > hp_go_ftab_entry(t, i + 1))
            return hp_go_why(HP_ERR_FORMAT, why, wl, "pclntab functab not sorted at function %llu",
                             (unsigned long long)i);
    return HP_OK;
}

/* ---- locating moduledata.gofunc --------------------------------------- */

/* go.func.* (go:func.* from 1.20) and runtime.text from the symbols. */
static void hp_go_from_syms(const hp_image *img, uint64_t *gofunc, uint64_t *text)
{
    for (size_t i = 0; i < img->nsyms; i++) {
        const hp_symbol *s = &img->syms[i];
        if ((!strcmp(s->name, "go:func.*") || !strcmp(s->name, "go.func.*")) &&
            hp_image_bytes(img, s->va, 1))
            *gofunc = s->va;
        else if (!strcmp(s->name, "runtime.text") && s->va)
            *text = s->va;
    }
}

/* Is md (the bytes at a candidate) this table's moduledata? Its slices
 * must point back into the pclntab and ftab must have nfunc+1 entries. */
static bool hp_go_md_matches(const hp_gotab *t, const uint8_t *md, uint64_t pcln_va)
{
    uint8_t ps = t->ptr_size;
#define HP_MD_WORD(k) hp_go_word(ps, md + (size_t)(k) * ps)
    if (HP_MD_WORD(HP_MD_FUNCNAMETAB) != pcln_va + t->funcname_off ||
        HP_MD_WORD(HP_MD_PCLNTABLE) != pcln_va + t->functab_off ||
        HP_MD_WORD(HP_MD_FTAB) != pcln_va + t->functab_off ||
        HP_MD_WORD(HP_MD_FTAB_LEN) != t->nfuncs + 1)
        return false;
    return !t->text_va || HP_MD_WORD(HP_MD_TEXT) == t->text_va;
#undef HP_MD_WORD
}

/* Scan one segment's file bytes for a pointer to the pclntab that starts a
 * valid moduledata. Fills gofunc and text from the first match. */
static bool hp_go_md_scan_seg(const hp_gotab *t, const hp_go_spec *sp, const hp_image *img,
                              const hp_segment *s, uint64_t pcln_va, uint64_t *gofunc,
                              uint64_t *text)
{
    uint8_t ps = t->ptr_size;
    uint64_t md_len = ((uint64_t)sp->md_gofunc + 1) * ps;
    if (!hp_in_bounds(s->file_off, s->file_size, img->size) || s->file_size < md_len)
        return false;
    const uint8_t *base = img->data + s->file_off;
    uint64_t first = hp_align_up(s->va, ps) - s->va;
    for (uint64_t o = first; o + md_len <= s->file_size; o += ps) {
        if (hp_go_word(ps, base + o) != pcln_va || !hp_go_md_matches(t, base + o, pcln_va))
            continue;
        uint64_t gf = hp_go_word(ps, base + o + (size_t)sp->md_gofunc * ps);
        if (!hp_image_bytes(img, gf, 1))
            continue;
        *gofunc = gf;
        *text = hp_go_word(ps, base + o + (size_t)HP_MD_TEXT * ps);
        return true;
    }
    return false;
}

/* moduledata sits in writable data (.noptrdata), so those segments go
 * first; read-only data is the fallback for unusual layouts. */
static void hp_go_md_scan(hp_gotab *t, const hp_go_spec *sp, const hp_image *img)
{
    if (img->pclntab != t->data || !img->pclntab_va)
        return; /* we do not know the table's address */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < img->nsegs; i++) {
            const hp_segment *s = &img->segs[i];
            uint64_t gofunc, text;
            bool writable = s->prot & HP_PROT_W;
            if ((s->prot & HP_PROT_X) || writable != (pass == 0))
                continue;
            if (hp_go_md_scan_seg(t, sp, img, s, img->pclntab_va, &gofunc, &text)) {
                t->gofunc_va = gofunc;
                if (!t->text_va)
                    t->text_va = text;
                return;
            }
        }
}

/* Fill gofunc_va (when wanted) and a missing text_va from the image:
 * symbols first, then the moduledata scan, which costs a pass over data. */
static void hp_go_locate(hp_gotab *t, const hp_go_spec *sp, const hp_image *img,
                         bool want_gofunc)
{
    if (!sp->md_gofunc || (!want_gofunc && t->text_va))
        return; /* 1.16: absolute entries and funcdata; or nothing to find */
    uint64_t gofunc = 0, text = 0;
    hp_go_from_syms(img, &gofunc, &text);
    if (want_gofunc)
        t->gofunc_va = gofunc;
    if (!t->text_va)
        t->text_va = text;
    if ((want_gofunc && !t->gofunc_va) || !t->text_va)
        hp_go_md_scan(t, sp, img);
}

/* ---- open ------------------------------------------------------------ */

/* text_va for 1.18+: pcHeader.textStart is the linker's own value. If a
 * toolchain leaves it 0, runtime.text (symbol or moduledata) beats the
 * caller's hint, a section start that external linking can move. */
static hp_status hp_go_text(hp_gotab *t, const hp_go_spec *sp, uint64_t hdr_text, uint64_t hint,
                            const hp_image *img, bool want_gofunc, char *why, size_t wl)
{
    t->text_va = hdr_text;
    if (img)
        hp_go_locate(t, sp, img, want_gofunc);
    if (!t->text_va)
        t->text_va = hint;
    if (!t->text_va)
        return hp_go_why(HP_ERR_FORMAT, why, wl,
                         "pclntab textStart is 0 and no text address is known");
    /* Addresses must ascend like the offsets, so none may wrap. */
    uint64_t last = hp_go_ftab_entry(t, t->nfuncs);
    if (t->text_va > UINT64_MAX - last)
        return hp_go_why(HP_ERR_FORMAT, why, wl,
                         "pclntab text address 0x%llx + offset 0x%llx overflows",
                         (unsigned long long)t->text_va, (unsigned long long)last);
    return HP_OK;
}

static hp_status hp_go_open(const uint8_t *data, size_t size, uint64_t hint, const hp_image *img,
                            bool want_gofunc, hp_gotab *t, char *why, size_t wl)
{
    memset(t, 0, sizeof *t);
    if (why && wl)
        why[0] = 0;
    if (!data)
        return hp_go_why(HP_ERR_FORMAT, why, wl, "no pclntab bytes");
    const hp_go_spec *sp = NULL;
    uint64_t hdr_text = 0;
    HP_CHECK(hp_go_header(data, size, t, &sp, &hdr_text, why, wl));
    HP_CHECK(hp_go_check_ftab(t, why, wl));
    if (t->layout == HP_GO_116) /* entries are addresses; text_va is informative */
        t->text_va = hint ? hint : t->nfuncs ? hp_go_ftab_entry(t, 0) : 0;
    else
        HP_CHECK(hp_go_text(t, sp, hdr_text, hint, img, want_gofunc, why, wl));
    t->img = img;
    return HP_OK;
}

hp_status hp_gotab_open(const uint8_t *data, size_t size, uint64_t text_va_hint,
                        const hp_image *img, hp_gotab *out, char *why, size_t why_len)
{
    return hp_go_open(data, size, text_va_hint, img, true, out, why, why_len);
}

hp_status hp_go_table(const hp_image *img, hp_gotab *out)
{
    if (!img->pclntab)
        return HP_ERR_UNSUPPORTED;
    return hp_go_open(img->pclntab, img->pclntab_size, img->go_text_va, img, true, out, NULL, 0);
}

/* ---- functions --------------------------------------------------------- */

/* The NUL-terminated name at funcnametab[nameoff], or NULL. */
static const char *hp_go_name(const hp_gotab *t, int32_t nameoff)
{
    if (nameoff < 0)
        return NULL;
    uint64_t at = t->funcname_off + (uint64_t)nameoff;
    if (at >= t->cu_off)
        return NULL;
    const char *s = (const char *)t->data + at;
    return memchr(s, 0, (size_t)(t->cu_off - at)) ? s : NULL;
}

/* Bytes after pcdata[] up to the end of funcdata[]: 1.16 pads to a pointer
 * boundary (counted from the functab start, as the linker does). */
static uint64_t hp_go_funcdata_start(const hp_gotab *t, const hp_go_rec *r)
{
    uint64_t at = r->pcdata_off + (uint64_t)r->npcdata * 4;
    if (t->layout == HP_GO_116 && r->nfuncdata && t->ptr_size == 8 && (at - t->functab_off) % 8)
        at += 4;
    return at;
}

static hp_status hp_go_rec_read(const hp_gotab *t, uint64_t func_off, uint64_t entry_raw,
                                hp_go_rec *r, const char **name)
{
    const hp_go_spec *sp = hp_go_spec_of(t->layout);
    uint64_t esz = t->layout == HP_GO_116 ? t->ptr_size : 4;
    if (!hp_in_bounds(func_off, esz + sp->func_rest, t->size))
        return HP_ERR_FORMAT;
    const uint8_t *f = t->data + func_off;
    uint64_t entry = esz == 4 ? hp_rd32(f) : hp_go_word(t->ptr_size, f);
    if (entry != entry_raw)
        return HP_ERR_FORMAT; /* _func disagrees with ftab: not a record */
    const uint8_t *rest = f + esz;
    *name = hp_go_name(t, (int32_t)hp_rd32(rest));
    if (!*name)
        return HP_ERR_FORMAT;
    r->npcdata = hp_rd32(rest + 24);
    r->nfuncdata = rest[sp->func_rest - 1];
    r->pcdata_off = func_off + esz + sp->func_rest;
    uint64_t fd = hp_go_funcdata_start(t, r);
    uint64_t fdsz = (uint64_t)r->nfuncdata * (t->layout == HP_GO_116 ? t->ptr_size : 4);
    if (!hp_in_bounds(fd, fdsz, t->size))
        return HP_ERR_FORMAT;
    return HP_OK;
}

static hp_status hp_go_func_rec(const hp_gotab *t, uint64_t i, hp_gofunc *out, hp_go_rec *r)
{
    if (i >= t->nfuncs)
        return HP_ERR_RESOLVE;
    uint64_t funcoff = hp_go_ftab_funcoff(t, i);
    uint64_t room = t->size - t->functab_off;
    if (funcoff >= room)
        return HP_ERR_FORMAT;
    uint64_t raw = hp_go_ftab_entry(t, i);
    out->func_off = t->functab_off + funcoff;
    HP_CHECK(hp_go_rec_read(t, out->func_off, raw, r, &out->name));
    out->entry_va = hp_go_entry_va(t, raw);
    out->end_va = hp_go_entry_va(t, hp_go_ftab_entry(t, i + 1));
    return HP_OK;
}

hp_status hp_gotab_func(const hp_gotab *t, uint64_t i, hp_gofunc *out)
{
    hp_go_rec r;
    memset(out, 0, sizeof *out);
    return hp_go_func_rec(t, i, out, &r);
}

hp_status hp_gotab_find(const hp_gotab *t, uint64_t va, uint64_t *index)
{
    if (!t->nfuncs)
        return HP_ERR_RESOLVE;
    uint64_t first = hp_go_entry_va(t, hp_go_ftab_entry(t, 0));
    uint64_t end = hp_go_entry_va(t, hp_go_ftab_entry(t, t->nfuncs));
    if (va < first || va >= end)
        return HP_ERR_RESOLVE;
    /* The last i with entry(i) <= va; ftab ascends (checked at open). */
    uint64_t lo = 0, hi = t->nfuncs;
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (hp_go_entry_va(t, hp_go_ftab_entry(t, mid)) <= va)
            lo = mid;
        else
            hi = mid;
    }
    *index = lo;
    return HP_OK;
}

/* ---- inline trees ------------------------------------------------------ */

/* Address of funcdata[k], or 0 when absent. UNSUPPORTED when 1.18+ data
 * exists but gofunc is unknown. */
static hp_status hp_go_funcdata_va(const hp_gotab *t, const hp_go_rec *r, uint32_t k,
                                   uint64_t *va)
{
    *va = 0;
    if (k >= r->nfuncdata)
        return HP_OK;
    uint64_t at = hp_go_funcdata_start(t, r);
    if (t->layout == HP_GO_116) {
        *va = hp_go_word(t->ptr_size, t->data + at + (uint64_t)k * t->ptr_size);
        return HP_OK;
    }
    uint32_t off = hp_rd32(t->data + at + (uint64_t)k * 4);
    if (off == UINT32_MAX)
        return HP_OK;
    if (!t->gofunc_va)
        return HP_ERR_UNSUPPORTED;
    *va = t->gofunc_va + off;
    return HP_OK;
}

/* Read a Go varint (at most 5 bytes for 32 bits) from data[*p, end). */
static bool hp_go_varint(const uint8_t *data, uint64_t *p, uint64_t end, uint32_t *out)
{
    uint32_t v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t b = data[(*p)++];
        v |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Largest value in the pc-value table at pctab[off] for a function of
 * `span` bytes (runtime/symtab.go: step), -1 when the table is empty, and
 * the number of steps. The compiler never emits an empty pc range
 * (cmd/internal/obj/pcln.go, funcpctab), so a real table has at most one
 * step per pc quantum; more is garbage, which also keeps the cost of
 * walking every function linear in the text size. */
static hp_status hp_go_pcvalue_max(const hp_gotab *t, uint32_t off, uint64_t span, int32_t *max,
                                   uint64_t *steps)
{
    *max = -1;
    *steps = 0;
    if (!off)
        return HP_OK;
    uint64_t p = t->pctab_off + off, end = t->functab_off, pc = 0;
    uint64_t limit = span / t->pc_quantum + 1;
    uint32_t val = UINT32_MAX; /* -1, in wrapping arithmetic */
    for (bool first = true;; first = false) {
        uint32_t uv, pcd;
        if (!hp_go_varint(t->data, &p, end, &uv))
            return HP_ERR_FORMAT;
        if (uv == 0 && !first)
            return HP_OK;
        val += (uv & 1) ? ~(uv >> 1) : uv >> 1; /* zig-zag */
        if (!hp_go_varint(t->data, &p, end, &pcd))
            return HP_ERR_FORMAT;
        pc += (uint64_t)pcd * t->pc_quantum;
        if (pc > span || ++*steps > limit)
            return HP_ERR_FORMAT; /* covers code past the function */
        if ((int32_t)val > *max)
            *max = (int32_t)val;
    }
}

static int hp_go_strcmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Call fn once per distinct name in names[0..n), with its count. */
static void hp_go_report(const char **names, size_t n, hp_go_inline_fn fn, void *ctx)
{
    qsort(names, n, sizeof *names, hp_go_strcmp);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && !strcmp(names[i], names[j]); j++)
            ;
        fn(ctx, names[i], (uint32_t)(j - i));
    }
}

/* Names of the n entries of the tree whose bytes are at p. */
static hp_status hp_go_tree_names(const hp_gotab *t, const uint8_t *p, size_t n,
                                  const char **names)
{
    const hp_go_spec *sp = hp_go_spec_of(t->layout);
    for (size_t k = 0; k < n; k++) {
        int32_t nameoff = (int32_t)hp_rd32(p + k * sp->inl_size + sp->inl_name);
        names[k] = hp_go_name(t, nameoff);
        if (!names[k])
            return HP_ERR_FORMAT;
    }
    return HP_OK;
}

static hp_status hp_go_walk_tree(const hp_gotab *t, uint64_t tree_va, int32_t max,
                                 hp_go_inline_fn fn, void *ctx)
{
    const hp_go_spec *sp = hp_go_spec_of(t->layout);
    size_t n = (size_t)max + 1;
    const uint8_t *p = hp_image_bytes(t->img, tree_va, (uint64_t)n * sp->inl_size);
    if (!p)
        return HP_ERR_FORMAT; /* also bounds n by the file size */
    const char **names = hp_malloc(n * sizeof *names);
    if (!names)
        return HP_ERR_NOMEM;
    hp_status s = hp_go_tree_names(t, p, n, names);
    if (s == HP_OK)
        hp_go_report(names, n, fn, ctx);
    hp_free(names);
    return s;
}

hp_status hp_gotab_inlined(const hp_gotab *t, uint64_t i, hp_go_inline_fn fn, void *ctx)
{
    hp_gofunc f;
    hp_go_rec r;
    HP_CHECK(hp_go_func_rec(t, i, &f, &r));
    uint64_t tree_va;
    HP_CHECK(hp_go_funcdata_va(t, &r, HP_GO_FUNCDATA_INLTREE, &tree_va));
    if (!tree_va || r.npcdata <= HP_GO_PCDATA_INLTREEINDEX)
        return HP_OK; /* nothing was inlined */
    if (!t->img)
        return HP_ERR_UNSUPPORTED; /* the tree is outside the table */
    uint32_t tab = hp_rd32(t->data + r.pcdata_off + 4 * HP_GO_PCDATA_INLTREEINDEX);
    int32_t max;
    uint64_t steps;
    HP_CHECK(hp_go_pcvalue_max(t, tab, f.end_va - f.entry_va, &max, &steps));
    if (max < 0)
        return HP_OK;
    /* Every entry is a value of the table or an ancestor of one; real
     * inlining is far shallower than this bound, which keeps a hostile
     * tree from costing more than the function's code. */
    if ((uint64_t)max >= steps * HP_GO_MAX_INLINE_DEPTH)
        return HP_ERR_FORMAT;
    return hp_go_walk_tree(t, tree_va, max, fn, ctx);
}

/* ---- image symbols ----------------------------------------------------- */

/* How many bytes of `sym` spell the first `len` bytes of table name `go`,
 * or SIZE_MAX. The ELF and Mach-O symbol tables write the middle dot "·"
 * (U+00B7) of a Go name as "." (cmd/link symtab.go and macho.go, for
 * ASCII-only tools); the table keeps it (Go 1.26: "type:.eq.pkg.T·7"). */
static size_t hp_go_prefix(const char *sym, const char *go, size_t len)
{
    size_t i = 0, j = 0;
    while (j < len) {
        if (sym[i] == go[j]) {
            i++, j++;
        } else if (sym[i] == '.' && j + 1 < len && (uint8_t)go[j] == 0xc2 &&
                   (uint8_t)go[j + 1] == 0xb7) {
            i++, j += 2;
        } else {
            return SIZE_MAX;
        }
    }
    return i;
}

/* Does symbol name `sym` spell Go table name `go`? Go 1.19's table writes
 * generic instantiations as "pkg.F[...]" (cmd/link pcln.go,
 * nameParts), and the symbol table marks an assembly function that also
 * has an ABIInternal wrapper "pkg.F.abi0" ("pkg.F.abiinternal" for the
 * other one under -linkshared; cmd/link symtab.go, mangleABIName). */
static bool hp_go_same_name(const char *sym, const char *go)
{
    size_t n = hp_go_prefix(sym, go, strlen(go));
    if (n != SIZE_MAX &&
        (!sym[n] || !strcmp(sym + n, ".abi0") || !strcmp(sym + n, ".abiinternal")))
        return true;
    const char *dots = strstr(go, "[...]");
    if (!dots)
        return false;
    size_t pre = hp_go_prefix(sym, go, (size_t)(dots - go));
    if (pre == SIZE_MAX || sym[pre] != '[')
        return false;
    const char *close = strrchr(sym, ']');
    if (!close || close <= sym + pre)
        return false;
    n = hp_go_prefix(close + 1, dots + 5, strlen(dots + 5));
    return n != SIZE_MAX && !close[1 + n];
}

/* The image's function symbols sorted by va, to match table entries in
 * O(log n). Indexes, not pointers: adding symbols reallocates img->syms. */
typedef struct hp_go_known {
    uint64_t va;
    size_t sym;
} hp_go_known;

typedef struct hp_go_index {
    hp_go_known *v;
    size_t n;
} hp_go_index;

static int hp_go_known_cmp(const void *a, const void *b)
{
    const hp_go_known *x = a, *y = b;
    return x->va < y->va ? -1 : x->va > y->va;
}

static hp_status hp_go_index_build(const hp_image *img, hp_go_index *ix)
{
    ix->n = 0;
    ix->v = hp_malloc((img->nsyms ? img->nsyms : 1) * sizeof *ix->v);
    if (!ix->v)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < img->nsyms; i++)
        if (img->syms[i].kind == HP_SYM_FUNC)
            ix->v[ix->n++] = (hp_go_known){img->syms[i].va, i};
    qsort(ix->v, ix->n, sizeof *ix->v, hp_go_known_cmp);
    return HP_OK;
}

/* An existing function symbol at f's entry with f's name, or NULL. */
static hp_symbol *hp_go_index_find(hp_image *img, const hp_go_index *ix, const hp_gofunc *f)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->v[mid].va < f->entry_va)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < ix->n && ix->v[lo].va == f->entry_va; lo++) {
        hp_symbol *s = &img->syms[ix->v[lo].sym];
        if (hp_go_same_name(s->name, f->name) || (s->alias && hp_go_same_name(s->alias, f->name)))
            return s;
    }
    return NULL;
}

static hp_status hp_go_add_funcs(hp_image *img, const hp_gotab *t, const hp_go_index *ix)
{
    uint64_t bad = 0, first_bad = 0;
    for (uint64_t i = 0; i < t->nfuncs; i++) {
        hp_gofunc f;
        if (hp_gotab_func(t, i, &f) != HP_OK) {
            first_bad = bad++ ? first_bad : i;
            continue;
        }
        uint64_t size = f.end_va - f.entry_va;
        hp_symbol *known = hp_go_index_find(img, ix, &f);
        if (known) {
            /* The table's bounds are exact; a symbol's size can only be
             * missing or too large: Go links Mach-O without
             * LC_FUNCTION_STARTS, so the reader sizes each function up to
             * its section's end. */
            if (!known->size || known->size > size)
                known->size = size;
            continue;
        }
        HP_CHECK(hp_image_add_symbol(img, f.name, strlen(f.name), f.entry_va, size, HP_SYM_FUNC,
                                     HP_SRC_PCLNTAB, true));
    }
    if (bad)
        hp_image_warn(img, "Go pclntab: %llu of %llu function records are corrupt (first: #%llu); "
                      "those functions have no name",
                      (unsigned long long)bad, (unsigned long long)t->nfuncs,
                      (unsigned long long)first_bad);
    return HP_OK;
}

hp_status hp_go_load(hp_image *img)
{
    if (!img->pclntab)
        return HP_OK;
    hp_gotab t;
    char why[256];
    /* Names need no gofunc: the image is consulted only for text_va. */
    hp_status s = hp_go_open(img->pclntab, img->pclntab_size, img->go_text_va, img, false, &t,
                             why, sizeof why);
    if (s == HP_ERR_FORMAT && !img->nsyms)
        return hp_image_bad(img, "Go pclntab is corrupt and there is no symbol table: %s", why);
    if (s != HP_OK) {
        hp_image_warn(img, "Go pclntab ignored: %s", why);
        return HP_OK;
    }
    hp_go_index ix;
    HP_CHECK(hp_go_index_build(img, &ix));
    s = hp_go_add_funcs(img, &t, &ix);
    hp_free(ix.v);
    return s;
}
