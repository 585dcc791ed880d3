/* Hook requests: ownership lives in hp_hook_reqs; only freeing is needed here. */
#include "hook.h"

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
