/* Unit tests for the ELF backend on AArch64 images (sections/elf/): the
 * reader (machine, link modes, PLT names, BTI property, unwind-table
 * function starts, refusals) and the writer (segments aligned to the
 * input's p_align, R_AARCH64_RELATIVE for new pointers, the BTI bit, the
 * symbols and record section), with no rewriter involved.
 *
 * The programs are compiled at test time with aarch64-linux-gnu-gcc and run
 * under qemu-aarch64-static -cpu max (which enforces BTI). Each output is
 * built from an hp_edit made here: the target function's entry branches
 * (B) to a trampoline in the new text that loads an absolute pointer from
 * the new data region and branches through it (BR x16) to `mov w0, #42;
 * ret`. So a run that exits 42 proves the patch, the new segments, and (in
 * position-independent outputs, loaded elsewhere than linked) the new
 * RELATIVE relocation all work. Without the cross tools the tests skip,
 * unless CI or HP_REQUIRE_A64 is set: then a missing tool fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_util.h"

#include "sections/code.h"
#include "sections/elf/elf_priv.h"
#include "sections/format.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef HP_BINARY_DIR
#error "HP_BINARY_DIR must name the build tree"
#endif

#define QEMU "qemu-aarch64-static -cpu max -L /usr/aarch64-linux-gnu"
#define CC "aarch64-linux-gnu-gcc"

static char g_dir[512];
static bool g_have;

static void in_dir(char *out, size_t len, const char *name)
{
    int n = snprintf(out, len, "%s/%s", g_dir, name);
    assert_true(n > 0 && (size_t)n < len);
}

/* Exit status of a shell command: the code, or 128 + the signal. */
static int sh_status(const char *cmd)
{
    int st = system(cmd);
    assert_true(st != -1);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

/* Run g_dir/name ARGS under qemu; stdout into g_dir/name.stdout. */
static int run_a64(const char *name, const char *args)
{
    char p[600], cmd[2048];
    in_dir(p, sizeof p, name);
    snprintf(cmd, sizeof cmd, "cd '%s' && " QEMU " '%s' %s >'%s.stdout' 2>/dev/null", g_dir, p,
             args, p);
    return sh_status(cmd);
}

static blob run_output(const char *name)
{
    char p[1000];
    snprintf(p, sizeof p, "%s/%s.stdout", g_dir, name);
    return read_file(p);
}

/* ===================================================================== */
/* Fixtures                                                               */
/* ===================================================================== */

static const char prog_src[] =
    "#include <stdio.h>\n"
    "__attribute__((noinline, noipa)) int hp_probe_fn(int x) { return x + 1; }\n"
    "int main(int argc, char **argv) { (void)argv; puts(\"run\"); return hp_probe_fn(argc); }\n";

/* Loads argv[1] and exits with its hp_probe_fn(1). */
static const char loader_src[] =
    "#include <dlfcn.h>\n#include <stdio.h>\n"
    "int main(int argc, char **argv) {\n"
    "  void *h = argc > 1 ? dlopen(argv[1], RTLD_NOW) : 0;\n"
    "  if (!h) { puts(dlerror()); return 100; }\n"
    "  int (*f)(int) = (int (*)(int))dlsym(h, \"hp_probe_fn\");\n"
    "  return f ? f(1) : 101;\n}\n";

static bool write_src(const char *name, const char *text)
{
    char p[600];
    in_dir(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    if (!f)
        return false;
    fputs(text, f);
    return fclose(f) == 0;
}

static bool cc(const char *flags, const char *src, const char *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && " CC " -O1 %s %s -o %s >/dev/null 2>&1", g_dir, flags,
             src, out);
    return system(cmd) == 0;
}

/* The BTI fixture, built as tests/e2e/lib.sh's a64_bti_build builds it. */
static bool cc_bti(bool marked, const char *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && " CC " -O2 -ffreestanding -nostdlib -static -fno-stack-protector "
             "-fno-builtin %s '%s/tests/fixtures/a64_bti/start.S' "
             "'%s/tests/fixtures/a64_bti/main.c' -o %s >/dev/null 2>&1",
             g_dir, marked ? "-mbranch-protection=standard -Wl,-z,force-bti" : "-DHP_NO_PROPERTY",
             HP_SOURCE_DIR, HP_SOURCE_DIR, out);
    return system(cmd) == 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "%s/test_elf_a64.XXXXXX", HP_BINARY_DIR);
    if (!mkdtemp(g_dir))
        return -1;
    g_have = system(CC " --version >/dev/null 2>&1") == 0 &&
             system("qemu-aarch64-static --version >/dev/null 2>&1") == 0 &&
             system("test -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1") == 0;
    if (!g_have) {
        const char *ci = getenv("CI"), *req = getenv("HP_REQUIRE_A64");
        if ((ci && *ci) || (req && *req)) {
            fprintf(stderr, "test_elf_a64: %s, qemu-user-static or libc6-dev-arm64-cross "
                            "missing (scripts/deps.sh installs them)\n", CC);
            return -1;
        }
        return 0;
    }
    bool ok = write_src("p.c", prog_src) && write_src("loader.c", loader_src) &&
              cc("-fPIE -pie", "p.c", "pie") && cc("-fno-pie -no-pie", "p.c", "nopie") &&
              cc("-static", "p.c", "static") && cc("-static-pie", "p.c", "spie") &&
              cc("-fPIC -shared", "p.c", "lib.so") && cc("-fPIE -pie", "loader.c", "loader") &&
              cc("-fPIE -pie -Wl,-z,now", "p.c", "now") &&
              cc("-no-pie -mbranch-protection=standard -Wl,-z,force-bti,-z,pac-plt", "p.c",
                 "btiplt") &&
              cc_bti(true, "bti") && cc_bti(false, "plain");
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cd '%s' && aarch64-linux-gnu-strip -o stripped pie", g_dir);
    return ok && system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static hp_image *open_a64(const char *name)
{
    char p[600];
    in_dir(p, sizeof p, name);
    hp_diags *d = calloc(1, sizeof *d); /* freed by close_a64 */
    assert_non_null(d);
    hp_image *img = NULL;
    hp_status s = hp_image_open(p, d, &img);
    if (s != HP_OK)
        fail_msg("%s: %s", name, d->n ? d->v[0].msg : hp_status_str(s));
    return img;
}

