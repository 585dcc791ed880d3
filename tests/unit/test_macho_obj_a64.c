/* Unit tests for the arm64 relocations of the Mach-O object reader
 * (sections/macho/macho_obj_a64.c, through hp_obj_read). The object is
 * real: tests/fixtures/macho_obj_a64/relocs.s assembled at test time by
 * clang -target arm64-apple-macos11, one instruction or datum per
 * ARM64_RELOC_* form. Checked: every model relocation (ELF type, symbol,
 * addend), then hostile variants of the same bytes — ADDEND records
 * without the relocation that takes them, relocations on the wrong
 * instruction, refused and unknown types, broken pairs, bad shapes,
 * section-relative forms, arm64e — each with its exact reason, and byte
 * flips and truncations, which must end in an error or a model, never a
 * crash (the ASan build runs this too). Without clang's arm64 Mach-O target
 * the tests skip (under CI: fail). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#include "sections/elf/elf_defs.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sections/object.h"

#define FIX HP_SOURCE_DIR "/tests/fixtures/macho_obj_a64/"
#define CLANG "clang -target arm64-apple-macos11"

static char tmpdir[256];
static blob obj; /* relocs.o */

/* Mach-O relocation types (mach-o/arm64/reloc.h). */
enum { UNSIGNED, SUBTRACTOR, BRANCH26, PAGE21, PAGEOFF12, GOT_PAGE21, GOT_PAGEOFF12,
       POINTER_TO_GOT, TLVP_PAGE21, TLVP_PAGEOFF12, ADDEND, AUTH_POINTER };

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hp_macho_a64_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s -c %srelocs.s -o %s/relocs.o 2>&1", CLANG, FIX, tmpdir);
    if (system(cmd) != 0) {
        print_message("%s failed: clang without the arm64-apple-macos11 target?\n", cmd);
        return getenv("CI") ? -1 : 0;
    }
    snprintf(cmd, sizeof cmd, "%s/relocs.o", tmpdir);
    obj = read_file(cmd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(obj.data);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- loading ---------------------------------------------------------- */

typedef struct loaded {
    hp_obj o;
    hp_diags d;
    hp_status st;
} loaded;

static void load(loaded *l, const uint8_t *p, size_t n)
{
    memset(l, 0, sizeof *l);
    l->o.path = hp_strdup("relocs.o");
    l->o.data = hp_malloc(n ? n : 1);
    assert_non_null(l->o.path);
    assert_non_null(l->o.data);
    memcpy(l->o.data, p, n);
    l->o.size = n;
    l->o.loc = (hp_loc){"rules.toml", 3, 5};
    l->st = hp_obj_read(&l->o, NULL, &l->d);
    if (l->st != HP_OK)
        assert_true(l->d.errors > 0);
}

static void unload(loaded *l)
{
    hp_obj_free(&l->o);
    hp_diags_free(&l->d);
}

static bool diag_has(const hp_diags *d, const char *want)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].msg && strstr(d->v[i].msg, want))
            return true;
    return false;
}

/* Load p and expect status st with a diagnostic containing want. */
static void expect_error(const uint8_t *p, size_t n, hp_status st, const char *want)
{
    loaded l;
    load(&l, p, n);
    if (l.st != st || !diag_has(&l.d, want)) {
        hp_diags_print(&l.d, stderr);
        fail_msg("expected status %d and '%s', got status %d", st, want, l.st);
    }
    unload(&l);
}

#define NEED_OBJ()                                                                                \
    do {                                                                                          \
        if (!obj.data)                                                                            \
            skip();                                                                               \
    } while (0)

/* ---- finding things in the object ------------------------------------- */

/* Section k's (0-based) header offset in the file. */
static size_t sect_hdr(const uint8_t *p, uint32_t k)
{
    size_t off = 32;
    for (uint32_t i = 0; i < hp_rd32(p + 16); i++) {
        if (hp_rd32(p + off) == 0x19 && k < hp_rd32(p + off + 64))
            return off + 72 + 80 * (size_t)k;
        off += hp_rd32(p + off + 4);
    }
    fail_msg("no section %u", k);
    return 0;
}

