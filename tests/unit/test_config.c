/*
 * test_config - the configuration table, parser, diagnostics and reload.
 */

#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char tmpdir[] = "/tmp/mxb-unit.XXXXXX";

/* write_file - a file in the test's temp dir; returns its path (static) */
static const char *write_file(const char *name, const char *text)
{
	static char path[4][256];
	static int slot;
	char *p = path[slot++ % 4];
	FILE *fp;

	snprintf(p, 256, "%s/%s", tmpdir, name);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return p;
}

/* load_text - load a configuration written from text */
static struct config *load_text(const char *text, struct config_diag *d)
{
	return config_load(write_file("test.conf", text), true, d);
}

/* diag_has - some diagnostic line contains the text */
static bool diag_has(const struct config_diag *d, const char *text)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->lines[i], text) != NULL)
			return true;
	return false;
}

static void dump_diag(const struct config_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		print_message("  diag: %s\n", d->lines[i]);
}

static void test_defaults_without_file(void **state)
{
	struct config_diag d = { 0 };
	struct config *c = config_load("/nonexistent/mxbypass-milter.conf", false, &d);
	struct netaddr a;

	(void)state;
	assert_non_null(c);
	assert_int_equal(d.n, 0);
	assert_null(c->path);
	assert_string_equal(c->socket, "unix:/run/mxbypass-milter/mxbypass-milter.sock");
	assert_null(c->user);
	assert_int_equal(c->umask, 07);
	assert_null(c->pidfile);
	assert_true(c->syslog);
	assert_int_equal(c->action, ACTION_TAG);
	assert_null(c->domains_spec);
	assert_string_equal(c->header_name, "X-MX-Bypass");
	assert_string_equal(c->reply_text, "Please deliver to the primary MX host of this domain");
	assert_int_equal(c->retry_after, 900);
	assert_int_equal(c->retry_expire, 86400);
	assert_int_equal(c->retry_prefix4, 24);
	assert_int_equal(c->retry_prefix6, 64);
	assert_int_equal(c->trusted_networks.n, 2);
	assert_true(netaddr_parse("127.1.2.3", &a) && cidr_list_match(&c->trusted_networks, &a));
	assert_true(netaddr_parse("::1", &a) && cidr_list_match(&c->trusted_networks, &a));
	assert_true(netaddr_parse("192.0.2.1", &a) && !cidr_list_match(&c->trusted_networks, &a));
	assert_true(c->skip_authenticated);
	assert_null(c->dns_servers);
	assert_int_equal(c->dns_timeout_ms, 2000);
	assert_int_equal(c->dns_tries, 2);
	assert_int_equal(c->cache_size, 10000);
	assert_int_equal(c->min_ttl, 60);
	assert_int_equal(c->max_ttl, 3600);
	assert_int_equal(c->negative_ttl, 300);
	assert_int_equal(c->probe_port, 25);
	assert_int_equal(c->probe_timeout_ms, 3000);
	assert_true(c->probe_banner);
	assert_int_equal(c->probe_ttl_up, 300);
	assert_int_equal(c->probe_ttl_down, 60);
	assert_int_equal(c->probe_concurrency, 64);
	assert_int_equal(c->decision_timeout_ms, 10000);
	assert_int_equal(c->stats_interval, 300);
	assert_null(c->stats_file);
	assert_int_equal(c->state_backend, BACKEND_MEMORY);
	assert_string_equal(c->redis_server, "127.0.0.1:6379");
	assert_string_equal(c->redis_prefix, "mxbypass:");
	assert_int_equal(c->redis_timeout_ms, 200);
	config_free(c);
}

static void test_named_file_must_exist(void **state)
{
	struct config_diag d = { 0 };

	(void)state;
	assert_null(config_load("/nonexistent/mxbypass-milter.conf", true, &d));
	assert_int_equal(d.n, 1);
	assert_true(diag_has(&d, "/nonexistent/mxbypass-milter.conf: cannot open"));
	config_diag_free(&d);
}