static void close_a64(hp_image *img)
{
    hp_diags *d = img->diags;
    hp_image_close(img);
    hp_diags_free(d);
    free(d);
}

static const hp_symbol *sym_named(const hp_image *img, const char *name)
{
    for (size_t i = 0; i < img->nsyms; i++)
        if (!strcmp(img->syms[i].name, name))
            return &img->syms[i];
    return NULL;
}

/* ===================================================================== */
/* Reader                                                                 */
/* ===================================================================== */

static void test_kinds(void **state)
{
    (void)state;
    if (!g_have)
        skip();
    static const struct {
        const char *name;
        bool pic, shared;
    } k[] = {{"pie", true, false},  {"nopie", false, false}, {"static", false, false},
             {"spie", true, false}, {"lib.so", true, true},  {"stripped", true, false}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        hp_image *img = open_a64(k[i].name);
        assert_int_equal(img->kind, HP_FMT_ELF);
        assert_int_equal(img->machine, HP_MACH_ARM64);
        assert_int_equal(img->pic, k[i].pic);
        assert_int_equal(img->shared, k[i].shared);
        const hp_symbol *f = sym_named(img, "hp_probe_fn");
        if (strcmp(k[i].name, "stripped")) {
            if (!f)
                fail_msg("%s: no hp_probe_fn", k[i].name);
            assert_int_equal(f->kind, HP_SYM_FUNC);
            assert_int_equal(f->size, 8); /* add w0, w0, #1; ret */
        } else {
            assert_null(f);
        }
        close_a64(img);
    }
}

