/* Inlining diagnosis. Go: one pass over every function's inline tree in
 * the pclntab. C/C++: one pass over DWARF's DW_TAG_inlined_subroutine
 * entries. Either collects, for each hooked name, the functions it was
 * inlined into.
 *
 * Go leaves no inline-tree entry for a call it inlined and then folded
 * away (Small(1) becoming 2), so a Go target can be inlined with no trace
 * in the trees. What remains to go on is the code: a small target that no
 * direct call or jump reaches any more (one scan of the image's branches,
 * rewriter/xref.c) was most likely inlined at its calls by name. Go's
 * linker drops a function nothing reaches, so such a target is still in
 * the binary because something holds its address (a func value, an itab);
 * those calls are redirected, and the warning says so when a word of the
 * image holds the entry. Only where the trees show that the compiler
 * inlined (so never in a -gcflags=all=-l build), and only for functions
 * Go source can call by name.
 *
 * A glob that matches many inlined targets gets one line; -v
 * (hp_options.verbose) lists them as notes. */
#include "inline.h"
#include "xref.h"

#include "../sections/debug/dwarf.h"
#include "../sections/debug/gopclntab.h"

#include <stdlib.h>
#include <string.h>

#define HP_INLINE_SHOWN 5

/* The largest Go function, in bytes of code, taken for possibly inlined
 * when no direct call to it remains. Go's inliner works on a budget of 80
 * syntax nodes, not bytes; measured on a program importing encoding/json,
 * net/http, regexp and text/template, the out-of-line copies of the
 * functions `-gcflags=-m` calls inlinable are at most 368 bytes for 99% of
 * them with Go 1.19 (95%: 280) and 689 with Go 1.26 (95%: 314; 98%: 512).
 * The rest are closures and methods that grew from what was inlined into
 * them. A larger bound would add functions reached only through func
 * values and interfaces, which need no warning. */
#define HP_INLINE_GO_MAX_SIZE 512

/* What was found about one target name. */
typedef enum hp_inl_kind {
    HP_INL_NONE,
    HP_INL_TREE,    /* in an inline tree (or DWARF): the functions are named */
    HP_INL_NO_CALL, /* Go: small, and no direct call reaches its entry */
} hp_inl_kind;

typedef struct hp_inl_verdict {
    uint8_t kind;    /* hp_inl_kind */
    bool addr_taken; /* HP_INL_NO_CALL: a data word holds the entry */
    bool reported;
} hp_inl_verdict;

typedef struct hp_inl_site {
    size_t target;     /* index into the sorted target names */
    const char *where; /* the function holding the inlined copy */
    uint32_t sites;
} hp_inl_site;

typedef struct hp_inl_ctx {
    const char **names; /* hooked target names, sorted, unique */
    size_t nnames;
    hp_inl_verdict *verdict; /* per name */
    uint64_t inlined;        /* inlined call sites seen, of any function */
    const char *where;
    hp_inl_site *v;
    size_t n, cap;
    hp_status st;
} hp_inl_ctx;

static int hp_strp_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The index of name in c->names, or SIZE_MAX. */
static size_t hp_inl_index(const hp_inl_ctx *c, const char *name)
{
    const char **hit = bsearch(&name, c->names, c->nnames, sizeof *c->names, hp_strp_cmp);
    return hit ? (size_t)(hit - c->names) : SIZE_MAX;
}

