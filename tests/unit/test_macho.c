/* Unit tests for the Mach-O backend (sections/macho*.c).
 *
 * Fixtures are built at test time from tests/fixtures/macho with clang
 * (-target x86_64-apple-macos11) and ld64.lld-14: a signed executable with
 * header padding, one without padding, a dylib, a universal file with an
 * arm64 slice, and a Go program (GOOS=darwin, -buildmode=exe and pie, with
 * every Go toolchain go_toolchains.h lists). A test whose toolchain is
 * missing is skipped with the reason. Then: load (segments, symbols,
 * aliases, sizes from LC_FUNCTION_STARTS), place + emit a hand-made edit
 * and re-open the output, the header-room refusal, chained fixups grown by
 * one entry per new segment and new pointers written as chained rebases
 * (two pages, a misaligned slot refused), SHA-256 vectors, and malformed inputs that
 * must fail with HP_ERR_FORMAT and a reason, never crash. arm64: a thin
 * executable loads as arm64 with 16 KiB placement; arm64e is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "go_toolchains.h"
#include "sections/format.h"
#include "sections/macho/macho_priv.h"

#ifndef HP_SOURCE_DIR
#error "HP_SOURCE_DIR must name the source tree"
#endif
#ifndef HP_BINARY_DIR
#error "HP_BINARY_DIR must name the build tree"
#endif

#define FIX HP_SOURCE_DIR "/tests/fixtures/macho"
#define WORK HP_BINARY_DIR "/macho-fixtures"
#define LD_X86 "ld64.lld-14 -arch x86_64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup"

static bool have_c, have_fat, have_a64_chained, have_go[TGO_MAX];

static int sh(const char *cmd) { return system(cmd); }

static int build_fixtures(void **state)
{
    (void)state;
    if (sh("command -v clang >/dev/null && command -v ld64.lld-14 >/dev/null") != 0) {
        fprintf(stderr, "test_macho: clang or ld64.lld-14 missing: fixture tests skipped\n");
        return 0;
    }
    have_c = sh("rm -rf " WORK " && mkdir -p " WORK " && cd " WORK " && "
                "clang -target x86_64-apple-macos11 -O1 -c " FIX "/main.c " FIX "/targets.c && "
                LD_X86 " -headerpad 0x1000 -adhoc_codesign -o exe main.o targets.o && "
                LD_X86 " -o exe_nopad main.o targets.o && "
                LD_X86 " -headerpad 0x1000 -o exe_unsigned main.o targets.o && "
                LD_X86 " -dylib -headerpad 0x1000 -o libt.dylib targets.o") == 0;
    have_fat = have_c &&
               sh("cd " WORK " && command -v llvm-lipo-14 >/dev/null && "
                  "clang -target arm64-apple-macos11 -O1 -c " FIX "/main.c -o main_a.o && "
                  "clang -target arm64-apple-macos11 -O1 -c " FIX "/targets.c -o targets_a.o && "
                  "ld64.lld-14 -arch arm64 -platform_version macos 11.0 11.0 "
                  "-undefined dynamic_lookup -o exe_arm64 main_a.o targets_a.o && "
                  "ld64.lld-14 -arch arm64 -platform_version macos 11.0 11.0 "
                  "-undefined dynamic_lookup -headerpad 0x1000 -o exe_arm64_pad main_a.o "
                  "targets_a.o && "
                  "llvm-lipo-14 -create exe exe_arm64_pad -output fat") == 0;
    /* arm64, chained fixups (lld 19), with pointers of its own in __DATA */
    have_a64_chained =
        have_fat &&
        sh("cd " WORK " && command -v ld64.lld-19 >/dev/null && "
           "printf 'int add(int, int);\\nint (*hp_fn)(int, int) = add;\\n"
           "const char *hp_s = \"s\";\\n' >ptrs.c && "
           "clang -target arm64-apple-macos11 -O1 -c ptrs.c -o ptrs_a.o && "
           "ld64.lld-19 -arch arm64 -platform_version macos 11.0 11.0 -undefined dynamic_lookup "
           "-headerpad 0x1000 -fixup_chains -o exe_a64_chained main_a.o targets_a.o ptrs_a.o && "
           "python3 " HP_SOURCE_DIR "/tests/e2e/macho_emu.py chains exe_a64_chained "
           ">a64_chains.txt") == 0;
    for (size_t i = 0; i < tgo_count; i++) {
        char cmd[4096];
        int n = snprintf(cmd, sizeof cmd,
                         "mkdir -p " WORK "/go/%.15s && cp " FIX "/go/go.mod " FIX "/go/main.go "
                         WORK "/go/%.15s/ && cd " WORK "/go/%.15s && for m in exe pie; do "
                         "%s GOOS=darwin GOARCH=amd64 CGO_ENABLED=0 GOFLAGS=-mod=mod GOPROXY=off "
                         "go build -buildmode=$m -gcflags=all=-l -o gobin-$m . || exit; "
                         "done >build.log 2>&1",
                         tgo_all[i].label, tgo_all[i].label, tgo_all[i].label, tgo_all[i].env);
        have_go[i] = n > 0 && (size_t)n < sizeof cmd && sh(cmd) == 0;
        if (!have_go[i])
            fprintf(stderr, "test_macho: %s: GOOS=darwin go build failed: %s\n", tgo_all[i].label,
                    cmd);
    }
    return 0;
}

static hp_image *open_ok(const char *path, hp_diags *d)
{
    hp_image *img = NULL;
    hp_status s = hp_image_open(path, d, &img);
    if (s != HP_OK)
        hp_diags_print(d, stderr);
    assert_int_equal(s, HP_OK);
    return img;
}

static const hp_symbol *find_sym(const hp_image *img, const char *name)
{
    for (size_t i = 0; i < img->nsyms; i++)
        if (hp_symbol_matches(&img->syms[i], name))
            return &img->syms[i];
    return NULL;
}

static bool diag_has(const hp_diags *d, const char *needle)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].msg && strstr(d->v[i].msg, needle))
            return true;
    return false;
}

/* ---- loading ---- */

static void test_load_exe(void **state)
{
    (void)state;
    if (!have_c)
        skip();
    hp_diags d = {0};
    hp_image *img = open_ok(WORK "/exe", &d);
    assert_int_equal(img->kind, HP_FMT_MACHO);
    assert_true(img->pic);
    assert_false(img->shared);
    assert_true(img->has_dynreloc);
    assert_true(img->has_symtab);
    assert_int_equal(img->base_va, 0x100000000ull); /* __PAGEZERO is not a segment */
    assert_int_equal(img->segs[0].prot, HP_PROT_R | HP_PROT_X);
    assert_int_equal(img->segs[0].file_off, 0);
    const hp_symbol *add = find_sym(img, "add"), *sub = find_sym(img, "_sub");
    assert_non_null(add);
    assert_non_null(sub);
    assert_string_equal(add->name, "_add");
    assert_string_equal(add->alias, "add");
    assert_int_equal(add->kind, HP_SYM_FUNC);
    assert_true(add->global);
    assert_true(add->size > 0 && add->size <= 16); /* up to the next function start */
    assert_int_equal(hp_image_next_sym_va(img, add->va) - add->va, 16);
    const hp_symbol *ops = find_sym(img, "ops");
    assert_non_null(ops);
    assert_int_equal(ops->kind, HP_SYM_DATA);
    assert_null(img->prior_info);
    hp_image_close(img);
    hp_diags_free(&d);
}

/* The code map: __text and __stubs, not the rest of the r-x __TEXT segment
 * (header, __cstring, unwind info); LC_FUNCTION_STARTS gives the starts. */
