/* PE32+ x86-64 backend (Windows EXE and DLL): reader and layout.
 * pe_write.c writes the output, pe_code.c is the code map; coff_symtab.c
 * reads the COFF symbol table (shared with the object reader coff_obj.c).
 *
 * Quirks this file deals with, and why:
 *
 * - We read the headers, the section table, exports, .pdata, the COFF
 *   symbols and a few directories ourselves from the mapped file, as the
 *   ELF backend does, each bounds-checked before use: the input is
 *   untrusted (why not LIEF: README.md, "Why the tables are read directly,
 *   not with LIEF").
 *
 * - Sections are the segments (VA = ImageBase + RVA). Windows reads a
 *   section's data from PointerToRawData rounded down to 512 when
 *   FileAlignment is at least 512, so we do too; a VirtualSize of 0 means
 *   SizeOfRawData (old linkers).
 *
 * - Symbols: the export table (every DLL, some EXEs) and the COFF symbol
 *   table that mingw-w64 and Go leave in images. COFF values are offsets
 *   into their section. GNU tools mark functions with type 0x20
 *   (DTYPE_FUNCTION); Go marks nothing (every symbol is 0x308), so when no
 *   symbol of the table carries a function type, a symbol in an executable
 *   section is a function. mingw-w64 x64 adds no leading underscore, so
 *   COFF names are source names. Function sizes come from the exception
 *   directory (.pdata RUNTIME_FUNCTION begin/end) when an entry covers the
 *   symbol's start; otherwise the neutral model uses the next symbol.
 *
 * - Go keeps its pclntab inside .rdata between the COFF symbols
 *   runtime.pclntab and runtime.epclntab. A stripped Go binary
 *   (-ldflags=-s -w) has no COFF symbols: we scan .rdata for a pcHeader
 *   (magic, two zero pad bytes, quantum 1, pointer size 8) and keep the
 *   first candidate hp_gotab_open accepts.
 *
 * - New regions become new sections after the last one, at the next
 *   SectionAlignment boundary: .hookp (code), .hookr (read-only data),
 *   .hookd (data, its bss tail as VirtualSize > SizeOfRawData), then, when
 *   needed, .hookrel (a copy of the base relocation blocks plus DIR64
 *   entries for the regions' absolute pointers; the directory points at the
 *   copy) and .hookinf (the hookpatch record; discardable). Windows wants
 *   sections in ascending, adjacent VA order, which this keeps. Their raw
 *   data goes after everything in the file, so no existing offset moves.
 *
 * - Header room. The section table sits in the headers, before the first
 *   section's data. When SizeOfHeaders cannot take the new headers, every
 *   section's data moves forward by a FileAlignment multiple and every file
 *   offset past the split is fixed: PointerToRawData, PointerToRelocations,
 *   PointerToLinenumbers, PointerToSymbolTable and the debug directory's
 *   PointerToRawData. VAs do not change, so nothing in the loaded image
 *   moves. A bound import table right after the section table is dropped
 *   (it only speeds up loading); anything else there makes us refuse.
 *
 * - Authenticode: any change invalidates the signature, so the security
 *   directory is cleared, the certificates are cut off when they end the
 *   file, and place() warns. The CheckSum is recomputed (only drivers and
 *   some boot DLLs are checked, but tools compare it).
 *
 * - Unwind data. A hooked function keeps its RUNTIME_FUNCTION and UNWIND_INFO.
 *   Its first bytes are now `jmp`; the unwind info describes the original
 *   prologue, which is still right at the entry: no prologue operation has
 *   run there, so an unwind from the entry sees the return address at [rsp]
 *   as the info says. The stubs and trampolines in .hookp have no
 *   RUNTIME_FUNCTION. RtlVirtualUnwind treats code without one as a leaf
 *   (return address at [rsp]), which is exactly right for the return and
 *   trap stubs, and right in a trampoline before its first stolen
 *   instruction. Once a trampoline has run a stolen prologue instruction
 *   (push rbp, sub rsp,N) a stack walk or an SEH exception raised at that
 *   moment would unwind wrongly; the window is a few instructions with no
 *   calls in them (a stolen call is the trampoline's last instruction and
 *   returns into the original function, whose .pdata covers the rest). A
 *   later improvement: emit RUNTIME_FUNCTION entries for trampolines.
 *   Back in the original function, RIP is past the stolen instructions and
 *   they have run, so the prologue ops the unwinder replays for that offset
 *   are exactly the ones executed: the unwind is right again. A trap stub's
 *   exception unwinds as a leaf straight to the hooked function's caller.
 *   Replacements in the binary have their own entries.
 *
 * - CET and CFG. PE has no IBT marking (no endbr64 landing pads), so
 *   ed->removed_landing_pad needs nothing here; the shadow stack
 *   compatibility flag stays valid because hooks are jumps and keep
 *   call/ret pairs intact. CFG checks indirect call targets; those are still
 *   the original entries, which stay valid.
 */
