/* Unit tests for relocs/x86: decoding, scanning, relocation and the fixed
 * sequences. Relocations are checked two ways: by re-decoding the output at
 * addresses up to the edge of rel32 reach (kind, absolute target, and the
 * formatted text, which carries mnemonic and operand widths), and - where the
 * host allows executable memory - by running the original and the relocated
 * code side by side and comparing what they compute. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "relocs/x86.h"

#define SRC 0x100000000ull /* 4 GiB, so src - 2 GiB stays positive */

static const int64_t far_deltas[] = {0x7fff0000, -0x7fff0000, 0x1000, -0x1000, 0};
#define NDELTAS (sizeof far_deltas / sizeof far_deltas[0])

typedef struct relo {
    uint8_t b[HP_X86_RELOC_MAX + 8];
    size_t len;
} relo;

/* Measure at two unrelated dummy addresses and at dst, emit at dst, and
 * insist all agree and nothing past the measured length was written. */
static hp_status relocate(const uint8_t *p, size_t n, uint64_t src, uint64_t dst, uint64_t ret,
                          relo *o, hp_diags *why)
{
    size_t m0 = 99, m1 = 99, m2 = 99;
    hp_status s0 = hp_x86_relocate(p, n, src, 0, ret, NULL, &m0, NULL);
    hp_status s1 = hp_x86_relocate(p, n, src, UINT64_MAX - 4096, ret, NULL, &m1, NULL);
    hp_status s2 = hp_x86_relocate(p, n, src, dst, ret, NULL, &m2, NULL);
    assert_int_equal(s0, s1);
    assert_int_equal(s0, s2);
    memset(o->b, 0xa5, sizeof o->b);
    o->len = 77;
    hp_status s = hp_x86_relocate(p, n, src, dst, ret, o->b, &o->len, why);
    if (s0 != HP_OK) {
        assert_int_equal(s, s0);
        assert_int_equal(o->len, 0);
        return s;
    }
    assert_int_equal(m0, m1);
    assert_int_equal(m0, m2);
    assert_true(m0 <= HP_X86_RELOC_MAX);
    if (s != HP_OK) {
        assert_int_equal(o->len, 0);
        return s;
    }
    assert_int_equal(o->len, m0);
    for (size_t i = o->len; i < sizeof o->b; i++)
        assert_int_equal(o->b[i], 0xa5);
    return s;
}

static void relocate_ok(const uint8_t *p, size_t n, uint64_t src, uint64_t dst, uint64_t ret,
                        relo *o)
{
    hp_diags why = {0};
    hp_status s = relocate(p, n, src, dst, ret, o, &why);
    if (s != HP_OK)
        fail_msg("relocate failed: %s: %s", hp_status_str(s), why.n ? why.v[0].msg : "");
    assert_int_equal(why.n, 0);
}

/* The one reason a refusal left in why: an HP_DIAG_REASON about src, with
 * no target; its message, to be freed with why. */
static const char *one_reason(const hp_diags *why, uint64_t src)
{
    assert_int_equal(why->n, 1);
    assert_int_equal(why->errors + why->warnings, 0);
    assert_int_equal(why->v[0].level, HP_DIAG_REASON);
    assert_null(why->v[0].target);
    assert_null(why->v[0].file);
    assert_true(why->v[0].va == src);
    return why->v[0].msg;
}

/* Decode every instruction of o into v; the output must decode exactly. */
static size_t decode_all(const relo *o, uint64_t va, hp_insn *v, size_t max)
{
    size_t n = 0, off = 0;
    while (off < o->len) {
        assert_true(n < max);
        assert_int_equal(hp_x86_decode(o->b + off, o->len - off, va + off, &v[n]), HP_OK);
        off += v[n++].len;
    }
    assert_int_equal(off, o->len);
    return n;
}

static void expect_same_text(const uint8_t *a, size_t an, uint64_t ava, const uint8_t *b,
                             size_t bn, uint64_t bva)
{
    char ta[128], tb[128];
    hp_x86_format(a, an, ava, ta, sizeof ta);
    hp_x86_format(b, bn, bva, tb, sizeof tb);
    assert_string_equal(ta, tb);
}

static void expect_refusal(const uint8_t *p, size_t n, uint64_t ret, hp_status want,
                           const char *needle)
{
    relo o;
    hp_diags why = {0};
    /* 2.25 GiB away: out of reach of everything these tests reference */
    assert_int_equal(relocate(p, n, SRC, SRC + 0x90000000ull, ret, &o, &why), want);
    const char *msg = one_reason(&why, SRC);
    if (needle && !strstr(msg, needle))
        fail_msg("reason '%s' lacks '%s'", msg, needle);
    hp_diags_free(&why);
}

/* ---- decoding */

typedef struct kind_case {
    const char *bytes;
    uint8_t len, kind;
    bool rip_rel, has_target;
    int64_t target; /* target_va or mem_va, relative to SRC */
} kind_case;

static const kind_case kind_cases[] = {
    {"\xe9\x10\x00\x00\x00", 5, HP_INSN_JMP, false, true, 0x15},
    {"\xeb\xfe", 2, HP_INSN_JMP, false, true, 0},
    {"\x74\x05", 2, HP_INSN_JCC, false, true, 7},
    {"\x0f\x84\x00\xff\xff\xff", 6, HP_INSN_JCC, false, true, -0xfa},
    {"\xe8\x00\x00\x00\x00", 5, HP_INSN_CALL, false, true, 5},
    {"\xe3\x02", 2, HP_INSN_LOOP, false, true, 4},
    {"\x67\xe3\x02", 3, HP_INSN_LOOP, false, true, 5},
    {"\xe2\xfe", 2, HP_INSN_LOOP, false, true, 0},
    {"\xe1\x00", 2, HP_INSN_LOOP, false, true, 2},
    {"\xe0\x00", 2, HP_INSN_LOOP, false, true, 2},
    {"\xc3", 1, HP_INSN_RET, false, false, 0},
    {"\xc2\x08\x00", 3, HP_INSN_RET, false, false, 0},
    {"\xcb", 1, HP_INSN_RET, false, false, 0},
    {"\x48\xcf", 2, HP_INSN_RET, false, false, 0},
    {"\xff\xe0", 2, HP_INSN_JMP_IND, false, false, 0},
    {"\xff\x25\x00\x01\x00\x00", 6, HP_INSN_JMP_IND, true, true, 0x106},
    {"\xff\xd0", 2, HP_INSN_CALL_IND, false, false, 0},
    {"\xff\x15\xfa\xff\xff\xff", 6, HP_INSN_CALL_IND, true, true, 0},
    {"\xcc", 1, HP_INSN_INT3, false, false, 0},
    {"\x90", 1, HP_INSN_NOP, false, false, 0},
    {"\x66\x90", 2, HP_INSN_NOP, false, false, 0},
    {"\x0f\x1f\x00", 3, HP_INSN_NOP, false, false, 0},
    {"\x0f\x1f\x44\x00\x00", 5, HP_INSN_NOP, false, false, 0},
    {"\x66\x2e\x0f\x1f\x84\x00\x00\x00\x00\x00", 10, HP_INSN_NOP, false, false, 0},
    {"\x0f\x0b", 2, HP_INSN_UD2, false, false, 0},
    {"\xf3\x0f\x1e\xfa", 4, HP_INSN_ENDBR64, false, false, 0},
    {"\x48\x8b\x05\x10\x00\x00\x00", 7, HP_INSN_OTHER, true, true, 0x17},
    {"\x48\x8d\x05\xf9\xff\xff\xff", 7, HP_INSN_OTHER, true, true, 0},
    {"\xf2\x0f\x10\x05\x00\x00\x00\x00", 8, HP_INSN_OTHER, true, true, 8},
    {"\xc5\xfe\x6f\x05\x00\x00\x00\x00", 8, HP_INSN_OTHER, true, true, 8},
    {"\xc7\xf8\x00\x00\x00\x00", 6, HP_INSN_OTHER, false, true, 6}, /* xbegin */
    {"\xf3\x90", 2, HP_INSN_OTHER, false, false, 0},                 /* pause */
    {"\x41\x90", 2, HP_INSN_OTHER, false, false, 0},                 /* xchg r8d, eax */
    {"\x49\x3b\x66\x10", 4, HP_INSN_OTHER, false, false, 0},         /* Go stack check */
};

