/* deps: the files a patch run reads, told to build systems so that they
 * patch again when one changes: `--depfile FILE` writes a Make-style
 * depfile during a patch run, `--print-deps RULES` lists the object files
 * a rules file names. Called by cli/main.c. */
#ifndef HP_DEPS_H
#define HP_DEPS_H

#include "../rewriter/hook.h"

#include <stdio.h>

/* The text of a depfile, "OUT: IN RULES OBJECT...", into *text (NUL-
 * terminated, owned by the caller): each object once, in rules order, and
 * then an empty rule "OBJECT:" for each, as gcc -MD -MP writes. Names are
 * escaped as gcc escapes them (a space or tab gets a backslash, '#' becomes
 * "\#", '$' becomes "$$"). A name with a newline or carriage return cannot
 * be written in a depfile: an error naming it, HP_ERR_USAGE. */
hp_status hp_deps_format(const char *out, const char *in, const hp_hook_reqs *reqs, char **text,
                         hp_diags *d);

/* Write the depfile for a run of IN OUT RULES (reqs: the parsed RULES) at
 * `path`, through a temporary file renamed over it, so a build never reads
 * a partial one. `path` may not be IN, OUT, RULES or an object the rules
 * name (same name, or the same file through another name): an error,
 * nothing written. */
hp_status hp_deps_write(const char *path, const char *out, const char *in,
                        const hp_hook_reqs *reqs, bool fsync, hp_diags *d);

/* Print the object files of `rules`, one absolute path a line, each once,
 * in rules order; they need not exist yet. Rules errors go to d. A name
 * with a newline cannot be printed this way: an error. */
hp_status hp_deps_print(const char *rules, FILE *f, hp_diags *d);

#endif
