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
