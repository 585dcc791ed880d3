/* Reading Mach-O x86-64 and arm64 relocatable objects (clang -target
 * x86_64-apple-macos11 -c, -target arm64-apple-macos11 -c) into the object
 * model's ELF terms (object.h), for the object linker (relocs/objlink). The
 * symbol table is read by macho_symtab.c, as for Mach-O images; arm64
 * relocations by macho_obj_a64.c (its own essay), the rest here.
 *  - The CPU type sets o->machine. arm64e (pointer authentication) is
 *    refused by name.
 *
 * Objects are untrusted: the header, every load command, section, symbol,
 * name and relocation is bounds-checked here once. Mach-O quirks and how
 * they map:
 *  - An MH_OBJECT has one unnamed LC_SEGMENT_64 holding every section (more
 *    are accepted; sections are numbered across them from 1, the ordinals
 *    that symbols and relocations use). Model section i is ordinal i; model
 *    section 0 is an empty placeholder. Each section has an address in the
 *    object's own address space: symbol values and the addends of
 *    section-relative relocations are made section offsets with it.
 *  - Sections go by flags and names: instructions -> text; zerofill -> data
 *    (zero-filled); other __TEXT sections (__cstring, __const, literals) ->
 *    rodata; the rest (__DATA,__data, __DATA,__const, ...) -> data.
 *    Dropped: debug sections (__DWARF), __LD,__compact_unwind and __eh_frame
 *    (no unwind info for mocks, as ELF's .eh_frame is dropped), the LSDA
 *    (__gcc_except_tab) and __LLVM (embedded bitcode). Refused: constructors
 *    (__mod_init_func & co.), thread-local variables, stub and indirect-
 *    pointer sections, Objective-C metadata. LC_LINKER_OPTION (autolinking,
 *    -framework X) is ignored with a warning: the binary brings its libraries.
 *  - Symbols (nlist_64): model symbol i + 1 is nlist i; then one section
 *    symbol per section for section-relative relocations. Names keep their
 *    leading underscore (C's f is _f): the format table says so
 *    (c_underscore), and the linker lets the rules' C names find them.
 *    N_EXT makes a global (N_WEAK_DEF weak), N_UNDF|N_EXT an undefined one
 *    (N_WEAK_REF weak; a non-zero value is a COMMON symbol, refused).
 *    Debug (N_STAB) entries are never defined. There are no sizes: a
 *    symbol extends to the next one (hp_obj_infer_sizes).
 *    Mach-O has no COMDAT groups; C++ inline functions are weak definitions,
 *    so the first loaded copy wins.
 *  - x86-64 relocations carry their addend in the bytes being patched. Extern ones
 *    name a symbol; the others name a section, and the bytes hold an address
 *    in the object's address space (UNSIGNED: the target; pc-relative: the
 *    displacement from the field's end). Each becomes an ELF type:
 *      UNSIGNED (8 or 4 bytes)     -> R_X86_64_64 / R_X86_64_32
 *      SIGNED, SIGNED_1/_2/_4      -> R_X86_64_PC32, addend bytes - 4: the
 *                                     compiler already folded the N bytes of
 *                                     immediate after the field into them
 *      BRANCH                      -> R_X86_64_PLT32, addend bytes - 4
 *      GOT_LOAD (movq only)        -> R_X86_64_REX_GOTPCRELX (relaxable to lea)
 *      GOT                         -> R_X86_64_GOTPCREL
 *      SUBTRACTOR + UNSIGNED pair  -> R_X86_64_PC32 / PC64 (value M - T) when
 *                                     the subtrahend T lies in the section
 *                                     being patched (clang's relative tables
 *                                     and jump tables): M - T = M - P + (P - T)
 *                                     and P - T is fixed by the layout, which
 *                                     never splits a section. Other pairs are
 *                                     refused.
 *      TLV                         -> refused (thread-local storage)
 */
#include "macho_obj_priv.h"
#include "../format.h"

#include <string.h>

static const char *const hp_macho_rel_names[] = {
    "UNSIGNED", "SIGNED", "BRANCH", "GOT_LOAD", "GOT", "SUBTRACTOR",
    "SIGNED_1", "SIGNED_2", "SIGNED_4", "TLV"};

