/* DWARF 2-5 reader: which functions hold inlined copies of which others.
 *
 * Quirks this file deals with, and why:
 *
 * - One linear pass over every unit's DIEs. A stack of open parents gives
 *   each DW_TAG_inlined_subroutine its nearest enclosing concrete
 *   DW_TAG_subprogram: an inline nested in an inline still belongs to the
 *   function whose code holds it. Abstract instance roots and declarations
 *   hold no code, so inlined entries under them are not counted.
 *
 * - Names come from chains: an inlined entry points at an abstract instance
 *   (DW_AT_abstract_origin), which for C++ points at the in-class declaration
 *   (DW_AT_specification). A linkage name anywhere on the chain wins over a
 *   DW_AT_name, so names match symbols. Resolved DIEs are memoized by offset,
 *   failures too, which keeps the run linear in the size of the sections.
 *
 * - Each abbreviation is compiled into a plan: attributes whose size is fixed
 *   for the unit's shape merge into one skip, and only the few attributes we
 *   read are decoded, so zero-size forms (flag_present, implicit_const) cost
 *   nothing per DIE even by the million. Tables are cached by (offset,
 *   shape); overlapping tables would make parsing quadratic, so the bytes
 *   parsed are capped at a small multiple of .debug_abbrev.
 *
 * - String offsets are checked against the section's last NUL in O(1).
 *   Names are aggregated by pointer and compared only at the end, with the
 *   bytes read to do so capped too (overlapping strings).
 *
 * - Unresolvable is not wrong: references and strings in a supplementary
 *   file (DW_FORM_ref_sup*, dwz's GNU_ref_alt) and type signatures are
 *   skipped. Type units are not walked. Compressed and split DWARF: unsupported.
 *
 * - A malformed unit stops only itself (every unit length was checked
 *   first); the first reason is reported.
 */
#include "dwarf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    DW_TAG_inlined_subroutine = 0x1d, DW_TAG_subprogram = 0x2e,
    DW_AT_name = 0x03, DW_AT_inline = 0x20, DW_AT_abstract_origin = 0x31,
    DW_AT_declaration = 0x3c, DW_AT_specification = 0x47, DW_AT_linkage_name = 0x6e,
    DW_AT_str_offsets_base = 0x72, DW_AT_MIPS_linkage_name = 0x2007,
    DW_UT_compile = 1, DW_UT_type = 2, DW_UT_partial = 3, DW_UT_skeleton = 4,
    DW_UT_split_compile = 5, DW_UT_split_type = 6,
};

enum {
    DW_FORM_addr = 0x01, DW_FORM_block2 = 0x03, DW_FORM_block4 = 0x04, DW_FORM_data2 = 0x05,
    DW_FORM_data4 = 0x06, DW_FORM_data8 = 0x07, DW_FORM_string = 0x08, DW_FORM_block = 0x09,
    DW_FORM_block1 = 0x0a, DW_FORM_data1 = 0x0b, DW_FORM_flag = 0x0c, DW_FORM_sdata = 0x0d,
    DW_FORM_strp = 0x0e, DW_FORM_udata = 0x0f, DW_FORM_ref_addr = 0x10, DW_FORM_ref1 = 0x11,
    DW_FORM_ref2 = 0x12, DW_FORM_ref4 = 0x13, DW_FORM_ref8 = 0x14, DW_FORM_ref_udata = 0x15,
    DW_FORM_indirect = 0x16, DW_FORM_sec_offset = 0x17, DW_FORM_exprloc = 0x18,
    DW_FORM_flag_present = 0x19, DW_FORM_strx = 0x1a, DW_FORM_addrx = 0x1b,
    DW_FORM_ref_sup4 = 0x1c, DW_FORM_strp_sup = 0x1d, DW_FORM_data16 = 0x1e,
    DW_FORM_line_strp = 0x1f, DW_FORM_ref_sig8 = 0x20, DW_FORM_implicit_const = 0x21,
    DW_FORM_loclistx = 0x22, DW_FORM_rnglistx = 0x23, DW_FORM_ref_sup8 = 0x24,
    DW_FORM_strx1 = 0x25, DW_FORM_strx2 = 0x26, DW_FORM_strx3 = 0x27, DW_FORM_strx4 = 0x28,
    DW_FORM_addrx1 = 0x29, DW_FORM_addrx2 = 0x2a, DW_FORM_addrx3 = 0x2b, DW_FORM_addrx4 = 0x2c,
    DW_FORM_GNU_addr_index = 0x1f01, DW_FORM_GNU_str_index = 0x1f02,
    DW_FORM_GNU_ref_alt = 0x1f20, DW_FORM_GNU_strp_alt = 0x1f21,
};

#define U(x) ((unsigned long long)(x)) /* for %llx in messages */
#define HP_DW_MAX_DEPTH 4096   /* open parents in one unit */
#define HP_DW_MAX_CHAIN 32     /* abstract_origin/specification hops */
#define HP_DW_MAX_INDIRECT 4   /* DW_FORM_indirect nesting */
#define HP_DW_VAR (-1)         /* form size: decode to know */
#define HP_DW_UNKNOWN (-2)     /* form size: not a form we know */

/* The attributes a plan decodes; everything else is skipped. */
enum { A_NAME, A_LINK, A_ORIGIN, A_SPEC, A_INLINE, A_DECL, A_SOB, A_COUNT };
enum { K_SKIP = A_COUNT, K_FIXED };
enum { MEMO_OK = 1, MEMO_BAD = 2 };

typedef struct hp_dw_sec {
    const uint8_t *p;
    uint64_t n, nul_end; /* nul_end: past the last NUL; a string at off < nul_end ends */
} hp_dw_sec;

typedef struct hp_dw_step {
    uint64_t aux, form; /* aux: bytes to skip (K_FIXED), else the implicit_const value */
    uint8_t kind;       /* A_* or K_* */
} hp_dw_step;

typedef struct hp_dw_decl {
    uint64_t code, tag, first, nsteps; /* first, nsteps: a slice of the table's steps */
    bool children;
} hp_dw_decl;

