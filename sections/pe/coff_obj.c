/* Reading COFF x86-64 relocatable objects (x86_64-w64-mingw32-gcc -c,
 * clang --target=x86_64-w64-windows-gnu -c) into the object model's ELF
 * terms (object.h), for the object linker (relocs/objlink). The symbol and
 * string tables are read by coff_symtab.c, as for PE images.
 *
 * Objects are untrusted: headers, tables, names and relocations are
 * bounds-checked here once, so the linker can trust the model. COFF quirks
 * and how they map:
 *  - Indices. Model section i is COFF section number i (1-based; model
 *    section 0 is an empty placeholder, like ELF's null section). Model
 *    symbol i + 1 is COFF symbol record i; auxiliary records take a slot
 *    each (nameless, never defined) so relocations index the table as is.
 *    Model symbol 0 is the null symbol.
 *  - Names of 8 bytes or fewer live in the record, unterminated, so they are
 *    copied into o->strs; longer ones are in the string table ("/123" for a
 *    section). mingw-w64 x64 C names carry no leading underscore.
 *  - Sections go by their flags: code -> text, writable or uninitialized ->
 *    data (the latter zero-filled), other initialized data -> rodata; in
 *    GNU and LLVM output these are .text, .data and .bss, .rdata, each with
 *    its $-suffixed variants (.text$foo, .rdata$.refptr.x). Alignment
 *    is the IMAGE_SCN_ALIGN field (16 when absent, as link.exe and lld do).
 *    Dropped: .pdata/.xdata (the mock gets no unwind info, as ELF's
 *    .eh_frame is dropped: the image's exception directory never lists the
 *    new code, so unwinding treats it as a leaf), .debug*, discardable and
 *    LNK_REMOVE sections, the CFG tables (.gfids/.giats/...), and
 *    .rdata$zzz, where GNU as puts the `.ident` compiler string (the PE
 *    twin of ELF's unallocated .comment). .drectve carries linker
 *    directives (-export:, -aligncomm:, /DEFAULTLIB:); none of them matters
 *    to a mock (nothing is exported, COMMON is refused, the binary provides
 *    the libraries), so they are ignored with a warning. Refused by name:
 *    constructors (.ctors, .dtors, .CRT$X*: nothing would run them), native
 *    TLS (.tls*) and import tables (.idata*).
 *  - COMDAT (IMAGE_SCN_LNK_COMDAT; mingw's .refptr.* cells, -ffunction-
 *    sections in C++): the signature is the section's COMDAT symbol (the
 *    first symbol of the section after its definition record); the first
 *    object providing it wins, whatever the selection, and ASSOCIATIVE
 *    sections follow their leader.
 *  - Symbols: EXTERNAL (global; section 0 is undefined, or COMMON when the
 *    value is non-zero, refused), STATIC and LABEL (local), WEAK_EXTERNAL
 *    (the weak symbol takes its default, the tag symbol, when that is
 *    defined here; otherwise it is an undefined weak reference). Type 0x20
 *    marks functions. Sizes are not recorded in COFF: a symbol extends to the
 *    next one of its section (hp_obj_infer_sizes).
 *  - Relocations are REL: the addend is in the bytes being patched, and
 *    every IMAGE_REL_AMD64_* type becomes an ELF one (the emitter stays
 *    ELF-only): ADDR64 -> R_X86_64_64, ADDR32 -> R_X86_64_32, REL32_N ->
 *    R_X86_64_PC32 with addend (bytes - 4 - N): the field is relative to its
 *    end plus N bytes of immediate. A REL32 after an e8/e9 opcode byte
 *    becomes R_X86_64_PLT32, so `if (weak_fn) weak_fn();` links when weak_fn
 *    is missing, as in ELF. ADDR32NB (an RVA) is refused: the model has no
 *    image base, and only unwind/SEH tables, dropped here, use it. SECTION,
 *    SECREL, SECREL7, TOKEN, SREL32, PAIR and SSPAN32 are refused by name.
 */
#include "../object.h"
#include "pe_defs.h"
#include "../format.h"

#include <stdlib.h>
#include <string.h>

/* ---- the reader ----------------------------------------------------- */

