/* hookpatch command line: the only place that prints diagnostics and exits.
 *   hookpatch [options] IN OUT RULES
 *   hookpatch list [--json] IN [GLOB]
 *   hookpatch exec [--runner CMD] [RULES] -- BINARY [ARGS...]
 *   hookpatch --print-deps RULES
 * Exit codes: 0 success, 1 any error, 2 usage error. */
#include "deps.h"
#include "exec.h"
#include "job.h"
#include "report.h"
#include "signals.h"

#include "../base/hp_text.h"
#include "../base/hp_time.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#ifndef HP_VERSION
#define HP_VERSION "dev"
#endif

static const char hp_usage[] =
    "usage: hookpatch [options] IN OUT RULES    patch IN into OUT as RULES say\n"
    "       hookpatch list [--json] IN [GLOB]    list functions and whether they can be hooked\n"
    "       hookpatch exec [--runner CMD] [-v] [--strict] [RULES] -- BINARY [ARGS...]\n"
    "                                            patch BINARY to a temporary file and run it;\n"
    "                                            no RULES: ./hookpatch.toml, and without one\n"
    "                                            BINARY runs unpatched\n"
    "       hookpatch --print-deps RULES         list the object files RULES names\n"
    "options:\n"
    "  --dry-run            print the plan on stdout, write nothing\n"
    "  --json               print a machine-readable report on stdout\n"
    "  --strict             a warning that a hook may not take effect is an error:\n"
    "                       an inlined target, a universal slice copied unpatched\n"
    "                       (--strict-inlining is an alias)\n"
    "  --no-move            never move a neighbour's instructions to make room for a\n"
    "                       tiny target's island (it keeps its call sites instead)\n"
    "  --no-fsync           do not fsync the output (faster; not durable across a crash)\n"
    "  --depfile FILE       also write FILE, a Make-style depfile: OUT depends on IN,\n"
    "                       RULES and every object file RULES names\n"
    "  --print-deps         print the object files RULES names, one a line (they\n"
    "                       need not exist yet)\n"
    "  --timings            print the time each phase took on stderr\n"
    "  -q, --quiet          only the summary line and errors\n"
    "  -v, --verbose        also print the plan, and each target a glob's inlining\n"
    "                       warning counts\n"
    "  -h, --help           this text\n"
    "  --version            print the version\n";

typedef struct hp_args {
    const char *pos[3];
    int npos;
    bool dry_run, json, quiet, verbose, no_fsync, print_deps;
    const char *depfile;
    hp_options opt;
} hp_args;

static int hp_usage_error(const char *fmt, const char *arg)
{
    fputs("hookpatch: error: ", stderr);
    hp_text_fprintf(stderr, fmt, arg);
    fputs("\n(run 'hookpatch --help' for usage)\n", stderr);
    return 2;
}

/* Returns -1 to go on, or an exit code. */
static int hp_parse_args(int argc, char **argv, hp_args *a)
{
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (opts_done || s[0] != '-' || !s[1]) {
            if (a->npos == 3)
                return hp_usage_error("unexpected argument '%s'", s);
            a->pos[a->npos++] = s;
        } else if (!strcmp(s, "--")) {
            opts_done = true;
        } else if (!strcmp(s, "--dry-run")) {
            a->dry_run = true;
        } else if (!strcmp(s, "--json")) {
            a->json = true;
        } else if (!strcmp(s, "--no-fsync")) {
            a->no_fsync = true;
        } else if (!strcmp(s, "--depfile")) {
            if (++i == argc)
                return hp_usage_error("%s", "--depfile needs a file name");
            a->depfile = argv[i];
        } else if (!strncmp(s, "--depfile=", 10)) {
            a->depfile = s + 10;
        } else if (!strcmp(s, "--print-deps")) {
            a->print_deps = true;
        } else if (!strcmp(s, "--timings")) {
            hp_timing_enable(true);
        } else if (!strcmp(s, "--strict") || !strcmp(s, "--strict-inlining")) {
            a->opt.strict = true;
        } else if (!strcmp(s, "--no-move")) {
            a->opt.no_move = true;
        } else if (!strcmp(s, "-q") || !strcmp(s, "--quiet")) {
            a->quiet = true;
        } else if (!strcmp(s, "-v") || !strcmp(s, "--verbose")) {
            a->verbose = true;
        } else if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(hp_usage, stdout);
            return 0;
        } else if (!strcmp(s, "--version")) {
            printf("hookpatch %s\n", HP_VERSION);
            return 0;
        } else {
            return hp_usage_error("unknown option '%s'", s);
        }
    }
    a->opt.verbose = a->verbose;
    if (a->depfile && !a->depfile[0])
        return hp_usage_error("%s", "--depfile needs a file name");
    if (a->depfile && (a->dry_run || a->print_deps))
        return hp_usage_error("--depfile cannot be used with %s",
                              a->dry_run ? "--dry-run" : "--print-deps");
    if (a->print_deps && (a->dry_run || a->json))
        return hp_usage_error("--print-deps cannot be used with %s",
                              a->dry_run ? "--dry-run" : "--json");
    return -1;
}

