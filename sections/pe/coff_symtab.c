/* The COFF symbol and string tables, read the same way for PE images
 * (pe.c) and COFF objects (coff_obj.c): one place holds every bounds
 * check. What a broken table means is the caller's call: an image runs
 * without its symbol table, so pe.c ignores it with a warning; an object
 * cannot be linked without one, so coff_obj.c refuses it. */
#include "pe_defs.h"

#include <string.h>

hp_coff_symtab_st hp_coff_symtab_open(const uint8_t *data, size_t size, const uint8_t *hdr,
                                      hp_coff_symtab *out)
{
    *out = (hp_coff_symtab){.off = hp_rd32(hdr + 8), .nsyms = hp_rd32(hdr + 12)};
    if (!out->off || !out->nsyms) /* the specification's "no symbol table" */
        return HP_COFF_SYMTAB_NONE;
    uint64_t bytes = (uint64_t)out->nsyms * HP_COFF_SYM_SIZE;
    if (!hp_in_bounds(out->off, bytes, size))
        return HP_COFF_SYMTAB_OUTSIDE;
    out->syms = data + out->off;
    uint64_t str = out->off + bytes;
    if (!hp_in_bounds(str, 4, size))
        return HP_COFF_SYMTAB_OK;
    uint32_t strsize = hp_rd32(data + str); /* the size counts its own 4 bytes */
    if (strsize < 4 || !hp_in_bounds(str, strsize, size))
        return HP_COFF_STRTAB_BAD;
    out->strs = data + str;
    out->strsize = strsize;
    return HP_COFF_SYMTAB_OK;
}

const char *hp_coff_strtab_at(const hp_coff_symtab *t, uint64_t off, size_t *len)
{
    if (off < 4 || off >= t->strsize)
        return NULL;
    const char *p = (const char *)t->strs + off;
    const char *end = memchr(p, 0, t->strsize - off);
    if (!end)
        return NULL;
    *len = (size_t)(end - p);
    return p;
}

bool hp_coff_sym_get(const hp_coff_symtab *t, uint32_t i, hp_coff_sym *out)
{
    const uint8_t *p = t->syms + (uint64_t)i * HP_COFF_SYM_SIZE;
    *out = (hp_coff_sym){.value = hp_rd32(p + 8), .secnum = hp_rd16(p + 12),
                         .type = hp_rd16(p + 14), .cls = p[16], .naux = p[17]};
    if (hp_rd32(p)) { /* the name itself, NUL-padded to 8 bytes */
        out->name = (const char *)p;
        out->len = strnlen(out->name, 8);
        out->short_name = true;
    } else { /* zeroes, then an offset into the string table */
        out->name = hp_coff_strtab_at(t, hp_rd32(p + 4), &out->len);
    }
    return out->naux <= t->nsyms - i - 1;
}

bool hp_coff_long_name(const uint8_t name[8], uint32_t *off)
{
    if (name[0] != '/')
        return false;
    uint32_t v = 0;
    size_t k = 1;
    for (; k < 8 && name[k] >= '0' && name[k] <= '9'; k++)
        v = v * 10 + (uint32_t)(name[k] - '0');
    if (k == 1 || (k < 8 && name[k]))
        return false;
    *off = v;
    return true;
}