typedef struct hp_dw_table {
    hp_dw_decl *decls;
    size_t ndecls, decls_cap;
    hp_dw_step *steps;
    size_t nsteps, steps_cap;
    uint64_t *dense; /* code -> decl index + 1 when codes are dense, else NULL */
    uint64_t ndense;
    bool bad; /* failed to parse: kept so the failure is remembered */
} hp_dw_table;

typedef struct hp_dw_unit {
    uint64_t off, die_off, end; /* .debug_info offsets: header, first DIE, end */
    uint64_t abbrev_off, sob;   /* sob: DW_AT_str_offsets_base */
    uint16_t version;
    uint8_t type, off_size, addr_size;
    int8_t state; /* 0 not prepared, 1 ready, -1 failed */
    const hp_dw_table *tab; /* borrowed from the reader's cache */
} hp_dw_unit;

typedef struct hp_dw_val { uint64_t v, form; } hp_dw_val;

typedef struct hp_dw_die {
    uint64_t off, end, tag; /* end: the offset after its attributes */
    bool null, children;
    unsigned have; /* bit A_* set when a[A_*] was read */
    hp_dw_val a[A_COUNT];
} hp_dw_die;

/* Open-addressing map slot; k1 == 0 marks an empty slot. */
typedef struct hp_dw_slot {
    uint64_t k1, k2, n;
    const char *a, *b;
} hp_dw_slot;

typedef struct hp_dw_map { hp_dw_slot *v; size_t n, cap; /* cap: 0 or a power of 2 */ } hp_dw_map;

typedef struct hp_dw_frame {
    hp_dw_die die;
    long caller; /* depth of the enclosing concrete subprogram's frame, or -1 */
    bool named;
    const char *name;
} hp_dw_frame;

typedef struct hp_dw_cur {
    const uint8_t *p;
    uint64_t pos, end, bad_form;
    uint8_t bad; /* 0, or one of the hp_dw_bad reasons */
} hp_dw_cur;

enum hp_dw_bad { BAD_TRUNC = 1, BAD_FORM, BAD_INDIRECT };

typedef struct hp_dw {
    hp_dw_sec info, abbrev, str, line_str, str_offs;
    hp_dw_unit *units;
    hp_dw_table **tabs;
    size_t nunits, units_cap, ntabs, tabs_cap;
    hp_dw_map tabmap; /* (abbrev offset + 1, unit shape) -> index + 1 into tabs */
    hp_dw_map memo;   /* DIE offset + 1 -> (linkage name, name) of its chain */
    hp_dw_map pairs;  /* (callee, caller) pointers -> sites */
    hp_dw_frame *frames;
    uint64_t abbrev_work, abbrev_budget;
    char *why;
    size_t frames_cap, why_len;
    bool failed; /* why holds the first reason */
} hp_dw;

