/* output: writing OUT so that it is never partial. The result goes into a
 * temporary file beside the file it replaces; commit makes it whole
 * (permissions, fsync, close) and renames it over that file, discard
 * removes it. The temporary is registered with signals.c, so SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT remove it too. Called by main.c (OUT) and
 * exec.c (the patched copy it runs).
 *
 * OUT may be: absent (created); a regular file (replaced: other hard links
 * keep the old contents); a symbolic link, or a chain of them, ending at a
 * regular file or at nothing (the file at the end of the chain is replaced
 * or created; the links stay links). Anything else (a directory, a device,
 * a FIFO, a socket) is refused and left untouched. */
#ifndef HP_OUTPUT_H
#define HP_OUTPUT_H

#include "../base/hp_diag.h"

typedef struct hp_output {
    const char *name; /* OUT as given, for messages (borrowed) */
    char *dest;       /* the file to replace: OUT or where its links lead (owned) */
    char *tmp;        /* the temporary beside dest (owned); NULL: none */
    int fd;           /* open on tmp until finished, else -1 */
    unsigned mode;    /* permission bits of the result */
    bool fsync;       /* fsync the file and its directory */
} hp_output;

/* Check what OUT is (see above) and create the temporary. mode: the
 * permission bits wanted; setuid, setgid and sticky are dropped, as cp
 * does. fsync false trades durability across a power loss for speed. */
hp_status hp_output_open(hp_output *o, const char *out, unsigned mode, bool fsync,
                         hp_diags *d);
/* Create the temporary beside `path` whatever path is (exec: beside the
 * binary it patches); o->dest is path. */
hp_status hp_output_open_beside(hp_output *o, const char *path, unsigned mode, bool fsync,
                                hp_diags *d);
/* Permissions, fsync, close: the temporary is complete and o->tmp can be
 * run. Idempotent. */
hp_status hp_output_finish(hp_output *o, hp_diags *d);
/* Finish, then rename the temporary over o->dest (refused if dest has
 * become something other than a regular file meanwhile). */
hp_status hp_output_commit(hp_output *o, hp_diags *d);
/* Remove the temporary if it still exists and free o. Always safe after
 * open, whether or not it succeeded, and after commit. */
void hp_output_discard(hp_output *o);

#endif
