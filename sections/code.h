/* code: where an image's instructions are, for whole-image scans (the
 * cross-reference scan of rewriter/xref). The bytes to scan are what the
 * loader executes: the file-backed bytes of the executable segments. A
 * backend names the parts of those segments its section table says hold
 * data (libLLVM's one r-x segment is 102 MB, of which 50 MB is .text and
 * the rest .rodata, .eh_frame, symbol and relocation tables) and the
 * function starts its unwind tables list beyond the named symbols. */
#ifndef HP_CODE_H
#define HP_CODE_H

#include "image.h"

typedef struct hp_code_range {
    uint64_t va, size; /* file-backed bytes inside one segment */
} hp_code_range;

typedef struct hp_code_map {
    hp_code_range *ranges; /* what to scan: sorted by va, not overlapping */
    size_t nranges, ranges_cap;
    uint64_t *starts; /* function starts: symbols and unwind entries; sorted, unique */
    size_t nstarts, starts_cap;
    /* Filled by the backend: ranges its headers say hold no instructions
     * (sections without an instruction flag, the file headers). Consumed by
     * hp_image_code; empty afterwards. */
    hp_code_range *data;
    size_t ndata, data_cap;
    /* Filled by the backend: the functions whose unwind entry names a
     * landing-pad table (C++ exceptions, glibc's cancellation cleanups):
     * the unwinder enters their landing pads, which no branch shows.
     * eh_known: the backend read every unwind entry for this (false:
     * nothing is known, any function may have landing pads). Sorted by va
     * by hp_image_code. */
    hp_code_range *eh;
    size_t neh, eh_cap;
    bool eh_known;
} hp_code_map;

/* The executable segments' file-backed bytes, less every backend data
 * range in which no function starts (see code.c for why that rule, and
 * not the section flags alone); the starts include every function symbol
 * and the backend's unwind-table starts. */
hp_status hp_image_code(const hp_image *img, hp_code_map *out);
void hp_code_map_free(hp_code_map *m);

/* For backends. */
hp_status hp_code_add_data(hp_code_map *m, uint64_t va, uint64_t size);
/* Data ranges for the file bytes [off, off + size) wherever a segment maps
 * them (the ELF and Mach-O headers sit at the start of the r-x segment). */
hp_status hp_code_add_file_data(const hp_image *img, hp_code_map *m, uint64_t off,
                                uint64_t size);
hp_status hp_code_add_start(hp_code_map *m, uint64_t va);
hp_status hp_code_add_eh(hp_code_map *m, uint64_t va, uint64_t size);
/* Whether [lo, hi) overlaps a function with landing pads (true when they
 * are not known). */
bool hp_code_eh_overlaps(const hp_code_map *m, uint64_t lo, uint64_t hi);

#endif
