#ifndef SENSOR_H
#define SENSOR_H

int read_temperature(void); /* hardware a test machine does not have */
int current_year(void);

#endif
