/* objlink_x86: applying x86-64 relocations (objlink_arch.h).
 *
 * Every relocation is RELA (explicit addend). PC-relative fields are
 * S + A - P and must fit in a signed 32 bits: the new regions and the
 * binary are within +-2 GiB of each other, so branches need no veneers.
 * R_X86_64_32 is zero-extended and R_X86_64_32S sign-extended; neither can
 * follow a PIC image, so both are refused in a PIC output unless the
 * symbol is absolute. GOTPCRELX/REX_GOTPCRELX are relaxed the way GNU ld
 * does (mov -> lea, call * -> addr32 call, jmp * -> jmp; nop) when the
 * target is in reach and moves with the image; otherwise the load goes
 * through a GOT slot, which a PIC output rebases. Gaps in code are int3. */
#include "objlink_priv.h"


static void hp_ol_put_s32(hp_ol_rel *x, uint64_t v)
{
    if (!hp_ol_fits_s(v, 32))
        return hp_ol_overflow(x, v, "a signed 32-bit field (out of +-2 GiB reach)");
    hp_wr32(x->p, (uint32_t)v);
}

/* R_X86_64_16/8 are bitfields: either signed or unsigned interpretation. */
static void hp_ol_put_small(hp_ol_rel *x, uint64_t v, unsigned bytes, bool pcrel)
{
    unsigned bits = bytes * 8;
    bool ok = hp_ol_fits_s(v, bits) || (!pcrel && v < (1ull << bits));
    if (!ok)
        return hp_ol_overflow(x, v, bytes == 2 ? "16 bits" : "8 bits");
    if (bytes == 2)
        hp_wr16(x->p, (uint16_t)v);
    else
        x->p[0] = (uint8_t)v;
}

static void hp_ol_x86_abs64(hp_ol_rel *x) { hp_ol_abs64(x, "use a RIP-relative lea"); }

/* GOTPCRELX: mov foo@GOTPCREL(%rip),%reg -> lea foo(%rip),%reg;
 * call *foo@GOTPCREL(%rip) -> addr32 call foo; jmp * -> jmp foo; nop.
 * Only when the target is in reach and moves with the image. */
static bool hp_ol_relax(hp_ol_rel *x)
{
    uint64_t v = x->S + (uint64_t)x->A - x->P;
    if (x->sym->absolute || x->r->off < 2 || !hp_ol_fits_s(v, 32) || !hp_ol_fits_s(v + 1, 32))
        return false;
    uint8_t *op = x->p - 2, modrm = x->p[-1];
    if (x->r->type == R_X86_64_REX_GOTPCRELX &&
        (x->r->off < 3 || (x->p[-3] & 0xf0) != 0x40))
        return false;
    if (*op == 0x8b && (modrm & 0xc7) == 0x05) {
        *op = 0x8d;
        hp_wr32(x->p, (uint32_t)v);
        return true;
    }
    if (x->r->type != R_X86_64_GOTPCRELX || *op != 0xff || (modrm != 0x15 && modrm != 0x25))
        return false;
    if (modrm == 0x15) {
        op[0] = 0x67; /* addr32 prefix keeps the length */
        op[1] = 0xe8;
        hp_wr32(x->p, (uint32_t)v);
    } else { /* the jmp is one byte earlier, so its displacement is one larger */
        op[0] = 0xe9;
        hp_wr32(x->p - 1, (uint32_t)(v + 1));
        x->p[3] = 0x90;
    }
    return true;
}

static void hp_ol_apply_got(hp_ol_rel *x, uint64_t got_base)
{
    uint64_t A = (uint64_t)x->A;
    switch (x->r->type) {
    case R_X86_64_GOTPCRELX:
    case R_X86_64_REX_GOTPCRELX:
        if (hp_ol_relax(x))
            return;
        /* fall through */
    case R_X86_64_GOTPCREL: return hp_ol_put_s32(x, x->G + A - x->P);
    case R_X86_64_GOT32: return hp_ol_put_s32(x, x->G - got_base + A);
    case R_X86_64_GOT64:
    case R_X86_64_GOTPLT64: return hp_wr64(x->p, x->G - got_base + A);
    case R_X86_64_GOTPCREL64: return hp_wr64(x->p, x->G + A - x->P);
    case R_X86_64_GOTOFF64:
    case R_X86_64_PLTOFF64: return hp_wr64(x->p, x->S + A - got_base);
    case R_X86_64_GOTPC32: return hp_ol_put_s32(x, got_base + A - x->P);
    case R_X86_64_GOTPC64: return hp_wr64(x->p, got_base + A - x->P);
    }
}

static void hp_ol_apply_size(hp_ol_rel *x)
{
    uint64_t v = x->sym->size + (uint64_t)x->A;
    if (!x->sym->sized)
        return hp_ol_rel_err(x, "%s against '%s', whose size is unknown", hp_ol_rel_name(x),
                             x->sym->name);
    if (x->r->type == R_X86_64_SIZE64)
        return hp_wr64(x->p, v);
    if (v > UINT32_MAX)
        return hp_ol_overflow(x, v, "32 bits");
    hp_wr32(x->p, (uint32_t)v);
}

static void hp_ol_x86_apply(hp_ol_rel *x)
{
    uint64_t S = x->S, A = (uint64_t)x->A, P = x->P;
    switch (x->r->type) {
    case R_X86_64_64: return hp_ol_x86_abs64(x);
    case R_X86_64_PC64: return hp_wr64(x->p, S + A - P);
    case R_X86_64_PLT32:
    case 40: /* R_X86_64_PLT32_BND */
        /* `if (weak_fn) weak_fn();` with weak_fn missing: the call never
         * runs, and address 0 may be out of reach. Branch to the next
         * instruction instead of failing the link. */
        if (x->sym->absolute && !S && !hp_ol_fits_s(A - P, 32))
            return hp_wr32(x->p, 0);
        /* fall through */
    case R_X86_64_PC32:
    case 39: /* R_X86_64_PC32_BND */ return hp_ol_put_s32(x, S + A - P);
    case R_X86_64_32:
        if (!hp_ol_abs_narrow_ok(x))
            return;
        if (S + A > UINT32_MAX)
            return hp_ol_overflow(x, S + A, "an unsigned 32-bit field");
        return hp_wr32(x->p, (uint32_t)(S + A));
    case R_X86_64_32S:
        if (hp_ol_abs_narrow_ok(x))
            hp_ol_put_s32(x, S + A);
        return;
    case R_X86_64_16:
    case R_X86_64_8:
        if (hp_ol_abs_narrow_ok(x))
            hp_ol_put_small(x, S + A, hp_obj_rel_width(HP_MACH_X86_64, x->r->type), false);
        return;
    case R_X86_64_PC16:
    case R_X86_64_PC8: return hp_ol_put_small(x, S + A - P, hp_obj_rel_width(HP_MACH_X86_64, x->r->type), true);
    case R_X86_64_SIZE32:
    case R_X86_64_SIZE64: return hp_ol_apply_size(x);
    default: return hp_ol_apply_got(x, x->got_base);
    }
}

const hp_ol_arch hp_ol_arch_x86_64 = {
    .machine = HP_MACH_X86_64,
    .text_pad = 0xcc,
    .abs64_type = R_X86_64_64,
    .apply = hp_ol_x86_apply,
};