__attribute__((format(printf, 2, 3))) static hp_status hp_dw_fail(hp_dw *r, const char *fmt, ...)
{
    if (!r->failed && r->why && r->why_len) {
        va_list ap;
        va_start(ap, fmt);
        int n = snprintf(r->why, r->why_len, "DWARF: ");
        if (n > 0 && (size_t)n < r->why_len)
            vsnprintf(r->why + n, r->why_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    r->failed = true;
    return HP_ERR_FORMAT;
}

/* ---- Cursor ---- */

static void hp_dw_bad(hp_dw_cur *c, uint8_t why) { c->bad = c->bad ? c->bad : why; }

/* LEB128; bits past 64 are dropped, but the bytes are still consumed. */
static uint64_t hp_dw_leb(hp_dw_cur *c, bool sign)
{
    uint64_t v = 0;
    for (unsigned shift = 0; c->pos < c->end;) {
        uint8_t b = c->p[c->pos++];
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift, shift += 7;
        if (!(b & 0x80))
            return sign && shift < 64 && (b & 0x40) ? v | ~(uint64_t)0 << shift : v;
    }
    hp_dw_bad(c, BAD_TRUNC);
    return 0;
}

/* Most values are one byte: that case stays inline. */
static uint64_t hp_dw_uleb(hp_dw_cur *c)
{
    return c->pos < c->end && c->p[c->pos] < 0x80 ? c->p[c->pos++] : hp_dw_leb(c, false);
}

static bool hp_dw_skip(hp_dw_cur *c, uint64_t n)
{
    if (c->bad || !hp_in_bounds(c->pos, n, c->end)) {
        hp_dw_bad(c, BAD_TRUNC);
        return false;
    }
    c->pos += n;
    return true;
}

/* Read n bytes little-endian (only the first 8 count). */
static uint64_t hp_dw_fixed(hp_dw_cur *c, uint64_t n)
{
    if (!hp_dw_skip(c, n))
        return 0;
    c->pos -= n;
    uint64_t v = 0;
    for (uint64_t i = 0; i < n && i < 8; i++)
        v |= (uint64_t)c->p[c->pos + i] << (8 * i);
    c->pos += n;
    return v;
}

/* ---- Forms ---- */

/* Size of a form's value in unit u: bytes, HP_DW_VAR or HP_DW_UNKNOWN. */
static int hp_dw_form_size(uint64_t form, const hp_dw_unit *u)
{
    switch (form) {
    case DW_FORM_flag_present: case DW_FORM_implicit_const: return 0;
    case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_flag: case DW_FORM_strx1:
    case DW_FORM_addrx1: return 1;
    case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2: return 2;
    case DW_FORM_strx3: case DW_FORM_addrx3: return 3;
    case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_strx4: case DW_FORM_addrx4:
    case DW_FORM_ref_sup4: return 4;
    case DW_FORM_data8: case DW_FORM_ref8: case DW_FORM_ref_sig8: case DW_FORM_ref_sup8: return 8;
    case DW_FORM_data16: return 16;
    case DW_FORM_addr: return u->addr_size;
    case DW_FORM_ref_addr: /* address-sized in DWARF 2, offset-sized later */
        return u->version == 2 ? u->addr_size : u->off_size;
    case DW_FORM_strp: case DW_FORM_line_strp: case DW_FORM_sec_offset: case DW_FORM_strp_sup:
    case DW_FORM_GNU_ref_alt: case DW_FORM_GNU_strp_alt: return u->off_size;
    case DW_FORM_sdata: case DW_FORM_udata: case DW_FORM_ref_udata: case DW_FORM_strx:
    case DW_FORM_addrx: case DW_FORM_loclistx: case DW_FORM_rnglistx:
    case DW_FORM_GNU_addr_index: case DW_FORM_GNU_str_index: case DW_FORM_string:
    case DW_FORM_block: case DW_FORM_block1: case DW_FORM_block2: case DW_FORM_block4:
    case DW_FORM_exprloc: case DW_FORM_indirect: return HP_DW_VAR;
    default: return HP_DW_UNKNOWN;
    }
}

/* Decode one value; *form becomes the real form behind DW_FORM_indirect.
 * DW_FORM_string yields the string's .debug_info offset. */
static uint64_t hp_dw_read_form(hp_dw_cur *c, uint64_t *form, const hp_dw_unit *u,
                                uint64_t implicit, int depth)
{
    int n = hp_dw_form_size(*form, u);
    uint64_t at = c->pos;
    if (n >= 0)
        return *form == DW_FORM_flag_present    ? 1
               : *form == DW_FORM_implicit_const ? implicit
                                                 : hp_dw_fixed(c, (uint64_t)n);
    switch (*form) {
    case DW_FORM_sdata: return hp_dw_leb(c, true);
    case DW_FORM_string: {
        const uint8_t *z = at < c->end ? memchr(c->p + at, 0, c->end - at) : NULL;
        if (!z)
            hp_dw_bad(c, BAD_TRUNC);
        c->pos = z ? (uint64_t)(z - c->p) + 1 : c->pos;
        return at;
    }
    case DW_FORM_block1: return hp_dw_skip(c, hp_dw_fixed(c, 1)), 0;
    case DW_FORM_block2: return hp_dw_skip(c, hp_dw_fixed(c, 2)), 0;
    case DW_FORM_block4: return hp_dw_skip(c, hp_dw_fixed(c, 4)), 0;
    case DW_FORM_block: case DW_FORM_exprloc: return hp_dw_skip(c, hp_dw_uleb(c)), 0;
    case DW_FORM_indirect:
        *form = hp_dw_uleb(c);
        if (depth < HP_DW_MAX_INDIRECT && *form != DW_FORM_implicit_const)
            return hp_dw_read_form(c, form, u, 0, depth + 1);
        hp_dw_bad(c, BAD_INDIRECT);
        return 0;
    default:
        if (n == HP_DW_VAR) /* the ULEB128 forms */
            return hp_dw_uleb(c);
        hp_dw_bad(c, BAD_FORM);
        c->bad_form = *form;
        return 0;
    }
}

/* ---- Hash map ---- */

static size_t hp_dw_hash(uint64_t k1, uint64_t k2)
{
    uint64_t h = k1 * 0x9e3779b97f4a7c15ull ^ (k2 + 0x632be59bd9b4e019ull) * 0xc2b2ae3d27d4eb4full;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    return (size_t)(h ^ h >> 29);
}

/* Index of (k1, k2) in v, or of the empty slot where it would go. */
static size_t hp_dw_probe(const hp_dw_slot *v, size_t cap, uint64_t k1, uint64_t k2)
{
    size_t i = hp_dw_hash(k1, k2) & (cap - 1);
    while (v[i].k1 && (v[i].k1 != k1 || v[i].k2 != k2))
        i = (i + 1) & (cap - 1);
    return i;
}

static hp_dw_slot *hp_dw_find(const hp_dw_map *m, uint64_t k1, uint64_t k2)
{
    hp_dw_slot *s = m->cap ? &m->v[hp_dw_probe(m->v, m->cap, k1, k2)] : NULL;
    return s && s->k1 ? s : NULL;
}

/* The slot for (k1, k2), inserted zeroed when absent. k1 must not be 0. */
static hp_status hp_dw_put(hp_dw_map *m, uint64_t k1, uint64_t k2, hp_dw_slot **out)
{
    if ((*out = hp_dw_find(m, k1, k2)))
        return HP_OK;
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        hp_dw_slot *v = cap > SIZE_MAX / sizeof *v ? NULL : hp_calloc(cap, sizeof *v);
        if (!v)
            return HP_ERR_NOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->v[i].k1)
                v[hp_dw_probe(v, cap, m->v[i].k1, m->v[i].k2)] = m->v[i];
        hp_free(m->v);
        m->v = v;
        m->cap = cap;
    }
    *out = &m->v[hp_dw_probe(m->v, m->cap, k1, k2)];
    **out = (hp_dw_slot){.k1 = k1, .k2 = k2};
    m->n++;
    return HP_OK;
}

/* ---- Abbreviation tables ---- */

static int hp_dw_attr_kind(uint64_t at)
{
    static const uint16_t ats[A_COUNT] = {DW_AT_name, DW_AT_linkage_name, DW_AT_abstract_origin,
                                          DW_AT_specification, DW_AT_inline, DW_AT_declaration,
                                          DW_AT_str_offsets_base};
    for (int k = 0; k < A_COUNT; k++)
        if (at == ats[k])
            return k;
    return at == DW_AT_MIPS_linkage_name ? A_LINK : -1;
}

/* Append a step to the decl being built, merging adjacent fixed skips. */
static hp_status hp_dw_add_step(hp_dw_table *t, const hp_dw_decl *d, hp_dw_step s)
{
    if (s.kind == K_FIXED) {
        if (!s.aux)
            return HP_OK;
        hp_dw_step *last = t->nsteps > d->first ? &t->steps[t->nsteps - 1] : NULL;
        if (last && last->kind == K_FIXED && last->aux < (1ull << 62)) {
            last->aux += s.aux;
            return HP_OK;
        }
    }
    HP_CHECK(HP_GROW(t->steps, t->steps_cap, t->nsteps + 1));
    t->steps[t->nsteps++] = s;
    return HP_OK;
}

