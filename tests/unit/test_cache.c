/*
 * test_cache - the TTL + LRU cache: hits, expiry, eviction, reference
 * counts and single-flight between threads.
 */

#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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

/*
 * Values are counted, malloc'ed and freed on their last release, so a
 * value the cache lets go of too early is a use after free under ASan and
 * a wrong "live" count without it. The ops run on worker threads, where
 * cmocka's asserts must not be used: trouble is counted instead.
 */
struct val {
	int id;
	atomic_int refs;
};

static atomic_int live;		/* values not yet freed */
static atomic_int created, holds, releases;
static atomic_int underflows;	/* released more often than held */

/* val_new - a value with one reference, the creator's */
static struct val *val_new(int id)
{
	struct val *v = malloc(sizeof(*v));

	assert_non_null(v);
	v->id = id;
	atomic_init(&v->refs, 1);
	atomic_fetch_add(&created, 1);
	atomic_fetch_add(&live, 1);
	return v;
}

static void val_hold(void *p)
{
	struct val *v = p;

	atomic_fetch_add(&holds, 1);
	atomic_fetch_add(&v->refs, 1);
}

static void val_release(void *p)
{
	struct val *v = p;
	int was = atomic_fetch_sub(&v->refs, 1);

	atomic_fetch_add(&releases, 1);
	if (was <= 0) {
		atomic_fetch_add(&underflows, 1);
	} else if (was == 1) {
		atomic_fetch_sub(&live, 1);
		free(v);
	}
}

static const struct cache_ops val_ops = { val_hold, val_release };

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* sleep_ms - let other threads run for a while */
static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static int reset_counts(void **state)
{
	(void)state;
	atomic_store(&live, 0);
	atomic_store(&created, 0);
	atomic_store(&holds, 0);
	atomic_store(&releases, 0);
	atomic_store(&underflows, 0);
	fake_now = 1000000;
	return 0;
}

/* every value made has been freed, every reference given back */
static int check_balanced(void **state)
{
	(void)state;
	assert_int_equal(atomic_load(&underflows), 0);
	assert_int_equal(atomic_load(&live), 0);
	assert_int_equal(atomic_load(&created) + atomic_load(&holds), atomic_load(&releases));
	return 0;
}

/* put_new - lead on a cold key, publish a new value, drop the creator's
 * reference: the cache then holds the only one */
static struct val *put_new(struct cache *c, const char *key, int id, uint64_t ttl_ms)
{
	void *got = (void *)1;
	struct val *v;

	assert_int_equal(cache_get(c, key, fake_now + 1000, &got), CACHE_LEAD);
	assert_null(got);
	v = val_new(id);
	cache_put(c, key, v, ttl_ms);
	val_release(v);
	return v;
}

/* expect_hit - the key is cached with this id; the reference is given back */
static void expect_hit(struct cache *c, const char *key, int id)
{
	void *got = NULL;

	assert_int_equal(cache_get(c, key, fake_now + 1000, &got), CACHE_HIT);
	assert_non_null(got);
	assert_int_equal(((struct val *)got)->id, id);
	cache_release(c, got);
}

/* expect_cold - nothing cached for the key; the lead is given up again */
static void expect_cold(struct cache *c, const char *key)
{
	void *got = (void *)1;

	assert_int_equal(cache_get(c, key, fake_now + 1000, &got), CACHE_LEAD);
	assert_null(got);
	cache_abandon(c, key);
}

static void test_hit_after_put(void **state)
{
	struct cache *c = cache_new(10, &val_ops, fake_clock);
	struct cache_stats st;
	struct val *v;
	void *got = NULL;

	(void)state;
	v = put_new(c, "example.org", 7, 1000);
	assert_int_equal(atomic_load(&v->refs), 1);	/* the cache's own */
	assert_int_equal(cache_get(c, "example.org", fake_now + 1000, &got), CACHE_HIT);
	assert_ptr_equal(got, v);
	assert_int_equal(atomic_load(&v->refs), 2);	/* and the caller's */
	cache_release(c, got);
	cache_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.entries, 1);
	cache_free(c);
	assert_int_equal(atomic_load(&holds) + 1, atomic_load(&releases));
}

