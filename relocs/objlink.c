/* objlink: loading objects, the global symbol and COMDAT tables, queries
 * and layout. The objects are read by sections/ (hp_obj_read picks the
 * ELF, COFF or Mach-O reader; sections/object.h is the model they fill);
 * resolution, relocation and the commit into the edit are objlink_emit.c.
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

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- lifetime ------------------------------------------------------- */

const hp_ol_arch *hp_ol_arch_for(hp_machine m)
{
    return m == HP_MACH_ARM64 ? &hp_ol_arch_arm64 : &hp_ol_arch_x86_64;
}

hp_status hp_objlink_new(hp_machine machine, hp_objlink **out)
{
    if (!out || (machine != HP_MACH_X86_64 && machine != HP_MACH_ARM64))
        return HP_ERR_INTERNAL;
    *out = hp_calloc(1, sizeof **out);
    if (!*out)
        return HP_ERR_NOMEM;
    (*out)->machine = machine;
    (*out)->arch = hp_ol_arch_for(machine);
    return HP_OK;
}

void hp_objlink_free(hp_objlink *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nobjs; i++)
        hp_obj_free(&l->objs[i]);
    for (size_t i = 0; i < l->nbinds; i++)
        hp_free(l->binds[i].name);
    hp_free(l->objs);
    hp_free(l->binds);
    hp_free(l->ven);
    hp_map_free(&l->globals);
    hp_map_free(&l->comdats);
    hp_map_free(&l->bindmap);
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
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= HP_OBJ_MAX_REGION) {
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

const hp_obj_sym *hp_ol_global_def(const hp_objlink *l, const char *name, size_t *obj)
{
    const hp_map_ent *e = hp_map_find(&l->globals, name);
    if (!e)
        return NULL;
    if (obj)
        *obj = e->a;
    return &l->objs[e->a].syms[e->b];
}

static bool hp_ol_is_global_def(const hp_obj_sym *s)
{
    return s->defined && s->bind != STB_LOCAL && s->name[0];
}

/* Two strong definitions of one global are an error naming both objects. */
static hp_status hp_ol_check_dups(const hp_objlink *l, const hp_obj *o, hp_diags *d)
{
    hp_status st = HP_OK;
    for (size_t i = 1; i < o->nsyms; i++) {
        const hp_obj_sym *s = &o->syms[i];
        size_t other;
        const hp_obj_sym *prev = hp_ol_is_global_def(s) ? hp_ol_global_def(l, s->name, &other)
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
    const hp_obj *o = &l->objs[oi];
    for (size_t i = 1; i < o->nsyms; i++) {
        const hp_obj_sym *s = &o->syms[i];
        if (!hp_ol_is_global_def(s))
            continue;
        hp_map_ent *e = hp_map_find(&l->globals, s->name);
        if (!e)
            HP_CHECK(hp_map_add(&l->globals, s->name, (uint32_t)oi, (uint32_t)i));
        else if (s->bind != STB_WEAK && l->objs[e->a].syms[e->b].bind == STB_WEAK)
            *e = (hp_map_ent){s->name, (uint32_t)oi, (uint32_t)i};
    }
    for (size_t i = 0; i < o->ncomdats; i++)
        if (!hp_map_find(&l->comdats, o->comdats[i]))
            HP_CHECK(hp_map_add(&l->comdats, o->comdats[i], (uint32_t)oi, 0));
    return HP_OK;
}

static hp_status hp_ol_obj_init(hp_obj *o, const char *path, const hp_loc *loc)
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

bool hp_objlink_find(const hp_objlink *l, const char *path, size_t *obj)
{
    for (size_t i = 0; i < l->nobjs; i++)
        if (!strcmp(l->objs[i].path, path)) {
            *obj = i;
            return true;
        }
    return false;
}

/* Code for one instruction set cannot run in a binary of another. */
static hp_status hp_ol_check_machine(const hp_objlink *l, const hp_obj *o, hp_diags *d)
{
    if (o->machine == l->machine)
        return HP_OK;
    hp_diag_add(d, HP_DIAG_ERROR, &o->loc, NULL,
                "object '%s': its code is %s, but the binary's is %s", o->path,
                hp_obj_machine_name(o->machine), hp_obj_machine_name(l->machine));
    return HP_ERR_LINK;
}

/* Takes ownership of data. */
static hp_status hp_ol_load(hp_objlink *l, hp_obj *o, hp_diags *d, size_t *obj)
{
    HP_CHECK(HP_GROW(l->objs, l->objs_cap, l->nobjs + 1));
    if (l->nobjs >= UINT32_MAX)
        return HP_ERR_LINK;
    HP_CHECK(hp_obj_read(o, &l->comdats, d));
    HP_CHECK(hp_ol_check_machine(l, o, d));
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
    hp_obj o = {.data = data, .size = size};
    hp_status s = hp_ol_obj_init(&o, path, loc);
    if (s == HP_OK)
        s = hp_ol_load(l, &o, d, obj);
    hp_obj_free(&o);
    return s;
}

hp_status hp_objlink_add(hp_objlink *l, const char *path, const hp_loc *loc, hp_diags *d,
                         size_t *obj)
{
    if (!l || !path || !d || !obj)
        return HP_ERR_INTERNAL;
    if (hp_objlink_find(l, path, obj))
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
    if (hp_objlink_find(l, name, obj))
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
 * local, then a global whose COMDAT copy was discarded here. With c_name,
 * names are compared in their source-level spelling (hp_c_name). */
static const hp_obj_sym *hp_ol_own_as(const hp_obj *o, const char *sym, bool func_only,
                                      bool c_name)
{
    const hp_obj_sym *local = NULL, *dup = NULL;
    for (size_t i = 1; i < o->nsyms; i++) {
        const hp_obj_sym *s = &o->syms[i];
        const char *name = c_name ? hp_c_name(s->name) : s->name;
        if (!name || strcmp(name, sym) ||
            (func_only && !hp_obj_is_func(o, s)) ||
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

/* Rules name functions at source level; where C names carry an underscore
 * (Mach-O spells f as _f) f also finds _f (the exact spelling wins). */
static const hp_obj_sym *hp_ol_own(const hp_obj *o, const char *sym, bool func_only)
{
    const hp_obj_sym *s = hp_ol_own_as(o, sym, func_only, false);
    return s || !o->c_underscore ? s : hp_ol_own_as(o, sym, func_only, true);
}

const hp_ol_bind *hp_ol_find_bind(const hp_objlink *l, const hp_obj *o, const char *name)
{
    const hp_map_ent *e = hp_map_find(&l->bindmap, name);
    const char *c_name = o->c_underscore ? hp_c_name(name) : NULL;
    if (!e && c_name)
        e = hp_map_find(&l->bindmap, c_name);
    return e ? &l->binds[e->a] : NULL;
}

bool hp_objlink_defines(const hp_objlink *l, size_t obj, const char *sym)
{
    if (!l || !sym || obj >= l->nobjs)
        return false;
    const hp_obj *o = &l->objs[obj];
    const hp_obj_sym *s = hp_ol_own(o, sym, true);
    if (s && s->dup) /* the kept COMDAT copy must be code too */
        s = hp_ol_global_def(l, s->name, &obj), o = s ? &l->objs[obj] : o;
    return s && !s->dup && hp_obj_is_func(o, s);
}

const char *hp_objlink_section_of(const hp_objlink *l, size_t obj, const char *sym)
{
    if (!l || !sym || obj >= l->nobjs)
        return NULL;
    const hp_obj *o = &l->objs[obj];
    const hp_obj_sym *s = hp_ol_own(o, sym, false);
    return s && s->defined && !s->absolute && s->shndx < o->nsecs ? o->secs[s->shndx].name
                                                                 : NULL;
}

hp_status hp_objlink_bind(hp_objlink *l, const char *name, uint64_t va)
{
    if (!l || !name)
        return HP_ERR_INTERNAL;
    hp_map_ent *e = hp_map_find(&l->bindmap, name);
    if (e) {
        l->binds[e->a].va = va;
        return HP_OK;
    }
    HP_CHECK(HP_GROW(l->binds, l->binds_cap, l->nbinds + 1));
    char *n = hp_strdup(name);
    if (!n)
        return HP_ERR_NOMEM;
    hp_status s = hp_map_add(&l->bindmap, n, (uint32_t)l->nbinds, 0);
    if (s != HP_OK) {
        hp_free(n);
        return s;
    }
    l->binds[l->nbinds++] = (hp_ol_bind){n, va};
    return HP_OK;
}

/* ---- measure -------------------------------------------------------- */

/* One GOT slot per (object, symbol) referenced through the GOT. Slots are
 * reserved even for loads that emit may relax: relaxing depends on final
 * addresses, sizes must not. */
static void hp_ol_assign_got(hp_objlink *l)
{
    l->ngot = 0;
    for (size_t i = 0; i < l->nobjs; i++)
        for (size_t k = 0; k < l->objs[i].nsyms; k++)
            l->objs[i].syms[k].got = HP_OBJ_NO_GOT;
    for (size_t i = 0; i < l->nobjs; i++) {
        hp_obj *o = &l->objs[i];
        for (size_t k = 0; k < o->nrelas; k++) {
            hp_obj_sym *s = &o->syms[o->relas[k].sym];
            if (hp_obj_rel_needs_got(o->machine, o->relas[k].type) && s->got == HP_OBJ_NO_GOT)
                s->got = l->ngot++;
        }
    }
}

static bool hp_ol_needs_got(const hp_objlink *l)
{
    for (size_t i = 0; i < l->nobjs; i++) {
        const hp_obj *o = &l->objs[i];
        if (o->needs_got)
            return true;
        for (size_t k = 1; k < o->nsyms; k++)
            if (o->syms[k].used && !o->syms[k].defined && !strcmp(o->syms[k].name, HP_OL_GOT_SYM))
                return true;
    }
    return false;
}

/* Each section is under HP_OBJ_MAX_REGION (the readers check), but several
 * may add up to more: say which one crossed the limit. */
static hp_status hp_ol_too_big(const hp_obj *o, const hp_obj_sec *s, int r, hp_diags *d)
{
    static const char *const what[HP_REGION_COUNT] = {"code", "read-only data",
                                                      "writable data, bss and GOT"};
    if (d)
        hp_diag_add(d, HP_DIAG_ERROR, &o->loc, NULL,
                    "object '%s': %s%s%sthe objects' %s add up to more than %u GiB, the most "
                    "hookpatch places in one region", o->path, s ? "section '" : "",
                    s ? s->name : "", s ? "' does not fit: " : "", what[r],
                    HP_OBJ_MAX_REGION >> 30);
    return HP_ERR_RANGE;
}

/* Place the kept sections of region r (of the given kind) after *cur. */
static hp_status hp_ol_place(hp_objlink *l, int r, bool nobits, uint64_t *cur, hp_diags *d)
{
    for (size_t i = 0; i < l->nobjs; i++)
        for (size_t k = 0; k < l->objs[i].nsecs; k++) {
            hp_obj_sec *s = &l->objs[i].secs[k];
            if (!hp_obj_kept(s) || s->region != r || s->nobits != nobits)
                continue;
            s->out_off = hp_align_up(*cur, s->align);
            *cur = s->out_off + s->size;
            if (s->align > l->maxalign[r])
                l->maxalign[r] = s->align;
            if (*cur > HP_OBJ_MAX_REGION)
                return hp_ol_too_big(&l->objs[i], s, r, d);
        }
    return HP_OK;
}

static hp_status hp_ol_place_data(hp_objlink *l, hp_diags *d)
{
    uint64_t cur = 0;
    HP_CHECK(hp_ol_place(l, HP_REGION_DATA, false, &cur, d));
    uint64_t nslots = l->ngot ? l->ngot : hp_ol_needs_got(l) ? 1 : 0;
    if (nslots) {
        l->got_off = hp_align_up(cur, 8);
        cur = l->got_off + nslots * 8;
        if (l->maxalign[HP_REGION_DATA] < 8)
            l->maxalign[HP_REGION_DATA] = 8;
    }
    l->data_filespan = cur;
    if (cur > HP_OBJ_MAX_REGION)
        return hp_ol_too_big(&l->objs[0], NULL, HP_REGION_DATA, d);
    HP_CHECK(hp_ol_place(l, HP_REGION_DATA, true, &cur, d));
    l->span[HP_REGION_DATA] = cur;
    return HP_OK;
}

/* ---- measure: branch veneers ------------------------------------------ */

static int hp_ol_ven_cmp(const void *a, const void *b)
{
    const hp_ol_veneer *x = a, *y = b;
    if (x->obj != y->obj)
        return x->obj < y->obj ? -1 : 1;
    if (x->sym != y->sym)
        return x->sym < y->sym ? -1 : 1;
    return x->addend < y->addend ? -1 : x->addend > y->addend;
}

/* One veneer per (object, symbol, addend) some branch relocation of a kept
 * section refers to: whether a branch reaches depends on addresses, sizes
 * must not, so every such branch gets room for one. */
static hp_status hp_ol_collect_veneers(hp_objlink *l)
{
    l->nven = 0;
    if (!l->arch->veneer_size)
        return HP_OK;
    for (size_t i = 0; i < l->nobjs; i++) {
        const hp_obj *o = &l->objs[i];
        for (size_t k = 0; k < o->nrelas; k++) {
            const hp_obj_rela *r = &o->relas[k];
            if (!l->arch->needs_veneer(r->type) || !hp_obj_kept(&o->secs[r->sec]))
                continue;
            HP_CHECK(HP_GROW(l->ven, l->ven_cap, l->nven + 1));
            l->ven[l->nven++] = (hp_ol_veneer){(uint32_t)i, r->sym, r->addend};
        }
    }
    if (l->nven)
        qsort(l->ven, l->nven, sizeof *l->ven, hp_ol_ven_cmp);
    size_t n = 0;
    for (size_t i = 0; i < l->nven; i++)
        if (!n || hp_ol_ven_cmp(&l->ven[n - 1], &l->ven[i]))
            l->ven[n++] = l->ven[i];
    l->nven = n;
    return HP_OK;
}

size_t hp_ol_veneer_find(const hp_objlink *l, uint32_t obj, uint32_t sym, int64_t addend)
{
    hp_ol_veneer key = {obj, sym, addend};
    const hp_ol_veneer *v = l->nven ? bsearch(&key, l->ven, l->nven, sizeof key, hp_ol_ven_cmp)
                                    : NULL;
    return v ? (size_t)(v - l->ven) : SIZE_MAX;
}

/* The veneers follow the objects' code, 4-aligned. */
static hp_status hp_ol_place_veneers(hp_objlink *l, uint64_t *text, hp_diags *d)
{
    HP_CHECK(hp_ol_collect_veneers(l));
    if (!l->nven)
        return HP_OK;
    l->ven_off = hp_align_up(*text, 4);
    *text = l->ven_off + (uint64_t)l->nven * l->arch->veneer_size;
    if (l->maxalign[HP_REGION_TEXT] < 4)
        l->maxalign[HP_REGION_TEXT] = 4;
    if (*text > HP_OBJ_MAX_REGION)
        return hp_ol_too_big(&l->objs[l->ven[0].obj], NULL, HP_REGION_TEXT, d);
    return HP_OK;
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

hp_status hp_objlink_measure(hp_objlink *l, uint64_t text_used, uint64_t size[HP_REGION_COUNT],
                             hp_diags *d)
{
    if (!l || !size || text_used > HP_OBJ_MAX_REGION)
        return HP_ERR_INTERNAL;
    l->measured = false;
    memset(l->maxalign, 0, sizeof l->maxalign);
    l->got_off = 0;
    l->ven_off = 0;
    l->text_used = text_used;
    l->start[HP_REGION_TEXT] = hp_align_up(text_used, HP_OL_VA_ALIGN);
    hp_ol_assign_got(l);
    uint64_t text = 0, ro = 0;
    HP_CHECK(hp_ol_place(l, HP_REGION_TEXT, false, &text, d));
    HP_CHECK(hp_ol_place_veneers(l, &text, d));
    HP_CHECK(hp_ol_place(l, HP_REGION_RODATA, false, &ro, d));
    HP_CHECK(hp_ol_place_data(l, d));
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
uint64_t hp_ol_anchor(const hp_objlink *l, int r, uint64_t va)
{
    uint64_t a = l->maxalign[r] ? l->maxalign[r] : 1;
    return hp_align_up(va + l->start[r], a) - va;
}

uint64_t hp_ol_def_va(const hp_objlink *l, const hp_obj *o, const hp_obj_sym *s,
                             const uint64_t va[HP_REGION_COUNT])
{
    if (s->absolute)
        return s->value;
    const hp_obj_sec *sec = &o->secs[s->shndx];
    return va[sec->region] + hp_ol_anchor(l, sec->region, va[sec->region]) + sec->out_off +
           s->value;
}

hp_status hp_objlink_symbol_va(const hp_objlink *l, size_t obj, const char *sym,
                               const hp_edit *ed, uint64_t *va)
{
    if (!l || !sym || !ed || !va || obj >= l->nobjs || !l->measured)
        return HP_ERR_INTERNAL;
    const hp_obj *o = &l->objs[obj];
    const hp_obj_sym *s = hp_ol_own(o, sym, false);
    if (s && s->dup)
        s = hp_ol_global_def(l, s->name, &obj), o = &l->objs[obj];
    if (!s)
        return HP_ERR_RESOLVE;
    uint64_t rv[HP_REGION_COUNT];
    hp_ol_region_vas(ed, rv);
    *va = hp_ol_def_va(l, o, s, rv);
    return HP_OK;
}
