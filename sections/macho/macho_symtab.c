/* The LC_SYMTAB tables, read the same way for images (macho.c) and objects
 * (macho_obj.c): one place holds every bounds check. What a broken table
 * means is the caller's call (each names it in its own words). */
#include "macho_defs.h"

#include <string.h>

hp_macho_symtab_st hp_macho_symtab_open(const uint8_t *slice, uint64_t size, const uint8_t *lc,
                                        hp_macho_symtab *out)
{
    *out = (hp_macho_symtab){.symoff = hp_rd32(lc + 8), .nsyms = hp_rd32(lc + 12),
                             .stroff = hp_rd32(lc + 16), .strsize = hp_rd32(lc + 20)};
    if (!hp_in_bounds(out->symoff, (uint64_t)out->nsyms * HP_MACHO_NLIST, size))
        return HP_MACHO_SYMS_OUTSIDE;
    if (!hp_in_bounds(out->stroff, out->strsize, size))
        return HP_MACHO_STRS_OUTSIDE;
    out->syms = slice + out->symoff;
    out->strs = slice + out->stroff;
    return HP_MACHO_SYMTAB_OK;
}

void hp_macho_nlist_get(const hp_macho_symtab *t, uint32_t i, hp_macho_nlist *out)
{
    const uint8_t *e = t->syms + (uint64_t)i * HP_MACHO_NLIST;
    *out = (hp_macho_nlist){.strx = hp_rd32(e), .type = e[4], .sect = e[5],
                            .desc = hp_rd16(e + 6), .value = hp_rd64(e + 8)};
}

const char *hp_macho_nlist_name(const hp_macho_symtab *t, uint32_t strx, size_t *len,
                                bool *past_end)
{
    if (past_end)
        *past_end = strx >= t->strsize;
    if (strx >= t->strsize)
        return NULL;
    const char *name = (const char *)t->strs + strx;
    const char *nul = memchr(name, 0, t->strsize - strx);
    if (!nul)
        return NULL;
    *len = (size_t)(nul - name);
    return name;
}