/* ---- the reader ----------------------------------------------------- */

bool hp_macho_obj_probe(const uint8_t *data, size_t size)
{
    if (size < 4)
        return false;
    uint32_t m = hp_rd32(data), be = hp_rd32be(data);
    return m == HP_MH_MAGIC_64 || m == HP_MH_MAGIC || m == HP_MH_CIGAM_64 ||
           m == HP_MH_CIGAM || be == HP_FAT_MAGIC || be == HP_FAT_MAGIC_64;
}

/* ---- header and load commands --------------------------------------- */

static hp_status hp_macho_header(hp_macho_rd *rd)
{
    const uint8_t *p = rd->o->data;
    uint32_t m = hp_rd32(p), be = hp_rd32be(p);
    if (be == HP_FAT_MAGIC || be == HP_FAT_MAGIC_64)
        return hp_obj_refuse(&rd->err, "a universal (fat) file; extract the object of the binary's "
                                       "architecture with `lipo -thin x86_64` or `lipo -thin "
                                       "arm64`");
    if (m != HP_MH_MAGIC_64)
        return hp_obj_refuse(&rd->err, "not a 64-bit little-endian Mach-O object");
    if (rd->o->size < HP_MACHO_HDR)
        return hp_obj_bad(&rd->err, "truncated Mach-O header");
    /* the subtype's high byte holds capability bits */
    uint32_t cpu = hp_rd32(p + 4), sub = hp_rd32(p + 8) & 0x00ffffffu, type = hp_rd32(p + 12);
    if (cpu == HP_CPU_ARM64 && sub == HP_CPU_SUBTYPE_ARM64E)
        return hp_obj_refuse(&rd->err, "an arm64e object (pointer-authenticated ABI) is not "
                                       "supported; compile with -target arm64-apple-macos11");
    if (cpu == HP_CPU_ARM64 && sub != HP_CPU_SUBTYPE_ARM64_ALL && sub != HP_CPU_SUBTYPE_ARM64_V8)
        return hp_obj_refuse(&rd->err, "arm64 CPU subtype %u is not supported", sub);
    if (cpu != HP_CPU_X86_64 && cpu != HP_CPU_ARM64)
        return hp_obj_refuse(&rd->err, "CPU type 0x%x is neither x86-64 nor arm64", cpu);
    rd->o->machine = cpu == HP_CPU_ARM64 ? HP_MACH_ARM64 : HP_MACH_X86_64;
    if (type != HP_MH_OBJECT)
        return hp_obj_refuse(&rd->err, "not a relocatable object (Mach-O file type %u); compile "
                                       "with -c", type);
    rd->ncmds = hp_rd32(p + 16);
    if (!hp_in_bounds(HP_MACHO_HDR, hp_rd32(p + 20), rd->o->size))
        return hp_obj_bad(&rd->err, "truncated or malformed: load commands out of bounds");
    return HP_OK;
}

