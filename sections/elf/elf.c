/* ELF64 little-endian backend, x86-64 and AArch64: reader and place().
 * The writer is elf_write.c, the PLT entry names elf_plt.c, the code map
 * elf_code.c; the object reader elf_obj.c. What differs by machine is
 * small and stays here: the GNU property that enforces landing pads (IBT,
 * BTI), the PLT entry form, the RELATIVE relocation type, and the page
 * size new segments are aligned to (AArch64 files are often linked for
 * 64 KiB pages: their largest p_align is used).
 *
 * Quirks this file and elf_write.c deal with, and why:
 *
 * - We read the program headers, section headers, symbol tables and a note
 *   ourselves from the mapped file, each bounds-checked before use (why not
 *   LIEF: README.md, "Why the tables are read directly, not with LIEF").
 *
 * - New code goes in new PT_LOAD segments placed above every existing one.
 *   The program header table has no room to grow in place (.interp and the
 *   dynamic tables follow it), so a new copy, with the extra entries, is put
 *   at the start of the first new segment; e_phoff and PT_PHDR point there.
 *
 * - AT_PHDR. Linux before 5.18 computes AT_PHDR as (first PT_LOAD's p_vaddr -
 *   p_offset) + e_phoff, assuming the table sits in the first segment; newer
 *   kernels look for the PT_LOAD that holds e_phoff. We give every new
 *   segment the same vaddr-offset delta as the first PT_LOAD, so both
 *   formulas agree on any kernel. The price is a file hole as large as the
 *   gap between the end of the file and the end of .bss; holes are sparse.
 *   ld.so derives the load bias from AT_PHDR - PT_PHDR.p_vaddr, and static
 *   glibc finds its TLS segment through AT_PHDR, so both keep working.
 *
 * - PT_NOTE is never reused (Go keeps its build ID there). PT_LOADs stay
 *   sorted by address; the new ones follow the last PT_LOAD.
 *
 * - Non-allocated tables (.shstrtab, .symtab, .strtab) that grow are written
 *   again after the new segments, then a new section header table; the old
 *   copies stay in the file as dead bytes, so no offset in the loaded image
 *   moves. Added symbols are STB_GLOBAL so they go after sh_info's locals
 *   without renumbering existing symbols (relocations may refer to them).
 *
 * - CET: when an endbr64 had to be overwritten, the IBT bit of
 *   GNU_PROPERTY_X86_FEATURE_1_AND is cleared so the kernel and ld.so do not
 *   enable indirect branch tracking for the output. AArch64 likewise: a
 *   `BTI c` overwritten clears the BTI bit of
 *   GNU_PROPERTY_AARCH64_FEATURE_1_AND (the kernel and ld.so map the code
 *   with PROT_BTI only when it is set).
 */
#include "elf_priv.h"
#include "../format.h"

#include <string.h>
#include <unistd.h>

static hp_elf *hp_elf_of(const hp_image *img) { return img->priv; }

static bool hp_elf_probe(const uint8_t *data, size_t size)
{
    return size >= 4 && !memcmp(data, ELFMAG, SELFMAG);
}

/* A name for an e_machine users may meet, for the refusal message. */
static const char *hp_elf_machine_name(unsigned m)
{
    switch (m) {
    case EM_386: return "i386";
    case EM_ARM: return "32-bit Arm";
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "AArch64";
    case EM_PPC: return "PowerPC";
    case EM_PPC64: return "PowerPC64";
    case EM_S390: return "s390x";
    case EM_MIPS: return "MIPS";
    case EM_SPARCV9: return "SPARC V9";
    case EM_RISCV: return "RISC-V";
    case EM_LOONGARCH: return "LoongArch";
    case EM_BPF: return "eBPF";
    default: return "unknown";
    }
}

