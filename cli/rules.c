/* rules: the schema of the rules file, checked over the C tree that
 * toml_adapter builds. Every check adds a diagnostic and carries on, so one
 * run reports every problem. A hook becomes a request only if it has no
 * error; any error at all empties the result. Diagnostics point at the key
 * when the key is out of place and at the value when the value is wrong. */
#include "rules.h"
#include "toml_adapter.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PATH_MAX /* strict ISO C modes hide it */
#define PATH_MAX 4096
#endif

enum hp_rules_key {
    HP_RK_TARGET,
    HP_RK_REPLACE,
    HP_RK_ACTION,
    HP_RK_VALUE,
    HP_RK_ORIGINAL,
    HP_RK_OBJECT,
    HP_RK_SYMBOL,
    HP_RK_COUNT
};

static const char *const hp_rules_key_names[HP_RK_COUNT] = {
    "target", "replace", "action", "value", "original", "object", "symbol",
};

static const char *const hp_rules_action_names[] = {"return", "trap", "passthrough", "switch"};
static const hp_action hp_rules_action_ids[] = {HP_ACT_RETURN, HP_ACT_TRAP, HP_ACT_PASSTHROUGH,
                                                HP_ACT_SWITCH};
#define HP_RULES_NACTIONS (sizeof hp_rules_action_ids / sizeof hp_rules_action_ids[0])

typedef struct hp_rules_ctx {
    const char *path; /* borrowed from hp_hook_reqs.path */
    hp_diags *d;
    hp_status status; /* HP_ERR_NOMEM once an allocation failed */
    /* Per hook index: the target value of an earlier hook naming the same
     * exact function, or NULL. Owned. */
    const hp_tval **first;
    bool objects_later; /* hp_rules_load_deps: an object need not exist yet */
} hp_rules_ctx;

/* One [[hook]] table while it is checked. */
typedef struct hp_rules_hook {
    const hp_tval *tbl;
    size_t index;
    const hp_tkv *kv[HP_RK_COUNT]; /* keys present */
    bool ok[HP_RK_COUNT];          /* ... and of the right type, non-empty */
    const char *target;            /* borrowed; NULL unless target is a usable string */
    hp_target_kind kind;
    uint64_t va;
    hp_action action;
    bool action_named; /* action = "..." named a known action */
    bool action_known; /* exactly one of replace/action/object, and valid */
    char *object_path; /* owned until moved into the request */
} hp_rules_hook;

/* ---- diagnostics */

static void hp_rules_verror(hp_rules_ctx *c, uint32_t line, uint32_t col, const char *target,
                            const char *fmt, va_list ap)
{
    hp_loc loc = {c->path, line, col};
    hp_diag_vadd(c->d, HP_DIAG_ERROR, &loc, target, fmt, ap);
}

static __attribute__((format(printf, 5, 6))) void
hp_rules_error(hp_rules_ctx *c, uint32_t line, uint32_t col, const char *target, const char *fmt,
               ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_rules_verror(c, line, col, target, fmt, ap);
    va_end(ap);
}

static __attribute__((format(printf, 4, 5))) void
hp_rules_error_val(hp_rules_ctx *c, const hp_tval *v, const char *target, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_rules_verror(c, v->line, v->col, target, fmt, ap);
    va_end(ap);
}

static __attribute__((format(printf, 4, 5))) void
hp_rules_error_key(hp_rules_ctx *c, const hp_tkv *kv, const char *target, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_rules_verror(c, kv->line, kv->col, target, fmt, ap);
    va_end(ap);
}

static const char *hp_rules_article(hp_tval_kind k)
{
    return k == HP_TV_INTEGER || k == HP_TV_ARRAY ? "an" : "a";
}

/* The candidate closest to word, if it is close enough to be a typo: about
 * one edit per three characters of the candidate. */
static const char *hp_rules_suggest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_dist = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t cap = (strlen(cands[i]) + 2) / 3;
        size_t dist = hp_edit_distance(word, cands[i], cap);
        if (dist <= cap && dist < best_dist) {
            best = cands[i];
            best_dist = dist;
        }
    }
    return best;
}

/* ---- small tree helpers */

