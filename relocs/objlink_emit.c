/* objlink emit: resolving symbols, copying sections, applying relocations
 * and committing the result into the edit, all or nothing. Applying one
 * relocation is the architecture's (objlink_arch.h: objlink_x86.c,
 * objlink_arm64.c); the helpers they report through are here. */
#include "objlink_priv.h"

#include <string.h>

#define HP_OL_MAX_RELOC_ERRORS 32

/* ---- emit: the output under construction ---------------------------- */

typedef struct hp_ol_out {
    hp_objlink *l;
    hp_diags *d;
    bool pic;
    uint64_t va[HP_REGION_COUNT];
    uint64_t anchor[HP_REGION_COUNT];
    uint64_t base[HP_REGION_COUNT]; /* region offset of buf[r][0] */
    uint8_t *buf[HP_REGION_COUNT];
    uint64_t len[HP_REGION_COUNT];
    uint64_t got_va;
    uint64_t *abs;
    size_t nabs, abs_cap;
    unsigned nerr;
} hp_ol_out;

static const char *const hp_ol_region_names[HP_REGION_COUNT] = {"text", "rodata", "data"};

/* The edit's regions must be what measure asked for. */
static hp_status hp_ol_check_regions(const hp_objlink *l, const hp_edit *ed, hp_diags *d)
{
    uint64_t need[HP_REGION_COUNT] = {l->size[HP_REGION_TEXT] ? l->text_used + l->size[0] : 0,
                                      l->size[HP_REGION_RODATA], l->data_filesz};
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        const hp_region *rg = &ed->regions[r];
        bool ok = !l->size[r] || (rg->va % HP_OL_VA_ALIGN == 0 && rg->bytes.len >= need[r] &&
                                  (r != HP_REGION_DATA || rg->mem_size >= l->size[r]));
        if (!ok) {
            hp_diag_add(d, HP_DIAG_ERROR, NULL, NULL,
                        "objlink: the %s region was not set up as measured (va 0x%llx, %zu "
                        "bytes, need %llu and 16-byte alignment)", hp_ol_region_names[r],
                        (unsigned long long)rg->va, rg->bytes.len, (unsigned long long)need[r]);
            return HP_ERR_INTERNAL;
        }
    }
    return HP_OK;
}

__attribute__((format(printf, 4, 5))) static void hp_ol_err(hp_ol_out *out, const hp_obj *o,
                                                            hp_status *st, const char *fmt, ...)
{
    *st = HP_ERR_LINK;
    if (out->nerr++ >= HP_OL_MAX_RELOC_ERRORS)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = hp_vasprintf(fmt, ap);
    va_end(ap);
    hp_diag_add(out->d, HP_DIAG_ERROR, &o->loc, NULL, "object '%s': %s", o->path,
                msg ? msg : "(out of memory)");
    hp_free(msg);
}

/* ---- emit: symbol resolution ---------------------------------------- */

static bool hp_ol_resolve_undef(hp_ol_out *out, const hp_obj *o, hp_obj_sym *s,
                                hp_obj_lookup_fn lookup, void *ctx)
{
    const hp_objlink *l = out->l;
    size_t oi;
    const hp_obj_sym *def = hp_ol_global_def(l, s->name, &oi);
    const hp_ol_bind *b;
    s->absolute = false;
    if (def) {
        s->va = hp_ol_def_va(l, &l->objs[oi], def, out->va);
        s->absolute = def->absolute;
        s->size = def->size;
        s->sized = true;
    } else if ((b = hp_ol_find_bind(l, o, s->name))) { /* Mach-O's _f finds f too */
        s->va = b->va;
    } else if (!strcmp(s->name, HP_OL_GOT_SYM)) {
        s->va = out->got_va;
    } else if (!(lookup && s->name[0] && lookup(ctx, s->name, &s->va) == HP_OK)) {
        if (s->bind != STB_WEAK)
            return false;
        s->va = 0; /* an unresolved weak reference is null */
        s->absolute = true;
    }
    return true;
}

static hp_status hp_ol_resolve(hp_ol_out *out, hp_obj_lookup_fn lookup, void *ctx)
{
    hp_status st = HP_OK;
    for (size_t i = 0; i < out->l->nobjs; i++) {
        hp_obj *o = &out->l->objs[i];
        for (size_t k = 0; k < o->nsyms; k++) {
            hp_obj_sym *s = &o->syms[k];
            if (s->defined)
                s->va = hp_ol_def_va(out->l, o, s, out->va);
            else if (s->used && !hp_ol_resolve_undef(out, o, s, lookup, ctx)) {
                hp_diag_add(out->d, HP_DIAG_ERROR, &o->loc, NULL,
                            "object '%s': undefined symbol '%s'", o->path, s->name);
                st = HP_ERR_LINK;
            }
        }
    }
    return st;
}

