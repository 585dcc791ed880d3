/* switch: switchable hooks (action = "switch") and the helpers' marker
 * functions. Each switchable target gets an 8-byte slot in the new data
 * region and an entry in the switch table (new rodata region), which the
 * helpers (include/hookpatch.h, go/mock) find at run time through a marker
 * function whose body hookpatch replaces with a stub returning the table's
 * address. The resolver claims the markers (hp_switch_markers), the
 * measure pass lays out the table and the slots after what the object
 * linker placed (hp_switch_measure), and the emitter writes the table and
 * the stubs (hp_switch_emit, hp_switch_stub).
 *
 * The table (version 1, little-endian; every address relative to the
 * table's own, so PIE/PIC outputs need no relocation):
 *   off 0  magic "HPSWTAB1"; 8 u32 version = 1; 12 u32 count;
 *   16 i64 slots_rel (slot i at table + slots_rel + 8*i); 24 u32 entry_size
 *   = 24; 28 u32 reserved = 0; 32 entries[count], sorted by target_rel,
 *   unique: i64 target_rel, i64 tramp_rel, u32 abi (hp_call_abi), u32 0. */
#ifndef HP_SWITCH_H
#define HP_SWITCH_H

#include "rewriter.h"

#define HP_SWITCH_MAGIC "HPSWTAB1"
#define HP_SWITCH_VERSION 1u
#define HP_SWITCH_HEAD 32u
#define HP_SWITCH_ENTRY 24u

/* The marker functions hookpatch looks for, by name (Mach-O's leading '_'
 * is matched through the symbol's alias). */
typedef struct hp_switch_marker {
    const char *name;
    hp_marker kind;
} hp_switch_marker;
extern const hp_switch_marker hp_switch_markers[];
extern const size_t hp_switch_nmarkers;

/* What the plan knows about the switch table (owned by hp_plan.sw). */
typedef struct hp_switch {
    /* One internal request per marker name; their hooks borrow them. */
    hp_hook_req marks[3];
    size_t *order;    /* switch hooks (indices into hp_plan.v) by target va */
    size_t count;     /* entries */
    bool present;     /* a table is emitted: a marker or a switch hook */
    bool has_marker;  /* a marker that returns the table was planned */
    uint64_t table_off; /* in the rodata region */
    uint64_t slots_off; /* in the data region (its zero-filled tail) */
} hp_switch;

/* Give p its switch state (once), with the markers' requests located at
 * the image's path. */
hp_status hp_switch_init(hp_plan *p);
void hp_switch_free(hp_switch *sw);

/* The marker a function is, by name or alias (HP_MARK_NONE: none). */
hp_marker hp_switch_marker_of(const hp_symbol *s);
/* "switch_table" or "current_g": the role a marker's stub plays. */
const char *hp_switch_marker_role(hp_marker m);

/* Which ABI the slot of target s follows: Go when t, the image's Go
 * function table (NULL: none), lists s's entry. */
struct hp_gotab;
hp_call_abi hp_switch_abi(const struct hp_gotab *t, const hp_symbol *s);
/* "go" or "c": the ABI's name in reports. */
const char *hp_switch_abi_name(hp_call_abi abi);

/* Before the stubs are measured: order the switch hooks by target and
 * give each its slot (hp_hook.slot) and ABI (hp_hook.abi). */
hp_status hp_switch_prepare(hp_plan *p);
/* After the objects are measured: add the table and the slots to the
 * layout. Warns (HP_DIAG_MAY_NOT_TAKE_EFFECT) when there are switch hooks
 * but no marker, naming the helper to link; an error when the table would
 * not fit. */
hp_status hp_switch_measure(hp_plan *p, hp_diags *d);

/* After the regions have addresses and bytes: write the table. */
hp_status hp_switch_emit(hp_plan *p);

/* The stub of a switch or marker hook h at at_va, without a landing pad
 * (out NULL: measure; the size never depends on addresses). 0 when a
 * reference is out of reach. */
size_t hp_switch_stub(const hp_plan *p, const hp_hook *h, uint64_t at_va, uint8_t *out);

/* The table's and hook h's slot's addresses (after place). */
uint64_t hp_switch_table_va(const hp_plan *p);
uint64_t hp_switch_slot_va(const hp_plan *p, size_t slot);

#endif
