/* Unit tests for sections/elf/elf.c and sections/elf/elf_write.c, the ELF backend.
 *
 * Inputs come from two places:
 *  - a tiny ELF built in memory (mini_build), small enough to corrupt one
 *    field at a time: every malformed header and table must give
 *    HP_ERR_FORMAT with a diagnostic, never a crash;
 *  - small C programs compiled with gcc at test time (PIE, -no-pie, a .so,
 *    a stripped one, one marked for CET IBT).
 * The writer is driven through the format table (place, emit) with an
 * hp_edit built here, no rewriter involved, and its output is re-read by a
 * separate, bounds-checked reader in this file: e_phoff in a new PT_LOAD,
 * PT_PHDR, sorted PT_LOADs, the AT_PHDR invariant, the .hookpatch section,
 * the new symbol. The patched programs are also run (and the .so dlopened):
 * the patch sends a function to `mov eax, 42; ret` in the new segment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_util.h"

#include "sections/elf/elf_priv.h"
#include "sections/format.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef HP_BINARY_DIR
#error "HP_BINARY_DIR must name the build tree"
#endif

/* ===================================================================== */
/* Files                                                                  */
/* ===================================================================== */

static char g_dir[512]; /* mkdtemp directory for compiled programs and outputs */

static void path_in_dir(char *out, size_t len, const char *name)
{
    int n = snprintf(out, len, "%s/%s", g_dir, name);
    assert_true(n > 0 && (size_t)n < len);
}

/* Exit status of running path (no arguments), or -1. */
static int run_status(const char *path)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ===================================================================== */
/* An independent reader for checking outputs                             */
/* ===================================================================== */

/* Everything is copied out with bounds checks (assert on violation). */
typedef struct rd {
    blob b;
    Elf64_Ehdr eh;
    Elf64_Phdr *ph;
    Elf64_Shdr *sh;
    size_t shnum;
} rd;

static rd rd_open(const char *path)
{
    rd r = {0};
    r.b = read_file(path);
    assert_true(r.b.size >= sizeof r.eh);
    memcpy(&r.eh, r.b.data, sizeof r.eh);
    assert_memory_equal(r.eh.e_ident, ELFMAG, SELFMAG);
    assert_int_equal(r.eh.e_phentsize, sizeof(Elf64_Phdr));
    assert_true(hp_in_bounds(r.eh.e_phoff, (uint64_t)r.eh.e_phnum * sizeof(Elf64_Phdr),
                             r.b.size));
    r.ph = calloc(r.eh.e_phnum, sizeof *r.ph);
    assert_non_null(r.ph);
    memcpy(r.ph, r.b.data + r.eh.e_phoff, r.eh.e_phnum * sizeof *r.ph);
    if (r.eh.e_shoff) {
        assert_int_equal(r.eh.e_shentsize, sizeof(Elf64_Shdr));
        Elf64_Shdr first;
        assert_true(hp_in_bounds(r.eh.e_shoff, sizeof first, r.b.size));
        memcpy(&first, r.b.data + r.eh.e_shoff, sizeof first);
        r.shnum = r.eh.e_shnum ? r.eh.e_shnum : first.sh_size;
        assert_true(hp_in_bounds(r.eh.e_shoff, r.shnum * sizeof(Elf64_Shdr), r.b.size));
        r.sh = calloc(r.shnum, sizeof *r.sh);
        assert_non_null(r.sh);
        memcpy(r.sh, r.b.data + r.eh.e_shoff, r.shnum * sizeof *r.sh);
        for (size_t i = 1; i < r.shnum; i++)
            if (r.sh[i].sh_type != SHT_NOBITS)
                assert_true(hp_in_bounds(r.sh[i].sh_offset, r.sh[i].sh_size, r.b.size));
    }
    return r;
}

static void rd_close(rd *r)
{
    free(r->b.data);
    free(r->ph);
    free(r->sh);
}

static const char *rd_str(const rd *r, size_t strndx, uint32_t off)
{
    assert_true(strndx < r->shnum);
    const Elf64_Shdr *s = &r->sh[strndx];
    assert_true(off < s->sh_size);
    const char *p = (const char *)r->b.data + s->sh_offset + off;
    assert_non_null(memchr(p, 0, s->sh_size - off));
    return p;
}

static const Elf64_Shdr *rd_section(const rd *r, const char *name)
{
    for (size_t i = 1; i < r->shnum; i++)
        if (!strcmp(rd_str(r, r->eh.e_shstrndx, r->sh[i].sh_name), name))
            return &r->sh[i];
    return NULL;
}

/* The symbol `name` in .symtab, or false. */
static bool rd_symbol(const rd *r, const char *name, Elf64_Sym *out)
{
    const Elf64_Shdr *st = rd_section(r, ".symtab");
    if (!st)
        return false;
    assert_int_equal(st->sh_entsize, sizeof(Elf64_Sym));
    for (uint64_t off = 0; off + sizeof *out <= st->sh_size; off += sizeof *out) {
        Elf64_Sym s;
        memcpy(&s, r->b.data + st->sh_offset + off, sizeof s);
        if (s.st_name && !strcmp(rd_str(r, st->sh_link, s.st_name), name)) {
            *out = s;
            return true;
        }
    }
    return false;
}

static size_t rd_nloads(const rd *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->eh.e_phnum; i++)
        n += r->ph[i].p_type == PT_LOAD;
    return n;
}

static const Elf64_Phdr *rd_first_load(const rd *r)
{
    for (size_t i = 0; i < r->eh.e_phnum; i++)
        if (r->ph[i].p_type == PT_LOAD)
            return &r->ph[i];
    fail_msg("no PT_LOAD");
    return NULL;
}

/* File offset of va, through the PT_LOADs. */
static uint64_t rd_va_to_off(const rd *r, uint64_t va)
{
    for (size_t i = 0; i < r->eh.e_phnum; i++) {
        const Elf64_Phdr *p = &r->ph[i];
        if (p->p_type == PT_LOAD && va >= p->p_vaddr && va - p->p_vaddr < p->p_filesz)
            return p->p_offset + (va - p->p_vaddr);
    }
    fail_msg("va 0x%llx is not in the file", (unsigned long long)va);
    return 0;
}

/* The x86 FEATURE_1_AND word of .note.gnu.property, laid out as the gABI
 * says: the descriptor starts at the 8-aligned offset after name. */
static bool rd_x86_features(const rd *r, uint32_t *bits)
{
    const Elf64_Shdr *n = rd_section(r, ".note.gnu.property");
    if (!n)
        return false;
    const uint8_t *p = r->b.data + n->sh_offset, *end = p + n->sh_size;
    while (end - p >= 12) {
        uint32_t namesz = hp_rd32(p), descsz = hp_rd32(p + 4), type = hp_rd32(p + 8);
        const uint8_t *desc = p + hp_align_up(12 + namesz, 8);
        if (desc > end || (uint64_t)(end - desc) < descsz)
            return false;
        if (type == NT_GNU_PROPERTY_TYPE_0) {
            for (const uint8_t *q = desc; desc + descsz - q >= 8;) {
                uint32_t t = hp_rd32(q), sz = hp_rd32(q + 4);
                if (t == GNU_PROPERTY_X86_FEATURE_1_AND && sz == 4) {
                    *bits = hp_rd32(q + 8);
                    return true;
                }
                q += 8 + hp_align_up(sz, 8);
            }
        }
        p = desc + hp_align_up(descsz, 8);
    }
    return false;
}

