/* PE writer: turns an hp_edit into the output file. See pe.c for the layout
 * and why it is so. The output is built in memory (the CheckSum covers the
 * whole file) and written with one hp_write_at. */
#include "../format.h"
#include "pe_priv.h"

#include <stdlib.h>
#include <string.h>

typedef struct hp_pe_out {
    const hp_image *img;
    const hp_edit *ed;
    const hp_pe *e;
    hp_buf f;          /* the output file */
    hp_buf shdrs;      /* the output section table */
    uint32_t nshdrs;
    uint32_t next_rva; /* where the next new section goes */
    uint32_t add_code, add_idata, add_udata; /* optional header size fields */
    uint32_t dir_rva[HP_PE_NDIRS], dir_size[HP_PE_NDIRS];
    uint32_t sym_off, nsyms; /* COFF symbol table of the output */
    bool new_symtab;         /* the table is written again, with ed->syms */
} hp_pe_out;

/* Where an input file offset lands in the output. 0 means "none" in every
 * header field that holds an offset, so it never moves. */
static uint64_t hp_pe_moved(const hp_pe *e, uint64_t off)
{
    return off && off >= e->first_raw ? off + e->shift : off;
}

/* True when a debug directory entry keeps data at or past file offset off
 * (IMAGE_DEBUG_TYPE_COFF points at the COFF symbol table). */
static bool hp_pe_debug_past(const hp_image *img, const hp_pe *e, uint64_t off)
{
    for (uint32_t k = 0; k < e->ndbg; k++)
        if (hp_rd32(img->data + e->dbg_off + 28ull * k + 24) >= off)
            return true;
    return false;
}

/* How much of the input to copy. The certificates are cut off when they end
 * the file (up to 8 bytes of padding). A COFF symbol table that is written
 * again and ends the file after all section data (mingw) is cut off too, so
 * the output does not carry a dead copy. */
static uint64_t hp_pe_input_end(const hp_pe_out *o)
{
    const hp_image *img = o->img;
    const hp_pe *e = o->e;
    uint64_t end = img->size, cert_end = e->cert_off + e->cert_size;
    if (e->cert_size && e->cert_off >= e->data_end && cert_end <= end && end - cert_end < 8)
        end = e->cert_off;
    const hp_coff_symtab *t = &e->symtab;
    uint64_t sym_end = t->off + (uint64_t)t->nsyms * HP_COFF_SYM_SIZE + t->strsize;
    if (o->new_symtab && t->off >= e->raw_end && t->off >= e->first_raw && sym_end <= end &&
        end - sym_end < 8 && !hp_pe_debug_past(img, e, t->off))
        end = t->off;
    return end;
}

static hp_status hp_pe_copy_input(hp_pe_out *o)
{
    const hp_pe *e = o->e;
    o->new_symtab = e->symtab_ok && o->ed->nsyms && e->nsects + HP_PE_MAX_NEW <= 0x7fff;
    uint64_t end = hp_pe_input_end(o), split = e->first_raw < end ? e->first_raw : end;
    HP_CHECK(hp_buf_append(&o->f, o->img->data, split));
    HP_CHECK(hp_buf_append_zeros(&o->f, e->shift));
    HP_CHECK(hp_buf_append(&o->f, o->img->data + split, end - split));
    for (unsigned i = 0; i < e->nsects; i++) {
        uint8_t h[HP_COFF_SHDR_SIZE];
        memcpy(h, e->sects[i].hdr, sizeof h);
        if (e->sects[i].raw_size)
            hp_wr32(h + 20, (uint32_t)hp_pe_moved(e, hp_rd32(h + 20)));
        hp_wr32(h + 24, (uint32_t)hp_pe_moved(e, hp_rd32(h + 24)));
        hp_wr32(h + 28, (uint32_t)hp_pe_moved(e, hp_rd32(h + 28)));
        HP_CHECK(hp_buf_append(&o->shdrs, h, sizeof h));
    }
    o->nshdrs = e->nsects;
    memcpy(o->dir_rva, e->dir_rva, sizeof o->dir_rva);
    memcpy(o->dir_size, e->dir_size, sizeof o->dir_size);
    o->sym_off = (uint32_t)hp_pe_moved(e, hp_rd32(o->img->data + e->coff_off + 8));
    o->nsyms = hp_rd32(o->img->data + e->coff_off + 12);
    return HP_OK;
}