static void test_unknown_key_leads(void **state)
{
	struct cache *c = cache_new(10, &val_ops, fake_clock);
	struct cache_stats st;

	(void)state;
	put_new(c, "example.org", 1, 1000);
	expect_cold(c, "example.net");
	expect_cold(c, "example.org.");		/* keys are compared exactly */
	cache_stats(c, &st);
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.entries, 1);	/* abandoned keys leave nothing */
	cache_free(c);
}

static void test_put_without_lead_ignored(void **state)
{
	struct cache *c = cache_new(10, &val_ops, fake_clock);
	struct val *v = val_new(1);

	(void)state;
	cache_put(c, "example.org", v, 1000);
	assert_int_equal(atomic_load(&v->refs), 1);	/* not taken */
	expect_cold(c, "example.org");
	val_release(v);
	cache_free(c);
}

static void test_evicted_value_held_by_caller(void **state)
{
	struct cache *c = cache_new(1, &val_ops, fake_clock);
	struct cache_stats st;
	void *got = NULL;

	(void)state;
	put_new(c, "a.example", 1, 1000);
	assert_int_equal(cache_get(c, "a.example", fake_now + 1000, &got), CACHE_HIT);
	put_new(c, "b.example", 2, 1000);		/* pushes a.example out */
	cache_stats(c, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(atomic_load(&live), 2);
	assert_int_equal(((struct val *)got)->id, 1);	/* still valid */
	assert_int_equal(atomic_load(&((struct val *)got)->refs), 1);
	cache_release(c, got);
	assert_int_equal(atomic_load(&live), 1);
	expect_cold(c, "a.example");
	cache_free(c);
}

static void test_expired_value_held_by_caller(void **state)
{
	struct cache *c = cache_new(10, &val_ops, fake_clock);
	void *got = NULL;

	(void)state;
	put_new(c, "example.org", 1, 1000);
	assert_int_equal(cache_get(c, "example.org", fake_now + 1000, &got), CACHE_HIT);
	fake_now += 1000;
	expect_cold(c, "example.org");		/* the cache dropped its reference */
	assert_int_equal(atomic_load(&live), 1);
	assert_int_equal(((struct val *)got)->id, 1);
	cache_release(c, got);
	assert_int_equal(atomic_load(&live), 0);
	cache_free(c);
}

static void test_free_releases_everything(void **state)
{
	struct cache *c = cache_new(100, &val_ops, fake_clock);
	void *got = NULL;

	(void)state;
	for (int i = 0; i < 20; i++) {
		char key[32];
		snprintf(key, sizeof(key), "d%d.example", i);
		put_new(c, key, i, 1000);
	}
	assert_int_equal(cache_get(c, "pending.example", fake_now + 1000, &got), CACHE_LEAD);
	assert_int_equal(atomic_load(&live), 20);
	cache_free(c);				/* with a key still pending */
	assert_int_equal(atomic_load(&live), 0);
	assert_int_equal(atomic_load(&holds) + 20, atomic_load(&releases));
}

struct expiry_case {
	const char *name;
	uint64_t ttl_ms;
	uint64_t advance_ms;
	enum cache_status status;
};

static const struct expiry_case expiry_cases[] = {
	{ "ttl 1000: hit at once", 1000, 0, CACHE_HIT },
	{ "ttl 1000: hit 999 ms later", 1000, 999, CACHE_HIT },
	{ "ttl 1000: expired 1000 ms later", 1000, 1000, CACHE_LEAD },
	{ "ttl 1000: expired long after", 1000, 86400000, CACHE_LEAD },
	{ "ttl 0 is never served", 0, 0, CACHE_LEAD },
};

static void test_expiry(void **state)
{
	const struct expiry_case *ec = *state;
	struct cache *c = cache_new(10, &val_ops, fake_clock);
	void *got = NULL;

	put_new(c, "example.org", 1, ec->ttl_ms);
	fake_now += ec->advance_ms;
	assert_int_equal(cache_get(c, "example.org", fake_now + 1000, &got), ec->status);
	if (ec->status == CACHE_HIT) {
		assert_int_equal(((struct val *)got)->id, 1);
		cache_release(c, got);
	} else {
		assert_null(got);
		assert_int_equal(atomic_load(&live), 0);	/* expired value let go */
		cache_abandon(c, "example.org");
	}
	cache_free(c);
}

struct lru_case {
	const char *name;
	const char *touch[2];		/* read before the 4th put */
	const char *evicted;
};

static const struct lru_case lru_cases[] = {
	{ "untouched: the oldest goes", { NULL, NULL }, "k1" },
	{ "k1 touched: k2 goes", { "k1", NULL }, "k2" },
	{ "k1 and k2 touched: k3 goes", { "k1", "k2" }, "k3" },
	{ "k3 touched: k1 still goes", { "k3", NULL }, "k1" },
};

static void test_lru(void **state)
{
	const struct lru_case *lc = *state;
	static const char *const keys[] = { "k1", "k2", "k3", "k4" };
	struct cache *c = cache_new(3, &val_ops, fake_clock);
	struct cache_stats st;

	for (int i = 0; i < 3; i++)
		put_new(c, keys[i], i + 1, 60000);
	for (int i = 0; i < 2 && lc->touch[i] != NULL; i++)
		expect_hit(c, lc->touch[i], lc->touch[i][1] - '0');
	put_new(c, "k4", 4, 60000);
	cache_stats(c, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.entries, 3);
	assert_int_equal(atomic_load(&live), 3);
	for (int i = 0; i < 4; i++) {
		if (strcmp(keys[i], lc->evicted) == 0)
			expect_cold(c, keys[i]);
		else
			expect_hit(c, keys[i], i + 1);
	}
	cache_free(c);
}

static void test_set_capacity_trims(void **state)
{
	struct cache *c = cache_new(3, &val_ops, fake_clock);
	struct cache_stats st;

	(void)state;
	put_new(c, "k1", 1, 60000);
	put_new(c, "k2", 2, 60000);
	put_new(c, "k3", 3, 60000);
	expect_hit(c, "k1", 1);			/* k1 most recent, then k3, k2 */
	cache_set_capacity(c, 1);
	cache_stats(c, &st);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.entries, 1);
	assert_int_equal(atomic_load(&live), 1);
	expect_hit(c, "k1", 1);
	expect_cold(c, "k2");
	expect_cold(c, "k3");
	cache_set_capacity(c, 0);		/* taken as 1: the last answer stays */
	expect_hit(c, "k1", 1);
	cache_free(c);
}

