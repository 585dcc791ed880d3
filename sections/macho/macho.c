/* Mach-O backend (x86-64 and arm64): reader and place(). The writer is macho_write.c,
 * the ad hoc signer macho_sign.c, the code map macho_code.c;
 * macho_symtab.c reads LC_SYMTAB (shared with the object reader
 * macho_obj.c).
 *
 * Quirks this file deals with, and why:
 *
 * - Tables are read by hand (why not LIEF: README.md, "Why the tables are
 *   read directly, not with LIEF"). Every load command is checked against
 *   the header's sizeofcmds and every table it names against the slice
 *   before anything reads it; hostile input ends in HP_ERR_FORMAT with the
 *   reason, never a crash.
 *
 * - Universal (fat) files are containers (image.h, hp_slice): every x86-64
 *   and arm64 slice is loaded as a thin image of its own, over the slice's
 *   bytes, so planning, writing and signing it is the thin path; other
 *   slices (arm64e, i386, ppc, ...) are recorded, by lipo's names, to be
 *   copied byte for byte (cli/ warns). hp_macho_join (macho_write.c)
 *   writes the universal header around the slices.
 *
 * - Symbols come from LC_SYMTAB (N_SECT, not N_STAB; exports are there
 *   too). A function's size is the distance to the next LC_FUNCTION_STARTS
 *   entry, capped by its section's end. Names keep the leading underscore;
 *   image.c adds the source-level alias. Go keeps __gopclntab in __TEXT.
 *
 * - New segments. The segment table cannot grow anywhere but into the
 *   header padding (between the load commands and the first section), so
 *   that is where the new LC_SEGMENT_64 commands go; ld64 and lld leave
 *   only 32 bytes unless linked with -headerpad. __LINKEDIT must stay the
 *   last segment (dyld and codesign expect it), so the new segments go
 *   between the last other segment and __LINKEDIT, in memory and in the
 *   file, and __LINKEDIT moves up with every offset that points into it.
 *   Their load commands go right before __LINKEDIT's, so the segment
 *   indices that rebase and bind opcodes use stay valid.
 *
 * - Layout: __HOOKPATCH_D (rw-: __const for rodata, __data, __bss) first,
 *   then __HOOKPATCH (r-x: __text, then __info, the hookpatch record) last.
 *   rodata lives in the writable segment because dyld must be able to
 *   rebase pointers in it (x86-64 dyld does not apply text relocations);
 *   the record goes last because its size is only known at emit time, after
 *   the other regions' addresses were fixed.
 *
 * - Absolute pointers in new code of a PIE or dylib get rebase opcodes
 *   appended to LC_DYLD_INFO's stream. With chained fixups
 *   (LC_DYLD_CHAINED_FIXUPS, ld64 for macOS 12+, lld -fixup_chains) the
 *   new data segment gets a starts entry and its pointer slots become
 *   chained rebases (macho_chained.c); the starts table gets one entry per
 *   new segment either way, as dyld wants seg_count to equal the number
 *   of segments.
 *
 * - Code signature: a signed input is re-signed ad hoc (macho_sign.c); an
 *   unsigned x86-64 one stays unsigned, which x86-64 macOS runs; an
 *   unsigned arm64 one gets a signature (and an LC_CODE_SIGNATURE after the
 *   other load commands), as arm64 macOS runs no unsigned code.
 *
 * - arm64: img->machine selects the arm64
 *   architecture table; new segments are aligned to 16 KiB, the page size
 *   of arm64 macOS (x86-64: 4 KiB). arm64e is refused (hp_macho_check_cpu).
 *
 * - IBT: Mach-O has no landing-pad marking to clear, so
 *   ed->removed_landing_pad needs nothing here.
 */
#include "../format.h"
#include "macho_priv.h"

#include <stdio.h>
#include <string.h>

#define HP_MACHO_MAX_SEGS 255
#define HP_MACHO_MAX_ARCHS 64
#define HP_MACHO_REACH 0x7fff0000ull

static hp_macho *hp_macho_of(const hp_image *img) { return img->priv; }

static bool hp_macho_probe(const uint8_t *data, size_t size)
{
    if (size < 4)
        return false;
    uint32_t be = hp_rd32be(data);
    return hp_rd32(data) == HP_MH_MAGIC_64 || be == HP_FAT_MAGIC || be == HP_FAT_MAGIC_64;
}

static const char *hp_macho_cpu_name(uint32_t cpu)
{
    switch (cpu) {
    case HP_CPU_X86_64: return "x86_64";
    case HP_CPU_ARM64: return "arm64";
    case 0x0200000cu: return "arm64_32";
    case 7: return "i386";
    case 12: return "arm";
    case 18: return "ppc";
    case 0x01000012u: return "ppc64";
    default: return "unknown";
    }
}

/* The name lipo gives a slice: the CPU type refined by the subtype, whose
 * top byte holds capability bits (pointer authentication ABI, ...). */
