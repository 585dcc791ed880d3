/* Measure and emit: the same walk over the planned hooks sizes every stub
 * and trampoline (before addresses exist) and later writes them (after the
 * backend placed the text region). Relocated instruction sizes do not
 * depend on addresses, so the two walks agree. */
#include "rewriter.h"
#include "callsite.h"
#include "info.h"
#include "move.h"
#include "objects.h"
#include "switch.h"

#include "../base/hp_par.h"

#include <stdio.h>
#include <string.h>

#define HP_ALIGN 16

/* Stubs and trampolines start with the architecture's landing pad when the
 * image enforces them (they may be reached by an indirect branch: a far
 * prologue, a function pointer to a trampoline); x86 needs none. */
static size_t hp_pad(const hp_plan *p, uint8_t *out)
{
    return p->img->ibt ? p->arch->landing(out) : 0;
}

/* trampoline = [landing pad] copied instructions + jump back (or a trap
 * when the copy took the whole function and there is nothing to go back
 * to). */
static hp_status hp_tramp(const hp_plan *p, const hp_site *s, uint64_t dst, uint8_t *out,
                          size_t *len, bool *called)
{
    const hp_arch *a = p->arch;
    size_t n = hp_pad(p, out), c;
    HP_CHECK(hp_site_relocate(s, dst + n, out ? out + n : NULL, &c, called, NULL));
    n += c;
    if (s->copy_len == s->steal_len) {
        size_t j = a->jump(out ? out + n : NULL, dst + n, s->patch_va + s->steal_len, s->far,
                           s->scratch);
        if (!j)
            return HP_ERR_RANGE; /* the layout keeps everything within reach */
        n += j;
    } else {
        n += a->trap(out ? out + n : NULL);
    }
    *len = n;
    return HP_OK;
}

/* The stub at at_va (out NULL: measure); 0 when it cannot reach what it
 * refers to. */
static size_t hp_stub(const hp_plan *p, const hp_hook *h, uint64_t at_va, uint8_t *out)
{
    size_t n = hp_pad(p, out), k;
    uint8_t *o = out ? out + n : NULL;
    if (h->req->action == HP_ACT_RETURN)
        k = p->arch->ret_imm(o, h->req->value);
    else if (h->req->action == HP_ACT_TRAP)
        k = p->arch->trap(o);
    else
        k = hp_switch_stub(p, h, at_va + n, o);
    return k ? n + k : 0;
}

/* A moved run is written when a hook whose island it holds is. */
static bool hp_move_live(const hp_plan *p, const hp_move *m)
{
    for (uint32_t k = 0; k < m->nislands; k++)
        if (p->v[m->owner[k]].state == HP_HOOK_PLANNED)
            return true;
    return false;
}

static bool hp_has_stub(const hp_hook *h)
{
    hp_action a = h->req->action;
    return a == HP_ACT_RETURN || a == HP_ACT_TRAP || a == HP_ACT_SWITCH || a == HP_ACT_MARKER;
}

/* A trampoline of s measured into the text region at *off (then past it). */
static hp_status hp_measure_tramp(const hp_plan *p, const hp_site *s, uint64_t *off,
                                  uint64_t *tramp_off, uint64_t *tramp_size)
{
    size_t n;
    bool called = false;
    HP_CHECK(hp_tramp(p, s, 0, NULL, &n, &called));
    *tramp_off = *off;
    *tramp_size = n;
    *off = hp_align_up(*off + n, HP_ALIGN);
    return HP_OK;
}

hp_status hp_measure(hp_plan *p, hp_diags *d)
{
    HP_CHECK(hp_switch_prepare(p));
    uint64_t off = 0;
    for (size_t i = 0; i < p->n; i++) {
        hp_hook *h = &p->v[i];
        if (h->state != HP_HOOK_PLANNED)
            continue;
        if (hp_has_stub(h)) {
            h->stub_off = off;
            h->stub_size = hp_stub(p, h, 0, NULL);
            off = hp_align_up(off + h->stub_size, HP_ALIGN);
        }
        if (hp_hook_needs_tramp(h))
            HP_CHECK(hp_measure_tramp(p, &h->site, &off, &h->tramp_off, &h->tramp_size));
    }
    for (size_t i = 0; i < p->nmoves; i++)
        if (hp_move_live(p, &p->moves[i]))
            HP_CHECK(hp_measure_tramp(p, &p->moves[i].run, &off, &p->moves[i].tramp_off,
                                      &p->moves[i].tramp_size));
    p->lay.size[HP_REGION_TEXT] = off;
    HP_CHECK(hp_objects_measure(p, off, d));
    return hp_switch_measure(p, d);
}

