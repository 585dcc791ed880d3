/* xref: direct branch targets that land inside a function other than at
 * its start, collected from every function of the image. A hook must not
 * overwrite such a target (glibc's assembly, for one, jumps from
 * __mempcpy_* into the first bytes of __memmove_*). Built once per run by
 * the planner and by `list`. */
#ifndef HP_XREF_H
#define HP_XREF_H

#include "../sections/image.h"

typedef struct hp_xrefs {
    uint64_t *v; /* sorted, unique */
    size_t n, cap;
} hp_xrefs;

hp_status hp_xrefs_build(const hp_image *img, hp_xrefs *out);
/* True when some target t satisfies lo < t < hi. */
bool hp_xrefs_any_in(const hp_xrefs *x, uint64_t lo, uint64_t hi);
void hp_xrefs_free(hp_xrefs *x);

#endif
