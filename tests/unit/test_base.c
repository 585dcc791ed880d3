/* Unit tests for base/hp_base.c's fault injection, which the parallel
 * passes reach from several threads at once: with hp_mem_fail_after(n),
 * exactly n allocations succeed however the threads interleave, and every
 * later one fails (a plain `long` countdown loses decrements under
 * contention and lets more than n through); with hp_mem_fail_one(n), only
 * allocation n fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/hp_base.h"

#include <pthread.h>

enum { THREADS = 4, PER_THREAD = 400000 };

typedef struct worker {
    pthread_t tid;
    long ok, failed;
} worker;

static void *alloc_many(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        void *p = hp_malloc(8);
        if (p)
            w->ok++;
        else
            w->failed++;
        hp_free(p);
    }
    return NULL;
}

static void run_threads(long countdown, long *ok, long *failed)
{
    worker w[THREADS] = {0};
    hp_mem_fail_after(countdown);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&w[i].tid, NULL, alloc_many, &w[i]), 0);
    *ok = *failed = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(w[i].tid, NULL), 0);
        *ok += w[i].ok;
        *failed += w[i].failed;
    }
    hp_mem_fail_after(-1);
}

static void test_countdown_across_threads(void **state)
{
    (void)state;
    long ok, failed;
    const long n = (long)THREADS * PER_THREAD / 2;
    run_threads(n, &ok, &failed);
    assert_int_equal(ok, n);
    assert_int_equal(failed, (long)THREADS * PER_THREAD - n);
}

static void test_disabled_and_zero(void **state)
{
    (void)state;
    long ok, failed;
    run_threads(-1, &ok, &failed);
    assert_int_equal(ok, (long)THREADS * PER_THREAD);
    assert_int_equal(failed, 0);
    run_threads(0, &ok, &failed);
    assert_int_equal(ok, 0);
    assert_int_equal(failed, (long)THREADS * PER_THREAD);
    void *p = hp_malloc(1); /* disabled again */
    assert_non_null(p);
    hp_free(p);
}

/* hp_mem_fail_one: allocation n alone fails, however the threads race for
 * it; pending until it has happened. */
static void test_fail_one_across_threads(void **state)
{
    (void)state;
    worker w[THREADS] = {0};
    const long n = (long)THREADS * PER_THREAD / 3;
    hp_mem_fail_one(n);
    assert_true(hp_mem_fail_pending());
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&w[i].tid, NULL, alloc_many, &w[i]), 0);
    long ok = 0, failed = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(w[i].tid, NULL), 0);
        ok += w[i].ok;
        failed += w[i].failed;
    }
    assert_int_equal(failed, 1);
    assert_int_equal(ok, (long)THREADS * PER_THREAD - 1);
    assert_false(hp_mem_fail_pending());
    hp_mem_fail_one(2); /* not reached: still pending */
    hp_free(hp_malloc(1));
    assert_true(hp_mem_fail_pending());
    hp_mem_fail_after(-1);
    assert_false(hp_mem_fail_pending());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_countdown_across_threads),
        cmocka_unit_test(test_disabled_and_zero),
        cmocka_unit_test(test_fail_one_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