static void hp_macho_arch_name(const hp_macho_arch *a, char *buf, size_t len)
{
    uint32_t sub = a->cpusubtype & 0x00ffffffu;
    const char *name = hp_macho_cpu_name(a->cputype);
    if (a->cputype == HP_CPU_ARM64 && sub == 2)
        name = "arm64e";
    else if (a->cputype == HP_CPU_X86_64 && sub == 8)
        name = "x86_64h";
    else if (a->cputype == 12 && sub == 9)
        name = "armv7";
    else if (a->cputype == 12 && sub == 11)
        name = "armv7s";
    else if (a->cputype == 12 && sub == 12)
        name = "armv7k";
    if (strcmp(name, "unknown"))
        snprintf(buf, len, "%s", name);
    else
        snprintf(buf, len, "cputype 0x%x", a->cputype);
}

/* ---- universal files ---- */

static hp_status hp_macho_read_archs(hp_image *img, hp_macho *m)
{
    m->fat64 = hp_rd32be(img->data) == HP_FAT_MAGIC_64;
    uint64_t esz = m->fat64 ? 32 : 20;
    if (img->size < 8)
        return hp_image_bad(img, "truncated universal header (%zu bytes)", img->size);
    uint32_t n = hp_rd32be(img->data + 4);
    if (n == 0 || n > HP_MACHO_MAX_ARCHS || !hp_in_bounds(8, n * esz, img->size))
        return hp_image_bad(img, "universal header lists %u slices; its table does not fit the "
                                 "file", n);
    m->archs = hp_calloc(n, sizeof *m->archs);
    if (!m->archs)
        return HP_ERR_NOMEM;
    m->narchs = n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = img->data + 8 + i * esz;
        hp_macho_arch *a = &m->archs[i];
        a->cputype = hp_rd32be(p);
        a->cpusubtype = hp_rd32be(p + 4);
        a->offset = m->fat64 ? (uint64_t)hp_rd32be(p + 8) << 32 | hp_rd32be(p + 12)
                             : hp_rd32be(p + 8);
        a->size = m->fat64 ? (uint64_t)hp_rd32be(p + 16) << 32 | hp_rd32be(p + 20)
                           : hp_rd32be(p + 12);
        a->align = hp_rd32be(p + (m->fat64 ? 24 : 16));
        if (a->align > 16 || a->offset < 8 + n * esz || !hp_in_bounds(a->offset, a->size, img->size))
            return hp_image_bad(img, "universal slice %u (offset 0x%llx, size 0x%llx, align 2^%u) "
                                     "lies outside the file", i, (unsigned long long)a->offset,
                                (unsigned long long)a->size, a->align);
    }
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = i + 1; j < n; j++) {
            const hp_macho_arch *a = &m->archs[i], *b = &m->archs[j];
            if (a->offset < b->offset + b->size && b->offset < a->offset + a->size)
                return hp_image_bad(img, "universal slices %u and %u overlap", i, j);
        }
    return HP_OK;
}

/* Why a slice is copied unpatched, or NULL when hookpatch patches it:
 * x86-64 (any subtype: x86_64h is the same code) and arm64 with the plain
 * ABI, the architectures a thin file may have (hp_macho_check_cpu). */
static const char *hp_macho_slice_unsupported(const hp_macho_arch *a)
{
    uint32_t sub = a->cpusubtype & 0x00ffffffu;
    if (a->cputype == HP_CPU_X86_64)
        return NULL;
    if (a->cputype == HP_CPU_ARM64 && (sub == HP_CPU_SUBTYPE_ARM64_ALL ||
                                       sub == HP_CPU_SUBTYPE_ARM64_V8))
        return NULL;
    if (a->cputype == HP_CPU_ARM64 && sub == HP_CPU_SUBTYPE_ARM64E)
        return "arm64e code signs its pointers with keys hookpatch cannot use";
    return "hookpatch patches x86-64 and arm64 code only";
}

/* A universal file is a container: each slice hookpatch can patch becomes
 * its own thin image (image.c loads it from the slice's bytes); the others
 * are recorded to be copied. A slice that claims a patchable CPU must be a
 * thin 64-bit Mach-O: a universal file nested in a slice is refused. */
static hp_status hp_macho_load_fat(hp_image *img, hp_macho *m)
{
    HP_CHECK(hp_macho_read_archs(img, m));
    m->fat = true;
    char have[256] = "";
    size_t npatch = 0;
    for (uint32_t i = 0; i < m->narchs; i++) {
        const hp_macho_arch *a = &m->archs[i];
        char name[32];
        hp_macho_arch_name(a, name, sizeof name);
        size_t l = strlen(have);
        snprintf(have + l, sizeof have - l, "%s%s", l ? ", " : "", name);
        const char *why = hp_macho_slice_unsupported(a);
        const uint8_t *p = img->data + a->offset;
        if (!why && (a->size < 8 || hp_rd32(p) != HP_MH_MAGIC_64))
            return hp_image_bad(img, "universal slice %u (%s) is not a 64-bit little-endian "
                                     "Mach-O image", i, name);
        if (!why && hp_rd32(p + 4) != a->cputype)
            return hp_image_bad(img, "universal slice %u: the universal header says %s "
                                     "(cputype 0x%x), the slice's own header cputype 0x%x",
                                i, name, a->cputype, hp_rd32(p + 4));
        HP_CHECK(hp_image_add_slice(img, name, a->offset, a->size, a->align, why));
        npatch += !why;
    }
    if (!npatch)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                               "universal binary has no slice hookpatch can patch (it has: %s; "
                               "hookpatch patches x86_64 and arm64)", have);
    return HP_OK;
}