static void test_decode_kinds(void **state)
{
    for (size_t i = 0; i < sizeof kind_cases / sizeof kind_cases[0]; i++) {
        const kind_case *c = &kind_cases[i];
        uint8_t buf[16] = {0};
        memcpy(buf, c->bytes, c->len);
        hp_insn in;
        assert_int_equal(hp_x86_decode(buf, sizeof buf, SRC, &in), HP_OK);
        if (in.kind != c->kind || in.len != c->len)
            fail_msg("case %zu: kind %d len %d", i, in.kind, in.len);
        assert_int_equal(in.va, SRC);
        assert_int_equal(in.rip_rel, c->rip_rel);
        assert_int_equal(in.has_target, c->has_target);
        if (c->has_target)
            assert_int_equal(c->rip_rel ? in.mem_va : in.target_va, SRC + c->target);
    }
}

static void test_decode_invalid(void **state)
{
    hp_insn in;
    assert_int_equal(hp_x86_decode((const uint8_t *)"\x06", 1, SRC, &in), HP_ERR_FORMAT);
    assert_int_equal(hp_x86_decode((const uint8_t *)"\x0f\x04", 2, SRC, &in), HP_ERR_FORMAT);
    /* truncated: a complete jmp rel32 needs 5 bytes */
    assert_int_equal(hp_x86_decode((const uint8_t *)"\xe9\x00\x00\x00\x00", 4, SRC, &in),
                     HP_ERR_FORMAT);
    assert_int_equal(hp_x86_decode((const uint8_t *)"\x90", 0, SRC, &in), HP_ERR_FORMAT);
    assert_int_equal(hp_x86_decode(NULL, 5, SRC, &in), HP_ERR_FORMAT);
    assert_int_equal(hp_x86_decode((const uint8_t *)"\x90", 1, SRC, NULL), HP_ERR_INTERNAL);
}

static void test_format(void **state)
{
    char t[128];
    hp_x86_format((const uint8_t *)"\xe9\x10\x00\x00\x00", 5, 0x401000, t, sizeof t);
    assert_string_equal(t, "jmp 0x401015");
    hp_x86_format((const uint8_t *)"\x48\x8b\x05\x10\x00\x00\x00", 7, 0x401000, t, sizeof t);
    assert_string_equal(t, "mov rax, [0x401017]");
    hp_x86_format((const uint8_t *)"\x06\x07", 2, 0x401000, t, sizeof t);
    assert_string_equal(t, "(bad) 06 07");
    hp_x86_format((const uint8_t *)"\x90", 1, 0, t, 3); /* truncation stays terminated */
    assert_true(strlen(t) <= 2);
}

/* ---- relocation: RIP-relative operands */

typedef struct riprel_case {
    const char *bytes;
    uint8_t len, disp_off;
} riprel_case;

static const riprel_case riprel_cases[] = {
    {"\x48\x8b\x05\x00\x01\x00\x00", 7, 3},                /* mov rax, [rip+x] */
    {"\x4c\x8d\x3d\x00\x01\x00\x00", 7, 3},                /* lea r15, [rip+x] */
    {"\x48\x3b\x05\x00\x01\x00\x00", 7, 3},                /* cmp rax, [rip+x] */
    {"\x83\x3d\x00\x01\x00\x00\x05", 7, 2},                /* cmp dword [rip+x], 5 */
    {"\x66\x81\x3d\x00\x01\x00\x00\x34\x12", 9, 3},        /* cmp word [rip+x], 0x1234 */
    {"\xf2\x0f\x10\x05\x00\x01\x00\x00", 8, 4},            /* movsd xmm0, [rip+x] */
    {"\xc5\xfe\x6f\x05\x00\x01\x00\x00", 8, 4},            /* vmovdqu ymm0, [rip+x] */
    {"\x62\xf1\xfe\x48\x6f\x05\x00\x01\x00\x00", 10, 6},   /* vmovdqu64 zmm0, [rip+x] */
    {"\xff\x25\x00\x01\x00\x00", 6, 2},                    /* jmp [rip+x] */
    {"\xff\x35\x00\x01\x00\x00", 6, 2},                    /* push qword [rip+x] */
    {"\x0f\x1f\x05\x00\x01\x00\x00", 7, 3},                /* nop dword [rip+x] */
};

static void check_riprel(const riprel_case *c, uint64_t dst)
{
    relo o;
    hp_insn a, b;
    relocate_ok((const uint8_t *)c->bytes, c->len, SRC, dst, 0, &o);
    assert_int_equal(o.len, c->len);
    /* Only the displacement may change. */
    assert_memory_equal(o.b, c->bytes, c->disp_off);
    assert_memory_equal(o.b + c->disp_off + 4, c->bytes + c->disp_off + 4,
                        c->len - c->disp_off - 4);
    assert_int_equal(hp_x86_decode((const uint8_t *)c->bytes, c->len, SRC, &a), HP_OK);
    assert_int_equal(hp_x86_decode(o.b, o.len, dst, &b), HP_OK);
    assert_int_equal(b.kind, a.kind);
    assert_true(b.rip_rel);
    assert_int_equal(b.mem_va, a.mem_va);
    expect_same_text((const uint8_t *)c->bytes, c->len, SRC, o.b, o.len, dst);
}

static void test_reloc_riprel(void **state)
{
    for (size_t i = 0; i < sizeof riprel_cases / sizeof riprel_cases[0]; i++) {
        for (size_t d = 0; d < NDELTAS; d++)
            check_riprel(&riprel_cases[i], SRC + (uint64_t)far_deltas[d]);
        expect_refusal((const uint8_t *)riprel_cases[i].bytes, riprel_cases[i].len, 0,
                       HP_ERR_RANGE, "out of rel32 reach");
    }
}

