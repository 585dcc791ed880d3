/* hp_map: a string-keyed hash table (open addressing, FNV-1a). */
#include "hp_map.h"

#include <string.h>

static uint64_t hp_map_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static hp_map_ent *hp_map_slot(hp_map_ent *v, size_t cap, const char *key)
{
    size_t i = (size_t)hp_map_hash(key) & (cap - 1);
    while (v[i].key && strcmp(v[i].key, key))
        i = (i + 1) & (cap - 1);
    return &v[i];
}

hp_map_ent *hp_map_find(const hp_map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    hp_map_ent *e = hp_map_slot(m->v, m->cap, key);
    return e->key ? e : NULL;
}

static hp_status hp_map_grow(hp_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    if (ncap > SIZE_MAX / sizeof(hp_map_ent))
        return HP_ERR_NOMEM;
    hp_map_ent *nv = hp_calloc(ncap, sizeof *nv);
    if (!nv)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->v[i].key)
            *hp_map_slot(nv, ncap, m->v[i].key) = m->v[i];
    hp_free(m->v);
    m->v = nv;
    m->cap = ncap;
    return HP_OK;
}

hp_status hp_map_add(hp_map *m, const char *key, uint32_t a, uint32_t b)
{
    if ((m->n + 1) * 2 > m->cap)
        HP_CHECK(hp_map_grow(m));
    *hp_map_slot(m->v, m->cap, key) = (hp_map_ent){key, a, b};
    m->n++;
    return HP_OK;
}

void hp_map_free(hp_map *m)
{
    hp_free(m->v);
    memset(m, 0, sizeof *m);
}
