/* Switchable hooks: the table, the slots and the marker stubs (switch.h).
 *
 * Why a table found through a marker: test binaries are linked without a
 * symbol table (go test -s -w), so the helpers cannot look up a variable
 * hookpatch added. They can call a function of their own, though, and
 * hookpatch can replace its body: the marker returns the table's address,
 * PC-relative, so nothing needs a relocation in PIE/PIC outputs. */
#include "switch.h"

#include "../sections/debug/gopclntab.h"

#include <stdlib.h>
#include <string.h>

const hp_switch_marker hp_switch_markers[] = {
    {"hookpatch_switch_table", HP_MARK_TABLE},                  /* include/hookpatch.h */
    {"hookpatch.dev/mock.hookpatchSwitchTable", HP_MARK_TABLE}, /* go/mock */
    {"hookpatch.dev/mock.hookpatchCurG", HP_MARK_CURG},         /* go/mock: its g */
};
const size_t hp_switch_nmarkers = sizeof hp_switch_markers / sizeof hp_switch_markers[0];

/* Table plus slots: far below what the new regions may hold (2 GiB), and
 * count stays a uint32. */
#define HP_SWITCH_MAX_COUNT ((size_t)1 << 24)

hp_status hp_switch_init(hp_plan *p)
{
    if (p->sw)
        return HP_OK;
    hp_switch *sw = hp_calloc(1, sizeof *sw);
    if (!sw)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < hp_switch_nmarkers; i++) {
        hp_hook_req *r = &sw->marks[i];
        r->loc = r->target_loc = r->action_loc = (hp_loc){p->img->path, 0, 0};
        /* Never freed through hp_hook_reqs_free: these requests are not in
         * the user's list, and the name is static. */
        r->target = (char *)hp_switch_markers[i].name;
        r->target_kind = HP_TGT_NAME;
        r->action = HP_ACT_MARKER;
        r->marker = hp_switch_markers[i].kind;
    }
    p->sw = sw;
    return HP_OK;
}

void hp_switch_free(hp_switch *sw)
{
    if (!sw)
        return;
    hp_free(sw->order);
    hp_free(sw);
}

hp_marker hp_switch_marker_of(const hp_symbol *s)
{
    for (size_t i = 0; i < hp_switch_nmarkers; i++)
        if (hp_symbol_matches(s, hp_switch_markers[i].name))
            return hp_switch_markers[i].kind;
    return HP_MARK_NONE;
}

const char *hp_switch_marker_role(hp_marker m)
{
    return m == HP_MARK_TABLE ? "switch_table" : m == HP_MARK_CURG ? "current_g" : "";
}

/* Asked of the pclntab itself, not of the symbols' source: a Go binary
 * that keeps its .symtab names every function there, so hp_go_load adds no
 * HP_SRC_PCLNTAB symbol for them. */
hp_call_abi hp_switch_abi(const hp_gotab *t, const hp_symbol *s)
{
    hp_gofunc f;
    uint64_t i;
    if (!t || hp_gotab_find(t, s->va, &i) != HP_OK || hp_gotab_func(t, i, &f) != HP_OK)
        return HP_ABI_C;
    return f.entry_va == s->va ? HP_ABI_GO : HP_ABI_C;
}

const char *hp_switch_abi_name(hp_call_abi abi)
{
    return abi == HP_ABI_GO ? "go" : "c";
}

typedef struct hp_switch_key {
    uint64_t va;
    size_t hook;
} hp_switch_key;

static int hp_switch_cmp(const void *a, const void *b)
{
    const hp_switch_key *x = a, *y = b;
    return x->va < y->va ? -1 : x->va > y->va;
}

/* The planned switch hooks, sorted by target (claims are unique per
 * address, so the targets are too). */
static hp_status hp_switch_sort(hp_plan *p, hp_switch *sw)
{
    hp_switch_key *k = hp_malloc(sw->count * sizeof *k);
    if (!(sw->order = hp_malloc(sw->count * sizeof *sw->order)) || !k) {
        hp_free(k);
        return HP_ERR_NOMEM;
    }
    /* The function table, opened once (no image: only the function
     * table, not the inline trees' gofunc, which is a search). */
    const hp_image *img = p->img;
    hp_gotab t;
    bool go = img->pclntab && hp_gotab_open(img->pclntab, img->pclntab_size, img->go_text_va,
                                            NULL, &t, NULL, 0) == HP_OK;
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].state == HP_HOOK_PLANNED && p->v[i].req->action == HP_ACT_SWITCH)
            k[n++] = (hp_switch_key){p->v[i].target->va, i};
    qsort(k, n, sizeof *k, hp_switch_cmp);
    for (size_t j = 0; j < n; j++) {
        hp_hook *h = &p->v[k[j].hook];
        sw->order[j] = k[j].hook;
        h->slot = j;
        h->abi = hp_switch_abi(go ? &t : NULL, h->target);
    }
    hp_free(k);
    return HP_OK;
}

