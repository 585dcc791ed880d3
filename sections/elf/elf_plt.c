/* PLT entries as symbols ("printf@plt"), so object-file mocks can call the
 * library functions the binary already imports. On x86-64 each entry of
 * .plt, .plt.sec and .plt.got holds `jmp *slot(%rip)` (ff 25, possibly after
 * endbr64 or a bnd prefix); on AArch64 each .plt entry loads its slot with
 * `adrp x16, slot; ldr x17, [x16, #lo12]` (possibly after `bti c`) and
 * branches to x17. The slot's JUMP_SLOT or GLOB_DAT relocation names the
 * function. Decoding the entries, rather than assuming the lazy-binding
 * layout, covers -z now, IBT's split .plt.sec, .plt.got and BTI's longer
 * AArch64 entries; the PLT header, which loads GOT[2], matches no slot.
 * Also the dynamic tables' words that hold a function's address for the
 * loader (RELATIVE addends, exported .dynsym values): format.h addr_slots. */
#include "elf_priv.h"

#include <stddef.h>
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
        bool a64 = c->img->machine == HP_MACH_ARM64;
        if (a64 ? type != R_AARCH64_JUMP_SLOT && type != R_AARCH64_GLOB_DAT
                : type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
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

/* Name the entry [va, va+size) after the function whose slot it jumps
 * through, if a relocation names that slot. */
static hp_status hp_plt_add(hp_plt_ctx *c, uint64_t slot, uint64_t va, uint64_t size)
{
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
        return hp_image_add_symbol(c->img, buf, len + 4, va, size, HP_SYM_FUNC, HP_SRC_PLT,
                                   false);
    }
    return HP_OK;
}

static hp_status hp_plt_section(hp_plt_ctx *c, const Elf64_Shdr *sh)
{
    uint64_t ent = sh->sh_entsize >= 8 && sh->sh_entsize <= 32 ? sh->sh_entsize : 16;
    const uint8_t *base = c->img->data + sh->sh_offset;
    for (uint64_t off = 0; off + ent <= sh->sh_size; off += ent)
        HP_CHECK(hp_plt_add(c, hp_plt_entry_slot(base + off, ent, sh->sh_addr + off),
                            sh->sh_addr + off, ent));
    return HP_OK;
}

enum { HP_A64_BTI_C = 0xd503245f };

/* The slot `adrp x16, page; ldr x17, [x16, #lo12]` at p (word pc) loads,
 * or 0 when the two words are not that pair. */
static uint64_t hp_plt_a64_slot(const uint8_t *p, uint64_t pc)
{
    uint32_t adrp = hp_rd32(p), ldr = hp_rd32(p + 4);
    if ((adrp & 0x9f00001f) != 0x90000010 || (ldr & 0xffc003ff) != 0xf9400211)
        return 0;
    uint64_t imm = ((adrp >> 29) & 3) | ((uint64_t)((adrp >> 5) & 0x7ffff) << 2);
    int64_t pages = (int64_t)(imm << 43) >> 43; /* sign-extend 21 bits */
    uint64_t page = (pc & ~(uint64_t)0xfff) + (uint64_t)(pages * 4096);
    return page + ((ldr >> 10) & 0xfff) * 8;
}

/* AArch64 .plt: every aligned adrp/ldr pair is an entry, starting at its
 * `bti c` when there is one; it ends where the next entry starts (the
 * section's end for the last one). */
static hp_status hp_plt_section_a64(hp_plt_ctx *c, const Elf64_Shdr *sh)
{
    const uint8_t *base = c->img->data + sh->sh_offset;
    uint64_t prev_va = 0, prev_slot = 0;
    for (uint64_t off = 0; off + 8 <= sh->sh_size; off += 4) {
        uint64_t slot = hp_plt_a64_slot(base + off, sh->sh_addr + off);
        if (!slot)
            continue;
        uint64_t start = off >= 4 && hp_rd32(base + off - 4) == HP_A64_BTI_C ? off - 4 : off;
        if (prev_slot)
            HP_CHECK(hp_plt_add(c, prev_slot, prev_va, sh->sh_addr + start - prev_va));
        prev_va = sh->sh_addr + start;
        prev_slot = slot;
        off += 4;
    }
    if (prev_slot)
        HP_CHECK(hp_plt_add(c, prev_slot, prev_va, sh->sh_addr + sh->sh_size - prev_va));
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
        if (idx <= 0 || e->shdrs[idx].sh_type != SHT_PROGBITS)
            continue;
        s = img->machine == HP_MACH_ARM64 ? hp_plt_section_a64(&c, &e->shdrs[idx])
                                          : hp_plt_section(&c, &e->shdrs[idx]);
    }
    hp_free(c.slots);
    return s;
}