/* ---- emit: section contents ----------------------------------------- */

static uint8_t *hp_ol_at(hp_ol_out *out, int r, uint64_t region_off)
{
    return out->buf[r] + (region_off - out->base[r]);
}

static hp_status hp_ol_build(hp_ol_out *out)
{
    const hp_objlink *l = out->l;
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        out->base[r] = r == HP_REGION_TEXT ? l->text_used : 0;
        out->len[r] = r == HP_REGION_DATA ? l->data_filesz : l->size[r];
        out->buf[r] = hp_malloc(out->len[r]);
        if (!out->buf[r])
            return HP_ERR_NOMEM;
        memset(out->buf[r], r == HP_REGION_TEXT ? l->arch->text_pad : 0, out->len[r]);
    }
    for (size_t i = 0; i < l->nobjs; i++)
        for (size_t k = 0; k < l->objs[i].nsecs; k++) {
            const hp_obj_sec *s = &l->objs[i].secs[k];
            if (hp_obj_kept(s) && !s->nobits && s->size)
                memcpy(hp_ol_at(out, s->region, out->anchor[s->region] + s->out_off), s->data,
                       s->size);
        }
    return HP_OK;
}

static hp_status hp_ol_add_abs(hp_ol_out *out, uint64_t va)
{
    HP_CHECK(HP_GROW(out->abs, out->abs_cap, out->nabs + 1));
    out->abs[out->nabs++] = va;
    return HP_OK;
}

/* ---- emit: relocations ---------------------------------------------- */

void hp_ol_rel_err(hp_ol_rel *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = hp_vasprintf(fmt, ap);
    va_end(ap);
    hp_ol_err(x->out, x->o, &x->st, "section '%s' offset 0x%llx: %s", x->o->secs[x->r->sec].name,
              (unsigned long long)x->r->off, msg ? msg : "(out of memory)");
    hp_free(msg);
}

const char *hp_ol_rel_name(const hp_ol_rel *x) { return hp_obj_rel_name(x->o->machine, x->r->type); }

void hp_ol_overflow(hp_ol_rel *x, uint64_t v, const char *what)
{
    hp_ol_rel_err(x, "relocation %s against '%s' overflows: value 0x%llx does not fit in %s",
                  hp_ol_rel_name(x), x->sym->name, (unsigned long long)v, what);
}

bool hp_ol_abs_narrow_ok(hp_ol_rel *x)
{
    if (!x->pic || x->sym->absolute)
        return true;
    hp_ol_rel_err(x, "relocation %s against '%s' cannot be used in a position-independent "
                     "output; recompile the mock with -fPIC", hp_ol_rel_name(x), x->sym->name);
    return false;
}

void hp_ol_abs64(hp_ol_rel *x, const char *hint)
{
    hp_wr64(x->p, x->S + (uint64_t)x->A);
    if (!x->pic || x->sym->absolute)
        return;
    if (x->region == HP_REGION_TEXT)
        return hp_ol_rel_err(x, "%s against '%s' in code needs a text relocation in a "
                                "position-independent output; %s", hp_ol_rel_name(x),
                             x->sym->name, hint);
    if (hp_ol_add_abs(x->out, x->P) != HP_OK)
        x->st = HP_ERR_NOMEM;
}

/* The veneer reserved for this relocation, if the architecture has any. */
static void hp_ol_find_veneer(hp_ol_out *out, hp_ol_rel *x, size_t oi)
{
    const hp_objlink *l = out->l;
    if (!l->arch->veneer_size || !l->arch->needs_veneer(x->r->type))
        return;
    size_t v = hp_ol_veneer_find(l, (uint32_t)oi, x->r->sym, x->A);
    if (v == SIZE_MAX)
        return;
    uint64_t off = out->anchor[HP_REGION_TEXT] + l->ven_off + v * l->arch->veneer_size;
    x->veneer = hp_ol_at(out, HP_REGION_TEXT, off);
    x->V = out->va[HP_REGION_TEXT] + off;
}

static hp_status hp_ol_apply_obj(hp_ol_out *out, size_t oi)
{
    const hp_obj *o = &out->l->objs[oi];
    hp_status st = HP_OK;
    for (size_t k = 0; k < o->nrelas; k++) {
        const hp_obj_rela *r = &o->relas[k];
        const hp_obj_sec *sec = &o->secs[r->sec];
        const hp_obj_sym *sym = &o->syms[r->sym];
        uint64_t off = out->anchor[sec->region] + sec->out_off + r->off;
        hp_ol_rel x = {.out = out, .o = o, .r = r, .sym = sym, .region = sec->region,
                       .p = hp_ol_at(out, sec->region, off), .P = out->va[sec->region] + off,
                       .S = sym->va, .A = r->addend, .pic = out->pic, .got_base = out->got_va};
        if (sym->got != HP_OBJ_NO_GOT)
            x.G = out->got_va + (uint64_t)sym->got * 8;
        hp_ol_find_veneer(out, &x, oi);
        out->l->arch->apply(&x);
        if (x.st == HP_ERR_NOMEM)
            return x.st;
        if (x.st != HP_OK)
            st = x.st;
    }
    return st;
}

