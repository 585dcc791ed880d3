/* pe_priv: state shared by the PE32+ reader (pe.c) and writer (pe_write.c).
 * Private to sections/. Field offsets follow the Microsoft "PE Format"
 * specification; every value here was bounds-checked by the reader. */
#ifndef HP_PE_PRIV_H
#define HP_PE_PRIV_H

#include "../format.h"

enum {
    HP_PE_COFF_SIZE = 20,  /* COFF file header */
    HP_PE_OPT64_MIN = 112, /* PE32+ optional header up to the data directories */
    HP_PE_SHDR_SIZE = 40,  /* one section header */
    HP_PE_SYM_SIZE = 18,   /* one COFF symbol record */
    HP_PE_NDIRS = 16,
    HP_PE_MAX_NEW = 5,     /* .hookp .hookr .hookd .hookrel .hookinf */
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

#define HP_PE_SCN_CNT_CODE 0x00000020u
#define HP_PE_SCN_CNT_IDATA 0x00000040u
#define HP_PE_SCN_CNT_UDATA 0x00000080u
#define HP_PE_SCN_DISCARDABLE 0x02000000u
#define HP_PE_SCN_EXECUTE 0x20000000u
#define HP_PE_SCN_READ 0x40000000u
#define HP_PE_SCN_WRITE 0x80000000u

typedef struct hp_pe_sect {
    uint8_t hdr[HP_PE_SHDR_SIZE]; /* the header as read; the writer fixes offsets */
    char name[64];                /* resolved name ("/4" looked up in the string table) */
    uint32_t rva, vsize;          /* vsize: VirtualSize, or SizeOfRawData when that is 0 */
    uint32_t raw_off, raw_size;   /* as in the header */
    uint32_t chars;
} hp_pe_sect;

/* One RUNTIME_FUNCTION of the exception directory (RVAs). */
typedef struct hp_pe_rtf {
    uint32_t begin, end;
} hp_pe_rtf;

typedef struct hp_pe {
    uint64_t coff_off, opt_off, sect_off; /* file offsets of the headers */
    uint16_t nsects, opt_size, file_chars, dll_chars;
    uint64_t image_base;
    uint32_t sect_align, file_align, size_headers;
    uint32_t ndirs; /* data directories present, <= 16 */
    uint32_t dir_rva[HP_PE_NDIRS], dir_size[HP_PE_NDIRS];
    hp_pe_sect *sects;
    uint32_t end_rva;   /* SectionAlignment-aligned end of the last section */
    uint64_t first_raw; /* lowest file offset of section data: headers end here */
    uint64_t raw_end;   /* end of the last section data in the file */
    uint64_t data_end;  /* end of the last section data or symbol table in the file */
    /* COFF symbol table, when present and inside the file */
    uint32_t sym_off, nsyms, str_size;
    bool symtab_ok;
    hp_pe_rtf *pdata; /* sorted by begin */
    size_t npdata;
    uint64_t dbg_off; /* file offset of the debug directory entries */
    uint32_t ndbg;
    uint64_t reloc_off; /* file offset of the base relocation blocks */
    uint64_t cert_off, cert_size; /* attribute certificates (Authenticode) */
    /* chosen by place() */
    bool placed;
    uint32_t nreserve;  /* new section headers the output may add */
    uint32_t shift;     /* bytes every section's data moves forward */
    uint32_t new_size_headers;
    bool drop_bound;    /* new headers overwrite the bound import table */
    uint32_t region_rva[HP_REGION_COUNT];
    uint64_t region_size[HP_REGION_COUNT];
    uint32_t next_rva; /* first free RVA after the regions */
} hp_pe;

/* The section containing rva within its file-backed bytes: a pointer to
 * the bytes at rva and how many follow inside that section (NULL if none).
 * Header bytes (rva < SizeOfHeaders) count too. */
const uint8_t *hp_pe_rva_bytes(const hp_image *img, const hp_pe *e, uint32_t rva,
                               uint64_t *avail);
/* The file offset Windows reads a section's data from. */
uint64_t hp_pe_raw_off(const hp_pe *e, const hp_pe_sect *s);
/* The standard image checksum of a whole file whose CheckSum field has
 * been zeroed: 16-bit words summed with end-around carry, plus the length. */
uint32_t hp_pe_checksum(const uint8_t *p, size_t n);

hp_status hp_pe_emit(const hp_image *img, const hp_edit *ed, hp_sink *out);
/* pe_code.c: the code sections and the .pdata function starts (code.h). */
hp_status hp_pe_code(const hp_image *img, hp_code_map *out);

#endif