/* Autolinking options: the binary already brings its libraries. */
static void hp_macho_linker_option(hp_macho_rd *rd, const uint8_t *c, uint32_t size)
{
    char text[121];
    size_t n = 0;
    for (uint32_t k = 12; k < size && n < sizeof text - 1; k++) {
        uint8_t ch = c[k];
        if (ch == 0 && (!n || text[n - 1] == ' '))
            continue;
        text[n++] = ch == 0 ? ' ' : ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    while (n && text[n - 1] == ' ')
        n--;
    text[n] = 0;
    if (n)
        hp_obj_warn(&rd->err, "linker options ignored: %s%s", text,
                    n == sizeof text - 1 ? "..." : "");
}

static hp_status hp_macho_symtab_cmd(hp_macho_rd *rd, const uint8_t *c, uint32_t size)
{
    if (rd->has_symtab)
        return hp_obj_bad(&rd->err, "more than one LC_SYMTAB");
    if (size < 24)
        return hp_obj_bad(&rd->err, "malformed LC_SYMTAB");
    rd->has_symtab = true;
    if (hp_macho_symtab_open(rd->o->data, rd->o->size, c, &rd->tab) != HP_MACHO_SYMTAB_OK)
        return hp_obj_bad(&rd->err, "truncated or malformed: symbol table out of bounds");
    return HP_OK;
}

/* Walk the load commands: count sections (fill == false) or record them. */
static hp_status hp_macho_commands(hp_macho_rd *rd, bool fill)
{
    const uint8_t *p = rd->o->data;
    uint64_t end = HP_MACHO_HDR + (uint64_t)hp_rd32(p + 20), off = HP_MACHO_HDR;
    uint32_t n = 0;
    for (uint32_t i = 0; i < rd->ncmds; i++) {
        if (!hp_in_bounds(off, 8, end))
            return hp_obj_bad(&rd->err, "load command %u out of bounds", i);
        const uint8_t *c = p + off;
        uint32_t cmd = hp_rd32(c), size = hp_rd32(c + 4);
        if (size < 8 || size % 8 || !hp_in_bounds(off, size, end))
            return hp_obj_bad(&rd->err, "load command %u: bad size %u", i, size);
        if (cmd == HP_LC_SEGMENT)
            return hp_obj_refuse(&rd->err, "32-bit segment in a 64-bit object");
        if (cmd == HP_LC_SEGMENT_64) {
            uint32_t ns = size >= HP_MACHO_SEG_CMD ? hp_rd32(c + 64) : 0;
            if (size < HP_MACHO_SEG_CMD || ns > (size - HP_MACHO_SEG_CMD) / HP_MACHO_SECT)
                return hp_obj_bad(&rd->err, "load command %u: malformed LC_SEGMENT_64", i);
            for (uint32_t k = 0; fill && k < ns; k++)
                rd->sect[n + 1 + k].hdr = c + HP_MACHO_SEG_CMD + (uint64_t)k * HP_MACHO_SECT;
            n += ns;
        }
        if (!fill && cmd == HP_LC_SYMTAB)
            HP_CHECK(hp_macho_symtab_cmd(rd, c, size));
        if (!fill && cmd == HP_LC_LINKER_OPTION)
            hp_macho_linker_option(rd, c, size);
        off += size;
    }
    rd->nsects = n;
    return HP_OK;
}

/* ---- sections ------------------------------------------------------- */

/* "segname,sectname" (each up to 16 bytes, unterminated when full). */
static const char *hp_macho_secname(hp_macho_rd *rd, const uint8_t *h)
{
    char *dst = rd->o->strs + rd->strs_used;
    size_t seg = strnlen((const char *)h + 16, 16), sect = strnlen((const char *)h, 16);
    memcpy(dst, h + 16, seg);
    dst[seg] = ',';
    memcpy(dst + seg + 1, h, sect);
    dst[seg + 1 + sect] = 0;
    rd->strs_used += seg + sect + 2;
    return dst;
}

static bool hp_macho_is(const hp_obj_sec *sec, const char *seg, const char *sect)
{
    size_t n = strlen(seg);
    return (!seg[0] || (!strncmp(sec->name, seg, n) && sec->name[n] == ',')) &&
           (!sect || !strcmp(strchr(sec->name, ',') + 1, sect));
}

static hp_status hp_macho_read_sect(hp_macho_rd *rd, size_t i)
{
    hp_obj *o = rd->o;
    hp_macho_obj_sect *ms = &rd->sect[i];
    hp_obj_sec *sec = &o->secs[i];
    const uint8_t *h = ms->hdr;
    sec->name = hp_macho_secname(rd, h);
    sec->region = HP_OBJ_DROP;
    ms->addr = hp_rd64(h + 32);
    sec->size = hp_rd64(h + 40);
    uint32_t offset = hp_rd32(h + 48), align = hp_rd32(h + 52);
    ms->reloff = hp_rd32(h + 56);
    ms->nreloc = hp_rd32(h + 60);
    ms->flags = hp_rd32(h + 64);
    uint8_t type = (uint8_t)ms->flags;
    sec->nobits = type == HP_S_ZEROFILL || type == HP_S_GB_ZEROFILL ||
                  type == HP_S_THREAD_LOCAL_ZEROFILL;
    if (sec->size > UINT64_MAX - ms->addr)
        return hp_obj_bad(&rd->err, "section '%s': address range overflows", sec->name);
    if (!sec->nobits && sec->size && !hp_in_bounds(offset, sec->size, o->size))
        return hp_obj_bad(&rd->err, "section '%s': contents out of bounds", sec->name);
    sec->data = sec->nobits || !sec->size ? NULL : o->data + offset;
    if (align >= 64)
        return hp_obj_bad(&rd->err, "section '%s': alignment 2^%u", sec->name, align);
    sec->align = 1ull << align;
    return HP_OK;
}

static bool hp_macho_dropped(const hp_obj_sec *sec, uint32_t flags)
{
    return (flags & HP_S_ATTR_DEBUG) || hp_macho_is(sec, "__DWARF", NULL) ||
           hp_macho_is(sec, "__LD", "__compact_unwind") || hp_macho_is(sec, "", "__eh_frame") ||
           hp_macho_is(sec, "", "__gcc_except_tab") || hp_macho_is(sec, "__LLVM", NULL);
}

static hp_status hp_macho_refused(hp_macho_rd *rd, const hp_obj_sec *sec, uint8_t type)
{
    if (type == HP_S_MOD_INIT_FUNC_POINTERS || type == HP_S_MOD_TERM_FUNC_POINTERS ||
        type == HP_S_INIT_FUNC_OFFSETS)
        return hp_obj_refuse(&rd->err, "section '%s': constructors and destructors are not "
                                       "supported (nothing would run them)", sec->name);
    if (type >= HP_S_THREAD_LOCAL_REGULAR && type <= HP_S_THREAD_LOCAL_INIT_FUNCTION_POINTERS)
        return hp_obj_refuse(&rd->err, "section '%s': thread-local storage is not supported",
                             sec->name);
    if (hp_macho_is(sec, "__OBJC", NULL) || strstr(sec->name, ",__objc_"))
        return hp_obj_refuse(&rd->err, "section '%s': Objective-C metadata is not supported "
                                       "(nothing would register it)", sec->name);
    if (type != HP_S_REGULAR && type != HP_S_ZEROFILL && type != HP_S_CSTRING_LITERALS &&
        type != HP_S_4BYTE_LITERALS && type != HP_S_8BYTE_LITERALS &&
        type != HP_S_16BYTE_LITERALS && type != HP_S_LITERAL_POINTERS && type != HP_S_COALESCED &&
        type != HP_S_GB_ZEROFILL)
        return hp_obj_refuse(&rd->err, "section '%s': section type 0x%x (stubs, indirect "
                                       "pointers, ...) is not supported", sec->name, type);
    return HP_OK;
}

static hp_status hp_macho_classify(hp_macho_rd *rd, size_t i)
{
    hp_obj_sec *sec = &rd->o->secs[i];
    uint32_t f = rd->sect[i].flags;
    if (hp_macho_dropped(sec, f))
        return HP_OK;
    HP_CHECK(hp_macho_refused(rd, sec, (uint8_t)f));
    HP_CHECK(hp_obj_check_limits(&rd->err, sec));
    if (f & (HP_S_ATTR_PURE_INSTRUCTIONS | HP_S_ATTR_SOME_INSTRUCTIONS))
        sec->region = sec->nobits ? HP_OBJ_DROP : HP_REGION_TEXT;
    else if (sec->nobits || !hp_macho_is(sec, "__TEXT", NULL))
        sec->region = HP_REGION_DATA;
    else
        sec->region = HP_REGION_RODATA;
    if (sec->region == HP_OBJ_DROP)
        return hp_obj_bad(&rd->err, "section '%s': zerofill code", sec->name);
    return HP_OK;
}

static hp_status hp_macho_sections(hp_macho_rd *rd)
{
    hp_obj *o = rd->o;
    HP_CHECK(hp_macho_commands(rd, false));
    o->nsecs = (size_t)rd->nsects + 1;
    o->secs = hp_calloc(o->nsecs, sizeof *o->secs);
    rd->sect = hp_calloc(o->nsecs, sizeof *rd->sect);
    rd->strs_cap = (size_t)rd->nsects * 34 + 1;
    o->strs = hp_malloc(rd->strs_cap);
    if (!o->secs || !rd->sect || !o->strs)
        return HP_ERR_NOMEM;
    o->secs[0] = (hp_obj_sec){.name = "", .align = 1, .region = HP_OBJ_DROP};
    HP_CHECK(hp_macho_commands(rd, true));
    for (size_t i = 1; i < o->nsecs; i++)
        HP_CHECK(hp_macho_read_sect(rd, i));
    for (size_t i = 1; i < o->nsecs; i++) {
        hp_status st = hp_macho_classify(rd, i);
        if (hp_obj_fatal(st))
            return st;
    }
    return HP_OK;
}

/* ---- symbols -------------------------------------------------------- */

static hp_status hp_macho_in_sect(hp_macho_rd *rd, hp_obj_sym *s, uint8_t nsect,
                                  uint64_t value)
{
    hp_obj *o = rd->o;
    if (nsect == 0 || nsect > rd->nsects)
        return hp_obj_bad(&rd->err, "symbol '%s': section %u out of range", s->name, nsect);
    const hp_macho_obj_sect *ms = &rd->sect[nsect];
    if (value < ms->addr || value - ms->addr > o->secs[nsect].size)
        return hp_obj_bad(&rd->err, "symbol '%s': address 0x%llx outside its section '%s'",
                          s->name, (unsigned long long)value, o->secs[nsect].name);
    s->shndx = nsect;
    s->value = value - ms->addr;
    if (hp_obj_kept(&o->secs[nsect]))
        s->defined = true;
    return HP_OK;
}

static hp_status hp_macho_symbol(hp_macho_rd *rd, uint32_t i)
{
    hp_obj_sym *s = &rd->o->syms[i + 1];
    hp_macho_nlist n;
    hp_macho_nlist_get(&rd->tab, i, &n);
    uint8_t type = n.type, nsect = n.sect;
    uint16_t desc = n.desc;
    uint64_t value = n.value;
    *s = (hp_obj_sym){.name = "", .got = HP_OBJ_NO_GOT, .bind = STB_LOCAL};
    size_t len;
    const char *name = hp_macho_nlist_name(&rd->tab, n.strx, &len, NULL);
    if (!name)
        return hp_obj_bad(&rd->err, "symbol %u: name out of bounds", i);
    s->name = name;
    if (type & HP_N_STAB)
        return HP_OK; /* debug entries: never defined, never named by relocations */
    bool ext = type & HP_N_EXT;
    s->bind = !ext ? STB_LOCAL : (desc & (HP_N_WEAK_DEF | HP_N_WEAK_REF)) ? STB_WEAK : STB_GLOBAL;
    rd->real[i + 1] = true;
    switch (type & HP_N_TYPE) {
    case HP_N_UNDF:
        if (ext && value)
            return hp_obj_refuse(&rd->err, "symbol '%s' is a COMMON symbol; compile with "
                                           "-fno-common", s->name);
        return HP_OK;
    case HP_N_ABS:
        s->shndx = SHN_ABS;
        s->value = value;
        s->defined = s->absolute = true;
        return HP_OK;
    case HP_N_SECT: return hp_macho_in_sect(rd, s, nsect, value);
    case HP_N_INDR:
    case HP_N_PBUD:
        return hp_obj_refuse(&rd->err, "symbol '%s': indirect and prebound symbols are not "
                                       "supported", s->name);
    default: return hp_obj_bad(&rd->err, "symbol '%s': bad type 0x%x", s->name, type);
    }
}

static hp_status hp_macho_symbols(hp_macho_rd *rd)
{
    hp_obj *o = rd->o;
    o->nsyms = 1 + (size_t)rd->tab.nsyms + rd->nsects;
    o->syms = hp_calloc(o->nsyms, sizeof *o->syms);
    rd->real = hp_calloc(o->nsyms, sizeof *rd->real);
    if (!o->syms || !rd->real)
        return HP_ERR_NOMEM;
    o->syms[0] = (hp_obj_sym){.name = "", .got = HP_OBJ_NO_GOT, .defined = true, .absolute = true};
    for (uint32_t i = 0; i < rd->tab.nsyms; i++) {
        hp_status st = hp_macho_symbol(rd, i);
        if (hp_obj_fatal(st))
            return st;
    }
    for (uint32_t k = 1; k <= rd->nsects; k++) { /* section symbols */
        hp_obj_sym *s = &o->syms[rd->tab.nsyms + k];
        *s = (hp_obj_sym){.name = o->secs[k].name, .got = HP_OBJ_NO_GOT, .shndx = k,
                          .bind = STB_LOCAL, .type = STT_SECTION,
                          .defined = hp_obj_kept(&o->secs[k])};
        rd->real[rd->tab.nsyms + k] = true;
    }
    for (size_t i = 1; i < o->nsyms; i++)
        o->syms[i].sized = o->syms[i].defined;
    return hp_obj_infer_sizes(o);
}

/* ---- relocations ---------------------------------------------------- */

void hp_macho_ri_read(const uint8_t *p, hp_macho_ri *r)
{
    uint32_t w = hp_rd32(p + 4);
    *r = (hp_macho_ri){hp_rd32(p), w & 0xffffff, (w >> 24) & 1, (w >> 25) & 3, (w >> 27) & 1,
                       (uint8_t)(w >> 28)};
}

static const char *hp_macho_rname(uint8_t type)
{
    return type < sizeof hp_macho_rel_names / sizeof hp_macho_rel_names[0]
               ? hp_macho_rel_names[type] : "?";
}

hp_status hp_macho_target(hp_macho_rd *rd, const hp_obj_sec *sec, const hp_macho_ri *r,
                          hp_macho_tgt *t)
{
    hp_obj *o = rd->o;
    unsigned long long off = (unsigned long long)r->off;
    if (!r->ext) {
        if (r->symnum == 0 || r->symnum > rd->nsects)
            return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: section ordinal %u out of "
                                        "range", sec->name, off, r->symnum);
        *t = (hp_macho_tgt){rd->tab.nsyms + r->symnum, rd->sect[r->symnum].addr};
    } else {
        if (r->symnum >= rd->tab.nsyms || !rd->real[r->symnum + 1])
            return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: symbol index %u out of range "
                                        "or a debug entry", sec->name, off, r->symnum);
        *t = (hp_macho_tgt){r->symnum + 1, 0};
    }
    const hp_obj_sym *s = &o->syms[t->sym];
    if (!s->defined && s->shndx != SHN_UNDEF)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation against '%s' in "
                                       "section '%s', which is not loaded", sec->name, off,
                             s->name, o->secs[s->shndx].name);
    return HP_OK;
}

