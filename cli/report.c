/* Text and JSON reports. */
#include "report.h"

#include "../base/hp_text.h"
#include "../rewriter/callsite.h"
#include "../rewriter/island.h"
#include "../rewriter/move.h"
#include "../rewriter/switch.h"
#include "../sections/format.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static const char *hp_format_desc(const hp_image *img, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s", img->fmt->name,
             img->shared ? "shared library" : img->pic ? "PIE executable"
                                                       : "executable");
    return buf;
}

/* slice: NULL for a thin file, else the slice's name for the line. */
static void hp_report_summary_one(const hp_report_ctx *c, const char *slice, const hp_plan *p,
                                  const hp_diags *d, FILE *out)
{
    fputs("hookpatch: ", out);
    if (slice)
        hp_text_fprintf(out, "%s slice: ", slice);
    fprintf(out, "hooked %zu function%s, skipped %zu\n", p->nplanned,
            p->nplanned == 1 ? "" : "s", p->nskipped);
    if (c->quiet)
        return;
    for (size_t i = 0; i < p->n; i++) {
        const hp_hook *h = &p->v[i];
        if (h->state != HP_HOOK_SKIPPED)
            continue;
        hp_text_fprintf(out, "  skipped %s (0x%llx): %s", h->target->name,
                        (unsigned long long)h->target->va, hp_hook_skip_reason(h, d));
        fputc('\n', out);
    }
    if (p->ed.removed_landing_pad)
        fprintf(out, "  note: %s\n", p->arch->ibt_note);
    if (p->ed.pushed_return)
        fprintf(out, "  note: a trampoline replays a stolen call; CET shadow stacks are disabled "
                     "in the output\n");
}

void hp_report_summary(const hp_report_ctx *c, const hp_plan *p, const hp_diags *d, FILE *out)
{
    hp_report_summary_one(c, NULL, p, d, out);
}

/* Even -q says which part of the file runs unhooked. */
void hp_report_summary_slices(const hp_report_ctx *c, const hp_report_slices *r,
                              const hp_diags *d, FILE *out)
{
    for (size_t i = 0; i < r->img->nslices; i++) {
        const hp_slice *sl = &r->img->slices[i];
        if (sl->img) {
            hp_report_summary_one(c, sl->arch, &r->plans[i], d, out);
            continue;
        }
        hp_text_fprintf(out, "hookpatch: %s slice: copied unpatched", sl->arch);
        fputc('\n', out);
    }
}

/* entry | island | callsites: how the hook is reached. */
static const char *hp_technique(const hp_site *s)
{
    return s->callsites ? "callsites" : s->island ? "island" : "entry";
}

/* Where an island in moved code came from (rewriter/move.h): the report
 * line's and `list`'s words (hp_json_move: the --json fields of both). */
static void hp_report_move(const hp_move *m, FILE *out)
{
    hp_text_fprintf(out, " in code moved out of %s (0x%llx, %u bytes)", m->donor->name,
                    (unsigned long long)m->run.patch_va, m->run.steal_len);
}

/* LEAD "call sites (N)", then the places not redirected. N counts every
 * place re-pointed: branches, address computations and the loader's words
 * (a relocation's addend and the word it relocates, an export). */
static void hp_report_callsites(const hp_hook *h, const char *lead, FILE *out)
{
    fprintf(out, "%scall sites (%zu)", lead, h->cs ? h->cs->n : 0);
    for (size_t i = 0; h->cs && i < h->cs->nmiss; i++)
        fprintf(out, "%s0x%llx", i ? ", " : "; not redirected: ",
                (unsigned long long)h->cs->miss[i].at);
}

static const char *hp_dest_name(const hp_hook *h)
{
    switch (h->req->action) {
    case HP_ACT_REPLACE: return h->replace ? h->replace->name : "";
    case HP_ACT_PASSTHROUGH: return "trampoline";
    case HP_ACT_RETURN: return "return stub";
    case HP_ACT_TRAP: return "trap stub";
    case HP_ACT_SWITCH: return "dispatch stub";
    case HP_ACT_MARKER:
        return h->req->marker == HP_MARK_CURG ? "current g stub" : "switch table stub";
    default: return h->req->symbol ? h->req->symbol : "";
    }
}

