/* Branch targets inside the watched ranges (see xref.h). */
#include "xref.h"

#include "../base/hp_par.h"
#include "../relocs/arch.h"
#include "../sections/code.h"

#include <stdlib.h>
#include <string.h>

typedef struct hp_cand {
    uint64_t at; /* the would-be opcode */
    uint64_t target;
} hp_cand;

/* What every worker reads; nothing here changes once the scan starts. */
typedef struct hp_xbuild {
    const hp_image *img;
    const hp_arch *arch; /* the image's */
    hp_xrefs *out;
    uint64_t lo, span; /* the bitmaps cover [lo, lo + span) */
    uint8_t *bits;     /* watched bytes */
    uint8_t *coarse;   /* 64-byte blocks holding a watched byte: a small
                          first filter that stays in cache */
    uint64_t *starts;  /* function symbols' starts, sorted, unique */
    size_t nstarts;
    hp_code_map code;  /* what to scan, and where decoding can start */
    bool entries;      /* hp_xrefs_build_entries: record branches to function
                          starts, except those from the function's own body */
} hp_xbuild;

/* One piece of a code range, scanned by one worker. Pieces of a range are
 * cut at function starts, so the code around a candidate is decoded by the
 * worker that found it. */
typedef struct hp_xpart {
    const hp_xbuild *b;
    const hp_code_range *range;
    uint64_t va, end; /* opcodes in [va, end) are this part's */
    hp_cand *cand;
    size_t ncand, cand_cap;
    uint64_t *v; /* targets found */
    size_t n, cap;
    hp_status status;
} hp_xpart;

/* In a watched range and not itself a function's start (a call or a tail
 * jump to another function is no entry into the middle of anything). For
 * hp_xrefs_build_entries the watched bytes are entries: a branch there
 * counts unless it comes from the body of the function it enters (Go's
 * morestack trailer, a loop, recursion: no call from anywhere else). */
static bool hp_watched(const hp_xbuild *b, uint64_t at, uint64_t t)
{
    uint64_t o = t - b->lo;
    if (o >= b->span || !(b->coarse[o >> 9] & (1u << ((o >> 6) & 7))) ||
        !(b->bits[o >> 3] & (1u << (o & 7))))
        return false;
    /* normal: is t a start; entries: does at's function start at t */
    size_t i = hp_u64_upper_bound(b->starts, b->nstarts, b->entries ? at : t);
    return !(i && b->starts[i - 1] == t);
}

static hp_status hp_on_candidate(void *vp, uint64_t at, uint64_t t)
{
    hp_xpart *x = vp;
    if (at < x->va || at >= x->end || !hp_watched(x->b, at, t))
        return HP_OK; /* the scan reads a byte either side of the part */
    HP_CHECK(HP_GROW(x->cand, x->cand_cap, x->ncand + 1));
    x->cand[x->ncand++] = (hp_cand){at, t};
    return HP_OK;
}

static hp_status hp_add_target(hp_xpart *x, uint64_t t)
{
    HP_CHECK(HP_GROW(x->v, x->cap, x->n + 1));
    x->v[x->n++] = t;
    return HP_OK;
}

static hp_status hp_on_branch(void *vp, uint64_t at, uint64_t t)
{
    hp_xpart *x = vp;
    return hp_watched(x->b, at, t) ? hp_add_target(x, t) : HP_OK;
}

static int hp_range_cmp(const void *a, const void *b)
{
    const hp_xref_range *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Copy and sort the ranges; drop empty ones and ones another covers. */
static hp_status hp_watch_ranges(hp_xrefs *x, const hp_xref_range *r, size_t n)
{
    x->watch = hp_malloc((n ? n : 1) * sizeof *x->watch);
    if (!x->watch)
        return HP_ERR_NOMEM;
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].hi > r[i].lo + 1)
            x->watch[w++] = r[i];
    if (w > 1)
        qsort(x->watch, w, sizeof *x->watch, hp_range_cmp);
    x->nwatch = 0;
    for (size_t i = 0; i < w; i++) {
        hp_xref_range *last = x->nwatch ? &x->watch[x->nwatch - 1] : NULL;
        if (last && x->watch[i].lo == last->lo) {
            last->hi = x->watch[i].hi; /* same start: the longer one (sorted by hi) */
            continue;
        }
        x->watch[x->nwatch++] = x->watch[i];
    }
    return HP_OK;
}

static hp_status hp_watch_init(hp_xbuild *b, const hp_xref_range *ranges, size_t n)
{
    hp_xrefs *x = b->out;
    if (ranges)
        return hp_watch_ranges(x, ranges, n);
    /* every function's first bytes */
    hp_xref_range *all = hp_malloc((b->nstarts ? b->nstarts : 1) * sizeof *all);
    if (!all)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < b->nstarts; i++)
        all[i] = (hp_xref_range){b->starts[i], b->starts[i] + HP_XREF_WINDOW};
    hp_status s = hp_watch_ranges(x, all, b->nstarts);
    hp_free(all);
    return s;
}