static hp_status hp_pe_write_patches(hp_pe_out *o)
{
    for (size_t i = 0; i < o->ed->npatches; i++) {
        const hp_patch *p = &o->ed->patches[i];
        const hp_segment *s = hp_image_segment_at(o->img, p->va);
        if (!s || p->len > sizeof p->bytes || !hp_image_bytes(o->img, p->va, p->len))
            return HP_ERR_INTERNAL;
        uint64_t off = hp_pe_moved(o->e, s->file_off + (p->va - s->va));
        if (!hp_in_bounds(off, p->len, o->f.len))
            return HP_ERR_INTERNAL;
        memcpy(o->f.data + off, p->bytes, p->len);
    }
    return HP_OK;
}

/* Append one section: its data at the next FileAlignment boundary. */
static hp_status hp_pe_add_sect(hp_pe_out *o, const char *name, uint32_t vsize, const void *bytes,
                                size_t len, uint32_t chars)
{
    const hp_pe *e = o->e;
    if (o->nshdrs - e->nsects >= e->nreserve)
        return HP_ERR_INTERNAL; /* place() did not make room for it */
    uint32_t raw_off = 0, raw_size = 0;
    if (len) {
        HP_CHECK(hp_buf_align(&o->f, e->file_align, 0));
        raw_off = (uint32_t)o->f.len;
        raw_size = (uint32_t)hp_align_up(len, e->file_align);
        HP_CHECK(hp_buf_append(&o->f, bytes, len));
        HP_CHECK(hp_buf_align(&o->f, e->file_align, 0));
        if (o->f.len > UINT32_MAX)
            return HP_ERR_RANGE;
    }
    uint8_t h[HP_COFF_SHDR_SIZE] = {0};
    memcpy(h, name, strnlen(name, 8));
    hp_wr32(h + 8, vsize);
    hp_wr32(h + 12, o->next_rva);
    hp_wr32(h + 16, raw_size);
    hp_wr32(h + 20, raw_off);
    hp_wr32(h + 36, chars);
    HP_CHECK(hp_buf_append(&o->shdrs, h, sizeof h));
    o->nshdrs++;
    uint64_t next = hp_align_up((uint64_t)o->next_rva + vsize, e->sect_align);
    if (next > 0x80000000ull)
        return HP_ERR_RANGE;
    o->next_rva = (uint32_t)next;
    if (chars & HP_PE_SCN_CNT_CODE)
        o->add_code += raw_size;
    else if (chars & HP_PE_SCN_CNT_IDATA)
        o->add_idata += raw_size;
    else
        o->add_udata += (uint32_t)hp_align_up(vsize, e->file_align);
    return HP_OK;
}

static hp_status hp_pe_write_regions(hp_pe_out *o)
{
    static const char *const names[HP_REGION_COUNT] = {".hookp", ".hookr", ".hookd"};
    static const uint32_t chars[HP_REGION_COUNT] = {
        HP_PE_SCN_CNT_CODE | HP_PE_SCN_EXECUTE | HP_PE_SCN_READ,
        HP_PE_SCN_CNT_IDATA | HP_PE_SCN_READ,
        HP_PE_SCN_CNT_IDATA | HP_PE_SCN_READ | HP_PE_SCN_WRITE};
    const hp_pe *e = o->e;
    o->next_rva = e->end_rva;
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        const hp_region *rg = &o->ed->regions[r];
        if (!e->region_size[r]) {
            if (rg->mem_size)
                return HP_ERR_INTERNAL;
            continue;
        }
        /* The regions must be what place() laid out, or the VA chain breaks. */
        if (o->next_rva != e->region_rva[r] || rg->mem_size > e->region_size[r] ||
            rg->bytes.len > e->region_size[r] ||
            (rg->mem_size && rg->va != e->image_base + e->region_rva[r]))
            return HP_ERR_INTERNAL;
        uint32_t c = chars[r];
        if (r == HP_REGION_DATA && !rg->bytes.len)
            c = HP_PE_SCN_CNT_UDATA | HP_PE_SCN_READ | HP_PE_SCN_WRITE;
        HP_CHECK(hp_pe_add_sect(o, names[r], (uint32_t)e->region_size[r], rg->bytes.data,
                                rg->bytes.len, c));
    }
    return HP_OK;
}

