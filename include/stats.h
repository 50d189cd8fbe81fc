/*
 * stats.h - counters, the periodic statistics line, the Prometheus file.
 */
#ifndef MXB_STATS_H
#define MXB_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "action.h"
#include "topk.h"
#include "verdict.h"

/* The counters; those of the verdicts, the actions and the evidence are
 * named by the tables of verdict.c and action.c. */
enum counter {
	STAT_RCPTS,
	STAT_VERDICT,			/* + enum verdict */
	STAT_ACTION = STAT_VERDICT + VERDICT_COUNT,	/* + enum action, the counted ones */
	STAT_EVIDENCE = STAT_ACTION + ACTION_COUNTED,	/* + enum reason: bypass
							 * candidates the evidence spared */
	STAT_DNS_HITS = STAT_EVIDENCE + REASON_EVIDENCE_COUNT,
	STAT_DNS_MISSES,
	STAT_PROBES,
	STAT_PROBE_UP,
	STAT_PROBE_DOWN,
	STAT_PROBE_SHARED,		/* probe results taken from the shared store */
	STAT_STORE_DOWN,		/* the shared store went away */
	STAT_STORE_LOCAL,		/* answered in memory while it was away */
	STAT_PROBE_CONFIRMS,		/* probes repeated before a bypass (ProbeConfirm) */
	STAT_WITNESSES,			/* connections recorded as witnesses */
	STAT_DNS_REFRESHES,		/* MX sets looked up again ahead of expiry */
	STAT_PROBE_REFRESHES,		/* probe results renewed ahead of expiry */
	STAT_REFRESH_DROPPED,		/* refreshes not made: the queue was full */
	STAT_COUNT
};

/* What the caches know of themselves, read when a report is made. */
struct stats_caches {
	uint64_t dns_joins, dns_evictions, probe_joins, probe_evictions;
	uint64_t dns_entries, probe_entries;
	enum { STORE_NONE, STORE_UP, STORE_DOWN } store;	/* the shared store */
};

#define STATS_TOP 5			/* clients and domains named in a report */

/* Counts over a span of time: an interval, or since start. */
struct stats_span {
	uint64_t seconds;
	bool pool;			/* the pool's, from the shared store */
	uint64_t c[STAT_COUNT];
	struct stats_caches caches;
	size_t nclients, ndomains;
	struct topk_slot clients[STATS_TOP], domains[STATS_TOP];
};

const char *stats_counter_name(enum counter s);
void stats_add(enum counter s);
uint64_t stats_get(enum counter s);
void stats_bypass(const char *network, const char *domain);
size_t stats_pool_top(int clients, bool restart, struct topk_slot *out);

void stats_report(const struct stats_caches *caches, const char *file);
void stats_reset(void);

size_t stats_format(char *buf, size_t len, const char *label, const struct stats_span *s);
int stats_write_prometheus(FILE *f, const struct stats_span *total, uint64_t start_time);
int stats_write_file(const char *path, const struct stats_span *total, uint64_t start_time);

#endif
