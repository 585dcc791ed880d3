/* Object-file replacements: glue between the planner and the linker. */
#include "objects.h"

#include "../relocs/objlink.h"

#include <stdio.h>
#include <string.h>

hp_status hp_objects_load(hp_plan *p, const hp_hook_reqs *reqs, hp_diags *d)
{
    hp_status first = HP_OK;
    for (size_t i = 0; i < reqs->n; i++) {
        const hp_hook_req *r = &reqs->v[i];
        if (r->action != HP_ACT_OBJECT)
            continue;
        if (!p->objs)
            HP_CHECK(hp_objlink_new(p->img->machine, &p->objs));
        size_t obj;
        hp_status s = hp_objlink_add(p->objs, r->object_path, &r->action_loc, d, &obj);
        if (s == HP_ERR_NOMEM)
            return s;
        if (s != HP_OK && first == HP_OK)
            first = s;
    }
    return first;
}

hp_status hp_objects_check(hp_plan *p, hp_hook *h, hp_diags *d)
{
    const hp_hook_req *r = h->req;
    /* hp_objects_load has loaded every object the rules name. */
    if (!p->objs || !hp_objlink_find(p->objs, r->object_path, &h->obj))
        return HP_ERR_INTERNAL;
    if (hp_objlink_defines(p->objs, h->obj, r->symbol))
        return HP_OK;
    const char *sec = hp_objlink_section_of(p->objs, h->obj, r->symbol);
    if (sec) {
        hp_diag_add(d, HP_DIAG_ERROR, &r->symbol_loc, r->target,
                    "object '%s': '%s' is in section '%s', which is not executable code",
                    r->object, r->symbol, sec);
        return HP_ERR_RULES;
    }
    hp_diag_add(d, HP_DIAG_ERROR, &r->symbol_loc, r->target,
                "object '%s' defines no function '%s'", r->object, r->symbol);
    return HP_ERR_RESOLVE;
}

hp_status hp_objects_measure(hp_plan *p, uint64_t text_used, hp_diags *d)
{
    if (!p->objs)
        return HP_OK;
    uint64_t size[HP_REGION_COUNT] = {0};
    HP_CHECK(hp_objlink_measure(p->objs, text_used, size, d));
    p->lay.size[HP_REGION_TEXT] = text_used + size[HP_REGION_TEXT];
    p->lay.size[HP_REGION_RODATA] = size[HP_REGION_RODATA];
    p->lay.size[HP_REGION_DATA] = size[HP_REGION_DATA];
    p->lay.nabs_ptrs = hp_objlink_abs_count(p->objs);
    p->data_filesz = hp_objlink_data_filesz(p->objs);
    return HP_OK;
}

hp_status hp_objects_dest(const hp_plan *p, const hp_hook *h, uint64_t *va)
{
    return hp_objlink_symbol_va(p->objs, h->obj, h->req->symbol, &p->ed, va);
}

typedef struct hp_lookup_ctx {
    const hp_image *img;
} hp_lookup_ctx;

/* Names the objects leave undefined: a function or data of the binary, or
 * the PLT entry of a function it imports. */
static hp_status hp_objects_lookup(void *vctx, const char *name, uint64_t *va)
{
    const hp_image *img = ((hp_lookup_ctx *)vctx)->img;
    char plt[512];
    snprintf(plt, sizeof plt, "%s@plt", name);
    const hp_symbol *via_plt = NULL;
    for (size_t i = 0; i < img->nsyms; i++) {
        const hp_symbol *s = &img->syms[i];
        if (s->source != HP_SRC_PLT && hp_symbol_matches(s, name)) {
            *va = s->va;
            return HP_OK;
        }
        if (s->source == HP_SRC_PLT && !via_plt && !strcmp(s->name, plt))
            via_plt = s;
    }
    if (!via_plt)
        return HP_ERR_RESOLVE;
    *va = via_plt->va;
    return HP_OK;
}

hp_status hp_objects_emit(hp_plan *p, hp_diags *d)
{
    if (!p->objs)
        return HP_OK;
    for (size_t i = 0; i < p->n; i++) {
        const hp_hook *h = &p->v[i];
        if (h->state == HP_HOOK_PLANNED && h->req->action == HP_ACT_OBJECT && h->req->original)
            HP_CHECK(hp_objlink_bind(p->objs, h->req->original,
                                     p->ed.regions[HP_REGION_TEXT].va + h->tramp_off));
    }
    hp_lookup_ctx ctx = {p->img};
    return hp_objlink_emit(p->objs, &p->ed, p->img->pic, hp_objects_lookup, &ctx, d);
}
