/* How many absolute pointers a link may ask the loader to rebase: every
 * GOT slot and every 8-byte absolute relocation (R_X86_64_64,
 * R_AARCH64_ABS64) in a kept section. An upper bound (a
 * pointer to an absolute symbol is not rebased), known after measure, so
 * the backend can reserve its dynamic relocation table before emit. */
#include "objlink_priv.h"


uint64_t hp_objlink_abs_count(const hp_objlink *l)
{
    if (!l || !l->measured)
        return 0;
    uint64_t n = l->ngot;
    for (size_t i = 0; i < l->nobjs; i++) {
        const hp_obj *o = &l->objs[i];
        for (size_t k = 0; k < o->nrelas; k++)
            if (o->relas[k].type == l->arch->abs64_type && hp_obj_kept(&o->secs[o->relas[k].sec]))
                n++;
    }
    return n;
}
