/* Diagnostic collection and printing. */
#include "hp_diag.h"
#include "hp_text.h"

#include <stdlib.h>
#include <string.h>

static const char *hp_level_str(hp_diag_level l)
{
    static const char *const names[] = {"error", "warning", "note", "reason"};
    return names[l];
}

/* See hp_diag_add: a diagnostic that cannot be recorded whole counts as an
 * error, whatever its level. */
static hp_status hp_diag_lost(hp_diags *d, hp_diag *g)
{
    hp_free(g->file);
    hp_free(g->target);
    hp_free(g->slice);
    hp_free(g->msg);
    d->errors++;
    return HP_ERR_NOMEM;
}

/* Add g (its strings still borrowed, in loc and target) with the formatted
 * message. */
static hp_status hp_diag_push(hp_diags *d, hp_diag g, const hp_loc *loc, const char *target,
                              const char *fmt, va_list ap)
{
    const char *file = loc ? loc->file : NULL;
    g.file = file ? hp_strdup(file) : NULL;
    g.target = target ? hp_strdup(target) : NULL;
    g.slice = d->slice ? hp_strdup(d->slice) : NULL;
    g.msg = hp_vasprintf(fmt, ap);
    if (!g.msg || (file && !g.file) || (target && !g.target) || (d->slice && !g.slice) ||
        HP_GROW(d->v, d->cap, d->n + 1) != HP_OK)
        return hp_diag_lost(d, &g);
    if (loc) {
        g.line = loc->line;
        g.col = loc->col;
    }
    d->v[d->n++] = g;
    if (g.level == HP_DIAG_ERROR)
        d->errors++;
    else if (g.level == HP_DIAG_WARNING)
        d->warnings++;
    return HP_OK;
}

hp_status hp_diag_vadd(hp_diags *d, hp_diag_level lvl, const hp_loc *loc, const char *target,
                       const char *fmt, va_list ap)
{
    return hp_diag_push(d, (hp_diag){.level = lvl}, loc, target, fmt, ap);
}

hp_status hp_diag_add(hp_diags *d, hp_diag_level lvl, const hp_loc *loc, const char *target,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_status s = hp_diag_vadd(d, lvl, loc, target, fmt, ap);
    va_end(ap);
    return s;
}

hp_status hp_diag_add_flagged(hp_diags *d, unsigned flags, const hp_loc *loc, const char *target,
                              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_status s = hp_diag_push(d, (hp_diag){.level = HP_DIAG_WARNING, .flags = flags}, loc,
                               target, fmt, ap);
    va_end(ap);
    return s;
}

hp_status hp_diag_vreason(hp_diags *d, const hp_loc *loc, const char *target, uint64_t va,
                          const char *fmt, va_list ap)
{
    if (!d)
        return HP_OK;
    return hp_diag_push(d, (hp_diag){.level = HP_DIAG_REASON, .va = va}, loc, target, fmt, ap);
}

hp_status hp_diag_reason(hp_diags *d, const hp_loc *loc, const char *target, uint64_t va,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_status s = hp_diag_vreason(d, loc, target, va, fmt, ap);
    va_end(ap);
    return s;
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
    if (g->slice)
        hp_text_fprintf(out, "%s slice: ", g->slice);
    hp_text_fputs(g->msg, HP_TEXT_TERMINAL, out);
    fputc('\n', out);
}

void hp_diags_print(const hp_diags *d, FILE *out)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].level != HP_DIAG_REASON)
            hp_diag_print_one(&d->v[i], out);
}

void hp_diags_free(hp_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        hp_free(d->v[i].file);
        hp_free(d->v[i].target);
        hp_free(d->v[i].slice);
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
