/* objlink_priv: the in-memory model of loaded relocatable objects, shared by
 * the object readers (objlink_elf.c, objlink_coff.c, objlink_macho.c) and the
 * linker proper (objlink.c). The model speaks ELF: the COFF and Mach-O
 * readers translate their symbols and relocations into ELF terms.
 * The reader validates everything once, so the linker trusts this model:
 * every index is in range and every relocation fits inside its section. */
#ifndef HP_OBJLINK_PRIV_H
#define HP_OBJLINK_PRIV_H

#include "objlink.h"

#include <elf.h>
#include <stdarg.h>

#define HP_OL_DROP (-1)          /* section not placed (debug, .eh_frame, ...) */
#define HP_OL_MAX_ALIGN 4096u    /* region VAs are page aligned */
#define HP_OL_MAX_REGION (1u << 30) /* per region; bounds hostile NOBITS sizes */
#define HP_OL_NO_GOT UINT32_MAX
#define HP_OL_VA_ALIGN 16u /* the least alignment promised for region VAs */
#define HP_OL_GOT_SYM "_GLOBAL_OFFSET_TABLE_"

typedef struct hp_ol_sec {
    const char *name;    /* points into the object's bytes (or a literal) */
    const uint8_t *data; /* NULL for NOBITS */
    uint64_t size, align;
    int region;     /* HP_REGION_* or HP_OL_DROP */
    bool nobits;    /* zero-filled (bss) */
    bool discarded; /* member of a COMDAT group another object already defined */
    uint64_t out_off; /* offset inside its region (set by measure) */
} hp_ol_sec;

typedef struct hp_ol_sym {
    const char *name; /* "" when nameless */
    uint64_t value, size;
    uint32_t shndx; /* section index, SHN_UNDEF or SHN_ABS */
    uint8_t bind, type;
    bool defined;   /* in a kept section, or absolute */
    bool used;      /* a kept relocation refers to it */
    bool absolute;  /* its resolved value is not rebased with the image */
    bool dup;       /* global whose COMDAT copy here was discarded */
    bool sized;     /* size is known (defined in some object) */
    uint32_t got;   /* GOT slot index or HP_OL_NO_GOT */
    uint64_t va;    /* resolved address (emit) */
} hp_ol_sym;

typedef struct hp_ol_rela {
    uint64_t off; /* inside section sec */
    int64_t addend;
    uint32_t sec, sym, type;
} hp_ol_rela;

typedef struct hp_ol_obj {
    char *path;     /* owned */
    char *loc_file; /* owned copy of the rules location's file */
    hp_loc loc;
    uint8_t *data;  /* owned copy of the object file */
    size_t size;
    hp_ol_sec *secs;
    size_t nsecs;
    hp_ol_sym *syms;
    size_t nsyms;
    hp_ol_rela *relas;
    size_t nrelas, relas_cap;
    const char **comdats; /* COMDAT signatures this object provides */
    size_t ncomdats, comdats_cap;
    char *strs;     /* owned: names a reader had to copy (COFF short names) */
    bool needs_got; /* refers to the GOT base (_GLOBAL_OFFSET_TABLE_, GOTOFF) */
    bool c_underscore; /* Mach-O: C name f is spelled _f */
} hp_ol_obj;

/* A string-keyed hash table; keys are borrowed and must outlive it. */
typedef struct hp_ol_ent {
    const char *key;
    uint32_t a, b;
} hp_ol_ent;

typedef struct hp_ol_map {
    hp_ol_ent *v;
    size_t cap, n;
} hp_ol_map;

hp_ol_ent *hp_ol_map_find(const hp_ol_map *m, const char *key);
/* Insert key (which must be absent). */
hp_status hp_ol_map_add(hp_ol_map *m, const char *key, uint32_t a, uint32_t b);
void hp_ol_map_free(hp_ol_map *m);

typedef struct hp_ol_bind {
    char *name;
    uint64_t va;
} hp_ol_bind;