hp_status hp_switch_prepare(hp_plan *p)
{
    hp_switch *sw = p->sw;
    if (!sw)
        return HP_OK;
    hp_free(sw->order);
    sw->order = NULL;
    sw->count = 0;
    sw->has_marker = sw->present = false;
    for (size_t i = 0; i < p->n; i++) {
        const hp_hook *h = &p->v[i];
        if (h->state != HP_HOOK_PLANNED)
            continue;
        sw->count += h->req->action == HP_ACT_SWITCH;
        sw->present |= h->req->action == HP_ACT_SWITCH || h->req->action == HP_ACT_MARKER;
        sw->has_marker |= h->req->action == HP_ACT_MARKER && h->req->marker == HP_MARK_TABLE;
    }
    return sw->count ? hp_switch_sort(p, sw) : HP_OK;
}

/* Switch rules, but nothing in the binary can set a slot. */
static hp_status hp_switch_warn_no_marker(const hp_plan *p, const hp_switch *sw, hp_diags *d)
{
    const hp_hook *h = &p->v[sw->order[0]];
    bool go = p->img->pclntab != NULL;
    return hp_diag_add_flagged(
        d, HP_DIAG_MAY_NOT_TAKE_EFFECT, &h->req->target_loc, h->req->target,
        "no switch helper in this binary (no marker function '%s'): nothing can set the "
        "switch slots, so the %zu switchable function%s always run%s the original; %s",
        go ? hp_switch_markers[1].name : hp_switch_markers[0].name, sw->count,
        sw->count == 1 ? "" : "s", sw->count == 1 ? "s" : "",
        go ? "import \"hookpatch.dev/mock\" in the tests and set them with mock.Patch"
           : "include include/hookpatch.h, with HOOKPATCH_IMPLEMENTATION defined in one "
                "file, and set them with hookpatch_set");
}

hp_status hp_switch_measure(hp_plan *p, hp_diags *d)
{
    hp_switch *sw = p->sw;
    if (!sw || !sw->present)
        return HP_OK;
    if (sw->count > HP_SWITCH_MAX_COUNT) {
        const hp_hook *h = &p->v[sw->order[0]];
        return hp_diag_add(d, HP_DIAG_ERROR, &h->req->target_loc, h->req->target,
                           "the switch table would not fit: %zu switchable functions (at most "
                           "%zu)", sw->count, HP_SWITCH_MAX_COUNT) == HP_OK
                   ? HP_ERR_RANGE
                   : HP_ERR_NOMEM;
    }
    if (sw->count && !sw->has_marker)
        HP_CHECK(hp_switch_warn_no_marker(p, sw, d));
    uint64_t *ro = &p->lay.size[HP_REGION_RODATA], *data = &p->lay.size[HP_REGION_DATA];
    sw->table_off = hp_align_up(*ro, 8);
    *ro = sw->table_off + HP_SWITCH_HEAD + (uint64_t)sw->count * HP_SWITCH_ENTRY;
    sw->slots_off = hp_align_up(*data, 8);
    *data = sw->slots_off + (uint64_t)sw->count * 8;
    return HP_OK;
}

uint64_t hp_switch_table_va(const hp_plan *p)
{
    return p->ed.regions[HP_REGION_RODATA].va + p->sw->table_off;
}

uint64_t hp_switch_slot_va(const hp_plan *p, size_t slot)
{
    return p->ed.regions[HP_REGION_DATA].va + p->sw->slots_off + 8 * (uint64_t)slot;
}

hp_status hp_switch_emit(hp_plan *p)
{
    const hp_switch *sw = p->sw;
    if (!sw || !sw->present)
        return HP_OK;
    hp_region *ro = &p->ed.regions[HP_REGION_RODATA];
    uint64_t size = HP_SWITCH_HEAD + (uint64_t)sw->count * HP_SWITCH_ENTRY;
    if (ro->bytes.len < sw->table_off + size)
        return HP_ERR_INTERNAL;
    uint8_t *t = ro->bytes.data + sw->table_off;
    uint64_t table = hp_switch_table_va(p), text = p->ed.regions[HP_REGION_TEXT].va;
    memset(t, 0, size);
    memcpy(t, HP_SWITCH_MAGIC, 8);
    hp_wr32(t + 8, HP_SWITCH_VERSION);
    hp_wr32(t + 12, (uint32_t)sw->count);
    hp_wr64(t + 16, hp_switch_slot_va(p, 0) - table);
    hp_wr32(t + 24, HP_SWITCH_ENTRY);
    for (size_t k = 0; k < sw->count; k++) {
        const hp_hook *h = &p->v[sw->order[k]];
        uint8_t *e = t + HP_SWITCH_HEAD + k * HP_SWITCH_ENTRY;
        hp_wr64(e, h->target->va - table);
        hp_wr64(e + 8, text + h->tramp_off - table);
        hp_wr32(e + 16, (uint32_t)h->abi);
    }
    return HP_OK;
}

size_t hp_switch_stub(const hp_plan *p, const hp_hook *h, uint64_t at_va, uint8_t *out)
{
    const hp_arch *a = p->arch;
    bool emit = out != NULL;
    if (h->req->action == HP_ACT_SWITCH) {
        uint64_t tramp = p->ed.regions[HP_REGION_TEXT].va + h->tramp_off;
        return a->dispatch(out, at_va, emit ? hp_switch_slot_va(p, h->slot) : 0,
                           emit ? tramp : 0, h->abi);
    }
    if (h->req->marker == HP_MARK_CURG)
        return a->ret_go_g(out);
    return a->ret_addr(out, at_va, emit ? hp_switch_table_va(p) : 0);
}