static void hp_report_plan_one(const hp_plan *p, const char *slice, const hp_diags *d,
                               FILE *out)
{
    char desc[64];
    hp_text_fprintf(out, "# %s", p->img->path);
    if (slice)
        hp_text_fprintf(out, " (%s slice)", slice);
    hp_text_fprintf(out, ": %s", hp_format_desc(p->img, desc, sizeof desc));
    fputc('\n', out);
    for (size_t i = 0; i < p->n; i++) {
        const hp_hook *h = &p->v[i];
        if (h->state == HP_HOOK_SKIPPED) {
            hp_text_fprintf(out, "skip %s 0x%llx: %s", h->target->name,
                            (unsigned long long)h->target->va, hp_hook_skip_reason(h, d));
            fputc('\n', out);
            continue;
        }
        /* hookpatch's own hooks are told apart from the rules' */
        hp_text_fprintf(out, "%s %s 0x%llx %s", h->req->action == HP_ACT_MARKER ? "own" : "hook",
                        h->target->name, (unsigned long long)h->target->va,
                        hp_action_name(h->req->action));
        if (h->req->action == HP_ACT_RETURN)
            fprintf(out, " %lld", (long long)h->req->value);
        hp_text_fprintf(out, " -> %s 0x%llx; patch 0x%llx (%u bytes%s%s%s)", hp_dest_name(h),
                        (unsigned long long)h->dest_va, (unsigned long long)h->site.patch_va,
                        h->site.steal_len, h->site.over_endbr ? ", " : "",
                        h->site.over_endbr ? p->arch->landing_name : "",
                        h->site.over_endbr ? " overwritten" : "");
        /* The technique: the jump at the entry unless said otherwise. */
        if (h->site.island)
            fprintf(out, "; island 0x%llx", (unsigned long long)h->site.island_va);
        if (h->move)
            hp_report_move(&p->moves[h->move - 1], out);
        if (h->site.callsites)
            hp_report_callsites(h, "; ", out);
        if (h->orig)
            hp_text_fprintf(out, "; original %s -> trampoline", h->orig->name);
        if (h->orig && h->orig_site && h->orig_site->island)
            fprintf(out, " (its entry: island 0x%llx)",
                    (unsigned long long)h->orig_site->island_va);
        if (h->req->action == HP_ACT_SWITCH)
            fprintf(out, "; slot 0x%llx (%s)", (unsigned long long)hp_switch_slot_va(p, h->slot),
                    hp_switch_abi_name(h->abi));
        fputc('\n', out);
    }
    if (p->sw && p->sw->present)
        fprintf(out, "switch table 0x%llx: %zu entr%s, slots at 0x%llx\n",
                (unsigned long long)hp_switch_table_va(p), p->sw->count,
                p->sw->count == 1 ? "y" : "ies", (unsigned long long)hp_switch_slot_va(p, 0));
}

void hp_report_plan(const hp_plan *p, const hp_diags *d, FILE *out)
{
    hp_report_plan_one(p, NULL, d, out);
}

void hp_report_plan_slices(const hp_report_slices *r, const hp_diags *d, FILE *out)
{
    for (size_t i = 0; i < r->img->nslices; i++) {
        const hp_slice *sl = &r->img->slices[i];
        if (sl->img) {
            hp_report_plan_one(&r->plans[i], sl->arch, d, out);
            continue;
        }
        hp_text_fprintf(out, "# %s (%s slice): copied unpatched", r->img->path, sl->arch);
        fputc('\n', out);
    }
}

/* Every string that may come from the input goes through here: a JSON
 * string must be UTF-8, so invalid bytes become the text \xNN. */
