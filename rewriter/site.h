/* site: decide whether a function's entry can take the prologue jump, and
 * which bytes that steals (the architecture table says how many and where:
 * relocs/arch.h). Used by the planner for targets and for `original =`
 * functions, and by `hookpatch list`. Pure analysis: nothing is written. */
#ifndef HP_SITE_H
#define HP_SITE_H

#include "../relocs/arch.h"
#include "../sections/image.h"
#include "xref.h"

#define HP_SITE_MAX_STEAL 32
#define HP_SITE_MAX_REDIRECTS 8

typedef struct hp_site {
    const hp_arch *arch; /* the image's (static) */
    uint64_t fn_va, fn_size;
    uint64_t patch_va;   /* where the patch goes: the entry, or after a kept
                            landing pad (endbr64, BTI) */
    uint32_t steal_len;  /* bytes overwritten: whole instructions, at least
                            the jump (and head) */
    uint32_t copy_len;   /* of those, bytes that are instructions of the
                            function (the rest is padding after its end) */
    bool over_endbr;     /* the landing pad at the entry (endbr64, BTI) is
                            overwritten */
    bool far;            /* the prologue jump and the jump back are far forms */
    uint8_t head_len;    /* landing pad bytes the patch writes before its jump,
                            for a signing instruction moved into the
                            trampoline (arm64 PACIASP) */
    uint32_t scratch;    /* registers free after the stolen instructions, for
                            the trampoline's far jump back */
    bool go_stack_check; /* the stolen bytes are Go's stack-check prologue */
    /* The entry is Go's stack check and go_free[k] holds the registers free
     * before copied byte 4k (the architecture's go_scratch), in place of
     * entry_scratch minus what the copied bytes wrote. */
    bool go_regs;
    uint32_t go_free[HP_SITE_MAX_STEAL / 4 + 1];
    /* The entry is too short for the jump: it takes the architecture's
     * short jump (steal_len bytes, whole instructions of the function) to
     * island_va, which holds the jump (rewriter/island.h; 0 until the
     * planner allocates it). */
    bool island;
    uint64_t island_va;
    /* The entry takes neither (too_short, set on that refusal): a planner
     * may hook the function by redirecting what reaches its entry instead
     * (callsites, rewriter/callsite.h); then nothing is stolen
     * (steal_len 0, patch_va = fn_va) and the original is the function
     * itself. */
    bool too_short;
    bool callsites;
    /* Refused because a branch of the function itself lands in the bytes
     * the jump would overwrite (found when the whole function is decoded):
     * a planner may take call sites instead, as for a branch the image-wide
     * table finds (hp_site_use_callsites_for_branch). */
    bool branch_inside;
    /* Call sites taken because a branch lands inside the first branch_len
     * bytes the jump would overwrite (a loop head at -Os; 0: not so). */
    uint32_t branch_len;
    uint8_t plain_len;   /* leading stolen bytes of position-independent
                            instructions: a trampoline copies them as is */
    /* Branches elsewhere in the function back to patch_va, or to fn_va past
     * a kept landing pad (Go's morestack
     * trailer `jmp entry`, C tail-recursion loops): with a trampoline they
     * must go to the trampoline, not re-enter the hook. */
    uint32_t redirect_off[HP_SITE_MAX_REDIRECTS]; /* from fn_va (one per hook: kept small) */
    uint8_t redirect_len[HP_SITE_MAX_REDIRECTS];
    uint32_t nredirects;
    uint8_t bytes[HP_SITE_MAX_STEAL]; /* original bytes at patch_va */
} hp_site;

static inline uint64_t hp_site_redirect_va(const hp_site *s, uint32_t i)
{
    return s->fn_va + s->redirect_off[i];
}

enum {
    HP_SITE_COPY = 1,      /* the stolen instructions must be relocatable */
    HP_SITE_REDIRECTS = 2, /* find branches back to the entry (redirect_off) */
    HP_SITE_XREFS_LATER = 4, /* the caller checks the stolen bytes against an
                                image-wide table built afterwards (for just
                                those bytes): decode only the entry */
    HP_SITE_SHORT = 16,    /* only the short jump to an island (the planner
                              moving code for one, rewriter/move.h) */
    HP_SITE_FAR = 8,       /* the new code may be out of the near jump's
                              reach: steal room for the far form */
};

/* Analyse fn. flags: HP_SITE_*. xrefs is the image's branch-target table
 * (hp_xrefs_build), which must watch fn; with it only the entry is decoded,
 * unless redirects are asked for. With xrefs NULL the whole function is
 * decoded and only its own branches are checked. On refusal returns
 * HP_ERR_UNHOOKABLE and adds one HP_DIAG_REASON to why (NULL: none wanted)
 * with no target and va = fn's address (a relocator's refusal keeps the
 * instruction's); the caller, which knows the rule, makes it a skip reason
 * (rewriter/plan.c). HP_ERR_NOMEM when that reason cannot be recorded. Only
 * reads the image and writes out and why: safe on worker threads, each with
 * its own why. */
hp_status hp_site_analyze(const hp_image *img, const hp_symbol *fn, unsigned flags,
                          const hp_xrefs *xrefs, hp_site *out, hp_diags *why);
/* The check HP_SITE_COPY adds, for a site analysed without it: refuses
 * (HP_ERR_UNHOOKABLE, a reason in why as above) when a stolen instruction
 * cannot be relocated into a trampoline (such a target can still be
 * replaced). */
hp_status hp_site_check_copy(hp_site *s, hp_diags *why);
/* The copied instructions of s relocated to run at dst (out NULL:
 * measure). A call that ends the copy returns into
 * the original function; *called says whether one was copied. Refusals add
 * a reason to why (NULL: none wanted). */
hp_status hp_site_relocate(const hp_site *s, uint64_t dst, uint8_t *out, size_t *len,
                           bool *called, hp_diags *why);
/* Turn a site refused as too_short into one hooked at its call sites
 * (nothing stolen). */
void hp_site_use_callsites(hp_site *s);
/* The same for a site that hp_site_check_xrefs refused (a branch lands in
 * the bytes the jump would overwrite): branch_len says so. */
void hp_site_use_callsites_for_branch(hp_site *s);
/* The check HP_SITE_XREFS_LATER defers: refuses (HP_ERR_UNHOOKABLE, a
 * reason in why as above) when a branch of the image lands inside the
 * stolen bytes. */
hp_status hp_site_check_xrefs(const hp_site *s, const hp_xrefs *xrefs, hp_diags *why);

#endif