/* The file offset of section k's relocation record at address off of type
 * type (the first in file order). */
static size_t find_rec(const uint8_t *p, uint32_t k, uint32_t off, unsigned type)
{
    size_t h = sect_hdr(p, k);
    uint32_t reloff = hp_rd32(p + h + 56), n = hp_rd32(p + h + 60);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *r = p + reloff + 8 * i;
        if (hp_rd32(r) == off && hp_rd32(r + 4) >> 28 == type)
            return reloff + 8 * i;
    }
    fail_msg("no relocation of type %u at 0x%x", type, off);
    return 0;
}

/* relocation_info word 1: symbolnum | pcrel << 24 | length << 25 | extern << 27 | type << 28 */
#define word1(sym, pcrel, len, ext, type)                                                         \
    ((uint32_t)(sym) | (uint32_t)(pcrel) << 24 | (uint32_t)(len) << 25 |                          \
     (uint32_t)(ext) << 27 | (uint32_t)(type) << 28)

/* ---- translation -------------------------------------------------------- */

typedef struct want {
    const char *sec;
    uint64_t off;
    uint32_t type;
    const char *sym;
    int64_t addend;
} want;

static const want wants[] = {
    {"__TEXT,__text", 0x00, R_AARCH64_CALL26, "_ext", 0},
    {"__TEXT,__text", 0x04, R_AARCH64_CALL26, "_ext", 8},
    {"__TEXT,__text", 0x08, R_AARCH64_ADR_PREL_PG_HI21, "_d", 0},
    {"__TEXT,__text", 0x0c, R_AARCH64_ADD_ABS_LO12_NC, "_d", 0},
    {"__TEXT,__text", 0x10, R_AARCH64_LDST8_ABS_LO12_NC, "_d", 0},
    {"__TEXT,__text", 0x14, R_AARCH64_LDST16_ABS_LO12_NC, "_d", 0},
    {"__TEXT,__text", 0x18, R_AARCH64_LDST32_ABS_LO12_NC, "_d", 0},
    {"__TEXT,__text", 0x1c, R_AARCH64_LDST64_ABS_LO12_NC, "_d", 0},
    {"__TEXT,__text", 0x20, R_AARCH64_LDST128_ABS_LO12_NC, "_d", 0},
    {"__TEXT,__text", 0x24, R_AARCH64_LDST8_ABS_LO12_NC, "_d", 0},
    {"__TEXT,__text", 0x28, R_AARCH64_LDST64_ABS_LO12_NC, "_d", 0},
    {"__TEXT,__text", 0x2c, R_AARCH64_LDST64_ABS_LO12_NC, "_d", 0},
    {"__TEXT,__text", 0x30, R_AARCH64_ADR_PREL_PG_HI21, "_d", 12},
    {"__TEXT,__text", 0x34, R_AARCH64_ADD_ABS_LO12_NC, "_d", 12},
    {"__TEXT,__text", 0x38, R_AARCH64_ADR_GOT_PAGE, "_ext", 0},
    {"__TEXT,__text", 0x3c, R_AARCH64_LD64_GOT_LO12_NC, "_ext", 0},
    {"__DATA,__data", 0x10, R_AARCH64_ABS64, "_f", 0},
    {"__DATA,__data", 0x18, R_AARCH64_ABS64, "_f", 16},
    {"__DATA,__data", 0x20, R_AARCH64_ABS32, "_f", 0},
    {"__DATA,__data", 0x24, R_AARCH64_PREL32, "_f", 0},  /* _f - _x, P == _x */
    {"__DATA,__data", 0x28, R_AARCH64_PREL64, "_ext", 4}, /* _ext - _x, P == _x + 4 */
};

static const hp_obj_rela *rela_at(const hp_obj *o, const char *sec, uint64_t off)
{
    const hp_obj_rela *found = NULL;
    for (size_t i = 0; i < o->nrelas; i++)
        if (o->relas[i].off == off && !strcmp(o->secs[o->relas[i].sec].name, sec)) {
            assert_null(found); /* one relocation per field */
            found = &o->relas[i];
        }
    return found;
}

