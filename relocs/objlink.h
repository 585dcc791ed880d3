/* objlink: a small static linker that places relocatable objects (mocks
 * written in C or assembly) into hookpatch's new regions. The rewriter
 * loads the objects named by the rules, asks for their sizes before the
 * backend places the regions, binds `original` names to trampolines, then
 * has the linker write the bytes and report absolute pointers that a
 * position-independent output must rebase. ELF (x86-64 and AArch64), COFF
 * (mingw, clang for Windows) and Mach-O x86-64 objects are read by
 * sections/ into one model
 * (sections/object.h); names written at source level (`add_hook`) also
 * find Mach-O's `_add_hook`. */
#ifndef HP_OBJLINK_H
#define HP_OBJLINK_H

#include "../base/hp_diag.h"
#include "../sections/image.h"

typedef struct hp_objlink hp_objlink;

/* Looks up a name outside the loaded objects (functions and data of the
 * binary, including "name@plt"-style PLT entries the binary has).
 * Returns HP_OK and *va, or HP_ERR_RESOLVE. */
typedef hp_status (*hp_obj_lookup_fn)(void *ctx, const char *name, uint64_t *va);

/* A linker for code of one machine (the image's): objects of another are
 * refused by hp_objlink_add, naming both machines. */
hp_status hp_objlink_new(hp_machine machine, hp_objlink **out);
void hp_objlink_free(hp_objlink *l);

/* Load an object once per path (later calls with the same path return the
 * same handle). Problems (not an object, wrong machine, unsupported
 * relocation or section kinds, COMMON symbols, .init_array, TLS) are errors
 * in d at loc, naming the object, section and symbol. *obj is an index. */
hp_status hp_objlink_add(hp_objlink *l, const char *path, const hp_loc *loc, hp_diags *d,
                         size_t *obj);

/* Same as hp_objlink_add on bytes the caller owns (copied); `name` stands
 * for the path in diagnostics and in the once-per-name rule. For fuzzers
 * and tests. */
hp_status hp_objlink_add_mem(hp_objlink *l, const char *name, const uint8_t *data, size_t size,
                             const hp_loc *loc, hp_diags *d, size_t *obj);

/* The index of the object loaded from path (or under that name), if any. */
bool hp_objlink_find(const hp_objlink *l, const char *path, size_t *obj);

/* True if object obj defines a global or local function named sym, in an
 * executable section (the code the linker places in the r-x region). */
bool hp_objlink_defines(const hp_objlink *l, size_t obj, const char *sym);
/* The name of the section holding object obj's definition of sym (of any
 * kind), or NULL: for saying why sym is not a function there. */
const char *hp_objlink_section_of(const hp_objlink *l, size_t obj, const char *sym);

/* Bind an undefined name (an `original` binding) to an address; binding a
 * name again replaces the address. Binding order when resolving: the
 * object's own symbols, other loaded objects' globals (a strong definition
 * beats a weak one, else the first loaded wins), these bindings, the name
 * _GLOBAL_OFFSET_TABLE_ (the linker's GOT), then the lookup function. An
 * unresolved weak reference is 0. */
hp_status hp_objlink_bind(hp_objlink *l, const char *name, uint64_t va);

/* Sizes the objects need in each region, placed after `text_used` bytes of
 * the text region that the rewriter already uses. Includes a GOT (data
 * region) for GOT-relative relocations that cannot be relaxed.
 *   size[HP_REGION_TEXT]   bytes needed *after* text_used (0 if no code)
 *   size[HP_REGION_RODATA] bytes of the rodata region
 *   size[HP_REGION_DATA]   mem_size of the data region, zero-filled tail
 *                          (bss) included; hp_objlink_data_filesz() of it
 *                          must be file-backed.
 * On AArch64 the text size includes a branch veneer for every
 * (object, symbol, addend) a CALL26/JUMP26 refers to, used when the branch
 * is out of its +-128 MiB reach.
 * Sizes are upper bounds valid for any region VA that is a multiple of 16,
 * and never depend on VAs. Call again after adding objects. A region over
 * 1 GiB is HP_ERR_RANGE, reported in d (which may be NULL) at the object
 * whose section crossed the limit. */
hp_status hp_objlink_measure(hp_objlink *l, uint64_t text_used, uint64_t size[HP_REGION_COUNT],
                             hp_diags *d);

/* How many 8-byte absolute pointers emit may record in ed->abs_ptrs for a
 * position-independent output (an upper bound, known after measure), so
 * the backend can reserve room for their dynamic relocations. */
uint64_t hp_objlink_abs_count(const hp_objlink *l);
/* File-backed bytes of the data region (<= size[HP_REGION_DATA]); 0 before
 * measure. */
uint64_t hp_objlink_data_filesz(const hp_objlink *l);

/* Write the objects into ed's regions (whose va and bytes are already set
 * up by the rewriter with the measured sizes), apply every relocation, add
 * a symbol per object function to ed->syms, and record 8-byte absolute
 * pointers in ed->abs_ptrs when pic is true. Every unresolved symbol is
 * reported (all of them, one error each) and HP_ERR_LINK returned.
 * What emit expects of each region r with size[r] > 0 (others untouched):
 *   va        final, a multiple of 16;
 *   TEXT      bytes.len >= text_used + size[TEXT]; emit writes only
 *             [text_used, text_used + size[TEXT]) (padding is int3 on
 *             x86-64, zero words, UDF #0, on AArch64);
 *   RODATA    bytes.len >= size[RODATA];
 *   DATA      bytes.len >= hp_objlink_data_filesz(), mem_size >= size[DATA];
 *             emit also zeroes the bytes it owns past the file-backed part.
 * Otherwise emit returns HP_ERR_INTERNAL. It never changes va, mem_size,
 * prot or bytes.len. On a link error the edit is left unchanged (no bytes,
 * symbols or absolute pointers); only HP_ERR_NOMEM can leave it partly
 * written. Call it once per measure. lookup may be NULL. */
hp_status hp_objlink_emit(hp_objlink *l, hp_edit *ed, bool pic, hp_obj_lookup_fn lookup,
                          void *ctx, hp_diags *d);

/* Address of a symbol in object obj after emit (or after measure + layout:
 * addresses are final once ed's region VAs are known). */
hp_status hp_objlink_symbol_va(const hp_objlink *l, size_t obj, const char *sym,
                               const hp_edit *ed, uint64_t *va);

#endif