static int hp_rules_key_index(const char *key)
{
    for (int i = 0; i < HP_RK_COUNT; i++)
        if (strcmp(key, hp_rules_key_names[i]) == 0)
            return i;
    return -1;
}

static const hp_tkv *hp_rules_find(const hp_tval *tbl, const char *key)
{
    for (size_t i = 0; i < tbl->u.table.n; i++)
        if (strcmp(tbl->u.table.kv[i].key, key) == 0)
            return &tbl->u.table.kv[i];
    return NULL;
}

/* A string we can hand on as a C string: non-empty and without NUL. */
static bool hp_rules_is_text(const hp_tval *v)
{
    return v->kind == HP_TV_STRING && v->u.str.len > 0 && strlen(v->u.str.s) == v->u.str.len;
}

/* ---- targets
 *
 * "0x"/"0X" followed by hex digits is an address. Otherwise a target is a
 * glob when it holds glob syntax (* ? [..] or a backslash escape), else an
 * exact name. Go symbol names use some of those characters themselves, so
 * two Go spellings do not count as glob syntax:
 *  - "(*" as in main.(*T).M, a pointer receiver;
 *  - a [...] group that contains '.' or ',', is empty or is a bare number,
 *    as in pkg.G[go.shape.int_0], pkg.F[go.shape.string,go.shape.int],
 *    []byte or [4]int. No useful glob class looks like that.
 * A glob is handed to the matcher unchanged, so inside a glob those
 * characters are glob syntax again: write \[ or \* for literal ones. */

typedef enum hp_rules_tgt_err {
    HP_RT_OK,
    HP_RT_BAD_HEX,
    HP_RT_TOO_BIG,
    HP_RT_OPEN_BRACKET,
    HP_RT_CLOSE_BRACKET,
} hp_rules_tgt_err;

static int hp_rules_hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static hp_rules_tgt_err hp_rules_parse_va(const char *hex, uint64_t *va)
{
    uint64_t v = 0;
    bool too_big = false;
    if (!*hex)
        return HP_RT_BAD_HEX;
    for (; *hex; hex++) {
        int dgt = hp_rules_hex_digit(*hex);
        if (dgt < 0)
            return HP_RT_BAD_HEX;
        too_big |= (v >> 60) != 0;
        v = v << 4 | (uint64_t)dgt;
    }
    *va = v;
    return too_big ? HP_RT_TOO_BIG : HP_RT_OK;
}

/* Index of the ']' closing the '[' at s[open], counting nested pairs and
 * skipping backslash escapes; 0 when there is none. */
static size_t hp_rules_close_bracket(const char *s, size_t open)
{
    size_t depth = 0;
    for (size_t i = open; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1])
            i++;
        else if (s[i] == '[')
            depth++;
        else if (s[i] == ']' && --depth == 0)
            return i;
    }
    return 0;
}

static bool hp_rules_go_brackets(const char *in, size_t n)
{
    bool number = true;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '.' || in[i] == ',')
            return true;
        number &= in[i] >= '0' && in[i] <= '9';
    }
    return number; /* also true for the empty [] */
}

static hp_rules_tgt_err hp_rules_scan_glob(const char *s, bool *glob)
{
    bool stray_close = false;
    *glob = false;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1]) {
            *glob = true;
            i++;
        } else if (s[i] == '?' || (s[i] == '*' && (i == 0 || s[i - 1] != '('))) {
            *glob = true;
        } else if (s[i] == '[') {
            size_t close = hp_rules_close_bracket(s, i);
            if (!close)
                return HP_RT_OPEN_BRACKET; /* glob syntax, and broken */
            *glob |= !hp_rules_go_brackets(s + i + 1, close - i - 1);
            i = close;
        } else if (s[i] == ']') {
            stray_close = true;
        }
    }
    return *glob && stray_close ? HP_RT_CLOSE_BRACKET : HP_RT_OK;
}

static hp_rules_tgt_err hp_rules_classify(const char *s, hp_target_kind *kind, uint64_t *va)
{
    bool glob;
    *va = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        *kind = HP_TGT_ADDR;
        return hp_rules_parse_va(s + 2, va);
    }
    hp_rules_tgt_err e = hp_rules_scan_glob(s, &glob);
    *kind = glob ? HP_TGT_GLOB : HP_TGT_NAME;
    return e;
}