/* Length of the well-formed prefix of the input's relocation blocks. */
static uint32_t hp_pe_reloc_len(const hp_image *img, const hp_pe *e)
{
    uint32_t size = e->dir_size[HP_PE_DIR_BASERELOC], off = 0;
    while (e->reloc_off && size - off >= 8) {
        uint32_t bs = hp_rd32(img->data + e->reloc_off + off + 4);
        if (bs < 8 || bs % 4 || bs > size - off)
            break;
        off += bs;
    }
    return off;
}

static bool hp_pe_in_region(const hp_edit *ed, uint64_t va)
{
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        const hp_region *rg = &ed->regions[r];
        if (va >= rg->va && rg->bytes.len >= 8 && va - rg->va <= rg->bytes.len - 8)
            return true;
    }
    return false;
}

/* One IMAGE_REL_BASED_DIR64 block per 4 KiB page, padded to 4 bytes. */
static hp_status hp_pe_reloc_blocks(hp_pe_out *o, const uint64_t *va, size_t n, hp_buf *b)
{
    for (size_t i = 0; i < n;) {
        uint32_t page = (uint32_t)(va[i] - o->e->image_base) & ~0xfffu;
        size_t start = b->len;
        uint8_t hdr[8] = {0};
        hp_wr32(hdr, page);
        HP_CHECK(hp_buf_append(b, hdr, sizeof hdr));
        for (; i < n && ((uint32_t)(va[i] - o->e->image_base) & ~0xfffu) == page; i++) {
            if (i && va[i] == va[i - 1])
                continue;
            uint8_t ent[2];
            hp_wr16(ent, (uint16_t)(0xa000u | ((va[i] - o->e->image_base) & 0xfffu)));
            HP_CHECK(hp_buf_append(b, ent, 2));
        }
        HP_CHECK(hp_buf_align(b, 4, 0)); /* a type-0 (ABSOLUTE) entry pads */
        hp_wr32(b->data + start + 4, (uint32_t)(b->len - start));
    }
    return HP_OK;
}

/* .hookrel: the old blocks, then DIR64 entries for the new pointers. */
static hp_status hp_pe_write_relocs(hp_pe_out *o)
{
    const hp_edit *ed = o->ed;
    if (!ed->nabs_ptrs || !o->img->has_dynreloc)
        return HP_OK;
    uint64_t *va = hp_calloc(ed->nabs_ptrs, sizeof *va);
    if (!va)
        return HP_ERR_NOMEM;
    memcpy(va, ed->abs_ptrs, ed->nabs_ptrs * sizeof *va);
    hp_u64_sort(va, ed->nabs_ptrs);
    hp_status s = HP_OK;
    for (size_t i = 0; i < ed->nabs_ptrs && s == HP_OK; i++)
        if (!hp_pe_in_region(ed, va[i]))
            s = HP_ERR_INTERNAL;
    hp_buf b = {0};
    if (s == HP_OK)
        s = hp_buf_append(&b, o->img->data + o->e->reloc_off, hp_pe_reloc_len(o->img, o->e));
    if (s == HP_OK)
        s = hp_pe_reloc_blocks(o, va, ed->nabs_ptrs, &b);
    if (s == HP_OK) {
        o->dir_rva[HP_PE_DIR_BASERELOC] = o->next_rva;
        o->dir_size[HP_PE_DIR_BASERELOC] = (uint32_t)b.len;
        s = hp_pe_add_sect(o, ".hookrel", (uint32_t)b.len, b.data, b.len,
                           HP_PE_SCN_CNT_IDATA | HP_PE_SCN_READ | HP_PE_SCN_DISCARDABLE);
    }
    hp_buf_free(&b);
    hp_free(va);
    return s;
}