/* Which ELF files hookpatch patches: ELF64, little-endian, x86-64 or
 * AArch64. Anything else is refused naming what it is. e_machine sits at
 * the same offset in ELF32 and is read in the file's own byte order, so
 * a big-endian AArch64 file is called that, not "machine 46848". */
static hp_status hp_elf_check_machine(hp_image *img, const Elf64_Ehdr *eh)
{
    bool be = eh->e_ident[EI_DATA] == ELFDATA2MSB;
    unsigned m = be ? (unsigned)(img->data[18] << 8 | img->data[19]) : eh->e_machine;
    const char *name = hp_elf_machine_name(m);
    if (eh->e_ident[EI_CLASS] != ELFCLASS64)
        return hp_image_bad(img, "a 32-bit ELF file (machine %u, %s): only 64-bit "
                                 "little-endian ELF is supported (x86-64, AArch64)", m, name);
    if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
        return hp_image_bad(img, "a big-endian ELF file (machine %u, %s%s): only 64-bit "
                                 "little-endian ELF is supported (x86-64, AArch64)", m, name,
                            m == EM_AARCH64 ? ", aarch64_be" : "");
    if (m == EM_X86_64)
        img->machine = HP_MACH_X86_64;
    else if (m == EM_AARCH64)
        img->machine = HP_MACH_ARM64;
    else
        return hp_image_bad(img, "ELF machine %u (%s) is not supported: hookpatch patches "
                                 "x86-64 and AArch64", m, name);
    return HP_OK;
}

static hp_status hp_elf_check_header(hp_image *img, Elf64_Ehdr *eh)
{
    if (img->size < sizeof *eh)
        return hp_image_bad(img, "truncated ELF header (%zu bytes)", img->size);
    memcpy(eh, img->data, sizeof *eh);
    HP_CHECK(hp_elf_check_machine(img, eh));
    if (eh->e_type == ET_REL)
        return hp_image_bad(img, "a relocatable object (.o): link it first, or use it as "
                                 "'object =' in a rules file");
    if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
        return hp_image_bad(img, "ELF type %u is not an executable or shared library",
                            eh->e_type);
    if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM || eh->e_phentsize != sizeof(Elf64_Phdr))
        return hp_image_bad(img, "bad program header table (phnum %u, phentsize %u)",
                            eh->e_phnum, eh->e_phentsize);
    if (!hp_in_bounds(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), img->size))
        return hp_image_bad(img, "program header table at offset 0x%llx lies outside the file",
                            (unsigned long long)eh->e_phoff);
    return HP_OK;
}

static uint32_t hp_elf_prot(uint32_t pf)
{
    return (pf & PF_R ? HP_PROT_R : 0) | (pf & PF_W ? HP_PROT_W : 0) |
           (pf & PF_X ? HP_PROT_X : 0);
}

static hp_status hp_elf_load_phdrs(hp_image *img, hp_elf *e)
{
    e->phdrs = hp_calloc(e->eh.e_phnum, sizeof *e->phdrs);
    if (!e->phdrs)
        return HP_ERR_NOMEM;
    memcpy(e->phdrs, img->data + e->eh.e_phoff, e->eh.e_phnum * sizeof *e->phdrs);
    uint64_t prev_end = 0;
    for (size_t i = 0; i < e->eh.e_phnum; i++) {
        const Elf64_Phdr *p = &e->phdrs[i];
        if (p->p_type == PT_INTERP)
            e->has_interp = true;
        if (p->p_type == PT_DYNAMIC)
            e->dynamic_idx = (int)i;
        if (p->p_type == PT_PHDR)
            e->phdr_idx = (int)i;
        if (p->p_type != PT_LOAD)
            continue;
        if (!hp_in_bounds(p->p_offset, p->p_filesz, img->size))
            return hp_image_bad(img, "segment %zu (offset 0x%llx, size 0x%llx) lies outside the "
                                     "file", i, (unsigned long long)p->p_offset,
                                (unsigned long long)p->p_filesz);
        if (p->p_filesz > p->p_memsz || p->p_vaddr + p->p_memsz < p->p_vaddr)
            return hp_image_bad(img, "segment %zu has inconsistent sizes", i);
        if (p->p_vaddr < prev_end)
            return hp_image_bad(img, "PT_LOAD segments overlap or are not sorted (segment %zu)",
                                i);
        prev_end = p->p_vaddr + p->p_memsz;
        if (img->machine == HP_MACH_ARM64 && p->p_align > e->page &&
            p->p_align <= HP_ELF_MAX_ALIGN && !(p->p_align & (p->p_align - 1)))
            e->page = p->p_align;
        if (e->first_load < 0)
            e->first_load = (int)i;
        e->last_load = (int)i;
        hp_segment seg = {p->p_vaddr, p->p_memsz, p->p_offset, p->p_filesz,
                          hp_elf_prot(p->p_flags)};
        HP_CHECK(hp_image_add_segment(img, &seg));
    }
    if (e->first_load < 0)
        return hp_image_bad(img, "no loadable segment");
    return HP_OK;
}

