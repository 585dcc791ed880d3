/* hp_par: run independent work items on the machine's cores. Items are
 * handed out in order from a shared counter; fn must touch only its own
 * item's outputs (and thread-safe allocation). Deterministic results are the
 * caller's business: write per item, merge in item order afterwards. */
#ifndef HP_PAR_H
#define HP_PAR_H

#include <stddef.h>

typedef void (*hp_par_fn)(void *ctx, size_t item);

/* Call fn(ctx, i) for every i in [0, n), on up to hp_par_threads() threads
 * (the caller's among them), `chunk` consecutive items at a time. Runs
 * serially when n is below min_parallel or no thread can be started. */
void hp_par_for(size_t n, size_t chunk, size_t min_parallel, hp_par_fn fn, void *ctx);
/* The CPUs this process may run on (its affinity where the system has
 * one, hp_sys_cpus), at most 8, at most the test limit. */
size_t hp_par_threads(void);
/* Test hook: use at most n threads (0: no limit), on any system. Not
 * thread-safe: set it between runs. */
void hp_par_limit(size_t n);

#endif
