/* elf_priv: state shared by the ELF image reader (elf.c), writer
 * (elf_write.c), PLT names (elf_plt.c) and code map (elf_code.c). Private
 * to sections/elf/. */
#ifndef HP_ELF_PRIV_H
#define HP_ELF_PRIV_H

#include "../format.h"
#include "../image.h"

#include "elf_defs.h"

#define HP_ELF_PAGE 0x1000u /* x86-64's page size; the unit of the writer's dirty runs */
#define HP_ELF_MAX_ALIGN 0x40000000u /* larger p_align values are ignored */

/* The GNU property that enables landing-pad enforcement, and its bit:
 * x86-64 CET IBT (endbr64), AArch64 BTI (BTI c/j). */
static inline uint32_t hp_elf_feature_prop(hp_machine m)
{
    return m == HP_MACH_ARM64 ? GNU_PROPERTY_AARCH64_FEATURE_1_AND
                              : GNU_PROPERTY_X86_FEATURE_1_AND;
}
static inline uint32_t hp_elf_landing_bit(hp_machine m)
{
    return m == HP_MACH_ARM64 ? GNU_PROPERTY_AARCH64_FEATURE_1_BTI
                              : GNU_PROPERTY_X86_FEATURE_1_IBT;
}

typedef struct hp_elf {
    Elf64_Ehdr eh;
    Elf64_Phdr *phdrs; /* copy of the input's program headers */
    Elf64_Shdr *shdrs; /* copy of the input's section headers (NULL if none) */
    size_t shnum, shstrndx;
    int first_load, last_load, dynamic_idx, phdr_idx, symtab_idx;
    bool has_interp, pie_flag;
    uint64_t ibt_off; /* file offset of the FEATURE_1_AND word, or 0 */
    /* Alignment of new segments (VA and file offset): 4 KiB on x86-64;
     * on AArch64 the largest p_align of the input's PT_LOADs, at least
     * 4 KiB, since the file may be meant for 16 or 64 KiB pages. */
    uint64_t page;
    /* chosen by place() */
    int64_t delta;      /* vaddr - offset of the first PT_LOAD, mirrored */
    size_t new_phnum;
    uint64_t phdr_bytes;
    uint64_t seg_va[HP_REGION_COUNT]; /* segment start per region (0 = none) */
    /* Dynamic relocations for absolute pointers in new regions: the old
     * DT_RELA table plus R_X86_64_RELATIVE / R_AARCH64_RELATIVE entries, in
     * a segment of its own. */
    uint64_t rela_va, rela_bytes;
    uint64_t dyn_rela_off, dyn_relasz_off, dyn_relacount_off; /* file offsets of d_val */
    uint64_t old_rela_va, old_rela_size;
    uint64_t relr_va, relr_size; /* DT_RELR: relative relocations, packed */
} hp_elf;

const char *hp_elf_section_name(const hp_image *img, const hp_elf *e, size_t i);
int hp_elf_find_section(const hp_image *img, const hp_elf *e, const char *name);
/* The RELATIVE relocation addends and exported .dynsym values equal to va
 * (format.h addr_slots; elf_plt.c). */
hp_status hp_elf_addr_slots(const hp_image *img, uint64_t va, hp_addr_slot_fn fn, void *ctx);
/* Add "name@plt" symbols for the PLT entries (elf_plt.c). */
hp_status hp_elf_load_plt(hp_image *img, hp_elf *e);

#endif