/* Values that parse: the field each sets is checked by its own function. */
static void test_values_parse(void **state)
{
	struct config_diag d = { 0 };
	const char *map = write_file("actions", "# per-domain actions\n"
				     "example.org reject\n\n.example.net   LOG # subdomains\n");
	const char *doms = write_file("domains", "example.org\n.example.org, example.com\n");
	char text[2048];
	struct config *c;
	struct netaddr a;

	(void)state;
	snprintf(text, sizeof(text),
		 "  # a comment line\n"
		 "action TEMPFAIL\n"
		 "RETRYAFTER 15m   # a trailing comment\n"
		 "RetryExpire 2d\n"
		 "DnsTimeout 2s\n"
		 "ProbeTimeout 250ms\n"
		 "UMask 027\n"
		 "ProbeBanner off\n"
		 "SkipAuthenticated false\n"
		 "LogLevel Debug\n"
		 "ReplyText Use mx1#primary, please\n"
		 "TrustedNetworks 192.0.2.0/24,2001:db8::/32 10.0.0.1\n"
		 "LocalAddresses none\n"
		 "LocalNames MX2.Example.ORG., mx3.example.org\n"
		 "DnsServers 127.0.0.1:5354, [::1]:53, ::1\n"
		 "Socket inet:8894@127.0.0.1\n"
		 "UserID root:root\n"
		 "ActionMap %s\n"
		 "Domains file:%s\n"
		 "RedisServer [::1]:6380\n",
		 map, doms);
	c = load_text(text, &d);
	dump_diag(&d);
	assert_non_null(c);
	assert_int_equal(c->action, ACTION_TEMPFAIL);
	assert_int_equal(c->retry_after, 900);
	assert_int_equal(c->retry_expire, 2 * 86400);
	assert_int_equal(c->dns_timeout_ms, 2000);
	assert_int_equal(c->probe_timeout_ms, 250);
	assert_int_equal(c->umask, 027);
	assert_false(c->probe_banner);
	assert_false(c->skip_authenticated);
	assert_string_equal(c->reply_text, "Use mx1#primary, please");
	assert_int_equal(c->trusted_networks.n, 3);
	assert_true(netaddr_parse("192.0.2.200", &a) && cidr_list_match(&c->trusted_networks, &a));
	assert_true(netaddr_parse("2001:db8:1::5", &a) && cidr_list_match(&c->trusted_networks, &a));
	assert_true(netaddr_parse("10.0.0.1", &a) && cidr_list_match(&c->trusted_networks, &a));
	assert_true(netaddr_parse("127.0.0.1", &a) && !cidr_list_match(&c->trusted_networks, &a));
	assert_int_equal(c->local_addresses.n, 0);
	assert_non_null(domain_map_find(&c->local_names, "mx2.example.org"));
	assert_non_null(domain_map_find(&c->local_names, "mx3.example.org"));
	assert_null(domain_map_find(&c->local_names, "example.org"));
	assert_string_equal(c->dns_servers, "127.0.0.1:5354,[::1]:53,::1");
	assert_int_equal(c->uid, 0);
	assert_int_equal(domain_map_find(&c->action_map, "example.org")->value, ACTION_REJECT);
	assert_int_equal(domain_map_find(&c->action_map, "a.b.example.net")->value, ACTION_LOG);
	assert_null(domain_map_find(&c->action_map, "example.net"));
	assert_non_null(domain_map_find(&c->domains, "example.com"));
	assert_non_null(domain_map_find(&c->domains, "mx.example.org"));
	assert_null(domain_map_find(&c->domains, "example.net"));
	assert_string_equal(c->redis_server, "[::1]:6380");
	config_free(c);
}

/* One bad line each: the error names the file, the line and the problem. */
struct bad_case {
	const char *name;
	const char *text;
	unsigned line;
	const char *message;
};

