/* signals: every signal disposition of the hookpatch process. cli/ owns the
 * process, so this is the only place that installs handlers; the library
 * below keeps no process-wide state. Called by main.c, output.c, job.c and
 * exec.c.
 *
 * hp_sig_init, once at start:
 *   - SIGXFSZ is ignored: a write past `ulimit -f` then fails with EFBIG
 *     and is reported ("File too large") instead of killing the process
 *     with the temporary file left behind;
 *   - SIGINT, SIGTERM, SIGHUP and SIGQUIT remove the registered temporary
 *     file, then kill the process the default way. A signal inherited as
 *     ignored (nohup; SIGINT in a background job of a script) stays ignored;
 *   - SIGBUS at an address inside the registered input mapping (IN was
 *     truncated by another process while we read it) prints an error,
 *     removes the temporary and exits 1. Any other SIGBUS is a crash and
 *     stays one. SIGKILL cannot be caught: it leaves the temporary. */
#ifndef HP_SIGNALS_H
#define HP_SIGNALS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

void hp_sig_init(void);

/* ---- the temporary file (one at a time) */
/* mkstemp(tmpl), with the fatal signals held until the new file is
 * registered for removal. Returns the descriptor, or -1 with errno. */
int hp_sig_mkstemp(char *tmpl);
/* rename(registered temporary, to), then forget it; 0, or -1 with errno
 * (the temporary stays registered). */
int hp_sig_rename_temp(const char *to);
/* Remove the registered temporary, if any, and forget it. */
void hp_sig_remove_temp(void);

/* ---- the input mapping, for SIGBUS */
/* [base, base+size) is IN, called `name` in the message; NULL: none.
 * name must stay valid until the next call. */
void hp_sig_watch_input(const void *base, size_t size, const char *name);

/* ---- hookpatch exec */
/* From now on, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
 * SIGWINCH, SIGTSTP and SIGCONT sent to hookpatch are sent on to `child`;
 * a signal the terminal sent (si_code SI_KERNEL: ^C, ^\, ^Z, a resize) is
 * not, as the terminal sent it to the child's process group already.
 * SIGTSTP also stops hookpatch. Inherited SIG_IGN dispositions stay.
 * child 0: forward nothing. */
void hp_sig_forward_to(pid_t child);
/* Hold the forwarded signals (true) from before fork until the child's pid
 * is set, then release them (false: the mask is as before the hold). */
void hp_sig_hold_forwarded(bool hold);
/* In the forked child, before execve: every disposition this module set
 * goes back to what hookpatch inherited, and the signal mask too. */
void hp_sig_restore_inherited(void);

#endif
