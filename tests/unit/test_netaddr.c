/*
 * test_netaddr - address parsing, formatting and CIDR matching.
 */

#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "netaddr.h"

struct parse_case {
	const char *name;
	const char *text;
	bool ok;
	int family;
	const char *formatted;
};

static const struct parse_case parse_cases[] = {
	{ "IPv4", "192.0.2.7", true, AF_INET, "192.0.2.7" },
	{ "IPv6", "2001:DB8::1", true, AF_INET6, "2001:db8::1" },
	{ "IPv6 in brackets", "[2001:db8::1]", true, AF_INET6, "2001:db8::1" },
	{ "Sendmail IPv6: prefix", "IPv6:2001:db8::25", true, AF_INET6, "2001:db8::25" },
	{ "IPv4-mapped IPv6 is IPv4", "::ffff:192.0.2.9", true, AF_INET, "192.0.2.9" },
	{ "IPv4 wildcard", "0.0.0.0", true, AF_INET, "0.0.0.0" },
	{ "IPv6 wildcard", "::", true, AF_INET6, "::" },
	{ "empty", "", false, 0, NULL },
	{ "host name", "mx.example.org", false, 0, NULL },
	{ "IPv4 out of range", "256.0.0.1", false, 0, NULL },
	{ "IPv4 short", "10.1", false, 0, NULL },
	{ "trailing garbage", "192.0.2.1x", false, 0, NULL },
	{ "unbalanced bracket", "[::1", false, 0, NULL },
	{ "too long", "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa", false, 0, NULL },
};

static void test_parse(void **state)
{
	const struct parse_case *pc = *state;
	struct netaddr a;
	char buf[NETADDR_STRLEN];

	assert_int_equal(netaddr_parse(pc->text, &a), pc->ok);
	if (!pc->ok)
		return;
	assert_int_equal(a.family, pc->family);
	assert_string_equal(netaddr_format(&a, buf, sizeof(buf)), pc->formatted);
}

/* IPv4 is formatted by hand: every octet width, as inet_ntop writes it;
 * a buffer too small for it is cut, never overrun; the helpers that
 * append a number cut the same way. */
static void test_format_by_hand(void **state)
{
	static const char *const texts[] = {
		"0.0.0.0", "9.10.99.100", "255.255.255.255", "1.22.201.7", "100.0.10.1",
	};
	struct netaddr a;
	struct cidr c;
	char buf[NETADDR_STRLEN], ref[INET_ADDRSTRLEN], small[8];

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_true(netaddr_parse(texts[i], &a));
		assert_non_null(inet_ntop(AF_INET, a.bytes, ref, sizeof(ref)));
		assert_string_equal(netaddr_format(&a, buf, sizeof(buf)), ref);
		assert_string_equal(netaddr_format(&a, buf, sizeof(buf)), texts[i]);
	}
	assert_true(netaddr_parse("255.255.255.255", &a));
	memset(small, 'x', sizeof(small));
	assert_string_equal(netaddr_format_cut(&a, small, sizeof(small)), "255.255");
	assert_string_equal(netaddr_append_uint(small, sizeof(small), '/', 24), "255.255");
	snprintf(buf, sizeof(buf), "192.0.2.1");
	assert_string_equal(netaddr_append_uint(buf, sizeof(buf), ' ', 25), "192.0.2.1 25");
	assert_string_equal(netaddr_append_uint(buf, sizeof(buf), ':', 0), "192.0.2.1 25:0");
	assert_true(cidr_parse("198.51.100.0/24", &c, buf, sizeof(buf)));
	assert_string_equal(cidr_format(&c, buf, sizeof(buf)), "198.51.100.0/24");
	assert_true(cidr_parse("2001:db8::/64", &c, buf, sizeof(buf)));
	assert_string_equal(cidr_format(&c, buf, sizeof(buf)), "2001:db8::/64");
	assert_string_equal(cidr_format(&c, small, sizeof(small)), "2001:db");
}

static void test_null_and_none(void **state)
{
	struct netaddr none = { 0 };
	char buf[NETADDR_STRLEN];

	(void)state;
	assert_false(netaddr_parse(NULL, &none));
	assert_string_equal(netaddr_format(&none, buf, sizeof(buf)), "-");
	assert_false(netaddr_equal(&none, &none));
	assert_false(netaddr_is_wildcard(&none));
}

static void test_wildcard(void **state)
{
	struct netaddr a;

	(void)state;
	assert_true(netaddr_parse("0.0.0.0", &a) && netaddr_is_wildcard(&a));
	assert_true(netaddr_parse("::", &a) && netaddr_is_wildcard(&a));
	assert_true(netaddr_parse("127.0.0.1", &a) && !netaddr_is_wildcard(&a));
	assert_true(netaddr_parse("::1", &a) && !netaddr_is_wildcard(&a));
}

