/* The neutral image model: mapping the input, probing backends (the one
 * place that names them all), reading Go's table once the backend found
 * it, symbol bookkeeping and error reporting shared by every format, and
 * the edit's small helpers. */
#include "format.h"
#include "debug/gopclntab.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const hp_format *const hp_formats[] = {&hp_format_elf, &hp_format_pe, &hp_format_macho};

typedef struct hp_mapping {
    void *base;
    size_t size;
} hp_mapping;

hp_status hp_image_load(hp_image *img, hp_diags *d)
{
    for (size_t i = 0; i < sizeof hp_formats / sizeof hp_formats[0]; i++) {
        if (!hp_formats[i]->probe(img->data, img->size))
            continue;
        img->fmt = hp_formats[i];
        img->kind = hp_formats[i]->kind;
        HP_CHECK(img->fmt->load(img));
        HP_CHECK(hp_go_load(img)); /* the Go function table the backend found, if any */
        return hp_image_finish_syms(img);
    }
    hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){img->path, 0, 0}, NULL,
                "not an ELF, PE or Mach-O file (unknown magic number)");
    return HP_ERR_FORMAT;
}

static void hp_image_vreport(const hp_image *img, hp_diag_level lvl, const char *fmt,
                             va_list ap)
{
    if (img->diags)
        hp_diag_vadd(img->diags, lvl, &(hp_loc){img->path, 0, 0}, NULL, fmt, ap);
}

hp_status hp_image_bad(const hp_image *img, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_image_vreport(img, HP_DIAG_ERROR, fmt, ap);
    va_end(ap);
    return HP_ERR_FORMAT;
}

hp_status hp_image_refuse(const hp_image *img, hp_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_image_vreport(img, HP_DIAG_ERROR, fmt, ap);
    va_end(ap);
    return st;
}

void hp_image_warn(const hp_image *img, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hp_image_vreport(img, HP_DIAG_WARNING, fmt, ap);
    va_end(ap);
}

/* A new image over data, not loaded yet. */
static hp_status hp_image_new(const uint8_t *data, size_t size, const char *name, hp_diags *d,
                              hp_image **out)
{
    *out = NULL;
    hp_image *img = hp_calloc(1, sizeof *img);
    if (!img || !(img->path = hp_strdup(name))) {
        hp_free(img);
        return HP_ERR_NOMEM;
    }
    img->data = data;
    img->size = size;
    img->diags = d;
    *out = img;
    return HP_OK;
}

/* Load *img, or close it and clear *img. */
static hp_status hp_image_load_or_close(hp_image **img, hp_diags *d)
{
    hp_status s = hp_image_load(*img, d);
    if (s != HP_OK) {
        hp_image_close(*img);
        *img = NULL;
    }
    return s;
}

hp_status hp_image_open_mem(const uint8_t *data, size_t size, const char *name, hp_diags *d,
                            hp_image **out)
{
    HP_CHECK(hp_image_new(data, size, name, d, out));
    return hp_image_load_or_close(out, d);
}

/* Open path for reading without blocking: O_NONBLOCK keeps open() of a
 * FIFO from waiting for a writer; anything but a regular file is then
 * refused from fstat. */
static int hp_image_open_regular(const char *path, hp_diags *d, struct stat *st)
{
    hp_loc loc = {path, 0, 0};
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        hp_diag_add(d, HP_DIAG_ERROR, &loc, NULL, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (fstat(fd, st) != 0) {
        hp_diag_add(d, HP_DIAG_ERROR, &loc, NULL, "cannot stat: %s", strerror(errno));
    } else if (!S_ISREG(st->st_mode)) {
        hp_diag_add(d, HP_DIAG_ERROR, &loc, NULL, "not a regular file (%s)",
                    hp_file_kind(st->st_mode));
    } else {
        return fd;
    }
    close(fd);
    return -1;
}

hp_status hp_image_map(const char *path, hp_diags *d, hp_image **out)
{
    *out = NULL;
    struct stat st;
    int fd = hp_image_open_regular(path, d, &st);
    if (fd < 0)
        return HP_ERR_IO;
    size_t size = (size_t)st.st_size;
    void *base = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (size && base == MAP_FAILED) {
        hp_diag_add(d, HP_DIAG_ERROR, &(hp_loc){path, 0, 0}, NULL, "cannot map: %s",
                    strerror(errno));
        return HP_ERR_IO;
    }
    hp_status s = hp_image_new(base ? base : (const uint8_t *)"", size, path, d, out);
    if (s != HP_OK) {
        if (base)
            munmap(base, size);
        return s;
    }
    (*out)->priv_map = base;
    return HP_OK;
}

hp_status hp_image_open(const char *path, hp_diags *d, hp_image **out)
{
    HP_CHECK(hp_image_map(path, d, out));
    return hp_image_load_or_close(out, d);
}

void hp_image_close(hp_image *img)
{
    if (!img)
        return;
    if (img->fmt && img->fmt->unload)
        img->fmt->unload(img);
    for (size_t i = 0; i < img->nstrs; i++)
        hp_free(img->strs[i]);
    hp_free(img->strs);
    hp_free(img->segs);
    hp_free(img->syms);
    for (size_t i = 0; i < img->nslices; i++)
        hp_image_close(img->slices[i].img);
    hp_free(img->slices);
    if (img->priv_map)
        munmap(img->priv_map, img->size);
    hp_free(img->path);
    hp_free(img);
}

const hp_segment *hp_image_segment_at(const hp_image *img, uint64_t va)
{
    size_t lo = 0, hi = img->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const hp_segment *s = &img->segs[mid];
        if (va < s->va)
            hi = mid;
        else if (va - s->va >= s->mem_size)
            lo = mid + 1;
        else
            return s;
    }
    return NULL;
}

