/*
 * NAME
 *	stats - counters, the periodic statistics line, the Prometheus file
 * SYNOPSIS
 *	#include "stats.h"
 * DESCRIPTION
 *	Counting must not serialise the connection threads. Each thread counts
 *	into one of STRIPES stripes (picked once per thread, round robin): the
 *	counters are relaxed atomics on the stripe's own cache lines, and the
 *	bypass top lists (space-saving summaries, topk.c) sit behind the
 *	stripe's own lock. A report adds the stripes up.
 *
 *	stats_report() logs two lines: the counts since the previous line
 *	("stats: interval=SECONDS ..."), then the totals since start ("stats:
 *	totals uptime=SECONDS ..."), and rewrites the Prometheus file when one
 *	is configured (temporary file + rename, so a reader never sees half).
 *	It runs in the main thread: every StatsInterval and on SIGUSR1.
 */

#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "stats.h"

#define STRIPES 8

enum { SPAN_INTERVAL, SPAN_TOTAL, SPAN_POOL, SPANS };	/* SPAN_POOL: not yet in the shared store */

struct stripe {
	_Alignas(64) atomic_uint_fast64_t c[STAT_COUNT];
	_Alignas(64) pthread_mutex_t lock;
	struct topk clients[SPANS], domains[SPANS];
};

static struct stripe stripes[STRIPES];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;
static atomic_uint next_stripe;
static _Thread_local struct stripe *mine;

/* The reporter's memory: where the previous line left off. */
static struct {
	pthread_mutex_t lock;
	uint64_t start_ms, last_ms;
	time_t start_time;
	uint64_t last[STAT_COUNT];
	struct stats_caches last_caches;
	struct topk parts[STRIPES];		/* copies taken under the stripe locks */
} rep = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The names of the counters no table names (verdict.c and action.c name
 * theirs): the words of the line, and the fields of the shared store's
 * counter hashes. */
static const char *const counter_names[STAT_COUNT] = {
	[STAT_RCPTS] = "rcpts",
	[STAT_DNS_HITS] = "dns-hits",
	[STAT_DNS_MISSES] = "dns-misses",
	[STAT_PROBES] = "probes",
	[STAT_PROBE_UP] = "probe-up",
	[STAT_PROBE_DOWN] = "probe-down",
	[STAT_PROBE_SHARED] = "probe-shared",
	[STAT_STORE_DOWN] = "store-down",
	[STAT_STORE_LOCAL] = "store-local",
	[STAT_PROBE_CONFIRMS] = "probe-confirms",
	[STAT_WITNESSES] = "witnesses",
	[STAT_DNS_REFRESHES] = "dns-refreshes",
	[STAT_PROBE_REFRESHES] = "probe-refreshes",
	[STAT_REFRESH_DROPPED] = "refresh-dropped",
};

/* stats_counter_name - the word of a counter */
const char *stats_counter_name(enum counter s)
{
	if (s >= STAT_VERDICT && s < STAT_ACTION)
		return verdict_name((enum verdict)(s - STAT_VERDICT));
	if (s >= STAT_ACTION && s < STAT_EVIDENCE)
		return action_counter((enum action)(s - STAT_ACTION));
	if (s >= STAT_EVIDENCE && s < STAT_DNS_HITS)
		return verdict_evidence_counter((enum reason)(s - STAT_EVIDENCE));
	return counter_names[s];
}

static void stripes_init(void)
{
	for (size_t i = 0; i < STRIPES; i++)
		pthread_mutex_init(&stripes[i].lock, NULL);
}

/* stripe_mine - this thread's stripe */
static struct stripe *stripe_mine(void)
{
	if (mine == NULL) {
		pthread_once(&stripes_once, stripes_init);
		mine = &stripes[atomic_fetch_add_explicit(&next_stripe, 1, memory_order_relaxed)
				% STRIPES];
	}
	return mine;
}

/* stats_add - count one */
void stats_add(enum counter s)
{
	atomic_fetch_add_explicit(&stripe_mine()->c[s], 1, memory_order_relaxed);
}

/* stats_get - the count since start */
uint64_t stats_get(enum counter s)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < STRIPES; i++)
		sum += atomic_load_explicit(&stripes[i].c[s], memory_order_relaxed);
	return sum;
}

