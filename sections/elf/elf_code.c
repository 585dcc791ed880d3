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

/* ---- .eh_frame: which functions have a landing-pad table (an LSDA). */

typedef struct hp_eh_cur {
    const uint8_t *p, *end;
    uint64_t va; /* of p */
    bool bad;
} hp_eh_cur;

static uint64_t hp_eh_uleb(hp_eh_cur *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0; c->p < c->end; shift += 7) {
        uint8_t b = *c->p++;
        c->va++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    c->bad = true;
    return 0;
}

static const uint8_t *hp_eh_take(hp_eh_cur *c, size_t n)
{
    if ((size_t)(c->end - c->p) < n) {
        c->bad = true;
        c->p = c->end;
        return NULL;
    }
    const uint8_t *q = c->p;
    c->p += n;
    c->va += n;
    return q;
}

/* A pointer in encoding enc: the value, 0 when omitted or unreadable.
 * Only the application a linker leaves in .eh_frame (absolute or
 * PC-relative) is applied; *raw says whether the stored value was 0. */
static uint64_t hp_eh_ptr(hp_eh_cur *c, uint8_t enc, bool apply, bool *raw_zero)
{
    uint64_t at = c->va, v = 0;
    const uint8_t *q;
    *raw_zero = true;
    if (enc == HP_EH_PE_OMIT)
        return 0;
    switch (enc & 0x0f) {
    case 0x00: v = (q = hp_eh_take(c, 8)) ? hp_rd64(q) : 0; break;
    case 0x01: v = hp_eh_uleb(c); break;
    case 0x02: v = (q = hp_eh_take(c, 2)) ? hp_rd16(q) : 0; break;
    case 0x03: v = (q = hp_eh_take(c, 4)) ? hp_rd32(q) : 0; break;
    case 0x04: v = (q = hp_eh_take(c, 8)) ? hp_rd64(q) : 0; break;
    case 0x0a: v = (q = hp_eh_take(c, 2)) ? (uint64_t)(int64_t)(int16_t)hp_rd16(q) : 0; break;
    case 0x0b: v = (q = hp_eh_take(c, 4)) ? (uint64_t)(int64_t)(int32_t)hp_rd32(q) : 0; break;
    case 0x0c: v = (q = hp_eh_take(c, 8)) ? hp_rd64(q) : 0; break;
    default: c->bad = true; return 0; /* sleb128 pointers: not written by linkers */
    }
    *raw_zero = v == 0;
    if (!apply || (enc & 0x70) == 0x00)
        return v;
    if ((enc & 0x70) == 0x10)
        return v + at;
    c->bad = true; /* textrel/datarel/funcrel: not in a linked .eh_frame */
    return 0;
}

typedef struct hp_eh_cie {
    uint8_t fde_enc, lsda_enc;
    bool z, has_lsda;
} hp_eh_cie;

static bool hp_eh_read_cie(const uint8_t *body, const uint8_t *end, uint64_t va, hp_eh_cie *out)
{
    hp_eh_cur c = {body, end, va, false};
    *out = (hp_eh_cie){.fde_enc = 0, .lsda_enc = HP_EH_PE_OMIT};
    const uint8_t *ver = hp_eh_take(&c, 1);
    const uint8_t *aug = c.p;
    while (c.p < c.end && *c.p)
        hp_eh_take(&c, 1);
    if (!ver || !hp_eh_take(&c, 1) || c.bad)
        return false;
    if (aug[0] == 'e' && aug[1] == 'h')
        return false; /* the old GCC form: not written by current linkers */
    hp_eh_uleb(&c);            /* code alignment */
    hp_eh_uleb(&c);            /* data alignment (sleb: only skipped) */
    if (*ver == 1)
        hp_eh_take(&c, 1);     /* return register */
    else
        hp_eh_uleb(&c);
    if (aug[0] != 'z')
        return !c.bad && !aug[0];
    out->z = true;
    hp_eh_uleb(&c); /* augmentation length */
    for (const uint8_t *a = aug + 1; *a && !c.bad; a++) {
        bool zero;
        const uint8_t *e;
        switch (*a) {
        case 'L': e = hp_eh_take(&c, 1); out->lsda_enc = e ? *e : 0; out->has_lsda = true; break;
        case 'R': e = hp_eh_take(&c, 1); out->fde_enc = e ? *e : 0; break;
        case 'P': e = hp_eh_take(&c, 1); if (e) hp_eh_ptr(&c, *e, false, &zero); break;
        case 'S': case 'B': case 'G': break;
        default: return false;
        }
    }
    return !c.bad;
}