typedef struct hp_coff_shdr {
    uint32_t va, size, raw_off, rel_off, flags;
    uint16_t nrel;
    uint32_t def;  /* native index of its section-definition symbol + 1, or 0 */
    uint32_t key;  /* native index of its COMDAT symbol + 1, or 0 */
    uint8_t select;
    uint16_t assoc;
} hp_coff_shdr;

typedef struct hp_coff_rec {
    const char *name;
    uint32_t value;
    uint16_t secnum, type;
    uint8_t cls, naux;
    bool aux;    /* an auxiliary record, not a symbol */
    bool secdef; /* STATIC section-definition record */
} hp_coff_rec;

typedef struct hp_coff_rd {
    hp_obj *o;
    uint32_t nsecs; /* native count */
    uint64_t shoff;
    hp_coff_symtab tab; /* nsyms: the native count */
    hp_coff_shdr *sh; /* [nsecs + 1] */
    hp_coff_rec *sy;  /* [nsyms] */
    size_t strs_used, strs_cap;
    hp_obj_errs err;
} hp_coff_rd;



/* A NUL-terminated copy of n <= 8 bytes in o->strs (sized up front). */
static const char *hp_coff_short(hp_coff_rd *rd, const uint8_t *p, size_t n)
{
    char *dst = rd->o->strs + rd->strs_used;
    size_t len = strnlen((const char *)p, n);
    memcpy(dst, p, len);
    dst[len] = 0;
    rd->strs_used += len + 1;
    return dst;
}

bool hp_coff_obj_probe(const uint8_t *data, size_t size)
{
    static const uint16_t machines[] = {HP_COFF_MACHINE_AMD64, HP_COFF_MACHINE_I386,
                                        HP_COFF_MACHINE_ARM64, HP_COFF_MACHINE_ARMNT,
                                        HP_COFF_MACHINE_ARM64EC, HP_COFF_MACHINE_IA64};
    if (size < 4)
        return false;
    uint16_t m = hp_rd16(data);
    if (m == 0x5a4d /* "MZ" */ || (m == 0 && hp_rd16(data + 2) == 0xffff) /* bigobj */)
        return true;
    for (size_t i = 0; i < sizeof machines / sizeof machines[0]; i++)
        if (m == machines[i])
            return true;
    return false;
}

/* ---- headers -------------------------------------------------------- */

static const char *hp_coff_machine(uint16_t m)
{
    switch (m) {
    case HP_COFF_MACHINE_I386: return " (i386: build the mock with x86_64-w64-mingw32-gcc)";
    case HP_COFF_MACHINE_ARM64: return " (arm64)";
    case HP_COFF_MACHINE_ARMNT: return " (armnt)";
    case HP_COFF_MACHINE_ARM64EC: return " (arm64ec)";
    default: return "";
    }
}

static hp_status hp_coff_header(hp_coff_rd *rd)
{
    const uint8_t *p = rd->o->data;
    size_t size = rd->o->size;
    if (hp_rd16(p) == 0x5a4d)
        return hp_obj_refuse(&rd->err, "a PE image (EXE or DLL), not an object file; compile the "
                                       "mock with -c");
    if (hp_rd16(p) == 0 && hp_rd16(p + 2) == 0xffff)
        return hp_obj_refuse(&rd->err, "big COFF objects (-Wa,-mbig-obj) are not supported");
    if (size < HP_COFF_HDR_SIZE)
        return hp_obj_bad(&rd->err, "truncated COFF header");
    if (hp_rd16(p) != HP_COFF_MACHINE_AMD64)
        return hp_obj_refuse(&rd->err, "COFF machine 0x%x is not x86-64%s", hp_rd16(p),
                             hp_coff_machine(hp_rd16(p)));
    if (hp_rd16(p + 16) != 0)
        return hp_obj_refuse(&rd->err, "not a relocatable COFF object (it has an optional "
                                       "header); compile with -c");
    rd->nsecs = hp_rd16(p + 2);
    rd->shoff = HP_COFF_HDR_SIZE;
    if (!hp_in_bounds(rd->shoff, (uint64_t)rd->nsecs * HP_COFF_SHDR_SIZE, size))
        return hp_obj_bad(&rd->err, "truncated or malformed: section table out of bounds");
    switch (hp_coff_symtab_open(p, size, p, &rd->tab)) {
    case HP_COFF_SYMTAB_NONE:
        rd->tab = (hp_coff_symtab){0};
        return HP_OK;
    case HP_COFF_SYMTAB_OUTSIDE:
        return hp_obj_bad(&rd->err, "truncated or malformed: symbol table out of bounds");
    case HP_COFF_STRTAB_BAD:
        return hp_obj_bad(&rd->err, "truncated or malformed: string table out of bounds");
    default: return HP_OK;
    }
}

