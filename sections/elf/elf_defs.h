/* elf_defs: ELF constants for the image reader and writer (elf.c,
 * elf_write.c, elf_plt.c, elf_code.c) and the object reader (elf_obj.c).
 * The structures and nearly every constant are glibc's <elf.h>; what it
 * lacks is spelled out here. */
#ifndef HP_ELF_DEFS_H
#define HP_ELF_DEFS_H

#include <elf.h>
#include <stdint.h>
#include <string.h>

/* DWARF pointer encodings used by .eh_frame_hdr (LSB Core, "Exception
 * Frames"): the low nibble is the format, the high one what it is
 * relative to. */
enum {
    HP_EH_PE_OMIT = 0xff,
    HP_EH_PE_UDATA4 = 0x03,
    HP_EH_PE_SDATA4 = 0x0b,
    HP_EH_PE_UDATA8 = 0x04,
    HP_EH_PE_SDATA8 = 0x0c,
    HP_EH_PE_DATAREL_SDATA4 = 0x3b,
};

/* The NUL-terminated string at idx of a string table (size bytes at tab,
 * inside the file), or NULL when idx is past the table or the string runs
 * off its end. Section names and symbol names, in images and objects. */
static inline const char *hp_elf_str(const uint8_t *tab, uint64_t size, uint64_t idx)
{
    if (idx >= size || !memchr(tab + idx, 0, (size_t)(size - idx)))
        return NULL;
    return (const char *)tab + idx;
}

#endif
