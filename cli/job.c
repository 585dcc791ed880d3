/* The rules -> image -> plan sequence shared by the subcommands. */
#include "job.h"
#include "rules.h"

#include "../base/hp_time.h"

#include <stdio.h>

hp_status hp_job_plan(hp_job *j, const char *rules, const char *in, const hp_options *opt)
{
    HP_CHECK(hp_rules_load(rules, &j->reqs, &j->d));
    hp_timing_mark("rules");
    HP_CHECK(hp_image_open(in, &j->d, &j->img));
    hp_timing_mark("load");
    return hp_plan_build(j->img, &j->reqs, opt, &j->d, &j->plan);
}

void hp_job_free(hp_job *j)
{
    hp_plan_free(&j->plan);
    hp_image_close(j->img);
    hp_hook_reqs_free(&j->reqs);
    hp_diags_free(&j->d);
}

void hp_job_print_diags(const hp_job *j, hp_diag_level upto)
{
    for (size_t i = 0; i < j->d.n; i++)
        if (j->d.v[i].level <= upto)
            hp_diag_print_one(&j->d.v[i], stderr);
}

int hp_job_exit_code(hp_diags *d, hp_status s, const char *in)
{
    if (s == HP_OK && !d->errors)
        return 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].level == HP_DIAG_ERROR)
            return 1;
    /* An error counted with no diagnostic is one whose message could not
     * be allocated (hp_diag_add). */
    s = s != HP_OK ? s : HP_ERR_NOMEM;
    size_t before = d->n;
    if (s == HP_ERR_NOMEM)
        hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){in, 0, 0}, NULL, "out of memory");
    else
        hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){in, 0, 0}, NULL,
                    "failed (%s) without a message saying why; please report this as a "
                    "hookpatch bug", hp_status_str(s));
    if (d->n == before)
        fprintf(stderr, "hookpatch: error: %s: %s\n", in, hp_status_str(s));
    return 1;
}
