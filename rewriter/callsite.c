/* Call-site redirection (callsite.h). */
#include "callsite.h"

#include "../sections/format.h"

#include <stdio.h>
#include <string.h>

/* The loader's words holding a function's address (format addr_slots). */
typedef struct hp_cs_slots {
    hp_addr_slot *v;
    size_t n, cap;
} hp_cs_slots;

static hp_status hp_cs_slot(void *ctx, const hp_addr_slot *slot)
{
    hp_cs_slots *t = ctx;
    HP_CHECK(HP_GROW(t->v, t->cap, t->n + 1));
    t->v[t->n++] = *slot;
    return HP_OK;
}

static hp_status hp_cs_miss(hp_callsites *c, uint64_t at, const char *what)
{
    HP_CHECK(HP_GROW(c->miss, c->miss_cap, c->nmiss + 1));
    c->miss[c->nmiss++] = (hp_callsite_miss){at, what};
    return HP_OK;
}

static hp_status hp_cs_add(hp_callsites *c, const hp_callsite *s)
{
    HP_CHECK(HP_GROW(c->v, c->cap, c->n + 1));
    c->v[c->n++] = *s;
    return HP_OK;
}

/* Whether va lies in bytes a planned hook overwrites at an entry (copied
 * into its trampoline: a branch there would be relocated to the untouched
 * function, bypassing the hook). */
static bool hp_cs_stolen(const hp_plan *p, uint64_t va)
{
    for (size_t i = 0; i < p->n; i++) {
        const hp_hook *h = &p->v[i];
        if (h->state != HP_HOOK_PLANNED)
            continue;
        const hp_site *s = &h->site;
        if (va >= s->patch_va && va < s->patch_va + s->steal_len)
            return true;
        s = h->orig_site;
        if (h->orig && s && va >= s->patch_va && va < s->patch_va + s->steal_len)
            return true;
    }
    return false;
}

/* The jump a call site's island holds: the near jump, or in a far layout
 * the far one through a register free at every entry (a call site's
 * island is entered where the function's entry would be). */
static size_t hp_cs_island_jump(const hp_plan *p, uint8_t *out, uint64_t at, uint64_t to)
{
    return p->arch->jump(out, at, to, p->far, p->arch->entry_scratch);
}

size_t hp_callsites_island_len(const hp_plan *p)
{
    return hp_cs_island_jump(p, NULL, 0, 0);
}

typedef struct hp_cs_reach {
    const hp_arch *arch;
    const hp_xsrc *src;
    const uint8_t *bytes;
} hp_cs_reach;

/* Whether the branch, retargeted on a copy, reaches va. */
static bool hp_cs_reaches(void *ctx, uint64_t va)
{
    const hp_cs_reach *r = ctx;
    uint8_t copy[16];
    if (r->src->len > sizeof copy)
        return false;
    memcpy(copy, r->bytes, r->src->len);
    return r->arch->retarget(copy, r->src->len, r->src->at, va);
}

/* A branch at src that cannot reach the new code itself (a short one, or
 * any one in a far layout): an island in its reach holding the jump, or 0. */
static uint64_t hp_cs_island(const hp_plan *p, const hp_xsrc *src, const uint8_t *bytes,
                             bool shrt, hp_islands *taken)
{
    hp_cs_reach r = {p->arch, src, bytes};
    return hp_island_find_in(p->img, p->arch, src->at, src->len, hp_callsites_island_len(p),
                             shrt ? HP_ISLAND_REACH : HP_ISLAND_FAR_WINDOW, hp_cs_reaches, &r,
                             taken);
}

/* An island one of c's earlier sites took that the branch at src reaches:
 * they all hold the same jump, so one serves every branch in its reach. */
static uint64_t hp_cs_shared_island(const hp_plan *p, const hp_callsites *c, const hp_xsrc *src,
                                    const uint8_t *bytes)
{
    hp_cs_reach r = {p->arch, src, bytes};
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].island_va && hp_cs_reaches(&r, c->v[i].island_va))
            return c->v[i].island_va;
    return 0;
}

static hp_status hp_cs_branch(const hp_plan *p, hp_callsites *c, const hp_xsrc *src,
                              hp_islands *taken)
{
    const uint8_t *b = hp_image_bytes(p->img, src->at, src->len);
    if (!b)
        return hp_cs_miss(c, src->at, "a branch outside the file's bytes");
    hp_callsite cs = {.at = src->at, .len = src->len, .kind = HP_XSRC_BRANCH};
    bool shrt = p->arch->short_branch(b, src->len);
    if (shrt || p->far) {
        cs.island_va = hp_cs_shared_island(p, c, src, b);
        if (cs.island_va)
            return hp_cs_add(c, &cs);
        cs.island_va = hp_cs_island(p, src, b, shrt, taken);
        if (!cs.island_va)
            return hp_cs_miss(c, src->at, shrt ? "a short branch with no free padding in its "
                                                 "reach for an island"
                                               : "a branch that does not reach the new code "
                                                 "(far layout), with no free padding in its "
                                                 "reach for an island");
        HP_CHECK(hp_islands_take(taken, cs.island_va,
                                 cs.island_va + hp_callsites_island_len(p)));
    }
    return hp_cs_add(c, &cs);
}

