/* info: the record hookpatch leaves in its output (ELF: .hookpatch.info),
 * one text line per patched site with the original bytes, so every patch
 * can be listed, checked or undone, and a second run can refuse politely.
 *
 *   hookpatch-info 1
 *   hook <action> <target> 0x<target_va> 0x<patch_va> <orig-hex> -> 0x<dest_va>
 *   site 0x<va> <orig-hex> <new-hex>       (every patched byte range)
 */
#ifndef HP_INFO_H
#define HP_INFO_H

#include "rewriter.h"

hp_status hp_info_encode(const hp_plan *p, hp_buf *out);

#endif