/* ---- duplicate exact targets, found up front so that each is reported in
 * file order while its hook is checked. */

typedef struct hp_rules_exact {
    hp_target_kind kind;
    uint64_t va;
    const char *name;
    size_t index;
    const hp_tval *val;
} hp_rules_exact;

static int hp_rules_exact_order(const hp_rules_exact *a, const hp_rules_exact *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->kind == HP_TGT_ADDR)
        return a->va < b->va ? -1 : a->va > b->va;
    return strcmp(a->name, b->name);
}

static int hp_rules_exact_cmp(const void *pa, const void *pb)
{
    const hp_rules_exact *a = pa, *b = pb;
    int r = hp_rules_exact_order(a, b);
    return r ? r : a->index < b->index ? -1 : a->index > b->index;
}

/* Fill e with hook idx's target if it is a valid exact one; false if not. */
static bool hp_rules_exact_of(const hp_tval *hook, size_t idx, hp_rules_exact *e)
{
    const hp_tkv *t = hook->kind == HP_TV_TABLE ? hp_rules_find(hook, "target") : NULL;
    if (!t || !hp_rules_is_text(t->val))
        return false;
    e->name = t->val->u.str.s;
    e->index = idx;
    e->val = t->val;
    return hp_rules_classify(e->name, &e->kind, &e->va) == HP_RT_OK && e->kind != HP_TGT_GLOB;
}

static void hp_rules_find_dups(hp_rules_ctx *c, const hp_tval *hooks)
{
    size_t n = hooks->u.array.n, m = 0;
    hp_rules_exact *ex = hp_calloc(n, sizeof *ex);
    c->first = hp_calloc(n, sizeof *c->first);
    if (!ex || !c->first) {
        hp_free(ex);
        c->status = HP_ERR_NOMEM;
        return;
    }
    for (size_t i = 0; i < n; i++)
        m += hp_rules_exact_of(hooks->u.array.items[i], i, &ex[m]);
    qsort(ex, m, sizeof *ex, hp_rules_exact_cmp);
    for (size_t i = 1, run = 0; i < m; i++) {
        if (hp_rules_exact_order(&ex[run], &ex[i]) != 0)
            run = i;
        else
            c->first[ex[i].index] = ex[run].val;
    }
    hp_free(ex);
}

/* ---- one key of a hook: type and content */

static bool hp_rules_check_string(hp_rules_ctx *c, const hp_rules_hook *h, const hp_tkv *kv)
{
    const hp_tval *v = kv->val;
    const char *tgt = kv == h->kv[HP_RK_TARGET] ? NULL : h->target;
    if (v->kind != HP_TV_STRING)
        hp_rules_error_val(c, v, tgt, "'%s' must be a string, not %s %s", kv->key,
                           hp_rules_article(v->kind), hp_toml_kind_name(v->kind));
    else if (v->u.str.len == 0)
        hp_rules_error_val(c, v, tgt, "'%s' must not be empty", kv->key);
    else if (!hp_rules_is_text(v))
        hp_rules_error_val(c, v, tgt, "'%s' must not contain a NUL character", kv->key);
    else
        return true;
    return false;
}

static bool hp_rules_check_integer(hp_rules_ctx *c, const hp_rules_hook *h, const hp_tkv *kv)
{
    if (kv->val->kind == HP_TV_INTEGER)
        return true;
    hp_rules_error_val(c, kv->val, h->target, "'%s' must be an integer, not %s %s", kv->key,
                       hp_rules_article(kv->val->kind), hp_toml_kind_name(kv->val->kind));
    return false;
}

