/*
 * test_domainmap - domain normalisation and pattern lookup.
 */

#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domainmap.h"

struct norm_case {
	const char *name;
	const char *in;
	const char *out;	/* NULL: refused */
};

static const char long_label[] =
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org";	/* 64 */
static const char max_label[] =
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org";	/* 63 */

static const struct norm_case norm_cases[] = {
	{ "lower case kept", "example.org", "example.org" },
	{ "upper case lowered", "MX1.Example.ORG", "mx1.example.org" },
	{ "trailing dot removed", "example.org.", "example.org" },
	{ "digits, hyphen, underscore", "a-1_b.example.org", "a-1_b.example.org" },
	{ "single label", "localhost", "localhost" },
	{ "63-octet label", max_label, max_label },
	{ "64-octet label refused", long_label, NULL },
	{ "empty refused", "", NULL },
	{ "lone dot refused", ".", NULL },
	{ "leading dot refused", ".example.org", NULL },
	{ "empty label refused", "example..org", NULL },
	{ "space refused", "exa mple.org", NULL },
	{ "8-bit refused", "b\xc3\xbc" "cher.de", NULL },
	{ "CR refused", "example.org\r", NULL },
	{ "bracket literal refused", "[192.0.2.1]", NULL },
	{ "at sign refused", "user@example.org", NULL },
	{ "two trailing dots refused", "example.org..", NULL },
	{ "trailing dot after an empty label refused", "example..", NULL },
};

struct addr_case {
	const char *name;
	const char *addr;
	enum domain_kind kind;
	const char *domain;		/* for DOMAIN_NAME */
};

static const struct addr_case addr_cases[] = {
	{ "plain address", "<user@Example.ORG>", DOMAIN_NAME, "example.org" },
	{ "no angle brackets", "user@example.org", DOMAIN_NAME, "example.org" },
	{ "spaces around", "  <user@example.org>\t", DOMAIN_NAME, "example.org" },
	{ "trailing dot", "<user@example.org.>", DOMAIN_NAME, "example.org" },
	{ "two trailing dots: malformed", "<user@example.org..>", DOMAIN_MALFORMED, NULL },
	{ "source route", "<@a.example,@b.example:user@c.example>", DOMAIN_NAME, "c.example" },
	{ "quoted local part with @", "<\"a@b\"@example.org>", DOMAIN_NAME, "example.org" },
	{ "IPv4 literal", "<user@[192.0.2.1]>", DOMAIN_LITERAL, NULL },
	{ "IPv6 literal", "<user@[IPv6:2001:db8::1]>", DOMAIN_LITERAL, NULL },
	{ "general literal holding @", "<user@[tag:a@b]>", DOMAIN_LITERAL, NULL },
	{ "source route to a literal holding @", "<@a,@b:u@[1b:u@Z1/]>", DOMAIN_LITERAL, NULL },
	{ "literal not closed", "<user@[192.0.2.1>", DOMAIN_MALFORMED, NULL },
	{ "postmaster alone", "<postmaster>", DOMAIN_MISSING, NULL },
	{ "null sender", "<>", DOMAIN_MISSING, NULL },
	{ "nothing after @", "<user@>", DOMAIN_MISSING, NULL },
	{ "unbalanced bracket", "<user@example.org", DOMAIN_MALFORMED, NULL },
	{ "8-bit domain", "<user@b\xc3\xbc" "cher.de>", DOMAIN_MALFORMED, NULL },
};

static void test_address(void **state)
{
	const struct addr_case *ac = *state;
	char out[DOMAIN_MAXLEN + 1];

	assert_int_equal(domain_of_address(ac->addr, out, sizeof(out)), ac->kind);
	if (ac->domain != NULL)
		assert_string_equal(out, ac->domain);
}

static void test_normalize(void **state)
{
	const struct norm_case *nc = *state;
	char out[DOMAIN_MAXLEN + 1];

	assert_int_equal(domain_normalize(nc->in, strlen(nc->in), out, sizeof(out)), nc->out != NULL);
	if (nc->out != NULL)
		assert_string_equal(out, nc->out);
}

static void test_normalize_total_length(void **state)
{
	char in[300], out[DOMAIN_MAXLEN + 1];
	size_t n = 0;

	(void)state;
	while (n + 10 <= 253) {		/* 25 labels of 9 + dot = 250 */
		memcpy(in + n, "abcdefghi.", 10);
		n += 10;
	}
	memcpy(in + n, "abc", 3);	/* 253 in all */
	assert_true(domain_normalize(in, n + 3, out, sizeof(out)));
	in[n + 3] = 'd';		/* 254 */
	assert_false(domain_normalize(in, n + 4, out, sizeof(out)));
	assert_false(domain_normalize("example.org", 11, out, 5));	/* no room */
}

static void test_lookup(void **state)
{
	struct domain_map m = { 0 };

	(void)state;
	assert_null(domain_map_find(&m, "example.org"));
	assert_true(domain_map_add(&m, "example.org", 1, 1));
	assert_true(domain_map_add(&m, ".example.org", 2, 2));
	assert_true(domain_map_add(&m, ".deep.example.org", 3, 3));
	assert_true(domain_map_add(&m, "other.net", 4, 4));
	assert_null(domain_map_sort(&m));
	assert_int_equal(domain_map_find(&m, "example.org")->value, 1);
	assert_int_equal(domain_map_find(&m, "mx.example.org")->value, 2);
	assert_int_equal(domain_map_find(&m, "a.b.example.org")->value, 2);
	assert_int_equal(domain_map_find(&m, "x.deep.example.org")->value, 3);
	assert_int_equal(domain_map_find(&m, "deep.example.org")->value, 2);
	assert_int_equal(domain_map_find(&m, "other.net")->value, 4);
	assert_null(domain_map_find(&m, "sub.other.net"));
	assert_null(domain_map_find(&m, "notexample.org"));
	assert_null(domain_map_find(&m, "org"));
	domain_map_free(&m);
	assert_int_equal(m.n, 0);
}

static void test_duplicate_found(void **state)
{
	struct domain_map m = { 0 };
	const struct domain_entry *dup;

	(void)state;
	assert_true(domain_map_add(&m, "b.org", 1, 1));
	assert_true(domain_map_add(&m, "a.org", 1, 2));
	assert_true(domain_map_add(&m, "b.org", 1, 7));
	dup = domain_map_sort(&m);
	assert_non_null(dup);
	assert_string_equal(dup->name, "b.org");
	assert_int_equal(dup->line, 7);
	assert_int_equal(dup[-1].line, 1);
	domain_map_free(&m);
}

int main(void)
{
	struct CMUnitTest tests[64];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ norm_cases[i].name, test_normalize, NULL, NULL,
						  (void *)&norm_cases[i] };
	for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ addr_cases[i].name, test_address, NULL, NULL,
						  (void *)&addr_cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_normalize_total_length);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_lookup);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_duplicate_found);
	return _cmocka_run_group_tests("domainmap", tests, n, NULL, NULL);
}
