/* arm64: decoding, scanning and relocating AArch64 (A64) instructions, and
 * encoding the fixed sequences hookpatch emits on arm64; the counterpart of
 * relocs/x86. The rewriter reaches it through the architecture table.
 * Encoders follow "measure, then emit": out == NULL returns the size without
 * writing, and no size depends on an address. */
#ifndef HP_ARM64_H
#define HP_ARM64_H

#include "../base/hp_diag.h"
#include "insn.h"

/* Every A64 instruction is one little-endian 32-bit word at a 4-aligned
 * address. */
#define HP_A64_INSN_LEN 4

/* Register sets are bitmasks over x0..x30: bit n is xn. Bit 31 (sp/xzr) is
 * never a scratch register. */
#define HP_A64_REG(n) (1u << (n))
#define HP_A64_X16_X17 (HP_A64_REG(16) | HP_A64_REG(17))

/* Decode the word at p (n >= 4 bytes available; it lives at va). Every
 * aligned word decodes: words outside the PC-relative classes and the few
 * instructions hookpatch names are HP_INSN_OTHER and plain, whether or not
 * they are allocated (see hp_a64_is_reserved). HP_ERR_FORMAT when fewer than
 * 4 bytes are available or va is not 4-aligned. */
hp_status hp_a64_decode(const uint8_t *p, size_t n, uint64_t va, hp_insn *out);

/* True for UDF (0x0000xxxx) and for the top-level encoding groups the Arm
 * ARM leaves unallocated: such a word is data (a literal pool, a jump table,
 * zero padding) far more often than code. Copying one is harmless (it still
 * faults), but a caller about to steal it should refuse instead. */
bool hp_a64_is_reserved(uint32_t word);

/* The branches a landing-pad word accepts under BTI, as HP_A64_BTI_* bits:
 * BTI c takes calls (BLR, and BR through x16/x17), BTI j jumps (BR), BTI jc
 * both; PACIASP/PACIBSP are implicit BTI c. 0 for every other word (plain
 * BTI included: it accepts no indirect branch). */
#define HP_A64_BTI_C 1u
#define HP_A64_BTI_J 2u
unsigned hp_a64_bti_accepts(uint32_t word);

/* A conservative set of the general registers the word may write (bitmask
 * over x0..x30; bit 31 set when it may write sp or the zero register): every
 * destination, writeback base, pair second register, status register and
 * x30 for BL/BLR/PAC-on-LR. Over-approximates where cheap to (an unknown
 * class reports every register field it has). The rewriter uses it to pick a
 * scratch register the stolen instructions did not write. */
uint32_t hp_a64_regs_written(uint32_t word);

/* Linear decode of a function body [va, va+size): see hp_func_scan. Every
 * aligned word decodes, so ok_size is size rounded down to a whole word
 * (0 when va is misaligned). Free with hp_a64_scan_free. */
hp_status hp_a64_scan(const uint8_t *p, uint64_t size, uint64_t va, hp_func_scan *out);
void hp_a64_scan_free(hp_func_scan *s);

/* Calls fn(ctx, insn_va, target_va) for every aligned word of [va,
 * va+size) that is a direct branch (B, BL, B.cond, BC.cond, CBZ/CBNZ,
 * TBZ/TBNZ, CB<cc>), in address order. Decoding cannot fail, so *ok_size is
 * size rounded down to whole words from the first aligned address. */
hp_status hp_a64_branches(const uint8_t *p, uint64_t size, uint64_t va, hp_branch_fn fn,
                          void *ctx, uint64_t *ok_size);

/* hp_a64_branches with a target filter (NULL: none; same semantics as
 * hp_x86_branch_candidates' filter). On arm64 this is exact, not a superset:
 * instructions are aligned words, so every candidate is an instruction (or a
 * data word that would be one), and a mask/compare on the top byte finds
 * them. */
hp_status hp_a64_branch_candidates(const uint8_t *p, uint64_t size, uint64_t va,
                                   const hp_target_filter *filter, hp_branch_fn fn, void *ctx);

/* Upper bound of one relocated instruction: a BL whose callee and return
 * address are both beyond +-4 GiB (12 words). */
#define HP_A64_RELOC_MAX 48

