/* code: where an image's instructions are, for whole-image scans. A backend
 * that knows its sections says which bytes are code (not every byte of an
 * executable segment is: libLLVM's one r-x segment is 102 MB, of which 50 MB
 * is .text) and which addresses start a function beyond the named symbols
 * (unwind tables list the internal functions a .so does not export). */
#ifndef HP_CODE_H
#define HP_CODE_H

#include "image.h"

typedef struct hp_code_range {
    uint64_t va, size; /* file-backed bytes inside one segment */
} hp_code_range;

typedef struct hp_code_map {
    hp_code_range *ranges; /* sorted by va, not overlapping */
    size_t nranges, ranges_cap;
    uint64_t *starts; /* function starts: symbols and unwind entries; sorted, unique */
    size_t nstarts, starts_cap;
} hp_code_map;

/* Fill out from the backend's code() when it has one (and it found any
 * code ranges), else from the executable segments; the starts always
 * include every function symbol. Ranges and starts outside the file are
 * dropped. */
hp_status hp_image_code(const hp_image *img, hp_code_map *out);
void hp_code_map_free(hp_code_map *m);

/* For backends. */
hp_status hp_code_add_range(hp_code_map *m, uint64_t va, uint64_t size);
hp_status hp_code_add_start(hp_code_map *m, uint64_t va);

#endif