/* lea rax, [rip+0] at SRC addresses SRC+7; the new disp32 is SRC+7-(dst+7). */
static void test_reloc_riprel_reach_edges(void **state)
{
    static const uint8_t lea[] = {0x48, 0x8d, 0x05, 0, 0, 0, 0};
    relo o;
    hp_diags why = {0};
    relocate_ok(lea, 7, SRC, SRC + 0x80000000ull, 0, &o); /* disp = INT32_MIN */
    assert_int_equal(hp_rd32(o.b + 3), 0x80000000u);
    relocate_ok(lea, 7, SRC, SRC - 0x7fffffffull, 0, &o); /* disp = INT32_MAX */
    assert_int_equal(hp_rd32(o.b + 3), 0x7fffffffu);
    assert_int_equal(relocate(lea, 7, SRC, SRC + 0x80000001ull, 0, &o, &why), HP_ERR_RANGE);
    assert_non_null(strstr(one_reason(&why, SRC), "lea rax"));
    hp_diags_free(&why);
    assert_int_equal(relocate(lea, 7, SRC, SRC - 0x80000000ull, 0, &o, &why), HP_ERR_RANGE);
    assert_non_null(strstr(one_reason(&why, SRC), "lea rax"));
    hp_diags_free(&why);
}

/* ---- relocation: relative branches */

static void check_branch(const uint8_t *p, size_t n, uint64_t dst, const uint8_t *want_op,
                         size_t op_len, uint8_t kind)
{
    relo o;
    hp_insn a, b;
    relocate_ok(p, n, SRC, dst, 0, &o);
    assert_int_equal(o.len, op_len + 4); /* always the rel32 form */
    assert_memory_equal(o.b, want_op, op_len);
    assert_int_equal(hp_x86_decode(p, n, SRC, &a), HP_OK);
    assert_int_equal(hp_x86_decode(o.b, o.len, dst, &b), HP_OK);
    assert_int_equal(a.kind, kind);
    assert_int_equal(b.kind, kind);
    assert_int_equal(b.len, o.len);
    assert_int_equal(b.target_va, a.target_va);
    expect_same_text(p, n, SRC, o.b, o.len, dst);
}

static void test_reloc_jmp(void **state)
{
    static const uint8_t jmp8[] = {0xeb, 0x40}, jmp32[] = {0xe9, 0x00, 0x10, 0x00, 0x00};
    static const uint8_t bnd[] = {0xf2, 0xe9, 0x00, 0x10, 0x00, 0x00};
    for (size_t d = 0; d < NDELTAS; d++) {
        uint64_t dst = SRC + (uint64_t)far_deltas[d];
        check_branch(jmp8, 2, dst, (const uint8_t *)"\xe9", 1, HP_INSN_JMP);
        check_branch(jmp32, 5, dst, (const uint8_t *)"\xe9", 1, HP_INSN_JMP);
        check_branch(bnd, 6, dst, (const uint8_t *)"\xf2\xe9", 2, HP_INSN_JMP);
    }
    expect_refusal(jmp8, 2, 0, HP_ERR_RANGE, "jmp");
    expect_refusal(jmp32, 5, 0, HP_ERR_RANGE, "out of rel32 reach");
}

static void test_reloc_jcc(void **state)
{
    for (uint8_t cc = 0; cc < 16; cc++) {
        uint8_t j8[] = {(uint8_t)(0x70 | cc), 0x80}; /* backward, -128 */
        uint8_t j32[] = {0x0f, (uint8_t)(0x80 | cc), 0x34, 0x12, 0x00, 0x00};
        uint8_t hinted[] = {0x3e, (uint8_t)(0x70 | cc), 0x10};
        uint8_t want[] = {0x0f, (uint8_t)(0x80 | cc)};
        for (size_t d = 0; d < NDELTAS; d++) {
            uint64_t dst = SRC + (uint64_t)far_deltas[d];
            check_branch(j8, 2, dst, want, 2, HP_INSN_JCC);
            check_branch(j32, 6, dst, want, 2, HP_INSN_JCC);
            relo o;
            hp_insn b;
            relocate_ok(hinted, 3, SRC, dst, 0, &o); /* the hint prefix is dropped */
            assert_memory_equal(o.b, want, 2);
            assert_int_equal(hp_x86_decode(o.b, o.len, dst, &b), HP_OK);
            assert_int_equal(b.target_va, SRC + 3 + 0x10);
        }
        expect_refusal(j8, 2, 0, HP_ERR_RANGE, "out of rel32 reach");
    }
}

/* Go's prologue: cmp rsp, [r14+0x10]; jbe morestack. Relocated back to back. */
static void test_reloc_go_prologue(void **state)
{
    static const uint8_t code[] = {0x49, 0x3b, 0x66, 0x10, 0x76, 0x30};
    for (size_t d = 0; d < NDELTAS; d++) {
        uint64_t dst = SRC + (uint64_t)far_deltas[d];
        relo cmp, jbe;
        hp_insn b;
        relocate_ok(code, 6, SRC, dst, 0, &cmp);
        assert_int_equal(cmp.len, 4);
        assert_memory_equal(cmp.b, code, 4);
        relocate_ok(code + 4, 2, SRC + 4, dst + cmp.len, 0, &jbe);
        assert_int_equal(hp_x86_decode(jbe.b, jbe.len, dst + 4, &b), HP_OK);
        assert_int_equal(b.kind, HP_INSN_JCC);
        assert_int_equal(b.target_va, SRC + 6 + 0x30);
        expect_same_text(code + 4, 2, SRC + 4, jbe.b, jbe.len, dst + 4);
    }
}

/* Reconstruct what "push simm32; mov dword [rsp+4], imm32" leaves at [rsp]. */
/* The pushed return address: "lea rsp,[rsp-8]; push rax; lea rax,[rip+X];
 * mov [rsp+8],rax; pop rax" at dst; returns the lea's absolute target. */
static uint64_t pushed_value(const uint8_t *b, uint64_t dst)
{
    assert_memory_equal(b, "\x48\x8d\x64\x24\xf8\x50\x48\x8d\x05", 9);
    assert_memory_equal(b + 13, "\x48\x89\x44\x24\x08\x58", 6);
    return dst + 13 + (uint64_t)(int64_t)(int32_t)hp_rd32(b + 9);
}

static void test_reloc_call(void **state)
{
    static const uint8_t call[] = {0xe8, 0x00, 0x20, 0x00, 0x00};
    /* return addresses in the original function: reachable from every dst */
    static const uint64_t rets[] = {SRC + 5, SRC + 5 + 0x1000, SRC + 5 - 0x1000};
    for (size_t d = 0; d < NDELTAS; d++) {
        for (size_t r = 0; r < sizeof rets / sizeof rets[0]; r++) {
            uint64_t dst = SRC + (uint64_t)far_deltas[d];
            relo o;
            hp_insn v[8];
            relocate_ok(call, 5, SRC, dst, rets[r], &o);
            assert_int_equal(decode_all(&o, dst, v, 8), 6);
            assert_int_equal(pushed_value(o.b, dst), rets[r]);
            assert_true(v[2].rip_rel);
            assert_int_equal(v[2].mem_va, rets[r]);
            for (int k = 0; k < 5; k++)
                assert_int_equal(v[k].kind, HP_INSN_OTHER);
            assert_int_equal(v[5].kind, HP_INSN_JMP);
            assert_int_equal(v[5].target_va, SRC + 5 + 0x2000);
        }
    }
    expect_refusal(call, 5, 0, HP_ERR_UNHOOKABLE, "return address");
    expect_refusal(call, 5, SRC + 5, HP_ERR_RANGE, "out of rel32 reach");
}