#include "../format.h"
#include "../debug/gopclntab.h"
#include "pe_priv.h"

#include <stdlib.h>
#include <string.h>

static hp_pe *hp_pe_of(const hp_image *img) { return img->priv; }

static bool hp_pe_probe(const uint8_t *data, size_t size)
{
    return size >= 2 && data[0] == 'M' && data[1] == 'Z';
}

static bool hp_pow2(uint32_t v) { return v && !(v & (v - 1)); }

uint64_t hp_pe_raw_off(const hp_pe *e, const hp_pe_sect *s)
{
    return e->file_align >= 0x200 ? s->raw_off & ~0x1ffu : s->raw_off;
}

/* DOS header, signature, COFF header and optional header. */
static hp_status hp_pe_check_coff(hp_image *img, hp_pe *e)
{
    if (img->size < 0x40)
        return hp_image_bad(img, "truncated MS-DOS header (%zu bytes)", img->size);
    uint32_t lfanew = hp_rd32(img->data + 0x3c);
    if (!hp_in_bounds(lfanew, 4 + HP_COFF_HDR_SIZE, img->size))
        return hp_image_bad(img, "PE header offset 0x%x (e_lfanew) lies outside the file (%zu "
                                 "bytes)", lfanew, img->size);
    if (memcmp(img->data + lfanew, "PE\0\0", 4))
        return hp_image_bad(img, "no PE signature at offset 0x%x (an MS-DOS program?)", lfanew);
    const uint8_t *c = img->data + lfanew + 4;
    e->coff_off = lfanew + 4;
    if (hp_rd16(c) != HP_COFF_MACHINE_AMD64)
        return hp_image_bad(img, "PE machine 0x%04x is not x86-64 (only PE32+ x86-64 images "
                                 "are supported)", hp_rd16(c));
    e->nsects = hp_rd16(c + 2);
    e->opt_size = hp_rd16(c + 16);
    e->file_chars = hp_rd16(c + 18);
    if (!(e->file_chars & HP_PE_FILE_EXECUTABLE))
        return hp_image_bad(img, "not an executable image (a COFF object? link it first)");
    if (e->nsects == 0)
        return hp_image_bad(img, "the PE file has no sections");
    if (e->opt_size < HP_PE_OPT64_MIN)
        return hp_image_bad(img, "optional header too small (%u bytes)", e->opt_size);
    e->opt_off = e->coff_off + HP_COFF_HDR_SIZE;
    if (!hp_in_bounds(e->opt_off, e->opt_size, img->size))
        return hp_image_bad(img, "optional header (%u bytes at 0x%llx) lies outside the file",
                            e->opt_size, (unsigned long long)e->opt_off);
    return HP_OK;
}