/* ---- the header and load commands ---- */

/* x86-64, and arm64 with the plain ABI (subtype ALL or V8). arm64e signs
 * its pointers (PAC) with keys only the kernel knows for the process, so
 * stubs written here could not produce the signatures its code checks. */
static hp_status hp_macho_check_cpu(hp_image *img, hp_macho *m, uint32_t cpu)
{
    uint32_t sub = m->cpusubtype & 0x00ffffffu;
    m->page = HP_MACHO_PAGE;
    if (cpu == HP_CPU_X86_64) {
        img->machine = HP_MACH_X86_64;
        return HP_OK;
    }
    if (cpu == HP_CPU_ARM64 && sub == HP_CPU_SUBTYPE_ARM64E)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                               "arm64e Mach-O (pointer-authenticated ABI, cpusubtype 0x%x) is not "
                               "supported: its pointers are signed with keys hookpatch cannot use; "
                               "build for arm64", m->cpusubtype);
    if (cpu == HP_CPU_ARM64 && (sub == HP_CPU_SUBTYPE_ARM64_ALL || sub == HP_CPU_SUBTYPE_ARM64_V8)) {
        img->machine = HP_MACH_ARM64;
        m->page = HP_MACHO_PAGE_ARM64;
        return HP_OK;
    }
    if (cpu == HP_CPU_ARM64)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED, "Mach-O arm64 cpusubtype 0x%x is not "
                               "supported (only arm64: ALL or V8)", m->cpusubtype);
    return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                           "Mach-O CPU type %s (0x%x) is not supported (x86-64 and arm64 are)",
                           hp_macho_cpu_name(cpu), cpu);
}

static hp_status hp_macho_check_header(hp_image *img, hp_macho *m)
{
    const uint8_t *p = hp_macho_slice(img, m);
    if (m->slice_size < HP_MACHO_HDR)
        return hp_image_bad(img, "truncated Mach-O header (%llu bytes)",
                            (unsigned long long)m->slice_size);
    if (hp_rd32(p) != HP_MH_MAGIC_64)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                               "only 64-bit little-endian Mach-O is supported (magic 0x%08x)",
                               hp_rd32(p));
    m->cpusubtype = hp_rd32(p + 8);
    HP_CHECK(hp_macho_check_cpu(img, m, hp_rd32(p + 4)));
    m->filetype = hp_rd32(p + 12);
    m->ncmds = hp_rd32(p + 16);
    m->sizeofcmds = hp_rd32(p + 20);
    m->flags = hp_rd32(p + 24);
    if (m->filetype == 1)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                               "a relocatable object (.o): link it first, or use it as "
                               "'object =' in a rules file");
    if (m->filetype != HP_MH_EXECUTE && m->filetype != HP_MH_DYLIB &&
        m->filetype != HP_MH_BUNDLE)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                               "Mach-O file type %u is not an executable, dylib or bundle",
                               m->filetype);
    if (!hp_in_bounds(HP_MACHO_HDR, m->sizeofcmds, m->slice_size))
        return hp_image_bad(img, "load commands (sizeofcmds %u) extend beyond the end of the file",
                            m->sizeofcmds);
    if (m->ncmds > m->sizeofcmds / 8)
        return hp_image_bad(img, "%u load commands cannot fit in sizeofcmds %u", m->ncmds,
                            m->sizeofcmds);
    return HP_OK;
}

/* A table [off, off+count*esz) named by a load command must lie in the slice. */
static hp_status hp_macho_table(hp_image *img, const hp_macho *m, const char *what,
                                uint64_t off, uint64_t count, uint64_t esz)
{
    if (off > m->slice_size || count > m->slice_size / esz ||
        !hp_in_bounds(off, count * esz, m->slice_size))
        return hp_image_bad(img, "%s (offset 0x%llx, %llu bytes) lies outside the file", what,
                            (unsigned long long)off, (unsigned long long)(count * esz));
    return HP_OK;
}

/* LC_SYMTAB's tables must lie in the slice (macho_symtab.c). */
static hp_status hp_macho_symtab_check(hp_image *img, const hp_macho *m, const uint8_t *lc)
{
    hp_macho_symtab t;
    switch (hp_macho_symtab_open(hp_macho_slice(img, m), m->slice_size, lc, &t)) {
    case HP_MACHO_SYMS_OUTSIDE:
        return hp_macho_table(img, m, "symbol table", t.symoff, t.nsyms, HP_MACHO_NLIST);
    case HP_MACHO_STRS_OUTSIDE:
        return hp_macho_table(img, m, "string table", t.stroff, t.strsize, 1);
    default: return HP_OK;
    }
}

static void hp_macho_name16(char out[17], const uint8_t *p)
{
    memcpy(out, p, 16);
    out[16] = 0;
}

static bool hp_macho_zerofill(uint32_t flags)
{
    uint32_t t = flags & HP_S_TYPE_MASK;
    return t == HP_S_ZEROFILL || t == HP_S_GB_ZEROFILL || t == HP_S_THREAD_LOCAL_ZEROFILL;
}

