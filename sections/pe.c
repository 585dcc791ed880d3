/* PE backend: recognised, not yet supported. */
#include "format.h"

#include <string.h>

static bool hp_pe_probe(const uint8_t *data, size_t size)
{
    return size >= 2 && data[0] == 'M' && data[1] == 'Z';
}

static hp_status hp_pe_load(hp_image *img)
{
    hp_diag_add(img->diags, HP_DIAG_ERROR, &(hp_loc){img->path, 0, 0}, NULL,
                "PE files are not supported yet");
    return HP_ERR_UNSUPPORTED;
}

const hp_format hp_format_pe = {
    .name = "PE",
    .kind = HP_FMT_PE,
    .probe = hp_pe_probe,
    .load = hp_pe_load,
};