static hp_status hp_pe_check_opt(hp_image *img, hp_pe *e)
{
    const uint8_t *o = img->data + e->opt_off;
    uint16_t magic = hp_rd16(o);
    if (magic == 0x10b)
        return hp_image_bad(img, "PE32 (32-bit) images are not supported, only PE32+ (x86-64)");
    if (magic != 0x20b)
        return hp_image_bad(img, "bad optional header magic 0x%x (want 0x20b, PE32+)", magic);
    e->image_base = hp_rd64(o + HP_PE_OPT_IMAGE_BASE);
    e->sect_align = hp_rd32(o + HP_PE_OPT_SECT_ALIGN);
    e->file_align = hp_rd32(o + HP_PE_OPT_FILE_ALIGN);
    e->size_headers = hp_rd32(o + HP_PE_OPT_SIZE_HEADERS);
    e->dll_chars = hp_rd16(o + HP_PE_OPT_DLL_CHARS);
    if (!hp_pow2(e->file_align) || e->file_align > 0x10000 || !hp_pow2(e->sect_align) ||
        e->sect_align < e->file_align || e->sect_align > 0x1000000)
        return hp_image_bad(img, "bad alignment (SectionAlignment 0x%x, FileAlignment 0x%x)",
                            e->sect_align, e->file_align);
    if (e->image_base > UINT64_MAX - (1ull << 33))
        return hp_image_bad(img, "ImageBase 0x%llx is too high", (unsigned long long)e->image_base);
    uint32_t ndirs = hp_rd32(o + HP_PE_OPT_NDIRS);
    if (ndirs > (uint32_t)(e->opt_size - HP_PE_OPT64_MIN) / 8)
        return hp_image_bad(img, "%u data directories do not fit in a %u-byte optional header",
                            ndirs, e->opt_size);
    e->ndirs = ndirs < HP_PE_NDIRS ? ndirs : HP_PE_NDIRS;
    for (uint32_t i = 0; i < e->ndirs; i++) {
        e->dir_rva[i] = hp_rd32(o + HP_PE_OPT_DIRS + 8 * i);
        e->dir_size[i] = hp_rd32(o + HP_PE_OPT_DIRS + 8 * i + 4);
    }
    e->sect_off = e->opt_off + e->opt_size;
    uint64_t table = (uint64_t)e->nsects * HP_COFF_SHDR_SIZE;
    if (!hp_in_bounds(e->sect_off, table, img->size))
        return hp_image_bad(img, "section table (%u entries at 0x%llx) lies outside the file (%zu "
                                 "bytes)", e->nsects, (unsigned long long)e->sect_off, img->size);
    if (e->size_headers > img->size || e->sect_off + table > e->size_headers)
        return hp_image_bad(img, "SizeOfHeaders 0x%x does not hold the section table (ends at "
                                 "0x%llx) or lies beyond the end of the file", e->size_headers,
                            (unsigned long long)(e->sect_off + table));
    return HP_OK;
}

/* The COFF symbol table and its string table (coff_symtab.c). It is not
 * needed to run the image, so a broken one is ignored: records outside the
 * file with a warning, a bad string table by going without long names. */
static void hp_pe_find_symtab(hp_image *img, hp_pe *e)
{
    hp_coff_symtab *t = &e->symtab;
    hp_coff_symtab_st st = hp_coff_symtab_open(img->data, img->size, img->data + e->coff_off, t);
    if (st == HP_COFF_SYMTAB_OUTSIDE)
        hp_image_warn(img, "COFF symbol table (%u symbols at 0x%x) lies outside "
                           "the file; ignored", t->nsyms, t->off);
    if (st == HP_COFF_SYMTAB_NONE || st == HP_COFF_SYMTAB_OUTSIDE) {
        *t = (hp_coff_symtab){0};
        return;
    }
    e->symtab_ok = true;
    e->data_end = t->off + (uint64_t)t->nsyms * HP_COFF_SYM_SIZE + t->strsize;
}

/* "/4" names a string-table entry; a name that does not resolve stays as
 * written. */
static void hp_pe_sect_name(const hp_pe *e, hp_pe_sect *s)
{
    memcpy(s->name, s->hdr, 8);
    s->name[8] = 0;
    uint32_t off;
    size_t len;
    const char *n = hp_coff_long_name(s->hdr, &off) ? hp_coff_strtab_at(&e->symtab, off, &len)
                                                    : NULL;
    if (n && len < sizeof s->name) {
        memcpy(s->name, n, len);
        s->name[len] = 0;
    }
}

/* What the loader maps: Windows and wine take a section's protection from
 * its MEM_* flags only. IMAGE_SCN_CNT_CODE describes the contents and maps
 * nothing executable (x64 processes always enforce NX), so a CNT_CODE
 * section without MEM_EXECUTE is not code that runs. */
static uint32_t hp_pe_prot(uint32_t chars)
{
    return (chars & HP_PE_SCN_READ ? HP_PROT_R : 0) | (chars & HP_PE_SCN_WRITE ? HP_PROT_W : 0) |
           (chars & HP_PE_SCN_EXECUTE ? HP_PROT_X : 0);
}

