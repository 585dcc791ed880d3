/* image: the format-neutral model of an executable or shared library.
 * A format backend (elf/, pe/, macho/) fills it from the mapped input;
 * the rewriter reads it and describes its changes as an hp_edit, which the
 * same backend writes out. Nothing outside sections/ sees a format struct. */
#ifndef HP_IMAGE_H
#define HP_IMAGE_H

#include "../base/hp_base.h"
#include "../base/hp_diag.h"

typedef enum hp_format_kind { HP_FMT_ELF, HP_FMT_PE, HP_FMT_MACHO } hp_format_kind;

/* The instruction set of the image's code. The format reader sets it (zero,
 * x86-64, is what a zero-filled image holds); the rewriter picks the
 * architecture table from it (relocs/arch.h) and never branches on it. */
typedef enum hp_machine { HP_MACH_X86_64, HP_MACH_ARM64 } hp_machine;

enum { HP_PROT_R = 1, HP_PROT_W = 2, HP_PROT_X = 4 };

/* A loaded region (ELF PT_LOAD, PE section, Mach-O segment). */
typedef struct hp_segment {
    uint64_t va;        /* link-time virtual address (image base included) */
    uint64_t mem_size;  /* bytes in memory; >= file_size (the rest is zero) */
    uint64_t file_off;  /* offset of the first byte in the input file */
    uint64_t file_size; /* bytes backed by the file */
    uint32_t prot;      /* HP_PROT_* */
} hp_segment;

typedef enum hp_sym_kind { HP_SYM_FUNC, HP_SYM_DATA } hp_sym_kind;

/* Where a symbol came from, best first: a richer source wins a tie. */
typedef enum hp_sym_source {
    HP_SRC_PCLNTAB, /* Go function table (names even when stripped) */
    HP_SRC_DYNSYM,  /* ELF .dynsym / PE export table / Mach-O exports */
    HP_SRC_SYMTAB,  /* full symbol table (.symtab, COFF, LC_SYMTAB) */
    HP_SRC_PLT,     /* synthetic "name@plt" entries for imported functions */
} hp_sym_source;

typedef struct hp_symbol {
    const char *name;  /* as spelled in the binary; owned by the image (in
                          img->strs, or borrowed from img->data) */
    const char *alias; /* source-level spelling (Mach-O "_add" -> "add"), or NULL */
    uint64_t va;
    uint64_t size; /* 0 when unknown */
    uint8_t kind;  /* hp_sym_kind */
    uint8_t size_guessed; /* the format recorded no size: a function's size
                             runs to the next symbol (hp_image_finish_syms),
                             padding after its code included */
    uint8_t source;
    uint8_t global;
} hp_symbol;

/* One in-place change of original bytes (a prologue jump). */
typedef struct hp_patch {
    uint64_t va;
    uint32_t len;
    uint8_t bytes[32];
    uint8_t orig[32]; /* kept so every patch can be checked or undone */
} hp_patch;

/* A symbol the output should name (stubs, trampolines, linked mocks). */
typedef struct hp_newsym {
    char *name; /* owned by the edit */
    uint64_t va;
    uint64_t size;
    bool func;
} hp_newsym;

/* A new loaded region. bytes.len <= mem_size; the tail is zero-filled. */
typedef struct hp_region {
    hp_buf bytes;
    uint64_t va;
    uint64_t mem_size;
    uint32_t prot;
} hp_region;

enum { HP_REGION_TEXT, HP_REGION_RODATA, HP_REGION_DATA, HP_REGION_COUNT };

/* Everything the rewriter changes; the backend's emit turns it into a file. */
typedef struct hp_edit {
    hp_region regions[HP_REGION_COUNT]; /* empty ones (mem_size 0) are not emitted */
    hp_patch *patches;
    size_t npatches, patches_cap;
    hp_newsym *syms;
    size_t nsyms, syms_cap;
    /* VAs of 8-byte absolute pointers inside new regions that must be
     * rebased when a position-independent image loads elsewhere. */
    uint64_t *abs_ptrs;
    size_t nabs_ptrs, abs_ptrs_cap;
    hp_buf info;           /* the hookpatch record (see rewriter/info.h) */
    bool removed_landing_pad; /* an endbr64 was overwritten: clear IBT */
    bool pushed_return;       /* a trampoline pushes a return address and
                                 jumps (a stolen call): clear SHSTK */
} hp_edit;

/* Layout request/answer for the backend's place(). Sizes in, VAs out.
 * The text region always exists; rodata/data only when their size > 0.
 *
 * Where the text lands (what a prologue branch can count on): above every
 * existing segment, as low as the format allows. ELF: the new segments are
 * aligned to the image's page size (4 KiB on x86-64; on AArch64 the
 * largest p_align of the input's PT_LOADs, often 64 KiB), and va[TEXT]
 * is at most one such page plus the new program header table (56 bytes
 * per entry) above hp_image_end_va(), unless the file is longer than its
 * loaded image
 * (debug info or symbols after the last segment): then the text follows
 * the file's end mirrored into the address space, so the distance grows by
 * that excess. The whole image, new regions included, stays under 2 GiB
 * (else place() fails), so any original byte is within rel32 / ADRP reach
 * of any new one, but not always within an AArch64 B's +-128 MiB: the
 * rewriter checks the distance per site. */
