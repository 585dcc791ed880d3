/* PE code map: the sections marked as code or executable, and the begin
 * address of every .pdata RUNTIME_FUNCTION (every non-leaf function of an
 * x64 image, named or not). */
#include "pe_priv.h"

hp_status hp_pe_code(const hp_image *img, hp_code_map *m)
{
    const hp_pe *e = img->priv;
    if (!e)
        return HP_OK;
    for (size_t i = 0; i < e->nsects; i++) {
        const hp_pe_sect *s = &e->sects[i];
        if (!(s->chars & (HP_PE_SCN_CNT_CODE | HP_PE_SCN_EXECUTE)))
            continue;
        uint32_t size = s->vsize < s->raw_size ? s->vsize : s->raw_size;
        if (size)
            HP_CHECK(hp_code_add_range(m, e->image_base + s->rva, size));
    }
    for (size_t i = 0; i < e->npdata; i++)
        HP_CHECK(hp_code_add_start(m, e->image_base + e->pdata[i].begin));
    return HP_OK;
}
