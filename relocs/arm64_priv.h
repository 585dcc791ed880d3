/* arm64_priv: the instruction classes and field helpers relocs/arm64.c
 * (decode, scan, format, Go facts) and relocs/arm64_reloc.c (relocation,
 * fixed sequences) share. Nothing outside relocs/arm64*.c includes it. */
#ifndef HP_ARM64_PRIV_H
#define HP_ARM64_PRIV_H

#include "arm64.h"

/* The classes hookpatch distinguishes. A_OTHER is everything else:
 * position-independent by construction of the A64 encoding. */
typedef enum a64_class {
    A_OTHER,
    /* PC-relative */
    A_B,       /* B imm26 */
    A_BL,      /* BL imm26 */
    A_BCOND,   /* B.cond / BC.cond imm19 (bit 4 selects BC, FEAT_HBC) */
    A_CB,      /* CBZ/CBNZ imm19 (bit 24: NZ) */
    A_TB,      /* TBZ/TBNZ imm14 (bit 24: NZ) */
    A_CMPBR,   /* CB<cc>, CBB<cc>, CBH<cc> imm9 (FEAT_CMPBR) */
    A_ADR,     /* ADR imm21 */
    A_ADRP,    /* ADRP imm21 pages */
    A_LDR_LIT, /* LDR W/X/S/D/Q and LDRSW literal imm19 */
    A_PRFM_LIT,
    A_PAUTH_LR,     /* AUTIASPPC/AUTIBSPPC label (FEAT_PAuth_LR) */
    A_PAUTH_LR_RET, /* RETAASPPC/RETABSPPC label */
    /* position-independent, but named */
    A_RET,  /* RET, RETAA/RETAB */
    A_ERET, /* ERET, ERETAA/ERETAB, DRPS */
    A_BR,   /* BR, BRAA/BRAB, BRAAZ/BRABZ */
    A_BLR,  /* BLR, BLRAA/BLRAB, BLRAAZ/BLRABZ */
    A_NOP,
    A_BTI,
    A_PAC_SIGN,    /* PACIASP/PACIBSP/PACIAZ/PACIBZ, PACIA/PACIB/PACIZA/PACIZB x30 */
    A_PAC_SIGN_PC, /* PACIASPPC/PACIBSPPC/PACNBI*SPPC: sign with their own address */
    A_HINT,        /* any other hint (NOP space) */
    A_BRK,
    A_UDF,
} a64_class;

a64_class hp_a64_classify(uint32_t w);

static inline int64_t a64_sext(uint64_t v, unsigned bits)
{
    uint64_t m = 1ull << (bits - 1);
    v &= (bits == 64) ? ~0ull : (1ull << bits) - 1;
    return (int64_t)((v ^ m) - m);
}

static inline bool a64_is_pcrel(a64_class c)
{
    return c >= A_B && c <= A_PAUTH_LR_RET;
}

/* Branch classes with an immediate target. */
static inline bool a64_is_branch(a64_class c)
{
    return c >= A_B && c <= A_CMPBR;
}

/* B.AL and B.NV (cond 111x) always branch. */
static inline bool a64_bcond_always(uint32_t w) { return (w & 0xe) == 0xe; }

/* The absolute target (branches) or address (ADR/ADRP/literals/PAuth_LR
 * labels) of a PC-relative word at va. */
uint64_t hp_a64_target(uint32_t w, a64_class c, uint64_t va);

/* w with its PC-relative field re-aimed from at to to; false when to is out
 * of the field's reach or misaligned for it. */
bool hp_a64_retarget(uint32_t w, a64_class c, uint64_t at, uint64_t to, uint32_t *out);

/* The literal load's access size in bytes (4, 8 or 16) and whether its
 * destination is a SIMD&FP register. */
static inline unsigned a64_lit_size(uint32_t w, bool *simd)
{
    unsigned opc = w >> 30;
    *simd = (w >> 26) & 1;
    if (*simd)
        return 4u << opc; /* S, D, Q */
    return opc == 1 ? 8 : 4; /* W, X; LDRSW reads 4 */
}

#define A64_NOP 0xd503201fu

#endif
