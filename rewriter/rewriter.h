/* rewriter: the passes that turn hook requests into an edit of the image
 * (plan.c runs them, with an error checkpoint after each).
 *   objects  - load the objects `object =` names (objects.h)
 *   resolve  - match each request to functions (names, globs, addresses)
 *   analyze  - check each entry can take a jump (site.h, xref.h)
 *   inline   - warn when a target was inlined into callers (inline.h)
 *   measure  - size every stub, trampoline and linked object
 *   place    - the format backend picks addresses for the new regions
 *   emit     - write stubs, trampolines, objects and prologue jumps into
 *              the edit
 * then cli/ has the backend write the edited image (hp_image_emit) into a
 * temporary file that it renames over OUT. Called by cli/; holds no
 * process-wide state (no signals, no temporary files). */
#ifndef HP_REWRITER_H
#define HP_REWRITER_H

#include "../sections/image.h"
#include "hook.h"
#include "site.h"

typedef struct hp_options {
    /* Every warning that a hook may not take effect (HP_DIAG_MAY_NOT_TAKE_EFFECT:
     * an inlined target, a universal slice copied unpatched) is an error. */
    bool strict;
    /* -v: list what a summary line counts (a glob's inlined targets). */
    bool verbose;
    /* Test only (HOOKPATCH_TEST_FAR): take the far prologue jumps and ask
     * the backend to place the new code out of the near jump's reach, so
     * the tests run the far forms end to end. No effect on x86-64. */
    bool test_far;
    /* --no-move: never move a neighbour's instructions to make an island
     * (rewriter/move.h); a target that would need it keeps its call sites
     * and their warnings, or is refused. */
    bool no_move;
} hp_options;

typedef enum hp_hook_state { HP_HOOK_PLANNED, HP_HOOK_SKIPPED } hp_hook_state;

/* One function to patch, produced by resolving a request. */
typedef struct hp_hook {
    const hp_hook_req *req;   /* borrowed from the requests */
    const hp_symbol *target;  /* borrowed from the image */
    hp_hook_state state;
    size_t skip;              /* when skipped: its reason is d->v[skip] (hp_hook_skip) */
    hp_site site;             /* the target's entry */
    const hp_symbol *replace; /* HP_ACT_REPLACE: the replacement */
    const hp_symbol *orig;    /* `original =`: redirected to the trampoline */
    hp_site *orig_site;       /* owned; the original's entry, with `orig` */
    uint64_t dest_va;         /* where the target's jump goes */
    uint64_t stub_off, stub_size;   /* return/trap stub, in the text region */
    uint64_t tramp_off, tramp_size; /* trampoline, in the text region */
    /* With `original`, branches back to the entry go to the trampoline; a
     * short (rel8) one goes through a 5-byte jump island here (0: none). */
    uint64_t island_va;
    struct hp_callsites *cs; /* owned; with site.callsites (callsite.h) */
    /* The island is in a neighbour's instructions moved out of the way
     * (rewriter/move.h): p->moves[move - 1]; 0: not so. */
    size_t move;
    size_t obj; /* HP_ACT_OBJECT: the object's index in the linker */
    size_t slot; /* HP_ACT_SWITCH: its entry and slot in the switch table */
    hp_call_abi abi; /* HP_ACT_SWITCH: what its slot holds */
} hp_hook;

/* Skip h: its reason becomes an HP_DIAG_REASON in d, at the rule's
 * `target =` with the target's name and address, and h->skip indexes it
 * (HP_HOOK_NO_REASON, with HP_ERR_NOMEM, when it cannot be recorded).
 * The report prints it beside the hook; an index, not a copy, so the run's
 * list stays the one record of what was said. */
#define HP_HOOK_NO_REASON SIZE_MAX
hp_status hp_hook_skip(hp_hook *h, hp_diags *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
hp_status hp_hook_vskip(hp_hook *h, hp_diags *d, const char *fmt, va_list ap);
/* The reason a skipped hook's d->v[skip] holds; "" when there is none (or
 * d is NULL). */
const char *hp_hook_skip_reason(const hp_hook *h, const hp_diags *d);

/* True when the hook reaches the original code through a trampoline. */
bool hp_hook_needs_tramp(const hp_hook *h);
/* True when branches back to the entry must be sent to the trampoline:
 * the entry leads to a replacement that may call the original (replace or
 * object with `original`, switch). */
bool hp_hook_needs_redirect(const hp_hook *h);

typedef struct hp_plan {
    hp_image *img; /* borrowed */
    const hp_arch *arch; /* the image's (static); the passes call only it */
    bool far;      /* prologue jumps take the far form (hp_site.far) */
    bool no_move;  /* hp_options.no_move */
    hp_hook *v;
    size_t n, cap;
    /* The user's hooks; hookpatch's own marker hooks (HP_ACT_MARKER) are
     * in v too but counted in nown only. */
    size_t nplanned, nskipped, nown;
    hp_layout lay;
    hp_edit ed;
    hp_xrefs xrefs; /* cross-function branch targets */
    struct hp_objlink *objs; /* objects named by `object =`, or NULL */
    struct hp_switch *sw;    /* the switch table and markers (switch.h); owned */
    struct hp_move *moves;   /* code moved for islands (move.h), owned */
    size_t nmoves, moves_cap;
    struct hp_code_map *code; /* the image's code map, made for moves; owned */
    uint64_t data_filesz;    /* file-backed part of the data region */
    /* Every hook's entry was analysed: a hook still HP_HOOK_PLANNED is
     * planned. False when an earlier pass failed: the hooks claimed so far
     * were never analysed, and a report lists none of them. */
    bool analysed;
    /* d->errors when planning began: the errors of this plan are those
     * above it (one list serves every slice of a universal file). */
    size_t errors_before;
} hp_plan;

/* Run resolve..emit. Problems go to d (with rules locations); returns the
 * first error class when any error was reported. The plan is usable for a
 * report (dry run) even when some hooks were skipped. */
hp_status hp_plan_build(hp_image *img, const hp_hook_reqs *reqs, const hp_options *opt,
                        hp_diags *d, hp_plan *out);
void hp_plan_free(hp_plan *p);
/* A container (img->nslices > 0) is planned slice by slice, one
 * hp_plan_build per patched slice's image, with d->slice naming it. This
 * warns (HP_DIAG_MAY_NOT_TAKE_EFFECT, an error under --strict) about each
 * slice copied unpatched: on a machine that runs it, no hook takes effect.
 * Call it before the slices' hp_plan_build, which applies --strict. */
void hp_plan_warn_unpatched(const hp_image *img, hp_diags *d);

/* Passes, for unit tests and for the planner itself. */
hp_status hp_resolve(hp_plan *p, const hp_hook_reqs *reqs, hp_diags *d);
hp_status hp_measure(hp_plan *p, hp_diags *d);
hp_status hp_emit(hp_plan *p, hp_diags *d);

/* Whether a glob target matches s, as the resolver decides: s is a
 * function (not a PLT entry) whose name or source-level alias matches glob
 * (fnmatch; NULL matches every function). `hookpatch list` lists the same
 * functions. */
bool hp_resolve_matches(const hp_symbol *s, const char *glob);

/* The user-facing label of a hook's action ("replace", "return 42", ...). */
const char *hp_action_name(hp_action a);

/* Suggest up to 3 function names near `name` ("did you mean"); writes
 * "'a', 'b'" into buf, or an empty string. */
void hp_suggest(const hp_image *img, const char *name, char *buf, size_t buf_len);

#endif