static void test_translation(void **state)
{
    (void)state;
    NEED_OBJ();
    loaded l;
    load(&l, obj.data, obj.size);
    if (l.st != HP_OK)
        hp_diags_print(&l.d, stderr);
    assert_int_equal(l.st, HP_OK);
    assert_int_equal(l.d.n, 0);
    assert_int_equal(l.o.machine, HP_MACH_ARM64);
    assert_true(l.o.needs_got);
    assert_int_equal(l.o.nrelas, sizeof wants / sizeof wants[0]);
    for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++) {
        const want *w = &wants[i];
        const hp_obj_rela *r = rela_at(&l.o, w->sec, w->off);
        if (!r)
            fail_msg("no relocation at %s+0x%llx", w->sec, (unsigned long long)w->off);
        if (r->type != w->type || strcmp(l.o.syms[r->sym].name, w->sym) || r->addend != w->addend)
            fail_msg("%s+0x%llx: %s against %s%+lld, want %s against %s%+lld", w->sec,
                     (unsigned long long)w->off, hp_obj_rel_name(HP_MACH_ARM64, r->type),
                     l.o.syms[r->sym].name, (long long)r->addend,
                     hp_obj_rel_name(HP_MACH_ARM64, w->type), w->sym, (long long)w->addend);
    }
    unload(&l);
}

/* A negative ADDEND (sign-extended from 24 bits) and a section-relative
 * PAGE21/PAGEOFF12 pair: the ADDEND is the target's address in the
 * object, made an offset in the section. */
static void test_addend_forms(void **state)
{
    (void)state;
    NEED_OBJ();
    uint8_t *p = malloc(obj.size);
    memcpy(p, obj.data, obj.size);
    size_t a = find_rec(p, 0, 0x30, ADDEND), a2 = find_rec(p, 0, 0x34, ADDEND);
    hp_wr32(p + a + 4, word1(0xfffff8, 0, 2, 0, ADDEND)); /* -8 */
    uint64_t data_addr = hp_rd64(p + sect_hdr(p, 1) + 32);
    hp_wr32(p + a2 + 4, word1((uint32_t)data_addr + 20, 0, 2, 0, ADDEND));
    size_t r2 = find_rec(p, 0, 0x34, PAGEOFF12);
    hp_wr32(p + r2 + 4, word1(2, 0, 2, 0, PAGEOFF12)); /* section 2: __data */
    loaded l;
    load(&l, p, obj.size);
    assert_int_equal(l.st, HP_OK);
    const hp_obj_rela *r = rela_at(&l.o, "__TEXT,__text", 0x30);
    assert_int_equal(r->type, R_AARCH64_ADR_PREL_PG_HI21);
    assert_string_equal(l.o.syms[r->sym].name, "_d");
    assert_int_equal(r->addend, -8);
    r = rela_at(&l.o, "__TEXT,__text", 0x34);
    assert_int_equal(r->type, R_AARCH64_ADD_ABS_LO12_NC);
    assert_int_equal(l.o.syms[r->sym].type, STT_SECTION);
    assert_string_equal(l.o.syms[r->sym].name, "__DATA,__data");
    assert_int_equal(r->addend, 20);
    unload(&l);
    free(p);
}

/* ---- hostile input ------------------------------------------------------ */

typedef struct mut {
    uint32_t sec, off;
    unsigned type; /* the record to change: section, address, type */
    uint32_t w1;   /* its new word 1 (0: leave it) */
    int64_t w0;    /* its new address (-1: leave it) */
    hp_status st;
    const char *want;
} mut;

