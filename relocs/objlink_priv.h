/* objlink_priv: the linker's own state, shared by objlink.c (loading,
 * queries, layout), objlink_emit.c (resolution, relocation, commit) and
 * objlink_count.c. The objects themselves are the neutral model of
 * sections/object.h, which the format readers fill. */
#ifndef HP_OBJLINK_PRIV_H
#define HP_OBJLINK_PRIV_H

#include "objlink.h"
#include "../sections/object.h"

#define HP_OL_VA_ALIGN 16u /* the least alignment promised for region VAs */
#define HP_OL_GOT_SYM "_GLOBAL_OFFSET_TABLE_"

typedef struct hp_ol_bind {
    char *name;
    uint64_t va;
} hp_ol_bind;

struct hp_objlink {
    hp_obj *objs;
    size_t nobjs, objs_cap;
    hp_map globals; /* name -> (object, symbol) of the winning definition */
    hp_map comdats; /* COMDAT signature -> providing object */
    hp_map bindmap; /* name -> index into binds */
    hp_ol_bind *binds;
    size_t nbinds, binds_cap;
    /* Layout (measure). Offsets of sections are relative to each region's
     * anchor; see the comment at the top. */
    bool measured;
    uint64_t text_used;
    uint64_t start[HP_REGION_COUNT];    /* region offset where objects may begin */
    uint64_t maxalign[HP_REGION_COUNT]; /* largest section alignment */
    uint64_t span[HP_REGION_COUNT];     /* anchor-relative end of the last section */
    uint64_t size[HP_REGION_COUNT];     /* measured sizes (as returned) */
    uint64_t data_filespan;             /* anchor-relative end of the GOT */
    uint64_t data_filesz;
    uint64_t got_off; /* anchor-relative */
    uint32_t ngot;
};

static inline void hp_ol_region_vas(const hp_edit *ed, uint64_t va[HP_REGION_COUNT])
{
    for (int r = 0; r < HP_REGION_COUNT; r++)
        va[r] = ed->regions[r].va;
}

/* The winning definition of a global name, and its object. */
const hp_obj_sym *hp_ol_global_def(const hp_objlink *l, const char *name, size_t *obj);
/* The `original` binding for an undefined name of object o, or NULL. In a
 * format whose C names carry an underscore (Mach-O) "_f" also finds a
 * binding of "f" (rules use C names, hp_c_name). */
const hp_ol_bind *hp_ol_find_bind(const hp_objlink *l, const hp_obj *o, const char *name);
/* Region offset of region r's anchor once the region sits at va. */
uint64_t hp_ol_anchor(const hp_objlink *l, int r, uint64_t va);
/* Address of a defined symbol of object o with regions at va[]. */
uint64_t hp_ol_def_va(const hp_objlink *l, const hp_obj *o, const hp_obj_sym *s,
                      const uint64_t va[HP_REGION_COUNT]);

#endif
