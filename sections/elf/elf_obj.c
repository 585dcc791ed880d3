/* Reading ELF64 x86-64 and AArch64 relocatable objects into the object
 * model (object.h), for the object linker (relocs/objlink).
 *
 * Objects are untrusted: every header, table, string and relocation is
 * bounds-checked here once, so the linker can trust the model.
 * Quirks worth knowing:
 *  - Sections are sorted into three regions by flags: executable -> text,
 *    writable (and .data.rel.ro*, and read-only sections carrying
 *    R_X86_64_64 or R_AARCH64_ABS64, which a PIC output must rebase) ->
 *    data, the rest of the
 *    allocated ones -> rodata. NOBITS goes to the data region's zero tail.
 *  - .eh_frame is dropped: exceptions cannot unwind through mocks anyway
 *    (the patched binary's unwinder never learns about the new regions),
 *    and with it .gcc_except_table and the DW.ref.* cells that only the
 *    unwind tables read. Notes (.note.gnu.property) and non-allocated
 *    sections are dropped too.
 *  - Constructors (.init_array, .ctors, ...) are refused: nothing would run
 *    them. So are TLS, COMMON symbols, IFUNCs and SHT_REL sections.
 *  - COMDAT groups (C++ inline functions, templates): the first loaded
 *    object that provides a signature wins; later copies are discarded and
 *    their global symbols become references to the first copy.
 *  - Extended section numbering (SHN_XINDEX) is refused: objects with more
 *    than 65280 sections are not mocks.
 *  - AArch64: the machine is recorded (o->machine) and relocation types are
 *    AAELF64's. Mapping symbols ($x, $d, $x.42: where code and literal data
 *    start, for disassemblers) name nothing a rule or the output's symbol
 *    table could use, so they become nameless. */
#include "../object.h"
#include "elf_defs.h"
#include "../format.h"

#include <string.h>

/* ---- diagnostics ---------------------------------------------------- */

typedef struct hp_elf_obj_rd {
    hp_obj *o;
    Elf64_Ehdr eh;
    Elf64_Shdr *sh; /* copies of the section headers */
    size_t symtab;  /* index of SHT_SYMTAB, 0 when absent */
    const char *strtab;
    uint64_t strtab_size;
    hp_obj_errs err;
} hp_elf_obj_rd;


/* ---- headers -------------------------------------------------------- */

static hp_status hp_elf_obj_ehdr(hp_elf_obj_rd *rd)
{
    hp_obj *o = rd->o;
    if (o->size < sizeof(Elf64_Ehdr) || memcmp(o->data, ELFMAG, SELFMAG) != 0)
        return hp_obj_refuse(&rd->err, "not an ELF object file");
    memcpy(&rd->eh, o->data, sizeof rd->eh);
    const Elf64_Ehdr *eh = &rd->eh;
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
        return hp_obj_refuse(&rd->err, "not a 64-bit little-endian ELF object");
    if (eh->e_machine != EM_X86_64 && eh->e_machine != EM_AARCH64)
        return hp_obj_refuse(&rd->err, "machine %u is not x86-64 or AArch64", eh->e_machine);
    rd->o->machine = eh->e_machine == EM_AARCH64 ? HP_MACH_ARM64 : HP_MACH_X86_64;
    if (eh->e_type != ET_REL)
        return hp_obj_refuse(&rd->err, "not a relocatable object (ELF type %u); compile with -c",
                             eh->e_type);
    if (eh->e_shnum == 0 || eh->e_shstrndx >= eh->e_shnum)
        return hp_obj_refuse(&rd->err, "no section headers, or extended section numbering");
    if (eh->e_shentsize != sizeof(Elf64_Shdr) ||
        !hp_in_bounds(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), o->size))
        return hp_obj_bad(&rd->err, "truncated or malformed: section header table out of bounds");
    return HP_OK;
}