/* A thread asking for a key; the one that leads answers after lead_ms. */
struct asker {
	pthread_t tid;
	struct cache *c;
	pthread_barrier_t *start;
	const char *key;
	unsigned deadline_in_ms;
	unsigned lead_ms;
	int lead_id;
	enum cache_status status;
	void *value;
	uint64_t waited_ms;
};

static void *asker_run(void *arg)
{
	struct asker *a = arg;
	uint64_t t0;

	if (a->start != NULL)
		pthread_barrier_wait(a->start);
	t0 = clock_ms();
	a->status = cache_get(a->c, a->key, t0 + a->deadline_in_ms, &a->value);
	a->waited_ms = clock_ms() - t0;
	if (a->status == CACHE_LEAD) {
		sleep_ms(a->lead_ms);
		a->value = val_new(a->lead_id);
		cache_put(a->c, a->key, a->value, 60000);	/* keeps the creator's ref */
	}
	return NULL;
}

/* collect - join the askers; exactly one led, all others got its value */
static void collect(struct asker *a, size_t n, struct cache *c)
{
	size_t leaders = 0;
	void *value = NULL;

	for (size_t i = 0; i < n; i++) {
		assert_int_equal(pthread_join(a[i].tid, NULL), 0);
		if (a[i].status == CACHE_LEAD) {
			leaders++;
			value = a[i].value;
		}
	}
	assert_int_equal(leaders, 1);
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(a[i].status, CACHE_TIMEOUT);
		assert_ptr_equal(a[i].value, value);
		cache_release(c, a[i].value);
	}
}

static void test_single_flight(void **state)
{
	enum { N = 50 };
	static struct asker a[N];
	struct cache *c = cache_new(100, &val_ops, NULL);
	struct cache_stats st;
	pthread_barrier_t start;

	(void)state;
	pthread_barrier_init(&start, NULL, N);
	for (size_t i = 0; i < N; i++) {
		a[i] = (struct asker){ .c = c, .start = &start, .key = "cold.example",
				       .deadline_in_ms = 5000, .lead_ms = 100, .lead_id = 42 };
		assert_int_equal(pthread_create(&a[i].tid, NULL, asker_run, &a[i]), 0);
	}
	collect(a, N, c);
	pthread_barrier_destroy(&start);
	cache_stats(c, &st);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.joins, N - 1);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.timeouts, 0);
	assert_int_equal(atomic_load(&live), 1);
	cache_free(c);
}