/* The bytes' implicit addend (4 or 8 bytes, sign-extended). */
int64_t hp_macho_implicit(const hp_obj_sec *sec, const hp_macho_ri *r)
{
    const uint8_t *p = sec->data + r->off;
    return r->len == 3 ? (int64_t)hp_rd64(p) : (int64_t)(int32_t)hp_rd32(p);
}

hp_status hp_macho_push(hp_macho_rd *rd, hp_obj_rela *rel)
{
    hp_obj *o = rd->o;
    o->syms[rel->sym].used = true;
    if (hp_obj_rel_needs_got(o->machine, rel->type))
        o->needs_got = true;
    /* A PIC output rebases absolute pointers: the section must be writable. */
    if (rel->type == hp_obj_rel_abs64(o->machine) && o->secs[rel->sec].region == HP_REGION_RODATA)
        o->secs[rel->sec].region = HP_REGION_DATA;
    HP_CHECK(HP_GROW(o->relas, o->relas_cap, o->nrelas + 1));
    o->relas[o->nrelas++] = *rel;
    return HP_OK;
}

/* SUBTRACTOR r + UNSIGNED u (same field): M + A - T with T in the patched
 * section becomes PC-relative (see the top). Returns via *rel. */
hp_status hp_macho_pair(hp_macho_rd *rd, uint32_t si, const hp_macho_ri *r, const hp_macho_ri *u,
                        hp_obj_rela *rel)
{
    hp_obj *o = rd->o;
    const hp_obj_sec *sec = &o->secs[si];
    unsigned long long off = (unsigned long long)r->off;
    bool a64 = o->machine == HP_MACH_ARM64;
    const char *arch = a64 ? "ARM64" : "X86_64";
    /* UNSIGNED is 0 and SUBTRACTOR's meaning the same on both */
    if (!u || u->type != HP_X86_64_RELOC_UNSIGNED || u->off != r->off || u->len != r->len ||
        u->pcrel)
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: %s_RELOC_SUBTRACTOR without "
                                    "its UNSIGNED pair", sec->name, off, arch);
    hp_macho_tgt t, m;
    HP_CHECK(hp_macho_target(rd, sec, r, &t));
    HP_CHECK(hp_macho_target(rd, sec, u, &m));
    const hp_obj_sym *ts = &o->syms[t.sym];
    if (!ts->defined || ts->absolute || ts->shndx != si)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: %s_RELOC_SUBTRACTOR "
                                       "whose subtrahend '%s' is not in this section is not "
                                       "supported", sec->name, off, arch, ts->name);
    /* T = P - off + T's section offset; a section-relative T is already
     * folded into the bytes as minus its object address. */
    uint64_t a = (uint64_t)hp_macho_implicit(sec, r) + r->off - m.base;
    a = r->ext ? a - ts->value : a + rd->sect[si].addr;
    uint32_t type = a64 ? (r->len == 3 ? R_AARCH64_PREL64 : R_AARCH64_PREL32)
                        : (r->len == 3 ? R_X86_64_PC64 : R_X86_64_PC32);
    *rel = (hp_obj_rela){r->off, (int64_t)a, si, m.sym, type};
    return HP_OK;
}

