/* macho_priv: state shared by the Mach-O image reader (macho.c), writer
 * (macho_write.c), signer (macho_sign.c) and code map (macho_code.c).
 * Private to sections/macho/; the format's constants are in macho_defs.h. */
#ifndef HP_MACHO_PRIV_H
#define HP_MACHO_PRIV_H

#include "../format.h"
#include "macho_defs.h"

/* Names of what hookpatch adds. */
#define HP_MACHO_SEG_TEXT "__HOOKPATCH"
#define HP_MACHO_SEG_DATA "__HOOKPATCH_D"

typedef struct hp_macho_seg {
    char name[17];
    uint64_t vmaddr, vmsize, fileoff, filesize; /* fileoff: from the slice start */
    uint32_t maxprot, initprot, nsects;
    uint32_t cmd_off; /* offset of the load command from the slice start */
} hp_macho_seg;

typedef struct hp_macho_sect {
    char segname[17], sectname[17];
    uint64_t addr, size;
    uint32_t offset, flags;
} hp_macho_sect;

/* One fat_arch entry (any width), offsets from the start of the file. */
typedef struct hp_macho_arch {
    uint32_t cputype, cpusubtype, align;
    uint64_t offset, size;
} hp_macho_arch;

/* Where the new segments go, chosen by place(). */
typedef struct hp_macho_plan {
    bool placed;
    bool has_data;        /* __HOOKPATCH_D exists (rodata or data) */
    uint64_t data_seg_va; /* __HOOKPATCH_D */
    uint64_t text_seg_va; /* __HOOKPATCH */
    uint64_t new_off;     /* file offset (in the slice) of the first new segment */
} hp_macho_plan;

typedef struct hp_macho {
    uint64_t slice_size; /* img->size */
    /* a universal file (a container: img->slices, and nothing below) */
    bool fat, fat64;
    hp_macho_arch *archs; /* as img->slices */
    uint32_t narchs;
    /* mach_header_64 */
    uint32_t cpusubtype, filetype, ncmds, sizeofcmds, flags;
    uint64_t page; /* segment alignment: HP_MACHO_PAGE or HP_MACHO_PAGE_ARM64 */
    hp_macho_seg *segs; /* every LC_SEGMENT_64, in load-command order */
    size_t nsegs;
    hp_macho_sect *sects; /* every section_64, in order (n_sect = index + 1) */
    size_t nsects;
    int linkedit; /* index into segs, or -1 */
    /* offsets (from the slice start) of the load commands we rewrite; 0 = absent */
    uint32_t symtab_lc, dysymtab_lc, dyld_info_lc, chained_lc, sig_lc, fstarts_lc;
    uint64_t content_off; /* first byte after the load commands that holds content */
    hp_macho_plan plan;
} hp_macho;

/* A thin image's bytes (a universal file's slice is an image of its own). */
static inline const uint8_t *hp_macho_slice(const hp_image *img, const hp_macho *m)
{
    (void)m;
    return img->data;
}

/* True for the commands shaped as linkedit_data_command {dataoff, datasize}. */
bool hp_macho_is_linkedit_data(uint32_t cmd);

/* HP_OK when absolute pointers in the new segments can be rebased (PIC
 * images): the binary has LC_DYLD_INFO rebase opcodes or chained fixups
 * to extend. */
hp_status hp_macho_can_rebase(const hp_image *img, const hp_macho *m);

/* LC_FUNCTION_STARTS decoded into VAs (*out owned, NULL and 0 without it). */
hp_status hp_macho_fstarts(const hp_image *img, const hp_macho *m, uint64_t **out, size_t *n);

/* macho_code.c: the instruction sections and LC_FUNCTION_STARTS (code.h). */
hp_status hp_macho_code(const hp_image *img, hp_code_map *out);

