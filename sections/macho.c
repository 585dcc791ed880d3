/* MACHO backend: recognised, not yet supported. */
#include "format.h"

#include <string.h>

static bool hp_macho_probe(const uint8_t *data, size_t size)
{
    static const uint8_t m[][4] = {{0xcf, 0xfa, 0xed, 0xfe}, {0xca, 0xfe, 0xba, 0xbe}};
    return size >= 4 && (!memcmp(data, m[0], 4) || !memcmp(data, m[1], 4));
}

static hp_status hp_macho_load(hp_image *img)
{
    hp_diag_add(img->diags, HP_DIAG_ERROR, &(hp_loc){img->path, 0, 0}, NULL,
                "Mach-O files are not supported yet");
    return HP_ERR_UNSUPPORTED;
}

const hp_format hp_format_macho = {
    .name = "Mach-O",
    .kind = HP_FMT_MACHO,
    .probe = hp_macho_probe,
    .load = hp_macho_load,
};