/* Everything but SUBTRACTOR pairs. */
static hp_status hp_macho_single(hp_macho_rd *rd, uint32_t si, const hp_macho_ri *r,
                                 hp_obj_rela *rel)
{
    hp_obj *o = rd->o;
    const hp_obj_sec *sec = &o->secs[si];
    unsigned long long off = (unsigned long long)r->off;
    hp_macho_tgt t;
    HP_CHECK(hp_macho_target(rd, sec, r, &t));
    uint64_t b = (uint64_t)hp_macho_implicit(sec, r);
    *rel = (hp_obj_rela){.off = r->off, .sec = si, .sym = t.sym};
    if (r->type == HP_X86_64_RELOC_UNSIGNED) {
        rel->type = r->len == 3 ? R_X86_64_64 : R_X86_64_32;
        rel->addend = (int64_t)(b - t.base);
        return HP_OK;
    }
    /* pc-relative: an extern target's bytes are the addend from the field's
     * end; a section's bytes put the target at P + 4 + bytes (object
     * addresses), i.e. section offset P_obj + bytes + 4 - base. */
    rel->addend = (int64_t)(r->ext ? b - 4 : rd->sect[si].addr + r->off + b - t.base);
    switch (r->type) {
    case HP_X86_64_RELOC_BRANCH: rel->type = R_X86_64_PLT32; return HP_OK;
    case HP_X86_64_RELOC_SIGNED:
    case HP_X86_64_RELOC_SIGNED_1:
    case HP_X86_64_RELOC_SIGNED_2:
    case HP_X86_64_RELOC_SIGNED_4: rel->type = R_X86_64_PC32; return HP_OK;
    }
    if (!r->ext)
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: X86_64_RELOC_%s against a "
                                    "section", sec->name, off, hp_macho_rname(r->type));
    rel->type = r->type == HP_X86_64_RELOC_GOT_LOAD ? R_X86_64_REX_GOTPCRELX : R_X86_64_GOTPCREL;
    return HP_OK;
}

