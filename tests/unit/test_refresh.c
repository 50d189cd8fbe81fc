/*
 * test_refresh - the refresh worker: jobs in order, the bounded queue
 * dropping (and counting) what does not fit, the cache's hook queueing a
 * due hit once, and a stop with work still queued.
 */

#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "cache.h"
#include "clock.h"
#include "refresh.h"
#include "stats.h"

/*
 * A runner that records each job and, while the test holds the gate, keeps
 * the worker busy on the first one: the queue behind it fills up.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool gate_shut;
	int ran;
	enum refresh_kind kinds[128];
	char keys[128][REFRESH_KEY_MAX];
} rec = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, { 0 }, { { 0 } } };

static void record(void *arg, enum refresh_kind kind, const char *key)
{
	(void)arg;
	pthread_mutex_lock(&rec.lock);
	if (rec.ran < 128) {
		rec.kinds[rec.ran] = kind;
		snprintf(rec.keys[rec.ran], sizeof(rec.keys[0]), "%s", key);
	}
	rec.ran++;
	pthread_cond_broadcast(&rec.changed);
	while (rec.gate_shut)
		pthread_cond_wait(&rec.changed, &rec.lock);
	pthread_mutex_unlock(&rec.lock);
}

static void gate(bool shut)
{
	pthread_mutex_lock(&rec.lock);
	rec.gate_shut = shut;
	pthread_cond_broadcast(&rec.changed);
	pthread_mutex_unlock(&rec.lock);
}

/* wait_ran - until the runner has started n jobs (or 5 s passed) */
static int wait_ran(int n)
{
	uint64_t end = clock_ms() + 5000;
	int ran;

	pthread_mutex_lock(&rec.lock);
	while (rec.ran < n && clock_ms() < end) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&rec.changed, &rec.lock, &ts);
	}
	ran = rec.ran;
	pthread_mutex_unlock(&rec.lock);
	return ran;
}

static int reset(void **state)
{
	(void)state;
	pthread_mutex_lock(&rec.lock);
	rec.ran = 0;
	rec.gate_shut = false;
	pthread_mutex_unlock(&rec.lock);
	return 0;
}

/* Jobs run in the order they were queued, with their kind and key. */
static void test_jobs_in_order(void **state)
{
	struct refresher *r = refresher_new(8, record, NULL);

	(void)state;
	assert_non_null(r);
	assert_true(refresh_schedule(r, REFRESH_DNS, "a.example"));
	assert_true(refresh_schedule(r, REFRESH_PROBE, "192.0.2.1 25"));
	assert_true(refresh_schedule(r, REFRESH_DNS, "b.example"));
	assert_int_equal(wait_ran(3), 3);
	assert_int_equal(rec.kinds[0], REFRESH_DNS);
	assert_string_equal(rec.keys[0], "a.example");
	assert_int_equal(rec.kinds[1], REFRESH_PROBE);
	assert_string_equal(rec.keys[1], "192.0.2.1 25");
	assert_string_equal(rec.keys[2], "b.example");
	refresher_free(r);
}

/* A full queue drops the job and counts it; what was queued still runs. */
static void test_full_queue_drops(void **state)
{
	struct refresher *r = refresher_new(4, record, NULL);
	uint64_t dropped = stats_get(STAT_REFRESH_DROPPED);
	char key[32];

	(void)state;
	assert_non_null(r);
	gate(true);
	assert_true(refresh_schedule(r, REFRESH_DNS, "busy.example"));
	assert_int_equal(wait_ran(1), 1);	/* the worker holds it */
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "q%d.example", i);
		assert_true(refresh_schedule(r, REFRESH_DNS, key));
	}
	assert_false(refresh_schedule(r, REFRESH_DNS, "over.example"));
	assert_false(refresh_schedule(r, REFRESH_PROBE, "192.0.2.9 25"));
	assert_int_equal(stats_get(STAT_REFRESH_DROPPED), dropped + 2);
	gate(false);
	assert_int_equal(wait_ran(5), 5);
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "q%d.example", i);
		assert_string_equal(rec.keys[1 + i], key);
	}
	/* room again */
	assert_true(refresh_schedule(r, REFRESH_DNS, "again.example"));
	assert_int_equal(wait_ran(6), 6);
	refresher_free(r);
	assert_int_equal(stats_get(STAT_REFRESH_DROPPED), dropped + 2);
}

/* A key longer than a job holds is dropped, not cut. */
static void test_long_key_dropped(void **state)
{
	struct refresher *r = refresher_new(4, record, NULL);
	uint64_t dropped = stats_get(STAT_REFRESH_DROPPED);
	char key[REFRESH_KEY_MAX + 1];

	(void)state;
	memset(key, 'a', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_false(refresh_schedule(r, REFRESH_DNS, key));
	assert_int_equal(stats_get(STAT_REFRESH_DROPPED), dropped + 1);
	refresher_free(r);
	assert_int_equal(rec.ran, 0);
}

/* Stopping with jobs queued behind a busy worker: it finishes the one in
 * hand, the rest are dropped, nothing leaks. */
static void test_stop_with_jobs_queued(void **state)
{
	struct refresher *r = refresher_new(4, record, NULL);

	(void)state;
	gate(true);
	assert_true(refresh_schedule(r, REFRESH_DNS, "busy.example"));
	assert_int_equal(wait_ran(1), 1);
	assert_true(refresh_schedule(r, REFRESH_DNS, "left.example"));
	gate(false);
	refresher_free(r);
	assert_in_range(rec.ran, 1, 2);
}

/* The cache's hook: a due hit queues one job for its key, however many
 * hits follow; a hit not due queues nothing. */
static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static void test_cache_hook(void **state)
{
	struct refresher *r = refresher_new(4, record, NULL);
	struct cache *c = cache_new(10, NULL, fake_clock);
	void *v;

	(void)state;
	cache_set_refresh(c, refresh_dns_due, r);
	fake_now = 1000000;
	assert_int_equal(cache_get(c, "hot.example", fake_now + 100, &v), CACHE_LEAD);
	cache_put(c, "hot.example", (void *)1, 2000);
	fake_now += 999;
	assert_int_equal(cache_get(c, "hot.example", fake_now + 100, &v), CACHE_HIT);
	fake_now += 1;
	for (int i = 0; i < 5; i++)
		assert_int_equal(cache_get(c, "hot.example", fake_now + 100, &v), CACHE_HIT);
	assert_int_equal(wait_ran(1), 1);
	assert_int_equal(rec.kinds[0], REFRESH_DNS);
	assert_string_equal(rec.keys[0], "hot.example");
	refresher_free(r);
	assert_int_equal(rec.ran, 1);
	cache_free(c);
}

#define TEST(fn) cmocka_unit_test_setup(fn, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_jobs_in_order),
		TEST(test_full_queue_drops),
		TEST(test_long_key_dropped),
		TEST(test_stop_with_jobs_queued),
		TEST(test_cache_hook),
	};

	return cmocka_run_group_tests_name("refresh", tests, NULL, NULL);
}
