/* libFuzzer harness for sections/debug/dwarf.c, the DWARF inline reader.
 *
 * Two input shapes:
 *  - an ELF file ("\177ELF..."): opened with hp_image_open_mem, so the ELF
 *    reader bounds-checks the sections and the DWARF reader gets whatever
 *    .debug_* sections the mutated file still has;
 *  - "HPDW" + five little-endian u32 sizes + the bytes of .debug_info,
 *    .debug_abbrev, .debug_str, .debug_line_str and .debug_str_offsets,
 *    served by a fake backend from exact-size heap copies (a size of 0 means
 *    absent). Most mutations land in the DWARF itself this way.
 * Every reported name is read to its NUL, so ASan sees any overread.
 *
 * Seeds (tests/fuzz/corpus/dwarf, each < 16 KiB): elf-* are
 * tests/fixtures/dwarf/seed.c (gcc -g, gcc -g -flto, clang -g) and seed.cpp
 * (g++ -g) built with -Os -nostdlib -static -fno-asynchronous-unwind-tables
 * -fno-stack-protector -Wl,--build-id=none; the *.hpdw containers hold the
 * .debug_* sections of those and of DWARF 2/4/64-bit builds (objcopy -O
 * binary --only-section=NAME), and synth.hpdw is the synthetic corpus of the
 * unit test: HP_DWARF_SEED_OUT=synth.hpdw tests/test_dwarf.
 *
 * Built by tests/fuzz/CMakeLists.txt (HP_FUZZ=ON) against hp_sections;
 * tests/fuzz/run.sh runs it from the corpus. */
#include "sections/debug/dwarf.h"
#include "sections/format.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_NSECS 5

static const char *const fuzz_names[FUZZ_NSECS] = {".debug_info", ".debug_abbrev", ".debug_str",
                                                   ".debug_line_str", ".debug_str_offsets"};

typedef struct fuzz_secs {
    uint8_t *data[FUZZ_NSECS];
    size_t size[FUZZ_NSECS];
} fuzz_secs;

static bool fuzz_section(const hp_image *img, const char *name, const uint8_t **data,
                         size_t *size)
{
    const fuzz_secs *f = img->priv;
    for (int i = 0; i < FUZZ_NSECS; i++)
        if (f->data[i] && !strcmp(name, fuzz_names[i])) {
            *data = f->data[i];
            *size = f->size[i];
            return true;
        }
    return false;
}

static const hp_format fuzz_fmt = {.name = "fuzz", .section = fuzz_section};

static void fuzz_sink(void *ctx, const char *callee, const char *caller, uint32_t sites)
{
    *(size_t *)ctx += strlen(callee) + strlen(caller) + sites;
}

static void fuzz_run(const hp_image *img)
{
    size_t sink = 0;
    char why[128];
    hp_dwarf_inlined(img, fuzz_sink, &sink, why, sizeof why);
}

static void fuzz_container(const uint8_t *data, size_t size)
{
    if (size < 4 + 4 * FUZZ_NSECS)
        return;
    fuzz_secs f = {0};
    size_t at = 4 + 4 * FUZZ_NSECS;
    for (int i = 0; i < FUZZ_NSECS; i++) {
        size_t n = hp_rd32(data + 4 + 4 * i);
        n = n < size - at ? n : size - at;
        if (!n)
            continue;
        f.data[i] = malloc(n);
        if (!f.data[i])
            goto out;
        memcpy(f.data[i], data + at, n);
        f.size[i] = n;
        at += n;
    }
    hp_image img = {.path = "fuzz", .fmt = &fuzz_fmt, .priv = &f};
    fuzz_run(&img);
out:
    for (int i = 0; i < FUZZ_NSECS; i++)
        free(f.data[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 4 && !memcmp(data, "HPDW", 4)) {
        fuzz_container(data, size);
        return 0;
    }
    hp_diags d = {0};
    hp_image *img = NULL;
    if (hp_image_open_mem(data, size, "fuzz.bin", &d, &img) == HP_OK)
        fuzz_run(img);
    hp_image_close(img);
    hp_diags_free(&d);
    return 0;
}