static const struct bad_case bad_cases[] = {
	{ "unknown key, with a suggestion", "Action tag\nDnsTimout 100\n", 2,
	  "unknown key \"DnsTimout\" (did you mean DnsTimeout?)" },
	{ "unknown key, nothing close", "Frobnicate 1\n", 1, "unknown key \"Frobnicate\"" },
	{ "key=value form", "Action=tag\n", 1, "write \"Key value\"" },
	{ "missing value", "\n\nLogLevel   \n", 3, "LogLevel: missing value" },
	{ "duplicate key, any case", "Action tag\naction log\n", 2,
	  "Action: duplicate key (first at line 1)" },
	{ "bad boolean", "Syslog maybe\n", 1, "Syslog: \"maybe\" is not yes or no" },
	{ "bad enumeration", "Action bounce\n", 1,
	  "Action: \"bounce\" is not tag, tempfail, reject or log" },
	{ "bad log level", "LogLevel verbose\n", 1, "LogLevel: \"verbose\" is not" },
	{ "bad facility", "SyslogFacility local9\n", 1, "SyslogFacility: \"local9\" is not" },
	{ "number not a number", "DnsTries two\n", 1, "DnsTries: \"two\" is not a whole number" },
	{ "negative number", "CacheSize -1\n", 1, "CacheSize: \"-1\" is not a whole number" },
	{ "number below range", "DnsTimeout 5\n", 1, "DnsTimeout: 5 is out of range (10..60000 ms)" },
	{ "number above range", "ProbePort 65536\n", 1, "ProbePort: 65536 is out of range (1..65535)" },
	{ "huge number", "CacheSize 99999999999999999999999\n", 1, "is not a whole number" },
	{ "prefix out of range", "RetryPrefix4 33\n", 1, "RetryPrefix4: 33 is out of range (1..32)" },
	{ "bad duration suffix", "RetryAfter 15x\n", 1, "RetryAfter: \"15x\" is not a duration" },
	{ "duration suffix overflow", "RetryAfter 99999999999999999w\n", 1, "RetryAfter:" },
	{ "bad octal", "UMask 089\n", 1, "UMask: \"089\" is not an octal mode" },
	{ "bad CIDR address", "TrustedNetworks 10.0.0.0/8, 300.1.1.1\n", 1,
	  "TrustedNetworks: \"300.1.1.1\" is not an IPv4 or IPv6 address" },
	{ "bad CIDR prefix", "TrustedNetworks ::1/129\n", 1, "prefix length must be 0..128" },
	{ "CIDR prefix not a number", "TrustedNetworks 10.0.0.0/x\n", 1, "prefix length missing" },
	{ "CIDR host bits set", "TrustedNetworks 192.0.2.1/24\n", 1,
	  "\"192.0.2.1/24\" has host bits set (network 192.0.2.0/24?)" },
	{ "bad local address", "LocalAddresses mx.example.org\n", 1,
	  "LocalAddresses: \"mx.example.org\" is not an IPv4 or IPv6 address" },
	{ "bad local name", "LocalNames mx..example.org\n", 1,
	  "LocalNames: \"mx..example.org\" is not a valid host name" },
	{ "duplicate local name", "LocalNames mx.example.org MX.example.org.\n", 1,
	  "\"mx.example.org\" listed twice" },
	{ "bad domain", "Domains example.org, exa mple!.org\n", 1, "\"mple!.org\" is not a valid domain" },
	{ "label too long", "Domains aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org\n",
	  1, "is not a valid domain" },
	{ "relative path", "PidFile run/milter.pid\n", 1, "PidFile: \"run/milter.pid\" must be an absolute path" },
	{ "socket without scheme", "Socket 8894@localhost\n", 1, "expected unix:PATH, inet:PORT@HOST" },
	{ "socket bad port", "Socket inet:0@127.0.0.1\n", 1, "the port must be 1..65535" },
	{ "socket relative path", "Socket unix:milter.sock\n", 1, "the socket path must be absolute" },
	{ "socket bad host", "Socket inet6:8894@[::1\n", 1, "is not an address or host name" },
	{ "unknown user", "UserID no-such-user-here\n", 1, "UserID: unknown user \"no-such-user-here\"" },
	{ "unknown group", "UserID root:no-such-group-here\n", 1, "unknown group \"no-such-group-here\"" },
	{ "empty group", "UserID root:\n", 1, "expected user or user:group" },
	{ "header with colon", "HeaderName X-Bypass:\n", 1, "is not a header field name" },
	{ "header with space", "HeaderName X MX Bypass\n", 1, "is not a header field name" },
	{ "reply with 8-bit", "ReplyText caf\xc3\xa9\n", 1, "ReplyText: only printable ASCII" },
	{ "prefix with space", "RedisPrefix a b\n", 1, "RedisPrefix: only printable ASCII without spaces" },
	{ "bad DNS server", "DnsServers 127.0.0.1, 1.2.3\n", 1, "DnsServers: \"1.2.3\" is not addr" },
	{ "DNS server bad port", "DnsServers 127.0.0.1:0\n", 1, "DnsServers: \"127.0.0.1:0\"" },
	{ "DNS server name", "DnsServers ns.example.org\n", 1, "\"ns.example.org\" is not addr" },
	{ "redis without port", "RedisServer localhost\n", 1, "expected host:port" },
	{ "empty Domains list", "Domains , ,\n", 1, "Domains: an empty list (leave the key out to check every domain)" },
	{ "empty DnsServers list", "DnsServers ,\n", 1, "DnsServers: an empty list (leave the key out for the system resolver)" },
	{ "missing action map", "ActionMap /nonexistent/actions\n", 1,
	  "ActionMap: cannot open \"/nonexistent/actions\"" },
	{ "missing domains file", "Domains file:/nonexistent/domains\n", 1,
	  "Domains: cannot open \"/nonexistent/domains\"" },
	{ "MinTTL above MaxTTL", "MinTTL 7200\n# x\nMaxTTL 600\n", 3, "MaxTTL: 600 is below MinTTL 7200" },
	{ "RetryExpire not above RetryAfter", "RetryAfter 1h\nRetryExpire 3600\n", 2,
	  "RetryExpire: 3600 must be above RetryAfter 3600" },
#ifndef HAVE_HIREDIS
	{ "redis backend not built", "StateBackend redis\n", 1, "this build has no Redis support" },
#endif
};

