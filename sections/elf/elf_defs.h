/* elf_defs: the ELF structures and constants hookpatch uses, for the image
 * reader and writer (elf*.c), the object reader (elf_obj.c), the object
 * linker's relocation types (relocs/objlink*.c, object.h) and the tests.
 * The project defines them itself rather than including <elf.h>, which
 * only glibc and a few other C libraries ship (macOS has none); names and
 * numbers are those of the ELF-64 gABI, the x86-64 and AArch64 psABIs and
 * the GNU extensions, so code reads like the usual ELF code and
 * tests/unit/test_elf_defs.c checks every value against the host's <elf.h>
 * where there is one. A file must not include both: the structures would
 * be defined twice. */
#ifndef HP_ELF_DEFS_H
#define HP_ELF_DEFS_H

#include <stdint.h>
#include <string.h>

/* ---- structures (ELF-64 gABI): little- or big-endian as the file says;
 * hookpatch reads only little-endian files */
typedef uint16_t Elf64_Half;
typedef uint32_t Elf64_Word;
typedef int32_t Elf64_Sword;
typedef uint64_t Elf64_Xword;
typedef int64_t Elf64_Sxword;
typedef uint64_t Elf64_Addr;
typedef uint64_t Elf64_Off;
typedef uint16_t Elf64_Section;

#define EI_NIDENT 16

typedef struct {
    unsigned char e_ident[EI_NIDENT];
    Elf64_Half e_type;
    Elf64_Half e_machine;
    Elf64_Word e_version;
    Elf64_Addr e_entry;
    Elf64_Off e_phoff;
    Elf64_Off e_shoff;
    Elf64_Word e_flags;
    Elf64_Half e_ehsize;
    Elf64_Half e_phentsize;
    Elf64_Half e_phnum;
    Elf64_Half e_shentsize;
    Elf64_Half e_shnum;
    Elf64_Half e_shstrndx;
} Elf64_Ehdr;

typedef struct {
    Elf64_Word p_type;
    Elf64_Word p_flags;
    Elf64_Off p_offset;
    Elf64_Addr p_vaddr;
    Elf64_Addr p_paddr;
    Elf64_Xword p_filesz;
    Elf64_Xword p_memsz;
    Elf64_Xword p_align;
} Elf64_Phdr;

typedef struct {
    Elf64_Word sh_name;
    Elf64_Word sh_type;
    Elf64_Xword sh_flags;
    Elf64_Addr sh_addr;
    Elf64_Off sh_offset;
    Elf64_Xword sh_size;
    Elf64_Word sh_link;
    Elf64_Word sh_info;
    Elf64_Xword sh_addralign;
    Elf64_Xword sh_entsize;
} Elf64_Shdr;

typedef struct {
    Elf64_Word st_name;
    unsigned char st_info;  /* binding << 4 | type */
    unsigned char st_other; /* visibility in the low 2 bits */
    Elf64_Section st_shndx;
    Elf64_Addr st_value;
    Elf64_Xword st_size;
} Elf64_Sym;

typedef struct {
    Elf64_Addr r_offset;
    Elf64_Xword r_info; /* symbol << 32 | type */
    Elf64_Sxword r_addend;
} Elf64_Rela;

typedef struct {
    Elf64_Sxword d_tag;
    union {
        Elf64_Xword d_val;
        Elf64_Addr d_ptr;
    } d_un;
} Elf64_Dyn;

/* The header of an SHF_COMPRESSED section. */
typedef struct {
    Elf64_Word ch_type;
    Elf64_Word ch_reserved;
    Elf64_Xword ch_size;
    Elf64_Xword ch_addralign;
} Elf64_Chdr;

#define ELF64_ST_BIND(info) ((info) >> 4)
#define ELF64_ST_TYPE(info) ((info)&0xf)
#define ELF64_ST_INFO(bind, type) (((bind) << 4) + ((type)&0xf))
#define ELF64_R_SYM(info) ((info) >> 32)
#define ELF64_R_TYPE(info) ((info)&0xffffffff)
#define ELF64_R_INFO(sym, type) ((((Elf64_Xword)(sym)) << 32) + (type))

#define ELFMAG "\177ELF"
#define SELFMAG 4

/* ---- e_ident */
#define EI_CLASS 4
#define EI_DATA 5
#define EI_VERSION 6
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ELFDATA2MSB 2
#define EV_CURRENT 1

/* ---- e_type */
#define ET_REL 1
#define ET_EXEC 2
#define ET_DYN 3
#define ET_CORE 4

/* ---- e_machine */
#define EM_386 3
#define EM_MIPS 8
#define EM_PPC 0x14
#define EM_PPC64 0x15
#define EM_S390 0x16
#define EM_ARM 0x28
#define EM_SPARCV9 0x2b
#define EM_X86_64 0x3e
#define EM_AARCH64 0xb7
#define EM_RISCV 0xf3
#define EM_BPF 0xf7
#define EM_LOONGARCH 0x102

