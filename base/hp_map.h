/* hp_map: a string-keyed hash table holding two 32-bit values per key. The
 * object linker keeps its global symbols, COMDAT groups and bindings in
 * one; the object readers look COMDAT signatures up in it. Keys are
 * borrowed and must outlive the map. */
#ifndef HP_MAP_H
#define HP_MAP_H

#include "hp_base.h"

typedef struct hp_map_ent {
    const char *key;
    uint32_t a, b;
} hp_map_ent;

typedef struct hp_map {
    hp_map_ent *v;
    size_t cap, n;
} hp_map;

/* The entry for key, or NULL. */
hp_map_ent *hp_map_find(const hp_map *m, const char *key);
/* Insert key (which must be absent). */
hp_status hp_map_add(hp_map *m, const char *key, uint32_t a, uint32_t b);
void hp_map_free(hp_map *m);

#endif
