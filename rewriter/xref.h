/* xref: every direct branch target that lands inside a function other than
 * at its start, collected from one decoding pass over every function of the
 * image, and the functions that do not decode. A hook must not overwrite
 * such a target, whether the branch comes from the function itself (a loop
 * back to its top) or from another one (glibc's assembly jumps from
 * __mempcpy_* into the first bytes of __memmove_*). Built once per run by the
 * planner and by `list`, so analysing a site needs no second full decode. */
#ifndef HP_XREF_H
#define HP_XREF_H

#include "../sections/image.h"

typedef struct hp_xrefs {
    uint64_t *v; /* sorted, unique */
    size_t n, cap;
    uint64_t *bad; /* functions that stop decoding before their end: va, then */
    uint64_t *bad_at; /* the address where decoding failed; sorted by va */
    size_t nbad, bad_cap, bad_at_cap;
} hp_xrefs;

hp_status hp_xrefs_build(const hp_image *img, hp_xrefs *out);
/* True when some target t satisfies lo < t < hi. */
bool hp_xrefs_any_in(const hp_xrefs *x, uint64_t lo, uint64_t hi);
/* For a function that did not decode, the address where it failed, else 0. */
uint64_t hp_xrefs_bad_at(const hp_xrefs *x, uint64_t fn_va);
void hp_xrefs_free(hp_xrefs *x);

#endif
