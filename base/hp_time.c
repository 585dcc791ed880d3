/* Phase timings (see hp_time.h). */
#include "hp_time.h"

#include <time.h>

enum { HP_MAX_PHASES = 32 };

static struct {
    bool on;
    double last, start;
    const char *name[HP_MAX_PHASES];
    double ms[HP_MAX_PHASES];
    int n;
} hp_t;

static double hp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void hp_timing_enable(bool on)
{
    hp_t.on = on;
    hp_t.n = 0;
    hp_t.start = hp_t.last = hp_now_ms();
}

void hp_timing_mark(const char *phase)
{
    if (!hp_t.on)
        return;
    double now = hp_now_ms();
    if (hp_t.n < HP_MAX_PHASES) {
        hp_t.name[hp_t.n] = phase;
        hp_t.ms[hp_t.n++] = now - hp_t.last;
    }
    hp_t.last = now;
}

void hp_timing_print(FILE *out)
{
    if (!hp_t.on)
        return;
    for (int i = 0; i < hp_t.n; i++)
        fprintf(out, "hookpatch: time: %-10s %9.2f ms\n", hp_t.name[i], hp_t.ms[i]);
    fprintf(out, "hookpatch: time: %-10s %9.2f ms\n", "total", hp_t.last - hp_t.start);
}
