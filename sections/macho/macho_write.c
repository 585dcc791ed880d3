/* Mach-O writer: turns an hp_edit into the output file. See macho.c for the
 * layout and why it is so. The patched slice is built in memory (the code
 * signature hashes its final bytes), then written; a universal file's
 * slices are each written so, then placed by hp_macho_join.
 *
 * The output slice, in file order:
 *   [header, load commands, old segments]   patched in place
 *   [__HOOKPATCH_D]  __const (rodata), __data; __bss is zerofill
 *   [__HOOKPATCH]    __text, __info
 *   [__LINKEDIT]     the old contents up to the old signature, shifted;
 *                    then blobs that had to grow (rebase opcodes with the
 *                    new pointers, chained fixups with the new segments
 *                    and the new pointers' page starts: macho_chained.c),
 *                    their old copies left as dead bytes; then the new
 *                    code signature.
 *
 * New symbols (ed->syms) become local symbols (N_SECT) at the end of the
 * symbol table's local range, so LC_DYSYMTAB's external-definition and
 * undefined ranges and the indirect symbol table shift by their count; the
 * symbol, string and indirect tables are rewritten at the end of
 * __LINKEDIT. Tables that index symbols and are not rewritten (external
 * relocations, table of contents, module table, reference table: all
 * absent from modern binaries) make hookpatch skip the symbols with a
 * warning; the output still works, the __info record names every site.
 */
#include "../format.h"
#include "macho_priv.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct hp_macho_out {
    const hp_image *img;
    const hp_edit *ed;
    const hp_macho *m;
    const uint8_t *in; /* the input slice */
    uint64_t old_le_off, old_le_va;
    uint64_t data_off, data_filesize, data_vmsize;
    uint64_t text_off, text_filesize, text_vmsize, info_va;
    uint64_t le_off, le_va, le_filesize, delta;
    uint64_t body_end; /* end of the copied __LINKEDIT bytes, input offsets */
    hp_buf rebase;         /* grown rebase opcodes (empty: unchanged) */
    hp_macho_chain chain;  /* grown chained fixups (blob empty: unchanged) */
    hp_buf symtab, strtab, indirect; /* rebuilt with ed->syms (empty: unchanged) */
    uint64_t rebase_off, fixups_off, symtab_off, strtab_off, indirect_off;
    uint64_t sig_off, sig_size, end;
    uint32_t nnew;       /* new segments */
    uint32_t nsyms_new;  /* symbols added to LC_SYMTAB */
    uint32_t sym_ins;    /* their index: after the old local symbols */
    uint32_t sect[5];    /* n_sect of __const, __data, __bss, __text, __info (0: none) */
    char ident[256];
    hp_macho_sig sig;
    bool signing; /* the output is signed: the input was, or is arm64 */
    bool add_sig; /* ... and needs a new LC_CODE_SIGNATURE (unsigned arm64) */
    hp_buf lc;  /* new load commands */
    hp_buf out; /* the output slice */
} hp_macho_out;

static const hp_region *hp_reg(const hp_macho_out *o, int r) { return &o->ed->regions[r]; }
static hp_status hp_macho_symbols(hp_macho_out *o);

static hp_status hp_macho_fail(const hp_macho_out *o, hp_status st, const char *msg)
{
    return hp_image_refuse(o->img, st, "%s", msg);
}

/* ---- file layout of the new segments and __LINKEDIT ---- */

static hp_status hp_macho_layout_new(hp_macho_out *o)
{
    const hp_macho_plan *pl = &o->m->plan;
    const hp_region *ro = hp_reg(o, HP_REGION_RODATA), *dt = hp_reg(o, HP_REGION_DATA);
    const hp_region *tx = hp_reg(o, HP_REGION_TEXT);
    uint64_t off = pl->new_off;
    if (tx->va != pl->text_seg_va || (ro->mem_size && ro->va != pl->data_seg_va) ||
        (dt->mem_size && !pl->has_data) || (ro->mem_size && !pl->has_data))
        return HP_ERR_INTERNAL; /* the edit does not follow place() */
    if (pl->has_data) {
        uint64_t end = ro->mem_size ? ro->va + ro->mem_size : pl->data_seg_va;
        o->data_off = off;
        o->data_filesize = end - pl->data_seg_va;
        if (dt->mem_size) {
            o->data_filesize = dt->va + dt->bytes.len - pl->data_seg_va;
            end = dt->va + dt->mem_size;
        }
        o->data_vmsize = hp_align_up(end - pl->data_seg_va, o->m->page);
        if (pl->data_seg_va + o->data_vmsize > pl->text_seg_va)
            return HP_ERR_INTERNAL; /* larger than place() was told */
        off += hp_align_up(o->data_filesize, o->m->page);
        o->nnew++;
    }
    uint32_t next = (uint32_t)o->m->nsects + 1;
    if (pl->has_data) {
        o->sect[0] = ro->mem_size ? next++ : 0;
        o->sect[1] = dt->bytes.len ? next++ : 0;
        o->sect[2] = dt->mem_size > dt->bytes.len ? next++ : 0;
    }
    o->sect[3] = next++;
    o->sect[4] = o->ed->info.len ? next++ : 0;
    o->text_off = off;
    o->info_va = hp_align_up(tx->va + tx->mem_size, 16);
    o->text_filesize = o->ed->info.len ? o->info_va + o->ed->info.len - tx->va : tx->mem_size;
    o->text_vmsize = hp_align_up(o->text_filesize ? o->text_filesize : 1, o->m->page);
    o->nnew++;
    o->le_off = off + hp_align_up(o->text_filesize, o->m->page);
    o->delta = o->le_off - o->old_le_off;
    o->le_va = pl->text_seg_va + o->text_vmsize;
    if (o->le_va < o->old_le_va)
        o->le_va = o->old_le_va;
    return HP_OK;
}