static void test_code_map(void **state)
{
    (void)state;
    if (!have_c)
        skip();
    hp_diags d = {0};
    hp_image *img = open_ok(WORK "/exe", &d);
    const hp_macho *m = img->priv;
    hp_code_map cm;
    assert_int_equal(hp_image_code(img, &cm), HP_OK);
    assert_true(cm.nranges >= 1);
    uint64_t text_va = 0, text_size = 0, code = 0;
    for (size_t i = 0; i < m->nsects; i++)
        if (!strcmp(m->sects[i].sectname, "__text"))
            text_va = m->sects[i].addr, text_size = m->sects[i].size;
    assert_true(text_size > 0);
    bool has_text = false;
    for (size_t i = 0; i < cm.nranges; i++) {
        code += cm.ranges[i].size;
        has_text |= cm.ranges[i].va <= text_va &&
                    text_va + text_size <= cm.ranges[i].va + cm.ranges[i].size;
        assert_true(cm.ranges[i].va > img->segs[0].va); /* not the header */
    }
    assert_true(has_text);
    assert_true(code < img->segs[0].file_size);
    const hp_symbol *add = find_sym(img, "add");
    assert_non_null(add);
    bool found = false;
    for (size_t i = 0; i < cm.nstarts; i++)
        found |= cm.starts[i] == add->va;
    assert_true(found);
    hp_code_map_free(&cm);
    hp_image_close(img);
    hp_diags_free(&d);
}

static void test_load_dylib(void **state)
{
    (void)state;
    if (!have_c)
        skip();
    hp_diags d = {0};
    hp_image *img = open_ok(WORK "/libt.dylib", &d);
    assert_true(img->pic);
    assert_true(img->shared);
    assert_non_null(find_sym(img, "twice"));
    hp_image_close(img);
    hp_diags_free(&d);
}

static const hp_slice *slice_named(const hp_image *img, const char *arch)
{
    for (size_t i = 0; i < img->nslices; i++)
        if (!strcmp(img->slices[i].arch, arch))
            return &img->slices[i];
    fail_msg("no %s slice", arch);
    return NULL;
}

/* A universal file is a container of two thin images, each over its
 * slice's bytes (file offsets relative to the slice). */
static void test_load_fat(void **state)
{
    (void)state;
    if (!have_fat)
        skip();
    hp_diags d = {0};
    hp_image *img = open_ok(WORK "/fat", &d);
    assert_int_equal(img->nslices, 2);
    assert_int_equal(img->nsegs, 0);
    assert_int_equal(img->nsyms, 0);
    const hp_slice *x = slice_named(img, "x86_64"), *a = slice_named(img, "arm64");
    assert_non_null(x->img);
    assert_non_null(a->img);
    assert_int_equal(x->align, 12);
    assert_int_equal(a->align, 14);
    assert_ptr_equal(x->img->data, img->data + x->file_off);
    assert_int_equal(x->img->size, x->size);
    assert_int_equal(x->img->machine, HP_MACH_X86_64);
    assert_int_equal(a->img->machine, HP_MACH_ARM64);
    assert_int_equal(x->img->segs[0].file_off, 0); /* __PAGEZERO */
    const hp_symbol *add = find_sym(x->img, "add");
    assert_non_null(add);
    assert_int_equal(hp_image_bytes(x->img, add->va, 1)[0], 0x55); /* push rbp */
    add = find_sym(a->img, "add");
    assert_non_null(add);
    assert_int_equal(hp_rd32(hp_image_bytes(a->img, add->va + add->size - 4, 4)), 0xd65f03c0u);
    assert_int_equal(d.n, 0);
    hp_image_close(img);
    hp_diags_free(&d);
}

/* A thin arm64 file: the arm64 machine, 16 KiB pages, symbols with sizes
 * from LC_FUNCTION_STARTS (arm64 code: 4-byte instructions), and place()
 * aligns the new segments to 16 KiB. */
static void test_load_arm64(void **state)
{
    (void)state;
    if (!have_fat)
        skip();
    hp_diags d = {0};
    hp_image *img = open_ok(WORK "/exe_arm64_pad", &d);
    const hp_macho *m = img->priv;
    assert_int_equal(img->machine, HP_MACH_ARM64);
    assert_int_equal(m->page, 0x4000);
    assert_false(m->fat);
    assert_int_equal(img->nslices, 0);
    const hp_symbol *add = find_sym(img, "add");
    assert_non_null(add);
    assert_int_equal(add->kind, HP_SYM_FUNC);
    assert_int_equal(add->size % 4, 0);
    assert_true(add->size >= 4 && add->size <= 16);
    /* add(a, b) at -O1: add w0, w1, w0; ret */
    assert_int_equal(hp_rd32(hp_image_bytes(img, add->va + add->size - 4, 4)), 0xd65f03c0u);
    hp_layout lay = {.size = {64, 16, 48}};
    assert_int_equal(img->fmt->place(img, &lay), HP_OK);
    assert_int_equal(lay.va[HP_REGION_RODATA] % 0x4000, 0);
    assert_int_equal(lay.va[HP_REGION_TEXT] % 0x4000, 0);
    assert_true(lay.va[HP_REGION_TEXT] >= lay.va[HP_REGION_DATA] + 48);
    hp_image_close(img);
    hp_diags_free(&d);
}

/* arm64e (cpusubtype 2, with or without capability bits) is refused with
 * the reason; so is an arm64 subtype other than ALL and V8. */
static void test_arm64e_refused(void **state)
{
    (void)state;
    if (!have_fat)
        skip();
    static const struct {
        uint32_t sub;
        const char *want;
    } cases[] = {{0x80000002u, "arm64e Mach-O (pointer-authenticated ABI"},
                 {2, "arm64e Mach-O"},
                 {3, "arm64 cpusubtype 0x3 is not supported"}};
    blob in = read_file(WORK "/exe_arm64");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hp_wr32(in.data + 8, cases[i].sub);
        FILE *f = fopen(WORK "/exe_arm64e", "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(in.data, 1, in.size, f), in.size);
        assert_int_equal(fclose(f), 0);
        hp_diags d = {0};
        hp_image *img = NULL;
        assert_int_equal(hp_image_open(WORK "/exe_arm64e", &d, &img), HP_ERR_UNSUPPORTED);
        assert_true(diag_has(&d, cases[i].want));
        hp_diags_free(&d);
    }
    free(in.data);
}