/* ---- sections ------------------------------------------------------- */

static bool hp_coff_prefix(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

/* ".text" matches ".text", ".text$mn" and ".text.unlikely", not ".textx". */
static bool hp_coff_group(const char *s, const char *p)
{
    size_t n = strlen(p);
    return !strncmp(s, p, n) && (s[n] == 0 || s[n] == '$' || s[n] == '.');
}

static hp_status hp_coff_secname(hp_coff_rd *rd, const uint8_t *h, hp_obj_sec *sec, size_t i)
{
    if (h[0] != '/') {
        sec->name = hp_coff_short(rd, h, 8);
        return HP_OK;
    }
    uint32_t off;
    size_t len;
    sec->name = hp_coff_long_name(h, &off) ? hp_coff_strtab_at(&rd->tab, off, &len) : NULL;
    return sec->name ? HP_OK : hp_obj_bad(&rd->err, "section %zu: name out of bounds", i);
}

static hp_status hp_coff_read_shdrs(hp_coff_rd *rd)
{
    hp_obj *o = rd->o;
    o->nsecs = (size_t)rd->nsecs + 1;
    o->secs = hp_calloc(o->nsecs, sizeof *o->secs);
    rd->sh = hp_calloc(o->nsecs, sizeof *rd->sh);
    if (!o->secs || !rd->sh)
        return HP_ERR_NOMEM;
    o->secs[0] = (hp_obj_sec){.name = "", .align = 1, .region = HP_OBJ_DROP};
    for (size_t i = 1; i < o->nsecs; i++) {
        const uint8_t *h = o->data + rd->shoff + (i - 1) * HP_COFF_SHDR_SIZE;
        hp_coff_shdr *s = &rd->sh[i];
        hp_obj_sec *sec = &o->secs[i];
        *s = (hp_coff_shdr){.va = hp_rd32(h + 12), .size = hp_rd32(h + 16),
                            .raw_off = hp_rd32(h + 20), .rel_off = hp_rd32(h + 24),
                            .nrel = hp_rd16(h + 32), .flags = hp_rd32(h + 36)};
        sec->region = HP_OBJ_DROP;
        HP_CHECK(hp_coff_secname(rd, h, sec, i));
        sec->nobits = (s->flags & HP_PE_SCN_CNT_UDATA) &&
                      !(s->flags & (HP_PE_SCN_CNT_CODE | HP_PE_SCN_CNT_IDATA));
        sec->size = s->size;
        if (!sec->nobits && s->size && !hp_in_bounds(s->raw_off, s->size, o->size))
            return hp_obj_bad(&rd->err, "section '%s': contents out of bounds", sec->name);
        sec->data = sec->nobits || !s->size ? NULL : o->data + s->raw_off;
        unsigned a = (s->flags >> 20) & 0xf;
        if (a == 15)
            return hp_obj_bad(&rd->err, "section '%s': invalid alignment field", sec->name);
        sec->align = a ? 1ull << (a - 1) : 16;
    }
    return HP_OK;
}

/* Linker directives: none needs honouring (see the top); say what is
 * ignored, printable characters only. */
static void hp_coff_drectve(hp_coff_rd *rd, const hp_obj_sec *sec)
{
    char text[121];
    size_t n = 0;
    for (uint64_t k = 0; sec->data && k < sec->size && n < sizeof text - 1; k++) {
        uint8_t c = sec->data[k];
        if ((c == ' ' || c == 0 || c == '\t') && (!n || text[n - 1] == ' '))
            continue;
        text[n++] = c == 0 || c == '\t' ? ' ' : c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    while (n && text[n - 1] == ' ')
        n--;
    text[n] = 0;
    if (n)
        hp_obj_warn(&rd->err, "section '%s': linker directives ignored: %s%s", sec->name, text,
                    n == sizeof text - 1 ? "..." : "");
}

static bool hp_coff_dropped(const char *name, uint32_t flags)
{
    static const char *const drop[] = {".pdata", ".xdata", ".debug", ".eh_frame",
                                       ".gcc_except_table", ".gfids", ".giats", ".gljmp",
                                       ".gehcont", ".sxdata"};
    if (flags & (HP_PE_SCN_LNK_REMOVE | HP_PE_SCN_LNK_INFO | HP_PE_SCN_DISCARDABLE) ||
        !strcmp(name, ".rdata$zzz"))
        return true;
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        if (hp_coff_group(name, drop[i]))
            return true;
    return false;
}

static hp_status hp_coff_classify(hp_coff_rd *rd, size_t i)
{
    hp_obj_sec *sec = &rd->o->secs[i];
    uint32_t f = rd->sh[i].flags;
    if (!strcmp(sec->name, ".drectve"))
        hp_coff_drectve(rd, sec);
    if (hp_coff_dropped(sec->name, f))
        return HP_OK;
    if (hp_coff_group(sec->name, ".ctors") || hp_coff_group(sec->name, ".dtors") ||
        hp_coff_prefix(sec->name, ".CRT$X") || hp_coff_group(sec->name, ".init_array") ||
        hp_coff_group(sec->name, ".fini_array"))
        return hp_obj_refuse(&rd->err, "section '%s': constructors and destructors are not "
                                       "supported (nothing would run them)", sec->name);
    if (hp_coff_group(sec->name, ".tls"))
        return hp_obj_refuse(&rd->err, "section '%s': thread-local storage is not supported",
                             sec->name);
    if (hp_coff_group(sec->name, ".idata"))
        return hp_obj_refuse(&rd->err, "section '%s': import tables are not supported (an import "
                                       "library member is not a mock)", sec->name);
    HP_CHECK(hp_obj_check_limits(&rd->err, sec));
    if (f & (HP_PE_SCN_CNT_CODE | HP_PE_SCN_EXECUTE))
        sec->region = HP_REGION_TEXT;
    else if (sec->nobits || (f & HP_PE_SCN_WRITE))
        sec->region = HP_REGION_DATA;
    else
        sec->region = HP_REGION_RODATA;
    if (sec->nobits && sec->region == HP_REGION_TEXT)
        return hp_obj_bad(&rd->err, "section '%s': uninitialized code", sec->name);
    return HP_OK;
}

static hp_status hp_coff_sections(hp_coff_rd *rd)
{
    for (size_t i = 1; i < rd->o->nsecs; i++) {
        hp_status st = hp_coff_classify(rd, i);
        if (hp_obj_fatal(st))
            return st;
    }
    return HP_OK;
}

/* ---- symbol records ------------------------------------------------- */

static hp_status hp_coff_record(hp_coff_rd *rd, uint32_t i)
{
    hp_coff_sym c;
    bool aux_fits = hp_coff_sym_get(&rd->tab, i, &c);
    hp_coff_rec *s = &rd->sy[i];
    s->name = c.short_name ? hp_coff_short(rd, (const uint8_t *)c.name, c.len) : c.name;
    if (!s->name)
        return hp_obj_bad(&rd->err, "symbol %u: name out of bounds", i);
    s->value = c.value;
    s->secnum = c.secnum;
    s->type = c.type;
    s->cls = c.cls;
    s->naux = c.naux;
    if (!aux_fits)
        return hp_obj_bad(&rd->err, "symbol '%s': auxiliary records run past the table", s->name);
    for (uint32_t k = 1; k <= s->naux; k++)
        rd->sy[i + k] = (hp_coff_rec){.name = "", .aux = true};
    return HP_OK;
}

/* A section definition (STATIC, the section's own name, an aux record):
 * its aux record holds the COMDAT selection and associated section. */
static hp_status hp_coff_secdef(hp_coff_rd *rd, uint32_t i)
{
    hp_coff_rec *s = &rd->sy[i];
    if (s->cls != HP_COFF_STATIC || !s->naux || s->value || !s->secnum ||
        s->secnum > rd->nsecs || strcmp(s->name, rd->o->secs[s->secnum].name))
        return HP_OK;
    hp_coff_shdr *sh = &rd->sh[s->secnum];
    s->secdef = true;
    if (sh->def)
        return HP_OK;
    const uint8_t *a = rd->tab.syms + (uint64_t)(i + 1) * HP_COFF_SYM_SIZE;
    sh->def = i + 1;
    sh->assoc = hp_rd16(a + 12);
    sh->select = a[14];
    return HP_OK;
}

static hp_status hp_coff_records(hp_coff_rd *rd)
{
    rd->sy = hp_calloc(rd->tab.nsyms ? rd->tab.nsyms : 1, sizeof *rd->sy);
    if (!rd->sy)
        return HP_ERR_NOMEM;
    for (uint32_t i = 0; i < rd->tab.nsyms; i += 1u + rd->sy[i].naux) {
        HP_CHECK(hp_coff_record(rd, i));
        HP_CHECK(hp_coff_secdef(rd, i));
    }
    /* The COMDAT symbol: the first symbol of the section after its definition. */
    for (uint32_t i = 0; i < rd->tab.nsyms; i++) {
        const hp_coff_rec *s = &rd->sy[i];
        if (s->aux || s->secdef || !s->secnum || s->secnum > rd->nsecs)
            continue;
        hp_coff_shdr *sh = &rd->sh[s->secnum];
        if (sh->def && sh->def <= i && !sh->key)
            sh->key = i + 1;
    }
    return HP_OK;
}

/* ---- COMDAT --------------------------------------------------------- */

static hp_status hp_coff_comdats(hp_coff_rd *rd, const hp_map *comdats)
{
    hp_obj *o = rd->o;
    for (size_t i = 1; i < o->nsecs; i++) {
        const hp_coff_shdr *sh = &rd->sh[i];
        if (!(sh->flags & HP_PE_SCN_LNK_COMDAT) || sh->select == HP_COFF_ASSOCIATIVE)
            continue;
        if (!sh->key)
            return hp_obj_bad(&rd->err, "section '%s': COMDAT section without its symbol",
                              o->secs[i].name);
        const char *sig = rd->sy[sh->key - 1].name;
        if (hp_map_find(comdats, sig)) {
            o->secs[i].discarded = true;
            continue;
        }
        HP_CHECK(HP_GROW(o->comdats, o->comdats_cap, o->ncomdats + 1));
        o->comdats[o->ncomdats++] = sig;
    }
    /* Associative sections follow their leader; chains are short. */
    for (int pass = 0; pass < 8; pass++)
        for (size_t i = 1; i < o->nsecs; i++) {
            const hp_coff_shdr *sh = &rd->sh[i];
            if ((sh->flags & HP_PE_SCN_LNK_COMDAT) && sh->select == HP_COFF_ASSOCIATIVE &&
                sh->assoc && sh->assoc < o->nsecs && o->secs[sh->assoc].discarded)
                o->secs[i].discarded = true;
        }
    return HP_OK;
}

/* ---- symbols -------------------------------------------------------- */

static hp_status hp_coff_place_sym(hp_coff_rd *rd, const hp_coff_rec *c, hp_obj_sym *s)
{
    hp_obj *o = rd->o;
    if (c->secnum == HP_COFF_SYM_ABS) {
        s->shndx = SHN_ABS;
        s->defined = s->absolute = true;
    } else if (c->secnum == 0) {
        if (c->cls == HP_COFF_EXTERNAL && c->value)
            return hp_obj_refuse(&rd->err, "symbol '%s' is a COMMON symbol; compile with "
                                           "-fno-common", c->name);
    } else if (c->secnum > rd->nsecs) {
        return hp_obj_bad(&rd->err, "symbol '%s': section number %u out of range", c->name,
                          c->secnum);
    } else {
        const hp_obj_sec *sec = &o->secs[c->secnum];
        /* The linker trusts a symbol to lie in its section (its end may be
         * the section's end: a label after the last byte). */
        if (c->value > sec->size)
            return hp_obj_bad(&rd->err, "symbol '%s': value 0x%x outside its section '%s' (0x%llx "
                                        "bytes)", c->name, c->value, sec->name,
                              (unsigned long long)sec->size);
        s->shndx = c->secnum;
        if (hp_obj_kept(&o->secs[s->shndx])) {
            s->defined = true;
        } else if (o->secs[s->shndx].discarded && s->bind != STB_LOCAL) {
            s->shndx = SHN_UNDEF; /* the kept COMDAT copy defines it */
            s->dup = true;
        }
    }
    return HP_OK;
}

static hp_status hp_coff_symbol(hp_coff_rd *rd, uint32_t i)
{
    const hp_coff_rec *c = &rd->sy[i];
    hp_obj_sym *s = &rd->o->syms[i + 1];
    *s = (hp_obj_sym){.name = c->name, .got = HP_OBJ_NO_GOT, .bind = STB_LOCAL};
    if (c->aux || c->secnum == HP_COFF_SYM_DEBUG)
        return HP_OK;
    switch (c->cls) {
    case HP_COFF_EXTERNAL: s->bind = STB_GLOBAL; break;
    case HP_COFF_STATIC:
    case HP_COFF_LABEL: break;
    case HP_COFF_WEAK_EXTERNAL: return HP_OK; /* hp_coff_weak */
    default: return HP_OK;                    /* FILE, FUNCTION, ...: never defined */
    }
    s->type = c->secdef ? STT_SECTION : hp_coff_type_is_func(c->type) ? STT_FUNC : STT_NOTYPE;
    s->value = c->value;
    return hp_coff_place_sym(rd, c, s);
}

/* A weak external takes its default (the tag symbol) when that is defined
 * here. GNU names the default ".weak.<name>.<first global>", a global that
 * two mocks can share: it is made a local non-function (no duplicate
 * definition, no symbol of that name in the output). */
static hp_status hp_coff_weak(hp_coff_rd *rd, uint32_t i)
{
    const hp_coff_rec *c = &rd->sy[i];
    hp_obj_sym *s = &rd->o->syms[i + 1];
    if (c->cls != HP_COFF_WEAK_EXTERNAL || c->aux)
        return HP_OK;
    s->bind = STB_WEAK;
    s->type = hp_coff_type_is_func(c->type) ? STT_FUNC : STT_NOTYPE;
    if (!c->naux)
        return hp_obj_bad(&rd->err, "weak external '%s' without its auxiliary record", c->name);
    uint32_t tag = hp_rd32(rd->tab.syms + (uint64_t)(i + 1) * HP_COFF_SYM_SIZE);
    if (tag >= rd->tab.nsyms || rd->sy[tag].aux)
        return hp_obj_bad(&rd->err, "weak external '%s': default symbol %u out of range", c->name,
                          tag);
    hp_obj_sym *t = &rd->o->syms[tag + 1];
    if (!strncmp(t->name, ".weak.", 6) && t->type != STT_SECTION) {
        t->bind = STB_LOCAL;
        t->type = STT_OBJECT;
    }
    if (rd->sy[tag].cls == HP_COFF_WEAK_EXTERNAL || !t->defined || (t->absolute && !t->value))
        return HP_OK; /* an undefined weak reference */
    s->shndx = t->shndx;
    s->value = t->value;
    s->defined = true;
    s->absolute = t->absolute;
    return HP_OK;
}

static hp_status hp_coff_symbols(hp_coff_rd *rd)
{
    hp_obj *o = rd->o;
    o->nsyms = (size_t)rd->tab.nsyms + 1;
    o->syms = hp_calloc(o->nsyms, sizeof *o->syms);
    if (!o->syms)
        return HP_ERR_NOMEM;
    o->syms[0] = (hp_obj_sym){.name = "", .got = HP_OBJ_NO_GOT, .defined = true, .absolute = true};
    for (uint32_t i = 0; i < rd->tab.nsyms; i++) {
        hp_status st = hp_coff_symbol(rd, i);
        if (hp_obj_fatal(st))
            return st;
    }
    for (uint32_t i = 0; i < rd->tab.nsyms; i++)
        HP_CHECK(hp_coff_weak(rd, i));
    for (size_t i = 1; i < o->nsyms; i++)
        o->syms[i].sized = o->syms[i].defined;
    return hp_obj_infer_sizes(o);
}

/* ---- relocations ---------------------------------------------------- */

static const char *const hp_coff_rel_names[] = {
    "ABSOLUTE", "ADDR64", "ADDR32", "ADDR32NB", "REL32", "REL32_1", "REL32_2", "REL32_3",
    "REL32_4", "REL32_5", "SECTION", "SECREL", "SECREL7", "TOKEN", "SREL32", "PAIR", "SSPAN32"};

/* The ELF type and addend of a COFF relocation whose field holds `imp`. */
static bool hp_coff_map(uint16_t type, const uint8_t *p, uint64_t off, uint32_t *elf,
                        int64_t *addend)
{
    switch (type) {
    case 1: *elf = R_X86_64_64; *addend = (int64_t)hp_rd64(p); return true;
    case 2: *elf = R_X86_64_32; *addend = hp_rd32(p); return true;
    case 4: case 5: case 6: case 7: case 8: case 9:
        *addend = (int64_t)(int32_t)hp_rd32(p) - 4 - (type - 4);
        /* A call or jmp rel32 (e8/e9 right before the field): PLT32, whose
         * only difference is linking a call to a missing weak function. */
        *elf = type == 4 && off >= 1 && (p[-1] == 0xe8 || p[-1] == 0xe9) ? R_X86_64_PLT32
                                                                        : R_X86_64_PC32;
        return true;
    default: return false;
    }
}

static hp_status hp_coff_rel_refuse(hp_coff_rd *rd, const hp_obj_sec *sec, uint64_t off,
                                    uint16_t type)
{
    const char *name = type < sizeof hp_coff_rel_names / sizeof hp_coff_rel_names[0]
                           ? hp_coff_rel_names[type] : NULL;
    if (type == 3)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation IMAGE_REL_AMD64_"
                                       "ADDR32NB (an image-relative address, as in unwind and SEH "
                                       "tables) is not supported in a mock", sec->name,
                             (unsigned long long)off);
    if (name)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation "
                                       "IMAGE_REL_AMD64_%s is not supported", sec->name,
                             (unsigned long long)off, name);
    return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: unknown relocation type 0x%x",
                         sec->name, (unsigned long long)off, type);
}

