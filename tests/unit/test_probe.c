/*
 * test_probe - the SMTP greeting parser of the probes: a 220 greeting,
 * complete or multi-line, takes mail; anything else does not; a greeting
 * still arriving is partial. And probe_better with results already in the
 * store: a better MX known up settles the verdict without a probe, unless
 * the "up" is older than ProbeConfirm: then it is probed again.
 */

#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "mxset.h"
#include "probe.h"
#include "stats.h"
#include "store.h"

struct greeting_case {
	const char *name;
	const char *text;
	enum greeting want;
};

static const struct greeting_case cases[] = {
	{ "220 with text", "220 mx1.example.org ESMTP\r\n", GREETING_READY },
	{ "220 bare line", "220\r\n", GREETING_READY },
	{ "220 with a bare LF", "220 ready\n", GREETING_READY },
	{ "220 multi-line, complete", "220-mx1.example.org\r\n220-hello\r\n220 ready\r\n", GREETING_READY },
	{ "220 multi-line, last line missing", "220-mx1.example.org\r\n220-hello\r\n", GREETING_PARTIAL },
	{ "220 multi-line, last line cut", "220-mx1\r\n220 rea", GREETING_PARTIAL },
	{ "220 without its line end yet", "220 mx1.example.org", GREETING_PARTIAL },
	{ "the first two digits only", "22", GREETING_PARTIAL },
	{ "nothing yet", "", GREETING_PARTIAL },
	{ "421 busy", "421 mx1 too busy\r\n", GREETING_REFUSED },
	{ "421 decided before the line ends", "421", GREETING_REFUSED },
	{ "554 no service", "554 go away\r\n", GREETING_REFUSED },
	{ "221 is not a greeting", "221 bye\r\n", GREETING_REFUSED },
	{ "2200 is not 220", "2200 x\r\n", GREETING_REFUSED },
	{ "a 220 line then a 421 line", "220-hello\r\n421 busy\r\n", GREETING_REFUSED },
	{ "not SMTP at all", "SSH-2.0-OpenSSH_9.2\r\n", GREETING_REFUSED },
	{ "HTTP", "HTTP/1.1 400 Bad Request\r\n", GREETING_REFUSED },
	{ "a line too short for a code", "22\r\n", GREETING_REFUSED },
	{ "an empty line", "\r\n", GREETING_REFUSED },
	{ "a NUL byte in the code", "2\0000 x\r\n", GREETING_REFUSED },
	{ "8-bit bytes", "\xff\xfe\xfd\r\n", GREETING_REFUSED },
};

static void test_greeting(void **state)
{
	const struct greeting_case *c = *state;
	size_t len = strlen(c->text);

	/* the NUL case: the text goes on after the NUL */
	if (strcmp(c->name, "a NUL byte in the code") == 0)
		len = 7;
	assert_int_equal(probe_parse_greeting(c->text, len), c->want);
}

/* Fed one byte at a time, a greeting is partial until its verdict is due. */
static void test_bytewise(void **state)
{
	static const char text[] = "220-one\r\n220 two\r\n";
	size_t len = sizeof(text) - 1;

	(void)state;
	for (size_t i = 0; i < len; i++)
		assert_int_equal(probe_parse_greeting(text, i), GREETING_PARTIAL);
	assert_int_equal(probe_parse_greeting(text, len), GREETING_READY);
}

/* mxset_of - an MX set of one address per entry, lowest preference first */
static struct mxset *mxset_of(size_t n, const unsigned *prefs, const char *const *addrs)
{
	struct mxset *m = calloc(1, sizeof(*m) + n * sizeof(m->v[0]));

	assert_non_null(m);
	m->status = MX_FOUND;
	m->n = n;
	for (size_t i = 0; i < n; i++) {
		m->v[i].pref = prefs[i];
		m->v[i].host = (char *)addrs[i];
		m->v[i].status = HOST_OK;
		m->v[i].naddrs = 1;
		assert_true(netaddr_parse(addrs[i], &m->v[i].addrs[0]));
	}
	return m;
}

