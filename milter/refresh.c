/*
 * NAME
 *	refresh - answers in use renewed in the background before they expire
 * SYNOPSIS
 *	#include "refresh.h"
 * DESCRIPTION
 *	A hit on a cached MX set or probe result in the last part of its
 *	life (cache.c decides when, and marks the entry so that it asks only
 *	once) calls refresh_dns_due() or refresh_probe_due(), which queue a
 *	job and return at once. One worker thread takes the jobs in order:
 *	it looks the domain up again (mxset_refresh, with a resolver of its
 *	own: a c-ares 1.18 channel serves one thread at a time) or probes
 *	the address again (probe_renew, taking a probe slot only if one is
 *	free), and the new answer is written over the old one, so readers
 *	keep hitting. A lookup that fails writes nothing: the old answer
 *	expires when it would have, and the next recipient looks it up.
 *
 *	Bounded: at most REFRESH_QUEUE jobs wait. A job that finds the queue
 *	full, or a probe that finds no free slot, is dropped and counted
 *	(refresh-dropped); its entry expires as it would have without
 *	refresh ahead. Made refreshes are counted as dns-refreshes and
 *	probe-refreshes.
 *
 *	The worker uses the configuration in force: when a reload installed
 *	another snapshot, it makes a new resolver from it (DnsServers,
 *	DnsTimeout). refresher_free() stops the worker and joins it (after
 *	the refresh in flight, if any: at most two DNS phases or one
 *	ProbeTimeout); the jobs still queued are dropped. Call it before
 *	the caches and the prober it writes to are freed.
 */

#include "autoconfig.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "probe.h"
#include "refresh.h"
#include "resolver.h"
#include "stats.h"

struct job {
	enum refresh_kind kind;
	char key[REFRESH_KEY_MAX];
};

struct refresher {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* a job was queued, or stop */
	pthread_t thread;
	bool stop;
	struct job *jobs;		/* a ring of slots */
	size_t slots, head, count;
	refresh_run_fn *run;
	void *arg;
	/* the worker's own (refresher_for): touched by its thread only */
	struct cache *mxsets;
	struct prober *prober;
	struct config *cfg;		/* the snapshot the resolver was made for */
	struct resolver *resolver;
};

/* worker - take the jobs in order until told to stop */
static void *worker(void *arg)
{
	struct refresher *r = arg;
	struct job job;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->stop && r->count == 0)
			pthread_cond_wait(&r->work, &r->lock);
		if (r->stop)
			break;
		job = r->jobs[r->head];
		r->head = (r->head + 1) % r->slots;
		r->count--;
		pthread_mutex_unlock(&r->lock);
		r->run(r->arg, job.kind, job.key);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* make - a refresher not started yet */
static struct refresher *make(size_t slots, refresh_run_fn *run, void *arg)
{
	struct refresher *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->slots = slots > 0 ? slots : 1;
	if ((r->jobs = calloc(r->slots, sizeof(*r->jobs))) == NULL) {
		free(r);
		return NULL;
	}
	r->run = run;
	r->arg = arg;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->work, NULL);
	return r;
}

/* unmake - free a refresher whose worker is not running */
static void unmake(struct refresher *r)
{
	resolver_free(r->resolver);
	config_release(r->cfg);
	pthread_cond_destroy(&r->work);
	pthread_mutex_destroy(&r->lock);
	free(r->jobs);
	free(r);
}

/* start - the worker thread; NULL (and r freed) when it cannot start */
static struct refresher *start(struct refresher *r)
{
	if (r != NULL && pthread_create(&r->thread, NULL, worker, r) != 0) {
		log_error("refresh: cannot start the worker: answers will expire unrefreshed");
		unmake(r);
		return NULL;
	}
	return r;
}

/* refresher_new - a queue of slots jobs and its worker, running run */
struct refresher *refresher_new(size_t slots, refresh_run_fn *run, void *arg)
{
	return start(make(slots, run, arg));
}

/* worker_config - the configuration in force, and a resolver made for
 * it; false when there is none yet (or no memory) */
static bool worker_config(struct refresher *r)
{
	struct config *cfg = config_current();
	char err[256];

	if (cfg == r->cfg) {
		config_release(cfg);
		return cfg != NULL && r->resolver != NULL;
	}
	resolver_free(r->resolver);
	config_release(r->cfg);
	r->cfg = cfg;
	r->resolver = NULL;
	if (cfg != NULL && (r->resolver = resolver_new(cfg, err, sizeof(err))) == NULL)
		log_error("refresh: %s", err);
	return r->resolver != NULL;
}

/* refresh_dns - look a domain up again; a failure leaves the old answer */
static void refresh_dns(struct refresher *r, const char *domain)
{
	const struct config *cfg = r->cfg;
	/* the MX phase, then the address phase */
	uint64_t deadline = clock_ms() + 2 * (uint64_t)cfg->dns_timeout_ms * cfg->dns_tries;

	stats_add(STAT_DNS_REFRESHES);
	if (!mxset_refresh(r->resolver, cfg, r->mxsets, domain, deadline))
		log_debug("refresh: %s: no answer to keep, the cached one stays until it expires",
			  domain);
}

/* refresh_probe - probe an address again, if a probe slot is free */
static void refresh_probe(struct refresher *r, const char *key)
{
	if (probe_renew(r->prober, r->cfg, key))
		stats_add(STAT_PROBE_REFRESHES);
	else
		stats_add(STAT_REFRESH_DROPPED);
}

/* run_job - the worker's job with the services of refresher_for */
static void run_job(void *arg, enum refresh_kind kind, const char *key)
{
	struct refresher *r = arg;

	if (!worker_config(r))
		return;
	if (kind == REFRESH_DNS)
		refresh_dns(r, key);
	else
		refresh_probe(r, key);
}

/* refresher_for - the daemon's refresher: MX sets into mxsets, probes
 * through prober (and its store) */
struct refresher *refresher_for(struct cache *mxsets, struct prober *prober)
{
	struct refresher *r = make(REFRESH_QUEUE, run_job, NULL);

	if (r == NULL)
		return NULL;
	r->arg = r;
	r->mxsets = mxsets;
	r->prober = prober;
	return start(r);
}

/* refresher_free - stop the worker, join it, drop the jobs left */
void refresher_free(struct refresher *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	unmake(r);
}

/* refresh_schedule - queue a job; false (counted) when the queue is full,
 * the key too long or the worker stopping */
bool refresh_schedule(struct refresher *r, enum refresh_kind kind, const char *key)
{
	size_t len = strlen(key);
	bool queued = false;

	pthread_mutex_lock(&r->lock);
	if (!r->stop && r->count < r->slots && len < REFRESH_KEY_MAX) {
		struct job *j = &r->jobs[(r->head + r->count) % r->slots];
		j->kind = kind;
		memcpy(j->key, key, len + 1);
		r->count++;
		queued = true;
		pthread_cond_signal(&r->work);
	}
	pthread_mutex_unlock(&r->lock);
	if (!queued)
		stats_add(STAT_REFRESH_DROPPED);
	return queued;
}

/* refresh_dns_due - the MX cache's refresh hook */
void refresh_dns_due(void *refresher, const char *domain)
{
	refresh_schedule(refresher, REFRESH_DNS, domain);
}

/* refresh_probe_due - the probe cache's refresh hook */
void refresh_probe_due(void *refresher, const char *key)
{
	refresh_schedule(refresher, REFRESH_PROBE, key);
}