static void hp_json_str(cJSON *o, const char *key, const char *val)
{
    if (hp_text_is_clean(val, HP_TEXT_UTF8)) {
        cJSON_AddStringToObject(o, key, val);
        return;
    }
    char *safe = hp_text_escape(val, HP_TEXT_UTF8);
    cJSON_AddStringToObject(o, key, safe ? safe : "(out of memory)");
    hp_free(safe);
}

/* "moved_from", "moved_address", "moved_bytes" (hp_report_move's words) */
static void hp_json_move(const hp_move *m, cJSON *o)
{
    hp_json_str(o, "moved_from", m->donor->name);
    cJSON_AddNumberToObject(o, "moved_address", (double)m->run.patch_va);
    cJSON_AddNumberToObject(o, "moved_bytes", m->run.steal_len);
}

/* "call_sites": N, "not_redirected": [{"address", "reason"}...] */
static void hp_json_callsites(const hp_hook *h, cJSON *o)
{
    cJSON_AddNumberToObject(o, "call_sites", (double)(h->cs ? h->cs->n : 0));
    cJSON *a = cJSON_AddArrayToObject(o, "not_redirected");
    for (size_t i = 0; a && h->cs && i < h->cs->nmiss; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddNumberToObject(m, "address", (double)h->cs->miss[i].at);
        hp_json_str(m, "reason", h->cs->miss[i].what);
        cJSON_AddItemToArray(a, m);
    }
}

static cJSON *hp_json_hook(const hp_plan *p, const hp_hook *h, const hp_diags *d)
{
    cJSON *o = cJSON_CreateObject();
    hp_json_str(o, "target", h->target->name);
    cJSON_AddNumberToObject(o, "address", (double)h->target->va);
    hp_json_str(o, "action", hp_action_name(h->req->action));
    if (h->req->action == HP_ACT_MARKER)
        hp_json_str(o, "marker", hp_switch_marker_role(h->req->marker));
    else
        cJSON_AddNumberToObject(o, "rule_line", h->req->loc.line);
    if (h->state == HP_HOOK_SKIPPED) {
        hp_json_str(o, "reason", hp_hook_skip_reason(h, d));
        return o;
    }
    cJSON_AddNumberToObject(o, "patch_address", (double)h->site.patch_va);
    cJSON_AddNumberToObject(o, "stolen_bytes", h->site.steal_len);
    cJSON_AddNumberToObject(o, "destination", (double)h->dest_va);
    hp_json_str(o, "destination_name", hp_dest_name(h));
    cJSON_AddBoolToObject(o, "endbr64_overwritten", h->site.over_endbr);
    hp_json_str(o, "technique", hp_technique(&h->site));
    if (h->site.island)
        cJSON_AddNumberToObject(o, "island_address", (double)h->site.island_va);
    if (h->move)
        hp_json_move(&p->moves[h->move - 1], o);
    if (h->site.callsites)
        hp_json_callsites(h, o);
    if (h->req->action == HP_ACT_RETURN)
        cJSON_AddNumberToObject(o, "value", (double)h->req->value);
    if (h->orig)
        hp_json_str(o, "original", h->orig->name);
    if (h->req->action == HP_ACT_SWITCH) {
        cJSON_AddNumberToObject(o, "slot_address", (double)hp_switch_slot_va(p, h->slot));
        hp_json_str(o, "abi", hp_switch_abi_name(h->abi));
    }
    return o;
}

/* The arrays a plan's hooks go into: the rules' planned and skipped ones,
 * and hookpatch's own (the helpers' marker functions). */
typedef struct hp_json_hook_arrays {
    cJSON *hooks, *skipped, *own;
} hp_json_hook_arrays;

/* A plan's hooks into the arrays, each named by slice when not NULL. */
static void hp_json_hooks(const hp_plan *p, const char *slice, const hp_diags *d,
                          const hp_json_hook_arrays *a)
{
    for (size_t i = 0; p->analysed && i < p->n; i++) {
        const hp_hook *h = &p->v[i];
        cJSON *o = hp_json_hook(p, h, d);
        if (slice)
            hp_json_str(o, "slice", slice);
        cJSON *to = h->req->action == HP_ACT_MARKER ? a->own
                    : h->state == HP_HOOK_PLANNED   ? a->hooks
                                                    : a->skipped;
        cJSON_AddItemToArray(to, o);
    }
}

