/* arch: the table of functions an instruction set provides, as
 * sections/format.h is the table a file format provides. The rewriter picks
 * the table once per image (hp_arch_for) and calls only through it: it
 * never branches on the architecture nor calls hp_x86_* or hp_a64_*. One
 * table per architecture: relocs/arch_x86.c, relocs/arch_arm64.c. */
#ifndef HP_ARCH_H
#define HP_ARCH_H

#include "../base/hp_diag.h"
#include "../sections/image.h"
#include "insn.h"

/* How a switchable target's slot is read (rewriter/switch.h): C, the slot
 * holds a code address; Go, a func value (a pointer to a closure whose
 * first word is the code address), passed in the closure context register. */
typedef enum hp_call_abi { HP_ABI_C = 0, HP_ABI_GO = 1 } hp_call_abi;

/* One way to patch a function's entry, best first (entry_options). The
 * patch writes, from patch_va = entry + patch_off: head_len bytes of
 * landing pad (for a signing instruction moved into the trampoline), then
 * the jump; it takes whole instructions, at least min_steal bytes. */
typedef struct hp_arch_entry {
    uint32_t patch_off;
    uint32_t min_steal;
    uint8_t head_len;
    bool over_landing; /* the entry's landing pad is overwritten, not kept */
} hp_arch_entry;
#define HP_ARCH_MAX_ENTRY 2