static hp_status hp_elf_obj_read_shdrs(hp_elf_obj_rd *rd)
{
    hp_obj *o = rd->o;
    size_t n = rd->eh.e_shnum;
    rd->sh = hp_calloc(n, sizeof *rd->sh);
    o->secs = hp_calloc(n, sizeof *o->secs);
    if (!rd->sh || !o->secs)
        return HP_ERR_NOMEM;
    o->nsecs = n;
    memcpy(rd->sh, o->data + rd->eh.e_shoff, n * sizeof *rd->sh);
    const Elf64_Shdr *ss = &rd->sh[rd->eh.e_shstrndx];
    if (ss->sh_type != SHT_STRTAB || !hp_in_bounds(ss->sh_offset, ss->sh_size, o->size))
        return hp_obj_bad(&rd->err, "malformed section name table");
    for (size_t i = 0; i < n; i++) {
        const Elf64_Shdr *s = &rd->sh[i];
        hp_obj_sec *sec = &o->secs[i];
        sec->region = HP_OBJ_DROP;
        sec->name = hp_elf_str(o->data + ss->sh_offset, ss->sh_size, s->sh_name);
        if (!sec->name)
            return hp_obj_bad(&rd->err, "section %zu: name out of bounds", i);
        sec->nobits = s->sh_type == SHT_NOBITS;
        if (!sec->nobits && s->sh_type != SHT_NULL &&
            !hp_in_bounds(s->sh_offset, s->sh_size, o->size))
            return hp_obj_bad(&rd->err, "section '%s': contents out of bounds", sec->name);
        sec->data = sec->nobits || s->sh_type == SHT_NULL ? NULL : o->data + s->sh_offset;
        sec->size = s->sh_type == SHT_NULL ? 0 : s->sh_size;
        sec->align = s->sh_addralign ? s->sh_addralign : 1;
    }
    return HP_OK;
}

/* ---- section classification ---------------------------------------- */

static bool hp_elf_obj_prefix(const char *s, const char *p)
{
    size_t n = strlen(p);
    return strncmp(s, p, n) == 0 && (s[n] == 0 || s[n] == '.');
}

static bool hp_elf_obj_is_ctor(const Elf64_Shdr *s, const char *name)
{
    static const char *const names[] = {".init_array", ".fini_array", ".preinit_array",
                                        ".ctors", ".dtors"};
    if (s->sh_type == SHT_INIT_ARRAY || s->sh_type == SHT_FINI_ARRAY ||
        s->sh_type == SHT_PREINIT_ARRAY || !strcmp(name, ".init") || !strcmp(name, ".fini"))
        return true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (hp_elf_obj_prefix(name, names[i]))
            return true;
    return false;
}

/* Region for an allocated section, HP_OBJ_DROP, or an error. */
static hp_status hp_elf_obj_classify(hp_elf_obj_rd *rd, size_t i)
{
    const Elf64_Shdr *s = &rd->sh[i];
    hp_obj_sec *sec = &rd->o->secs[i];
    if (!(s->sh_flags & SHF_ALLOC) || s->sh_type == SHT_NULL || s->sh_type == SHT_NOTE)
        return HP_OK;
    if (hp_elf_obj_is_ctor(s, sec->name))
        return hp_obj_refuse(&rd->err, "section '%s': constructors and destructors are not "
                                       "supported (nothing would run them)", sec->name);
    if (s->sh_flags & SHF_TLS)
        return hp_obj_refuse(&rd->err, "section '%s': thread-local storage is not supported",
                             sec->name);
    /* Exceptions cannot unwind through mocks: the patched binary's unwinder
     * never sees these frames, so the unwind tables would be dead weight. */
    if (!strcmp(sec->name, ".eh_frame") || s->sh_type == SHT_X86_64_UNWIND)
        return HP_OK;
    /* Satellites of the unwind tables, read only through .eh_frame: the
     * LSDA and the DW.ref cells pointing at the personality and typeinfo. */
    if (hp_elf_obj_prefix(sec->name, ".gcc_except_table") || strstr(sec->name, ".DW.ref."))
        return HP_OK;
    if (s->sh_type != SHT_PROGBITS && s->sh_type != SHT_NOBITS)
        return hp_obj_refuse(&rd->err, "section '%s': unsupported allocated section type 0x%x",
                             sec->name, s->sh_type);
    if (sec->align & (sec->align - 1))
        return hp_obj_bad(&rd->err, "section '%s': alignment %llu is not a power of two", sec->name,
                          (unsigned long long)sec->align);
    HP_CHECK(hp_obj_check_limits(&rd->err, sec));
    if (sec->nobits || (s->sh_flags & SHF_WRITE) || hp_elf_obj_prefix(sec->name, ".data.rel.ro"))
        sec->region = HP_REGION_DATA;
    else if (s->sh_flags & SHF_EXECINSTR)
        sec->region = HP_REGION_TEXT;
    else
        sec->region = HP_REGION_RODATA;
    return HP_OK;
}