/* ---- words that hold an address for the loader (format.h addr_slots) */

static hp_status hp_elf_rela_slots(const hp_image *img, const hp_elf *e, uint64_t va,
                                   hp_addr_slot_fn fn, void *ctx)
{
    uint32_t rel = img->machine == HP_MACH_ARM64 ? R_AARCH64_RELATIVE : R_X86_64_RELATIVE;
    const uint8_t *p = e->old_rela_size ? hp_image_bytes(img, e->old_rela_va, e->old_rela_size)
                                        : NULL;
    for (uint64_t o = 0; p && o + sizeof(Elf64_Rela) <= e->old_rela_size;
         o += sizeof(Elf64_Rela)) {
        Elf64_Rela r;
        memcpy(&r, p + o, sizeof r);
        if (ELF64_R_TYPE(r.r_info) != rel || (uint64_t)r.r_addend != va)
            continue;
        hp_addr_slot s = {e->old_rela_va + o + offsetof(Elf64_Rela, r_addend), 8, HP_SLOT_RELOC,
                          r.r_offset, 0};
        HP_CHECK(fn(ctx, &s));
    }
    return HP_OK;
}

/* DT_RELR (-z pack-relative-relocs): a word address, then bitmaps of the
 * 63 words after it; the loader adds the load base to each word, so the
 * word itself holds the address and is the slot. */
static hp_status hp_elf_relr_word(const hp_image *img, uint64_t at, uint64_t va,
                                  hp_addr_slot_fn fn, void *ctx)
{
    const uint8_t *w = hp_image_bytes(img, at, 8);
    if (!w || hp_rd64(w) != va)
        return HP_OK;
    hp_addr_slot s = {at, 8, HP_SLOT_RELOC, at, 0};
    return fn(ctx, &s);
}

static hp_status hp_elf_relr_slots(const hp_image *img, const hp_elf *e, uint64_t va,
                                   hp_addr_slot_fn fn, void *ctx)
{
    const uint8_t *p = e->relr_size ? hp_image_bytes(img, e->relr_va, e->relr_size) : NULL;
    uint64_t base = 0;
    for (uint64_t o = 0; p && o + 8 <= e->relr_size; o += 8) {
        uint64_t w = hp_rd64(p + o);
        if (!(w & 1)) {
            HP_CHECK(hp_elf_relr_word(img, w, va, fn, ctx));
            base = w + 8;
            continue;
        }
        for (unsigned i = 0; i < 63; i++)
            if ((w >> (i + 1)) & 1)
                HP_CHECK(hp_elf_relr_word(img, base + 8 * (uint64_t)i, va, fn, ctx));
        base += 63 * 8;
    }
    return HP_OK;
}

static hp_status hp_elf_dynsym_slots(const hp_image *img, const hp_elf *e, uint64_t va,
                                     hp_addr_slot_fn fn, void *ctx)
{
    for (size_t i = 0; e->shdrs && i < e->shnum; i++) {
        const Elf64_Shdr *sh = &e->shdrs[i];
        if (sh->sh_type != SHT_DYNSYM || !sh->sh_addr)
            continue;
        const uint8_t *p = hp_image_bytes(img, sh->sh_addr, sh->sh_size);
        for (uint64_t o = sizeof(Elf64_Sym); p && o + sizeof(Elf64_Sym) <= sh->sh_size;
             o += sizeof(Elf64_Sym)) {
            Elf64_Sym sym;
            memcpy(&sym, p + o, sizeof sym);
            if (sym.st_value != va || sym.st_shndx == 0)
                continue;
            hp_addr_slot s = {sh->sh_addr + o + offsetof(Elf64_Sym, st_value), 8,
                              HP_SLOT_EXPORT, 0, 0};
            HP_CHECK(fn(ctx, &s));
        }
    }
    return HP_OK;
}

hp_status hp_elf_addr_slots(const hp_image *img, uint64_t va, hp_addr_slot_fn fn, void *ctx)
{
    const hp_elf *e = img->priv;
    HP_CHECK(hp_elf_rela_slots(img, e, va, fn, ctx));
    HP_CHECK(hp_elf_relr_slots(img, e, va, fn, ctx));
    return hp_elf_dynsym_slots(img, e, va, fn, ctx);
}
