/* Resolve pass: match every request to functions of the image.
 * Exact names match the symbol's spelling or its source-level alias; a Go
 * generic name without brackets matches every shape instantiation; globs
 * use fnmatch. One function may be claimed by one request only: two exact
 * requests on one function are an error, a glob skips functions an earlier
 * request already claimed. */
#include "rewriter.h"
#include "inline.h"
#include "objects.h"
#include "switch.h"

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
    static const char *const names[] = {"replace", "return",      "trap",  "passthrough",
                                        "object",  "switch",      "marker"};
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

/* The rules file of a request's locations (they all borrow the same path). */
static const char *hp_req_file(const hp_hook_req *req)
{
    return req->target_loc.file ? req->target_loc.file : req->loc.file ? req->loc.file : "";
}

/* A rule that matches a marker function (claimed first, by hookpatch):
 * exactly, an error; by a glob, skipped with the reason. */
static hp_status hp_claim_marker(hp_resolver *r, const hp_hook_req *req, const hp_symbol *s)
{
    static const char why[] = "hookpatch replaces its body with a stub the switch helpers call "
                              "to find the switch table";
    if (req->target_kind != HP_TGT_GLOB) {
        hp_diag_add(r->d, HP_DIAG_ERROR, &req->target_loc, req->target,
                    "'%s' is hookpatch's own marker function: %s, so a rule cannot hook it",
                    s->name, why);
        return HP_ERR_RULES;
    }
    const hp_hook *last = r->p->n ? &r->p->v[r->p->n - 1] : NULL;
    if (last && last->req == req && last->target->va == s->va)
        return HP_OK;
    hp_hook *h = hp_plan_add(r->p, req, s);
    if (!h)
        return HP_ERR_NOMEM;
    return hp_hook_skip(h, r->d, "hookpatch's own marker function: %s", why);
}

