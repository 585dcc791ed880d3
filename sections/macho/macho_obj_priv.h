/* macho_obj_priv: the Mach-O object reader's state, shared by its
 * format-wide part (macho_obj.c: header, sections, symbols, x86-64
 * relocations) and its arm64 relocations (macho_obj_a64.c). Private to
 * sections/macho/. */
#ifndef HP_MACHO_OBJ_PRIV_H
#define HP_MACHO_OBJ_PRIV_H

#include "../object.h"
#include "macho_defs.h"

typedef struct hp_macho_obj_sect {
    const uint8_t *hdr; /* the section_64 record */
    uint64_t addr;
    uint32_t reloff, nreloc, flags;
} hp_macho_obj_sect;

typedef struct hp_macho_rd {
    hp_obj *o;
    uint32_t ncmds, nsects;
    hp_macho_symtab tab; /* zero without LC_SYMTAB */
    bool has_symtab;
    hp_macho_obj_sect *sect; /* [nsects + 1] */
    bool *real;          /* per model symbol: a symbol a relocation may name */
    size_t strs_used, strs_cap;
    hp_obj_errs err;
} hp_macho_rd;

/* One relocation_info record. */
typedef struct hp_macho_ri {
    uint64_t off;
    uint32_t symnum;
    uint8_t pcrel, len, ext, type;
} hp_macho_ri;

/* A relocation's target: a model symbol and, for a section-relative one,
 * the section's address in the object (subtracted from the addend). */
typedef struct hp_macho_tgt {
    uint32_t sym;
    uint64_t base;
} hp_macho_tgt;

/* Decode the relocation_info record at p (not a scattered one). */
void hp_macho_ri_read(const uint8_t *p, hp_macho_ri *r);
/* The symbol or section r names, checked: in range, not a debug entry,
 * loaded. */
hp_status hp_macho_target(hp_macho_rd *rd, const hp_obj_sec *sec, const hp_macho_ri *r,
                          hp_macho_tgt *t);
/* The 4 or 8 bytes r patches (r->len 2 or 3), sign-extended. */
int64_t hp_macho_implicit(const hp_obj_sec *sec, const hp_macho_ri *r);
/* Append a translated relocation to the model. */
hp_status hp_macho_push(hp_macho_rd *rd, hp_obj_rela *rel);
/* SUBTRACTOR r + UNSIGNED u (NULL: missing) of section si, both
 * architectures' (the same numbers and meaning): into *rel. */
hp_status hp_macho_pair(hp_macho_rd *rd, uint32_t si, const hp_macho_ri *r, const hp_macho_ri *u,
                        hp_obj_rela *rel);
/* arm64: translate relocation k of section si (with the next one for an
 * ADDEND or SUBTRACTOR pair); *used says how many records it took. */
hp_status hp_macho_a64_rel_at(hp_macho_rd *rd, uint32_t si, uint32_t k, uint32_t *used);

#endif