/* Refusals name what the file is. The inputs are a real AArch64 PIE with
 * one header field changed. */
static void expect_refused(blob *b, const char *want)
{
    hp_diags d = {0};
    hp_image *img = (hp_image *)0x1;
    hp_status s = hp_image_open_mem(b->data, b->size, "mut", &d, &img);
    assert_int_equal(s, HP_ERR_FORMAT);
    assert_null(img);
    assert_true(d.n >= 1);
    if (!strstr(d.v[0].msg, want))
        fail_msg("'%s' does not say '%s'", d.v[0].msg, want);
    hp_diags_free(&d);
}

static void test_refusals(void **state)
{
    (void)state;
    if (!g_have)
        skip();
    char p[600];
    in_dir(p, sizeof p, "pie");
    blob b = read_file(p);
    uint8_t ident[EI_NIDENT], mach[2];
    memcpy(ident, b.data, sizeof ident);
    memcpy(mach, b.data + 18, 2);

    b.data[EI_DATA] = ELFDATA2MSB; /* aarch64_be: e_machine stored big-endian */
    b.data[18] = 0, b.data[19] = EM_AARCH64;
    expect_refused(&b, "a big-endian ELF file (machine 183, AArch64, aarch64_be)");
    memcpy(b.data, ident, sizeof ident);
    memcpy(b.data + 18, mach, 2);

    b.data[EI_CLASS] = ELFCLASS32;
    b.data[18] = EM_ARM, b.data[19] = 0;
    expect_refused(&b, "a 32-bit ELF file (machine 40, 32-bit Arm)");
    memcpy(b.data, ident, sizeof ident);

    b.data[18] = EM_PPC64, b.data[19] = 0;
    expect_refused(&b, "ELF machine 21 (PowerPC64) is not supported: hookpatch patches x86-64 "
                       "and AArch64");
    memcpy(b.data + 18, mach, 2);

    hp_diags d = {0};
    hp_image *img = NULL;
    assert_int_equal(hp_image_open_mem(b.data, b.size, "restored", &d, &img), HP_OK);
    assert_int_equal(img->machine, HP_MACH_ARM64);
    hp_image_close(img);
    hp_diags_free(&d);
    free(b.data);
}

/* The name@plt symbols are exactly the entries objdump names. */
static void check_plt(const char *name, size_t want_min)
{
    char p[600], cmd[1400];
    in_dir(p, sizeof p, name);
    snprintf(cmd, sizeof cmd,
             "aarch64-linux-gnu-objdump -d -j .plt '%s' | sed -n 's/^\\([0-9a-f]*\\) <\\(.*@plt\\)>:$/\\1 \\2/p'",
             p);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    hp_image *img = open_a64(name);
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long va;
        char sym[400];
        assert_int_equal(sscanf(line, "%llx %399s", &va, sym), 2);
        const hp_symbol *s = sym_named(img, sym);
        if (!s)
            fail_msg("%s: no symbol %s (objdump has it at 0x%llx)", name, sym, va);
        assert_int_equal(s->va, va);
        assert_int_equal(s->source, HP_SRC_PLT);
        n++;
    }
    assert_int_equal(pclose(f), 0);
    size_t ours = 0;
    for (size_t i = 0; i < img->nsyms; i++)
        ours += img->syms[i].source == HP_SRC_PLT;
    assert_int_equal(ours, n);
    assert_true(n >= want_min);
    close_a64(img);
}

