/* Resolve pass: match every request to functions of the image.
 * Exact names match the symbol's spelling or its source-level alias; a Go
 * generic name without brackets matches every shape instantiation; globs
 * use fnmatch. One function may be claimed by one request only: two exact
 * requests on one function are an error, a glob skips functions an earlier
 * request already claimed. */
#include "rewriter.h"
#include "inline.h"
#include "objects.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hp_name_ent {
    const char *key;
    const hp_symbol *sym;
} hp_name_ent;

typedef struct hp_resolver {
    hp_plan *p;
    hp_diags *d;
    hp_name_ent *names; /* function names and aliases, sorted by key */
    size_t nnames;
    bool names_sorted; /* names filled and sorted (hp_names_ready) */
    /* VA -> index+1 of the hook that claimed it (open addressing) */
    size_t *claim_hook; /* per symbol index: 1 + the hook that claimed its va */
} hp_resolver;

static int hp_name_cmp(const void *a, const void *b)
{
    const hp_name_ent *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->sym->va < y->sym->va ? -1 : x->sym->va > y->sym->va;
}

static bool hp_is_func(const hp_symbol *s)
{
    return s->kind == HP_SYM_FUNC && s->source != HP_SRC_PLT;
}

static hp_status hp_resolver_init(hp_resolver *r, hp_plan *p, hp_diags *d)
{
    const hp_image *img = p->img;
    memset(r, 0, sizeof *r);
    r->p = p;
    r->d = d;
    size_t nfuncs = 0;
    for (size_t i = 0; i < img->nsyms; i++)
        nfuncs += hp_is_func(&img->syms[i]);
    r->names = hp_calloc(2 * img->nsyms + 1, sizeof *r->names);
    /* Room for a hook per function up front (the common `target = "*"`):
     * no copying as the array grows; untouched pages cost nothing. */
    if (HP_GROW(p->v, p->cap, nfuncs + 1) != HP_OK)
        return HP_ERR_NOMEM;
    r->claim_hook = hp_calloc(img->nsyms + 1, sizeof *r->claim_hook);
    if (!r->names || !r->claim_hook)
        return HP_ERR_NOMEM;
    return HP_OK;
}

/* The name index, sorted on first use: rules that are all globs (the
 * common `target = "*"`) never need it. */
static void hp_names_ready(hp_resolver *r)
{
    if (r->names_sorted)
        return;
    const hp_image *img = r->p->img;
    for (size_t i = 0; i < img->nsyms; i++) {
        const hp_symbol *s = &img->syms[i];
        if (!hp_is_func(s))
            continue;
        r->names[r->nnames++] = (hp_name_ent){s->name, s};
        if (s->alias)
            r->names[r->nnames++] = (hp_name_ent){s->alias, s};
    }
    qsort(r->names, r->nnames, sizeof *r->names, hp_name_cmp);
    r->names_sorted = true;
}

static void hp_resolver_free(hp_resolver *r)
{
    hp_free(r->names);
    hp_free(r->claim_hook);
}

/* The claim of s's address: symbols are sorted by address, so every
 * symbol at one address shares the slot of the first (s is one of the
 * image's symbols). */
static size_t *hp_claim_slot(hp_resolver *r, const hp_symbol *s)
{
    const hp_symbol *syms = r->p->img->syms;
    size_t i = (size_t)(s - syms);
    while (i && syms[i - 1].va == s->va)
        i--;
    return &r->claim_hook[i];
}