static void test_reloc_call_indirect(void **state)
{
    static const uint8_t rip[] = {0xff, 0x15, 0x00, 0x01, 0x00, 0x00};
    static const uint8_t reg[] = {0x41, 0xff, 0xd3};         /* call r11 */
    static const uint8_t notrack[] = {0x3e, 0xff, 0xd0};     /* notrack call rax */
    for (size_t d = 0; d < NDELTAS; d++) {
        uint64_t dst = SRC + (uint64_t)far_deltas[d];
        relo o;
        hp_insn v[8];
        relocate_ok(rip, 6, SRC, dst, SRC + 6, &o);
        assert_int_equal(decode_all(&o, dst, v, 8), 5 + 1);
        assert_int_equal(pushed_value(o.b, dst), SRC + 6);
        assert_int_equal(v[5].kind, HP_INSN_JMP_IND);
        assert_true(v[5].rip_rel);
        assert_int_equal(v[5].mem_va, SRC + 6 + 0x100);
        relocate_ok(reg, 3, SRC, dst, SRC + 3, &o);
        assert_int_equal(decode_all(&o, dst, v, 8), 6);
        assert_memory_equal(o.b + 19, "\x41\xff\xe3", 3); /* jmp r11 */
        relocate_ok(notrack, 3, SRC, dst, SRC + 3, &o);
        assert_memory_equal(o.b + 19, "\x3e\xff\xe0", 3); /* notrack jmp rax */
    }
    expect_refusal(reg, 3, 0, HP_ERR_UNHOOKABLE, "return address");
    expect_refusal((const uint8_t *)"\xff\x54\x24\x08", 4, SRC + 4, HP_ERR_UNHOOKABLE, "rsp");
    expect_refusal((const uint8_t *)"\xff\xd4", 2, SRC + 2, HP_ERR_UNHOOKABLE, "rsp");
    expect_refusal((const uint8_t *)"\xff\x1d\x00\x00\x00\x00", 6, SRC + 6, HP_ERR_UNHOOKABLE,
                   "far");
}

/* jrcxz/jecxz/loop/loope/loopne: op +2; jmp short +5; jmp rel32 target. */
static void check_loop(const uint8_t *p, size_t n, uint64_t dst)
{
    relo o;
    hp_insn a, v[4];
    relocate_ok(p, n, SRC, dst, 0, &o);
    assert_int_equal(o.len, n + 2 + 5);
    assert_int_equal(hp_x86_decode(p, n, SRC, &a), HP_OK);
    assert_int_equal(decode_all(&o, dst, v, 4), 3);
    assert_memory_equal(o.b, p, n - 1); /* same prefixes and opcode */
    assert_int_equal(v[0].kind, HP_INSN_LOOP);
    assert_int_equal(v[0].target_va, dst + n + 2); /* taken: the rel32 jmp */
    assert_int_equal(v[1].kind, HP_INSN_JMP);
    assert_int_equal(v[1].target_va, dst + o.len); /* not taken: falls out */
    assert_int_equal(v[2].kind, HP_INSN_JMP);
    assert_int_equal(v[2].target_va, a.target_va);
}

static void test_reloc_loop_family(void **state)
{
    static const char *ops[] = {"\xe3\x40", "\x67\xe3\x40", "\xe2\xf0", "\x67\xe2\xf0",
                                "\xe1\x10", "\xe0\x80"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = ops[i][0] == 0x67 ? 3 : 2;
        for (size_t d = 0; d < NDELTAS; d++)
            check_loop((const uint8_t *)ops[i], n, SRC + (uint64_t)far_deltas[d]);
        expect_refusal((const uint8_t *)ops[i], n, 0, HP_ERR_RANGE, "out of rel32 reach");
    }
}

static void test_reloc_plain_copies(void **state)
{
    static const char *ops[] = {"\x55", "\x5d", "\x48\x89\xe5", "\x48\x83\xec\x20", "\x41\x57",
                                "\xf3\x0f\x1e\xfa", "\xc3", "\xcc", "\x0f\x0b", "\x90",
                                "\x48\xb8\x11\x22\x33\x44\x55\x66\x77\x88", "\x0f\x05",
                                "\x49\x3b\x66\x10", "\xff\xe0", "\x48\x8b\x04\x25\x10\x00\x00\x00"};
    static const uint8_t lens[] = {1, 1, 3, 4, 2, 4, 1, 1, 2, 1, 10, 2, 4, 2, 8};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        for (size_t d = 0; d < NDELTAS; d++) {
            relo o;
            hp_insn a, b;
            uint64_t dst = SRC + (uint64_t)far_deltas[d];
            relocate_ok((const uint8_t *)ops[i], lens[i], SRC, dst, 0, &o);
            assert_int_equal(o.len, lens[i]);
            assert_memory_equal(o.b, ops[i], lens[i]);
            assert_int_equal(hp_x86_decode(o.b, o.len, dst, &b), HP_OK);
            assert_int_equal(hp_x86_decode((const uint8_t *)ops[i], lens[i], SRC, &a), HP_OK);
            assert_int_equal(b.kind, a.kind);
        }
    }
}

static void test_reloc_xbegin(void **state)
{
    static const uint8_t xb[] = {0xc7, 0xf8, 0x00, 0x01, 0x00, 0x00};
    relo o;
    hp_insn b;
    relocate_ok(xb, 6, SRC, SRC - 0x7fff0000, 0, &o);
    assert_int_equal(o.len, 6);
    assert_int_equal(hp_x86_decode(o.b, o.len, SRC - 0x7fff0000, &b), HP_OK);
    assert_int_equal(b.target_va, SRC + 6 + 0x100);
    expect_refusal((const uint8_t *)"\x66\xc7\xf8\x00\x01", 5, 0, HP_ERR_UNHOOKABLE, "xbegin");
}

static void test_reloc_refusals(void **state)
{
    size_t len = 5;
    hp_diags why = {0};
    expect_refusal((const uint8_t *)"\x66\xe9\x00\x01\x00\x00", 6, 0, HP_ERR_UNHOOKABLE,
                   "operand-size");
    expect_refusal((const uint8_t *)"\x66\xe8\x00\x01\x00\x00", 6, SRC + 6, HP_ERR_UNHOOKABLE,
                   "operand-size");
    expect_refusal((const uint8_t *)"\x67\x8b\x05\x00\x01\x00\x00", 7, 0, HP_ERR_UNHOOKABLE,
                   "eip-relative");
    expect_refusal((const uint8_t *)"\x06\x90", 2, 0, HP_ERR_FORMAT, "invalid instruction");
    /* VEX 0F 85 is Knights Corner's jknzd to Zydis (#UD on x86-64), not jnz:
     * neither a Jcc nor re-encoded as one (found by fuzz_x86 in CI). */
    hp_insn k;
    assert_int_equal(hp_x86_decode((const uint8_t *)"\xc5\x6c\x85\x10\x00\x00\x00", 7, SRC, &k),
                     HP_OK);
    assert_int_not_equal(k.kind, HP_INSN_JCC);
    expect_refusal((const uint8_t *)"\xc5\x6c\x85\x10\x00\x00\x00", 7, 0, HP_ERR_UNHOOKABLE,
                   "unsupported relative operand");
    expect_refusal((const uint8_t *)"\xe9\x00\x00", 3, 0, HP_ERR_FORMAT, "(bad) e9 00 00");
    /* why may be NULL; len is reset even on failure */
    assert_int_equal(hp_x86_relocate((const uint8_t *)"\x06", 1, SRC, SRC, 0, NULL, &len, NULL),
                     HP_ERR_FORMAT);
    assert_int_equal(len, 0);
    assert_int_equal(hp_x86_relocate((const uint8_t *)"\x90", 1, SRC, SRC, 0, NULL, NULL, &why),
                     HP_ERR_INTERNAL);
    assert_int_equal(why.n, 0);
}

