/* objlink_priv: the linker's own state, shared by objlink.c (loading,
 * queries, layout), objlink_emit.c (resolution, relocation, commit),
 * objlink_count.c and the per-architecture files (objlink_x86.c,
 * objlink_arm64.c: objlink_arch.h). The objects themselves are the neutral
 * model of sections/object.h, which the format readers fill. */
#ifndef HP_OBJLINK_PRIV_H
#define HP_OBJLINK_PRIV_H

#include "objlink.h"
#include "objlink_arch.h"
#include "../sections/object.h"

#define HP_OL_VA_ALIGN 16u /* the least alignment promised for region VAs */
#define HP_OL_GOT_SYM "_GLOBAL_OFFSET_TABLE_"

typedef struct hp_ol_bind {
    char *name;
    uint64_t va;
} hp_ol_bind;

/* A branch veneer: one per (object, symbol, addend) that a relocation
 * the architecture may route through a veneer refers to. */
typedef struct hp_ol_veneer {
    uint32_t obj, sym;
    int64_t addend;
} hp_ol_veneer;

struct hp_objlink {
    hp_machine machine;      /* the image's; every object must match */
    const hp_ol_arch *arch;  /* hp_ol_arch_for(machine) */
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
    hp_ol_veneer *ven; /* sorted by (obj, sym, addend), unique */
    size_t nven, ven_cap;
    uint64_t ven_off;  /* anchor-relative offset of the first veneer (text) */
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

/* The index of the veneer for (obj, sym, addend), or SIZE_MAX. */
size_t hp_ol_veneer_find(const hp_objlink *l, uint32_t obj, uint32_t sym, int64_t addend);

/* ---- applying one relocation (objlink_emit.c and objlink_<arch>.c) ---- */

struct hp_ol_out; /* the output under construction (objlink_emit.c) */

typedef struct hp_ol_rel {
    struct hp_ol_out *out;
    const hp_obj *o;
    const hp_obj_rela *r;
    const hp_obj_sym *sym;
    int region;       /* of the section holding the field */
    uint8_t *p;       /* the bytes being patched */
    uint64_t P, S, G; /* place, symbol, GOT slot address (0 when none) */
    int64_t A;
    bool pic;         /* the output is position-independent */
    uint64_t got_base; /* address of the GOT (_GLOBAL_OFFSET_TABLE_) */
    uint8_t *veneer;  /* the veneer reserved for this branch, or NULL */
    uint64_t V;       /* its address */
    hp_status st;
} hp_ol_rel;

/* Report a problem with relocation x: "section 'S' offset 0xO: " + fmt,
 * naming the object at its rules location. Sets x->st to HP_ERR_LINK. */
void hp_ol_rel_err(hp_ol_rel *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "relocation R against 'sym' overflows: value 0xV does not fit in what". */
void hp_ol_overflow(hp_ol_rel *x, uint64_t v, const char *what);
/* The relocation's name ("R_AARCH64_CALL26"). */
const char *hp_ol_rel_name(const hp_ol_rel *x);
/* An absolute value narrower than a pointer cannot follow a position-
 * independent image: false (reported) unless the symbol is absolute. */
bool hp_ol_abs_narrow_ok(hp_ol_rel *x);
/* An 8-byte absolute pointer S + A at x->p; a PIC output rebases it, which
 * code cannot have (no text relocations): there it is an error with hint. */
void hp_ol_abs64(hp_ol_rel *x, const char *hint);

static inline bool hp_ol_fits_s(uint64_t v, unsigned bits)
{
    int64_t s = (int64_t)v, lim = (int64_t)1 << (bits - 1);
    return s >= -lim && s < lim;
}

#endif