/* A word in data equal to the address: re-pointed when the loader reads
 * it as the address (a slot) or relocates it (the in-place value of a
 * relocation whose addend is a slot), else missed. */
static hp_status hp_cs_data(const hp_plan *p, hp_callsites *c, const hp_cs_slots *t,
                            const hp_xsrc *src)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].va == src->at)
            return HP_OK; /* added with the slots */
        if (t->v[i].kind == HP_SLOT_RELOC && t->v[i].reloc_at == src->at)
            return hp_cs_add(c, &(hp_callsite){src->at, src->len, HP_XSRC_DATA, {0}, 0, 0});
    }
    if (!p->img->fmt->addr_slots)
        return hp_cs_miss(c, src->at, "a word in data equal to its address (this format's "
                                      "relocations are not read: not re-pointed)");
    /* Addresses from 0 in an image that loads at any address: the loader
     * never maps it at 0, so a word no relocation adjusts never holds the
     * address at run time (bytes of a string, a small number). */
    if (p->img->pic && p->img->base_va == 0)
        return HP_OK;
    return hp_cs_miss(c, src->at, p->img->pic ? "a word in data equal to its address, with "
                                                "no relocation that says it is one"
                                              : "a pointer in data with no relocation (the "
                                                "address is absolute)");
}

static hp_status hp_cs_one(const hp_plan *p, hp_callsites *c, const hp_site *site,
                           const hp_cs_slots *t, const hp_xsrc *src, hp_islands *taken)
{
    if (src->at >= site->fn_va && src->at < site->fn_va + site->fn_size)
        return HP_OK; /* the function's own loop: it runs the original, as it should */
    if (hp_cs_stolen(p, src->at))
        return hp_cs_miss(c, src->at, "in bytes another hook copies into its trampoline");
    switch (src->kind) {
    case HP_XSRC_BRANCH: return hp_cs_branch(p, c, src, taken);
    case HP_XSRC_PCADDR:
        if (!p->arch->retarget_addr)
            return hp_cs_miss(c, src->at, "an address computation this architecture cannot "
                                          "re-point yet");
        return hp_cs_add(c, &(hp_callsite){src->at, src->len, HP_XSRC_PCADDR, src->ref, 0, 0});
    case HP_XSRC_ABS:
        return hp_cs_miss(c, src->at, src->ref.why ? src->ref.why
                                                   : "an absolute address in an instruction's "
                                                     "immediate (no relocation to find it by)");
    default: return hp_cs_data(p, c, t, src);
    }
}

hp_status hp_callsites_find(const hp_plan *p, hp_hook *h, const hp_xsrcs *x, hp_islands *taken)
{
    h->cs = hp_calloc(1, sizeof *h->cs);
    if (!h->cs)
        return HP_ERR_NOMEM;
    uint64_t fn = h->site.fn_va;
    hp_cs_slots t = {0};
    hp_status s = p->img->fmt->addr_slots ? p->img->fmt->addr_slots(p->img, fn, hp_cs_slot, &t)
                                          : HP_OK;
    bool exported = false;
    for (size_t i = 0; s == HP_OK && i < t.n; i++) {
        exported |= t.v[i].kind == HP_SLOT_EXPORT;
        s = hp_cs_add(h->cs, &(hp_callsite){t.v[i].va, t.v[i].size, HP_XSRC_DATA, {0}, 0,
                                            t.v[i].base});
    }
    for (size_t i = hp_xsrcs_first(x, fn); s == HP_OK && i < x->n && x->v[i].target == fn; i++)
        s = hp_cs_one(p, h->cs, &h->site, &t, &x->v[i], taken);
    if (s == HP_OK && h->target->source == HP_SRC_DYNSYM && !exported)
        s = hp_cs_miss(h->cs, fn, "the exported symbol, which other modules bind to (this "
                                  "format's export table is not re-pointed)");
    /* A relocated pointer the file encodes (Mach-O chained fixups) holds no
     * word equal to the address: say that it was not looked for. */
    if (s == HP_OK && p->img->pic && !p->img->fmt->addr_slots)
        s = hp_cs_miss(h->cs, fn, "pointers to it in data the loader relocates are not read "
                                  "for this format (not re-pointed, and not found where the "
                                  "file encodes them)");
    hp_free(t.v);
    return s;
}