/* A refusal's reason is a diagnostic naming the instruction as the
 * disassembler prints it, its address and why, word for word. */
static void test_reloc_reason_text(void **state)
{
    static const struct {
        const char *bytes;
        size_t n;
        hp_status st;
        const char *msg;
    } cases[] = {
        {"\xe8\x00\x01\x00\x00", 5, HP_ERR_UNHOOKABLE,
         "cannot relocate 'call 0x100000105' at 0x100000000: a stolen call would leave a "
         "return address in the new section (no return address given)"},
        {"\xff\x54\x24\x08", 4, HP_ERR_UNHOOKABLE,
         "cannot relocate 'call [rsp+0x08]' at 0x100000000: its operand depends on rsp, "
         "which the pushed return address would shift"},
        /* eip+0x100 after a 7-byte instruction at 4 GiB: 0x107, as it wraps */
        {"\x67\x8b\x05\x00\x01\x00\x00", 7, HP_ERR_UNHOOKABLE,
         "cannot relocate 'mov eax, [0x107]' at 0x100000000: eip-relative addressing "
         "wraps at 4 GiB"},
        {"\xe9\x00\x00", 3, HP_ERR_FORMAT, "invalid instruction at 0x100000000: (bad) e9 00 00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hp_diags why = {0};
        size_t len;
        uint64_t ret = i == 1 ? SRC + 4 : 0;
        assert_int_equal(hp_x86_relocate((const uint8_t *)cases[i].bytes, cases[i].n, SRC, SRC,
                                         ret, NULL, &len, &why),
                         cases[i].st);
        assert_string_equal(one_reason(&why, SRC), cases[i].msg);
        hp_diags_free(&why);
    }
}

/* The reason cannot be allocated: HP_ERR_NOMEM, counted as an error in
 * why, nothing half-recorded; the next allocation works again. */
static void test_reloc_reason_nomem(void **state)
{
    static const uint8_t call[] = {0xe8, 0x00, 0x01, 0x00, 0x00};
    for (long n = 0;; n++) {
        hp_diags why = {0};
        size_t len;
        hp_mem_fail_after(n);
        hp_status s = hp_x86_relocate(call, sizeof call, SRC, SRC, 0, NULL, &len, &why);
        hp_mem_fail_after(-1);
        if (s == HP_ERR_UNHOOKABLE) {
            assert_true(n > 0);
            one_reason(&why, SRC);
            hp_diags_free(&why);
            return;
        }
        assert_int_equal(s, HP_ERR_NOMEM);
        assert_int_equal(why.n, 0);
        assert_int_equal(why.errors, 1);
        hp_diags_free(&why);
    }
}

/* ---- scanning */

static void test_scan_loop_function(void **state)
{
    static const uint8_t f[] = {
        0xf3, 0x0f, 0x1e, 0xfa,       /* 00 endbr64 */
        0x31, 0xc0,                   /* 04 xor eax, eax */
        0x85, 0xff,                   /* 06 test edi, edi */
        0x7e, 0x0e,                   /* 08 jle 0x18 */
        0x01, 0xf8,                   /* 0a add eax, edi */
        0xe8, 0xf0, 0xff, 0xff, 0xef, /* 0c call far outside */
        0xff, 0xcf,                   /* 11 dec edi */
        0x75, 0xf5,                   /* 13 jne 0x0a */
        0x74, 0xe9,                   /* 15 je 0x00 (the entry) */
        0x90,                         /* 17 nop */
        0xe2, 0xfc,                   /* 18 loop 0x16: mid-instruction, still a target */
        0xeb, 0xfc,                   /* 1a jmp 0x18 */
        0xc3,                         /* 1c ret */
    };
    hp_func_scan s;
    assert_int_equal(hp_x86_scan(f, sizeof f, 0x401000, &s), HP_OK);
    assert_int_equal(s.ok_size, sizeof f);
    assert_int_equal(s.ninsns, 13);
    static const uint64_t want[] = {0x401000, 0x40100a, 0x401016, 0x401018};
    assert_int_equal(s.ntargets, 4);
    assert_memory_equal(s.targets, want, sizeof want);
    assert_int_equal(s.insns[3].kind, HP_INSN_JCC);
    assert_int_equal(s.insns[5].kind, HP_INSN_CALL);
    assert_int_equal(s.insns[12].kind, HP_INSN_RET);
    hp_x86_scan_free(&s);
    assert_null(s.insns);
    assert_int_equal(s.ntargets, 0);
}

static void test_scan_stops_at_garbage(void **state)
{
    static const uint8_t f[] = {0x55, 0x74, 0x01, 0xc3, 0x06, 0x74, 0xfa, 0x90};
    hp_func_scan s;
    assert_int_equal(hp_x86_scan(f, sizeof f, 0x1000, &s), HP_OK);
    assert_int_equal(s.ok_size, 4);
    assert_int_equal(s.ninsns, 3);
    assert_int_equal(s.ntargets, 1); /* the je after the garbage is never seen */
    assert_int_equal(s.targets[0], 0x1004);
    hp_x86_scan_free(&s);

    static const uint8_t trunc[] = {0x90, 0xe9, 0x00, 0x00};
    assert_int_equal(hp_x86_scan(trunc, sizeof trunc, 0x1000, &s), HP_OK);
    assert_int_equal(s.ok_size, 1);
    hp_x86_scan_free(&s);

    assert_int_equal(hp_x86_scan(NULL, 0, 0x1000, &s), HP_OK);
    assert_int_equal(s.ok_size, 0);
    assert_int_equal(s.ninsns, 0);
    hp_x86_scan_free(&s);
    assert_int_equal(hp_x86_scan(NULL, 4, 0x1000, &s), HP_ERR_INTERNAL);
    assert_int_equal(hp_x86_scan(f, sizeof f, UINT64_MAX - 2, &s), HP_ERR_RANGE);
    assert_int_equal(hp_x86_scan(f, 3, UINT64_MAX - 2, &s), HP_OK); /* ends exactly at 2^64 */
    assert_int_equal(s.ok_size, 3);
    hp_x86_scan_free(&s);
}

/* Random bytes at addresses near both ends of the address space: invariants
 * hold and nothing crashes (the sanitizer build watches memory). */
static void test_scan_random(void **state)
{
    static const uint64_t vas[] = {0, 0x401000, (uint64_t)0 - 4096}; /* the last ends at 2^64 */
    uint8_t buf[4096];
    srand(1234);
    for (int round = 0; round < 60; round++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t)rand();
        uint64_t va = vas[round % 3];
        hp_func_scan s;
        assert_int_equal(hp_x86_scan(buf, sizeof buf, va, &s), HP_OK);
        uint64_t sum = 0;
        for (size_t i = 0; i < s.ninsns; i++) {
            assert_int_equal(s.insns[i].va, va + sum);
            sum += s.insns[i].len;
        }
        assert_int_equal(sum, s.ok_size);
        for (size_t i = 0; i < s.ntargets; i++) {
            assert_true(s.targets[i] - va < sizeof buf);
            if (i)
                assert_true(s.targets[i] > s.targets[i - 1]);
        }
        hp_x86_scan_free(&s);
    }
}