static hp_status hp_dw_parse_decl(hp_dw_cur *c, const hp_dw_unit *u, hp_dw_table *t,
                                  hp_dw_decl *d)
{
    unsigned seen = 0;
    d->first = t->nsteps;
    for (;;) {
        uint64_t at = hp_dw_uleb(c), form = hp_dw_uleb(c);
        uint64_t implicit = form == DW_FORM_implicit_const ? hp_dw_leb(c, true) : 0;
        if (c->bad)
            return HP_ERR_FORMAT; /* the caller says why */
        if (!at && !form)
            break;
        int k = hp_dw_attr_kind(at);
        if (k >= 0 && (seen >> k & 1))
            k = -1; /* a repeated attribute: only the first is read */
        if (k >= 0)
            seen |= 1u << k;
        int n = hp_dw_form_size(form, u);
        hp_dw_step s = {implicit, form, (uint8_t)(k >= 0 ? k : n >= 0 ? K_FIXED : K_SKIP)};
        if (s.kind == K_FIXED)
            s.aux = (uint64_t)n;
        HP_CHECK(hp_dw_add_step(t, d, s));
    }
    d->nsteps = t->nsteps - d->first;
    return HP_OK;
}

static int hp_dw_decl_cmp(const void *a, const void *b)
{
    const hp_dw_decl *x = a, *y = b;
    return x->code < y->code ? -1 : x->code > y->code;
}

/* Index by code: an array when codes are dense (they are 1..n from every
 * producer we know), else sorted for bsearch. */
static hp_status hp_dw_index(hp_dw_table *t)
{
    uint64_t max = 0;
    for (size_t i = 0; i < t->ndecls; i++)
        max = t->decls[i].code > max ? t->decls[i].code : max;
    if (max > 2 * (uint64_t)t->ndecls + 64) {
        qsort(t->decls, t->ndecls, sizeof *t->decls, hp_dw_decl_cmp);
        return HP_OK;
    }
    t->dense = hp_calloc((size_t)max + 1, sizeof *t->dense);
    if (!t->dense)
        return HP_ERR_NOMEM;
    t->ndense = max + 1;
    for (size_t i = t->ndecls; i-- > 0;) /* the first of duplicate codes wins */
        t->dense[t->decls[i].code] = i + 1;
    return HP_OK;
}

static const hp_dw_decl *hp_dw_lookup(const hp_dw_table *t, uint64_t code)
{
    if (t->dense)
        return code < t->ndense && t->dense[code] ? &t->decls[t->dense[code] - 1] : NULL;
    hp_dw_decl key = {.code = code};
    return bsearch(&key, t->decls, t->ndecls, sizeof key, hp_dw_decl_cmp);
}

static hp_status hp_dw_parse_table(hp_dw *r, const hp_dw_unit *u, hp_dw_table *t)
{
    hp_dw_cur c = {.p = r->abbrev.p, .pos = u->abbrev_off, .end = r->abbrev.n};
    if (u->abbrev_off >= r->abbrev.n)
        return hp_dw_fail(r, "unit at .debug_info+0x%llx: abbreviation offset 0x%llx is "
                             "outside .debug_abbrev", U(u->off), U(u->abbrev_off));
    /* Stop once the budget is spent, not after: later tables fail at once. */
    uint64_t left = r->abbrev_budget > r->abbrev_work ? r->abbrev_budget - r->abbrev_work : 0;
    c.end = c.pos + (left < c.end - c.pos ? left : c.end - c.pos);
    hp_status s = HP_OK;
    while (s == HP_OK && c.pos < c.end) { /* a missing final terminator is tolerated */
        hp_dw_decl d = {.code = hp_dw_uleb(&c)};
        if (!d.code)
            break;
        d.tag = hp_dw_uleb(&c);
        d.children = hp_dw_fixed(&c, 1) != 0;
        s = hp_dw_parse_decl(&c, u, t, &d);
        if (s == HP_OK && (s = HP_GROW(t->decls, t->decls_cap, t->ndecls + 1)) == HP_OK)
            t->decls[t->ndecls++] = d;
    }
    r->abbrev_work += c.pos - u->abbrev_off;
    if (s != HP_ERR_NOMEM && r->abbrev_work >= r->abbrev_budget)
        return hp_dw_fail(r, "abbreviation tables overlap (parsed %llu bytes of a %llu-byte "
                             ".debug_abbrev)", U(r->abbrev_work), U(r->abbrev.n));
    if (s == HP_ERR_FORMAT)
        return hp_dw_fail(r, "abbreviation table at .debug_abbrev+0x%llx is truncated",
                          U(u->abbrev_off));
    return s == HP_OK ? hp_dw_index(t) : s;
}

/* The unit's table, parsed once per (offset, shape). */
static hp_status hp_dw_table_for(hp_dw *r, const hp_dw_unit *u, const hp_dw_table **out)
{
    uint64_t shape = (u->version == 2) | (uint64_t)u->addr_size << 1 | (uint64_t)u->off_size << 9;
    hp_dw_slot *slot;
    HP_CHECK(hp_dw_put(&r->tabmap, u->abbrev_off + 1, shape, &slot));
    if (!slot->n) {
        hp_dw_table *t = NULL;
        HP_CHECK(HP_GROW(r->tabs, r->tabs_cap, r->ntabs + 1));
        if (!(t = hp_calloc(1, sizeof *t)))
            return HP_ERR_NOMEM;
        r->tabs[r->ntabs++] = t;
        slot->n = r->ntabs;
        t->bad = true;
        HP_CHECK(hp_dw_parse_table(r, u, t));
        t->bad = false;
    }
    *out = r->tabs[slot->n - 1];
    return !(*out)->bad ? HP_OK
                        : hp_dw_fail(r, "bad abbreviation table at .debug_abbrev+0x%llx",
                                     U(u->abbrev_off));
}

/* ---- Units and DIEs ---- */

