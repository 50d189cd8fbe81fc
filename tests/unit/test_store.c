/*
 * test_store - the in-memory store through its public API, on the
 * test's clock: retry memory (first time, expiry, bounds), probe results
 * (lead, TTL of up and down, single-flight, bounds, ProbeConfirm's
 * floor), the evidence (witnesses, outage history) and store_key, which
 * turns client and recipient data into keys (escaping, bounds); and
 * the backend a configuration chooses (StateBackend).
 * The same store in front of Redis is tests/unit/test_redis.c.
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

#include <cmocka.h>

#include "config.h"
#include "store.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DAY_S 86400u

static uint64_t now;

static uint64_t test_clock(void)
{
	return now;
}

static int setup(void **state)
{
	now = 1700000000000ULL;
	*state = store_new_memory(100, 100, test_clock);
	return *state == NULL;
}

static int teardown(void **state)
{
	store_free(*state);
	return 0;
}

/* first - store_retry_first for a pair, RetryExpire one day unless said */
static uint64_t first(struct store *s, const char *net, const char *domain, bool *fresh)
{
	return store_retry_first(s, net, domain, DAY_S, fresh);
}

/* --------------------------------------------------------- retry memory */

/* The first call is fresh and is the first time; later calls are not fresh
 * and keep that time. */
static void test_retry_first_then_kept(void **state)
{
	struct store *s = *state;
	uint64_t t0 = now;
	bool fresh = false;

	assert_true(store_now(s) == now);
	assert_true(first(s, "192.0.2.0/24", "example.org", &fresh) == t0);
	assert_true(fresh);
	now += 5000;
	assert_true(first(s, "192.0.2.0/24", "example.org", &fresh) == t0);
	assert_false(fresh);
	now += 3600 * 1000;
	assert_true(first(s, "192.0.2.0/24", "example.org", &fresh) == t0);
	assert_false(fresh);
}

/* Pairs are independent: another network, another domain. */
static void test_retry_pairs_independent(void **state)
{
	struct store *s = *state;
	uint64_t t0 = now;
	bool fresh;

	first(s, "192.0.2.0/24", "example.org", &fresh);
	now += 1000;
	assert_true(first(s, "192.0.2.0/24", "example.net", &fresh) == now);
	assert_true(fresh);
	assert_true(first(s, "198.51.100.0/24", "example.org", &fresh) == now);
	assert_true(fresh);
	assert_true(first(s, "2001:db8:1:2::/64", "example.org", &fresh) == now);
	assert_true(fresh);
	assert_true(first(s, "192.0.2.0/24", "example.org", &fresh) == t0);
	assert_false(fresh);
}

/* A pair is remembered for exactly RetryExpire after its first time. */
static void test_retry_expiry(void **state)
{
	struct store *s = *state;
	uint64_t t0 = now;
	bool fresh;

	first(s, "192.0.2.0/24", "example.org", &fresh);
	now = t0 + DAY_S * 1000 - 1;
	assert_true(first(s, "192.0.2.0/24", "example.org", &fresh) == t0);
	assert_false(fresh);
	now = t0 + DAY_S * 1000;
	assert_true(first(s, "192.0.2.0/24", "example.org", &fresh) == now);
	assert_true(fresh);
	/* ... and then the new first time counts */
	now += 1000;
	assert_true(first(s, "192.0.2.0/24", "example.org", &fresh) == now - 1000);
	assert_false(fresh);
}

/* The expiry is the one given with the first call (a short RetryExpire). */
static void test_retry_short_expire(void **state)
{
	struct store *s = *state;
	uint64_t t0 = now;
	bool fresh;

	store_retry_first(s, "192.0.2.0/24", "example.org", 60, &fresh);
	now = t0 + 59999;
	assert_true(store_retry_first(s, "192.0.2.0/24", "example.org", 60, &fresh) == t0);
	assert_false(fresh);
	now = t0 + 60000;
	store_retry_first(s, "192.0.2.0/24", "example.org", 60, &fresh);
	assert_true(fresh);
}

/* RetryExpire 0 keeps nothing (the configuration never allows it; the
 * store must not keep a pair forever then). */