static hp_status hp_elf_obj_sections(hp_elf_obj_rd *rd)
{
    for (size_t i = 1; i < rd->o->nsecs; i++) {
        const Elf64_Shdr *s = &rd->sh[i];
        if (s->sh_type == SHT_SYMTAB) {
            if (rd->symtab)
                return hp_obj_bad(&rd->err, "more than one symbol table");
            rd->symtab = i;
        }
        if (s->sh_type == SHT_SYMTAB_SHNDX)
            return hp_obj_refuse(&rd->err, "extended section indices (SHT_SYMTAB_SHNDX) are not "
                                           "supported");
        hp_status st = hp_elf_obj_classify(rd, i);
        if (hp_obj_fatal(st))
            return st;
    }
    return HP_OK;
}

/* ---- symbol table --------------------------------------------------- */

static hp_status hp_elf_obj_symtab(hp_elf_obj_rd *rd)
{
    hp_obj *o = rd->o;
    if (!rd->symtab)
        return HP_OK;
    const Elf64_Shdr *st = &rd->sh[rd->symtab];
    if (st->sh_entsize != sizeof(Elf64_Sym) || st->sh_size % sizeof(Elf64_Sym) ||
        st->sh_link == 0 || st->sh_link >= o->nsecs)
        return hp_obj_bad(&rd->err, "malformed symbol table");
    const Elf64_Shdr *ss = &rd->sh[st->sh_link];
    if (ss->sh_type != SHT_STRTAB)
        return hp_obj_bad(&rd->err, "malformed symbol string table");
    rd->strtab = (const char *)o->data + ss->sh_offset;
    rd->strtab_size = ss->sh_size;
    o->nsyms = st->sh_size / sizeof(Elf64_Sym);
    o->syms = hp_calloc(o->nsyms, sizeof *o->syms);
    return o->syms ? HP_OK : HP_ERR_NOMEM;
}

static void hp_elf_obj_elfsym(const hp_elf_obj_rd *rd, size_t i, Elf64_Sym *out)
{
    const Elf64_Shdr *st = &rd->sh[rd->symtab];
    memcpy(out, rd->o->data + st->sh_offset + i * sizeof *out, sizeof *out);
}

/* An AArch64 mapping symbol: local, typeless, "$x"/"$d" or "$x.<any>". */
static bool hp_elf_obj_mapping(const char *n, const Elf64_Sym *es)
{
    return n[0] == '$' && (n[1] == 'x' || n[1] == 'd') && (n[2] == 0 || n[2] == '.') &&
           ELF64_ST_BIND(es->st_info) == STB_LOCAL && ELF64_ST_TYPE(es->st_info) == STT_NOTYPE;
}

/* A symbol's name; a nameless section symbol takes its section's name. */
static const char *hp_elf_obj_symname(hp_elf_obj_rd *rd, const Elf64_Sym *es)
{
    const char *n = hp_elf_str((const uint8_t *)rd->strtab, rd->strtab_size, es->st_name);
    if (n && !*n && ELF64_ST_TYPE(es->st_info) == STT_SECTION && es->st_shndx < rd->o->nsecs)
        n = rd->o->secs[es->st_shndx].name;
    if (n && rd->o->machine == HP_MACH_ARM64 && hp_elf_obj_mapping(n, es))
        n = "";
    return n;
}

/* ---- COMDAT groups -------------------------------------------------- */

