/* inline: tell the user when a target was inlined, because those calls are
 * not redirected by patching the function (the complaint users raise most
 * about runtime patchers). Go: from the pclntab inline trees, and a small
 * target that no direct call reaches any more (inlined and folded away,
 * which leaves no tree entry). C/C++: from DWARF. Called by the planner
 * after analysis; warnings (HP_DIAG_MAY_NOT_TAKE_EFFECT: errors with
 * --strict) go to d, one line for a glob's many targets (opt->verbose
 * lists them as notes; opt may be NULL). */
#ifndef HP_INLINE_H
#define HP_INLINE_H

#include "rewriter.h"

hp_status hp_inline_check(hp_plan *p, const hp_options *opt, hp_diags *d);

/* A target name that resolved to nothing but appears as an inlined callee:
 * adds an explanation to d and returns true. */
bool hp_inline_explain_missing(const hp_image *img, const hp_hook_req *req, hp_diags *d);

#endif
