/* Unit tests for the switch stubs of the architecture tables (relocs/arch.h:
 * dispatch, ret_addr, ret_go_g), run under unicorn for x86-64 and arm64,
 * C and Go ABIs. Every general register (and the argument vector
 * registers) starts with a distinct value; the stub runs until it leaves
 * its own bytes, and then:
 *   - empty slot: it is at the trampoline, and every register but the
 *     ABI's scratch ones (x86 C: R11; x86 Go: R12; arm64: x16, x17) is as
 *     at entry: arguments, RAX/AL, R10, the closure context RDX/X26, the
 *     stack pointer, Go's g (R14/X28), x30;
 *   - set slot: it is at the slot's function (C: the slot's value; Go: the
 *     first word of the closure the slot points to) with the same registers
 *     kept, and for Go the context register holds the slot's value;
 *   - the slot was read exactly once.
 * The slot sits above and below the stub, more than 1 GiB away, at the
 * end of its page (the arm64 LDR offset is scaled). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "relocs/arch.h"

#define STUB 0x80000000ull
#define TRAMP (STUB + 0x3000)
#define MOCK (STUB - 0x5000)
#define CLOSURE 0x20000000ull
#define STACK 0x30000000ull
#define RET_TO 0x31000000ull
#define SLOT_HI (STUB + 0x40000ff8ull)
#define SLOT_LO 0x00100ff8ull

typedef struct emu_arch {
    const char *name;
    const hp_arch *arch;
    uc_arch ua;
    uc_mode um;
    const int *regs;
    const char *const *names;
    size_t nregs;
    const int *vregs; /* argument vector registers, 128 bits */
    size_t nvregs;
    int pc, sp, ret;           /* ret: the link register, or -1 (x86: the stack) */
    int ctx, g, result;        /* indices into regs */
    uint64_t scratch[2];       /* per hp_call_abi: bits over regs */
} emu_arch;

static const int x86_regs[] = {UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX,
                               UC_X86_REG_RSI, UC_X86_REG_RDI, UC_X86_REG_RBP, UC_X86_REG_R8,
                               UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11, UC_X86_REG_R12,
                               UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};