typedef struct hp_layout {
    uint64_t size[HP_REGION_COUNT]; /* mem_size of each region */
    uint64_t nabs_ptrs;             /* absolute pointers the loader must rebase */
    uint64_t va[HP_REGION_COUNT];   /* chosen by place() */
    /* Test only: put the text region out of the near jump's reach (arm64 B,
     * +-128 MiB) of the image's code, so the far forms run in tests.
     * Backends that cannot may ignore it. */
    bool far;
} hp_layout;

/* One slice of a container file (a Mach-O universal file): a whole image
 * of one architecture at [file_off, file_off+size) of the container.
 * A slice of an architecture hookpatch patches is loaded as its own thin
 * image (img), which is planned, emitted and signed exactly like a thin
 * file; any other slice (img NULL) is copied to the output byte for byte. */
typedef struct hp_slice {
    const char *arch;  /* lipo's name: "x86_64", "arm64", "arm64e", "i386"...;
                          owned by the container */
    uint64_t file_off, size;
    uint32_t align;    /* log2 of the slice's alignment in the container */
    struct hp_image *img; /* owned by the container; NULL: copied unpatched */
    const char *why;   /* img NULL: why it is not patched (static text) */
} hp_slice;

struct hp_format;

typedef struct hp_image {
    char *path;
    const uint8_t *data; /* the whole input, mapped read-only */
    size_t size;
    hp_format_kind kind;
    hp_machine machine;
    const struct hp_format *fmt;
    bool pic;          /* loads at any address: PIE, .so, relocatable DLL */
    bool shared;       /* a library (.so, .dll, .dylib) */
    bool has_dynreloc; /* the loader applies relocations (PIC outputs can rebase) */
    bool ibt;          /* landing pads enforced (x86-64 CET IBT, arm64 BTI):
                          entries start with endbr64 / BTI c */
    bool has_symtab;   /* a full symbol table was present */
    /* Room in the headers for the commands hookpatch adds, where the
     * format limits it (Mach-O: load commands, up to the first section's
     * content; PE: section headers, up to the first section's RVA); filled
     * by the backend at load. ELF has no such limit (the program header
     * table moves): hdr_room.what is NULL. need_min: code only; need_max:
     * code and the data of object mocks (what place() checks, in bytes). */
    struct {
        const char *what; /* "load commands", "section headers"; NULL: no limit */
        uint64_t free, need_min, need_max;
    } hdr_room;
    uint64_t base_va;  /* lowest mapped VA */
    hp_segment *segs;  /* sorted by va */
    size_t nsegs, segs_cap;
    hp_symbol *syms; /* sorted by va, then name; see hp_image_finish_syms */
    size_t nsyms, syms_cap;
    /* Go function table, when present (bytes point into data). */
    const uint8_t *pclntab;
    size_t pclntab_size;
    uint64_t pclntab_va;
    uint64_t go_text_va; /* runtime.text, the base of pclntab entry offsets */
    /* The record of an earlier hookpatch run, or NULL (points into data). */
    const uint8_t *prior_info;
    size_t prior_info_size;
    /* A container (nslices > 0) is only its slices, in its header's order:
     * it has no segments or symbols of its own. Callers plan each slice's
     * img and write the container with hp_image_join. */
    hp_slice *slices;
    size_t nslices;
    char **strs; /* owned strings (names that are not in data) */
    size_t nstrs, strs_cap;
    void *priv; /* backend state */
    void *priv_map; /* the mapping hp_image_open made, or NULL */
    hp_diags *diags; /* borrowed, for warnings found while loading */
} hp_image;

/* Map `path` read-only, pick the backend by probing, and load it.
 * Errors are reported in d (with the reason) and returned. Anything but a
 * regular file (a FIFO, a device, a directory) is refused without blocking. */
hp_status hp_image_open(const char *path, hp_diags *d, hp_image **out);
/* hp_image_open in two steps, for a caller that must know where the input
 * is mapped (img->data, img->size) before the backend reads it: a file
 * truncated by another process faults there. hp_image_map maps the file
 * into a new image that is not loaded yet; hp_image_load probes and loads
 * it. After a failed load, only hp_image_close may be called. */
hp_status hp_image_map(const char *path, hp_diags *d, hp_image **out);
hp_status hp_image_load(hp_image *img, hp_diags *d);
/* Same, on bytes the caller keeps alive and unchanged until hp_image_close
 * (fuzzers, unit tests): symbol names may point into them. */
hp_status hp_image_open_mem(const uint8_t *data, size_t size, const char *name, hp_diags *d,
                            hp_image **out);
void hp_image_close(hp_image *img);

/* Write the image with the edit applied into fd, an empty file open for
 * writing, through the format's emit. On HP_ERR_IO, *err (when not NULL)
 * is the errno of the call that failed (ENOSPC, EFBIG, ...); else 0. */