/* The symbol a relocation names must be one the model can resolve. */
static hp_status hp_coff_rel_sym(hp_coff_rd *rd, const hp_obj_sec *sec, uint64_t off,
                                 uint32_t idx)
{
    unsigned long long o = (unsigned long long)off;
    if (idx >= rd->tab.nsyms)
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: symbol index %u out of range",
                          sec->name, o, idx);
    const hp_coff_rec *c = &rd->sy[idx];
    const hp_obj_sym *s = &rd->o->syms[idx + 1];
    if (c->aux)
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: relocation names an auxiliary "
                                    "symbol record", sec->name, o);
    if (c->cls != HP_COFF_EXTERNAL && c->cls != HP_COFF_STATIC && c->cls != HP_COFF_LABEL &&
        c->cls != HP_COFF_WEAK_EXTERNAL)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation against '%s', whose "
                                       "storage class %u is not supported", sec->name, o, c->name,
                             c->cls);
    if (!s->defined && !s->dup && c->secnum && c->secnum <= rd->nsecs)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation against '%s' in "
                                       "section '%s', which is not loaded", sec->name, o, s->name,
                             rd->o->secs[c->secnum].name);
    if (!s->defined && !s->dup && c->secnum)
        return hp_obj_refuse(&rd->err, "section '%s' offset 0x%llx: relocation against debug "
                                       "symbol '%s'", sec->name, o, s->name);
    return HP_OK;
}

