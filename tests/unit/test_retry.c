/*
 * test_retry - retry memory: first tempfail, too soon, accepted retry,
 * expiry, client networks, bounded memory. The clock is the test's.
 */

#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "retry.h"
#include "store.h"

static uint64_t now;

static uint64_t test_clock(void)
{
	return now;
}

static struct netaddr addr(const char *text)
{
	struct netaddr a;

	assert_true(netaddr_parse(text, &a));
	return a;
}

/* check - retry_check with RetryPrefix 24/64, RetryAfter 900, RetryExpire 86400 */
static enum retry_state check(struct store *r, const char *client, const char *domain)
{
	struct netaddr a = addr(client);

	return retry_check(r, &a, 24, 64, domain, 900, 86400);
}

static int setup(void **state)
{
	now = 1000000;
	*state = store_new_memory(100, 100, test_clock);
	return *state == NULL;
}

static int teardown(void **state)
{
	store_free(*state);
	return 0;
}

/* The first tempfail is remembered; a retry before RetryAfter is too soon
 * and does not move the first time; at RetryAfter it is accepted. */
static void test_first_too_soon_accept(void **state)
{
	struct store *r = *state;

	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_FIRST);
	now += 899 * 1000;
	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_TOO_SOON);
	now += 1000;
	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_ACCEPT);
	now += 3600 * 1000;
	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_ACCEPT);
}

/* peek - retry_peek with the same settings */
static enum retry_state peek(struct store *r, const char *client, const char *domain,
			     uint64_t *first)
{
	struct netaddr a = addr(client);

	return retry_peek(r, &a, 24, 64, domain, 900, first);
}

/* Check mode's look at the memory says what retry_check would, and
 * remembers nothing. */
static void test_peek(void **state)
{
	struct store *r = *state;
	uint64_t first = 0, t0 = now;

	assert_int_equal(peek(r, "192.0.2.7", "example.org", &first), RETRY_FIRST);
	assert_int_equal(peek(r, "192.0.2.7", "example.org", &first), RETRY_FIRST);
	now += 1000;
	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_FIRST);	/* not remembered */
	assert_int_equal(peek(r, "192.0.2.8", "example.org", &first), RETRY_TOO_SOON);
	assert_int_equal(first, t0 + 1000);
	assert_int_equal(peek(r, "192.0.2.8", "example.net", &first), RETRY_FIRST);
	now += 900 * 1000;
	assert_int_equal(peek(r, "192.0.2.7", "example.org", &first), RETRY_ACCEPT);
	assert_int_equal(first, t0 + 1000);
	now += 86400 * 1000;		/* expired: forgotten */
	assert_int_equal(peek(r, "192.0.2.7", "example.org", &first), RETRY_FIRST);
}

/* RetryExpire after the first tempfail the pair is forgotten. */
static void test_expiry(void **state)
{
	struct store *r = *state;

	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_FIRST);
	now += 86400 * 1000 + 1;
	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_FIRST);
	now += 900 * 1000;
	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_ACCEPT);
}

/* A pool of MTAs retries from another address of its /24 (IPv4) or /64. */
static void test_client_networks(void **state)
{
	struct store *r = *state;

	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_FIRST);
	assert_int_equal(check(r, "2001:db8:1:2::25", "example.org"), RETRY_FIRST);
	now += 900 * 1000;
	assert_int_equal(check(r, "192.0.2.250", "example.org"), RETRY_ACCEPT);
	assert_int_equal(check(r, "192.0.3.7", "example.org"), RETRY_FIRST);
	assert_int_equal(check(r, "2001:db8:1:2:ffff::1", "example.org"), RETRY_ACCEPT);
	assert_int_equal(check(r, "2001:db8:1:3::25", "example.org"), RETRY_FIRST);
}

/* The memory is per domain. */
static void test_per_domain(void **state)
{
	struct store *r = *state;

	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_FIRST);
	now += 900 * 1000;
	assert_int_equal(check(r, "192.0.2.7", "example.net"), RETRY_FIRST);
	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_ACCEPT);
}

/* Past its capacity the oldest pairs go first; the memory stays bounded. */
static void test_bounded(void **state)
{
	struct store *r = *state;
	char domain[32];

	assert_int_equal(check(r, "192.0.2.7", "first.example"), RETRY_FIRST);
	for (int i = 0; i < 100; i++) {
		snprintf(domain, sizeof(domain), "d%d.example", i);
		assert_int_equal(check(r, "198.51.100.1", domain), RETRY_FIRST);
	}
	now += 900 * 1000;
	assert_int_equal(check(r, "192.0.2.7", "first.example"), RETRY_FIRST);
	assert_int_equal(check(r, "198.51.100.1", "d99.example"), RETRY_ACCEPT);
}

/* A first tempfail at clock zero is remembered too. */
static void test_clock_zero(void **state)
{
	struct store *r = *state;

	now = 0;
	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_FIRST);
	assert_int_equal(check(r, "192.0.2.7", "example.org"), RETRY_TOO_SOON);
}

struct network_case {
	const char *name, *client, *want;
	unsigned prefix4, prefix6;
};

static const struct network_case networks[] = {
	{ "IPv4 /24", "192.0.2.77", "192.0.2.0/24", 24, 64 },
	{ "IPv4 /32 keeps the host", "192.0.2.77", "192.0.2.77/32", 32, 64 },
	{ "IPv4 /0 is everyone", "192.0.2.77", "0.0.0.0/0", 0, 64 },
	{ "IPv4 /20 cuts inside a byte", "192.0.47.77", "192.0.32.0/20", 20, 64 },
	{ "IPv6 /64", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", 24, 64 },
	{ "IPv6 /48", "2001:db8:1:2:3:4:5:6", "2001:db8:1::/48", 24, 48 },
	{ "IPv6 /128 keeps the host", "2001:db8::25", "2001:db8::25/128", 24, 128 },
};

static void test_network(void **state)
{
	const struct network_case *c = *state;
	struct netaddr a = addr(c->client);
	char buf[64];

	assert_string_equal(retry_network(&a, c->prefix4, c->prefix6, buf, sizeof(buf)), c->want);
}

int main(void)
{
	struct CMUnitTest tests[16] = {
		cmocka_unit_test_setup_teardown(test_first_too_soon_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_networks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_zero, setup, teardown),
	};
	size_t n = 6;

	for (size_t i = 0; i < sizeof(networks) / sizeof(networks[0]); i++)
		tests[n++] = (struct CMUnitTest){ networks[i].name, test_network, NULL, NULL,
						  (void *)&networks[i] };
	return _cmocka_run_group_tests("retry", tests, n, NULL, NULL);
}