/* Relocate the word at p (n >= 4; it lives at src_va) so it runs at dst_va
 * with the same effect. out == NULL measures; on success *len is the number
 * of bytes (written).
 *
 * Sizes: the measured size is the worst case for this word, this scratch set
 * and whether ret_va is 0; it never depends on src_va or dst_va. Emitting
 * writes the shortest form that reaches and pads with NOPs to exactly the
 * measured size (after an unconditional branch, where they never run, or at
 * the end of a fall-through path).
 *
 * scratch: registers the caller guarantees dead here and on every path out
 * (bitmask over x0..x30; e.g. HP_A64_X16_X17 at a function entry). The
 * sequences use them in the order x16, x17, x0, x1, ..., never one the
 * instruction itself reads or writes, and clobber no other register and no
 * flag. Reach by form:
 *   - B, BL's callee, the taken path of a conditional: B (+-128 MiB); with
 *     one scratch ADRP+ADD+BR (+-4 GiB); with a second one (or x30 holding
 *     BL's return address) any distance, as a 64-bit PC-relative delta built
 *     by MOVZ/MOVK and added to an ADR. Conditionals become the inverted
 *     condition over that jump.
 *   - ADR, ADRP, literal loads: ADR/LDR (+-1 MiB), ADRP+ADD or ADRP+LDR
 *     (+-4 GiB) through the destination register itself (a scratch one for
 *     SIMD and xzr destinations), any distance with one more scratch.
 *   - PRFM literal out of reach becomes a NOP: a prefetch has no
 *     architectural effect.
 * Nothing is ever an absolute address, so the output needs no dynamic
 * relocation wherever the image loads. A target out of reach of every form
 * the scratch set allows is HP_ERR_RANGE, only when emitting.
 *
 * Far forms end in BR: an indirect branch, so under BTI the target must be
 * a landing pad unless the output's BTI marking is cleared. Through x16/x17
 * it is a call-type branch every landing pad accepts.
 *
 * A stolen BL must not leave a return address in the new code: with ret_va
 * != 0 it becomes "x30 := ret_va (PC-relative); B callee", with ret_va == 0
 * it is refused. BLR/BLRAA/... likewise become "x30 := ret_va; BR/BRAA"
 * through x16 or x17 when the scratch set has one (so the branch type BTI
 * sees stays call-compatible), otherwise through the same register; a BLR
 * that reads x30 needs a scratch register for the copy.
 * HP_ERR_FORMAT when fewer than 4 bytes or src_va is misaligned;
 * HP_ERR_INTERNAL for a misaligned dst_va. Refusals (HP_ERR_UNHOOKABLE),
 * range errors and HP_ERR_FORMAT add one HP_DIAG_REASON to why (NULL: none
 * wanted), no target, va = src_va, naming the instruction: "cannot relocate
 * 'bl #0x1234' at 0x1000: ..."; or return HP_ERR_NOMEM when that reason
 * cannot be recorded (why counts it). */
hp_status hp_a64_relocate(const uint8_t *p, size_t n, uint64_t src_va, uint64_t dst_va,
                          uint64_t ret_va, uint32_t scratch, uint8_t *out, size_t *len,
                          hp_diags *why);

/* Re-aim the direct branch (B, BL, B.cond, CB(N)Z, TB(N)Z, CB<cc>) in the
 * word at p, which lives at at_va, at to_va, in place. False, and p
 * unchanged, when the word is no such branch or to_va is out of its reach
 * (B +-128 MiB, B.cond/CB +-1 MiB, TB +-32 KiB, CB<cc> +-1 KiB). */
bool hp_a64_retarget_branch(uint8_t *p, uint64_t at_va, uint64_t to_va);

/* Whether the word is B or BL (the direct branches with +-128 MiB reach). */
bool hp_a64_is_b_or_bl(uint32_t word);

/* Call-site redirection (relocs/arch.h addr_ref, retarget_addr). The word
 * at p (n bytes from p readable, and before bytes before it, of the same
 * run of code) at va: an ADD Xd, Xn, #imm12 whose Xn an ADRP Xn set
 * (looked for up to 8 words back, stopping at a branch or another write
 * of Xn) computes page + imm12: HP_REF_PCADDR (back: to the ADRP; len:
 * from the ADRP to the ADD's end) when Xd is Xn and no word between them
 * has a register field naming Xn, so the ADRP and the ADD can be
 * re-pointed in place and nothing else sees the page; HP_REF_ABS with why
 * otherwise. A NOP; ADR pair (lld's relaxation of ADRP+ADD) is
 * HP_REF_PCADDR (back 4, len 8), re-pointed as ADRP+ADD. HP_REF_ABS with
 * why, too: any other ADR (+-1 MiB may not reach the new code); an LDR Xt, literal, or an LDR Xt, [Xn, #imm] after an ADRP
 * of Xn, whose 8-byte word lies in the bytes given (its value: a literal
 * pool in code); the last MOVK of a MOVZ/MOVK run of one register (the
 * value built). False for every other word. retarget_addr re-points an
 * HP_REF_PCADDR pair (len bytes at at_va: ADRP first, ADD last; or NOP,
 * ADR) at to_va:
 * false when it is not one or to_va is beyond +-4 GiB. */
bool hp_a64_addr_ref(const uint8_t *p, size_t before, size_t n, uint64_t va, hp_addr_ref *out);
bool hp_a64_retarget_addr(uint8_t *p, size_t len, uint64_t at_va, const hp_addr_ref *ref,
                          uint64_t to_va);

/* One instruction as text for messages, in the syntax capstone/LLVM print
 * (branch and literal targets as "#0x..." absolute addresses): the classes
 * this module knows, ".word 0x..." for everything else. */
void hp_a64_format(const uint8_t *p, size_t n, uint64_t va, char *buf, size_t buf_len);