static void hp_inl_found(void *vctx, const char *callee, uint32_t sites)
{
    hp_inl_ctx *c = vctx;
    c->inlined += sites;
    size_t k = hp_inl_index(c, callee);
    if (k == SIZE_MAX || c->st != HP_OK)
        return;
    c->st = HP_GROW(c->v, c->cap, c->n + 1);
    if (c->st == HP_OK)
        c->v[c->n++] = (hp_inl_site){k, c->where, sites};
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
    c->verdict = hp_calloc(p->n + 1, sizeof *c->verdict);
    if (!c->names || !c->verdict)
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

/* Whether name holds prefix followed by a digit: the "func1", "init.0"
 * parts of compiler-made names. */
static bool hp_inl_numbered(const char *name, const char *prefix)
{
    for (const char *q = strstr(name, prefix); q; q = strstr(q + 1, prefix)) {
        const char *d = q + strlen(prefix);
        if (*d >= '0' && *d <= '9')
            return true;
    }
    return false;
}

/* "pkg/path.T.M" or "pkg/path.(*T).M": a dot after the package's. */
static bool hp_inl_method(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strchr(slash ? slash : name, '.');
    return dot && strchr(dot + 1, '.');
}

/* Functions Go source cannot call by name, so no call by name of them was
 * inlined: main.main and package initialisers (the runtime calls them
 * through tables), closures, method values ("-fm") and the wrappers of
 * defer and go statements (called through func values), the compiler's
 * type algorithms, and assembly (never inlined: an ".abi0" name, or one
 * with no package). */
static bool hp_inl_not_by_name(const char *name)
{
    size_t len = strlen(name);
    const char *dot = strrchr(name, '.');
    if (!dot || !strcmp(name, "main.main") || !strncmp(name, "type:", 5) ||
        !strncmp(name, "type..", 6) || !strncmp(name, "go:", 3) || !strncmp(name, "go.", 3) ||
        (!strcmp(dot, ".init") && !hp_inl_method(name)) || !strcmp(dot, ".abi0") ||
        (len > 3 && !strcmp(name + len - 3, "-fm")))
        return true;
    return hp_inl_numbered(name, ".init.") || hp_inl_numbered(name, ".func") ||
           hp_inl_numbered(name, ".deferwrap") || hp_inl_numbered(name, ".gowrap") ||
           hp_inl_numbered(name, "-range");
}

/* The hooks whose target may have been inlined without a trace in the
 * trees: Go, small, no tree entry. Their entries, sorted (*n of them). */
static hp_status hp_inl_candidates(const hp_plan *p, const hp_inl_ctx *c, uint64_t **out,
                                   size_t *n)
{
    *n = 0;
    *out = hp_malloc((p->n + 1) * sizeof **out);
    if (!*out)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < p->n; i++) {
        const hp_symbol *t = p->v[i].target;
        if (p->v[i].state != HP_HOOK_PLANNED || !t->size || t->size > HP_INLINE_GO_MAX_SIZE ||
            hp_inl_not_by_name(t->name))
            continue;
        size_t k = hp_inl_index(c, t->name);
        if (k != SIZE_MAX && c->verdict[k].kind == HP_INL_NONE)
            (*out)[(*n)++] = t->va;
    }
    hp_u64_sort_unique(*out, n);
    return HP_OK;
}

/* Mark in taken[] the entries (sorted) that a pointer-sized, aligned word
 * of the loaded image holds: a func value, an itab, a relocation's addend.
 * The pclntab is skipped: Go 1.16-1.17 tables hold every entry. */
static void hp_inl_addr_taken(const hp_image *img, const uint64_t *e, size_t n, bool *taken)
{
    uint64_t lo = e[0], hi = e[n - 1];
    uint64_t tab_lo = img->pclntab_va, tab_hi = img->pclntab_va + img->pclntab_size;
    for (size_t i = 0; i < img->nsegs; i++) {
        const hp_segment *g = &img->segs[i];
        uint64_t va = (g->va + 7) & ~(uint64_t)7, end = g->va + g->file_size;
        const uint8_t *b = end > va ? hp_image_bytes(img, va, end - va) : NULL;
        for (uint64_t o = 0; b && o + 8 <= end - va; o += 8) {
            uint64_t w;
            memcpy(&w, b + o, 8); /* x86-64 and arm64 images are little-endian */
            if (w < lo || w > hi || (va + o >= tab_lo && va + o < tab_hi))
                continue;
            size_t k = hp_u64_upper_bound(e, n, w);
            if (k && e[k - 1] == w)
                taken[k - 1] = true;
        }
    }
}

/* Go: the candidates that no direct call or jump reaches (one scan of the
 * image's branches for all of them) become HP_INL_NO_CALL. */