static void hp_rules_report_target(hp_rules_ctx *c, const hp_tval *v, hp_rules_tgt_err e)
{
    const char *s = v->u.str.s;
    if (e == HP_RT_BAD_HEX)
        hp_rules_error_val(c, v, NULL, "invalid address '%s': expected hex digits after '0x'", s);
    else if (e == HP_RT_TOO_BIG)
        hp_rules_error_val(c, v, NULL, "address '%s' does not fit in 64 bits", s);
    else if (e == HP_RT_OPEN_BRACKET)
        hp_rules_error_val(c, v, NULL,
                           "unbalanced '[' in target '%s' (in a glob, write '\\[' for a "
                           "literal bracket)",
                           s);
    else
        hp_rules_error_val(c, v, NULL, "unbalanced ']' in glob '%s'", s);
}

static void hp_rules_check_dup(hp_rules_ctx *c, const hp_rules_hook *h, const hp_tval *v)
{
    const hp_tval *first = c->first ? c->first[h->index] : NULL;
    if (!first)
        return;
    if (h->kind == HP_TGT_ADDR)
        hp_rules_error_val(c, v, h->target, "duplicate target: address 0x%llx is already hooked",
                           (unsigned long long)h->va);
    else
        hp_rules_error_val(c, v, h->target, "duplicate target: '%s' is already hooked", h->target);
    hp_loc at = {c->path, first->line, first->col};
    hp_diag_add(c->d, HP_DIAG_NOTE, &at, first->u.str.s, "first hooked at %s:%u:%u", c->path,
                first->line, first->col);
}

static void hp_rules_check_target(hp_rules_ctx *c, hp_rules_hook *h, const hp_tval *v)
{
    hp_rules_tgt_err e = hp_rules_classify(v->u.str.s, &h->kind, &h->va);
    if (e != HP_RT_OK)
        hp_rules_report_target(c, v, e);
    else if (h->kind != HP_TGT_GLOB)
        hp_rules_check_dup(c, h, v);
}

static void hp_rules_check_action(hp_rules_ctx *c, hp_rules_hook *h, const hp_tval *v)
{
    const char *name = v->u.str.s;
    for (size_t i = 0; i < HP_RULES_NACTIONS; i++) {
        if (strcmp(name, hp_rules_action_names[i]) == 0) {
            h->action = hp_rules_action_ids[i];
            h->action_named = true;
            return;
        }
    }
    const char *near = hp_rules_suggest(name, hp_rules_action_names, HP_RULES_NACTIONS);
    if (near)
        hp_rules_error_val(c, v, h->target, "unknown action '%s'; did you mean '%s'?", name, near);
    else
        hp_rules_error_val(c, v, h->target,
                           "unknown action '%s' (expected return, trap, passthrough or switch)", name);
}

/* Relative objects are found next to the rules file, and the result is made
 * absolute so that messages and later stages do not depend on the cwd. */
static char *hp_rules_object_path(const char *rules_path, const char *object)
{
    if (object[0] == '/')
        return hp_strdup(object);
    const char *slash = strrchr(rules_path, '/');
    const char *dir = rules_path;
    int dlen = slash ? (int)(slash - rules_path) : 0;
    while (dlen >= 2 && dir[0] == '.' && dir[1] == '/') {
        dir += 2;
        dlen -= 2;
    }
    if (dlen == 1 && dir[0] == '.')
        dlen = 0;
    const char *sep = dlen ? "/" : "";
    char cwd[PATH_MAX];
    if (rules_path[0] == '/' || !getcwd(cwd, sizeof cwd))
        return hp_asprintf("%.*s%s%s", dlen, dir, rules_path[0] == '/' ? "/" : sep, object);
    size_t clen = strlen(cwd);
    const char *cwd_sep = clen && cwd[clen - 1] == '/' ? "" : "/";
    return hp_asprintf("%s%s%.*s%s%s", cwd, cwd_sep, dlen, dir, sep, object);
}

static void hp_rules_check_object(hp_rules_ctx *c, hp_rules_hook *h, const hp_tval *v)
{
    struct stat st;
    const char *obj = v->u.str.s;
    h->object_path = hp_rules_object_path(c->path, obj);
    if (!h->object_path) {
        c->status = HP_ERR_NOMEM;
        return;
    }
    if (c->objects_later)
        return;
    if (stat(h->object_path, &st) != 0) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR)
            hp_rules_error_val(c, v, h->target, "object '%s' not found (looked in %s)", obj,
                               h->object_path);
        else
            hp_rules_error_val(c, v, h->target, "cannot access object '%s' (%s: %s)", obj,
                               h->object_path, strerror(err));
    } else if (!S_ISREG(st.st_mode)) {
        hp_rules_error_val(c, v, h->target, "object '%s' is not a regular file (%s)", obj,
                           h->object_path);
    }
}

