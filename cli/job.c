/* The rules -> image -> plan sequence shared by the subcommands, and the
 * write of its result. */
#include "job.h"
#include "rules.h"
#include "signals.h"

#include "../base/hp_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

hp_status hp_job_open_image(const char *in, hp_diags *d, hp_image **img)
{
    HP_CHECK(hp_image_map(in, d, img));
    hp_sig_watch_input((*img)->data, (*img)->size, in);
    hp_status s = hp_image_load(*img, d);
    if (s != HP_OK) {
        hp_job_close_image(*img);
        *img = NULL;
    }
    return s;
}

void hp_job_close_image(hp_image *img)
{
    if (!img)
        return;
    hp_sig_watch_input(NULL, 0, NULL);
    hp_image_close(img);
}

/* Every patched slice is planned, even after one fails, so that one run
 * reports each slice's problems; the first failure is returned. */
static hp_status hp_job_plan_slices(hp_job *j, const hp_options *o)
{
    j->slices = hp_calloc(j->img->nslices, sizeof *j->slices);
    if (!j->slices)
        return HP_ERR_NOMEM;
    j->nslices = j->img->nslices;
    hp_plan_warn_unpatched(j->img, &j->d);
    hp_status first = HP_OK;
    for (size_t i = 0; i < j->nslices; i++) {
        const hp_slice *sl = &j->img->slices[i];
        if (!sl->img)
            continue;
        j->d.slice = sl->arch;
        hp_status s = hp_plan_build(sl->img, &j->reqs, o, &j->d, &j->slices[i]);
        j->d.slice = NULL;
        if (first == HP_OK)
            first = s;
    }
    return first;
}

hp_status hp_job_plan(hp_job *j, const char *rules, const char *in, const hp_options *opt)
{
    HP_CHECK(hp_rules_load(rules, &j->reqs, &j->d));
    hp_timing_mark("rules");
    HP_CHECK(hp_job_open_image(in, &j->d, &j->img));
    hp_timing_mark("load");
    /* Test only: HOOKPATCH_TEST_FAR=1 forces the far prologue and places
     * the new code out of its near reach (arm64), so e2e tests run the far
     * forms. Documented in README (testing) as not for users. */
    hp_options o = *opt;
    const char *far = getenv("HOOKPATCH_TEST_FAR");
    o.test_far = far && !strcmp(far, "1");
    if (j->img->nslices)
        return hp_job_plan_slices(j, &o);
    return hp_plan_build(j->img, &j->reqs, &o, &j->d, &j->plan);
}

/* pwrite from a mapping whose file was cut short fails with EFAULT where
 * a read would raise SIGBUS: say what really happened. */
static bool hp_job_input_shrank(const hp_image *img)
{
    struct stat st;
    return stat(img->path, &st) == 0 && (uint64_t)st.st_size < img->size;
}

/* A container: each slice's edit, then the container around them. */
static hp_status hp_job_join(hp_job *j, int fd, int *err)
{
    const hp_edit **eds = hp_calloc(j->nslices, sizeof *eds);
    if (!eds)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < j->nslices; i++)
        eds[i] = j->slices[i].img ? &j->slices[i].ed : NULL;
    hp_status s = hp_image_join(j->img, eds, fd, err);
    hp_free(eds);
    return s;
}

hp_status hp_job_write(hp_job *j, hp_output *o)
{
    int err = 0;
    hp_status s = j->nslices ? hp_job_join(j, o->fd, &err)
                             : hp_image_emit(j->img, &j->plan.ed, o->fd, &err);
    if (s == HP_OK)
        return HP_OK;
    if (err == EFAULT && hp_job_input_shrank(j->img))
        hp_diag_add(&j->d, HP_DIAG_ERROR, &(hp_loc){j->img->path, 0, 0}, NULL,
                    "the file changed size while hookpatch was reading it");
    else
        hp_diag_add(&j->d, HP_DIAG_ERROR, &(hp_loc){o->name, 0, 0}, NULL, "writing failed: %s",
                    err ? strerror(err) : hp_status_str(s));
    return s;
}

void hp_job_counts(const hp_job *j, size_t *planned, size_t *skipped)
{
    *planned = j->plan.nplanned;
    *skipped = j->plan.nskipped;
    for (size_t i = 0; i < j->nslices; i++) {
        *planned += j->slices[i].nplanned;
        *skipped += j->slices[i].nskipped;
    }
}

void hp_job_free(hp_job *j)
{
    for (size_t i = 0; i < j->nslices; i++)
        hp_plan_free(&j->slices[i]);
    hp_free(j->slices);
    hp_plan_free(&j->plan);
    hp_job_close_image(j->img);
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
