/* Moving a neighbour's instructions to make an island (move.h). The window
 * is the short jump's reach (256 bytes on x86-64), so the functions in it
 * are decoded whole, one at a time, lowest first. */
#include "move.h"

#include "callsite.h"

#include "../sections/code.h"

#include <stdio.h>
#include <string.h>

/* A function decoded larger than this is not a neighbour worth decoding
 * for a few bytes (the window is 256 bytes). */
#define HP_MOVE_MAX_FN ((uint64_t)1 << 20)

const char *hp_move_refused(const hp_image *img, bool far)
{
    if (far)
        return "not with the far layout";
    if (img->pclntab)
        return "not in Go code, whose runtime must find every instruction it may interrupt "
               "in its tables";
    return NULL;
}

static bool hp_move_insn_ok(const hp_arch *a, const hp_image *img, const hp_insn *in)
{
    if (!in->plain || (in->kind != HP_INSN_OTHER && in->kind != HP_INSN_NOP))
        return false;
    const uint8_t *p = hp_image_bytes(img, in->va, in->len);
    return p && (!a->stealable || a->stealable(p, in->len));
}

static bool hp_move_target_inside(const hp_func_scan *sc, uint64_t lo, uint64_t hi)
{
    for (size_t i = 0; i < sc->ntargets; i++)
        if (sc->targets[i] > lo && sc->targets[i] < hi)
            return true;
    return false;
}

/* The lowest run of f for s's island, or 0. */
static uint64_t hp_move_in(const hp_image *img, const hp_site *s, const hp_symbol *f,
                           const hp_islands *taken, hp_move *out)
{
    const hp_arch *a = s->arch;
    uint64_t il = a->jump(NULL, 0, 0, false, 0), need = 2 * il, found = 0;
    const uint8_t *p = hp_image_bytes(img, f->va, f->size);
    hp_func_scan sc = {0};
    if (!p || a->scan(p, f->size, f->va, &sc) != HP_OK || sc.ok_size != f->size)
        goto done;
    for (size_t i = 0; i < sc.ninsns; i++) {
        const hp_insn *j = &sc.insns[i], *pv = i ? &sc.insns[i - 1] : NULL;
        if (j->kind == HP_INSN_JMP_IND &&
            !(pv && a->tail_jump && a->tail_jump(p + (pv->va - f->va), pv->len,
                                                 p + (j->va - f->va), j->len)))
            goto done; /* a jump table may land anywhere */
    }
    for (size_t i = 1; i < sc.ninsns && !found; i++) {
        uint64_t lo = sc.insns[i].va, hi = lo;
        uint8_t buf[16];
        if (lo % a->insn_align || !a->short_jump(buf, s->patch_va, lo + il))
            continue;
        /* The longest run from lo that qualifies, whole instructions. */
        for (size_t k = i; k < sc.ninsns; k++) {
            uint64_t end = hi + sc.insns[k].len;
            if (!hp_move_insn_ok(a, img, &sc.insns[k]) || end - lo > HP_SITE_MAX_STEAL ||
                hp_move_target_inside(&sc, lo, end) || hp_islands_overlap(taken, lo, end) ||
                (lo < s->patch_va + s->steal_len && s->patch_va < end))
                break;
            hi = end;
        }
        if (hi - lo < need)
            continue;
        memset(out, 0, sizeof *out);
        out->donor = f;
        hp_site *r = &out->run;
        r->arch = a;
        r->fn_va = f->va;
        r->fn_size = f->size;
        r->patch_va = lo;
        r->steal_len = r->copy_len = (uint32_t)(hi - lo);
        r->plain_len = (uint8_t)(hi - lo);
        memcpy(r->bytes, p + (lo - f->va), hi - lo);
        found = lo + il;
    }
done:
    a->scan_free(&sc);
    return found;
}

uint64_t hp_move_island(const hp_move *m, const hp_arch *a, uint32_t k)
{
    return m->run.patch_va + (uint64_t)(k + 1) * a->jump(NULL, 0, 0, false, 0);
}

uint64_t hp_move_find(const hp_image *img, const hp_code_map *code, const hp_site *s,
                      const hp_islands *taken, const hp_move *moves, size_t n, size_t *index,
                      hp_move *out)
{
    const hp_arch *a = s->arch;
    if (!a->short_jump || !s->island)
        return 0;
    uint64_t il = a->jump(NULL, 0, 0, false, 0);
    for (size_t i = 0; i < n; i++) {
        const hp_move *m = &moves[i];
        uint64_t va = hp_move_island(m, a, m->nislands);
        uint8_t buf[16];
        if (m->nislands < HP_MOVE_MAX_ISLANDS && va + il <= m->run.patch_va + m->run.steal_len &&
            va % a->insn_align == 0 && a->short_jump(buf, s->patch_va, va)) {
            *index = i;
            return va;
        }
    }
    *index = n;
    uint64_t reach = HP_ISLAND_REACH, found = 0;
    uint64_t lo = s->patch_va > reach ? s->patch_va - reach : 0, hi = s->patch_va + reach;
    const hp_symbol *f = hp_image_owner(img, lo);
    uint64_t at = f ? f->va : hp_image_next_sym_va(img, lo);
    while (at < hi && !found) {
        const hp_symbol *g = hp_image_sym_at(img, at);
        if (g && g->size && !g->size_guessed && g->size <= HP_MOVE_MAX_FN &&
            g->va != s->fn_va && !hp_code_eh_overlaps(code, g->va, g->va + g->size) &&
            hp_image_executable(img, g->va, NULL, 0))
            found = hp_move_in(img, s, g, taken, out);
        uint64_t next = hp_image_next_sym_va(img, at);
        if (next <= at)
            break;
        at = next;
    }
    return found;
}

