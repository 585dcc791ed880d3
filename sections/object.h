/* object: the in-memory model of a loaded relocatable object, filled by the
 * object readers (elf/elf_obj.c, pe/coff_obj.c, macho/macho_obj.c) and
 * placed by the object linker (relocs/objlink*.c). The model speaks ELF:
 * the COFF and Mach-O readers translate their symbols and relocations into
 * ELF terms. The reader validates everything once, so the linker trusts
 * this model: every index is in range and every relocation fits inside its
 * section. */
#ifndef HP_OBJECT_H
#define HP_OBJECT_H

#include "image.h"
#include "elf/elf_defs.h" /* the ELF names the model speaks */
#include "../base/hp_map.h"

#define HP_OBJ_DROP (-1)          /* section not placed (debug, .eh_frame, ...) */
#define HP_OBJ_MAX_ALIGN 4096u    /* region VAs are page aligned */
#define HP_OBJ_MAX_REGION (1u << 30) /* per region; bounds hostile NOBITS sizes */
#define HP_OBJ_NO_GOT UINT32_MAX

typedef struct hp_obj_sec {
    const char *name;    /* points into the object's bytes (or a literal) */
    const uint8_t *data; /* NULL for NOBITS */
    uint64_t size, align;
    int region;     /* HP_REGION_* or HP_OBJ_DROP */
    bool nobits;    /* zero-filled (bss) */
    bool discarded; /* member of a COMDAT group another object already defined */
    uint64_t out_off; /* offset inside its region (set by measure) */
} hp_obj_sec;

typedef struct hp_obj_sym {
    const char *name; /* "" when nameless */
    uint64_t value, size;
    uint32_t shndx; /* section index, SHN_UNDEF or SHN_ABS */
    uint8_t bind, type;
    bool defined;   /* in a kept section, or absolute */
    bool used;      /* a kept relocation refers to it */
    bool absolute;  /* its resolved value is not rebased with the image */
    bool dup;       /* global whose COMDAT copy here was discarded */
    bool sized;     /* size is known (defined in some object) */
    uint32_t got;   /* GOT slot index or HP_OBJ_NO_GOT */
    uint64_t va;    /* resolved address (emit) */
} hp_obj_sym;

typedef struct hp_obj_rela {
    uint64_t off; /* inside section sec */
    int64_t addend;
    uint32_t sec, sym, type;
} hp_obj_rela;

typedef struct hp_obj {
    char *path;     /* owned */
    char *loc_file; /* owned copy of the rules location's file */
    hp_loc loc;
    uint8_t *data;  /* owned copy of the object file */
    size_t size;
    hp_obj_sec *secs;
    size_t nsecs;
    hp_obj_sym *syms;
    size_t nsyms;
    hp_obj_rela *relas;
    size_t nrelas, relas_cap;
    const char **comdats; /* COMDAT signatures this object provides */
    size_t ncomdats, comdats_cap;
    char *strs;     /* owned: names a reader had to copy (COFF short names) */
    bool needs_got; /* refers to the GOT base (_GLOBAL_OFFSET_TABLE_, GOTOFF) */
    bool c_underscore; /* its format's hp_format.c_underscore (Mach-O) */
    hp_machine machine; /* the instruction set; relocation types are its ELF types */
} hp_obj;

static inline bool hp_obj_kept(const hp_obj_sec *s)
{
    return s->region != HP_OBJ_DROP && !s->discarded;
}

/* A function: STT_FUNC, or a typeless symbol (hand-written assembly often
 * has no .type directive), defined in code: a FUNC symbol in a data section
 * would put a jump target in the non-executable data region. A global whose
 * COMDAT copy was discarded here counts by its type (the kept copy
 * elsewhere defines it). */
static inline bool hp_obj_is_func(const hp_obj *o, const hp_obj_sym *s)
{
    if (s->type != STT_FUNC && s->type != STT_NOTYPE)
        return false;
    if (s->dup)
        return s->type == STT_FUNC;
    return s->defined && !s->absolute && s->shndx < o->nsecs &&
           o->secs[s->shndx].region == HP_REGION_TEXT;
}

/* The errors of one object reader. Each names the object and its rules
 * location; after HP_OBJ_MAX_ERRORS of them one "too many errors" line
 * ends the list, so a hostile input stays readable. st keeps
 * HP_ERR_FORMAT once seen (the input is not to be trusted further), else
 * the latest status. */
#define HP_OBJ_MAX_ERRORS 32
typedef struct hp_obj_errs {
    hp_diags *d;
    const hp_obj *o;
    unsigned n;
    hp_status st;
} hp_obj_errs;

