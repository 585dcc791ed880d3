/* The planner: runs the passes in order with an error checkpoint after
 * each, mold-style. Analysis decides per hook whether it goes ahead; a
 * refused hook is skipped with the analysis's reason (an HP_DIAG_REASON it
 * indexes), and an exact target that cannot be hooked is an error too. */
#include "rewriter.h"
#include "inline.h"
#include "callsite.h"
#include "island.h"
#include "move.h"
#include "objects.h"
#include "switch.h"

#include "../base/hp_par.h"
#include "../base/hp_time.h"
#include "../relocs/objlink.h"

#include "../sections/format.h"

#include <stdio.h>
#include <string.h>

/* Whether every short branch back to the entry reaches an island at va
 * (retargeted on a copy: nothing is written). */
static bool hp_island_reaches(const hp_image *img, const hp_site *s, uint64_t va)
{
    for (uint32_t i = 0; i < s->nredirects; i++) {
        uint64_t at = hp_site_redirect_va(s, i);
        uint8_t len = s->redirect_len[i], copy[16];
        const uint8_t *old = hp_image_bytes(img, at, len);
        if (!old || len > sizeof copy)
            return false;
        memcpy(copy, old, len);
        if (s->arch->short_branch(old, len) && !s->arch->retarget(copy, len, at, va))
            return false;
    }
    return true;
}

/* Room for a near jump within reach of every short branch back to the
 * entry: dead stolen bytes after the entry jump, or free padding after the
 * function. Returns 0 when there is none needed, UINT64_MAX when there is
 * no room. */
static uint64_t hp_find_island(const hp_image *img, const hp_site *s)
{
    const hp_arch *a = s->arch;
    bool need = false;
    for (uint32_t i = 0; i < s->nredirects; i++) {
        const uint8_t *old = hp_image_bytes(img, hp_site_redirect_va(s, i), s->redirect_len[i]);
        need |= !old || a->short_branch(old, s->redirect_len[i]);
    }
    if (!need)
        return 0;
    uint64_t il = a->jump(NULL, 0, 0, false, 0), used = s->head_len + il;
    uint64_t cand[2] = {s->patch_va + used, 0};
    size_t ncand = s->steal_len >= used + il && !s->far ? 1 : 0;
    uint64_t end = s->fn_va + s->fn_size, from = end;
    if (s->patch_va + s->steal_len > from)
        from = s->patch_va + s->steal_len;
    const uint8_t *pad = hp_image_bytes(img, from, il);
    if (pad && hp_image_next_sym_va(img, end - 1) >= from + il && a->free_pad(pad, il) &&
        from % a->insn_align == 0)
        cand[ncand++] = from;
    for (size_t c = 0; c < ncand; c++)
        if (hp_island_reaches(img, s, cand[c]))
            return cand[c];
    return UINT64_MAX;
}

/* Skip h for a reason (its HP_DIAG_REASON); an exact target that cannot be
 * hooked is an error too, quoting the reason. */
