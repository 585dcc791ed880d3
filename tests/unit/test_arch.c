/* Unit tests for the architecture tables (relocs/arch.h): what the
 * rewriter gets from each entry of hp_arch_x86 and hp_arch_arm64, on byte
 * arrays: entry options (landing pads kept or moved, near and far sizes),
 * the prologue and jump-back encodings and their register choice, in-place
 * retargeting and its reach, padding and filler, and the table choice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "relocs/arch.h"
#include "relocs/arm64.h"

static const hp_arch *A64 = &hp_arch_arm64, *X86 = &hp_arch_x86;

static hp_insn first(const hp_arch *a, const uint8_t *p, size_t n)
{
    hp_insn in;
    assert_int_equal(a->decode(p, n, 0x1000, &in), HP_OK);
    return in;
}

static void le32(uint8_t *p, uint32_t w) { hp_wr32(p, w); }

static void test_pick(void **state)
{
    (void)state;
    hp_image img = {0};
    assert_ptr_equal(hp_arch_for(&img), X86); /* zero-filled: x86-64 */
    img.machine = HP_MACH_ARM64;
    assert_ptr_equal(hp_arch_for(&img), A64);
    assert_string_equal(A64->name, "arm64");
    assert_string_equal(X86->name, "x86-64");
}

static void test_x86_entry(void **state)
{
    (void)state;
    hp_arch_entry e[HP_ARCH_MAX_ENTRY];
    static const uint8_t endbr[] = {0xf3, 0x0f, 0x1e, 0xfa}, push[] = {0x55};
    hp_insn in = first(X86, endbr, sizeof endbr);
    assert_int_equal(X86->entry_options(&in, false, e), 2);
    assert_true(e[0].patch_off == 4 && e[0].min_steal == 5 && !e[0].over_landing);
    assert_true(e[1].patch_off == 0 && e[1].min_steal == 5 && e[1].over_landing);
    in = first(X86, push, sizeof push);
    assert_int_equal(X86->entry_options(&in, true, e), 1); /* x86 has no far form */
    assert_true(e[0].patch_off == 0 && e[0].min_steal == 5 && !e[0].over_landing &&
                !e[0].head_len);
}

static void test_a64_entry(void **state)
{
    (void)state;
    hp_arch_entry e[HP_ARCH_MAX_ENTRY];
    uint8_t w[4];
    le32(w, 0xd503245f); /* bti c */
    hp_insn in = first(A64, w, 4);
    assert_int_equal(A64->entry_options(&in, false, e), 2);
    assert_true(e[0].patch_off == 4 && e[0].min_steal == 4 && !e[0].over_landing);
    assert_true(e[1].patch_off == 0 && e[1].over_landing);
    assert_int_equal(A64->entry_options(&in, true, e), 2);
    assert_int_equal(e[0].min_steal, 12);

    le32(w, 0xd503233f); /* paciasp: moved, a BTI c head in its place */
    in = first(A64, w, 4);
    assert_int_equal(A64->entry_options(&in, false, e), 1);
    assert_true(e[0].patch_off == 0 && e[0].head_len == 4 && e[0].min_steal == 8 &&
                !e[0].over_landing);
    assert_int_equal(A64->entry_options(&in, true, e), 1);
    assert_int_equal(e[0].min_steal, 16);

    le32(w, 0x11000400); /* add w0, w0, #1 */
    in = first(A64, w, 4);
    assert_int_equal(A64->entry_options(&in, false, e), 1);
    assert_true(e[0].patch_off == 0 && e[0].min_steal == 4 && !e[0].head_len);
    assert_true(A64->stealable(w, 4));
    le32(w, 0x00000001); /* udf space: data */
    assert_false(A64->stealable(w, 4));
}

static void test_a64_jump(void **state)
{
    (void)state;
    uint8_t b[16];
    assert_int_equal(A64->jump(NULL, 0, 0, false, 0), 4);
    assert_int_equal(A64->jump(b, 0x1000, 0x2000, false, 0), 4);
    assert_int_equal(hp_rd32(b), 0x14000400u); /* b #+0x1000 */
    assert_int_equal(A64->jump(b, 0x1000, 0x1000 + (128u << 20), false, 0), 0); /* out of reach */
    /* far: adrp; add; br through x16, else x17, else nothing */
    assert_int_equal(A64->jump(b, 0x1000, 0x10002040, true, HP_A64_X16_X17), 12);
    assert_int_equal(hp_rd32(b + 8), 0xd61f0000u | 16u << 5); /* br x16 */
    assert_int_equal(hp_rd32(b) & 0x1f, 16);
    assert_int_equal(A64->jump(b, 0x1000, 0x10002040, true, HP_A64_REG(17)), 12);
    assert_int_equal(hp_rd32(b + 8), 0xd61f0000u | 17u << 5); /* br x17 */
    assert_int_equal(A64->jump(NULL, 0, 0, true, 0), 0);       /* no free register */
    le32(b, 0xd503245f); /* bti c */
    assert_true(A64->landing_at(b, 4));
    le32(b, 0xd503233f); /* paciasp: an implicit bti c */
    assert_true(A64->landing_at(b, 4));
    le32(b, 0x52800120); /* mov w0, #9 */
    assert_false(A64->landing_at(b, 4));
    assert_int_equal(A64->regs_written((const uint8_t *)"\xf0\x00\x80\xd2", 4),
                     HP_A64_REG(16)); /* mov x16, #7 */
}

