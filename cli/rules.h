/* rules: read a rules file (TOML) into hook requests. Parsing is done by
 * toml++ behind cli/toml_adapter.{h,cpp}; this file checks the schema and
 * reports every problem, each with path:line:col, in one run. Called by
 * cli/main.c. Name resolution (unknown symbols) is the rewriter's job. */
#ifndef HP_RULES_H
#define HP_RULES_H

#include "../rewriter/hook.h"

/* Parse `text` (len bytes; need not be NUL-terminated) as the rules file
 * `path`. On success out holds at least one hook. Every problem is added to d
 * as an error with its location; the return is HP_ERR_RULES if any was found
 * (out is then freed and empty). */
hp_status hp_rules_parse(const char *path, const char *text, size_t len, hp_hook_reqs *out,
                         hp_diags *d);
/* Read the file and parse it; an unreadable file is an error naming path. */
hp_status hp_rules_load(const char *path, hp_hook_reqs *out, hp_diags *d);
/* As hp_rules_load, for listing the files the rules read (cli/deps.h): an
 * object file need not exist yet, since a build may make it later. */
hp_status hp_rules_load_deps(const char *path, hp_hook_reqs *out, hp_diags *d);

#endif