static hp_status hp_pe_check_sect(hp_image *img, hp_pe *e, unsigned i, uint64_t prev_end)
{
    const hp_pe_sect *s = &e->sects[i];
    if (s->raw_size && !hp_in_bounds(hp_pe_raw_off(e, s), s->raw_size, img->size))
        return hp_image_bad(img, "section %u (%s): raw data (offset 0x%x, size 0x%x) lies beyond "
                                 "the end of the file (%zu bytes)", i + 1, s->name, s->raw_off,
                            s->raw_size, img->size);
    if (s->raw_size && hp_pe_raw_off(e, s) < e->size_headers)
        return hp_image_bad(img, "section %u (%s): raw data at offset 0x%x overlaps the headers "
                                 "(0x%x bytes)", i + 1, s->name, s->raw_off, e->size_headers);
    if ((uint64_t)s->rva + s->vsize > 0x80000000ull)
        return hp_image_bad(img, "section %u (%s) at RVA 0x%x, size 0x%x, ends beyond 2 GiB", i + 1,
                            s->name, s->rva, s->vsize);
    if (s->rva < e->size_headers)
        return hp_image_bad(img, "section %u (%s) at RVA 0x%x overlaps the headers (0x%x bytes)",
                            i + 1, s->name, s->rva, e->size_headers);
    if (s->rva < prev_end)
        return hp_image_bad(img, "section %u (%s) at RVA 0x%x overlaps the previous section, "
                                 "which ends at 0x%llx", i + 1, s->name, s->rva,
                            (unsigned long long)prev_end);
    return HP_OK;
}

static hp_status hp_pe_load_sections(hp_image *img, hp_pe *e)
{
    e->sects = hp_calloc(e->nsects, sizeof *e->sects);
    if (!e->sects)
        return HP_ERR_NOMEM;
    uint64_t prev_end = 0;
    e->first_raw = img->size;
    for (unsigned i = 0; i < e->nsects; i++) {
        hp_pe_sect *s = &e->sects[i];
        memcpy(s->hdr, img->data + e->sect_off + (uint64_t)i * HP_COFF_SHDR_SIZE, sizeof s->hdr);
        hp_pe_sect_name(e, s);
        s->raw_size = hp_rd32(s->hdr + 16);
        s->vsize = hp_rd32(s->hdr + 8) ? hp_rd32(s->hdr + 8) : s->raw_size;
        s->rva = hp_rd32(s->hdr + 12);
        s->raw_off = hp_rd32(s->hdr + 20);
        s->chars = hp_rd32(s->hdr + 36);
        HP_CHECK(hp_pe_check_sect(img, e, i, prev_end));
        prev_end = (uint64_t)s->rva + s->vsize;
        if (s->raw_size && hp_pe_raw_off(e, s) < e->first_raw)
            e->first_raw = hp_pe_raw_off(e, s);
        if (s->raw_size && hp_pe_raw_off(e, s) + s->raw_size > e->raw_end)
            e->raw_end = hp_pe_raw_off(e, s) + s->raw_size;
        if (!s->vsize)
            continue;
        uint64_t fsize = s->raw_size < s->vsize ? s->raw_size : s->vsize;
        hp_segment seg = {e->image_base + s->rva, s->vsize, fsize ? hp_pe_raw_off(e, s) : 0, fsize,
                          hp_pe_prot(s->chars)};
        HP_CHECK(hp_image_add_segment(img, &seg));
    }
    if (!img->nsegs)
        return hp_image_bad(img, "no section has a size");
    if (e->raw_end > e->data_end)
        e->data_end = e->raw_end;
    e->end_rva = (uint32_t)hp_align_up(prev_end, e->sect_align);
    return HP_OK;
}

/* Binary search: sections are sorted by RVA (checked when loading). */
static const hp_pe_sect *hp_pe_sect_at(const hp_pe *e, uint32_t rva)
{
    size_t lo = 0, hi = e->nsects;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const hp_pe_sect *s = &e->sects[mid];
        if (rva < s->rva)
            hi = mid;
        else if (rva - s->rva >= s->vsize)
            lo = mid + 1;
        else
            return s;
    }
    return NULL;
}

const uint8_t *hp_pe_rva_bytes(const hp_image *img, const hp_pe *e, uint32_t rva,
                               uint64_t *avail)
{
    if (rva < e->size_headers) {
        *avail = e->size_headers - rva;
        return img->data + rva;
    }
    const hp_pe_sect *s = hp_pe_sect_at(e, rva);
    uint32_t fsize = s ? (s->raw_size < s->vsize ? s->raw_size : s->vsize) : 0;
    if (!s || rva - s->rva >= fsize)
        return NULL;
    *avail = fsize - (rva - s->rva);
    return img->data + hp_pe_raw_off(e, s) + (rva - s->rva);
}

