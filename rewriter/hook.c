/* Hook requests (ownership lives in hp_hook_reqs; only freeing is needed
 * here), what a resolved hook needs, which the planner (plan.c) and the
 * emitter (emit.c) both ask, and how a hook is skipped with its reason,
 * which the resolver (resolve.c) and the planner both do. */
#include "hook.h"
#include "rewriter.h"

#include <stdarg.h>
#include <string.h>

static void hp_hook_req_free(hp_hook_req *h)
{
    hp_free(h->target);
    hp_free(h->replace);
    hp_free(h->original);
    hp_free(h->object);
    hp_free(h->object_path);
    hp_free(h->symbol);
}

void hp_hook_reqs_free(hp_hook_reqs *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        hp_hook_req_free(&r->v[i]);
    hp_free(r->v);
    hp_free(r->path);
    memset(r, 0, sizeof *r);
}

bool hp_hook_needs_tramp(const hp_hook *h)
{
    return h->req->action == HP_ACT_PASSTHROUGH || hp_hook_needs_redirect(h);
}

bool hp_hook_needs_redirect(const hp_hook *h)
{
    /* A switch's dispatch stub may lead to a function set at run time
     * that calls the original. */
    return h->orig || (h->req->action == HP_ACT_OBJECT && h->req->original) ||
           h->req->action == HP_ACT_SWITCH;
}

hp_status hp_hook_vskip(hp_hook *h, hp_diags *d, const char *fmt, va_list ap)
{
    h->state = HP_HOOK_SKIPPED;
    h->skip = d->n;
    hp_status s = hp_diag_vreason(d, &h->req->target_loc, h->target->name, h->target->va, fmt,
                                  ap);
    if (s != HP_OK)
        h->skip = HP_HOOK_NO_REASON;
    return s;
}

hp_status hp_hook_skip(hp_hook *h, hp_diags *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_status s = hp_hook_vskip(h, d, fmt, ap);
    va_end(ap);
    return s;
}

const char *hp_hook_skip_reason(const hp_hook *h, const hp_diags *d)
{
    bool ok = d && h->state == HP_HOOK_SKIPPED && h->skip < d->n &&
              d->v[h->skip].level == HP_DIAG_REASON;
    return ok ? d->v[h->skip].msg : "";
}