static hp_status hp_coff_rel_one(hp_coff_rd *rd, uint32_t si, const uint8_t *r)
{
    hp_obj *o = rd->o;
    hp_obj_sec *sec = &o->secs[si];
    uint32_t va = hp_rd32(r), idx = hp_rd32(r + 4);
    uint16_t type = hp_rd16(r + 8);
    if (type == 0) /* IMAGE_REL_AMD64_ABSOLUTE: nothing to do */
        return HP_OK;
    uint64_t off = (uint64_t)va - rd->sh[si].va;
    unsigned width = type == 1 ? 8 : 4;
    if (va < rd->sh[si].va || sec->nobits || !hp_in_bounds(off, width, sec->size))
        return hp_obj_bad(&rd->err, "section '%s' offset 0x%llx: relocation outside the section",
                          sec->name, (unsigned long long)off);
    hp_obj_rela rel = {.off = off, .sec = si, .sym = idx + 1};
    if (!hp_coff_map(type, sec->data + off, off, &rel.type, &rel.addend))
        return hp_coff_rel_refuse(rd, sec, off, type);
    HP_CHECK(hp_coff_rel_sym(rd, sec, off, idx));
    o->syms[rel.sym].used = true;
    /* A PIC output rebases absolute pointers: the section cannot stay
     * read-only (the loader writes it). */
    if (rel.type == R_X86_64_64 && sec->region == HP_REGION_RODATA)
        sec->region = HP_REGION_DATA;
    HP_CHECK(HP_GROW(o->relas, o->relas_cap, o->nrelas + 1));
    o->relas[o->nrelas++] = rel;
    return HP_OK;
}

