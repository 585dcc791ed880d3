/* Kept apart from app.c so the compiler cannot inline these into main:
 * a call that was inlined cannot be hooked. */
#include <stdio.h>
#include <time.h>

#include "sensor.h"

int read_temperature(void)
{
    FILE *f = fopen("/sys/class/thermal/thermal_zone0/temp", "r");
    int milli = 21000;
    if (f) {
        if (fscanf(f, "%d", &milli) != 1)
            milli = 21000;
        fclose(f);
    }
    return milli / 1000;
}

int current_year(void)
{
    time_t now = time(NULL);
    return localtime(&now)->tm_year + 1900;
}
