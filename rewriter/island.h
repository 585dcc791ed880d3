/* island: room for the near jump of a target whose entry only takes the
 * architecture's short jump (hp_site.island): free padding within the
 * short jump's reach, before or after the function. Free padding is filler
 * (int3, nops) that no function symbol owns, decoded from the start of its
 * gap, in the same executable segment. The planner allocates islands in
 * hook order, skipping bytes already taken (other hooks' stolen bytes and
 * islands), so several tiny targets may share one gap and the choice is
 * deterministic; `hookpatch list` asks with nothing taken. Whether a branch
 * lands in an island is checked against the image-wide table afterwards
 * (rewriter/plan.c). */
#ifndef HP_ISLAND_H
#define HP_ISLAND_H

#include "site.h"

/* Bytes already taken, as [lo, hi) ranges in any order. */
typedef struct hp_islands {
    hp_xref_range *v;
    size_t n, cap;
} hp_islands;

hp_status hp_islands_take(hp_islands *t, uint64_t lo, uint64_t hi);
/* Whether [lo, hi) overlaps a range of t (NULL: nothing). */
bool hp_islands_overlap(const hp_islands *t, uint64_t lo, uint64_t hi);

/* How far from the short jump islands are looked for, either way: covers
 * the architecture's short reach (x86 rel8: -128..+127 after the 2-byte
 * jump); each candidate is checked with short_jump. */
#define HP_ISLAND_REACH 256

/* The branch-target range that covers an island at va: a branch to its
 * first byte counts too (the table records lo < t < hi). */
static inline hp_xref_range hp_island_watch_len(uint64_t va, uint64_t len)
{
    return (hp_xref_range){va - 1, va + len};
}
/* The same for an island of the near jump. */
static inline hp_xref_range hp_island_watch(const hp_arch *a, uint64_t va)
{
    return hp_island_watch_len(va, a->jump(NULL, 0, 0, false, 0));
}
void hp_islands_free(hp_islands *t);

/* The lowest address within the short jump's reach from s->patch_va where
 * the island (the near jump's size) is free padding and overlaps nothing in
 * taken (NULL: nothing taken); 0 when there is none. Only reads. */
uint64_t hp_island_find(const hp_image *img, const hp_site *s, const hp_islands *taken);
/* The same search for an island of size bytes for whatever is at [at, at +
 * len) (a call site's branch), within window bytes either way, each
 * candidate checked with reach. A function's recorded extent is skipped
 * whole, so a wide window costs about one step per function in it. */
typedef bool (*hp_island_reach_fn)(void *ctx, uint64_t va);
uint64_t hp_island_find_in(const hp_image *img, const hp_arch *a, uint64_t at, uint64_t len,
                           uint64_t size, uint64_t window, hp_island_reach_fn reach, void *ctx,
                           const hp_islands *taken);
/* The window for a branch of long reach that cannot reach the new code (a
 * far layout's BL): padding anywhere in it will do. */
#define HP_ISLAND_FAR_WINDOW ((uint64_t)4 << 20)

#endif