static void hp_rules_unknown_hook_key(hp_rules_ctx *c, const hp_rules_hook *h, const hp_tkv *kv)
{
    const char *near = hp_rules_suggest(kv->key, hp_rules_key_names, HP_RK_COUNT);
    if (near)
        hp_rules_error_key(c, kv, h->target, "unknown key '%s' in [[hook]]; did you mean '%s'?",
                           kv->key, near);
    else
        hp_rules_error_key(c, kv, h->target,
                           "unknown key '%s' in [[hook]] (expected target, replace, action, "
                           "value, original, object or symbol)",
                           kv->key);
}

static void hp_rules_hook_keys(hp_rules_ctx *c, hp_rules_hook *h)
{
    for (size_t i = 0; i < h->tbl->u.table.n; i++) {
        const hp_tkv *kv = &h->tbl->u.table.kv[i];
        int k = hp_rules_key_index(kv->key);
        if (k < 0) {
            hp_rules_unknown_hook_key(c, h, kv);
            continue;
        }
        h->kv[k] = kv;
        h->ok[k] = k == HP_RK_VALUE ? hp_rules_check_integer(c, h, kv)
                                    : hp_rules_check_string(c, h, kv);
        if (!h->ok[k])
            continue;
        if (k == HP_RK_TARGET)
            hp_rules_check_target(c, h, kv->val);
        else if (k == HP_RK_ACTION)
            hp_rules_check_action(c, h, kv->val);
        else if (k == HP_RK_OBJECT)
            hp_rules_check_object(c, h, kv->val);
    }
}

/* ---- one hook: which keys go together */

static bool hp_rules_is_action_key(int k)
{
    return k == HP_RK_REPLACE || k == HP_RK_ACTION || k == HP_RK_OBJECT;
}

/* Exactly one of replace/action/object; each later one is a conflict. */
static void hp_rules_pick_action(hp_rules_ctx *c, hp_rules_hook *h)
{
    const hp_tkv *chosen = NULL;
    bool conflict = false;
    for (size_t i = 0; i < h->tbl->u.table.n; i++) {
        const hp_tkv *kv = &h->tbl->u.table.kv[i];
        if (!hp_rules_is_action_key(hp_rules_key_index(kv->key)))
            continue;
        if (!chosen) {
            chosen = kv;
            continue;
        }
        hp_rules_error_val(c, kv->val, h->target,
                           "'%s' conflicts with '%s': a [[hook]] takes exactly one of "
                           "'replace', 'action' or 'object'",
                           kv->key, chosen->key);
        conflict = true;
    }
    if (!chosen) {
        hp_rules_error(c, h->tbl->line, h->tbl->col, h->target,
                       "[[hook]] needs exactly one of 'replace', 'action' or 'object'");
        return;
    }
    int k = hp_rules_key_index(chosen->key);
    if (k == HP_RK_REPLACE)
        h->action = HP_ACT_REPLACE;
    else if (k == HP_RK_OBJECT)
        h->action = HP_ACT_OBJECT;
    h->action_known = !conflict && (k == HP_RK_ACTION ? h->action_named : h->ok[k]);
}

static const char *hp_rules_action_name(hp_action a)
{
    for (size_t i = 0; i < HP_RULES_NACTIONS; i++)
        if (hp_rules_action_ids[i] == a)
            return hp_rules_action_names[i];
    return a == HP_ACT_REPLACE ? "replace" : "object";
}

/* value goes with return, symbol with object, original with anything that
 * builds a trampoline. */