/* Every FDE whose LSDA pointer is not null: its function range. False when
 * the section cannot be read as linkers write it (then nothing is known). */
static bool hp_elf_eh_ranges(const uint8_t *p, uint64_t size, uint64_t va, hp_code_map *m,
                             hp_status *st)
{
    uint64_t off = 0;
    while (off + 4 <= size) {
        uint64_t len = hp_rd32(p + off), hdr = 4;
        if (len == 0)
            return true; /* the terminator */
        if (len == 0xffffffffu) {
            if (off + 12 > size)
                return false;
            len = hp_rd64(p + off + 4);
            hdr = 12;
        }
        if (len < 4 || len > size - off - hdr)
            return false;
        const uint8_t *body = p + off + hdr, *end = body + len;
        uint32_t id = hp_rd32(body);
        if (id != 0) {
            /* An FDE: its CIE is id bytes back from the id field. */
            uint64_t id_off = off + hdr;
            if (id > id_off)
                return false;
            uint64_t coff = id_off - id;
            if (coff + 8 > size)
                return false;
            uint64_t clen = hp_rd32(p + coff), chdr = 4;
            if (clen == 0xffffffffu) {
                if (coff + 12 > size)
                    return false;
                clen = hp_rd64(p + coff + 4);
                chdr = 12;
            }
            if (clen < 4 || clen > size - coff - chdr || hp_rd32(p + coff + chdr) != 0)
                return false;
            hp_eh_cie cie;
            const uint8_t *cb = p + coff + chdr + 4;
            if (!hp_eh_read_cie(cb, p + coff + chdr + clen, va + coff + chdr + 4, &cie))
                return false;
            hp_eh_cur c = {body + 4, end, va + off + hdr + 4, false};
            bool zero;
            uint64_t begin = hp_eh_ptr(&c, cie.fde_enc, true, &zero);
            uint64_t range = hp_eh_ptr(&c, cie.fde_enc & 0x0f, false, &zero);
            if (cie.z)
                hp_eh_uleb(&c);
            uint64_t lsda = 0;
            if (cie.has_lsda) {
                hp_eh_ptr(&c, cie.lsda_enc, true, &zero);
                lsda = !zero;
            }
            if (c.bad)
                return false;
            if (lsda && range && (*st = hp_code_add_eh(m, begin, range)) != HP_OK)
                return false;
        }
        off += hdr + len;
    }
    return true;
}

static hp_status hp_elf_landing_pads(const hp_image *img, const hp_elf *e, hp_code_map *m)
{
    int eh = hp_elf_find_section(img, e, ".eh_frame");
    int gx = hp_elf_find_section(img, e, ".gcc_except_table");
    if (eh <= 0 || e->shdrs[eh].sh_type == SHT_NOBITS) {
        m->eh_known = gx <= 0; /* LSDAs with no unwind table: nothing known */
        return HP_OK;
    }
    const Elf64_Shdr *sh = &e->shdrs[eh];
    hp_status st = HP_OK;
    m->eh_known = hp_elf_eh_ranges(img->data + sh->sh_offset, sh->sh_size, sh->sh_addr, m, &st);
    return st;
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
    HP_CHECK(hp_elf_landing_pads(img, e, m));
    return hdr > 0 ? hp_elf_unwind_starts(img, &e->shdrs[hdr], m) : HP_OK;
}
