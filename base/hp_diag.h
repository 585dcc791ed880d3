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

/* Kinds of diagnostic that a switch treats alike. */
enum {
    /* A warning that a hook may not take effect when the output runs (an
     * inlined target, a universal slice left unpatched, ...): --strict
     * turns every one into an error (hp_diags_promote). A new warning of
     * that kind only needs this flag to follow --strict. */
    HP_DIAG_MAY_NOT_TAKE_EFFECT = 1u << 0,
};

typedef struct hp_diag {
    hp_diag_level level;
    unsigned flags; /* HP_DIAG_MAY_NOT_TAKE_EFFECT */
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
/* A warning with flags (HP_DIAG_MAY_NOT_TAKE_EFFECT). */
void hp_diag_add_flagged(hp_diags *d, unsigned flags, const hp_loc *loc, const char *target,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Turn every warning carrying any of flags into an error (--strict);
 * returns how many were turned. */
size_t hp_diags_promote(hp_diags *d, unsigned flags);
/* Format: "hookpatch: error: rules.toml:3:10: target 'foo': reason", with
 * control characters and invalid UTF-8 made visible (hp_text.h): names in
 * it come from the input. */
void hp_diags_print(const hp_diags *d, FILE *out);
void hp_diag_print_one(const hp_diag *g, FILE *out);
void hp_diags_free(hp_diags *d);

/* Levenshtein distance, capped: returns a value > cap as soon as it exceeds
 * cap. Used for "did you mean" suggestions. */
size_t hp_edit_distance(const char *a, const char *b, size_t cap);

#endif
