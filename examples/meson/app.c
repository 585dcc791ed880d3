/* A thermostat: reads the sensor, decides whether to heat. */
#include <stdio.h>

#include "sensor.h"

int main(void)
{
    int celsius = read_temperature();
    printf("%d: %d degrees, heating %s\n", current_year(), celsius, celsius < 18 ? "on" : "off");
    return 0;
}