/* Three MX hosts, this host the last (pref 20): two better ones. */
struct three {
	struct config cfg;
	struct store *store;
	struct prober *p;
	struct mxset *m;
	struct mx_rank rank;
	enum probe_state states[MX_MAX_ENTRIES];
	uint64_t probes;		/* STAT_PROBES before the test */
};

static const char *const three_addrs[] = { "192.0.2.1", "192.0.2.2", "192.0.2.3" };

static int three_setup(void **state)
{
	static const unsigned prefs[] = { 5, 10, 20 };
	struct three *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	t->cfg = (struct config){ .probe_port = 25, .probe_timeout_ms = 1000, .probe_banner = true,
				  .probe_ttl_up = 300, .probe_ttl_down = 60 };
	t->store = store_new_memory(100, 100, NULL);
	t->p = prober_new(t->store, 4);
	t->m = mxset_of(3, prefs, three_addrs);
	t->rank = (struct mx_rank){ .has_self = true, .rank = 20, .lowest = 5, .self = { [2] = true } };
	t->probes = stats_get(STAT_PROBES);
	*state = t;
	return t->store == NULL || t->p == NULL;
}

static int three_teardown(void **state)
{
	struct three *t = *state;

	prober_free(t->p);
	store_free(t->store);
	free(t->m);
	free(t);
	return 0;
}

/* A later better MX already known up settles it: the earlier ones, with
 * no result yet, are not probed (a probe started and dropped at once
 * would leave no result, and be started again for every recipient). */