static hp_status hp_refuse(hp_hook *h, hp_diags *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static hp_status hp_refuse(hp_hook *h, hp_diags *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_status s = hp_hook_vskip(h, d, fmt, ap);
    va_end(ap);
    if (s != HP_OK || h->req->target_kind == HP_TGT_GLOB)
        return s;
    if (h->req->action == HP_ACT_MARKER)
        return hp_diag_add(d, HP_DIAG_ERROR, &h->req->target_loc, h->target->name,
                           "cannot replace hookpatch's marker function at 0x%llx, so the switch "
                           "helpers could not find the switch table: %s",
                           (unsigned long long)h->target->va, hp_hook_skip_reason(h, d));
    return hp_diag_add(d, HP_DIAG_ERROR, &h->req->target_loc, h->target->name,
                       "cannot hook at 0x%llx: %s", (unsigned long long)h->target->va,
                       hp_hook_skip_reason(h, d));
}

static hp_status hp_refuse_orig(hp_hook *h, hp_diags *d, const char *why)
{
    HP_CHECK(hp_diag_add(d, HP_DIAG_ERROR, &h->req->original_loc, h->target->name,
                         "original '%s' cannot be redirected: %s", h->orig->name, why));
    return hp_hook_skip(h, d, "original '%s' cannot be redirected", h->orig->name);
}

/* The reason an analysis gave (it gives one per refusal; "" for a status
 * that comes without one). */
static const char *hp_reason_of(const hp_diags *why)
{
    return why->n ? why->v[why->n - 1].msg : "";
}

/* The entries of all planned hooks, decoded on every core (site analysis
 * only reads the image). Each hook's refusal goes to a list of its own; the
 * serial pass takes them in hook order into the run's list, so what is
 * reported does not depend on the number of threads. */
typedef struct hp_site_job {
    hp_plan *p;
    hp_status *st; /* per hook */
    hp_diags *why; /* per hook */
} hp_site_job;

static void hp_site_one(void *vj, size_t i)
{
    hp_site_job *j = vj;
    hp_hook *h = &j->p->v[i];
    if (h->state != HP_HOOK_PLANNED)
        return;
    unsigned flags = HP_SITE_XREFS_LATER | (hp_hook_needs_tramp(h) ? HP_SITE_COPY : 0) |
                     (hp_hook_needs_redirect(h) ? HP_SITE_REDIRECTS : 0) |
                     (j->p->far ? HP_SITE_FAR : 0);
    j->st[i] = hp_site_analyze(j->p->img, h->target, flags, NULL, &h->site, &j->why[i]);
}

/* The `original =` function's entry, analysed serially (one per hook). */
static hp_status hp_analyze_orig(hp_plan *p, hp_hook *h, hp_diags *d)
{
    h->orig_site = hp_malloc(sizeof *h->orig_site);
    if (!h->orig_site)
        return HP_ERR_NOMEM;
    hp_diags why = {0};
    unsigned flags = HP_SITE_XREFS_LATER | (p->far ? HP_SITE_FAR : 0);
    hp_status s = hp_site_analyze(p->img, h->orig, flags, NULL, h->orig_site, &why);
    if (s != HP_OK && s != HP_ERR_NOMEM)
        s = hp_refuse_orig(h, d, hp_reason_of(&why));
    hp_diags_free(&why);
    return s;
}

/* Whether h may be hooked at its call sites when its entry takes no jump:
 * the architecture must re-point them, and the hook must not be a switch,
 * whose helpers look the function up by its address (call sites give code
 * that takes the address the hook's instead). */
static bool hp_callsites_allowed(const hp_plan *p, const hp_hook *h)
{
    return p->arch->retarget_addr && h->req->action != HP_ACT_SWITCH;
}

static hp_status hp_analyze_one(hp_plan *p, hp_hook *h, hp_status site_st,
                                const hp_diags *site_why, hp_diags *d)
{
    if (site_st == HP_ERR_NOMEM)
        return site_st;
    /* Too short for the jump and the short jump: hooked at its call sites
     * (judged once they are found, hp_judge_callsites). */
    if (site_st == HP_ERR_UNHOOKABLE && h->site.too_short && hp_callsites_allowed(p, h))
        hp_site_use_callsites(&h->site);
    /* A loop of its own lands in the bytes the jump would take: call
     * sites, or an island in moved code for a shorter steal
     * (hp_judge_callsites). */
    else if (site_st == HP_ERR_UNHOOKABLE && h->site.branch_inside && hp_callsites_allowed(p, h))
        hp_site_use_callsites_for_branch(&h->site);
    else if (site_st != HP_OK)
        return hp_refuse(h, d, "%s", hp_reason_of(site_why));
    if (hp_hook_needs_redirect(h) && h->site.far && h->site.nredirects)
        return hp_refuse(h, d, "a branch at 0x%llx returns to the entry, and the trampoline "
                               "is out of its reach (far layout)",
                         (unsigned long long)hp_site_redirect_va(&h->site, 0));
    if (h->site.island && h->site.nredirects)
        return hp_refuse(h, d, "a branch at 0x%llx returns to the entry, which is too short "
                               "for the jump and would take a short jump to an island: not "
                               "supported together",
                         (unsigned long long)hp_site_redirect_va(&h->site, 0));
    if (hp_hook_needs_redirect(h)) {
        h->island_va = hp_find_island(p->img, &h->site);
        if (h->island_va == UINT64_MAX)
            return hp_refuse(h, d, "a short branch at 0x%llx returns to the entry (Go's "
                                   "morestack trailer or a loop) and there is no room for a "
                                   "jump island to send it to the trampoline",
                             (unsigned long long)hp_site_redirect_va(&h->site, 0));
    }
    return h->orig ? hp_analyze_orig(p, h, d) : HP_OK;
}

/* Each range of the image the planned hook h writes: its stolen bytes
 * (and its `original =` function's), its islands (the entry's, the one
 * for branches back to the entry, its call sites'), its call sites'
 * address computations, the code moved for its island. The one list that
 * islands avoid (hp_take_ranges) and that branches must not land in
 * (hp_watch_stolen). */
static hp_status hp_hook_ranges(const hp_plan *p, const hp_hook *h, hp_range_fn fn, void *ctx)
{
    const hp_site *s = &h->site, *o = h->orig ? h->orig_site : NULL;
    uint64_t il = p->arch->jump(NULL, 0, 0, false, 0);
    HP_CHECK(fn(ctx, s->patch_va, s->patch_va + s->steal_len, false));
    if (s->island_va)
        HP_CHECK(fn(ctx, s->island_va, s->island_va + il, true));
    if (h->island_va)
        HP_CHECK(fn(ctx, h->island_va, h->island_va + il, true));
    if (o)
        HP_CHECK(fn(ctx, o->patch_va, o->patch_va + o->steal_len, false));
    if (o && o->island_va)
        HP_CHECK(fn(ctx, o->island_va, o->island_va + il, true));
    if (h->cs)
        HP_CHECK(hp_callsites_ranges(p, h, fn, ctx));
    if (h->move) {
        const hp_site *run = &p->moves[h->move - 1].run;
        HP_CHECK(fn(ctx, run->patch_va, run->patch_va + run->steal_len, false));
    }
    return HP_OK;
}

static hp_status hp_take_range(void *ctx, uint64_t lo, uint64_t hi, bool island)
{
    (void)island;
    return hp_islands_take(ctx, lo, hi);
}

/* Take the bytes every planned hook writes in the image. */
static hp_status hp_take_ranges(const hp_plan *p, hp_islands *t)
{
    hp_status s = HP_OK;
    for (size_t i = 0; s == HP_OK && i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED)
            s = hp_hook_ranges(p, &p->v[i], hp_take_range, t);
    return s;
}

/* Give s an island, or refuse h: the original's entry (orig) or the
 * target's. */
static hp_status hp_island_one(hp_plan *p, hp_hook *h, hp_site *s, bool orig, hp_islands *t,
                               hp_diags *d)
{
    if (!s->island || h->state != HP_HOOK_PLANNED)
        return HP_OK;
    s->island_va = hp_island_find(p->img, s, t);
    uint64_t il = p->arch->jump(NULL, 0, 0, false, 0);
    if (s->island_va)
        return hp_islands_take(t, s->island_va, s->island_va + il);
    if (!orig && hp_callsites_allowed(p, h)) {
        hp_site_use_callsites(s); /* the next technique (hp_judge_callsites) */
        return HP_OK;
    }
    char why[512];
    snprintf(why, sizeof why,
             "too short: %llu bytes and no free padding after it for the %llu-byte jump, and "
             "no free padding (%llu bytes of int3/nop owned by no function%s) within the "
             "%u-byte short jump's reach for an island; %s", (unsigned long long)s->fn_size,
             (unsigned long long)il, (unsigned long long)il,
             t->n > 1 ? ", not taken by another hook" : "", p->arch->short_jump_len,
             orig ? "call sites are not redirected to an `original =` function's trampoline"
             : h->req->action == HP_ACT_SWITCH
                 ? "call sites are not used for a switch (code that takes the function's "
                   "address would get the hook's, which hookpatch_set cannot look up)"
                 : "call-site redirection is not available on this architecture");
    return orig ? hp_refuse_orig(h, d, why) : hp_refuse(h, d, "%s", why);
}

/* A target hooked at its call sites: refused when nothing reaching it
 * could be re-pointed; with some places missed, a glob's match is skipped
 * (a partial hook of a function nobody named would be a surprise) and an
 * exact target is hooked with a warning naming them (an error under
 * --strict). */
static hp_status hp_judge_callsites(hp_plan *p, hp_hook *h, hp_islands *t, hp_diags *d)
{
    char miss[1536], why[2048], mv[512];
    if (h->cs->n && !h->cs->nmiss)
        return HP_OK;
    bool moved;
    HP_CHECK(hp_move_for(p, h, t, &moved, mv, sizeof mv));
    if (moved)
        return HP_OK;
    hp_callsites_describe(p, h, miss, sizeof miss);
    if (!h->cs->n) {
        hp_callsites_refusal(p, h, why, sizeof why);
        return hp_refuse(h, d, "%s%s%s%s", why, *mv ? "; and an island in moved code (" : "",
                         mv, *mv ? ")" : "");
    }
    char mvs[560] = "";
    if (*mv)
        snprintf(mvs, sizeof mvs, "; an island in moved code: %s", mv);
    if (h->req->target_kind == HP_TGT_GLOB && h->site.branch_len)
        return hp_hook_skip(h, d, "a branch lands inside the %u bytes the jump would overwrite, "
                            "and %zu place(s) reaching it could not be redirected to call "
                            "sites: %s%s", h->site.branch_len, h->cs->nmiss, miss, mvs);
    if (h->req->target_kind == HP_TGT_GLOB)
        return hp_hook_skip(h, d, "too short for the jump, and %zu place(s) reaching it could "
                            "not be redirected to call sites: %s%s", h->cs->nmiss, miss, mvs);
    return hp_diag_add_flagged(d, HP_DIAG_MAY_NOT_TAKE_EFFECT, &h->req->target_loc,
                               h->target->name, "hooked at %zu call site(s), but %zu place(s) "
                               "reaching 0x%llx were not redirected, and the hook does not run "
                               "from them: %s%s", h->cs->n, h->cs->nmiss,
                               (unsigned long long)h->target->va, miss, mvs);
}

/* Islands for the entries too short for the jump, in hook order, after
 * every hook's own bytes are taken: deterministic, and no two patches
 * overlap. */
static hp_status hp_assign_islands(hp_plan *p, hp_diags *d)
{
    hp_islands t = {0};
    hp_status s = hp_take_ranges(p, &t);
    for (size_t i = 0; s == HP_OK && i < p->n; i++) {
        hp_hook *h = &p->v[i];
        s = hp_island_one(p, h, &h->site, false, &t, d);
        if (s == HP_OK && h->orig && h->orig_site)
            s = hp_island_one(p, h, h->orig_site, true, &t, d);
    }
    /* Then the call sites of those that got no island, whose short
     * branches take islands from what is left. */
    if (s == HP_OK)
        s = hp_callsites_plan(p, &t);
    for (size_t i = 0; s == HP_OK && i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED && p->v[i].site.callsites)
            s = hp_judge_callsites(p, &p->v[i], &t, d);
    hp_islands_free(&t);
    return s;
}

typedef struct hp_watch {
    hp_xref_range *v;
    size_t n, cap;
} hp_watch;

static hp_status hp_watch_range(void *ctx, uint64_t lo, uint64_t hi, bool island)
{
    hp_watch *w = ctx;
    HP_CHECK(HP_GROW(w->v, w->cap, w->n + 1));
    w->v[w->n++] = hp_range_watch(lo, hi, island);
    return HP_OK;
}

/* Build the branch-target table for exactly the bytes the planned hooks
 * write, now that their entries are decoded. */
static hp_status hp_watch_stolen(hp_plan *p)
{
    hp_watch w = {0};
    hp_xref_range none;
    hp_status s = HP_OK;
    for (size_t i = 0; s == HP_OK && i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED)
            s = hp_hook_ranges(p, &p->v[i], hp_watch_range, &w);
    /* (never NULL: hp_xrefs_build reads NULL as "every function's entry") */
    if (s == HP_OK)
        s = hp_xrefs_build(p->img, w.v ? w.v : &none, w.n, &p->xrefs);
    hp_free(w.v);
    return s;
}

/* A branch into the island at va (fn's) makes it unusable (a loop to it,
 * or code the symbols do not show); the reason says "[lead]a branch lands
 * in the padding at VA chosen for what". */
static hp_status hp_check_island(const hp_plan *p, uint64_t fn, uint64_t va, const char *lead,
                                 const char *what, hp_diags *why)
{
    hp_xref_range r = hp_island_watch(p->arch, va);
    if (!va || !hp_xrefs_any_in(&p->xrefs, r.lo, r.hi))
        return HP_OK;
    hp_status st = hp_diag_reason(why, NULL, NULL, fn, "%sa branch lands in the padding at "
                                  "0x%llx chosen for %s", lead, (unsigned long long)va, what);
    return st == HP_OK ? HP_ERR_UNHOOKABLE : st;
}

/* The same for s's island, the short jump's at its entry. */
static hp_status hp_check_site_island(const hp_plan *p, const hp_site *s, hp_diags *why)
{
    return hp_check_island(p, s->fn_va, s->island_va, "too short for the jump, and ",
                           "its island", why);
}

/* A branch from another function into a run moved for an island would
 * land in its dead bytes. */
static hp_status hp_check_move(const hp_plan *p, const hp_hook *h, hp_diags *why)
{
    const hp_move *m = &p->moves[h->move - 1];
    const hp_site *r = &m->run;
    if (!hp_xrefs_any_in(&p->xrefs, r->patch_va, r->patch_va + r->steal_len))
        return HP_OK;
    hp_status st = hp_diag_reason(why, NULL, NULL, h->site.fn_va,
                                  "a branch lands in the instructions at 0x%llx (%s) moved to "
                                  "make room for its entry's island",
                                  (unsigned long long)r->patch_va, m->donor->name);
    return st == HP_OK ? HP_ERR_UNHOOKABLE : st;
}

/* The checks hp_analyze_one left for the table. */
static hp_status hp_check_stolen(hp_plan *p, hp_hook *h, hp_diags *d)
{
    hp_diags why = {0};
    bool orig = false;
    hp_status s = hp_site_check_xrefs(&h->site, &p->xrefs, &why);
    /* A branch lands in the bytes the jump would overwrite (a loop head
     * right after the entry at -Os): leave the entry alone and take the
     * call sites instead (hp_branch_callsites, once every hook is
     * checked). */
    if (s == HP_ERR_UNHOOKABLE && !h->site.island && !h->cs && hp_callsites_allowed(p, h)) {
        hp_site_use_callsites_for_branch(&h->site);
        h->island_va = 0; /* no branch back to the entry is re-pointed */
        hp_diags_free(&why);
        s = HP_OK;
    }
    if (s == HP_OK)
        s = hp_check_site_island(p, &h->site, &why);
    if (s == HP_OK)
        s = hp_check_island(p, h->site.fn_va, h->island_va, "", "the island that sends "
                            "branches back to the entry to the trampoline", &why);
    if (s == HP_OK && h->move)
        s = hp_check_move(p, h, &why);
    uint64_t at;
    if (s == HP_OK && hp_callsites_landed(p, h, &at)) {
        s = hp_diag_reason(&why, NULL, NULL, h->site.fn_va, "hooked at its call sites, and a "
                           "branch lands in the bytes at 0x%llx one of them writes (an island "
                           "or an address computation)", (unsigned long long)at);
        s = s == HP_OK ? HP_ERR_UNHOOKABLE : s;
    }
    if (s == HP_OK && h->orig) {
        orig = true;
        s = hp_site_check_xrefs(h->orig_site, &p->xrefs, &why);
        if (s == HP_OK)
            s = hp_check_site_island(p, h->orig_site, &why);
    }
    if (s == HP_ERR_UNHOOKABLE)
        s = orig ? hp_refuse_orig(h, d, hp_reason_of(&why))
                 : hp_refuse(h, d, "%s", hp_reason_of(&why));
    else if (s == HP_OK && (h->site.over_endbr || (h->orig && h->orig_site->over_endbr)))
        p->ed.removed_landing_pad = true;
    /* A far jump back from a trampoline is an indirect branch into the
     * middle of the function, where there is no landing pad. */
    else if (s == HP_OK && p->far && p->img->ibt && hp_hook_needs_tramp(h))
        p->ed.removed_landing_pad = true;
    hp_diags_free(&why);
    return s;
}

/* Decode every planned entry in parallel, then judge each in hook order. */
static hp_status hp_analyze_entries(hp_plan *p, hp_diags *d)
{
    hp_site_job j = {p, hp_calloc(p->n, sizeof *j.st), hp_calloc(p->n, sizeof *j.why)};
    hp_status s = j.st && j.why ? HP_OK : HP_ERR_NOMEM;
    if (s == HP_OK)
        hp_par_for(p->n, 256, 4096, hp_site_one, &j);
    for (size_t i = 0; s == HP_OK && i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED)
            s = hp_analyze_one(p, &p->v[i], j.st[i], &j.why[i], d);
    if (s == HP_OK)
        s = hp_assign_islands(p, d);
    for (size_t i = 0; j.why && i < p->n; i++)
        hp_diags_free(&j.why[i]);
    hp_free(j.st);
    hp_free(j.why);
    return s;
}

/* Call sites for the entries hp_check_stolen gave up (a branch lands in
 * their first bytes): found once every other hook is settled, with
 * islands for their short branches taken from what every planned hook
 * left, then judged; the branch table is built again so that their
 * islands are checked like the others. */
static hp_status hp_branch_callsites(hp_plan *p, hp_diags *d)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += p->v[i].state == HP_HOOK_PLANNED && p->v[i].site.branch_len && !p->v[i].cs;
    if (!n)
        return HP_OK;
    hp_islands t = {0};
    hp_status s = hp_take_ranges(p, &t);
    if (s == HP_OK)
        s = hp_callsites_plan(p, &t);
    for (size_t i = 0; s == HP_OK && i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED && p->v[i].site.branch_len)
            s = hp_judge_callsites(p, &p->v[i], &t, d);
    hp_islands_free(&t);
    if (s != HP_OK)
        return s;
    hp_xrefs_free(&p->xrefs);
    HP_CHECK(hp_watch_stolen(p));
    for (size_t i = 0; s == HP_OK && i < p->n; i++) {
        hp_hook *h = &p->v[i];
        if (h->state == HP_HOOK_PLANNED && (h->site.branch_len || h->move))
            s = hp_check_stolen(p, h, d);
    }
    return s;
}

