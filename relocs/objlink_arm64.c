/* objlink_arm64: applying AArch64 relocations (objlink_arch.h), after
 * "ELF for the Arm 64-bit Architecture" (AAELF64).
 *
 * What is worth knowing:
 *  - Every relocation is RELA. Instruction relocations patch a bit field of
 *    a 4-byte little-endian word and leave the opcode alone; data
 *    relocations (ABS*, PREL*) write 2, 4 or 8 bytes.
 *  - Addresses are built in two halves: ADRP takes Page(S+A) - Page(P)
 *    (4 KiB pages, +-4 GiB), then ADD or a load/store takes the low 12
 *    bits of S+A, scaled by the access size for loads and stores (an
 *    LDST64 offset must be a multiple of 8: a misaligned one is an error,
 *    not silently truncated). The _NC ("no check") forms are not checked
 *    for overflow, as the ABI says.
 *  - B and BL reach +-128 MiB. When the target is further (the binary's
 *    function, or a trampoline, far from the new segment), the branch goes
 *    to a veneer: ADRP x16 / ADD x16 / BR x16 (+-4 GiB). x16 and x17 are
 *    the intra-procedure-call scratch registers, which AAPCS64 lets a
 *    veneer clobber between a call and its target, and BR through x16 is
 *    what a `BTI c` landing pad accepts. A call to an undefined weak
 *    function (address 0, guarded by `if (weak_fn)`) branches to the next
 *    instruction instead, as GNU ld does.
 *  - The GOT holds 8-byte absolute addresses (R_AARCH64_ADR_GOT_PAGE +
 *    LD64_GOT_LO12_NC, GOT_LD_PREL19); a PIC output rebases each slot
 *    (R_AARCH64_RELATIVE, written by the ELF backend from ed->abs_ptrs).
 *    GNU ld's ADRP+LDR -> ADRP+ADD relaxation is not done: sizes and
 *    bytes stay simple, the slot costs 8 bytes.
 *  - ABS64 is a pointer a PIC output rebases: fine in data, refused in code
 *    (no text relocations). ABS32/ABS16 cannot follow a PIC image at all.
 *  - Gaps in code are zero words: UDF #0, which traps. */
#include "objlink_priv.h"


#define HP_A64_X16 16u
#define HP_A64_VENEER 12u

static uint64_t hp_a64_page(uint64_t v) { return v & ~(uint64_t)0xfff; }

/* Replace bits [shift, shift+bits) of the instruction word with v. */
static void hp_a64_field(uint8_t *p, unsigned shift, unsigned bits, uint64_t v)
{
    uint32_t mask = ((1u << bits) - 1) << shift;
    hp_wr32(p, (hp_rd32(p) & ~mask) | (((uint32_t)v << shift) & mask));
}

/* ADR and ADRP split their 21-bit immediate: immlo [30:29], immhi [23:5]. */
static void hp_a64_adr_imm(uint8_t *p, uint64_t imm)
{
    hp_a64_field(p, 29, 2, imm & 3);
    hp_a64_field(p, 5, 19, imm >> 2);
}

static bool hp_a64_aligned(hp_ol_rel *x, uint64_t v, unsigned scale)
{
    if (!(v & ((1u << scale) - 1)))
        return true;
    hp_ol_rel_err(x, "relocation %s against '%s': value 0x%llx is not a multiple of %u",
                  hp_ol_rel_name(x), x->sym->name, (unsigned long long)v, 1u << scale);
    return false;
}

/* A PC-relative word offset v in `bits` bits at [shift, shift+bits). */
static void hp_a64_pcrel(hp_ol_rel *x, uint64_t v, unsigned shift, unsigned bits,
                         const char *what)
{
    if (!hp_a64_aligned(x, v, 2))
        return;
    if (!hp_ol_fits_s(v, bits + 2))
        return hp_ol_overflow(x, v, what);
    hp_a64_field(x->p, shift, bits, (uint64_t)((int64_t)v >> 2));
}