/* ===================================================================== */
/* A tiny ELF built in memory                                              */
/* ===================================================================== */

/* Layout (file offsets; vaddr = 0x400000 + offset in the first PT_LOAD):
 *   0x000 Ehdr            0x040 Phdr[2]
 *   0x100 .text (f: 0x10 bytes, g: 0x10 bytes)
 *   0x120 .strtab         0x130 .symtab (null, f, g)
 *   0x180 .shstrtab       0x1c0 .note.gnu.property (IBT | SHSTK)
 *   0x200 Shdr[7]         0x3c0 end
 * PT_LOAD 0: [0, 0x1e0) R+X at 0x400000. PT_LOAD 1: RW at 0x4011e0, one
 * page in memory, 0x20 bytes of file (.data). */
enum {
    MINI_TEXT = 0x100,
    MINI_STRTAB = 0x120,
    MINI_SYMTAB = 0x130,
    MINI_SHSTRTAB = 0x180,
    MINI_NOTE = 0x1c0,
    MINI_DATA = 0x1e0,
    MINI_SHDRS = 0x200,
    MINI_NSEC = 7,
    MINI_SIZE = MINI_SHDRS + MINI_NSEC * 64,
};
enum { SEC_TEXT = 1, SEC_SYMTAB, SEC_STRTAB, SEC_SHSTRTAB, SEC_NOTE, SEC_DATA };
static const char mini_shstr[] = "\0.text\0.symtab\0.strtab\0.shstrtab\0.note.gnu.property\0.data";

typedef struct mini {
    uint8_t d[MINI_SIZE];
} mini;

static Elf64_Ehdr *mini_eh(mini *m) { return (Elf64_Ehdr *)m->d; }
static Elf64_Phdr *mini_ph(mini *m) { return (Elf64_Phdr *)(m->d + 0x40); }
static Elf64_Shdr *mini_sh(mini *m) { return (Elf64_Shdr *)(m->d + MINI_SHDRS); }
static Elf64_Sym *mini_sym(mini *m) { return (Elf64_Sym *)(m->d + MINI_SYMTAB); }

static uint32_t mini_name(const char *sec)
{
    for (uint32_t i = 1; i < sizeof mini_shstr; i += (uint32_t)strlen(mini_shstr + i) + 1)
        if (!strcmp(mini_shstr + i, sec))
            return i;
    fail_msg("no section name %s", sec);
    return 0;
}

static void mini_build(mini *m)
{
    memset(m, 0, sizeof *m);
    Elf64_Ehdr *eh = mini_eh(m);
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_entry = 0x400100;
    eh->e_phoff = 0x40;
    eh->e_shoff = MINI_SHDRS;
    eh->e_ehsize = sizeof *eh;
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 2;
    eh->e_shentsize = sizeof(Elf64_Shdr);
    eh->e_shnum = MINI_NSEC;
    eh->e_shstrndx = SEC_SHSTRTAB;

    Elf64_Phdr *ph = mini_ph(m);
    ph[0] = (Elf64_Phdr){PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x400000, MINI_DATA, MINI_DATA, 0x1000};
    ph[1] = (Elf64_Phdr){PT_LOAD, PF_R | PF_W, MINI_DATA, 0x4011e0, 0x4011e0, 0x20, 0x1000, 0x1000};

    /* f: mov eax, 1; ret + int3 padding; g: mov eax, 2; ret + padding */
    static const uint8_t f[] = {0xb8, 1, 0, 0, 0, 0xc3};
    static const uint8_t g[] = {0xb8, 2, 0, 0, 0, 0xc3};
    memset(m->d + MINI_TEXT, 0xcc, 0x20);
    memcpy(m->d + MINI_TEXT, f, sizeof f);
    memcpy(m->d + MINI_TEXT + 0x10, g, sizeof g);

    memcpy(m->d + MINI_STRTAB, "\0f\0g\0", 5);
    Elf64_Sym *sym = mini_sym(m);
    sym[1] = (Elf64_Sym){1, ELF64_ST_INFO(STB_GLOBAL, STT_FUNC), 0, SEC_TEXT, 0x400100, 0x10};
    sym[2] = (Elf64_Sym){3, ELF64_ST_INFO(STB_GLOBAL, STT_FUNC), 0, SEC_TEXT, 0x400110, 0x10};

    memcpy(m->d + MINI_SHSTRTAB, mini_shstr, sizeof mini_shstr);

    /* NT_GNU_PROPERTY_TYPE_0: namesz 4 "GNU", one property, 8-aligned */
    uint8_t *n = m->d + MINI_NOTE;
    hp_wr32(n, 4);
    hp_wr32(n + 4, 16);
    hp_wr32(n + 8, NT_GNU_PROPERTY_TYPE_0);
    memcpy(n + 12, "GNU", 4);
    hp_wr32(n + 16, GNU_PROPERTY_X86_FEATURE_1_AND);
    hp_wr32(n + 20, 4);
    hp_wr32(n + 24, GNU_PROPERTY_X86_FEATURE_1_IBT | GNU_PROPERTY_X86_FEATURE_1_SHSTK);

    Elf64_Shdr *sh = mini_sh(m);
    sh[SEC_TEXT] = (Elf64_Shdr){mini_name(".text"), SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR,
                                0x400100, MINI_TEXT, 0x20, 0, 0, 16, 0};
    sh[SEC_SYMTAB] = (Elf64_Shdr){mini_name(".symtab"), SHT_SYMTAB, 0, 0, MINI_SYMTAB,
                                  3 * sizeof(Elf64_Sym), SEC_STRTAB, 1, 8, sizeof(Elf64_Sym)};
    sh[SEC_STRTAB] = (Elf64_Shdr){mini_name(".strtab"), SHT_STRTAB, 0, 0, MINI_STRTAB, 5, 0, 0, 1, 0};
    sh[SEC_SHSTRTAB] = (Elf64_Shdr){mini_name(".shstrtab"), SHT_STRTAB, 0, 0, MINI_SHSTRTAB,
                                    sizeof mini_shstr, 0, 0, 1, 0};
    sh[SEC_NOTE] = (Elf64_Shdr){mini_name(".note.gnu.property"), SHT_NOTE, SHF_ALLOC, 0x4001c0,
                                MINI_NOTE, 32, 0, 0, 8, 0};
    sh[SEC_DATA] = (Elf64_Shdr){mini_name(".data"), SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 0x4011e0,
                                MINI_DATA, 0x20, 0, 0, 8, 0};
}

/* Open m (size bytes of it); expect HP_ERR_FORMAT and a diagnostic that
 * contains `want`. */