/* Output offset of an input __LINKEDIT offset; others do not move. */
static uint64_t hp_macho_shift(const hp_macho_out *o, uint64_t off)
{
    return off >= o->old_le_off ? off + o->delta : off;
}

/* ---- rebase opcodes for the new absolute pointers ---- */

static bool hp_skip_uleb(const uint8_t *p, size_t n, size_t *i)
{
    while (*i < n)
        if (!(p[(*i)++] & 0x80))
            return true;
    return false;
}

/* Length of a rebase opcode stream up to (not including) its DONE. */
static hp_status hp_rebase_len(const uint8_t *p, size_t n, size_t *len)
{
    size_t i = 0;
    while (i < n) {
        uint8_t op = p[i] & 0xf0;
        size_t at = i++;
        bool ok = true;
        switch (op) {
        case 0x00: *len = at; return HP_OK; /* REBASE_OPCODE_DONE */
        case 0x10: case 0x40: case 0x50: break; /* immediate operand only */
        case 0x20: case 0x30: case 0x60: case 0x70: ok = hp_skip_uleb(p, n, &i); break;
        case 0x80: ok = hp_skip_uleb(p, n, &i) && hp_skip_uleb(p, n, &i); break;
        default: return HP_ERR_FORMAT;
        }
        if (!ok)
            return HP_ERR_FORMAT;
    }
    *len = n;
    return HP_OK;
}

static hp_status hp_put_uleb(hp_buf *b, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        if (v)
            c |= 0x80;
        HP_CHECK(hp_buf_append(b, &c, 1));
    } while (v);
    return HP_OK;
}

/* Segment index (among LC_SEGMENT_64 commands of the output) and segment
 * offset of a pointer in the new data segment. */
static hp_status hp_macho_ptr_loc(const hp_macho_out *o, uint64_t va, uint32_t *seg, uint64_t *off)
{
    const hp_macho_plan *pl = &o->m->plan;
    if (pl->has_data && va >= pl->data_seg_va && va - pl->data_seg_va + 8 <= o->data_vmsize) {
        *seg = (uint32_t)o->m->linkedit;
        *off = va - pl->data_seg_va;
        return *seg < 16 ? HP_OK : HP_ERR_UNSUPPORTED;
    }
    return HP_ERR_UNSUPPORTED;
}

static hp_status hp_macho_rebase(hp_macho_out *o)
{
    const hp_edit *ed = o->ed;
    if (!ed->nabs_ptrs || !o->img->pic)
        return HP_OK; /* a fixed-address image needs no rebasing */
    HP_CHECK(hp_macho_can_rebase(o->img, o->m));
    if (o->m->chained_lc)
        return HP_OK; /* hp_macho_fixups chains them */
    const uint8_t *lc = o->in + o->m->dyld_info_lc;
    uint32_t off = hp_rd32(lc + 8), size = hp_rd32(lc + 12);
    size_t keep;
    if (hp_rebase_len(o->in + off, size, &keep) != HP_OK)
        return hp_macho_fail(o, HP_ERR_FORMAT, "malformed rebase opcodes in LC_DYLD_INFO");
    HP_CHECK(hp_buf_append(&o->rebase, o->in + off, keep));
    static const uint8_t set_type = 0x11; /* SET_TYPE_IMM | REBASE_TYPE_POINTER */
    HP_CHECK(hp_buf_append(&o->rebase, &set_type, 1));
    for (size_t i = 0; i < ed->nabs_ptrs; i++) {
        uint32_t seg;
        uint64_t soff;
        if (hp_macho_ptr_loc(o, ed->abs_ptrs[i], &seg, &soff) != HP_OK)
            return hp_image_refuse(o->img, HP_ERR_UNSUPPORTED,
                                   "absolute pointer at 0x%llx is outside the writable new "
                                   "segment; dyld cannot rebase it on x86-64",
                                   (unsigned long long)ed->abs_ptrs[i]);
        uint8_t ops[2] = {(uint8_t)(0x20 | seg), 0x51}; /* SET_SEGMENT_AND_OFFSET, DO x1 */
        HP_CHECK(hp_buf_append(&o->rebase, ops, 1));
        HP_CHECK(hp_put_uleb(&o->rebase, soff));
        HP_CHECK(hp_buf_append(&o->rebase, ops + 1, 1));
    }
    HP_CHECK(hp_buf_append_zeros(&o->rebase, 1)); /* DONE */
    return hp_buf_align(&o->rebase, 8, 0);
}

