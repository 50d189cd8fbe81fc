/*
 * clock.h - monotonic milliseconds, for deadlines and expiry.
 */
#ifndef MXB_CLOCK_H
#define MXB_CLOCK_H

#include <stdint.h>
#include <time.h>

/* clock_ms - milliseconds on the monotonic clock */
static inline uint64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