/* `go tool nm -size` of FILE: SYM's address and size; false if absent. */
static bool go_nm_sym(const tgo *g, const char *file, const char *sym, uint64_t *va,
                      uint64_t *size)
{
    char cmd[2048], line[1024];
    snprintf(cmd, sizeof cmd, "%s go tool nm -size '%s'", g->env, file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    bool found = false;
    while (fgets(line, sizeof line, p)) {
        unsigned long long a, n;
        char type;
        int at = 0;
        line[strcspn(line, "\n")] = 0;
        if (sscanf(line, "%llx %llu %c %n", &a, &n, &type, &at) == 3 && at &&
            !strcmp(line + at, sym) && !found) {
            *va = a, *size = n;
            found = true;
        }
    }
    pclose(p);
    return found;
}

/* A Go program as an exe and as a PIE (the default from some Go release on,
 * 1.26 included; 1.19 links an exe). Addresses and sizes are the ones the
 * toolchain's own nm reports. */
static void test_load_go(void **state)
{
    const tgo *g = *state;
    if (!g || !have_go[g - tgo_all])
        skip();
    static const char *const modes[] = {"exe", "pie"};
    for (int m = 0; m < 2; m++) {
        char path[512];
        snprintf(path, sizeof path, WORK "/go/%.15s/gobin-%s", g->label, modes[m]);
        hp_diags d = {0};
        hp_image *img = open_ok(path, &d);
        uint64_t text_va, text_size, add_va, add_size;
        assert_true(go_nm_sym(g, path, "runtime.text", &text_va, &text_size));
        assert_true(go_nm_sym(g, path, "main.Add", &add_va, &add_size));
        assert_non_null(img->pclntab);
        assert_int_equal(img->go_text_va, text_va);
        const hp_symbol *s = find_sym(img, "main.Add");
        assert_non_null(s);
        assert_int_equal(s->kind, HP_SYM_FUNC);
        assert_int_equal(s->va, add_va);
        /* Bounded by the next function (32-byte alignment), not by the end
         * of __text: Go writes no LC_FUNCTION_STARTS. */
        assert_true(s->size >= add_size && s->size - add_size < 32);
        if (img->pic != (m == 1))
            fail_msg("%s: -buildmode=%s: pic %d", g->label, modes[m], img->pic);
        hp_image_close(img);
        hp_diags_free(&d);
    }
}

/* ---- place + emit ---- */

static const uint8_t code42[] = {0xb8, 0x2a, 0, 0, 0, 0xc3};
static const char info_text[] = "hookpatch-info 1\nhook test\n";

/* An edit like the rewriter's: stub code, rodata, data with a pointer to the
 * rodata, a bss tail, a jump at `target`, and the info record. */
static void make_edit(const hp_image *img, const hp_layout *lay, const char *target, hp_edit *ed)
{
    memset(ed, 0, sizeof *ed);
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        ed->regions[r].va = lay->va[r];
        ed->regions[r].mem_size = lay->size[r];
    }
    hp_region *t = &ed->regions[HP_REGION_TEXT], *ro = &ed->regions[HP_REGION_RODATA];
    hp_region *dt = &ed->regions[HP_REGION_DATA];
    assert_int_equal(hp_buf_append(&t->bytes, code42, sizeof code42), HP_OK);
    assert_int_equal(hp_buf_append_zeros(&t->bytes, t->mem_size - sizeof code42), HP_OK);
    assert_int_equal(hp_buf_append(&ro->bytes, "read-only bytes", 16), HP_OK);
    uint8_t ptr[8];
    hp_wr64(ptr, ro->va);
    assert_int_equal(hp_buf_append(&dt->bytes, ptr, 8), HP_OK);
    assert_int_equal(hp_buf_append_zeros(&dt->bytes, 24), HP_OK); /* 16 bytes of bss follow */
    assert_int_equal(hp_edit_add_abs_ptr(ed, dt->va), HP_OK);
    const hp_symbol *s = find_sym(img, target);
    assert_non_null(s);
    hp_patch p = {.va = s->va, .len = 5};
    p.bytes[0] = 0xe9;
    hp_wr32(p.bytes + 1, (uint32_t)(t->va - (s->va + 5)));
    memcpy(p.orig, hp_image_bytes(img, s->va, 5), 5);
    assert_int_equal(hp_edit_add_patch(ed, &p), HP_OK);
    assert_int_equal(hp_buf_append(&ed->info, info_text, strlen(info_text)), HP_OK);
    assert_int_equal(hp_edit_add_sym(ed, "_add.hookpatch_stub", t->va, 6, true), HP_OK);
    assert_int_equal(hp_edit_add_sym(ed, "_hp_table", dt->va, 8, false), HP_OK);
}

static void emit_to(const hp_image *img, const hp_edit *ed, const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0755);
    assert_true(fd >= 0);
    hp_status s = hp_image_emit(img, ed, fd, NULL);
    if (s != HP_OK)
        hp_diags_print(img->diags, stderr);
    assert_int_equal(s, HP_OK);
    close(fd);
}

/* A thin image's code signature page hashes, checked with hp_sha256. */
static void check_signature_img(const hp_image *img)
{
    const hp_macho *m = img->priv;
    assert_true(m->sig_lc != 0);
    const uint8_t *sl = img->data, *lc = sl + m->sig_lc;
    uint32_t off = hp_rd32(lc + 8), size = hp_rd32(lc + 12);
    assert_int_equal((uint64_t)off + size, m->slice_size);
    const uint8_t *cd = sl + off + hp_rd32be(sl + off + 16);
    assert_int_equal(hp_rd32be(cd), 0xfade0c02u);
    assert_int_equal(hp_rd32be(cd + 32), off); /* code limit */
    uint32_t hash_off = hp_rd32be(cd + 16), npages = hp_rd32be(cd + 28);
    assert_int_equal(npages, (off + 4095) / 4096);
    for (uint32_t i = 0; i < npages; i++) {
        uint8_t h[32];
        uint32_t n = off - i * 4096 < 4096 ? off - i * 4096 : 4096;
        hp_sha256(sl + (size_t)i * 4096, n, h);
        assert_memory_equal(h, cd + hash_off + i * 32, 32);
    }
}

/* The output file's signature (each patched slice's, for a universal file). */
static void check_signature(const char *path)
{
    hp_diags d = {0};
    hp_image *img = open_ok(path, &d);
    for (size_t i = 0; i < img->nslices; i++)
        if (img->slices[i].img)
            check_signature_img(img->slices[i].img);
    if (!img->nslices)
        check_signature_img(img);
    hp_image_close(img);
    hp_diags_free(&d);
}

static void roundtrip(const char *in, const char *out)
{
    hp_diags d = {0};
    hp_image *img = open_ok(in, &d);
    hp_layout lay = {.size = {64, 16, 48}, .nabs_ptrs = 1};
    assert_int_equal(img->fmt->place(img, &lay), HP_OK);
    assert_true(lay.va[HP_REGION_DATA] >= lay.va[HP_REGION_RODATA] + 16);
    assert_true(lay.va[HP_REGION_TEXT] >= lay.va[HP_REGION_DATA] + 48);
    assert_int_equal(lay.va[HP_REGION_TEXT] % 0x1000, 0);
    hp_edit ed;
    make_edit(img, &lay, "add", &ed);
    emit_to(img, &ed, out);
    uint64_t add_va = find_sym(img, "add")->va, sub_va = find_sym(img, "sub")->va;

    hp_diags d2 = {0};
    hp_image *o = open_ok(out, &d2);
    assert_non_null(o->prior_info);
    assert_int_equal(o->prior_info_size, strlen(info_text));
    assert_memory_equal(o->prior_info, info_text, strlen(info_text));
    const hp_segment *ts = hp_image_segment_at(o, lay.va[HP_REGION_TEXT]);
    assert_non_null(ts);
    assert_int_equal(ts->prot, HP_PROT_R | HP_PROT_X);
    assert_memory_equal(hp_image_bytes(o, lay.va[HP_REGION_TEXT], 6), code42, 6);
    const hp_segment *ds = hp_image_segment_at(o, lay.va[HP_REGION_DATA] + 40); /* bss */
    assert_non_null(ds);
    assert_int_equal(ds->prot, HP_PROT_R | HP_PROT_W);
    assert_memory_equal(hp_image_bytes(o, lay.va[HP_REGION_RODATA], 16), "read-only bytes", 16);
    assert_int_equal(hp_rd64(hp_image_bytes(o, lay.va[HP_REGION_DATA], 8)),
                     lay.va[HP_REGION_RODATA]);
    assert_int_equal(hp_image_bytes(o, add_va, 1)[0], 0xe9);
    assert_int_equal(find_sym(o, "sub")->va, sub_va);
    const hp_symbol *stub = find_sym(o, "add.hookpatch_stub"), *tab = find_sym(o, "hp_table");
    assert_non_null(stub); /* added to LC_SYMTAB, as local symbols */
    assert_int_equal(stub->va, lay.va[HP_REGION_TEXT]);
    assert_int_equal(stub->kind, HP_SYM_FUNC);
    assert_false(stub->global);
    assert_non_null(tab);
    assert_int_equal(tab->kind, HP_SYM_DATA);
    assert_memory_equal(hp_image_bytes(o, sub_va, 8), hp_image_bytes(img, sub_va, 8), 8);
    const hp_macho *m = o->priv;
    assert_string_equal(m->segs[m->nsegs - 1].name, "__LINKEDIT");
    assert_true(o->nsyms >= img->nsyms);
    /* dyld sees the new pointer: ask llvm-objdump for the rebase table */
    char cmd[512], line[256];
    snprintf(cmd, sizeof cmd, "llvm-objdump-14 --macho --rebase '%s' 2>&1", out);
    FILE *p = popen(cmd, "r");
    bool found = false;
    while (p && fgets(line, sizeof line, p)) {
        const char *x = strstr(line, "0x");
        found |= x && strstr(line, "__HOOKPATCH_D") &&
                 strtoull(x, NULL, 16) == lay.va[HP_REGION_DATA];
    }
    if (p && pclose(p) == 0)
        assert_true(found);
    hp_edit_free(&ed);
    hp_image_close(o);
    hp_image_close(img);
    hp_diags_free(&d);
    hp_diags_free(&d2);
}

