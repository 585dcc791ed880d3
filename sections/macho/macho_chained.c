/* Chained fixups (LC_DYLD_CHAINED_FIXUPS) of the output: the starts table
 * grown by the new segments, and the new data segment's absolute pointers
 * written as chained rebases. Format: <mach-o/fixup-chains.h> of Apple's
 * dyld.
 *
 * The payload is a header {version, starts_offset, imports_offset,
 * symbols_offset, ...}, a dyld_chained_starts_in_image {seg_count,
 * seg_info_offset[seg_count]} (offsets from its own start; 0: no fixups in
 * that segment), one dyld_chained_starts_in_segment per segment with
 * fixups, then the imports and the symbol names. dyld insists that
 * seg_count equals the number of segments, so the table always grows by
 * one entry per new segment, inserted at __LINKEDIT's old index (the new
 * segments' load commands go right before __LINKEDIT's). When the new data
 * segment holds pointers, its dyld_chained_starts_in_segment goes right
 * after the grown table. Everything behind the table moves by the inserted
 * amount, a multiple of 8 so the old per-segment structs stay 8-aligned.
 *
 * A rebase is a 64-bit word in the pointer's slot: target (36 bits: the
 * vmaddr for DYLD_CHAINED_PTR_64, the offset from the mach header for
 * DYLD_CHAINED_PTR_64_OFFSET), high8 (the pointer's top byte), 7 reserved
 * bits, next (12 bits: distance to the next fixup of the same page in
 * 4-byte units, 0 at the end), bind = 0. page_start[i] is the offset of
 * the first fixup in page i, or DYLD_CHAINED_PTR_START_NONE. The slots are
 * required to be 8-byte aligned (any two are then at least 8 bytes apart,
 * and the largest distance within a 16 KiB page, 16376, fits 12 bits of
 * 4-byte strides).
 */
#include "../format.h"
#include "macho_priv.h"

#include <stdlib.h>
#include <string.h>

#define HP_CHAINED_PTR_64 2
#define HP_CHAINED_PTR_64_OFFSET 6
#define HP_CHAINED_START_NONE 0xffffu
#define HP_CHAINED_SEG_HDR 22u /* dyld_chained_starts_in_segment before page_start[] */
#define HP_CHAINED_TARGET_BITS 36

static int hp_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Page size and pointer format of the input's segments with fixups (they
 * must agree); without any, the machine's page and DYLD_CHAINED_PTR_64, as
 * lld writes them. */
static hp_status hp_chain_format(const hp_image *img, const hp_macho *m, const uint8_t *b,
                                 uint32_t size, uint32_t starts, uint32_t nseg, hp_macho_chain *c)
{
    c->page_size = (uint16_t)m->page;
    c->format = HP_CHAINED_PTR_64;
    bool seen = false;
    for (uint32_t i = 0; i < nseg; i++) {
        uint32_t v = hp_rd32(b + starts + 4 + 4 * i);
        if (!v)
            continue;
        if (v > size - starts || size - starts - v < HP_CHAINED_SEG_HDR)
            return hp_image_bad(img, "chained fixups: the starts of segment %u lie outside the "
                                     "blob", i);
        const uint8_t *s = b + starts + v;
        uint16_t ps = hp_rd16(s + 4), fmt = hp_rd16(s + 6);
        if (seen && (ps != c->page_size || fmt != c->format))
            return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                                   "chained fixups: segments use different page sizes or "
                                   "pointer formats (%u/0x%x and %u/0x%x)", c->format,
                                   c->page_size, fmt, ps);
        c->page_size = ps;
        c->format = fmt;
        seen = true;
    }
    if (c->format != HP_CHAINED_PTR_64 && c->format != HP_CHAINED_PTR_64_OFFSET)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                               "chained fixups use pointer format %u; hookpatch adds pointers "
                               "only in formats 2 (DYLD_CHAINED_PTR_64) and 6 "
                               "(DYLD_CHAINED_PTR_64_OFFSET)", c->format);
    if (c->page_size != 0x1000 && c->page_size != 0x4000)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                               "chained fixups use page size 0x%x (0x1000 or 0x4000 expected)",
                               c->page_size);
    return HP_OK;
}

