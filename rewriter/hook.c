/* Hook requests (ownership lives in hp_hook_reqs; only freeing is needed
 * here) and what a resolved hook needs, which the planner (plan.c) and the
 * emitter (emit.c) both ask. */
#include "hook.h"
#include "rewriter.h"

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
    return h->orig || (h->req->action == HP_ACT_OBJECT && h->req->original);
}