/* ---- fixed sequences. out == NULL measures. Return the byte count. */

/* Whether a B at at_va reaches to_va (+-128 MiB, word-aligned). */
bool hp_a64_b_reach(uint64_t at_va, uint64_t to_va);
/* B: 4 bytes. When emitting, returns 0 and writes nothing out of reach. */
size_t hp_a64_b(uint8_t *out, uint64_t at_va, uint64_t to_va);
/* ADRP xreg, to; ADD xreg, xreg, #lo12; BR xreg: 12 bytes, +-4 GiB between
 * pages, clobbers xreg. When emitting, returns 0 out of reach or for a
 * register outside x0..x30. */
size_t hp_a64_jmp_far(uint8_t *out, uint64_t at_va, uint64_t to_va, unsigned xreg);
/* LDR xreg, #8; BR xreg; .quad to_va: 16 bytes, any distance, clobbers
 * xreg. The quad at offset 8 is an absolute address: a position-independent
 * output needs a relative relocation for it. 0 for a bad register. */
#define HP_A64_JMP_ABS_QUAD 8
size_t hp_a64_jmp_abs(uint8_t *out, uint64_t to_va, unsigned xreg);
/* x0 := value; RET. The shortest of MOVZ/MOVN (64- or 32-bit) plus MOVKs,
 * ORR with a bitmask immediate, or ORR plus one MOVK: 8 to 20 bytes,
 * depending only on value. */
size_t hp_a64_ret_imm(uint8_t *out, int64_t value);
/* The trap stub: UDF #HP_A64_TRAP_IMM, 4 bytes. SIGILL on Linux, the same
 * signal x86's ud2 raises; BRK would raise SIGTRAP, which debuggers take
 * for their own breakpoint. The immediate ("hp") tells it from the zero
 * words (udf #0) of padding. */
#define HP_A64_TRAP_IMM 0x6870u
size_t hp_a64_trap(uint8_t *out);
size_t hp_a64_bti_c(uint8_t *out); /* BTI c: the landing pad for calls */
size_t hp_a64_nop(uint8_t *out);
/* Switch dispatch (see hp_arch.dispatch): ADRP+LDR of the slot into x16;
 * CBNZ; B to the trampoline; BR x16, or for Go's ABIInternal MOV x26, x16;
 * LDR x17, [x16]; BR x17. slot_va must be 8-aligned. */
size_t hp_a64_dispatch(uint8_t *out, uint64_t at_va, uint64_t slot_va, uint64_t tramp_va,
                       bool go);
size_t hp_a64_ret_addr(uint8_t *out, uint64_t at_va, uint64_t to_va); /* adrp+add x0; ret */
size_t hp_a64_ret_go_g(uint8_t *out);                                   /* mov x0, x28; ret */

/* ---- Go on arm64 (g lives in x28, the closure context in x26).
 *
 * The stack-check prologue, one of
 *   ldr x16, [x28, #16|#24]; cmp sp, x16;                          b.ls M
 *   ldr x16, [x28, #16|#24]; sub x17, sp, #N;  cmp x17, x16;       b.ls M
 *   ldr x16, [x28, #16|#24]; subs x17, sp, #N; b.lo M; cmp x17, x16; b.ls M
 *   ldr x16, [x28, #16|#24]; mov x27, #N; [movk x27, ...]; subs x17, sp, x27;
 *                                             b.lo M; cmp x17, x16; b.ls M
 * (Go 1.19 to 1.26; #24 is stackguard1, in runtime functions). */
typedef struct hp_a64_go_check {
    uint32_t len;          /* bytes from the entry through the last b.ls */
    uint64_t morestack_va; /* M: the morestack trailer every branch goes to */
} hp_a64_go_check;
bool hp_a64_go_stack_check(const uint8_t *p, size_t n, uint64_t va, hp_a64_go_check *out);

/* The morestack trailer at va (n bytes available) of the function entered at
 * entry_va: spills, "mov x3, x30", "bl runtime.morestack*", reloads, then
 * "b entry_va". Returns true and *b_va = the address of that final B. */
/* Registers free after the first off bytes of the stack check at p (n
 * bytes of the function from the check on; off a multiple of 4): Go's
 * scratch registers at a function entry, x16, x17 and x27 (REGTMP, the
 * assembler's temporary, which carries nothing across an entry), minus
 * those the first off bytes wrote and the rest of the check still reads
 * (x16 by the cmp, x17 by "cmp x17, x16", x27 by movk and "subs x17, sp,
 * x27"). Past the check's last b.ls none of them is read again, so only
 * what the words after it wrote is taken out. False, and *free unchanged,
 * when p does not start with the check or off is past n. */
#define HP_A64_GO_SCRATCH (HP_A64_X16_X17 | HP_A64_REG(27))
bool hp_a64_go_scratch(const uint8_t *p, size_t n, uint64_t va, uint32_t off, uint32_t *free);

bool hp_a64_go_morestack_return(const uint8_t *p, size_t n, uint64_t va, uint64_t entry_va,
                                uint64_t *b_va);

#endif
