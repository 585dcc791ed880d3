/* Unit tests for base/hp_diag.c, the one channel errors, warnings, notes and
 * reasons travel through: what a diagnostic records, that the printed list
 * leaves reasons out (their subject prints them), and that a diagnostic
 * lost to a failed allocation is counted as an error whatever its level,
 * never recorded in part. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hp_diag.h"

/* Everything hp_diags_print writes, as a string to free. */
static char *printed(const hp_diags *d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    hp_diags_print(d, f);
    fclose(f);
    return buf;
}

/* A reason records its location, target and address; the printed list
 * shows the other levels exactly as before and leaves the reason out. */
static void test_reason_recorded_not_listed(void **state)
{
    (void)state;
    hp_diags d = {0};
    hp_loc loc = {"r.toml", 3, 10};
    assert_int_equal(hp_diag_add(&d, HP_DIAG_ERROR, &loc, "f", "bad %d", 1), HP_OK);
    assert_int_equal(hp_diag_reason(&d, &loc, "g", 0x401000, "too short: %d bytes", 3), HP_OK);
    assert_int_equal(hp_diag_add(&d, HP_DIAG_NOTE, NULL, NULL, "a note"), HP_OK);
    assert_int_equal(hp_diag_add_flagged(&d, HP_DIAG_MAY_NOT_TAKE_EFFECT, NULL, "h", "inlined"),
                     HP_OK);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.errors, 1);
    assert_int_equal(d.warnings, 1);
    const hp_diag *g = &d.v[1];
    assert_int_equal(g->level, HP_DIAG_REASON);
    assert_string_equal(g->file, "r.toml");
    assert_int_equal(g->line, 3);
    assert_int_equal(g->col, 10);
    assert_string_equal(g->target, "g");
    assert_true(g->va == 0x401000);
    assert_string_equal(g->msg, "too short: 3 bytes");
    assert_true(d.v[0].va == 0);
    char *out = printed(&d);
    assert_string_equal(out, "hookpatch: error: r.toml:3:10: target 'f': bad 1\n"
                             "hookpatch: note: a note\n"
                             "hookpatch: warning: target 'h': inlined\n");
    free(out);
    hp_diags_free(&d);
    assert_int_equal(d.n, 0);
    assert_null(d.v);
}

/* Without a list the caller wants only the status: nothing to record. */
static void test_reason_without_list(void **state)
{
    (void)state;
    assert_int_equal(hp_diag_reason(NULL, NULL, "f", 1, "why"), HP_OK);
}

/* Each level, with each of its allocations failing in turn: HP_ERR_NOMEM,
 * nothing recorded (no entry without its file or target), one error
 * counted whatever the level; once nothing fails, the entry is whole. */
static void check_lost(hp_diag_level lvl, unsigned flags)
{
    hp_loc loc = {"r.toml", 1, 2};
    for (long n = 0;; n++) {
        hp_diags d = {0};
        hp_mem_fail_after(n);
        hp_status s = flags ? hp_diag_add_flagged(&d, flags, &loc, "t", "m %d", 1)
                      : lvl == HP_DIAG_REASON ? hp_diag_reason(&d, &loc, "t", 9, "m %d", 1)
                                              : hp_diag_add(&d, lvl, &loc, "t", "m %d", 1);
        hp_mem_fail_after(-1);
        if (s == HP_OK) {
            assert_true(n >= 4); /* file, target, message, array */
            assert_int_equal(d.n, 1);
            assert_string_equal(d.v[0].file, "r.toml");
            assert_string_equal(d.v[0].target, "t");
            assert_string_equal(d.v[0].msg, "m 1");
            hp_diags_free(&d);
            return;
        }
        assert_int_equal(s, HP_ERR_NOMEM);
        assert_int_equal(d.n, 0);
        assert_int_equal(d.errors, 1);
        assert_int_equal(d.warnings, 0);
        hp_diags_free(&d);
    }
}

static void test_lost_counts_as_error(void **state)
{
    (void)state;
    check_lost(HP_DIAG_ERROR, 0);
    check_lost(HP_DIAG_WARNING, 0);
    check_lost(HP_DIAG_NOTE, 0);
    check_lost(HP_DIAG_REASON, 0);
    check_lost(HP_DIAG_WARNING, HP_DIAG_MAY_NOT_TAKE_EFFECT);
}

/* --strict: a flagged warning that was lost cannot be promoted, but it
 * already counts as an error, so the run fails all the same. */
static void test_lost_flagged_warning_under_strict(void **state)
{
    (void)state;
    hp_diags d = {0};
    hp_mem_fail_after(0);
    hp_diag_add_flagged(&d, HP_DIAG_MAY_NOT_TAKE_EFFECT, NULL, "f", "inlined");
    hp_mem_fail_after(-1);
    hp_diag_add_flagged(&d, HP_DIAG_MAY_NOT_TAKE_EFFECT, NULL, "g", "inlined");
    assert_int_equal(hp_diags_promote(&d, HP_DIAG_MAY_NOT_TAKE_EFFECT), 1);
    assert_int_equal(d.errors, 2);
    assert_int_equal(d.warnings, 0);
    hp_diags_free(&d);
}

/* While d->slice is set, each diagnostic added keeps a copy of it, printed
 * after the location and target; one added after it is cleared has none.
 * A slice name that cannot be copied loses the diagnostic (an error). */
static void test_slice_named(void **state)
{
    (void)state;
    hp_diags d = {0};
    char arch[] = "arm64";
    d.slice = arch;
    hp_diag_add(&d, HP_DIAG_ERROR, &(hp_loc){"r.toml", 2, 10}, "f", "no function named 'f'");
    arch[0] = 'X'; /* the diagnostic holds its own copy */
    d.slice = NULL;
    hp_diag_add(&d, HP_DIAG_WARNING, &(hp_loc){"in", 0, 0}, NULL, "thin");
    assert_string_equal(d.v[0].slice, "arm64");
    assert_null(d.v[1].slice);
    char *out = printed(&d);
    assert_string_equal(out, "hookpatch: error: r.toml:2:10: target 'f': arm64 slice: no function "
                             "named 'f'\nhookpatch: warning: in: thin\n");
    free(out);
    hp_diags_free(&d);
    d.slice = "arm64";
    hp_mem_fail_after(2); /* file and target copied, the slice's copy fails */
    assert_int_equal(hp_diag_add(&d, HP_DIAG_WARNING, &(hp_loc){"in", 0, 0}, "g", "w"),
                     HP_ERR_NOMEM);
    hp_mem_fail_after(-1);
    assert_int_equal(d.n, 0);
    assert_int_equal(d.errors, 1);
    hp_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_recorded_not_listed),
        cmocka_unit_test(test_reason_without_list),
        cmocka_unit_test(test_lost_counts_as_error),
        cmocka_unit_test(test_lost_flagged_warning_under_strict),
        cmocka_unit_test(test_slice_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