static void hp_rules_check_companions(hp_rules_ctx *c, const hp_rules_hook *h)
{
    const hp_tkv *value = h->kv[HP_RK_VALUE], *symbol = h->kv[HP_RK_SYMBOL];
    const hp_tkv *original = h->kv[HP_RK_ORIGINAL];
    if (h->action == HP_ACT_RETURN && !value)
        hp_rules_error_val(c, h->kv[HP_RK_ACTION]->val, h->target,
                           "action = \"return\" needs an integer 'value'");
    if (h->action != HP_ACT_RETURN && value)
        hp_rules_error_key(c, value, h->target,
                           "'value' is only allowed with action = \"return\"");
    if (h->action == HP_ACT_OBJECT && !symbol)
        hp_rules_error_val(c, h->kv[HP_RK_OBJECT]->val, h->target,
                           "'object' needs a 'symbol' (the replacement function inside it)");
    if (h->action != HP_ACT_OBJECT && symbol)
        hp_rules_error_key(c, symbol, h->target, "'symbol' is only allowed with 'object'");
    if (original && (h->action == HP_ACT_RETURN || h->action == HP_ACT_TRAP))
        hp_rules_error_key(c, original, h->target,
                           "'original' is not allowed with action = \"%s\" (no trampoline is "
                           "built; use it with replace, passthrough, switch or object)",
                           hp_rules_action_name(h->action));
}

static void hp_rules_hook_shape(hp_rules_ctx *c, hp_rules_hook *h)
{
    if (!h->kv[HP_RK_TARGET])
        hp_rules_error(c, h->tbl->line, h->tbl->col, NULL, "[[hook]] has no 'target'");
    hp_rules_pick_action(c, h);
    if (h->action_known)
        hp_rules_check_companions(c, h);
}

/* ---- one hook: the request */

static hp_loc hp_rules_val_loc(const hp_rules_ctx *c, const hp_tkv *kv)
{
    return kv ? (hp_loc){c->path, kv->val->line, kv->val->col} : (hp_loc){0};
}

static char *hp_rules_copy(hp_rules_ctx *c, const hp_tkv *kv)
{
    if (!kv)
        return NULL;
    char *s = hp_strdup(kv->val->u.str.s);
    if (!s)
        c->status = HP_ERR_NOMEM;
    return s;
}

static void hp_rules_emit(hp_rules_ctx *c, hp_rules_hook *h, hp_hook_reqs *out)
{
    if (HP_GROW(out->v, out->cap, out->n + 1) != HP_OK) {
        c->status = HP_ERR_NOMEM;
        return;
    }
    /* Counted at once, so that a failed copy below is freed with the rest. */
    hp_hook_req *r = &out->v[out->n++];
    const hp_tkv *act = h->kv[HP_RK_REPLACE] ? h->kv[HP_RK_REPLACE]
                        : h->kv[HP_RK_ACTION] ? h->kv[HP_RK_ACTION]
                                              : h->kv[HP_RK_OBJECT];
    memset(r, 0, sizeof *r);
    r->loc = (hp_loc){c->path, h->tbl->line, h->tbl->col};
    r->target_loc = hp_rules_val_loc(c, h->kv[HP_RK_TARGET]);
    r->target_kind = h->kind;
    r->target_va = h->va;
    r->action = h->action;
    r->action_loc = hp_rules_val_loc(c, act);
    r->value = h->kv[HP_RK_VALUE] ? h->kv[HP_RK_VALUE]->val->u.i : 0;
    r->original_loc = hp_rules_val_loc(c, h->kv[HP_RK_ORIGINAL]);
    r->symbol_loc = hp_rules_val_loc(c, h->kv[HP_RK_SYMBOL]);
    r->object_path = h->object_path;
    h->object_path = NULL;
    r->target = hp_rules_copy(c, h->kv[HP_RK_TARGET]);
    r->replace = hp_rules_copy(c, h->kv[HP_RK_REPLACE]);
    r->original = hp_rules_copy(c, h->kv[HP_RK_ORIGINAL]);
    r->object = hp_rules_copy(c, h->kv[HP_RK_OBJECT]);
    r->symbol = hp_rules_copy(c, h->kv[HP_RK_SYMBOL]);
}