/* The branches into the stolen bytes, from anywhere in the image. */
static hp_status hp_analyze_xrefs(hp_plan *p, hp_diags *d)
{
    hp_status s = p->n ? hp_watch_stolen(p) : HP_OK;
    if (s != HP_OK) {
        if (s != HP_ERR_NOMEM)
            hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){p->img->path, 0, 0}, NULL,
                        "cannot scan the code for branches into the hooked entries: %s",
                        hp_status_str(s));
        return s;
    }
    for (size_t i = 0; s == HP_OK && i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED)
            s = hp_check_stolen(p, &p->v[i], d);
    return s == HP_OK ? hp_branch_callsites(p, d) : s;
}

static hp_status hp_analyze(hp_plan *p, hp_diags *d)
{
    if (p->img->prior_info) {
        hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){p->img->path, 0, 0}, NULL,
                    "already patched by hookpatch (it has hookpatch's section or segment); "
                    "patch the original binary instead");
        return HP_ERR_UNSUPPORTED;
    }
    HP_CHECK(hp_analyze_entries(p, d));
    hp_timing_mark("analyze");
    HP_CHECK(hp_analyze_xrefs(p, d));
    hp_timing_mark("xrefs");
    p->nplanned = p->nskipped = p->nown = 0;
    for (size_t i = 0; i < p->n; i++) {
        bool planned = p->v[i].state == HP_HOOK_PLANNED;
        if (p->v[i].req->action == HP_ACT_MARKER)
            p->nown += planned; /* a refused marker is an error of its own */
        else
            planned ? p->nplanned++ : p->nskipped++;
    }
    p->analysed = true;
    return d->errors > p->errors_before ? HP_ERR_UNHOOKABLE : HP_OK;
}