typedef struct hp_arch {
    const char *name;         /* "x86-64", "arm64": `list` and --json show it */
    hp_machine machine;
    const char *landing_name; /* the landing pad, for messages: "endbr64" */
    const char *ibt_note;     /* the report's note when the output's
                                 landing-pad marking is cleared */
    const char *reach_text;   /* the near jump's reach: "rel32 reach (+-2 GiB)" */
    uint8_t insn_align;       /* instructions start at multiples of this */
    /* Whether a trampoline that replays a stolen call leaves a return
     * address on the stack (x86 push): the output then drops shadow-stack
     * marking (hp_edit.pushed_return). */
    bool call_pushes_return;

    /* ---- decoding */
    hp_status (*decode)(const uint8_t *p, size_t n, uint64_t va, hp_insn *out);
    /* hp_func_scan of a body; free with scan_free. */
    hp_status (*scan)(const uint8_t *p, uint64_t size, uint64_t va, hp_func_scan *out);
    void (*scan_free)(hp_func_scan *s);

    /* ---- whole-image branch scans (rewriter/xref.c): candidates over
     * bytes, then a decode of the code around the survivors. A part of a
     * code range is scanned cand_before bytes before its start and
     * cand_after bytes past its end; decoding stops decode_past bytes past
     * the last candidate. */
    hp_status (*branch_candidates)(const uint8_t *p, uint64_t size, uint64_t va,
                                   const hp_target_filter *filter, hp_branch_fn fn, void *ctx);
    hp_status (*branches)(const uint8_t *p, uint64_t size, uint64_t va, hp_branch_fn fn,
                          void *ctx, uint64_t *ok_size);
    uint8_t cand_before, cand_after, decode_past;

    /* ---- entry analysis (rewriter/site.c) */
    /* Bytes from the entry the analysis decodes when a branch table checks
     * the rest: the longest patch_off + min_steal. */
    uint32_t entry_window;
    /* The ways to patch an entry whose first instruction is first (NULL:
     * the function is empty), best first; far: the far prologue jump.
     * Returns how many (0: none; the caller refuses with why[0]). */
    size_t (*entry_options)(const hp_insn *first, bool far, hp_arch_entry out[HP_ARCH_MAX_ENTRY]);
    /* Whether an instruction may be stolen at all (false: refuse, e.g. a
     * word that is most likely data). NULL: every one may. */
    bool (*stealable)(const uint8_t *p, size_t n);
    /* Dead padding after a function that a patch may overwrite. */
    bool (*pad_insn)(const hp_insn *in);
    /* The same, byte-wise, for a jump island: n bytes of filler. */
    bool (*free_pad)(const uint8_t *p, size_t n);
    /* Registers free at a function entry (bitmask over x0..x30; 0 when the
     * architecture's jumps need none) and those an instruction may write
     * (NULL: none tracked). The rewriter hands relocate and jump the
     * entry's free registers minus those the stolen code wrote. */
    uint32_t entry_scratch;
    uint32_t (*regs_written)(const uint8_t *p, size_t n);

    /* ---- moving code (measure, then emit: out NULL measures; no size
     * depends on an address) */
    /* Relocate one instruction: see hp_x86_relocate / hp_a64_relocate.
     * Refusals add a reason to why. */
    hp_status (*relocate)(const uint8_t *p, size_t n, uint64_t src_va, uint64_t dst_va,
                          uint64_t ret_va, uint32_t scratch, uint8_t *out, size_t *len,
                          hp_diags *why);
    /* A jump from at_va to to_va: the prologue jump and a trampoline's
     * jump back. Near (far false) or the far form through a register of
     * scratch. Returns the size; 0 when it cannot reach (emitting) or no
     * register is free (far). */
    size_t (*jump)(uint8_t *out, uint64_t at_va, uint64_t to_va, bool far, uint32_t scratch);
    /* Whether a far form exists at all (false: every jump is near, and the
     * layout keeps it in reach). */
    bool has_far;
    /* Near reach of jump, for choosing the far form up front. */
    uint64_t near_reach;
    /* The landing pad a stub, a trampoline or a moved signing instruction's
     * entry starts with (0 bytes: the architecture needs none there). */
    size_t (*landing)(uint8_t *out);
    /* Whether an indirect branch may land on the instruction at p (n bytes
     * available): a landing pad, or no enforcement to satisfy. */
    bool (*landing_at)(const uint8_t *p, size_t n);
    /* Stubs: return value; trap. */
    size_t (*ret_imm)(uint8_t *out, int64_t value);
    size_t (*trap)(uint8_t *out);
    /* Switchable hooks. dispatch: load the 8-byte slot at slot_va once;
     * 0: jump to tramp_va with every register as at entry; else jump to
     * what it holds (abi: a code address, or a Go func value with the
     * closure pointer put in the context register, amd64 RDX, arm64 X26).
     * Uses only registers free at every entry (x86-64 C: R11; Go: R12;
     * arm64: x16, x17). ret_addr: return to_va, computed PC-relative, in
     * the first integer result register. ret_go_g: return Go's g register
     * the same way. Each returns its size; 0 when out of reach (emitting). */
    size_t (*dispatch)(uint8_t *out, uint64_t at_va, uint64_t slot_va, uint64_t tramp_va,
                       hp_call_abi abi);
    size_t (*ret_addr)(uint8_t *out, uint64_t at_va, uint64_t to_va);
    size_t (*ret_go_g)(uint8_t *out);
    /* Fill n bytes of dead code (stolen bytes after the jump, new text
     * between stubs) so a stray branch traps. */
    void (*fill)(uint8_t *p, size_t n);
    /* A target too short for the jump: a short jump of short_jump_len
     * bytes at its entry to an island (free padding nearby) that holds the
     * near jump (rewriter/island.h). short_jump writes it at at_va (out
     * NULL: measure) and returns its size; 0 when to_va is out of its
     * reach. short_jump_len 0 and short_jump NULL: none (arm64, whose B is
     * 4 bytes and fits every entry in the near layout; call sites serve the
     * far layout's short functions). */
    uint8_t short_jump_len;
    size_t (*short_jump)(uint8_t *out, uint64_t at_va, uint64_t to_va);
    /* Whether an indirect jump (after the instruction prev) is a tail call
     * rather than a jump table's dispatch, whose targets no branch shows:
     * code moved for an island (rewriter/move.h) must not hold one. NULL:
     * every indirect jump may be a table's. */
    bool (*tail_jump)(const uint8_t *prev, size_t prev_len, const uint8_t *jmp, size_t jmp_len);
    /* Whether a branch the analysis found back to the entry is short: its
     * retarget needs a jump island near it. */
    bool (*short_branch)(const uint8_t *insn, size_t len);
    /* Point the direct branch insn (len bytes, at at_va) at to_va in
     * place. False when to_va is out of its reach. */
    bool (*retarget)(uint8_t *insn, size_t len, uint64_t at_va, uint64_t to_va);

    /* ---- call-site redirection (rewriter/callsite.c): a target whose
     * entry takes no jump is hooked by re-pointing what reaches it. Direct
     * branches are re-pointed with retarget (a short one, or any one when
     * the layout is far, through an island, rewriter/island.h); addr_ref
     * says whether the instruction at p (n bytes readable from p, and
     * before bytes before it in the same run of code) holds an address
     * otherwise (hp_addr_ref; false when not), and retarget_addr re-points
     * an HP_REF_PCADDR one (len bytes at at_va, from the reference's start)
     * at to_va in place (false: out of reach). addr_ref_all: addr_ref is a
     * cheap test asked of every instruction (arm64, whose ADRP+ADD is seen
     * at the ADD); else only of those whose bytes may hold an entry's low
     * 32 bits or whose PC-relative operand is an entry (x86). NULL: the
     * architecture has no call-site redirection, and a target that needs
     * it is refused. */
    bool (*addr_ref)(const uint8_t *p, size_t before, size_t n, uint64_t va,
                     hp_addr_ref *out);
    bool addr_ref_all;
    bool (*retarget_addr)(uint8_t *insn, size_t len, uint64_t at_va, const hp_addr_ref *ref,
                          uint64_t to_va);

    /* ---- Go's prologue facts (sections/debug/gopclntab reads the rest) */
    /* The stolen bytes start with Go's stack check. */
    bool (*go_stack_check)(const uint8_t *p, size_t n, uint64_t va);
    /* The morestack trailer at va ends in a branch back to entry_va (*b_va):
     * NULL when the generic scan for branches to the entry finds it. Not
     * called: on arm64 that scan (HP_SITE_REDIRECTS) finds the trailer's
     * "b entry" too, and a B reaches the trampoline (+-128 MiB), so it is
     * retargeted in place with no island (tests/e2e/a64_go.sh checks the
     * disassembly); in the far layout such a hook is refused. */
    bool (*go_morestack_return)(const uint8_t *p, size_t n, uint64_t va, uint64_t entry_va,
                                uint64_t *b_va);
    /* Registers free after the first off bytes of Go's stack check at p (n
     * bytes from the patch point, va): false when p does not start with
     * the check (the rewriter then uses entry_scratch and regs_written).
     * NULL: the jumps need no register. See hp_a64_go_scratch. */
    bool (*go_scratch)(const uint8_t *p, size_t n, uint64_t va, uint32_t off, uint32_t *free);
    /* Goroutines return into runtime.goexit at this offset. */
    uint32_t go_goexit_ret_off;

    /* The object linker (relocs/objlink*.c) applies relocations per
     * architecture too; its table lives with it and is looked up by the
     * same hp_machine. */
} hp_arch;

extern const hp_arch hp_arch_x86;
extern const hp_arch hp_arch_arm64;

/* The table for the image's machine. */
const hp_arch *hp_arch_for(const hp_image *img);

#endif