/* Page(target) - Page(P) into an ADRP; checked unless nc. */
static void hp_a64_adrp(hp_ol_rel *x, uint64_t target, bool nc)
{
    uint64_t v = hp_a64_page(target) - hp_a64_page(x->P);
    if (!nc && !hp_ol_fits_s(v, 33))
        return hp_ol_overflow(x, v, "a signed 33-bit page offset (out of +-4 GiB reach)");
    hp_a64_adr_imm(x->p, (uint64_t)((int64_t)v >> 12));
}

/* The low 12 bits of v, in units of 1 << scale, into imm12 [21:10]. */
static void hp_a64_lo12(hp_ol_rel *x, uint64_t v, unsigned scale)
{
    v &= 0xfff;
    if (hp_a64_aligned(x, v, scale))
        hp_a64_field(x->p, 10, 12, v >> scale);
}

/* A GOT relocation names the slot of S + A; the linker keeps one slot per
 * symbol (compilers never add to a GOT reference). */
static bool hp_a64_got_plain(hp_ol_rel *x)
{
    if (!x->A)
        return true;
    hp_ol_rel_err(x, "relocation %s against '%s' with addend %lld: GOT entries for an offset "
                     "from a symbol are not supported", hp_ol_rel_name(x), x->sym->name,
                  (long long)x->A);
    return false;
}

static bool hp_a64_write_veneer(uint8_t *buf, uint64_t va, uint64_t target)
{
    uint64_t v = hp_a64_page(target) - hp_a64_page(va);
    if (!hp_ol_fits_s(v, 33))
        return false;
    hp_wr32(buf, 0x90000000u | HP_A64_X16); /* adrp x16, target */
    hp_a64_adr_imm(buf, (uint64_t)((int64_t)v >> 12));
    hp_wr32(buf + 4, 0x91000000u | (uint32_t)(target & 0xfff) << 10 | HP_A64_X16 << 5 |
                         HP_A64_X16); /* add x16, x16, :lo12:target */
    hp_wr32(buf + 8, 0xd61f0000u | HP_A64_X16 << 5); /* br x16 */
    return true;
}

#define HP_A64_B26_REACH "a signed 28-bit branch offset (out of +-128 MiB reach)"

/* B/BL: direct when in reach, else through the veneer. */
static void hp_a64_branch26(hp_ol_rel *x)
{
    uint64_t target = x->S + (uint64_t)x->A, v = target - x->P;
    if (!hp_a64_aligned(x, v, 2))
        return;
    if (hp_ol_fits_s(v, 28))
        return hp_a64_field(x->p, 0, 26, (uint64_t)((int64_t)v >> 2));
    if (x->sym->absolute && !x->S) /* an undefined weak function: never called */
        return hp_a64_field(x->p, 0, 26, 1);
    if (!x->veneer)
        return hp_ol_overflow(x, v, HP_A64_B26_REACH);
    if (!hp_a64_write_veneer(x->veneer, x->V, target))
        return hp_ol_overflow(x, hp_a64_page(target) - hp_a64_page(x->V),
                              "the veneer's signed 33-bit page offset (out of +-4 GiB reach)");
    hp_a64_pcrel(x, x->V - x->P, 0, 26, HP_A64_B26_REACH " to its veneer");
}

/* S + A in 2 or 4 bytes, which fits signed or unsigned (AAELF64); a
 * PC-relative S + A - P only signed: readers sign-extend offsets, and GNU
 * ld checks it so too. */
static void hp_a64_data(hp_ol_rel *x, uint64_t v, unsigned bytes, bool pcrel)
{
    unsigned bits = bytes * 8;
    if (!hp_ol_fits_s(v, bits) && (pcrel || v >= 1ull << bits))
        return hp_ol_overflow(x, v, pcrel ? (bytes == 4 ? "a signed 32-bit field"
                                                        : "a signed 16-bit field")
                                          : (bytes == 4 ? "32 bits" : "16 bits"));
    if (bytes == 4)
        hp_wr32(x->p, (uint32_t)v);
    else
        hp_wr16(x->p, (uint16_t)v);
}