static void hp_rules_check_hook(hp_rules_ctx *c, const hp_tval *tbl, size_t index,
                                hp_hook_reqs *out)
{
    hp_rules_hook h = {.tbl = tbl, .index = index};
    size_t errors = c->d->errors;
    const hp_tkv *t = hp_rules_find(tbl, "target");
    if (t && hp_rules_is_text(t->val))
        h.target = t->val->u.str.s;
    hp_rules_hook_keys(c, &h);
    hp_rules_hook_shape(c, &h);
    if (c->d->errors == errors && c->status == HP_OK)
        hp_rules_emit(c, &h, out);
    hp_free(h.object_path);
}

/* ---- the root table */

static void hp_rules_unknown_root_key(hp_rules_ctx *c, const hp_tkv *kv)
{
    static const char *const root_keys[] = {"hook"};
    if (hp_rules_key_index(kv->key) >= 0)
        hp_rules_error_key(c, kv, NULL,
                           "unknown key '%s' at the top level; it belongs inside a [[hook]] table",
                           kv->key);
    else if (hp_rules_suggest(kv->key, root_keys, 1))
        hp_rules_error_key(c, kv, NULL, "unknown key '%s'; did you mean 'hook'?", kv->key);
    else
        hp_rules_error_key(c, kv, NULL,
                           "unknown key '%s'; the top level holds only [[hook]] tables", kv->key);
}

/* The hook array, or NULL after reporting why there is none. */
static const hp_tval *hp_rules_hook_array(hp_rules_ctx *c, const hp_tval *root)
{
    const hp_tkv *hook = NULL;
    for (size_t i = 0; i < root->u.table.n; i++) {
        if (strcmp(root->u.table.kv[i].key, "hook") == 0)
            hook = &root->u.table.kv[i];
        else
            hp_rules_unknown_root_key(c, &root->u.table.kv[i]);
    }
    if (!hook) {
        hp_rules_error(c, 1, 1, NULL, "no hooks: the rules file has no [[hook]] table");
        return NULL;
    }
    const hp_tval *v = hook->val;
    if (v->kind != HP_TV_ARRAY)
        hp_rules_error_val(c, v, NULL, "'hook' must be an array of tables ([[hook]]), not %s %s",
                           hp_rules_article(v->kind), hp_toml_kind_name(v->kind));
    else if (v->u.array.n == 0)
        hp_rules_error_val(c, v, NULL, "no hooks: 'hook' is empty; add a [[hook]] table");
    else
        return v;
    return NULL;
}

static void hp_rules_check_root(hp_rules_ctx *c, const hp_tval *root, hp_hook_reqs *out)
{
    const hp_tval *hooks = hp_rules_hook_array(c, root);
    if (!hooks)
        return;
    hp_rules_find_dups(c, hooks);
    for (size_t i = 0; i < hooks->u.array.n && c->status == HP_OK; i++) {
        const hp_tval *item = hooks->u.array.items[i];
        if (item->kind == HP_TV_TABLE)
            hp_rules_check_hook(c, item, i, out);
        else
            hp_rules_error_val(c, item, NULL,
                               "each 'hook' entry must be a table ([[hook]]), not %s %s",
                               hp_rules_article(item->kind), hp_toml_kind_name(item->kind));
    }
}

static void hp_rules_toml_failed(hp_rules_ctx *c, const hp_toml_error *err)
{
    if (err->nomem) {
        c->status = HP_ERR_NOMEM;
    } else if (err->line == 0) {
        hp_rules_error(c, 0, 0, NULL, "cannot parse the rules: %s", err->msg);
        c->status = HP_ERR_INTERNAL;
    } else {
        hp_rules_error(c, err->line, err->col, NULL, "invalid TOML: %s", err->msg);
    }
}

static hp_status hp_rules_finish(hp_rules_ctx *c, const char *path, size_t errors0,
                                 hp_hook_reqs *out)
{
    hp_status st = c->status;
    if (st == HP_OK && c->d->errors > errors0)
        st = HP_ERR_RULES;
    if (st == HP_ERR_NOMEM) {
        hp_loc at = {path, 0, 0};
        hp_diag_add(c->d, HP_DIAG_ERROR, &at, NULL, "out of memory while reading the rules");
    }
    if (st != HP_OK)
        hp_hook_reqs_free(out);
    return st;
}

