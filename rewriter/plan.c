/* The planner: runs the passes in order with an error checkpoint after
 * each, mold-style. Analysis decides per hook whether it goes ahead; an
 * exact target that cannot be hooked is an error, a glob's match is skipped
 * with the reason. */
#include "rewriter.h"
#include "inline.h"
#include "objects.h"

#include "../relocs/objlink.h"

#include "../sections/format.h"

#include <stdio.h>
#include <string.h>

bool hp_hook_needs_tramp(const hp_hook *h)
{
    return h->req->action == HP_ACT_PASSTHROUGH || hp_hook_needs_redirect(h);
}

bool hp_hook_needs_redirect(const hp_hook *h)
{
    return h->orig || (h->req->action == HP_ACT_OBJECT && h->req->original);
}

/* Room for a 5-byte jump within rel8 reach of every short branch back to
 * the entry: dead stolen bytes after the entry jump, or free padding after
 * the function. Returns 0 when there is none. */
static uint64_t hp_find_island(const hp_image *img, const hp_site *s)
{
    bool need = false;
    for (uint32_t i = 0; i < s->nredirects; i++)
        need |= s->redirect_len[i] == 2;
    if (!need)
        return 0;
    uint64_t cand[2] = {s->patch_va + 5, 0};
    size_t ncand = s->steal_len >= 10 ? 1 : 0;
    uint64_t end = s->fn_va + s->fn_size, from = end;
    if (s->patch_va + s->steal_len > from)
        from = s->patch_va + s->steal_len;
    const uint8_t *pad = hp_image_bytes(img, from, 5);
    if (pad && hp_image_next_sym_va(img, end - 1) >= from + 5) {
        bool free_pad = true;
        for (int k = 0; k < 5; k++)
            free_pad &= pad[k] == 0xcc || pad[k] == 0x90;
        if (free_pad)
            cand[ncand++] = from;
    }
    for (size_t c = 0; c < ncand; c++) {
        bool reach = true;
        for (uint32_t i = 0; i < s->nredirects; i++) {
            int64_t rel = (int64_t)(cand[c] - (s->redirect_va[i] + 2));
            if (s->redirect_len[i] == 2 && (rel < -128 || rel > 127))
                reach = false;
        }
        if (reach)
            return cand[c];
    }
    return UINT64_MAX;
}

static void hp_refuse(hp_hook *h, hp_diags *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void hp_refuse(hp_hook *h, hp_diags *d, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hp_free(h->skip_reason);
    h->skip_reason = hp_strdup(msg);
    h->state = HP_HOOK_SKIPPED;
    if (h->req->target_kind != HP_TGT_GLOB)
        hp_diag_add(d, HP_DIAG_ERROR, &h->req->target_loc, h->target->name,
                    "cannot hook at 0x%llx: %s", (unsigned long long)h->target->va, msg);
}

static void hp_analyze_one(hp_plan *p, hp_hook *h, hp_diags *d)
{
    char why[256] = "";
    bool tramp = hp_hook_needs_tramp(h);
    unsigned flags = (tramp ? HP_SITE_COPY : 0) |
                     (hp_hook_needs_redirect(h) ? HP_SITE_REDIRECTS : 0);
    if (hp_site_analyze(p->img, h->target, flags, &p->xrefs, &h->site, why, sizeof why) !=
        HP_OK) {
        hp_refuse(h, d, "%s", why);
        return;
    }
    if (tramp && h->site.copy_len < h->site.steal_len && h->site.nredirects) {
        hp_refuse(h, d, "the whole function fits in the jump and it branches back to its entry");
        return;
    }
    if (hp_hook_needs_redirect(h)) {
        h->island_va = hp_find_island(p->img, &h->site);
        if (h->island_va == UINT64_MAX) {
            hp_refuse(h, d, "a short branch at 0x%llx returns to the entry (Go's morestack "
                            "trailer or a loop) and there is no room for a jump island to "
                            "send it to the trampoline",
                      (unsigned long long)h->site.redirect_va[0]);
            return;
        }
    }
    if (h->orig) {
        if (hp_site_analyze(p->img, h->orig, 0, &p->xrefs, &h->orig_site, why, sizeof why) != HP_OK) {
            hp_diag_add(d, HP_DIAG_ERROR, &h->req->original_loc, h->target->name,
                        "original '%s' cannot be redirected: %s", h->orig->name, why);
            h->state = HP_HOOK_SKIPPED;
            h->skip_reason = hp_asprintf("original '%s' cannot be redirected", h->orig->name);
            return;
        }
    }
    if (h->site.over_endbr || (h->orig && h->orig_site.over_endbr))
        p->ed.removed_landing_pad = true;
}

static hp_status hp_analyze(hp_plan *p, hp_diags *d)
{
    if (p->img->prior_info) {
        hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){p->img->path, 0, 0}, NULL,
                    "already patched by hookpatch (it has hookpatch's section or segment); "
                    "patch the original binary instead");
        return HP_ERR_UNSUPPORTED;
    }
    if (p->n)
        HP_CHECK(hp_xrefs_build(p->img, &p->xrefs));
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED)
            hp_analyze_one(p, &p->v[i], d);
    p->nplanned = p->nskipped = 0;
    for (size_t i = 0; i < p->n; i++)
        p->v[i].state == HP_HOOK_PLANNED ? p->nplanned++ : p->nskipped++;
    return d->errors ? HP_ERR_UNHOOKABLE : HP_OK;
}

hp_status hp_plan_build(hp_image *img, const hp_hook_reqs *reqs, const hp_options *opt,
                        hp_diags *d, hp_plan *out)
{
    memset(out, 0, sizeof *out);
    out->img = img;
    HP_CHECK(hp_objects_load(out, reqs, d));
    HP_CHECK(hp_resolve(out, reqs, d));
    HP_CHECK(hp_analyze(out, d));
    HP_CHECK(hp_inline_check(out, opt, d));
    HP_CHECK(hp_measure(out));
    HP_CHECK(img->fmt->place(img, &out->lay));
    return hp_emit(out, d);
}

void hp_plan_free(hp_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        hp_free(p->v[i].skip_reason);
    hp_free(p->v);
    hp_edit_free(&p->ed);
    hp_xrefs_free(&p->xrefs);
    hp_objlink_free(p->objs);
    memset(p, 0, sizeof *p);
}