hp_status hp_image_emit(const hp_image *img, const hp_edit *ed, int fd, int *err);
/* The same for a container: each patched slice's image written with its
 * edit eds[i] (one per img->slices[i]; NULL for the slices copied
 * unpatched) through its format's emit into memory, then the container
 * written around them by the format's join. */
hp_status hp_image_join(const hp_image *img, const hp_edit *const *eds, int fd, int *err);

/* File bytes for [va, va+len), or NULL unless the whole range is backed by
 * the file within one segment. */
const uint8_t *hp_image_bytes(const hp_image *img, uint64_t va, uint64_t len);
const hp_segment *hp_image_segment_at(const hp_image *img, uint64_t va);
/* True when va lies in a segment the loader maps executable (the segment's
 * protection, never a section flag). Otherwise, when why is not NULL, writes
 * the reason ("not executable code: it lies in a non-executable segment
 * (rw-) at 0x...", or "... outside every segment") for a refusal message. */
bool hp_image_executable(const hp_image *img, uint64_t va, char *why, size_t why_len);
uint64_t hp_image_end_va(const hp_image *img); /* highest va+mem_size */

/* The bytes of a named section such as ".debug_info" (formats that have
 * section names), or false. *data points into the mapped file. */
bool hp_image_section(const hp_image *img, const char *name, const uint8_t **data,
                      size_t *size);

/* For backends: a problem with the input, reported in img->diags (nothing
 * when it is NULL) at the input's path. hp_image_bad: malformed or
 * truncated, returns HP_ERR_FORMAT. hp_image_refuse: well-formed but not
 * something hookpatch can patch, returns st (HP_ERR_UNSUPPORTED,
 * HP_ERR_RANGE, ...). hp_image_warn: a warning. */
hp_status hp_image_bad(const hp_image *img, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
hp_status hp_image_refuse(const hp_image *img, hp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hp_image_warn(const hp_image *img, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* For backends: record a segment / a symbol. The name is copied. */
hp_status hp_image_add_segment(hp_image *img, const hp_segment *seg);
hp_status hp_image_add_symbol(hp_image *img, const char *name, size_t name_len, uint64_t va,
                              uint64_t size, hp_sym_kind kind, hp_sym_source src, bool global);
/* Same, but the name is borrowed, not copied: a NUL-terminated string that
 * lives as long as the image, such as one in a string table of img->data
 * that the caller has checked is terminated inside the table. */
hp_status hp_image_add_symbol_ref(hp_image *img, const char *name, uint64_t va, uint64_t size,
                                  hp_sym_kind kind, hp_sym_source src, bool global);
/* Make room for `more` symbols beyond those recorded (an upper bound read
 * from a table's size), so adding them does not grow the array piecemeal. */
hp_status hp_image_reserve_symbols(hp_image *img, size_t more);
/* For backends of container formats: record a slice (arch is copied). A
 * slice to patch is loaded from its bytes as a thin image, with
 * img->diags->slice set to arch while it loads, so that any problem names
 * it; the slice is recorded only when that load succeeds. why NULL: load
 * it; else it is copied unpatched for that reason. */
hp_status hp_image_add_slice(hp_image *img, const char *arch, uint64_t file_off, uint64_t size,
                             uint32_t align, const char *why);
/* Keep a string for the image's lifetime (names built by readers). */
const char *hp_image_intern(hp_image *img, const char *s, size_t len);
/* Sort symbols; drop exact duplicates (same va, name), keeping the better
 * source; fill unknown function sizes from the next symbol. */
hp_status hp_image_finish_syms(hp_image *img);

/* Symbol lookups. */
const hp_symbol *hp_image_sym_at(const hp_image *img, uint64_t va); /* function starting at va */
/* Start of the next symbol of any kind above va, or the end of va's segment. */
uint64_t hp_image_next_sym_va(const hp_image *img, uint64_t va);
/* True if some function's [va, va+size) contains addr. */
bool hp_image_owned(const hp_image *img, uint64_t addr);
/* The function owning addr: one with a recorded size if any does, else one
 * whose size was guessed (size_guessed), else NULL. */
const hp_symbol *hp_image_owner(const hp_image *img, uint64_t addr);
bool hp_symbol_matches(const hp_symbol *s, const char *name);
/* In a format whose C names carry a leading underscore (hp_format's
 * c_underscore: Mach-O spells add as _add), the source-level name users
 * write: name without it, or NULL when there is none to drop. Image
 * symbols get it as their alias; the object linker matches object symbols
 * and `original` bindings through it. */
const char *hp_c_name(const char *name);

/* The edit: helpers used by the rewriter. */
hp_status hp_edit_add_patch(hp_edit *ed, const hp_patch *p);
hp_status hp_edit_add_sym(hp_edit *ed, const char *name, uint64_t va, uint64_t size, bool func);
/* Same, taking ownership of a heap name (freed here on failure). */
hp_status hp_edit_add_sym_owned(hp_edit *ed, char *name, uint64_t va, uint64_t size, bool func);
hp_status hp_edit_add_abs_ptr(hp_edit *ed, uint64_t va);
void hp_edit_free(hp_edit *ed);

#endif
