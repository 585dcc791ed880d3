/* Signal handling for the hookpatch process (see signals.h). The handlers
 * only touch volatile sig_atomic_t flags, fixed buffers filled before they
 * are armed, and async-signal-safe calls (unlink, write, kill, sigaction,
 * sigprocmask, raise, _exit). */
#include "signals.h"
#include "../base/hp_sys.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Signals whose handlers remove the temporary and die of the signal. */
static const int hp_fatal[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
/* Signals `hookpatch exec` passes on to the child. */
static const int hp_forwarded[] = {SIGINT,   SIGTERM, SIGHUP,  SIGQUIT, SIGUSR1,
                                   SIGUSR2,  SIGWINCH, SIGTSTP, SIGCONT};
#define HP_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* One more than the highest signal number. NSIG is not POSIX, though
 * glibc and macOS both have it; without it, 65 covers Linux's 64 signals
 * (macOS has 32), and sigaction refuses any number the system lacks. */
#ifdef NSIG
#define HP_NSIG NSIG
#else
#define HP_NSIG 65
#endif

/* What the process inherited, for every signal this module may change. */
static struct sigaction hp_inherited[HP_NSIG];
static bool hp_changed[HP_NSIG];
static sigset_t hp_inherited_mask;

static char hp_tmp_path[PATH_MAX];
static volatile sig_atomic_t hp_tmp_live;

static const char *volatile hp_in_base;
static volatile size_t hp_in_size;
static char hp_in_name[PATH_MAX];

static volatile sig_atomic_t hp_child;

static bool hp_sig_ignored(int sig) { return hp_inherited[sig].sa_handler == SIG_IGN; }

/* Install fn (an sa_sigaction) for sig, remembering the inherited action. */
static void hp_sig_set(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    hp_changed[sig] = true;
}

static void hp_sig_put_back(int sig) { sigaction(sig, &hp_inherited[sig], NULL); }

static void hp_sig_unlink_temp(void)
{
    if (hp_tmp_live)
        unlink(hp_tmp_path);
    hp_tmp_live = 0;
}

static void hp_on_fatal(int sig, siginfo_t *si, void *uc)
{
    (void)si, (void)uc;
    hp_sig_unlink_temp();
    /* Die of the same signal: it is blocked in here and is delivered with
     * the inherited (default) action when the handler returns. */
    hp_sig_put_back(sig);
    raise(sig);
}

static void hp_sig_say(const char *s) { (void)!write(STDERR_FILENO, s, strlen(s)); }

static void hp_on_bus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    uintptr_t a = (uintptr_t)si->si_addr, base = (uintptr_t)hp_in_base;
    bool in_input = si->si_code > 0 && hp_in_base && a >= base && a - base < hp_in_size;
    hp_sig_unlink_temp();
    if (in_input) {
        hp_sig_say("hookpatch: error: ");
        hp_sig_say(hp_in_name);
        hp_sig_say(": the file changed size while hookpatch was reading it\n");
        _exit(1);
    }
    /* A real bug: crash as if there were no handler. A fault repeats when
     * the handler returns; a SIGBUS sent by kill is raised again. */
    hp_sig_put_back(sig);
    if (si->si_code <= 0)
        raise(sig);
}

void hp_sig_init(void)
{
    sigprocmask(SIG_SETMASK, NULL, &hp_inherited_mask);
    for (int sig = 1; sig < HP_NSIG; sig++)
        sigaction(sig, NULL, &hp_inherited[sig]);
    signal(SIGXFSZ, SIG_IGN);
    hp_changed[SIGXFSZ] = true;
    for (size_t i = 0; i < HP_NELEM(hp_fatal); i++)
        if (!hp_sig_ignored(hp_fatal[i]))
            hp_sig_set(hp_fatal[i], hp_on_fatal, 0);
    /* Even when inherited as ignored: the kernel does not honour SIG_IGN
     * for a fault, it kills the process. */
    hp_sig_set(SIGBUS, hp_on_bus, SA_NODEFER | SA_RESETHAND);
}