/* Shape checks: known type, the length and pc-relativity it implies, and a
 * field inside the section. */
static hp_status hp_macho_shape(hp_macho_rd *rd, uint32_t si, const hp_macho_ri *r)
{
    const hp_obj_sec *sec = &rd->o->secs[si];
    unsigned long long off = (unsigned long long)r->off;
    if (r->type == HP_X86_64_RELOC_TLV)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation X86_64_RELOC_TLV "
                                       "(thread-local storage) is not supported", sec->name, off);
    if (r->type > HP_X86_64_RELOC_TLV)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: unknown relocation type %u",
                             sec->name, off, r->type);
    bool absolute = r->type == HP_X86_64_RELOC_UNSIGNED || r->type == HP_X86_64_RELOC_SUBTRACTOR;
    bool ok = absolute ? !r->pcrel && (r->len == 2 || r->len == 3) : r->pcrel && r->len == 2;
    if (!ok)
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: X86_64_RELOC_%s with length %u%s",
                          sec->name, off, hp_macho_rname(r->type), 1u << r->len,
                          r->pcrel ? ", pc-relative" : "");
    if (sec->nobits || !hp_in_bounds(r->off, 1u << r->len, sec->size))
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: relocation outside the section",
                          sec->name, off);
    return HP_OK;
}