/* ---- chained fixups: a starts entry per new segment (macho_chained.c) ---- */

/* The mach header's vmaddr: the segment mapping file offset 0. */
static uint64_t hp_macho_hdr_va(const hp_macho *m)
{
    for (size_t i = 0; i < m->nsegs; i++)
        if (m->segs[i].fileoff == 0 && m->segs[i].filesize)
            return m->segs[i].vmaddr;
    return 0;
}

static hp_status hp_macho_fixups(hp_macho_out *o)
{
    if (!o->m->chained_lc)
        return HP_OK;
    hp_macho_chain *c = &o->chain;
    c->nnew = o->nnew;
    if (o->ed->nabs_ptrs && o->img->pic) {
        c->data_va = o->m->plan.data_seg_va;
        c->data_vmsize = o->data_vmsize;
        c->data_filesize = o->m->plan.has_data ? o->data_filesize : 0;
        c->hdr_va = hp_macho_hdr_va(o->m);
        c->ptrs = o->ed->abs_ptrs;
        c->nptrs = o->ed->nabs_ptrs;
    }
    return hp_macho_chain_build(o->img, o->m, o->in, c);
}

static void hp_macho_basename(const char *path, char *out, size_t len)
{
    const char *b = strrchr(path, '/');
    snprintf(out, len, "%s", b ? b + 1 : path);
    if (!out[0])
        snprintf(out, len, "a.out");
}

/* Where the grown blobs and the signature go at the end of __LINKEDIT. */
static hp_status hp_macho_layout_linkedit(hp_macho_out *o)
{
    const hp_macho *m = o->m;
    o->body_end = m->slice_size;
    /* arm64 macOS runs no unsigned code: an unsigned arm64 input is signed */
    o->add_sig = !m->sig_lc && o->img->machine == HP_MACH_ARM64;
    o->signing = m->sig_lc || o->add_sig;
    if (o->add_sig)
        hp_macho_basename(o->img->path, o->ident, sizeof o->ident);
    if (m->sig_lc) {
        const uint8_t *lc = o->in + m->sig_lc;
        o->body_end = hp_rd32(lc + 8);
        if (!hp_macho_sig_read(o->in + o->body_end, hp_rd32(lc + 12), o->ident,
                               sizeof o->ident, &o->sig))
            hp_macho_basename(o->img->path, o->ident, sizeof o->ident);
    }
    HP_CHECK(hp_macho_rebase(o));
    HP_CHECK(hp_macho_fixups(o));
    HP_CHECK(hp_macho_symbols(o));
    uint64_t tail = hp_macho_shift(o, o->body_end);
    o->end = tail;
    o->le_filesize = m->segs[m->linkedit].filesize;
    if (o->rebase.len || o->chain.blob.len || o->symtab.len || o->signing) {
        /* every grown blob is a multiple of 8 bytes long */
        tail = hp_align_up(tail, 8);
        o->rebase_off = tail;
        tail += o->rebase.len;
        o->fixups_off = tail;
        tail += o->chain.blob.len;
        o->symtab_off = tail;
        tail += o->symtab.len;
        o->indirect_off = tail;
        tail += o->indirect.len;
        o->strtab_off = tail;
        tail += o->strtab.len;
        o->end = tail;
        if (o->signing) {
            o->sig_off = hp_align_up(tail, 16);
            o->sig.ident = o->ident;
            o->sig_size = hp_macho_sig_size(o->sig_off, &o->sig);
            o->end = o->sig_off + o->sig_size;
        }
        o->le_filesize = o->end - o->le_off;
    }
    if (o->end > UINT32_MAX)
        return hp_macho_fail(o, HP_ERR_RANGE, "the output slice would exceed 4 GiB");
    return HP_OK;
}

/* ---- load commands ---- */

