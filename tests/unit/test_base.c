/* Unit tests for base/hp_base.c's fault injection (hp_mem_fail_after),
 * which the parallel passes reach from several threads at once: with the
 * countdown at n, exactly n allocations succeed however the threads
 * interleave, and every later one fails. A plain `long` countdown loses
 * decrements under contention and lets more than n through. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_countdown_across_threads),
        cmocka_unit_test(test_disabled_and_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