static void test_from_sockaddr(void **state)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	struct sockaddr un = { .sa_family = AF_UNIX };
	struct netaddr a, b;

	(void)state;
	inet_pton(AF_INET, "198.51.100.4", &in.sin_addr);
	assert_true(netaddr_from_sockaddr((struct sockaddr *)&in, &a));
	assert_true(netaddr_parse("198.51.100.4", &b) && netaddr_equal(&a, &b));
	inet_pton(AF_INET6, "::ffff:198.51.100.4", &in6.sin6_addr);
	assert_true(netaddr_from_sockaddr((struct sockaddr *)&in6, &a));
	assert_true(netaddr_equal(&a, &b));
	assert_false(netaddr_from_sockaddr(&un, &a));
	assert_false(netaddr_from_sockaddr(NULL, &a));
}

struct match_case {
	const char *name;
	const char *net;
	const char *addr;
	bool match;
};

static const struct match_case match_cases[] = {
	{ "inside /24", "192.0.2.0/24", "192.0.2.255", true },
	{ "outside /24", "192.0.2.0/24", "192.0.3.0", false },
	{ "odd prefix /23 inside", "192.0.2.0/23", "192.0.3.4", true },
	{ "odd prefix /23 outside", "192.0.2.0/23", "192.0.4.4", false },
	{ "/0 matches every IPv4", "0.0.0.0/0", "203.0.113.9", true },
	{ "/0 IPv4 does not match IPv6", "0.0.0.0/0", "2001:db8::1", false },
	{ "host /32", "192.0.2.7", "192.0.2.7", true },
	{ "host /32 other", "192.0.2.7", "192.0.2.8", false },
	{ "IPv6 /64", "2001:db8:1:2::/64", "2001:db8:1:2:ffff::1", true },
	{ "IPv6 /64 other", "2001:db8:1:2::/64", "2001:db8:1:3::1", false },
	{ "IPv6 /127", "2001:db8::/127", "2001:db8::1", true },
	{ "IPv6 host", "::1/128", "::1", true },
	{ "mapped client in IPv4 net", "10.0.0.0/8", "::ffff:10.9.8.7", true },
	{ "mapped network", "::ffff:10.0.0.0/104", "10.200.0.1", true },
};

static void test_match(void **state)
{
	const struct match_case *mc = *state;
	struct cidr c;
	struct netaddr a;
	char err[256];

	assert_true(cidr_parse(mc->net, &c, err, sizeof(err)));
	assert_true(netaddr_parse(mc->addr, &a));
	assert_int_equal(cidr_match(&c, &a), mc->match);
}

static void test_cidr_errors(void **state)
{
	static const char *const bad[] = {
		"192.0.2.1/24", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/-1",
		"10.0.0.0/8x", "/8", "example.org/24", "2001:db8::1/64", "::ffff:10.0.0.0/95",
	};
	struct cidr c;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_false(cidr_parse(bad[i], &c, err, sizeof(err)));
		assert_true(strlen(err) > 0);
	}
	assert_false(cidr_parse("192.0.2.1/24", &c, err, sizeof(err)));
	assert_non_null(strstr(err, "network 192.0.2.0/24?"));
}

static void test_list(void **state)
{
	struct cidr_list l = { 0 };
	struct cidr c;
	struct netaddr a;
	char err[128], buf[64];

	(void)state;
	assert_true(netaddr_parse("192.0.2.1", &a));
	assert_false(cidr_list_match(&l, &a));
	assert_true(cidr_parse("198.51.100.0/24", &c, err, sizeof(err)) && cidr_list_add(&l, &c));
	assert_true(cidr_parse("192.0.2.0/25", &c, err, sizeof(err)) && cidr_list_add(&l, &c));
	assert_string_equal(cidr_format(&l.v[1], buf, sizeof(buf)), "192.0.2.0/25");
	assert_true(cidr_list_match(&l, &a));
	assert_true(netaddr_parse("192.0.2.200", &a));
	assert_false(cidr_list_match(&l, &a));
	cidr_list_free(&l);
	assert_int_equal(l.n, 0);
}

#define CASES(fn, table) \
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) \
		tests[n++] = (struct CMUnitTest){ table[i].name, fn, NULL, NULL, (void *)&table[i] }

int main(void)
{
	struct CMUnitTest tests[64];
	size_t n = 0;

	CASES(test_parse, parse_cases);
	CASES(test_match, match_cases);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_null_and_none);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_wildcard);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_from_sockaddr);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_cidr_errors);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_list);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_format_by_hand);
	return _cmocka_run_group_tests("netaddr", tests, n, NULL, NULL);
}
