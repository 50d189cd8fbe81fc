/*
 * storm - many threads ask for the same cold domain at once.
 *
 *	storm CONFIG-FILE DOMAIN THREADS
 *
 * The threads share one MX set cache and one pool of resolvers, as the
 * milter's connections do (only the thread that leads the lookup takes a
 * resolver), and a barrier releases them together. Prints
 * how many led a lookup, joined another's, or timed out, and the outcome
 * each got; the DNS server's log tells how many queries went out.
 */

#include "autoconfig.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "cache.h"
#include "clock.h"
#include "config.h"
#include "mxset.h"
#include "resolver.h"

static struct config *cfg;
static struct cache *cache;
static struct resolver_pool *pool;
static const char *domain;
static pthread_barrier_t start;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int found, other;

static void *worker(void *arg)
{
	struct mxset *m;
	bool hit;

	(void)arg;
	pthread_barrier_wait(&start);
	m = mxset_get(pool, cache, cfg, domain, clock_ms() + cfg->decision_timeout_ms, &hit);
	pthread_mutex_lock(&lock);
	if (m != NULL && m->status == MX_FOUND)
		found++;
	else
		other++;
	pthread_mutex_unlock(&lock);
	mxset_release(m);
	return NULL;
}

int main(int argc, char **argv)
{
	struct config_diag d = { 0 };
	struct cache_stats st;
	pthread_t *t;
	int n;

	if (argc != 4 || (n = atoi(argv[3])) < 1) {
		fprintf(stderr, "usage: storm CONFIG DOMAIN THREADS\n");
		return 2;
	}
	if ((cfg = config_load(argv[1], true, &d)) == NULL) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.lines[i]);
		return 2;
	}
	domain = argv[2];
	ares_library_init(ARES_LIB_INIT_ALL);
	cache = mxset_cache_new(cfg->cache_size);
	if ((pool = resolver_pool_new(cfg, RESOLVER_POOL_IDLE)) == NULL) {
		fprintf(stderr, "storm: out of memory\n");
		return 2;
	}
	t = calloc((size_t)n, sizeof(*t));
	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	cache_stats(cache, &st);
	printf("threads=%d leaders=%llu joined=%llu hits=%llu timeouts=%llu found=%d other=%d\n",
	       n, (unsigned long long)st.misses, (unsigned long long)st.joins,
	       (unsigned long long)st.hits, (unsigned long long)st.timeouts, found, other);
	cache_free(cache);
	resolver_pool_free(pool);
	free(t);
	config_free(cfg);
	ares_library_cleanup();
	return 0;
}
