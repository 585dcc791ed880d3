/* Parallel loops (see hp_par.h). */
#include "hp_par.h"
#include "hp_sys.h"

#include <pthread.h>

#define HP_PAR_MAX 8

typedef struct hp_par_job {
    hp_par_fn fn;
    void *ctx;
    size_t n, chunk;
    size_t next; /* the next item to hand out (atomic) */
} hp_par_job;

static void *hp_par_worker(void *vj)
{
    hp_par_job *j = vj;
    for (;;) {
        size_t i = __atomic_fetch_add(&j->next, j->chunk, __ATOMIC_RELAXED);
        if (i >= j->n)
            return NULL;
        size_t end = j->n - i > j->chunk ? i + j->chunk : j->n;
        for (; i < end; i++)
            j->fn(j->ctx, i);
    }
}

static size_t hp_par_test_limit;

void hp_par_limit(size_t n) { hp_par_test_limit = n; }

size_t hp_par_threads(void)
{
    long n = hp_sys_cpus();
    size_t t = n > HP_PAR_MAX ? HP_PAR_MAX : (size_t)n;
    return hp_par_test_limit && t > hp_par_test_limit ? hp_par_test_limit : t;
}

void hp_par_for(size_t n, size_t chunk, size_t min_parallel, hp_par_fn fn, void *ctx)
{
    hp_par_job j = {fn, ctx, n, chunk ? chunk : 1, 0};
    pthread_t tid[HP_PAR_MAX];
    size_t started = 0, want = n >= min_parallel ? hp_par_threads() : 1;
    size_t chunks = (n + j.chunk - 1) / j.chunk;
    for (; started + 1 < want && started + 1 < chunks; started++)
        if (pthread_create(&tid[started], NULL, hp_par_worker, &j) != 0)
            break; /* fewer threads: the items still all get done */
    hp_par_worker(&j);
    for (size_t i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
}
