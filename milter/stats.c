/*
 * NAME
 *	stats - counters of recipients, verdicts, actions, lookups and probes
 * SYNOPSIS
 *	#include "stats.h"
 * DESCRIPTION
 *	Process-wide counters, each a relaxed atomic: counting never takes a
 *	lock, so it never serialises the connection threads. stats_log()
 *	writes the totals as one "stats:" line.
 */

#include "autoconfig.h"

#include <stdatomic.h>
#include <stdio.h>

#include "log.h"
#include "stats.h"

static atomic_uint_fast64_t counters[STAT_COUNT];

static const char *const names[STAT_COUNT] = {
	[STAT_RCPTS] = "rcpts",
	[STAT_VERDICT + VERDICT_EXEMPT] = "exempt",
	[STAT_VERDICT + VERDICT_NOT_MX] = "not-mx",
	[STAT_VERDICT + VERDICT_PRIMARY] = "primary",
	[STAT_VERDICT + VERDICT_BACKUP] = "backup",
	[STAT_VERDICT + VERDICT_BYPASS] = "bypass",
	[STAT_VERDICT + VERDICT_ERROR] = "error",
	[STAT_TAGGED] = "tagged", [STAT_TEMPFAILED] = "tempfailed",
	[STAT_REJECTED] = "rejected", [STAT_LOGGED] = "logged",
	[STAT_RETRY_ACCEPTED] = "retry-accepted",
	[STAT_DNS_HITS] = "dns-hits", [STAT_DNS_MISSES] = "dns-misses",
	[STAT_PROBES] = "probes", [STAT_PROBE_UP] = "probe-up", [STAT_PROBE_DOWN] = "probe-down",
};

/* Order of the stats line, as documented. */
static const enum counter order[] = {
	STAT_RCPTS, STAT_VERDICT + VERDICT_EXEMPT, STAT_VERDICT + VERDICT_NOT_MX,
	STAT_VERDICT + VERDICT_PRIMARY, STAT_VERDICT + VERDICT_BACKUP,
	STAT_VERDICT + VERDICT_BYPASS, STAT_VERDICT + VERDICT_ERROR, STAT_TAGGED,
	STAT_TEMPFAILED, STAT_REJECTED, STAT_LOGGED, STAT_RETRY_ACCEPTED, STAT_DNS_HITS,
	STAT_DNS_MISSES, STAT_PROBES, STAT_PROBE_UP, STAT_PROBE_DOWN,
};

/* stats_add - count one */
void stats_add(enum counter s)
{
	atomic_fetch_add_explicit(&counters[s], 1, memory_order_relaxed);
}

/* stats_get - the count so far */
uint64_t stats_get(enum counter s)
{
	return atomic_load_explicit(&counters[s], memory_order_relaxed);
}

/* stats_log - one line with every counter since start */
void stats_log(void)
{
	char line[1024];
	size_t n = 0;

	n += (size_t)snprintf(line, sizeof(line), "stats: totals");
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%llu", names[order[i]],
				      (unsigned long long)stats_get(order[i]));
	log_info("%s", line);
}
