/* Code ranges and function starts (see code.h).
 *
 * What to scan. A branch into a hooked entry can come from any byte the
 * loader executes: every file-backed byte of every executable segment
 * (PT_LOAD with PF_X, a PE section with MEM_EXECUTE, a Mach-O segment with
 * initprot X). Section flags are claims the loader never reads: clearing
 * SHF_EXECINSTR on .text leaves the program running, and scanning only the
 * flagged sections would then miss every branch in it. So the segments
 * are the ground truth, and the section table only narrows them: a range
 * a backend calls data (a section with no instruction flag, the file
 * headers) is skipped only when no function starts inside it, neither a
 * symbol nor an unwind-table entry (.eh_frame_hdr, .pdata,
 * LC_FUNCTION_STARTS). Real data sections (.rodata, .eh_frame, .dynsym,
 * .rela.dyn, __cstring) hold no function, so libLLVM's scan stays at its
 * 50 MB of .text instead of the 102 MB segment; a .text stripped of its
 * flag still holds functions and is scanned. What this leaves out is code
 * that nothing names (no symbol, no unwind entry) in a section whose flags
 * say data: unwind-less stripped code that was also mislabelled. */
#include "code.h"

#include "format.h"

#include <stdlib.h>
#include <string.h>

static hp_status hp_code_add_range(hp_code_map *m, uint64_t va, uint64_t size)
{
    HP_CHECK(HP_GROW(m->ranges, m->ranges_cap, m->nranges + 1));
    m->ranges[m->nranges++] = (hp_code_range){va, size};
    return HP_OK;
}

hp_status hp_code_add_data(hp_code_map *m, uint64_t va, uint64_t size)
{
    if (size > UINT64_MAX - va)
        size = UINT64_MAX - va; /* a hostile header: clip, it only narrows a skip */
    if (!size)
        return HP_OK;
    HP_CHECK(HP_GROW(m->data, m->data_cap, m->ndata + 1));
    m->data[m->ndata++] = (hp_code_range){va, size};
    return HP_OK;
}

hp_status hp_code_add_file_data(const hp_image *img, hp_code_map *m, uint64_t off,
                                uint64_t size)
{
    for (size_t i = 0; i < img->nsegs; i++) {
        const hp_segment *s = &img->segs[i];
        uint64_t lo = off > s->file_off ? off : s->file_off;
        uint64_t hi = s->file_off + s->file_size;
        if (size < UINT64_MAX - off && off + size < hi)
            hi = off + size;
        if (lo < hi)
            HP_CHECK(hp_code_add_data(m, s->va + (lo - s->file_off), hi - lo));
    }
    return HP_OK;
}

hp_status hp_code_add_start(hp_code_map *m, uint64_t va)
{
    HP_CHECK(HP_GROW(m->starts, m->starts_cap, m->nstarts + 1));
    m->starts[m->nstarts++] = va;
    return HP_OK;
}

static int hp_range_cmp(const void *a, const void *b)
{
    const hp_code_range *x = a, *y = b;
    return x->va < y->va ? -1 : x->va > y->va;
}

hp_status hp_code_add_eh(hp_code_map *m, uint64_t va, uint64_t size)
{
    HP_CHECK(HP_GROW(m->eh, m->eh_cap, m->neh + 1));
    m->eh[m->neh++] = (hp_code_range){va, size};
    return HP_OK;
}

bool hp_code_eh_overlaps(const hp_code_map *m, uint64_t lo, uint64_t hi)
{
    if (!m->eh_known)
        return true;
    size_t a = 0, b = m->neh; /* the first range starting at or above hi */
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (m->eh[mid].va < hi)
            a = mid + 1;
        else
            b = mid;
    }
    /* Ranges do not nest deeply: look back over the few that start below. */
    for (size_t k = 0; a > 0 && k < 64; k++) {
        const hp_code_range *r = &m->eh[--a];
        if (r->va + r->size > lo)
            return true;
    }
    return false;
}

/* Keep the file-backed part of each range inside one segment; sort; merge
 * overlaps so that a byte is scanned once. */
