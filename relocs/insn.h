/* insn: the architecture-neutral view of one decoded instruction and of a
 * function body's decode, shared by the instruction modules (relocs/x86,
 * relocs/arm64) and the rewriter, which reasons about kinds and targets
 * without knowing the instruction set. */
#ifndef HP_INSN_H
#define HP_INSN_H

#include "../base/hp_base.h"
#include "../base/hp_diag.h"

#include <stdarg.h>

/* What an instruction does to control flow, as far as the rewriter cares.
 * The first twelve values keep the numbers they had when x86 was the only
 * architecture; the x86-specific spellings remain as aliases. */
typedef enum hp_insn_kind {
    HP_INSN_OTHER,
    HP_INSN_JMP,      /* direct jump: x86 jmp rel; arm64 B, B.AL/B.NV */
    HP_INSN_JCC,      /* direct conditional: x86 jcc; arm64 B.cond, BC.cond, CB(N)Z,
                         TB(N)Z, CB<cc> */
    HP_INSN_CALL,     /* direct call: x86 call rel32; arm64 BL */
    HP_INSN_LOOP,     /* x86 only: jrcxz/jecxz/loop/loope/loopne (rel8 only) */
    HP_INSN_RET,      /* x86 ret/retf/iret; arm64 RET, RETAA/RETAB, ERET, RETA*SPPC */
    HP_INSN_JMP_IND,  /* x86 jmp r/m (including rip-relative); arm64 BR, BRAA, ... */
    HP_INSN_CALL_IND, /* x86 call r/m; arm64 BLR, BLRAA, ... */
    HP_INSN_TRAP,     /* breakpoint: x86 int3; arm64 BRK */
    HP_INSN_NOP,      /* x86 any nop form, including multi-byte; arm64 NOP only */
    HP_INSN_UD,       /* permanently undefined: x86 ud2; arm64 UDF */
    HP_INSN_LANDING,  /* indirect-branch landing pad: x86 endbr64; arm64 BTI */
    HP_INSN_PAC_SIGN, /* signs the return address: arm64 PACIASP, PACIBSP, ... */
    HP_INSN_INT3 = HP_INSN_TRAP,
    HP_INSN_UD2 = HP_INSN_UD,
    HP_INSN_ENDBR64 = HP_INSN_LANDING,
} hp_insn_kind;

typedef struct hp_insn {
    uint64_t va;
    uint8_t len;
    uint8_t kind;    /* hp_insn_kind */
    bool rip_rel;    /* a PC-relative data operand: x86 RIP-relative memory; arm64
                        ADR/ADRP (the address computed) or a literal load/prefetch */
    bool has_target; /* relative branch (target_va) or PC-relative operand (mem_va) */
    bool plain;      /* position-independent: the relocator copies it as is */
    uint64_t target_va; /* relative branch destination */
    uint64_t mem_va;    /* PC-relative operand's absolute address */
} hp_insn;

/* Linear decode of a function body [va, va+size). Collects every relative
 * branch target that lies inside the body (sorted, unique). Decoding stops at
 * the first invalid instruction: ok_size says how many bytes decoded cleanly
 * (== size when all did). The arrays are owned: free with the module's
 * scan_free. */
typedef struct hp_func_scan {
    hp_insn *insns;
    size_t ninsns, insns_cap;
    uint64_t *targets; /* intra-function branch destinations */
    size_t ntargets, targets_cap;
    uint64_t ok_size;
} hp_func_scan;

/* An address one instruction holds other than as a direct branch's target
 * (call-site redirection, rewriter/callsite.c): HP_REF_PCADDR, computed
 * PC-relative (x86 lea [rip+d]; arm64 ADRP+ADD, reported at the ADD and
 * starting back bytes before it at its ADRP): the field at [off, off +
 * size) of the instruction can be re-pointed, and the reference spans len
 * bytes from its start (0: the instruction's own length); HP_REF_ABS, an
 * address that cannot be re-pointed in place, only reported: an immediate
 * that may be an absolute address (x86 mov r, imm32/imm64, push imm32,
 * mov r/m, imm32), or, with why (static text), another form (arm64 ADR,
 * whose +-1 MiB may not reach the new code; an ADRP+ADD pair whose page
 * stays in its register or may be read between them). */
typedef enum hp_ref_kind { HP_REF_NONE, HP_REF_PCADDR, HP_REF_ABS } hp_ref_kind;
typedef struct hp_addr_ref {
    uint8_t kind; /* hp_ref_kind */
    uint8_t off, size;
    uint64_t addr;
    uint8_t back, len;
    const char *why;
} hp_addr_ref;

/* Whole-image branch scans report each (instruction, target) pair through
 * this; a non-OK status stops the scan and is returned. Same shape as
 * hp_x86_branch_fn. */
typedef hp_status (*hp_branch_fn)(void *ctx, uint64_t insn_va, uint64_t target_va);

/* Target filter of the candidate scans (NULL: none): drops targets outside
 * [lo, lo + span) or, with blocks, in a 64-byte block of that range whose
 * bit is clear (bit k of blocks[j] is block 8j + k). Same layout and meaning
 * as hp_x86_target_filter. */
typedef struct hp_target_filter {
    uint64_t lo, span;
    const uint8_t *blocks;
} hp_target_filter;

/* A relocator's refusal of the instruction spelled text at va: adds
 * "cannot relocate 'TEXT' at 0xVA: PHRASE" (PHRASE from fmt, a short
 * constant with a few numbers) as one HP_DIAG_REASON to why, with no
 * target. Returns s, or HP_ERR_NOMEM when the reason cannot be recorded.
 * One wording for every architecture's relocator. */
hp_status hp_insn_refuse(hp_diags *why, hp_status s, uint64_t va, const char *text,
                         const char *fmt, va_list ap);

#endif
