/* Atomic output: write to a temporary file next to OUT, fsync, rename.
 * The input is only ever mapped read-only, so IN == OUT works: the old
 * inode stays mapped until we are done. A signal handler removes the
 * temporary if the user interrupts us. */
#include "rewriter.h"

#include "../sections/format.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char hp_tmp_path[4096];
static bool hp_no_fsync;

void hp_output_set_fsync(bool on) { hp_no_fsync = !on; }
static volatile sig_atomic_t hp_tmp_live;

static void hp_on_signal(int sig)
{
    if (hp_tmp_live)
        unlink(hp_tmp_path);
    signal(sig, SIG_DFL);
    raise(sig);
}

void hp_output_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = hp_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void hp_block_signals(sigset_t *old)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, old);
}

static hp_status hp_output_fail(hp_diags *d, const char *path, const char *what)
{
    hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){path, 0, 0}, NULL, "%s: %s", what, strerror(errno));
    return HP_ERR_IO;
}

static void hp_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Create the temporary next to `near` and write the image into it. On
 * success the temporary is left in hp_tmp_path, registered for removal on a
 * signal; on failure it is already removed. */
static hp_status hp_output_temp(const hp_image *img, const hp_edit *ed, const char *near,
                                unsigned mode, hp_diags *d)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", near);
    const char *dname = dirname(dir);
    const char *base = strrchr(near, '/') ? strrchr(near, '/') + 1 : near;
    if ((size_t)snprintf(hp_tmp_path, sizeof hp_tmp_path, "%s/.%s.hookpatch-XXXXXX", dname,
                         base) >= sizeof hp_tmp_path) {
        hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){near, 0, 0}, NULL, "path too long");
        return HP_ERR_IO;
    }
    sigset_t old;
    hp_block_signals(&old);
    int fd = mkstemp(hp_tmp_path);
    if (fd >= 0)
        hp_tmp_live = 1;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (fd < 0)
        return hp_output_fail(d, near, "cannot create a temporary file next to it");
    hp_status s = img->fmt->emit(img, ed, fd);
    if (s != HP_OK)
        hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){near, 0, 0}, NULL, "writing failed: %s",
                    hp_status_str(s));
    else if (fchmod(fd, mode & 07777) != 0 || (!hp_no_fsync && fsync(fd) != 0))
        s = hp_output_fail(d, near, "cannot finish the temporary file");
    if (close(fd) != 0 && s == HP_OK)
        s = hp_output_fail(d, near, "cannot close the temporary file");
    if (s != HP_OK)
        hp_output_discard();
    return s;
}

void hp_output_discard(void)
{
    sigset_t old;
    hp_block_signals(&old);
    if (hp_tmp_live)
        unlink(hp_tmp_path);
    hp_tmp_live = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
}

hp_status hp_output_write(const hp_image *img, const hp_edit *ed, const char *out_path,
                          unsigned mode, hp_diags *d)
{
    HP_CHECK(hp_output_temp(img, ed, out_path, mode, d));
    if (rename(hp_tmp_path, out_path) != 0) {
        hp_status s = hp_output_fail(d, out_path, "cannot rename the temporary file over it");
        hp_output_discard();
        return s;
    }
    sigset_t old;
    hp_block_signals(&old);
    hp_tmp_live = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", out_path);
    if (!hp_no_fsync)
        hp_fsync_dir(dirname(dir));
    return HP_OK;
}

hp_status hp_output_write_temp(const hp_image *img, const hp_edit *ed, const char *near,
                               unsigned mode, char *path, size_t path_len, hp_diags *d)
{
    HP_CHECK(hp_output_temp(img, ed, near, mode, d));
    snprintf(path, path_len, "%s", hp_tmp_path);
    return HP_OK;
}
