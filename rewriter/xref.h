/* xref: the direct branches of the whole image that land in the first bytes
 * of the functions about to be hooked, other than at their start. A hook
 * must not overwrite such a target, whether the branch comes from the
 * function itself (a loop back to its top) or from another one (glibc's
 * assembly jumps from __mempcpy_* into the first bytes of __memmove_*).
 *
 * Built once per run: by the planner for the bytes each hook steals (known
 * once the entries are decoded), and by `list` for every function's first
 * bytes. Finding them costs one pass over the executable bytes
 * that decodes nothing (the architecture's branch_candidates: on x86 every
 * byte that could be a branch opcode, with its would-be target; on arm64
 * every branch word) and then a decode of only
 * the code around the candidates whose target falls in a watched range, so
 * the cost follows the code size at memcpy-like speed plus the hooks, not a
 * full disassembly of the image. The code around a candidate is decoded
 * from the nearest function start before it (or the start of its segment)
 * to the next one; a candidate that decoding cannot confirm or rule out
 * (the decode fails before reaching it: data in code) counts as a real
 * branch. Indirect branches (jump tables, function pointers) are not seen:
 * see the README's limits. Memory follows the watched bytes, not the
 * distance between them: watched ranges far apart (segments hundreds of GiB
 * apart) are handled in clusters, each scanned from the code in rel32 reach
 * of it (xref.c). */
#ifndef HP_XREF_H
#define HP_XREF_H

#include "../relocs/insn.h"
#include "../sections/image.h"

/* A watched range: branch targets t with lo < t < hi are recorded (a
 * branch to lo itself, the entry, is a call or a jump to the function). */
typedef struct hp_xref_range {
    uint64_t lo, hi;
} hp_xref_range;

/* What `list` watches after every entry: an endbr64 plus the longest
 * steal (site.h checks this). */
#define HP_XREF_WINDOW 40

typedef struct hp_xrefs {
    uint64_t *v; /* targets inside watched ranges; sorted, unique */
    size_t n, cap;
    hp_xref_range *watch; /* sorted by lo, one per lo */
    size_t nwatch;
} hp_xrefs;

/* Watch `ranges` (any order), or, when ranges is NULL, the first
 * HP_XREF_WINDOW bytes of every function. */
hp_status hp_xrefs_build(const hp_image *img, const hp_xref_range *ranges, size_t n,
                         hp_xrefs *out);
/* The direct calls and jumps to the given function entries (any order; 0
 * is ignored) from code outside the function each one starts: whether a
 * call by name of a function remains (rewriter/inline.c). The same scan as
 * hp_xrefs_build, with the same caveats: a candidate the decode cannot
 * rule out counts as a call; indirect calls are not seen. */
hp_status hp_xrefs_build_entries(const hp_image *img, const uint64_t *entries, size_t n,
                                 hp_xrefs *out);
/* For a table from hp_xrefs_build_entries: whether a branch reaches
 * entry_va (true too when entry_va was not watched: nothing is known). */
bool hp_xrefs_reached(const hp_xrefs *x, uint64_t entry_va);
/* True when some target t satisfies lo < t < hi, or when (lo, hi) is not
 * inside one watched range (nothing is known there: answer "unsafe"). */
bool hp_xrefs_any_in(const hp_xrefs *x, uint64_t lo, uint64_t hi);
void hp_xrefs_free(hp_xrefs *x);

/* ---- sources (call-site redirection, rewriter/callsite.c): every place
 * that reaches or holds one of a few function entries, found by decoding
 * all of the image's code (from each function start to the next; bytes
 * that do not decode are skipped to the next start) and reading its
 * loaded non-executable words. A full decode, unlike the branch scan above:
 * it runs only when some target has no room at its entry, and it must see
 * address computations, which have no opcode to filter on. */
typedef enum hp_xsrc_kind {
    HP_XSRC_BRANCH, /* a direct call/jmp/jcc to the entry */
    HP_XSRC_PCADDR, /* a PC-relative address computation of it (ref) */
    HP_XSRC_ABS,    /* an address of it that cannot be re-pointed in place (ref:
                       an immediate, or what ref.why says) */
    HP_XSRC_DATA,   /* an aligned pointer-sized word in data equal to it */
} hp_xsrc_kind;

typedef struct hp_xsrc {
    uint64_t at;     /* the instruction or the word (an address computed by
                        several instructions: the first) */
    uint64_t target; /* the entry */
    uint8_t len;     /* the instruction's length (a word: its size; several
                        instructions: from the first to the end of the last) */
    uint8_t kind;    /* hp_xsrc_kind */
    hp_addr_ref ref; /* PCADDR, ABS */
} hp_xsrc;

typedef struct hp_xsrcs {
    hp_xsrc *v; /* by target, then at */
    size_t n, cap;
} hp_xsrcs;

/* The sources of the given entries (any order, 0 ignored). */
hp_status hp_xsrcs_build(const hp_image *img, const uint64_t *entries, size_t n, hp_xsrcs *out);
/* The first source of entry (index into v; n when none). */
size_t hp_xsrcs_first(const hp_xsrcs *x, uint64_t entry);
void hp_xsrcs_free(hp_xsrcs *x);

#endif
