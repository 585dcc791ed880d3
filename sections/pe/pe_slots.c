/* PE words that hold a function's address for the loader (format.h
 * addr_slots): DIR64 base-relocated words equal to it (the file holds the
 * address itself; the loader adds the rebase delta to whatever is there,
 * so the word is re-pointed in place), and the export address table
 * entries holding its RVA (other modules bind to them). */
#include "../format.h"
#include "pe_priv.h"

#define HP_PE_REL_DIR64 10

static hp_status hp_pe_reloc_slots(const hp_image *img, const hp_pe *e, uint64_t va,
                                   hp_addr_slot_fn fn, void *ctx)
{
    if (!e->reloc_off || e->ndirs <= HP_PE_DIR_BASERELOC)
        return HP_OK;
    uint64_t size = e->dir_size[HP_PE_DIR_BASERELOC];
    if (e->reloc_off > img->size || size > img->size - e->reloc_off)
        return HP_OK; /* load checked what the writer copies; nothing to add here */
    const uint8_t *p = img->data + e->reloc_off;
    for (uint64_t o = 0; o + 8 <= size;) {
        uint32_t page = hp_rd32(p + o), len = hp_rd32(p + o + 4);
        if (len < 8 || len > size - o)
            break;
        for (uint64_t k = o + 8; k + 2 <= o + len; k += 2) {
            uint16_t ent = hp_rd16(p + k);
            if (ent >> 12 != HP_PE_REL_DIR64)
                continue;
            uint64_t at = e->image_base + page + (ent & 0xfff);
            const uint8_t *w = hp_image_bytes(img, at, 8);
            if (!w || hp_rd64(w) != va)
                continue;
            HP_CHECK(fn(ctx, &(hp_addr_slot){at, 8, HP_SLOT_RELOC, at, 0}));
        }
        o += len;
    }
    return HP_OK;
}

static hp_status hp_pe_export_slots(const hp_image *img, const hp_pe *e, uint64_t va,
                                    hp_addr_slot_fn fn, void *ctx)
{
    if (e->ndirs <= HP_PE_DIR_EXPORT || e->dir_size[HP_PE_DIR_EXPORT] < 40)
        return HP_OK;
    uint64_t avail = 0;
    const uint8_t *d = hp_pe_rva_bytes(img, e, e->dir_rva[HP_PE_DIR_EXPORT], &avail);
    if (!d || avail < 40)
        return HP_OK;
    uint32_t nfuncs = hp_rd32(d + 20), funcs_rva = hp_rd32(d + 28);
    const uint8_t *f = hp_pe_rva_bytes(img, e, funcs_rva, &avail);
    for (uint32_t i = 0; f && i < nfuncs && 4 * (uint64_t)i + 4 <= avail; i++)
        if (hp_rd32(f + 4 * i) == va - e->image_base)
            HP_CHECK(fn(ctx, &(hp_addr_slot){e->image_base + funcs_rva + 4 * (uint64_t)i, 4,
                                             HP_SLOT_EXPORT, 0, e->image_base}));
    return HP_OK;
}

hp_status hp_pe_addr_slots(const hp_image *img, uint64_t va, hp_addr_slot_fn fn, void *ctx)
{
    const hp_pe *e = img->priv;
    if (!e)
        return HP_OK;
    HP_CHECK(hp_pe_reloc_slots(img, e, va, fn, ctx));
    return hp_pe_export_slots(img, e, va, fn, ctx);
}