static void test_roundtrip_exe(void **state)
{
    (void)state;
    if (!have_c)
        skip();
    roundtrip(WORK "/exe", WORK "/exe.out");
    check_signature(WORK "/exe.out");
}

static void test_roundtrip_dylib(void **state)
{
    (void)state;
    if (!have_c)
        skip();
    roundtrip(WORK "/libt.dylib", WORK "/libt.out");
}

static void write_blob(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

/* Place and edit every patched slice of in (the edit of make_edit, at
 * "add"), join them into out; returns the input container, still open. */
static hp_image *join_fat(const char *in, const char *out, hp_diags *d)
{
    hp_image *img = open_ok(in, d);
    const hp_edit *eds[8] = {0};
    hp_edit ed[8];
    assert_true(img->nslices <= 8);
    for (size_t i = 0; i < img->nslices; i++) {
        hp_image *sl = img->slices[i].img;
        if (!sl)
            continue;
        hp_layout lay = {.size = {64, 16, 48}, .nabs_ptrs = 1};
        assert_int_equal(sl->fmt->place(sl, &lay), HP_OK);
        make_edit(sl, &lay, "add", &ed[i]);
        eds[i] = &ed[i];
    }
    int fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0755);
    assert_true(fd >= 0);
    hp_status s = hp_image_join(img, eds, fd, NULL);
    if (s != HP_OK)
        hp_diags_print(d, stderr);
    assert_int_equal(s, HP_OK);
    close(fd);
    for (size_t i = 0; i < img->nslices; i++)
        if (eds[i])
            hp_edit_free(&ed[i]);
    return img;
}

/* The header of out against in's: same order, CPU types and alignments;
 * each slice at a multiple of its alignment, inside the file, after the
 * header and the slice before it. */
static uint64_t rd64be(const uint8_t *p) { return (uint64_t)hp_rd32be(p) << 32 | hp_rd32be(p + 4); }

static void check_fat_header(const blob *in, const blob *out, size_t esz)
{
    uint32_t n = hp_rd32be(in->data + 4);
    assert_int_equal(hp_rd32be(out->data), hp_rd32be(in->data));
    assert_int_equal(hp_rd32be(out->data + 4), n);
    uint64_t prev_end = 8 + n * esz;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *a = in->data + 8 + esz * i, *b = out->data + 8 + esz * i;
        assert_memory_equal(a, b, 8); /* cputype, cpusubtype */
        uint64_t off = esz == 20 ? hp_rd32be(b + 8) : rd64be(b + 8);
        uint64_t size = esz == 20 ? hp_rd32be(b + 12) : rd64be(b + 16);
        uint32_t align = hp_rd32be(b + (esz == 20 ? 16 : 24));
        assert_int_equal(align, hp_rd32be(a + (esz == 20 ? 16 : 24)));
        assert_int_equal(off % (1ull << align), 0);
        assert_true(off >= prev_end);
        assert_true(off + size <= out->size);
        prev_end = off + size;
    }
    assert_int_equal(prev_end, out->size);
}

/* Both slices patched, each re-read as patched and signed; the header
 * follows the input's; joining twice gives the same bytes. */
static void test_roundtrip_fat(void **state)
{
    (void)state;
    if (!have_fat)
        skip();
    hp_diags d = {0};
    hp_image *img = join_fat(WORK "/fat", WORK "/fat.out", &d);
    hp_image_close(join_fat(WORK "/fat", WORK "/fat.out2", &d));
    check_signature(WORK "/fat.out");
    blob in = read_file(WORK "/fat"), out = read_file(WORK "/fat.out");
    blob out2 = read_file(WORK "/fat.out2");
    assert_int_equal(out.size, out2.size);
    assert_memory_equal(out.data, out2.data, out.size);
    check_fat_header(&in, &out, 20);
    hp_diags d2 = {0};
    hp_image *o = open_ok(WORK "/fat.out", &d2);
    assert_int_equal(o->nslices, 2);
    for (size_t i = 0; i < 2; i++) {
        const hp_image *sl = o->slices[i].img;
        assert_non_null(sl);
        assert_string_equal(o->slices[i].arch, img->slices[i].arch);
        assert_int_equal(sl->prior_info_size, strlen(info_text));
        assert_memory_equal(sl->prior_info, info_text, strlen(info_text));
        assert_int_equal(hp_image_bytes(sl, find_sym(sl, "add")->va, 1)[0], 0xe9);
        assert_non_null(find_sym(sl, "add.hookpatch_stub"));
    }
    hp_image_close(o);
    hp_image_close(img);
    free(in.data);
    free(out.data);
    free(out2.data);
    hp_diags_free(&d);
    hp_diags_free(&d2);
}

/* The arm64 entry of the universal header turned into arm64e: that slice is
 * recorded unpatched with the reason and copied byte for byte; the x86-64
 * one is still patched. A universal file with nothing patchable is refused. */
static void test_fat_arm64e_slice(void **state)
{
    (void)state;
    if (!have_fat)
        skip();
    blob b = read_file(WORK "/fat");
    uint32_t n = hp_rd32be(b.data + 4), ai = n;
    for (uint32_t i = 0; i < n; i++)
        if (hp_rd32be(b.data + 8 + 20 * i) == HP_CPU_ARM64)
            ai = i;
    assert_true(ai < n);
    hp_wr32be(b.data + 8 + 20 * ai + 4, 0x80000002u);
    write_blob(WORK "/fat_e", b.data, b.size);
    hp_diags d = {0};
    hp_image *img = join_fat(WORK "/fat_e", WORK "/fat_e.out", &d);
    const hp_slice *e = slice_named(img, "arm64e");
    assert_null(e->img);
    assert_non_null(strstr(e->why, "arm64e"));
    assert_non_null(slice_named(img, "x86_64")->img);
    blob out = read_file(WORK "/fat_e.out");
    check_fat_header(&b, &out, 20);
    const uint8_t *oe = out.data + 8 + 20 * ai;
    assert_int_equal(hp_rd32be(oe + 12), e->size);
    assert_memory_equal(out.data + hp_rd32be(oe + 8), b.data + e->file_off, e->size);
    hp_image_close(img);
    hp_diags_free(&d);
    /* and the x86-64 one an i386 slice: nothing left to patch */
    for (uint32_t i = 0; i < n; i++)
        if (i != ai)
            hp_wr32be(b.data + 8 + 20 * i, 7);
    hp_image *none = NULL;
    assert_int_equal(hp_image_open_mem(b.data, b.size, "fat_none", &d, &none),
                     HP_ERR_UNSUPPORTED);
    assert_true(diag_has(&d, "universal binary has no slice hookpatch can patch (it has: "));
    assert_true(diag_has(&d, "i386") && diag_has(&d, "arm64e"));
    hp_diags_free(&d);
    free(b.data);
    free(out.data);
}