static void test_scan_nomem(void **state)
{
    static const uint8_t f[] = {0x74, 0x00, 0x74, 0xfc, 0xc3};
    for (long n = 0; n < 6; n++) {
        hp_func_scan s;
        hp_mem_fail_after(n);
        hp_status st = hp_x86_scan(f, sizeof f, 0x1000, &s);
        hp_mem_fail_after(-1);
        if (st == HP_OK) {
            assert_int_equal(s.ntargets, 2);
            hp_x86_scan_free(&s);
            return;
        }
        assert_int_equal(st, HP_ERR_NOMEM);
        assert_null(s.insns);
        assert_null(s.targets);
    }
    fail_msg("scan never succeeded");
}

/* ---- fixed sequences */

static void test_rel32_reach(void **state)
{
    assert_true(hp_x86_rel32_reach(SRC, SRC + 0x7fffffff));
    assert_false(hp_x86_rel32_reach(SRC, SRC + 0x80000000ull));
    assert_true(hp_x86_rel32_reach(SRC, SRC - 0x80000000ull));
    assert_false(hp_x86_rel32_reach(SRC, SRC - 0x80000001ull));
    assert_true(hp_x86_rel32_reach(SRC, SRC));
}

static void test_jmp32(void **state)
{
    uint8_t b[8] = {0};
    hp_insn in;
    assert_int_equal(hp_x86_jmp32(NULL, SRC, 0), 5);
    assert_int_equal(hp_x86_jmp32(b, SRC, SRC + 5 + 0x7fffffff), 5);
    assert_int_equal(hp_x86_decode(b, 5, SRC, &in), HP_OK);
    assert_int_equal(in.kind, HP_INSN_JMP);
    assert_int_equal(in.target_va, SRC + 5 + 0x7fffffff);
    assert_int_equal(hp_x86_jmp32(b, SRC, SRC - 0x7fff0000), 5);
    assert_int_equal(hp_x86_decode(b, 5, SRC, &in), HP_OK);
    assert_int_equal(in.target_va, SRC - 0x7fff0000);
    memset(b, 0, sizeof b);
    assert_int_equal(hp_x86_jmp32(b, SRC, SRC + 5 + 0x80000000ull), 0);
    assert_int_equal(b[0], 0); /* nothing written */
}

static void test_ret_imm_decoded(void **state)
{
    static const struct { int64_t v; size_t len; const char *text; } c[] = {
        {0, 6, "mov eax, 0x00"},
        {42, 6, "mov eax, 0x2a"},
        {-1, 8, "mov rax, 0xffffffffffffffff"},
        {0xffffffff, 6, "mov eax, 0xffffffff"},
        {0x123456789, 11, "mov rax, 0x123456789"},
        {INT32_MIN, 8, "mov rax, 0xffffffff80000000"},
        {(int64_t)INT32_MIN - 1, 11, "mov rax, 0xffffffff7fffffff"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint8_t b[16];
        char t[64];
        hp_insn in;
        assert_int_equal(hp_x86_ret_imm(NULL, c[i].v), c[i].len);
        assert_int_equal(hp_x86_ret_imm(b, c[i].v), c[i].len);
        hp_x86_format(b, c[i].len, 0, t, sizeof t);
        assert_string_equal(t, c[i].text);
        assert_int_equal(hp_x86_decode(b + c[i].len - 1, 1, 0, &in), HP_OK);
        assert_int_equal(in.kind, HP_INSN_RET);
    }
}

static void test_ud2_and_jmp_abs(void **state)
{
    uint8_t b[16];
    hp_insn in;
    assert_int_equal(hp_x86_ud2(NULL), 2);
    assert_int_equal(hp_x86_ud2(b), 2);
    assert_int_equal(hp_x86_decode(b, 2, 0, &in), HP_OK);
    assert_int_equal(in.kind, HP_INSN_UD2);
    assert_int_equal(hp_x86_jmp_abs(NULL, 0), 14);
    assert_int_equal(hp_x86_jmp_abs(b, 0xfedcba9876543210ull), 14);
    assert_int_equal(hp_x86_decode(b, 14, SRC, &in), HP_OK);
    assert_int_equal(in.kind, HP_INSN_JMP_IND);
    assert_int_equal(in.len, 6);
    assert_true(in.rip_rel);
    assert_int_equal(in.mem_va, SRC + 6);
    assert_int_equal(hp_rd64(b + 6), 0xfedcba9876543210ull);
}

/* ---- execution: the original and the relocated code run side by side.
 * One RWX page holds an "original" stub, a "relocated" stub, a branch target
 * or callee, and data. Each test compares what the two stubs compute, and
 * checks a few known answers so a broken harness cannot pass vacuously. */

enum { ORIG = 0x000, TGT = 0x080, RELOC = 0x400, FIXED = 0x800, DATA = 0x1000, PAGE = 0x2000 };

static uint8_t *xpage;

static int exec_setup(void **state)
{
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    xpage = p == MAP_FAILED ? NULL : p;
    return 0;
}

static int exec_teardown(void **state)
{
    if (xpage)
        munmap(xpage, PAGE);
    return 0;
}

static uint64_t xva(size_t off) { return (uint64_t)(uintptr_t)(xpage + off); }

static uint64_t run(size_t off)
{
    uint64_t (*fn)(void);
    void *p = xpage + off;
    memcpy(&fn, &p, sizeof fn);
    return fn();
}

/* A tiny assembler cursor into the page. */
typedef struct asmc {
    size_t off;
} asmc;

static void put(asmc *a, const void *b, size_t n)
{
    memcpy(xpage + a->off, b, n);
    a->off += n;
}

static void put_imm(asmc *a, const char *op, size_t oplen, uint64_t v, size_t vlen)
{
    uint8_t b[8];
    hp_wr64(b, v);
    put(a, op, oplen);
    put(a, b, vlen);
}

/* An instruction `op disp32 tail` whose rip-relative operand addresses va. */
static void put_riprel(asmc *a, const char *op, size_t oplen, uint64_t va, const char *tail,
                       size_t tlen)
{
    uint64_t end = xva(a->off) + oplen + 4 + tlen;
    put_imm(a, op, oplen, va - end, 4);
    put(a, tail, tlen);
}

/* Relocate the instruction at ORIG offset `from` to the cursor, with ret_va. */
static void put_reloc(asmc *a, size_t from, size_t n, uint64_t ret_va)
{
    size_t len = 0;
    hp_diags why = {0};
    hp_status s = hp_x86_relocate(xpage + from, n, xva(from), xva(a->off), ret_va,
                                  xpage + a->off, &len, &why);
    if (s != HP_OK)
        fail_msg("relocate: %s", why.n ? why.v[0].msg : hp_status_str(s));
    a->off += len;
}

static void reset_page(void)
{
    if (!xpage)
        skip();
    memset(xpage, 0xcc, PAGE); /* any stray jump traps */
}

/* Prefix for both stubs: rcx and the flags (ZF) that loopcc reads. */
static void put_loop_setup(asmc *a, uint64_t rcx, bool zf)
{
    put_imm(a, "\x48\xb9", 2, rcx, 8);
    if (zf)
        put(a, "\x31\xc0", 2);                         /* xor eax, eax */
    else
        put(a, "\xb8\x01\x00\x00\x00\x85\xc0", 7); /* mov eax, 1; test eax, eax */
}

static uint64_t run_loop_pair(const uint8_t *op, size_t n, uint64_t rcx, bool zf)
{
    reset_page();
    asmc t = {TGT}, o = {ORIG}, r = {RELOC};
    put(&t, "\x48\x8d\x81\x00\x10\x00\x00\xc3", 8); /* lea rax, [rcx+0x1000]; ret */
    put_loop_setup(&o, rcx, zf);
    size_t at = o.off;
    put(&o, op, n - 1);
    uint8_t rel = (uint8_t)(TGT - (o.off + 1));
    put(&o, &rel, 1);
    put(&o, "\x48\x89\xc8\xc3", 4); /* fall through: mov rax, rcx; ret */
    put_loop_setup(&r, rcx, zf);
    put_reloc(&r, at, n, 0);
    put(&r, "\x48\x89\xc8\xc3", 4);
    uint64_t want = run(ORIG), got = run(RELOC);
    assert_int_equal(got, want);
    return got;
}

static void test_exec_loop_family(void **state)
{
    static const char *ops[] = {"\xe3", "\x67\xe3", "\xe2", "\x67\xe2", "\xe1", "\x67\xe1", "\xe0"};
    static const uint64_t rcxs[] = {0, 1, 2, 0x100000000ull, 0x100000001ull};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i]) + 1;
        for (size_t k = 0; k < sizeof rcxs / sizeof rcxs[0]; k++)
            for (int zf = 0; zf < 2; zf++)
                run_loop_pair((const uint8_t *)ops[i], n, rcxs[k], zf);
    }
    /* Known answers: taken paths add 0x1000 to the final rcx. */
    assert_int_equal(run_loop_pair((const uint8_t *)"\xe3", 2, 0, false), 0x1000);
    assert_int_equal(run_loop_pair((const uint8_t *)"\xe3", 2, 5, false), 5);
    assert_int_equal(run_loop_pair((const uint8_t *)"\x67\xe3", 3, 0x100000000ull, false),
                     0x100001000ull);
    assert_int_equal(run_loop_pair((const uint8_t *)"\xe2", 2, 1, false), 0);
    assert_int_equal(run_loop_pair((const uint8_t *)"\xe2", 2, 3, false), 0x1002);
    assert_int_equal(run_loop_pair((const uint8_t *)"\xe1", 2, 3, false), 2);
    assert_int_equal(run_loop_pair((const uint8_t *)"\xe1", 2, 3, true), 0x1002);
    assert_int_equal(run_loop_pair((const uint8_t *)"\xe0", 2, 3, true), 2);
}