/* ---- program headers; PN_XNUM in e_phnum: the count is in section 0 */
#define PT_NULL 0
#define PF_X 1
#define PT_LOAD 1
#define PF_W 2
#define PT_DYNAMIC 2
#define PT_INTERP 3
#define PF_R 4
#define PT_NOTE 4
#define PT_PHDR 6
#define PN_XNUM 0xffff

/* ---- section headers */
#define SHN_UNDEF 0
#define SHT_NULL 0
#define GRP_COMDAT 1
#define SHF_WRITE 1
#define SHT_PROGBITS 1
#define SHF_ALLOC 2
#define SHT_SYMTAB 2
#define SHT_STRTAB 3
#define SHF_EXECINSTR 4
#define SHT_RELA 4
#define SHT_NOTE 7
#define SHT_NOBITS 8
#define SHT_REL 9
#define SHT_DYNSYM 0xb
#define SHT_INIT_ARRAY 0xe
#define SHT_FINI_ARRAY 0xf
#define SHT_PREINIT_ARRAY 0x10
#define SHT_GROUP 0x11
#define SHT_SYMTAB_SHNDX 0x12
#define SHF_TLS 0x400
#define SHF_COMPRESSED 0x800
#define SHN_LORESERVE 0xff00
#define SHN_ABS 0xfff1
#define SHN_COMMON 0xfff2
#define SHN_XINDEX 0xffff
#define SHT_X86_64_UNWIND 0x70000001

/* ---- symbols */
#define STB_LOCAL 0
#define STT_NOTYPE 0
#define STB_GLOBAL 1
#define STT_OBJECT 1
#define STB_WEAK 2
#define STT_FUNC 2
#define STV_HIDDEN 2
#define STT_SECTION 3
#define STT_FILE 4
#define STT_TLS 6
#define STB_GNU_UNIQUE 0xa
#define STT_GNU_IFUNC 0xa

/* ---- dynamic section */
#define DT_NULL 0
#define DT_RELA 7
#define DT_RELASZ 8
#define DT_RELRSZ 35
#define DT_RELR 36
#define DF_1_PIE 0x8000000
#define DT_RELACOUNT 0x6ffffff9
#define DT_FLAGS_1 0x6ffffffb

/* ---- GNU property notes (.note.gnu.property) */
#define GNU_PROPERTY_AARCH64_FEATURE_1_BTI 1
#define GNU_PROPERTY_X86_FEATURE_1_IBT 1
#define GNU_PROPERTY_AARCH64_FEATURE_1_PAC 2
#define GNU_PROPERTY_X86_FEATURE_1_SHSTK 2
#define NT_GNU_PROPERTY_TYPE_0 5
#define GNU_PROPERTY_AARCH64_FEATURE_1_AND 0xc0000000
#define GNU_PROPERTY_X86_FEATURE_1_AND 0xc0000002

/* ---- x86-64 relocation types (x86-64 psABI) */
#define R_X86_64_NONE 0
#define R_X86_64_64 1
#define R_X86_64_PC32 2
#define R_X86_64_GOT32 3
#define R_X86_64_PLT32 4
#define R_X86_64_COPY 5
#define R_X86_64_GLOB_DAT 6
#define R_X86_64_JUMP_SLOT 7
#define R_X86_64_RELATIVE 8
#define R_X86_64_GOTPCREL 9
#define R_X86_64_32 0xa
#define R_X86_64_32S 0xb
#define R_X86_64_16 0xc
#define R_X86_64_PC16 0xd
#define R_X86_64_8 0xe
#define R_X86_64_PC8 0xf
#define R_X86_64_DTPMOD64 0x10
#define R_X86_64_DTPOFF64 0x11
#define R_X86_64_TPOFF64 0x12
#define R_X86_64_TLSGD 0x13
#define R_X86_64_TLSLD 0x14
#define R_X86_64_DTPOFF32 0x15
#define R_X86_64_GOTTPOFF 0x16
#define R_X86_64_TPOFF32 0x17
#define R_X86_64_PC64 0x18
#define R_X86_64_GOTOFF64 0x19
#define R_X86_64_GOTPC32 0x1a
#define R_X86_64_GOT64 0x1b
#define R_X86_64_GOTPCREL64 0x1c
#define R_X86_64_GOTPC64 0x1d
#define R_X86_64_GOTPLT64 0x1e
#define R_X86_64_PLTOFF64 0x1f
#define R_X86_64_SIZE32 0x20
#define R_X86_64_SIZE64 0x21
#define R_X86_64_GOTPC32_TLSDESC 0x22
#define R_X86_64_TLSDESC_CALL 0x23
#define R_X86_64_TLSDESC 0x24
#define R_X86_64_IRELATIVE 0x25
#define R_X86_64_RELATIVE64 0x26
#define R_X86_64_GOTPCRELX 0x29
#define R_X86_64_REX_GOTPCRELX 0x2a

