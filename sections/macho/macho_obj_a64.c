/* macho_obj_a64: the relocations of arm64 Mach-O objects (clang -target
 * arm64-apple-macos11 -c) in the object model's ELF terms (R_AARCH64_*,
 * applied by relocs/objlink_arm64.c). Everything else in the object is read
 * by macho_obj.c, as for x86-64.
 *
 * What is worth knowing (mach-o/arm64/reloc.h):
 *  - Instruction fields hold no addend (the compiler leaves them zero and
 *    the reader ignores them). An offset from the symbol comes in an
 *    ARM64_RELOC_ADDEND record (a signed 24-bit value in r_symbolnum) just
 *    before the BRANCH26, PAGE21 or PAGEOFF12 it belongs to, at the same
 *    offset; an ADDEND followed by anything else is malformed. Data
 *    relocations (UNSIGNED, SUBTRACTOR) keep their addend in the bytes, as
 *    on x86-64.
 *  - PAGEOFF12 does not say what the instruction does with the low 12 bits,
 *    which ELF spells out in the type: ADD (immediate) takes them as they
 *    are; a load or store (unsigned offset) scales them by its access size,
 *    1 to 16 bytes (size field; opc bit 1 with a SIMD register is 16). The
 *    instruction is decoded to pick the ELF type; anything else is refused.
 *  - Each becomes:
 *      UNSIGNED (8 or 4 bytes)   -> R_AARCH64_ABS64 / ABS32
 *      SUBTRACTOR + UNSIGNED     -> R_AARCH64_PREL64 / PREL32 (macho_obj.c)
 *      BRANCH26 (B, BL)          -> R_AARCH64_CALL26 (a veneer when far)
 *      PAGE21 (ADRP)             -> R_AARCH64_ADR_PREL_PG_HI21
 *      PAGEOFF12                 -> R_AARCH64_ADD_ABS_LO12_NC or
 *                                   R_AARCH64_LDST{8,16,32,64,128}_ABS_LO12_NC
 *      GOT_LOAD_PAGE21 (ADRP)    -> R_AARCH64_ADR_GOT_PAGE
 *      GOT_LOAD_PAGEOFF12 (LDR X)-> R_AARCH64_LD64_GOT_LO12_NC
 *      POINTER_TO_GOT            -> refused: the linker has no GOT-relative
 *                                   data relocation (clang puts it in
 *                                   __eh_frame, which is dropped)
 *      TLVP_LOAD_PAGE21/PAGEOFF12 -> refused (thread-local storage)
 *      AUTHENTICATED_POINTER     -> refused (arm64e)
 *  - A section-relative (r_extern = 0) instruction relocation names a
 *    section; the address it means, in the object's address space, is its
 *    ADDEND (zero without one), as lld reads it. clang emits extern ones
 *    only (a local label gets an ltmp or l_ symbol); data ones are read as
 *    on x86-64 (the bytes hold the address). */
#include "macho_obj_priv.h"

static const char *const hp_macho_a64_rel_names[] = {
    "UNSIGNED", "SUBTRACTOR", "BRANCH26", "PAGE21", "PAGEOFF12", "GOT_LOAD_PAGE21",
    "GOT_LOAD_PAGEOFF12", "POINTER_TO_GOT", "TLVP_LOAD_PAGE21", "TLVP_LOAD_PAGEOFF12", "ADDEND",
    "AUTHENTICATED_POINTER"};

#define HP_MACHO_A64_NTYPES (sizeof hp_macho_a64_rel_names / sizeof hp_macho_a64_rel_names[0])

/* ---- instructions --------------------------------------------------- */

static bool hp_macho_a64_is_adrp(uint32_t w) { return (w & 0x9f000000u) == 0x90000000u; }
static bool hp_macho_a64_is_b_bl(uint32_t w) { return (w & 0x7c000000u) == 0x14000000u; }
static bool hp_macho_a64_is_ldr_x(uint32_t w) { return (w & 0xffc00000u) == 0xf9400000u; }

/* The ELF type for a PAGEOFF12 on instruction w, or 0 when w is neither
 * ADD (immediate, unshifted) nor a load/store with an unsigned offset. */
static uint32_t hp_macho_a64_pageoff_type(uint32_t w)
{
    static const uint32_t ldst[] = {R_AARCH64_LDST8_ABS_LO12_NC, R_AARCH64_LDST16_ABS_LO12_NC,
                                    R_AARCH64_LDST32_ABS_LO12_NC, R_AARCH64_LDST64_ABS_LO12_NC,
                                    R_AARCH64_LDST128_ABS_LO12_NC};
    if ((w & 0x7fc00000u) == 0x11000000u) /* add Wd/Xd, Wn/Xn, #imm12 */
        return R_AARCH64_ADD_ABS_LO12_NC;
    if ((w & 0x3b000000u) != 0x39000000u) /* size 111 V 01 opc imm12 Rn Rt */
        return 0;
    unsigned size = w >> 30, simd = (w >> 26) & 1, opc = (w >> 22) & 3;
    if (simd && (opc & 2)) /* Q registers; other sizes with opc 1x are unallocated */
        return size == 0 ? ldst[4] : 0;
    return ldst[size];
}

