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

enum {
    HP_SITE_COPY = 1,      /* the stolen instructions must be relocatable */
    HP_SITE_REDIRECTS = 2, /* find branches back to the entry (redirect_va) */
};

/* Analyse fn. flags: HP_SITE_*. xrefs is the image's branch-target table
 * (hp_xrefs_build); with it only the entry is decoded, unless redirects are
 * asked for. With xrefs NULL the whole function is decoded and only its own
 * branches are checked. On refusal returns HP_ERR_UNHOOKABLE with the
 * reason in why. */
hp_status hp_site_analyze(const hp_image *img, const hp_symbol *fn, unsigned flags,
                          const hp_xrefs *xrefs, hp_site *out, char *why, size_t why_len);

#endif