/* Sort the pointer slots and check each can hold a chained rebase. */
static hp_status hp_chain_slots(const hp_image *img, hp_macho_chain *c)
{
    c->sorted = hp_calloc(c->nptrs, sizeof *c->sorted);
    if (!c->sorted)
        return HP_ERR_NOMEM;
    memcpy(c->sorted, c->ptrs, c->nptrs * sizeof *c->sorted);
    qsort(c->sorted, c->nptrs, sizeof *c->sorted, hp_cmp_u64);
    size_t n = 0;
    for (size_t i = 0; i < c->nptrs; i++) {
        uint64_t va = c->sorted[i];
        if (n && c->sorted[n - 1] == va)
            continue; /* the same slot named twice */
        if (va < c->data_va || va - c->data_va > c->data_filesize ||
            c->data_filesize - (va - c->data_va) < 8)
            return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                                   "absolute pointer at 0x%llx is outside the new data "
                                   "segment's file bytes; chained fixups cannot rebase it",
                                   (unsigned long long)va);
        if (va % 8)
            return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                                   "absolute pointer at 0x%llx is not 8-byte aligned; chained "
                                   "fixups (LC_DYLD_CHAINED_FIXUPS) rebase only aligned pointer "
                                   "slots: align the pointer in the mock's data",
                                   (unsigned long long)va);
        c->sorted[n++] = va;
    }
    c->nsorted = n;
    return HP_OK;
}

/* The new data segment's dyld_chained_starts_in_segment (size bytes). */
static void hp_chain_put_starts(const hp_macho_chain *c, uint32_t npages, uint8_t *s)
{
    hp_wr32(s, HP_CHAINED_SEG_HDR + 2 * npages);
    hp_wr16(s + 4, c->page_size);
    hp_wr16(s + 6, c->format);
    hp_wr64(s + 8, c->data_va - c->hdr_va); /* segment_offset */
    hp_wr32(s + 16, 0);                     /* max_valid_pointer: 32-bit formats only */
    hp_wr16(s + 20, (uint16_t)npages);
    for (uint32_t p = 0; p < npages; p++)
        hp_wr16(s + 22 + 2 * p, HP_CHAINED_START_NONE);
    for (size_t i = c->nsorted; i-- > 0;) { /* backwards: each page ends with its first */
        uint64_t off = c->sorted[i] - c->data_va;
        hp_wr16(s + 22 + 2 * (off / c->page_size), (uint16_t)(off % c->page_size));
    }
}

/* Copy the payload b[0, size) with the table grown by nnew entries at
 * index at and `extra` bytes (a multiple of 8) inserted behind it. */
static hp_status hp_chain_copy(const uint8_t *b, uint32_t size, uint32_t starts, uint32_t nseg,
                               uint32_t at, uint32_t nnew, uint32_t ins, hp_buf *out)
{
    uint32_t table_end = starts + 4 + 4 * nseg;
    HP_CHECK(hp_buf_append(out, b, starts + 4 + 4 * at));
    HP_CHECK(hp_buf_append_zeros(out, 4 * nnew));
    HP_CHECK(hp_buf_append(out, b + starts + 4 + 4 * at, 4 * (nseg - at)));
    HP_CHECK(hp_buf_append_zeros(out, ins - 4 * nnew));
    HP_CHECK(hp_buf_append(out, b + table_end, size - table_end));
    uint8_t *n = out->data;
    hp_wr32(n + starts, nseg + nnew);
    for (uint32_t i = 0; i < nseg + nnew; i++) {
        uint32_t v = hp_rd32(n + starts + 4 + 4 * i);
        if (v)
            hp_wr32(n + starts + 4 + 4 * i, v + ins);
    }
    for (int f = 8; f <= 12; f += 4) /* imports_offset, symbols_offset */
        if (hp_rd32(n + f) >= table_end)
            hp_wr32(n + f, hp_rd32(n + f) + ins);
    return hp_buf_align(out, 8, 0);
}