/* Both stubs: mov rax, a; cmp rax, simm32 b; <jcc>; return 0 (target: 1). */
static void put_cmp(asmc *s, uint64_t a_val, uint32_t b_val)
{
    put_imm(s, "\x48\xb8", 2, a_val, 8);
    put_imm(s, "\x48\x3d", 2, b_val, 4);
}

static uint64_t run_jcc_pair(uint8_t cc, uint64_t a_val, uint32_t b_val)
{
    reset_page();
    asmc t = {TGT}, o = {ORIG}, r = {RELOC};
    put(&t, "\xb8\x01\x00\x00\x00\xc3", 6);
    put_cmp(&o, a_val, b_val);
    size_t at = o.off;
    uint8_t j[2] = {(uint8_t)(0x70 | cc), (uint8_t)(TGT - (at + 2))};
    put(&o, j, 2);
    put(&o, "\xb8\x00\x00\x00\x00\xc3", 6);
    put_cmp(&r, a_val, b_val);
    put_reloc(&r, at, 2, 0);
    put(&r, "\xb8\x00\x00\x00\x00\xc3", 6);
    uint64_t want = run(ORIG), got = run(RELOC);
    assert_int_equal(got, want);
    return got;
}

static void test_exec_jcc(void **state)
{
    static const struct { uint64_t a; uint32_t b; } v[] = {
        {1, 1}, {1, 2}, {2, 1}, {(uint64_t)-1, 1}, {0x7fffffffffffffffull, 0xffffffffu}, {3, 0},
    };
    int taken = 0;
    for (uint8_t cc = 0; cc < 16; cc++)
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            taken += (int)run_jcc_pair(cc, v[i].a, v[i].b);
    assert_true(taken > 0 && taken < 16 * 6); /* both paths were exercised */
    assert_int_equal(run_jcc_pair(0x4, 1, 1), 1); /* je */
    assert_int_equal(run_jcc_pair(0x5, 1, 1), 0); /* jne */
    assert_int_equal(run_jcc_pair(0x2, 1, 2), 1); /* jb */
}

/* The callee records [rsp] (its return address), rsp, rflags and rcx. */
static void put_recording_callee(asmc *t)
{
    put(t, "\x48\x8b\x04\x24", 4);                               /* mov rax, [rsp] */
    put_riprel(t, "\x48\x89\x05", 3, xva(DATA + 0), "", 0);    /* mov [d0], rax */
    put_riprel(t, "\x48\x89\x25", 3, xva(DATA + 8), "", 0);    /* mov [d8], rsp */
    put(t, "\x9c\x58", 2);                                       /* pushfq; pop rax */
    put_riprel(t, "\x48\x89\x05", 3, xva(DATA + 16), "", 0);   /* mov [d16], rax */
    put_riprel(t, "\x48\x89\x0d", 3, xva(DATA + 24), "", 0);   /* mov [d24], rcx */
    put(t, "\xb8\x2a\x00\x00\x00\xc3", 6);                       /* mov eax, 42; ret */
}

/* OF, SF, PF and CF set, ZF clear; rcx and rdx hold known values. */
static void put_call_setup(asmc *a)
{
    put(a, "\xb8\xff\xff\xff\x7f\x83\xc0\x01\xf9", 9); /* mov eax, INT_MAX; add eax, 1; stc */
    put_imm(a, "\x48\xb9", 2, 0x1122334455667788ull, 8);
    put_imm(a, "\x48\xba", 2, xva(TGT), 8);
}

/* Run `call` from ORIG and the relocated push/jmp from RELOC; both must reach
 * the callee with identical return address, rsp, flags and rcx. */
static void run_call_pair(const char *call, size_t n, size_t disp_at)
{
    reset_page();
    asmc t = {TGT}, o = {ORIG}, r = {RELOC};
    uint64_t rec[2][4];
    put_recording_callee(&t);
    hp_wr64(xpage + DATA + 0x40, xva(TGT)); /* pointer for call [rip+x] */
    put_call_setup(&o);
    size_t at = o.off;
    put(&o, call, n);
    uint64_t field = disp_at == 1 ? xva(TGT) : xva(DATA + 0x40);
    if (disp_at)
        hp_wr32(xpage + at + disp_at, (uint32_t)(field - xva(o.off)));
    put(&o, "\x48\x05\xe8\x03\x00\x00\xc3", 7); /* add rax, 1000; ret */
    put_call_setup(&r);
    put_reloc(&r, at, n, xva(at + n));
    put(&r, "\x0f\x0b", 2);
    assert_int_equal(run(ORIG), 1042);
    memcpy(rec[0], xpage + DATA, sizeof rec[0]);
    assert_int_equal(run(RELOC), 1042);
    memcpy(rec[1], xpage + DATA, sizeof rec[1]);
    assert_int_equal(rec[0][0], xva(at + n));
    assert_int_equal(rec[1][0], rec[0][0]);
    assert_int_equal(rec[1][1], rec[0][1]);
    assert_int_equal(rec[1][2] & 0xfff, rec[0][2] & 0xfff);
    assert_int_equal(rec[0][2] & 0x8c5, 0x885); /* OF SF PF CF set, ZF clear */
    assert_int_equal(rec[1][3], 0x1122334455667788ull);
}

