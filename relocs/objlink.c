/* objlink: loading objects, resolving symbols, laying out sections and
 * applying x86-64 relocations. The ELF reader lives in objlink_elf.c.
 *
 * The passes, in order:
 *   add      read + validate an object; register its globals and COMDATs
 *   measure  assign GOT slots; lay sections out in load order, section
 *            index order; report worst-case region sizes
 *   emit     resolve every used symbol (report all failures, emit nothing)
 *            -> copy sections into scratch buffers -> apply relocations
 *            -> fill the GOT -> commit into the edit in one step
 *
 * Alignment: region VAs are only promised to be 16-aligned (the ELF backend
 * puts the program headers in front of the text region). Sections are laid
 * out relative to an anchor aligned to the region's largest section
 * alignment; measure reserves the worst-case gap before the anchor, emit
 * finds the real anchor from the final VA. So sizes never depend on VAs and
 * the layout is the same for the same inputs and addresses. */
#include "objlink_priv.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HP_OL_VA_ALIGN 16u
#define HP_OL_MAX_RELOC_ERRORS 32
#define HP_OL_GOT_SYM "_GLOBAL_OFFSET_TABLE_"

typedef struct hp_ol_bind {
    char *name;
    uint64_t va;
} hp_ol_bind;

struct hp_objlink {
    hp_ol_obj *objs;
    size_t nobjs, objs_cap;
    hp_ol_map globals; /* name -> (object, symbol) of the winning definition */
    hp_ol_map comdats; /* COMDAT signature -> providing object */
    hp_ol_map bindmap; /* name -> index into binds */
    hp_ol_bind *binds;
    size_t nbinds, binds_cap;
    /* Layout (measure). Offsets of sections are relative to each region's
     * anchor; see the comment at the top. */
    bool measured;
    uint64_t text_used;
    uint64_t start[HP_REGION_COUNT];    /* region offset where objects may begin */
    uint64_t maxalign[HP_REGION_COUNT]; /* largest section alignment */
    uint64_t span[HP_REGION_COUNT];     /* anchor-relative end of the last section */
    uint64_t size[HP_REGION_COUNT];     /* measured sizes (as returned) */
    uint64_t data_filespan;             /* anchor-relative end of the GOT */
    uint64_t data_filesz;
    uint64_t got_off; /* anchor-relative */
    uint32_t ngot;
};

/* ---- string map ----------------------------------------------------- */

static uint64_t hp_ol_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static hp_ol_ent *hp_ol_slot(hp_ol_ent *v, size_t cap, const char *key)
{
    size_t i = (size_t)hp_ol_hash(key) & (cap - 1);
    while (v[i].key && strcmp(v[i].key, key))
        i = (i + 1) & (cap - 1);
    return &v[i];
}

hp_ol_ent *hp_ol_map_find(const hp_ol_map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    hp_ol_ent *e = hp_ol_slot(m->v, m->cap, key);
    return e->key ? e : NULL;
}

static hp_status hp_ol_map_grow(hp_ol_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    if (ncap > SIZE_MAX / sizeof(hp_ol_ent))
        return HP_ERR_NOMEM;
    hp_ol_ent *nv = hp_calloc(ncap, sizeof *nv);
    if (!nv)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->v[i].key)
            *hp_ol_slot(nv, ncap, m->v[i].key) = m->v[i];
    hp_free(m->v);
    m->v = nv;
    m->cap = ncap;
    return HP_OK;
}

hp_status hp_ol_map_add(hp_ol_map *m, const char *key, uint32_t a, uint32_t b)
{
    if ((m->n + 1) * 2 > m->cap)
        HP_CHECK(hp_ol_map_grow(m));
    *hp_ol_slot(m->v, m->cap, key) = (hp_ol_ent){key, a, b};
    m->n++;
    return HP_OK;
}

void hp_ol_map_free(hp_ol_map *m)
{
    hp_free(m->v);
    memset(m, 0, sizeof *m);
}