static hp_status hp_inl_no_calls(const hp_plan *p, hp_inl_ctx *c)
{
    uint64_t *e;
    size_t n;
    HP_CHECK(hp_inl_candidates(p, c, &e, &n));
    hp_xrefs x = {0};
    bool *taken = hp_calloc(n + 1, sizeof *taken);
    hp_status s = taken ? HP_OK : HP_ERR_NOMEM;
    if (s == HP_OK && n)
        s = hp_xrefs_build_entries(p->img, e, n, &x);
    size_t w = 0;
    for (size_t i = 0; s == HP_OK && i < n; i++)
        if (!hp_xrefs_reached(&x, e[i]))
            e[w++] = e[i];
    if (s == HP_OK && w)
        hp_inl_addr_taken(p->img, e, w, taken);
    for (size_t i = 0; s == HP_OK && i < p->n; i++) {
        const hp_hook *h = &p->v[i];
        size_t k = h->state == HP_HOOK_PLANNED ? hp_u64_upper_bound(e, w, h->target->va) : 0;
        size_t j = k && e[k - 1] == h->target->va ? hp_inl_index(c, h->target->name) : SIZE_MAX;
        if (j != SIZE_MAX && c->verdict[j].kind == HP_INL_NONE)
            c->verdict[j] = (hp_inl_verdict){HP_INL_NO_CALL, taken[k - 1], false};
    }
    hp_xrefs_free(&x);
    hp_free(taken);
    hp_free(e);
    return s;
}

/* "f is inlined into a (1 site), b (2 sites) and 3 more functions" */
static void hp_inl_where(const hp_inl_ctx *c, size_t target, char *list, size_t cap)
{
    size_t nwhere = 0, len = 0;
    list[0] = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].target != target)
            continue;
        if (nwhere++ < HP_INLINE_SHOWN && len < cap)
            len += (size_t)snprintf(list + len, cap - len, "%s%s (%u site%s)",
                                    nwhere > 1 ? ", " : "", c->v[i].where, c->v[i].sites,
                                    c->v[i].sites == 1 ? "" : "s");
    }
    if (nwhere > HP_INLINE_SHOWN && len < cap)
        snprintf(list + len, cap - len, " and %zu more functions", nwhere - HP_INLINE_SHOWN);
}

static const char *hp_inl_rebuild(const hp_plan *p)
{
    return p->img->pclntab ? "-gcflags=all=-l" : "-fno-inline (or mark it noinline)";
}

/* One target's diagnostic: a warning (flagged: --strict makes it an
 * error), or, listed under a glob's summary, a note. */
static hp_status hp_inl_one(const hp_plan *p, const hp_inl_ctx *c, const hp_hook *h,
                            size_t k, bool note, hp_diags *d)
{
    const char *name = c->names[k];
    const hp_loc *loc = &h->req->target_loc;
    char list[1024];
    char *msg;
    if (c->verdict[k].kind == HP_INL_TREE) {
        hp_inl_where(c, k, list, sizeof list);
        msg = hp_asprintf("%s is inlined into %s; those calls are not redirected — rebuild "
                          "with %s", name, list, hp_inl_rebuild(p));
    } else if (c->verdict[k].addr_taken) {
        /* a method's address is most often in an itab */
        msg = hp_asprintf("no direct call to %s remains; calls through func values %sare "
                          "redirected, but calls by name were probably inlined: rebuild with %s",
                          name, hp_inl_method(name) ? "and interfaces " : "",
                          hp_inl_rebuild(p));
    } else {
        msg = hp_asprintf("no direct call to %s remains: calls by name were probably inlined "
                          "and are not redirected: rebuild with %s", name, hp_inl_rebuild(p));
    }
    if (!msg) {
        d->errors++; /* a lost diagnostic is never silent (hp_diag_add) */
        return HP_ERR_NOMEM;
    }
    hp_status s = note ? hp_diag_add(d, HP_DIAG_NOTE, loc, name, "%s", msg)
                       : hp_diag_add_flagged(d, HP_DIAG_MAY_NOT_TAKE_EFFECT, loc, NULL, "%s", msg);
    hp_free(msg);
    return s;
}

