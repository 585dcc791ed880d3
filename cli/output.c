/* The output handle (see output.h). Only regular files are ever replaced,
 * and always by rename: IN == OUT works because the input stays mapped
 * from its old inode until we are done, and a reader of OUT sees either
 * the old file or the whole new one. */
#include "output.h"
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Links followed before giving up, as the kernel does (ELOOP). */
#define HP_OUTPUT_MAX_LINKS 40

static hp_status hp_output_err(hp_diags *d, const char *path, const char *fmt, const char *arg)
{
    hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){path, 0, 0}, NULL, fmt, arg);
    return HP_ERR_IO;
}

/* The directory part of path ("." for a bare name), newly allocated. */
static char *hp_output_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return hp_strdup(".");
    return hp_strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* Where the symbolic link at `link` points, relative targets taken from
 * the link's directory. NULL with errno on failure. */
static char *hp_output_follow(const char *link, size_t size_hint)
{
    size_t cap = size_hint ? size_hint + 1 : 256;
    char *t = hp_malloc(cap);
    ssize_t n = t ? readlink(link, t, cap) : -1;
    if (n < 0 || (size_t)n >= cap) {
        hp_free(t);
        if (n >= 0)
            errno = ENAMETOOLONG; /* the link changed under us */
        return NULL;
    }
    t[n] = 0;
    const char *slash = strrchr(link, '/');
    if (t[0] == '/' || !slash)
        return t;
    char *r = hp_asprintf("%.*s/%s", (int)(slash - link), link, t);
    hp_free(t);
    return r;
}

/* The file that writing to `out` must replace: out itself, or the end of
 * its chain of symbolic links. That file must be regular or absent. */
static hp_status hp_output_resolve(const char *out, char **dest, hp_diags *d)
{
    char *cur = hp_strdup(out);
    for (int hops = 0; cur; hops++) {
        struct stat st;
        bool absent = lstat(cur, &st) != 0;
        if (absent && errno != ENOENT)
            break;
        if (absent || S_ISREG(st.st_mode)) {
            *dest = cur; /* a dangling link: its target is created */
            return HP_OK;
        }
        if (!S_ISLNK(st.st_mode)) {
            hp_status s = strcmp(cur, out) == 0
                ? hp_output_err(d, out, "is %s, not a regular file: refusing to replace it",
                                hp_file_kind(st.st_mode))
                : hp_output_err(d, out, "is a symbolic link to %s, which is not a regular "
                                "file: refusing to replace it", cur);
            hp_free(cur);
            return s;
        }
        if (hops == HP_OUTPUT_MAX_LINKS) {
            errno = ELOOP;
            break;
        }
        char *next = hp_output_follow(cur, (size_t)st.st_size);
        hp_free(cur);
        cur = next;
    }
    int err = errno;
    hp_free(cur);
    return hp_output_err(d, out, "cannot look at it: %s", strerror(err));
}

static hp_status hp_output_temp(hp_output *o, hp_diags *d)
{
    char *dir = hp_output_dir(o->dest);
    const char *slash = strrchr(o->dest, '/');
    o->tmp = dir ? hp_asprintf("%s/.%s.hookpatch-XXXXXX", dir, slash ? slash + 1 : o->dest)
                 : NULL;
    hp_free(dir);
    if (!o->tmp)
        return HP_ERR_NOMEM;
    o->fd = hp_sig_mkstemp(o->tmp);
    if (o->fd >= 0)
        return HP_OK;
    int err = errno;
    hp_free(o->tmp);
    o->tmp = NULL;
    if (strcmp(o->dest, o->name) == 0)
        return hp_output_err(d, o->name, "cannot create a temporary file next to it: %s",
                             strerror(err));
    hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){o->name, 0, 0}, NULL,
                "cannot create a temporary file next to %s: %s", o->dest, strerror(err));
    return HP_ERR_IO;
}

static void hp_output_init(hp_output *o, const char *name, unsigned mode, bool fsync)
{
    *o = (hp_output){.name = name, .fd = -1, .mode = mode & 0777, .fsync = fsync};
}

hp_status hp_output_open(hp_output *o, const char *out, unsigned mode, bool fsync,
                         hp_diags *d)
{
    hp_output_init(o, out, mode, fsync);
    HP_CHECK(hp_output_resolve(out, &o->dest, d));
    return hp_output_temp(o, d);
}

hp_status hp_output_open_beside(hp_output *o, const char *path, unsigned mode, bool fsync,
                                hp_diags *d)
{
    hp_output_init(o, path, mode, fsync);
    o->dest = hp_strdup(path);
    return o->dest ? hp_output_temp(o, d) : HP_ERR_NOMEM;
}

hp_status hp_output_finish(hp_output *o, hp_diags *d)
{
    if (o->fd < 0)
        return o->tmp ? HP_OK : HP_ERR_INTERNAL;
    hp_status s = HP_OK;
    if (fchmod(o->fd, o->mode) != 0 || (o->fsync && fsync(o->fd) != 0))
        s = hp_output_err(d, o->name, "cannot finish the temporary file: %s", strerror(errno));
    if (close(o->fd) != 0 && s == HP_OK)
        s = hp_output_err(d, o->name, "cannot close the temporary file: %s", strerror(errno));
    o->fd = -1;
    return s;
}

static void hp_output_fsync_dir(const char *path)
{
    char *dir = hp_output_dir(path);
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    hp_free(dir);
}

hp_status hp_output_commit(hp_output *o, hp_diags *d)
{
    HP_CHECK(hp_output_finish(o, d));
    /* What was checked at open may have been swapped for a device since. */
    struct stat st;
    if (lstat(o->dest, &st) == 0 && !S_ISREG(st.st_mode))
        return hp_output_err(d, o->name, "has become %s: refusing to replace it",
                             hp_file_kind(st.st_mode));
    if (hp_sig_rename_temp(o->dest) != 0)
        return hp_output_err(d, o->name, "cannot rename the temporary file over it: %s",
                             strerror(errno));
    hp_free(o->tmp);
    o->tmp = NULL;
    if (o->fsync)
        hp_output_fsync_dir(o->dest);
    return HP_OK;
}

void hp_output_discard(hp_output *o)
{
    if (o->fd >= 0)
        close(o->fd);
    if (o->tmp)
        hp_sig_remove_temp();
    hp_free(o->tmp);
    hp_free(o->dest);
    *o = (hp_output){.fd = -1};
}