/* The near jump to dest in a short entry's island (its padding kept as
 * the patch's original bytes). */
static hp_status hp_patch_island(hp_plan *p, const hp_site *s, uint64_t dest)
{
    size_t il = p->arch->jump(NULL, 0, 0, false, 0);
    hp_patch pt = {.va = s->island_va, .len = (uint32_t)il};
    const uint8_t *old = hp_image_bytes(p->img, s->island_va, il);
    if (!s->island_va || !old)
        return HP_ERR_INTERNAL;
    if (!p->arch->jump(pt.bytes, s->island_va, dest, false, 0))
        return HP_ERR_RANGE;
    memcpy(pt.orig, old, il);
    return hp_edit_add_patch(&p->ed, &pt);
}

/* A jump at a site's patch point to dest (after the landing pad that
 * stands in for a moved signing instruction), the rest of the stolen bytes
 * filled so a stray branch traps instead of running garbage. The prologue
 * runs at the entry, where the architecture's scratch registers are free. */
static hp_status hp_patch_site(hp_plan *p, const hp_site *s, uint64_t dest)
{
    const hp_arch *a = p->arch;
    if (s->island) {
        /* The island first: a redirect island may merge into the entry
         * patch, which it expects last (hp_patch_redirects). */
        HP_CHECK(hp_patch_island(p, s, dest));
        dest = s->island_va;
    }
    hp_patch pt = {.va = s->patch_va, .len = s->steal_len};
    a->fill(pt.bytes, sizeof pt.bytes);
    if (s->head_len && a->landing(pt.bytes) != s->head_len)
        return HP_ERR_INTERNAL;
    uint64_t at = s->patch_va + s->head_len;
    if (s->island ? !a->short_jump(pt.bytes, at, dest)
                  : !a->jump(pt.bytes + s->head_len, at, dest, s->far, a->entry_scratch))
        return HP_ERR_RANGE;
    memcpy(pt.orig, s->bytes, s->steal_len);
    return hp_edit_add_patch(&p->ed, &pt);
}

/* Send every branch back to the entry to the trampoline. */
static hp_status hp_patch_redirects(hp_plan *p, const hp_hook *h, uint64_t tramp)
{
    const hp_site *s = &h->site;
    if (h->island_va) {
        size_t il = p->arch->jump(NULL, 0, 0, false, 0);
        hp_patch isl = {.va = h->island_va, .len = (uint32_t)il};
        const uint8_t *old = hp_image_bytes(p->img, h->island_va, il);
        if (!old || !p->arch->jump(isl.bytes, h->island_va, tramp, false, 0))
            return HP_ERR_RANGE;
        memcpy(isl.orig, old, il);
        /* An island inside the stolen bytes is already covered by the entry
         * patch; patches must not overlap, so merge it there. */
        if (h->island_va >= s->patch_va && h->island_va < s->patch_va + s->steal_len) {
            hp_patch *entry = &p->ed.patches[p->ed.npatches - 1];
            memcpy(entry->bytes + (h->island_va - s->patch_va), isl.bytes, il);
        } else {
            HP_CHECK(hp_edit_add_patch(&p->ed, &isl));
        }
    }
    for (uint32_t i = 0; i < s->nredirects; i++) {
        uint64_t va = hp_site_redirect_va(s, i);
        uint8_t len = s->redirect_len[i];
        const uint8_t *old = hp_image_bytes(p->img, va, len);
        if (!old)
            return HP_ERR_INTERNAL;
        hp_patch pt = {.va = va, .len = len};
        memcpy(pt.orig, old, len);
        memcpy(pt.bytes, old, len);
        uint64_t to = p->arch->short_branch(old, len) ? h->island_va : tramp;
        if (!p->arch->retarget(pt.bytes, len, va, to))
            return HP_ERR_RANGE;
        HP_CHECK(hp_edit_add_patch(&p->ed, &pt));
    }
    return HP_OK;
}

/* The new code's symbol "<base>.hookpatch_<suffix>", built directly: one
 * per stub, trampoline or moved run. */