static void test_a64_retarget(void **state)
{
    (void)state;
    uint8_t w[4];
    le32(w, 0x54ffffcb); /* b.lt -8 */
    assert_true(A64->short_branch(w, 4));
    assert_true(A64->retarget(w, 4, 0x1000, 0x1100));
    assert_int_equal(hp_rd32(w), 0x5400080bu); /* b.lt +0x100 */
    assert_false(A64->retarget(w, 4, 0x1000, 0x1000 + (2u << 20))); /* B.cond: +-1 MiB */
    assert_int_equal(hp_rd32(w), 0x5400080bu);                    /* unchanged */
    le32(w, 0x36080000); /* tbz w0, #1, +0 */
    assert_true(A64->retarget(w, 4, 0x1000, 0x1000 + 0x7ffc));
    assert_false(A64->retarget(w, 4, 0x1000, 0x1000 + 0x8000)); /* TB: +-32 KiB */
    le32(w, 0x14000000); /* b +0 */
    assert_false(A64->short_branch(w, 4));
    assert_true(A64->retarget(w, 4, 0x1000, 0x1000 + (100u << 20)));
    le32(w, 0x11000400); /* add: no branch */
    assert_false(A64->retarget(w, 4, 0x1000, 0x1100));
}

static void test_fill_and_pad(void **state)
{
    (void)state;
    uint8_t b[8];
    A64->fill(b, sizeof b);
    assert_true(A64->free_pad(b, 8));
    le32(b + 4, 0xd503201f); /* nop */
    assert_true(A64->free_pad(b, 8));
    assert_false(A64->free_pad(b, 6)); /* not whole words */
    le32(b, 0xd65f03c0); /* ret */
    assert_false(A64->free_pad(b, 8));
    X86->fill(b, sizeof b);
    assert_int_equal(b[0], 0xcc);
    assert_true(X86->free_pad(b, 5));
    b[2] = 0xc3;
    assert_false(X86->free_pad(b, 5));
}

static void test_x86_jump_retarget(void **state)
{
    (void)state;
    uint8_t b[8] = {0};
    assert_int_equal(X86->jump(b, 0x1000, 0x2000, false, 0), 5);
    assert_int_equal(b[0], 0xe9);
    assert_int_equal(hp_rd32(b + 1), 0x2000 - 0x1005);
    uint8_t jcc8[2] = {0x75, 0x00};
    assert_true(X86->short_branch(jcc8, 2));
    assert_true(X86->retarget(jcc8, 2, 0x1000, 0x1002 + 127));
    assert_int_equal(jcc8[1], 127);
    assert_false(X86->retarget(jcc8, 2, 0x1000, 0x1002 + 128));
    uint8_t jmp32[5] = {0xe9, 0, 0, 0, 0};
    assert_false(X86->short_branch(jmp32, 5));
    assert_true(X86->retarget(jmp32, 5, 0x1000, 0x500000));
    assert_int_equal(hp_rd32(jmp32 + 1), 0x500000 - 0x1005);
}

/* Short and near are told by the opcode after any prefixes, not by
 * length: a hinted rel8 jcc is 3 bytes, a jcc rel32 is 6. */
static void test_x86_prefixed_retarget(void **state)
{
    (void)state;
    uint8_t hinted[3] = {0x3e, 0x75, 0xf5}; /* ds jnz rel8 */
    assert_true(X86->short_branch(hinted, 3));
    assert_true(X86->retarget(hinted, 3, 0x1007, 0x100b));
    assert_memory_equal(hinted, ((uint8_t[]){0x3e, 0x75, 0x01}), 3);
    assert_false(X86->retarget(hinted, 3, 0x1007, 0x100a + 128));
    uint8_t jcc32[6] = {0x0f, 0x85, 0, 0, 0, 0};
    assert_false(X86->short_branch(jcc32, 6));
    assert_true(X86->retarget(jcc32, 6, 0x1000, 0x2000));
    assert_int_equal(hp_rd32(jcc32 + 2), 0x2000 - 0x1006);
    uint8_t hinted32[7] = {0x2e, 0x0f, 0x84, 0, 0, 0, 0}; /* cs jz rel32 */
    assert_false(X86->short_branch(hinted32, 7));
    assert_true(X86->retarget(hinted32, 7, 0x1000, 0x2000));
    assert_int_equal(hp_rd32(hinted32 + 3), 0x2000 - 0x1007);
    uint8_t loop[3] = {0x67, 0xe2, 0x00}; /* addr32 loop rel8 */
    assert_true(X86->short_branch(loop, 3));
    /* A call is re-pointed too (call sites, rewriter/callsite.c); the
     * redirects of a site pick only jumps (rewriter/site.c). */
    uint8_t call[5] = {0xe8, 0, 0, 0, 0};
    assert_false(X86->short_branch(call, 5));
    assert_true(X86->retarget(call, 5, 0x1000, 0x2000));
    assert_int_equal(hp_rd32(call + 1), 0x2000 - 0x1005);
    uint8_t callp[6] = {0x40, 0xe8, 0, 0, 0, 0}; /* rex call: the rel32 is the last 4 */
    assert_true(X86->retarget(callp, 6, 0x1000, 0x800));
    assert_int_equal(hp_rd32(callp + 2), (uint32_t)(0x800 - 0x1006));
    uint8_t ind[2] = {0xff, 0xd0}; /* call rax: no displacement */
    assert_false(X86->retarget(ind, 2, 0x1000, 0x2000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick),          cmocka_unit_test(test_x86_entry),
        cmocka_unit_test(test_a64_entry),     cmocka_unit_test(test_a64_jump),
        cmocka_unit_test(test_a64_retarget),  cmocka_unit_test(test_fill_and_pad),
        cmocka_unit_test(test_x86_jump_retarget), cmocka_unit_test(test_x86_prefixed_retarget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