static hp_status hp_macho_put_seg(hp_macho_out *o, const char *name, uint64_t va, uint64_t vmsize,
                                  uint64_t off, uint64_t filesize, uint32_t prot, uint32_t nsects)
{
    uint8_t c[HP_MACHO_SEG_CMD] = {0};
    hp_wr32(c, HP_LC_SEGMENT_64);
    hp_wr32(c + 4, HP_MACHO_SEG_CMD + nsects * HP_MACHO_SECT);
    strncpy((char *)c + 8, name, 16);
    hp_wr64(c + 24, va);
    hp_wr64(c + 32, vmsize);
    hp_wr64(c + 40, off);
    hp_wr64(c + 48, filesize);
    hp_wr32(c + 56, prot);
    hp_wr32(c + 60, prot);
    hp_wr32(c + 64, nsects);
    return hp_buf_append(&o->lc, c, sizeof c);
}

static hp_status hp_macho_put_sect(hp_macho_out *o, const char *seg, const char *name,
                                   uint64_t va, uint64_t size, uint64_t off, uint32_t flags)
{
    uint8_t c[HP_MACHO_SECT] = {0};
    strncpy((char *)c, name, 16);
    strncpy((char *)c + 16, seg, 16);
    hp_wr64(c + 32, va);
    hp_wr64(c + 40, size);
    hp_wr32(c + 48, (uint32_t)off);
    hp_wr32(c + 52, 4); /* align 2^4 */
    hp_wr32(c + 64, flags);
    return hp_buf_append(&o->lc, c, sizeof c);
}

static hp_status hp_macho_data_seg_cmd(hp_macho_out *o)
{
    const hp_region *ro = hp_reg(o, HP_REGION_RODATA), *dt = hp_reg(o, HP_REGION_DATA);
    uint64_t base = o->m->plan.data_seg_va, bss = dt->mem_size - dt->bytes.len;
    uint32_t n = (ro->mem_size > 0) + (dt->bytes.len > 0) + (bss > 0);
    HP_CHECK(hp_macho_put_seg(o, HP_MACHO_SEG_DATA, base, o->data_vmsize, o->data_off,
                              o->data_filesize, HP_PROT_R | HP_PROT_W, n));
    const char *seg = HP_MACHO_SEG_DATA;
    if (ro->mem_size)
        HP_CHECK(hp_macho_put_sect(o, seg, "__const", ro->va, ro->mem_size, o->data_off, 0));
    if (dt->bytes.len)
        HP_CHECK(hp_macho_put_sect(o, seg, "__data", dt->va, dt->bytes.len,
                                   o->data_off + (dt->va - base), 0));
    if (bss)
        HP_CHECK(hp_macho_put_sect(o, seg, "__bss", dt->va + dt->bytes.len, bss, 0,
                                   HP_S_ZEROFILL));
    return HP_OK;
}

static hp_status hp_macho_new_seg_cmds(hp_macho_out *o)
{
    if (o->m->plan.has_data)
        HP_CHECK(hp_macho_data_seg_cmd(o));
    const hp_region *tx = hp_reg(o, HP_REGION_TEXT);
    uint32_t n = 1 + (o->ed->info.len > 0);
    HP_CHECK(hp_macho_put_seg(o, HP_MACHO_SEG_TEXT, tx->va, o->text_vmsize, o->text_off,
                              o->text_filesize, HP_PROT_R | HP_PROT_X, n));
    HP_CHECK(hp_macho_put_sect(o, HP_MACHO_SEG_TEXT, "__text", tx->va, tx->mem_size, o->text_off,
                               HP_S_ATTR_PURE_INSTRUCTIONS | HP_S_ATTR_SOME_INSTRUCTIONS));
    if (o->ed->info.len)
        HP_CHECK(hp_macho_put_sect(o, HP_MACHO_SEG_TEXT, "__info", o->info_va, o->ed->info.len,
                                   o->text_off + (o->info_va - tx->va), 0));
    return HP_OK;
}

static void hp_shift32(const hp_macho_out *o, uint8_t *p)
{
    uint32_t v = hp_rd32(p);
    if (v)
        hp_wr32(p, (uint32_t)hp_macho_shift(o, v));
}

/* ---- new symbols ---- */

/* n_sect of the new section holding va, or 0. */
static uint32_t hp_macho_new_sect(const hp_macho_out *o, uint64_t va)
{
    const hp_region *ro = hp_reg(o, HP_REGION_RODATA), *dt = hp_reg(o, HP_REGION_DATA);
    const hp_region *tx = hp_reg(o, HP_REGION_TEXT);
    if (o->sect[0] && va - ro->va < ro->mem_size)
        return o->sect[0];
    if (o->sect[1] && va - dt->va < dt->bytes.len)
        return o->sect[1];
    if (o->sect[2] && va - dt->va < dt->mem_size)
        return o->sect[2];
    if (va - tx->va < tx->mem_size)
        return o->sect[3];
    return 0;
}

