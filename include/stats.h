/*
 * stats.h - counters of recipients, verdicts, actions, lookups and probes.
 */
#ifndef MXB_STATS_H
#define MXB_STATS_H

#include <stdint.h>

#include "verdict.h"

enum counter {
	STAT_RCPTS,
	STAT_VERDICT,			/* + enum verdict: one counter each */
	STAT_TAGGED = STAT_VERDICT + VERDICT_COUNT,
	STAT_TEMPFAILED,
	STAT_REJECTED,
	STAT_LOGGED,
	STAT_RETRY_ACCEPTED,
	STAT_DNS_HITS,
	STAT_DNS_MISSES,
	STAT_PROBES,
	STAT_PROBE_UP,
	STAT_PROBE_DOWN,
	STAT_COUNT
};

void stats_add(enum counter s);
uint64_t stats_get(enum counter s);
void stats_log(void);

#endif