static void expect_format_error(const mini *m, size_t size, const char *want)
{
    hp_diags d = {0};
    hp_image *img = (hp_image *)0x1;
    hp_status s = hp_image_open_mem(m->d, size, "mini", &d, &img);
    if (s != HP_ERR_FORMAT)
        fail_msg("expected HP_ERR_FORMAT for '%s', got %s", want, hp_status_str(s));
    assert_null(img);
    assert_true(d.errors >= 1);
    assert_true(d.n >= 1);
    bool found = false;
    for (size_t i = 0; i < d.n; i++) {
        assert_non_null(d.v[i].msg);
        assert_true(d.v[i].msg[0] != 0);
        found |= strstr(d.v[i].msg, want) != NULL;
    }
    if (!found)
        fail_msg("no diagnostic mentions '%s' (first: '%s')", want, d.v[0].msg);
    hp_diags_free(&d);
}

static hp_image *open_ok(const uint8_t *data, size_t size, hp_diags *d)
{
    hp_image *img = NULL;
    hp_status s = hp_image_open_mem(data, size, "mem", d, &img);
    if (s != HP_OK)
        fail_msg("open failed: %s: %s", hp_status_str(s), d->n ? d->v[0].msg : "");
    assert_non_null(img);
    return img;
}

static const hp_symbol *find_sym(const hp_image *img, const char *name)
{
    for (size_t i = 0; i < img->nsyms; i++)
        if (!strcmp(img->syms[i].name, name))
            return &img->syms[i];
    return NULL;
}

/* ---- reading the tiny ELF */

static void test_mini_loads(void **state)
{
    (void)state;
    mini m;
    mini_build(&m);
    hp_diags d = {0};
    hp_image *img = open_ok(m.d, sizeof m.d, &d);
    assert_int_equal(img->kind, HP_FMT_ELF);
    assert_ptr_equal(img->fmt, &hp_format_elf);
    assert_false(img->pic);
    assert_false(img->shared);
    assert_true(img->has_symtab);
    assert_int_equal(img->nsegs, 2);
    assert_int_equal(img->segs[0].va, 0x400000);
    assert_int_equal(img->segs[0].file_size, MINI_DATA);
    assert_int_equal(img->segs[0].prot, HP_PROT_R | HP_PROT_X);
    assert_int_equal(img->segs[1].va, 0x4011e0);
    assert_int_equal(img->segs[1].mem_size, 0x1000);
    assert_int_equal(img->segs[1].prot, HP_PROT_R | HP_PROT_W);
    assert_int_equal(img->base_va, 0x400000);
    const hp_symbol *f = find_sym(img, "f"), *g = find_sym(img, "g");
    assert_non_null(f);
    assert_non_null(g);
    assert_int_equal(f->va, 0x400100);
    assert_int_equal(f->size, 0x10);
    assert_int_equal(f->kind, HP_SYM_FUNC);
    assert_int_equal(g->va, 0x400110);
    /* names point into the string table, not copies */
    assert_ptr_equal(f->name, (const char *)m.d + MINI_STRTAB + 1);
    assert_ptr_equal(g->name, (const char *)m.d + MINI_STRTAB + 3);
    assert_int_equal(img->nstrs, 0);
    assert_ptr_equal(hp_image_bytes(img, 0x400100, 6), m.d + MINI_TEXT);
    assert_null(img->prior_info);
    assert_int_equal(d.errors, 0);
    hp_image_close(img);
    hp_diags_free(&d);
}

static void test_mini_ibt_note(void **state)
{
    (void)state;
    /* .note.gnu.property with namesz 4: the descriptor is at offset 16 of
     * the note (12-byte header + "GNU\0", 8-aligned). */
    mini m;
    mini_build(&m);
    hp_diags d = {0};
    hp_image *img = open_ok(m.d, sizeof m.d, &d);
    bool with = img->ibt;
    hp_image_close(img);
    /* without the IBT bit */
    hp_wr32(m.d + MINI_NOTE + 24, GNU_PROPERTY_X86_FEATURE_1_SHSTK);
    img = open_ok(m.d, sizeof m.d, &d);
    bool without = img->ibt;
    hp_image_close(img);
    hp_diags_free(&d);
    assert_true(with);
    assert_false(without);
}