/* ---- lifetime ------------------------------------------------------- */

hp_status hp_objlink_new(hp_objlink **out)
{
    if (!out)
        return HP_ERR_INTERNAL;
    *out = hp_calloc(1, sizeof **out);
    return *out ? HP_OK : HP_ERR_NOMEM;
}

static void hp_ol_obj_free(hp_ol_obj *o)
{
    hp_free(o->path);
    hp_free(o->loc_file);
    hp_free(o->data);
    hp_free(o->secs);
    hp_free(o->syms);
    hp_free(o->relas);
    hp_free(o->comdats);
    memset(o, 0, sizeof *o);
}

void hp_objlink_free(hp_objlink *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nobjs; i++)
        hp_ol_obj_free(&l->objs[i]);
    for (size_t i = 0; i < l->nbinds; i++)
        hp_free(l->binds[i].name);
    hp_free(l->objs);
    hp_free(l->binds);
    hp_ol_map_free(&l->globals);
    hp_ol_map_free(&l->comdats);
    hp_ol_map_free(&l->bindmap);
    hp_free(l);
}

/* ---- loading -------------------------------------------------------- */

static hp_status hp_ol_read_file(const char *path, uint8_t **data, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return HP_ERR_IO;
    struct stat st;
    hp_status s = HP_ERR_IO;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= HP_OL_MAX_REGION) {
        size_t n = (size_t)st.st_size, got = 0;
        *data = hp_malloc(n);
        s = *data ? HP_OK : HP_ERR_NOMEM;
        while (s == HP_OK && got < n) {
            ssize_t k = read(fd, *data + got, n - got);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                s = HP_ERR_IO;
            else
                got += (size_t)k;
        }
        *size = n;
    }
    close(fd);
    return s;
}

static const hp_ol_sym *hp_ol_global_def(const hp_objlink *l, const char *name, size_t *obj)
{
    const hp_ol_ent *e = hp_ol_map_find(&l->globals, name);
    if (!e)
        return NULL;
    if (obj)
        *obj = e->a;
    return &l->objs[e->a].syms[e->b];
}

static bool hp_ol_is_global_def(const hp_ol_sym *s)
{
    return s->defined && s->bind != STB_LOCAL && s->name[0];
}

/* Two strong definitions of one global are an error naming both objects. */
static hp_status hp_ol_check_dups(const hp_objlink *l, const hp_ol_obj *o, hp_diags *d)
{
    hp_status st = HP_OK;
    for (size_t i = 1; i < o->nsyms; i++) {
        const hp_ol_sym *s = &o->syms[i];
        size_t other;
        const hp_ol_sym *prev = hp_ol_is_global_def(s) ? hp_ol_global_def(l, s->name, &other)
                                                       : NULL;
        if (!prev || prev->bind == STB_WEAK || s->bind == STB_WEAK)
            continue;
        hp_diag_add(d, HP_DIAG_ERROR, &o->loc, NULL,
                    "object '%s': symbol '%s' is defined in both '%s' and '%s'", o->path,
                    s->name, l->objs[other].path, o->path);
        st = HP_ERR_LINK;
    }
    return st;
}

/* Publish the object's globals (strong beats weak, else first wins) and
 * COMDAT signatures. */
static hp_status hp_ol_register(hp_objlink *l, size_t oi)
{
    const hp_ol_obj *o = &l->objs[oi];
    for (size_t i = 1; i < o->nsyms; i++) {
        const hp_ol_sym *s = &o->syms[i];
        if (!hp_ol_is_global_def(s))
            continue;
        hp_ol_ent *e = hp_ol_map_find(&l->globals, s->name);
        if (!e)
            HP_CHECK(hp_ol_map_add(&l->globals, s->name, (uint32_t)oi, (uint32_t)i));
        else if (s->bind != STB_WEAK && l->objs[e->a].syms[e->b].bind == STB_WEAK)
            *e = (hp_ol_ent){s->name, (uint32_t)oi, (uint32_t)i};
    }
    for (size_t i = 0; i < o->ncomdats; i++)
        if (!hp_ol_map_find(&l->comdats, o->comdats[i]))
            HP_CHECK(hp_ol_map_add(&l->comdats, o->comdats[i], (uint32_t)oi, 0));
    return HP_OK;
}