/* A data directory's bytes, checked to lie in one section's file data. */
static hp_status hp_pe_dir(hp_image *img, const hp_pe *e, unsigned idx, const char *what,
                           uint32_t min_size, const uint8_t **out)
{
    *out = NULL;
    if (idx >= e->ndirs || !e->dir_size[idx])
        return HP_OK;
    uint64_t avail = 0;
    const uint8_t *p = hp_pe_rva_bytes(img, e, e->dir_rva[idx], &avail);
    if (!p || avail < e->dir_size[idx] || e->dir_size[idx] < min_size)
        return hp_image_bad(img, "the %s directory (RVA 0x%x, size 0x%x) lies outside the "
                                 "file-backed part of the sections", what, e->dir_rva[idx],
                            e->dir_size[idx]);
    *out = p;
    return HP_OK;
}

static int hp_pe_rtf_cmp(const void *a, const void *b)
{
    const hp_pe_rtf *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static hp_status hp_pe_load_pdata(hp_image *img, hp_pe *e)
{
    const uint8_t *p;
    HP_CHECK(hp_pe_dir(img, e, HP_PE_DIR_EXCEPTION, "exception", 0, &p));
    size_t n = p ? e->dir_size[HP_PE_DIR_EXCEPTION] / 12 : 0;
    if (!n)
        return HP_OK;
    e->pdata = hp_calloc(n, sizeof *e->pdata);
    if (!e->pdata)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        hp_pe_rtf r = {hp_rd32(p + 12 * i), hp_rd32(p + 12 * i + 4)};
        if (r.begin < r.end)
            e->pdata[e->npdata++] = r;
    }
    qsort(e->pdata, e->npdata, sizeof *e->pdata, hp_pe_rtf_cmp);
    return HP_OK;
}