/* ---- translation ---------------------------------------------------- */

static const char *hp_macho_a64_rname(uint8_t type)
{
    return type < HP_MACHO_A64_NTYPES ? hp_macho_a64_rel_names[type] : "?";
}

static hp_status hp_macho_a64_wrong_insn(hp_macho_rd *rd, const hp_obj_sec *sec,
                                         const hp_macho_ri *r, uint32_t w, const char *want)
{
    return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: ARM64_RELOC_%s on instruction "
                                "0x%08x, which is not %s", sec->name,
                      (unsigned long long)r->off, hp_macho_a64_rname(r->type), w, want);
}

/* The ELF type of instruction relocation r on word w, or why it has none. */
static hp_status hp_macho_a64_insn_type(hp_macho_rd *rd, const hp_obj_sec *sec,
                                        const hp_macho_ri *r, uint32_t w, uint32_t *type)
{
    bool got = r->type == HP_ARM64_RELOC_GOT_LOAD_PAGE21 ||
               r->type == HP_ARM64_RELOC_GOT_LOAD_PAGEOFF12;
    if (got && !r->ext)
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: ARM64_RELOC_%s against a "
                                    "section", sec->name, (unsigned long long)r->off,
                          hp_macho_a64_rname(r->type));
    switch (r->type) {
    case HP_ARM64_RELOC_BRANCH26:
        *type = R_AARCH64_CALL26;
        return hp_macho_a64_is_b_bl(w) ? HP_OK : hp_macho_a64_wrong_insn(rd, sec, r, w, "B or BL");
    case HP_ARM64_RELOC_PAGE21:
    case HP_ARM64_RELOC_GOT_LOAD_PAGE21:
        *type = got ? R_AARCH64_ADR_GOT_PAGE : R_AARCH64_ADR_PREL_PG_HI21;
        return hp_macho_a64_is_adrp(w) ? HP_OK : hp_macho_a64_wrong_insn(rd, sec, r, w, "ADRP");
    case HP_ARM64_RELOC_GOT_LOAD_PAGEOFF12:
        *type = R_AARCH64_LD64_GOT_LO12_NC;
        return hp_macho_a64_is_ldr_x(w) ? HP_OK : hp_macho_a64_wrong_insn(rd, sec, r, w, "LDR Xt");
    default: /* PAGEOFF12 */
        *type = hp_macho_a64_pageoff_type(w);
        return *type ? HP_OK
                     : hp_macho_a64_wrong_insn(rd, sec, r, w, "ADD (immediate) or a load/store");
    }
}

/* Everything but SUBTRACTOR pairs; addend: the ADDEND record's, or 0. */
static hp_status hp_macho_a64_single(hp_macho_rd *rd, uint32_t si, const hp_macho_ri *r,
                                     int64_t addend, hp_obj_rela *rel)
{
    const hp_obj_sec *sec = &rd->o->secs[si];
    hp_macho_tgt t;
    HP_CHECK(hp_macho_target(rd, sec, r, &t));
    *rel = (hp_obj_rela){.off = r->off, .sec = si, .sym = t.sym};
    if (r->type == HP_ARM64_RELOC_UNSIGNED) {
        rel->type = r->len == 3 ? R_AARCH64_ABS64 : R_AARCH64_ABS32;
        rel->addend = (int64_t)((uint64_t)hp_macho_implicit(sec, r) - t.base);
        return HP_OK;
    }
    rel->addend = r->ext ? addend : (int64_t)((uint64_t)addend - t.base);
    return hp_macho_a64_insn_type(rd, sec, r, hp_rd32(sec->data + r->off), &rel->type);
}

/* Shape checks: a type we take, the length and pc-relativity it implies,
 * and a field inside the section. */