static hp_status hp_ol_obj_init(hp_ol_obj *o, const char *path, const hp_loc *loc)
{
    o->path = hp_strdup(path);
    if (!o->path)
        return HP_ERR_NOMEM;
    if (loc) {
        o->loc = *loc;
        if (loc->file && !(o->loc_file = hp_strdup(loc->file)))
            return HP_ERR_NOMEM;
        o->loc.file = o->loc_file;
    }
    return HP_OK;
}

static bool hp_ol_find_path(const hp_objlink *l, const char *path, size_t *obj)
{
    for (size_t i = 0; i < l->nobjs; i++)
        if (!strcmp(l->objs[i].path, path)) {
            *obj = i;
            return true;
        }
    return false;
}

/* Takes ownership of data. */
static hp_status hp_ol_load(hp_objlink *l, hp_ol_obj *o, hp_diags *d, size_t *obj)
{
    HP_CHECK(HP_GROW(l->objs, l->objs_cap, l->nobjs + 1));
    if (l->nobjs >= UINT32_MAX)
        return HP_ERR_LINK;
    HP_CHECK(hp_ol_elf_read(o, &l->comdats, d));
    HP_CHECK(hp_ol_check_dups(l, o, d));
    l->objs[l->nobjs] = *o;
    memset(o, 0, sizeof *o);
    l->measured = false;
    *obj = l->nobjs++;
    return hp_ol_register(l, *obj);
}

static hp_status hp_ol_add_bytes(hp_objlink *l, const char *path, uint8_t *data, size_t size,
                                 const hp_loc *loc, hp_diags *d, size_t *obj)
{
    hp_ol_obj o = {.data = data, .size = size};
    hp_status s = hp_ol_obj_init(&o, path, loc);
    if (s == HP_OK)
        s = hp_ol_load(l, &o, d, obj);
    hp_ol_obj_free(&o);
    return s;
}

hp_status hp_objlink_add(hp_objlink *l, const char *path, const hp_loc *loc, hp_diags *d,
                         size_t *obj)
{
    if (!l || !path || !d || !obj)
        return HP_ERR_INTERNAL;
    if (hp_ol_find_path(l, path, obj))
        return HP_OK;
    uint8_t *data = NULL;
    size_t size = 0;
    hp_status s = hp_ol_read_file(path, &data, &size);
    if (s != HP_OK) {
        hp_free(data);
        hp_diag_add(d, HP_DIAG_ERROR, loc, NULL, "object '%s': cannot read: %s", path,
                    s == HP_ERR_IO ? "not a readable regular file under 1 GiB"
                                   : hp_status_str(s));
        return s;
    }
    return hp_ol_add_bytes(l, path, data, size, loc, d, obj);
}

hp_status hp_objlink_add_mem(hp_objlink *l, const char *name, const uint8_t *data, size_t size,
                             const hp_loc *loc, hp_diags *d, size_t *obj)
{
    if (!l || !name || (!data && size) || !d || !obj)
        return HP_ERR_INTERNAL;
    if (hp_ol_find_path(l, name, obj))
        return HP_OK;
    uint8_t *copy = hp_malloc(size);
    if (!copy)
        return HP_ERR_NOMEM;
    if (size)
        memcpy(copy, data, size);
    return hp_ol_add_bytes(l, name, copy, size, loc, d, obj);
}

/* ---- queries -------------------------------------------------------- */

/* The symbol named sym in obj: a defined global first, then a defined
 * local, then a global whose COMDAT copy was discarded here. */