/* Fill the GOT; a PIC output rebases every slot that holds an image VA. */
static hp_status hp_ol_fill_got(hp_ol_out *out)
{
    for (size_t i = 0; i < out->l->nobjs; i++) {
        const hp_obj *o = &out->l->objs[i];
        for (size_t k = 0; k < o->nsyms; k++) {
            const hp_obj_sym *s = &o->syms[k];
            if (s->got == HP_OBJ_NO_GOT)
                continue;
            uint64_t slot = out->anchor[HP_REGION_DATA] + out->l->got_off + (uint64_t)s->got * 8;
            hp_wr64(hp_ol_at(out, HP_REGION_DATA, slot), s->va);
            if (out->pic && !s->absolute)
                HP_CHECK(hp_ol_add_abs(out, out->va[HP_REGION_DATA] + slot));
        }
    }
    return HP_OK;
}

static hp_status hp_ol_apply_all(hp_ol_out *out)
{
    hp_status st = HP_OK;
    for (size_t i = 0; i < out->l->nobjs; i++) {
        hp_status s = hp_ol_apply_obj(out, i);
        if (s == HP_ERR_NOMEM)
            return s;
        if (s != HP_OK)
            st = s;
    }
    if (out->nerr > HP_OL_MAX_RELOC_ERRORS)
        hp_diag_add(out->d, HP_DIAG_NOTE, NULL, NULL, "objlink: %u more relocation errors",
                    out->nerr - HP_OL_MAX_RELOC_ERRORS);
    return st != HP_OK ? st : hp_ol_fill_got(out);
}

/* ---- emit: commit --------------------------------------------------- */

static hp_status hp_ol_add_syms(const hp_objlink *l, hp_edit *ed)
{
    for (size_t i = 0; i < l->nobjs; i++) {
        const hp_obj *o = &l->objs[i];
        for (size_t k = 1; k < o->nsyms; k++) {
            const hp_obj_sym *s = &o->syms[k];
            if (s->defined && !s->absolute && hp_obj_is_func(o, s) && s->name[0])
                HP_CHECK(hp_edit_add_sym(ed, s->name, s->va, s->size, true));
        }
    }
    return HP_OK;
}

static hp_status hp_ol_commit(hp_ol_out *out, hp_edit *ed)
{
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        hp_region *rg = &ed->regions[r];
        if (!out->l->size[r])
            continue;
        if (out->len[r])
            memcpy(rg->bytes.data + out->base[r], out->buf[r], out->len[r]);
        uint64_t end = r == HP_REGION_DATA ? out->l->size[r] : 0; /* zero the bss we own */
        if (end > rg->bytes.len)
            end = rg->bytes.len;
        if (end > out->len[r])
            memset(rg->bytes.data + out->len[r], 0, end - out->len[r]);
    }
    for (size_t i = 0; i < out->nabs; i++)
        HP_CHECK(hp_edit_add_abs_ptr(ed, out->abs[i]));
    return hp_ol_add_syms(out->l, ed);
}

static hp_status hp_ol_emit_passes(hp_ol_out *out, hp_edit *ed, hp_obj_lookup_fn lookup,
                                   void *ctx)
{
    const hp_objlink *l = out->l;
    HP_CHECK(hp_ol_check_regions(l, ed, out->d));
    hp_ol_region_vas(ed, out->va);
    for (int r = 0; r < HP_REGION_COUNT; r++)
        out->anchor[r] = hp_ol_anchor(l, r, out->va[r]);
    out->got_va = out->va[HP_REGION_DATA] + out->anchor[HP_REGION_DATA] + l->got_off;
    HP_CHECK(hp_ol_resolve(out, lookup, ctx));
    HP_CHECK(hp_ol_build(out));
    HP_CHECK(hp_ol_apply_all(out));
    return hp_ol_commit(out, ed);
}

hp_status hp_objlink_emit(hp_objlink *l, hp_edit *ed, bool pic, hp_obj_lookup_fn lookup,
                          void *ctx, hp_diags *d)
{
    if (!l || !ed || !d || !l->measured)
        return HP_ERR_INTERNAL;
    hp_ol_out out = {.l = l, .d = d, .pic = pic};
    hp_status st = hp_ol_emit_passes(&out, ed, lookup, ctx);
    for (int r = 0; r < HP_REGION_COUNT; r++)
        hp_free(out.buf[r]);
    hp_free(out.abs);
    return st;
}
