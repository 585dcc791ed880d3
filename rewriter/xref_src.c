/* Sources of a few function entries (xref.h, hp_xsrcs): a full decode of
 * the code plus a read of the loaded data, serial. */
#include "xref.h"

#include "../relocs/arch.h"
#include "../sections/code.h"

#include <stdlib.h>
#include <string.h>

typedef struct hp_xsrc_scan {
    const hp_image *img;
    const hp_arch *arch;
    const uint64_t *ent; /* sorted, unique */
    size_t nent;
    uint32_t *low; /* the entries' low 32 bits, sorted: the immediate filter */
    size_t nlow;
    hp_xsrcs *out;
    const hp_code_map *code;
} hp_xsrc_scan;

static bool hp_xsrc_is_entry(const hp_xsrc_scan *s, uint64_t va)
{
    size_t i = hp_u64_upper_bound(s->ent, s->nent, va);
    return i && s->ent[i - 1] == va;
}

static hp_status hp_xsrc_add(hp_xsrc_scan *s, const hp_xsrc *src)
{
    HP_CHECK(HP_GROW(s->out->v, s->out->cap, s->out->n + 1));
    s->out->v[s->out->n++] = *src;
    return HP_OK;
}

static int hp_u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether a 4-byte window of the instruction holds an entry's low half:
 * the only instructions worth a second, full look for an immediate. */
static bool hp_xsrc_may_hold(const hp_xsrc_scan *s, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++) {
        uint32_t w = hp_rd32(p + i);
        if (bsearch(&w, s->low, s->nlow, sizeof w, hp_u32_cmp))
            return true;
    }
    return false;
}

/* The instruction in at p, with before bytes of its run before it and n
 * from it. */
static hp_status hp_xsrc_insn(hp_xsrc_scan *s, const uint8_t *p, size_t before, size_t n,
                              const hp_insn *in)
{
    bool branch = in->kind == HP_INSN_CALL || in->kind == HP_INSN_JMP ||
                  in->kind == HP_INSN_JCC || in->kind == HP_INSN_LOOP;
    if (branch && in->has_target && !in->rip_rel) {
        if (!hp_xsrc_is_entry(s, in->target_va))
            return HP_OK;
        return hp_xsrc_add(s, &(hp_xsrc){in->va, in->target_va, in->len, HP_XSRC_BRANCH, {0}});
    }
    if (!s->arch->addr_ref)
        return HP_OK;
    bool pc = in->rip_rel && in->has_target && hp_xsrc_is_entry(s, in->mem_va);
    if (!pc && !s->arch->addr_ref_all && !hp_xsrc_may_hold(s, p, in->len))
        return HP_OK;
    hp_addr_ref r;
    if (!s->arch->addr_ref(p, before, n, in->va, &r) || !hp_xsrc_is_entry(s, r.addr) ||
        r.back > before)
        return HP_OK;
    uint8_t kind = r.kind == HP_REF_PCADDR ? HP_XSRC_PCADDR : HP_XSRC_ABS;
    uint8_t len = r.len ? r.len : in->len;
    return hp_xsrc_add(s, &(hp_xsrc){in->va - r.back, r.addr, len, kind, r});
}

/* Decode [va, end) linearly; stop at the first byte that does not decode
 * (the next function start resumes). */
static hp_status hp_xsrc_region(hp_xsrc_scan *s, uint64_t va, uint64_t end)
{
    const uint8_t *p = hp_image_bytes(s->img, va, end - va);
    if (!p)
        return HP_OK;
    for (uint64_t at = va; at < end;) {
        hp_insn in;
        if (s->arch->decode(p + (at - va), (size_t)(end - at), at, &in) != HP_OK || !in.len)
            break;
        HP_CHECK(hp_xsrc_insn(s, p + (at - va), (size_t)(at - va), (size_t)(end - at), &in));
        at += in.len;
    }
    return HP_OK;
}