static const hp_ol_sym *hp_ol_own(const hp_ol_obj *o, const char *sym, bool func_only)
{
    const hp_ol_sym *local = NULL, *dup = NULL;
    for (size_t i = 1; i < o->nsyms; i++) {
        const hp_ol_sym *s = &o->syms[i];
        if (strcmp(s->name, sym) || (func_only && s->type != STT_FUNC) ||
            s->type == STT_SECTION || s->type == STT_FILE)
            continue;
        if (s->defined && s->bind != STB_LOCAL)
            return s;
        if (s->defined && !local)
            local = s;
        if (s->dup && !dup)
            dup = s;
    }
    return local ? local : dup;
}

bool hp_objlink_defines(const hp_objlink *l, size_t obj, const char *sym)
{
    return l && sym && obj < l->nobjs && hp_ol_own(&l->objs[obj], sym, true) != NULL;
}

hp_status hp_objlink_bind(hp_objlink *l, const char *name, uint64_t va)
{
    if (!l || !name)
        return HP_ERR_INTERNAL;
    hp_ol_ent *e = hp_ol_map_find(&l->bindmap, name);
    if (e) {
        l->binds[e->a].va = va;
        return HP_OK;
    }
    HP_CHECK(HP_GROW(l->binds, l->binds_cap, l->nbinds + 1));
    char *n = hp_strdup(name);
    if (!n)
        return HP_ERR_NOMEM;
    hp_status s = hp_ol_map_add(&l->bindmap, n, (uint32_t)l->nbinds, 0);
    if (s != HP_OK) {
        hp_free(n);
        return s;
    }
    l->binds[l->nbinds++] = (hp_ol_bind){n, va};
    return HP_OK;
}

/* ---- measure -------------------------------------------------------- */

static bool hp_ol_kept(const hp_ol_sec *s) { return s->region != HP_OL_DROP && !s->discarded; }

/* One GOT slot per (object, symbol) referenced through the GOT. Slots are
 * reserved even for loads that emit may relax: relaxing depends on final
 * addresses, sizes must not. */
static void hp_ol_assign_got(hp_objlink *l)
{
    l->ngot = 0;
    for (size_t i = 0; i < l->nobjs; i++)
        for (size_t k = 0; k < l->objs[i].nsyms; k++)
            l->objs[i].syms[k].got = HP_OL_NO_GOT;
    for (size_t i = 0; i < l->nobjs; i++) {
        hp_ol_obj *o = &l->objs[i];
        for (size_t k = 0; k < o->nrelas; k++) {
            hp_ol_sym *s = &o->syms[o->relas[k].sym];
            if (hp_ol_rel_needs_got(o->relas[k].type) && s->got == HP_OL_NO_GOT)
                s->got = l->ngot++;
        }
    }
}

static bool hp_ol_needs_got(const hp_objlink *l)
{
    for (size_t i = 0; i < l->nobjs; i++) {
        const hp_ol_obj *o = &l->objs[i];
        if (o->needs_got)
            return true;
        for (size_t k = 1; k < o->nsyms; k++)
            if (o->syms[k].used && !o->syms[k].defined && !strcmp(o->syms[k].name, HP_OL_GOT_SYM))
                return true;
    }
    return false;
}

/* Place the kept sections of region r (of the given kind) after *cur. */
static hp_status hp_ol_place(hp_objlink *l, int r, bool nobits, uint64_t *cur)
{
    for (size_t i = 0; i < l->nobjs; i++)
        for (size_t k = 0; k < l->objs[i].nsecs; k++) {
            hp_ol_sec *s = &l->objs[i].secs[k];
            if (!hp_ol_kept(s) || s->region != r || s->nobits != nobits)
                continue;
            s->out_off = hp_align_up(*cur, s->align);
            *cur = s->out_off + s->size;
            if (s->align > l->maxalign[r])
                l->maxalign[r] = s->align;
            if (*cur > HP_OL_MAX_REGION)
                return HP_ERR_RANGE;
        }
    return HP_OK;
}

