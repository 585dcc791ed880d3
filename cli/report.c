/* Text and JSON reports. */
#include "report.h"

#include "../base/hp_text.h"
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

/* "; not patched: the arm64 slice at 0x8000, ..." for a universal file, so
 * that even -q says that part of the file runs unhooked. */
static void hp_report_unpatched(const hp_image *img, FILE *out)
{
    for (size_t i = 0; i < img->nunpatched; i++)
        hp_text_fprintf(out, "%s the %s slice at 0x%llx", i ? "," : "; not patched:",
                        img->unpatched[i].arch,
                        (unsigned long long)img->unpatched[i].file_off);
}

void hp_report_summary(const hp_report_ctx *c, const hp_plan *p, const hp_diags *d, FILE *out)
{
    fprintf(out, "hookpatch: hooked %zu function%s, skipped %zu", p->nplanned,
            p->nplanned == 1 ? "" : "s", p->nskipped);
    hp_report_unpatched(p->img, out);
    fputc('\n', out);
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

static const char *hp_dest_name(const hp_hook *h)
{
    switch (h->req->action) {
    case HP_ACT_REPLACE: return h->replace ? h->replace->name : "";
    case HP_ACT_PASSTHROUGH: return "trampoline";
    case HP_ACT_RETURN: return "return stub";
    case HP_ACT_TRAP: return "trap stub";
    default: return h->req->symbol ? h->req->symbol : "";
    }
}

void hp_report_plan(const hp_plan *p, const hp_diags *d, FILE *out)
{
    char desc[64];
    hp_text_fprintf(out, "# %s: %s", p->img->path, hp_format_desc(p->img, desc, sizeof desc));
    fputc('\n', out);
    for (size_t i = 0; i < p->n; i++) {
        const hp_hook *h = &p->v[i];
        if (h->state == HP_HOOK_SKIPPED) {
            hp_text_fprintf(out, "skip %s 0x%llx: %s", h->target->name,
                            (unsigned long long)h->target->va, hp_hook_skip_reason(h, d));
            fputc('\n', out);
            continue;
        }
        hp_text_fprintf(out, "hook %s 0x%llx %s", h->target->name,
                        (unsigned long long)h->target->va, hp_action_name(h->req->action));
        if (h->req->action == HP_ACT_RETURN)
            fprintf(out, " %lld", (long long)h->req->value);
        hp_text_fprintf(out, " -> %s 0x%llx; patch 0x%llx (%u bytes%s%s%s)", hp_dest_name(h),
                        (unsigned long long)h->dest_va, (unsigned long long)h->site.patch_va,
                        h->site.steal_len, h->site.over_endbr ? ", " : "",
                        h->site.over_endbr ? p->arch->landing_name : "",
                        h->site.over_endbr ? " overwritten" : "");
        if (h->orig)
            hp_text_fprintf(out, "; original %s -> trampoline", h->orig->name);
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

static cJSON *hp_json_hook(const hp_hook *h, const hp_diags *d)
{
    cJSON *o = cJSON_CreateObject();
    hp_json_str(o, "target", h->target->name);
    cJSON_AddNumberToObject(o, "address", (double)h->target->va);
    hp_json_str(o, "action", hp_action_name(h->req->action));
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
    if (h->req->action == HP_ACT_RETURN)
        cJSON_AddNumberToObject(o, "value", (double)h->req->value);
    if (h->orig)
        hp_json_str(o, "original", h->orig->name);
    return o;
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
        hp_json_str(o, "message", g->msg);
        if (g->flags & HP_DIAG_MAY_NOT_TAKE_EFFECT)
            cJSON_AddBoolToObject(o, "may_not_take_effect", true);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *hp_json_slices(const hp_image *img)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < img->nunpatched; i++) {
        cJSON *o = cJSON_CreateObject();
        hp_json_str(o, "arch", img->unpatched[i].arch);
        cJSON_AddNumberToObject(o, "offset", (double)img->unpatched[i].file_off);
        cJSON_AddNumberToObject(o, "size", (double)img->unpatched[i].size);
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

hp_status hp_report_json(const hp_report_ctx *c, const hp_plan *p, const hp_diags *d, FILE *out)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return HP_ERR_NOMEM;
    hp_json_str(root, "input", c->in_path);
    if (c->out_path)
        hp_json_str(root, "output", c->out_path);
    cJSON_AddBoolToObject(root, "dry_run", c->dry_run);
    cJSON_AddBoolToObject(root, "ok", !d || !d->errors);
    if (p && p->img) {
        char desc[64];
        hp_json_str(root, "format", hp_format_desc(p->img, desc, sizeof desc));
        hp_json_str(root, "architecture", hp_arch_for(p->img)->name);
        cJSON_AddNumberToObject(root, "hooked", (double)p->nplanned);
        cJSON_AddNumberToObject(root, "skipped", (double)p->nskipped);
        cJSON_AddBoolToObject(root, "ibt_disabled", p->ed.removed_landing_pad);
        cJSON_AddBoolToObject(root, "shstk_disabled", p->ed.pushed_return);
        if (p->img->nunpatched)
            cJSON_AddItemToObject(root, "unpatched_slices", hp_json_slices(p->img));
        if (p->img->hdr_room.what)
            cJSON_AddItemToObject(root, "header_room", hp_json_room(p->img));
        cJSON *hooks = cJSON_AddArrayToObject(root, "hooks");
        cJSON *skipped = cJSON_AddArrayToObject(root, "skipped_hooks");
        for (size_t i = 0; p->analysed && i < p->n; i++)
            cJSON_AddItemToArray(p->v[i].state == HP_HOOK_PLANNED ? hooks : skipped,
                                 hp_json_hook(&p->v[i], d));
    }
    cJSON_AddItemToObject(root, "diagnostics", hp_json_diags(d));
    return hp_json_print(root, out);
}

/* One analysis: can the entry take the jump, then can its stolen bytes be
 * copied into a trampoline. "yes", "replace-only" or "no", with the reason
 * for the last two the last one in why; NULL when a reason could not be
 * recorded. */
static const char *hp_list_status(const hp_image *img, const hp_xrefs *x, const hp_symbol *s,
                                  hp_diags *why)
{
    hp_site site;
    hp_status st = hp_site_analyze(img, s, 0, x, &site, why);
    if (st == HP_ERR_NOMEM)
        return NULL;
    if (st != HP_OK)
        return "no";
    st = hp_site_check_copy(&site, why);
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
static hp_status hp_list_one(const hp_image *img, const hp_xrefs *x, const hp_symbol *s,
                             cJSON *arr, FILE *out)
{
    hp_diags whys = {0};
    const char *st = hp_list_status(img, x, s, &whys);
    const char *name = s->alias ? s->alias : s->name;
    const char *why = whys.n ? whys.v[whys.n - 1].msg : "";
    if (st && !arr) {
        hp_text_fprintf(out, "0x%016llx %8llu %-12s %s%s%s", (unsigned long long)s->va,
                        (unsigned long long)s->size, st, name, *st == 'y' ? "" : "  # ",
                        *st == 'y' ? "" : why);
        fputc('\n', out);
    } else if (st) {
        cJSON *o = cJSON_CreateObject();
        hp_json_str(o, "name", name);
        cJSON_AddNumberToObject(o, "address", (double)s->va);
        cJSON_AddNumberToObject(o, "size", (double)s->size);
        hp_json_str(o, "hookable", st);
        if (*st != 'y')
            hp_json_str(o, "reason", why);
        cJSON_AddItemToArray(arr, o);
    }
    hp_diags_free(&whys);
    return st ? HP_OK : HP_ERR_NOMEM;
}

hp_status hp_list(const hp_image *img, const char *glob, bool json, FILE *out)
{
    hp_xrefs xrefs = {0};
    HP_CHECK(hp_xrefs_build(img, NULL, 0, &xrefs));
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    hp_status st = json && !arr ? HP_ERR_NOMEM : HP_OK;
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
        st = hp_list_one(img, &xrefs, s, arr, out);
    }
    hp_xrefs_free(&xrefs);
    if (st != HP_OK) {
        cJSON_Delete(arr);
        return st;
    }
    return json ? hp_json_print(arr, out) : HP_OK;
}