static hp_status hp_dw_unit_header(hp_dw *r, uint64_t off, hp_dw_unit *u)
{
    hp_dw_cur c = {.p = r->info.p, .pos = off, .end = r->info.n};
    uint64_t len = hp_dw_fixed(&c, 4);
    *u = (hp_dw_unit){.off = off, .off_size = 4};
    if (len == 0xffffffffu)
        len = hp_dw_fixed(&c, 8), u->off_size = 8;
    else if (len >= 0xfffffff0u)
        return hp_dw_fail(r, "unit at .debug_info+0x%llx has reserved length 0x%llx",
                          U(off), U(len));
    if (c.bad || !hp_in_bounds(c.pos, len, c.end))
        return hp_dw_fail(r, "unit at .debug_info+0x%llx (length 0x%llx) runs past the "
                             "end of the section", U(off), U(len));
    u->end = c.end = c.pos + len;
    u->version = (uint16_t)hp_dw_fixed(&c, 2);
    u->type = u->version == 5 ? (uint8_t)hp_dw_fixed(&c, 1) : DW_UT_compile;
    if (u->version < 2 || u->version > 5 || u->type < DW_UT_compile || u->type > DW_UT_split_type)
        return c.bad ? hp_dw_fail(r, "unit at .debug_info+0x%llx is truncated", U(off))
                     : HP_OK; /* a version or unit type we do not know: skipped */
    if (u->version == 5)
        u->addr_size = (uint8_t)hp_dw_fixed(&c, 1);
    u->abbrev_off = hp_dw_fixed(&c, u->off_size);
    if (u->version < 5)
        u->addr_size = (uint8_t)hp_dw_fixed(&c, 1);
    if (u->type == DW_UT_skeleton || u->type == DW_UT_split_compile)
        hp_dw_skip(&c, 8); /* dwo_id */
    if (u->type == DW_UT_type || u->type == DW_UT_split_type)
        hp_dw_skip(&c, 8 + (uint64_t)u->off_size); /* signature, type offset */
    if (c.bad)
        return hp_dw_fail(r, "unit header at .debug_info+0x%llx is truncated", U(off));
    if (u->addr_size == 0 || u->addr_size > 8)
        return hp_dw_fail(r, "unit at .debug_info+0x%llx has address size %u",
                          U(off), u->addr_size);
    u->die_off = c.pos;
    u->sob = u->version == 5 ? 2u * u->off_size : 0; /* past a v5 str_offsets header */
    return HP_OK;
}

/* Every unit header, in order. A bad header ends the scan (what follows it
 * cannot be found) but the units before it are kept. */
static hp_status hp_dw_scan_units(hp_dw *r)
{
    for (uint64_t off = 0; off < r->info.n;) {
        hp_dw_unit u = {0};
        HP_CHECK(hp_dw_unit_header(r, off, &u));
        if (u.die_off) {
            HP_CHECK(HP_GROW(r->units, r->units_cap, r->nunits + 1));
            r->units[r->nunits++] = u;
        }
        off = u.end;
    }
    return HP_OK;
}

/* The unit whose DIEs contain .debug_info offset off, or NULL. */
static hp_dw_unit *hp_dw_unit_at(const hp_dw *r, uint64_t off)
{
    size_t lo = 0, hi = r->nunits;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (off >= r->units[mid].end)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->nunits && off >= r->units[lo].die_off ? &r->units[lo] : NULL;
}

static void hp_dw_run_step(hp_dw_cur *c, const hp_dw_unit *u, const hp_dw_step *s, hp_dw_die *d)
{
    uint64_t form = s->form, v = 0;
    if (s->kind == K_FIXED)
        hp_dw_skip(c, s->aux);
    else
        v = hp_dw_read_form(c, &form, u, s->aux, 0);
    if (s->kind < A_COUNT)
        d->a[s->kind] = (hp_dw_val){v, form}, d->have |= 1u << s->kind;
}

static hp_status hp_dw_die_fail(hp_dw *r, const hp_dw_cur *c, uint64_t off)
{
    if (c->bad == BAD_FORM)
        return hp_dw_fail(r, "DIE at .debug_info+0x%llx uses unknown form 0x%llx",
                          U(off), U(c->bad_form));
    return hp_dw_fail(r, "DIE at .debug_info+0x%llx %s", U(off),
                      c->bad == BAD_INDIRECT ? "has a bad DW_FORM_indirect"
                                             : "runs past the end of its unit");
}

/* Decode the DIE at off (the unit must be prepared). */
static hp_status hp_dw_parse_die(hp_dw *r, const hp_dw_unit *u, uint64_t off, hp_dw_die *d)
{
    hp_dw_cur c = {.p = r->info.p, .pos = off, .end = u->end};
    uint64_t code = hp_dw_uleb(&c);
    d->off = off, d->tag = 0, d->have = 0, d->null = code == 0, d->children = false; /* a: have */
    if (c.bad)
        return hp_dw_die_fail(r, &c, off);
    const hp_dw_decl *dc = d->null ? NULL : hp_dw_lookup(u->tab, code);
    if (!d->null && !dc)
        return hp_dw_fail(r, "DIE at .debug_info+0x%llx: abbreviation code %llu is not in the "
                             "table at .debug_abbrev+0x%llx", U(off), U(code), U(u->abbrev_off));
    if (dc) {
        d->tag = dc->tag;
        d->children = dc->children;
        for (uint64_t i = 0; i < dc->nsteps && !c.bad; i++)
            hp_dw_run_step(&c, u, &u->tab->steps[dc->first + i], d);
        if (c.bad)
            return hp_dw_die_fail(r, &c, off);
    }
    d->end = c.pos;
    return HP_OK;
}

/* Load the unit's abbreviations and its root's DW_AT_str_offsets_base. */
static hp_status hp_dw_prepare(hp_dw *r, hp_dw_unit *u)
{
    if (u->state)
        return u->state > 0 ? HP_OK
                            : hp_dw_fail(r, "unit at .debug_info+0x%llx is malformed", U(u->off));
    u->state = -1;
    HP_CHECK(hp_dw_table_for(r, u, &u->tab));
    hp_dw_die root;
    if (u->die_off < u->end) {
        HP_CHECK(hp_dw_parse_die(r, u, u->die_off, &root));
        if (root.have & 1u << A_SOB)
            u->sob = root.a[A_SOB].v;
    }
    u->state = 1;
    return HP_OK;
}