static hp_status hp_ol_place_data(hp_objlink *l)
{
    uint64_t cur = 0;
    HP_CHECK(hp_ol_place(l, HP_REGION_DATA, false, &cur));
    uint64_t nslots = l->ngot ? l->ngot : hp_ol_needs_got(l) ? 1 : 0;
    if (nslots) {
        l->got_off = hp_align_up(cur, 8);
        cur = l->got_off + nslots * 8;
        if (l->maxalign[HP_REGION_DATA] < 8)
            l->maxalign[HP_REGION_DATA] = 8;
    }
    l->data_filespan = cur;
    HP_CHECK(hp_ol_place(l, HP_REGION_DATA, true, &cur));
    l->span[HP_REGION_DATA] = cur;
    return cur > HP_OL_MAX_REGION ? HP_ERR_RANGE : HP_OK;
}

/* Worst-case bytes before the anchor for a 16-aligned region VA. */
static uint64_t hp_ol_slack(const hp_objlink *l, int r)
{
    return l->maxalign[r] > HP_OL_VA_ALIGN ? l->maxalign[r] - HP_OL_VA_ALIGN : 0;
}

static uint64_t hp_ol_extent(const hp_objlink *l, int r, uint64_t span)
{
    uint64_t base = r == HP_REGION_TEXT ? l->text_used : 0;
    return span ? l->start[r] + hp_ol_slack(l, r) + span - base : 0;
}

hp_status hp_objlink_measure(hp_objlink *l, uint64_t text_used, uint64_t size[HP_REGION_COUNT])
{
    if (!l || !size || text_used > HP_OL_MAX_REGION)
        return HP_ERR_INTERNAL;
    l->measured = false;
    memset(l->maxalign, 0, sizeof l->maxalign);
    l->got_off = 0;
    l->text_used = text_used;
    l->start[HP_REGION_TEXT] = hp_align_up(text_used, HP_OL_VA_ALIGN);
    hp_ol_assign_got(l);
    uint64_t text = 0, ro = 0;
    HP_CHECK(hp_ol_place(l, HP_REGION_TEXT, false, &text));
    HP_CHECK(hp_ol_place(l, HP_REGION_RODATA, false, &ro));
    HP_CHECK(hp_ol_place_data(l));
    l->span[HP_REGION_TEXT] = text;
    l->span[HP_REGION_RODATA] = ro;
    for (int r = 0; r < HP_REGION_COUNT; r++)
        size[r] = l->size[r] = hp_ol_extent(l, r, l->span[r]);
    l->data_filesz = hp_ol_extent(l, HP_REGION_DATA, l->data_filespan);
    l->measured = true;
    return HP_OK;
}

uint64_t hp_objlink_data_filesz(const hp_objlink *l) { return l && l->measured ? l->data_filesz : 0; }

/* Region offset of region r's anchor once the region sits at va. */
static uint64_t hp_ol_anchor(const hp_objlink *l, int r, uint64_t va)
{
    uint64_t a = l->maxalign[r] ? l->maxalign[r] : 1;
    return hp_align_up(va + l->start[r], a) - va;
}

static uint64_t hp_ol_def_va(const hp_objlink *l, const hp_ol_obj *o, const hp_ol_sym *s,
                             const uint64_t va[HP_REGION_COUNT])
{
    if (s->absolute)
        return s->value;
    const hp_ol_sec *sec = &o->secs[s->shndx];
    return va[sec->region] + hp_ol_anchor(l, sec->region, va[sec->region]) + sec->out_off +
           s->value;
}

static void hp_ol_region_vas(const hp_edit *ed, uint64_t va[HP_REGION_COUNT])
{
    for (int r = 0; r < HP_REGION_COUNT; r++)
        va[r] = ed->regions[r].va;
}

