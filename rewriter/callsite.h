/* callsite: hook a function whose entry takes no jump (hp_site.callsites:
 * a 1-byte `ret`, a 2-4 byte body with no free padding in a short jump's
 * reach) by re-pointing what reaches its entry at the hook's entry code
 * (the stub, the replacement, or a trampoline that is a single jump to the
 * untouched function). Direct branches are re-pointed in place, a short
 * one through an island of free padding in its own reach holding the near
 * jump (rewriter/island.h); PC-relative address computations are
 * re-pointed in place; the loader's words that hold the address (the
 * format's addr_slots: ELF RELATIVE addends and the relocated words, the
 * exported .dynsym value, so other modules bind to the hook; .symtab keeps
 * naming the original for debuggers and `list`) get the hook's address.
 * What cannot be re-pointed (an absolute immediate, a word in data with no
 * relocation, a branch inside bytes another hook copies into its
 * trampoline, an export table the format does not re-point) is a miss: the
 * planner warns about an exact target's misses (an error under --strict)
 * and skips a glob's match that has any. All architecture knowledge goes
 * through the table (relocs/arch.h: retarget, short_branch, addr_ref,
 * retarget_addr). */
#ifndef HP_CALLSITE_H
#define HP_CALLSITE_H

#include "island.h"
#include "rewriter.h"

typedef struct hp_callsite {
    uint64_t at;
    uint8_t len, kind;  /* kind: HP_XSRC_BRANCH, HP_XSRC_PCADDR, or HP_XSRC_DATA for
                           an 8-byte word the loader reads as the address (a
                           relocation's addend or target, an exported symbol's
                           value): it gets the hook's address */
    hp_addr_ref ref;    /* HP_XSRC_PCADDR */
    uint64_t island_va; /* the island of a branch that cannot reach the new code
                           (short, or in a far layout; 0: none) */
    uint64_t base;      /* HP_XSRC_DATA: the word holds the address minus this */
} hp_callsite;

typedef struct hp_callsite_miss {
    uint64_t at;
    const char *what; /* static text */
} hp_callsite_miss;

typedef struct hp_callsites {
    hp_callsite *v;
    size_t n, cap;
    hp_callsite_miss *miss;
    size_t nmiss, miss_cap;
} hp_callsites;

/* For every planned hook whose site takes call sites and that has none
 * yet (h->cs NULL; the planner runs a second pass for entries a branch
 * lands in, rewriter/plan.c): find what reaches
 * its entry (one scan for all of them), give short branches islands not in
 * taken (then taken), and fill h->cs. Misses are recorded, not judged. */
hp_status hp_callsites_plan(hp_plan *p, hp_islands *taken);
/* What reaches h's entry (h->cs, allocated here; h->site.callsites),
 * from the sources x of every such target (xref.h), short branches taking
 * islands not in taken. The planner's pass above, and `hookpatch list`
 * with a plan that holds only the image and its architecture. */
hp_status hp_callsites_find(const hp_plan *p, hp_hook *h, const hp_xsrcs *x, hp_islands *taken);
/* The refusal of h when none of its call sites could be re-pointed: what
 * each technique found. */
void hp_callsites_refusal(const hp_plan *p, const hp_hook *h, char *buf, size_t len);
/* A description of h's misses ("0x401136 in main: an absolute immediate;
 * ..."), at most len bytes with a terminator. */
void hp_callsites_describe(const hp_plan *p, const hp_hook *h, char *buf, size_t len);
/* The size of a call site's island: the near jump, or the far one in a far
 * layout. */
size_t hp_callsites_island_len(const hp_plan *p);
/* Whether a branch lands in a range h's call sites write (an island; the
 * inside of an address computation of several instructions), by the
 * plan's branch-target table: *at is the island or the computation. */
bool hp_callsites_landed(const hp_plan *p, const hp_hook *h, uint64_t *at);
/* A range of the image a hook writes, for the planner's one enumeration
 * of them (rewriter/plan.c hp_hook_ranges): [lo, hi); island: an island,
 * whose first byte no branch may land on either. */
typedef hp_status (*hp_range_fn)(void *ctx, uint64_t lo, uint64_t hi, bool island);
/* The branch targets that make such a range unusable (the table records
 * lo < t < hi): any inside it, an island's first byte too (a branch to the
 * patch point of stolen bytes is a branch back to the entry: a redirect). */
static inline hp_xref_range hp_range_watch(uint64_t lo, uint64_t hi, bool island)
{
    return island ? hp_island_watch_len(lo, hi - lo) : (hp_xref_range){lo, hi};
}
/* The ranges h's call sites add: each island, and each address
 * computation of several instructions (a branch must not land inside). */
hp_status hp_callsites_ranges(const hp_plan *p, const hp_hook *h, hp_range_fn fn, void *ctx);
/* Re-point h's call sites at dest (edit patches). */
hp_status hp_callsites_emit(hp_plan *p, const hp_hook *h, uint64_t dest);
void hp_callsites_free(hp_callsites *c);

#endif