/* "own_hooks" only when there are some: reports of binaries without a
 * helper stay as they were. */
static void hp_json_add_own(cJSON *root, cJSON *own)
{
    if (cJSON_GetArraySize(own))
        cJSON_AddItemToObject(root, "own_hooks", own);
    else
        cJSON_Delete(own);
}

/* {"address", "entries", "slots_address"} when the plan emits a switch
 * table. */
static void hp_json_switch(cJSON *o, const hp_plan *p)
{
    if (!p->sw || !p->sw->present || !p->analysed)
        return;
    cJSON *t = cJSON_AddObjectToObject(o, "switch_table");
    cJSON_AddNumberToObject(t, "address", (double)hp_switch_table_va(p));
    cJSON_AddNumberToObject(t, "entries", (double)p->sw->count);
    cJSON_AddNumberToObject(t, "slots_address", (double)hp_switch_slot_va(p, 0));
}

static cJSON *hp_json_diags(const hp_diags *d)
{
    static const char *const lvl[] = {"error", "warning", "note"};
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; d && i < d->n; i++) {
        const hp_diag *g = &d->v[i];
        if (g->level == HP_DIAG_REASON)
            continue; /* printed with its hook */
        cJSON *o = cJSON_CreateObject();
        hp_json_str(o, "level", lvl[g->level]);
        if (g->file) {
            hp_json_str(o, "file", g->file);
            cJSON_AddNumberToObject(o, "line", g->line);
            cJSON_AddNumberToObject(o, "column", g->col);
        }
        if (g->target)
            hp_json_str(o, "target", g->target);
        if (g->slice)
            hp_json_str(o, "slice", g->slice);
        hp_json_str(o, "message", g->msg);
        if (g->flags & HP_DIAG_MAY_NOT_TAKE_EFFECT)
            cJSON_AddBoolToObject(o, "may_not_take_effect", true);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* {"what", "free", "need_min", "need_max"}: see hp_image.hdr_room. */
static cJSON *hp_json_room(const hp_image *img)
{
    cJSON *o = cJSON_CreateObject();
    hp_json_str(o, "what", img->hdr_room.what);
    cJSON_AddNumberToObject(o, "free", (double)img->hdr_room.free);
    cJSON_AddNumberToObject(o, "need_min", (double)img->hdr_room.need_min);
    cJSON_AddNumberToObject(o, "need_max", (double)img->hdr_room.need_max);
    return o;
}

static hp_status hp_json_print(cJSON *root, FILE *out)
{
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s)
        return HP_ERR_NOMEM;
    /* Strings are UTF-8 already; this keeps DEL and C1 controls, which
     * cJSON passes through, off a terminal showing the document. */
    hp_text_fputs(s, HP_TEXT_JSON_DOC, out);
    fputc('\n', out);
    cJSON_free(s);
    return HP_OK;
}

/* The report's first fields, the same for thin and universal files. */
static cJSON *hp_json_head(const hp_report_ctx *c, const hp_diags *d)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    hp_json_str(root, "input", c->in_path);
    if (c->out_path)
        hp_json_str(root, "output", c->out_path);
    cJSON_AddBoolToObject(root, "dry_run", c->dry_run);
    cJSON_AddBoolToObject(root, "ok", !d || !d->errors);
    return root;
}