static void hp_a64_apply_data(hp_ol_rel *x)
{
    uint64_t SA = x->S + (uint64_t)x->A, P = x->P;
    switch (x->r->type) {
    case R_AARCH64_ABS64: return hp_ol_abs64(x, "take the address with adrp and add");
    case R_AARCH64_ABS32:
        if (hp_ol_abs_narrow_ok(x))
            hp_a64_data(x, SA, 4, false);
        return;
    case R_AARCH64_ABS16:
        if (hp_ol_abs_narrow_ok(x))
            hp_a64_data(x, SA, 2, false);
        return;
    case R_AARCH64_PREL64: return hp_wr64(x->p, SA - P);
    case R_AARCH64_PREL32:
    case HP_R_AARCH64_PLT32: return hp_a64_data(x, SA - P, 4, true);
    case R_AARCH64_PREL16: return hp_a64_data(x, SA - P, 2, true);
    }
}

static void hp_a64_apply(hp_ol_rel *x)
{
    uint64_t SA = x->S + (uint64_t)x->A, P = x->P;
    switch (x->r->type) {
    case R_AARCH64_CALL26:
    case R_AARCH64_JUMP26: return hp_a64_branch26(x);
    case R_AARCH64_CONDBR19:
    case R_AARCH64_LD_PREL_LO19:
        return hp_a64_pcrel(x, SA - P, 5, 19, "a signed 21-bit offset (out of +-1 MiB reach)");
    case R_AARCH64_GOT_LD_PREL19:
        if (hp_a64_got_plain(x))
            hp_a64_pcrel(x, x->G - P, 5, 19, "a signed 21-bit offset (out of +-1 MiB reach)");
        return;
    case R_AARCH64_TSTBR14:
        return hp_a64_pcrel(x, SA - P, 5, 14, "a signed 16-bit offset (out of +-32 KiB reach)");
    case R_AARCH64_ADR_PREL_LO21:
        if (!hp_ol_fits_s(SA - P, 21))
            return hp_ol_overflow(x, SA - P, "a signed 21-bit offset (out of +-1 MiB reach)");
        return hp_a64_adr_imm(x->p, SA - P);
    case R_AARCH64_ADR_PREL_PG_HI21: return hp_a64_adrp(x, SA, false);
    case R_AARCH64_ADR_PREL_PG_HI21_NC: return hp_a64_adrp(x, SA, true);
    case R_AARCH64_ADR_GOT_PAGE:
        if (hp_a64_got_plain(x))
            hp_a64_adrp(x, x->G, false);
        return;
    case R_AARCH64_ADD_ABS_LO12_NC:
    case R_AARCH64_LDST8_ABS_LO12_NC: return hp_a64_lo12(x, SA, 0);
    case R_AARCH64_LDST16_ABS_LO12_NC: return hp_a64_lo12(x, SA, 1);
    case R_AARCH64_LDST32_ABS_LO12_NC: return hp_a64_lo12(x, SA, 2);
    case R_AARCH64_LDST64_ABS_LO12_NC: return hp_a64_lo12(x, SA, 3);
    case R_AARCH64_LDST128_ABS_LO12_NC: return hp_a64_lo12(x, SA, 4);
    case R_AARCH64_LD64_GOT_LO12_NC:
        if (hp_a64_got_plain(x))
            hp_a64_lo12(x, x->G, 3);
        return;
    default: return hp_a64_apply_data(x);
    }
}

static bool hp_a64_needs_veneer(uint32_t type)
{
    return type == R_AARCH64_CALL26 || type == R_AARCH64_JUMP26;
}

const hp_ol_arch hp_ol_arch_arm64 = {
    .machine = HP_MACH_ARM64,
    .text_pad = 0,
    .abs64_type = R_AARCH64_ABS64,
    .veneer_size = HP_A64_VENEER,
    .needs_veneer = hp_a64_needs_veneer,
    .apply = hp_a64_apply,
};