static hp_status hp_elf_obj_group(hp_elf_obj_rd *rd, size_t gi, const hp_map *comdats)
{
    hp_obj *o = rd->o;
    const Elf64_Shdr *g = &rd->sh[gi];
    if (!rd->symtab || g->sh_link != rd->symtab || g->sh_info == 0 || g->sh_info >= o->nsyms ||
        g->sh_entsize != 4 || g->sh_size < 4 || g->sh_size % 4)
        return hp_obj_bad(&rd->err, "section '%s': malformed group", o->secs[gi].name);
    const uint8_t *w = o->secs[gi].data;
    Elf64_Sym es;
    hp_elf_obj_elfsym(rd, g->sh_info, &es);
    const char *sig = hp_elf_obj_symname(rd, &es);
    if (!sig)
        return hp_obj_bad(&rd->err, "section '%s': group signature name out of bounds",
                          o->secs[gi].name);
    if (!(hp_rd32(w) & GRP_COMDAT))
        return HP_OK;
    bool discard = hp_map_find(comdats, sig) != NULL;
    for (uint64_t k = 4; k < g->sh_size; k += 4) {
        uint32_t m = hp_rd32(w + k);
        if (m == 0 || m >= o->nsecs)
            return hp_obj_bad(&rd->err, "section '%s': group member %u out of range",
                              o->secs[gi].name, m);
        o->secs[m].discarded |= discard;
    }
    if (discard)
        return HP_OK;
    HP_CHECK(HP_GROW(o->comdats, o->comdats_cap, o->ncomdats + 1));
    o->comdats[o->ncomdats++] = sig;
    return HP_OK;
}

static hp_status hp_elf_obj_groups(hp_elf_obj_rd *rd, const hp_map *comdats)
{
    for (size_t i = 1; i < rd->o->nsecs; i++)
        if (rd->sh[i].sh_type == SHT_GROUP)
            HP_CHECK(hp_elf_obj_group(rd, i, comdats));
    return HP_OK;
}

/* ---- symbols -------------------------------------------------------- */

/* Refusals that depend on the symbol's kind or section index. */
static hp_status hp_elf_obj_sym_check(hp_elf_obj_rd *rd, const Elf64_Sym *es, const char *name)
{
    unsigned type = ELF64_ST_TYPE(es->st_info), bind = ELF64_ST_BIND(es->st_info);
    if (es->st_shndx == SHN_COMMON)
        return hp_obj_refuse(&rd->err, "symbol '%s' is a COMMON symbol; compile with -fno-common",
                             name);
    if (type == STT_TLS)
        return hp_obj_refuse(&rd->err, "symbol '%s': thread-local storage is not supported", name);
    if (type == STT_GNU_IFUNC)
        return hp_obj_refuse(&rd->err, "symbol '%s': indirect functions (ifunc) are not supported",
                             name);
    if (bind != STB_LOCAL && bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE)
        return hp_obj_refuse(&rd->err, "symbol '%s': unsupported binding %u", name, bind);
    if (es->st_shndx >= SHN_LORESERVE && es->st_shndx != SHN_ABS)
        return hp_obj_refuse(&rd->err, "symbol '%s': unsupported section index 0x%x", name,
                             es->st_shndx);
    if (es->st_shndx < SHN_LORESERVE && es->st_shndx >= rd->o->nsecs)
        return hp_obj_bad(&rd->err, "symbol '%s': section index %u out of range", name,
                          es->st_shndx);
    return HP_OK;
}

/* A symbol defined in a section lies inside it (its end may be the
 * section's end: a label after the last byte); a function or object
 * placed in a kept section also ends inside it. The linker trusts this. */
static hp_status hp_elf_obj_sym_in_sect(hp_elf_obj_rd *rd, const Elf64_Sym *es, const char *name)
{
    if (es->st_shndx == SHN_UNDEF || es->st_shndx >= SHN_LORESERVE)
        return HP_OK;
    const hp_obj_sec *sec = &rd->o->secs[es->st_shndx];
    if (es->st_value > sec->size)
        return hp_obj_bad(&rd->err, "symbol '%s': value 0x%llx outside its section '%s' (0x%llx "
                                    "bytes)", name, (unsigned long long)es->st_value, sec->name,
                          (unsigned long long)sec->size);
    if (hp_obj_kept(sec) && es->st_size > sec->size - es->st_value)
        return hp_obj_bad(&rd->err, "symbol '%s': 0x%llx bytes at 0x%llx run past the end of its "
                                    "section '%s' (0x%llx bytes)", name,
                          (unsigned long long)es->st_size, (unsigned long long)es->st_value,
                          sec->name, (unsigned long long)sec->size);
    return HP_OK;
}

