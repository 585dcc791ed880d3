/* libFuzzer harness for relocs/objlink: the input is one relocatable
 * object. It is loaded, measured and linked into a scratch edit (regions
 * set up exactly as objlink.h asks), once as a PIC and once as a fixed
 * output, with every external name resolving to one fixed address.
 * The linker's machine is the object's when it says AArch64 (e_machine
 * 183), else x86-64; the fixed link is ~2 GiB from the binary, so AArch64
 * branches take their veneers there.
 * Built by tests/fuzz/CMakeLists.txt (HP_FUZZ=ON) against hp_relocs.
 * Seeds: tests/fuzz/corpus/objlink/ (a64-* are AArch64). */
#include "relocs/objlink.h"

#include <string.h>

static hp_status fz_lookup(void *ctx, const char *name, uint64_t *va)
{
    (void)ctx;
    if (name[0] == 'x') /* some names stay unresolved */
        return HP_ERR_RESOLVE;
    *va = 0x401000;
    return HP_OK;
}

static int fz_region(hp_region *g, uint64_t va, uint64_t len, uint64_t mem)
{
    g->va = va;
    g->mem_size = mem;
    if (len && hp_buf_append_zeros(&g->bytes, len) != HP_OK)
        return -1;
    return 0;
}

static void fz_link(hp_objlink *l, bool pic, uint64_t text_va, uint64_t text_used)
{
    uint64_t size[HP_REGION_COUNT];
    hp_diags d = {0};
    if (hp_objlink_measure(l, text_used, size, &d) != HP_OK) {
        hp_diags_free(&d);
        return;
    }
    hp_edit ed;
    memset(&ed, 0, sizeof ed);
    uint64_t ro = hp_align_up(text_va + text_used + size[0], 0x1000);
    uint64_t rw = hp_align_up(ro + size[1], 0x1000);
    if (fz_region(&ed.regions[0], text_va, text_used + size[0], text_used + size[0]) == 0 &&
        fz_region(&ed.regions[1], ro, size[1], size[1]) == 0 &&
        fz_region(&ed.regions[2], rw, hp_objlink_data_filesz(l), size[2]) == 0) {
        hp_objlink_bind(l, "real_add", 0x402000);
        hp_objlink_emit(l, &ed, pic, fz_lookup, NULL, &d);
    }
    hp_edit_free(&ed);
    hp_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hp_objlink *l;
    bool a64 = size >= 20 && data[18] == 183 && data[19] == 0;
    if (hp_objlink_new(a64 ? HP_MACH_ARM64 : HP_MACH_X86_64, &l) != HP_OK)
        return 0;
    hp_diags d = {0};
    size_t obj;
    if (hp_objlink_add_mem(l, "fuzz.o", data, size, NULL, &d, &obj) == HP_OK) {
        uint64_t va;
        hp_objlink_defines(l, obj, "mock_add");
        fz_link(l, true, 0x500010, 0x23);
        fz_link(l, false, 0x7ffff000, 0);
        hp_edit ed;
        memset(&ed, 0, sizeof ed);
        hp_objlink_symbol_va(l, obj, "mock_add", &ed, &va);
    }
    hp_diags_free(&d);
    hp_objlink_free(l);
    return 0;
}
