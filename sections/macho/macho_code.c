/* Mach-O code map (code.h): the header and load commands, and the sections
 * without an instruction attribute (__cstring, __const, __unwind_info,
 * which share the r-x __TEXT segment with __text and __stubs) as data; and
 * LC_FUNCTION_STARTS, which lists every function, exported or not. */
#include "macho_priv.h"

hp_status hp_macho_code(const hp_image *img, hp_code_map *m)
{
    const hp_macho *mo = img->priv;
    if (!mo)
        return HP_OK;
    HP_CHECK(hp_code_add_file_data(img, m, 0, HP_MACHO_HDR + (uint64_t)mo->sizeofcmds));
    for (size_t i = 0; i < mo->nsects; i++) {
        const hp_macho_sect *s = &mo->sects[i];
        uint32_t type = s->flags & HP_S_TYPE_MASK;
        bool zerofill = type == HP_S_ZEROFILL || type == HP_S_GB_ZEROFILL ||
                        type == HP_S_THREAD_LOCAL_ZEROFILL;
        if (!zerofill &&
            !(s->flags & (HP_S_ATTR_PURE_INSTRUCTIONS | HP_S_ATTR_SOME_INSTRUCTIONS)))
            HP_CHECK(hp_code_add_data(m, s->addr, s->size));
    }
    uint64_t *starts;
    size_t n;
    HP_CHECK(hp_macho_fstarts(img, mo, &starts, &n));
    hp_status st = HP_OK;
    for (size_t i = 0; i < n && st == HP_OK; i++)
        st = hp_code_add_start(m, starts[i]);
    hp_free(starts);
    return st;
}
