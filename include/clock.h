/*
 * clock.h - monotonic milliseconds, for deadlines and expiry, and
 * condition variables whose timed waits run on the same clock.
 */
#ifndef MXB_CLOCK_H
#define MXB_CLOCK_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* clock_ms - milliseconds on the monotonic clock */
static inline uint64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* clock_cond_init - a condition variable for clock_cond_wait */
static inline void clock_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* clock_cond_wait - wait on cond until signalled or until deadline_ms
 * (clock_ms time); false at the deadline */
static inline bool clock_cond_wait(pthread_cond_t *cond, pthread_mutex_t *lock,
				   uint64_t deadline_ms)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ms / 1000),
		.tv_nsec = (long)(deadline_ms % 1000) * 1000000L,
	};

	return pthread_cond_timedwait(cond, lock, &ts) != ETIMEDOUT;
}

#endif
