/* pe_defs: PE32+ and COFF constants and on-disk structures, for the image
 * reader and writer (pe.c, pe_write.c, pe_code.c) and the COFF object
 * reader (coff_obj.c). Offsets and values follow the Microsoft "PE Format"
 * specification; names follow its IMAGE_* spellings with an HP_ prefix.
 * A PE image starts with a COFF file header, section table and (mingw, Go)
 * COFF symbol table laid out exactly as an object file's, so both readers
 * read the symbol table through one function (coff_symtab.c). */
#ifndef HP_PE_DEFS_H
#define HP_PE_DEFS_H

#include "../../base/hp_base.h"

/* COFF structure sizes. */
enum {
    HP_COFF_HDR_SIZE = 20,  /* COFF file header */
    HP_COFF_SHDR_SIZE = 40, /* one section header */
    HP_COFF_SYM_SIZE = 18,  /* one symbol record (or auxiliary record) */
    HP_COFF_REL_SIZE = 10,  /* one relocation */
};

/* COFF file header Machine. */
#define HP_COFF_MACHINE_AMD64 0x8664u
#define HP_COFF_MACHINE_I386 0x14cu
#define HP_COFF_MACHINE_ARM64 0xaa64u
#define HP_COFF_MACHINE_ARMNT 0x1c4u
#define HP_COFF_MACHINE_ARM64EC 0xa641u
#define HP_COFF_MACHINE_IA64 0x200u

/* Section header Characteristics (images and objects). */
#define HP_PE_SCN_CNT_CODE 0x00000020u
#define HP_PE_SCN_CNT_IDATA 0x00000040u
#define HP_PE_SCN_CNT_UDATA 0x00000080u
#define HP_PE_SCN_LNK_INFO 0x00000200u
#define HP_PE_SCN_LNK_REMOVE 0x00000800u
#define HP_PE_SCN_LNK_COMDAT 0x00001000u
#define HP_PE_SCN_ALIGN_SHIFT 20 /* 4-bit field: 2^(n-1) bytes, 0 = default */
#define HP_PE_SCN_LNK_NRELOC_OVFL 0x01000000u
#define HP_PE_SCN_DISCARDABLE 0x02000000u
#define HP_PE_SCN_EXECUTE 0x20000000u
#define HP_PE_SCN_READ 0x40000000u
#define HP_PE_SCN_WRITE 0x80000000u

/* Symbol records: special section numbers, storage classes, the function
 * type (DTYPE_FUNCTION in bits 4-5 of Type) and COMDAT selection. */
#define HP_COFF_SYM_ABS 0xffffu   /* section number -1 */
#define HP_COFF_SYM_DEBUG 0xfffeu /* section number -2 */
enum {
    HP_COFF_EXTERNAL = 2,
    HP_COFF_STATIC = 3,
    HP_COFF_LABEL = 6,
    HP_COFF_WEAK_EXTERNAL = 105,
};
#define HP_COFF_TYPE_FUNC 0x20u
#define HP_COFF_ASSOCIATIVE 5

static inline bool hp_coff_type_is_func(uint16_t type) { return ((type >> 4) & 3) == 2; }

/* PE32+ sizes and the optional header. */
enum {
    HP_PE_OPT64_MIN = 112, /* PE32+ optional header up to the data directories */
    HP_PE_NDIRS = 16,
};

/* Offsets inside the PE32+ optional header. */
enum {
    HP_PE_OPT_SIZE_CODE = 4,
    HP_PE_OPT_SIZE_IDATA = 8,
    HP_PE_OPT_SIZE_UDATA = 12,
    HP_PE_OPT_IMAGE_BASE = 24,
    HP_PE_OPT_SECT_ALIGN = 32,
    HP_PE_OPT_FILE_ALIGN = 36,
    HP_PE_OPT_SIZE_IMAGE = 56,
    HP_PE_OPT_SIZE_HEADERS = 60,
    HP_PE_OPT_CHECKSUM = 64,
    HP_PE_OPT_DLL_CHARS = 70,
    HP_PE_OPT_NDIRS = 108,
    HP_PE_OPT_DIRS = 112,
};

/* Data directory indexes. */
enum {
    HP_PE_DIR_EXPORT = 0,
    HP_PE_DIR_EXCEPTION = 3,
    HP_PE_DIR_SECURITY = 4, /* the only one holding a file offset, not an RVA */
    HP_PE_DIR_BASERELOC = 5,
    HP_PE_DIR_DEBUG = 6,
    HP_PE_DIR_BOUND_IMPORT = 11,
};

#define HP_PE_FILE_RELOCS_STRIPPED 0x0001u
#define HP_PE_FILE_EXECUTABLE 0x0002u
#define HP_PE_FILE_DLL 0x2000u
#define HP_PE_DLL_DYNAMIC_BASE 0x0040u

/* ---- the COFF symbol table (coff_symtab.c) --------------------------- */

/* The symbol table and string table named by a COFF file header. */
typedef struct hp_coff_symtab {
    const uint8_t *syms; /* nsyms records of HP_COFF_SYM_SIZE bytes, in the file */
    uint32_t off, nsyms; /* PointerToSymbolTable, NumberOfSymbols */
    const uint8_t *strs; /* the string table (its 4-byte size first), or NULL */
    uint32_t strsize;    /* its size, 0 without one */
} hp_coff_symtab;

typedef enum hp_coff_symtab_st {
    HP_COFF_SYMTAB_OK,
    HP_COFF_SYMTAB_NONE,    /* PointerToSymbolTable or NumberOfSymbols is 0 */
    HP_COFF_SYMTAB_OUTSIDE, /* the records run past the end of the file */
    HP_COFF_STRTAB_BAD,     /* the string table's size is under 4 or runs past
                               the end (the records are usable: strs NULL) */
} hp_coff_symtab_st;

/* One symbol record, decoded. */
typedef struct hp_coff_sym {
    const char *name; /* NULL when a string-table name is out of bounds */
    size_t len;
    bool short_name;  /* name is the record's own 8 bytes: not NUL-terminated
                         when all 8 are used (use len) */
    uint32_t value;
    uint16_t secnum, type;
    uint8_t cls, naux;
} hp_coff_sym;

/* Find the tables of the COFF file header at hdr (inside data, size
 * bytes). *out is filled for every result but NONE and OUTSIDE. A string
 * table starts right after the records and is absent when fewer than 4
 * bytes follow them. */
hp_coff_symtab_st hp_coff_symtab_open(const uint8_t *data, size_t size, const uint8_t *hdr,
                                      hp_coff_symtab *out);
/* Decode record i (< t->nsyms). Returns false when its auxiliary records
 * would run past the table, which makes the rest of the table suspect. */
bool hp_coff_sym_get(const hp_coff_symtab *t, uint32_t i, hp_coff_sym *out);
/* The NUL-terminated string at offset off of the string table, or NULL
 * (offsets below 4 are the size field). */
const char *hp_coff_strtab_at(const hp_coff_symtab *t, uint64_t off, size_t *len);
/* A section name longer than 8 bytes is written "/123": a decimal offset
 * into the string table. True (with *off) when name (8 bytes, NUL-padded)
 * has that form: '/' then at least one digit up to a NUL or the 8th byte. */
bool hp_coff_long_name(const uint8_t name[8], uint32_t *off);

#endif
