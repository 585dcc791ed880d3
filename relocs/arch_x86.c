/* The x86-64 architecture table: relocs/x86.c behind hp_arch.
 *
 * Quirks the rewriter meets through this table:
 * - Instructions are 1 to 15 bytes at any address, so the prologue jump
 *   (jmp rel32, 5 bytes) steals whole instructions covering at least 5
 *   bytes, and a byte scan for branches is a superset (any byte can be an
 *   opcode); the code around each candidate is decoded to confirm it.
 * - The layout keeps the new code within rel32 reach of the image, so
 *   every jump is near: there is no far prologue.
 * - CET IBT: an indirect branch must land on endbr64. It is kept when the
 *   jump fits after it, else overwritten (the output's IBT marking is then
 *   cleared). Stubs and trampolines are reached by direct jumps only and
 *   need none.
 * - A stolen call becomes "push ret_va; jmp callee": the pushed return
 *   address has no shadow-stack twin, so SHSTK marking is cleared.
 * - A target shorter than 5 bytes with no free padding after it (-Os,
 *   -falign-functions=1: functions packed back to back) takes a 2-byte
 *   jmp rel8 to an island, free padding within -128..+127 bytes that holds
 *   the jmp rel32.
 * - Go's stack check is "cmp rsp, [r14+0x10]" (or a lea/mov of r12 from
 *   rsp for big frames), and goroutines return into runtime.goexit+1.
 * - A switch's dispatch stub may use one register only: R11 for C (SysV
 *   passes the static chain in R10 and the varargs count in AL; MS x64
 *   leaves R10 and R11 free), R12 for Go (ABIInternal passes arguments in
 *   R10 and R11, the closure context in RDX, g in R14). Its jumps through
 *   the slot are indirect: under enforced IBT the slot's function needs an
 *   endbr64 (compilers emit one with -fcf-protection), and a trampoline
 *   called through a pointer (a helper's "original") has none: a known
 *   limit while user-space IBT is not enforced on Linux. */
#include "arch.h"
#include "x86.h"

#include <string.h>

static hp_status x86_scan(const uint8_t *p, uint64_t size, uint64_t va, hp_func_scan *out)
{
    return hp_x86_scan(p, size, va, out);
}

static hp_status x86_candidates(const uint8_t *p, uint64_t size, uint64_t va,
                                const hp_target_filter *f, hp_branch_fn fn, void *ctx)
{
    hp_x86_target_filter xf, *pf = NULL;
    if (f) {
        xf = (hp_x86_target_filter){f->lo, f->span, f->blocks};
        pf = &xf;
    }
    return hp_x86_branch_candidates(p, size, va, pf, fn, ctx);
}

/* endbr64 is kept when the jump fits after it; otherwise overwritten. */
static size_t x86_entry_options(const hp_insn *first, bool far, hp_arch_entry out[HP_ARCH_MAX_ENTRY])
{
    (void)far;
    size_t n = 0;
    if (first && first->kind == HP_INSN_ENDBR64)
        out[n++] = (hp_arch_entry){.patch_off = 4, .min_steal = 5};
    bool over = n > 0;
    out[n++] = (hp_arch_entry){.patch_off = 0, .min_steal = 5, .over_landing = over};
    return n;
}

static bool x86_pad_insn(const hp_insn *in)
{
    return in->kind == HP_INSN_INT3 || in->kind == HP_INSN_NOP;
}

static bool x86_free_pad(const uint8_t *p, size_t n)
{
    bool ok = true;
    for (size_t k = 0; k < n; k++)
        ok &= p[k] == 0xcc || p[k] == 0x90;
    return ok;
}

static hp_status x86_relocate(const uint8_t *p, size_t n, uint64_t src_va, uint64_t dst_va,
                              uint64_t ret_va, uint32_t scratch, uint8_t *out, size_t *len,
                              hp_diags *why)
{
    (void)scratch; /* x86 sequences need no register */
    return hp_x86_relocate(p, n, src_va, dst_va, ret_va, out, len, why);
}

static size_t x86_jump(uint8_t *out, uint64_t at_va, uint64_t to_va, bool far, uint32_t scratch)
{
    (void)far;
    (void)scratch;
    return hp_x86_jmp32(out, at_va, to_va);
}

static size_t x86_landing(uint8_t *out)
{
    (void)out;
    return 0;
}

/* x86 jumps are all direct (rel32): nothing lands indirectly. */
static bool x86_landing_at(const uint8_t *p, size_t n)
{
    (void)p;
    (void)n;
    return true;
}

static void x86_fill(uint8_t *p, size_t n)
{
    memset(p, 0xcc, n); /* int3 */
}

/* Bytes of displacement a direct branch ends with, from its opcode after
 * any prefixes (a branch hint 2e/3e, a REX or 66 the assembler kept): 1
 * for jmp/jcc rel8 and the loop family, 4 for call/jmp/jcc rel32, 0 for
 * anything else. The length alone cannot tell: `3e 75 xx` is 3 bytes. */
