/* Inlining diagnosis. Go: one pass over every function's inline tree in
 * the pclntab. C/C++: one pass over DWARF's DW_TAG_inlined_subroutine
 * entries. Either collects, for each hooked name, the functions it was
 * inlined into. */
#include "inline.h"

#include "../sections/debug/dwarf.h"
#include "../sections/debug/gopclntab.h"

#include <stdlib.h>
#include <string.h>

#define HP_INLINE_SHOWN 5

typedef struct hp_inl_site {
    size_t target;     /* index into the sorted target names */
    const char *where; /* the function holding the inlined copy */
    uint32_t sites;
} hp_inl_site;

typedef struct hp_inl_ctx {
    const char **names; /* hooked target names, sorted, unique */
    size_t nnames;
    const char *where;
    hp_inl_site *v;
    size_t n, cap;
    hp_status st;
} hp_inl_ctx;

static int hp_strp_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void hp_inl_found(void *vctx, const char *callee, uint32_t sites)
{
    hp_inl_ctx *c = vctx;
    const char **hit = bsearch(&callee, c->names, c->nnames, sizeof *c->names, hp_strp_cmp);
    if (!hit || c->st != HP_OK)
        return;
    c->st = HP_GROW(c->v, c->cap, c->n + 1);
    if (c->st == HP_OK)
        c->v[c->n++] = (hp_inl_site){(size_t)(hit - c->names), c->where, sites};
}

static hp_status hp_inl_collect(const hp_gotab *t, hp_inl_ctx *c)
{
    for (uint64_t i = 0; i < t->nfuncs && c->st == HP_OK; i++) {
        hp_gofunc f;
        if (hp_gotab_func(t, i, &f) != HP_OK)
            continue;
        c->where = f.name;
        hp_status s = hp_gotab_inlined(t, i, hp_inl_found, c);
        if (s == HP_ERR_UNSUPPORTED)
            return s;
    }
    return c->st;
}

static hp_status hp_inl_names(const hp_plan *p, hp_inl_ctx *c)
{
    c->names = hp_calloc(p->n + 1, sizeof *c->names);
    if (!c->names)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED)
            c->names[c->nnames++] = p->v[i].target->name;
    qsort(c->names, c->nnames, sizeof *c->names, hp_strp_cmp);
    size_t w = 0;
    for (size_t r = 0; r < c->nnames; r++)
        if (!w || strcmp(c->names[w - 1], c->names[r]))
            c->names[w++] = c->names[r];
    c->nnames = w;
    return HP_OK;
}

static const hp_hook *hp_inl_hook_for(const hp_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED && !strcmp(p->v[i].target->name, name))
            return &p->v[i];
    return NULL;
}

/* One diagnostic per target, naming the first few functions. */
static void hp_inl_report(const hp_plan *p, const hp_inl_ctx *c, size_t target, hp_diags *d)
{
    char list[1024] = "";
    size_t nwhere = 0, total = 0, len = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].target != target)
            continue;
        total += c->v[i].sites;
        if (nwhere++ < HP_INLINE_SHOWN && len < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s (%u site%s)",
                                    nwhere > 1 ? ", " : "", c->v[i].where, c->v[i].sites,
                                    c->v[i].sites == 1 ? "" : "s");
    }
    if (!nwhere)
        return;
    if (nwhere > HP_INLINE_SHOWN && len < sizeof list)
        snprintf(list + len, sizeof list - len, " and %zu more functions",
                 nwhere - HP_INLINE_SHOWN);
    const hp_hook *h = hp_inl_hook_for(p, c->names[target]);
    hp_diag_add_flagged(d, HP_DIAG_MAY_NOT_TAKE_EFFECT, &h->req->target_loc, NULL,
                        "%s is inlined into %s; those calls are not redirected — rebuild "
                        "with %s",
                        c->names[target], list,
                        p->img->pclntab ? "-gcflags=all=-l" : "-fno-inline (or mark it noinline)");
    (void)total;
}

static void hp_inl_dwarf_found(void *vctx, const char *callee, const char *caller,
                               uint32_t sites)
{
    hp_inl_ctx *c = vctx;
    c->where = caller;
    hp_inl_found(c, callee, sites);
}

/* Go images use the pclntab; others DWARF, when they carry it. */
static hp_status hp_inl_gather(hp_plan *p, hp_inl_ctx *c, hp_diags *d)
{
    hp_gotab t;
    if (hp_go_table(p->img, &t) == HP_OK) {
        hp_status s = hp_inl_collect(&t, c);
        if (s == HP_ERR_UNSUPPORTED)
            hp_diag_add(d, HP_DIAG_NOTE, &(hp_loc){p->img->path, 0, 0}, NULL,
                        "Go inline trees could not be located; inlined copies of targets "
                        "are not reported");
        return s;
    }
    char why[256] = "";
    hp_status s = hp_dwarf_inlined(p->img, hp_inl_dwarf_found, c, why, sizeof why);
    if (s == HP_ERR_FORMAT)
        hp_diag_add(d, HP_DIAG_NOTE, &(hp_loc){p->img->path, 0, 0}, NULL,
                    "debug information is damaged (%s); inlined copies may be missed", why);
    return s == HP_ERR_NOMEM ? s : c->st;
}

hp_status hp_inline_check(hp_plan *p, hp_diags *d)
{
    if (!p->nplanned)
        return HP_OK;
    hp_inl_ctx c = {0};
    hp_status s = hp_inl_names(p, &c);
    if (s == HP_OK)
        s = hp_inl_gather(p, &c, d);
    for (size_t i = 0; s == HP_OK && i < c.nnames; i++)
        hp_inl_report(p, &c, i, d);
    hp_free(c.names);
    hp_free(c.v);
    if (s == HP_ERR_UNSUPPORTED || s == HP_ERR_FORMAT)
        s = HP_OK;
    return s;
}

typedef struct hp_inl_find {
    const char *name;
    const char *where;
    uint32_t sites;
} hp_inl_find;

static void hp_inl_find_cb(void *vctx, const char *callee, uint32_t sites)
{
    hp_inl_find *f = vctx;
    if (!strcmp(callee, f->name))
        f->sites += sites;
}

bool hp_inline_explain_missing(const hp_image *img, const hp_hook_req *req, hp_diags *d)
{
    hp_gotab t;
    if (req->target_kind != HP_TGT_NAME || hp_go_table(img, &t) != HP_OK)
        return false;
    hp_inl_find f = {req->target, NULL, 0};
    for (uint64_t i = 0; i < t.nfuncs; i++) {
        hp_gofunc g;
        uint32_t before = f.sites;
        if (hp_gotab_func(&t, i, &g) != HP_OK ||
            hp_gotab_inlined(&t, i, hp_inl_find_cb, &f) == HP_ERR_UNSUPPORTED)
            return false;
        if (f.sites > before && !f.where)
            f.where = g.name;
    }
    if (!f.sites)
        return false;
    hp_diag_add(d, HP_DIAG_ERROR, &req->target_loc, req->target,
                "%s has no out-of-line copy: it was inlined at every call (%u sites, e.g. in "
                "%s); rebuild with -gcflags=all=-l", req->target, f.sites, f.where);
    return true;
}
