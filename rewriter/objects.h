/* objects: the rewriter's side of `object = "mock.o"` hooks. It loads the
 * objects named by the rules (each once), checks the replacement symbols,
 * sizes what they need, binds `original` names to trampolines, and has the
 * linker (relocs/objlink) write them into the new regions. */
#ifndef HP_OBJECTS_H
#define HP_OBJECTS_H

#include "rewriter.h"

/* Load every object the requests name; errors carry the rules location. */
hp_status hp_objects_load(hp_plan *p, const hp_hook_reqs *reqs, hp_diags *d);
/* Check that hook h's replacement symbol exists in its object (loaded by
 * hp_objects_load) and set h->obj. */
hp_status hp_objects_check(hp_plan *p, hp_hook *h, hp_diags *d);
/* Add the objects' sizes to the layout (after text_used bytes of text);
 * objects too large to place are reported in d. */
hp_status hp_objects_measure(hp_plan *p, uint64_t text_used, hp_diags *d);
/* After the regions have their VAs: where hook h's replacement lives. */
hp_status hp_objects_dest(const hp_plan *p, const hp_hook *h, uint64_t *va);
/* Bind originals to trampolines and link the objects into the edit. */
hp_status hp_objects_emit(hp_plan *p, hp_diags *d);

#endif
