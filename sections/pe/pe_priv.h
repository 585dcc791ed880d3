/* pe_priv: state shared by the PE32+ reader (pe.c), writer (pe_write.c) and
 * code map (pe_code.c). Private to sections/pe/; the format's constants are
 * in pe_defs.h. Every value here was bounds-checked by the reader. */
#ifndef HP_PE_PRIV_H
#define HP_PE_PRIV_H

#include "../format.h"
#include "pe_defs.h"

#define HP_PE_MAX_NEW 5 /* new sections: .hookp .hookr .hookd .hookrel .hookinf */

typedef struct hp_pe_sect {
    uint8_t hdr[HP_COFF_SHDR_SIZE]; /* the header as read; the writer fixes offsets */
    char name[64];                  /* resolved name ("/4" looked up in the string table) */
    uint32_t rva, vsize;            /* vsize: VirtualSize, or SizeOfRawData when that is 0 */
    uint32_t raw_off, raw_size;     /* as in the header */
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
    hp_coff_symtab symtab; /* the COFF symbol table; all zero unless symtab_ok */
    bool symtab_ok;        /* present and inside the file */
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
/* pe_slots.c: format.h addr_slots (DIR64 words, export RVAs). */
hp_status hp_pe_addr_slots(const hp_image *img, uint64_t va, hp_addr_slot_fn fn, void *ctx);
/* pe_code.c: the code sections and the .pdata function starts (code.h). */
hp_status hp_pe_code(const hp_image *img, hp_code_map *out);

#endif