static hp_status hp_xsrc_code(hp_xsrc_scan *s)
{
    const hp_code_map *m = s->code;
    hp_status st = HP_OK;
    for (size_t i = 0; st == HP_OK && i < m->nranges; i++) {
        const hp_code_range *r = &m->ranges[i];
        uint64_t end = r->va + r->size, va = r->va;
        size_t k = hp_u64_upper_bound(m->starts, m->nstarts, va);
        while (st == HP_OK && va < end) {
            uint64_t next = k < m->nstarts && m->starts[k] < end ? m->starts[k++] : end;
            if (next > va)
                st = hp_xsrc_region(s, va, next);
            va = next > va ? next : va;
            if (next == end)
                break;
        }
    }
    return st;
}

/* Where the code map's range holding the word at va ends (va when it is
 * in none); *k: a cursor over the sorted ranges, for ascending va. */
static uint64_t hp_xsrc_code_end(const hp_code_map *m, size_t *k, uint64_t va)
{
    while (*k < m->nranges && m->ranges[*k].va + m->ranges[*k].size <= va)
        (*k)++;
    if (*k < m->nranges && m->ranges[*k].va < va + 8)
        return m->ranges[*k].va + m->ranges[*k].size;
    return va;
}

/* Aligned 8-byte words of the loaded file bytes that are not code: the
 * non-executable segments, and the parts of executable ones the code map
 * leaves out (read-only data an older link put in the text segment). */
static hp_status hp_xsrc_data(hp_xsrc_scan *s)
{
    for (size_t i = 0; i < s->img->nsegs; i++) {
        const hp_segment *g = &s->img->segs[i];
        bool x = g->prot & HP_PROT_X;
        uint64_t va = (g->va + 7) & ~(uint64_t)7, end = g->va + g->file_size;
        const uint8_t *p = end > va ? hp_image_bytes(s->img, va, end - va) : NULL;
        size_t k = 0;
        for (uint64_t o = 0; p && o + 8 <= end - va; o += 8) {
            uint64_t ce = x ? hp_xsrc_code_end(s->code, &k, va + o) : va + o;
            if (ce > va + o) { /* code: go on at the first word after it */
                o = ((ce + 7) & ~(uint64_t)7) - va - 8;
                continue;
            }
            uint64_t w = hp_rd64(p + o);
            if (hp_xsrc_is_entry(s, w))
                HP_CHECK(hp_xsrc_add(s, &(hp_xsrc){va + o, w, 8, HP_XSRC_DATA, {0}}));
        }
    }
    return HP_OK;
}

static int hp_xsrc_cmp(const void *a, const void *b)
{
    const hp_xsrc *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

hp_status hp_xsrcs_build(const hp_image *img, const uint64_t *entries, size_t n, hp_xsrcs *out)
{
    memset(out, 0, sizeof *out);
    hp_xsrc_scan s = {.img = img, .arch = hp_arch_for(img), .out = out};
    uint64_t *ent = hp_malloc((n ? n : 1) * sizeof *ent);
    s.low = hp_malloc((n ? n : 1) * sizeof *s.low);
    hp_status st = ent && s.low ? HP_OK : HP_ERR_NOMEM;
    for (size_t i = 0; st == HP_OK && i < n; i++)
        if (entries[i])
            ent[s.nent++] = entries[i];
    if (st == HP_OK) {
        hp_u64_sort_unique(ent, &s.nent);
        s.ent = ent;
        for (size_t i = 0; i < s.nent; i++)
            s.low[s.nlow++] = (uint32_t)ent[i];
        qsort(s.low, s.nlow, sizeof *s.low, hp_u32_cmp);
    }
    hp_code_map m = {0};
    if (st == HP_OK && s.nent) {
        st = hp_image_code(img, &m);
        s.code = &m;
    }
    if (st == HP_OK && s.nent)
        st = hp_xsrc_code(&s);
    if (st == HP_OK && s.nent)
        st = hp_xsrc_data(&s);
    hp_code_map_free(&m);
    if (st == HP_OK && out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, hp_xsrc_cmp);
    hp_free(ent);
    hp_free(s.low);
    if (st != HP_OK)
        hp_xsrcs_free(out);
    return st;
}

size_t hp_xsrcs_first(const hp_xsrcs *x, uint64_t entry)
{
    size_t a = 0, b = x->n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (x->v[m].target < entry)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

void hp_xsrcs_free(hp_xsrcs *x)
{
    hp_free(x->v);
    memset(x, 0, sizeof *x);
}