/* First entry whose key is >= key. */
static size_t hp_names_lower(hp_resolver *r, const char *key)
{
    hp_names_ready(r);
    size_t lo = 0, hi = r->nnames;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(r->names[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const char *hp_action_name(hp_action a)
{
    static const char *const names[] = {"replace", "return", "trap", "passthrough", "object"};
    return names[a];
}

static hp_hook *hp_plan_add(hp_plan *p, const hp_hook_req *req, const hp_symbol *s)
{
    if (HP_GROW(p->v, p->cap, p->n + 1) != HP_OK)
        return NULL;
    hp_hook *h = &p->v[p->n++];
    memset(h, 0, sizeof *h);
    h->req = req;
    h->target = s;
    return h;
}

static void hp_skip(hp_hook *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hp_skip(hp_hook *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_free(h->skip_reason);
    h->skip_reason = hp_vasprintf(fmt, ap);
    va_end(ap);
    h->state = HP_HOOK_SKIPPED;
}

/* Claim s for request `req`. Exact requests colliding is an error. */
static hp_status hp_claim(hp_resolver *r, const hp_hook_req *req, const hp_symbol *s)
{
    size_t *slot = hp_claim_slot(r, s);
    if (*slot) {
        hp_hook *first = &r->p->v[*slot - 1];
        if (first->req == req)
            return HP_OK; /* an alias of a function this request already has */
        if (req->target_kind != HP_TGT_GLOB) {
            hp_diag_add(r->d, HP_DIAG_ERROR, &req->target_loc, req->target,
                        "'%s' is already hooked by the rule at %s:%u:%u", s->name,
                        first->req->loc.file, first->req->target_loc.line,
                        first->req->target_loc.col);
            return HP_ERR_RULES;
        }
        hp_hook *h = hp_plan_add(r->p, req, s);
        if (!h)
            return HP_ERR_NOMEM;
        hp_skip(h, "already hooked by the rule at line %u", first->req->target_loc.line);
        return HP_OK;
    }
    if (!hp_plan_add(r->p, req, s))
        return HP_ERR_NOMEM;
    *slot = r->p->n;
    return HP_OK;
}

void hp_suggest(const hp_image *img, const char *name, char *buf, size_t buf_len)
{
    const hp_symbol *best[3] = {0};
    size_t dist[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
    size_t cap = strlen(name) / 3 + 2;
    for (size_t i = 0; i < img->nsyms; i++) {
        const hp_symbol *s = &img->syms[i];
        if (!hp_is_func(s))
            continue;
        const char *key = s->alias ? s->alias : s->name;
        size_t dd = hp_edit_distance(name, key, cap);
        for (int k = 0; k < 3 && dd <= cap; k++) {
            if (best[k] && !strcmp(key, best[k]->alias ? best[k]->alias : best[k]->name))
                break;
            if (dd < dist[k]) {
                memmove(&best[k + 1], &best[k], (2 - k) * sizeof best[0]);
                memmove(&dist[k + 1], &dist[k], (2 - k) * sizeof dist[0]);
                best[k] = s;
                dist[k] = dd;
                break;
            }
        }
    }
    buf[0] = 0;
    for (int k = 0; k < 3 && best[k]; k++) {
        size_t len = strlen(buf);
        snprintf(buf + len, buf_len - len, "%s'%s'", k ? ", " : "",
                 best[k]->alias ? best[k]->alias : best[k]->name);
    }
}

static void hp_unknown(hp_resolver *r, const hp_loc *loc, const char *target, const char *what,
                       const char *name)
{
    char near[512];
    hp_suggest(r->p->img, name, near, sizeof near);
    for (size_t i = 0; i < r->p->img->nsyms; i++) {
        const hp_symbol *s = &r->p->img->syms[i];
        if (s->kind == HP_SYM_DATA && hp_symbol_matches(s, name)) {
            hp_diag_add(r->d, HP_DIAG_ERROR, loc, target, "%s '%s' is data, not a function",
                        what, name);
            return;
        }
    }
    if (near[0])
        hp_diag_add(r->d, HP_DIAG_ERROR, loc, target, "no function named '%s'; did you mean %s?",
                    name, near);
    else
        hp_diag_add(r->d, HP_DIAG_ERROR, loc, target, "no function named '%s'", name);
}

/* Go 1.19's pclntab spells every instantiation "pkg.G[...]"; without a
 * symbol table the shape cannot be told apart by name. */
static bool hp_explain_shape(hp_resolver *r, const hp_hook_req *req)
{
    const char *br = strchr(req->target, '[');
    if (!br || req->target_kind != HP_TGT_NAME)
        return false;
    char *abbrev = hp_asprintf("%.*s[...]", (int)(br - req->target), req->target);
    if (!abbrev)
        return false;
    size_t i = hp_names_lower(r, abbrev);
    bool found = i < r->nnames && !strcmp(r->names[i].key, abbrev);
    if (found)
        hp_diag_add(r->d, HP_DIAG_ERROR, &req->target_loc, req->target,
                    "this binary has no symbol table, and its Go function table names every "
                    "instantiation '%s'; hook them all with '%.*s', or one by its address "
                    "(see 'hookpatch list')", abbrev, (int)(br - req->target), req->target);
    hp_free(abbrev);
    return found;
}

/* All functions spelled `name`; for a Go generic, all of name[...]. */
static hp_status hp_match_name(hp_resolver *r, const hp_hook_req *req, size_t *count)
{
    size_t i = hp_names_lower(r, req->target);
    for (; i < r->nnames && !strcmp(r->names[i].key, req->target); i++, ++*count)
        HP_CHECK(hp_claim(r, req, r->names[i].sym));
    if (*count)
        return HP_OK;
    size_t len = strlen(req->target);
    char *prefix = hp_asprintf("%s[", req->target);
    if (!prefix)
        return HP_ERR_NOMEM;
    hp_status s = HP_OK;
    for (i = hp_names_lower(r, prefix); s == HP_OK && i < r->nnames &&
                                         !strncmp(r->names[i].key, prefix, len + 1);
         i++, ++*count)
        s = hp_claim(r, req, r->names[i].sym);
    hp_free(prefix);
    if (s == HP_OK && *count > 1)
        hp_diag_add(r->d, HP_DIAG_NOTE, &req->target_loc, req->target,
                    "generic function: hooking all %zu instantiations; instantiations that "
                    "share a GC shape share code and are hooked together", *count);
    return s;
}

static hp_status hp_match_glob(hp_resolver *r, const hp_hook_req *req, size_t *count)
{
    const hp_image *img = r->p->img;
    bool all = !strcmp(req->target, "*"); /* the common "hook everything" */
    for (size_t i = 0; i < img->nsyms; i++) {
        const hp_symbol *s = &img->syms[i];
        if (!hp_is_func(s))
            continue;
        if (all || fnmatch(req->target, s->name, 0) == 0 ||
            (s->alias && fnmatch(req->target, s->alias, 0) == 0)) {
            HP_CHECK(hp_claim(r, req, s));
            ++*count;
        }
    }
    return HP_OK;
}

static hp_status hp_match_addr(hp_resolver *r, const hp_hook_req *req, size_t *count)
{
    const hp_symbol *s = hp_image_sym_at(r->p->img, req->target_va);
    if (!s)
        return HP_OK;
    ++*count;
    return hp_claim(r, req, s);
}

/* A function named by replace = / original =. */
static const hp_symbol *hp_find_func(hp_resolver *r, const char *name)
{
    size_t i = hp_names_lower(r, name);
    return i < r->nnames && !strcmp(r->names[i].key, name) ? r->names[i].sym : NULL;
}

static hp_status hp_resolve_refs(hp_resolver *r, const hp_hook_req *req, size_t first, size_t n)
{
    const hp_symbol *rep = NULL, *orig = NULL;
    hp_status st = HP_OK;
    if (req->action == HP_ACT_REPLACE && !(rep = hp_find_func(r, req->replace))) {
        hp_unknown(r, &req->action_loc, req->target, "replacement", req->replace);
        st = HP_ERR_RESOLVE;
    }
    if (req->original && req->action != HP_ACT_OBJECT) {
        if (!(orig = hp_find_func(r, req->original))) {
            hp_unknown(r, &req->original_loc, req->target, "original", req->original);
            st = HP_ERR_RESOLVE;
        } else if (n > 1) {
            hp_diag_add(r->d, HP_DIAG_ERROR, &req->original_loc, req->target,
                        "'original' needs exactly one target, but the rule matches %zu "
                        "functions", n);
            st = HP_ERR_RULES;
        }
    }
    for (size_t i = first; i < first + n; i++) {
        r->p->v[i].replace = rep;
        r->p->v[i].orig = orig;
        if (req->action == HP_ACT_OBJECT && st == HP_OK) {
            hp_status os = hp_objects_check(r->p, &r->p->v[i], r->d);
            if (os != HP_OK)
                return os;
        }
        if (rep && rep->va == r->p->v[i].target->va && r->p->v[i].state == HP_HOOK_PLANNED) {
            hp_diag_add(r->d, HP_DIAG_ERROR, &req->action_loc, req->target,
                        "the replacement '%s' is the target itself", req->replace);
            st = HP_ERR_RULES;
        }
    }
    return st;
}

static hp_status hp_resolve_req(hp_resolver *r, const hp_hook_req *req)
{
    size_t first = r->p->n, count = 0;
    hp_status st;
    if (req->target_kind == HP_TGT_NAME)
        st = hp_match_name(r, req, &count);
    else if (req->target_kind == HP_TGT_GLOB)
        st = hp_match_glob(r, req, &count);
    else
        st = hp_match_addr(r, req, &count);
    if (st != HP_OK)
        return st;
    if (!count) {
        if (req->target_kind == HP_TGT_NAME && !hp_explain_shape(r, req) &&
            !hp_inline_explain_missing(r->p->img, req, r->d))
            hp_unknown(r, &req->target_loc, req->target, "target", req->target);
        else if (req->target_kind == HP_TGT_GLOB)
            hp_diag_add(r->d, HP_DIAG_ERROR, &req->target_loc, req->target,
                        "the pattern matches no function");
        else
            hp_diag_add(r->d, HP_DIAG_ERROR, &req->target_loc, req->target,
                        "no function starts at 0x%llx", (unsigned long long)req->target_va);
        return HP_ERR_RESOLVE;
    }
    return hp_resolve_refs(r, req, first, r->p->n - first);
}

/* `original =` functions are overwritten too: none may be a target. */
static hp_status hp_check_origs(hp_resolver *r)
{
    hp_status st = HP_OK;
    for (size_t i = 0; i < r->p->n; i++) {
        const hp_hook *h = &r->p->v[i];
        if (!h->orig)
            continue;
        size_t *slot = hp_claim_slot(r, h->orig);
        if (*slot && *slot != i + 1) {
            hp_diag_add(r->d, HP_DIAG_ERROR, &h->req->original_loc, h->req->target,
                        "original '%s' is itself hooked or used as another original",
                        h->req->original);
            st = HP_ERR_RULES;
        }
        *slot = i + 1;
    }
    return st;
}

hp_status hp_resolve(hp_plan *p, const hp_hook_reqs *reqs, hp_diags *d)
{
    hp_resolver r;
    hp_status st = hp_resolver_init(&r, p, d), first_err = HP_OK;
    for (size_t i = 0; st == HP_OK && i < reqs->n; i++) {
        hp_status s = hp_resolve_req(&r, &reqs->v[i]);
        if (s == HP_ERR_NOMEM)
            st = s;
        else if (s != HP_OK && first_err == HP_OK)
            first_err = s;
    }
    if (st == HP_OK) {
        hp_status s = hp_check_origs(&r);
        if (s != HP_OK && first_err == HP_OK)
            first_err = s;
    }
    hp_resolver_free(&r);
    return st != HP_OK ? st : first_err;
}
