/* insn: what the instruction modules share (insn.h). */
#include "insn.h"

#include <stdio.h>

hp_status hp_insn_refuse(hp_diags *why, hp_status s, uint64_t va, const char *text,
                         const char *fmt, va_list ap)
{
    char phrase[160];
    vsnprintf(phrase, sizeof phrase, fmt, ap);
    hp_status st = hp_diag_reason(why, NULL, NULL, va, "cannot relocate '%s' at 0x%llx: %s",
                                  text, (unsigned long long)va, phrase);
    return st == HP_OK ? s : st;
}