/* A slice's own problem is reported naming the slice (hp_diag.slice); a
 * slice that claims x86-64 but holds a universal header is refused. */
static void test_fat_bad_slice(void **state)
{
    (void)state;
    if (!have_fat)
        skip();
    blob b = read_file(WORK "/fat");
    uint32_t n = hp_rd32be(b.data + 4);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = b.data + 8 + 20 * i;
        if (hp_rd32be(e) == HP_CPU_ARM64)
            hp_wr32(b.data + hp_rd32be(e + 8) + 20, 0x100000); /* sizeofcmds */
    }
    hp_diags d = {0};
    hp_image *img = NULL;
    assert_int_equal(hp_image_open_mem(b.data, b.size, "fat_bad", &d, &img), HP_ERR_FORMAT);
    assert_true(d.n >= 1);
    assert_non_null(d.v[0].slice);
    assert_string_equal(d.v[0].slice, "arm64");
    assert_null(d.slice); /* cleared after the slice */
    hp_diags_free(&d);
    free(b.data);
    b = read_file(WORK "/fat");
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = b.data + 8 + 20 * i;
        if (hp_rd32be(e) == HP_CPU_X86_64)
            hp_wr32be(b.data + hp_rd32be(e + 8), 0xcafebabeu);
    }
    assert_int_equal(hp_image_open_mem(b.data, b.size, "fat_nested", &d, &img), HP_ERR_FORMAT);
    assert_true(diag_has(&d, "(x86_64) is not a 64-bit little-endian Mach-O image"));
    hp_diags_free(&d);
    free(b.data);
    /* the universal header and the slice disagree on the CPU */
    b = read_file(WORK "/fat");
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = b.data + 8 + 20 * i;
        if (hp_rd32be(e) == HP_CPU_X86_64)
            hp_wr32(b.data + hp_rd32be(e + 8) + 4, HP_CPU_ARM64);
    }
    assert_int_equal(hp_image_open_mem(b.data, b.size, "fat_mixed", &d, &img), HP_ERR_FORMAT);
    assert_true(diag_has(&d, "the universal header says x86_64 (cputype 0x1000007), the slice's "
                             "own header cputype 0x100000c"));
    hp_diags_free(&d);
    free(b.data);
}

static void test_no_header_room(void **state)
{
    (void)state;
    if (!have_c)
        skip();
    hp_diags d = {0};
    hp_image *img = open_ok(WORK "/exe_nopad", &d);
    hp_layout lay = {.size = {64, 0, 0}};
    assert_int_equal(img->fmt->place(img, &lay), HP_ERR_UNSUPPORTED);
    assert_true(diag_has(&d, "-headerpad"));
    hp_image_close(img);
    hp_diags_free(&d);
}

static void test_prior_info(void **state)
{
    (void)state;
    if (!have_c)
        skip();
    hp_diags d = {0};
    hp_image *img = open_ok(WORK "/exe_unsigned", &d);
    hp_layout lay = {.size = {64, 0, 0}};
    assert_int_equal(img->fmt->place(img, &lay), HP_OK);
    hp_edit ed = {0};
    ed.regions[0].va = lay.va[0];
    ed.regions[0].mem_size = 64;
    assert_int_equal(hp_buf_append_zeros(&ed.regions[0].bytes, 64), HP_OK);
    assert_int_equal(hp_buf_append(&ed.info, "x", 1), HP_OK);
    emit_to(img, &ed, WORK "/once.out");
    hp_image *o = open_ok(WORK "/once.out", &d);
    assert_non_null(o->prior_info);
    assert_int_equal(o->prior_info_size, 1);
    hp_edit_free(&ed);
    hp_image_close(o);
    hp_image_close(img);
    hp_diags_free(&d);
}

/* ---- chained fixups ---- */

/* Give exe_unsigned an LC_DYLD_CHAINED_FIXUPS whose starts table has one
 * (empty) entry per segment, appended to __LINKEDIT. */
static blob with_chained_fixups(void)
{
    blob b = read_file(WORK "/exe_unsigned");
    uint8_t *h = b.data;
    uint32_t ncmds = hp_rd32(h + 16), sizeofcmds = hp_rd32(h + 20), nsegs = 0, le = 0;
    for (uint32_t i = 0, off = 32; i < ncmds; i++, off += hp_rd32(h + off + 4))
        if (hp_rd32(h + off) == HP_LC_SEGMENT_64) {
            nsegs++;
            if (!strcmp((char *)h + off + 8, "__LINKEDIT"))
                le = off;
        }
    assert_true(le != 0);
    uint32_t blob_off = (uint32_t)hp_align_up(b.size, 8), starts = 32;
    uint32_t imports = starts + 4 + 4 * nsegs, size = imports + 8;
    b.data = h = realloc(h, blob_off + size);
    memset(h + b.size, 0, blob_off + size - b.size);
    uint8_t *f = h + blob_off;
    hp_wr32(f + 4, starts);
    hp_wr32(f + 8, imports);
    hp_wr32(f + 12, imports);
    hp_wr32(f + 20, 1); /* DYLD_CHAINED_IMPORT */
    hp_wr32(f + starts, nsegs);
    b.size = blob_off + size;
    hp_wr64(h + le + 48, b.size - hp_rd64(h + le + 40)); /* __LINKEDIT holds the blob */
    hp_wr64(h + le + 32, hp_align_up(hp_rd64(h + le + 48), 0x1000));
    uint8_t *lc = h + 32 + sizeofcmds;
    hp_wr32(lc, HP_LC_DYLD_CHAINED_FIXUPS);
    hp_wr32(lc + 4, 16);
    hp_wr32(lc + 8, blob_off);
    hp_wr32(lc + 12, size);
    hp_wr32(h + 16, ncmds + 1);
    hp_wr32(h + 20, sizeofcmds + 16);
    return b;
}

/* place() + emit with a hand-made edit on the chained-fixups input. */
static hp_image *chained_open(blob *b, hp_diags *d)
{
    *b = with_chained_fixups();
    hp_image *img = NULL;
    hp_status st = hp_image_open_mem(b->data, b->size, "chained", d, &img);
    if (st != HP_OK)
        hp_diags_print(d, stderr);
    assert_int_equal(st, HP_OK);
    return img;
}

static void chained_edit(hp_image *img, hp_layout *lay, hp_edit *ed)
{
    assert_int_equal(img->fmt->place(img, lay), HP_OK);
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        ed->regions[r].va = lay->va[r];
        ed->regions[r].mem_size = lay->size[r];
        assert_int_equal(hp_buf_append_zeros(&ed->regions[r].bytes, lay->size[r]), HP_OK);
    }
}

/* Without new pointers: seg_count grows by one empty entry per new
 * segment, the imports move behind the grown table. */
static void test_chained_fixups(void **state)
{
    (void)state;
    if (!have_c)
        skip();
    blob b;
    hp_diags d = {0}, d2 = {0};
    hp_image *img = chained_open(&b, &d);
    const hp_macho *m = img->priv;
    hp_layout lay = {.size = {64, 0, 32}};
    hp_edit ed = {0};
    chained_edit(img, &lay, &ed);
    emit_to(img, &ed, WORK "/chained.out");
    hp_image *o = open_ok(WORK "/chained.out", &d2);
    const hp_macho *om = o->priv;
    assert_true(om->chained_lc != 0);
    const uint8_t *lc = o->data + om->chained_lc, *f = o->data + hp_rd32(lc + 8);
    assert_int_equal(hp_rd32(f + hp_rd32(f + 4)), om->nsegs); /* seg_count grew by 2 */
    assert_int_equal(om->nsegs, m->nsegs + 2);
    for (size_t i = 0; i < om->nsegs; i++)
        assert_int_equal(hp_rd32(f + 32 + 4 + 4 * i), 0); /* no fixups anywhere */
    assert_int_equal(hp_rd32(f + 8), hp_rd32(f + 4) + 4 + 4 * om->nsegs); /* imports moved */
    hp_edit_free(&ed);
    hp_image_close(o);
    hp_image_close(img);
    hp_diags_free(&d);
    hp_diags_free(&d2);
    free(b.data);
}