/* ---- Names and references ---- */

static hp_status hp_dw_strsec(hp_dw *r, const hp_dw_sec *s, const char *sec, uint64_t off,
                              const char **out)
{
    if (off >= s->nul_end)
        return hp_dw_fail(r, "string offset 0x%llx is outside %s", U(off), sec);
    *out = (const char *)s->p + off;
    return HP_OK;
}

static hp_status hp_dw_strx(hp_dw *r, const hp_dw_unit *u, uint64_t index, const char **out)
{
    const hp_dw_sec *so = &r->str_offs;
    uint64_t at = u->sob + index * u->off_size;
    if (index > so->n / u->off_size || at < u->sob || !hp_in_bounds(at, u->off_size, so->n))
        return hp_dw_fail(r, "string index %llu is outside .debug_str_offsets", U(index));
    uint64_t off = u->off_size == 8 ? hp_rd64(so->p + at) : hp_rd32(so->p + at);
    return hp_dw_strsec(r, &r->str, ".debug_str", off, out);
}

/* The string of an attribute; NULL (not an error) for non-string forms and
 * strings kept in a supplementary file. */
static hp_status hp_dw_str(hp_dw *r, const hp_dw_unit *u, const hp_dw_val *v, const char **out)
{
    *out = NULL;
    switch (v->form) {
    case DW_FORM_string: /* its NUL was found when decoded */
        return *out = (const char *)r->info.p + v->v, HP_OK;
    case DW_FORM_strp: return hp_dw_strsec(r, &r->str, ".debug_str", v->v, out);
    case DW_FORM_line_strp: return hp_dw_strsec(r, &r->line_str, ".debug_line_str", v->v, out);
    case DW_FORM_strx: case DW_FORM_strx1: case DW_FORM_strx2: case DW_FORM_strx3:
    case DW_FORM_strx4: case DW_FORM_GNU_str_index: return hp_dw_strx(r, u, v->v, out);
    default: return HP_OK;
    }
}

static hp_status hp_dw_own_names(hp_dw *r, const hp_dw_unit *u, const hp_dw_die *d,
                                 const char **link, const char **name)
{
    *link = *name = NULL;
    if (d->have & 1u << A_LINK)
        HP_CHECK(hp_dw_str(r, u, &d->a[A_LINK], link));
    if (d->have & 1u << A_NAME)
        HP_CHECK(hp_dw_str(r, u, &d->a[A_NAME], name));
    return HP_OK;
}

/* Where d's abstract_origin (else specification) points: *u and *off, or
 * *off = 0 when there is none or it lies in another file. */
static hp_status hp_dw_next(hp_dw *r, hp_dw_unit **u, const hp_dw_die *d, uint64_t *off)
{
    *off = 0;
    int k = d->have & 1u << A_ORIGIN ? A_ORIGIN : d->have & 1u << A_SPEC ? A_SPEC : -1;
    if (k < 0)
        return HP_OK;
    const hp_dw_val *v = &d->a[k];
    hp_dw_unit *cu = *u, *target = cu;
    switch (v->form) {
    case DW_FORM_ref1: case DW_FORM_ref2: case DW_FORM_ref4: case DW_FORM_ref8:
    case DW_FORM_ref_udata:
        if (v->v < cu->end - cu->off && cu->off + v->v >= cu->die_off)
            *off = cu->off + v->v;
        break;
    case DW_FORM_ref_addr:
        target = hp_dw_unit_at(r, v->v);
        *off = target ? v->v : 0;
        break;
    case DW_FORM_ref_sig8: case DW_FORM_ref_sup4: case DW_FORM_ref_sup8: case DW_FORM_GNU_ref_alt:
        return HP_OK; /* elsewhere: unresolvable, not wrong */
    default:
        break;
    }
    if (!*off)
        return hp_dw_fail(r, "DIE at .debug_info+0x%llx has a bad reference (form 0x%llx, "
                             "value 0x%llx)", U(d->off), U(v->form), U(v->v));
    *u = target;
    return HP_OK;
}

typedef struct hp_dw_link { uint64_t off; const char *link, *name; } hp_dw_link;

/* Walk the chain from the DIE at off until a memoized DIE or its end. A DIE
 * that fails is on the path too, so its failure is memoized. */
static hp_status hp_dw_chain(hp_dw *r, hp_dw_unit *u, uint64_t off, hp_dw_link *path,
                             size_t *np, const hp_dw_slot **hit)
{
    for (*np = 0, *hit = NULL; off;) {
        if ((*hit = hp_dw_find(&r->memo, off + 1, 0)))
            return (*hit)->n == MEMO_OK ? HP_OK
                                        : hp_dw_fail(r, "bad DIE at .debug_info+0x%llx", U(off));
        if (*np == HP_DW_MAX_CHAIN)
            return hp_dw_fail(r, "abstract_origin/specification chain through "
                                 ".debug_info+0x%llx is longer than %d (a cycle?)",
                              U(off), HP_DW_MAX_CHAIN);
        hp_dw_link *l = &path[(*np)++];
        hp_dw_die d;
        *l = (hp_dw_link){off, NULL, NULL};
        HP_CHECK(hp_dw_prepare(r, u));
        HP_CHECK(hp_dw_parse_die(r, u, off, &d));
        HP_CHECK(hp_dw_own_names(r, u, &d, &l->link, &l->name));
        HP_CHECK(hp_dw_next(r, &u, &d, &off));
    }
    return HP_OK;
}

/* (linkage name, name) of the DIE at off, through its chain, memoized.
 * A failure is memoized as well, for every DIE on the path. */