static void test_plt(void **state)
{
    (void)state;
    if (!g_have)
        skip();
    check_plt("pie", 3);    /* puts, __libc_start_main, abort, ... */
    check_plt("nopie", 3);
    check_plt("now", 3);    /* -z now: same entries, no lazy binding */
    check_plt("btiplt", 3); /* BTI+PAC PLT: bti c, adrp, ldr, add, autia1716, br */
    check_plt("loader", 4); /* + dlopen, dlsym, dlerror */
    hp_image *img = open_a64("pie");
    const hp_symbol *s = sym_named(img, "puts@plt");
    assert_non_null(s);
    assert_int_equal(s->size, 16);
    close_a64(img);
    img = open_a64("btiplt");
    s = sym_named(img, "puts@plt");
    assert_non_null(s);
    assert_int_equal(s->size, 24);
    close_a64(img);
}

/* .eh_frame_hdr lists hp_probe_fn's start even when the symbols are gone. */
static void test_unwind_starts(void **state)
{
    (void)state;
    if (!g_have)
        skip();
    hp_image *twin = open_a64("pie");
    uint64_t va = sym_named(twin, "hp_probe_fn")->va;
    close_a64(twin);
    hp_image *img = open_a64("stripped");
    assert_false(img->has_symtab);
    hp_code_map m = {0};
    assert_int_equal(hp_image_code(img, &m), HP_OK);
    bool found = false;
    for (size_t i = 0; i < m.nstarts; i++)
        found |= m.starts[i] == va;
    assert_true(found);
    hp_code_map_free(&m);
    close_a64(img);
}

static void test_bti_property(void **state)
{
    (void)state;
    if (!g_have)
        skip();
    hp_image *img = open_a64("bti");
    assert_true(img->ibt);
    const hp_elf *e = img->priv;
    assert_true(e->ibt_off != 0);
    assert_int_equal(hp_rd32(img->data + e->ibt_off),
                     GNU_PROPERTY_AARCH64_FEATURE_1_BTI | GNU_PROPERTY_AARCH64_FEATURE_1_PAC);
    close_a64(img);
    img = open_a64("plain");
    assert_false(img->ibt);
    close_a64(img);
    /* Debian's start files carry no property: a normal link has none. */
    img = open_a64("pie");
    assert_false(img->ibt);
    close_a64(img);
}

/* ===================================================================== */
/* Writer                                                                 */
/* ===================================================================== */

enum {
    A64_BTI_C = 0xd503245f,
    A64_NOP = 0xd503201f,
    A64_RET = 0xd65f03c0,
    A64_MOV_W0_42 = 0x52800540,
    A64_BR_X16 = 0xd61f0200,
    TRAMP_TARGET = 0x10, /* offset of the BR x16 target in the text */
};

typedef struct a64_out {
    hp_layout lay;
    uint64_t patch_va, ptr_va;
} a64_out;

static uint32_t a64_b(uint64_t from, uint64_t to)
{
    return 0x14000000u | (uint32_t)(((int64_t)(to - from) >> 2) & 0x3ffffff);
}

static uint32_t a64_adrp_x16(uint64_t pc, uint64_t target)
{
    int64_t pages = (int64_t)((target & ~0xfffull) - (pc & ~0xfffull)) >> 12;
    uint32_t imm = (uint32_t)pages & 0x1fffff;
    return 0x90000010u | (imm & 3) << 29 | (imm >> 2) << 5;
}

static uint32_t a64_ldr_x16(uint64_t target)
{
    return 0xf9400210u | (uint32_t)((target & 0xfff) / 8) << 10;
}

/* place + emit g_dir/name into g_dir/out_name: a B at patch_va to the new
 * text, which goes on through an absolute pointer in the new data region
 * to `mov w0, #42; ret`. patch_va 0: no patch (the program runs as
 * before). */