void hp_plan_warn_unpatched(const hp_image *img, hp_diags *d)
{
    const char *outer = d->slice;
    for (size_t i = 0; i < img->nslices; i++) {
        const hp_slice *u = &img->slices[i];
        if (u->img)
            continue;
        d->slice = u->arch;
        hp_diag_add_flagged(d, HP_DIAG_MAY_NOT_TAKE_EFFECT, &(hp_loc){img->path, 0, 0}, NULL,
                            "copied unpatched (offset 0x%llx, %llu bytes): %s, so the hooks do "
                            "not take effect where the file runs as %s",
                            (unsigned long long)u->file_off, (unsigned long long)u->size,
                            u->why ? u->why : "unsupported", u->arch);
    }
    d->slice = outer;
}

static hp_status hp_plan_passes(hp_image *img, const hp_hook_reqs *reqs,
                                const hp_options *opt, hp_diags *d, hp_plan *out)
{
    HP_CHECK(hp_objects_load(out, reqs, d));
    hp_timing_mark("objects");
    HP_CHECK(hp_resolve(out, reqs, d));
    hp_timing_mark("resolve");
    HP_CHECK(hp_analyze(out, d));
    HP_CHECK(hp_inline_check(out, opt, d));
    hp_timing_mark("inlining");
    HP_CHECK(hp_measure(out, d));
    HP_CHECK(img->fmt->place(img, &out->lay));
    hp_timing_mark("layout");
    hp_status s = hp_emit(out, d);
    hp_timing_mark("emit");
    return s;
}