hp_status hp_objlink_symbol_va(const hp_objlink *l, size_t obj, const char *sym,
                               const hp_edit *ed, uint64_t *va)
{
    if (!l || !sym || !ed || !va || obj >= l->nobjs || !l->measured)
        return HP_ERR_INTERNAL;
    const hp_ol_obj *o = &l->objs[obj];
    const hp_ol_sym *s = hp_ol_own(o, sym, false);
    if (s && s->dup)
        s = hp_ol_global_def(l, sym, &obj), o = &l->objs[obj];
    if (!s)
        return HP_ERR_RESOLVE;
    uint64_t rv[HP_REGION_COUNT];
    hp_ol_region_vas(ed, rv);
    *va = hp_ol_def_va(l, o, s, rv);
    return HP_OK;
}

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

__attribute__((format(printf, 4, 5))) static void hp_ol_err(hp_ol_out *out, const hp_ol_obj *o,
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

static bool hp_ol_resolve_undef(hp_ol_out *out, hp_ol_sym *s, hp_obj_lookup_fn lookup,
                                void *ctx)
{
    const hp_objlink *l = out->l;
    size_t oi;
    const hp_ol_sym *def = hp_ol_global_def(l, s->name, &oi);
    const hp_ol_ent *e;
    s->absolute = false;
    if (def) {
        s->va = hp_ol_def_va(l, &l->objs[oi], def, out->va);
        s->absolute = def->absolute;
        s->size = def->size;
        s->sized = true;
    } else if ((e = hp_ol_map_find(&l->bindmap, s->name))) {
        s->va = l->binds[e->a].va;
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
        hp_ol_obj *o = &out->l->objs[i];
        for (size_t k = 0; k < o->nsyms; k++) {
            hp_ol_sym *s = &o->syms[k];
            if (s->defined)
                s->va = hp_ol_def_va(out->l, o, s, out->va);
            else if (s->used && !hp_ol_resolve_undef(out, s, lookup, ctx)) {
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
            const hp_ol_sec *s = &l->objs[i].secs[k];
            if (hp_ol_kept(s) && !s->nobits && s->size)
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
    const hp_ol_obj *o;
    const hp_ol_rela *r;
    const hp_ol_sym *sym;
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
              hp_ol_rel_name(x->r->type), x->sym->name, (unsigned long long)v, what);
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
              hp_ol_rel_name(x->r->type), x->sym->name);
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
                         hp_ol_rel_name(x->r->type), x->sym->name);
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
            hp_ol_put_small(x, S + A, hp_ol_rel_width(x->r->type), false);
        return;
    case R_X86_64_PC16:
    case R_X86_64_PC8: return hp_ol_put_small(x, S + A - P, hp_ol_rel_width(x->r->type), true);
    case R_X86_64_SIZE32:
    case R_X86_64_SIZE64: return hp_ol_apply_size(x);
    default: return hp_ol_apply_got(x, x->out->got_va);
    }
}

static hp_status hp_ol_apply_obj(hp_ol_out *out, const hp_ol_obj *o)
{
    hp_status st = HP_OK;
    for (size_t k = 0; k < o->nrelas; k++) {
        const hp_ol_rela *r = &o->relas[k];
        const hp_ol_sec *sec = &o->secs[r->sec];
        const hp_ol_sym *sym = &o->syms[r->sym];
        uint64_t off = out->anchor[sec->region] + sec->out_off + r->off;
        hp_ol_rel x = {out, o, r, sym, sec->region, hp_ol_at(out, sec->region, off),
                       out->va[sec->region] + off, sym->va, 0, r->addend, HP_OK};
        if (sym->got != HP_OL_NO_GOT)
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
        const hp_ol_obj *o = &out->l->objs[i];
        for (size_t k = 0; k < o->nsyms; k++) {
            const hp_ol_sym *s = &o->syms[k];
            if (s->got == HP_OL_NO_GOT)
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
        const hp_ol_obj *o = &l->objs[i];
        for (size_t k = 1; k < o->nsyms; k++) {
            const hp_ol_sym *s = &o->syms[k];
            if (s->defined && !s->absolute && s->type == STT_FUNC && s->name[0])
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