/* 1-based number of the new section holding va, or 0. */
static int16_t hp_pe_new_sect_of(const hp_pe_out *o, uint64_t va, uint32_t *sect_rva)
{
    for (uint32_t i = o->e->nsects; i < o->nshdrs; i++) {
        const uint8_t *h = o->shdrs.data + (size_t)i * HP_COFF_SHDR_SIZE;
        uint64_t lo = o->e->image_base + hp_rd32(h + 12);
        if (va >= lo && va - lo < hp_rd32(h + 8)) {
            *sect_rva = hp_rd32(h + 12);
            return (int16_t)(i + 1);
        }
    }
    return 0;
}

/* The COFF symbol table with ed->syms appended, written after the last
 * section's data (the old copy stays as dead bytes). Only when the input
 * had a table: Windows ignores it, and we do not invent one. */
static hp_status hp_pe_write_symbols(hp_pe_out *o)
{
    const hp_pe *e = o->e;
    const hp_edit *ed = o->ed;
    if (!o->new_symtab)
        return HP_OK;
    hp_buf sym = {0}, str = {0};
    const hp_coff_symtab *t = &e->symtab;
    const uint8_t *old = o->img->data + t->off;
    uint64_t old_bytes = (uint64_t)t->nsyms * HP_COFF_SYM_SIZE;
    hp_status s = hp_buf_append(&sym, old, old_bytes);
    if (s == HP_OK)
        s = t->strsize ? hp_buf_append(&str, old + old_bytes, t->strsize)
                       : hp_buf_append_zeros(&str, 4);
    for (size_t i = 0; s == HP_OK && i < ed->nsyms; i++) {
        const hp_newsym *ns = &ed->syms[i];
        uint32_t rva = 0;
        int16_t sec = hp_pe_new_sect_of(o, ns->va, &rva);
        if (!sec)
            continue;
        uint8_t rec[HP_COFF_SYM_SIZE] = {0};
        size_t len = strlen(ns->name);
        if (len <= 8) {
            memcpy(rec, ns->name, len);
        } else {
            hp_wr32(rec + 4, (uint32_t)str.len);
            s = hp_buf_append(&str, ns->name, len + 1);
        }
        hp_wr32(rec + 8, (uint32_t)(ns->va - e->image_base - rva));
        hp_wr16(rec + 12, (uint16_t)sec);
        hp_wr16(rec + 14, ns->func ? HP_COFF_TYPE_FUNC : 0);
        rec[16] = HP_COFF_STATIC; /* ours are not for linking against */
        if (s == HP_OK)
            s = hp_buf_append(&sym, rec, sizeof rec);
    }
    if (s == HP_OK && (str.len > UINT32_MAX || sym.len / HP_COFF_SYM_SIZE > UINT32_MAX))
        s = HP_ERR_RANGE;
    if (s == HP_OK) {
        hp_wr32(str.data, (uint32_t)str.len);
        o->sym_off = (uint32_t)o->f.len;
        o->nsyms = (uint32_t)(sym.len / HP_COFF_SYM_SIZE);
        s = hp_buf_append(&o->f, sym.data, sym.len);
        if (s == HP_OK)
            s = hp_buf_append(&o->f, str.data, str.len);
        if (s == HP_OK && o->f.len > UINT32_MAX)
            s = HP_ERR_RANGE;
    }
    hp_buf_free(&sym);
    hp_buf_free(&str);
    return s;
}