hp_status hp_callsites_plan(hp_plan *p, hp_islands *taken)
{
    uint64_t *ent = hp_malloc((p->n ? p->n : 1) * sizeof *ent);
    if (!ent)
        return HP_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED && p->v[i].site.callsites && !p->v[i].cs)
            ent[n++] = p->v[i].site.fn_va;
    hp_xsrcs x = {0};
    hp_status s = n ? hp_xsrcs_build(p->img, ent, n, &x) : HP_OK;
    for (size_t i = 0; n && s == HP_OK && i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED && p->v[i].site.callsites && !p->v[i].cs)
            s = hp_callsites_find(p, &p->v[i], &x, taken);
    hp_xsrcs_free(&x);
    hp_free(ent);
    return s;
}

/* The function or object that holds va, for messages (NULL: none known). */
static const hp_symbol *hp_cs_owner(const hp_image *img, uint64_t va)
{
    size_t a = 0, b = img->nsyms;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (img->syms[m].va <= va)
            a = m + 1;
        else
            b = m;
    }
    for (size_t i = a; i-- > 0;) {
        const hp_symbol *s = &img->syms[i];
        if (s->source != HP_SRC_PLT && va < s->va + s->size)
            return s;
        if (s->kind == HP_SYM_FUNC && s->source != HP_SRC_PLT)
            return NULL; /* the nearest function below ends before va */
    }
    return NULL;
}

void hp_callsites_describe(const hp_plan *p, const hp_hook *h, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; h->cs && i < h->cs->nmiss && at + 1 < len; i++) {
        const hp_callsite_miss *m = &h->cs->miss[i];
        const hp_symbol *o = hp_cs_owner(p->img, m->at);
        int k;
        if (o)
            k = snprintf(buf + at, len - at, "%s0x%llx (%s+0x%llx): %s", i ? "; " : "",
                         (unsigned long long)m->at, o->alias ? o->alias : o->name,
                         (unsigned long long)(m->at - o->va), m->what);
        else
            k = snprintf(buf + at, len - at, "%s0x%llx: %s", i ? "; " : "",
                         (unsigned long long)m->at, m->what);
        if (k < 0)
            break;
        at += (size_t)k;
    }
}

hp_status hp_callsites_ranges(const hp_plan *p, const hp_hook *h, hp_range_fn fn, void *ctx)
{
    for (size_t i = 0; h->cs && i < h->cs->n; i++) {
        const hp_callsite *c = &h->cs->v[i];
        if (c->island_va)
            HP_CHECK(fn(ctx, c->island_va, c->island_va + hp_callsites_island_len(p), true));
        if (c->kind == HP_XSRC_PCADDR)
            HP_CHECK(fn(ctx, c->at, c->at + c->len, false));
    }
    return HP_OK;
}

typedef struct hp_cs_landed {
    const hp_xrefs *xrefs;
    uint64_t at; /* the range a branch lands in (0: none yet) */
} hp_cs_landed;

static hp_status hp_cs_landed_in(void *ctx, uint64_t lo, uint64_t hi, bool island)
{
    hp_cs_landed *l = ctx;
    hp_xref_range r = hp_range_watch(lo, hi, island);
    if (!l->at && hp_xrefs_any_in(l->xrefs, r.lo, r.hi))
        l->at = lo;
    return HP_OK;
}

bool hp_callsites_landed(const hp_plan *p, const hp_hook *h, uint64_t *at)
{
    hp_cs_landed l = {&p->xrefs, 0};
    (void)hp_callsites_ranges(p, h, hp_cs_landed_in, &l); /* never fails */
    *at = l.at;
    return l.at != 0;
}

/* The jump to dest in a branch's island. */
static hp_status hp_cs_emit_island(hp_plan *p, uint64_t va, uint64_t dest)
{
    size_t il = hp_callsites_island_len(p);
    hp_patch pt = {.va = va, .len = (uint32_t)il};
    const uint8_t *old = hp_image_bytes(p->img, va, il);
    if (!old || il > sizeof pt.bytes || !hp_cs_island_jump(p, pt.bytes, va, dest))
        return HP_ERR_RANGE;
    memcpy(pt.orig, old, il);
    return hp_edit_add_patch(&p->ed, &pt);
}

/* Whether the unit (the architecture's instruction alignment) at o
 * changed. */
static bool hp_cs_changed(const uint8_t *orig, const uint8_t *now, size_t o, size_t u)
{
    return memcmp(orig + o, now + o, u) != 0;
}