static void test_mini_bad_notes_do_not_crash(void **state)
{
    (void)state;
    static const uint32_t bad[][3] = {
        {4, 0xffffffffu, NT_GNU_PROPERTY_TYPE_0}, /* descsz past the section */
        {0xfffffff0u, 16, NT_GNU_PROPERTY_TYPE_0},
        {4, 16, 1},
        {0, 0, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mini m;
        mini_build(&m);
        hp_wr32(m.d + MINI_NOTE, bad[i][0]);
        hp_wr32(m.d + MINI_NOTE + 4, bad[i][1]);
        hp_wr32(m.d + MINI_NOTE + 8, bad[i][2]);
        hp_diags d = {0};
        hp_image *img = open_ok(m.d, sizeof m.d, &d);
        assert_false(img->ibt);
        hp_image_close(img);
        hp_diags_free(&d);
    }
    /* a property whose size runs past the descriptor */
    mini m;
    mini_build(&m);
    hp_wr32(m.d + MINI_NOTE + 20, 0x1000);
    hp_diags d = {0};
    hp_image *img = open_ok(m.d, sizeof m.d, &d);
    assert_false(img->ibt);
    hp_image_close(img);
    hp_diags_free(&d);
}

/* ---- malformed tiny ELFs */

static void test_bad_header(void **state)
{
    (void)state;
    mini m;
    mini_build(&m);
    expect_format_error(&m, 63, "truncated ELF header");
    expect_format_error(&m, 4, "truncated ELF header");

    mini_build(&m);
    m.d[EI_CLASS] = ELFCLASS32;
    expect_format_error(&m, sizeof m.d, "a 32-bit ELF file (machine 62, x86-64)");
    mini_build(&m);
    m.d[EI_DATA] = ELFDATA2MSB;
    expect_format_error(&m, sizeof m.d, "little-endian");
    mini_build(&m);
    mini_eh(&m)->e_machine = EM_RISCV;
    expect_format_error(&m, sizeof m.d, "ELF machine 243 (RISC-V) is not supported");
    mini_build(&m);
    mini_eh(&m)->e_machine = 0x7777;
    expect_format_error(&m, sizeof m.d, "ELF machine 30583 (unknown)");
    mini_build(&m);
    mini_eh(&m)->e_type = ET_REL;
    expect_format_error(&m, sizeof m.d, "relocatable");
    mini_build(&m);
    mini_eh(&m)->e_type = ET_CORE;
    expect_format_error(&m, sizeof m.d, "not an executable");
}

static void test_bad_phdrs(void **state)
{
    (void)state;
    mini m;
    mini_build(&m);
    mini_eh(&m)->e_phnum = 0;
    expect_format_error(&m, sizeof m.d, "program header table");
    mini_build(&m);
    mini_eh(&m)->e_phentsize = 32;
    expect_format_error(&m, sizeof m.d, "program header table");
    mini_build(&m);
    mini_eh(&m)->e_phnum = PN_XNUM;
    expect_format_error(&m, sizeof m.d, "program header table");

    /* table out of bounds: past the end, straddling it, offset overflow */
    mini_build(&m);
    mini_eh(&m)->e_phoff = sizeof m.d;
    expect_format_error(&m, sizeof m.d, "outside the file");
    mini_build(&m);
    mini_eh(&m)->e_phoff = sizeof m.d - 0x40;
    expect_format_error(&m, sizeof m.d, "outside the file");
    mini_build(&m);
    mini_eh(&m)->e_phoff = UINT64_MAX - 0x10;
    expect_format_error(&m, sizeof m.d, "outside the file");
    mini_build(&m);
    expect_format_error(&m, 0x60, "outside the file"); /* file ends inside the table */
}

static void test_bad_loads(void **state)
{
    (void)state;
    mini m;
    mini_build(&m);
    mini_ph(&m)[1].p_filesz = sizeof m.d; /* offset + size past the end */
    expect_format_error(&m, sizeof m.d, "outside the file");
    mini_build(&m);
    mini_ph(&m)[1].p_offset = UINT64_MAX - 0x10;
    expect_format_error(&m, sizeof m.d, "outside the file");
    mini_build(&m);
    mini_ph(&m)[1].p_memsz = 0x10; /* filesz 0x20 > memsz */
    expect_format_error(&m, sizeof m.d, "inconsistent sizes");
    mini_build(&m);
    mini_ph(&m)[1].p_vaddr = UINT64_MAX - 0x100; /* vaddr + memsz wraps */
    expect_format_error(&m, sizeof m.d, "inconsistent sizes");
    mini_build(&m);
    mini_ph(&m)[1].p_vaddr = 0x400100; /* overlaps the first */
    expect_format_error(&m, sizeof m.d, "overlap");
    mini_build(&m);
    Elf64_Phdr t = mini_ph(&m)[0];
    mini_ph(&m)[0] = mini_ph(&m)[1];
    mini_ph(&m)[1] = t; /* not sorted */
    expect_format_error(&m, sizeof m.d, "not sorted");
    mini_build(&m);
    mini_ph(&m)[0].p_type = PT_NOTE;
    mini_ph(&m)[1].p_type = PT_NULL;
    expect_format_error(&m, sizeof m.d, "no loadable segment");
    mini_build(&m);
    mini_ph(&m)[1].p_type = PT_DYNAMIC; /* PT_DYNAMIC out of the file */
    mini_ph(&m)[1].p_offset = sizeof m.d - 8;
    expect_format_error(&m, sizeof m.d, "PT_DYNAMIC");
}

static void test_bad_sections(void **state)
{
    (void)state;
    mini m;
    mini_build(&m);
    mini_eh(&m)->e_shentsize = 40;
    expect_format_error(&m, sizeof m.d, "section header size");
    mini_build(&m);
    mini_eh(&m)->e_shoff = sizeof m.d; /* the table out of bounds */
    expect_format_error(&m, sizeof m.d, "outside the file");
    mini_build(&m);
    mini_eh(&m)->e_shoff = UINT64_MAX - 0x20;
    expect_format_error(&m, sizeof m.d, "outside the file");
    mini_build(&m);
    mini_eh(&m)->e_shnum = 200;
    expect_format_error(&m, sizeof m.d, "outside the file");
    mini_build(&m);
    expect_format_error(&m, sizeof m.d - 1, "outside the file"); /* last header cut */
    mini_build(&m);
    mini_eh(&m)->e_shnum = 0; /* the SHN_LORESERVE escape, with a huge count */
    mini_sh(&m)[0].sh_size = 0x100000000ull;
    expect_format_error(&m, sizeof m.d, "outside the file");

    /* one section out of bounds */
    mini_build(&m);
    mini_sh(&m)[SEC_DATA].sh_size = sizeof m.d;
    expect_format_error(&m, sizeof m.d, "section 6");
    mini_build(&m);
    mini_sh(&m)[SEC_TEXT].sh_offset = UINT64_MAX - 4;
    expect_format_error(&m, sizeof m.d, "section 1");

    /* the section name table */
    mini_build(&m);
    mini_eh(&m)->e_shstrndx = MINI_NSEC;
    expect_format_error(&m, sizeof m.d, "out of range");
    mini_build(&m);
    mini_eh(&m)->e_shstrndx = SEC_TEXT;
    expect_format_error(&m, sizeof m.d, "not a string table");
    /* section 0 is never bounds-checked, so never taken as a table */
    mini_build(&m);
    mini_sh(&m)[0] = (Elf64_Shdr){0, SHT_STRTAB, 0, 0, 0xfffffff0u, 0x100, 0, 0, 1, 0};
    mini_eh(&m)->e_shstrndx = 0;
    expect_format_error(&m, sizeof m.d, "not a string table");
}

static void test_bad_symtab(void **state)
{
    (void)state;
    mini m;
    mini_build(&m);
    mini_sh(&m)[SEC_SYMTAB].sh_entsize = 16;
    expect_format_error(&m, sizeof m.d, "malformed");
    mini_build(&m);
    mini_sh(&m)[SEC_SYMTAB].sh_entsize = 0;
    expect_format_error(&m, sizeof m.d, "malformed");
    mini_build(&m);
    mini_sh(&m)[SEC_SYMTAB].sh_link = MINI_NSEC;
    expect_format_error(&m, sizeof m.d, "malformed");
    mini_build(&m);
    mini_sh(&m)[SEC_SYMTAB].sh_link = 0xffffffffu;
    expect_format_error(&m, sizeof m.d, "malformed");
    mini_build(&m);
    mini_sh(&m)[SEC_SYMTAB].sh_link = SEC_TEXT;
    expect_format_error(&m, sizeof m.d, "non-string table");
    mini_build(&m);
    mini_sym(&m)[2].st_name = 5; /* == strtab size */
    expect_format_error(&m, sizeof m.d, "outside its string table");
    mini_build(&m);
    mini_sym(&m)[2].st_name = 0xffffffffu;
    expect_format_error(&m, sizeof m.d, "outside its string table");
    /* unterminated: the string table's last byte is not NUL */
    mini_build(&m);
    m.d[MINI_STRTAB + 4] = 'x';
    expect_format_error(&m, sizeof m.d, "unterminated");
    /* "g" runs to the table's end, with a NUL just past it */
    mini_build(&m);
    mini_sh(&m)[SEC_STRTAB].sh_size = 4;
    expect_format_error(&m, sizeof m.d, "unterminated");
    /* a name that starts on the table's last byte */
    mini_build(&m);
    m.d[MINI_STRTAB + 4] = 'x';
    mini_sym(&m)[2].st_name = 4;
    expect_format_error(&m, sizeof m.d, "unterminated");
    /* section 0 as the string table: never bounds-checked, never used */
    mini_build(&m);
    mini_sh(&m)[0] = (Elf64_Shdr){0, SHT_STRTAB, 0, 0, 0xfffffff0u, 0x100, 0, 0, 1, 0};
    mini_sh(&m)[SEC_SYMTAB].sh_link = 0;
    expect_format_error(&m, sizeof m.d, "non-string table");
}

static void test_odd_but_valid(void **state)
{
    (void)state;
    /* An unterminated section name only loses the name. */
    mini m;
    mini_build(&m);
    mini_sh(&m)[SEC_TEXT].sh_name = sizeof mini_shstr + 100;
    hp_diags d = {0};
    hp_image *img = open_ok(m.d, sizeof m.d, &d);
    hp_image_close(img);
    /* No section headers at all (sstrip): no symbols, still an image. */
    mini_build(&m);
    mini_eh(&m)->e_shoff = 0;
    mini_eh(&m)->e_shnum = 0;
    img = open_ok(m.d, sizeof m.d, &d);
    assert_int_equal(img->nsyms, 0);
    assert_int_equal(img->nsegs, 2);
    hp_image_close(img);
    /* Symbols outside every segment, undefined ones and a symtab whose size
     * is not a multiple of the entry size are skipped. */
    mini_build(&m);
    mini_sym(&m)[2].st_value = 0x900000;
    mini_sh(&m)[SEC_SYMTAB].sh_size = 3 * sizeof(Elf64_Sym) - 1;
    img = open_ok(m.d, sizeof m.d, &d);
    assert_non_null(find_sym(img, "f"));
    assert_null(find_sym(img, "g"));
    hp_image_close(img);
    /* A string table that does not end in a NUL is fine while every name
     * used ends inside it. */
    mini_build(&m);
    m.d[MINI_STRTAB + 5] = 'x';
    mini_sh(&m)[SEC_STRTAB].sh_size = 6;
    img = open_ok(m.d, sizeof m.d, &d);
    assert_non_null(find_sym(img, "f"));
    assert_non_null(find_sym(img, "g"));
    hp_image_close(img);
    assert_int_equal(d.errors, 0);
    hp_diags_free(&d);
}

/* Every prefix of the tiny ELF, and every single-byte corruption of its
 * headers and tables: no crash, no leak (under ASan), and an error always
 * comes with a diagnostic. */
static void test_mini_mutations(void **state)
{
    (void)state;
    mini m, orig;
    mini_build(&orig);
    for (size_t n = 0; n <= sizeof orig.d; n++) {
        hp_diags d = {0};
        hp_image *img = NULL;
        hp_status s = hp_image_open_mem(orig.d, n, "prefix", &d, &img);
        if (s != HP_OK) {
            assert_null(img);
            assert_true(d.errors >= 1);
        }
        hp_image_close(img);
        hp_diags_free(&d);
    }
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    for (size_t off = 0; off < sizeof orig.d; off++) {
        if (off >= MINI_TEXT && off < MINI_STRTAB)
            continue; /* code bytes: nothing parses them here */
        for (size_t k = 0; k < sizeof vals; k++) {
            m = orig;
            m.d[off] = vals[k];
            hp_diags d = {0};
            hp_image *img = NULL;
            hp_status s = hp_image_open_mem(m.d, sizeof m.d, "mutant", &d, &img);
            if (s != HP_OK) {
                assert_null(img);
                assert_true(d.errors >= 1);
            } else {
                /* what was loaded is consistent */
                for (size_t i = 0; i < img->nsyms; i++)
                    assert_non_null(hp_image_segment_at(img, img->syms[i].va));
            }
            hp_image_close(img);
            hp_diags_free(&d);
        }
    }
}

static void test_mini_alloc_failures(void **state)
{
    (void)state;
    mini m;
    mini_build(&m);
    long n;
    for (n = 0; n < 10000; n++) {
        hp_diags d = {0};
        hp_image *img = NULL;
        hp_mem_fail_after(n);
        hp_status s = hp_image_open_mem(m.d, sizeof m.d, "mini", &d, &img);
        hp_mem_fail_after(-1);
        hp_image_close(img);
        hp_diags_free(&d);
        if (s == HP_OK)
            break;
        assert_int_equal(s, HP_ERR_NOMEM);
    }
    assert_true(n > 3 && n < 10000);
}

/* ===================================================================== */
/* place + emit                                                            */
/* ===================================================================== */

/* The stub the patch jumps to: mov eax, 42; ret. */
static const uint8_t stub42[] = {0xb8, 42, 0, 0, 0, 0xc3};

typedef struct emitted {
    hp_layout lay;
    uint64_t patch_va;
    char sym_name[64];
} emitted;

/* place + emit img into out_path with: a text region holding stub42, one
 * patch `jmp stub` at fn's entry, one symbol naming the stub. When
 * land_pad is set the edit says an endbr64 was overwritten. */
static hp_status emit_one(hp_image *img, const hp_symbol *fn, const char *out_path,
                          bool land_pad, emitted *em)
{
    memset(em, 0, sizeof *em);
    hp_edit ed = {0};
    em->lay.size[HP_REGION_TEXT] = 16;
    hp_status s = img->fmt->place(img, &em->lay);
    if (s != HP_OK)
        return s;
    hp_region *text = &ed.regions[HP_REGION_TEXT];
    text->va = em->lay.va[HP_REGION_TEXT];
    text->mem_size = em->lay.size[HP_REGION_TEXT];
    text->prot = HP_PROT_R | HP_PROT_X;
    assert_int_equal(hp_buf_append(&text->bytes, stub42, sizeof stub42), HP_OK);
    assert_int_equal(hp_buf_align(&text->bytes, 16, 0xcc), HP_OK);

    hp_patch p = {.va = fn->va, .len = 5};
    const uint8_t *old = hp_image_bytes(img, fn->va, 5);
    assert_non_null(old);
    memcpy(p.orig, old, 5);
    p.bytes[0] = 0xe9;
    hp_wr32(p.bytes + 1, (uint32_t)(int32_t)(int64_t)(text->va - (fn->va + 5)));
    assert_int_equal(hp_edit_add_patch(&ed, &p), HP_OK);
    em->patch_va = fn->va;
    snprintf(em->sym_name, sizeof em->sym_name, "%s.hookpatch_stub", fn->name);
    assert_int_equal(hp_edit_add_sym(&ed, em->sym_name, text->va, sizeof stub42, true), HP_OK);
    ed.removed_landing_pad = land_pad;

    int fd = open(out_path, O_RDWR | O_CREAT | O_TRUNC, 0755);
    assert_true(fd >= 0);
    s = hp_image_emit(img, &ed, fd, NULL);
    assert_int_equal(close(fd), 0);
    hp_edit_free(&ed);
    return s;
}

/* The structural checks on an output written by emit_one. */
static void check_output(const char *in_path, const uint8_t *in_data, size_t in_size,
                         const char *out_path, const emitted *em)
{
    rd in = {0};
    if (in_path)
        in = rd_open(in_path);
    else {
        in.b.data = malloc(in_size);
        assert_non_null(in.b.data);
        memcpy(in.b.data, in_data, in_size);
        in.b.size = in_size;
        memcpy(&in.eh, in_data, sizeof in.eh);
        in.ph = calloc(in.eh.e_phnum, sizeof *in.ph);
        memcpy(in.ph, in_data + in.eh.e_phoff, in.eh.e_phnum * sizeof *in.ph);
    }
    rd out = rd_open(out_path);

    /* one more PT_LOAD, nothing else lost */
    assert_int_equal(out.eh.e_phnum, in.eh.e_phnum + 1);
    assert_int_equal(rd_nloads(&out), rd_nloads(&in) + 1);
    for (size_t i = 0; i < in.eh.e_phnum; i++) {
        bool same = false;
        for (size_t k = 0; k < out.eh.e_phnum; k++)
            same |= in.ph[i].p_type == out.ph[k].p_type &&
                    (in.ph[i].p_type == PT_PHDR ||
                     !memcmp(&in.ph[i], &out.ph[k], sizeof in.ph[i]));
        assert_true(same);
    }

    /* the new PT_LOAD: R+X, above everything, holding the phdr table */
    const Elf64_Phdr *nl = NULL;
    uint64_t in_end = 0;
    for (size_t i = 0; i < in.eh.e_phnum; i++)
        if (in.ph[i].p_type == PT_LOAD && in.ph[i].p_vaddr + in.ph[i].p_memsz > in_end)
            in_end = in.ph[i].p_vaddr + in.ph[i].p_memsz;
    for (size_t i = 0; i < out.eh.e_phnum; i++)
        if (out.ph[i].p_type == PT_LOAD && out.ph[i].p_vaddr >= in_end)
            nl = &out.ph[i];
    assert_non_null(nl);
    assert_int_equal(nl->p_flags, PF_R | PF_X);
    assert_true(nl->p_filesz == nl->p_memsz);
    assert_true(hp_in_bounds(nl->p_offset, nl->p_filesz, out.b.size));
    assert_true(out.eh.e_phoff >= nl->p_offset &&
                out.eh.e_phoff + out.eh.e_phnum * sizeof(Elf64_Phdr) <=
                    nl->p_offset + nl->p_filesz);
    assert_int_equal(nl->p_offset % nl->p_align, nl->p_vaddr % nl->p_align);

    /* AT_PHDR: old kernels compute first-load delta + e_phoff */
    const Elf64_Phdr *first = rd_first_load(&out);
    assert_int_equal(nl->p_vaddr - nl->p_offset, first->p_vaddr - first->p_offset);

    /* PT_PHDR, when the input had one, describes the new table */
    for (size_t i = 0; i < out.eh.e_phnum; i++) {
        if (out.ph[i].p_type != PT_PHDR)
            continue;
        assert_int_equal(out.ph[i].p_offset, out.eh.e_phoff);
        assert_int_equal(out.ph[i].p_vaddr, nl->p_vaddr + (out.eh.e_phoff - nl->p_offset));
        assert_int_equal(out.ph[i].p_filesz, out.eh.e_phnum * sizeof(Elf64_Phdr));
        assert_int_equal(out.ph[i].p_memsz, out.ph[i].p_filesz);
    }

    /* PT_LOADs sorted and disjoint */
    uint64_t prev_end = 0;
    for (size_t i = 0; i < out.eh.e_phnum; i++) {
        if (out.ph[i].p_type != PT_LOAD)
            continue;
        assert_true(out.ph[i].p_vaddr >= prev_end);
        prev_end = out.ph[i].p_vaddr + out.ph[i].p_memsz;
    }

    /* the text region and the patch */
    uint64_t text_va = em->lay.va[HP_REGION_TEXT];
    assert_true(text_va >= nl->p_vaddr && text_va + sizeof stub42 <= nl->p_vaddr + nl->p_memsz);
    assert_memory_equal(out.b.data + rd_va_to_off(&out, text_va), stub42, sizeof stub42);
    const uint8_t *pb = out.b.data + rd_va_to_off(&out, em->patch_va);
    assert_int_equal(pb[0], 0xe9);
    assert_int_equal(em->patch_va + 5 + (uint64_t)(int64_t)(int32_t)hp_rd32(pb + 1), text_va);

    if (out.sh) {
        const Elf64_Shdr *hs = rd_section(&out, ".hookpatch");
        assert_non_null(hs);
        assert_int_equal(hs->sh_type, SHT_PROGBITS);
        assert_int_equal(hs->sh_flags & (SHF_ALLOC | SHF_EXECINSTR), SHF_ALLOC | SHF_EXECINSTR);
        assert_int_equal(hs->sh_addr, text_va);
        assert_int_equal(rd_va_to_off(&out, text_va), hs->sh_offset);
        Elf64_Sym sym = {0};
        assert_true(rd_symbol(&out, em->sym_name, &sym));
        assert_int_equal(sym.st_value, text_va);
        assert_int_equal(sym.st_size, sizeof stub42);
        assert_int_equal(ELF64_ST_TYPE(sym.st_info), STT_FUNC);
        assert_true(sym.st_shndx < out.shnum);
        assert_ptr_equal(&out.sh[sym.st_shndx], hs);
        /* every section that was loaded still is, at the same place */
        for (size_t i = 1; in.sh && i < in.shnum; i++) {
            if (!(in.sh[i].sh_flags & SHF_ALLOC))
                continue;
            assert_int_equal(out.sh[i].sh_addr, in.sh[i].sh_addr);
            assert_int_equal(out.sh[i].sh_offset, in.sh[i].sh_offset);
            assert_int_equal(out.sh[i].sh_size, in.sh[i].sh_size);
        }
    }

    /* and it opens again, showing the new segment and symbol */
    hp_diags d = {0};
    hp_image *img = NULL;
    hp_status s = hp_image_open(out_path, &d, &img);
    if (s != HP_OK)
        fail_msg("re-open failed: %s", d.n ? d.v[0].msg : hp_status_str(s));
    assert_non_null(hp_image_segment_at(img, text_va));
    assert_ptr_equal(hp_image_segment_at(img, text_va)->va, nl->p_vaddr);
    if (out.sh) {
        const hp_symbol *ns = find_sym(img, em->sym_name);
        assert_non_null(ns);
        assert_int_equal(ns->va, text_va);
        assert_non_null(img->prior_info); /* a second run would refuse */
    }
    hp_image_close(img);
    hp_diags_free(&d);
    rd_close(&out);
    rd_close(&in);
}

static void test_mini_emit(void **state)
{
    (void)state;
    mini m;
    mini_build(&m);
    hp_diags d = {0};
    hp_image *img = open_ok(m.d, sizeof m.d, &d);
    char out[600];
    path_in_dir(out, sizeof out, "mini.out");
    emitted em;
    assert_int_equal(emit_one(img, find_sym(img, "g"), out, false, &em), HP_OK);
    check_output(NULL, m.d, sizeof m.d, out, &em);
    /* IBT stays when no endbr64 was overwritten */
    rd r = rd_open(out);
    uint32_t bits = 0;
    assert_true(rd_x86_features(&r, &bits));
    assert_int_equal(bits, GNU_PROPERTY_X86_FEATURE_1_IBT | GNU_PROPERTY_X86_FEATURE_1_SHSTK);
    rd_close(&r);
    hp_image_close(img);
    hp_diags_free(&d);
}

static void test_mini_emit_clears_ibt(void **state)
{
    (void)state;
    mini m;
    mini_build(&m);
    hp_diags d = {0};
    hp_image *img = open_ok(m.d, sizeof m.d, &d);
    char out[600];
    path_in_dir(out, sizeof out, "mini-ibt.out");
    emitted em;
    assert_int_equal(emit_one(img, find_sym(img, "f"), out, true, &em), HP_OK);
    hp_image_close(img);
    hp_diags_free(&d);
    rd r = rd_open(out);
    uint32_t bits = 0;
    bool found = rd_x86_features(&r, &bits);
    rd_close(&r);
    assert_true(found);
    assert_int_equal(bits, GNU_PROPERTY_X86_FEATURE_1_SHSTK); /* IBT cleared, SHSTK kept */
}

static void test_mini_emit_no_sections(void **state)
{
    (void)state;
    /* sstripped input: no section table to extend; the segment and the
     * patch are still written and the output opens. */
    mini m;
    mini_build(&m);
    hp_diags d = {0};
    hp_image *img = open_ok(m.d, sizeof m.d, &d);
    hp_symbol f = *find_sym(img, "f");
    f.name = "f"; /* the image's copy goes with it */
    hp_image_close(img);
    mini_eh(&m)->e_shoff = 0;
    mini_eh(&m)->e_shnum = 0;
    mini_eh(&m)->e_shstrndx = 0;
    img = open_ok(m.d, sizeof m.d, &d);
    char out[600];
    path_in_dir(out, sizeof out, "mini-nosec.out");
    emitted em;
    assert_int_equal(emit_one(img, &f, out, false, &em), HP_OK);
    check_output(NULL, m.d, sizeof m.d, out, &em);
    hp_image_close(img);
    hp_diags_free(&d);
}

static void test_mini_emit_alloc_failures(void **state)
{
    (void)state;
    mini m;
    mini_build(&m);
    char out[600];
    path_in_dir(out, sizeof out, "mini-nomem.out");
    long n;
    for (n = 0; n < 10000; n++) {
        hp_diags d = {0};
        hp_image *img = open_ok(m.d, sizeof m.d, &d);
        hp_symbol g = *find_sym(img, "g");
        hp_layout lay = {.size = {16}};
        assert_int_equal(img->fmt->place(img, &lay), HP_OK);
        hp_edit ed = {0};
        ed.regions[0].va = lay.va[0];
        ed.regions[0].mem_size = 16;
        assert_int_equal(hp_buf_append(&ed.regions[0].bytes, stub42, sizeof stub42), HP_OK);
        hp_patch p = {.va = g.va, .len = 5, .bytes = {0xe9}};
        assert_int_equal(hp_edit_add_patch(&ed, &p), HP_OK);
        assert_int_equal(hp_edit_add_sym(&ed, "g.hookpatch_stub", lay.va[0], 6, true), HP_OK);
        int fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        hp_mem_fail_after(n);
        hp_status s = hp_image_emit(img, &ed, fd, NULL);
        hp_mem_fail_after(-1);
        close(fd);
        hp_edit_free(&ed);
        hp_image_close(img);
        hp_diags_free(&d);
        if (s == HP_OK)
            break;
        assert_int_equal(s, HP_ERR_NOMEM);
    }
    assert_true(n > 0 && n < 10000);
}

/* ===================================================================== */
/* Compiled programs                                                       */
/* ===================================================================== */

static bool g_have_gcc;

/* hp_probe_fn returns x + 1; noipa keeps gcc from folding it into main,
 * so the program's exit status (2 with no arguments) comes from it. The
 * patched program exits with 42. */
static const char prog_src[] =
    "__attribute__((noinline, noipa)) int hp_probe_fn(int x) { return x + 1; }\n"
    "int main(int argc, char **argv) { (void)argv; return hp_probe_fn(argc); }\n";

static bool compile(const char *flags, const char *src_name, const char *out_name)
{
    char src[600], out[600], cmd[2048];
    path_in_dir(src, sizeof src, src_name);
    path_in_dir(out, sizeof out, out_name);
    FILE *f = fopen(src, "w");
    assert_non_null(f);
    fputs(prog_src, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "gcc -O0 %s '%s' -o '%s' >/dev/null 2>&1", flags, src, out);
    return system(cmd) == 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "%s/test_elf.XXXXXX", HP_BINARY_DIR);
    if (!mkdtemp(g_dir))
        return -1;
    g_have_gcc = system("gcc --version >/dev/null 2>&1") == 0;
    if (!g_have_gcc)
        return 0;
    char a[600], b[600], cmd[1300];
    bool ok = compile("-fPIE -pie", "p.c", "pie") && compile("-fno-pie -no-pie", "p.c", "nopie") &&
              compile("-fPIC -shared", "p.c", "lib.so") &&
              compile("-fPIE -pie -fcf-protection=full -Wl,-z,ibt,-z,shstk", "p.c", "cet");
    path_in_dir(a, sizeof a, "pie");
    path_in_dir(b, sizeof b, "stripped");
    snprintf(cmd, sizeof cmd, "strip -o '%s' '%s' >/dev/null 2>&1", b, a);
    return ok && system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static hp_image *open_file(const char *name)
{
    char p[600];
    path_in_dir(p, sizeof p, name);
    hp_diags *d = calloc(1, sizeof *d); /* freed by close_file */
    assert_non_null(d);
    hp_image *img = NULL;
    hp_status s = hp_image_open(p, d, &img);
    if (s != HP_OK)
        fail_msg("%s: %s", name, d->n ? d->v[0].msg : hp_status_str(s));
    return img;
}

static void close_file(hp_image *img)
{
    hp_diags *d = img->diags;
    hp_image_close(img);
    hp_diags_free(d);
    free(d);
}

static void test_compiled_kinds(void **state)
{
    (void)state;
    if (!g_have_gcc)
        skip();
    static const struct {
        const char *name;
        bool pic, shared;
    } k[] = {{"pie", true, false}, {"nopie", false, false}, {"lib.so", true, true}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        hp_image *img = open_file(k[i].name);
        assert_int_equal(img->pic, k[i].pic);
        assert_int_equal(img->shared, k[i].shared);
        assert_true(img->has_dynreloc);
        assert_true(img->has_symtab);
        assert_true(img->nsegs >= 2);
        for (size_t s = 1; s < img->nsegs; s++)
            assert_true(img->segs[s - 1].va + img->segs[s - 1].mem_size <= img->segs[s].va);
        const hp_symbol *f = find_sym(img, "hp_probe_fn");
        assert_non_null(f);
        assert_int_equal(f->kind, HP_SYM_FUNC);
        assert_true(f->size >= 5);
        assert_non_null(hp_image_bytes(img, f->va, f->size));
        const hp_segment *seg = hp_image_segment_at(img, f->va);
        assert_non_null(seg);
        assert_true(seg->prot & HP_PROT_X);
        assert_ptr_equal(hp_image_sym_at(img, f->va), f);
        close_file(img);
    }
}

static void test_compiled_stripped(void **state)
{
    (void)state;
    if (!g_have_gcc)
        skip();
    hp_image *img = open_file("stripped");
    assert_false(img->has_symtab);
    assert_null(find_sym(img, "hp_probe_fn")); /* local: gone with .symtab */
    close_file(img);
}

static void test_compiled_ibt(void **state)
{
    (void)state;
    if (!g_have_gcc)
        skip();
    hp_image *img = open_file("cet");
    bool cet = img->ibt;
    close_file(img);
    img = open_file("pie");
    bool plain = img->ibt;
    close_file(img);
    assert_true(cet);
    assert_false(plain);
}

/* Patch hp_probe_fn of `name` into `out_name`; check the output. */
static void emit_compiled(const char *name, const char *out_name, bool land_pad)
{
    char in[600], out[600];
    path_in_dir(in, sizeof in, name);
    path_in_dir(out, sizeof out, out_name);
    hp_image *img = open_file(name);
    const hp_symbol *f = find_sym(img, "hp_probe_fn");
    if (!f)
        fail_msg("no hp_probe_fn in %s", name);
    emitted em;
    assert_int_equal(emit_one(img, f, out, land_pad, &em), HP_OK);
    check_output(in, NULL, 0, out, &em);
    close_file(img);
}

static void test_emit_pie_runs(void **state)
{
    (void)state;
    if (!g_have_gcc)
        skip();
    char in[600], out[600];
    path_in_dir(in, sizeof in, "pie");
    path_in_dir(out, sizeof out, "pie.out");
    assert_int_equal(run_status(in), 2);
    emit_compiled("pie", "pie.out", false);
    assert_int_equal(run_status(out), 42);
}

static void test_emit_nopie_runs(void **state)
{
    (void)state;
    if (!g_have_gcc)
        skip();
    char in[600], out[600];
    path_in_dir(in, sizeof in, "nopie");
    path_in_dir(out, sizeof out, "nopie.out");
    assert_int_equal(run_status(in), 2);
    emit_compiled("nopie", "nopie.out", false);
    assert_int_equal(run_status(out), 42);
}

static void test_emit_shared_dlopen(void **state)
{
    (void)state;
    if (!g_have_gcc)
        skip();
    char out[600];
    path_in_dir(out, sizeof out, "lib.out.so");
    emit_compiled("lib.so", "lib.out.so", false);
    void *h = dlopen(out, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        fail_msg("dlopen: %s", dlerror());
    int (*fn)(int) = (int (*)(int))dlsym(h, "hp_probe_fn");
    assert_non_null(fn);
    assert_int_equal(fn(1), 42);
    dlclose(h);
}

static void test_emit_stripped_adds_symtab(void **state)
{
    (void)state;
    if (!g_have_gcc)
        skip();
    /* The stripped binary has no .symtab: emit creates one for the new
     * symbol. The patch target comes from the unstripped twin. */
    hp_image *twin = open_file("pie");
    hp_symbol f = *find_sym(twin, "hp_probe_fn");
    f.name = "hp_probe_fn";
    close_file(twin);
    char in[600], out[600];
    path_in_dir(in, sizeof in, "stripped");
    path_in_dir(out, sizeof out, "stripped.out");
    hp_image *img = open_file("stripped");
    emitted em;
    assert_int_equal(emit_one(img, &f, out, false, &em), HP_OK);
    check_output(in, NULL, 0, out, &em);
    rd r = rd_open(out);
    const Elf64_Shdr *st = rd_section(&r, ".symtab");
    assert_non_null(st);
    assert_int_equal(st->sh_type, SHT_SYMTAB);
    assert_non_null(rd_section(&r, ".strtab"));
    rd_close(&r);
    close_file(img);
    assert_int_equal(run_status(out), 42);
}

static void test_emit_cet_clears_ibt(void **state)
{
    (void)state;
    if (!g_have_gcc)
        skip();
    char out[600];
    path_in_dir(out, sizeof out, "cet.out");
    emit_compiled("cet", "cet.out", true);
    rd r = rd_open(out);
    uint32_t bits = 0;
    bool found = rd_x86_features(&r, &bits);
    rd_close(&r);
    assert_true(found);
    assert_int_equal(bits & GNU_PROPERTY_X86_FEATURE_1_IBT, 0);
    assert_int_equal(bits & GNU_PROPERTY_X86_FEATURE_1_SHSTK, GNU_PROPERTY_X86_FEATURE_1_SHSTK);
    assert_int_equal(run_status(out), 42);
}

static void test_compiled_truncations(void **state)
{
    (void)state;
    if (!g_have_gcc)
        skip();
    /* Every prefix at a coarse stride, and around the tables: no crash. */
    char p[600];
    path_in_dir(p, sizeof p, "pie");
    blob b = read_file(p);
    Elf64_Ehdr eh;
    memcpy(&eh, b.data, sizeof eh);
    size_t marks[] = {eh.e_phoff, eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr), eh.e_shoff,
                      b.size - 1};
    for (size_t n = 0; n < b.size; n += n < 256 ? 1 : 997) {
        hp_diags d = {0};
        hp_image *img = NULL;
        hp_status s = hp_image_open_mem(b.data, n, "trunc", &d, &img);
        assert_true(s == HP_OK || s == HP_ERR_FORMAT);
        assert_true(s == HP_OK || d.errors > 0);
        hp_image_close(img);
        hp_diags_free(&d);
    }
    for (size_t m = 0; m < sizeof marks / sizeof marks[0]; m++) {
        for (size_t n = marks[m] > 8 ? marks[m] - 8 : 0; n <= marks[m] + 8 && n <= b.size; n++) {
            hp_diags d = {0};
            hp_image *img = NULL;
            hp_status s = hp_image_open_mem(b.data, n, "trunc", &d, &img);
            assert_true(s == HP_OK || d.errors > 0);
            hp_image_close(img);
            hp_diags_free(&d);
        }
    }
    free(b.data);
}

static void test_compiled_alloc_failures(void **state)
{
    (void)state;
    if (!g_have_gcc)
        skip();
    char p[600];
    path_in_dir(p, sizeof p, "pie");
    long n;
    for (n = 0; n < 100000; n++) {
        hp_diags d = {0};
        hp_image *img = NULL;
        hp_mem_fail_after(n);
        hp_status s = hp_image_open(p, &d, &img);
        hp_mem_fail_after(-1);
        hp_image_close(img);
        hp_diags_free(&d);
        if (s == HP_OK)
            break;
        assert_int_equal(s, HP_ERR_NOMEM);
    }
    assert_true(n > 5 && n < 100000); /* names are not copied: few allocations */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mini_loads),
        cmocka_unit_test(test_mini_ibt_note),
        cmocka_unit_test(test_mini_bad_notes_do_not_crash),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_bad_phdrs),
        cmocka_unit_test(test_bad_loads),
        cmocka_unit_test(test_bad_sections),
        cmocka_unit_test(test_bad_symtab),
        cmocka_unit_test(test_odd_but_valid),
        cmocka_unit_test(test_mini_mutations),
        cmocka_unit_test(test_mini_alloc_failures),
        cmocka_unit_test(test_mini_emit),
        cmocka_unit_test(test_mini_emit_clears_ibt),
        cmocka_unit_test(test_mini_emit_no_sections),
        cmocka_unit_test(test_mini_emit_alloc_failures),
        cmocka_unit_test(test_compiled_kinds),
        cmocka_unit_test(test_compiled_stripped),
        cmocka_unit_test(test_compiled_ibt),
        cmocka_unit_test(test_emit_pie_runs),
        cmocka_unit_test(test_emit_nopie_runs),
        cmocka_unit_test(test_emit_shared_dlopen),
        cmocka_unit_test(test_emit_stripped_adds_symtab),
        cmocka_unit_test(test_emit_cet_clears_ibt),
        cmocka_unit_test(test_compiled_truncations),
        cmocka_unit_test(test_compiled_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