/* stats_bypass - a bypassing recipient, for the top lists */
void stats_bypass(const char *network, const char *domain)
{
	struct stripe *s = stripe_mine();

	pthread_mutex_lock(&s->lock);
	for (int span = 0; span < SPANS; span++) {
		topk_add(&s->clients[span], network, 1);
		topk_add(&s->domains[span], domain, 1);
	}
	pthread_mutex_unlock(&s->lock);
}

/* top - the heaviest keys of one list over every stripe; with clear, the
 * list starts again empty */
static size_t top(int span, int clients, bool clear, struct topk_slot *out)
{
	const struct topk *parts[STRIPES];

	pthread_once(&stripes_once, stripes_init);
	for (size_t i = 0; i < STRIPES; i++) {
		struct topk *t = clients ? &stripes[i].clients[span] : &stripes[i].domains[span];
		pthread_mutex_lock(&stripes[i].lock);
		rep.parts[i] = *t;
		if (clear)
			topk_clear(t);
		pthread_mutex_unlock(&stripes[i].lock);
		parts[i] = &rep.parts[i];
	}
	return topk_merge(parts, STRIPES, out, STATS_TOP);
}

/* stats_pool_top - the heaviest bypassing clients (or domains) since the
 * pool's list last started again, for the shared store; with restart, it
 * starts again empty after this */
size_t stats_pool_top(int clients, bool restart, struct topk_slot *out)
{
	size_t n;

	pthread_mutex_lock(&rep.lock);
	n = top(SPAN_POOL, clients, restart, out);
	pthread_mutex_unlock(&rep.lock);
	return n;
}

/* append - printf at the end of a line, never past its end */
static size_t append(char *buf, size_t len, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t append(char *buf, size_t len, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (n >= len)
		return n;
	va_start(ap, fmt);
	r = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return r < 0 ? n : n + (size_t)r;
}

/* append_top - " NAME=key:count,key:count", or " NAME=-" when empty */
static size_t append_top(char *buf, size_t len, size_t n, const char *name,
			 const struct topk_slot *v, size_t nv)
{
	n = append(buf, len, n, " %s=%s", name, nv == 0 ? "-" : "");
	for (size_t i = 0; i < nv; i++)
		n = append(buf, len, n, "%s%s:%" PRIu64, i == 0 ? "" : ",", v[i].key, v[i].count);
	return n;
}

/* append_counter - " NAME=N" */
static size_t append_counter(char *buf, size_t len, size_t n, const struct stats_span *s,
			     enum counter c)
{
	return append(buf, len, n, " %s=%" PRIu64, stats_counter_name(c), s->c[c]);
}

/* append_actions - the actions counted in the documented part of the
 * line, or (in_line false) those after it */
static size_t append_actions(char *buf, size_t len, size_t n, const struct stats_span *s,
			     bool in_line)
{
	for (int a = 0; a < ACTION_COUNTED; a++)
		if (action_in_line((enum action)a) == in_line)
			n = append_counter(buf, len, n, s, STAT_ACTION + a);
	return n;
}

/* append_evidence - " tried-better-mx=N recently-down=N ..." */
static size_t append_evidence(char *buf, size_t len, size_t n, const struct stats_span *s)
{
	for (int r = 0; r < REASON_EVIDENCE_COUNT; r++)
		n = append_counter(buf, len, n, s, STAT_EVIDENCE + r);
	n = append_counter(buf, len, n, s, STAT_PROBE_CONFIRMS);
	return append_counter(buf, len, n, s, STAT_WITNESSES);
}

/* append_refresh - " dns-refreshes=N probe-refreshes=N refresh-dropped=N" */
static size_t append_refresh(char *buf, size_t len, size_t n, const struct stats_span *s)
{
	n = append_counter(buf, len, n, s, STAT_DNS_REFRESHES);
	n = append_counter(buf, len, n, s, STAT_PROBE_REFRESHES);
	return append_counter(buf, len, n, s, STAT_REFRESH_DROPPED);
}

/* stats_format - "stats: HEAD rcpts=... top-domains=... dns-joins=..." */
size_t stats_format(char *buf, size_t len, const char *head, const struct stats_span *s)
{
	static const enum counter lookups[] = {
		STAT_DNS_HITS, STAT_DNS_MISSES, STAT_PROBES, STAT_PROBE_UP, STAT_PROBE_DOWN,
	};
	const struct stats_caches *k = &s->caches;
	size_t n = append(buf, len, 0, "stats: %s", head);

	n = append_counter(buf, len, n, s, STAT_RCPTS);
	for (int v = 0; v < VERDICT_COUNT; v++)
		n = append_counter(buf, len, n, s, STAT_VERDICT + v);
	n = append_actions(buf, len, n, s, true);
	for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++)
		n = append_counter(buf, len, n, s, lookups[i]);
	n = append_top(buf, len, n, "top-clients", s->clients, s->nclients);
	n = append_top(buf, len, n, "top-domains", s->domains, s->ndomains);
	/* beyond the documented line: Action log, ... */
	n = append_actions(buf, len, n, s, false);
	if (s->pool)	/* the pool has no caches; the store's own counts */
		return append_refresh(buf, len, append_evidence(buf, len,
			append(buf, len, n, " probe-shared=%" PRIu64 " store-down=%" PRIu64
			       " store-local=%" PRIu64, s->c[STAT_PROBE_SHARED],
			       s->c[STAT_STORE_DOWN], s->c[STAT_STORE_LOCAL]), s), s);
	/* ... the caches at work */
	n = append(buf, len, n, " dns-joins=%" PRIu64 " dns-evictions=%" PRIu64
		      " dns-cached=%" PRIu64 " probe-joins=%" PRIu64 " probe-evictions=%" PRIu64
		      " probe-cached=%" PRIu64, k->dns_joins, k->dns_evictions,
		      k->dns_entries, k->probe_joins, k->probe_evictions, k->probe_entries);
	/* and the shared store, when there is one */
	if (k->store != STORE_NONE)
		n = append(buf, len, n, " store=%s store-down=%" PRIu64 " store-local=%" PRIu64
			   " probe-shared=%" PRIu64, k->store == STORE_UP ? "up" : "down",
			   s->c[STAT_STORE_DOWN], s->c[STAT_STORE_LOCAL], s->c[STAT_PROBE_SHARED]);
	/* then refresh ahead */
	return append_refresh(buf, len, append_evidence(buf, len, n, s), s);
}