static const mut muts[] = {
    /* an ADDEND whose next record is not a BRANCH26/PAGE21/PAGEOFF12 */
    {0, 0x30, PAGE21, word1(3, 1, 2, 1, GOT_PAGE21), -1, HP_ERR_FORMAT,
     "section '__TEXT,__text' offset 0x30: ARM64_RELOC_ADDEND not followed by the BRANCH26, "
     "PAGE21 or PAGEOFF12 it belongs to"},
    /* ... or at another offset */
    {0, 0x04, BRANCH26, 0, 0x00, HP_ERR_FORMAT, "offset 0x4: ARM64_RELOC_ADDEND not followed"},
    /* an extern ADDEND */
    {0, 0x04, ADDEND, word1(8, 0, 2, 1, ADDEND), -1, HP_ERR_FORMAT,
     "offset 0x4: ARM64_RELOC_ADDEND with length 4, extern"},
    /* relocations on the wrong instruction (0x40: ldr w0, [x0]) */
    {0, 0x00, BRANCH26, 0, 0x40, HP_ERR_FORMAT,
     "offset 0x40: ARM64_RELOC_BRANCH26 on instruction 0xb9400000, which is not B or BL"},
    {0, 0x08, PAGE21, 0, 0x40, HP_ERR_FORMAT, "ARM64_RELOC_PAGE21 on instruction 0xb9400000, "
                                              "which is not ADRP"},
    {0, 0x3c, GOT_PAGEOFF12, 0, 0x18, HP_ERR_FORMAT,
     "ARM64_RELOC_GOT_LOAD_PAGEOFF12 on instruction 0xb9400001, which is not LDR Xt"},
    {0, 0x0c, PAGEOFF12, 0, 0x08, HP_ERR_FORMAT, "ARM64_RELOC_PAGEOFF12 on instruction "
                                                 "0x90000000, which is not ADD (immediate) or a "
                                                 "load/store"},
    /* refused by name */
    {0, 0x08, PAGE21, word1(3, 1, 2, 1, TLVP_PAGE21), -1, HP_ERR_LINK,
     "offset 0x8: relocation ARM64_RELOC_TLVP_LOAD_PAGE21 (thread-local storage) is not "
     "supported"},
    {0, 0x0c, PAGEOFF12, word1(3, 0, 2, 1, TLVP_PAGEOFF12), -1, HP_ERR_LINK,
     "ARM64_RELOC_TLVP_LOAD_PAGEOFF12 (thread-local storage)"},
    {1, 0x10, UNSIGNED, word1(2, 0, 3, 1, AUTH_POINTER), -1, HP_ERR_LINK,
     "section '__DATA,__data' offset 0x10: relocation ARM64_RELOC_AUTHENTICATED_POINTER (arm64e "
     "pointer authentication) is not supported"},
    {1, 0x20, UNSIGNED, word1(2, 1, 2, 1, POINTER_TO_GOT), -1, HP_ERR_LINK,
     "offset 0x20: relocation ARM64_RELOC_POINTER_TO_GOT (a GOT-relative pointer in data) is not "
     "supported"},
    {1, 0x20, UNSIGNED, word1(2, 0, 2, 1, 12), -1, HP_ERR_LINK, "unknown relocation type 12"},
    /* a SUBTRACTOR without its UNSIGNED */
    {1, 0x24, UNSIGNED, word1(2, 0, 2, 1, PAGE21), -1, HP_ERR_FORMAT,
     "offset 0x24: ARM64_RELOC_SUBTRACTOR without its UNSIGNED pair"},
    /* shapes */
    {0, 0x00, BRANCH26, word1(2, 0, 2, 1, BRANCH26), -1, HP_ERR_FORMAT,
     "ARM64_RELOC_BRANCH26 with length 4, extern"},
    {0, 0x0c, PAGEOFF12, word1(3, 0, 3, 1, PAGEOFF12), -1, HP_ERR_FORMAT,
     "ARM64_RELOC_PAGEOFF12 with length 8"},
    {1, 0x10, UNSIGNED, word1(2, 1, 3, 1, UNSIGNED), -1, HP_ERR_FORMAT,
     "ARM64_RELOC_UNSIGNED with length 8, pc-relative"},
    {0, 0x38, GOT_PAGE21, word1(1, 1, 2, 0, GOT_PAGE21), -1, HP_ERR_FORMAT,
     "offset 0x38: ARM64_RELOC_GOT_LOAD_PAGE21 against a section"},
    {0, 0x08, PAGE21, 0, 0x46, HP_ERR_FORMAT, "offset 0x46: relocation outside the section"},
    {0, 0x08, PAGE21, word1(2, 1, 2, 0, PAGE21), 0x80000008, HP_ERR_FORMAT,
     "scattered relocation on arm64"},
    {0, 0x08, PAGE21, word1(99, 1, 2, 0, PAGE21), -1, HP_ERR_FORMAT, "section ordinal 99 out of "
                                                                    "range"},
};