static void hp_code_tidy_ranges(const hp_image *img, hp_code_map *m)
{
    size_t w = 0;
    for (size_t r = 0; r < m->nranges; r++) {
        hp_code_range c = m->ranges[r];
        const hp_segment *seg = hp_image_segment_at(img, c.va);
        if (!seg || !c.size)
            continue;
        uint64_t fsize = seg->file_size < seg->mem_size ? seg->file_size : seg->mem_size;
        uint64_t off = c.va - seg->va;
        if (off >= fsize)
            continue;
        if (c.size > fsize - off)
            c.size = fsize - off;
        if (!hp_image_bytes(img, c.va, c.size))
            continue;
        m->ranges[w++] = c;
    }
    m->nranges = w;
    if (w > 1)
        qsort(m->ranges, w, sizeof *m->ranges, hp_range_cmp);
    w = 0;
    for (size_t r = 0; r < m->nranges; r++) {
        hp_code_range c = m->ranges[r];
        hp_code_range *last = w ? &m->ranges[w - 1] : NULL;
        if (last && c.va < last->va + last->size &&
            hp_image_segment_at(img, c.va) == hp_image_segment_at(img, last->va)) {
            if (c.va + c.size > last->va + last->size)
                last->size = c.va + c.size - last->va;
            continue;
        }
        if (last && c.va < last->va + last->size) { /* overlap across segments: clip */
            uint64_t cut = last->va + last->size - c.va;
            if (cut >= c.size)
                continue;
            c.va += cut;
            c.size -= cut;
        }
        m->ranges[w++] = c;
    }
    m->nranges = w;
}

/* True when a function starts in [va, va + size) (starts are sorted). */
static bool hp_code_has_start(const hp_code_map *m, const hp_code_range *r)
{
    size_t i = r->va ? hp_u64_upper_bound(m->starts, m->nstarts, r->va - 1) : 0;
    return i < m->nstarts && m->starts[i] - r->va < r->size;
}

/* Keep the data ranges that hold no function start; sort and merge them. */
static void hp_code_tidy_data(hp_code_map *m)
{
    size_t w = 0;
    for (size_t i = 0; i < m->ndata; i++)
        if (!hp_code_has_start(m, &m->data[i]))
            m->data[w++] = m->data[i];
    m->ndata = w;
    if (w > 1)
        qsort(m->data, w, sizeof *m->data, hp_range_cmp);
    w = 0;
    for (size_t i = 0; i < m->ndata; i++) {
        hp_code_range c = m->data[i], *last = w ? &m->data[w - 1] : NULL;
        if (last && c.va - last->va <= last->size) { /* touches or overlaps: merge */
            uint64_t end = c.va + c.size > last->va + last->size ? c.va + c.size
                                                                 : last->va + last->size;
            last->size = end - last->va;
            continue;
        }
        m->data[w++] = c;
    }
    m->ndata = w;
}

/* The file-backed bytes of segment s, less the (tidy) data ranges. */
static hp_status hp_code_segment(hp_code_map *m, const hp_segment *s)
{
    uint64_t a = s->va, fsize = s->file_size < s->mem_size ? s->file_size : s->mem_size;
    uint64_t b = fsize > UINT64_MAX - a ? UINT64_MAX : a + fsize, cur = a;
    size_t lo = 0, hi = m->ndata; /* first data range ending above a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->data[mid].va + m->data[mid].size <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < m->ndata && m->data[i].va < b && cur < b; i++) {
        const hp_code_range *d = &m->data[i];
        if (d->va > cur)
            HP_CHECK(hp_code_add_range(m, cur, d->va - cur));
        uint64_t end = d->va + d->size;
        cur = end > cur ? end : cur;
    }
    return cur < b ? hp_code_add_range(m, cur, b - cur) : HP_OK;
}

static hp_status hp_code_fill(const hp_image *img, hp_code_map *m)
{
    if (img->fmt && img->fmt->code)
        HP_CHECK(img->fmt->code(img, m));
    for (size_t i = 0; i < img->nsyms; i++)
        if (img->syms[i].kind == HP_SYM_FUNC && img->syms[i].source != HP_SRC_PLT)
            HP_CHECK(hp_code_add_start(m, img->syms[i].va));
    hp_u64_sort_unique(m->starts, &m->nstarts);
    hp_code_tidy_data(m);
    if (m->neh)
        qsort(m->eh, m->neh, sizeof *m->eh, hp_range_cmp);
    for (size_t i = 0; i < img->nsegs; i++)
        if (img->segs[i].prot & HP_PROT_X)
            HP_CHECK(hp_code_segment(m, &img->segs[i]));
    hp_code_tidy_ranges(img, m);
    hp_free(m->data);
    m->data = NULL;
    m->ndata = m->data_cap = 0;
    return HP_OK;
}

hp_status hp_image_code(const hp_image *img, hp_code_map *out)
{
    memset(out, 0, sizeof *out);
    hp_status s = hp_code_fill(img, out);
    if (s != HP_OK)
        hp_code_map_free(out);
    return s;
}

void hp_code_map_free(hp_code_map *m)
{
    hp_free(m->ranges);
    hp_free(m->starts);
    hp_free(m->data);
    hp_free(m->eh);
    memset(m, 0, sizeof *m);
}