static hp_status hp_coff_relsec(hp_coff_rd *rd, uint32_t si)
{
    const hp_coff_shdr *sh = &rd->sh[si];
    const hp_obj_sec *sec = &rd->o->secs[si];
    if (!hp_obj_kept(sec) || !sh->nrel)
        return HP_OK;
    if (sh->flags & HP_PE_SCN_LNK_NRELOC_OVFL)
        return hp_obj_refuse(&rd->err, "section '%s': more than 65535 relocations are not "
                                       "supported", sec->name);
    if (!hp_in_bounds(sh->rel_off, (uint64_t)sh->nrel * HP_COFF_REL_SIZE, rd->o->size))
        return hp_obj_bad(&rd->err, "section '%s': relocations out of bounds", sec->name);
    for (uint32_t k = 0; k < sh->nrel; k++) {
        hp_status st = hp_coff_rel_one(rd, si, rd->o->data + sh->rel_off + k * HP_COFF_REL_SIZE);
        if (hp_obj_fatal(st))
            return st;
    }
    return HP_OK;
}

static hp_status hp_coff_relocs(hp_coff_rd *rd)
{
    for (uint32_t i = 1; i <= rd->nsecs; i++)
        HP_CHECK(hp_coff_relsec(rd, i));
    return HP_OK;
}

