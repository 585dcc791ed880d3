/* Unit tests for base/hp_text.c: UTF-8 validation and the three escaping
 * modes (JSON strings, terminals, whole JSON documents). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/hp_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s escaped in mode m must be want, through every entry point. */
static void tt_expect(hp_text_mode m, const char *s, const char *want)
{
    char *got = hp_text_escape(s, m);
    assert_non_null(got);
    if (strcmp(got, want))
        fail_msg("mode %d: escaped to '%s', want '%s'", (int)m, got, want);
    hp_free(got);
    assert_int_equal(hp_text_escape_buf(s, strlen(s), m, NULL), strlen(want));
    assert_int_equal(hp_text_is_clean(s, m), strcmp(s, want) == 0);

    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    hp_text_fputs(s, m, f);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(mem, want);
    free(mem);
}

/* The reference encoder the decoder is checked against. */
static size_t tt_encode(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

static void test_decode_every_code_point(void **state)
{
    for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
        uint8_t b[4];
        size_t n = tt_encode(cp, b), got;
        uint32_t dec = 0xffffffffu;
        got = hp_utf8_decode(b, n, &dec);
        if (cp >= 0xd800 && cp <= 0xdfff) {
            if (got != 0)
                fail_msg("surrogate U+%04X decoded", cp);
        } else if (got != n || dec != cp) {
            fail_msg("U+%04X: length %zu, value U+%04X", cp, got, dec);
        }
        if (n > 1 && hp_utf8_decode(b, n - 1, &dec) != 0) /* truncated */
            fail_msg("U+%04X cut to %zu bytes decoded", cp, n - 1);
    }
}

static void test_decode_invalid(void **state)
{
    static const struct {
        const char *bytes;
        size_t n;
    } bad[] = {
        {"\x80", 1},                 /* stray continuation */
        {"\xbf", 1},
        {"\xc0\x80", 2},             /* overlong NUL */
        {"\xc1\xbf", 2},             /* overlong U+007F */
        {"\xe0\x9f\xbf", 3},         /* overlong U+07FF */
        {"\xf0\x8f\xbf\xbf", 4},     /* overlong U+FFFF */
        {"\xed\xa0\x80", 3},         /* U+D800 */
        {"\xed\xbf\xbf", 3},         /* U+DFFF */
        {"\xf4\x90\x80\x80", 4},     /* U+110000 */
        {"\xf5\x80\x80\x80", 4},     /* lead byte past U+10FFFF */
        {"\xff", 1},
        {"\xc3", 1},                 /* truncated */
        {"\xe6\x97", 2},
        {"\xe6\x97z", 3},            /* ... and followed by ASCII */
        {"\xf0\x9f\x98", 3},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t cp;
        if (hp_utf8_decode((const uint8_t *)bad[i].bytes, bad[i].n, &cp) != 0)
            fail_msg("case %zu decoded", i);
    }
    uint32_t cp;
    assert_int_equal(hp_utf8_decode((const uint8_t *)"\xed\x9f\xbf", 3, &cp), 3);
    assert_int_equal(cp, 0xd7ff);
    assert_int_equal(hp_utf8_decode((const uint8_t *)"\xf4\x8f\xbf\xbf", 4, &cp), 4);
    assert_int_equal(cp, 0x10ffff);
}

static void test_valid_text_kept(void **state)
{
    static const char *const kept[] = {
        "main", "main.(*T).M", "_ZN3foo3barEv", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac",
        "\xf0\x9f\x98\x80 ok", "\xef\xbf\xbd", "back\\slash", "",
    };
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        tt_expect(HP_TEXT_UTF8, kept[i], kept[i]);
        tt_expect(HP_TEXT_TERMINAL, kept[i], kept[i]);
        tt_expect(HP_TEXT_JSON_DOC, kept[i], kept[i]);
    }
}

static void test_invalid_bytes_escaped(void **state)
{
    /* overlong, surrogate, above U+10FFFF, truncated, stray, 0xff */
    const char *s = "a\xc0\xaf" "b\xed\xa0\x80" "c\xf4\x90\x80\x80" "d\xe6\x97" "e\x80\xff";
    const char *want = "a\\xc0\\xaf" "b\\xed\\xa0\\x80" "c\\xf4\\x90\\x80\\x80" "d\\xe6\\x97"
                       "e\\x80\\xff";
    tt_expect(HP_TEXT_UTF8, s, want);
    tt_expect(HP_TEXT_TERMINAL, s, want);
    tt_expect(HP_TEXT_JSON_DOC, "a\xc0z\xe6\x97", "a\\ufffdz\\ufffd\\ufffd");
    /* a valid sequence right after a broken one survives */
    tt_expect(HP_TEXT_TERMINAL, "\xe6\xe6\x97\xa5", "\\xe6\xe6\x97\xa5");
}

static void test_control_characters(void **state)
{
    const char *s = "\x1b]0;pwned\x07\x1b[2J\r\n\tx\x7f";
    tt_expect(HP_TEXT_TERMINAL, s, "\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x0a\\x09x\\x7f");
    tt_expect(HP_TEXT_UTF8, s, s); /* the JSON writer escapes C0 itself */
    /* C1 CSI, bidi override, line separator: valid but not shown as is */
    const char *u = "a\xc2\x9b" "1m\xe2\x80\xae" "b\xe2\x80\xa8";
    tt_expect(HP_TEXT_TERMINAL, u, "a\\u009b1m\\u202eb\\u2028");
    tt_expect(HP_TEXT_UTF8, u, u);
    /* a document keeps its layout; DEL and C1 become JSON escapes */
    tt_expect(HP_TEXT_JSON_DOC, "{\n\t\"a\":\t\"x\x7fy\xc2\x85\"\n}",
              "{\n\t\"a\":\t\"x\\u007fy\\u0085\"\n}");
}

static void test_write_lengths(void **state)
{
    /* hp_text_write takes a length: bytes after it, a NUL inside it */
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    hp_text_write("a\0b\x1bZZZ", 4, HP_TEXT_TERMINAL, f);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(mem, "a\\x00b\\x1b");
    free(mem);
    char buf[32];
    assert_int_equal(hp_text_escape_buf("\x1b", 1, HP_TEXT_TERMINAL, buf), 4);
    assert_string_equal(buf, "\\x1b");
}

static void test_fprintf_long(void **state)
{
    /* longer than the 512-byte buffer: still escaped in full */
    char name[2001];
    memset(name, 'n', 2000);
    name[2000] = 0;
    name[1500] = '\x1b';
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    hp_text_fprintf(f, "skip %s 0x%x", name, 16);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(memlen, 5 + 2000 + 3 + 5);
    assert_null(strchr(mem, '\x1b'));
    assert_memory_equal(mem + 5 + 1500, "\\x1b", 4);
    assert_string_equal(mem + memlen - 5, " 0x10");
    free(mem);
}

static void test_escape_nomem(void **state)
{
    hp_mem_fail_after(0);
    char *r = hp_text_escape("\x1b", HP_TEXT_TERMINAL);
    hp_mem_fail_after(-1);
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_every_code_point),
        cmocka_unit_test(test_decode_invalid),
        cmocka_unit_test(test_valid_text_kept),
        cmocka_unit_test(test_invalid_bytes_escaped),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_write_lengths),
        cmocka_unit_test(test_fprintf_long),
        cmocka_unit_test(test_escape_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