static hp_status hp_elf_load_shdrs(hp_image *img, hp_elf *e)
{
    const Elf64_Ehdr *eh = &e->eh;
    if (eh->e_shoff == 0)
        return HP_OK; /* no section headers (sstripped): symbols come from elsewhere */
    if (eh->e_shentsize != sizeof(Elf64_Shdr))
        return hp_image_bad(img, "bad section header size %u", eh->e_shentsize);
    if (!hp_in_bounds(eh->e_shoff, sizeof(Elf64_Shdr), img->size))
        return hp_image_bad(img, "section header table lies outside the file");
    Elf64_Shdr first;
    memcpy(&first, img->data + eh->e_shoff, sizeof first);
    uint64_t n = eh->e_shnum ? eh->e_shnum : first.sh_size; /* SHN_LORESERVE escape */
    if (n == 0 || !hp_in_bounds(eh->e_shoff, n * sizeof(Elf64_Shdr), img->size) ||
        n > img->size / sizeof(Elf64_Shdr))
        return hp_image_bad(img, "section header table (%llu entries) lies outside the file",
                            (unsigned long long)n);
    e->shnum = (size_t)n;
    e->shstrndx = eh->e_shstrndx == SHN_XINDEX ? first.sh_link : eh->e_shstrndx;
    if (e->shstrndx >= e->shnum)
        return hp_image_bad(img, "section name table index %zu out of range", e->shstrndx);
    e->shdrs = hp_calloc(e->shnum, sizeof *e->shdrs);
    if (!e->shdrs)
        return HP_ERR_NOMEM;
    memcpy(e->shdrs, img->data + eh->e_shoff, e->shnum * sizeof *e->shdrs);
    for (size_t i = 1; i < e->shnum; i++) {
        const Elf64_Shdr *s = &e->shdrs[i];
        if (s->sh_type != SHT_NOBITS && !hp_in_bounds(s->sh_offset, s->sh_size, img->size))
            return hp_image_bad(img, "section %zu (offset 0x%llx, size 0x%llx) lies outside "
                                     "the file", i, (unsigned long long)s->sh_offset,
                                (unsigned long long)s->sh_size);
    }
    /* Section 0 is not bounds-checked above (under the SHN_LORESERVE escape
     * its fields are counts), so it is never a table. */
    const Elf64_Shdr *strs = &e->shdrs[e->shstrndx];
    if (e->shstrndx == 0 || strs->sh_type != SHT_STRTAB)
        return hp_image_bad(img, "section name table is not a string table");
    return HP_OK;
}

const char *hp_elf_section_name(const hp_image *img, const hp_elf *e, size_t i)
{
    const Elf64_Shdr *strs = &e->shdrs[e->shstrndx];
    const char *p = hp_elf_str(img->data + strs->sh_offset, strs->sh_size, e->shdrs[i].sh_name);
    return p ? p : "";
}