/* ---- entry ---------------------------------------------------------- */

static hp_status hp_coff_passes(hp_coff_rd *rd, const hp_map *comdats)
{
    HP_CHECK(hp_coff_header(rd));
    /* Every copied short name fits in 9 bytes. */
    rd->strs_cap = ((size_t)rd->nsecs + rd->tab.nsyms) * 9 + 1;
    rd->o->strs = hp_malloc(rd->strs_cap);
    if (!rd->o->strs)
        return HP_ERR_NOMEM;
    HP_CHECK(hp_coff_read_shdrs(rd));
    HP_CHECK(hp_coff_sections(rd));
    HP_CHECK(hp_coff_records(rd));
    HP_CHECK(hp_coff_comdats(rd, comdats));
    HP_CHECK(hp_coff_symbols(rd));
    return hp_coff_relocs(rd);
}

hp_status hp_coff_obj_read(hp_obj *o, const hp_map *comdats, hp_diags *d)
{
    hp_coff_rd rd = {.o = o, .err = {.d = d, .o = o}};
    o->c_underscore = hp_format_pe.c_underscore;
    hp_status st = hp_coff_passes(&rd, comdats);
    hp_free(rd.sh);
    hp_free(rd.sy);
    return hp_obj_result(&rd.err, st);
}