bool hp_image_executable(const hp_image *img, uint64_t va, char *why, size_t why_len)
{
    const hp_segment *s = hp_image_segment_at(img, va);
    if (s && (s->prot & HP_PROT_X))
        return true;
    if (why && why_len && !s)
        snprintf(why, why_len, "not executable code: it lies outside every segment");
    else if (why && why_len)
        snprintf(why, why_len, "not executable code: it lies in a non-executable segment "
                 "(%c%c-) at 0x%llx", s->prot & HP_PROT_R ? 'r' : '-',
                 s->prot & HP_PROT_W ? 'w' : '-', (unsigned long long)s->va);
    return false;
}

const uint8_t *hp_image_bytes(const hp_image *img, uint64_t va, uint64_t len)
{
    const hp_segment *s = hp_image_segment_at(img, va);
    if (!s)
        return NULL;
    uint64_t rel = va - s->va;
    if (!hp_in_bounds(rel, len, s->file_size) || s->file_off > img->size)
        return NULL;
    if (!hp_in_bounds(rel, len, img->size - s->file_off))
        return NULL;
    return img->data + s->file_off + rel;
}

uint64_t hp_image_end_va(const hp_image *img)
{
    uint64_t end = 0;
    for (size_t i = 0; i < img->nsegs; i++)
        if (img->segs[i].va + img->segs[i].mem_size > end)
            end = img->segs[i].va + img->segs[i].mem_size;
    return end;
}

bool hp_image_section(const hp_image *img, const char *name, const uint8_t **data,
                      size_t *size)
{
    return img->fmt && img->fmt->section && img->fmt->section(img, name, data, size);
}

static int hp_seg_cmp(const void *a, const void *b)
{
    const hp_segment *x = a, *y = b;
    return x->va < y->va ? -1 : x->va > y->va;
}

hp_status hp_image_add_segment(hp_image *img, const hp_segment *seg)
{
    HP_CHECK(HP_GROW(img->segs, img->segs_cap, img->nsegs + 1));
    img->segs[img->nsegs++] = *seg;
    qsort(img->segs, img->nsegs, sizeof *img->segs, hp_seg_cmp);
    if (img->nsegs == 1 || seg->va < img->base_va)
        img->base_va = seg->va;
    return HP_OK;
}

const char *hp_image_intern(hp_image *img, const char *s, size_t len)
{
    if (HP_GROW(img->strs, img->strs_cap, img->nstrs + 1) != HP_OK)
        return NULL;
    char *c = hp_strndup(s, len);
    if (c)
        img->strs[img->nstrs++] = c;
    return c;
}

hp_status hp_image_add_slice(hp_image *img, const char *arch, uint64_t file_off, uint64_t size,
                             uint32_t align, const char *why)
{
    if (!hp_in_bounds(file_off, size, img->size))
        return HP_ERR_INTERNAL; /* the backend checks its table first */
    /* grown one at a time: a container has a handful of slices */
    hp_slice *v = hp_realloc(img->slices, (img->nslices + 1) * sizeof *v);
    if (!v)
        return HP_ERR_NOMEM;
    img->slices = v;
    const char *a = hp_image_intern(img, arch, strlen(arch));
    if (!a)
        return HP_ERR_NOMEM;
    hp_slice sl = {a, file_off, size, align, NULL, why};
    if (!why) {
        hp_diags *d = img->diags;
        const char *outer = d ? d->slice : NULL;
        if (d)
            d->slice = a;
        hp_status s = hp_image_open_mem(img->data + file_off, (size_t)size, img->path, d, &sl.img);
        if (d)
            d->slice = outer;
        HP_CHECK(s);
    }
    img->slices[img->nslices++] = sl;
    return HP_OK;
}