static void test_retry_expire_zero(void **state)
{
	struct store *s = *state;
	struct store_status st;
	bool fresh;

	store_retry_first(s, "192.0.2.0/24", "example.org", 0, &fresh);
	assert_true(fresh);
	store_retry_first(s, "192.0.2.0/24", "example.org", 0, &fresh);
	assert_true(fresh);
	store_status(s, &st);
	assert_int_equal(st.retry_entries, 0);
}

/* A first time at clock zero is a time like any other (stored + 1). */
static void test_retry_clock_zero(void **state)
{
	struct store *s = *state;
	bool fresh;

	now = 0;
	assert_true(first(s, "192.0.2.0/24", "example.org", &fresh) == 0);
	assert_true(fresh);
	now = 10;
	assert_true(first(s, "192.0.2.0/24", "example.org", &fresh) == 0);
	assert_false(fresh);
}

/* Past its capacity the least recently used pairs go; never more kept. */
static void test_retry_bounded(void **state)
{
	struct store *s = store_new_memory(3, 3, test_clock);
	struct store_status st;
	uint64_t t0 = now;
	char domain[32];
	bool fresh;

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < 10; i++) {
		snprintf(domain, sizeof(domain), "d%d.example", i);
		first(s, "192.0.2.0/24", domain, &fresh);
		assert_true(fresh);
		now += 1;
	}
	store_status(s, &st);
	assert_int_equal(st.retry_entries, 3);
	assert_true(st.retry_evictions == 7);
	assert_int_equal(st.probe_entries, 0);
	/* the last three are kept, the first is gone */
	assert_true(first(s, "192.0.2.0/24", "d9.example", &fresh) == t0 + 9);
	assert_false(fresh);
	first(s, "192.0.2.0/24", "d0.example", &fresh);
	assert_true(fresh);
	store_status(s, &st);
	assert_int_equal(st.retry_entries, 3);
	store_free(s);
}

/* A memory store says it is not shared and not up. */
static void test_status_memory(void **state)
{
	struct store *s = *state;
	struct store_status st;
	bool fresh;

	memset(&st, 0xff, sizeof(st));
	first(s, "192.0.2.0/24", "example.org", &fresh);
	store_status(s, &st);
	assert_false(st.shared);
	assert_false(st.up);
	assert_int_equal(st.retry_entries, 1);
	assert_true(st.retry_misses == 1);
}

/* StateBackend memory, from a configuration: the memory store, nothing
 * shared, nothing up. A backend this build lacks (redis without hiredis)
 * is refused, never quietly replaced by memory. */
static void test_backend_by_config(void **state)
{
	struct config_diag d = { 0 };
	struct config *cfg = config_load("/nonexistent/mxbypass-milter.conf", false, &d);
	struct store_status st;
	struct store *s;
	bool fresh;

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(cfg->state_backend, BACKEND_MEMORY);
	assert_non_null(s = store_new(cfg, NULL, false));
	store_retry_first(s, "192.0.2.0/24", "example.org", DAY_S, &fresh);
	assert_true(fresh);
	store_retry_first(s, "192.0.2.0/24", "example.org", DAY_S, &fresh);
	assert_false(fresh);
	store_status(s, &st);
	assert_false(st.shared);
	assert_false(st.up);
	assert_int_equal(st.retry_entries, 1);
	store_free(s);
#ifndef HAVE_HIREDIS
	FILE *out = tmpfile();

	assert_non_null(out);
	cfg->state_backend = BACKEND_REDIS;
	assert_null(store_new(cfg, NULL, false));
	assert_int_equal(store_pool_report(cfg, NULL, out), 1);
	fclose(out);
#endif
	config_free(cfg);
	config_diag_free(&d);
}

/* ------------------------------------------------------ probe results */

#define PROBE_KEY "192.0.2.1 25"