static hp_status hp_macho_a64_shape(hp_macho_rd *rd, uint32_t si, const hp_macho_ri *r)
{
    const hp_obj_sec *sec = &rd->o->secs[si];
    unsigned long long off = (unsigned long long)r->off;
    const char *name = hp_macho_a64_rname(r->type);
    switch (r->type) {
    case HP_ARM64_RELOC_TLVP_LOAD_PAGE21:
    case HP_ARM64_RELOC_TLVP_LOAD_PAGEOFF12:
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation ARM64_RELOC_%s "
                                       "(thread-local storage) is not supported", sec->name, off,
                             name);
    case HP_ARM64_RELOC_AUTHENTICATED_POINTER:
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation ARM64_RELOC_%s "
                                       "(arm64e pointer authentication) is not supported",
                             sec->name, off, name);
    case HP_ARM64_RELOC_POINTER_TO_GOT:
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation ARM64_RELOC_%s "
                                       "(a GOT-relative pointer in data) is not supported",
                             sec->name, off, name);
    }
    if (r->type >= HP_MACHO_A64_NTYPES)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: unknown relocation type %u",
                             sec->name, off, r->type);
    bool data = r->type == HP_ARM64_RELOC_UNSIGNED || r->type == HP_ARM64_RELOC_SUBTRACTOR;
    bool pcrel = r->type == HP_ARM64_RELOC_BRANCH26 || r->type == HP_ARM64_RELOC_PAGE21 ||
                 r->type == HP_ARM64_RELOC_GOT_LOAD_PAGE21;
    bool ok = r->pcrel == pcrel && (r->len == 2 || (data && r->len == 3)) &&
              (r->type != HP_ARM64_RELOC_ADDEND || !r->ext);
    if (!ok)
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: ARM64_RELOC_%s with length %u%s%s",
                          sec->name, off, name, 1u << r->len, r->pcrel ? ", pc-relative" : "",
                          r->ext ? ", extern" : "");
    if (sec->nobits || !hp_in_bounds(r->off, 1u << r->len, sec->size))
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: relocation outside the section",
                          sec->name, off);
    return HP_OK;
}

static const uint8_t *hp_macho_a64_rec(const hp_macho_rd *rd, uint32_t si, uint32_t k)
{
    return rd->o->data + rd->sect[si].reloff + (uint64_t)k * HP_MACHO_RELINFO;
}

/* Record k + 1 when there is one and it is not scattered. */
static bool hp_macho_a64_next(const hp_macho_rd *rd, uint32_t si, uint32_t k, hp_macho_ri *n)
{
    if (k + 1 >= rd->sect[si].nreloc || (hp_rd32(hp_macho_a64_rec(rd, si, k + 1)) & 0x80000000u))
        return false;
    hp_macho_ri_read(hp_macho_a64_rec(rd, si, k + 1), n);
    return true;
}

/* ADDEND a (record k) and the relocation it belongs to (record k + 1). */
static hp_status hp_macho_a64_addend(hp_macho_rd *rd, uint32_t si, uint32_t k,
                                     const hp_macho_ri *a, uint32_t *used)
{
    hp_macho_ri n;
    bool more = hp_macho_a64_next(rd, si, k, &n);
    if (!more || n.off != a->off ||
        (n.type != HP_ARM64_RELOC_BRANCH26 && n.type != HP_ARM64_RELOC_PAGE21 &&
         n.type != HP_ARM64_RELOC_PAGEOFF12))
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: ARM64_RELOC_ADDEND not "
                                    "followed by the BRANCH26, PAGE21 or PAGEOFF12 it belongs to",
                          rd->o->secs[si].name, (unsigned long long)a->off);
    *used = 2;
    HP_CHECK(hp_macho_a64_shape(rd, si, &n));
    int64_t addend = (int64_t)(a->symnum ^ 0x800000u) - 0x800000; /* signed 24 bits */
    hp_obj_rela rel;
    HP_CHECK(hp_macho_a64_single(rd, si, &n, addend, &rel));
    return hp_macho_push(rd, &rel);
}

hp_status hp_macho_a64_rel_at(hp_macho_rd *rd, uint32_t si, uint32_t k, uint32_t *used)
{
    const uint8_t *p = hp_macho_a64_rec(rd, si, k);
    hp_macho_ri r, u;
    hp_obj_rela rel;
    *used = 1;
    if (hp_rd32(p) & 0x80000000u)
        return hp_obj_bad(&rd->err, "section '%s': scattered relocation on arm64",
                          rd->o->secs[si].name);
    hp_macho_ri_read(p, &r);
    HP_CHECK(hp_macho_a64_shape(rd, si, &r));
    if (r.type == HP_ARM64_RELOC_ADDEND)
        return hp_macho_a64_addend(rd, si, k, &r, used);
    if (r.type != HP_ARM64_RELOC_SUBTRACTOR) {
        HP_CHECK(hp_macho_a64_single(rd, si, &r, 0, &rel));
        return hp_macho_push(rd, &rel);
    }
    bool more = hp_macho_a64_next(rd, si, k, &u);
    *used = more ? 2 : 1;
    HP_CHECK(hp_macho_pair(rd, si, &r, more ? &u : NULL, &rel));
    return hp_macho_push(rd, &rel);
}