static void test_waiter_deadline(void **state)
{
	struct cache *c = cache_new(100, &val_ops, NULL);
	struct asker w = { .c = c, .key = "slow.example", .deadline_in_ms = 100 };
	struct cache_stats st;
	void *got = NULL;

	(void)state;
	assert_int_equal(cache_get(c, "slow.example", clock_ms() + 5000, &got), CACHE_LEAD);
	/* the leader never answers while the waiter waits */
	assert_int_equal(pthread_create(&w.tid, NULL, asker_run, &w), 0);
	assert_int_equal(pthread_join(w.tid, NULL), 0);
	assert_int_equal(w.status, CACHE_TIMEOUT);
	assert_null(w.value);
	assert_true(w.waited_ms >= 90);
	cache_stats(c, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.joins, 0);
	/* a deadline already past does not wait at all */
	assert_int_equal(cache_get(c, "slow.example", clock_ms() - 1, &got), CACHE_TIMEOUT);
	cache_stats(c, &st);
	assert_int_equal(st.timeouts, 2);
	cache_abandon(c, "slow.example");
	cache_free(c);
}

static void test_abandon_hands_over(void **state)
{
	enum { N = 10 };
	static struct asker a[N];
	struct cache *c = cache_new(100, &val_ops, NULL);
	struct cache_stats st;
	void *got = NULL;

	(void)state;
	assert_int_equal(cache_get(c, "flaky.example", clock_ms() + 5000, &got), CACHE_LEAD);
	for (size_t i = 0; i < N; i++) {
		a[i] = (struct asker){ .c = c, .key = "flaky.example", .deadline_in_ms = 5000,
				       .lead_ms = 50, .lead_id = 9 };
		assert_int_equal(pthread_create(&a[i].tid, NULL, asker_run, &a[i]), 0);
	}
	sleep_ms(100);				/* let them all wait on us */
	cache_abandon(c, "flaky.example");
	collect(a, N, c);
	cache_stats(c, &st);
	assert_int_equal(st.misses, 2);		/* us, then one waiter */
	assert_int_equal(st.joins + st.hits, N - 1);
	assert_int_equal(st.timeouts, 0);
	assert_int_equal(st.entries, 1);
	expect_hit(c, "flaky.example", 9);
	cache_free(c);
}

static void test_many_keys(void **state)
{
	enum { N = 5000 };
	struct cache *c = cache_new(10000, NULL, fake_clock);
	struct cache_stats st;
	char key[32];
	void *got;

	(void)state;
	for (uintptr_t i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "host%lu.example", (unsigned long)i);
		assert_int_equal(cache_get(c, key, fake_now + 1000, &got), CACHE_LEAD);
		cache_put(c, key, (void *)(i + 1), 60000);
	}
	for (uintptr_t i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "host%lu.example", (unsigned long)i);
		got = NULL;
		assert_int_equal(cache_get(c, key, fake_now + 1000, &got), CACHE_HIT);
		assert_ptr_equal(got, (void *)(i + 1));
		cache_release(c, got);		/* plain values: nothing to do */
	}
	cache_stats(c, &st);
	assert_int_equal(st.entries, N);
	assert_int_equal(st.evictions, 0);
	assert_int_equal(st.misses, N);
	assert_int_equal(st.hits, N);
	cache_free(c);
}

/* cache_set records without a lead: adds, replaces (the old value let
 * go), expires and is bounded like any answer; a pending key is left to
 * its leader. */