static void hp_macho_sym_warn(const hp_macho_out *o, const char *why)
{
    hp_image_warn(o->img, "stub and trampoline names not added to the symbol table: %s", why);
}

/* Why the symbol table cannot take new symbols, or NULL. */
static const char *hp_macho_syms_blocked(const hp_macho_out *o)
{
    const hp_macho *m = o->m;
    if (!m->symtab_lc || !m->dysymtab_lc)
        return "the binary has no symbol table";
    if (o->sect[4] > 255 || o->sect[3] > 255)
        return "more than 255 sections";
    const uint8_t *dy = o->in + m->dysymtab_lc;
    if (hp_rd32(dy + 36) || hp_rd32(dy + 44) || hp_rd32(dy + 52) || hp_rd32(dy + 68))
        return "it has a table of contents, module table, reference table or external "
               "relocations, which index symbols";
    uint32_t nsyms = hp_rd32(o->in + m->symtab_lc + 12);
    uint64_t ins = (uint64_t)hp_rd32(dy + 8) + hp_rd32(dy + 12);
    if (hp_rd32(dy + 8) || ins > nsyms)
        return "its local symbols are not at the start of the table";
    if (nsyms + (uint64_t)o->ed->nsyms > UINT32_MAX / HP_MACHO_NLIST)
        return "too many symbols";
    return NULL;
}

static hp_status hp_macho_put_nlists(hp_macho_out *o)
{
    for (size_t i = 0; i < o->ed->nsyms; i++) {
        const hp_newsym *ns = &o->ed->syms[i];
        uint32_t sect = hp_macho_new_sect(o, ns->va);
        if (!sect)
            continue;
        uint8_t e[HP_MACHO_NLIST] = {0};
        hp_wr32(e, (uint32_t)o->strtab.len);
        e[4] = 0x0e; /* N_SECT, local */
        e[5] = (uint8_t)sect;
        hp_wr64(e + 8, ns->va);
        HP_CHECK(hp_buf_append(&o->strtab, ns->name, strlen(ns->name) + 1));
        HP_CHECK(hp_buf_append(&o->symtab, e, sizeof e));
        o->nsyms_new++;
    }
    return HP_OK;
}

/* Symbol, string and indirect tables with ed->syms inserted. */
static hp_status hp_macho_symbols(hp_macho_out *o)
{
    if (!o->ed->nsyms)
        return HP_OK;
    const char *why = hp_macho_syms_blocked(o);
    if (why) {
        hp_macho_sym_warn(o, why);
        return HP_OK;
    }
    const uint8_t *st = o->in + o->m->symtab_lc, *dy = o->in + o->m->dysymtab_lc;
    uint32_t symoff = hp_rd32(st + 8), nsyms = hp_rd32(st + 12);
    o->sym_ins = hp_rd32(dy + 12);
    HP_CHECK(hp_buf_append(&o->strtab, o->in + hp_rd32(st + 16), hp_rd32(st + 20)));
    HP_CHECK(hp_buf_append(&o->symtab, o->in + symoff, (size_t)o->sym_ins * HP_MACHO_NLIST));
    HP_CHECK(hp_macho_put_nlists(o));
    if (!o->nsyms_new) { /* none lies in a new section */
        hp_buf_free(&o->symtab);
        hp_buf_free(&o->strtab);
        return HP_OK;
    }
    HP_CHECK(hp_buf_append(&o->symtab, o->in + symoff + (size_t)o->sym_ins * HP_MACHO_NLIST,
                           (size_t)(nsyms - o->sym_ins) * HP_MACHO_NLIST));
    HP_CHECK(hp_buf_align(&o->strtab, 8, 0));
    uint32_t ioff = hp_rd32(dy + 56), nind = hp_rd32(dy + 60);
    HP_CHECK(hp_buf_append(&o->indirect, o->in + ioff, (size_t)nind * 4));
    for (uint32_t i = 0; i < nind; i++) {
        uint32_t v = hp_rd32(o->indirect.data + 4 * i);
        if (!(v & 0xc0000000u) && v >= o->sym_ins) /* not LOCAL/ABS */
            hp_wr32(o->indirect.data + 4 * i, v + o->nsyms_new);
    }
    return o->indirect.len ? hp_buf_align(&o->indirect, 8, 0) : HP_OK;
}