static void emit_a64(hp_image *img, uint64_t patch_va, bool land_pad, const char *out_name,
                     a64_out *o)
{
    memset(o, 0, sizeof *o);
    hp_edit ed = {0};
    o->lay.size[HP_REGION_TEXT] = 32;
    o->lay.size[HP_REGION_DATA] = 16;
    o->lay.nabs_ptrs = 1;
    assert_int_equal(img->fmt->place(img, &o->lay), HP_OK);
    uint64_t tva = o->lay.va[HP_REGION_TEXT], dva = o->lay.va[HP_REGION_DATA];
    o->ptr_va = dva;
    hp_region *text = &ed.regions[HP_REGION_TEXT], *data = &ed.regions[HP_REGION_DATA];
    text->va = tva, text->mem_size = 32, text->prot = HP_PROT_R | HP_PROT_X;
    data->va = dva, data->mem_size = 16, data->prot = HP_PROT_R | HP_PROT_W;
    uint32_t code[8] = {a64_adrp_x16(tva, dva), a64_ldr_x16(dva), A64_BR_X16, A64_NOP,
                        A64_BTI_C, A64_MOV_W0_42, A64_RET, A64_NOP};
    for (size_t i = 0; i < 8; i++) {
        uint8_t w[4];
        hp_wr32(w, code[i]);
        assert_int_equal(hp_buf_append(&text->bytes, w, 4), HP_OK);
    }
    uint8_t ptr[8];
    hp_wr64(ptr, tva + TRAMP_TARGET);
    assert_int_equal(hp_buf_append(&data->bytes, ptr, 8), HP_OK);
    assert_int_equal(hp_edit_add_abs_ptr(&ed, dva), HP_OK);
    if (patch_va) {
        hp_patch p = {.va = patch_va, .len = 4};
        memcpy(p.orig, hp_image_bytes(img, patch_va, 4), 4);
        hp_wr32(p.bytes, a64_b(patch_va, tva));
        assert_int_equal(hp_edit_add_patch(&ed, &p), HP_OK);
        o->patch_va = patch_va;
    }
    assert_int_equal(hp_edit_add_sym(&ed, "hp_probe_fn.hookpatch_stub", tva, 28, true), HP_OK);
    assert_int_equal(hp_buf_append(&ed.info, "{\"test\": 1}", 11), HP_OK);
    ed.removed_landing_pad = land_pad;
    char out[600];
    in_dir(out, sizeof out, out_name);
    int fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0755);
    assert_true(fd >= 0);
    assert_int_equal(hp_image_emit(img, &ed, fd, NULL), HP_OK);
    assert_int_equal(close(fd), 0);
    hp_edit_free(&ed);
}

/* readelf -a -W has nothing to say on stderr. */
static void check_readelf_clean(const char *name)
{
    char p[600], cmd[1400], buf[512];
    in_dir(p, sizeof p, name);
    snprintf(cmd, sizeof cmd, "readelf -a -W '%s' 2>&1 >/dev/null", p);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    if (fgets(buf, sizeof buf, f))
        fail_msg("readelf on %s: %s", name, buf);
    assert_int_equal(pclose(f), 0);
}

/* The R_AARCH64_RELATIVE entry for ptr_va in the output's DT_RELA table
 * (reached through the dynamic section, as ld.so reaches it), or fail. */
static void check_relative(const hp_image *out, uint64_t ptr_va, uint64_t target)
{
    const hp_elf *e = out->priv;
    assert_true(e->dyn_rela_off && e->dyn_relasz_off);
    const uint8_t *rela = hp_image_bytes(out, e->old_rela_va, e->old_rela_size);
    assert_non_null(rela);
    size_t hits = 0;
    for (uint64_t off = 0; off + sizeof(Elf64_Rela) <= e->old_rela_size; off += sizeof(Elf64_Rela)) {
        Elf64_Rela r;
        memcpy(&r, rela + off, sizeof r);
        if (r.r_offset != ptr_va)
            continue;
        assert_int_equal(ELF64_R_TYPE(r.r_info), R_AARCH64_RELATIVE);
        assert_int_equal((uint64_t)r.r_addend, target);
        hits++;
    }
    assert_int_equal(hits, 1);
}

/* Structure of an output of emit_a64: its new PT_LOADs are aligned to the
 * input's 64 KiB p_align in memory and in the file; the text is near the
 * old image; symbols, sections and the record are there. */