static hp_status hp_macho_sections(hp_image *img, hp_macho *m, const uint8_t *lc,
                                   const hp_macho_seg *s)
{
    if (!s->nsects)
        return HP_OK;
    hp_macho_sect *v = hp_realloc(m->sects, (m->nsects + s->nsects) * sizeof *v);
    if (!v)
        return HP_ERR_NOMEM;
    m->sects = v;
    for (uint32_t i = 0; i < s->nsects; i++) {
        const uint8_t *p = lc + HP_MACHO_SEG_CMD + (size_t)i * HP_MACHO_SECT;
        hp_macho_sect *c = &m->sects[m->nsects];
        hp_macho_name16(c->sectname, p);
        hp_macho_name16(c->segname, p + 16);
        c->addr = hp_rd64(p + 32);
        c->size = hp_rd64(p + 40);
        c->offset = hp_rd32(p + 48);
        c->flags = hp_rd32(p + 64);
        if (s->vmsize && (c->addr < s->vmaddr || c->addr - s->vmaddr > s->vmsize ||
                          c->size > s->vmsize - (c->addr - s->vmaddr)))
            return hp_image_bad(img, "section %s,%s lies outside its segment", s->name,
                                c->sectname);
        if (!hp_macho_zerofill(c->flags) && c->size &&
            !hp_in_bounds(c->offset, c->size, m->slice_size))
            return hp_image_bad(img, "section %s,%s (offset 0x%x, size 0x%llx) lies outside the "
                                     "file", s->name, c->sectname, c->offset,
                                (unsigned long long)c->size);
        if (!hp_macho_zerofill(c->flags) && c->size && c->offset < m->content_off)
            m->content_off = c->offset;
        m->nsects++;
    }
    return HP_OK;
}

static hp_status hp_macho_segment(hp_image *img, hp_macho *m, const uint8_t *lc,
                                  uint32_t cmdsize, uint32_t lc_off)
{
    if (cmdsize < HP_MACHO_SEG_CMD)
        return hp_image_bad(img, "LC_SEGMENT_64 at 0x%x is too small (%u bytes)", lc_off, cmdsize);
    if (m->nsegs >= HP_MACHO_MAX_SEGS)
        return hp_image_bad(img, "more than %d segments", HP_MACHO_MAX_SEGS);
    hp_macho_seg s = {0};
    hp_macho_name16(s.name, lc + 8);
    s.vmaddr = hp_rd64(lc + 24);
    s.vmsize = hp_rd64(lc + 32);
    s.fileoff = hp_rd64(lc + 40);
    s.filesize = hp_rd64(lc + 48);
    s.maxprot = hp_rd32(lc + 56);
    s.initprot = hp_rd32(lc + 60);
    s.nsects = hp_rd32(lc + 64);
    s.cmd_off = lc_off;
    if (HP_MACHO_SEG_CMD + (uint64_t)s.nsects * HP_MACHO_SECT > cmdsize)
        return hp_image_bad(img, "segment %s claims %u sections; its load command holds fewer",
                            s.name, s.nsects);
    if (!hp_in_bounds(s.fileoff, s.filesize, m->slice_size))
        return hp_image_bad(img, "segment %s (offset 0x%llx, size 0x%llx) lies outside the file",
                            s.name, (unsigned long long)s.fileoff, (unsigned long long)s.filesize);
    if (s.vmaddr + s.vmsize < s.vmaddr || (s.vmsize && s.filesize > s.vmsize))
        return hp_image_bad(img, "segment %s has inconsistent sizes", s.name);
    if (s.filesize && s.fileoff && s.fileoff < m->content_off)
        m->content_off = s.fileoff;
    if (!strcmp(s.name, "__LINKEDIT")) {
        if (m->linkedit >= 0)
            return hp_image_bad(img, "two __LINKEDIT segments");
        m->linkedit = (int)m->nsegs;
    }
    HP_CHECK(hp_macho_sections(img, m, lc, &s));
    hp_macho_seg *v = hp_realloc(m->segs, (m->nsegs + 1) * sizeof *v);
    if (!v)
        return HP_ERR_NOMEM;
    m->segs = v;
    m->segs[m->nsegs++] = s;
    if (!s.vmsize || !s.initprot) /* __PAGEZERO, or file-only (Go's __DWARF) */
        return HP_OK;
    hp_segment seg = {s.vmaddr, s.vmsize, s.fileoff, s.filesize,
                      s.initprot & (HP_PROT_R | HP_PROT_W | HP_PROT_X)};
    return hp_image_add_segment(img, &seg);
}

/* Remember a command we rewrite later; there may be only one of each. */
static hp_status hp_macho_once(hp_image *img, uint32_t *slot, uint32_t lc_off, const char *what)
{
    if (*slot)
        return hp_image_bad(img, "two %s load commands", what);
    *slot = lc_off;
    return HP_OK;
}

