/* dwarf: which functions hold inlined copies of which others, read from the
 * DW_TAG_inlined_subroutine entries of DWARF 2-5 .debug_info, so hookpatch
 * can warn that a C/C++ target was inlined (those calls are not
 * redirected). Used by rewriter/inline.c. Every read is bounds-checked:
 * debug info comes from an untrusted file. */
#ifndef HP_DWARF_H
#define HP_DWARF_H

#include "../image.h"

/* One call per (callee, caller) pair with the number of inlined copies of
 * callee inside caller. Names are the DW_AT_name of the abstract origin and
 * of the enclosing DW_TAG_subprogram (C++: DW_AT_linkage_name when present,
 * so they match symbol names). Strings live as long as img. */
typedef void (*hp_dwarf_inline_fn)(void *ctx, const char *callee, const char *caller,
                                   uint32_t sites);

/* HP_ERR_UNSUPPORTED (why says so) when the image has no .debug_info;
 * HP_ERR_FORMAT with a reason for malformed DWARF (calls made so far stand). */
hp_status hp_dwarf_inlined(const hp_image *img, hp_dwarf_inline_fn fn, void *ctx, char *why,
                           size_t why_len);

#endif