static void check_a64_output(const hp_image *in, const char *out_name, const a64_out *o)
{
    check_readelf_clean(out_name);
    hp_image *out = open_a64(out_name);
    assert_int_equal(out->machine, HP_MACH_ARM64);
    const hp_elf *e = out->priv, *ie = in->priv;
    assert_int_equal(ie->page, 0x10000); /* what Debian's cross ld uses */
    size_t nnew = 0;
    for (size_t i = 0; i < e->eh.e_phnum; i++) {
        const Elf64_Phdr *p = &e->phdrs[i];
        if (p->p_type != PT_LOAD || p->p_vaddr < hp_image_end_va(in))
            continue;
        nnew++;
        assert_int_equal(p->p_align, 0x10000);
        assert_int_equal(p->p_vaddr % 0x10000, 0);
        assert_int_equal(p->p_offset % 0x10000, 0);
    }
    assert_int_equal(nnew, 2 + (in->pic ? 1 : 0)); /* text, data, moved DT_RELA */
    assert_int_equal(e->eh.e_phnum, ie->eh.e_phnum + nnew);
    /* image.h's promise: the first 64 KiB boundary above the image's end
     * and above the file's end (mirrored by the first PT_LOAD's delta),
     * then the program headers. */
    uint64_t tva = o->lay.va[HP_REGION_TEXT];
    uint64_t base = hp_align_up(hp_image_end_va(in), 0x10000);
    const Elf64_Phdr *first = &ie->phdrs[ie->first_load];
    uint64_t file_end = hp_align_up(in->size, 0x10000) + (first->p_vaddr - first->p_offset);
    if (file_end > base)
        base = file_end;
    assert_int_equal(tva, base + hp_align_up(e->eh.e_phnum * sizeof(Elf64_Phdr), 16));
    const hp_symbol *s = sym_named(out, "hp_probe_fn.hookpatch_stub");
    assert_non_null(s);
    assert_int_equal(s->va, tva);
    assert_non_null(out->prior_info); /* a second run would refuse */
    assert_int_equal(out->prior_info_size, 11);
    const uint8_t *sec;
    size_t size;
    assert_true(hp_image_section(out, ".hookpatch.info", &sec, &size));
    assert_memory_equal(sec, "{\"test\": 1}", 11);
    if (o->patch_va)
        assert_int_equal(hp_rd32(hp_image_bytes(out, o->patch_va, 4)), a64_b(o->patch_va, tva));
    if (in->pic)
        check_relative(out, o->ptr_va, tva + TRAMP_TARGET);
    close_a64(out);
}

/* Emit name twice: unpatched (runs as before: exit 2 and "run") and with
 * hp_probe_fn sent to the new code (exit 42). */
static void emit_and_run(const char *name)
{
    hp_image *img = open_a64(name);
    uint64_t fn = sym_named(img, "hp_probe_fn")->va;
    char same[300], patched[300];
    snprintf(same, sizeof same, "%s.same", name);
    snprintf(patched, sizeof patched, "%s.out", name);
    a64_out o;
    emit_a64(img, 0, false, same, &o);
    check_a64_output(img, same, &o);
    emit_a64(img, fn, false, patched, &o);
    check_a64_output(img, patched, &o);
    close_a64(img);
    assert_int_equal(run_a64(name, ""), 2);
    assert_int_equal(run_a64(same, ""), 2);
    blob b = run_output(same);
    assert_string_equal((char *)b.data, "run\n");
    free(b.data);
    assert_int_equal(run_a64(patched, ""), 42);
    b = run_output(patched);
    assert_string_equal((char *)b.data, "run\n");
    free(b.data);
}

static void test_emit_pie(void **state) { (void)state; if (g_have) emit_and_run("pie"); else skip(); }
static void test_emit_nopie(void **state) { (void)state; if (g_have) emit_and_run("nopie"); else skip(); }
static void test_emit_static(void **state) { (void)state; if (g_have) emit_and_run("static"); else skip(); }
static void test_emit_static_pie(void **state) { (void)state; if (g_have) emit_and_run("spie"); else skip(); }