static void test_set_records(void **state)
{
	struct cache *c = cache_new(2, &val_ops, fake_clock);
	struct val *a = val_new(1), *b = val_new(2), *d = val_new(4), *e = val_new(5);
	struct cache_stats st;
	void *got;

	(void)state;
	cache_set(c, "k", a, 1000);
	expect_hit(c, "k", 1);
	cache_set(c, "k", b, 1000);
	val_release(a);			/* the cache let go of it: freed now */
	expect_hit(c, "k", 2);
	fake_now += 1000;
	expect_cold(c, "k");
	/* a key being looked up is the leader's */
	assert_int_equal(cache_get(c, "p", fake_now + 1000, &got), CACHE_LEAD);
	cache_set(c, "p", d, 1000);
	assert_int_equal(atomic_load(&d->refs), 1);
	cache_abandon(c, "p");
	/* bounded: a third record pushes out the least recent */
	cache_set(c, "x", d, 1000);
	cache_set(c, "y", e, 1000);
	cache_set(c, "z", b, 1000);
	cache_stats(c, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.evictions, 1);
	expect_cold(c, "x");
	val_release(b);
	val_release(d);
	val_release(e);
	cache_free(c);
}

/* cache_forget drops an answer, so the next caller leads; a pending key
 * is not dropped (its waiters keep waiting for the leader). */
static void test_forget(void **state)
{
	struct cache *c = cache_new(10, &val_ops, fake_clock);
	void *got;

	(void)state;
	put_new(c, "k", 1, 1000);
	cache_forget(c, "k");
	assert_int_equal(atomic_load(&live), 0);
	assert_int_equal(cache_get(c, "k", fake_now + 1000, &got), CACHE_LEAD);
	cache_forget(c, "k");
	assert_int_equal(cache_get(c, "k", fake_now, &got), CACHE_TIMEOUT);
	cache_abandon(c, "k");
	cache_forget(c, "absent");
	cache_free(c);
}

/* Refresh ahead: the hook a due hit calls, with the keys it was called for. */
static int refresh_calls;
static char refresh_key[64];

static void refresh_hook(void *arg, const char *key)
{
	(void)arg;
	refresh_calls++;
	snprintf(refresh_key, sizeof(refresh_key), "%s", key);
}

static struct cache *refresh_cache(void)
{
	struct cache *c = cache_new(10, &val_ops, fake_clock);

	assert_non_null(c);
	cache_set_refresh(c, refresh_hook, NULL);
	refresh_calls = 0;
	refresh_key[0] = '\0';
	return c;
}

/* When a hit is due: the last quarter of the TTL, at least 1 s before
 * expiry, at most half of the TTL. */
static const struct due_case {
	const char *name;
	uint64_t ttl_ms, asked_at;	/* ms after the put */
	bool due;
} due_cases[] = {
	{ "due: 8 s TTL, at 5.999 s not yet", 8000, 5999, false },
	{ "due: 8 s TTL, at 6 s (last quarter)", 8000, 6000, true },
	{ "due: 300 s TTL, at 224.999 s not yet", 300000, 224999, false },
	{ "due: 300 s TTL, at 225 s", 300000, 225000, true },
	{ "due: 2 s TTL, at 0.999 s not yet (1 s floor)", 2000, 999, false },
	{ "due: 2 s TTL, at 1 s", 2000, 1000, true },
	{ "due: 3 s TTL, at 2 s (1 s floor, not 0.75 s)", 3000, 2000, true },
	{ "due: 3 s TTL, at 1.999 s not yet", 3000, 1999, false },
	{ "due: 1 s TTL, at 0.499 s not yet (at most half)", 1000, 499, false },
	{ "due: 1 s TTL, at 0.5 s", 1000, 500, true },
	{ "due: fresh answer, never at once", 1000, 0, false },
};

static void test_refresh_due(void **state)
{
	const struct due_case *t = *state;
	struct cache *c = refresh_cache();

	put_new(c, "k", 1, t->ttl_ms);
	fake_now += t->asked_at;
	expect_hit(c, "k", 1);
	assert_int_equal(refresh_calls, t->due ? 1 : 0);
	if (t->due)
		assert_string_equal(refresh_key, "k");
	cache_free(c);
}

static void test_refresh_window(void **state)
{
	(void)state;
	assert_int_equal(cache_refresh_window(0), 0);
	assert_int_equal(cache_refresh_window(1), 0);
	assert_int_equal(cache_refresh_window(1000), 500);
	assert_int_equal(cache_refresh_window(2000), 1000);
	assert_int_equal(cache_refresh_window(3000), 1000);
	assert_int_equal(cache_refresh_window(60000), 15000);
}