/* A target found inlined, in hook order; grouped by the rule that
 * matched it. */
typedef struct hp_inl_hit {
    const hp_hook *h;
    size_t name; /* index into c->names */
} hp_inl_hit;

static int hp_inl_hit_cmp(const void *a, const void *b)
{
    const hp_inl_hit *x = a, *y = b;
    if (x->h->req != y->h->req) /* requests live in one array: its order */
        return x->h->req < y->h->req ? -1 : 1;
    return x->h < y->h ? -1 : x->h > y->h;
}

/* The hits of one rule, v[0..n): one line each, or for a glob with more
 * than one, one summary line (and with -v each as a note). */
static hp_status hp_inl_group(const hp_plan *p, const hp_inl_ctx *c, const hp_inl_hit *v,
                              size_t n, bool verbose, hp_diags *d)
{
    const hp_hook_req *req = v[0].h->req;
    bool summary = req->target_kind == HP_TGT_GLOB && n > 1, no_call = false;
    for (size_t i = 0; i < n; i++)
        no_call |= c->verdict[v[i].name].kind == HP_INL_NO_CALL;
    if (summary)
        HP_CHECK(hp_diag_add_flagged(d, HP_DIAG_MAY_NOT_TAKE_EFFECT, &req->target_loc, NULL,
                                     "%zu targets matched by '%s' were inlined%s; calls by "
                                     "name are not redirected: rebuild with %s%s",
                                     n, req->target,
                                     no_call ? " or have no direct call left" : "",
                                     hp_inl_rebuild(p), verbose ? "" : "; -v lists them"));
    for (size_t i = 0; i < n && (!summary || verbose); i++)
        HP_CHECK(hp_inl_one(p, c, v[i].h, v[i].name, summary, d));
    return HP_OK;
}

static hp_status hp_inl_report(const hp_plan *p, hp_inl_ctx *c, bool verbose, hp_diags *d)
{
    hp_inl_hit *v = hp_malloc((p->n + 1) * sizeof *v);
    if (!v)
        return HP_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) {
        const hp_hook *h = &p->v[i];
        size_t k = h->state == HP_HOOK_PLANNED ? hp_inl_index(c, h->target->name) : SIZE_MAX;
        if (k == SIZE_MAX || c->verdict[k].kind == HP_INL_NONE || c->verdict[k].reported)
            continue;
        c->verdict[k].reported = true;
        v[n++] = (hp_inl_hit){h, k};
    }
    qsort(v, n, sizeof *v, hp_inl_hit_cmp);
    hp_status s = HP_OK;
    for (size_t i = 0, j; s == HP_OK && i < n; i = j) {
        for (j = i + 1; j < n && v[j].h->req == v[i].h->req; j++)
            ;
        s = hp_inl_group(p, c, v + i, j - i, verbose, d);
    }
    hp_free(v);
    return s;
}

hp_status hp_inline_check(hp_plan *p, const hp_options *opt, hp_diags *d)
{
    if (!p->nplanned)
        return HP_OK;
    hp_inl_ctx c = {0};
    hp_status s = hp_inl_names(p, &c);
    if (s == HP_OK)
        s = hp_inl_gather(p, &c, d);
    bool trees = s == HP_OK;
    if (s == HP_ERR_UNSUPPORTED || s == HP_ERR_FORMAT)
        s = HP_OK; /* no inline trees: the code can still tell */
    for (size_t i = 0; trees && i < c.n; i++)
        c.verdict[c.v[i].target].kind = HP_INL_TREE;
    /* No inline tree anywhere: built with -gcflags=all=-l (or the trees
     * are unreadable), and nothing says a missing call was inlined. */
    if (s == HP_OK && trees && c.inlined && p->img->pclntab)
        s = hp_inl_no_calls(p, &c);
    if (s == HP_OK)
        s = hp_inl_report(p, &c, opt && opt->verbose, d);
    hp_free(c.names);
    hp_free(c.verdict);
    hp_free(c.v);
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