/* What the plan of one thin image (a file or a slice) did. */
static void hp_json_plan(cJSON *o, const hp_image *img, const hp_plan *p)
{
    char desc[64];
    hp_json_str(o, "format", hp_format_desc(img, desc, sizeof desc));
    hp_json_str(o, "architecture", hp_arch_for(img)->name);
    cJSON_AddNumberToObject(o, "hooked", (double)p->nplanned);
    cJSON_AddNumberToObject(o, "skipped", (double)p->nskipped);
    cJSON_AddBoolToObject(o, "ibt_disabled", p->ed.removed_landing_pad);
    cJSON_AddBoolToObject(o, "shstk_disabled", p->ed.pushed_return);
    hp_json_switch(o, p);
    if (img->hdr_room.what)
        cJSON_AddItemToObject(o, "header_room", hp_json_room(img));
}

hp_status hp_report_json(const hp_report_ctx *c, const hp_plan *p, const hp_diags *d, FILE *out)
{
    cJSON *root = hp_json_head(c, d);
    if (!root)
        return HP_ERR_NOMEM;
    if (p && p->img) {
        hp_json_plan(root, p->img, p);
        hp_json_hook_arrays a = {cJSON_AddArrayToObject(root, "hooks"),
                                 cJSON_AddArrayToObject(root, "skipped_hooks"),
                                 cJSON_CreateArray()};
        hp_json_hooks(p, NULL, d, &a);
        hp_json_add_own(root, a.own);
    }
    cJSON_AddItemToObject(root, "diagnostics", hp_json_diags(d));
    return hp_json_print(root, out);
}

/* A slice's name, place and whether it was patched (why not, if not),
 * the same in the report and in `list --json`. True when it was. */
static bool hp_json_slice_head(cJSON *o, const hp_slice *sl)
{
    hp_json_str(o, "slice", sl->arch);
    cJSON_AddNumberToObject(o, "offset", (double)sl->file_off);
    cJSON_AddNumberToObject(o, "size", (double)sl->size);
    cJSON_AddBoolToObject(o, "patched", sl->img != NULL);
    if (!sl->img)
        hp_json_str(o, "reason", sl->why ? sl->why : "");
    return sl->img != NULL;
}

static cJSON *hp_json_slice(const hp_slice *sl, const hp_plan *p)
{
    cJSON *o = cJSON_CreateObject();
    if (hp_json_slice_head(o, sl))
        hp_json_plan(o, sl->img, p);
    return o;
}

/* Top level as for a thin file (hooked, skipped: totals; hooks: all, each
 * with its "slice"), plus "slices", one object per slice. */
hp_status hp_report_json_slices(const hp_report_ctx *c, const hp_report_slices *r,
                                const hp_diags *d, FILE *out)
{
    cJSON *root = hp_json_head(c, d);
    if (!root)
        return HP_ERR_NOMEM;
    char desc[64];
    snprintf(desc, sizeof desc, "%s universal binary", r->img->fmt->name);
    hp_json_str(root, "format", desc);
    size_t nh = 0, ns = 0;
    cJSON *slices = cJSON_AddArrayToObject(root, "slices");
    hp_json_hook_arrays a = {cJSON_CreateArray(), cJSON_CreateArray(), cJSON_CreateArray()};
    for (size_t i = 0; i < r->img->nslices; i++) {
        const hp_slice *sl = &r->img->slices[i];
        cJSON_AddItemToArray(slices, hp_json_slice(sl, &r->plans[i]));
        nh += r->plans[i].nplanned;
        ns += r->plans[i].nskipped;
        hp_json_hooks(&r->plans[i], sl->arch, d, &a);
    }
    cJSON_AddNumberToObject(root, "hooked", (double)nh);
    cJSON_AddNumberToObject(root, "skipped", (double)ns);
    cJSON_AddItemToObject(root, "hooks", a.hooks);
    cJSON_AddItemToObject(root, "skipped_hooks", a.skipped);
    hp_json_add_own(root, a.own);
    cJSON_AddItemToObject(root, "diagnostics", hp_json_diags(d));
    return hp_json_print(root, out);
}

/* What `list` asks of a function: a hook that keeps the original. */
static const hp_hook_req hp_list_req = {.action = HP_ACT_PASSTHROUGH};

