/* macho_defs: Mach-O constants and on-disk structure sizes, for the image
 * reader and writer (macho.c, macho_write.c, macho_sign.c) and the object
 * reader (macho_obj.c). Spelled out here because Linux has no
 * <mach-o/loader.h>; names follow Apple's headers with an HP_ prefix.
 * Everything is little-endian except the universal (fat) header and the
 * code signature, which are big-endian. */
#ifndef HP_MACHO_DEFS_H
#define HP_MACHO_DEFS_H

#include "../../base/hp_base.h"

/* mach_header_64 and fat_header */
#define HP_MH_MAGIC_64 0xfeedfacfu
#define HP_MH_MAGIC 0xfeedfaceu    /* 32-bit */
#define HP_MH_CIGAM_64 0xcffaedfeu /* big-endian */
#define HP_MH_CIGAM 0xcefaedfeu
#define HP_FAT_MAGIC 0xcafebabeu
#define HP_FAT_MAGIC_64 0xcafebabfu
#define HP_CPU_X86_64 0x01000007u
#define HP_CPU_ARM64 0x0100000cu
#define HP_MH_OBJECT 1u
#define HP_MH_EXECUTE 2u
#define HP_MH_DYLIB 6u
#define HP_MH_BUNDLE 8u
#define HP_MH_PIE 0x200000u
#define HP_CPU_SUBTYPE_ARM64_ALL 0u
#define HP_CPU_SUBTYPE_ARM64_V8 1u
#define HP_CPU_SUBTYPE_ARM64E 2u
#define HP_MACHO_PAGE 0x1000u       /* x86-64 pages */
#define HP_MACHO_PAGE_ARM64 0x4000u /* arm64 macOS maps 16 KiB pages */

/* Load commands. */
#define HP_LC_REQ_DYLD 0x80000000u
#define HP_LC_SEGMENT 0x1u
#define HP_LC_SYMTAB 0x2u
#define HP_LC_SYMSEG 0x3u
#define HP_LC_DYSYMTAB 0xbu
#define HP_LC_TWOLEVEL_HINTS 0x16u
#define HP_LC_SEGMENT_64 0x19u
#define HP_LC_CODE_SIGNATURE 0x1du
#define HP_LC_SEGMENT_SPLIT_INFO 0x1eu
#define HP_LC_DYLD_INFO 0x22u
#define HP_LC_DYLD_INFO_ONLY (0x22u | HP_LC_REQ_DYLD)
#define HP_LC_FUNCTION_STARTS 0x26u
#define HP_LC_DATA_IN_CODE 0x29u
#define HP_LC_DYLIB_CODE_SIGN_DRS 0x2bu
#define HP_LC_ENCRYPTION_INFO_64 0x2cu
#define HP_LC_LINKER_OPTION 0x2du
#define HP_LC_LINKER_OPTIMIZATION_HINT 0x2eu
#define HP_LC_NOTE 0x31u
#define HP_LC_DYLD_EXPORTS_TRIE (0x33u | HP_LC_REQ_DYLD)
#define HP_LC_DYLD_CHAINED_FIXUPS (0x34u | HP_LC_REQ_DYLD)
#define HP_LC_ATOM_INFO 0x36u

/* section_64.flags: the type in the low byte, then attributes. */
#define HP_S_TYPE_MASK 0xffu
#define HP_S_REGULAR 0x0u
#define HP_S_ZEROFILL 0x1u
#define HP_S_CSTRING_LITERALS 0x2u
#define HP_S_4BYTE_LITERALS 0x3u
#define HP_S_8BYTE_LITERALS 0x4u
#define HP_S_LITERAL_POINTERS 0x5u
#define HP_S_MOD_INIT_FUNC_POINTERS 0x9u
#define HP_S_MOD_TERM_FUNC_POINTERS 0xau
#define HP_S_COALESCED 0xbu
#define HP_S_GB_ZEROFILL 0xcu
#define HP_S_16BYTE_LITERALS 0xeu
#define HP_S_THREAD_LOCAL_REGULAR 0x11u /* first of the thread-local types */
#define HP_S_THREAD_LOCAL_ZEROFILL 0x12u
#define HP_S_THREAD_LOCAL_INIT_FUNCTION_POINTERS 0x15u /* the last */
#define HP_S_INIT_FUNC_OFFSETS 0x16u
#define HP_S_ATTR_PURE_INSTRUCTIONS 0x80000000u
#define HP_S_ATTR_DEBUG 0x02000000u
#define HP_S_ATTR_SOME_INSTRUCTIONS 0x00000400u

/* nlist_64.n_type and n_desc bits. */
#define HP_N_STAB 0xe0u
#define HP_N_TYPE 0x0eu
#define HP_N_EXT 0x01u
#define HP_N_UNDF 0x0u
#define HP_N_ABS 0x2u
#define HP_N_INDR 0xau
#define HP_N_PBUD 0xcu
#define HP_N_SECT 0xeu
#define HP_N_WEAK_REF 0x0040u
#define HP_N_WEAK_DEF 0x0080u

