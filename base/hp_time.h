/* hp_time: wall-clock time per phase, for `hookpatch --timings`. Off by
 * default (marks then cost one branch). Process-wide, single-threaded. */
#ifndef HP_TIME_H
#define HP_TIME_H

#include <stdbool.h>
#include <stdio.h>

void hp_timing_enable(bool on);
/* End the current phase, naming it: the time since the previous mark (or
 * since hp_timing_enable) is charged to `phase`. */
void hp_timing_mark(const char *phase);
/* "hookpatch: time: <phase> <ms> ms" per phase, then the total. */
void hp_timing_print(FILE *out);

#endif