static hp_status hp_macho_dysymtab(hp_image *img, hp_macho *m, const uint8_t *lc)
{
    static const struct {
        uint8_t off, count, esz;
        const char *what;
    } t[] = {{32, 36, 8, "table of contents"},  {40, 44, 56, "module table"},
             {48, 52, 4, "external reference table"}, {56, 60, 4, "indirect symbol table"},
             {64, 68, 8, "external relocations"}, {72, 76, 8, "local relocations"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        HP_CHECK(hp_macho_table(img, m, t[i].what, hp_rd32(lc + t[i].off),
                                hp_rd32(lc + t[i].count), t[i].esz));
    return HP_OK;
}

static hp_status hp_macho_linkedit_data(hp_image *img, hp_macho *m, const uint8_t *lc,
                                        uint32_t cmd, uint32_t lc_off)
{
    HP_CHECK(hp_macho_table(img, m, "linkedit data", hp_rd32(lc + 8), hp_rd32(lc + 12), 1));
    if (cmd == HP_LC_CODE_SIGNATURE)
        return hp_macho_once(img, &m->sig_lc, lc_off, "LC_CODE_SIGNATURE");
    if (cmd == HP_LC_FUNCTION_STARTS)
        return hp_macho_once(img, &m->fstarts_lc, lc_off, "LC_FUNCTION_STARTS");
    if (cmd == HP_LC_DYLD_CHAINED_FIXUPS)
        return hp_macho_once(img, &m->chained_lc, lc_off, "LC_DYLD_CHAINED_FIXUPS");
    return HP_OK;
}

bool hp_macho_is_linkedit_data(uint32_t cmd)
{
    switch (cmd) {
    case HP_LC_CODE_SIGNATURE: case HP_LC_SEGMENT_SPLIT_INFO: case HP_LC_FUNCTION_STARTS:
    case HP_LC_DATA_IN_CODE: case HP_LC_DYLIB_CODE_SIGN_DRS:
    case HP_LC_LINKER_OPTIMIZATION_HINT: case HP_LC_DYLD_EXPORTS_TRIE:
    case HP_LC_DYLD_CHAINED_FIXUPS: case HP_LC_ATOM_INFO:
        return true;
    default:
        return false;
    }
}

/* Minimum cmdsize per command we read fields of. */
static uint32_t hp_macho_min_cmdsize(uint32_t cmd)
{
    if (hp_macho_is_linkedit_data(cmd))
        return 16;
    switch (cmd) {
    case HP_LC_SYMTAB: return 24;
    case HP_LC_DYSYMTAB: return 80;
    case HP_LC_DYLD_INFO: case HP_LC_DYLD_INFO_ONLY: return 48;
    case HP_LC_TWOLEVEL_HINTS: case HP_LC_SYMSEG: return 16;
    case HP_LC_ENCRYPTION_INFO_64: return 24;
    case HP_LC_NOTE: return 40;
    default: return 8;
    }
}

static hp_status hp_macho_command(hp_image *img, hp_macho *m, const uint8_t *lc, uint32_t cmd,
                                  uint32_t cmdsize, uint32_t lc_off)
{
    if (cmdsize < hp_macho_min_cmdsize(cmd))
        return hp_image_bad(img, "load command 0x%x at 0x%x is too small (%u bytes)", cmd, lc_off,
                            cmdsize);
    if (hp_macho_is_linkedit_data(cmd))
        return hp_macho_linkedit_data(img, m, lc, cmd, lc_off);
    switch (cmd) {
    case HP_LC_SEGMENT_64:
        return hp_macho_segment(img, m, lc, cmdsize, lc_off);
    case HP_LC_SYMTAB:
        HP_CHECK(hp_macho_symtab_check(img, m, lc));
        return hp_macho_once(img, &m->symtab_lc, lc_off, "LC_SYMTAB");
    case HP_LC_DYSYMTAB:
        HP_CHECK(hp_macho_dysymtab(img, m, lc));
        return hp_macho_once(img, &m->dysymtab_lc, lc_off, "LC_DYSYMTAB");
    case HP_LC_DYLD_INFO:
    case HP_LC_DYLD_INFO_ONLY:
        for (int i = 0; i < 5; i++)
            HP_CHECK(hp_macho_table(img, m, "dyld info", hp_rd32(lc + 8 + 8 * i),
                                    hp_rd32(lc + 12 + 8 * i), 1));
        return hp_macho_once(img, &m->dyld_info_lc, lc_off, "LC_DYLD_INFO");
    case HP_LC_TWOLEVEL_HINTS:
        return hp_macho_table(img, m, "two-level hints", hp_rd32(lc + 8), hp_rd32(lc + 12), 4);
    case HP_LC_SYMSEG:
        return hp_macho_table(img, m, "symbol segment", hp_rd32(lc + 8), hp_rd32(lc + 12), 1);
    case HP_LC_NOTE:
        return hp_macho_table(img, m, "LC_NOTE data", hp_rd64(lc + 24), hp_rd64(lc + 32), 1);
    case HP_LC_ENCRYPTION_INFO_64:
        if (hp_rd32(lc + 16))
            return hp_image_refuse(img, HP_ERR_UNSUPPORTED, "the binary is encrypted (cryptid %u)",
                                   hp_rd32(lc + 16));
        return HP_OK;
    default:
        return HP_OK;
    }
}

static hp_status hp_macho_commands(hp_image *img, hp_macho *m)
{
    const uint8_t *p = hp_macho_slice(img, m);
    uint64_t end = HP_MACHO_HDR + (uint64_t)m->sizeofcmds, off = HP_MACHO_HDR;
    for (uint32_t i = 0; i < m->ncmds; i++) {
        if (end - off < 8)
            return hp_image_bad(img, "load command %u lies beyond sizeofcmds", i);
        uint32_t cmd = hp_rd32(p + off), cmdsize = hp_rd32(p + off + 4);
        if (cmdsize < 8 || cmdsize % 4 || cmdsize > end - off)
            return hp_image_bad(img, "load command %u (0x%x) has a bad size %u", i, cmd, cmdsize);
        HP_CHECK(hp_macho_command(img, m, p + off, cmd, cmdsize, (uint32_t)off));
        off += cmdsize;
    }
    if (m->content_off < end)
        return hp_image_bad(img, "the load commands overlap section contents at 0x%llx",
                            (unsigned long long)m->content_off);
    for (size_t i = 1; i < img->nsegs; i++) {
        const hp_segment *a = &img->segs[i - 1], *b = &img->segs[i];
        if (b->va - a->va < a->mem_size)
            return hp_image_bad(img, "segments at 0x%llx and 0x%llx overlap",
                                (unsigned long long)a->va, (unsigned long long)b->va);
    }
    if (!img->nsegs)
        return hp_image_bad(img, "no loadable segment");
    return HP_OK;
}

/* ---- symbols ---- */

static bool hp_uleb(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* LC_FUNCTION_STARTS: ULEB128 deltas from __TEXT's address, ending in 0. */
hp_status hp_macho_fstarts(const hp_image *img, const hp_macho *m, uint64_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!m->fstarts_lc)
        return HP_OK;
    const uint8_t *lc = hp_macho_slice(img, m) + m->fstarts_lc;
    uint32_t off = hp_rd32(lc + 8), size = hp_rd32(lc + 12);
    uint64_t va = 0;
    for (size_t i = 0; i < m->nsegs; i++)
        if (m->segs[i].fileoff == 0 && m->segs[i].filesize) {
            va = m->segs[i].vmaddr;
            break;
        }
    const uint8_t *p = hp_macho_slice(img, m) + off, *end = p + size;
    uint64_t *v = hp_calloc(size ? size : 1, sizeof *v);
    if (!v)
        return HP_ERR_NOMEM;
    uint64_t d;
    while (hp_uleb(&p, end, &d) && d) {
        if (va + d < va)
            break;
        va += d;
        v[(*n)++] = va;
    }
    *out = v;
    return HP_OK;
}

static uint64_t hp_macho_func_end(const uint64_t *starts, size_t n, uint64_t va, uint64_t end)
{
    size_t i = hp_u64_upper_bound(starts, n, va);
    return i < n && starts[i] < end ? starts[i] : end;
}

static hp_status hp_macho_add_nlist(hp_image *img, hp_macho *m, const hp_macho_symtab *t,
                                    uint32_t i, const uint64_t *starts, size_t nstarts)
{
    hp_macho_nlist e;
    hp_macho_nlist_get(t, i, &e);
    if ((e.type & HP_N_STAB) || (e.type & HP_N_TYPE) != HP_N_SECT || e.sect == 0 ||
        e.sect > m->nsects)
        return HP_OK; /* debug (N_STAB), undefined, absolute or indirect */
    size_t len;
    bool past_end;
    const char *name = hp_macho_nlist_name(t, e.strx, &len, &past_end);
    if (!name && past_end)
        return hp_image_bad(img, "symbol name offset 0x%x lies outside the string table", e.strx);
    if (!name)
        return hp_image_bad(img, "unterminated symbol name at string offset 0x%x", e.strx);
    const hp_macho_sect *s = &m->sects[e.sect - 1];
    uint64_t va = e.value;
    if (!len || va < s->addr || va - s->addr >= s->size || !hp_image_segment_at(img, va))
        return HP_OK;
    bool code = s->flags & (HP_S_ATTR_PURE_INSTRUCTIONS | HP_S_ATTR_SOME_INSTRUCTIONS);
    uint64_t size = code ? hp_macho_func_end(starts, nstarts, va, s->addr + s->size) - va : 0;
    img->has_symtab = true;
    return hp_image_add_symbol(img, name, len, va, size, code ? HP_SYM_FUNC : HP_SYM_DATA,
                               HP_SRC_SYMTAB, e.type & HP_N_EXT);
}

static hp_status hp_macho_symbols(hp_image *img, hp_macho *m)
{
    if (!m->symtab_lc)
        return HP_OK;
    hp_macho_symtab t; /* checked when the load commands were read */
    hp_macho_symtab_open(hp_macho_slice(img, m), m->slice_size,
                         hp_macho_slice(img, m) + m->symtab_lc, &t);
    uint64_t *starts;
    size_t nstarts;
    HP_CHECK(hp_macho_fstarts(img, m, &starts, &nstarts));
    hp_status s = HP_OK;
    for (uint32_t i = 0; i < t.nsyms && s == HP_OK; i++)
        s = hp_macho_add_nlist(img, m, &t, i, starts, nstarts);
    hp_free(starts);
    return s;
}

static const hp_macho_sect *hp_macho_find_sect(const hp_macho *m, const char *seg,
                                               const char *sect)
{
    for (size_t i = 0; i < m->nsects; i++)
        if ((!seg || !strcmp(m->sects[i].segname, seg)) && !strcmp(m->sects[i].sectname, sect))
            return &m->sects[i];
    return NULL;
}

/* Go's function table, and the record of an earlier hookpatch run. */
static void hp_macho_find_extras(hp_image *img, hp_macho *m)
{
    const uint8_t *sl = hp_macho_slice(img, m);
    const hp_macho_sect *pcln = hp_macho_find_sect(m, NULL, "__gopclntab");
    if (pcln && pcln->size && !hp_macho_zerofill(pcln->flags)) {
        img->pclntab = sl + pcln->offset;
        img->pclntab_size = (size_t)pcln->size;
        img->pclntab_va = pcln->addr;
        const hp_macho_sect *text = hp_macho_find_sect(m, "__TEXT", "__text");
        if (text)
            img->go_text_va = text->addr;
    }
    for (size_t i = 0; i < m->nsegs; i++)
        if (!strcmp(m->segs[i].name, HP_MACHO_SEG_TEXT))
            img->prior_info = (const uint8_t *)"";
    const hp_macho_sect *info = hp_macho_find_sect(m, HP_MACHO_SEG_TEXT, "__info");
    if (info && info->size && !hp_macho_zerofill(info->flags)) {
        img->prior_info = sl + info->offset;
        img->prior_info_size = (size_t)info->size;
    }
}

static void hp_macho_note_room(hp_image *img, const hp_macho *m);

static hp_status hp_macho_load(hp_image *img)
{
    hp_macho *m = hp_calloc(1, sizeof *m);
    if (!m)
        return HP_ERR_NOMEM;
    img->priv = m;
    m->linkedit = -1;
    m->slice_size = img->size;
    if (img->size >= 4 && hp_rd32(img->data) != HP_MH_MAGIC_64)
        return hp_macho_load_fat(img, m);
    m->content_off = m->slice_size;
    HP_CHECK(hp_macho_check_header(img, m));
    HP_CHECK(hp_macho_commands(img, m));
    HP_CHECK(hp_macho_symbols(img, m));
    hp_macho_find_extras(img, m);
    img->pic = (m->flags & HP_MH_PIE) || m->filetype != HP_MH_EXECUTE;
    img->shared = m->filetype != HP_MH_EXECUTE;
    img->has_dynreloc = m->dyld_info_lc || m->chained_lc;
    hp_macho_note_room(img, m);
    return HP_OK;
}

static void hp_macho_unload(hp_image *img)
{
    hp_macho *m = hp_macho_of(img);
    if (!m)
        return;
    hp_free(m->archs);
    hp_free(m->segs);
    hp_free(m->sects);
    hp_free(m);
    img->priv = NULL;
}

/* ---- place ---- */

/* __LINKEDIT must be last in memory and in the file, with nothing but the
 * new segments to go before it. */
static hp_status hp_macho_check_linkedit(hp_image *img, const hp_macho *m)
{
    if (m->linkedit < 0)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED, "no __LINKEDIT segment");
    const hp_macho_seg *le = &m->segs[m->linkedit];
    for (size_t i = 0; i < m->nsegs; i++) {
        const hp_macho_seg *s = &m->segs[i];
        if ((int)i == m->linkedit)
            continue;
        if ((s->filesize && s->fileoff + s->filesize > le->fileoff) ||
            (s->vmsize && s->vmaddr + s->vmsize > le->vmaddr))
            return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                                   "segment %s lies after __LINKEDIT; hookpatch needs __LINKEDIT "
                                   "last", s->name);
    }
    if (le->fileoff % HP_MACHO_PAGE)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                               "__LINKEDIT's file offset 0x%llx is not page-aligned",
                               (unsigned long long)le->fileoff);
    for (size_t i = (size_t)m->linkedit + 1; i < m->nsegs; i++)
        if (m->segs[i].nsects) /* the new sections would renumber them */
            return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                                   "segment %s, listed after __LINKEDIT, has sections",
                                   m->segs[i].name);
    if (m->content_off > le->fileoff)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED, "a section lies after __LINKEDIT");
    if (m->sig_lc) {
        /* the signature is rebuilt at the end; nothing may follow it */
        const uint8_t *lc = hp_macho_slice(img, m) + m->sig_lc;
        uint64_t off = hp_rd32(lc + 8), end = off + hp_rd32(lc + 12);
        if (off < le->fileoff || end < le->fileoff + le->filesize)
            return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                                   "the code signature is not at the end of __LINKEDIT");
    }
    return HP_OK;
}

