/* `hookpatch exec [options] [RULES] -- BINARY [ARGS...]`, made for
 * `go test -exec`: patch BINARY into a temporary file next to it (so a test
 * binary that re-executes itself through os.Args[0] runs patched code too),
 * run it, forward signals, remove the file, and exit as the child did.
 * Without RULES the rules are ./hookpatch.toml (go test runs each package's
 * test binary in the package's directory: one `go test -exec "hookpatch exec
 * --" ./...` serves a whole module); with none there, BINARY runs unpatched,
 * as if hookpatch were not there: no temporary file and nothing printed.
 * BINARY is found as a shell would find it: a name without a slash is
 * looked up in PATH; not found is exit 127, found but not executable 126.
 *
 * A runner (`--runner CMD`, else $HOOKPATCH_RUNNER) prefixes the command:
 * CMD's words, then the patched file and ARGS. It is how an AArch64 test
 * binary runs on an x86-64 machine without binfmt_misc (CMD = "qemu-aarch64
 * -L SYSROOT"). CMD is split on blanks, with no quoting, because go test
 * -exec has already spent the one level of quoting a user can type; its
 * first word is found like BINARY, before anything is patched. */
#include "exec.h"
#include "job.h"
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The shell's exit codes for a command it cannot run. */
enum { HP_EXEC_NOT_RUNNABLE = 126, HP_EXEC_NOT_FOUND = 127 };

/* Exit the way the child did: same code, or die of the same signal. */
static int hp_exit_like(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    int sig = WTERMSIG(status);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    return 128 + sig;
}

static int hp_run(const char *path, char **argv)
{
    hp_sig_hold_forwarded(true);
    pid_t pid = fork();
    if (pid == 0) {
        hp_sig_restore_inherited();
        execv(path, argv);
        int err = errno;
        fprintf(stderr, "hookpatch: error: cannot run %s: %s\n", argv[0], strerror(err));
        _exit(err == ENOENT ? HP_EXEC_NOT_FOUND : HP_EXEC_NOT_RUNNABLE);
    }
    if (pid > 0)
        hp_sig_forward_to(pid);
    hp_sig_hold_forwarded(false);
    if (pid < 0) {
        fprintf(stderr, "hookpatch: error: fork: %s\n", strerror(errno));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    hp_sig_forward_to(0);
    return status;
}

/* 0 when path is a file we could execute, else the shell's exit code after
 * saying why. */
static int hp_exec_check(const char *path, const char *role)
{
    struct stat st;
    int err = 0;
    if (stat(path, &st) != 0)
        err = errno;
    else if (S_ISDIR(st.st_mode))
        err = EISDIR;
    else if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0)
        err = EACCES;
    if (!err)
        return 0;
    fprintf(stderr, "hookpatch: error: %s: cannot run it: %s%s\n", path, strerror(err), role);
    return err == ENOENT || err == ENOTDIR ? HP_EXEC_NOT_FOUND : HP_EXEC_NOT_RUNNABLE;
}

/* The file execvp would run for `name`: name itself when it has a slash;
 * else the first PATH entry (empty: the current directory) holding an
 * executable regular file of that name. Returns 0 with *path (owned), or
 * the shell's exit code after saying why; role ("", or " (the runner,
 * from --runner)") is appended to that message. */
static int hp_exec_find(const char *name, const char *role, char **path)
{
    if (strchr(name, '/')) {
        *path = hp_strdup(name);
        return *path ? hp_exec_check(name, role) : 1;
    }
    const char *dirs = getenv("PATH");
    if (!dirs)
        dirs = "/bin:/usr/bin"; /* execvp's default */
    bool seen = false;
    for (const char *p = dirs; *name; p++) {
        size_t len = strcspn(p, ":");
        char *cand = len ? hp_asprintf("%.*s/%s", (int)len, p, name) : hp_strdup(name);
        struct stat st;
        if (cand && stat(cand, &st) == 0) {
            if (S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
                *path = len ? cand : hp_asprintf("./%s", name);
                if (!len)
                    hp_free(cand);
                return *path ? 0 : 1;
            }
            seen = true;
        }
        hp_free(cand);
        p += len;
        if (!*p)
            break;
    }
    if (seen) {
        fprintf(stderr, "hookpatch: error: %s: cannot run it: %s%s\n", name, strerror(EACCES),
                role);
        return HP_EXEC_NOT_RUNNABLE;
    }
    fprintf(stderr, "hookpatch: error: %s: not found in PATH%s\n", name, role);
    return HP_EXEC_NOT_FOUND;
}