static void hp_macho_fix_dysymtab(const hp_macho_out *o, uint8_t *c)
{
    static const uint8_t offs[] = {32, 40, 48, 56, 64, 72};
    for (size_t i = 0; i < sizeof offs; i++)
        hp_shift32(o, c + offs[i]);
    if (!o->nsyms_new)
        return;
    hp_wr32(c + 12, hp_rd32(c + 12) + o->nsyms_new); /* nlocalsym */
    for (int f = 16; f <= 24; f += 8)                /* iextdefsym, iundefsym */
        if (hp_rd32(c + f) >= o->sym_ins)
            hp_wr32(c + f, hp_rd32(c + f) + o->nsyms_new);
    hp_wr32(c + 56, o->indirect.len ? (uint32_t)o->indirect_off : 0);
}

static void hp_macho_fix_symtab(const hp_macho_out *o, uint8_t *c)
{
    hp_shift32(o, c + 8);
    hp_shift32(o, c + 16);
    if (!o->nsyms_new)
        return;
    hp_wr32(c + 8, (uint32_t)o->symtab_off);
    hp_wr32(c + 12, (uint32_t)(o->symtab.len / HP_MACHO_NLIST));
    hp_wr32(c + 16, (uint32_t)o->strtab_off);
    hp_wr32(c + 20, (uint32_t)o->strtab.len);
}

/* A segment command: __LINKEDIT moves; a file-only segment (Go's __DWARF,
 * vmsize 0) parked at __LINKEDIT's old address follows it. */
static void hp_macho_fix_segment(const hp_macho_out *o, uint8_t *c)
{
    char name[17];
    memcpy(name, c + 8, 16);
    name[16] = 0;
    if (!strcmp(name, "__LINKEDIT")) {
        hp_wr64(c + 24, o->le_va);
        hp_wr64(c + 32, hp_align_up(o->le_filesize, o->m->page));
        hp_wr64(c + 40, o->le_off);
        hp_wr64(c + 48, o->le_filesize);
        return;
    }
    uint64_t va = hp_rd64(c + 24), first = o->m->plan.has_data ? o->m->plan.data_seg_va
                                                                 : o->m->plan.text_seg_va;
    if (hp_rd64(c + 32) || va < first)
        return;
    hp_wr64(c + 24, o->le_va);
    for (uint32_t i = 0; i < hp_rd32(c + 64); i++) {
        uint8_t *s = c + HP_MACHO_SEG_CMD + i * HP_MACHO_SECT;
        if (hp_rd64(s + 32) >= va)
            hp_wr64(s + 32, hp_rd64(s + 32) - va + o->le_va);
    }
}

/* Rewrite the file offsets one command holds (c: a copy of it). */
static void hp_macho_fix_command(const hp_macho_out *o, uint8_t *c)
{
    uint32_t cmd = hp_rd32(c);
    if (cmd == HP_LC_SEGMENT_64) {
        hp_macho_fix_segment(o, c);
    } else if (cmd == HP_LC_SYMTAB) {
        hp_macho_fix_symtab(o, c);
    } else if (cmd == HP_LC_DYSYMTAB) {
        hp_macho_fix_dysymtab(o, c);
    } else if (cmd == HP_LC_DYLD_INFO || cmd == HP_LC_DYLD_INFO_ONLY) {
        for (int i = 0; i < 5; i++)
            hp_shift32(o, c + 8 + 8 * i);
        if (o->rebase.len) {
            hp_wr32(c + 8, (uint32_t)o->rebase_off);
            hp_wr32(c + 12, (uint32_t)o->rebase.len);
        }
    } else if (cmd == HP_LC_CODE_SIGNATURE) {
        hp_wr32(c + 8, (uint32_t)o->sig_off);
        hp_wr32(c + 12, (uint32_t)o->sig_size);
    } else if (cmd == HP_LC_DYLD_CHAINED_FIXUPS && o->chain.blob.len) {
        hp_wr32(c + 8, (uint32_t)o->fixups_off);
        hp_wr32(c + 12, (uint32_t)o->chain.blob.len);
    } else if (hp_macho_is_linkedit_data(cmd) || cmd == HP_LC_TWOLEVEL_HINTS ||
               cmd == HP_LC_SYMSEG) {
        hp_shift32(o, c + 8);
    } else if (cmd == HP_LC_NOTE) {
        uint64_t v = hp_rd64(c + 24);
        hp_wr64(c + 24, hp_macho_shift(o, v));
    }
}

