/* report: what hookpatch tells the user after planning — the text summary
 * on stderr, the dry-run plan on stdout, and the --json document (built with
 * cJSON). Called by cli/main.c only. */
#ifndef HP_REPORT_H
#define HP_REPORT_H

#include "../rewriter/rewriter.h"

#include <stdio.h>

typedef struct hp_report_ctx {
    const char *in_path, *out_path;
    bool dry_run, quiet, verbose;
} hp_report_ctx;

/* A container's result: plans[i] for img->slices[i] (see hp_job). */
typedef struct hp_report_slices {
    const hp_image *img;
    const hp_plan *plans;
} hp_report_slices;

/* "hookpatch: hooked N functions, skipped K" and the skipped reasons. d is
 * the run's diagnostics, which hold the reasons (hp_hook_skip). */
void hp_report_summary(const hp_report_ctx *c, const hp_plan *p, const hp_diags *d, FILE *out);
/* One line per hook: what would be patched (dry run, -v). */
void hp_report_plan(const hp_plan *p, const hp_diags *d, FILE *out);
/* The whole result as JSON; p may be NULL when planning failed early. */
hp_status hp_report_json(const hp_report_ctx *c, const hp_plan *p, const hp_diags *d, FILE *out);
/* The same three for a container, slice by slice: a summary line per slice
 * ("hookpatch: arm64 slice: hooked N functions, skipped K", "hookpatch:
 * arm64e slice: copied unpatched"), the plan under a "# ... (arm64 slice)"
 * heading per slice, and JSON whose "slices" array gives each slice's
 * counts and whose hooks carry their "slice". */
void hp_report_summary_slices(const hp_report_ctx *c, const hp_report_slices *r,
                              const hp_diags *d, FILE *out);
void hp_report_plan_slices(const hp_report_slices *r, const hp_diags *d, FILE *out);
hp_status hp_report_json_slices(const hp_report_ctx *c, const hp_report_slices *r,
                                const hp_diags *d, FILE *out);

/* `hookpatch list`: every function (or those matching glob) with its address,
 * size and whether it can be hooked. */
hp_status hp_list(const hp_image *img, const char *glob, bool json, FILE *out);
/* The same for a container, slice by slice: a "# slice: arm64 (offset ...)"
 * heading before each slice's list (a slice copied unpatched says so and
 * lists nothing); with json, an array of {"slice", "offset", "size",
 * "patched", "functions"} objects. */
hp_status hp_list_slices(const hp_image *img, const char *glob, bool json, FILE *out);

#endif
