/* Diagnostic collection and printing. */
#include "hp_diag.h"
#include "hp_text.h"

#include <stdlib.h>
#include <string.h>

static const char *hp_level_str(hp_diag_level l)
{
    return l == HP_DIAG_ERROR ? "error" : l == HP_DIAG_WARNING ? "warning" : "note";
}

static void hp_diag_vadd_flags(hp_diags *d, hp_diag_level lvl, unsigned flags,
                               const hp_loc *loc, const char *target, const char *fmt,
                               va_list ap)
{
    if (lvl == HP_DIAG_ERROR)
        d->errors++;
    else if (lvl == HP_DIAG_WARNING)
        d->warnings++;
    if (HP_GROW(d->v, d->cap, d->n + 1) != HP_OK)
        return;
    hp_diag *g = &d->v[d->n];
    memset(g, 0, sizeof *g);
    g->level = lvl;
    g->flags = flags;
    g->msg = hp_vasprintf(fmt, ap);
    if (!g->msg)
        return;
    if (loc && loc->file)
        g->file = hp_strdup(loc->file);
    if (loc) {
        g->line = loc->line;
        g->col = loc->col;
    }
    if (target)
        g->target = hp_strdup(target);
    d->n++;
}

void hp_diag_vadd(hp_diags *d, hp_diag_level lvl, const hp_loc *loc, const char *target,
                  const char *fmt, va_list ap)
{
    hp_diag_vadd_flags(d, lvl, 0, loc, target, fmt, ap);
}

void hp_diag_add_flagged(hp_diags *d, unsigned flags, const hp_loc *loc, const char *target,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_diag_vadd_flags(d, HP_DIAG_WARNING, flags, loc, target, fmt, ap);
    va_end(ap);
}

size_t hp_diags_promote(hp_diags *d, unsigned flags)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++) {
        hp_diag *g = &d->v[i];
        if (g->level != HP_DIAG_WARNING || !(g->flags & flags))
            continue;
        g->level = HP_DIAG_ERROR;
        d->warnings--;
        d->errors++;
        n++;
    }
    return n;
}

void hp_diag_add(hp_diags *d, hp_diag_level lvl, const hp_loc *loc, const char *target,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_diag_vadd(d, lvl, loc, target, fmt, ap);
    va_end(ap);
}

void hp_diag_print_one(const hp_diag *g, FILE *out)
{
    fprintf(out, "hookpatch: %s: ", hp_level_str(g->level));
    if (g->file) {
        hp_text_fputs(g->file, HP_TEXT_TERMINAL, out);
        if (g->line)
            fprintf(out, ":%u", g->line);
        if (g->col)
            fprintf(out, ":%u", g->col);
        fputs(": ", out);
    }
    if (g->target)
        hp_text_fprintf(out, "target '%s': ", g->target);
    hp_text_fputs(g->msg, HP_TEXT_TERMINAL, out);
    fputc('\n', out);
}

void hp_diags_print(const hp_diags *d, FILE *out)
{
    for (size_t i = 0; i < d->n; i++)
        hp_diag_print_one(&d->v[i], out);
}

void hp_diags_free(hp_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        hp_free(d->v[i].file);
        hp_free(d->v[i].target);
        hp_free(d->v[i].msg);
    }
    hp_free(d->v);
    memset(d, 0, sizeof *d);
}

size_t hp_edit_distance(const char *a, const char *b, size_t cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if ((la > lb ? la - lb : lb - la) > cap)
        return cap + 1;
    size_t *row = hp_malloc((lb + 1) * sizeof *row);
    if (!row)
        return cap + 1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0], best = i;
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t sub = diag + (a[i - 1] != b[j - 1]);
            size_t v = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = v < sub ? v : sub;
            diag = up;
            if (row[j] < best)
                best = row[j];
        }
        if (best > cap) {
            hp_free(row);
            return cap + 1;
        }
    }
    size_t r = row[lb];
    hp_free(row);
    return r;
}
