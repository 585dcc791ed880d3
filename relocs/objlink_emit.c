/* objlink emit: resolving symbols, copying sections, applying x86-64
 * relocations and committing the result into the edit, all or nothing.
 *
 * x86-64 notes: every relocation is RELA (explicit addend). PC-relative
 * fields are S + A - P and must fit in a signed 32 bits. R_X86_64_32 is
 * zero-extended and R_X86_64_32S sign-extended; neither can follow a PIC
 * image, so both are refused in a PIC output unless the symbol is
 * absolute. GOTPCRELX/REX_GOTPCRELX are relaxed the way GNU ld does (mov ->
 * lea, call * -> addr32 call, jmp * -> jmp; nop) when the target is in
 * reach and moves with the image; otherwise the load goes through a GOT
 * slot, which a PIC output rebases. */
#include "objlink_priv.h"

#include <elf.h>
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
        memset(out->buf[r], r == HP_REGION_TEXT ? 0xcc : 0, out->len[r]);
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

/* One relocation being applied. */
typedef struct hp_ol_rel {
    hp_ol_out *out;
    const hp_obj *o;
    const hp_obj_rela *r;
    const hp_obj_sym *sym;
    int region;
    uint8_t *p; /* the bytes being patched */
    uint64_t P, S, G; /* place, symbol, GOT slot address */
    int64_t A;
    hp_status st;
} hp_ol_rel;

static void hp_ol_overflow(hp_ol_rel *x, uint64_t v, const char *what)
{
    hp_ol_err(x->out, x->o, &x->st,
              "section '%s' offset 0x%llx: relocation %s against '%s' overflows: value 0x%llx "
              "does not fit in %s", x->o->secs[x->r->sec].name, (unsigned long long)x->r->off,
              hp_obj_rel_name(x->r->type), x->sym->name, (unsigned long long)v, what);
}

static bool hp_ol_fits_s(uint64_t v, unsigned bits)
{
    int64_t s = (int64_t)v, lim = (int64_t)1 << (bits - 1);
    return s >= -lim && s < lim;
}

static void hp_ol_put_s32(hp_ol_rel *x, uint64_t v)
{
    if (!hp_ol_fits_s(v, 32))
        return hp_ol_overflow(x, v, "a signed 32-bit field (out of +-2 GiB reach)");
    hp_wr32(x->p, (uint32_t)v);
}

/* R_X86_64_16/8 are bitfields: either signed or unsigned interpretation. */
static void hp_ol_put_small(hp_ol_rel *x, uint64_t v, unsigned bytes, bool pcrel)
{
    unsigned bits = bytes * 8;
    bool ok = hp_ol_fits_s(v, bits) || (!pcrel && v < (1ull << bits));
    if (!ok)
        return hp_ol_overflow(x, v, bytes == 2 ? "16 bits" : "8 bits");
    if (bytes == 2)
        hp_wr16(x->p, (uint16_t)v);
    else
        x->p[0] = (uint8_t)v;
}

/* Absolute 32-bit values cannot follow a position-independent image. */
static bool hp_ol_abs32_ok(hp_ol_rel *x)
{
    if (!x->out->pic || x->sym->absolute)
        return true;
    hp_ol_err(x->out, x->o, &x->st,
              "section '%s' offset 0x%llx: relocation %s against '%s' cannot be used in a "
              "position-independent output; recompile the mock with -fPIC",
              x->o->secs[x->r->sec].name, (unsigned long long)x->r->off,
              hp_obj_rel_name(x->r->type), x->sym->name);
    return false;
}

static void hp_ol_abs64(hp_ol_rel *x)
{
    hp_wr64(x->p, x->S + (uint64_t)x->A);
    if (!x->out->pic || x->sym->absolute)
        return;
    if (x->region == HP_REGION_TEXT)
        return hp_ol_err(x->out, x->o, &x->st,
                         "section '%s' offset 0x%llx: R_X86_64_64 against '%s' in code needs a "
                         "text relocation in a position-independent output; use a "
                         "RIP-relative lea", x->o->secs[x->r->sec].name,
                         (unsigned long long)x->r->off, x->sym->name);
    if (hp_ol_add_abs(x->out, x->P) != HP_OK)
        x->st = HP_ERR_NOMEM;
}

/* GOTPCRELX: mov foo@GOTPCREL(%rip),%reg -> lea foo(%rip),%reg;
 * call *foo@GOTPCREL(%rip) -> addr32 call foo; jmp * -> jmp foo; nop.
 * Only when the target is in reach and moves with the image. */
static bool hp_ol_relax(hp_ol_rel *x)
{
    uint64_t v = x->S + (uint64_t)x->A - x->P;
    if (x->sym->absolute || x->r->off < 2 || !hp_ol_fits_s(v, 32) || !hp_ol_fits_s(v + 1, 32))
        return false;
    uint8_t *op = x->p - 2, modrm = x->p[-1];
    if (x->r->type == R_X86_64_REX_GOTPCRELX &&
        (x->r->off < 3 || (x->p[-3] & 0xf0) != 0x40))
        return false;
    if (*op == 0x8b && (modrm & 0xc7) == 0x05) {
        *op = 0x8d;
        hp_wr32(x->p, (uint32_t)v);
        return true;
    }
    if (x->r->type != R_X86_64_GOTPCRELX || *op != 0xff || (modrm != 0x15 && modrm != 0x25))
        return false;
    if (modrm == 0x15) {
        op[0] = 0x67; /* addr32 prefix keeps the length */
        op[1] = 0xe8;
        hp_wr32(x->p, (uint32_t)v);
    } else { /* the jmp is one byte earlier, so its displacement is one larger */
        op[0] = 0xe9;
        hp_wr32(x->p - 1, (uint32_t)(v + 1));
        x->p[3] = 0x90;
    }
    return true;
}