/* Size of the function at rva from the RUNTIME_FUNCTION covering it, or 0. */
static uint64_t hp_pe_pdata_size(const hp_pe *e, uint32_t rva)
{
    size_t lo = 0, hi = e->npdata;
    while (lo < hi) { /* first entry with begin > rva */
        size_t mid = lo + (hi - lo) / 2;
        if (e->pdata[mid].begin <= rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || rva >= e->pdata[lo - 1].end)
        return 0;
    return e->pdata[lo - 1].end - rva;
}

static hp_status hp_pe_add_sym(hp_image *img, const hp_pe *e, const char *name, size_t len,
                               uint64_t va, bool func, hp_sym_source src, bool global)
{
    uint64_t size = func ? hp_pe_pdata_size(e, (uint32_t)(va - e->image_base)) : 0;
    return hp_image_add_symbol(img, name, len, va, size, func ? HP_SYM_FUNC : HP_SYM_DATA, src,
                               global);
}

static hp_status hp_pe_load_exports(hp_image *img, hp_pe *e)
{
    const uint8_t *d;
    HP_CHECK(hp_pe_dir(img, e, HP_PE_DIR_EXPORT, "export", 40, &d));
    if (!d)
        return HP_OK;
    uint32_t nfuncs = hp_rd32(d + 20), nnames = hp_rd32(d + 24);
    if (!nnames)
        return HP_OK;
    uint64_t a1 = 0, a2 = 0, a3 = 0;
    const uint8_t *funcs = hp_pe_rva_bytes(img, e, hp_rd32(d + 28), &a1);
    const uint8_t *names = hp_pe_rva_bytes(img, e, hp_rd32(d + 32), &a2);
    const uint8_t *ords = hp_pe_rva_bytes(img, e, hp_rd32(d + 36), &a3);
    if (!funcs || !names || !ords || a1 / 4 < nfuncs || a2 / 4 < nnames || a3 / 2 < nnames)
        return hp_image_bad(img, "export table (%u functions, %u names) lies outside the file",
                            nfuncs, nnames);
    uint32_t dir_lo = e->dir_rva[HP_PE_DIR_EXPORT], dir_len = e->dir_size[HP_PE_DIR_EXPORT];
    for (uint32_t i = 0; i < nnames; i++) {
        uint64_t avail = 0;
        const char *name = (const char *)hp_pe_rva_bytes(img, e, hp_rd32(names + 4 * i), &avail);
        const char *end = name ? memchr(name, 0, avail) : NULL;
        if (!end)
            return hp_image_bad(img, "export %u has a name outside the file or unterminated", i);
        uint16_t ord = hp_rd16(ords + 2 * i);
        if (ord >= nfuncs)
            return hp_image_bad(img, "export '%.*s' has ordinal index %u beyond the %u functions",
                                (int)(end - name), name, ord, nfuncs);
        uint32_t rva = hp_rd32(funcs + 4 * ord);
        if (!rva || end == name || rva - dir_lo < dir_len) /* forwarders point into the dir */
            continue;
        const hp_segment *seg = hp_image_segment_at(img, e->image_base + rva);
        if (!seg)
            continue;
        HP_CHECK(hp_pe_add_sym(img, e, name, (size_t)(end - name), e->image_base + rva,
                               seg->prot & HP_PROT_X, HP_SRC_DYNSYM, true));
    }
    return HP_OK;
}

/* Go's table bounds, found among the COFF symbols. */
typedef struct hp_pe_go {
    uint64_t pcln_va, epcln_va, text_va;
} hp_pe_go;

static void hp_pe_note_go(hp_pe_go *go, const char *name, size_t len, uint64_t va)
{
    if (len == 15 && !memcmp(name, "runtime.pclntab", 15))
        go->pcln_va = va;
    else if (len == 16 && !memcmp(name, "runtime.epclntab", 16))
        go->epcln_va = va;
    else if (len == 12 && !memcmp(name, "runtime.text", 12))
        go->text_va = va;
}

/* True when some symbol carries a function type (GNU tools do, Go does not). */
static bool hp_pe_typed_symtab(const hp_pe *e)
{
    hp_coff_sym c;
    for (uint32_t i = 0; i < e->symtab.nsyms && hp_coff_sym_get(&e->symtab, i, &c);
         i += 1u + c.naux)
        if (hp_coff_type_is_func(c.type))
            return true;
    return false;
}

static hp_status hp_pe_load_coff_syms(hp_image *img, hp_pe *e, hp_pe_go *go)
{
    if (!e->symtab_ok)
        return HP_OK;
    img->has_symtab = true;
    bool typed = hp_pe_typed_symtab(e);
    hp_coff_sym c;
    for (uint32_t i = 0; i < e->symtab.nsyms && hp_coff_sym_get(&e->symtab, i, &c);
         i += 1u + c.naux) { /* aux records (section, file, function) are skipped whole */
        int16_t sec = (int16_t)c.secnum;
        /* A STATIC untyped symbol with aux records defines a section, it
         * does not name code. */
        if ((c.cls != HP_COFF_EXTERNAL && c.cls != HP_COFF_STATIC) || sec < 1 ||
            sec > e->nsects || (c.cls == HP_COFF_STATIC && !c.type && c.naux))
            continue;
        if (!c.name || !c.len)
            continue;
        const hp_pe_sect *s = &e->sects[sec - 1];
        uint64_t va = e->image_base + s->rva + c.value;
        hp_pe_note_go(go, c.name, c.len, va);
        if (!hp_image_segment_at(img, va))
            continue;
        bool func = typed ? hp_coff_type_is_func(c.type)
                          : (s->chars & (HP_PE_SCN_EXECUTE | HP_PE_SCN_CNT_CODE)) != 0;
        HP_CHECK(hp_pe_add_sym(img, e, c.name, c.len, va, func, HP_SRC_SYMTAB,
                               c.cls == HP_COFF_EXTERNAL));
    }
    return HP_OK;
}

static const hp_pe_sect *hp_pe_find_sect(const hp_pe *e, const char *name)
{
    for (unsigned i = 0; i < e->nsects; i++)
        if (!strcmp(e->sects[i].name, name))
            return &e->sects[i];
    return NULL;
}

static bool hp_pe_pcheader_at(const uint8_t *p)
{
    uint32_t magic = hp_rd32(p);
    return (magic == 0xfffffff0u || magic == 0xfffffff1u || magic == 0xfffffffau) && !p[4] &&
           !p[5] && p[6] == 1 && p[7] == 8;
}

/* Stripped Go: look for a pcHeader in .rdata; the first one that validates
 * wins. Candidates are capped so hostile input cannot make this slow. */
static void hp_pe_scan_pclntab(hp_image *img, const hp_pe *e)
{
    const hp_pe_sect *s = hp_pe_find_sect(e, ".rdata");
    uint64_t len = s ? (s->raw_size < s->vsize ? s->raw_size : s->vsize) : 0;
    const uint8_t *p = len ? img->data + hp_pe_raw_off(e, s) : NULL;
    int tries = 0;
    for (uint64_t off = 0; p && off + 64 <= len && tries < 8; off += 4) {
        if (!hp_pe_pcheader_at(p + off))
            continue;
        tries++;
        hp_gotab t;
        char why[128];
        if (hp_gotab_open(p + off, len - off, img->go_text_va, NULL, &t, why, sizeof why) ==
            HP_OK) {
            img->pclntab = p + off;
            img->pclntab_size = len - off;
            img->pclntab_va = e->image_base + s->rva + off;
            return;
        }
    }
}

static void hp_pe_find_go(hp_image *img, const hp_pe *e, const hp_pe_go *go)
{
    const hp_pe_sect *text = hp_pe_find_sect(e, ".text");
    img->go_text_va = go->text_va ? go->text_va : text ? e->image_base + text->rva : 0;
    if (go->pcln_va && go->epcln_va > go->pcln_va) {
        const uint8_t *p = hp_image_bytes(img, go->pcln_va, go->epcln_va - go->pcln_va);
        if (p) {
            img->pclntab = p;
            img->pclntab_size = go->epcln_va - go->pcln_va;
            img->pclntab_va = go->pcln_va;
        }
        return;
    }
    if (!e->symtab_ok && !go->pcln_va)
        hp_pe_scan_pclntab(img, e);
}

/* Directories the writer needs: certificates, base relocations, debug. */
static hp_status hp_pe_load_dirs(hp_image *img, hp_pe *e)
{
    if (e->ndirs > HP_PE_DIR_SECURITY && e->dir_size[HP_PE_DIR_SECURITY]) {
        e->cert_off = e->dir_rva[HP_PE_DIR_SECURITY]; /* a file offset, not an RVA */
        e->cert_size = e->dir_size[HP_PE_DIR_SECURITY];
    }
    const uint8_t *p;
    HP_CHECK(hp_pe_dir(img, e, HP_PE_DIR_BASERELOC, "base relocation", 0, &p));
    if (p)
        e->reloc_off = (uint64_t)(p - img->data);
    HP_CHECK(hp_pe_dir(img, e, HP_PE_DIR_DEBUG, "debug", 0, &p));
    if (p) {
        e->dbg_off = (uint64_t)(p - img->data);
        e->ndbg = e->dir_size[HP_PE_DIR_DEBUG] / 28;
    }
    img->has_dynreloc = e->reloc_off && !(e->file_chars & HP_PE_FILE_RELOCS_STRIPPED);
    /* A DLL with relocations is rebased when its preferred base is taken,
     * DYNAMIC_BASE or not; an EXE without DYNAMIC_BASE always gets its base. */
    img->pic = img->has_dynreloc &&
               ((e->dll_chars & HP_PE_DLL_DYNAMIC_BASE) || (e->file_chars & HP_PE_FILE_DLL));
    img->shared = (e->file_chars & HP_PE_FILE_DLL) != 0;
    return HP_OK;
}

static void hp_pe_find_prior(hp_image *img, const hp_pe *e)
{
    const hp_pe_sect *s = hp_pe_find_sect(e, ".hookinf");
    if (s) {
        img->prior_info = img->data + hp_pe_raw_off(e, s);
        img->prior_info_size = s->raw_size < s->vsize ? s->raw_size : s->vsize;
    } else if (hp_pe_find_sect(e, ".hookp")) {
        img->prior_info = (const uint8_t *)"";
    }
}

/* The room place() checks (hp_pe_plan_headers), for `hookpatch list`: the
 * headers may grow up to the first section's RVA; the new section headers
 * are .hookp and .hookinf, and with object mocks up to .hookr, .hookd and
 * .hookrel. */
static void hp_pe_note_room(hp_image *img, const hp_pe *e)
{
    uint64_t table_end = e->sect_off + (uint64_t)e->nsects * HP_COFF_SHDR_SIZE;
    img->hdr_room.what = "section headers";
    img->hdr_room.free = e->sects[0].rva > table_end ? e->sects[0].rva - table_end : 0;
    img->hdr_room.need_min = 2 * HP_COFF_SHDR_SIZE;
    img->hdr_room.need_max = 5 * HP_COFF_SHDR_SIZE;
}

static hp_status hp_pe_load(hp_image *img)
{
    hp_pe *e = hp_calloc(1, sizeof *e);
    if (!e)
        return HP_ERR_NOMEM;
    img->priv = e;
    HP_CHECK(hp_pe_check_coff(img, e));
    HP_CHECK(hp_pe_check_opt(img, e));
    hp_pe_find_symtab(img, e);
    HP_CHECK(hp_pe_load_sections(img, e));
    HP_CHECK(hp_pe_load_dirs(img, e));
    HP_CHECK(hp_pe_load_pdata(img, e));
    HP_CHECK(hp_pe_load_exports(img, e));
    hp_pe_go go = {0};
    HP_CHECK(hp_pe_load_coff_syms(img, e, &go));
    hp_pe_find_prior(img, e);
    hp_pe_find_go(img, e, &go);
    hp_pe_note_room(img, e);
    return HP_OK;
}

static void hp_pe_unload(hp_image *img)
{
    hp_pe *e = hp_pe_of(img);
    if (!e)
        return;
    hp_free(e->sects);
    hp_free(e->pdata);
    hp_free(e);
    img->priv = NULL;
}

/* Room for nnew more section headers: grow SizeOfHeaders into free file
 * space, or move every section's data forward (see the essay). */
static hp_status hp_pe_plan_headers(hp_image *img, hp_pe *e, uint32_t nnew)
{
    uint64_t table_end = e->sect_off + (uint64_t)e->nsects * HP_COFF_SHDR_SIZE;
    uint64_t need = table_end + (uint64_t)nnew * HP_COFF_SHDR_SIZE;
    e->shift = 0;
    e->new_size_headers = e->size_headers;
    if (need > e->size_headers)
        e->new_size_headers = (uint32_t)hp_align_up(need, e->file_align);
    /* Loading checked SizeOfHeaders <= first_raw; keep it so. */
    if (e->new_size_headers > e->first_raw)
        e->shift = (uint32_t)hp_align_up(e->new_size_headers - e->first_raw, e->file_align);
    if (e->new_size_headers > e->sects[0].rva) {
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED, "no room for %u more section headers: "
                               "the headers would overlap the first section at RVA 0x%x", nnew,
                               e->sects[0].rva);
    }
    e->drop_bound = false;
    for (unsigned i = 0; i < e->ndirs; i++) {
        uint64_t lo = e->dir_rva[i], hi = lo + e->dir_size[i];
        if (i == HP_PE_DIR_SECURITY || !e->dir_size[i] || lo >= need || hi <= table_end)
            continue;
        if (i != HP_PE_DIR_BOUND_IMPORT) {
            return hp_image_refuse(img, HP_ERR_UNSUPPORTED, "data directory %u sits right after "
                                   "the section table, where the new section headers must go",
                                   i);
        }
        e->drop_bound = true;
    }
    return HP_OK;
}

