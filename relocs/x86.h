/* x86: decoding, scanning and relocating x86-64 instructions with Zydis, and
 * encoding the few fixed sequences hookpatch emits. The rewriter calls this;
 * Zydis types never leave relocs/. Every encoder follows "measure, then
 * emit": passing out == NULL returns the size without writing, and the size
 * never depends on the addresses (rel32 forms are always used), so a layout
 * computed with dummy addresses stays valid. */
#ifndef HP_X86_H
#define HP_X86_H

#include "../base/hp_diag.h"
#include "insn.h"

/* Decode one instruction of at most n bytes at p, which lives at va.
 * HP_ERR_FORMAT when the bytes are not a valid instruction. */
hp_status hp_x86_decode(const uint8_t *p, size_t n, uint64_t va, hp_insn *out);

/* Linear decode of a function body [va, va+size). Collects every relative
 * branch target that lies inside the body (sorted, unique). Decoding stops at
 * the first invalid instruction: ok_size says how many bytes decoded cleanly
 * (== size when all did). The arrays are owned: free with hp_x86_scan_free. */
hp_status hp_x86_scan(const uint8_t *p, uint64_t size, uint64_t va, hp_func_scan *out);
void hp_x86_scan_free(hp_func_scan *s);

/* Fast linear decode for whole-image scans: calls fn(ctx, insn_va,
 * target_va) for every legacy-encoded instruction with a relative target
 * (jmp, jcc, call, loop family, xbegin), stores nothing. Stops at the first invalid
 * instruction: *ok_size says how far it got. A non-OK status from fn stops
 * the scan and is returned. */
typedef hp_status (*hp_x86_branch_fn)(void *ctx, uint64_t insn_va, uint64_t target_va);
hp_status hp_x86_branches(const uint8_t *p, uint64_t size, uint64_t va, hp_x86_branch_fn fn,
                          void *ctx, uint64_t *ok_size);

/* Superset scan, no decoding: calls fn(ctx, opcode_va, target_va) at every
 * byte whose value could be the opcode of a direct relative branch (jmp, jcc
 * and call with rel8/rel32, the loop family, xbegin, and the rel16 forms a
 * 0x66 prefix selects), whether or not that byte starts an instruction. Every
 * real direct branch in the bytes is reported, among false ones; a caller
 * that needs only branches into a few places filters the targets and then
 * decodes just the code around the survivors. The filter (NULL: none) drops
 * targets outside [lo, lo + span) or, with blocks, in a 64-byte block of
 * that range whose bit is clear (bit k of blocks[j] is block 8j + k); it runs
 * inline, since most bytes of real code are candidates of some kind. A
 * non-OK status from fn stops the scan and is returned. */
typedef struct hp_x86_target_filter {
    uint64_t lo, span;
    const uint8_t *blocks;
} hp_x86_target_filter;
hp_status hp_x86_branch_candidates(const uint8_t *p, uint64_t size, uint64_t va,
                                   const hp_x86_target_filter *filter, hp_x86_branch_fn fn,
                                   void *ctx);

/* Upper bound of one relocated instruction: push ret_va (19 bytes) plus a
 * 15-byte indirect jmp for a stolen `call [mem]`. */
#define HP_X86_RELOC_MAX 34

/* Relocate the instruction at p (n bytes available; it lives at src_va) so it
 * runs at dst_va with the same effect. RIP-relative operands and relative
 * branches are re-targeted; rel8 branches widen to rel32; jrcxz/loop/loopcc
 * become equivalent sequences. out == NULL measures. On success *len is the
 * number of bytes (written). A stolen `call` must not push an address in the
 * new code: with ret_va != 0 a relative call is emitted as "push ret_va; jmp
 * callee" so the callee returns to ret_va (in the original function);
 * with ret_va == 0 a relative call is refused. Near indirect calls get the
 * same treatment ("push ret_va; jmp <same operand>"); one whose operand
 * depends on rsp, and every far call, is refused.
 * Refusals return HP_ERR_UNHOOKABLE. A target out of rel32 reach of dst_va
 * is HP_ERR_RANGE; it is only checked when emitting, so measuring succeeds at
 * any dummy dst_va. Bytes that do not decode are HP_ERR_FORMAT. Each of the
 * three adds one HP_DIAG_REASON to why (NULL: none wanted), no target, va =
 * src_va, naming the instruction: "cannot relocate 'call 0x1234' at 0x1000:
 * a stolen call would leave ...", "invalid instruction at 0x1000: 06"; or
 * returns HP_ERR_NOMEM when that reason cannot be recorded (why counts it). */
hp_status hp_x86_relocate(const uint8_t *p, size_t n, uint64_t src_va, uint64_t dst_va,
                          uint64_t ret_va, uint8_t *out, size_t *len, hp_diags *why);

/* Disassemble one instruction to text (Intel syntax) for messages. */
/* The address instruction p holds other than as a branch target (see
 * hp_addr_ref): lea r, [rip+d] (HP_REF_PCADDR, the disp32); an immediate of
 * 4 or 8 bytes of mov r, imm / mov r/m, imm32 / push imm32 (HP_REF_ABS,
 * zero-extended or sign-extended as the CPU does). False when none. */
bool hp_x86_addr_ref(const uint8_t *p, size_t n, uint64_t va, hp_addr_ref *out);
/* Whether the indirect jump jmp (after the instruction prev) leaves the
 * function, a tail call, rather than dispatching through a jump table:
 * jmp [mem] with no index register (a GOT or vtable slot), or jmp reg
 * right after pop, leave or add rsp (the frame torn down); never a
 * notrack jump (CET marks table dispatches so). A heuristic: a table
 * dispatched right after the frame is torn down is taken for a tail call. */
bool hp_x86_tail_jump(const uint8_t *prev, size_t prev_len, const uint8_t *jmp, size_t jmp_len);
void hp_x86_format(const uint8_t *p, size_t n, uint64_t va, char *buf, size_t buf_len);

/* Fixed sequences. out == NULL measures. Return the byte count. */
bool hp_x86_rel32_reach(uint64_t from_va_after_insn, uint64_t to_va);
/* e9 rel32: 5 bytes. When emitting, returns 0 and writes nothing if to_va is
 * out of rel32 reach (check with hp_x86_rel32_reach first). */
size_t hp_x86_jmp32(uint8_t *out, uint64_t at_va, uint64_t to_va);
size_t hp_x86_ret_imm(uint8_t *out, int64_t value); /* mov rax/eax, value; ret */
size_t hp_x86_ud2(uint8_t *out);                     /* ud2 */
/* Switch dispatch (see hp_arch.dispatch): through R11 (go false) or, for
 * Go's ABIInternal, R12 with the closure pointer put in RDX. */
size_t hp_x86_dispatch(uint8_t *out, uint64_t at_va, uint64_t slot_va, uint64_t tramp_va,
                       bool go);
size_t hp_x86_ret_addr(uint8_t *out, uint64_t at_va, uint64_t to_va); /* lea rax,[rip+X]; ret */
size_t hp_x86_ret_go_g(uint8_t *out);                                   /* mov rax, r14; ret */
/* 64-bit absolute jump that clobbers nothing: jmp [rip+0]; .quad to_va. */
size_t hp_x86_jmp_abs(uint8_t *out, uint64_t to_va);

#endif