hp_status hp_macho_chain_build(const hp_image *img, const hp_macho *m, const uint8_t *slice,
                               hp_macho_chain *c)
{
    const uint8_t *lc = slice + m->chained_lc;
    uint32_t off = hp_rd32(lc + 8), size = hp_rd32(lc + 12);
    const uint8_t *b = slice + off;
    if (size < 28 || hp_rd32(b + 4) > size - 4)
        return hp_image_bad(img, "malformed chained fixups header");
    uint32_t starts = hp_rd32(b + 4), nseg = hp_rd32(b + starts);
    if (nseg > (size - starts - 4) / 4)
        return hp_image_bad(img, "chained fixups: seg_count overruns the blob");
    uint32_t at = (uint32_t)m->linkedit < nseg ? (uint32_t)m->linkedit : nseg;
    uint32_t table_end = starts + 4 + 4 * nseg;
    uint32_t ins = (uint32_t)hp_align_up(4 * c->nnew, 8), spos = 0, npages = 0;
    if (c->nptrs) {
        if (nseg != m->nsegs)
            return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                                   "chained fixups list %u segments, the binary has %zu; cannot "
                                   "add the new segment's pointers", nseg, m->nsegs);
        HP_CHECK(hp_chain_format(img, m, b, size, starts, nseg, c));
        HP_CHECK(hp_chain_slots(img, c));
        uint64_t pages = (c->data_vmsize + c->page_size - 1) / c->page_size;
        if (pages > 0xffff || (c->format == HP_CHAINED_PTR_64_OFFSET && c->data_va < c->hdr_va))
            return hp_image_refuse(img, HP_ERR_RANGE,
                                   "the new data segment cannot be described in chained fixups");
        npages = (uint32_t)pages;
        spos = (uint32_t)hp_align_up(table_end + 4 * c->nnew, 8);
        ins = (uint32_t)hp_align_up(spos + HP_CHAINED_SEG_HDR + 2 * npages - table_end, 8);
    }
    HP_CHECK(hp_chain_copy(b, size, starts, nseg, at, c->nnew, ins, &c->blob));
    if (c->nptrs) {
        hp_chain_put_starts(c, npages, c->blob.data + spos);
        hp_wr32(c->blob.data + starts + 4 + 4 * at, spos - starts);
    }
    return HP_OK;
}

/* The chained rebase for the pointer value v (unslid) in slot format. */
static bool hp_chain_encode_one(const hp_macho_chain *c, uint64_t v, uint64_t next, uint64_t *out)
{
    uint64_t high8 = v >> 56, low = v & 0x00ffffffffffffffull;
    if (c->format == HP_CHAINED_PTR_64_OFFSET) {
        if (low < c->hdr_va)
            return false;
        low -= c->hdr_va;
    }
    if (low >> HP_CHAINED_TARGET_BITS)
        return false;
    *out = low | high8 << 36 | next << 51;
    return true;
}

hp_status hp_macho_chain_encode(const hp_image *img, const hp_macho_chain *c, uint8_t *seg)
{
    for (size_t i = 0; i < c->nsorted; i++) {
        uint64_t off = c->sorted[i] - c->data_va, next = 0, enc;
        if (i + 1 < c->nsorted) {
            uint64_t noff = c->sorted[i + 1] - c->data_va;
            if (noff / c->page_size == off / c->page_size)
                next = (noff - off) / 4; /* < 4096: both in one page, 8-aligned */
        }
        uint64_t v = hp_rd64(seg + off);
        if (!hp_chain_encode_one(c, v, next, &enc))
            return hp_image_refuse(img, HP_ERR_RANGE,
                                   "absolute pointer at 0x%llx holds 0x%llx, which a chained "
                                   "rebase (36-bit target) cannot express",
                                   (unsigned long long)c->sorted[i], (unsigned long long)v);
        hp_wr64(seg + off, enc);
    }
    return HP_OK;
}

void hp_macho_chain_free(hp_macho_chain *c)
{
    hp_buf_free(&c->blob);
    hp_free(c->sorted);
    c->sorted = NULL;
}