/* One refresh per answer: the second due hit does not ask again, the
 * answer that replaces it may be refreshed in its own turn. */
static void test_refresh_single_flight(void **state)
{
	struct cache *c = refresh_cache();
	struct val *v;

	(void)state;
	put_new(c, "k", 1, 8000);
	fake_now += 6000;
	expect_hit(c, "k", 1);
	expect_hit(c, "k", 1);
	fake_now += 1000;
	expect_hit(c, "k", 1);
	assert_int_equal(refresh_calls, 1);
	/* the refresh writes the new answer: readers never find it absent */
	v = val_new(2);
	cache_set(c, "k", v, 8000);
	val_release(v);
	expect_hit(c, "k", 2);
	assert_int_equal(refresh_calls, 1);
	fake_now += 6000;
	expect_hit(c, "k", 2);
	expect_hit(c, "k", 2);
	assert_int_equal(refresh_calls, 2);
	/* cache_update clears the mark too */
	v = val_new(3);
	assert_true(cache_update(c, "k", v, 8000));
	val_release(v);
	fake_now += 6000;
	expect_hit(c, "k", 3);
	assert_int_equal(refresh_calls, 3);
	cache_free(c);
}

/* A refresh that writes nothing (failed, dropped) leaves the old answer
 * until it expires, unasked again; then the next caller leads, and the
 * new answer is refreshed as any. */
static void test_refresh_unanswered_expires(void **state)
{
	struct cache *c = refresh_cache();

	(void)state;
	put_new(c, "k", 1, 2000);
	fake_now += 1500;
	expect_hit(c, "k", 1);
	fake_now += 499;
	expect_hit(c, "k", 1);
	assert_int_equal(refresh_calls, 1);
	fake_now += 1;
	expect_cold(c, "k");
	put_new(c, "k", 4, 2000);
	fake_now += 1000;
	expect_hit(c, "k", 4);
	assert_int_equal(refresh_calls, 2);
	cache_free(c);
}

/* cache_peek is a hit like any; a cache without a hook never asks; a
 * refresh of a key pushed out (or never there) is a plain add, within
 * the capacity. */
static void test_refresh_peek_and_evicted(void **state)
{
	struct cache *c = refresh_cache(), *plain = cache_new(10, &val_ops, fake_clock);
	struct val *v;
	void *got;

	(void)state;
	put_new(c, "k", 1, 8000);
	put_new(plain, "k", 1, 8000);
	fake_now += 7000;
	assert_true(cache_peek(c, "k", &got));
	cache_release(c, got);
	assert_true(cache_peek(plain, "k", &got));
	cache_release(plain, got);
	expect_hit(plain, "k", 1);
	assert_int_equal(refresh_calls, 1);
	cache_set_capacity(c, 1);
	v = val_new(5);
	cache_set(c, "gone", v, 8000);		/* pushes "k" out */
	val_release(v);
	expect_hit(c, "gone", 5);
	expect_cold(c, "k");
	cache_free(c);
	cache_free(plain);
}

#define CASES(fn, table) \
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) \
		tests[n++] = (struct CMUnitTest){ table[i].name, fn, reset_counts, check_balanced, \
						  (void *)&table[i] }
#define TEST(fn) \
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(fn, reset_counts, \
									check_balanced)

int main(void)
{
	struct CMUnitTest tests[64];
	size_t n = 0;

	TEST(test_hit_after_put);
	TEST(test_unknown_key_leads);
	TEST(test_put_without_lead_ignored);
	TEST(test_evicted_value_held_by_caller);
	TEST(test_expired_value_held_by_caller);
	TEST(test_free_releases_everything);
	CASES(test_expiry, expiry_cases);
	CASES(test_lru, lru_cases);
	TEST(test_set_capacity_trims);
	TEST(test_single_flight);
	TEST(test_waiter_deadline);
	TEST(test_abandon_hands_over);
	TEST(test_many_keys);
	TEST(test_set_records);
	TEST(test_forget);
	CASES(test_refresh_due, due_cases);
	TEST(test_refresh_window);
	TEST(test_refresh_single_flight);
	TEST(test_refresh_unanswered_expires);
	TEST(test_refresh_peek_and_evicted);
	return _cmocka_run_group_tests("cache", tests, n, NULL, NULL);
}
