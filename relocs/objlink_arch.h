/* objlink_arch: what the object linker needs to know of one instruction
 * set, as one table per architecture (objlink_x86.c, objlink_arm64.c).
 * The linker's core (objlink.c, objlink_emit.c) lays out, resolves and
 * commits without knowing the architecture; it asks the table how to fill
 * gaps in code, which relocations may need a branch veneer and how big
 * one is, and how to apply one relocation. The architecture table
 * (relocs/arch.h) is meant to point at it; hp_ol_arch_for picks it by
 * machine. */
#ifndef HP_OBJLINK_ARCH_H
#define HP_OBJLINK_ARCH_H

#include "../sections/image.h"

struct hp_ol_rel; /* one relocation being applied (objlink_priv.h) */

typedef struct hp_ol_arch {
    hp_machine machine;
    /* Fills code the objects leave between and after their sections: a
     * byte that traps when executed (x86-64 int3 0xcc; 0 on AArch64, where
     * a zero word is UDF #0). */
    uint8_t text_pad;
    /* The 8-byte absolute pointer type (R_X86_64_64, R_AARCH64_ABS64),
     * which a position-independent output asks the loader to rebase. */
    uint32_t abs64_type;
    /* Bytes of one branch veneer, a multiple of 4; 0 when branches never
     * need one (x86-64: rel32 reaches the whole region and the binary). */
    uint32_t veneer_size;
    /* True for a relocation type whose branch may be out of reach and then
     * goes through a veneer (AArch64 CALL26/JUMP26). measure reserves one
     * veneer per (object, symbol, addend) of such relocations. May be NULL
     * when veneer_size is 0. */
    bool (*needs_veneer)(uint32_t type);
    /* Apply one relocation (x->p points at the bytes of the field). Report
     * problems through hp_ol_rel_err / hp_ol_overflow (objlink_priv.h),
     * which name the object, the section and offset, the relocation and
     * the symbol; HP_ERR_NOMEM is left in x->st. When x->veneer is not NULL
     * (veneer_size bytes at address x->V, zero until written) an out-of-
     * reach branch writes its veneer there and branches to it. */
    void (*apply)(struct hp_ol_rel *x);
} hp_ol_arch;

extern const hp_ol_arch hp_ol_arch_x86_64;
extern const hp_ol_arch hp_ol_arch_arm64;

/* The table for machine m (never NULL: every hp_machine has one). */
const hp_ol_arch *hp_ol_arch_for(hp_machine m);

#endif