static void test_bad_line(void **state)
{
	const struct bad_case *bc = *state;
	struct config_diag d = { 0 };
	char want[512];
	const char *path = write_file("test.conf", bc->text);

	print_message("  case: %s\n", bc->name);
	snprintf(want, sizeof(want), "%s:%u: ", path, bc->line);
	assert_null(config_load(path, true, &d));
	dump_diag(&d);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.lines[0], want));
	assert_non_null(strstr(d.lines[0], bc->message));
	config_diag_free(&d);
}

/* Whether a RCPT may be answered: worked out once per load, from Action
 * and every ActionMap entry (the milter then owes the MTA a reply). */
static void test_rcpt_replies(void **state)
{
	char logs[256], one[256];
	const struct { const char *action, *map; bool replies; } rows[] = {
		{ "tag", NULL, false }, { "log", NULL, false },
		{ "tempfail", NULL, true }, { "reject", NULL, true },
		{ "tag", logs, false }, { "tag", one, true }, { "reject", logs, true },
	};

	(void)state;
	/* write_file's answer lives until its next call */
	snprintf(logs, sizeof(logs), "%s", write_file("actions-log", "example.org log\n.example.net tag\n"));
	snprintf(one, sizeof(one), "%s", write_file("actions-one", "example.org log\nexample.com tempfail\n"));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct config_diag d = { 0 };
		struct config *c;
		char text[512];

		snprintf(text, sizeof(text), "Action %s\n%s%s%s", rows[i].action,
			 rows[i].map ? "ActionMap " : "", rows[i].map ? rows[i].map : "",
			 rows[i].map ? "\n" : "");
		c = load_text(text, &d);
		dump_diag(&d);
		assert_non_null(c);
		assert_int_equal(c->rcpt_replies, rows[i].replies);
		config_free(c);
	}
}

/* Files named by keys report their own file and line. */
static void test_map_file_errors(void **state)
{
	struct config_diag d = { 0 };
	const char *map = write_file("actions", "example.org reject\n"
				     "example.net bounce\n"
				     "example.com\n"
				     "ex!ample.com tag\n"
				     "EXAMPLE.org. log\n");
	char text[512], want[512];

	(void)state;
	snprintf(text, sizeof(text), "ActionMap %s\n", map);
	assert_null(load_text(text, &d));
	dump_diag(&d);
	assert_int_equal(d.n, 3);
	snprintf(want, sizeof(want), "%s:2: ActionMap: unknown action \"bounce\"", map);
	assert_true(diag_has(&d, want));
	snprintf(want, sizeof(want), "%s:3: ActionMap: expected \"domain action\"", map);
	assert_true(diag_has(&d, want));
	snprintf(want, sizeof(want), "%s:4: ActionMap: \"ex!ample.com\" is not a valid", map);
	assert_true(diag_has(&d, want));
	config_diag_free(&d);

	map = write_file("actions", "example.org reject\nEXAMPLE.org. log\n");
	assert_null(load_text(text, &d));
	snprintf(want, sizeof(want), "%s:2: ActionMap: \"example.org\" listed twice (first at line 1)", map);
	dump_diag(&d);
	assert_true(diag_has(&d, want));
	config_diag_free(&d);
}

