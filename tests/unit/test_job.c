/* Unit tests for cli/job.c's exit-code rule: a failing status always comes
 * with an error diagnostic (added, naming the status, when a pass forgot
 * one), and the exit code is 0 only with neither a failing status nor an
 * error, so stderr, --json's "ok" and the exit status agree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cli/job.h"

static void test_ok(void **state)
{
    (void)state;
    hp_diags d = {0};
    hp_diag_add(&d, HP_DIAG_WARNING, NULL, NULL, "just a warning");
    assert_int_equal(hp_job_exit_code(&d, HP_OK, "in"), 0);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.errors, 0);
    hp_diags_free(&d);
}

/* A pass that failed without a word: one error naming the input and the
 * status, so the user (and --json) hear of it. */
static void test_silent_failure_gets_a_message(void **state)
{
    (void)state;
    hp_diags d = {0};
    assert_int_equal(hp_job_exit_code(&d, HP_ERR_RANGE, "prog"), 1);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.errors, 1);
    assert_int_equal(d.v[0].level, HP_DIAG_ERROR);
    assert_string_equal(d.v[0].file, "prog");
    assert_string_equal(d.v[0].msg, "failed (address out of range) without a message saying "
                                    "why; please report this as a hookpatch bug");
    hp_diags_free(&d);
    assert_int_equal(hp_job_exit_code(&d, HP_ERR_NOMEM, "prog"), 1);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].msg, "out of memory");
    hp_diags_free(&d);
}

/* An error already said why: nothing is added. */
static void test_reported_failure_unchanged(void **state)
{
    (void)state;
    hp_diags d = {0};
    hp_diag_add(&d, HP_DIAG_WARNING, NULL, NULL, "w");
    hp_diag_add(&d, HP_DIAG_ERROR, NULL, NULL, "the reason");
    assert_int_equal(hp_job_exit_code(&d, HP_ERR_RULES, "in"), 1);
    assert_int_equal(d.n, 2);
    hp_diags_free(&d);
}

/* An error reported under a success status still fails the run. */
static void test_error_with_ok_status(void **state)
{
    (void)state;
    hp_diags d = {0};
    hp_diag_add(&d, HP_DIAG_ERROR, NULL, NULL, "the reason");
    assert_int_equal(hp_job_exit_code(&d, HP_OK, "in"), 1);
    assert_int_equal(d.n, 1);
    hp_diags_free(&d);
}

/* An error counted without a diagnostic (its message could not be
 * allocated) under a success status: still a failure, said as such. */
static void test_counted_error_without_message(void **state)
{
    (void)state;
    hp_diags d = {0};
    d.errors = 1;
    assert_int_equal(hp_job_exit_code(&d, HP_OK, "in"), 1);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].msg, "out of memory");
    hp_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_silent_failure_gets_a_message),
        cmocka_unit_test(test_reported_failure_unchanged),
        cmocka_unit_test(test_error_with_ok_status),
        cmocka_unit_test(test_counted_error_without_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