static hp_status hp_elf_obj_symbol(hp_elf_obj_rd *rd, size_t i)
{
    hp_obj *o = rd->o;
    hp_obj_sym *s = &o->syms[i];
    Elf64_Sym es;
    hp_elf_obj_elfsym(rd, i, &es);
    s->got = HP_OBJ_NO_GOT;
    s->name = hp_elf_obj_symname(rd, &es);
    if (!s->name)
        return hp_obj_bad(&rd->err, "symbol %zu: name out of bounds", i);
    if (i == 0) { /* the null symbol: absolute zero */
        s->defined = s->absolute = true;
        return HP_OK;
    }
    HP_CHECK(hp_elf_obj_sym_check(rd, &es, s->name));
    HP_CHECK(hp_elf_obj_sym_in_sect(rd, &es, s->name));
    s->value = es.st_value;
    s->size = es.st_size;
    s->shndx = es.st_shndx;
    s->type = ELF64_ST_TYPE(es.st_info);
    s->bind = ELF64_ST_BIND(es.st_info) == STB_GNU_UNIQUE ? STB_GLOBAL : ELF64_ST_BIND(es.st_info);
    if (s->shndx == SHN_ABS)
        s->defined = s->absolute = true;
    else if (s->shndx != SHN_UNDEF && hp_obj_kept(&o->secs[s->shndx]))
        s->defined = true;
    else if (s->shndx != SHN_UNDEF && o->secs[s->shndx].discarded && s->bind != STB_LOCAL) {
        s->shndx = SHN_UNDEF; /* the kept COMDAT copy defines it */
        s->dup = true;
    }
    s->sized = s->defined;
    return HP_OK;
}

static hp_status hp_elf_obj_symbols(hp_elf_obj_rd *rd)
{
    for (size_t i = 0; i < rd->o->nsyms; i++) {
        hp_status st = hp_elf_obj_symbol(rd, i);
        if (hp_obj_fatal(st))
            return st;
    }
    return HP_OK;
}

/* ---- relocations ---------------------------------------------------- */

static hp_status hp_elf_obj_rel_check(hp_elf_obj_rd *rd, const hp_obj_rela *r)
{
    hp_obj *o = rd->o;
    const hp_obj_sec *sec = &o->secs[r->sec];
    const hp_obj_rel_info *ri = hp_obj_rel_lookup(o->machine, r->type);
    unsigned long long off = (unsigned long long)r->off;
    if (!ri)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: unknown relocation type %u",
                             sec->name, off, r->type);
    if (ri->kind == HP_RK_TLS)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation %s (thread-local "
                                       "storage) is not supported", sec->name, off, ri->name);
    if (ri->kind == HP_RK_DYN || ri->kind == HP_RK_NO)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation %s is not supported "
                                       "in a relocatable object", sec->name, off, ri->name);
    if (ri->kind == HP_RK_UNSUP)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation %s is not "
                                       "supported by hookpatch's linker (use the default code "
                                       "model, -mcmodel=small)", sec->name, off, ri->name);
    if (r->sym >= o->nsyms)
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: symbol index %u out of range",
                          sec->name, off, r->sym);
    if (sec->nobits || !hp_in_bounds(r->off, ri->width, sec->size))
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: relocation %s outside the section",
                          sec->name, off, ri->name);
    const hp_obj_sym *s = &o->syms[r->sym];
    if (!s->defined && s->shndx != SHN_UNDEF && r->type != 0 /* R_*_NONE */)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation %s refers to "
                                       "'%s' in section '%s', which is not loaded", sec->name,
                             off, ri->name, s->name, o->secs[s->shndx].name);
    return HP_OK;
}