static hp_status hp_add_named(hp_plan *p, const char *base, const char *suffix, uint64_t va,
                              uint64_t size)
{
    static const char mid[] = ".hookpatch_";
    size_t a = strlen(base), b = strlen(suffix);
    char *name = hp_malloc(a + sizeof mid - 1 + b + 1);
    if (!name)
        return HP_ERR_NOMEM;
    memcpy(name, base, a);
    memcpy(name + a, mid, sizeof mid - 1);
    memcpy(name + a + sizeof mid - 1, suffix, b + 1);
    return hp_edit_add_sym_owned(&p->ed, name, va, size, true);
}

/* Stubs and trampolines, written into their measured slots of the text
 * region: disjoint bytes per hook, so on every core. */
typedef struct hp_code_job {
    hp_plan *p;
    hp_status *st;     /* per hook */
    uint8_t *pushed;   /* per hook: the trampoline pushes a return address */
} hp_code_job;

static void hp_code_one(void *vj, size_t i)
{
    hp_code_job *j = vj;
    hp_hook *h = &j->p->v[i];
    if (h->state != HP_HOOK_PLANNED)
        return;
    hp_region *text = &j->p->ed.regions[HP_REGION_TEXT];
    if (hp_has_stub(h) && hp_stub(j->p, h, text->va + h->stub_off,
                                  text->bytes.data + h->stub_off) != h->stub_size)
        j->st[i] = HP_ERR_RANGE; /* the layout keeps the table and slots in reach */
    if (hp_hook_needs_tramp(h) && j->st[i] == HP_OK) {
        size_t n = 0;
        bool called = false;
        j->st[i] = hp_tramp(j->p, &h->site, text->va + h->tramp_off,
                            text->bytes.data + h->tramp_off, &n, &called);
        if (j->st[i] == HP_OK && n != h->tramp_size)
            j->st[i] = HP_ERR_INTERNAL; /* measure and emit disagree */
        j->pushed[i] = called && j->p->arch->call_pushes_return;
    }
}

static hp_status hp_emit_code(hp_plan *p)
{
    hp_code_job j = {p, hp_calloc(p->n, sizeof *j.st), hp_calloc(p->n, 1)};
    hp_status s = j.st && j.pushed ? HP_OK : HP_ERR_NOMEM;
    if (s == HP_OK)
        hp_par_for(p->n, 256, 4096, hp_code_one, &j);
    for (size_t i = 0; s == HP_OK && i < p->n; i++) {
        s = j.st[i];
        p->ed.pushed_return |= j.pushed[i];
    }
    hp_free(j.st);
    hp_free(j.pushed);
    return s;
}

static hp_status hp_emit_hook(hp_plan *p, hp_hook *h)
{
    hp_region *text = &p->ed.regions[HP_REGION_TEXT];
    uint64_t stub = text->va + h->stub_off, tramp = text->va + h->tramp_off;
    if (hp_has_stub(h))
        HP_CHECK(hp_add_named(p, h->target->name,
                              h->req->action == HP_ACT_SWITCH ? "switch" : "stub", stub,
                              h->stub_size));
    if (hp_hook_needs_tramp(h))
        HP_CHECK(hp_add_named(p, h->target->name, "orig", tramp, h->tramp_size));
    switch (h->req->action) {
    case HP_ACT_REPLACE: h->dest_va = h->replace->va; break;
    case HP_ACT_PASSTHROUGH: h->dest_va = tramp; break;
    case HP_ACT_OBJECT: HP_CHECK(hp_objects_dest(p, h, &h->dest_va)); break;
    default: h->dest_va = stub; break;
    }
    if (h->site.callsites)
        HP_CHECK(hp_callsites_emit(p, h, h->dest_va));
    else
        HP_CHECK(hp_patch_site(p, &h->site, h->dest_va));
    /* A far prologue reaches a replacement by an indirect branch: under
     * landing-pad enforcement it must start with one (stubs and
     * trampolines do). */
    if (h->site.far && p->img->ibt && h->req->action == HP_ACT_REPLACE) {
        const uint8_t *dest = hp_image_bytes(p->img, h->dest_va, 4);
        if (!dest || !p->arch->landing_at(dest, 4))
            p->ed.removed_landing_pad = true;
    }
    if (hp_hook_needs_redirect(h))
        HP_CHECK(hp_patch_redirects(p, h, tramp));
    if (h->orig)
        HP_CHECK(hp_patch_site(p, h->orig_site, tramp));
    return HP_OK;
}