static int hp_exec_usage(void)
{
    fputs("hookpatch: error: usage: hookpatch exec [--runner CMD] [-v] [--strict] [RULES] -- "
          "BINARY [ARGS...]\n", stderr);
    return 2;
}

/* The runner's words: cmd split on blanks, in place (cmd is owned). */
typedef struct hp_runner {
    char *cmd;
    char **words;
    size_t n;
    const char *from; /* "--runner" or "HOOKPATCH_RUNNER" */
    char *path;       /* words[0] as found in PATH */
} hp_runner;

static hp_status hp_runner_split(hp_runner *r, const char *cmd)
{
    r->cmd = hp_strdup(cmd);
    r->words = hp_calloc(strlen(cmd) / 2 + 2, sizeof *r->words);
    if (!r->cmd || !r->words)
        return HP_ERR_NOMEM;
    for (char *p = r->cmd; *p;) {
        p += strspn(p, " \t\n");
        if (!*p)
            break;
        r->words[r->n++] = p;
        p += strcspn(p, " \t\n");
        if (*p)
            *p++ = 0;
    }
    return HP_OK;
}

static void hp_runner_free(hp_runner *r)
{
    hp_free(r->cmd);
    hp_free(r->words);
    hp_free(r->path);
}

/* argv for the child: the runner's words, the patched file, the args. */
static char **hp_runner_argv(const hp_runner *r, char *file, char **args)
{
    size_t nargs = 0;
    while (args[nargs])
        nargs++;
    char **v = hp_calloc(r->n + nargs + 2, sizeof *v);
    if (!v)
        return NULL;
    memcpy(v, r->words, r->n * sizeof *v);
    v[r->n] = file;
    memcpy(v + r->n + 1, args, nargs * sizeof *v);
    return v;
}

/* The rules `exec` reads when the command line names none: looked up in
 * the current directory, the package's under go test. */
#define HP_EXEC_DEFAULT_RULES "hookpatch.toml"

/* Parsed command line: RULES, options, the child's argv after "--". */
typedef struct hp_exec_args {
    const char *rules; /* NULL: none given, and no HP_EXEC_DEFAULT_RULES */
    const char *runner; /* NULL: none given */
    bool verbose;
    hp_options opt;
    char **child_argv;
} hp_exec_args;

/* Options before or after RULES (--runner CMD, --runner=CMD, -v,
 * --strict); the first other word is RULES, which may be left out.
 * Returns false on a usage error. */
static bool hp_exec_parse(int argc, char **argv, hp_exec_args *a)
{
    int i = 2;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "-v"))
            a->verbose = true;
        else if (!strcmp(argv[i], "--strict") || !strcmp(argv[i], "--strict-inlining"))
            a->opt.strict = true;
        else if (!strcmp(argv[i], "--runner") && i + 1 < argc)
            a->runner = argv[++i];
        else if (!strncmp(argv[i], "--runner=", 9))
            a->runner = argv[i] + 9;
        else if (!a->rules)
            a->rules = argv[i]; /* the first other word, as before options existed */
        else
            return false;
    }
    if (i + 1 >= argc)
        return false;
    a->child_argv = &argv[i + 1];
    return true;
}

/* No RULES given: HP_EXEC_DEFAULT_RULES when the current directory has
 * one. Anything under that name that is there (a dangling link, a
 * directory, a file we may not read) counts, so the rules loader says what
 * is wrong with it rather than the tests quietly running unpatched. */
static void hp_exec_default_rules(hp_exec_args *a)
{
    struct stat st;
    if (a->rules || (lstat(HP_EXEC_DEFAULT_RULES, &st) != 0 &&
                     (errno == ENOENT || errno == ENOTDIR)))
        return;
    a->rules = HP_EXEC_DEFAULT_RULES;
}

/* The runner from the command line, else from the environment; blank is
 * none. Finds its program. 0, or the shell's exit code after saying why. */