/* ---- clusters. The bitmaps hold a bit per byte from the lowest watched
 * byte to the highest, so their size follows the distance between watched
 * ranges, which the input sets: two executable segments hundreds of GiB
 * apart would ask for tens of GiB. Watched ranges are therefore taken in
 * clusters, split where a gap is wider than HP_XREF_GAP or the cluster
 * would grow past HP_XREF_CLUSTER, one cluster's bitmaps at a time (at most
 * HP_XREF_CLUSTER / 8 bytes, of which only the pages holding watched bits
 * are written). A cluster is scanned from the code parts within rel32 reach
 * of it; ordinary images, whose code spans less than HP_XREF_CLUSTER, are
 * one cluster and are scanned once. Consecutive clusters start at least
 * HP_XREF_GAP apart, so a byte of code is scanned at most about
 * 2 * HP_XREF_REACH / HP_XREF_GAP times however the input is laid out. */
#define HP_XREF_GAP ((uint64_t)256 << 20)
#define HP_XREF_CLUSTER ((uint64_t)1 << 30)
#define HP_XREF_REACH (((uint64_t)1 << 31) + 16) /* farthest a branch lands from its opcode */

/* The end of the cluster of watched ranges starting at watch[i]. */
static size_t hp_cluster_end(const hp_xrefs *x, size_t i)
{
    uint64_t lo = x->watch[i].lo, hi = x->watch[i].hi;
    size_t j = i + 1;
    for (; j < x->nwatch; j++) {
        const hp_xref_range *w = &x->watch[j]; /* sorted by lo: w->lo >= lo */
        if ((w->lo > hi && w->lo - hi > HP_XREF_GAP) || w->hi - lo > HP_XREF_CLUSTER)
            break;
        hi = w->hi > hi ? w->hi : hi;
    }
    return j;
}

/* The bitmaps of watch[i..j). */
static hp_status hp_cluster_bitmaps(hp_xbuild *b, size_t i, size_t j)
{
    const hp_xrefs *x = b->out;
    hp_free(b->bits);
    hp_free(b->coarse);
    b->bits = b->coarse = NULL;
    b->lo = x->watch[i].lo;
    uint64_t hi = 0;
    for (size_t k = i; k < j; k++)
        hi = x->watch[k].hi > hi ? x->watch[k].hi : hi;
    if (hi - b->lo > 2 * HP_XREF_CLUSTER)
        return HP_ERR_RANGE; /* one caller-given range this long: not an entry */
    b->span = hi - b->lo;
    b->bits = hp_calloc((size_t)(b->span / 8 + 1), 1);
    b->coarse = hp_calloc((size_t)(b->span / 512 + 1), 1);
    if (!b->bits || !b->coarse)
        return HP_ERR_NOMEM;
    for (size_t k = i; k < j; k++)
        for (uint64_t o = x->watch[k].lo - b->lo + 1; o < x->watch[k].hi - b->lo; o++) {
            b->bits[o >> 3] |= (uint8_t)(1u << (o & 7));
            b->coarse[o >> 9] |= (uint8_t)(1u << ((o >> 6) & 7));
        }
    return HP_OK;
}

static hp_status hp_starts_init(hp_xbuild *b)
{
    const hp_image *img = b->img;
    b->starts = hp_malloc((img->nsyms ? img->nsyms : 1) * sizeof *b->starts);
    if (!b->starts)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < img->nsyms; i++)
        if (img->syms[i].kind == HP_SYM_FUNC && img->syms[i].source != HP_SRC_PLT)
            b->starts[b->nstarts++] = img->syms[i].va;
    hp_u64_sort_unique(b->starts, &b->nstarts); /* already sorted: a linear pass */
    return HP_OK;
}

/* Decode the code that holds candidates c[0..n) (all between two known
 * function starts, from `from` to `end`): record the real branches into
 * watched ranges, and count as real the candidates the decode could not
 * reach. Decoding stops an instruction's length past the last candidate
 * (decode_past): a later real branch would itself have been a candidate. */
static hp_status hp_decode_region(hp_xpart *x, uint64_t from, uint64_t end, const hp_cand *c,
                                  size_t n)
{
    uint64_t stop = c[n - 1].at + x->b->arch->decode_past;
    if (stop < end)
        end = stop;
    const uint8_t *p = hp_image_bytes(x->b->img, from, end - from);
    uint64_t ok = 0;
    if (p)
        HP_CHECK(x->b->arch->branches(p, end - from, from, hp_on_branch, x, &ok));
    for (size_t i = 0; i < n; i++)
        if (c[i].at >= from + ok)
            HP_CHECK(hp_add_target(x, c[i].target));
    return HP_OK;
}

