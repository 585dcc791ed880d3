/* Status strings, the allocator hook and buffers. */
#include "hp_base.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Allocations left before they start failing; -1: never. Atomic because the
 * parallel passes allocate from worker threads: each allocation takes one
 * count, so exactly one of them is "allocation number n". With
 * hp_fail_one, the allocation that finds 0 sets -1: only it fails. */
static _Atomic long hp_fail_countdown = -1;
static _Atomic bool hp_fail_one;

void hp_mem_fail_after(long n)
{
    atomic_store(&hp_fail_one, false);
    atomic_store(&hp_fail_countdown, n);
}

void hp_mem_fail_one(long n)
{
    atomic_store(&hp_fail_countdown, -1);
    atomic_store(&hp_fail_one, true);
    atomic_store(&hp_fail_countdown, n);
}

bool hp_mem_fail_pending(void)
{
    return atomic_load(&hp_fail_one) && atomic_load(&hp_fail_countdown) >= 0;
}

static bool hp_mem_should_fail(void)
{
    long n = atomic_load_explicit(&hp_fail_countdown, memory_order_relaxed);
    while (n > 0 && !atomic_compare_exchange_weak(&hp_fail_countdown, &n, n - 1))
        ;
    if (n != 0)
        return false;
    long zero = 0;
    return !atomic_load(&hp_fail_one) ||
           atomic_compare_exchange_strong(&hp_fail_countdown, &zero, -1);
}

void *hp_malloc(size_t n) { return hp_mem_should_fail() ? NULL : malloc(n ? n : 1); }

void *hp_calloc(size_t count, size_t n)
{
    return hp_mem_should_fail() ? NULL : calloc(count ? count : 1, n ? n : 1);
}

void *hp_realloc(void *p, size_t n) { return hp_mem_should_fail() ? NULL : realloc(p, n ? n : 1); }

void hp_free(void *p) { free(p); }

char *hp_strndup(const char *s, size_t n)
{
    char *r = hp_malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = 0;
    }
    return r;
}

char *hp_strdup(const char *s) { return hp_strndup(s, strlen(s)); }

char *hp_vasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *r = hp_malloc((size_t)n + 1);
    if (r)
        vsnprintf(r, (size_t)n + 1, fmt, ap);
    return r;
}

char *hp_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *r = hp_vasprintf(fmt, ap);
    va_end(ap);
    return r;
}

static int hp_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void hp_u64_sort(uint64_t *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, hp_u64_cmp);
}

void hp_u64_sort_unique(uint64_t *v, size_t *n)
{
    hp_u64_sort(v, *n);
    size_t w = 0;
    for (size_t r = 0; r < *n; r++)
        if (!w || v[w - 1] != v[r])
            v[w++] = v[r];
    *n = w;
}

size_t hp_u64_upper_bound(const uint64_t *v, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

hp_status hp_grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return HP_OK;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return HP_ERR_NOMEM;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return HP_ERR_NOMEM;
    void *nv = hp_realloc(*v, ncap * elem);
    if (!nv)
        return HP_ERR_NOMEM;
    *v = nv;
    *cap = ncap;
    return HP_OK;
}

hp_status hp_buf_append(hp_buf *b, const void *p, size_t n)
{
    if (n > SIZE_MAX - b->len)
        return HP_ERR_NOMEM;
    HP_CHECK(hp_grow((void **)&b->data, &b->cap, b->len + n, 1));
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return HP_OK;
}

hp_status hp_buf_append_zeros(hp_buf *b, size_t n)
{
    if (n == 0)
        return HP_OK;
    if (n > SIZE_MAX - b->len)
        return HP_ERR_NOMEM;
    HP_CHECK(hp_grow((void **)&b->data, &b->cap, b->len + n, 1));
    memset(b->data + b->len, 0, n);
    b->len += n;
    return HP_OK;
}

hp_status hp_buf_align(hp_buf *b, size_t align, uint8_t fill)
{
    size_t pad = (size_t)(hp_align_up(b->len, align) - b->len);
    if (pad == 0)
        return HP_OK;
    HP_CHECK(hp_buf_append_zeros(b, pad));
    memset(b->data + b->len - pad, fill, pad);
    return HP_OK;
}

void hp_buf_free(hp_buf *b)
{
    hp_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

const char *hp_file_kind(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    case S_IFLNK: return "a symbolic link";
    }
    return "not a regular file";
}

const char *hp_status_str(hp_status s)
{
    switch (s) {
    case HP_OK: return "ok";
    case HP_ERR_USAGE: return "usage error";
    case HP_ERR_IO: return "I/O error";
    case HP_ERR_FORMAT: return "malformed input";
    case HP_ERR_UNSUPPORTED: return "unsupported input";
    case HP_ERR_RULES: return "invalid rules";
    case HP_ERR_RESOLVE: return "unresolved name";
    case HP_ERR_UNHOOKABLE: return "target cannot be hooked";
    case HP_ERR_RANGE: return "address out of range";
    case HP_ERR_LINK: return "link error";
    case HP_ERR_NOMEM: return "out of memory";
    case HP_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}