/* Relocation k of section si (k + 1 too for a pair); *used says how many. */
static hp_status hp_macho_rel_at(hp_macho_rd *rd, uint32_t si, uint32_t k, uint32_t *used)
{
    if (rd->o->machine == HP_MACH_ARM64)
        return hp_macho_a64_rel_at(rd, si, k, used);
    const hp_macho_obj_sect *ms = &rd->sect[si];
    const uint8_t *p = rd->o->data + ms->reloff + (uint64_t)k * HP_MACHO_RELINFO;
    hp_macho_ri r, u;
    *used = 1;
    if (hp_rd32(p) & 0x80000000u)
        return hp_obj_bad(&rd->err, "section '%s': scattered relocation on x86-64",
                          rd->o->secs[si].name);
    hp_macho_ri_read(p, &r);
    HP_CHECK(hp_macho_shape(rd, si, &r));
    hp_obj_rela rel;
    if (r.type != HP_X86_64_RELOC_SUBTRACTOR) {
        HP_CHECK(hp_macho_single(rd, si, &r, &rel));
        return hp_macho_push(rd, &rel);
    }
    bool more = k + 1 < ms->nreloc && !(hp_rd32(p + HP_MACHO_RELINFO) & 0x80000000u);
    if (more)
        hp_macho_ri_read(p + HP_MACHO_RELINFO, &u);
    *used = more ? 2 : 1;
    HP_CHECK(hp_macho_pair(rd, si, &r, more ? &u : NULL, &rel));
    return hp_macho_push(rd, &rel);
}