hp_status hp_macho_can_rebase(const hp_image *img, const hp_macho *m)
{
    if (!m->dyld_info_lc && !m->chained_lc)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                               "the linked code has absolute pointers but the binary has neither "
                               "LC_DYLD_INFO rebase opcodes nor chained fixups to extend");
    return HP_OK;
}

/* Bytes of load commands place() may add: __HOOKPATCH with __text and
 * __info, and __HOOKPATCH_D with up to __const, __data and __bss; and
 * LC_CODE_SIGNATURE when an unsigned arm64 input gets signed. */
static uint64_t hp_macho_lc_need(const hp_image *img, const hp_macho *m, const hp_layout *lay)
{
    uint64_t n = HP_MACHO_SEG_CMD + 2 * HP_MACHO_SECT;
    uint64_t nd = (lay->size[HP_REGION_RODATA] > 0) + 2 * (lay->size[HP_REGION_DATA] > 0);
    if (!m->sig_lc && img->machine == HP_MACH_ARM64)
        n += 16;
    return n + (nd ? HP_MACHO_SEG_CMD + nd * HP_MACHO_SECT : 0);
}

#define HP_MACHO_FAR_SHIFT ((uint64_t)256 << 20) /* hp_layout.far, as ELF's */
/* The header padding place() checks, for `hookpatch list`. */
static void hp_macho_note_room(hp_image *img, const hp_macho *m)
{
    hp_layout code = {.size = {1}}, all = {.size = {1, 1, 1}};
    img->hdr_room.what = "load commands";
    img->hdr_room.free = m->content_off - (HP_MACHO_HDR + (uint64_t)m->sizeofcmds);
    img->hdr_room.need_min = hp_macho_lc_need(img, m, &code);
    img->hdr_room.need_max = hp_macho_lc_need(img, m, &all);
}