static hp_status hp_macho_commands_out(hp_macho_out *o)
{
    const hp_macho *m = o->m;
    uint32_t le_cmd = m->segs[m->linkedit].cmd_off;
    uint64_t off = HP_MACHO_HDR;
    for (uint32_t i = 0; i < m->ncmds; i++) {
        uint32_t cmdsize = hp_rd32(o->in + off + 4);
        if (off == le_cmd)
            HP_CHECK(hp_macho_new_seg_cmds(o));
        size_t at = o->lc.len;
        HP_CHECK(hp_buf_append(&o->lc, o->in + off, cmdsize));
        hp_macho_fix_command(o, o->lc.data + at);
        off += cmdsize;
    }
    if (HP_MACHO_HDR + o->lc.len > m->content_off)
        return HP_ERR_INTERNAL; /* place() checked the room */
    uint8_t *h = o->out.data;
    memset(h + HP_MACHO_HDR, 0, m->content_off - HP_MACHO_HDR);
    if (o->add_sig) {
        uint8_t c[16];
        hp_wr32(c, HP_LC_CODE_SIGNATURE);
        hp_wr32(c + 4, sizeof c);
        hp_wr32(c + 8, (uint32_t)o->sig_off);
        hp_wr32(c + 12, (uint32_t)o->sig_size);
        HP_CHECK(hp_buf_append(&o->lc, c, sizeof c));
        if (HP_MACHO_HDR + o->lc.len > m->content_off)
            return HP_ERR_INTERNAL; /* place() counted it */
    }
    memcpy(h + HP_MACHO_HDR, o->lc.data, o->lc.len);
    hp_wr32(h + 16, m->ncmds + o->nnew + o->add_sig);
    hp_wr32(h + 20, (uint32_t)o->lc.len);
    return HP_OK;
}

/* ---- the slice's bytes ---- */

static hp_status hp_macho_put_patches(hp_macho_out *o)
{
    for (size_t i = 0; i < o->ed->npatches; i++) {
        const hp_patch *p = &o->ed->patches[i];
        const uint8_t *src = hp_image_bytes(o->img, p->va, p->len);
        if (!src || p->len > sizeof p->bytes)
            return HP_ERR_INTERNAL;
        uint64_t off = (uint64_t)(src - o->img->data);
        if (off + p->len > o->old_le_off)
            return HP_ERR_INTERNAL;
        memcpy(o->out.data + off, p->bytes, p->len);
    }
    return HP_OK;
}

static void hp_macho_put_regions(hp_macho_out *o)
{
    uint8_t *d = o->out.data;
    const hp_region *ro = hp_reg(o, HP_REGION_RODATA), *dt = hp_reg(o, HP_REGION_DATA);
    const hp_region *tx = hp_reg(o, HP_REGION_TEXT);
    uint64_t dbase = o->m->plan.data_seg_va;
    if (ro->mem_size)
        memcpy(d + o->data_off, ro->bytes.data, ro->bytes.len);
    if (dt->bytes.len)
        memcpy(d + o->data_off + (dt->va - dbase), dt->bytes.data, dt->bytes.len);
    if (tx->bytes.len)
        memcpy(d + o->text_off, tx->bytes.data, tx->bytes.len);
    if (o->ed->info.len)
        memcpy(d + o->text_off + (o->info_va - tx->va), o->ed->info.data, o->ed->info.len);
}

static hp_status hp_macho_build(hp_macho_out *o)
{
    const hp_macho *m = o->m;
    HP_CHECK(hp_macho_layout_new(o));
    HP_CHECK(hp_macho_layout_linkedit(o));
    HP_CHECK(hp_buf_append_zeros(&o->out, o->end));
    uint8_t *d = o->out.data;
    memcpy(d, o->in, o->old_le_off);
    HP_CHECK(hp_macho_put_patches(o));
    hp_macho_put_regions(o);
    memcpy(d + o->le_off, o->in + o->old_le_off, o->body_end - o->old_le_off);
    if (o->rebase.len)
        memcpy(d + o->rebase_off, o->rebase.data, o->rebase.len);
    if (o->chain.blob.len)
        memcpy(d + o->fixups_off, o->chain.blob.data, o->chain.blob.len);
    if (o->chain.nsorted)
        HP_CHECK(hp_macho_chain_encode(o->img, &o->chain, d + o->data_off));
    if (o->symtab.len) {
        memcpy(d + o->symtab_off, o->symtab.data, o->symtab.len);
        memcpy(d + o->strtab_off, o->strtab.data, o->strtab.len);
        if (o->indirect.len)
            memcpy(d + o->indirect_off, o->indirect.data, o->indirect.len);
    }
    HP_CHECK(hp_macho_commands_out(o));
    if (o->signing) {
        const hp_macho_seg *text = NULL;
        for (size_t i = 0; i < m->nsegs; i++)
            if (!strcmp(m->segs[i].name, "__TEXT"))
                text = &m->segs[i];
        o->sig.exec_off = text ? text->fileoff : 0;
        o->sig.exec_size = text ? text->filesize : 0;
        o->sig.main_binary = m->filetype == HP_MH_EXECUTE;
        hp_macho_sig_build(d, o->sig_off, &o->sig, d + o->sig_off);
    }
    return HP_OK;
}

/* ---- universal wrapper ---- */