static void test_known_up_settles(void **state)
{
	struct three *t = *state;
	bool up;

	/* a result another recipient found: asked for (lead), then put */
	assert_int_equal(store_probe_get(t->store, "192.0.2.2 25", 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(t->store, "192.0.2.2 25", true, 300, 0);
	probe_better(t->p, &t->cfg, t->m, &t->rank, UINT64_MAX, t->states);
	assert_int_equal(t->states[1], PROBE_UP);
	assert_int_equal(stats_get(STAT_PROBES), t->probes);
	/* and nothing was left half-asked for the address not probed */
	assert_false(store_probe_known(t->store, "192.0.2.1 25", 0, &up));
}

/* Every better MX known down: a legitimate backup delivery, decided from
 * the local copy alone (no probe, nothing left half-asked). */
static void test_known_down_settles(void **state)
{
	struct three *t = *state;
	bool up;

	for (size_t i = 0; i < 2; i++) {
		char key[64];
		snprintf(key, sizeof(key), "%s 25", three_addrs[i]);
		assert_int_equal(store_probe_get(t->store, key, 0, 0, &up), STORE_PROBE_LEAD);
		store_probe_put(t->store, key, false, 60, 0);
	}
	probe_better(t->p, &t->cfg, t->m, &t->rank, UINT64_MAX, t->states);
	assert_int_equal(t->states[0], PROBE_DOWN);
	assert_int_equal(t->states[1], PROBE_DOWN);
	assert_int_equal(stats_get(STAT_PROBES), t->probes);
}

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* closed_port - a loopback port nothing listens on (refused at once) */
static unsigned closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

struct confirm_case {
	const char *name;
	unsigned confirm_s;		/* ProbeConfirm */
	unsigned age_s;			/* of the "up" in the store */
	enum probe_state want;
	bool probed;
};

static const struct confirm_case confirm_cases[] = {
	{ "confirm: an up 40 s old, ProbeConfirm 30: probed again, gone down", 30, 40,
	  PROBE_WENT_DOWN, true },
	{ "confirm: an up 10 s old, ProbeConfirm 30: taken", 30, 10, PROBE_UP, false },
	{ "confirm: ProbeConfirm 0: an up 250 s old is taken", 0, 250, PROBE_UP, false },
};

/* A bypass must not rest on an old "up": with the primary gone since the
 * last probe, the confirmation finds it down (and leaves its outage for
 * RecentDownWindow). */
static void test_confirm(void **state)
{
	const struct confirm_case *c = *state;
	static const unsigned prefs[] = { 10, 20 };
	static const char *const addrs[] = { "127.0.0.1", "192.0.2.3" };
	struct config cfg = { .probe_timeout_ms = 1000, .probe_banner = true, .probe_ttl_up = 300,
			      .probe_ttl_down = 60, .probe_confirm = c->confirm_s,
			      .recent_down_window = 1800 };
	struct store *store;
	struct prober *p;
	struct mxset *m = mxset_of(2, prefs, addrs);
	struct mx_rank rank = { .has_self = true, .rank = 20, .lowest = 10, .self = { [1] = true } };
	enum probe_state states[MX_MAX_ENTRIES] = { PROBE_NONE };
	uint64_t probes = stats_get(STAT_PROBES), confirms = stats_get(STAT_PROBE_CONFIRMS);
	struct store_evidence e;
	const char *keys[1];
	char key[64];
	bool up;

	fake_now = 1700000000000ULL;
	assert_non_null(store = store_new_memory(100, 100, fake_clock));
	assert_non_null(p = prober_new(store, 4));
	cfg.probe_port = closed_port();
	snprintf(key, sizeof(key), "127.0.0.1 %u", cfg.probe_port);
	keys[0] = key;
	assert_int_equal(store_probe_get(store, key, 0, 0, &up), STORE_PROBE_LEAD);
	store_probe_put(store, key, true, 300, 1800);
	fake_now += (uint64_t)c->age_s * 1000;
	probe_better(p, &cfg, m, &rank, UINT64_MAX, states);
	assert_int_equal(states[0], c->want);
	assert_int_equal(stats_get(STAT_PROBES) - probes, c->probed ? 1 : 0);
	assert_int_equal(stats_get(STAT_PROBE_CONFIRMS) - confirms, c->probed ? 1 : 0);
	store_evidence(store, "203.0.113.0/24", NULL, 0, keys, 1, 600, 1800, &e);
	assert_true(e.down_ms == (c->probed ? fake_now : 0));
	prober_free(p);
	store_free(store);
	free(m);
}

/* A probe key read back: the refresh worker probes what the key names. */
static void test_key_parse(void **state)
{
	struct netaddr a, b;
	char key[NETADDR_STRLEN + 8], text[NETADDR_STRLEN];
	unsigned port;

	(void)state;
	assert_true(netaddr_parse("2001:db8::25", &a));
	probe_key(key, sizeof(key), &a, 2525);
	assert_true(probe_key_parse(key, &b, &port));
	assert_true(netaddr_equal(&a, &b));
	assert_int_equal(port, 2525);
	assert_true(probe_key_parse("192.0.2.1 25", &b, &port));
	assert_string_equal(netaddr_format(&b, text, sizeof(text)), "192.0.2.1");
	assert_false(probe_key_parse("192.0.2.1", &b, &port));
	assert_false(probe_key_parse("192.0.2.1 ", &b, &port));
	assert_false(probe_key_parse("192.0.2.1 0", &b, &port));
	assert_false(probe_key_parse("192.0.2.1 65536", &b, &port));
	assert_false(probe_key_parse("192.0.2.1 25x", &b, &port));
	assert_false(probe_key_parse("mx.example 25", &b, &port));
}

int main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 3
				+ sizeof(confirm_cases) / sizeof(confirm_cases[0]) + 1];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_greeting, NULL, NULL,
						  (void *)&cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bytewise);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_key_parse);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_known_up_settles,
									three_setup, three_teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_known_down_settles,
									three_setup, three_teardown);
	for (size_t i = 0; i < sizeof(confirm_cases) / sizeof(confirm_cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ confirm_cases[i].name, test_confirm, NULL, NULL,
						  (void *)&confirm_cases[i] };
	return _cmocka_run_group_tests("probe", tests, n, NULL, NULL);
}