static hp_status hp_macho_place(hp_image *img, hp_layout *lay)
{
    hp_macho *m = hp_macho_of(img);
    HP_CHECK(hp_macho_check_linkedit(img, m));
    if (lay->nabs_ptrs && img->pic)
        HP_CHECK(hp_macho_can_rebase(img, m));
    if (m->sig_lc) { /* in the slice: hp_macho_check_linkedit checked it */
        const uint8_t *lc = hp_macho_slice(img, m) + m->sig_lc;
        hp_macho_warn_signer(img, hp_macho_slice(img, m) + hp_rd32(lc + 8), hp_rd32(lc + 12));
    }
    uint64_t room = m->content_off - (HP_MACHO_HDR + (uint64_t)m->sizeofcmds);
    uint64_t need = hp_macho_lc_need(img, m, lay);
    if (need > room)
        return hp_image_refuse(img, HP_ERR_UNSUPPORTED,
                               "no room for hookpatch's load commands in the Mach-O header: they "
                               "need %llu bytes, the header padding has %llu; relink with "
                               "-Wl,-headerpad,0x1000 (or -Wl,-headerpad_max_install_names)",
                               (unsigned long long)need, (unsigned long long)room);
    uint64_t va = 0;
    for (size_t i = 0; i < m->nsegs; i++)
        if ((int)i != m->linkedit && m->segs[i].vmsize && m->segs[i].vmaddr + m->segs[i].vmsize > va)
            va = m->segs[i].vmaddr + m->segs[i].vmsize;
    va = hp_align_up(va, m->page);
    if (lay->far) /* test only: out of B's +-128 MiB; the gap stays unmapped */
        va += HP_MACHO_FAR_SHIFT;
    hp_macho_plan *pl = &m->plan;
    uint64_t ro = lay->size[HP_REGION_RODATA], data = lay->size[HP_REGION_DATA];
    pl->has_data = ro || data;
    if (pl->has_data) {
        pl->data_seg_va = va;
        lay->va[HP_REGION_RODATA] = va;
        lay->va[HP_REGION_DATA] = hp_align_up(va + ro, 16);
        va = hp_align_up(lay->va[HP_REGION_DATA] + data, m->page);
    }
    pl->text_seg_va = lay->va[HP_REGION_TEXT] = va;
    pl->new_off = m->segs[m->linkedit].fileoff;
    pl->placed = true;
    if (va + lay->size[HP_REGION_TEXT] - img->base_va > HP_MACHO_REACH)
        return hp_image_refuse(img, HP_ERR_RANGE, "the image would exceed 2 GiB, beyond the "
                               "reach of %s", img->machine == HP_MACH_ARM64
                                                  ? "the trampolines' ADRP" : "rel32 jumps");
    return HP_OK;
}

