#ifndef PAVED_CLOCK_H
#define PAVED_CLOCK_H
/* Time for waits and deadlines: a monotonic clock (never the wall clock,
 * which can jump), and a sleep that a signal does not cut short. */
#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
uint64_t paved_clock_ms(void);
/* Sleeps ms milliseconds, resumed after a signal. */
void paved_sleep_ms(unsigned ms);

#endif
