/* PE code map (code.h): the begin address of every .pdata RUNTIME_FUNCTION
 * (every non-leaf function of an x64 image, named or not). No data ranges:
 * a PE section is its own segment, executable exactly when the loader maps
 * it so (IMAGE_SCN_MEM_EXECUTE; IMAGE_SCN_CNT_CODE is a content hint the
 * loader ignores), so every executable byte is scanned. */
#include "pe_priv.h"

hp_status hp_pe_code(const hp_image *img, hp_code_map *m)
{
    const hp_pe *e = img->priv;
    if (!e)
        return HP_OK;
    for (size_t i = 0; i < e->npdata; i++)
        HP_CHECK(hp_code_add_start(m, e->image_base + e->pdata[i].begin));
    return HP_OK;
}