/* Claim s for request `req`. Exact requests colliding is an error. */
static hp_status hp_claim(hp_resolver *r, const hp_hook_req *req, const hp_symbol *s)
{
    size_t *slot = hp_claim_slot(r, s); /* claim_hook never grows: the pointer stays valid */
    if (!*slot) {
        if (!hp_plan_add(r->p, req, s))
            return HP_ERR_NOMEM;
        *slot = r->p->n;
        return HP_OK;
    }
    /* The earlier rule, read before hp_plan_add may move p->v. */
    const hp_hook_req *first = r->p->v[*slot - 1].req;
    if (first == req)
        return HP_OK; /* an alias of a function this request already has */
    if (first->action == HP_ACT_MARKER)
        return hp_claim_marker(r, req, s);
    if (req->target_kind != HP_TGT_GLOB) {
        hp_diag_add(r->d, HP_DIAG_ERROR, &req->target_loc, req->target,
                    "'%s' is already hooked by the rule at %s:%u:%u", s->name,
                    hp_req_file(first), first->target_loc.line, first->target_loc.col);
        return HP_ERR_RULES;
    }
    const hp_hook *last = r->p->n ? &r->p->v[r->p->n - 1] : NULL;
    if (last && last->req == req && last->target->va == s->va)
        return HP_OK; /* an alias (globs go in address order): skipped once */
    hp_hook *h = hp_plan_add(r->p, req, s);
    if (!h)
        return HP_ERR_NOMEM;
    return hp_hook_skip(h, r->d, "already hooked by the rule at %s:%u:%u", hp_req_file(first),
                        first->target_loc.line, first->target_loc.col);
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

bool hp_resolve_matches(const hp_symbol *s, const char *glob)
{
    if (!hp_is_func(s))
        return false;
    return !glob || !strcmp(glob, "*") /* the common "hook everything" */ ||
           fnmatch(glob, s->name, 0) == 0 || (s->alias && fnmatch(glob, s->alias, 0) == 0);
}

static hp_status hp_match_glob(hp_resolver *r, const hp_hook_req *req, size_t *count)
{
    const hp_image *img = r->p->img;
    for (size_t i = 0; i < img->nsyms; i++) {
        const hp_symbol *s = &img->syms[i];
        if (hp_resolve_matches(s, req->target)) {
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

/* A replace = / original = function must be code the loader maps
 * executable: the target's jump goes there, or the original's entry is
 * overwritten. */
static bool hp_ref_in_code(hp_resolver *r, const hp_hook_req *req, const hp_loc *loc,
                           const char *what, const hp_symbol *s)
{
    char why[160];
    if (hp_image_executable(r->p->img, s->va, why, sizeof why))
        return true;
    hp_diag_add(r->d, HP_DIAG_ERROR, loc, req->target, "the %s '%s' at 0x%llx is %s", what,
                s->name, (unsigned long long)s->va, why);
    return false;
}

/* The function named by replace = and by original = (not for objects,
 * whose original names an undefined symbol of the object). */
static hp_status hp_find_refs(hp_resolver *r, const hp_hook_req *req, size_t n,
                              const hp_symbol **rep, const hp_symbol **orig)
{
    hp_status st = HP_OK;
    if (req->action == HP_ACT_REPLACE) {
        if (!(*rep = hp_find_func(r, req->replace))) {
            hp_unknown(r, &req->action_loc, req->target, "replacement", req->replace);
            st = HP_ERR_RESOLVE;
        } else if (!hp_ref_in_code(r, req, &req->action_loc, "replacement", *rep)) {
            st = HP_ERR_RULES;
        }
    }
    if (!req->original || req->action == HP_ACT_OBJECT)
        return st;
    /* *orig is set only when it passes, so later checks report it once. */
    const hp_symbol *o = hp_find_func(r, req->original);
    if (!o) {
        hp_unknown(r, &req->original_loc, req->target, "original", req->original);
        return HP_ERR_RESOLVE;
    }
    if (n > 1) {
        hp_diag_add(r->d, HP_DIAG_ERROR, &req->original_loc, req->target,
                    "'original' needs exactly one target, but the rule matches %zu "
                    "functions", n);
        return HP_ERR_RULES;
    }
    if (!hp_ref_in_code(r, req, &req->original_loc, "original", o))
        return HP_ERR_RULES;
    if (*rep && o->va == (*rep)->va) {
        hp_diag_add(r->d, HP_DIAG_ERROR, &req->original_loc, req->target,
                    "original '%s' is the replacement itself: its entry would jump to the "
                    "original code, so the replacement would never run", req->original);
        return HP_ERR_RULES;
    }
    *orig = o;
    return st;
}

static hp_status hp_resolve_refs(hp_resolver *r, const hp_hook_req *req, size_t first, size_t n)
{
    const hp_symbol *rep = NULL, *orig = NULL;
    hp_status st = hp_find_refs(r, req, n, &rep, &orig);
    for (size_t i = first; i < first + n; i++) {
        hp_hook *h = &r->p->v[i]; /* nothing below adds hooks */
        h->replace = rep;
        h->orig = orig;
        if (req->action == HP_ACT_OBJECT && st == HP_OK) {
            hp_status os = hp_objects_check(r->p, h, r->d);
            if (os != HP_OK)
                return os;
        }
        if (h->state != HP_HOOK_PLANNED)
            continue;
        if (rep && rep->va == h->target->va) {
            hp_diag_add(r->d, HP_DIAG_ERROR, &req->action_loc, req->target,
                        "the replacement '%s' is the target itself", req->replace);
            st = HP_ERR_RULES;
        }
        if (orig && orig->va == h->target->va) {
            hp_diag_add(r->d, HP_DIAG_ERROR, &req->original_loc, req->target,
                        "original '%s' is the target itself: its entry is the one the hook "
                        "overwrites, so the hook would be undone", req->original);
            h->orig = NULL; /* one message is enough: hp_check_origs skips it */
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

/* Per claim slot: 1 + the hook that binds it as `original =`, and 1 + a
 * hook whose replacement it is (the first). */
typedef struct hp_ref_slots {
    size_t *orig, *rep;
} hp_ref_slots;

static void hp_orig_conflict(hp_resolver *r, const hp_hook *h, const char *what,
                             const hp_hook_req *other, const hp_loc *other_loc)
{
    hp_diag_add(r->d, HP_DIAG_ERROR, &h->req->original_loc, h->req->target,
                "original '%s' %s the rule at %s:%u:%u", h->req->original, what,
                hp_req_file(other), other_loc->line, other_loc->col);
}

/* `original =` functions are overwritten too (their entry jumps to the
 * trampoline): none may be a target, be bound twice, or be a replacement
 * (the replacement would run the other function's original code). */
static hp_status hp_check_origs(hp_resolver *r, const hp_ref_slots *ref)
{
    hp_status st = HP_OK;
    for (size_t i = 0; i < r->p->n; i++) {
        const hp_hook *h = &r->p->v[i];
        if (h->replace && h->state == HP_HOOK_PLANNED) {
            size_t *rs = &ref->rep[hp_claim_slot(r, h->replace) - r->claim_hook];
            *rs = *rs ? *rs : i + 1;
        }
    }
    for (size_t i = 0; i < r->p->n; i++) {
        const hp_hook *h = &r->p->v[i];
        if (!h->orig)
            continue;
        size_t k = (size_t)(hp_claim_slot(r, h->orig) - r->claim_hook);
        size_t claim = r->claim_hook[k], *bound = &ref->orig[k], rep = ref->rep[k];
        const hp_hook *v = r->p->v;
        if (claim && claim != i + 1)
            hp_orig_conflict(r, h, "is itself hooked by", v[claim - 1].req,
                             &v[claim - 1].req->target_loc);
        else if (*bound)
            hp_orig_conflict(r, h, "is already bound by", v[*bound - 1].req,
                             &v[*bound - 1].req->original_loc);
        else if (rep)
            hp_orig_conflict(r, h, "is the replacement named by", v[rep - 1].req,
                             &v[rep - 1].req->action_loc);
        if ((claim && claim != i + 1) || *bound || rep)
            st = HP_ERR_RULES;
        *bound = *bound ? *bound : i + 1;
    }
    return st;
}

/* The hook a replace hook's replacement leads to when that replacement is
 * itself replaced (SIZE_MAX: the chain ends there). */
static size_t hp_rep_next(hp_resolver *r, size_t i)
{
    const hp_hook *h = &r->p->v[i];
    if (h->state != HP_HOOK_PLANNED || !h->replace)
        return SIZE_MAX;
    size_t claim = *hp_claim_slot(r, h->replace);
    if (!claim || claim - 1 == i) /* self-replacement: reported on its own */
        return SIZE_MAX;
    const hp_hook *n = &r->p->v[claim - 1];
    return n->state == HP_HOOK_PLANNED && n->replace ? claim - 1 : SIZE_MAX;
}

static void hp_report_cycle(hp_resolver *r, const size_t *path, size_t n)
{
    char chain[768] = "", where[768] = "";
    size_t lc = 0, lw = 0, first = 0;
    for (size_t k = 0; k < n; k++)
        first = path[k] < path[first] ? k : first;
    for (size_t k = 0; k <= n; k++) {
        const hp_hook *h = &r->p->v[path[(first + k) % n]];
        if (lc < sizeof chain)
            lc += (size_t)snprintf(chain + lc, sizeof chain - lc, "%s%s", k ? " -> " : "",
                                   h->target->name);
        if (k < n && lw < sizeof where)
            lw += (size_t)snprintf(where + lw, sizeof where - lw, "%s%s:%u:%u", k ? ", " : "",
                                   hp_req_file(h->req), h->req->action_loc.line,
                                   h->req->action_loc.col);
    }
    const hp_hook *h = &r->p->v[path[first]];
    hp_diag_add(r->d, HP_DIAG_ERROR, &h->req->action_loc, h->req->target,
                "the replacements form a cycle, %s (rules at %s): every call would loop "
                "forever", chain, where);
}

/* replace = edges form a functional graph (one replacement per hook):
 * walk each chain once, marking hooks on the current walk, and report every
 * cycle found (f -> g with g -> f, or longer). */
static hp_status hp_check_cycles(hp_resolver *r)
{
    size_t n = r->p->n;
    uint8_t *mark = hp_calloc(n + 1, 1); /* 0 new, 1 on this walk, 2 done */
    size_t *path = hp_malloc((n + 1) * sizeof *path);
    hp_status st = mark && path ? HP_OK : HP_ERR_NOMEM;
    for (size_t i = 0; st != HP_ERR_NOMEM && i < n; i++) {
        size_t len = 0, k = i;
        while (k != SIZE_MAX && !mark[k]) {
            mark[k] = 1;
            path[len++] = k;
            k = hp_rep_next(r, k);
        }
        if (k != SIZE_MAX && mark[k] == 1) {
            size_t at = 0;
            while (path[at] != k)
                at++;
            hp_report_cycle(r, path + at, len - at);
            st = HP_ERR_RULES;
        }
        for (size_t j = 0; j < len; j++)
            mark[path[j]] = 2;
    }
    hp_free(mark);
    hp_free(path);
    return st;
}

/* The checks that need every rule resolved. */
static hp_status hp_check_refs(hp_resolver *r)
{
    bool any = false; /* the common `target = "*"` run has neither */
    for (size_t i = 0; i < r->p->n && !any; i++)
        any = r->p->v[i].replace || r->p->v[i].orig;
    if (!any)
        return HP_OK;
    size_t nslots = r->p->img->nsyms + 1;
    hp_ref_slots ref = {hp_calloc(nslots, sizeof *ref.orig), hp_calloc(nslots, sizeof *ref.rep)};
    hp_status st = ref.orig && ref.rep ? hp_check_cycles(r) : HP_ERR_NOMEM;
    if (st != HP_ERR_NOMEM) {
        hp_status s = hp_check_origs(r, &ref);
        st = st != HP_OK ? st : s;
    }
    hp_free(ref.orig);
    hp_free(ref.rep);
    return st;
}

/* The helpers' marker functions, claimed before any rule: each one found
 * is hooked with its stub (every function of that name, in case a helper
 * is linked twice). One scan of the symbols, not the name index, which
 * runs of glob rules never sort. */
static hp_status hp_resolve_markers(hp_resolver *r)
{
    HP_CHECK(hp_switch_init(r->p));
    const hp_image *img = r->p->img;
    for (size_t i = 0; i < img->nsyms; i++) {
        const hp_symbol *s = &img->syms[i];
        for (size_t k = 0; hp_is_func(s) && k < hp_switch_nmarkers; k++) {
            if (!hp_symbol_matches(s, hp_switch_markers[k].name))
                continue;
            if (!*hp_claim_slot(r, s)) /* else another name of a claimed address */
                HP_CHECK(hp_claim(r, &r->p->sw->marks[k], s));
            break;
        }
    }
    return HP_OK;
}

hp_status hp_resolve(hp_plan *p, const hp_hook_reqs *reqs, hp_diags *d)
{
    hp_resolver r;
    hp_status st = hp_resolver_init(&r, p, d), first_err = HP_OK;
    if (st == HP_OK)
        st = hp_resolve_markers(&r);
    for (size_t i = 0; st == HP_OK && i < reqs->n; i++) {
        hp_status s = hp_resolve_req(&r, &reqs->v[i]);
        if (s == HP_ERR_NOMEM)
            st = s;
        else if (s != HP_OK && first_err == HP_OK)
            first_err = s;
    }
    if (st == HP_OK) {
        hp_status s = hp_check_refs(&r);
        if (s == HP_ERR_NOMEM)
            st = s;
        else if (s != HP_OK && first_err == HP_OK)
            first_err = s;
    }
    hp_resolver_free(&r);
    return st != HP_OK ? st : first_err;
}