hp_status hp_image_add_symbol(hp_image *img, const char *name, size_t name_len, uint64_t va,
                              uint64_t size, hp_sym_kind kind, hp_sym_source src, bool global)
{
    const char *n = hp_image_intern(img, name, name_len);
    if (!n)
        return HP_ERR_NOMEM;
    return hp_image_add_symbol_ref(img, n, va, size, kind, src, global);
}

hp_status hp_image_reserve_symbols(hp_image *img, size_t more)
{
    if (more > SIZE_MAX - img->nsyms)
        return HP_ERR_NOMEM;
    return HP_GROW(img->syms, img->syms_cap, img->nsyms + more);
}

hp_status hp_image_add_symbol_ref(hp_image *img, const char *n, uint64_t va, uint64_t size,
                                  hp_sym_kind kind, hp_sym_source src, bool global)
{
    HP_CHECK(HP_GROW(img->syms, img->syms_cap, img->nsyms + 1));
    hp_symbol *s = &img->syms[img->nsyms++];
    memset(s, 0, sizeof *s);
    s->name = n;
    if (img->fmt && img->fmt->c_underscore)
        s->alias = hp_c_name(n);
    s->va = va;
    s->size = size;
    s->kind = (uint8_t)kind;
    s->source = (uint8_t)src;
    s->global = global;
    return HP_OK;
}

static int hp_sym_cmp(const void *a, const void *b)
{
    const hp_symbol *x = a, *y = b;
    if (x->va != y->va)
        return x->va < y->va ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1; /* functions first */
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    if (x->source != y->source)
        return x->source < y->source ? -1 : 1;
    return (x->size < y->size) - (x->size > y->size); /* larger size first */
}

hp_status hp_image_finish_syms(hp_image *img)
{
    if (!img->nsyms)
        return HP_OK;
    qsort(img->syms, img->nsyms, sizeof *img->syms, hp_sym_cmp);
    size_t w = 0;
    for (size_t r = 0; r < img->nsyms; r++) {
        hp_symbol *s = &img->syms[r];
        if (w && img->syms[w - 1].va == s->va && !strcmp(img->syms[w - 1].name, s->name)) {
            hp_symbol *k = &img->syms[w - 1];
            if (!k->size)
                k->size = s->size;
            k->global |= s->global;
            continue;
        }
        img->syms[w++] = *s;
    }
    img->nsyms = w;
    /* A function with no recorded size runs to the next symbol start. */
    for (size_t i = 0; i < img->nsyms; i++) {
        hp_symbol *s = &img->syms[i];
        if (s->kind == HP_SYM_FUNC && !s->size) {
            s->size = hp_image_next_sym_va(img, s->va) - s->va;
            s->size_guessed = 1;
        }
    }
    return HP_OK;
}