/* label_value - a Prometheus label value: backslash, quote and newline
 * escaped (the keys are host names and networks, but a file must parse) */
static void label_value(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* family - the HELP and TYPE lines of a metric */
static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* stats_write_prometheus - the totals in the Prometheus text format */
int stats_write_prometheus(FILE *f, const struct stats_span *t, uint64_t start_time)
{
	const struct stats_caches *k = &t->caches;

	family(f, "mxbypass_rcpt_total", "counter", "Recipients checked, by verdict.");
	for (int v = 0; v < VERDICT_COUNT; v++)
		fprintf(f, "mxbypass_rcpt_total{verdict=\"%s\"} %" PRIu64 "\n",
			verdict_name((enum verdict)v), t->c[STAT_VERDICT + v]);
	family(f, "mxbypass_action_total", "counter", "Bypassing recipients, by what was done.");
	for (int a = 0; a < ACTION_COUNTED; a++)
		fprintf(f, "mxbypass_action_total{action=\"%s\"} %" PRIu64 "\n",
			action_name((enum action)a), t->c[STAT_ACTION + a]);
	family(f, "mxbypass_dns_lookups_total", "counter",
	       "MX set lookups, answered from the cache (hit) or by DNS (miss).");
	fprintf(f, "mxbypass_dns_lookups_total{result=\"hit\"} %" PRIu64 "\n", t->c[STAT_DNS_HITS]);
	fprintf(f, "mxbypass_dns_lookups_total{result=\"miss\"} %" PRIu64 "\n", t->c[STAT_DNS_MISSES]);
	family(f, "mxbypass_probes_total", "counter", "Reachability probes sent to better MX hosts.");
	fprintf(f, "mxbypass_probes_total %" PRIu64 "\n", t->c[STAT_PROBES]);
	family(f, "mxbypass_probe_results_total", "counter", "Probe results, by outcome.");
	fprintf(f, "mxbypass_probe_results_total{result=\"up\"} %" PRIu64 "\n", t->c[STAT_PROBE_UP]);
	fprintf(f, "mxbypass_probe_results_total{result=\"down\"} %" PRIu64 "\n",
		t->c[STAT_PROBE_DOWN]);
	family(f, "mxbypass_evidence_total", "counter",
	       "Bypass candidates found to be legitimate backup deliveries, by evidence.");
	for (int r = 0; r < REASON_EVIDENCE_COUNT; r++)
		fprintf(f, "mxbypass_evidence_total{evidence=\"%s\"} %" PRIu64 "\n",
			verdict_reason_word((enum reason)r), t->c[STAT_EVIDENCE + r]);
	family(f, "mxbypass_probe_confirms_total", "counter",
	       "Probes repeated before a bypass verdict because the result was older than ProbeConfirm.");
	fprintf(f, "mxbypass_probe_confirms_total %" PRIu64 "\n", t->c[STAT_PROBE_CONFIRMS]);
	family(f, "mxbypass_witnesses_total", "counter",
	       "Connections recorded as witnesses for the pool (WitnessWindow).");
	fprintf(f, "mxbypass_witnesses_total %" PRIu64 "\n", t->c[STAT_WITNESSES]);
	family(f, "mxbypass_cache_joins_total", "counter",
	       "Lookups that waited for another thread's answer instead of asking again.");
	fprintf(f, "mxbypass_cache_joins_total{cache=\"dns\"} %" PRIu64 "\n", k->dns_joins);
	fprintf(f, "mxbypass_cache_joins_total{cache=\"probe\"} %" PRIu64 "\n", k->probe_joins);
	family(f, "mxbypass_cache_evictions_total", "counter",
	       "Entries pushed out of a full cache, least recently used first.");
	fprintf(f, "mxbypass_cache_evictions_total{cache=\"dns\"} %" PRIu64 "\n", k->dns_evictions);
	fprintf(f, "mxbypass_cache_evictions_total{cache=\"probe\"} %" PRIu64 "\n",
		k->probe_evictions);
	family(f, "mxbypass_cache_entries", "gauge", "Entries in a cache now.");
	fprintf(f, "mxbypass_cache_entries{cache=\"dns\"} %" PRIu64 "\n", k->dns_entries);
	fprintf(f, "mxbypass_cache_entries{cache=\"probe\"} %" PRIu64 "\n", k->probe_entries);
	family(f, "mxbypass_refreshes_total", "counter",
	       "Answers renewed in the background ahead of their expiry, by kind.");
	fprintf(f, "mxbypass_refreshes_total{kind=\"dns\"} %" PRIu64 "\n", t->c[STAT_DNS_REFRESHES]);
	fprintf(f, "mxbypass_refreshes_total{kind=\"probe\"} %" PRIu64 "\n",
		t->c[STAT_PROBE_REFRESHES]);
	family(f, "mxbypass_refresh_dropped_total", "counter",
	       "Refreshes not made because the refresh queue was full.");
	fprintf(f, "mxbypass_refresh_dropped_total %" PRIu64 "\n", t->c[STAT_REFRESH_DROPPED]);
	family(f, "mxbypass_top_client_bypasses", "gauge",
	       "Bypassing recipients from the heaviest client networks since start.");
	for (size_t i = 0; i < t->nclients; i++) {
		fputs("mxbypass_top_client_bypasses{network=\"", f);
		label_value(f, t->clients[i].key);
		fprintf(f, "\"} %" PRIu64 "\n", t->clients[i].count);
	}
	family(f, "mxbypass_top_domain_bypasses", "gauge",
	       "Bypassing recipients of the heaviest recipient domains since start.");
	for (size_t i = 0; i < t->ndomains; i++) {
		fputs("mxbypass_top_domain_bypasses{domain=\"", f);
		label_value(f, t->domains[i].key);
		fprintf(f, "\"} %" PRIu64 "\n", t->domains[i].count);
	}
	if (k->store != STORE_NONE) {
		family(f, "mxbypass_store_up", "gauge",
		       "1 while the shared store answers, 0 while the milter decides alone.");
		fprintf(f, "mxbypass_store_up %d\n", k->store == STORE_UP);
		family(f, "mxbypass_store_down_total", "counter", "Times the shared store went away.");
		fprintf(f, "mxbypass_store_down_total %" PRIu64 "\n", t->c[STAT_STORE_DOWN]);
		family(f, "mxbypass_store_local_total", "counter",
		       "Operations answered in memory while the shared store was away.");
		fprintf(f, "mxbypass_store_local_total %" PRIu64 "\n", t->c[STAT_STORE_LOCAL]);
		family(f, "mxbypass_probe_shared_total", "counter",
		       "Probe results taken from the shared store instead of probing.");
		fprintf(f, "mxbypass_probe_shared_total %" PRIu64 "\n", t->c[STAT_PROBE_SHARED]);
	}
	family(f, "mxbypass_start_time_seconds", "gauge", "When the milter started, Unix time.");
	fprintf(f, "mxbypass_start_time_seconds %" PRIu64 "\n", start_time);
	return ferror(f) ? -1 : 0;
}

/* stats_write_file - the Prometheus file, replaced whole (write a
 * temporary file beside it, then rename) */
int stats_write_file(const char *path, const struct stats_span *total, uint64_t start_time)
{
	char tmp[4096];
	FILE *f;
	bool ok;
	int saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	ok = stats_write_prometheus(f, total, start_time) == 0;
	ok = fclose(f) == 0 && ok;	/* closed whatever happened */
	if (ok && rename(tmp, path) == 0)
		return 0;
	saved = errno;
	unlink(tmp);
	errno = saved;
	return -1;
}

/* stats_reset - the start of the clock (and of the first interval) */
void stats_reset(void)
{
	pthread_mutex_lock(&rep.lock);
	rep.start_ms = rep.last_ms = clock_ms();
	rep.start_time = time(NULL);
	for (int i = 0; i < STAT_COUNT; i++)
		rep.last[i] = stats_get(i);
	memset(&rep.last_caches, 0, sizeof(rep.last_caches));
	pthread_mutex_unlock(&rep.lock);
}

/* stats_report - the interval line, the totals line, the Prometheus file */
void stats_report(const struct stats_caches *caches, const char *file)
{
	static struct stats_span interval, total;
	char head[64], line[2048];
	uint64_t now;

	pthread_mutex_lock(&rep.lock);
	now = clock_ms();
	if (rep.start_ms == 0)
		rep.start_ms = rep.last_ms = now, rep.start_time = time(NULL);
	for (int i = 0; i < STAT_COUNT; i++) {
		total.c[i] = stats_get(i);
		interval.c[i] = total.c[i] - rep.last[i];
		rep.last[i] = total.c[i];
	}
	total.caches = interval.caches = *caches;
	interval.caches.dns_joins -= rep.last_caches.dns_joins;
	interval.caches.dns_evictions -= rep.last_caches.dns_evictions;
	interval.caches.probe_joins -= rep.last_caches.probe_joins;
	interval.caches.probe_evictions -= rep.last_caches.probe_evictions;
	rep.last_caches = *caches;
	interval.nclients = top(SPAN_INTERVAL, 1, true, interval.clients);
	interval.ndomains = top(SPAN_INTERVAL, 0, true, interval.domains);
	total.nclients = top(SPAN_TOTAL, 1, false, total.clients);
	total.ndomains = top(SPAN_TOTAL, 0, false, total.domains);
	interval.seconds = (now - rep.last_ms + 500) / 1000;
	total.seconds = (now - rep.start_ms + 500) / 1000;
	rep.last_ms = now;

	snprintf(head, sizeof(head), "interval=%" PRIu64, interval.seconds);
	stats_format(line, sizeof(line), head, &interval);
	log_info("%s", line);
	snprintf(head, sizeof(head), "totals uptime=%" PRIu64, total.seconds);
	stats_format(line, sizeof(line), head, &total);
	log_info("%s", line);
	if (file != NULL && stats_write_file(file, &total, (uint64_t)rep.start_time) != 0)
		log_warning("stats: cannot write %s: %s", file, strerror(errno));
	pthread_mutex_unlock(&rep.lock);
}