/* A run moved for an island (move.h): its trampoline, the jump to it at
 * the run's start, and the rest of the run after its islands filled (each
 * island is its owner's patch; a refused owner's stays as it was, dead). */
static hp_status hp_emit_move(hp_plan *p, const hp_move *m)
{
    const hp_arch *a = p->arch;
    hp_region *text = &p->ed.regions[HP_REGION_TEXT];
    uint64_t tramp = text->va + m->tramp_off, at = m->run.patch_va;
    size_t n = 0, il = a->jump(NULL, 0, 0, false, 0);
    bool called = false;
    HP_CHECK(hp_tramp(p, &m->run, tramp, text->bytes.data + m->tramp_off, &n, &called));
    if (n != m->tramp_size)
        return HP_ERR_INTERNAL; /* measure and emit disagree */
    HP_CHECK(hp_add_named(p, m->donor->name, "moved", tramp, m->tramp_size));
    hp_patch jp = {.va = at, .len = (uint32_t)il};
    if (!a->jump(jp.bytes, at, tramp, false, 0))
        return HP_ERR_RANGE;
    memcpy(jp.orig, m->run.bytes, il);
    HP_CHECK(hp_edit_add_patch(&p->ed, &jp));
    size_t used = (m->nislands + 1) * il;
    if (m->run.steal_len > used) {
        hp_patch rest = {.va = at + used, .len = (uint32_t)(m->run.steal_len - used)};
        a->fill(rest.bytes, rest.len);
        memcpy(rest.orig, m->run.bytes + used, rest.len);
        HP_CHECK(hp_edit_add_patch(&p->ed, &rest));
    }
    return HP_OK;
}

/* Give each region its address and zeroed bytes (text: filler) for the
 * sizes measured; the data region's bss tail has no file bytes. */
static hp_status hp_setup_regions(hp_plan *p)
{
    static const uint32_t prot[HP_REGION_COUNT] = {HP_PROT_R | HP_PROT_X, HP_PROT_R,
                                                   HP_PROT_R | HP_PROT_W};
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        hp_region *rg = &p->ed.regions[r];
        rg->va = p->lay.va[r];
        rg->mem_size = p->lay.size[r];
        rg->prot = prot[r];
        uint64_t file = r == HP_REGION_DATA ? p->data_filesz : rg->mem_size;
        HP_CHECK(hp_buf_append_zeros(&rg->bytes, (size_t)file));
        if (r == HP_REGION_TEXT && file)
            p->arch->fill(rg->bytes.data, (size_t)file);
    }
    return HP_OK;
}

/* The layout keeps every jump within reach, so these failures mean
 * an input the earlier passes misjudged: still say which hook, and why. */
static hp_status hp_emit_failed(const hp_plan *p, const hp_hook *h, hp_status s, hp_diags *d)
{
    if (s == HP_ERR_NOMEM)
        return s;
    hp_loc where = {p->img->path, 0, 0};
    hp_diag_add(d, HP_DIAG_ERROR, h ? &h->req->target_loc : &where, h ? h->target->name : NULL,
                "cannot write the %s: %s%s", h ? "hook" : "stubs and trampolines",
                s == HP_ERR_RANGE ? "a jump would be out of " : "",
                s == HP_ERR_RANGE ? p->arch->reach_text : hp_status_str(s));
    return s;
}

hp_status hp_emit(hp_plan *p, hp_diags *d)
{
    HP_CHECK(hp_setup_regions(p));
    HP_CHECK(hp_switch_emit(p));
    hp_status s = hp_emit_code(p);
    if (s != HP_OK)
        return hp_emit_failed(p, NULL, s, d);
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED && (s = hp_emit_hook(p, &p->v[i])) != HP_OK)
            return hp_emit_failed(p, &p->v[i], s, d);
    for (size_t i = 0; i < p->nmoves; i++)
        if (hp_move_live(p, &p->moves[i]) && (s = hp_emit_move(p, &p->moves[i])) != HP_OK)
            return hp_emit_failed(p, &p->v[p->moves[i].owner[0]], s, d);
    HP_CHECK(hp_objects_emit(p, d));
    return hp_info_encode(p, &p->ed.info);
}