/* Stripped: emit adds a .symtab for the new symbol. */
static void test_emit_stripped(void **state)
{
    (void)state;
    if (!g_have)
        skip();
    hp_image *twin = open_a64("pie");
    uint64_t fn = sym_named(twin, "hp_probe_fn")->va;
    close_a64(twin);
    hp_image *img = open_a64("stripped");
    a64_out o;
    emit_a64(img, fn, false, "stripped.out", &o);
    check_a64_output(img, "stripped.out", &o);
    close_a64(img);
    assert_int_equal(run_a64("stripped.out", ""), 42);
}

/* A shared library, loaded by an AArch64 program under qemu. */
static void test_emit_shared(void **state)
{
    (void)state;
    if (!g_have)
        skip();
    hp_image *img = open_a64("lib.so");
    a64_out o;
    emit_a64(img, sym_named(img, "hp_probe_fn")->va, false, "lib.out.so", &o);
    check_a64_output(img, "lib.out.so", &o);
    close_a64(img);
    assert_int_equal(run_a64("loader", "./lib.so"), 2);
    assert_int_equal(run_a64("loader", "./lib.out.so"), 42);
}

/* BTI: patching after hp_pad's landing pad keeps enforcement on, and the
 * output still runs, through a pointer too. Overwriting the landing pad
 * itself: with removed_landing_pad the BTI bit is cleared (PAC kept) and
 * the indirect call works; without it (the control) qemu kills the
 * program at the overwritten entry. */
static void test_emit_bti(void **state)
{
    (void)state;
    if (!g_have)
        skip();
    hp_image *img = open_a64("bti");
    const hp_symbol *pad = sym_named(img, "hp_pad");
    assert_non_null(pad);
    uint64_t fn = pad->va;
    assert_int_equal(hp_rd32(hp_image_bytes(img, fn, 4)), A64_BTI_C);
    a64_out o;
    emit_a64(img, fn + 4, false, "bti.after", &o);
    check_a64_output(img, "bti.after", &o);
    emit_a64(img, fn, true, "bti.cleared", &o);
    check_a64_output(img, "bti.cleared", &o);
    emit_a64(img, fn, false, "bti.kept", &o);
    close_a64(img);

    hp_image *out = open_a64("bti.after");
    assert_true(out->ibt);
    close_a64(out);
    out = open_a64("bti.cleared");
    assert_false(out->ibt);
    const hp_elf *e = out->priv;
    assert_int_equal(hp_rd32(out->data + e->ibt_off), GNU_PROPERTY_AARCH64_FEATURE_1_PAC);
    close_a64(out);

    assert_int_equal(run_a64("bti", "pad"), 0);
    blob b = run_output("bti");
    assert_string_equal((char *)b.data, "pad=5\n");
    free(b.data);
    static const char *const ok[] = {"bti.after", "bti.cleared"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(run_a64(ok[i], "pad"), 0);
        b = run_output(ok[i]);
        assert_string_equal((char *)b.data, "pad=2\n"); /* 42 % 10 */
        free(b.data);
    }
    assert_int_equal(run_a64("bti.kept", "direct"), 0); /* a direct call needs no pad */
    assert_int_equal(run_a64("bti.kept", "pad"), 128 + 4); /* SIGILL */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_plt),
        cmocka_unit_test(test_unwind_starts),
        cmocka_unit_test(test_bti_property),
        cmocka_unit_test(test_emit_pie),
        cmocka_unit_test(test_emit_nopie),
        cmocka_unit_test(test_emit_static),
        cmocka_unit_test(test_emit_static_pie),
        cmocka_unit_test(test_emit_stripped),
        cmocka_unit_test(test_emit_shared),
        cmocka_unit_test(test_emit_bti),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