/* Record one relocation of a kept section. */
static hp_status hp_elf_obj_rela_one(hp_elf_obj_rd *rd, const Elf64_Rela *er, uint32_t target)
{
    hp_obj *o = rd->o;
    hp_obj_rela r = {er->r_offset, er->r_addend, target, (uint32_t)ELF64_R_SYM(er->r_info),
                     (uint32_t)ELF64_R_TYPE(er->r_info)};
    hp_status st = hp_elf_obj_rel_check(rd, &r);
    if (st != HP_OK)
        return st;
    if (r.type == 0) /* R_X86_64_NONE, R_AARCH64_NONE */
        return HP_OK;
    hp_obj_sym *s = &o->syms[r.sym];
    s->used = true;
    uint8_t kind = hp_obj_rel_lookup(o->machine, r.type)->kind;
    if (kind == HP_RK_GOTBASE || kind == HP_RK_GOT)
        o->needs_got = true;
    /* A PIC output rebases absolute pointers, so the loader writes them:
     * such sections cannot stay read-only. */
    if (r.type == hp_obj_rel_abs64(o->machine) && o->secs[target].region == HP_REGION_RODATA)
        o->secs[target].region = HP_REGION_DATA;
    HP_CHECK(HP_GROW(o->relas, o->relas_cap, o->nrelas + 1));
    o->relas[o->nrelas++] = r;
    return HP_OK;
}

static hp_status hp_elf_obj_relsec(hp_elf_obj_rd *rd, size_t i)
{
    hp_obj *o = rd->o;
    const Elf64_Shdr *s = &rd->sh[i];
    if (s->sh_info == 0 || s->sh_info >= o->nsecs)
        return hp_obj_bad(&rd->err, "section '%s': relocation target out of range",
                          o->secs[i].name);
    const hp_obj_sec *t = &o->secs[s->sh_info];
    if (!hp_obj_kept(t) || o->secs[i].discarded)
        return HP_OK;
    if (s->sh_type == SHT_REL)
        return hp_obj_refuse(&rd->err, "section '%s': SHT_REL relocations are not supported on "
                                       "%s", o->secs[i].name, hp_obj_machine_name(o->machine));
    if (!rd->symtab || s->sh_link != rd->symtab || s->sh_entsize != sizeof(Elf64_Rela) ||
        s->sh_size % sizeof(Elf64_Rela))
        return hp_obj_bad(&rd->err, "section '%s': malformed relocation table", o->secs[i].name);
    for (uint64_t k = 0; k < s->sh_size; k += sizeof(Elf64_Rela)) {
        Elf64_Rela er;
        memcpy(&er, o->secs[i].data + k, sizeof er);
        hp_status st = hp_elf_obj_rela_one(rd, &er, s->sh_info);
        if (hp_obj_fatal(st))
            return st;
    }
    return HP_OK;
}

static hp_status hp_elf_obj_relocs(hp_elf_obj_rd *rd)
{
    for (size_t i = 1; i < rd->o->nsecs; i++)
        if (rd->sh[i].sh_type == SHT_RELA || rd->sh[i].sh_type == SHT_REL)
            HP_CHECK(hp_elf_obj_relsec(rd, i));
    return HP_OK;
}

/* ---- entry ---------------------------------------------------------- */

static hp_status hp_elf_obj_passes(hp_elf_obj_rd *rd, const hp_map *comdats)
{
    HP_CHECK(hp_elf_obj_ehdr(rd));
    HP_CHECK(hp_elf_obj_read_shdrs(rd));
    HP_CHECK(hp_elf_obj_sections(rd));
    HP_CHECK(hp_elf_obj_symtab(rd));
    HP_CHECK(hp_elf_obj_groups(rd, comdats));
    HP_CHECK(hp_elf_obj_symbols(rd));
    return hp_elf_obj_relocs(rd);
}

hp_status hp_elf_obj_read(hp_obj *o, const hp_map *comdats, hp_diags *d)
{
    hp_elf_obj_rd rd = {.o = o, .err = {.d = d, .o = o}};
    o->c_underscore = hp_format_elf.c_underscore;
    hp_status st = hp_elf_obj_passes(&rd, comdats);
    hp_free(rd.sh);
    return hp_obj_result(&rd.err, st);
}