static hp_status hp_dw_resolve(hp_dw *r, hp_dw_unit *u, uint64_t off, const char **link,
                               const char **name)
{
    hp_dw_link path[HP_DW_MAX_CHAIN];
    size_t np;
    const hp_dw_slot *hit;
    hp_status s = hp_dw_chain(r, u, off, path, &np, &hit);
    const char *l = s == HP_OK && hit ? hit->a : NULL, *n = s == HP_OK && hit ? hit->b : NULL;
    for (size_t i = np; i-- > 0;) {
        l = path[i].link ? path[i].link : l;
        n = path[i].name ? path[i].name : n;
        hp_dw_slot *slot;
        hp_status ms = hp_dw_put(&r->memo, path[i].off + 1, 0, &slot);
        if (ms != HP_OK)
            return ms;
        *slot = (hp_dw_slot){path[i].off + 1, 0, s == HP_OK ? MEMO_OK : MEMO_BAD, l, n};
    }
    *link = l;
    *name = n;
    return s;
}

/* A DIE's reported name: a linkage name anywhere on its chain, else the
 * first DW_AT_name; NULL when it has neither. */
static hp_status hp_dw_die_name(hp_dw *r, hp_dw_unit *u, const hp_dw_die *d, const char **out)
{
    const char *l, *n, *cl = NULL, *cn = NULL;
    uint64_t next;
    HP_CHECK(hp_dw_own_names(r, u, d, &l, &n));
    if (!l) {
        HP_CHECK(hp_dw_next(r, &u, d, &next));
        if (next)
            HP_CHECK(hp_dw_resolve(r, u, next, &cl, &cn));
    }
    *out = l ? l : cl ? cl : n ? n : cn;
    return HP_OK;
}

/* ---- The walk ---- */

/* Holds code: not a declaration, not an abstract instance root (one with a
 * DW_AT_inline other than DW_INL_not_inlined). */
static bool hp_dw_concrete(const hp_dw_die *d)
{
    return !((d->have >> A_DECL & 1) && d->a[A_DECL].v) &&
           !((d->have >> A_INLINE & 1) && d->a[A_INLINE].v);
}

static hp_status hp_dw_site(hp_dw *r, hp_dw_unit *u, const hp_dw_die *d, hp_dw_frame *f)
{
    const char *callee;
    HP_CHECK(hp_dw_die_name(r, u, d, &callee));
    if (!f->named) {
        HP_CHECK(hp_dw_die_name(r, u, &f->die, &f->name));
        f->named = true;
    }
    if (!callee || !f->name)
        return HP_OK;
    hp_dw_slot *slot;
    HP_CHECK(hp_dw_put(&r->pairs, (uintptr_t)callee, (uintptr_t)f->name, &slot));
    slot->n++;
    return HP_OK;
}

static hp_status hp_dw_push(hp_dw *r, size_t depth, const hp_dw_die *d, long caller)
{
    if (depth >= HP_DW_MAX_DEPTH)
        return hp_dw_fail(r, "DIE at .debug_info+0x%llx is nested deeper than %d",
                          U(d->off), HP_DW_MAX_DEPTH);
    HP_CHECK(HP_GROW(r->frames, r->frames_cap, depth + 1));
    r->frames[depth] = (hp_dw_frame){*d, caller, false, NULL};
    return HP_OK;
}

static hp_status hp_dw_walk(hp_dw *r, hp_dw_unit *u)
{
    if (u->type == DW_UT_type || u->type == DW_UT_split_type)
        return HP_OK;
    HP_CHECK(hp_dw_prepare(r, u));
    size_t depth = 0;
    for (uint64_t off = u->die_off; off < u->end;) {
        hp_dw_die d;
        HP_CHECK(hp_dw_parse_die(r, u, off, &d));
        off = d.end;
        if (d.null) { /* end of siblings; at depth 0, padding */
            depth -= depth > 0;
            continue;
        }
        long caller = depth ? r->frames[depth - 1].caller : -1;
        if (d.tag == DW_TAG_subprogram)
            caller = hp_dw_concrete(&d) ? (long)depth : -1;
        else if (d.tag == DW_TAG_inlined_subroutine && caller >= 0)
            HP_CHECK(hp_dw_site(r, u, &d, &r->frames[caller]));
        if (d.children)
            HP_CHECK(hp_dw_push(r, depth++, &d, caller));
    }
    return HP_OK;
}

/* ---- Results: aggregate by name content, in a fixed order ---- */

typedef struct hp_dw_name { const char *s; size_t len; } hp_dw_name;
typedef struct hp_dw_pair { uint64_t caller, callee, sites; } hp_dw_pair; /* name ranks */