static void hp_ol_apply_got(hp_ol_rel *x, uint64_t got_base)
{
    uint64_t A = (uint64_t)x->A;
    switch (x->r->type) {
    case R_X86_64_GOTPCRELX:
    case R_X86_64_REX_GOTPCRELX:
        if (hp_ol_relax(x))
            return;
        /* fall through */
    case R_X86_64_GOTPCREL: return hp_ol_put_s32(x, x->G + A - x->P);
    case R_X86_64_GOT32: return hp_ol_put_s32(x, x->G - got_base + A);
    case R_X86_64_GOT64:
    case R_X86_64_GOTPLT64: return hp_wr64(x->p, x->G - got_base + A);
    case R_X86_64_GOTPCREL64: return hp_wr64(x->p, x->G + A - x->P);
    case R_X86_64_GOTOFF64:
    case R_X86_64_PLTOFF64: return hp_wr64(x->p, x->S + A - got_base);
    case R_X86_64_GOTPC32: return hp_ol_put_s32(x, got_base + A - x->P);
    case R_X86_64_GOTPC64: return hp_wr64(x->p, got_base + A - x->P);
    }
}

static void hp_ol_apply_size(hp_ol_rel *x)
{
    uint64_t v = x->sym->size + (uint64_t)x->A;
    if (!x->sym->sized)
        return hp_ol_err(x->out, x->o, &x->st,
                         "section '%s' offset 0x%llx: %s against '%s', whose size is unknown",
                         x->o->secs[x->r->sec].name, (unsigned long long)x->r->off,
                         hp_obj_rel_name(x->r->type), x->sym->name);
    if (x->r->type == R_X86_64_SIZE64)
        return hp_wr64(x->p, v);
    if (v > UINT32_MAX)
        return hp_ol_overflow(x, v, "32 bits");
    hp_wr32(x->p, (uint32_t)v);
}

static void hp_ol_apply_one(hp_ol_rel *x)
{
    uint64_t S = x->S, A = (uint64_t)x->A, P = x->P;
    switch (x->r->type) {
    case R_X86_64_64: return hp_ol_abs64(x);
    case R_X86_64_PC64: return hp_wr64(x->p, S + A - P);
    case R_X86_64_PLT32:
    case 40: /* R_X86_64_PLT32_BND */
        /* `if (weak_fn) weak_fn();` with weak_fn missing: the call never
         * runs, and address 0 may be out of reach. Branch to the next
         * instruction instead of failing the link. */
        if (x->sym->absolute && !S && !hp_ol_fits_s(A - P, 32))
            return hp_wr32(x->p, 0);
        /* fall through */
    case R_X86_64_PC32:
    case 39: /* R_X86_64_PC32_BND */ return hp_ol_put_s32(x, S + A - P);
    case R_X86_64_32:
        if (!hp_ol_abs32_ok(x))
            return;
        if (S + A > UINT32_MAX)
            return hp_ol_overflow(x, S + A, "an unsigned 32-bit field");
        return hp_wr32(x->p, (uint32_t)(S + A));
    case R_X86_64_32S:
        if (hp_ol_abs32_ok(x))
            hp_ol_put_s32(x, S + A);
        return;
    case R_X86_64_16:
    case R_X86_64_8:
        if (hp_ol_abs32_ok(x))
            hp_ol_put_small(x, S + A, hp_obj_rel_width(x->r->type), false);
        return;
    case R_X86_64_PC16:
    case R_X86_64_PC8: return hp_ol_put_small(x, S + A - P, hp_obj_rel_width(x->r->type), true);
    case R_X86_64_SIZE32:
    case R_X86_64_SIZE64: return hp_ol_apply_size(x);
    default: return hp_ol_apply_got(x, x->out->got_va);
    }
}

static hp_status hp_ol_apply_obj(hp_ol_out *out, const hp_obj *o)
{
    hp_status st = HP_OK;
    for (size_t k = 0; k < o->nrelas; k++) {
        const hp_obj_rela *r = &o->relas[k];
        const hp_obj_sec *sec = &o->secs[r->sec];
        const hp_obj_sym *sym = &o->syms[r->sym];
        uint64_t off = out->anchor[sec->region] + sec->out_off + r->off;
        hp_ol_rel x = {out, o, r, sym, sec->region, hp_ol_at(out, sec->region, off),
                       out->va[sec->region] + off, sym->va, 0, r->addend, HP_OK};
        if (sym->got != HP_OBJ_NO_GOT)
            x.G = out->got_va + (uint64_t)sym->got * 8;
        hp_ol_apply_one(&x);
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
        hp_status s = hp_ol_apply_obj(out, &out->l->objs[i]);
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