static hp_status hp_scan_part(hp_xpart *x)
{
    const hp_xbuild *b = x->b;
    x->ncand = 0; /* candidates are per cluster; the targets found add up */
    const hp_code_range *r = x->range;
    const uint8_t *base = hp_image_bytes(b->img, r->va, r->size);
    if (!base)
        return HP_OK; /* hp_image_code keeps only file-backed ranges */
    /* A prefix before the part and an immediate after it (x86: 1 and 6). */
    uint64_t before = b->arch->cand_before, after = b->arch->cand_after;
    uint64_t from = x->va - r->va > before ? x->va - before : r->va;
    uint64_t r_end = r->va + r->size;
    uint64_t to = r_end - x->end > after ? x->end + after : r_end;
    hp_target_filter f = {b->lo, b->span, b->coarse};
    HP_CHECK(b->arch->branch_candidates(base + (from - r->va), to - from, from, &f,
                                        hp_on_candidate, x));
    const uint64_t *st = b->code.starts;
    size_t nst = b->code.nstarts;
    for (size_t i = 0; i < x->ncand;) {
        uint64_t at = x->cand[i].at;
        size_t k = hp_u64_upper_bound(st, nst, at);
        uint64_t rfrom = k && st[k - 1] >= r->va ? st[k - 1] : r->va;
        uint64_t rend = k < nst && st[k] < r_end ? st[k] : r_end;
        size_t j = i;
        while (j < x->ncand && x->cand[j].at < rend)
            j++;
        HP_CHECK(hp_decode_region(x, rfrom, rend, x->cand + i, j - i));
        i = j;
    }
    return HP_OK;
}

/* ---- the parts, scanned in parallel */

#define HP_XREF_MIN_PART (2u << 20) /* smaller ranges are not worth a thread */

typedef struct hp_xpool {
    hp_xpart *parts;
    size_t nparts;
    size_t *sel; /* the parts within reach of the current cluster */
    size_t nsel;
} hp_xpool;

static void hp_scan_part_job(void *vpool, size_t i)
{
    hp_xpool *pool = vpool;
    hp_xpart *x = &pool->parts[pool->sel[i]];
    x->status = hp_scan_part(x);
}

/* Whether a branch in part x can land in [lo, hi): within rel32 reach,
 * addresses wrapping as the CPU's do (circular interval overlap). */
static bool hp_part_reaches(const hp_xpart *x, uint64_t lo, uint64_t hi)
{
    uint64_t c0 = x->va - HP_XREF_REACH, len = x->end - x->va + 2 * HP_XREF_REACH;
    return lo - c0 < len || c0 - lo < hi - lo;
}

/* Cut every range into up to `pieces` parts at function starts. */
static hp_status hp_make_parts(const hp_xbuild *b, size_t pieces, hp_xpool *pool)
{
    size_t cap = b->code.nranges * pieces;
    pool->parts = hp_calloc(cap ? cap : 1, sizeof *pool->parts);
    pool->sel = hp_calloc(cap ? cap : 1, sizeof *pool->sel);
    if (!pool->parts || !pool->sel)
        return HP_ERR_NOMEM;
    const uint64_t *st = b->code.starts;
    size_t nst = b->code.nstarts;
    for (size_t i = 0; i < b->code.nranges; i++) {
        const hp_code_range *r = &b->code.ranges[i];
        uint64_t va = r->va, end = r->va + r->size;
        size_t k = r->size >= 2 * HP_XREF_MIN_PART ? pieces : 1;
        for (size_t j = 1; j < k; j++) {
            uint64_t want = r->va + r->size / k * j;
            size_t s = hp_u64_upper_bound(st, nst, want);
            uint64_t cut = s && st[s - 1] > va ? st[s - 1] : 0;
            if (!cut || cut - va < HP_XREF_MIN_PART / 2)
                continue;
            pool->parts[pool->nparts++] = (hp_xpart){.b = b, .range = r, .va = va, .end = cut};
            va = cut;
        }
        pool->parts[pool->nparts++] = (hp_xpart){.b = b, .range = r, .va = va, .end = end};
    }
    return HP_OK;
}