static const char *const x86_names[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
                                        "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
static const int x86_vregs[] = {UC_X86_REG_XMM0, UC_X86_REG_XMM1, UC_X86_REG_XMM2,
                                UC_X86_REG_XMM3, UC_X86_REG_XMM4, UC_X86_REG_XMM5,
                                UC_X86_REG_XMM6, UC_X86_REG_XMM7};

static int a64_regs[31];
static const char *a64_names[31];
static const int a64_vregs[] = {UC_ARM64_REG_Q0, UC_ARM64_REG_Q1, UC_ARM64_REG_Q2,
                                UC_ARM64_REG_Q3, UC_ARM64_REG_Q4, UC_ARM64_REG_Q5,
                                UC_ARM64_REG_Q6, UC_ARM64_REG_Q7};

static emu_arch x86 = {"x86-64", &hp_arch_x86, UC_ARCH_X86, UC_MODE_64, x86_regs, x86_names, 15,
                       x86_vregs, 8, UC_X86_REG_RIP, UC_X86_REG_RSP, -1,
                       .ctx = 3, .g = 13, .result = 0,
                       .scratch = {1u << 10, 1u << 11}};
static emu_arch a64 = {"arm64", &hp_arch_arm64, UC_ARCH_ARM64, UC_MODE_ARM, a64_regs, a64_names,
                       31, a64_vregs, 8, UC_ARM64_REG_PC, UC_ARM64_REG_SP, UC_ARM64_REG_X30,
                       .ctx = 26, .g = 28, .result = 0,
                       .scratch = {3u << 16, 3u << 16}};

static void a64_init(void)
{
    static char names[31][4];
    for (int i = 0; i < 29; i++)
        a64_regs[i] = UC_ARM64_REG_X0 + i;
    a64_regs[29] = UC_ARM64_REG_X29;
    a64_regs[30] = UC_ARM64_REG_X30;
    for (int i = 0; i < 31; i++) {
        snprintf(names[i], sizeof names[i], "x%d", i);
        a64_names[i] = names[i];
    }
}

/* ---- one run */

typedef struct run {
    uc_engine *uc;
    uint64_t lo, hi;  /* the stub's bytes: leaving them stops the run */
    uint64_t landed;  /* where it went */
    uint64_t slot_va;
    unsigned slot_reads;
} run;

static void on_code(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    (void)size;
    run *r = user;
    if (addr < r->lo || addr >= r->hi) {
        r->landed = addr;
        uc_emu_stop(uc);
    }
}

static void on_read(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                    void *user)
{
    (void)uc, (void)type, (void)value;
    run *r = user;
    if (addr < r->slot_va + 8 && addr + (uint64_t)size > r->slot_va)
        r->slot_reads++;
}

static void map(uc_engine *uc, uint64_t va, uint8_t fill)
{
    static uint8_t page[0x1000];
    memset(page, fill, sizeof page);
    uint64_t base = va & ~0xfffull;
    assert_int_equal(uc_mem_map(uc, base, 0x1000, UC_PROT_ALL), UC_ERR_OK);
    assert_int_equal(uc_mem_write(uc, base, page, sizeof page), UC_ERR_OK);
}

static void put64(uc_engine *uc, uint64_t va, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    assert_int_equal(uc_mem_write(uc, va, b, 8), UC_ERR_OK);
}

/* Distinct, recognisable register values. */
static uint64_t reg_value(size_t i) { return 0x1111000000000000ull * ((i % 14) + 1) + 0x100 * i + 7; }

typedef struct regs {
    uint64_t gpr[31], sp;
    uint8_t v[8][16];
} regs;

static void regs_put(const emu_arch *e, uc_engine *uc, const regs *s)
{
    for (size_t i = 0; i < e->nregs; i++)
        assert_int_equal(uc_reg_write(uc, e->regs[i], &s->gpr[i]), UC_ERR_OK);
    assert_int_equal(uc_reg_write(uc, e->sp, &s->sp), UC_ERR_OK);
    for (size_t i = 0; i < e->nvregs; i++)
        assert_int_equal(uc_reg_write(uc, e->vregs[i], s->v[i]), UC_ERR_OK);
}

static void regs_get(const emu_arch *e, uc_engine *uc, regs *s)
{
    for (size_t i = 0; i < e->nregs; i++)
        assert_int_equal(uc_reg_read(uc, e->regs[i], &s->gpr[i]), UC_ERR_OK);
    assert_int_equal(uc_reg_read(uc, e->sp, &s->sp), UC_ERR_OK);
    for (size_t i = 0; i < e->nvregs; i++)
        assert_int_equal(uc_reg_read(uc, e->vregs[i], s->v[i]), UC_ERR_OK);
}

static uc_engine *emu_open(const emu_arch *e, run *r)
{
    uc_engine *uc;
    uc_hook h;
    assert_int_equal(uc_open(e->ua, e->um, &uc), UC_ERR_OK);
    if (e->ua == UC_ARCH_ARM64) {
        uint64_t cpacr = 3ull << 20; /* FP/SIMD on */
        assert_int_equal(uc_reg_write(uc, UC_ARM64_REG_CPACR_EL1, &cpacr), UC_ERR_OK);
    }
    assert_int_equal(uc_hook_add(uc, &h, UC_HOOK_CODE, on_code, r, 1, 0), UC_ERR_OK);
    assert_int_equal(uc_hook_add(uc, &h, UC_HOOK_MEM_READ, on_read, r, 1, 0), UC_ERR_OK);
    r->uc = uc;
    return uc;
}

/* Emit n bytes of stub code at STUB, checking the measured size. */
static void load_stub(run *r, const uint8_t *code, size_t n)
{
    map(r->uc, STUB, 0);
    assert_int_equal(uc_mem_write(r->uc, STUB, code, n), UC_ERR_OK);
    r->lo = STUB;
    r->hi = STUB + n;
}

static void emu_go(run *r, const emu_arch *e)
{
    uint64_t pc = STUB;
    assert_int_equal(uc_reg_write(r->uc, e->pc, &pc), UC_ERR_OK);
    uc_err err = uc_emu_start(r->uc, STUB, 0, 0, 64);
    if (err != UC_ERR_OK)
        fail_msg("%s: the stub faulted: %s", e->name, uc_strerror(err));
}

/* Registers equal but for the bits of except; names the first that is not. */
static void regs_same(const emu_arch *e, const regs *a, const regs *b, uint64_t except,
                      const char *what)
{
    for (size_t i = 0; i < e->nregs; i++)
        if (!(except >> i & 1) && a->gpr[i] != b->gpr[i])
            fail_msg("%s %s: %s changed: 0x%llx -> 0x%llx", e->name, what, e->names[i],
                     (unsigned long long)a->gpr[i], (unsigned long long)b->gpr[i]);
    if (a->sp != b->sp)
        fail_msg("%s %s: the stack pointer changed", e->name, what);
    for (size_t i = 0; i < e->nvregs; i++)
        if (memcmp(a->v[i], b->v[i], 16))
            fail_msg("%s %s: vector register %zu changed", e->name, what, i);
}

/* The dispatch stub with the slot at slot_va holding value. */
static void dispatch_case(const emu_arch *e, hp_call_abi abi, uint64_t slot_va, bool set)
{
    const char *what = abi == HP_ABI_GO ? (set ? "go set" : "go empty")
                                        : (set ? "c set" : "c empty");
    uint8_t code[64];
    size_t n = e->arch->dispatch(NULL, 0, 0, 0, abi);
    assert_true(n > 0 && n <= sizeof code);
    assert_int_equal(e->arch->dispatch(code, STUB, slot_va, TRAMP, abi), n);

    run r = {.slot_va = slot_va};
    uc_engine *uc = emu_open(e, &r);
    load_stub(&r, code, n);
    map(uc, TRAMP, 0);
    map(uc, MOCK, 0);
    map(uc, slot_va, 0);
    map(uc, CLOSURE, 0);
    map(uc, STACK, 0);
    uint64_t value = set ? (abi == HP_ABI_GO ? CLOSURE : MOCK) : 0;
    put64(uc, slot_va, value);
    put64(uc, CLOSURE, MOCK); /* a Go func value: the code comes first */
    put64(uc, CLOSURE + 8, 0x5555);

    regs in = {.sp = STACK + 0x800}, out;
    for (size_t i = 0; i < e->nregs; i++)
        in.gpr[i] = reg_value(i);
    for (size_t i = 0; i < e->nvregs; i++)
        memset(in.v[i], (int)(0xa0 + i), 16);
    regs_put(e, uc, &in);
    emu_go(&r, e);
    regs_get(e, uc, &out);

    uint64_t want = set ? MOCK : TRAMP;
    if (r.landed != want)
        fail_msg("%s %s: landed at 0x%llx, not 0x%llx", e->name, what,
                 (unsigned long long)r.landed, (unsigned long long)want);
    uint64_t except = e->scratch[abi];
    if (set && abi == HP_ABI_GO) {
        if (out.gpr[e->ctx] != CLOSURE)
            fail_msg("%s %s: the context register %s holds 0x%llx, not the closure", e->name,
                     what, e->names[e->ctx], (unsigned long long)out.gpr[e->ctx]);
        except |= 1ull << e->ctx;
    }
    regs_same(e, &in, &out, except, what);
    if (r.slot_reads != 1)
        fail_msg("%s %s: the slot was read %u times, not once", e->name, what, r.slot_reads);
    uc_close(uc);
}

static void dispatch_all(const emu_arch *e, hp_call_abi abi)
{
    const uint64_t slots[] = {SLOT_HI, SLOT_LO};
    for (size_t i = 0; i < 2; i++) {
        dispatch_case(e, abi, slots[i], false);
        dispatch_case(e, abi, slots[i], true);
    }
}

static void test_x86_c(void **s) { (void)s; dispatch_all(&x86, HP_ABI_C); }
static void test_x86_go(void **s) { (void)s; dispatch_all(&x86, HP_ABI_GO); }
static void test_a64_c(void **s) { (void)s; dispatch_all(&a64, HP_ABI_C); }
static void test_a64_go(void **s) { (void)s; dispatch_all(&a64, HP_ABI_GO); }

/* ---- the marker stubs: return an address, or g */

/* Run code as a function called with every register distinct; returns the
 * result register, after checking it returned to its caller. */
static uint64_t call_stub(const emu_arch *e, const uint8_t *code, size_t n, uint64_t *g)
{
    run r = {.slot_va = 1};
    uc_engine *uc = emu_open(e, &r);
    load_stub(&r, code, n);
    map(uc, STACK, 0);
    map(uc, RET_TO, 0);
    regs in = {.sp = STACK + 0x800}, out;
    for (size_t i = 0; i < e->nregs; i++)
        in.gpr[i] = reg_value(i);
    *g = in.gpr[e->g];
    if (e->ret >= 0)
        in.gpr[30] = RET_TO;
    else
        put64(uc, in.sp, RET_TO); /* x86: call pushed it */
    regs_put(e, uc, &in);
    emu_go(&r, e);
    regs_get(e, uc, &out);
    if (r.landed != RET_TO)
        fail_msg("%s: did not return (at 0x%llx)", e->name, (unsigned long long)r.landed);
    in.sp += e->ret >= 0 ? 0 : 8; /* x86's ret pops the return address */
    regs_same(e, &in, &out, 1ull << e->result, "marker");
    uc_close(uc);
    return out.gpr[e->result];
}

static void marker_stubs(const emu_arch *e)
{
    uint8_t code[32];
    uint64_t g;
    const uint64_t to[] = {SLOT_HI, SLOT_LO, STUB + 0x123458};
    for (size_t i = 0; i < 3; i++) {
        size_t n = e->arch->ret_addr(NULL, 0, 0);
        assert_int_equal(e->arch->ret_addr(code, STUB, to[i]), n);
        assert_int_equal(call_stub(e, code, n, &g), to[i]);
    }
    size_t n = e->arch->ret_go_g(NULL);
    assert_int_equal(e->arch->ret_go_g(code), n);
    uint64_t got = call_stub(e, code, n, &g);
    assert_int_equal(got, g);
}

static void test_x86_markers(void **s) { (void)s; marker_stubs(&x86); }
static void test_a64_markers(void **s) { (void)s; marker_stubs(&a64); }

/* Out of reach: the emitting call says so (0) instead of writing a wrong
 * displacement. */
static void test_reach(void **s)
{
    (void)s;
    uint8_t code[64];
    uint64_t far = STUB + (5ull << 30);
    for (int abi = 0; abi < 2; abi++) {
        assert_int_equal(hp_arch_x86.dispatch(code, STUB, far, TRAMP, (hp_call_abi)abi), 0);
        assert_int_equal(hp_arch_x86.dispatch(code, STUB, SLOT_HI, far, (hp_call_abi)abi), 0);
        assert_int_equal(hp_arch_arm64.dispatch(code, STUB, far, TRAMP, (hp_call_abi)abi), 0);
        /* B reaches +-128 MiB */
        assert_int_equal(
            hp_arch_arm64.dispatch(code, STUB, SLOT_HI, STUB + (200ull << 20), (hp_call_abi)abi),
            0);
        assert_int_equal(hp_arch_arm64.dispatch(code, STUB, SLOT_HI + 4, TRAMP,
                                                (hp_call_abi)abi), 0); /* misaligned */
    }
    assert_int_equal(hp_arch_x86.ret_addr(code, STUB, far), 0);
    assert_int_equal(hp_arch_arm64.ret_addr(code, STUB, far), 0);
}

int main(void)
{
    a64_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x86_c),       cmocka_unit_test(test_x86_go),
        cmocka_unit_test(test_a64_c),       cmocka_unit_test(test_a64_go),
        cmocka_unit_test(test_x86_markers), cmocka_unit_test(test_a64_markers),
        cmocka_unit_test(test_reach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