/* Unknown: the caller leads; its result is then a HIT until its TTL. */
static void test_probe_lead_then_hit(void **state)
{
	struct store *s = *state;
	uint64_t t0 = now;
	bool up = false;

	assert_int_equal(store_probe_get(s, PROBE_KEY, now + 1000, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, PROBE_KEY, true, 300, 0);
	assert_int_equal(store_probe_get(s, PROBE_KEY, now + 1000, 0, &up), STORE_PROBE_HIT);
	assert_true(up);
	now = t0 + 300 * 1000 - 1;
	up = false;
	assert_int_equal(store_probe_get(s, PROBE_KEY, now + 1000, 0, &up), STORE_PROBE_HIT);
	assert_true(up);
	now = t0 + 300 * 1000;
	assert_int_equal(store_probe_get(s, PROBE_KEY, now + 1000, 0, &up), STORE_PROBE_LEAD);
	store_probe_abandon(s, PROBE_KEY);
}

/* A renewal (refresh ahead) writes over the result there, which readers
 * keep finding: up to down, with its own TTL and as outage history; and
 * it adds a result that had expired. */
static void test_probe_renew(void **state)
{
	struct store *s = *state;
	uint64_t t0 = now;
	bool up = false;

	assert_int_equal(store_probe_get(s, PROBE_KEY, now + 1000, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, PROBE_KEY, true, 300, 0);
	now = t0 + 250 * 1000;
	store_probe_renew(s, PROBE_KEY, false, 60, 600);
	assert_int_equal(store_probe_get(s, PROBE_KEY, now + 1000, 0, &up), STORE_PROBE_HIT);
	assert_false(up);
	now = t0 + 250 * 1000 + 59999;
	assert_int_equal(store_probe_get(s, PROBE_KEY, now + 1000, 0, &up), STORE_PROBE_HIT);
	now = t0 + 250 * 1000 + 60000;
	assert_false(store_probe_known(s, PROBE_KEY, 0, &up));
	store_probe_renew(s, PROBE_KEY, true, 300, 600);
	assert_true(store_probe_known(s, PROBE_KEY, 0, &up));
	assert_true(up);
}

/* Up and down results keep their own TTLs (ProbeTTLUp / ProbeTTLDown). */
static void test_probe_ttl_up_down(void **state)
{
	struct store *s = *state;
	uint64_t t0 = now;
	bool up;

	assert_int_equal(store_probe_get(s, "192.0.2.1 25", 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, "192.0.2.1 25", true, 300, 0);
	assert_int_equal(store_probe_get(s, "192.0.2.2 25", 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, "192.0.2.2 25", false, 60, 0);

	up = true;
	assert_int_equal(store_probe_get(s, "192.0.2.2 25", 0, 0, &up), STORE_PROBE_HIT);
	assert_false(up);
	now = t0 + 60 * 1000;
	assert_int_equal(store_probe_get(s, "192.0.2.2 25", 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_abandon(s, "192.0.2.2 25");
	assert_int_equal(store_probe_get(s, "192.0.2.1 25", 0, 0, &up), STORE_PROBE_HIT);
	assert_true(up);
}

/* Another port of the same address is another result. */
static void test_probe_keys_distinct(void **state)
{
	struct store *s = *state;
	bool up;

	assert_int_equal(store_probe_get(s, "192.0.2.1 25", 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, "192.0.2.1 25", false, 60, 0);
	assert_int_equal(store_probe_get(s, "192.0.2.1 587", 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, "192.0.2.1 587", true, 60, 0);
	assert_int_equal(store_probe_get(s, "192.0.2.1 25", 0, 0, &up), STORE_PROBE_HIT);
	assert_false(up);
	assert_int_equal(store_probe_get(s, "192.0.2.1 587", 0, 0, &up), STORE_PROBE_HIT);
	assert_true(up);
}

/* While one caller leads, another one waits until its deadline: one probe
 * per address (single-flight); an abandoned lead passes on. */
static void test_probe_single_flight(void **state)
{
	struct store *s = *state;
	bool up;

	assert_int_equal(store_probe_get(s, PROBE_KEY, now + 1000, 0, &up), STORE_PROBE_LEAD);
	assert_int_equal(store_probe_get(s, PROBE_KEY, now, 0, &up), STORE_PROBE_TIMEOUT);
	store_probe_abandon(s, PROBE_KEY);
	assert_int_equal(store_probe_get(s, PROBE_KEY, now, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, PROBE_KEY, false, 60, 0);
	assert_int_equal(store_probe_get(s, PROBE_KEY, now, 0, &up), STORE_PROBE_HIT);
	assert_false(up);
}

/* Probe results are bounded too, and a reload may shrink them. */
static void test_probe_bounded_and_configure(void **state)
{
	struct store *s = store_new_memory(3, 4, test_clock);
	struct config_diag d = { 0 };
	struct config *cfg = config_load("/nonexistent/mxbypass-milter.conf", false, &d);
	struct store_status st;
	char key[32];
	bool up;

	(void)state;
	assert_non_null(s);
	assert_non_null(cfg);
	for (int i = 1; i <= 6; i++) {
		snprintf(key, sizeof(key), "192.0.2.%d 25", i);
		assert_int_equal(store_probe_get(s, key, 0, 0, &up), STORE_PROBE_LEAD);
		store_probe_put(s, key, true, 300, 0);
	}
	store_status(s, &st);
	assert_int_equal(st.probe_entries, 4);
	assert_int_equal(store_probe_get(s, "192.0.2.1 25", 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_abandon(s, "192.0.2.1 25");
	assert_int_equal(store_probe_get(s, "192.0.2.6 25", 0, 0, &up), STORE_PROBE_HIT);

	cfg->cache_size = 2;
	store_configure(s, cfg);
	store_status(s, &st);
	assert_int_equal(st.probe_entries, 2);
	assert_int_equal(store_probe_get(s, "192.0.2.6 25", 0, 0, &up), STORE_PROBE_HIT);
	config_free(cfg);
	config_diag_free(&d);
	store_free(s);
}

/* -------------------------------------------------------------- keys */

struct key_case {
	const char *name, *prefix, *kind, *a, *b, *want;
};

static const struct key_case key_cases[] = {
	{ "key: prefix, kind, network, domain", "mxbypass:", "retry", "192.0.2.0/24",
	  "example.org", "mxbypass:retry:192.0.2.0/24:example.org" },
	{ "key: no second part", "", "probe", "192.0.2.1", NULL, "probe:192.0.2.1" },
	{ "key: a space is %20", "", "probe", "192.0.2.1 25", NULL, "probe:192.0.2.1%2025" },
	{ "key: ':' of an IPv6 network is %3a", "", "retry", "2001:db8::/64", "example.org",
	  "retry:2001%3adb8%3a%3a/64:example.org" },
	{ "key: IPv6 probe key", "", "probe", "2001:db8::1 25", NULL,
	  "probe:2001%3adb8%3a%3a1%2025" },
	{ "key: an address literal keeps . [ ] and escapes ':'", "", "retry", "192.0.2.0/24",
	  "[IPv6:2001:db8::1]", "retry:192.0.2.0/24:[IPv6%3a2001%3adb8%3a%3a1]" },
	{ "key: '%' itself is escaped", "", "retry", "10%", "a%b", "retry:10%25:a%25b" },
	{ "key: '*' '?' (Redis patterns) are escaped", "", "retry", "*", "a?b[",
	  "retry:%2a:a%3fb[" },
	{ "key: CR LF and controls are escaped", "", "retry", "a\r\nb", "\x01\x7f",
	  "retry:a%0d%0ab:%01%7f" },
	{ "key: 8-bit bytes are escaped in lower-case hex", "", "retry", "\xc3\xa9", "\xff",
	  "retry:%c3%a9:%ff" },
	{ "key: letters, digits, - and _ are kept, case too", "", "retry", "A-Z_a-z.0-9",
	  "Example.ORG", "retry:A-Z_a-z.0-9:Example.ORG" },
	{ "key: the prefix is kept as given", "pool 1:", "retry", "n", "d", "pool 1:retry:n:d" },
	{ "key: empty parts", "", "retry", "", "", "retry::" },
	{ "key: quote and backslash", "", "retry", "\"", "\\", "retry:%22:%5c" },
};

static void test_key(void **state)
{
	const struct key_case *c = *state;
	char buf[STORE_KEY_MAX];
	size_t n = store_key(buf, sizeof(buf), c->prefix, c->kind, c->a, c->b);

	assert_string_equal(buf, c->want);
	assert_int_equal(n, strlen(c->want));
}

/* Escaped, a part holds no ':' of its own: the separators are the only
 * ones after the prefix, whatever the network or domain. */
static void test_key_separators(void **state)
{
	static const char *const nets[] = { "::/0", "2001:db8::/64", "::ffff:192.0.2.0/120",
					    "a:b:c:d" };
	char buf[STORE_KEY_MAX];

	(void)state;
	for (size_t i = 0; i < N(nets); i++) {
		size_t colons = 0;
		store_key(buf, sizeof(buf), "", "retry", nets[i], "x:y.example");
		for (const char *p = buf; *p != '\0'; p++)
			colons += *p == ':';
		assert_int_equal(colons, 2);
	}
}

/* len 0 writes nothing; len 1 is the empty key. */
static void test_key_tiny_buffers(void **state)
{
	char buf[4] = "zzz";

	(void)state;
	assert_int_equal(store_key(buf, 0, "mxbypass:", "retry", "n", "d"), 0);
	assert_int_equal(buf[0], 'z');
	assert_int_equal(store_key(buf, 1, "mxbypass:", "retry", "n", "d"), 0);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'z');
	assert_int_equal(store_key(buf, 4, "mxbypass:", "retry", "n", "d"), 3);
	assert_string_equal(buf, "mxb");
}

/* well_formed - every '%' is followed by two hex digits */
static bool well_formed(const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s != '\0'; s++)
		if (*s == '%' && (s[1] == '\0' || strchr(hex, s[1]) == NULL || s[2] == '\0'
				  || strchr(hex, s[2]) == NULL))
			return false;
	return true;
}

/* A long domain never runs past the buffer nor past len - 1; an escape is
 * written whole or not at all. Every len from 0 to past the full key, for
 * safe and unsafe bytes; the guard bytes around the buffer stay. */
static void test_key_bounds(void **state)
{
	enum { GUARD = 16, LONG = 2 * STORE_KEY_MAX };
	static char domains[3][LONG + 1];
	static char area[GUARD + STORE_KEY_MAX + 64 + GUARD];

	(void)state;
	memset(domains[0], 'a', LONG);		/* all safe */
	memset(domains[1], ' ', LONG);		/* all escaped */
	for (size_t i = 0; i < LONG; i++)	/* mixed */
		domains[2][i] = "a:b c%"[i % 6];
	for (size_t d = 0; d < N(domains); d++) {
		for (size_t len = 0; len <= STORE_KEY_MAX + 64; len++) {
			char *buf = area + GUARD;
			size_t n;

			memset(area, 0x5a, sizeof(area));
			n = store_key(buf, len, "mxbypass:", "retry", "2001:db8::/64", domains[d]);
			for (size_t i = 0; i < GUARD; i++)
				assert_int_equal(area[i], 0x5a);
			for (size_t i = len; i < sizeof(area) - GUARD; i++)
				assert_int_equal(buf[i], 0x5a);
			if (len == 0) {
				assert_int_equal(n, 0);
				continue;
			}
			assert_true(n <= len - 1);
			assert_int_equal(buf[n], '\0');
			assert_int_equal(strlen(buf), n);
			assert_true(well_formed(buf));
			assert_int_equal(strncmp(buf, "mxbypass:", n < 9 ? n : 9), 0);
		}
	}
}

/* At STORE_KEY_MAX a key holds the whole prefix, kind and network even
 * with the longest domain, escaped. */
static void test_key_max_keeps_head(void **state)
{
	char domain[256], buf[STORE_KEY_MAX];
	const char *head = "mxbypass:retry:2001%3adb8%3a1%3a2%3a%3a/64:";
	size_t n;

	(void)state;
	memset(domain, '%', 255);
	domain[255] = '\0';
	n = store_key(buf, sizeof(buf), "mxbypass:", "retry", "2001:db8:1:2::/64", domain);
	assert_int_equal(strncmp(buf, head, strlen(head)), 0);
	assert_true(n <= STORE_KEY_MAX - 1);
	assert_int_equal((n - strlen(head)) % 3, 0);	/* whole escapes only */
}

/*
 * A cut key is a prefix of the whole key: when an escape does not fit,
 * the key ends there (it does not go on with ':' and the next part, which
 * could make the key of another pair: ("a b", "dom") cut at 10 must not
 * read "retry:a:d", the whole key of ("a", "d")).
 */
static void test_key_cut_is_prefix(void **state)
{
	char full[STORE_KEY_MAX], cut[STORE_KEY_MAX];

	(void)state;
	store_key(full, sizeof(full), "", "retry", "a b", "dom");
	for (size_t len = 1; len <= strlen(full) + 1; len++) {
		store_key(cut, len, "", "retry", "a b", "dom");
		assert_int_equal(strncmp(cut, full, strlen(cut)), 0);
	}
}


/* ----------------------------------------------- evidence before accusing */

/* An "up" older than the floor (ProbeConfirm) is not an answer: the next
 * caller leads a new probe; a younger one is. */
static void test_probe_confirm_stale_up(void **state)
{
	struct store *s = *state;
	uint64_t t0 = now;
	bool up;

	assert_int_equal(store_probe_get(s, PROBE_KEY, 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, PROBE_KEY, true, 300, 0);
	now = t0 + 10 * 1000;
	assert_true(store_probe_known(s, PROBE_KEY, t0, &up));
	assert_int_equal(store_probe_get(s, PROBE_KEY, 0, t0, &up), STORE_PROBE_HIT);
	assert_true(up);
	now = t0 + 40 * 1000;
	assert_false(store_probe_known(s, PROBE_KEY, now - 30 * 1000, &up));
	assert_true(store_probe_known(s, PROBE_KEY, 0, &up));
	assert_int_equal(store_probe_get(s, PROBE_KEY, 0, now - 30 * 1000, &up), STORE_PROBE_LEAD);
	/* the others join the new probe instead of taking the old answer */
	assert_int_equal(store_probe_get(s, PROBE_KEY, 0, 0, &up), STORE_PROBE_TIMEOUT);
	store_probe_put(s, PROBE_KEY, false, 60, 0);
	assert_int_equal(store_probe_get(s, PROBE_KEY, 0, now, &up), STORE_PROBE_HIT);
	assert_false(up);
}

/* A "down" of any age stands: no one is accused on it. */
static void test_probe_confirm_keeps_down(void **state)
{
	struct store *s = *state;
	bool up = true;

	assert_int_equal(store_probe_get(s, PROBE_KEY, 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, PROBE_KEY, false, 60, 0);
	now += 50 * 1000;
	assert_true(store_probe_known(s, PROBE_KEY, now, &up));
	assert_false(up);
	assert_int_equal(store_probe_get(s, PROBE_KEY, 0, now, &up), STORE_PROBE_HIT);
}

/* evidence - store_evidence for one network, witness window 600 s and
 * outage window 1800 s */
static struct store_evidence evidence(struct store *s, const char *net,
				      const char *const *addrs, size_t na,
				      const char *const *keys, size_t nk)
{
	struct store_evidence e;

	store_evidence(s, net, addrs, na, keys, nk, 600, 1800, &e);
	return e;
}

/* A down result leaves its time for RecentDownWindow, long after the
 * result itself expired; an up result leaves none. */
static void test_down_history(void **state)
{
	struct store *s = *state;
	const char *keys[] = { "192.0.2.2 25", PROBE_KEY };
	uint64_t t0 = now;
	bool up;

	assert_int_equal(store_probe_get(s, PROBE_KEY, 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, PROBE_KEY, false, 60, 1800);
	assert_int_equal(store_probe_get(s, "192.0.2.2 25", 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, "192.0.2.2 25", true, 300, 1800);
	now = t0 + 1000 * 1000;		/* the result is long gone */
	assert_int_equal(store_probe_get(s, PROBE_KEY, 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, PROBE_KEY, true, 300, 1800);
	struct store_evidence e = evidence(s, "203.0.113.0/24", NULL, 0, keys, 2);
	assert_int_equal(e.down_ms, t0);
	assert_int_equal(e.down_key, 1);
	assert_int_equal(e.witness_ms, 0);
	assert_int_equal(evidence(s, "203.0.113.0/24", NULL, 0, keys, 1).down_ms, 0);
	now = t0 + 1801 * 1000;
	assert_int_equal(evidence(s, "203.0.113.0/24", NULL, 0, keys, 2).down_ms, 0);
}

/* A down result with no history window leaves no time. */
static void test_down_history_off(void **state)
{
	struct store *s = *state;
	const char *keys[] = { PROBE_KEY };
	bool up;

	assert_int_equal(store_probe_get(s, PROBE_KEY, 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(s, PROBE_KEY, false, 60, 0);
	assert_int_equal(evidence(s, "203.0.113.0/24", NULL, 0, keys, 1).down_ms, 0);
}

/* A witness names a network and an address, and lasts the window. */
static void test_witness(void **state)
{
	struct store *s = *state;
	const char *mine[] = { "192.0.2.10", "198.51.100.10" };
	const char *better[] = { "192.0.2.99", "198.51.100.10" };
	const char *other[] = { "192.0.2.20" };
	uint64_t t0 = now;
	struct store_evidence e;

	store_witness_put(s, "203.0.113.0/24", mine, 2, 600);
	e = evidence(s, "203.0.113.0/24", better, 2, NULL, 0);
	assert_int_equal(e.witness_ms, t0);
	assert_int_equal(e.witness_addr, 1);
	assert_int_equal(e.down_ms, 0);
	assert_int_equal(evidence(s, "203.0.114.0/24", better, 2, NULL, 0).witness_ms, 0);
	assert_int_equal(evidence(s, "203.0.113.0/24", other, 1, NULL, 0).witness_ms, 0);
	/* the witness window of the question counts, and 0 asks nothing */
	store_evidence(s, "203.0.113.0/24", better, 2, NULL, 0, 0, 1800, &e);
	assert_int_equal(e.witness_ms, 0);
	now = t0 + 599 * 1000;
	assert_int_equal(evidence(s, "203.0.113.0/24", better, 2, NULL, 0).witness_ms, t0);
	store_evidence(s, "203.0.113.0/24", better, 2, NULL, 0, 60, 1800, &e);
	assert_int_equal(e.witness_ms, 0);
	now = t0 + 601 * 1000;
	assert_int_equal(evidence(s, "203.0.113.0/24", better, 2, NULL, 0).witness_ms, 0);
	/* a later connection renews it, but not one a moment after that:
	 * the record stands at most 5 s older than the latest connection */
	store_witness_put(s, "203.0.113.0/24", mine, 1, 600);
	assert_int_equal(evidence(s, "203.0.113.0/24", mine, 1, NULL, 0).witness_ms, now);
	t0 = now;
	now += 4999;
	store_witness_put(s, "203.0.113.0/24", mine, 1, 600);
	assert_int_equal(evidence(s, "203.0.113.0/24", mine, 1, NULL, 0).witness_ms, t0);
	now += 1;
	store_witness_put(s, "203.0.113.0/24", mine, 1, 600);
	assert_int_equal(evidence(s, "203.0.113.0/24", mine, 1, NULL, 0).witness_ms, now);
}

/* Witnesses live in fixed memory: a flood of networks pushes out the
 * oldest, never grows the store. */
static void test_witness_bounded(void **state)
{
	struct store *s = *state;
	const char *addr[] = { "192.0.2.10" };
	char net[32];

	for (int i = 0; i < 1000; i++) {
		snprintf(net, sizeof(net), "10.%d.%d.0/24", i / 256, i % 256);
		store_witness_put(s, net, addr, 1, 600);
	}
	assert_int_equal(evidence(s, "10.0.0.0/24", addr, 1, NULL, 0).witness_ms, 0);
	assert_int_equal(evidence(s, net, addr, 1, NULL, 0).witness_ms, now);
}

int main(void)
{
	struct CMUnitTest tests[64] = {
		cmocka_unit_test_setup_teardown(test_retry_first_then_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_pairs_independent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_short_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_expire_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_clock_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_memory, setup, teardown),
		cmocka_unit_test(test_backend_by_config),
		cmocka_unit_test_setup_teardown(test_probe_lead_then_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_renew, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_ttl_up_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_keys_distinct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_single_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_bounded_and_configure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_confirm_stale_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_confirm_keeps_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_down_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_down_history_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_witness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_witness_bounded, setup, teardown),
		cmocka_unit_test(test_key_separators),
		cmocka_unit_test(test_key_tiny_buffers),
		cmocka_unit_test(test_key_bounds),
		cmocka_unit_test(test_key_max_keeps_head),
		cmocka_unit_test(test_key_cut_is_prefix),
	};
	size_t n = 25;

	for (size_t i = 0; i < N(key_cases); i++)
		tests[n++] = (struct CMUnitTest){ key_cases[i].name, test_key, NULL, NULL,
						  (void *)&key_cases[i] };
	return _cmocka_run_group_tests("store", tests, n, NULL, NULL);
}