static void test_hostile_relocs(void **state)
{
    (void)state;
    NEED_OBJ();
    uint8_t *p = malloc(obj.size);
    for (size_t i = 0; i < sizeof muts / sizeof muts[0]; i++) {
        const mut *m = &muts[i];
        memcpy(p, obj.data, obj.size);
        size_t r = find_rec(p, m->sec, m->off, m->type);
        if (m->w1)
            hp_wr32(p + r + 4, m->w1);
        if (m->w0 >= 0)
            hp_wr32(p + r, (uint32_t)m->w0);
        print_message("case %zu: %s\n", i, m->want);
        expect_error(p, obj.size, m->st, m->want);
    }
    /* an ADDEND as the last record */
    memcpy(p, obj.data, obj.size);
    size_t h = sect_hdr(p, 0);
    uint32_t reloff = hp_rd32(p + h + 56), n = hp_rd32(p + h + 60);
    hp_wr32(p + reloff + 8 * (n - 1) + 4, word1(4, 0, 2, 0, ADDEND));
    expect_error(p, obj.size, HP_ERR_FORMAT, "ARM64_RELOC_ADDEND not followed");
    free(p);
}

static void test_cpu(void **state)
{
    (void)state;
    NEED_OBJ();
    uint8_t *p = malloc(obj.size);
    memcpy(p, obj.data, obj.size);
    hp_wr32(p + 8, 2);
    expect_error(p, obj.size, HP_ERR_LINK,
                 "an arm64e object (pointer-authenticated ABI) is not supported");
    hp_wr32(p + 8, 0x80000002u); /* capability bits in the high byte */
    expect_error(p, obj.size, HP_ERR_LINK, "arm64e object");
    hp_wr32(p + 8, 5);
    expect_error(p, obj.size, HP_ERR_LINK, "arm64 CPU subtype 5 is not supported");
    hp_wr32(p + 8, 0);
    hp_wr32(p + 4, 0x12); /* PowerPC */
    expect_error(p, obj.size, HP_ERR_LINK, "CPU type 0x12 is neither x86-64 nor arm64");
    hp_wr32(p + 4, 0x0100000c);
    hp_wr32(p + 8, 1); /* arm64 v8 */
    loaded l;
    load(&l, p, obj.size);
    assert_int_equal(l.st, HP_OK);
    assert_int_equal(l.o.machine, HP_MACH_ARM64);
    unload(&l);
    free(p);
}

/* Truncations and byte flips over the whole object: an error or a model,
 * never a crash or a read out of bounds. */
static void test_mutations(void **state)
{
    (void)state;
    NEED_OBJ();
    uint8_t *p = malloc(obj.size);
    loaded l;
    for (size_t len = 0; len < obj.size; len++) {
        load(&l, obj.data, len);
        unload(&l);
    }
    static const uint8_t vals[] = {0x00, 0xff, 0x80, 0x01, 0x7f, 0x0a};
    for (size_t off = 0; off < obj.size; off++)
        for (size_t v = 0; v < sizeof vals; v++) {
            memcpy(p, obj.data, obj.size);
            p[off] = vals[v];
            load(&l, p, obj.size);
            unload(&l);
        }
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translation),
        cmocka_unit_test(test_addend_forms),
        cmocka_unit_test(test_hostile_relocs),
        cmocka_unit_test(test_cpu),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