/* Scan the parts within reach of the current cluster's bitmaps. */
static hp_status hp_run_parts(const hp_xbuild *b, hp_xpool *pool)
{
    uint64_t bytes = 0;
    pool->nsel = 0;
    for (size_t i = 0; i < pool->nparts; i++)
        if (hp_part_reaches(&pool->parts[i], b->lo, b->lo + b->span)) {
            pool->sel[pool->nsel++] = i;
            bytes += pool->parts[i].end - pool->parts[i].va;
        }
    /* Threads for big images only: a small one is scanned before a thread
     * would have started. */
    hp_par_for(pool->nsel, 1, bytes >= 2 * HP_XREF_MIN_PART ? 2 : SIZE_MAX, hp_scan_part_job,
               pool);
    for (size_t i = 0; i < pool->nsel; i++)
        HP_CHECK(pool->parts[pool->sel[i]].status);
    return HP_OK;
}

static hp_status hp_merge_parts(hp_xpool *pool, hp_xrefs *out)
{
    size_t n = 0;
    for (size_t i = 0; i < pool->nparts; i++)
        n += pool->parts[i].n;
    out->v = hp_malloc((n ? n : 1) * sizeof *out->v);
    if (!out->v)
        return HP_ERR_NOMEM;
    out->cap = n ? n : 1;
    for (size_t i = 0; i < pool->nparts; i++) {
        if (pool->parts[i].n)
            memcpy(out->v + out->n, pool->parts[i].v, pool->parts[i].n * sizeof *out->v);
        out->n += pool->parts[i].n;
    }
    hp_u64_sort_unique(out->v, &out->n);
    return HP_OK;
}

static hp_status hp_xrefs_run(hp_xbuild *b, const hp_xref_range *ranges, size_t n,
                              hp_xpool *pool)
{
    HP_CHECK(hp_starts_init(b));
    HP_CHECK(hp_watch_init(b, ranges, n));
    if (!b->out->nwatch)
        return HP_OK;
    HP_CHECK(hp_image_code(b->img, &b->code));
    HP_CHECK(hp_make_parts(b, hp_par_threads(), pool));
    for (size_t i = 0, j; i < b->out->nwatch; i = j) {
        j = hp_cluster_end(b->out, i);
        HP_CHECK(hp_cluster_bitmaps(b, i, j));
        HP_CHECK(hp_run_parts(b, pool));
    }
    return hp_merge_parts(pool, b->out);
}

static hp_status hp_xrefs_build_mode(const hp_image *img, const hp_xref_range *ranges,
                                     size_t n, bool entries, hp_xrefs *out)
{
    memset(out, 0, sizeof *out);
    hp_xbuild b = {.img = img, .arch = hp_arch_for(img), .out = out, .entries = entries};
    hp_xpool pool = {0};
    hp_status s = hp_xrefs_run(&b, ranges, n, &pool);
    for (size_t i = 0; i < pool.nparts; i++) {
        hp_free(pool.parts[i].cand);
        hp_free(pool.parts[i].v);
    }
    hp_free(pool.parts);
    hp_free(pool.sel);
    hp_free(b.bits);
    hp_free(b.coarse);
    hp_free(b.starts);
    hp_code_map_free(&b.code);
    if (s != HP_OK)
        hp_xrefs_free(out);
    return s;
}

hp_status hp_xrefs_build(const hp_image *img, const hp_xref_range *ranges, size_t n,
                         hp_xrefs *out)
{
    return hp_xrefs_build_mode(img, ranges, n, false, out);
}

/* Entry e is watched as the range (e - 1, e + 1), which holds e alone. */
hp_status hp_xrefs_build_entries(const hp_image *img, const uint64_t *entries, size_t n,
                                 hp_xrefs *out)
{
    hp_xref_range *r = hp_malloc((n ? n : 1) * sizeof *r);
    if (!r) {
        memset(out, 0, sizeof *out);
        return HP_ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (entries[i])
            r[k++] = (hp_xref_range){entries[i] - 1, entries[i] + 1};
    hp_status s = hp_xrefs_build_mode(img, r, k, true, out);
    hp_free(r);
    return s;
}

bool hp_xrefs_reached(const hp_xrefs *x, uint64_t entry_va)
{
    return entry_va && hp_xrefs_any_in(x, entry_va - 1, entry_va + 1);
}

bool hp_xrefs_any_in(const hp_xrefs *x, uint64_t lo, uint64_t hi)
{
    if (!x)
        return false;
    size_t a = 0, b = x->nwatch; /* the last range starting at or below lo */
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (x->watch[mid].lo <= lo)
            a = mid + 1;
        else
            b = mid;
    }
    if (!a || hi > x->watch[a - 1].hi || hi < lo)
        return true; /* not inside one watched range: nothing is known */
    size_t t = hp_u64_upper_bound(x->v, x->n, lo);
    return t < x->n && x->v[t] < hi;
}

void hp_xrefs_free(hp_xrefs *x)
{
    hp_free(x->v);
    hp_free(x->watch);
    memset(x, 0, sizeof *x);
}