/* A function whose entry takes neither the jump nor an island: its call
 * sites, as a run would find them with nothing else hooked (*cs; "yes"
 * when one can be re-pointed, else "no" with the reason in why); when
 * they miss a path, an island in moved code instead, as a run takes it
 * (site becomes the island site, lp->moves[0] the run). */
static const char *hp_list_callsites(hp_plan *lp, const hp_xsrcs *xs, const hp_symbol *s,
                                     hp_site *site, hp_callsites *cs, hp_diags *why)
{
    if (site->too_short)
        hp_site_use_callsites(site);
    else
        hp_site_use_callsites_for_branch(site);
    hp_hook h = {.req = &hp_list_req, .target = s, .site = *site};
    hp_islands t = {0};
    hp_status st = hp_callsites_find(lp, &h, xs, &t);
    hp_islands_free(&t);
    char mv[512] = "";
    bool moved = false;
    if (st == HP_OK && h.cs && (!h.cs->n || h.cs->nmiss)) {
        st = hp_move_for(lp, &h, &t, &moved, mv, sizeof mv);
        hp_islands_free(&t);
    }
    if (moved) {
        *site = h.site;
        return st == HP_OK ? "yes" : NULL;
    }
    if (h.cs)
        *cs = *h.cs; /* the arrays, even after a failure: the caller frees them */
    hp_free(h.cs);
    if (st != HP_OK)
        return NULL;
    if (cs->n)
        return "yes";
    char buf[2048];
    h.cs = cs;
    hp_callsites_refusal(lp, &h, buf, sizeof buf);
    return hp_diag_reason(why, NULL, NULL, s->va, "%s%s%s%s", buf,
                          *mv ? "; and an island in moved code (" : "", mv,
                          *mv ? ")" : "") == HP_OK ? "no" : NULL;
}

/* One analysis: can the entry take the jump (or else an island, call
 * sites, moved code, as a run would), then can its stolen bytes be copied
 * into a trampoline. "yes", "replace-only" or "no", with the reason for
 * the last two the last one in why; NULL when a reason could not be
 * recorded. */
static const char *hp_list_status(hp_plan *lp, const hp_xrefs *x, const hp_xsrcs *xs,
                                  const hp_symbol *s, hp_site *site, hp_callsites *cs,
                                  hp_diags *why)
{
    const hp_image *img = lp->img;
    hp_status st = hp_site_analyze(img, s, 0, x, site, why);
    if (st == HP_ERR_NOMEM)
        return NULL;
    /* Too short, or a branch lands in the bytes the jump would take (the
     * function's own loop, or one the table saw): call sites, as a run. */
    bool landed = site->branch_inside ||
                  (site->steal_len && hp_xrefs_any_in(x, site->patch_va,
                                                      site->patch_va + site->steal_len));
    if (st != HP_OK && (site->too_short || landed) && site->arch->retarget_addr)
        return hp_list_callsites(lp, xs, s, site, cs, why);
    if (st != HP_OK)
        return "no";
    /* An entry too short for the jump: its island, with nothing else
     * taken (a run allocates them in hook order; the table of branch
     * targets `list` builds does not watch padding). */
    site->island_va = hp_island_find(img, site, NULL);
    if (site->island && !site->island_va && site->arch->retarget_addr)
        return hp_list_callsites(lp, xs, s, site, cs, why);
    if (site->island && !site->island_va) {
        uint64_t il = site->arch->jump(NULL, 0, 0, false, 0);
        st = hp_diag_reason(why, NULL, NULL, s->va,
                            "too short: %llu bytes and no free padding after it for the "
                            "%llu-byte jump, and no free padding (%llu bytes of int3/nop owned "
                            "by no function) within the %u-byte short jump's reach for an "
                            "island; call-site redirection is not available on this architecture",
                            (unsigned long long)s->size, (unsigned long long)il,
                            (unsigned long long)il, site->arch->short_jump_len);
        return st == HP_OK ? "no" : NULL;
    }
    st = hp_site_check_copy(site, why);
    if (st == HP_ERR_NOMEM)
        return NULL;
    return st == HP_OK ? "yes" : "replace-only";
}