/* New pointers: the new data segment (two 4 KiB pages) gets a
 * dyld_chained_starts_in_segment and each slot a DYLD_CHAINED_PTR_64
 * rebase; the chain links slots of one page, the next page starts anew.
 * The expected words are spelled out from fixup-chains.h's layout:
 * target (36 bits) | high8 << 36 | next (4-byte strides) << 51. */
static void test_chained_pointers(void **state)
{
    (void)state;
    if (!have_c)
        skip();
    blob b;
    hp_diags d = {0}, d2 = {0};
    hp_image *img = chained_open(&b, &d);
    const hp_macho *m = img->priv;
    hp_layout lay = {.size = {64, 0x40, 0x1800}, .nabs_ptrs = 3};
    hp_edit ed = {0};
    chained_edit(img, &lay, &ed);
    uint64_t seg = lay.va[HP_REGION_RODATA], dva = lay.va[HP_REGION_DATA];
    assert_int_equal(dva, seg + 0x40);
    uint64_t slots[3] = {seg + 0x58, seg + 0x40, seg + 0x1008}; /* any order */
    uint64_t vals[3] = {lay.va[HP_REGION_TEXT], seg + 0x10, 0xab00000100000123ull};
    for (int i = 0; i < 3; i++) {
        hp_wr64(ed.regions[HP_REGION_DATA].bytes.data + (slots[i] - dva), vals[i]);
        assert_int_equal(hp_edit_add_abs_ptr(&ed, slots[i]), HP_OK);
    }
    emit_to(img, &ed, WORK "/chained_ptrs.out");
    hp_image *o = open_ok(WORK "/chained_ptrs.out", &d2);
    const hp_macho *om = o->priv;
    const uint8_t *f = o->data + hp_rd32(o->data + om->chained_lc + 8);
    uint32_t starts = hp_rd32(f + 4), n = (uint32_t)om->nsegs;
    assert_int_equal(hp_rd32(f + starts), n);
    uint32_t di = (uint32_t)m->linkedit; /* the new data segment's index */
    assert_string_equal(om->segs[di].name, HP_MACHO_SEG_DATA);
    assert_int_equal(hp_rd32(f + starts + 4 + 4 * (di + 1)), 0); /* __HOOKPATCH: none */
    uint32_t so = hp_rd32(f + starts + 4 + 4 * di);
    assert_int_equal(starts + so, hp_align_up(starts + 4 + 4 * n, 8));
    const uint8_t *s = f + starts + so;
    assert_int_equal(hp_rd32(s), 22 + 2 * 2);      /* size */
    assert_int_equal(hp_rd16(s + 4), 0x1000);      /* page_size */
    assert_int_equal(hp_rd16(s + 6), 2);           /* DYLD_CHAINED_PTR_64 */
    assert_int_equal(hp_rd64(s + 8), seg - 0x100000000ull); /* segment_offset */
    assert_int_equal(hp_rd16(s + 20), 2);          /* page_count */
    assert_int_equal(hp_rd16(s + 22), 0x40);       /* page 0 starts at the first slot */
    assert_int_equal(hp_rd16(s + 24), 0x8);        /* page 1 */
    /* the imports follow the struct, 8-aligned */
    assert_int_equal(hp_rd32(f + 8), hp_align_up(starts + so + 26, 8));
    assert_int_equal(hp_rd32(f + 12), hp_rd32(f + 8)); /* symbols_offset moved alike */
    const uint8_t *p0 = hp_image_bytes(o, seg + 0x40, 8), *p1 = hp_image_bytes(o, seg + 0x58, 8);
    const uint8_t *p2 = hp_image_bytes(o, seg + 0x1008, 8);
    assert_non_null(p0);
    assert_non_null(p1);
    assert_non_null(p2);
    assert_int_equal(hp_rd64(p0), (seg + 0x10) | 6ull << 51);       /* next: 0x18 / 4 */
    assert_int_equal(hp_rd64(p1), lay.va[HP_REGION_TEXT]);          /* last of page 0 */
    assert_int_equal(hp_rd64(p2), 0x100000123ull | 0xabull << 36);  /* high8 kept */
    hp_edit_free(&ed);
    hp_image_close(o);

    /* a slot that is not 8-byte aligned: refused, named */
    hp_edit e2 = {0};
    chained_edit(img, &lay, &e2);
    assert_int_equal(hp_edit_add_abs_ptr(&e2, dva + 4), HP_OK);
    int fd = open(WORK "/chained_bad.out", O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(hp_image_emit(img, &e2, fd, NULL), HP_ERR_UNSUPPORTED);
    close(fd);
    assert_true(diag_has(&d, "is not 8-byte aligned"));
    hp_edit_free(&e2);
    hp_image_close(img);
    hp_diags_free(&d);
    hp_diags_free(&d2);
    free(b.data);
}

/* arm64, lld 19 -fixup_chains, __DATA holding two pointers already: the
 * new data segment (two 16 KiB pages) inherits page size 0x4000 and
 * DYLD_CHAINED_PTR_64 from __DATA's starts, which move behind the grown
 * table unchanged. The chains are then walked by macho_emu.py (the tests'
 * independent reader): the input's fixups, then exactly the new ones; the
 * bind in __DATA_CONST still names _printf through the moved
 * imports_offset and symbols_offset. */
static void test_chained_pointers_arm64(void **state)
{
    (void)state;
    if (!have_a64_chained)
        skip();
    hp_diags d = {0}, d2 = {0};
    hp_image *img = open_ok(WORK "/exe_a64_chained", &d);
    const hp_macho *m = img->priv;
    assert_int_equal(img->machine, HP_MACH_ARM64);
    hp_layout lay = {.size = {64, 0x40, 0x4100}, .nabs_ptrs = 3};
    hp_edit ed = {0};
    chained_edit(img, &lay, &ed);
    uint64_t seg = lay.va[HP_REGION_RODATA], dva = lay.va[HP_REGION_DATA];
    uint64_t slots[3] = {seg + 0x40, seg + 0x48, seg + 0x4010};
    uint64_t vals[3] = {lay.va[HP_REGION_TEXT], seg + 0x10, lay.va[HP_REGION_TEXT] + 8};
    for (int i = 0; i < 3; i++) {
        hp_wr64(ed.regions[HP_REGION_DATA].bytes.data + (slots[i] - dva), vals[i]);
        assert_int_equal(hp_edit_add_abs_ptr(&ed, slots[i]), HP_OK);
    }
    emit_to(img, &ed, WORK "/a64_chained.out");
    check_signature(WORK "/a64_chained.out");
    hp_image *o = open_ok(WORK "/a64_chained.out", &d2);
    const hp_macho *om = o->priv;
    const uint8_t *f = o->data + hp_rd32(o->data + om->chained_lc + 8);
    uint32_t starts = hp_rd32(f + 4), di = (uint32_t)m->linkedit;
    const uint8_t *s = f + starts + hp_rd32(f + starts + 4 + 4 * di);
    assert_int_equal(hp_rd16(s + 4), 0x4000);
    assert_int_equal(hp_rd16(s + 6), 2);
    assert_int_equal(hp_rd16(s + 20), 2);    /* page_count */
    assert_int_equal(hp_rd16(s + 22), 0x40); /* page 0 */
    assert_int_equal(hp_rd16(s + 24), 0x10); /* page 1 */
    assert_int_equal(hp_rd64(hp_image_bytes(o, seg + 0x40, 8)), vals[0] | 2ull << 51);
    /* the independent walk */
    assert_int_equal(sh("cd " WORK " && python3 " HP_SOURCE_DIR "/tests/e2e/macho_emu.py chains "
                        "a64_chained.out >a64_chains_out.txt"), 0);
    blob in = read_file(WORK "/a64_chains.txt"), out = read_file(WORK "/a64_chains_out.txt");
    char want[8192];
    int n = snprintf(want, sizeof want,
                     "%s" HP_MACHO_SEG_DATA "+0x40 rebase 0x%llx\n" HP_MACHO_SEG_DATA
                     "+0x48 rebase 0x%llx\n" HP_MACHO_SEG_DATA "+0x4010 rebase 0x%llx\n",
                     (const char *)in.data, (unsigned long long)vals[0],
                     (unsigned long long)vals[1], (unsigned long long)vals[2]);
    assert_true(n > 0 && (size_t)n < sizeof want);
    assert_true(strstr((const char *)in.data, "__DATA+0x0 rebase") != NULL);
    assert_string_equal((const char *)out.data, want);
    free(in.data);
    free(out.data);
    hp_edit_free(&ed);
    hp_image_close(o);
    hp_image_close(img);
    hp_diags_free(&d);
    hp_diags_free(&d2);
}

/* ---- the identity of a real signature (macho_cms.c) ---- */

/* A CMS SignedData laid out as Apple's encoder does (BER, indefinite
 * lengths at the outer levels): an intermediate CA's certificate first,
 * then the leaf; the SignerInfo names the leaf by issuer and serial. Made
 * by cms() in tests/e2e/macho_sign_ent.py; openssl pkcs7 -print_certs
 * reads it. */
static const uint8_t cms_der[] =
    "\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0\x80\x30\x80\x02\x01\x01\x31\x0d\x30\x0b\x06\x09\x60\x86\x48\x01\x65\x03"
    "\x04\x02\x01\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01\x00\x00\xa0\x80\x30\x82\x01\x0e\x30\x81\xd9\xa0\x03\x02\x01\x02"
    "\x02\x01\x11\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b\x05\x00\x30\x39\x31\x0b\x30\x09\x06\x03\x55\x04\x06\x13\x02\x55"
    "\x53\x31\x13\x30\x11\x06\x03\x55\x04\x0a\x0c\x0a\x41\x70\x70\x6c\x65\x20\x49\x6e\x63\x2e\x31\x15\x30\x13\x06\x03\x55\x04\x03\x0c"
    "\x0c\x54\x65\x73\x74\x20\x52\x6f\x6f\x74\x20\x43\x41\x30\x1e\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x17\x0d"
    "\x33\x30\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x30\x41\x31\x0b\x30\x09\x06\x03\x55\x04\x06\x13\x02\x55\x53\x31\x13\x30\x11"
    "\x06\x03\x55\x04\x0a\x0c\x0a\x41\x70\x70\x6c\x65\x20\x49\x6e\x63\x2e\x31\x1d\x30\x1b\x06\x03\x55\x04\x03\x0c\x14\x44\x65\x76\x65"
    "\x6c\x6f\x70\x65\x72\x20\x49\x44\x20\x54\x65\x73\x74\x20\x43\x41\x30\x22\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05"
    "\x00\x03\x11\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01"
    "\x0b\x05\x00\x03\x21\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x30\x82\x01\x3d\x30\x82\x01\x07\xa0\x03\x02\x01\x02\x02\x03\x51\x7a\x03\x30\x0d\x06\x09\x2a\x86\x48\x86"
    "\xf7\x0d\x01\x01\x0b\x05\x00\x30\x41\x31\x0b\x30\x09\x06\x03\x55\x04\x06\x13\x02\x55\x53\x31\x13\x30\x11\x06\x03\x55\x04\x0a\x0c"
    "\x0a\x41\x70\x70\x6c\x65\x20\x49\x6e\x63\x2e\x31\x1d\x30\x1b\x06\x03\x55\x04\x03\x0c\x14\x44\x65\x76\x65\x6c\x6f\x70\x65\x72\x20"
    "\x49\x44\x20\x54\x65\x73\x74\x20\x43\x41\x30\x1e\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x17\x0d\x33\x30\x30"
    "\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x30\x65\x31\x0b\x30\x09\x06\x03\x55\x04\x06\x13\x02\x55\x53\x31\x0c\x30\x0a\x06\x03\x55"
    "\x04\x0a\x0c\x03\x46\x6f\x6f\x31\x13\x30\x11\x06\x03\x55\x04\x0b\x0c\x0a\x41\x42\x43\x44\x45\x31\x32\x33\x34\x35\x31\x33\x30\x31"
    "\x06\x03\x55\x04\x03\x0c\x2a\x44\x65\x76\x65\x6c\x6f\x70\x65\x72\x20\x49\x44\x20\x41\x70\x70\x6c\x69\x63\x61\x74\x69\x6f\x6e\x3a"
    "\x20\x46\x6f\x6f\x20\x28\x41\x42\x43\x44\x45\x31\x32\x33\x34\x35\x29\x30\x22\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
    "\x05\x00\x03\x11\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01"
    "\x01\x0b\x05\x00\x03\x21\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x31\x81\x8e\x30\x81\x8b\x02\x01\x01\x30\x48\x30\x41\x31\x0b\x30\x09\x06\x03\x55\x04\x06\x13"
    "\x02\x55\x53\x31\x13\x30\x11\x06\x03\x55\x04\x0a\x0c\x0a\x41\x70\x70\x6c\x65\x20\x49\x6e\x63\x2e\x31\x1d\x30\x1b\x06\x03\x55\x04"
    "\x03\x0c\x14\x44\x65\x76\x65\x6c\x6f\x70\x65\x72\x20\x49\x44\x20\x54\x65\x73\x74\x20\x43\x41\x02\x03\x51\x7a\x03\x30\x0b\x06\x09"
    "\x60\x86\x48\x01\x65\x03\x04\x02\x01\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b\x05\x00\x04\x20\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

static void test_cms_signer(void **state)
{
    (void)state;
    size_t n = sizeof cms_der - 1;
    char cn[160], small[8];
    assert_true(hp_macho_cms_signer(cms_der, n, cn, sizeof cn));
    assert_string_equal(cn, "Developer ID Application: Foo (ABCDE12345)"); /* the leaf's */
    assert_true(hp_macho_cms_signer(cms_der, n, small, sizeof small));
    assert_string_equal(small, "Develop"); /* cut to the buffer */
    /* every truncation (each in a buffer of its exact size, so that ASan
     * sees an over-read): the outer indefinite length never ends */
    for (size_t len = 0; len < n; len++) {
        uint8_t *b = malloc(len ? len : 1);
        assert_non_null(b);
        memcpy(b, cms_der, len);
        assert_false(hp_macho_cms_signer(b, len, cn, sizeof cn));
        free(b);
    }
    /* every byte set to 0x00, 0x80, 0xff: no crash, a name is terminated */
    uint8_t *b = malloc(n);
    assert_non_null(b);
    static const uint8_t vals[] = {0x00, 0x80, 0xff};
    for (size_t i = 0; i < n; i++)
        for (size_t v = 0; v < sizeof vals; v++) {
            memcpy(b, cms_der, n);
            b[i] = vals[v];
            if (hp_macho_cms_signer(b, n, cn, sizeof cn))
                assert_true(strlen(cn) < sizeof cn);
        }
    free(b);
    /* indefinite lengths nested 2000 deep: refused, the stack bounded */
    uint8_t deep[4000];
    for (size_t i = 0; i < sizeof deep; i += 2) {
        deep[i] = 0x30;
        deep[i + 1] = 0x80;
    }
    assert_false(hp_macho_cms_signer(deep, sizeof deep, cn, sizeof cn));
}

/* ---- SHA-256 ---- */

static void test_sha256(void **state)
{
    (void)state;
    static const struct {
        const char *msg, *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t h[32];
        char hex[65];
        hp_sha256((const uint8_t *)v[i].msg, strlen(v[i].msg), h);
        for (int k = 0; k < 32; k++)
            sprintf(hex + 2 * k, "%02x", h[k]);
        assert_string_equal(hex, v[i].hex);
    }
    uint8_t *a = malloc(1000000), h[32];
    memset(a, 'a', 1000000);
    hp_sha256(a, 1000000, h);
    free(a);
    assert_int_equal(h[0], 0xcd);
    assert_int_equal(h[31], 0xd0); /* cdc76e5c...046d39ccc7112cd0 */
}

/* ---- malformed input ---- */

static void expect_format(const uint8_t *data, size_t size, const char *what)
{
    hp_diags d = {0};
    hp_image *img = NULL;
    hp_status s = hp_image_open_mem(data, size, what, &d, &img);
    if (s != HP_ERR_FORMAT)
        fprintf(stderr, "%s: status %s\n", what, hp_status_str(s));
    assert_int_equal(s, HP_ERR_FORMAT);
    assert_null(img);
    assert_true(d.errors > 0);
    hp_diags_free(&d);
}

/* Offset of the first load command `cmd` in a thin file. */
static uint32_t lc_find(const blob *b, uint32_t cmd, const char *segname)
{
    uint32_t ncmds = hp_rd32(b->data + 16);
    for (uint32_t i = 0, off = 32; i < ncmds; i++, off += hp_rd32(b->data + off + 4))
        if (hp_rd32(b->data + off) == cmd &&
            (!segname || !strcmp((char *)b->data + off + 8, segname)))
            return off;
    fail();
    return 0;
}

static void test_malformed(void **state)
{
    (void)state;
    /* synthetic: no toolchain needed */
    uint8_t hdr[32] = {0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1};
    expect_format(hdr, 20, "truncated header");
    hdr[12] = 2;
    hp_wr32(hdr + 20, 0x1000); /* sizeofcmds beyond the file */
    expect_format(hdr, sizeof hdr, "sizeofcmds");
    uint8_t fat[48] = {0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 1, 1, 0, 0, 7, 0, 0, 0, 3,
                       0, 0, 0x10, 0, 0, 0, 0x10, 0};
    expect_format(fat, sizeof fat, "fat slice outside the file");
    if (!have_c)
        skip();
    blob good = read_file(WORK "/exe_unsigned");
    blob b = {malloc(good.size), good.size};
#define MUTATE(desc, stmt)                                                                     \
    do {                                                                                       \
        memcpy(b.data, good.data, good.size);                                                  \
        stmt;                                                                                  \
        expect_format(b.data, b.size, desc);                                                   \
    } while (0)
    uint32_t text = lc_find(&good, HP_LC_SEGMENT_64, "__TEXT");
    uint32_t le = lc_find(&good, HP_LC_SEGMENT_64, "__LINKEDIT");
    uint32_t sym = lc_find(&good, HP_LC_SYMTAB, NULL);
    uint32_t dysym = lc_find(&good, HP_LC_DYSYMTAB, NULL);
    uint32_t dyld = lc_find(&good, HP_LC_DYLD_INFO_ONLY, NULL);
    MUTATE("truncated to the load commands", b.size = 200);
    MUTATE("ncmds too large", hp_wr32(b.data + 16, 100000));
    MUTATE("cmdsize 0", hp_wr32(b.data + text + 4, 0));
    MUTATE("cmdsize beyond sizeofcmds", hp_wr32(b.data + sym + 4, 0x100000));
    MUTATE("segment fileoff beyond EOF", hp_wr64(b.data + le + 40, good.size + 0x1000));
    MUTATE("segment filesize beyond EOF", hp_wr64(b.data + le + 48, good.size));
    MUTATE("nsects beyond cmdsize", hp_wr32(b.data + text + 64, 1000));
    MUTATE("section outside its segment", hp_wr64(b.data + text + 72 + 32, 0x1000));
    MUTATE("symtab outside the file", hp_wr32(b.data + sym + 8, (uint32_t)good.size - 8));
    MUTATE("symtab count overflows", hp_wr32(b.data + sym + 12, 0xffffffffu));
    MUTATE("strtab outside the file", hp_wr32(b.data + sym + 20, 0x7fffffff));
    MUTATE("symbol name outside strtab",
           hp_wr32(b.data + hp_rd32(good.data + sym + 8) + 16 * (hp_rd32(good.data + sym + 12) - 1),
                   0xfffffff0u));
    MUTATE("indirect symbols outside the file", hp_wr32(b.data + dysym + 60, 0x10000000));
    MUTATE("dyld info outside the file", hp_wr32(b.data + dyld + 44, 0x7fffffff));
    MUTATE("empty table far outside the file",
           (hp_wr32(b.data + sym + 8, 0x7fffff00), hp_wr32(b.data + sym + 12, 0)));
    MUTATE("overlapping segments", hp_wr64(b.data + le + 24, hp_rd64(good.data + text + 24)));
    MUTATE("segment address wraps", hp_wr64(b.data + le + 32, UINT64_MAX));
#undef MUTATE
    free(b.data);
    free(good.data);
}

/* Every truncation of a real file fails cleanly or loads (for a universal
 * file: the header, each slice). */
static void truncations(const char *path)
{
    blob good = read_file(path);
    for (size_t n = 0; n < good.size; n += n < 4096 ? 7 : 509) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, good.data, n);
        hp_diags d = {0};
        hp_image *img = NULL;
        hp_status s = hp_image_open_mem(copy, n, "trunc", &d, &img);
        assert_true(s == HP_OK || s == HP_ERR_FORMAT || s == HP_ERR_UNSUPPORTED);
        hp_image_close(img);
        hp_diags_free(&d);
        free(copy);
    }
    free(good.data);
}

