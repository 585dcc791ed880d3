/* elf_priv: state shared by the ELF image reader (elf.c), writer
 * (elf_write.c), PLT names (elf_plt.c) and code map (elf_code.c). Private
 * to sections/elf/. */
#ifndef HP_ELF_PRIV_H
#define HP_ELF_PRIV_H

#include "../image.h"

#include "elf_defs.h"

#define HP_ELF_PAGE 0x1000u /* the page size new segments are aligned to */

typedef struct hp_elf {
    Elf64_Ehdr eh;
    Elf64_Phdr *phdrs; /* copy of the input's program headers */
    Elf64_Shdr *shdrs; /* copy of the input's section headers (NULL if none) */
    size_t shnum, shstrndx;
    int first_load, last_load, dynamic_idx, phdr_idx, symtab_idx;
    bool has_interp, pie_flag;
    uint64_t ibt_off; /* file offset of the FEATURE_1_AND word, or 0 */
    /* chosen by place() */
    int64_t delta;      /* vaddr - offset of the first PT_LOAD, mirrored */
    size_t new_phnum;
    uint64_t phdr_bytes;
    uint64_t seg_va[HP_REGION_COUNT]; /* segment start per region (0 = none) */
    /* Dynamic relocations for absolute pointers in new regions: the old
     * DT_RELA table plus R_X86_64_RELATIVE entries, in a segment of its own. */
    uint64_t rela_va, rela_bytes;
    uint64_t dyn_rela_off, dyn_relasz_off, dyn_relacount_off; /* file offsets of d_val */
    uint64_t old_rela_va, old_rela_size;
} hp_elf;

const char *hp_elf_section_name(const hp_image *img, const hp_elf *e, size_t i);
int hp_elf_find_section(const hp_image *img, const hp_elf *e, const char *name);
/* Add "name@plt" symbols for the PLT entries (elf_plt.c). */
hp_status hp_elf_load_plt(hp_image *img, hp_elf *e);

#endif