/* Whether a planned hook's call site lies in [lo, hi). */
static bool hp_callsite_in(const hp_plan *p, uint64_t lo, uint64_t hi)
{
    for (size_t i = 0; i < p->n; i++) {
        const hp_callsites *c = p->v[i].cs;
        for (size_t k = 0; p->v[i].state == HP_HOOK_PLANNED && c && k < c->n; k++)
            if (c->v[k].at < hi && lo < c->v[k].at + c->v[k].len)
                return true;
    }
    return false;
}

hp_status hp_move_for(hp_plan *p, hp_hook *h, hp_islands *t, bool *moved, char *why,
                      size_t len)
{
    *moved = false;
    hp_site alt;
    unsigned flags = HP_SITE_XREFS_LATER | HP_SITE_SHORT |
                     (hp_hook_needs_tramp(h) ? HP_SITE_COPY : 0) |
                     (hp_hook_needs_redirect(h) ? HP_SITE_REDIRECTS : 0);
    hp_status s = hp_site_analyze(p->img, h->target, flags, NULL, &alt, NULL);
    if (s == HP_ERR_NOMEM)
        return s;
    if (s != HP_OK || !alt.island) {
        *why = 0; /* the island's reason says it already */
        return HP_OK;
    }
    const char *no = p->no_move ? "not with --no-move" : hp_move_refused(p->img, p->far);
    if (no) {
        snprintf(why, len, "%s", no);
        return HP_OK;
    }
    if (alt.nredirects) {
        snprintf(why, len, "a branch at 0x%llx returns to the entry",
                 (unsigned long long)hp_site_redirect_va(&alt, 0));
        return HP_OK;
    }
    /* In the second pass the first table watched the bytes the jump would
     * have taken, which cover the short jump's; in the first (no table
     * yet) they are checked with every other hook's (plan.c
     * hp_check_stolen). */
    if (h->site.branch_len && p->xrefs.nwatch &&
        hp_site_check_xrefs(&alt, &p->xrefs, NULL) != HP_OK) {
        snprintf(why, len, "a branch lands inside the %u bytes the short jump would overwrite "
                 "too", alt.steal_len);
        return HP_OK;
    }
    uint64_t lo = alt.patch_va, hi = lo + alt.steal_len;
    /* A too-short entry took these bytes itself before it fell back to
     * call sites (hp_assign_islands): that range is its own. */
    bool other = hp_callsite_in(p, lo, hi);
    for (size_t i = 0; t && i < t->n && !other; i++)
        other = lo < t->v[i].hi && t->v[i].lo < hi && !(t->v[i].lo == lo && t->v[i].hi == hi);
    if (other) {
        snprintf(why, len, "another hook's patch covers the entry's first %u bytes",
                 alt.steal_len);
        return HP_OK;
    }
    if (!p->code) {
        p->code = hp_calloc(1, sizeof *p->code);
        if (!p->code)
            return HP_ERR_NOMEM;
        HP_CHECK(hp_image_code(p->img, p->code));
    }
    hp_move m;
    size_t k;
    alt.island_va = hp_move_find(p->img, p->code, &alt, t, p->moves, p->nmoves, &k, &m);
    if (!alt.island_va) {
        snprintf(why, len, "no run of %llu bytes of instructions that can move (no branch, "
                 "call, return or PC-relative operand, in a function with no jump table nor "
                 "landing pad, not taken by another hook) within the %u-byte short jump's reach",
                 (unsigned long long)(2 * p->arch->jump(NULL, 0, 0, false, 0)),
                 p->arch->short_jump_len);
        return HP_OK;
    }
    if (k == p->nmoves) {
        HP_CHECK(HP_GROW(p->moves, p->moves_cap, p->nmoves + 1));
        p->moves[p->nmoves++] = m;
        HP_CHECK(hp_islands_take(t, m.run.patch_va, m.run.patch_va + m.run.steal_len));
    }
    hp_move *mv = &p->moves[k];
    /* `list` asks with a hook of its own, not in p->v: index 0 then. */
    bool in_plan = p->n && h >= p->v && h < p->v + p->n;
    mv->owner[mv->nislands++] = in_plan ? (size_t)(h - p->v) : 0;
    HP_CHECK(hp_islands_take(t, lo, hi));
    hp_callsites_free(h->cs);
    h->cs = NULL;
    h->site = alt;
    h->island_va = 0;
    h->move = k + 1;
    *moved = true;
    return HP_OK;
}
