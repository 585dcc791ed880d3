/* Cross-function branch targets (see xref.h). */
#include "xref.h"

#include "../relocs/x86.h"

#include <stdlib.h>
#include <string.h>

static int hp_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct hp_xscan {
    const hp_image *img;
    const hp_symbol *fn;
    hp_xrefs *out;
} hp_xscan;

static hp_status hp_xrefs_add(void *vctx, uint64_t insn_va, uint64_t t)
{
    hp_xscan *c = vctx;
    const hp_symbol *s = c->fn;
    bool inside = t >= s->va && t - s->va < s->size;
    if (t == s->va || (!inside && (hp_image_sym_at(c->img, t) || !hp_image_owned(c->img, t))))
        return HP_OK; /* a function's start, or outside every function */
    HP_CHECK(HP_GROW(c->out->v, c->out->cap, c->out->n + 1));
    c->out->v[c->out->n++] = t;
    return HP_OK;
}

static hp_status hp_xrefs_scan_fn(const hp_image *img, const hp_symbol *s, hp_xrefs *out)
{
    const uint8_t *p = hp_image_bytes(img, s->va, s->size);
    if (!p || s->va + s->size < s->va)
        return HP_OK;
    hp_xscan c = {img, s, out};
    uint64_t ok = 0;
    HP_CHECK(hp_x86_branches(p, s->size, s->va, hp_xrefs_add, &c, &ok));
    if (ok < s->size) {
        HP_CHECK(HP_GROW(out->bad, out->bad_cap, out->nbad + 1));
        HP_CHECK(HP_GROW(out->bad_at, out->bad_at_cap, out->nbad + 1));
        out->bad[out->nbad] = s->va;
        out->bad_at[out->nbad++] = s->va + ok;
    }
    return HP_OK;
}

uint64_t hp_xrefs_bad_at(const hp_xrefs *x, uint64_t fn_va)
{
    size_t a = 0, b = x->nbad;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (x->bad[mid] < fn_va)
            a = mid + 1;
        else
            b = mid;
    }
    return a < x->nbad && x->bad[a] == fn_va ? x->bad_at[a] : 0;
}

hp_status hp_xrefs_build(const hp_image *img, hp_xrefs *out)
{
    uint64_t last_va = UINT64_MAX;
    for (size_t i = 0; i < img->nsyms; i++) {
        const hp_symbol *s = &img->syms[i];
        if (s->kind != HP_SYM_FUNC || s->source == HP_SRC_PLT || s->va == last_va)
            continue;
        last_va = s->va;
        HP_CHECK(hp_xrefs_scan_fn(img, s, out));
    }
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, hp_u64_cmp);
    size_t w = 0;
    for (size_t r = 0; r < out->n; r++)
        if (!w || out->v[w - 1] != out->v[r])
            out->v[w++] = out->v[r];
    out->n = w;
    return HP_OK;
}

bool hp_xrefs_any_in(const hp_xrefs *x, uint64_t lo, uint64_t hi)
{
    if (!x)
        return false;
    size_t a = 0, b = x->n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (x->v[mid] <= lo)
            a = mid + 1;
        else
            b = mid;
    }
    return a < x->n && x->v[a] < hi;
}

void hp_xrefs_free(hp_xrefs *x)
{
    hp_free(x->v);
    hp_free(x->bad);
    hp_free(x->bad_at);
    memset(x, 0, sizeof *x);
}
