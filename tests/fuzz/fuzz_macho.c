/* libFuzzer harness for the Mach-O backend: load any bytes; when they load,
 * place small regions and emit an edit with a patch, an absolute pointer
 * (rebase opcodes), a new symbol (rebuilt symbol tables), the info record
 * and, when the input has them, grown chained fixups and a new code
 * signature, all into an in-memory file; for a universal file, that edit in
 * every patched slice, joined.
 * Seeds: tests/fuzz/corpus/macho. Built by tests/fuzz/CMakeLists.txt
 * (HP_FUZZ=ON) against hp_sections. */
#include "sections/format.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Fill *ed for img (a thin image); false when place() refuses it. */
static bool fuzz_make_edit(hp_image *img, hp_edit *ed)
{
    memset(ed, 0, sizeof *ed);
    hp_layout lay = {.size = {48, 16, 40}, .nabs_ptrs = 1};
    if (img->fmt->place(img, &lay) != HP_OK) {
        lay.nabs_ptrs = 0;
        if (img->fmt->place(img, &lay) != HP_OK)
            return false;
    }
    for (int r = 0; r < HP_REGION_COUNT; r++) {
        ed->regions[r].va = lay.va[r];
        ed->regions[r].mem_size = lay.size[r];
        if (hp_buf_append_zeros(&ed->regions[r].bytes, r == HP_REGION_DATA ? 24 : lay.size[r]))
            return false;
    }
    if (lay.nabs_ptrs && hp_edit_add_abs_ptr(ed, lay.va[HP_REGION_DATA]) != HP_OK)
        return false;
    for (size_t i = 0; i < img->nsyms && i < 4; i++) {
        const hp_symbol *s = &img->syms[i];
        const uint8_t *b = hp_image_bytes(img, s->va, 5);
        if (s->kind != HP_SYM_FUNC || !b)
            continue;
        hp_patch p = {.va = s->va, .len = 5, .bytes = {0xe9}};
        memcpy(p.orig, b, 5);
        if (hp_edit_add_patch(ed, &p) != HP_OK)
            return false;
        break;
    }
    return hp_buf_append(&ed->info, "hookpatch-info 1\n", 17) == HP_OK &&
           hp_edit_add_sym(ed, "_f.hookpatch_stub", lay.va[HP_REGION_TEXT], 6, true) == HP_OK;
}

static void fuzz_edit(hp_image *img)
{
    hp_edit ed;
    int fd = memfd_create("fuzz_macho", 0);
    if (fuzz_make_edit(img, &ed) && fd >= 0)
        hp_image_emit(img, &ed, fd, NULL);
    hp_edit_free(&ed);
    if (fd >= 0)
        close(fd);
}

/* A universal file: an edit for every patched slice, then the join. */
static void fuzz_join(hp_image *img)
{
    enum { MAX = 8 };
    hp_edit eds[MAX];
    const hp_edit *use[MAX] = {0};
    size_t n = img->nslices < MAX ? img->nslices : MAX;
    bool ok = img->nslices <= MAX;
    for (size_t i = 0; i < n; i++) {
        memset(&eds[i], 0, sizeof eds[i]);
        if (img->slices[i].img) {
            ok &= fuzz_make_edit(img->slices[i].img, &eds[i]);
            use[i] = &eds[i];
        }
    }
    int fd = memfd_create("fuzz_macho", 0);
    if (ok && fd >= 0)
        hp_image_join(img, use, fd, NULL);
    for (size_t i = 0; i < n; i++)
        hp_edit_free(&eds[i]);
    if (fd >= 0)
        close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hp_diags d = {0};
    hp_image *img = NULL;
    /* only Mach-O: the other formats have their own harnesses */
    if (size >= 4 && hp_format_macho.probe(data, size) &&
        hp_image_open_mem(data, size, "fuzz.macho", &d, &img) == HP_OK &&
        img->kind == HP_FMT_MACHO)
        img->nslices ? fuzz_join(img) : fuzz_edit(img);
    hp_image_close(img);
    hp_diags_free(&d);
    return 0;
}