/* Hold (or release) the signals whose handlers read the registry. */
static void hp_sig_hold_fatal(bool hold, sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < HP_NELEM(hp_fatal); i++)
        sigaddset(&set, hp_fatal[i]);
    if (hold)
        sigprocmask(SIG_BLOCK, &set, old);
    else
        sigprocmask(SIG_SETMASK, old, NULL);
}

int hp_sig_mkstemp(char *tmpl)
{
    if (strlen(tmpl) >= sizeof hp_tmp_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    sigset_t old;
    hp_sig_hold_fatal(true, &old);
    hp_tmp_live = 0;
    int fd = hp_sys_mkstemp_cloexec(tmpl);
    if (fd >= 0) {
        memcpy(hp_tmp_path, tmpl, strlen(tmpl) + 1);
        hp_tmp_live = 1;
    }
    int err = errno;
    hp_sig_hold_fatal(false, &old);
    errno = err;
    return fd;
}

int hp_sig_rename_temp(const char *to)
{
    sigset_t old;
    hp_sig_hold_fatal(true, &old);
    int r = hp_tmp_live ? rename(hp_tmp_path, to) : (errno = ENOENT, -1);
    int err = errno;
    if (r == 0)
        hp_tmp_live = 0;
    hp_sig_hold_fatal(false, &old);
    errno = err;
    return r;
}

void hp_sig_remove_temp(void)
{
    sigset_t old;
    hp_sig_hold_fatal(true, &old);
    hp_sig_unlink_temp();
    hp_sig_hold_fatal(false, &old);
}

void hp_sig_watch_input(const void *base, size_t size, const char *name)
{
    hp_in_base = NULL;
    if (!base || !size)
        return;
    snprintf(hp_in_name, sizeof hp_in_name, "%s", name);
    hp_in_size = size;
    hp_in_base = base;
}

/* ---- hookpatch exec */

/* A signal the terminal sent to the whole foreground process group. */
static bool hp_sig_from_terminal(int sig, const siginfo_t *si)
{
    return si->si_code == SI_KERNEL &&
           (sig == SIGINT || sig == SIGQUIT || sig == SIGTSTP || sig == SIGWINCH);
}

/* Stop the way SIGTSTP's default action would, then carry on. */
static void hp_sig_stop_self(void)
{
    struct sigaction cur;
    sigaction(SIGTSTP, NULL, &cur);
    signal(SIGTSTP, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTSTP);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(SIGTSTP); /* stopped here until SIGCONT */
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigaction(SIGTSTP, &cur, NULL);
}

static void hp_on_forward(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    int err = errno;
    if (hp_child > 0 && !hp_sig_from_terminal(sig, si))
        kill((pid_t)hp_child, sig);
    if (sig == SIGTSTP)
        hp_sig_stop_self();
    errno = err;
}

void hp_sig_forward_to(pid_t child)
{
    hp_child = child;
    for (size_t i = 0; i < HP_NELEM(hp_forwarded); i++)
        if (!hp_sig_ignored(hp_forwarded[i]))
            hp_sig_set(hp_forwarded[i], hp_on_forward, SA_RESTART);
}

void hp_sig_hold_forwarded(bool hold)
{
    static sigset_t old;
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < HP_NELEM(hp_forwarded); i++)
        sigaddset(&set, hp_forwarded[i]);
    if (hold)
        sigprocmask(SIG_BLOCK, &set, &old);
    else
        sigprocmask(SIG_SETMASK, &old, NULL);
}

void hp_sig_restore_inherited(void)
{
    for (int sig = 1; sig < HP_NSIG; sig++)
        if (hp_changed[sig])
            hp_sig_put_back(sig);
    sigprocmask(SIG_SETMASK, &hp_inherited_mask, NULL);
}
