/* libFuzzer harness for the rules parser (cli/rules.c over toml++): any
 * input must yield either hook requests or diagnostics, never a crash, a
 * leak or a C++ exception. Each input runs twice: once normally, once with
 * an allocation failing part-way, to reach the out-of-memory paths. */
#include "cli/rules.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Absolute and missing, so relative objects never resolve to real files. */
#define FUZZ_RULES_PATH "/nonexistent/hookpatch-fuzz/rules.toml"

static void fuzz_rules_check(hp_status st, const hp_hook_reqs *r, const hp_diags *d)
{
    if (st == HP_OK) {
        if (r->n == 0 || d->errors != 0 || !r->path)
            __builtin_trap();
        for (size_t i = 0; i < r->n; i++)
            if (!r->v[i].target || r->v[i].target_loc.file != r->path || r->v[i].loc.line == 0)
                __builtin_trap();
        return;
    }
    if (r->n || r->v || r->path || d->errors == 0)
        __builtin_trap();
    if (st != HP_ERR_RULES && st != HP_ERR_NOMEM)
        __builtin_trap();
}

static void fuzz_rules_run(const uint8_t *data, size_t size, long fail_after)
{
    hp_hook_reqs reqs;
    hp_diags d;
    memset(&d, 0, sizeof d);
    hp_mem_fail_after(fail_after);
    hp_status st = hp_rules_parse(FUZZ_RULES_PATH, (const char *)data, size, &reqs, &d);
    hp_mem_fail_after(-1);
    if (fail_after < 0 || st != HP_ERR_NOMEM)
        fuzz_rules_check(st, &reqs, &d);
    hp_hook_reqs_free(&reqs);
    hp_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_rules_run(data, size, -1);
    fuzz_rules_run(data, size, (long)(size % 97));
    return 0;
}