/* The patch of [at, at + len) from orig to now: whole, or, for an
 * address computed by several instructions (split), each run of changed
 * units alone, so the unchanged instructions between them stay free for
 * another hook's call site. */
static hp_status hp_cs_patch(hp_plan *p, uint64_t at, const uint8_t *orig, const uint8_t *now,
                             size_t len, bool split)
{
    size_t u = p->arch->insn_align;
    if (split && len % u)
        return HP_ERR_INTERNAL;
    for (size_t a = 0; a < len;) {
        size_t b = len;
        if (split) {
            while (a < len && !hp_cs_changed(orig, now, a, u))
                a += u;
            for (b = a; b < len && hp_cs_changed(orig, now, b, u);)
                b += u;
        }
        if (a == len)
            break;
        hp_patch pt = {.va = at + a, .len = (uint32_t)(b - a)};
        if (b - a > sizeof pt.bytes)
            return HP_ERR_INTERNAL;
        memcpy(pt.orig, orig + a, b - a);
        memcpy(pt.bytes, now + a, b - a);
        HP_CHECK(hp_edit_add_patch(&p->ed, &pt));
        a = b;
    }
    return HP_OK;
}

hp_status hp_callsites_emit(hp_plan *p, const hp_hook *h, uint64_t dest)
{
    for (size_t i = 0; h->cs && i < h->cs->n; i++) {
        const hp_callsite *c = &h->cs->v[i];
        const uint8_t *old = hp_image_bytes(p->img, c->at, c->len);
        uint8_t now[64];
        if (!old || c->len > sizeof now)
            return HP_ERR_INTERNAL;
        memcpy(now, old, c->len);
        bool ok = true;
        if (c->kind == HP_XSRC_DATA && c->len == 8) {
            hp_wr64(now, dest - c->base); /* a loader's word */
        } else if (c->kind == HP_XSRC_DATA && c->len == 4 && dest - c->base <= UINT32_MAX) {
            hp_wr32(now, (uint32_t)(dest - c->base)); /* an RVA */
        } else if (c->kind == HP_XSRC_DATA) {
            ok = false;
        } else if (c->kind == HP_XSRC_PCADDR) {
            ok = p->arch->retarget_addr(now, c->len, c->at, &c->ref, dest);
        } else if (c->island_va) {
            bool first = true; /* an island shared with an earlier site is written once */
            for (size_t k = 0; k < i && first; k++)
                first = h->cs->v[k].island_va != c->island_va;
            if (first)
                HP_CHECK(hp_cs_emit_island(p, c->island_va, dest));
            ok = p->arch->retarget(now, c->len, c->at, c->island_va);
        } else {
            ok = p->arch->retarget(now, c->len, c->at, dest);
        }
        if (!ok)
            return HP_ERR_RANGE;
        HP_CHECK(hp_cs_patch(p, c->at, old, now, c->len, c->ref.back > 0));
    }
    return HP_OK;
}

void hp_callsites_free(hp_callsites *c)
{
    if (!c)
        return;
    hp_free(c->v);
    hp_free(c->miss);
    hp_free(c);
}

void hp_callsites_refusal(const hp_plan *p, const hp_hook *h, char *buf, size_t len)
{
    const hp_site *s = &h->site;
    uint64_t il = p->arch->jump(NULL, 0, 0, p->far, p->arch->entry_scratch);
    char isl[192], miss[1536];
    if (!p->arch->short_jump)
        snprintf(isl, sizeof isl, "this architecture has no shorter jump to one");
    else if (s->fn_size < p->arch->short_jump_len)
        snprintf(isl, sizeof isl, "the entry is shorter than the %u-byte short jump",
                 p->arch->short_jump_len);
    else
        snprintf(isl, sizeof isl, "no %llu bytes of free padding, int3/nop owned by no "
                 "function and not taken by another hook, within reach of the %u-byte short "
                 "jump", (unsigned long long)il, p->arch->short_jump_len);
    hp_callsites_describe(p, h, miss, sizeof miss);
    const char *found = h->cs && h->cs->nmiss ? "none could be re-pointed: "
                                              : "no direct call, jump or address computation "
                                                "of it was found";
    if (s->branch_len) {
        snprintf(buf, len, "a branch lands inside the %u bytes the jump would overwrite (a loop "
                 "to the top, or a second entry point); tried call sites instead (%s%s)",
                 s->branch_len, found, miss);
        return;
    }
    snprintf(buf, len, "too short: %llu bytes; tried the jump at the entry (needs %llu bytes "
             "and there is no free padding after it), an island (%s), and call sites (%s%s)",
             (unsigned long long)s->fn_size, (unsigned long long)il, isl, found, miss);
}