/* Index of the first symbol with va >= `va`. */
static size_t hp_sym_lower_bound(const hp_image *img, uint64_t va)
{
    size_t lo = 0, hi = img->nsyms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (img->syms[mid].va < va)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const hp_symbol *hp_image_sym_at(const hp_image *img, uint64_t va)
{
    for (size_t i = hp_sym_lower_bound(img, va); i < img->nsyms && img->syms[i].va == va; i++)
        if (img->syms[i].kind == HP_SYM_FUNC && img->syms[i].source != HP_SRC_PLT)
            return &img->syms[i];
    return NULL;
}

uint64_t hp_image_next_sym_va(const hp_image *img, uint64_t va)
{
    size_t i = hp_sym_lower_bound(img, va + 1);
    const hp_segment *seg = hp_image_segment_at(img, va);
    uint64_t end = seg ? seg->va + seg->mem_size : va;
    if (i < img->nsyms && img->syms[i].va < end)
        return img->syms[i].va;
    return end;
}

const hp_symbol *hp_image_owner(const hp_image *img, uint64_t addr)
{
    /* Symbols are sorted by start; a function owning addr starts at or
     * below it. Scan back over the few candidates that could still reach. */
    const hp_symbol *guessed = NULL;
    size_t i = hp_sym_lower_bound(img, addr + 1);
    for (size_t k = 0; i > 0 && k < 64; k++) {
        const hp_symbol *s = &img->syms[--i];
        if (s->kind != HP_SYM_FUNC || addr - s->va >= s->size)
            continue;
        if (!s->size_guessed)
            return s;
        guessed = guessed ? guessed : s;
    }
    return guessed;
}

bool hp_image_owned(const hp_image *img, uint64_t addr) { return hp_image_owner(img, addr) != NULL; }

const char *hp_c_name(const char *name) { return name[0] == '_' && name[1] ? name + 1 : NULL; }

bool hp_symbol_matches(const hp_symbol *s, const char *name)
{
    return !strcmp(s->name, name) || (s->alias && !strcmp(s->alias, name));
}

hp_status hp_edit_add_patch(hp_edit *ed, const hp_patch *p)
{
    HP_CHECK(HP_GROW(ed->patches, ed->patches_cap, ed->npatches + 1));
    ed->patches[ed->npatches++] = *p;
    return HP_OK;
}

hp_status hp_edit_add_sym(hp_edit *ed, const char *name, uint64_t va, uint64_t size, bool func)
{
    char *n = hp_strdup(name);
    if (!n)
        return HP_ERR_NOMEM;
    return hp_edit_add_sym_owned(ed, n, va, size, func);
}

hp_status hp_edit_add_sym_owned(hp_edit *ed, char *name, uint64_t va, uint64_t size, bool func)
{
    if (HP_GROW(ed->syms, ed->syms_cap, ed->nsyms + 1) != HP_OK) {
        hp_free(name);
        return HP_ERR_NOMEM;
    }
    ed->syms[ed->nsyms++] = (hp_newsym){name, va, size, func};
    return HP_OK;
}

hp_status hp_edit_add_abs_ptr(hp_edit *ed, uint64_t va)
{
    HP_CHECK(HP_GROW(ed->abs_ptrs, ed->abs_ptrs_cap, ed->nabs_ptrs + 1));
    ed->abs_ptrs[ed->nabs_ptrs++] = va;
    return HP_OK;
}

void hp_edit_free(hp_edit *ed)
{
    for (size_t i = 0; i < HP_REGION_COUNT; i++)
        hp_buf_free(&ed->regions[i].bytes);
    for (size_t i = 0; i < ed->nsyms; i++)
        hp_free(ed->syms[i].name);
    hp_free(ed->syms);
    hp_free(ed->patches);
    hp_free(ed->abs_ptrs);
    hp_buf_free(&ed->info);
    memset(ed, 0, sizeof *ed);
}

hp_status hp_sink_fail(hp_sink *out)
{
    if (!out->err)
        out->err = errno ? errno : EIO;
    return HP_ERR_IO;
}

static hp_status hp_write_mem(hp_buf *b, const void *buf, size_t len, uint64_t off)
{
    if (off > SIZE_MAX - len)
        return HP_ERR_RANGE;
    if (off + len > b->len)
        HP_CHECK(hp_buf_append_zeros(b, (size_t)(off + len - b->len)));
    memcpy(b->data + off, buf, len);
    return HP_OK;
}

hp_status hp_write_at(hp_sink *out, const void *buf, size_t len, uint64_t off)
{
    if (out->mem)
        return hp_write_mem(out->mem, buf, len, off);
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(out->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EIO; /* no progress and no reason: do not spin */
        if (n <= 0)
            return hp_sink_fail(out);
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return HP_OK;
}

hp_status hp_image_emit(const hp_image *img, const hp_edit *ed, int fd, int *err)
{
    hp_sink out = {fd, 0, NULL};
    hp_status s = img->fmt->emit(img, ed, &out);
    if (err)
        *err = s == HP_ERR_IO ? out.err : 0;
    return s;
}

/* A slice's emit, with what it reports named by the slice. */
static hp_status hp_image_emit_slice(const hp_image *img, size_t i, const hp_edit *ed, hp_buf *buf)
{
    const hp_image *sl = img->slices[i].img;
    hp_diags *d = img->diags;
    const char *outer = d ? d->slice : NULL;
    if (d)
        d->slice = img->slices[i].arch;
    hp_sink sink = {-1, 0, buf};
    hp_status s = sl->fmt->emit(sl, ed, &sink);
    if (d)
        d->slice = outer;
    return s;
}

hp_status hp_image_join(const hp_image *img, const hp_edit *const *eds, int fd, int *err)
{
    if (err)
        *err = 0;
    if (!img->fmt->join || !img->nslices)
        return HP_ERR_INTERNAL;
    hp_buf *bufs = hp_calloc(img->nslices, sizeof *bufs);
    const hp_buf **outs = hp_calloc(img->nslices, sizeof *outs);
    hp_status s = bufs && outs ? HP_OK : HP_ERR_NOMEM;
    for (size_t i = 0; s == HP_OK && i < img->nslices; i++) {
        const hp_image *sl = img->slices[i].img;
        if (!sl != !eds[i])
            s = HP_ERR_INTERNAL; /* an edit for each patched slice, none for the others */
        else if (sl)
            s = hp_image_emit_slice(img, i, eds[i], &bufs[i]);
        outs[i] = sl ? &bufs[i] : NULL;
    }
    hp_sink out = {fd, 0, NULL};
    if (s == HP_OK)
        s = img->fmt->join(img, outs, &out);
    if (err && s == HP_ERR_IO)
        *err = out.err;
    for (size_t i = 0; bufs && i < img->nslices; i++)
        hp_buf_free(&bufs[i]);
    hp_free(bufs);
    hp_free(outs);
    return s;
}
