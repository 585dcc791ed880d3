/* The arm64 architecture table: relocs/arm64*.c behind hp_arch.
 *
 * Quirks the rewriter meets through this table (the instruction-level ones
 * are in relocs/arm64.c's opening essay):
 * - The prologue jump is one B (+-128 MiB) when the new code is in reach,
 *   which the layout arranges for every ordinary image; otherwise the far
 *   form ADRP+ADD+BR through x16 (12 bytes, +-4 GiB). x16/x17 are dead at
 *   every function entry (AAPCS64's IP0/IP1, clobbered by veneers and PLT
 *   stubs; Go's ABI treats them the same), so the prologue may use them.
 *   A trampoline's far jump back runs after the stolen instructions: it
 *   uses x16 or x17 only if they did not write it, or, in Go's stack
 *   check (which writes both), a register the rest of the check no longer
 *   reads, x27 included (hp_a64_go_scratch).
 * - BTI: a leading BTI is kept and the patch goes after it. PACIASP or
 *   PACIBSP at the entry (an implicit BTI c) moves into the trampoline and
 *   the entry gets a BTI c, so a replacement never sees a signed x30 and an
 *   indirect call still lands on a pad. Direct branches (B) need no pad;
 *   BR does, so under BTI stubs and trampolines start with BTI c and a far
 *   jump back into the middle of a function clears the marking.
 * - A stolen BL becomes "x30 := ret_va; B callee": no return address is
 *   pushed anywhere, so nothing like x86's shadow-stack clearing applies
 *   (FEAT_GCS marking is not handled: see arm64.c).
 * - Dead bytes are filled with zero words (UDF #0): they trap, and they
 *   count as free padding for a later function's patch.
 * - Go: the stack check reads g from x28 (hp_a64_go_stack_check) and the
 *   morestack trailer ends in "B entry" (hp_a64_go_morestack_return);
 *   goroutines return to runtime.goexit+4.
 * - Call sites (rewriter/callsite.h): BL and B reach the new code in the
 *   near layout and are retargeted in place; the rest through islands.
 *   Addresses computed by code are seen at the ADD of an ADRP+ADD pair
 *   (addr_ref_all: every instruction is asked, a mask test), which is
 *   re-pointed in place when nothing else sees the page; ADR, MOVZ/MOVK
 *   runs and literal words are reported only (hp_a64_addr_ref).
 * - A switch's dispatch stub loads its slot into x16 (ADRP+LDR) and uses
 *   x17 for a Go func value's code; Go's closure context goes in x26.
 *   BR x16/x17 lands on BTI c (or PACIASP) at the slot's function. */
#include "arch.h"
#include "arm64.h"

#include <string.h>

#define A64_JMP_NEAR 4
#define A64_JMP_FAR 12

static size_t a64_entry_options(const hp_insn *first, bool far,
                                hp_arch_entry out[HP_ARCH_MAX_ENTRY])
{
    uint32_t jl = far ? A64_JMP_FAR : A64_JMP_NEAR;
    size_t n = 0;
    if (first && first->kind == HP_INSN_LANDING)
        out[n++] = (hp_arch_entry){.patch_off = 4, .min_steal = jl};
    if (first && first->kind == HP_INSN_PAC_SIGN) {
        out[n++] = (hp_arch_entry){.patch_off = 0, .min_steal = 4 + jl, .head_len = 4};
        return n;
    }
    bool over = n > 0;
    out[n++] = (hp_arch_entry){.patch_off = 0, .min_steal = jl, .over_landing = over};
    return n;
}

static bool a64_stealable(const uint8_t *p, size_t n)
{
    return n >= 4 && !hp_a64_is_reserved(hp_rd32(p));
}

static bool a64_pad_insn(const hp_insn *in)
{
    return in->kind == HP_INSN_NOP || in->kind == HP_INSN_UD;
}

static bool a64_free_pad(const uint8_t *p, size_t n)
{
    if (n % 4)
        return false;
    for (size_t k = 0; k < n; k += 4) {
        uint32_t w = hp_rd32(p + k);
        if (w != 0 && w != 0xd503201fu) /* udf #0, nop */
            return false;
    }
    return true;
}

