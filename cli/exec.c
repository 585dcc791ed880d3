/* `hookpatch exec RULES [options] -- BINARY [ARGS...]`, made for
 * `go test -exec`: patch BINARY into a temporary file next to it (so a test
 * binary that re-executes itself through os.Args[0] runs patched code too),
 * run it, forward signals, remove the file, and exit as the child did.
 * BINARY is found as a shell would find it: a name without a slash is
 * looked up in PATH; not found is exit 127, found but not executable 126. */
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
static int hp_exec_check(const char *path)
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
    fprintf(stderr, "hookpatch: error: %s: cannot run it: %s\n", path, strerror(err));
    return err == ENOENT || err == ENOTDIR ? HP_EXEC_NOT_FOUND : HP_EXEC_NOT_RUNNABLE;
}

/* The file execvp would run for `name`: name itself when it has a slash;
 * else the first PATH entry (empty: the current directory) holding an
 * executable regular file of that name. Returns 0 with *path (owned), or
 * the shell's exit code after saying why. */
static int hp_exec_find(const char *name, char **path)
{
    if (strchr(name, '/')) {
        *path = hp_strdup(name);
        return *path ? hp_exec_check(name) : 1;
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
        fprintf(stderr, "hookpatch: error: %s: cannot run it: %s\n", name, strerror(EACCES));
        return HP_EXEC_NOT_RUNNABLE;
    }
    fprintf(stderr, "hookpatch: error: %s: not found in PATH\n", name);
    return HP_EXEC_NOT_FOUND;
}

static int hp_exec_usage(void)
{
    fputs("hookpatch: error: usage: hookpatch exec RULES [-v] [--strict] -- BINARY "
          "[ARGS...]\n", stderr);
    return 2;
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

int hp_cmd_exec(int argc, char **argv)
{
    hp_options opt = {0};
    bool verbose = getenv("HOOKPATCH_VERBOSE") != NULL;
    int i = 3;
    if (argc < 3)
        return hp_exec_usage();
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "-v"))
            verbose = true;
        else if (!strcmp(argv[i], "--strict") || !strcmp(argv[i], "--strict-inlining"))
            opt.strict = true;
        else
            return hp_exec_usage();
    }
    if (i + 1 >= argc)
        return hp_exec_usage();
    char **child_argv = &argv[i + 1];
    char *bin = NULL;
    int rc = hp_exec_find(child_argv[0], &bin);
    if (rc) {
        hp_free(bin);
        return rc;
    }
    hp_job j = {0};
    hp_output o = {.fd = -1};
    hp_status s = hp_exec_patch(&j, argv[2], bin, &opt, &o);
    hp_job_exit_code(&j.d, s, bin);
    hp_job_print_diags(&j, verbose ? HP_DIAG_NOTE : HP_DIAG_WARNING);
    if (s == HP_OK && verbose)
        fprintf(stderr, "hookpatch: hooked %zu functions, skipped %zu\n", j.plan.nplanned,
                j.plan.nskipped);
    hp_job_free(&j);
    hp_free(bin);
    int status = -1;
    if (s == HP_OK) {
        child_argv[0] = o.tmp;
        status = hp_run(o.tmp, child_argv);
    }
    hp_output_discard(&o);
    return status < 0 ? 1 : hp_exit_like(status);
}
