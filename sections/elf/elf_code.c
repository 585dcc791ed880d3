/* ELF code map (code.h): the allocated sections without SHF_EXECINSTR and
 * the ELF and program headers as data, and the function starts of the
 * .eh_frame_hdr search table, which lists every function with unwind
 * information, exported or not. */
#include "../code.h"
#include "elf_priv.h"

#include <string.h>

/* Linkers write .eh_frame_hdr's eh_frame_ptr as pcrel|sdata4, fde_count as
 * udata4 and the table as datarel|sdata4: only that table form is read. */
static size_t hp_enc_size(uint8_t enc)
{
    switch (enc & 0x0f) {
    case HP_EH_PE_UDATA4:
    case HP_EH_PE_SDATA4: return 4;
    case HP_EH_PE_UDATA8:
    case HP_EH_PE_SDATA8: return 8;
    default: return 0;
    }
}

static hp_status hp_elf_unwind_starts(const hp_image *img, const Elf64_Shdr *sh,
                                      hp_code_map *m)
{
    if (sh->sh_type == SHT_NOBITS || sh->sh_size < 4)
        return HP_OK;
    const uint8_t *p = img->data + sh->sh_offset; /* bounds checked at load */
    uint64_t size = sh->sh_size;
    uint8_t ptr_enc = p[1], count_enc = p[2], table_enc = p[3];
    size_t ptr_len = hp_enc_size(ptr_enc);
    if (p[0] != 1 || !ptr_len || (count_enc & 0x0f) != HP_EH_PE_UDATA4 ||
        table_enc != HP_EH_PE_DATAREL_SDATA4 || size < 4 + ptr_len + 4)
        return HP_OK; /* another form: no starts from here */
    uint64_t count = hp_rd32(p + 4 + ptr_len);
    const uint8_t *t = p + 4 + ptr_len + 4;
    if (count > (size - 8 - ptr_len) / 8)
        return HP_OK;
    for (uint64_t i = 0; i < count; i++)
        HP_CHECK(hp_code_add_start(m, sh->sh_addr + (uint64_t)(int64_t)(int32_t)hp_rd32(t + 8 * i)));
    return HP_OK;
}

hp_status hp_elf_code(const hp_image *img, hp_code_map *m)
{
    const hp_elf *e = img->priv;
    if (!e)
        return HP_OK;
    const Elf64_Ehdr *eh = &e->eh;
    HP_CHECK(hp_code_add_file_data(img, m, 0, eh->e_ehsize));
    HP_CHECK(hp_code_add_file_data(img, m, eh->e_phoff, (uint64_t)eh->e_phnum * eh->e_phentsize));
    if (!e->shdrs)
        return HP_OK;
    int hdr = hp_elf_find_section(img, e, ".eh_frame_hdr");
    for (size_t i = 1; i < e->shnum; i++) {
        const Elf64_Shdr *s = &e->shdrs[i];
        /* NOBITS sections (.tbss) have no bytes and may share their VAs
         * with the next section: they name nothing to skip. */
        if (s->sh_type != SHT_NOBITS && s->sh_type != SHT_NULL && (s->sh_flags & SHF_ALLOC) &&
            !(s->sh_flags & SHF_EXECINSTR))
            HP_CHECK(hp_code_add_data(m, s->sh_addr, s->sh_size));
    }
    return hdr > 0 ? hp_elf_unwind_starts(img, &e->shdrs[hdr], m) : HP_OK;
}
