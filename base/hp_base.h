/* hp_base: status codes, the one allocator hook, growable buffers and small
 * string helpers shared by every module. Everything else in hookpatch depends
 * on this folder; it depends on nothing but libc. */
#ifndef HP_BASE_H
#define HP_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum hp_status {
    HP_OK = 0,
    HP_ERR_USAGE,       /* bad command line */
    HP_ERR_IO,          /* open/read/write/rename failed */
    HP_ERR_FORMAT,      /* malformed or truncated input file */
    HP_ERR_UNSUPPORTED, /* well-formed, but a feature we do not handle */
    HP_ERR_RULES,       /* rules file problem (details in diagnostics) */
    HP_ERR_RESOLVE,     /* target or symbol not found */
    HP_ERR_UNHOOKABLE,  /* target exists but cannot be patched safely */
    HP_ERR_RANGE,       /* address out of reach (rel32, image size) */
    HP_ERR_LINK,        /* object-file linking failed */
    HP_ERR_NOMEM,
    HP_ERR_INTERNAL,
} hp_status;

/* Propagate a failing status in one line. */
#define HP_CHECK(expr)                                                         \
    do {                                                                       \
        hp_status hp_s_ = (expr);                                              \
        if (hp_s_ != HP_OK)                                                    \
            return hp_s_;                                                      \
    } while (0)

const char *hp_status_str(hp_status s);

/* "a directory", "a FIFO", ... for a stat st_mode, to say why a path that
 * must be a regular file was refused. */
const char *hp_file_kind(unsigned mode);

/* ---- memory: every allocation goes through these, so tests can make the
 * Nth allocation fail (hp_mem_fail_after). They return NULL on failure. */
void *hp_malloc(size_t n);
void *hp_calloc(size_t count, size_t n);
void *hp_realloc(void *p, size_t n);
void hp_free(void *p);
char *hp_strdup(const char *s);
char *hp_strndup(const char *s, size_t n);
/* printf into a fresh hp_malloc'd string; NULL on allocation failure. */
char *hp_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *hp_vasprintf(const char *fmt, va_list ap);
/* Test hook: allocation number n (0-based, counted from now) and every later
 * one fail. Pass -1 to disable. Safe to race with allocating threads. */
void hp_mem_fail_after(long n);
/* Test hook: allocation number n alone fails; the later ones work. Every
 * later one failing too would end a run in an error anyway, which hides a
 * failure handled silently; one alone does not. hp_mem_fail_pending says
 * whether that allocation is still to come (the run made fewer than n+1).
 * hp_mem_fail_after(-1) disables it. */
void hp_mem_fail_one(long n);
bool hp_mem_fail_pending(void);

/* Grow an array *v of *cap elements of size elem so it holds at least need.
 * Returns HP_ERR_NOMEM (leaving *v intact) on overflow or allocation failure. */
hp_status hp_grow(void **v, size_t *cap, size_t need, size_t elem);
#define HP_GROW(arr, cap, need)                                                \
    hp_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* ---- sorted arrays of addresses */
void hp_u64_sort(uint64_t *v, size_t n);
/* Sort and drop repeats; *n becomes the number kept. */
void hp_u64_sort_unique(uint64_t *v, size_t *n);
/* Index of the first element greater than key in sorted v[0..n). */
size_t hp_u64_upper_bound(const uint64_t *v, size_t n, uint64_t key);

/* ---- byte buffer: growable, owned. */
typedef struct hp_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} hp_buf;

hp_status hp_buf_append(hp_buf *b, const void *p, size_t n);
hp_status hp_buf_append_zeros(hp_buf *b, size_t n);
/* Pad with byte `fill` until len is a multiple of align (a power of two). */
hp_status hp_buf_align(hp_buf *b, size_t align, uint8_t fill);
void hp_buf_free(hp_buf *b);

/* ---- little-endian access into untrusted bytes; callers bounds-check. */
static inline uint16_t hp_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t hp_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t hp_rd64(const uint8_t *p) { return hp_rd32(p) | (uint64_t)hp_rd32(p + 4) << 32; }
static inline void hp_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void hp_wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void hp_wr64(uint8_t *p, uint64_t v)
{
    hp_wr32(p, (uint32_t)v);
    hp_wr32(p + 4, (uint32_t)(v >> 32));
}

/* True when [off, off+len) lies inside [0, size) without overflow. */
static inline bool hp_in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static inline uint64_t hp_align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

#endif