/* macho_chained.c: the output's LC_DYLD_CHAINED_FIXUPS payload. */
typedef struct hp_macho_chain {
    /* in */
    uint32_t nnew;  /* new segments, inserted before __LINKEDIT's entry */
    uint64_t data_va, data_vmsize, data_filesize; /* the new data segment */
    uint64_t hdr_va; /* vmaddr of the mach header (base of format 6 targets) */
    const uint64_t *ptrs; /* absolute pointer slots in the new data segment */
    size_t nptrs;         /* 0: the segment gets no fixups */
    /* out */
    hp_buf blob;        /* the grown payload, a multiple of 8 bytes */
    uint16_t format;    /* DYLD_CHAINED_PTR_64 or _64_OFFSET, as the input's segments */
    uint16_t page_size; /* as the input's segments (else the machine's page) */
    uint64_t *sorted;   /* the slots, sorted, duplicates dropped (owned) */
    size_t nsorted;
} hp_macho_chain;
/* Build c->blob from the input's payload (m->chained_lc must be set):
 * seg_count grown by c->nnew, and, when c->nptrs, a starts entry for the
 * new data segment (its index: m->linkedit) with the page starts of the
 * slots. Refuses (reported on img) slots that are misaligned or outside
 * the segment's file bytes, and pointer formats other than 2 and 6. */
hp_status hp_macho_chain_build(const hp_image *img, const hp_macho *m, const uint8_t *slice,
                               hp_macho_chain *c);
/* Rewrite each slot of the new data segment's bytes (seg: its first byte
 * in the output; the slots hold the unslid pointer values) as a chained
 * rebase linked to the next slot of its page. */
hp_status hp_macho_chain_encode(const hp_image *img, const hp_macho_chain *c, uint8_t *seg);
void hp_macho_chain_free(hp_macho_chain *c);

/* macho_cms.c: a real signature's identity. Warn (on img) that the
 * signature blob (a SuperBlob of size bytes) is a real one re-signing ad
 * hoc drops, naming the signer's certificate (subject CN) and the
 * CodeDirectory's team identifier as far as they can be read; nothing for
 * an ad hoc signature (no CMS blob). */
void hp_macho_warn_signer(const hp_image *img, const uint8_t *blob, size_t size);
/* The subject common name of the certificate that signed a CMS
 * SignedData (DER/BER, n bytes), into out (NUL-terminated, control bytes
 * replaced); false when it cannot be read. */
bool hp_macho_cms_signer(const uint8_t *p, size_t n, char *out, size_t out_len);

/* macho_write.c */
hp_status hp_macho_emit(const hp_image *img, const hp_edit *ed, hp_sink *out);
/* The universal header around the slices (hp_format.join). */
hp_status hp_macho_join(const hp_image *img, const hp_buf *const *out_slices, hp_sink *out);

/* macho_sign.c: SHA-256 and the ad hoc code signature. */
void hp_sha256(const uint8_t *p, size_t n, uint8_t out[32]);
/* A blob of the input signature the new one keeps (entitlements). */
typedef struct hp_macho_sig_blob {
    uint32_t type; /* its special slot */
    const uint8_t *data;
    uint32_t len;
} hp_macho_sig_blob;

/* What the new signature says besides the page hashes. */
typedef struct hp_macho_sig {
    const char *ident;           /* the signing identifier */
    uint64_t exec_off, exec_size; /* the __TEXT segment's file range */
    bool main_binary;            /* an executable (CS_EXECSEG_MAIN_BINARY) */
    bool linker_signed;          /* CodeDirectory alone, with CS_LINKER_SIGNED */
    hp_macho_sig_blob keep[2];   /* entitlements (XML, DER), in slot order */
    size_t nkeep;
} hp_macho_sig;
/* Bytes of the signature for a slice whose signed part is code_limit bytes
 * long (the signature starts there). */
size_t hp_macho_sig_size(uint64_t code_limit, const hp_macho_sig *sg);
/* Write the SuperBlob into out (hp_macho_sig_size bytes), hashing
 * slice[0, code_limit). */
void hp_macho_sig_build(const uint8_t *slice, uint64_t code_limit, const hp_macho_sig *sg,
                        uint8_t *out);
/* The identifier of an existing signature blob, copied into buf (NUL
 * terminated); false if the blob has no identifier or is malformed. Also
 * fills sg->linker_signed (a CodeDirectory alone, flagged CS_LINKER_SIGNED)
 * and sg->keep (its entitlements blobs, pointing into blob). */
bool hp_macho_sig_read(const uint8_t *blob, size_t size, char *buf, size_t buf_len,
                       hp_macho_sig *sg);

#endif