static int hp_dw_name_cmp(const void *a, const void *b)
{
    const hp_dw_name *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int hp_dw_pair_cmp(const void *a, const void *b)
{
    const hp_dw_pair *x = a, *y = b;
    if (x->caller != y->caller)
        return x->caller < y->caller ? -1 : 1;
    return x->callee < y->callee ? -1 : x->callee > y->callee;
}

/* Every distinct name pointer of the pairs, with its length. Lengths are
 * read once per pointer, and the total is capped: hostile strings that
 * overlap would otherwise make this quadratic. */
static hp_status hp_dw_collect_names(hp_dw *r, hp_dw_map *seen, hp_dw_name **out, size_t *n)
{
    uint64_t budget = 2 * (r->info.n + r->str.n + r->line_str.n) + (1u << 20);
    size_t cap = 0;
    for (size_t i = 0; i < r->pairs.cap; i++) {
        const hp_dw_slot *p = &r->pairs.v[i];
        for (int k = 0; p->k1 && k < 2; k++) {
            const char *s = (const char *)(uintptr_t)(k ? p->k2 : p->k1);
            hp_dw_slot *slot;
            HP_CHECK(hp_dw_put(seen, (uint64_t)(uintptr_t)s, 0, &slot));
            if (slot->a)
                continue;
            slot->a = s;
            size_t len = strnlen(s, budget + 1);
            if (len > budget)
                return hp_dw_fail(r, "names overlap (too many bytes of names for the "
                                     "size of the sections)");
            budget -= len;
            HP_CHECK(HP_GROW(*out, cap, *n + 1));
            (*out)[(*n)++] = (hp_dw_name){s, len};
        }
    }
    return HP_OK;
}

/* Rank names by content (equal contents share a rank) and report each
 * (callee, caller) once, sorted by caller then callee. */
static hp_status hp_dw_report(hp_dw *r, hp_dwarf_inline_fn fn, void *ctx)
{
    hp_dw_map seen = {0};
    hp_dw_name *names = NULL;
    hp_dw_pair *pairs = NULL;
    size_t nnames = 0, npairs = 0;
    hp_status s = hp_dw_collect_names(r, &seen, &names, &nnames);
    if (s == HP_OK && !(pairs = hp_calloc(r->pairs.n + 1, sizeof *pairs)))
        s = HP_ERR_NOMEM;
    if (s == HP_OK && nnames) {
        qsort(names, nnames, sizeof *names, hp_dw_name_cmp);
        for (size_t i = 0, rank = 0; i < nnames; i++) {
            rank += i && hp_dw_name_cmp(&names[i - 1], &names[i]);
            names[rank] = names[i]; /* rank <= i: the first of equals is kept */
            hp_dw_find(&seen, (uint64_t)(uintptr_t)names[i].s, 0)->n = rank;
        }
        for (size_t i = 0; i < r->pairs.cap; i++) {
            const hp_dw_slot *p = &r->pairs.v[i];
            if (p->k1)
                pairs[npairs++] = (hp_dw_pair){hp_dw_find(&seen, p->k2, 0)->n,
                                               hp_dw_find(&seen, p->k1, 0)->n, p->n};
        }
        qsort(pairs, npairs, sizeof *pairs, hp_dw_pair_cmp);
        for (size_t i = 0; i < npairs;) {
            uint64_t sites = 0;
            size_t j = i;
            for (; j < npairs && !hp_dw_pair_cmp(&pairs[i], &pairs[j]); j++)
                sites += pairs[j].sites;
            fn(ctx, names[pairs[i].callee].s, names[pairs[i].caller].s,
               sites > UINT32_MAX ? UINT32_MAX : (uint32_t)sites);
            i = j;
        }
    }
    hp_free(seen.v);
    hp_free(names);
    hp_free(pairs);
    return s;
}

/* ---- Entry point ---- */

static void hp_dw_section(const hp_image *img, const char *name, hp_dw_sec *s)
{
    const uint8_t *p;
    size_t n;
    *s = (hp_dw_sec){0};
    if (!hp_image_section(img, name, &p, &n) || !n)
        return;
    *s = (hp_dw_sec){p, n, n};
    while (s->nul_end && p[s->nul_end - 1])
        s->nul_end--;
}

static hp_status hp_dw_unsupported(hp_dw *r, const char *what)
{
    if (r->why && r->why_len)
        snprintf(r->why, r->why_len, "%s", what);
    return HP_ERR_UNSUPPORTED;
}

static hp_status hp_dw_open(hp_dw *r, const hp_image *img)
{
    const uint8_t *p;
    size_t n;
    hp_dw_section(img, ".debug_info", &r->info);
    if (!hp_image_section(img, ".debug_info", &p, &n))
        return hp_dw_unsupported(r, hp_image_section(img, ".zdebug_info", &p, &n)
                                        ? "compressed debug info (.zdebug_info) is not supported"
                                        : "no .debug_info section (built without -g, or stripped)");
    /* An SHF_COMPRESSED section starts with Elf64_Chdr: ch_type 1 (zlib) or
     * 2 (zstd), then 0. As a unit length, 1 or 2 is never valid. */
    if (r->info.n >= 24 && hp_rd32(r->info.p) - 1 < 2 && hp_rd32(r->info.p + 4) == 0)
        return hp_dw_unsupported(r, "compressed debug info (SHF_COMPRESSED .debug_info) is not "
                                    "supported");
    hp_dw_section(img, ".debug_abbrev", &r->abbrev);
    hp_dw_section(img, ".debug_str", &r->str);
    hp_dw_section(img, ".debug_line_str", &r->line_str);
    hp_dw_section(img, ".debug_str_offsets", &r->str_offs);
    r->abbrev_budget = 2 * r->abbrev.n + 4096;
    if (r->info.n && !r->abbrev.p)
        return hp_dw_fail(r, ".debug_info without .debug_abbrev");
    return HP_OK;
}

static void hp_dw_close(hp_dw *r)
{
    for (size_t i = 0; i < r->ntabs; i++) {
        hp_free(r->tabs[i]->decls);
        hp_free(r->tabs[i]->steps);
        hp_free(r->tabs[i]->dense);
        hp_free(r->tabs[i]);
    }
    hp_free(r->tabs);
    hp_free(r->units);
    hp_free(r->tabmap.v);
    hp_free(r->memo.v);
    hp_free(r->pairs.v);
    hp_free(r->frames);
}

hp_status hp_dwarf_inlined(const hp_image *img, hp_dwarf_inline_fn fn, void *ctx, char *why,
                           size_t why_len)
{
    if (why && why_len)
        why[0] = '\0';
    hp_dw r = {.why = why, .why_len = why_len};
    if (!img || !fn)
        return hp_dw_unsupported(&r, "hp_dwarf_inlined: no image or callback"), HP_ERR_INTERNAL;
    hp_status s = hp_dw_open(&r, img), scan = HP_OK, walk = HP_OK;
    size_t skeletons = 0;
    if (s == HP_OK)
        s = (scan = hp_dw_scan_units(&r)) == HP_ERR_NOMEM ? scan : HP_OK;
    /* A malformed unit stops only itself; the first reason is kept. */
    for (size_t i = 0; s == HP_OK && i < r.nunits; i++) {
        hp_status w = hp_dw_walk(&r, &r.units[i]);
        walk = walk == HP_OK ? w : walk;
        s = w == HP_ERR_NOMEM ? w : HP_OK;
        skeletons += r.units[i].type == DW_UT_skeleton;
    }
    if (s == HP_OK)
        s = hp_dw_report(&r, fn, ctx);
    hp_dw_close(&r);
    s = s != HP_OK ? s : scan != HP_OK ? scan : walk;
    if (s == HP_OK && skeletons) /* their DIEs are in .dwo files, which we do not read */
        return hp_dw_unsupported(&r, "split DWARF (-gsplit-dwarf): .dwo files are not read");
    return s;
}
