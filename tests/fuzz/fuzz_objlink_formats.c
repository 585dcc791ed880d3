/* libFuzzer harness for the COFF and Mach-O object readers (sections/pe/
 * coff_obj.c, sections/macho/macho_obj.c) and the linker: the input is one
 * relocatable object (seeds: mingw-w64 and clang COFF, clang Mach-O). It is
 * loaded twice under two names (COMDAT discarding, duplicate and weak
 * definitions across objects), queried in both C and Mach-O spellings,
 * measured and linked into scratch edits set up as objlink.h asks, as a PIC
 * and as a fixed output, with external names resolving to a fixed address.
 * ELF input reaches the ELF reader too; fuzz_objlink covers that better.
 * The linker's machine is arm64 when the input's Mach-O CPU type is arm64
 * (0x0100000c at offset 4), else x86-64.
 * Built by tests/fuzz/CMakeLists.txt (HP_FUZZ=ON) against hp_relocs.
 * Seeds: tests/fuzz/corpus/objlink_formats/ (macho-a64-* are arm64). */
#include "relocs/objlink.h"

#include <string.h>

static hp_status fz_lookup(void *ctx, const char *name, uint64_t *va)
{
    (void)ctx;
    if (name[0] == 'x' || (name[0] == '_' && name[1] == 'x')) /* some stay unresolved */
        return HP_ERR_RESOLVE;
    *va = 0x140001000;
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

static void fz_link(hp_objlink *l, size_t obj, bool pic, uint64_t text_va, uint64_t text_used)
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
        fz_region(&ed.regions[2], rw, hp_objlink_data_filesz(l), size[2]) == 0 &&
        hp_objlink_emit(l, &ed, pic, fz_lookup, NULL, &d) == HP_OK) {
        uint64_t va;
        hp_objlink_symbol_va(l, obj, "mock_add", &ed, &va);
        hp_objlink_symbol_va(l, obj, "_shared_fn", &ed, &va);
    }
    hp_edit_free(&ed);
    hp_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hp_objlink *l;
    bool a64 = size >= 8 && data[4] == 0x0c && data[5] == 0 && data[6] == 0 && data[7] == 0x01;
    if (hp_objlink_new(a64 ? HP_MACH_ARM64 : HP_MACH_X86_64, &l) != HP_OK)
        return 0;
    hp_diags d = {0};
    size_t a, b;
    if (hp_objlink_add_mem(l, "a.o", data, size, NULL, &d, &a) == HP_OK) {
        hp_objlink_defines(l, a, "mock_add");
        hp_objlink_defines(l, a, "_mock_add");
        hp_objlink_bind(l, "real_add", 0x140002000);
        fz_link(l, a, true, 0x140010010, 0x23);
        if (hp_objlink_add_mem(l, "b.o", data, size, NULL, &d, &b) == HP_OK)
            fz_link(l, b, false, 0x7ffff000, 0);
    }
    hp_diags_free(&d);
    hp_objlink_free(l);
    return 0;
}
