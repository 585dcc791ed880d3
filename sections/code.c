/* Code ranges and function starts (see code.h). */
#include "code.h"

#include "format.h"

#include <stdlib.h>
#include <string.h>

hp_status hp_code_add_range(hp_code_map *m, uint64_t va, uint64_t size)
{
    HP_CHECK(HP_GROW(m->ranges, m->ranges_cap, m->nranges + 1));
    m->ranges[m->nranges++] = (hp_code_range){va, size};
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

static hp_status hp_code_fill(const hp_image *img, hp_code_map *m)
{
    if (img->fmt && img->fmt->code)
        HP_CHECK(img->fmt->code(img, m));
    hp_code_tidy_ranges(img, m);
    if (!m->nranges) {
        m->nstarts = 0; /* a backend's starts go with its ranges */
        for (size_t i = 0; i < img->nsegs; i++)
            if (img->segs[i].prot & HP_PROT_X)
                HP_CHECK(hp_code_add_range(m, img->segs[i].va, img->segs[i].file_size));
        hp_code_tidy_ranges(img, m);
    }
    for (size_t i = 0; i < img->nsyms; i++)
        if (img->syms[i].kind == HP_SYM_FUNC && img->syms[i].source != HP_SRC_PLT)
            HP_CHECK(hp_code_add_start(m, img->syms[i].va));
    hp_u64_sort_unique(m->starts, &m->nstarts);
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
    memset(m, 0, sizeof *m);
}