/* The record of the earlier run, line by line: it comes from the file too. */
static void hp_list_prior(const hp_image *img, FILE *out)
{
    const char *p = (const char *)img->prior_info, *end = p + img->prior_info_size;
    fputs("# patched by hookpatch:\n", out);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        hp_text_write(p, (size_t)(stop - p), HP_TEXT_TERMINAL, out);
        fputc('\n', out);
        p = stop + 1;
    }
}

/* The header room line: what place() will check. */
static void hp_list_room(const hp_image *img, FILE *out)
{
    if (!img->hdr_room.what)
        return;
    unsigned long long room = img->hdr_room.free, lo = img->hdr_room.need_min,
                       hi = img->hdr_room.need_max;
    fprintf(out, "# header room: %llu bytes free for %s; hookpatch needs %llu (%llu with object "
                 "mocks' data)%s\n", room, img->hdr_room.what, lo, hi,
            room < lo ? ": too little" : room < hi ? ": too little for object mocks' data" : "");
}

/* One function's line, or its object in arr. */
static hp_status hp_list_one(hp_plan *lp, const hp_xrefs *x, const hp_xsrcs *xs,
                             const hp_symbol *s, cJSON *arr, FILE *out)
{
    hp_diags whys = {0};
    hp_site site = {0};
    hp_callsites cs = {0};
    lp->nmoves = 0;
    const char *st = hp_list_status(lp, x, xs, s, &site, &cs, &whys);
    const hp_move *mv = lp->nmoves ? &lp->moves[0] : NULL;
    hp_hook h = {.target = s, .site = site, .cs = &cs};
    const char *name = s->alias ? s->alias : s->name;
    const char *why = whys.n ? whys.v[whys.n - 1].msg : "";
    hp_marker mk = hp_switch_marker_of(s);
    if (st && !arr) {
        hp_text_fprintf(out, "0x%016llx %8llu %-12s %s%s%s", (unsigned long long)s->va,
                        (unsigned long long)s->size, st, name, *st == 'y' ? "" : "  # ",
                        *st == 'y' ? "" : why);
        if (*st != 'n' && site.island)
            fprintf(out, "  # island 0x%llx", (unsigned long long)site.island_va);
        if (*st != 'n' && mv)
            hp_report_move(mv, out);
        if (*st != 'n' && site.callsites) {
            hp_report_callsites(&h, "  # ", out);
        }
        if (mk != HP_MARK_NONE)
            fprintf(out, "  # hookpatch's own marker (%s)", hp_switch_marker_role(mk));
        fputc('\n', out);
    } else if (st) {
        cJSON *o = cJSON_CreateObject();
        hp_json_str(o, "name", name);
        cJSON_AddNumberToObject(o, "address", (double)s->va);
        cJSON_AddNumberToObject(o, "size", (double)s->size);
        hp_json_str(o, "hookable", st);
        if (*st != 'y')
            hp_json_str(o, "reason", why);
        if (*st != 'n')
            hp_json_str(o, "technique", hp_technique(&site));
        if (*st != 'n' && site.island)
            cJSON_AddNumberToObject(o, "island_address", (double)site.island_va);
        if (*st != 'n' && mv)
            hp_json_move(mv, o);
        if (*st != 'n' && site.callsites)
            hp_json_callsites(&h, o);
        if (mk != HP_MARK_NONE)
            hp_json_str(o, "marker", hp_switch_marker_role(mk));
        cJSON_AddItemToArray(arr, o);
    }
    hp_diags_free(&whys);
    hp_free(cs.v);
    hp_free(cs.miss);
    return st ? HP_OK : HP_ERR_NOMEM;
}

/* The sources of the listed functions that may need call sites: those
 * shorter than the jump, and those a branch lands in the first bytes of
 * (the entry window; a superset): one scan for all of them. */