static hp_status hp_macho_relsec(hp_macho_rd *rd, uint32_t si)
{
    const hp_macho_obj_sect *ms = &rd->sect[si];
    if (!hp_obj_kept(&rd->o->secs[si]) || !ms->nreloc)
        return HP_OK;
    if (!hp_in_bounds(ms->reloff, (uint64_t)ms->nreloc * HP_MACHO_RELINFO, rd->o->size))
        return hp_obj_bad(&rd->err, "section '%s': relocations out of bounds",
                          rd->o->secs[si].name);
    for (uint32_t k = 0, used = 1; k < ms->nreloc; k += used) {
        hp_status st = hp_macho_rel_at(rd, si, k, &used);
        if (hp_obj_fatal(st))
            return st;
    }
    return HP_OK;
}

static hp_status hp_macho_relocs(hp_macho_rd *rd)
{
    for (uint32_t i = 1; i <= rd->nsects; i++)
        HP_CHECK(hp_macho_relsec(rd, i));
    return HP_OK;
}

/* ---- entry ---------------------------------------------------------- */

static hp_status hp_macho_passes(hp_macho_rd *rd)
{
    HP_CHECK(hp_macho_header(rd));
    HP_CHECK(hp_macho_sections(rd));
    HP_CHECK(hp_macho_symbols(rd));
    return hp_macho_relocs(rd);
}

hp_status hp_macho_obj_read(hp_obj *o, const hp_map *comdats, hp_diags *d)
{
    (void)comdats; /* Mach-O has no COMDAT groups */
    hp_macho_rd rd = {.o = o, .err = {.d = d, .o = o}};
    o->c_underscore = hp_format_macho.c_underscore;
    hp_status st = hp_macho_passes(&rd);
    hp_free(rd.sect);
    hp_free(rd.real);
    return hp_obj_result(&rd.err, st);
}
