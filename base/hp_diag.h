/* hp_diag: user-facing diagnostics, collected so one run reports every
 * problem. Any module may add to a list; only cli/ prints it. A diagnostic
 * carries a location (rules file line:col, or a target name and address). */
#ifndef HP_DIAG_H
#define HP_DIAG_H

#include "hp_base.h"
#include <stdio.h>

typedef enum hp_diag_level { HP_DIAG_ERROR, HP_DIAG_WARNING, HP_DIAG_NOTE } hp_diag_level;

typedef struct hp_loc {
    const char *file; /* borrowed; NULL when the location is not in a file */
    uint32_t line;    /* 1-based; 0 = unknown */
    uint32_t col;     /* 1-based; 0 = unknown */
} hp_loc;

typedef struct hp_diag {
    hp_diag_level level;
    char *file; /* owned copies */
    uint32_t line, col;
    char *target; /* the target the message is about, or NULL */
    char *msg;
} hp_diag;

typedef struct hp_diags {
    hp_diag *v;
    size_t n, cap;
    size_t errors, warnings;
} hp_diags;

/* Add a diagnostic. loc and target may be NULL. Allocation failure is
 * recorded as a counted error with no message (never lost silently). */
void hp_diag_add(hp_diags *d, hp_diag_level lvl, const hp_loc *loc, const char *target,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void hp_diag_vadd(hp_diags *d, hp_diag_level lvl, const hp_loc *loc, const char *target,
                  const char *fmt, va_list ap);
/* Format: "hookpatch: error: rules.toml:3:10: target 'foo': reason". */
void hp_diags_print(const hp_diags *d, FILE *out);
void hp_diag_print_one(const hp_diag *g, FILE *out);
void hp_diags_free(hp_diags *d);

/* Levenshtein distance, capped: returns a value > cap as soon as it exceeds
 * cap. Used for "did you mean" suggestions. */
size_t hp_edit_distance(const char *a, const char *b, size_t cap);

#endif
