/* libFuzzer harness for the PE32+ reader and writer (sections/pe/pe.c,
 * pe_write.c): load the input; when it loads, place small regions and emit
 * a synthetic edit to /dev/null (a jump patched over the first functions,
 * an absolute pointer to rebase, new symbols, the record). Built by
 * tests/fuzz/CMakeLists.txt (HP_FUZZ=ON) against hp_sections. */
#include "sections/format.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static void fuzz_patch_funcs(const hp_image *img, const hp_layout *lay, hp_edit *ed)
{
    size_t done = 0;
    for (size_t i = 0; i < img->nsyms && done < 4; i++) {
        const hp_symbol *s = &img->syms[i];
        const uint8_t *old = hp_image_bytes(img, s->va, 5);
        if (s->kind != HP_SYM_FUNC || !old)
            continue;
        hp_patch p = {.va = s->va, .len = 5, .bytes = {0xe9}};
        hp_wr32(p.bytes + 1, (uint32_t)(lay->va[HP_REGION_TEXT] - (s->va + 5)));
        memcpy(p.orig, old, 5);
        if (hp_edit_add_patch(ed, &p) != HP_OK)
            return;
        hp_edit_add_sym(ed, "fuzz.hookpatch_stub", lay->va[HP_REGION_TEXT] + 16 * done, 1, true);
        done++;
        /* patches must not overlap: skip other names for the same entry */
        while (i + 1 < img->nsyms && img->syms[i + 1].va < s->va + 5)
            i++;
    }
}

static void fuzz_edit(const hp_image *img, const hp_layout *lay, hp_edit *ed)
{
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        ed->regions[r].va = lay->va[r];
        ed->regions[r].mem_size = lay->size[r];
        ed->regions[r].prot = r == HP_REGION_TEXT ? HP_PROT_R | HP_PROT_X : HP_PROT_R;
    }
    hp_buf_append_zeros(&ed->regions[HP_REGION_TEXT].bytes, lay->size[HP_REGION_TEXT]);
    hp_buf_append(&ed->regions[HP_REGION_RODATA].bytes, "fuzzdata", 8);
    uint8_t ptr[8];
    hp_wr64(ptr, lay->va[HP_REGION_RODATA]);
    hp_buf_append(&ed->regions[HP_REGION_DATA].bytes, ptr, 8);
    hp_edit_add_abs_ptr(ed, lay->va[HP_REGION_DATA]);
    hp_edit_add_sym(ed, "a_rather_long_mock_symbol_name", lay->va[HP_REGION_DATA], 8, false);
    hp_buf_append(&ed->info, "hookpatch-info 1\n", 17);
    fuzz_patch_funcs(img, lay, ed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hp_diags d = {0};
    hp_image *img = NULL;
    if (hp_image_open_mem(data, size, "fuzz.exe", &d, &img) == HP_OK && img->kind == HP_FMT_PE) {
        for (size_t i = 0; i < img->nsyms; i++) /* lookups over what was loaded */
            hp_image_owned(img, img->syms[i].va + img->syms[i].size / 2);
        static const char *const names[] = {".debug_info", ".text", ".rdata", ".hookinf"};
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < 4; i++) { /* named sections: ASan checks the bounds */
            const uint8_t *p;
            size_t n;
            if (hp_image_section(img, names[i], &p, &n) && n)
                sink ^= p[0] ^ p[n - 1];
        }
        (void)sink;
        hp_layout lay = {.size = {0x40, 0x10, 0x30}, .nabs_ptrs = 1};
        if (img->fmt->place(img, &lay) == HP_OK) {
            hp_edit ed = {0};
            fuzz_edit(img, &lay, &ed);
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                hp_image_emit(img, &ed, fd, NULL);
                close(fd);
            }
            hp_edit_free(&ed);
        }
    }
    hp_image_close(img);
    hp_diags_free(&d);
    return 0;
}
