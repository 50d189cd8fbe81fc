/*
 * decide_bench - the cost of one decision, warm and cold, in nanoseconds
 *
 *	decide_bench CONFIG DOMAIN LOCAL-ADDR CLIENT-ADDR ITERATIONS [COLD]
 *
 * Makes one real decision for DOMAIN (DNS lookup and probes, as the
 * milter would), then times ITERATIONS more with everything warm: the MX
 * set and the probe results come from the caches, and decide() adds the
 * rank and the verdict. Timed with 1 thread, then with 2 threads at once
 * (sharing the services as the milter's connection threads do). The
 * baseline, timed the same way, is the recipient's domain
 * parsed from its address (domain_of_address), the least any milter does.
 * Prints one "name ns/op ratio" line per measurement.
 *
 * With COLD, then COLD cold decisions twice, one thread: the MX set is
 * forgotten before each one, so that each asks DNS (the server of the
 * configuration, DnsServers). First with a pool that keeps no resolver
 * idle, so that each decision makes a channel on its miss and destroys it
 * after, as a connection of one message did when each connection owned
 * its resolver; then with the services' pool, whose channel is made once.
 * The probe results stay warm. ITERATIONS 0 leaves the warm decisions
 * out (for callgrind: the inclusive cost of cold_per_lookup() and of
 * cold_pooled(), each over COLD decisions).
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
#include "decide.h"
#include "log.h"
#include "mxset.h"
#include "resolver.h"

static const struct config *cfg;
static struct services services;
static struct decision_input input;
static long iterations;
static pthread_barrier_t start;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* decide_loop - warm decisions; returns ns per decision */
static void *decide_loop(void *arg)
{
	struct decision d;
	uint64_t t0;

	/* the first one fills the caches: not timed */
	input.deadline_ms = clock_ms() + 60000;
	decide(cfg, &services, &input, &d);
	decision_clear(&d);
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (long i = 0; i < iterations; i++) {
		decide(cfg, &services, &input, &d);
		if (d.result.verdict != VERDICT_BYPASS) {
			fprintf(stderr, "decide_bench: verdict %s (%s), expected bypass\n",
				verdict_name(d.result.verdict), verdict_reason_name(&d.result));
			exit(1);
		}
		decision_clear(&d);
	}
	*(double *)arg = (double)(now_ns() - t0) / (double)iterations;
	return NULL;
}

/* cold_loop - n cold decisions with the services s: the MX set forgotten
 * before each; returns ns per decision */
static double cold_loop(struct services *s, long n)
{
	struct decision d;
	uint64_t t0 = now_ns();

	for (long i = 0; i < n; i++) {
		cache_forget(s->mxsets, input.domain);
		input.deadline_ms = clock_ms() + 60000;
		decide(cfg, s, &input, &d);
		if (d.mx == NULL || d.cached || d.mx->status != MX_FOUND) {
			fprintf(stderr, "decide_bench: a cold decision found no MX set (%s)\n",
				d.mx == NULL ? "no lookup" : mx_status_name(d.mx->status));
			exit(1);
		}
		decision_clear(&d);
	}
	return (double)(now_ns() - t0) / (double)n;
}

/* cold_per_lookup - cold decisions, a channel made and destroyed for each
 * (the services' pool swapped for one that keeps nothing idle); never
 * inlined, nor cold_pooled(), so that callgrind counts each on its own */
static __attribute__((noinline)) double cold_per_lookup(long n)
{
	struct services s = services;
	double ns;

	if ((s.resolvers = resolver_pool_new(cfg, 0)) == NULL) {
		fprintf(stderr, "decide_bench: out of memory\n");
		exit(2);
	}
	ns = cold_loop(&s, n);
	resolver_pool_free(s.resolvers);
	return ns;
}

/* cold_pooled - cold decisions, the channel taken from the services' pool */
static __attribute__((noinline)) double cold_pooled(long n)
{
	return cold_loop(&services, n);
}

/* parse_loop - the baseline: the domain of the recipient's address */
static void *parse_loop(void *arg)
{
	char domain[DOMAIN_MAXLEN + 1];
	volatile int sink = 0;
	uint64_t t0;

	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (long i = 0; i < iterations; i++)
		sink += (int)domain_of_address("<user@live.bypass.test>", domain, sizeof(domain));
	*(double *)arg = (double)(now_ns() - t0) / (double)iterations;
	(void)sink;
	return NULL;
}

/* timed - run fn in n threads at once; the mean ns per operation */
static double timed(void *(*fn)(void *), int n)
{
	pthread_t t[2];
	double ns[2], sum = 0;

	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, fn, &ns[i]);
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		sum += ns[i];
	}
	pthread_barrier_destroy(&start);
	return sum / n;
}

int main(int argc, char **argv)
{
	static char domain[DOMAIN_MAXLEN + 1];
	struct config_diag diag = { 0 };

	long cold = 0;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: decide_bench CONFIG DOMAIN LOCAL-ADDR CLIENT-ADDR "
			"ITERATIONS [COLD]\n");
		return 2;
	}
	log_setup(false, 0, 3, true);
	ares_library_init(ARES_LIB_INIT_ALL);
	if ((cfg = config_load(argv[1], true, &diag)) == NULL) {
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.lines[i]);
		return 2;
	}
	iterations = atol(argv[5]);
	if (argc == 7)
		cold = atol(argv[6]);
	input.kind = domain_classify(argv[2], strlen(argv[2]), domain, sizeof(domain));
	input.domain = domain;
	if (!netaddr_parse(argv[3], &input.local) || !netaddr_parse(argv[4], &input.client)
	    || !services_init(&services, cfg, SERVICES_MEMORY, NULL)) {
		fprintf(stderr, "decide_bench: bad address, or out of memory\n");
		return 2;
	}
	if (iterations > 0) {
		double base1 = timed(parse_loop, 1), base2 = timed(parse_loop, 2);
		double warm1 = timed(decide_loop, 1), warm2 = timed(decide_loop, 2);
		printf("parse-baseline-1-thread %.0f ns/op\n", base1);
		printf("parse-baseline-2-threads %.0f ns/op\n", base2);
		printf("warm-decision-1-thread %.0f ns/op %.1fx-baseline\n", warm1, warm1 / base1);
		printf("warm-decision-2-threads %.0f ns/op %.1fx-baseline\n", warm2, warm2 / base2);
	}
	if (cold > 0) {
		double per_lookup, pooled;

		cold_loop(&services, 1);	/* the probes' results, the pool's channel */
		per_lookup = cold_per_lookup(cold);
		pooled = cold_pooled(cold);
		printf("cold-decision-channel-per-lookup %.0f ns/op\n", per_lookup);
		printf("cold-decision-pooled-channel %.0f ns/op %.2fx-per-lookup\n", pooled,
		       pooled / per_lookup);
	}
	services_free(&services);
	config_free((struct config *)cfg);
	ares_library_cleanup();
	return 0;
}