/* Debug sections by their ELF spelling: ".debug_info" is __DWARF,__debug_info
 * (names truncated to 16 bytes, as the linker does). Only Go links DWARF
 * into a Mach-O binary, zlib-compressed as __zdebug_*, which is not
 * returned; C toolchains keep it in .dSYM bundles. */
static bool hp_macho_section(const hp_image *img, const char *name, const uint8_t **data,
                             size_t *size)
{
    const hp_macho *m = hp_macho_of(img);
    char want[17];
    if (!m || name[0] != '.')
        return false;
    snprintf(want, sizeof want, "__%s", name + 1);
    const hp_macho_sect *s = hp_macho_find_sect(m, "__DWARF", want);
    if (!s || !s->size || hp_macho_zerofill(s->flags))
        return false;
    *data = hp_macho_slice(img, m) + s->offset; /* bounds checked in load */
    *size = (size_t)s->size;
    return true;
}

const hp_format hp_format_macho = {
    .name = "Mach-O",
    .kind = HP_FMT_MACHO,
    .c_underscore = true,
    .probe = hp_macho_probe,
    .load = hp_macho_load,
    .place = hp_macho_place,
    .emit = hp_macho_emit,
    .unload = hp_macho_unload,
    .section = hp_macho_section,
    .code = hp_macho_code,
    .join = hp_macho_join,
};