static hp_status hp_list_sources(const hp_image *img, const char *glob, const hp_xrefs *x,
                                 hp_xsrcs *xs)
{
    const hp_arch *a = hp_arch_for(img);
    uint64_t il = a->jump(NULL, 0, 0, false, 0);
    uint64_t *ent = hp_malloc((img->nsyms ? img->nsyms : 1) * sizeof *ent);
    if (!ent)
        return HP_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < img->nsyms; i++) {
        const hp_symbol *s = &img->syms[i];
        if ((s->size < il || hp_xrefs_any_in(x, s->va, s->va + a->entry_window)) &&
            hp_resolve_matches(s, glob))
            ent[n++] = s->va;
    }
    hp_status st = n ? hp_xsrcs_build(img, ent, n, xs) : HP_OK;
    hp_free(ent);
    return st;
}

/* Text into out, or objects into arr when it is not NULL. */
static hp_status hp_list_into(const hp_image *img, const char *glob, cJSON *arr, FILE *out)
{
    bool json = arr != NULL;
    hp_xrefs xrefs = {0};
    hp_xsrcs xs = {0};
    /* A plan holding only the image and its architecture, for call sites
     * and moved code (its code map made once, when first needed). */
    hp_plan lp = {.img = (hp_image *)img, .arch = hp_arch_for(img)};
    HP_CHECK(hp_xrefs_build(img, NULL, 0, &xrefs));
    hp_status st = hp_list_sources(img, glob, &xrefs, &xs);
    if (!json && img->prior_info && img->prior_info_size)
        hp_list_prior(img, out);
    if (!json) {
        fprintf(out, "# architecture: %s\n", hp_arch_for(img)->name);
        hp_list_room(img, out);
    }
    for (size_t i = 0; st == HP_OK && i < img->nsyms; i++) {
        const hp_symbol *s = &img->syms[i];
        if (!hp_resolve_matches(s, glob))
            continue;
        st = hp_list_one(&lp, &xrefs, &xs, s, arr, out);
    }
    hp_xrefs_free(&xrefs);
    hp_xsrcs_free(&xs);
    hp_plan_free(&lp);
    return st;
}

hp_status hp_list(const hp_image *img, const char *glob, bool json, FILE *out)
{
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (json && !arr)
        return HP_ERR_NOMEM;
    hp_status st = hp_list_into(img, glob, arr, out);
    if (st != HP_OK) {
        cJSON_Delete(arr);
        return st;
    }
    return json ? hp_json_print(arr, out) : HP_OK;
}

static hp_status hp_list_slice_json(const hp_slice *sl, const char *glob, cJSON *all)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return HP_ERR_NOMEM;
    cJSON_AddItemToArray(all, o);
    if (!hp_json_slice_head(o, sl))
        return HP_OK;
    cJSON *fns = cJSON_AddArrayToObject(o, "functions");
    return fns ? hp_list_into(sl->img, glob, fns, NULL) : HP_ERR_NOMEM;
}

hp_status hp_list_slices(const hp_image *img, const char *glob, bool json, FILE *out)
{
    cJSON *all = json ? cJSON_CreateArray() : NULL;
    hp_status st = json && !all ? HP_ERR_NOMEM : HP_OK;
    for (size_t i = 0; st == HP_OK && i < img->nslices; i++) {
        const hp_slice *sl = &img->slices[i];
        if (json) {
            st = hp_list_slice_json(sl, glob, all);
            continue;
        }
        hp_text_fprintf(out, "# slice: %s (offset 0x%llx, %llu bytes)%s%s", sl->arch,
                        (unsigned long long)sl->file_off, (unsigned long long)sl->size,
                        sl->img ? "" : ": copied unpatched: ", sl->img ? "" : sl->why);
        fputc('\n', out);
        if (sl->img)
            st = hp_list_into(sl->img, glob, NULL, out);
    }
    if (st != HP_OK) {
        cJSON_Delete(all);
        return st;
    }
    return json ? hp_json_print(all, out) : HP_OK;
}