/* New sections follow the last one, each at the next SectionAlignment
 * boundary: text, rodata, data, then (at emit) relocations and the record. */
static hp_status hp_pe_place(hp_image *img, hp_layout *lay)
{
    hp_pe *e = hp_pe_of(img);
    uint64_t rva = e->end_rva;
    uint32_t nnew = 1; /* .hookinf */
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        e->region_rva[r] = (uint32_t)rva;
        e->region_size[r] = lay->size[r];
        lay->va[r] = e->image_base + rva;
        if (!lay->size[r])
            continue;
        nnew++;
        rva = lay->size[r] < 0x80000000ull ? hp_align_up(rva + lay->size[r], e->sect_align)
                                           : UINT64_MAX;
        if (rva > 0x7fff0000ull)
            break;
    }
    e->next_rva = (uint32_t)(rva < 0x7fff0000ull ? rva : 0x7fff0000ull);
    if (rva >= 0x7fff0000ull) {
        return hp_image_refuse(img, HP_ERR_RANGE, "the image would exceed 2 GiB, beyond the "
                                                  "reach of rel32 jumps");
    }
    if (lay->nabs_ptrs && img->has_dynreloc)
        nnew++; /* .hookrel */
    e->nreserve = nnew;
    HP_CHECK(hp_pe_plan_headers(img, e, nnew));
    if (e->cert_size)
        hp_image_warn(img, "the input is Authenticode-signed; the output's "
                           "signature is removed (sign it again)");
    e->placed = true;
    return HP_OK;
}

/* A section's file bytes by name (DWARF: mingw keeps .debug_* sections,
 * their long names resolved through the COFF string table at load). */
static bool hp_pe_section(const hp_image *img, const char *name, const uint8_t **data,
                          size_t *size)
{
    const hp_pe *e = hp_pe_of(img);
    const hp_pe_sect *s = e ? hp_pe_find_sect(e, name) : NULL;
    if (!s || !s->raw_size)
        return false;
    *data = img->data + hp_pe_raw_off(e, s);
    *size = s->raw_size < s->vsize ? s->raw_size : s->vsize;
    return true;
}

const hp_format hp_format_pe = {
    .name = "PE",
    .kind = HP_FMT_PE,
    .probe = hp_pe_probe,
    .load = hp_pe_load,
    .place = hp_pe_place,
    .emit = hp_pe_emit,
    .unload = hp_pe_unload,
    .section = hp_pe_section,
    .code = hp_pe_code,
    .addr_slots = hp_pe_addr_slots,
};
