/*
 * clock.h - the monotonic clock every timer and timeout of NAP reads
 * (servers, libnap, tools).  Linked into both libnapcore.a and libnap.a.
 */
#ifndef NAP_CLOCK_H
#define NAP_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic milliseconds (the vDSO makes this cheap enough per read). */
int64_t	mono_ms(void);
/* Monotonic microseconds. */
int64_t	mono_us(void);
/* Sets *ts to ms milliseconds from now on CLOCK_MONOTONIC (for a
 * pthread_cond_timedwait on a condition set to that clock). */
void	mono_after(struct timespec *ts, long ms);

#endif /* NAP_CLOCK_H */
