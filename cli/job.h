/* job: the shared front half of `hookpatch IN OUT RULES` and `hookpatch
 * exec`: read the rules, open the input, build the plan; and the write of
 * the result into an output handle. */
#ifndef HP_JOB_H
#define HP_JOB_H

#include "../rewriter/rewriter.h"
#include "output.h"

/* A thin file has one plan. A container (img->nslices > 0: a universal
 * Mach-O) has one per slice, slices[i] for img->slices[i], planned with the
 * same rules for that slice's architecture; a slice copied unpatched has a
 * zeroed plan (img NULL). Its diagnostics name the slice (hp_diag.slice). */
typedef struct hp_job {
    hp_diags d;
    hp_hook_reqs reqs;
    hp_image *img;
    hp_plan plan;     /* thin */
    hp_plan *slices;  /* container */
    size_t nslices;
} hp_job;

/* Each step reports into j->d; stops at the first failing step. */
hp_status hp_job_plan(hp_job *j, const char *rules, const char *in, const hp_options *opt);
/* Map and load `in`, with the mapping watched for SIGBUS (signals.h) until
 * hp_job_close_image. */
hp_status hp_job_open_image(const char *in, hp_diags *d, hp_image **img);
void hp_job_close_image(hp_image *img);
/* Write the planned image into o's temporary file. A failed write is
 * reported with its reason ("No space left on device", "File too large"). */
hp_status hp_job_write(hp_job *j, hp_output *o);
void hp_job_free(hp_job *j);
/* Hooks planned and skipped, summed over the slices of a container. */
void hp_job_counts(const hp_job *j, size_t *planned, size_t *skipped);
/* Print diagnostics up to level `upto` (HP_DIAG_ERROR: errors only;
 * HP_DIAG_NOTE: all but the reasons, which the report prints beside their
 * hooks) to stderr. */
void hp_job_print_diags(const hp_job *j, hp_diag_level upto);
/* Belt and braces for every subcommand: a failing status s always comes
 * with an error diagnostic in d, so stderr, --json and the exit code agree.
 * A pass that failed without saying why (a bug) still gets a line naming
 * the status and the input; if even that cannot be allocated, the line is
 * printed directly. Returns the exit code: 0 only when s is HP_OK and d
 * holds no error. */
int hp_job_exit_code(hp_diags *d, hp_status s, const char *in);

#endif