int hp_elf_find_section(const hp_image *img, const hp_elf *e, const char *name)
{
    for (size_t i = 1; i < e->shnum; i++)
        if (!strcmp(hp_elf_section_name(img, e, i), name))
            return (int)i;
    return -1;
}

/* Symbols of one symbol table. Functions become hookable symbols; other
 * defined symbols are recorded as data so they still bound functions. */
static hp_status hp_elf_load_symtab(hp_image *img, hp_elf *e, size_t idx, hp_sym_source src)
{
    const Elf64_Shdr *sh = &e->shdrs[idx];
    if (sh->sh_entsize != sizeof(Elf64_Sym) || sh->sh_link >= e->shnum)
        return hp_image_bad(img, "symbol table %zu is malformed", idx);
    const Elf64_Shdr *str = &e->shdrs[sh->sh_link];
    if (sh->sh_link == 0 || str->sh_type != SHT_STRTAB) /* section 0: see load_shdrs */
        return hp_image_bad(img, "symbol table %zu links to a non-string table", idx);
    const char *strtab = (const char *)img->data + str->sh_offset;
    /* Names point into the mapped table (bounds-checked in load_shdrs). When
     * it ends in a NUL, every name inside it is terminated inside it. */
    bool terminated = str->sh_size && !strtab[str->sh_size - 1];
    size_t n = sh->sh_size / sizeof(Elf64_Sym);
    for (size_t i = 1; i < n; i++) {
        Elf64_Sym sym;
        memcpy(&sym, img->data + sh->sh_offset + i * sizeof sym, sizeof sym);
        unsigned type = ELF64_ST_TYPE(sym.st_info);
        if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS || sym.st_value == 0 ||
            type == STT_SECTION || type == STT_FILE || type == STT_TLS)
            continue;
        if (sym.st_name >= str->sh_size)
            return hp_image_bad(img, "symbol %zu has a name outside its string table", i);
        const char *name = strtab + sym.st_name;
        if (!terminated && !memchr(name, 0, str->sh_size - sym.st_name))
            return hp_image_bad(img, "symbol %zu has an unterminated name", i);
        if (!*name || !hp_image_segment_at(img, sym.st_value))
            continue;
        /* An IFUNC symbol's address is its resolver, not the function the
         * program calls: hooking it would replace the resolver. */
        hp_sym_kind kind = type == STT_FUNC ? HP_SYM_FUNC : HP_SYM_DATA;
        bool global = ELF64_ST_BIND(sym.st_info) != STB_LOCAL;
        HP_CHECK(hp_image_add_symbol_ref(img, name, sym.st_value, sym.st_size, kind, src,
                                         global));
    }
    return HP_OK;
}

/* The machine's FEATURE_1_AND property (GNU_PROPERTY_X86_FEATURE_1_AND,
 * GNU_PROPERTY_AARCH64_FEATURE_1_AND) inside one NT_GNU_PROPERTY_TYPE_0
 * note's descriptor: an array of 8-aligned (type, size, data) properties. */
static void hp_elf_find_ibt_prop(hp_image *img, hp_elf *e, const uint8_t *desc, uint32_t descsz)
{
    for (uint64_t off = 0; descsz - off >= 8 && off <= descsz;) {
        uint32_t pr_type = hp_rd32(desc + off), pr_size = hp_rd32(desc + off + 4);
        if (pr_size > descsz - off - 8)
            return;
        if (pr_type == hp_elf_feature_prop(img->machine) && pr_size == 4) {
            e->ibt_off = (uint64_t)(desc + off + 8 - img->data);
            img->ibt = hp_rd32(desc + off + 8) & hp_elf_landing_bit(img->machine);
            return;
        }
        off += 8 + hp_align_up(pr_size, 8);
    }
}