/* Write the plan's result over OUT through a temporary file. The output
 * keeps IN's permission bits, less setuid/setgid/sticky. */
static hp_status hp_cmd_write(hp_job *j, const char *in, const char *out, bool fsync)
{
    struct stat st;
    unsigned mode = stat(in, &st) == 0 ? st.st_mode : 0755;
    hp_output o;
    hp_status s = hp_output_open(&o, out, mode, fsync, &j->d);
    if (s == HP_OK)
        s = hp_job_write(j, &o);
    if (s == HP_OK)
        s = hp_output_commit(&o, &j->d);
    hp_output_discard(&o);
    return s;
}

static int hp_cmd_patch(const hp_args *a)
{
    const char *in = a->pos[0], *out = a->pos[1], *rules = a->pos[2];
    hp_report_ctx rc = {in, a->dry_run ? NULL : out, a->dry_run, a->quiet, a->verbose};
    hp_job j = {0};
    hp_status s = hp_job_plan(&j, rules, in, &a->opt);
    if (s == HP_OK && j.d.errors)
        s = HP_ERR_INTERNAL; /* an error was reported: write nothing */
    hp_report_slices rs = {j.img, j.slices};
    if (s == HP_OK && (a->dry_run || a->verbose) && !a->json && j.nslices)
        hp_report_plan_slices(&rs, &j.d, stdout);
    else if (s == HP_OK && (a->dry_run || a->verbose) && !a->json)
        hp_report_plan(&j.plan, &j.d, stdout);
    /* The depfile goes first: should writing OUT fail, a build still
     * patches again, since OUT is missing or older than what changed. */
    if (s == HP_OK && a->depfile)
        s = hp_deps_write(a->depfile, out, in, &j.reqs, !a->no_fsync, &j.d);
    if (s == HP_OK && !a->dry_run) {
        s = hp_cmd_write(&j, in, out, !a->no_fsync);
        hp_timing_mark("write");
    }
    int code = hp_job_exit_code(&j.d, s, in);
    const hp_plan *p = j.plan.img ? &j.plan : NULL;
    if (a->json && j.nslices)
        hp_report_json_slices(&rc, &rs, &j.d, stdout);
    else if (a->json)
        hp_report_json(&rc, p, &j.d, stdout);
    hp_job_print_diags(&j, a->quiet ? HP_DIAG_ERROR : HP_DIAG_NOTE);
    if (s == HP_OK && j.nslices)
        hp_report_summary_slices(&rc, &rs, &j.d, stderr);
    else if (s == HP_OK && p)
        hp_report_summary(&rc, p, &j.d, stderr);
    hp_job_free(&j);
    hp_timing_mark("free");
    hp_timing_print(stderr);
    return code;
}

static int hp_cmd_list(int argc, char **argv)
{
    bool json = false;
    const char *pos[2] = {0};
    int npos = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (npos < 2)
            pos[npos++] = argv[i];
        else
            return hp_usage_error("unexpected argument '%s'", argv[i]);
    }
    if (!npos)
        return hp_usage_error("%s", "list needs an input file");
    hp_diags d = {0};
    hp_image *img = NULL;
    hp_status s = hp_job_open_image(pos[0], &d, &img);
    if (s == HP_OK)
        s = img->nslices ? hp_list_slices(img, pos[1], json, stdout)
                         : hp_list(img, pos[1], json, stdout);
    int code = hp_job_exit_code(&d, s, pos[0]);
    for (size_t i = 0; i < d.n; i++)
        hp_diag_print_one(&d.v[i], stderr);
    hp_job_close_image(img);
    hp_diags_free(&d);
    return code;
}

static int hp_cmd_print_deps(const char *rules)
{
    hp_diags d = {0};
    hp_status s = hp_deps_print(rules, stdout, &d);
    if (s == HP_OK && fflush(stdout) != 0) {
        hp_diag_add(&d, HP_DIAG_ERROR, NULL, NULL, "cannot write the list: %s", strerror(errno));
        s = HP_ERR_IO;
    }
    int code = hp_job_exit_code(&d, s, rules);
    for (size_t i = 0; i < d.n; i++)
        hp_diag_print_one(&d.v[i], stderr);
    hp_diags_free(&d);
    return code;
}

int main(int argc, char **argv)
{
    hp_sig_init();
    if (argc >= 2 && !strcmp(argv[1], "list"))
        return hp_cmd_list(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "exec"))
        return hp_cmd_exec(argc, argv);
    hp_args a = {0};
    int r = hp_parse_args(argc, argv, &a);
    if (r >= 0)
        return r;
    if (a.print_deps && a.npos != 1)
        return hp_usage_error("%s", "--print-deps takes one argument: RULES");
    if (a.print_deps)
        return hp_cmd_print_deps(a.pos[0]);
    if (a.npos != 3)
        return hp_usage_error("%s", "expected IN OUT RULES");
    return hp_cmd_patch(&a);
}
