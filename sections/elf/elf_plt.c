/* PLT entries as symbols ("printf@plt"), so object-file mocks can call the
 * library functions the binary already imports. Each entry of .plt,
 * .plt.sec and .plt.got holds `jmp *slot(%rip)` (ff 25, possibly after
 * endbr64 or a bnd prefix); the slot's JUMP_SLOT or GLOB_DAT relocation
 * names the function. Decoding the entries, rather than assuming the
 * lazy-binding layout, covers -z now, IBT's split .plt.sec and .plt.got. */
#include "elf_priv.h"

#include <string.h>

typedef struct hp_plt_slot {
    uint64_t slot_va;
    uint32_t sym;
} hp_plt_slot;

typedef struct hp_plt_ctx {
    hp_image *img;
    hp_elf *e;
    hp_plt_slot *slots;
    size_t nslots, cap;
    const Elf64_Shdr *dynsym, *dynstr;
} hp_plt_ctx;

static hp_status hp_plt_collect(hp_plt_ctx *c, const Elf64_Shdr *rela)
{
    if (rela->sh_entsize != sizeof(Elf64_Rela))
        return HP_OK;
    size_t n = rela->sh_size / sizeof(Elf64_Rela);
    for (size_t i = 0; i < n; i++) {
        Elf64_Rela r;
        memcpy(&r, c->img->data + rela->sh_offset + i * sizeof r, sizeof r);
        uint32_t type = ELF64_R_TYPE(r.r_info);
        if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
            continue;
        HP_CHECK(HP_GROW(c->slots, c->cap, c->nslots + 1));
        c->slots[c->nslots++] = (hp_plt_slot){r.r_offset, ELF64_R_SYM(r.r_info)};
    }
    return HP_OK;
}

static const char *hp_plt_name(const hp_plt_ctx *c, uint32_t sym, size_t *len)
{
    if (!c->dynsym || sym == 0 || sym >= c->dynsym->sh_size / sizeof(Elf64_Sym))
        return NULL;
    Elf64_Sym s;
    memcpy(&s, c->img->data + c->dynsym->sh_offset + sym * sizeof s, sizeof s);
    if (s.st_name >= c->dynstr->sh_size)
        return NULL;
    const char *name = (const char *)c->img->data + c->dynstr->sh_offset + s.st_name;
    const char *end = memchr(name, 0, c->dynstr->sh_size - s.st_name);
    if (!end || end == name)
        return NULL;
    *len = (size_t)(end - name);
    return name;
}

/* The GOT slot the entry at [p, p+len) jumps through, or 0. */
static uint64_t hp_plt_entry_slot(const uint8_t *p, size_t len, uint64_t va)
{
    for (size_t k = 0; k + 6 <= len; k++)
        if (p[k] == 0xff && p[k + 1] == 0x25)
            return va + k + 6 + (uint64_t)(int64_t)(int32_t)hp_rd32(p + k + 2);
    return 0;
}

static hp_status hp_plt_section(hp_plt_ctx *c, const Elf64_Shdr *sh)
{
    uint64_t ent = sh->sh_entsize >= 8 && sh->sh_entsize <= 32 ? sh->sh_entsize : 16;
    const uint8_t *base = c->img->data + sh->sh_offset;
    for (uint64_t off = 0; off + ent <= sh->sh_size; off += ent) {
        uint64_t slot = hp_plt_entry_slot(base + off, ent, sh->sh_addr + off);
        for (size_t i = 0; slot && i < c->nslots; i++) {
            size_t len;
            const char *name = c->slots[i].slot_va == slot ? hp_plt_name(c, c->slots[i].sym, &len)
                                                          : NULL;
            if (!name)
                continue;
            char buf[512];
            if (len > sizeof buf - 5)
                break;
            memcpy(buf, name, len);
            memcpy(buf + len, "@plt", 5);
            HP_CHECK(hp_image_add_symbol(c->img, buf, len + 4, sh->sh_addr + off, ent,
                                         HP_SYM_FUNC, HP_SRC_PLT, false));
            break;
        }
    }
    return HP_OK;
}

hp_status hp_elf_load_plt(hp_image *img, hp_elf *e)
{
    hp_plt_ctx c = {img, e, NULL, 0, 0, NULL, NULL};
    hp_status s = HP_OK;
    for (size_t i = 1; s == HP_OK && i < e->shnum; i++) {
        const Elf64_Shdr *sh = &e->shdrs[i];
        if (sh->sh_type == SHT_DYNSYM && sh->sh_link < e->shnum &&
            e->shdrs[sh->sh_link].sh_type == SHT_STRTAB) {
            c.dynsym = sh;
            c.dynstr = &e->shdrs[sh->sh_link];
        }
        if (sh->sh_type == SHT_RELA)
            s = hp_plt_collect(&c, sh);
    }
    static const char *const plts[] = {".plt", ".plt.sec", ".plt.got"};
    for (size_t k = 0; s == HP_OK && c.nslots && k < 3; k++) {
        int idx = hp_elf_find_section(img, e, plts[k]);
        if (idx > 0 && e->shdrs[idx].sh_type == SHT_PROGBITS)
            s = hp_plt_section(&c, &e->shdrs[idx]);
    }
    hp_free(c.slots);
    return s;
}