/* Slices keep their order, and their offsets until one before them grows;
 * later ones move up, each to its own alignment. offs[i]: slice i's
 * offset; returns the file's end. */
static uint64_t hp_macho_fat_layout(const hp_macho *m, const uint64_t *sizes, uint64_t hdr,
                                    uint64_t *offs, bool *done)
{
    uint64_t end = hdr;
    for (uint32_t k = 0; k < m->narchs; k++) {
        uint32_t best = m->narchs;
        for (uint32_t i = 0; i < m->narchs; i++)
            if (!done[i] && (best == m->narchs || m->archs[i].offset < m->archs[best].offset))
                best = i;
        const hp_macho_arch *a = &m->archs[best];
        uint64_t off = hp_align_up(end, 1ull << a->align);
        offs[best] = off > a->offset ? off : a->offset;
        done[best] = true;
        end = offs[best] + sizes[best];
    }
    return end;
}

static void hp_macho_fat_entry(const hp_macho *m, uint32_t i, uint64_t off, uint64_t size,
                               uint8_t *h)
{
    const hp_macho_arch *a = &m->archs[i];
    uint8_t *e = h + 8 + i * (m->fat64 ? 32 : 20);
    hp_wr32be(e, a->cputype);
    hp_wr32be(e + 4, a->cpusubtype);
    if (m->fat64) {
        hp_wr64be(e + 8, off);
        hp_wr64be(e + 16, size);
        hp_wr32be(e + 24, a->align);
    } else {
        hp_wr32be(e + 8, (uint32_t)off);
        hp_wr32be(e + 12, (uint32_t)size);
        hp_wr32be(e + 16, a->align);
    }
}

hp_status hp_macho_join(const hp_image *img, const hp_buf *const *out_slices, hp_sink *out)
{
    const hp_macho *m = img->priv;
    if (!m || !m->fat || m->narchs != img->nslices)
        return HP_ERR_INTERNAL;
    uint32_t n = m->narchs;
    uint64_t hdr = 8 + n * (m->fat64 ? 32 : 20);
    uint64_t *offs = hp_calloc(n, sizeof *offs), *sizes = hp_calloc(n, sizeof *sizes);
    uint8_t *h = hp_calloc(1, hdr);
    bool *done = hp_calloc(n, sizeof *done);
    hp_status s = offs && sizes && h && done ? HP_OK : HP_ERR_NOMEM;
    for (uint32_t i = 0; s == HP_OK && i < n; i++)
        sizes[i] = out_slices[i] ? out_slices[i]->len : m->archs[i].size;
    uint64_t end = s == HP_OK ? hp_macho_fat_layout(m, sizes, hdr, offs, done) : 0;
    if (s == HP_OK && !m->fat64 && end > UINT32_MAX)
        s = hp_image_refuse(img, HP_ERR_RANGE, "the universal file would exceed 4 GiB, the "
                                               "limit of its 32-bit header");
    for (uint32_t i = 0; s == HP_OK && i < n; i++) {
        hp_macho_fat_entry(m, i, offs[i], sizes[i], h);
        const uint8_t *src = out_slices[i] ? out_slices[i]->data : img->data + m->archs[i].offset;
        s = hp_write_at(out, src, sizes[i], offs[i]);
    }
    if (s == HP_OK) {
        hp_wr32be(h, m->fat64 ? HP_FAT_MAGIC_64 : HP_FAT_MAGIC);
        hp_wr32be(h + 4, n);
        s = hp_write_at(out, h, hdr, 0);
    }
    if (s == HP_OK && ftruncate(out->fd, (off_t)end) != 0)
        s = hp_sink_fail(out);
    hp_free(offs);
    hp_free(sizes);
    hp_free(h);
    hp_free(done);
    return s;
}

hp_status hp_macho_emit(const hp_image *img, const hp_edit *ed, hp_sink *out)
{
    const hp_macho *m = img->priv;
    if (m->fat || !m->plan.placed || m->linkedit < 0)
        return HP_ERR_INTERNAL;
    hp_macho_out o = {.img = img, .ed = ed, .m = m, .in = hp_macho_slice(img, m)};
    o.old_le_off = m->segs[m->linkedit].fileoff;
    o.old_le_va = m->segs[m->linkedit].vmaddr;
    hp_status s = hp_macho_build(&o);
    if (s == HP_OK)
        s = hp_write_at(out, o.out.data, o.out.len, 0);
    hp_buf_free(&o.rebase);
    hp_macho_chain_free(&o.chain);
    hp_buf_free(&o.symtab);
    hp_buf_free(&o.strtab);
    hp_buf_free(&o.indirect);
    hp_buf_free(&o.lc);
    hp_buf_free(&o.out);
    return s;
}