static void test_exec_calls(void **state)
{
    run_call_pair("\xe8\x00\x00\x00\x00", 5, 1);     /* call rel32 */
    run_call_pair("\xff\xd2", 2, 0);                 /* call rdx */
    run_call_pair("\xff\x15\x00\x00\x00\x00", 6, 2); /* call [rip+x] */
}

/* Rip-relative access to DATA+data_off: each stub is `op disp32 tail; post`. */
static uint64_t run_riprel_pair(const char *op, size_t oplen, size_t data_off, const char *tail,
                                size_t tlen, const char *post, size_t plen)
{
    reset_page();
    asmc o = {ORIG}, r = {RELOC};
    hp_wr64(xpage + DATA + 0x80, 5);
    hp_wr64(xpage + DATA + 0x88, 0x4045000000000000ull); /* 42.0 */
    put_riprel(&o, op, oplen, xva(DATA + data_off), tail, tlen);
    put(&o, post, plen);
    put_reloc(&r, ORIG, oplen + 4 + tlen, 0);
    put(&r, post, plen);
    uint64_t want = run(ORIG), got = run(RELOC);
    assert_int_equal(got, want);
    return got;
}

static void test_exec_riprel(void **state)
{
    static const char sete[] = "\x0f\x94\xc0\x0f\xb6\xc0\xc3"; /* sete al; movzx eax, al; ret */
    assert_int_equal(run_riprel_pair("\x48\x8b\x05", 3, 0x80, "", 0, "\xc3", 1), 5);
    assert_int_equal(run_riprel_pair("\x48\x8d\x05", 3, 0x80, "", 0, "\xc3", 1), xva(DATA + 0x80));
    assert_int_equal(run_riprel_pair("\x83\x3d", 2, 0x80, "\x05", 1, sete, 7), 1);
    assert_int_equal(run_riprel_pair("\x83\x3d", 2, 0x80, "\x06", 1, sete, 7), 0);
    /* movsd xmm0, [x]; movq rax, xmm0; ret */
    assert_int_equal(run_riprel_pair("\xf2\x0f\x10\x05", 4, 0x88, "", 0,
                                     "\x66\x48\x0f\x7e\xc0\xc3", 6),
                     0x4045000000000000ull);
}

static void test_exec_fixed(void **state)
{
    static const int64_t vals[] = {0, 42, -1, 0xffffffff, 0x123456789, INT32_MIN, INT64_MIN};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        reset_page();
        hp_x86_ret_imm(xpage + FIXED, vals[i]);
        assert_int_equal((int64_t)run(FIXED), vals[i]);
    }
    reset_page();
    memcpy(xpage + TGT, "\xb8\x4d\x00\x00\x00\xc3", 6); /* return 77 */
    assert_int_equal(hp_x86_jmp_abs(xpage + FIXED, xva(TGT)), 14);
    assert_int_equal(run(FIXED), 77);
    assert_int_equal(hp_x86_jmp32(xpage + FIXED, xva(FIXED), xva(TGT)), 5);
    assert_int_equal(run(FIXED), 77);
}

/* Indirect jumps: a tail call (the frame torn down, or a slot with no
 * index) may stand beside code that moves for an island; a jump table's
 * dispatch may not (rewriter/move.h). */
static void test_tail_jump(void **state)
{
    (void)state;
    static const struct {
        uint8_t prev[8], plen, jmp[8], jlen;
        bool tail;
    } c[] = {
        {{0x5b}, 1, {0xff, 0xe0}, 2, true},                               /* pop rbx; jmp rax */
        {{0xc9}, 1, {0xff, 0xe0}, 2, true},                               /* leave; jmp rax */
        {{0x48, 0x83, 0xc4, 0x18}, 4, {0xff, 0xe0}, 2, true},             /* add rsp,0x18 */
        {{0x90}, 1, {0xff, 0x25, 0, 0, 0, 0}, 6, true},                   /* jmp [rip+0] */
        {{0x90}, 1, {0xff, 0x60, 0x10}, 3, true},                         /* jmp [rax+0x10] */
        {{0x48, 0x01, 0xd0}, 3, {0xff, 0xe0}, 2, false},                  /* add rax,rdx */
        {{0x48, 0x63, 0x04, 0x82}, 4, {0xff, 0xe0}, 2, false},            /* movsxd */
        {{0x90}, 1, {0xff, 0x24, 0xc5, 0, 0x10, 0x40, 0}, 7, false},      /* jmp [rax*8+t] */
        {{0x5b}, 1, {0xe9, 0, 0, 0, 0}, 5, false},                        /* jmp rel32 */
        {{0x48, 0x83, 0xc0, 0x18}, 4, {0xff, 0xe0}, 2, false},            /* add rax,0x18 */
        {{0x5b}, 1, {0x3e, 0xff, 0xe0}, 3, false},                        /* notrack jmp rax */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        bool got = hp_x86_tail_jump(c[i].prev, c[i].plen, c[i].jmp, c[i].jlen);
        if (got != c[i].tail)
            fail_msg("case %zu: tail_jump %d, want %d", i, got, c[i].tail);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_jump),
        cmocka_unit_test(test_decode_kinds),
        cmocka_unit_test(test_decode_invalid),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_reloc_riprel),
        cmocka_unit_test(test_reloc_riprel_reach_edges),
        cmocka_unit_test(test_reloc_jmp),
        cmocka_unit_test(test_reloc_jcc),
        cmocka_unit_test(test_reloc_go_prologue),
        cmocka_unit_test(test_reloc_call),
        cmocka_unit_test(test_reloc_call_indirect),
        cmocka_unit_test(test_reloc_loop_family),
        cmocka_unit_test(test_reloc_plain_copies),
        cmocka_unit_test(test_reloc_xbegin),
        cmocka_unit_test(test_reloc_refusals),
        cmocka_unit_test(test_reloc_reason_text),
        cmocka_unit_test(test_reloc_reason_nomem),
        cmocka_unit_test(test_scan_loop_function),
        cmocka_unit_test(test_scan_stops_at_garbage),
        cmocka_unit_test(test_scan_random),
        cmocka_unit_test(test_scan_nomem),
        cmocka_unit_test(test_rel32_reach),
        cmocka_unit_test(test_jmp32),
        cmocka_unit_test(test_ret_imm_decoded),
        cmocka_unit_test(test_ud2_and_jmp_abs),
        cmocka_unit_test_setup_teardown(test_exec_loop_family, exec_setup, exec_teardown),
        cmocka_unit_test_setup_teardown(test_exec_jcc, exec_setup, exec_teardown),
        cmocka_unit_test_setup_teardown(test_exec_calls, exec_setup, exec_teardown),
        cmocka_unit_test_setup_teardown(test_exec_riprel, exec_setup, exec_teardown),
        cmocka_unit_test_setup_teardown(test_exec_fixed, exec_setup, exec_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
