/* The files a patch run reads, for build systems (see deps.h). The depfile
 * syntax is the one gcc -MD writes, because that is the dialect Make,
 * Ninja, CMake and Meson all read; it has no escape for a line break, so a
 * name holding one is refused rather than written wrongly. */
#include "deps.h"
#include "output.h"
#include "rules.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool hp_deps_name_ok(const char *name, hp_diags *d)
{
    if (!strpbrk(name, "\n\r"))
        return true;
    hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){name, 0, 0}, NULL,
                "the name holds a line break, which a dependency list cannot hold");
    return false;
}

/* The i-th object path of reqs if no earlier hook named the same one. The
 * number of distinct objects is small, so the quadratic scan is fine. */
static const char *hp_deps_object(const hp_hook_reqs *reqs, size_t i)
{
    const char *p = reqs->v[i].object_path;
    if (!p)
        return NULL;
    for (size_t k = 0; k < i; k++)
        if (reqs->v[k].object_path && strcmp(reqs->v[k].object_path, p) == 0)
            return NULL;
    return p;
}

/* Append name escaped as gcc -MD does; backslashes right before a space
 * are doubled so the space's own backslash is not taken as theirs. */
static hp_status hp_deps_escape(hp_buf *b, const char *name)
{
    for (const char *p = name; *p; p++) {
        if (*p == ' ' || *p == '\t') {
            for (const char *q = p; q > name && q[-1] == '\\'; q--)
                HP_CHECK(hp_buf_append(b, "\\", 1));
            HP_CHECK(hp_buf_append(b, "\\", 1));
        } else if (*p == '#') {
            HP_CHECK(hp_buf_append(b, "\\", 1));
        } else if (*p == '$') {
            HP_CHECK(hp_buf_append(b, "$", 1));
        }
        HP_CHECK(hp_buf_append(b, p, 1));
    }
    return HP_OK;
}

/* " \\\n  name": one prerequisite a line, as gcc writes them. */
static hp_status hp_deps_add(hp_buf *b, const char *name, hp_diags *d)
{
    if (!hp_deps_name_ok(name, d))
        return HP_ERR_USAGE;
    HP_CHECK(hp_buf_append(b, " \\\n  ", 5));
    return hp_deps_escape(b, name);
}

static hp_status hp_deps_format_into(hp_buf *b, const char *out, const char *in,
                                     const hp_hook_reqs *reqs, hp_diags *d)
{
    if (!hp_deps_name_ok(out, d))
        return HP_ERR_USAGE;
    HP_CHECK(hp_deps_escape(b, out));
    HP_CHECK(hp_buf_append(b, ":", 1));
    HP_CHECK(hp_deps_add(b, in, d));
    HP_CHECK(hp_deps_add(b, reqs->path, d));
    for (size_t i = 0; i < reqs->n; i++) {
        const char *obj = hp_deps_object(reqs, i);
        if (obj)
            HP_CHECK(hp_deps_add(b, obj, d));
    }
    /* An empty rule per object, as gcc -MP writes one per header: when an
     * object is dropped from the rules and deleted, make does not stop at
     * "no rule to make" it before patching again. */
    for (size_t i = 0; i < reqs->n; i++) {
        const char *obj = hp_deps_object(reqs, i);
        if (!obj)
            continue;
        HP_CHECK(hp_buf_append(b, "\n\n", 2));
        HP_CHECK(hp_deps_escape(b, obj));
        HP_CHECK(hp_buf_append(b, ":", 1));
    }
    return hp_buf_append(b, "\n", 2); /* the NUL too */
}

hp_status hp_deps_format(const char *out, const char *in, const hp_hook_reqs *reqs, char **text,
                         hp_diags *d)
{
    hp_buf b = {0};
    hp_status s = hp_deps_format_into(&b, out, in, reqs, d);
    if (s == HP_ERR_NOMEM)
        hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){out, 0, 0}, NULL,
                    "out of memory while writing its depfile");
    if (s != HP_OK) {
        hp_buf_free(&b);
        return s;
    }
    *text = (char *)b.data;
    return HP_OK;
}

/* path with its directory resolved (links, "..", "."), for comparing names
 * of files that do not exist yet; NULL when the directory does not exist. */
static char *hp_deps_canon(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? hp_strndup(path, slash == path ? 1 : (size_t)(slash - path))
                      : hp_strdup(".");
    char *real = dir ? realpath(dir, NULL) : NULL; /* malloc'd by libc */
    char *r = real ? hp_asprintf("%s/%s", real, slash ? slash + 1 : path) : NULL;
    free(real);
    hp_free(dir);
    return r;
}

static bool hp_deps_same_file(const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return true;
    struct stat sa, sb;
    bool ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea || eb)
        return false;
    char *ca = hp_deps_canon(a), *cb = hp_deps_canon(b);
    bool same = ca && cb && strcmp(ca, cb) == 0;
    hp_free(ca);
    hp_free(cb);
    return same;
}

/* The depfile must not overwrite a file the run reads or writes. */
static hp_status hp_deps_check_path(const char *path, const char *out, const char *in,
                                    const hp_hook_reqs *reqs, hp_diags *d)
{
    const char *clash = hp_deps_same_file(path, in)           ? "IN"
                        : hp_deps_same_file(path, out)        ? "OUT"
                        : hp_deps_same_file(path, reqs->path) ? "the rules file"
                                                              : NULL;
    for (size_t i = 0; i < reqs->n && !clash; i++) {
        const char *obj = hp_deps_object(reqs, i);
        if (obj && hp_deps_same_file(path, obj))
            clash = "an object file of the rules";
    }
    if (!clash)
        return HP_OK;
    hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){path, 0, 0}, NULL,
                "--depfile names %s: refusing to overwrite it", clash);
    return HP_ERR_USAGE;
}

static hp_status hp_deps_write_fd(hp_output *o, const char *text, hp_diags *d)
{
    size_t len = strlen(text);
    while (len) {
        ssize_t n = write(o->fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){o->name, 0, 0}, NULL,
                        "writing failed: %s", strerror(errno));
            return HP_ERR_IO;
        }
        text += n;
        len -= (size_t)n;
    }
    return HP_OK;
}

hp_status hp_deps_write(const char *path, const char *out, const char *in,
                        const hp_hook_reqs *reqs, bool fsync, hp_diags *d)
{
    HP_CHECK(hp_deps_check_path(path, out, in, reqs, d));
    char *text = NULL;
    HP_CHECK(hp_deps_format(out, in, reqs, &text, d));
    hp_output o;
    hp_status s = hp_output_open(&o, path, 0644, fsync, d);
    if (s == HP_OK)
        s = hp_deps_write_fd(&o, text, d);
    if (s == HP_OK)
        s = hp_output_commit(&o, d);
    hp_output_discard(&o);
    hp_free(text);
    return s;
}

hp_status hp_deps_print(const char *rules, FILE *f, hp_diags *d)
{
    hp_hook_reqs reqs;
    hp_status s = hp_rules_load_deps(rules, &reqs, d);
    /* Every name is checked before the first is printed: a reader of the
     * list gets all of it or an error, never a part. */
    for (size_t i = 0; i < reqs.n && s == HP_OK; i++) {
        const char *obj = hp_deps_object(&reqs, i);
        if (obj && !hp_deps_name_ok(obj, d))
            s = HP_ERR_USAGE;
    }
    for (size_t i = 0; i < reqs.n && s == HP_OK; i++) {
        const char *obj = hp_deps_object(&reqs, i);
        if (obj)
            fprintf(f, "%s\n", obj);
    }
    hp_hook_reqs_free(&reqs);
    return s;
}
