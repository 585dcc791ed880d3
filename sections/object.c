/* The object model's shared code (object.h): the x86-64 relocation types
 * the model speaks, the string map the readers and the linker keep names
 * in, the readers' error reporter, and symbol sizes for the formats that
 * record none. */
#include "object.h"

#include <stdlib.h>
#include <string.h>

/* ---- relocation types ---------------------------------------------- */

#define R(n, w, k) [R_X86_64_##n] = {"R_X86_64_" #n, w, HP_RK_##k}
static const hp_ol_rel_info hp_rels[] = {
    R(NONE, 0, OK),        R(64, 8, OK),          R(PC32, 4, OK),
    R(GOT32, 4, GOT),      R(PLT32, 4, OK),       R(COPY, 0, DYN),
    R(GLOB_DAT, 0, DYN),   R(JUMP_SLOT, 0, DYN),  R(RELATIVE, 0, DYN),
    R(GOTPCREL, 4, GOT),   R(32, 4, OK),          R(32S, 4, OK),
    R(16, 2, OK),          R(PC16, 2, OK),        R(8, 1, OK),
    R(PC8, 1, OK),         R(DTPMOD64, 0, TLS),   R(DTPOFF64, 0, TLS),
    R(TPOFF64, 0, TLS),    R(TLSGD, 0, TLS),      R(TLSLD, 0, TLS),
    R(DTPOFF32, 0, TLS),   R(GOTTPOFF, 0, TLS),   R(TPOFF32, 0, TLS),
    R(PC64, 8, OK),        R(GOTOFF64, 8, GOTBASE), R(GOTPC32, 4, GOTBASE),
    R(GOT64, 8, GOT),      R(GOTPCREL64, 8, GOT), R(GOTPC64, 8, GOTBASE),
    R(GOTPLT64, 8, GOT),   R(PLTOFF64, 8, GOTBASE), R(SIZE32, 4, OK),
    R(SIZE64, 8, OK),      R(GOTPC32_TLSDESC, 0, TLS), R(TLSDESC_CALL, 0, TLS),
    R(TLSDESC, 0, TLS),    R(IRELATIVE, 0, DYN),  R(RELATIVE64, 0, DYN),
    [39] = {"R_X86_64_PC32_BND", 4, HP_RK_OK},   [40] = {"R_X86_64_PLT32_BND", 4, HP_RK_OK},
    R(GOTPCRELX, 4, GOT),  R(REX_GOTPCRELX, 4, GOT),
    [43] = {"R_X86_64_CODE_4_GOTPCRELX", 0, HP_RK_NO},
    [44] = {"R_X86_64_CODE_4_GOTTPOFF", 0, HP_RK_TLS},
    [45] = {"R_X86_64_CODE_4_GOTPC32_TLSDESC", 0, HP_RK_TLS},
};
#undef R

const hp_ol_rel_info *hp_ol_rel_lookup(uint32_t type)
{
    if (type >= sizeof hp_rels / sizeof hp_rels[0] || !hp_rels[type].name)
        return NULL;
    return &hp_rels[type];
}

const char *hp_ol_rel_name(uint32_t type) { return hp_ol_rel_lookup(type) ? hp_ol_rel_lookup(type)->name : NULL; }

unsigned hp_ol_rel_width(uint32_t type) { return hp_ol_rel_lookup(type) ? hp_ol_rel_lookup(type)->width : 0; }

bool hp_ol_rel_needs_got(uint32_t type) { return hp_ol_rel_lookup(type) && hp_ol_rel_lookup(type)->kind == HP_RK_GOT; }

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

/* ---- reader errors ------------------------------------------------- */

void hp_ol_report_v(hp_diags *d, const hp_ol_obj *o, unsigned max, unsigned *nerr,
                    hp_status *st, hp_status s, const char *fmt, va_list ap)
{
    if (*st != HP_ERR_FORMAT)
        *st = s;
    if ((*nerr)++ > max)
        return;
    char *msg = hp_vasprintf(fmt, ap);
    if (*nerr > max)
        hp_diag_add(d, HP_DIAG_ERROR, &o->loc, NULL, "object '%s': too many errors, giving up",
                    o->path);
    else
        hp_diag_add(d, HP_DIAG_ERROR, &o->loc, NULL, "object '%s': %s", o->path,
                    msg ? msg : "(out of memory)");
    hp_free(msg);
}

/* ---- sizes (COFF and Mach-O have none) ------------------------------ */

typedef struct hp_ol_pos {
    uint64_t value;
    uint32_t shndx, idx;
} hp_ol_pos;

static int hp_ol_pos_cmp(const void *a, const void *b)
{
    const hp_ol_pos *x = a, *y = b;
    if (x->shndx != y->shndx)
        return x->shndx < y->shndx ? -1 : 1;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

hp_status hp_ol_infer_sizes(hp_ol_obj *o)
{
    hp_ol_pos *v = hp_calloc(o->nsyms ? o->nsyms : 1, sizeof *v);
    if (!v)
        return HP_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 1; i < o->nsyms; i++) {
        const hp_ol_sym *s = &o->syms[i];
        if (s->defined && !s->absolute && s->type != STT_SECTION && s->shndx < o->nsecs)
            v[n++] = (hp_ol_pos){s->value, s->shndx, (uint32_t)i};
    }
    qsort(v, n, sizeof *v, hp_ol_pos_cmp);
    for (size_t i = 0, next = 0; i < n; i++) {
        if (next <= i)
            for (next = i + 1; next < n && v[next].shndx == v[i].shndx &&
                               v[next].value == v[i].value; next++)
                ;
        uint64_t end = o->secs[v[i].shndx].size;
        if (next < n && v[next].shndx == v[i].shndx)
            end = v[next].value;
        o->syms[v[i].idx].size = end > v[i].value ? end - v[i].value : 0;
    }
    hp_free(v);
    return HP_OK;
}