/* Locate the FEATURE_1_AND property so IBT / BTI can be cleared later. In
 * ELF64 this note is 8-aligned: the descriptor starts at the first 8-byte
 * boundary after the 12-byte header and the name, measured from the note. */
static void hp_elf_find_ibt(hp_image *img, hp_elf *e)
{
    int idx = hp_elf_find_section(img, e, ".note.gnu.property");
    if (idx < 0 || e->shdrs[idx].sh_type != SHT_NOTE)
        return;
    const Elf64_Shdr *sh = &e->shdrs[idx];
    const uint8_t *note = img->data + sh->sh_offset;
    uint64_t off = 0, size = sh->sh_size;
    while (size - off >= 12 && off <= size) {
        const uint8_t *p = note + off;
        uint32_t namesz = hp_rd32(p), descsz = hp_rd32(p + 4), type = hp_rd32(p + 8);
        uint64_t desc_off = hp_align_up(12 + (uint64_t)namesz, 8);
        if (desc_off > size - off || descsz > size - off - desc_off)
            return;
        if (type == NT_GNU_PROPERTY_TYPE_0 && namesz == 4 && !memcmp(p + 12, "GNU", 4))
            hp_elf_find_ibt_prop(img, e, p + desc_off, descsz);
        if (e->ibt_off)
            return;
        off += hp_align_up(desc_off + descsz, 8);
    }
}

static hp_status hp_elf_load_dynamic(hp_image *img, hp_elf *e)
{
    if (e->dynamic_idx < 0)
        return HP_OK;
    const Elf64_Phdr *p = &e->phdrs[e->dynamic_idx];
    if (!hp_in_bounds(p->p_offset, p->p_filesz, img->size))
        return hp_image_bad(img, "PT_DYNAMIC lies outside the file");
    img->has_dynreloc = true;
    for (uint64_t off = 0; off + sizeof(Elf64_Dyn) <= p->p_filesz; off += sizeof(Elf64_Dyn)) {
        Elf64_Dyn d;
        memcpy(&d, img->data + p->p_offset + off, sizeof d);
        if (d.d_tag == DT_NULL)
            break;
        uint64_t val_off = p->p_offset + off + 8;
        if (d.d_tag == DT_FLAGS_1 && (d.d_un.d_val & DF_1_PIE))
            e->pie_flag = true;
        else if (d.d_tag == DT_RELA)
            e->dyn_rela_off = val_off, e->old_rela_va = d.d_un.d_ptr;
        else if (d.d_tag == DT_RELASZ)
            e->dyn_relasz_off = val_off, e->old_rela_size = d.d_un.d_val;
        else if (d.d_tag == DT_RELACOUNT)
            e->dyn_relacount_off = val_off;
        else if (d.d_tag == DT_RELR)
            e->relr_va = d.d_un.d_ptr;
        else if (d.d_tag == DT_RELRSZ)
            e->relr_size = d.d_un.d_val;
    }
    return HP_OK;
}

static void hp_elf_find_go(hp_image *img, hp_elf *e)
{
    static const char *const names[] = {".gopclntab", ".data.rel.ro.gopclntab"};
    for (size_t i = 0; i < 2; i++) {
        int idx = hp_elf_find_section(img, e, names[i]);
        if (idx < 0 || e->shdrs[idx].sh_type == SHT_NOBITS)
            continue;
        img->pclntab = img->data + e->shdrs[idx].sh_offset;
        img->pclntab_size = e->shdrs[idx].sh_size;
        img->pclntab_va = e->shdrs[idx].sh_addr;
        int text = hp_elf_find_section(img, e, ".text");
        if (text > 0)
            img->go_text_va = e->shdrs[text].sh_addr;
        return;
    }
}