/* ---- AArch64 relocation types (AArch64 ELF ABI) */
#define R_AARCH64_NONE 0
#define R_AARCH64_ABS64 0x101
#define R_AARCH64_ABS32 0x102
#define R_AARCH64_ABS16 0x103
#define R_AARCH64_PREL64 0x104
#define R_AARCH64_PREL32 0x105
#define R_AARCH64_PREL16 0x106
#define R_AARCH64_MOVW_UABS_G0 0x107
#define R_AARCH64_MOVW_UABS_G0_NC 0x108
#define R_AARCH64_MOVW_UABS_G1 0x109
#define R_AARCH64_MOVW_UABS_G1_NC 0x10a
#define R_AARCH64_MOVW_UABS_G2 0x10b
#define R_AARCH64_MOVW_UABS_G2_NC 0x10c
#define R_AARCH64_MOVW_UABS_G3 0x10d
#define R_AARCH64_MOVW_SABS_G0 0x10e
#define R_AARCH64_MOVW_SABS_G1 0x10f
#define R_AARCH64_MOVW_SABS_G2 0x110
#define R_AARCH64_LD_PREL_LO19 0x111
#define R_AARCH64_ADR_PREL_LO21 0x112
#define R_AARCH64_ADR_PREL_PG_HI21 0x113
#define R_AARCH64_ADR_PREL_PG_HI21_NC 0x114
#define R_AARCH64_ADD_ABS_LO12_NC 0x115
#define R_AARCH64_LDST8_ABS_LO12_NC 0x116
#define R_AARCH64_TSTBR14 0x117
#define R_AARCH64_CONDBR19 0x118
#define R_AARCH64_JUMP26 0x11a
#define R_AARCH64_CALL26 0x11b
#define R_AARCH64_LDST16_ABS_LO12_NC 0x11c
#define R_AARCH64_LDST32_ABS_LO12_NC 0x11d
#define R_AARCH64_LDST64_ABS_LO12_NC 0x11e
#define R_AARCH64_MOVW_PREL_G0 0x11f
#define R_AARCH64_MOVW_PREL_G0_NC 0x120
#define R_AARCH64_MOVW_PREL_G1 0x121
#define R_AARCH64_MOVW_PREL_G1_NC 0x122
#define R_AARCH64_MOVW_PREL_G2 0x123
#define R_AARCH64_MOVW_PREL_G2_NC 0x124
#define R_AARCH64_MOVW_PREL_G3 0x125
#define R_AARCH64_LDST128_ABS_LO12_NC 0x12b
#define R_AARCH64_MOVW_GOTOFF_G0 0x12c
#define R_AARCH64_MOVW_GOTOFF_G0_NC 0x12d
#define R_AARCH64_MOVW_GOTOFF_G1 0x12e
#define R_AARCH64_MOVW_GOTOFF_G1_NC 0x12f
#define R_AARCH64_MOVW_GOTOFF_G2 0x130
#define R_AARCH64_MOVW_GOTOFF_G2_NC 0x131
#define R_AARCH64_MOVW_GOTOFF_G3 0x132
#define R_AARCH64_GOTREL64 0x133
#define R_AARCH64_GOTREL32 0x134
#define R_AARCH64_GOT_LD_PREL19 0x135
#define R_AARCH64_LD64_GOTOFF_LO15 0x136
#define R_AARCH64_ADR_GOT_PAGE 0x137
#define R_AARCH64_LD64_GOT_LO12_NC 0x138
#define R_AARCH64_LD64_GOTPAGE_LO15 0x139
#define R_AARCH64_TLSGD_ADR_PREL21 0x200
#define R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC 0x23b
#define R_AARCH64_COPY 0x400
#define R_AARCH64_GLOB_DAT 0x401
#define R_AARCH64_JUMP_SLOT 0x402
#define R_AARCH64_RELATIVE 0x403
#define R_AARCH64_TLS_DTPMOD 0x404
#define R_AARCH64_TLS_DTPREL 0x405
#define R_AARCH64_TLS_TPREL 0x406
#define R_AARCH64_TLSDESC 0x407
#define R_AARCH64_IRELATIVE 0x408

/* DWARF pointer encodings used by .eh_frame_hdr (LSB Core, "Exception
 * Frames"): the low nibble is the format, the high one what it is
 * relative to. */
enum {
    HP_EH_PE_OMIT = 0xff,
    HP_EH_PE_UDATA4 = 0x03,
    HP_EH_PE_SDATA4 = 0x0b,
    HP_EH_PE_UDATA8 = 0x04,
    HP_EH_PE_SDATA8 = 0x0c,
    HP_EH_PE_DATAREL_SDATA4 = 0x3b,
};

/* The NUL-terminated string at idx of a string table (size bytes at tab,
 * inside the file), or NULL when idx is past the table or the string runs
 * off its end. Section names and symbol names, in images and objects. */
static inline const char *hp_elf_str(const uint8_t *tab, uint64_t size, uint64_t idx)
{
    if (idx >= size || !memchr(tab + idx, 0, (size_t)(size - idx)))
        return NULL;
    return (const char *)tab + idx;
}

#endif