/* Debug directory entries hold file offsets of their data. */
static void hp_pe_fix_debug(hp_pe_out *o)
{
    const hp_pe *e = o->e;
    if (!e->shift)
        return;
    uint64_t base = hp_pe_moved(e, e->dbg_off);
    for (uint32_t k = 0; k < e->ndbg; k++) {
        uint8_t *ent = o->f.data + base + 28ull * k;
        if (base + 28ull * (k + 1) > o->f.len)
            return;
        hp_wr32(ent + 24, (uint32_t)hp_pe_moved(e, hp_rd32(ent + 24)));
    }
}

static void hp_pe_write_headers(hp_pe_out *o)
{
    const hp_pe *e = o->e;
    uint8_t *c = o->f.data + e->coff_off, *opt = o->f.data + e->opt_off;
    hp_wr16(c + 2, (uint16_t)o->nshdrs);
    hp_wr32(c + 8, o->sym_off);
    hp_wr32(c + 12, o->nsyms);
    hp_wr32(opt + HP_PE_OPT_SIZE_CODE, hp_rd32(opt + HP_PE_OPT_SIZE_CODE) + o->add_code);
    hp_wr32(opt + HP_PE_OPT_SIZE_IDATA, hp_rd32(opt + HP_PE_OPT_SIZE_IDATA) + o->add_idata);
    hp_wr32(opt + HP_PE_OPT_SIZE_UDATA, hp_rd32(opt + HP_PE_OPT_SIZE_UDATA) + o->add_udata);
    hp_wr32(opt + HP_PE_OPT_SIZE_IMAGE, o->next_rva);
    hp_wr32(opt + HP_PE_OPT_SIZE_HEADERS, e->new_size_headers);
    if (e->ndirs > HP_PE_DIR_SECURITY)
        o->dir_rva[HP_PE_DIR_SECURITY] = o->dir_size[HP_PE_DIR_SECURITY] = 0;
    if (e->drop_bound)
        o->dir_rva[HP_PE_DIR_BOUND_IMPORT] = o->dir_size[HP_PE_DIR_BOUND_IMPORT] = 0;
    for (uint32_t i = 0; i < e->ndirs; i++) {
        hp_wr32(opt + HP_PE_OPT_DIRS + 8 * i, o->dir_rva[i]);
        hp_wr32(opt + HP_PE_OPT_DIRS + 8 * i + 4, o->dir_size[i]);
    }
    memcpy(o->f.data + e->sect_off, o->shdrs.data, o->shdrs.len);
    hp_wr32(opt + HP_PE_OPT_CHECKSUM, 0);
    hp_wr32(opt + HP_PE_OPT_CHECKSUM, hp_pe_checksum(o->f.data, o->f.len));
}

uint32_t hp_pe_checksum(const uint8_t *p, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += hp_rd16(p + i);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if (n & 1) {
        sum += p[n - 1];
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint32_t)(sum + n);
}

hp_status hp_pe_emit(const hp_image *img, const hp_edit *ed, hp_sink *out)
{
    hp_pe_out o = {.img = img, .ed = ed, .e = img->priv};
    if (!o.e || !o.e->placed)
        return HP_ERR_INTERNAL;
    hp_status s = hp_pe_copy_input(&o);
    if (s == HP_OK)
        s = hp_pe_write_patches(&o);
    if (s == HP_OK)
        s = hp_pe_write_regions(&o);
    if (s == HP_OK)
        s = hp_pe_write_relocs(&o);
    if (s == HP_OK && ed->info.len)
        s = hp_pe_add_sect(&o, ".hookinf", (uint32_t)ed->info.len, ed->info.data, ed->info.len,
                           HP_PE_SCN_CNT_IDATA | HP_PE_SCN_READ | HP_PE_SCN_DISCARDABLE);
    if (s == HP_OK)
        s = hp_pe_write_symbols(&o);
    if (s == HP_OK && o.e->sect_off + o.shdrs.len > o.e->new_size_headers)
        s = HP_ERR_INTERNAL;
    if (s == HP_OK) {
        hp_pe_fix_debug(&o);
        hp_pe_write_headers(&o);
        s = hp_write_at(out, o.f.data, o.f.len, 0);
    }
    hp_buf_free(&o.f);
    hp_buf_free(&o.shdrs);
    return s;
}
