/* `hookpatch exec RULES [options] -- BINARY [ARGS...]`, made for
 * `go test -exec`: patch BINARY into a temporary file next to it (so a test
 * binary that re-executes itself through os.Args[0] runs patched code too),
 * run it, forward signals, remove the file, and exit as the child did. */
#include "exec.h"
#include "job.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t hp_child_pid;

static const int hp_forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

static void hp_forward(int sig)
{
    if (hp_child_pid > 0)
        kill((pid_t)hp_child_pid, sig);
}

static void hp_set_handlers(void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < sizeof hp_forwarded / sizeof hp_forwarded[0]; i++)
        sigaction(hp_forwarded[i], &sa, NULL);
}

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
    hp_set_handlers(hp_forward);
    pid_t pid = fork();
    if (pid == 0) {
        hp_set_handlers(SIG_DFL);
        execv(path, argv);
        fprintf(stderr, "hookpatch: error: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (pid < 0) {
        fprintf(stderr, "hookpatch: error: fork: %s\n", strerror(errno));
        return -1;
    }
    hp_child_pid = pid;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    hp_child_pid = 0;
    return status;
}

static int hp_exec_usage(void)
{
    fputs("hookpatch: error: usage: hookpatch exec RULES [-v] [--strict] -- BINARY "
          "[ARGS...]\n", stderr);
    return 2;
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
    const char *bin = child_argv[0];
    hp_job j = {0};
    char tmp[4096];
    struct stat st;
    /* The temporary lives only as long as the run: durability is moot. */
    hp_output_set_fsync(false);
    hp_output_install_signals();
    hp_status s = hp_job_plan(&j, argv[2], bin, &opt);
    if (s == HP_OK)
        s = hp_output_write_temp(j.img, &j.plan.ed, bin,
                                 stat(bin, &st) == 0 ? (st.st_mode | 0700) : 0700, tmp,
                                 sizeof tmp, &j.d);
    hp_job_print_diags(&j, verbose ? HP_DIAG_NOTE : HP_DIAG_WARNING);
    if (s == HP_OK && verbose)
        fprintf(stderr, "hookpatch: hooked %zu functions, skipped %zu\n", j.plan.nplanned,
                j.plan.nskipped);
    hp_job_free(&j);
    if (s != HP_OK)
        return 1;
    child_argv[0] = tmp;
    int status = hp_run(tmp, child_argv);
    hp_output_discard();
    return status < 0 ? 1 : hp_exit_like(status);
}