static hp_status hp_elf_load_sections(hp_image *img, hp_elf *e)
{
    /* At most one symbol per entry. Tables may overlap (fuzzed files), so
     * reserve no more than the file could hold. */
    size_t nsyms = 0, max = img->size / sizeof(Elf64_Sym);
    for (size_t i = 1; i < e->shnum && nsyms < max; i++)
        if (e->shdrs[i].sh_type == SHT_SYMTAB || e->shdrs[i].sh_type == SHT_DYNSYM)
            nsyms += e->shdrs[i].sh_size / sizeof(Elf64_Sym); /* each <= max */
    HP_CHECK(hp_image_reserve_symbols(img, nsyms < max ? nsyms : max));
    for (size_t i = 1; i < e->shnum; i++) {
        uint32_t t = e->shdrs[i].sh_type;
        if (t == SHT_SYMTAB) {
            e->symtab_idx = (int)i;
            img->has_symtab = true;
            HP_CHECK(hp_elf_load_symtab(img, e, i, HP_SRC_SYMTAB));
        } else if (t == SHT_DYNSYM) {
            HP_CHECK(hp_elf_load_symtab(img, e, i, HP_SRC_DYNSYM));
        }
    }
    int info = hp_elf_find_section(img, e, ".hookpatch.info");
    if (info > 0) {
        img->prior_info = img->data + e->shdrs[info].sh_offset;
        img->prior_info_size = e->shdrs[info].sh_size;
    } else if (hp_elf_find_section(img, e, ".hookpatch") > 0) {
        img->prior_info = (const uint8_t *)"";
    }
    hp_elf_find_ibt(img, e);
    hp_elf_find_go(img, e);
    return hp_elf_load_plt(img, e);
}

static hp_status hp_elf_load(hp_image *img)
{
    hp_elf *e = hp_calloc(1, sizeof *e);
    if (!e)
        return HP_ERR_NOMEM;
    e->first_load = e->last_load = e->dynamic_idx = e->phdr_idx = e->symtab_idx = -1;
    e->page = HP_ELF_PAGE;
    img->priv = e;
    HP_CHECK(hp_elf_check_header(img, &e->eh));
    HP_CHECK(hp_elf_load_phdrs(img, e));
    HP_CHECK(hp_elf_load_shdrs(img, e));
    HP_CHECK(hp_elf_load_dynamic(img, e));
    HP_CHECK(hp_elf_load_sections(img, e));
    img->pic = e->eh.e_type == ET_DYN;
    img->shared = img->pic && !e->has_interp && !e->pie_flag;
    return HP_OK;
}

static void hp_elf_unload(hp_image *img)
{
    hp_elf *e = hp_elf_of(img);
    if (!e)
        return;
    hp_free(e->phdrs);
    hp_free(e->shdrs);
    hp_free(e);
    img->priv = NULL;
}

/* Absolute pointers in a position-independent output become
 * R_X86_64_RELATIVE relocations: the whole DT_RELA table moves to a new
 * segment with the extra entries first (DT_RELACOUNT counts the leading
 * RELATIVE ones). A fixed-address output needs none: the linker resolved
 * them. Outputs with no DT_RELA cannot be rebased, so that is an error. */
static hp_status hp_elf_plan_rela(hp_image *img, hp_elf *e, uint64_t nabs)
{
    e->rela_bytes = 0;
    if (!nabs || !img->pic)
        return HP_OK;
    if (!e->dyn_rela_off || !e->dyn_relasz_off)
        return hp_image_bad(img, "the mock objects need %llu absolute pointers rebased at load "
                                 "time, but this position-independent file has no DT_RELA "
                                 "dynamic relocation table; build the mocks so they use no "
                                 "absolute addresses (e.g. -fPIC, no pointer tables)",
                            (unsigned long long)nabs);
    if (!hp_image_bytes(img, e->old_rela_va, e->old_rela_size))
        return hp_image_bad(img, "DT_RELA table lies outside the file");
    e->rela_bytes = e->old_rela_size + nabs * sizeof(Elf64_Rela);
    return HP_OK;
}