/* relocation_info.r_type for x86-64. */
enum {
    HP_X86_64_RELOC_UNSIGNED, HP_X86_64_RELOC_SIGNED, HP_X86_64_RELOC_BRANCH,
    HP_X86_64_RELOC_GOT_LOAD, HP_X86_64_RELOC_GOT, HP_X86_64_RELOC_SUBTRACTOR,
    HP_X86_64_RELOC_SIGNED_1, HP_X86_64_RELOC_SIGNED_2, HP_X86_64_RELOC_SIGNED_4,
    HP_X86_64_RELOC_TLV,
};

/* relocation_info.r_type for arm64 (mach-o/arm64/reloc.h). */
enum {
    HP_ARM64_RELOC_UNSIGNED, HP_ARM64_RELOC_SUBTRACTOR, HP_ARM64_RELOC_BRANCH26,
    HP_ARM64_RELOC_PAGE21, HP_ARM64_RELOC_PAGEOFF12, HP_ARM64_RELOC_GOT_LOAD_PAGE21,
    HP_ARM64_RELOC_GOT_LOAD_PAGEOFF12, HP_ARM64_RELOC_POINTER_TO_GOT,
    HP_ARM64_RELOC_TLVP_LOAD_PAGE21, HP_ARM64_RELOC_TLVP_LOAD_PAGEOFF12, HP_ARM64_RELOC_ADDEND,
    HP_ARM64_RELOC_AUTHENTICATED_POINTER,
};

/* Code signature (big-endian blobs). */
#define HP_CSMAGIC_EMBEDDED_SIGNATURE 0xfade0cc0u
#define HP_CSMAGIC_CODEDIRECTORY 0xfade0c02u
#define HP_CSMAGIC_REQUIREMENTS 0xfade0c01u
#define HP_CSSLOT_CODEDIRECTORY 0u
#define HP_CSSLOT_REQUIREMENTS 2u
#define HP_CSSLOT_ENTITLEMENTS 5u
#define HP_CSSLOT_DER_ENTITLEMENTS 7u
#define HP_CS_ADHOC 0x2u
#define HP_CS_LINKER_SIGNED 0x20000u
#define HP_CS_EXECSEG_MAIN_BINARY 0x1u
#define HP_CD_VERSION 0x20400u
#define HP_CD_HEADER 88u /* CodeDirectory through execSegFlags (0x20400) */

/* On-disk structure sizes. */
#define HP_MACHO_HDR 32u     /* sizeof(mach_header_64) */
#define HP_MACHO_SEG_CMD 72u /* sizeof(segment_command_64) */
#define HP_MACHO_SECT 80u    /* sizeof(section_64) */
#define HP_MACHO_NLIST 16u   /* sizeof(nlist_64) */
#define HP_MACHO_RELINFO 8u  /* sizeof(relocation_info) */

/* ---- the symbol table (macho_symtab.c) ------------------------------ */

/* The tables an LC_SYMTAB names; offsets are from the slice start. */
typedef struct hp_macho_symtab {
    const uint8_t *syms; /* nsyms nlist_64 entries */
    const uint8_t *strs; /* strsize bytes of names */
    uint32_t symoff, nsyms, stroff, strsize;
} hp_macho_symtab;

typedef enum hp_macho_symtab_st {
    HP_MACHO_SYMTAB_OK,
    HP_MACHO_SYMS_OUTSIDE, /* the nlist entries run past the slice */
    HP_MACHO_STRS_OUTSIDE, /* the string table runs past the slice */
} hp_macho_symtab_st;

/* One nlist_64 entry. */
typedef struct hp_macho_nlist {
    uint32_t strx;
    uint8_t type, sect;
    uint16_t desc;
    uint64_t value;
} hp_macho_nlist;

/* The tables of the LC_SYMTAB command lc (at least 24 bytes) of a slice of
 * size bytes. The offsets and counts are filled whatever the result. */
hp_macho_symtab_st hp_macho_symtab_open(const uint8_t *slice, uint64_t size, const uint8_t *lc,
                                        hp_macho_symtab *out);
/* Entry i (< t->nsyms). */
void hp_macho_nlist_get(const hp_macho_symtab *t, uint32_t i, hp_macho_nlist *out);
/* The name at strx: NUL-terminated inside the string table, else NULL with
 * *past_end (when not NULL) true if strx itself lies past the table, false
 * if the name runs off its end. */
const char *hp_macho_nlist_name(const hp_macho_symtab *t, uint32_t strx, size_t *len,
                                bool *past_end);

/* Big-endian access (fat headers, code signatures). */
static inline uint32_t hp_rd32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void hp_wr32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void hp_wr64be(uint8_t *p, uint64_t v)
{
    hp_wr32be(p, (uint32_t)(v >> 32));
    hp_wr32be(p + 4, (uint32_t)v);
}

#endif
