/* site: decide whether a function's entry can take a 5-byte jump, and which
 * bytes that steals. Used by the planner for targets and for `original =`
 * functions, and by `hookpatch list`. Pure analysis: nothing is written. */
#ifndef HP_SITE_H
#define HP_SITE_H

#include "../sections/image.h"
#include "xref.h"

#define HP_SITE_MAX_STEAL 32
#define HP_SITE_MAX_REDIRECTS 8

typedef struct hp_site {
    uint64_t fn_va, fn_size;
    uint64_t patch_va;   /* where the jump goes: the entry, or after endbr64 */
    uint32_t steal_len;  /* bytes overwritten: whole instructions, >= 5 */
    uint32_t copy_len;   /* of those, bytes that are instructions of the
                            function (the rest is padding after its end) */
    bool over_endbr;     /* the endbr64 at the entry is overwritten */
    bool go_stack_check; /* the stolen bytes are Go's stack-check prologue */
    /* Branches elsewhere in the function back to patch_va (Go's morestack
     * trailer `jmp entry`, C tail-recursion loops): with a trampoline they
     * must go to the trampoline, not re-enter the hook. */
    uint64_t redirect_va[HP_SITE_MAX_REDIRECTS];
    uint8_t redirect_len[HP_SITE_MAX_REDIRECTS];
    uint32_t nredirects;
    uint8_t bytes[HP_SITE_MAX_STEAL]; /* original bytes at patch_va */
} hp_site;

/* Analyse fn. With need_copy the stolen instructions must also be
 * relocatable into a trampoline (checked with the relocator). xrefs (may be
 * NULL) are branch targets from other functions, which must not land in
 * the stolen bytes. On refusal returns HP_ERR_UNHOOKABLE with the reason in
 * why. */
hp_status hp_site_analyze(const hp_image *img, const hp_symbol *fn, bool need_copy,
                          const hp_xrefs *xrefs, hp_site *out, char *why, size_t why_len);

#endif