/* New segments: [phdrs + text] (R+X), [rodata] (R), [data + bss] (RW),
 * [moved DT_RELA table] (R), each aligned to e->page in the file and in
 * memory. The text segment starts at the first page boundary above both the
 * image's end and the file's end (mirrored by delta): see image.h,
 * hp_format.place, for the distance this gives. */
#define HP_ELF_FAR_SHIFT ((uint64_t)256 << 20) /* hp_layout.far: past B's +-128 MiB */
static hp_status hp_elf_place(hp_image *img, hp_layout *lay)
{
    hp_elf *e = hp_elf_of(img);
    const Elf64_Phdr *first = &e->phdrs[e->first_load];
    uint64_t page = e->page;
    int64_t delta = (int64_t)(first->p_vaddr - first->p_offset);
    if (first->p_vaddr < first->p_offset)
        delta = 0;
    HP_CHECK(hp_elf_plan_rela(img, e, lay->nabs_ptrs));
    size_t nnew = 1 + (lay->size[HP_REGION_RODATA] > 0) + (lay->size[HP_REGION_DATA] > 0) +
                  (e->rela_bytes > 0);
    e->new_phnum = e->eh.e_phnum + nnew;
    uint64_t phdr_bytes = hp_align_up(e->new_phnum * sizeof(Elf64_Phdr), 16);
    uint64_t va = hp_align_up(hp_image_end_va(img), page);
    uint64_t min_off = hp_align_up(img->size, page);
    if (va - (uint64_t)delta < min_off)
        va = min_off + (uint64_t)delta;
    /* Test only: out of B reach. The file offset moves too (a sparse
     * hole): loaders find the program headers at load base + e_phoff. */
    if (lay->far)
        va += HP_ELF_FAR_SHIFT;
    e->seg_va[HP_REGION_TEXT] = va;
    lay->va[HP_REGION_TEXT] = va + phdr_bytes;
    uint64_t next = hp_align_up(lay->va[HP_REGION_TEXT] + lay->size[HP_REGION_TEXT], page);
    for (int r = HP_REGION_RODATA; r < HP_REGION_COUNT; r++) {
        if (!lay->size[r])
            continue;
        e->seg_va[r] = lay->va[r] = next;
        next = hp_align_up(next + lay->size[r], page);
    }
    if (e->rela_bytes) {
        e->rela_va = next;
        next = hp_align_up(next + e->rela_bytes, page);
    }
    e->delta = delta;
    e->phdr_bytes = phdr_bytes;
    if (next - img->base_va > 0x7fff0000ull)
        return hp_image_bad(img, "the image would exceed 2 GiB, beyond the reach of %s",
                            img->machine == HP_MACH_ARM64 ? "the trampolines' ADRP"
                                                          : "rel32 jumps");
    return HP_OK;
}

hp_status hp_elf_emit(const hp_image *img, const hp_edit *ed, hp_sink *out);
hp_status hp_elf_code(const hp_image *img, hp_code_map *m); /* elf_code.c */

static bool hp_elf_section(const hp_image *img, const char *name, const uint8_t **data,
                           size_t *size)
{
    const hp_elf *e = hp_elf_of(img);
    int idx = e && e->shdrs ? hp_elf_find_section(img, e, name) : -1;
    if (idx <= 0 || e->shdrs[idx].sh_type == SHT_NOBITS)
        return false;
    *data = img->data + e->shdrs[idx].sh_offset; /* bounds checked in load */
    *size = e->shdrs[idx].sh_size;
    return true;
}

const hp_format hp_format_elf = {
    .name = "ELF",
    .kind = HP_FMT_ELF,
    .probe = hp_elf_probe,
    .load = hp_elf_load,
    .place = hp_elf_place,
    .emit = hp_elf_emit,
    .unload = hp_elf_unload,
    .section = hp_elf_section,
    .code = hp_elf_code,
    .addr_slots = hp_elf_addr_slots,
};