static size_t x86_disp_size(const uint8_t *insn, size_t len)
{
    size_t i = 0;
    while (i < len && (insn[i] == 0x26 || insn[i] == 0x2e || insn[i] == 0x36 ||
                       insn[i] == 0x3e || insn[i] == 0x64 || insn[i] == 0x65 ||
                       insn[i] == 0x66 || insn[i] == 0x67 || insn[i] == 0xf2 ||
                       insn[i] == 0xf3 || (insn[i] & 0xf0) == 0x40))
        i++;
    if (i >= len)
        return 0;
    uint8_t op = insn[i];
    size_t d = 0;
    if (op == 0xeb || (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3))
        d = 1;
    else if (op == 0xe8 || op == 0xe9 || (op == 0x0f && i + 1 < len && (insn[i + 1] & 0xf0) == 0x80))
        d = 4;
    return i + (op == 0x0f) + 1 + d == len ? d : 0;
}

/* rel8 forms (jmp/jcc short, loop family), prefixed or not. */
static bool x86_short_branch(const uint8_t *insn, size_t len)
{
    return x86_disp_size(insn, len) == 1;
}

/* The displacement is the last 1 or 4 bytes of a direct branch. */
static bool x86_retarget(uint8_t *insn, size_t len, uint64_t at_va, uint64_t to_va)
{
    int64_t rel = (int64_t)(to_va - (at_va + len));
    size_t d = x86_disp_size(insn, len);
    if (d == 1) {
        if (rel < -128 || rel > 127)
            return false;
        insn[len - 1] = (uint8_t)(int8_t)rel;
        return true;
    }
    if (d != 4 || !hp_x86_rel32_reach(at_va + len, to_va))
        return false;
    hp_wr32(insn + len - 4, (uint32_t)(int32_t)rel);
    return true;
}

/* Instructions are seen alone. */
static bool x86_addr_ref(const uint8_t *p, size_t before, size_t n, uint64_t va,
                         hp_addr_ref *out)
{
    (void)before;
    return hp_x86_addr_ref(p, n, va, out);
}

/* The disp32 of lea [rip+d]: relative to the instruction's end. */
static bool x86_retarget_addr(uint8_t *insn, size_t len, uint64_t at_va, const hp_addr_ref *ref,
                              uint64_t to_va)
{
    if (ref->kind != HP_REF_PCADDR || ref->size != 4 || ref->off + 4u > len ||
        !hp_x86_rel32_reach(at_va + len, to_va))
        return false;
    hp_wr32(insn + ref->off, (uint32_t)(int32_t)(int64_t)(to_va - (at_va + len)));
    return true;
}

/* jmp rel8: EB disp8. */
static size_t x86_short_jump(uint8_t *out, uint64_t at_va, uint64_t to_va)
{
    int64_t rel = (int64_t)(to_va - (at_va + 2));
    if (rel < -128 || rel > 127)
        return 0;
    if (out) {
        out[0] = 0xeb;
        out[1] = (uint8_t)(int8_t)rel;
    }
    return 2;
}

static size_t x86_dispatch(uint8_t *out, uint64_t at_va, uint64_t slot_va, uint64_t tramp_va,
                           hp_call_abi abi)
{
    return hp_x86_dispatch(out, at_va, slot_va, tramp_va, abi == HP_ABI_GO);
}

/* cmp rsp,[r14+0x10] or a lea/mov of r12 from rsp. */
static bool x86_go_stack_check(const uint8_t *p, size_t n, uint64_t va)
{
    (void)va;
    static const uint8_t cmp[] = {0x49, 0x3b, 0x66, 0x10};
    static const uint8_t lea[] = {0x4c, 0x8d};
    return (n >= 4 && !memcmp(p, cmp, 4)) || (n >= 2 && !memcmp(p, lea, 2));
}

const hp_arch hp_arch_x86 = {
    .name = "x86-64",
    .machine = HP_MACH_X86_64,
    .landing_name = "endbr64",
    .ibt_note = "an endbr64 was overwritten; CET IBT is disabled in the output",
    .reach_text = "rel32 reach (+-2 GiB)",
    .insn_align = 1,
    .call_pushes_return = true,
    .decode = hp_x86_decode,
    .scan = x86_scan,
    .scan_free = hp_x86_scan_free,
    .branch_candidates = x86_candidates,
    .branches = hp_x86_branches,
    .cand_before = 1, /* a 0x66 prefix */
    .cand_after = 6,  /* the longest displacement after an opcode */
    .decode_past = 16,
    .entry_window = 4 + 5, /* endbr64 + the jump */
    .entry_options = x86_entry_options,
    .stealable = NULL,
    .pad_insn = x86_pad_insn,
    .free_pad = x86_free_pad,
    .entry_scratch = 0,
    .regs_written = NULL,
    .relocate = x86_relocate,
    .jump = x86_jump,
    .has_far = false,
    .near_reach = (uint64_t)1 << 31,
    .landing = x86_landing,
    .landing_at = x86_landing_at,
    .ret_imm = hp_x86_ret_imm,
    .trap = hp_x86_ud2,
    .dispatch = x86_dispatch,
    .ret_addr = hp_x86_ret_addr,
    .ret_go_g = hp_x86_ret_go_g,
    .fill = x86_fill,
    .short_jump_len = 2,
    .short_jump = x86_short_jump,
    .tail_jump = hp_x86_tail_jump,
    .short_branch = x86_short_branch,
    .retarget = x86_retarget,
    .addr_ref = x86_addr_ref,
    .retarget_addr = x86_retarget_addr,
    .go_stack_check = x86_go_stack_check,
    .go_morestack_return = NULL,
    .go_scratch = NULL,
    .go_goexit_ret_off = 1,
};

const hp_arch *hp_arch_for(const hp_image *img)
{
    return img->machine == HP_MACH_ARM64 ? &hp_arch_arm64 : &hp_arch_x86;
}
