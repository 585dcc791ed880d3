/* move: room for an island where no padding is free (packed -Os code). A
 * run of whole, position-independent instructions of a neighbouring
 * function, within the short jump's reach, moves into a trampoline of its
 * own: the run's first bytes jump there, the trampoline runs the moved
 * instructions and jumps back to the instruction after the run, and the
 * rest of the run is dead: islands (near jumps) go there, one after the
 * other, for every target in reach (tiny functions come in clusters at
 * -Os). The neighbour behaves as before, one jump and back longer.
 *
 * The planner moves code only for a target whose call sites do not reach
 * every path to it (an absolute pointer in non-PIE data, an absolute
 * immediate, nothing found at all: rewriter/plan.c): the hook then sits at
 * the entry and takes effect from every path, so unrelated code moves only
 * when the hook would otherwise be partial or refused.
 *
 * A run qualifies when:
 * - its function is a symbol of recorded size, other than the target,
 *   whose bytes all decode and that has no indirect jump but tail calls
 *   (arch.h tail_jump: a jump table may land anywhere in it);
 * - the run starts after the function's first instruction, and holds only
 *   instructions that are neither branches, calls nor returns and have no
 *   PC-relative operand (the trampoline copies them as they are; call
 *   sites and redirects, which rewrite such instructions, never meet it);
 * - no branch of its function lands strictly inside it, and it overlaps
 *   nothing taken (other hooks' stolen bytes, islands, other runs).
 * Branches from other functions into the run are checked by the planner
 * against the image-wide table, as islands are (a branch into a run makes
 * the owner's hook refused, never a wrong output). Never in Go images (the
 * runtime must find every PC it may interrupt in its tables), in images
 * with C++ exception tables (a landing pad is reached by no branch), or
 * with the far layout (the island's jump is the near one). */
#ifndef HP_MOVE_H
#define HP_MOVE_H

#include "island.h"
#include "rewriter.h"

#include "../sections/code.h"

#define HP_MOVE_MAX_ISLANDS ((HP_SITE_MAX_STEAL - 1) / 2)

typedef struct hp_move {
    /* The moved run as a site: fn_va/fn_size its function, patch_va its
     * start, steal_len = copy_len = plain_len its length, bytes a copy. */
    hp_site run;
    const hp_symbol *donor; /* borrowed from the image */
    /* The hooks (indexes in the plan) whose islands it holds, in order:
     * island k at run.patch_va + (k + 1) * the near jump's size. */
    size_t owner[HP_MOVE_MAX_ISLANDS];
    uint32_t nislands;
    uint64_t tramp_off, tramp_size; /* its trampoline in the text region (emit.c) */
} hp_move;

/* Why img moves no code (see above), or NULL when it may. */
const char *hp_move_refused(const hp_image *img, bool far);

/* The island for site s (s->island: its short jump at s->patch_va): the
 * next free slot of a run already moved (moves[0..n), lowest first) within
 * the short jump's reach, else a new run: the longest that qualifies (up
 * to HP_SITE_MAX_STEAL bytes, so that later targets may share it) at the
 * lowest start, overlapping nothing in taken (NULL: nothing taken), in a
 * function other than s's that has no landing pads by code (the image's
 * code map, hp_image_code). *index is the run's index, n for a new one,
 * which *out then holds (run and donor, no islands yet). Returns the
 * island's address; 0 when there is none. Only reads; deterministic. */
uint64_t hp_move_find(const hp_image *img, const hp_code_map *code, const hp_site *s,
                      const hp_islands *taken, const hp_move *moves, size_t n, size_t *index,
                      hp_move *out);
/* The address of island k of m. */
uint64_t hp_move_island(const hp_move *m, const hp_arch *a, uint32_t k);

/* h's call sites do not reach every path to it (h->cs; the planner's
 * hp_judge_callsites, and `hookpatch list` with a plan that holds only the
 * image and its architecture): give its entry the short jump after all,
 * to an island in moved code, so the hook takes effect from everywhere.
 * On success h->site becomes the island site, h->cs is freed, h->move
 * indexes p->moves, and the bytes taken go to t. *moved says whether it
 * was done; else why (len bytes) says why not, for the refusal ("" when
 * the island's own reason says it: the entry takes no short jump). */
hp_status hp_move_for(hp_plan *p, hp_hook *h, hp_islands *t, bool *moved, char *why,
                      size_t len);

#endif