static int hp_exec_runner(const hp_exec_args *a, hp_runner *r)
{
    const char *cmd = a->runner;
    r->from = "--runner";
    if (!cmd) {
        cmd = getenv("HOOKPATCH_RUNNER");
        r->from = "HOOKPATCH_RUNNER";
    }
    if (!cmd)
        return 0;
    if (hp_runner_split(r, cmd) != HP_OK) {
        fputs("hookpatch: error: out of memory\n", stderr);
        return 1;
    }
    if (!r->n)
        return 0;
    char role[64];
    snprintf(role, sizeof role, " (the runner, from %s)", r->from);
    return hp_exec_find(r->words[0], role, &r->path);
}

/* Patch bin into a finished temporary beside it (o). The temporary lives
 * only as long as the run: durability is moot, so no fsync. */
static hp_status hp_exec_patch(hp_job *j, const char *rules, const char *bin,
                               const hp_options *opt, hp_output *o)
{
    HP_CHECK(hp_job_plan(j, rules, bin, opt));
    if (j->d.errors)
        return HP_ERR_INTERNAL; /* an error was reported: do not run the binary */
    struct stat st;
    unsigned mode = stat(bin, &st) == 0 ? (st.st_mode | 0700) : 0700;
    HP_CHECK(hp_output_open_beside(o, bin, mode, false, &j->d));
    HP_CHECK(hp_job_write(j, o));
    return hp_output_finish(o, &j->d);
}

/* Run path with argv (argv[0] as the child sees it), or, with a runner,
 * the runner's words, then argv. */
static int hp_exec_run(const hp_runner *r, const char *path, char **argv)
{
    if (!r->n)
        return hp_run(path, argv);
    char **v = hp_runner_argv(r, argv[0], argv + 1);
    int status = -1;
    if (v)
        status = hp_run(r->path, v);
    else
        fputs("hookpatch: error: out of memory\n", stderr);
    hp_free(v);
    return status;
}

/* No rules: run bin (found in PATH as child_argv[0]) as it is, through the
 * runner if there is one, with the argv the caller gave. */
static int hp_exec_unpatched(const hp_exec_args *a, const hp_runner *r, const char *bin)
{
    if (a->verbose)
        fprintf(stderr, "hookpatch: no %s in the current directory: %s runs unpatched\n",
                HP_EXEC_DEFAULT_RULES, a->child_argv[0]);
    return hp_exec_run(r, bin, a->child_argv);
}

/* Patch bin as a->rules say into o (a finished temporary), printing the
 * diagnostics: warnings always, notes and the summary with -v. */
static hp_status hp_exec_prepare(const hp_exec_args *a, const char *bin, hp_output *o)
{
    hp_job j = {0};
    hp_status s = hp_exec_patch(&j, a->rules, bin, &a->opt, o);
    hp_job_exit_code(&j.d, s, bin);
    hp_job_print_diags(&j, a->verbose ? HP_DIAG_NOTE : HP_DIAG_WARNING);
    size_t planned, skipped;
    hp_job_counts(&j, &planned, &skipped);
    if (s == HP_OK && a->verbose)
        fprintf(stderr, "hookpatch: hooked %zu functions, skipped %zu\n", planned, skipped);
    hp_job_free(&j);
    return s;
}

/* Run the patched temporary o->tmp in place of child_argv[0]. */
static int hp_exec_patched(const hp_exec_args *a, const hp_runner *r, hp_output *o)
{
    a->child_argv[0] = o->tmp;
    return hp_exec_run(r, o->tmp, a->child_argv);
}

int hp_cmd_exec(int argc, char **argv)
{
    hp_exec_args a = {.verbose = getenv("HOOKPATCH_VERBOSE") != NULL};
    if (!hp_exec_parse(argc, argv, &a))
        return hp_exec_usage();
    hp_exec_default_rules(&a);
    a.opt.verbose = a.verbose;
    char *bin = NULL;
    hp_runner r = {0};
    int rc = hp_exec_find(a.child_argv[0], "", &bin);
    if (!rc)
        rc = hp_exec_runner(&a, &r);
    if (rc) {
        hp_free(bin);
        hp_runner_free(&r);
        return rc;
    }
    int status = -1;
    if (!a.rules) {
        status = hp_exec_unpatched(&a, &r, bin);
    } else {
        hp_output o = {.fd = -1};
        if (hp_exec_prepare(&a, bin, &o) == HP_OK)
            status = hp_exec_patched(&a, &r, &o);
        hp_output_discard(&o);
    }
    hp_free(bin);
    hp_runner_free(&r);
    return status < 0 ? 1 : hp_exit_like(status);
}
