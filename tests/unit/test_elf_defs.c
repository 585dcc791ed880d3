/* sections/elf/elf_defs.h, the project's own ELF definitions (macOS has no
 * <elf.h>), against the host's <elf.h> where there is one: every constant
 * the same number, every structure the same size and every field the same
 * size at the same offset, so reading and writing ELF files cannot change
 * with the header. elf_defs_names.h lists the names; this test also fails
 * when elf_defs.h gains a constant the list does not check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_util.h"
#include "elf_defs_host.h"
#include "base/hp_map.h"
#include "sections/elf/elf_defs.h"

#include <ctype.h>
#include <string.h>

static const elf_def ours[] = {
#include "elf_defs_names.h"
};
#define NOURS (sizeof ours / sizeof ours[0])

/* Same names in the same order, same values, sizes and offsets. */
static void test_same_as_host(void **state)
{
#ifndef HP_TEST_HOST_ELF_H
    skip(); /* no <elf.h> to compare with (macOS) */
#endif
    assert_int_equal(elf_defs_host_count, NOURS);
    for (size_t i = 0; i < NOURS; i++) {
        const elf_def *a = &ours[i], *b = &elf_defs_host[i];
        assert_string_equal(a->name, b->name);
        if (a->value != b->value || a->off != b->off)
            fail_msg("%s: ours 0x%llx (offset %zu), <elf.h> 0x%llx (offset %zu)", a->name,
                     (unsigned long long)a->value, a->off, (unsigned long long)b->value,
                     b->off);
    }
}

/* Every object-like #define of elf_defs.h (but its include guard) is in
 * elf_defs_names.h, so the comparison above covers it. */
static void test_list_complete(void **state)
{
    hp_map names = {0};
    for (size_t i = 0; i < NOURS; i++)
        assert_int_equal(hp_map_add(&names, ours[i].name, 0, 0), HP_OK);
    blob h = read_file(HP_SOURCE_DIR "/sections/elf/elf_defs.h");
    size_t seen = 0;
    for (char *p = (char *)h.data; (p = strstr(p, "\n#define ")) != NULL;) {
        p += strlen("\n#define ");
        size_t n = 0;
        while (isalnum((unsigned char)p[n]) || p[n] == '_')
            n++;
        char name[64];
        assert_true(n > 0 && n < sizeof name);
        memcpy(name, p, n);
        name[n] = 0;
        if (p[n] == '(' || !strcmp(name, "HP_ELF_DEFS_H") || !strcmp(name, "ELFMAG"))
            continue; /* a function-like macro; the guard; a string, checked below */
        if (!hp_map_find(&names, name))
            fail_msg("elf_defs.h defines %s, which tests/unit/elf_defs_names.h does not list",
                     name);
        seen++;
    }
    free(h.data);
    hp_map_free(&names);
    assert_true(seen > 150);
    assert_int_equal(sizeof ELFMAG - 1, SELFMAG);
    assert_memory_equal(ELFMAG, "\x7f" "ELF", SELFMAG);
}

/* The function-like macros pack and unpack as the gABI says. */
static void test_info_macros(void **state)
{
    Elf64_Xword info = ELF64_R_INFO(0x12345, R_AARCH64_CALL26);
    assert_int_equal(info, 0x000123450000011bull);
    assert_int_equal(ELF64_R_SYM(info), 0x12345);
    assert_int_equal(ELF64_R_TYPE(info), R_AARCH64_CALL26);
    unsigned char st = ELF64_ST_INFO(STB_WEAK, STT_FUNC);
    assert_int_equal(st, 0x22);
    assert_int_equal(ELF64_ST_BIND(st), STB_WEAK);
    assert_int_equal(ELF64_ST_TYPE(st), STT_FUNC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_host),
        cmocka_unit_test(test_list_complete),
        cmocka_unit_test(test_info_macros),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