struct hp_objlink {
    hp_ol_obj *objs;
    size_t nobjs, objs_cap;
    hp_ol_map globals; /* name -> (object, symbol) of the winning definition */
    hp_ol_map comdats; /* COMDAT signature -> providing object */
    hp_ol_map bindmap; /* name -> index into binds */
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

static inline bool hp_ol_kept(const hp_ol_sec *s)
{
    return s->region != HP_OL_DROP && !s->discarded;
}

static inline void hp_ol_region_vas(const hp_edit *ed, uint64_t va[HP_REGION_COUNT])
{
    for (int r = 0; r < HP_REGION_COUNT; r++)
        va[r] = ed->regions[r].va;
}

/* A function: STT_FUNC, or a typeless symbol (hand-written assembly often
 * has no .type directive), defined in code: a FUNC symbol in a data section
 * would put a jump target in the non-executable data region. A global whose
 * COMDAT copy was discarded here counts by its type (the kept copy
 * elsewhere defines it). */
static inline bool hp_ol_is_func(const hp_ol_obj *o, const hp_ol_sym *s)
{
    if (s->type != STT_FUNC && s->type != STT_NOTYPE)
        return false;
    if (s->dup)
        return s->type == STT_FUNC;
    return s->defined && !s->absolute && s->shndx < o->nsecs &&
           o->secs[s->shndx].region == HP_REGION_TEXT;
}

/* Error reporting shared by the object readers: an error naming the object
 * and its rules location, at most `max` per object and then one "too many
 * errors" line. *st keeps HP_ERR_FORMAT once seen (the input is not to be
 * trusted further), else the latest status. */
void hp_ol_report_v(hp_diags *d, const hp_ol_obj *o, unsigned max, unsigned *nerr,
                    hp_status *st, hp_status s, const char *fmt, va_list ap);

/* The winning definition of a global name, and its object. */
const hp_ol_sym *hp_ol_global_def(const hp_objlink *l, const char *name, size_t *obj);
/* The `original` binding for an undefined name of object o, or NULL. In a
 * Mach-O object "_f" also finds a binding of "f" (rules use C names). */
const hp_ol_bind *hp_ol_find_bind(const hp_objlink *l, const hp_ol_obj *o, const char *name);
/* Region offset of region r's anchor once the region sits at va. */
uint64_t hp_ol_anchor(const hp_objlink *l, int r, uint64_t va);
/* Address of a defined symbol of object o with regions at va[]. */
uint64_t hp_ol_def_va(const hp_objlink *l, const hp_ol_obj *o, const hp_ol_sym *s,
                      const uint64_t va[HP_REGION_COUNT]);

/* Parse and validate o->data (ELF64 x86-64 ET_REL) into o. COMDAT groups
 * whose signature is in `comdats` are marked discarded. Every problem is
 * reported in d; returns HP_ERR_FORMAT for malformed input, HP_ERR_LINK for
 * well-formed input we refuse. */
hp_status hp_ol_elf_read(hp_ol_obj *o, const hp_ol_map *comdats, hp_diags *d);
/* The same for COFF AMD64 objects (x86_64-w64-mingw32-gcc -c) and Mach-O
 * x86-64 MH_OBJECT files (clang -target x86_64-apple-macos11 -c); the probes
 * say whether the bytes look like that format (including the variants the
 * reader refuses by name: PE images, i386, fat files, ...). */
bool hp_ol_coff_probe(const uint8_t *data, size_t size);
hp_status hp_ol_coff_read(hp_ol_obj *o, const hp_ol_map *comdats, hp_diags *d);
bool hp_ol_macho_probe(const uint8_t *data, size_t size);
hp_status hp_ol_macho_read(hp_ol_obj *o, const hp_ol_map *comdats, hp_diags *d);
/* For formats without symbol sizes (COFF, Mach-O): each defined symbol
 * extends to the next symbol of its section, or to the section's end.
 * Defined in objlink_coff.c. */
hp_status hp_ol_infer_sizes(hp_ol_obj *o);
/* "R_X86_64_PC32", or NULL for an unknown type. */
const char *hp_ol_rel_name(uint32_t type);
/* Bytes a relocation type writes, or 0 when the linker does not apply it. */
unsigned hp_ol_rel_width(uint32_t type);
/* True for relocation types that take a GOT slot (unless relaxed). */
bool hp_ol_rel_needs_got(uint32_t type);

#endif