/* Whether the prologue jumps take the far form. Decided before analysis,
 * since it sets how many bytes each entry gives up. The layout puts the new
 * code above the image's end or its file's end mirrored into the address
 * space, whichever is higher (hp_layout), so an image whose span or file,
 * plus room for the new regions, exceeds the near jump's reach might get
 * it out of reach; for every ordinary image the near form reaches. */
#define HP_FAR_MARGIN ((uint64_t)32 << 20)
static bool hp_plan_far(const hp_image *img, const hp_arch *a, const hp_options *opt)
{
    if (!a->has_far)
        return false;
    uint64_t span = hp_image_end_va(img) - img->base_va;
    if (img->size > span)
        span = img->size;
    return opt->test_far || span + HP_FAR_MARGIN > a->near_reach;
}

hp_status hp_plan_build(hp_image *img, const hp_hook_reqs *reqs, const hp_options *opt,
                        hp_diags *d, hp_plan *out)
{
    memset(out, 0, sizeof *out);
    out->img = img;
    out->errors_before = d->errors;
    out->arch = hp_arch_for(img);
    out->far = hp_plan_far(img, out->arch, opt);
    out->no_move = opt->no_move;
    out->lay.far = out->far && opt->test_far;
    hp_status s = hp_plan_passes(img, reqs, opt, d, out);
    /* --strict: the one place where "may not take effect" becomes an error. */
    if (opt->strict && hp_diags_promote(d, HP_DIAG_MAY_NOT_TAKE_EFFECT) && s == HP_OK)
        s = HP_ERR_UNHOOKABLE;
    return s;
}

void hp_plan_free(hp_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        hp_free(p->v[i].orig_site);
        hp_callsites_free(p->v[i].cs);
    }
    hp_free(p->v);
    hp_free(p->moves);
    if (p->code)
        hp_code_map_free(p->code);
    hp_free(p->code);
    hp_edit_free(&p->ed);
    hp_xrefs_free(&p->xrefs);
    hp_objlink_free(p->objs);
    hp_switch_free(p->sw);
    memset(p, 0, sizeof *p);
}