static void test_truncations(void **state)
{
    (void)state;
    if (!have_c)
        skip();
    truncations(WORK "/exe");
    if (have_fat)
        truncations(WORK "/fat");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_exe), cmocka_unit_test(test_code_map),        cmocka_unit_test(test_load_dylib),
        cmocka_unit_test(test_load_fat),        cmocka_unit_test(test_roundtrip_exe),
        cmocka_unit_test(test_load_arm64),      cmocka_unit_test(test_arm64e_refused),
        cmocka_unit_test(test_roundtrip_dylib),
        cmocka_unit_test(test_roundtrip_fat),   cmocka_unit_test(test_no_header_room),
        cmocka_unit_test(test_fat_arm64e_slice), cmocka_unit_test(test_fat_bad_slice),
        cmocka_unit_test(test_prior_info),      cmocka_unit_test(test_chained_fixups),
        cmocka_unit_test(test_chained_pointers),
        cmocka_unit_test(test_chained_pointers_arm64),
        cmocka_unit_test(test_cms_signer),
        cmocka_unit_test(test_sha256),          cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncations),
    };
    const struct CMUnitTest per_go[] = {cmocka_unit_test(test_load_go)};
    return tgo_run("test_macho", tests, sizeof tests / sizeof tests[0], per_go, 1, build_fixtures,
                   NULL);
}