static uint32_t a64_regs_written(const uint8_t *p, size_t n)
{
    return n >= 4 ? hp_a64_regs_written(hp_rd32(p)) : ~0u;
}

/* x16 first, then x17, then the lowest free register. */
static int a64_pick(uint32_t scratch)
{
    if (scratch & HP_A64_REG(16))
        return 16;
    if (scratch & HP_A64_REG(17))
        return 17;
    for (int r = 0; r < 31; r++)
        if (scratch & HP_A64_REG(r))
            return r;
    return -1;
}

static size_t a64_jump(uint8_t *out, uint64_t at_va, uint64_t to_va, bool far, uint32_t scratch)
{
    if (!far)
        return hp_a64_b(out, at_va, to_va);
    int r = a64_pick(scratch);
    return r < 0 ? 0 : hp_a64_jmp_far(out, at_va, to_va, (unsigned)r);
}

/* BR through x16 (the far prologue) is accepted by every call pad. */
static bool a64_landing_at(const uint8_t *p, size_t n)
{
    return n >= 4 && (hp_a64_bti_accepts(hp_rd32(p)) & HP_A64_BTI_C);
}

static void a64_fill(uint8_t *p, size_t n)
{
    memset(p, 0, n); /* udf #0 */
}

/* Every direct branch but B and BL has at most +-1 MiB of reach. */
static bool a64_short_branch(const uint8_t *insn, size_t len)
{
    return len != 4 || !hp_a64_is_b_or_bl(hp_rd32(insn));
}

static bool a64_retarget(uint8_t *insn, size_t len, uint64_t at_va, uint64_t to_va)
{
    return len == 4 && hp_a64_retarget_branch(insn, at_va, to_va);
}

static size_t a64_dispatch(uint8_t *out, uint64_t at_va, uint64_t slot_va, uint64_t tramp_va,
                           hp_call_abi abi)
{
    return hp_a64_dispatch(out, at_va, slot_va, tramp_va, abi == HP_ABI_GO);
}

static bool a64_go_stack_check(const uint8_t *p, size_t n, uint64_t va)
{
    hp_a64_go_check c;
    return hp_a64_go_stack_check(p, n, va, &c);
}

const hp_arch hp_arch_arm64 = {
    .name = "arm64",
    .machine = HP_MACH_ARM64,
    .landing_name = "BTI landing pad",
    .ibt_note = "a BTI landing pad was overwritten, or a far jump lands outside one; BTI is "
                "disabled in the output",
    .reach_text = "B reach (+-128 MiB)",
    .insn_align = 4,
    .call_pushes_return = false,
    .decode = hp_a64_decode,
    .scan = hp_a64_scan,
    .scan_free = hp_a64_scan_free,
    .branch_candidates = hp_a64_branch_candidates,
    .branches = hp_a64_branches,
    .cand_before = 0,
    .cand_after = 0,
    .decode_past = 4,
    .entry_window = 4 + A64_JMP_FAR,
    .entry_options = a64_entry_options,
    .stealable = a64_stealable,
    .pad_insn = a64_pad_insn,
    .free_pad = a64_free_pad,
    .entry_scratch = HP_A64_X16_X17,
    .regs_written = a64_regs_written,
    .relocate = hp_a64_relocate,
    .jump = a64_jump,
    .has_far = true,
    .near_reach = (uint64_t)128 << 20,
    .landing = hp_a64_bti_c,
    .landing_at = a64_landing_at,
    .ret_imm = hp_a64_ret_imm,
    .trap = hp_a64_trap,
    .dispatch = a64_dispatch,
    .ret_addr = hp_a64_ret_addr,
    .ret_go_g = hp_a64_ret_go_g,
    .fill = a64_fill,
    .short_branch = a64_short_branch,
    .retarget = a64_retarget,
    .addr_ref = hp_a64_addr_ref,
    .addr_ref_all = true,
    .retarget_addr = hp_a64_retarget_addr,
    .go_stack_check = a64_go_stack_check,
    .go_morestack_return = hp_a64_go_morestack_return,
    .go_scratch = hp_a64_go_scratch,
    .go_goexit_ret_off = 4,
};
