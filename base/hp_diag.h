/* hp_diag: user-facing diagnostics, collected so one run reports every
 * problem. Any module may add to a list; only cli/ prints it. A diagnostic
 * carries a location (rules file line:col, or a target name and address).
 * It is also the one way a reason travels: an analysis that refuses (site
 * analysis, the instruction relocators) adds an HP_DIAG_REASON, and a
 * skipped hook's reason is an HP_DIAG_REASON in the run's list that the
 * hook refers to by index. */
#ifndef HP_DIAG_H
#define HP_DIAG_H

#include "hp_base.h"
#include <stdio.h>

typedef enum hp_diag_level {
    HP_DIAG_ERROR,
    HP_DIAG_WARNING,
    HP_DIAG_NOTE,
    /* Why something was not done: a hook skipped, an entry or an instruction
     * refused by an analysis. Quieter than a note and counted as neither
     * error nor warning: the lists (hp_diags_print, the cli's stderr and
     * JSON "diagnostics") leave it out, and whoever acted on it prints it
     * beside its subject ("skipped f (0x1000): reason"). One kind of record
     * for both keeps one set of rules: locations, escaping, what a lost one
     * means. */
    HP_DIAG_REASON,
} hp_diag_level;

typedef struct hp_loc {
    const char *file; /* borrowed; NULL when the location is not in a file */
    uint32_t line;    /* 1-based; 0 = unknown */
    uint32_t col;     /* 1-based; 0 = unknown */
} hp_loc;

/* Kinds of diagnostic that a switch treats alike. */
enum {
    /* A warning that a hook may not take effect when the output runs (an
     * inlined target, a universal slice copied unpatched, ...): --strict
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
    char *slice;  /* the part of a container file it is about (a universal
                     Mach-O's "arm64" slice), or NULL: printed before the
                     message as "arm64 slice: " */
    uint64_t va;  /* the address it is about (a target's, an instruction's);
                     0: none. Not printed: the message says it where it matters */
    char *msg;
} hp_diag;

typedef struct hp_diags {
    hp_diag *v;
    size_t n, cap;
    size_t errors, warnings; /* as added, lost ones among the errors */
    /* Borrowed: while set, every diagnostic added is about this slice of a
     * container file (its hp_diag.slice, a copy). Whoever works on one
     * slice of a universal file sets it, and clears it after. */
    const char *slice;
} hp_diags;

/* Add a diagnostic. loc and target may be NULL. Returns HP_OK, or
 * HP_ERR_NOMEM when any part of it cannot be allocated: then nothing is
 * added and d->errors counts it whatever its level (a lost warning may be
 * one --strict makes an error, a lost reason leaves a skip unexplained), so
 * a lost diagnostic is never silent: cli/ exits 1 with "out of memory" when
 * no other error says why (hp_job_exit_code). */
hp_status hp_diag_add(hp_diags *d, hp_diag_level lvl, const hp_loc *loc, const char *target,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
hp_status hp_diag_vadd(hp_diags *d, hp_diag_level lvl, const hp_loc *loc, const char *target,
                       const char *fmt, va_list ap);
/* A warning with flags (HP_DIAG_MAY_NOT_TAKE_EFFECT). */
hp_status hp_diag_add_flagged(hp_diags *d, unsigned flags, const hp_loc *loc, const char *target,
                              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* An HP_DIAG_REASON about address va (and target, when known). d may be
 * NULL: the caller wants only the status, and nothing is recorded. */
hp_status hp_diag_reason(hp_diags *d, const hp_loc *loc, const char *target, uint64_t va,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
hp_status hp_diag_vreason(hp_diags *d, const hp_loc *loc, const char *target, uint64_t va,
                          const char *fmt, va_list ap);
/* Turn every warning carrying any of flags into an error (--strict);
 * returns how many were turned. */
size_t hp_diags_promote(hp_diags *d, unsigned flags);
/* Format: "hookpatch: error: rules.toml:3:10: target 'foo': reason", with
 * control characters and invalid UTF-8 made visible (hp_text.h): names in
 * it come from the input. hp_diags_print leaves out HP_DIAG_REASON. */
void hp_diags_print(const hp_diags *d, FILE *out);
void hp_diag_print_one(const hp_diag *g, FILE *out);
void hp_diags_free(hp_diags *d);

/* Levenshtein distance, capped: returns a value > cap as soon as it exceeds
 * cap. Used for "did you mean" suggestions. */
size_t hp_edit_distance(const char *a, const char *b, size_t cap);

#endif