static hp_status hp_rules_parse_mode(const char *path, const char *text, size_t len,
                                    hp_hook_reqs *out, hp_diags *d, bool objects_later)
{
    if (!path || !out || !d || (!text && len))
        return HP_ERR_INTERNAL;
    memset(out, 0, sizeof *out);
    hp_rules_ctx c = {.d = d, .objects_later = objects_later};
    size_t errors0 = d->errors;
    hp_toml_error err;
    out->path = hp_strdup(path);
    if (!out->path) {
        c.status = HP_ERR_NOMEM;
        return hp_rules_finish(&c, path, errors0, out);
    }
    c.path = out->path;
    hp_tval *root = hp_toml_parse(text, len, &err);
    if (root)
        hp_rules_check_root(&c, root, out);
    else
        hp_rules_toml_failed(&c, &err);
    hp_toml_free(root);
    hp_free(c.first);
    return hp_rules_finish(&c, path, errors0, out);
}

hp_status hp_rules_parse(const char *path, const char *text, size_t len, hp_hook_reqs *out,
                         hp_diags *d)
{
    return hp_rules_parse_mode(path, text, len, out, d, false);
}

/* ---- reading the file */

/* Far above any real rules file; stops "/dev/zero" from eating all memory. */
#define HP_RULES_MAX_SIZE ((size_t)16 << 20)

static hp_status hp_rules_read_error(const char *path, const char *why, hp_diags *d)
{
    hp_diag_add(d, HP_DIAG_ERROR, NULL, NULL, "cannot read rules file '%s': %s", path, why);
    return HP_ERR_IO;
}

/* Open path for reading, refusing anything but a regular file without
 * blocking: O_NONBLOCK keeps open() of a FIFO from waiting for a writer,
 * then fstat tells what it is. Returns the descriptor (blocking again) or -1. */
static int hp_rules_open(const char *path, hp_diags *d)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        hp_rules_read_error(path, strerror(errno), d);
        return -1;
    }
    struct stat st = {0}; /* a failed fstat leaves st_mode 0: not regular */
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        char why[64];
        snprintf(why, sizeof why, "not a regular file (%s)", hp_file_kind(st.st_mode));
        hp_rules_read_error(path, why, d);
    } else if (!S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
        hp_rules_read_error(path, strerror(errno), d);
    } else {
        return fd;
    }
    close(fd);
    return -1;
}

static hp_status hp_rules_read(const char *path, hp_buf *buf, hp_diags *d)
{
    char chunk[8192];
    hp_status st = HP_OK;
    int fd = hp_rules_open(path, d);
    if (fd < 0)
        return HP_ERR_IO;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            st = hp_rules_read_error(path, strerror(errno), d);
        if (n <= 0 || st != HP_OK)
            break;
        st = hp_buf_append(buf, chunk, (size_t)n);
        if (st == HP_OK && buf->len > HP_RULES_MAX_SIZE) {
            hp_diag_add(d, HP_DIAG_ERROR, NULL, NULL, "rules file '%s' is larger than %zu MiB",
                        path, HP_RULES_MAX_SIZE >> 20);
            st = HP_ERR_RULES;
        }
    }
    close(fd);
    return st;
}

static hp_status hp_rules_load_mode(const char *path, hp_hook_reqs *out, hp_diags *d,
                                   bool objects_later)
{
    if (!path || !out || !d)
        return HP_ERR_INTERNAL;
    memset(out, 0, sizeof *out);
    hp_buf buf = {0};
    hp_status st = hp_rules_read(path, &buf, d);
    if (st == HP_OK)
        st = hp_rules_parse_mode(path, (const char *)buf.data, buf.len, out, d, objects_later);
    else if (st == HP_ERR_NOMEM)
        hp_diag_add(d, HP_DIAG_ERROR, NULL, NULL, "out of memory while reading '%s'", path);
    hp_buf_free(&buf);
    return st;
}

hp_status hp_rules_load(const char *path, hp_hook_reqs *out, hp_diags *d)
{
    return hp_rules_load_mode(path, out, d, false);
}

hp_status hp_rules_load_deps(const char *path, hp_hook_reqs *out, hp_diags *d)
{
    return hp_rules_load_mode(path, out, d, true);
}