/* Well-formed, but refused: report, and return HP_ERR_LINK. */
hp_status hp_obj_refuse(hp_obj_errs *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Malformed or truncated: report, and return HP_ERR_FORMAT. */
hp_status hp_obj_bad(hp_obj_errs *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The limits every reader checks a kept section against: alignment up to
 * HP_OBJ_MAX_ALIGN, size up to HP_OBJ_MAX_REGION. Refuses (hp_obj_refuse)
 * naming the section, else HP_OK. */
hp_status hp_obj_check_limits(hp_obj_errs *e, const hp_obj_sec *sec);
/* A warning about the object: named as errors are, not counted. */
void hp_obj_warn(const hp_obj_errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A reader keeps going after an error, to report them all, unless the input
 * cannot be trusted further. */
static inline bool hp_obj_fatal(hp_status s) { return s == HP_ERR_FORMAT || s == HP_ERR_NOMEM; }
/* A reader's result once its passes returned st: running out of memory,
 * else the class of the errors reported, else st. */
static inline hp_status hp_obj_result(const hp_obj_errs *e, hp_status st)
{
    return st == HP_ERR_NOMEM || e->st == HP_OK ? st : e->st;
}

/* Read o->data (o->path and o->loc name it in diagnostics) with the
 * reader for its format, picked by magic number (below). COMDAT groups
 * whose signature is in `comdats` are marked discarded. Every problem is
 * reported in d; returns HP_ERR_FORMAT for malformed input, HP_ERR_LINK for
 * well-formed input we refuse. */
hp_status hp_obj_read(hp_obj *o, const hp_map *comdats, hp_diags *d);
/* Free what o owns (its bytes, tables and names) and clear it. */
void hp_obj_free(hp_obj *o);

/* The readers hp_obj_read picks from, one per format, each with the
 * contract above: ELF64 x86-64 and AArch64 ET_REL (elf/elf_obj.c), COFF
 * AMD64 objects (x86_64-w64-mingw32-gcc -c; pe/coff_obj.c) and Mach-O
 * x86-64 and arm64 MH_OBJECT files (clang -target x86_64-apple-macos11 -c,
 * -target arm64-apple-macos11 -c; macho/macho_obj.c, macho_obj_a64.c). The
 * probes say whether the bytes look like that format, including the
 * variants the reader refuses by name (PE images, i386, fat files, ...). */
hp_status hp_elf_obj_read(hp_obj *o, const hp_map *comdats, hp_diags *d);
bool hp_coff_obj_probe(const uint8_t *data, size_t size);
hp_status hp_coff_obj_read(hp_obj *o, const hp_map *comdats, hp_diags *d);
bool hp_macho_obj_probe(const uint8_t *data, size_t size);
hp_status hp_macho_obj_read(hp_obj *o, const hp_map *comdats, hp_diags *d);
/* For formats without symbol sizes (COFF, Mach-O): each defined symbol
 * extends to the next symbol of its section, or to the section's end. */
hp_status hp_obj_infer_sizes(hp_obj *o);
/* What the model knows of a relocation type of machine m (ELF numbering:
 * R_X86_64_*, R_AARCH64_*): its name, the bytes it writes, and what it
 * asks of the linker. */
enum {
    HP_RK_NO,      /* known, never in an object the linker takes */
    HP_RK_OK,      /* applied as is */
    HP_RK_GOT,     /* takes a GOT slot (unless relaxed) */
    HP_RK_GOTBASE, /* relative to the GOT's base */
    HP_RK_TLS,     /* thread-local storage: refused */
    HP_RK_DYN,     /* a dynamic relocation: refused in an object */
    HP_RK_UNSUP,   /* a static relocation the linker does not apply: refused */
};
#define HP_R_AARCH64_PLT32 314 /* S + A - P, 32 bits (AAELF64 2022); not in glibc's elf.h */
typedef struct hp_obj_rel_info {
    const char *name;
    uint8_t width, kind;
} hp_obj_rel_info;
/* The entry for type, or NULL for an unknown type. */
const hp_obj_rel_info *hp_obj_rel_lookup(hp_machine m, uint32_t type);
/* "R_X86_64_PC32", or NULL for an unknown type. */
const char *hp_obj_rel_name(hp_machine m, uint32_t type);
/* Bytes a relocation type writes, or 0 when the linker does not apply it. */
unsigned hp_obj_rel_width(hp_machine m, uint32_t type);
/* True for relocation types that take a GOT slot (unless relaxed). */
bool hp_obj_rel_needs_got(hp_machine m, uint32_t type);
/* The 8-byte absolute pointer type (R_X86_64_64, R_AARCH64_ABS64): a PIC
 * output asks the loader to rebase it, so its section must be writable. */
uint32_t hp_obj_rel_abs64(hp_machine m);
/* "x86-64", "arm64": for messages. */
const char *hp_obj_machine_name(hp_machine m);

#endif
