/* format: the table of functions a format backend provides. The rewriter
 * calls only these, never a format-specific function, so adding a format
 * is adding one table. */
#ifndef HP_FORMAT_H
#define HP_FORMAT_H

#include "code.h"
#include "image.h"

/* Where emit() writes, and why it stopped: the errno of the first failed
 * system call, kept at the point of failure so that "No space left on
 * device" is not reported as a bare "I/O error". */
typedef struct hp_sink {
    int fd;
    int err; /* 0 until a call fails */
    /* When not NULL, hp_write_at writes here instead of fd (a slice of a
     * container, emitted before the container's layout is known). Only
     * emits that write through hp_write_at alone can be slices. */
    hp_buf *mem;
} hp_sink;

/* A word of the file that holds an address for the loader (addr_slots). */
typedef enum hp_slot_kind { HP_SLOT_RELOC, HP_SLOT_EXPORT } hp_slot_kind;
typedef struct hp_addr_slot {
    uint64_t va;       /* the word */
    uint8_t size;      /* its bytes */
    uint8_t kind;      /* hp_slot_kind */
    uint64_t reloc_at; /* HP_SLOT_RELOC: the word relocated */
    uint64_t base;     /* the word holds the address minus this (PE RVAs) */
} hp_addr_slot;
typedef hp_status (*hp_addr_slot_fn)(void *ctx, const hp_addr_slot *slot);

typedef struct hp_format {
    const char *name;
    hp_format_kind kind;
    /* C names carry a leading underscore (f is _f), in images and objects
     * alike: users write f and find _f (hp_c_name). */
    bool c_underscore;
    /* Cheap magic check on the first bytes; never trusts anything else. */
    bool (*probe)(const uint8_t *data, size_t size);
    /* Validate every header and table the backend uses, then fill the
     * image's segments and symbols, and point img->pclntab at Go's function
     * table when there is one (hp_image_load then reads it, hp_go_load).
     * Must not crash on any input. */
    hp_status (*load)(hp_image *img);
    /* Choose VAs for the new regions (sizes in lay->size) and check that
     * the headers have room. Reports problems in img->diags. */
    hp_status (*place)(hp_image *img, hp_layout *lay);
    /* Write the patched image to out->fd, a new empty file. A failed
     * system call returns HP_ERR_IO with its errno in out->err. */
    hp_status (*emit)(const hp_image *img, const hp_edit *ed, hp_sink *out);
    void (*unload)(hp_image *img);
    /* Optional: the file bytes of a named non-loaded section (debug info),
     * bounds-checked at load time. NULL when the format has none. */
    bool (*section)(const hp_image *img, const char *name, const uint8_t **data, size_t *size);
    /* Optional: the code ranges and unwind-table function starts (code.h).
     * NULL: the executable segments and the function symbols stand in. */
    hp_status (*code)(const hp_image *img, hp_code_map *out);
    /* Optional: the words of the file the loader takes as the address va
     * (call-site redirection re-points them, rewriter/callsite.c): a
     * relative relocation's addend (reloc_at: the word it relocates, which
     * the file may hold va in too) and an exported symbol's value (reloc_at
     * 0), each reported to fn in file order. NULL: none are known. */
    hp_status (*addr_slots)(const hp_image *img, uint64_t va, hp_addr_slot_fn fn, void *ctx);
    /* Optional, for container formats (load filled img->slices): write the
     * container into out, each slice's bytes being out_slices[i] for a
     * patched slice (its emit's output) or the input's bytes for one
     * copied unpatched (out_slices[i] NULL). Slice order and alignment
     * follow the input. */
    hp_status (*join)(const hp_image *img, const hp_buf *const *out_slices, hp_sink *out);
} hp_format;

extern const hp_format hp_format_elf;
extern const hp_format hp_format_pe;
extern const hp_format hp_format_macho;

/* Write helper for emit(): pwrite all of buf at off, retrying short writes
 * (or copy it into out->mem at off, growing it with zeros). */
hp_status hp_write_at(hp_sink *out, const void *buf, size_t len, uint64_t off);
/* Record errno (EIO when it is 0) in out->err and return HP_ERR_IO: for a
 * failed ftruncate or file-to-file copy (hp_sys_copy_range) in emit(). */
hp_status hp_sink_fail(hp_sink *out);

#endif