/* -n prints every problem, not only the first. */
static void test_every_problem_reported(void **state)
{
	struct config_diag d = { 0 };

	(void)state;
	assert_null(load_text("Action bounce\nDnsTries 0\nBogus 1\nTrustedNetworks x\n"
			      "Action tag\n", &d));
	dump_diag(&d);
	assert_int_equal(d.n, 5);
	config_diag_free(&d);
}

static void test_reload_keeps_old_config_on_error(void **state)
{
	struct config_diag d = { 0 };
	struct config *held, *now;
	const char *path;

	(void)state;
	path = write_file("reload.conf", "Action tempfail\nHeaderName X-First\n");
	assert_true(config_reload(path, true, &d));
	assert_int_equal(d.n, 0);
	held = config_current();	/* a connection in flight */
	assert_int_equal(held->action, ACTION_TEMPFAIL);

	write_file("reload.conf", "Action reject\nHeaderName X-Second\nDnsTries 99\n");
	assert_false(config_reload(path, true, &d));
	assert_true(diag_has(&d, "reload.conf:3: DnsTries: 99 is out of range"));
	config_diag_free(&d);
	now = config_current();
	assert_ptr_equal(now, held);
	assert_int_equal(now->action, ACTION_TEMPFAIL);
	config_release(now);

	unlink(path);
	assert_false(config_reload(path, true, &d));
	config_diag_free(&d);
	now = config_current();
	assert_ptr_equal(now, held);
	config_release(now);

	write_file("reload.conf", "Action reject\nHeaderName X-Second\n");
	assert_true(config_reload(path, true, &d));
	now = config_current();
	assert_ptr_not_equal(now, held);
	assert_int_equal(now->action, ACTION_REJECT);
	assert_string_equal(now->header_name, "X-Second");
	/* the connection still sees the configuration it started with */
	assert_string_equal(held->header_name, "X-First");
	config_release(held);
	config_release(now);
	config_install(NULL);
}

/* Command-line values win over the file, on every load; runs last, as
 * overrides stay for the life of the process. */
static void test_overrides(void **state)
{
	struct config_diag d = { 0 };
	struct config *c;

	(void)state;
	assert_false(config_override("NoSuchKey", "x", "-x"));
	assert_true(config_override("Socket", "unix:/tmp/override.sock", "-p"));
	c = load_text("Socket inet:8894@127.0.0.1\n", &d);
	assert_non_null(c);
	assert_string_equal(c->socket, "unix:/tmp/override.sock");
	config_free(c);

	assert_true(config_override("PidFile", "relative.pid", "-P"));
	assert_null(load_text("Action tag\n", &d));
	dump_diag(&d);
	assert_true(diag_has(&d, "-P: PidFile: \"relative.pid\" must be an absolute path"));
	config_diag_free(&d);
}

static void test_action_names(void **state)
{
	(void)state;
	assert_string_equal(action_name(ACTION_TAG), "tag");
	assert_string_equal(action_name(ACTION_TEMPFAIL), "tempfail");
	assert_string_equal(action_name(ACTION_REJECT), "reject");
	assert_string_equal(action_name(ACTION_LOG), "log");
}

static int setup_dir(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	struct CMUnitTest tests[64 + sizeof(bad_cases) / sizeof(bad_cases[0])];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_defaults_without_file);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_named_file_must_exist);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_values_parse);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ bad_cases[i].name, test_bad_line, NULL, NULL,
						  (void *)&bad_cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_map_file_errors);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_rcpt_replies);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_every_problem_reported);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_reload_keeps_old_config_on_error);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_action_names);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_overrides);
	return _cmocka_run_group_tests("config", tests, n, setup_dir, remove_dir);
}
