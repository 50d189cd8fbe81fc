/*
 * test_stats - counters from many threads, the bounded top lists, the
 * statistics lines (interval, then totals) and the Prometheus file, parsed
 * line by line.
 */

#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "stats.h"
#include "topk.h"

#define THREADS 8
#define PER_THREAD 100000

static void *count_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		stats_add(STAT_PROBES);
		if (i % 1000 == 0)
			stats_bypass("192.0.2.0/24", "example.org");
	}
	return NULL;
}

/* Eight threads counting at once lose nothing. */
static void test_threads_lose_nothing(void **state)
{
	pthread_t t[THREADS];
	uint64_t before = stats_get(STAT_PROBES);

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, count_many, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(stats_get(STAT_PROBES) - before, (uint64_t)THREADS * PER_THREAD);
}

/* A heavy key stays on top while 100,000 distinct keys flood the summary,
 * whose size never changes. */
static void test_topk_flood(void **state)
{
	struct topk *t = calloc(1, sizeof(*t));
	const struct topk *parts[1] = { t };
	struct topk_slot top[3];
	char key[32];

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "198.51.%d.%d/32", i / 256 % 256, i % 256);
		topk_add(t, key, 1);
		if (i % 10 == 0)
			topk_add(t, "203.0.113.0/24", 1);
		if (i % 25 == 0)
			topk_add(t, "192.0.2.0/24", 1);
	}
	assert_int_equal(t->n, TOPK_SLOTS);
	assert_int_equal(topk_merge(parts, 1, top, 3), 3);
	assert_string_equal(top[0].key, "203.0.113.0/24");
	assert_true(top[0].count >= 10000 && top[0].count - top[0].error <= 10000);
	assert_string_equal(top[1].key, "192.0.2.0/24");
	assert_true(top[1].count >= 4000 && top[1].count - top[1].error <= 4000);
	free(t);
}

/* Merging adds up the stripes; ties are ordered by key; k is the limit. */
static void test_topk_merge(void **state)
{
	struct topk a = { 0 }, b = { 0 }, empty = { 0 };
	const struct topk *parts[3] = { &a, &b, &empty };
	struct topk_slot top[5];

	(void)state;
	topk_add(&a, "x.example", 3);
	topk_add(&a, "y.example", 1);
	topk_add(&b, "y.example", 4);
	topk_add(&b, "w.example", 3);
	topk_add(&b, "z.example", 1);
	assert_int_equal(topk_merge(parts, 3, top, 5), 4);
	assert_string_equal(top[0].key, "y.example");
	assert_int_equal(top[0].count, 5);
	assert_string_equal(top[1].key, "w.example");
	assert_string_equal(top[2].key, "x.example");
	assert_string_equal(top[3].key, "z.example");
	assert_int_equal(topk_merge(parts, 3, top, 2), 2);
	assert_int_equal(topk_merge(parts + 2, 1, top, 5), 0);
	topk_clear(&a);
	assert_int_equal(a.n, 0);
}

static struct stats_span sample_span(void)
{
	/* each counter's value by its name: 100 and up, in this order */
	static const char *const names[STAT_COUNT] = {
		"rcpts", "exempt", "error", "not-mx", "primary", "backup", "bypass", "tagged",
		"tempfailed", "rejected", "logged", "retry-accepted", "dns-hits", "dns-misses",
		"probes", "probe-up", "probe-down", "probe-shared", "store-down", "store-local",
		"tried-better-mx", "recently-down", "probe-confirms", "went-down", "witnesses",
		"dns-refreshes", "probe-refreshes", "refresh-dropped",
	};
	struct stats_span s = { .seconds = 300 };

	for (int i = 0; i < STAT_COUNT; i++) {
		size_t j = 0;
		while (j < STAT_COUNT && strcmp(names[j], stats_counter_name(i)) != 0)
			j++;
		assert_in_range(j, 0, STAT_COUNT - 1);	/* every counter has its word */
		s.c[i] = 100 + (uint64_t)j;
	}
	s.caches = (struct stats_caches){ 1, 2, 3, 4, 5, 6, STORE_NONE };
	s.nclients = 2;
	snprintf(s.clients[0].key, TOPK_KEYMAX, "198.51.100.0/24");
	s.clients[0].count = 402;
	snprintf(s.clients[1].key, TOPK_KEYMAX, "2001:db8::/64");
	s.clients[1].count = 77;
	s.ndomains = 1;
	snprintf(s.domains[0].key, TOPK_KEYMAX, "example.org");
	s.domains[0].count = 751;
	return s;
}

/* The line: the documented words in the documented order, then the rest. */
static void test_line_format(void **state)
{
	struct stats_span s = sample_span();
	char line[2048];

	(void)state;
	stats_format(line, sizeof(line), "interval=300", &s);
	assert_string_equal(line,
		"stats: interval=300 rcpts=100 exempt=101 not-mx=103 primary=104 backup=105 "
		"bypass=106 error=102 tagged=107 tempfailed=108 rejected=109 retry-accepted=111 "
		"dns-hits=112 dns-misses=113 probes=114 probe-up=115 probe-down=116 "
		"top-clients=198.51.100.0/24:402,2001:db8::/64:77 top-domains=example.org:751 "
		"logged=110 dns-joins=1 dns-evictions=2 dns-cached=5 probe-joins=3 "
		"probe-evictions=4 probe-cached=6 "
		"tried-better-mx=120 recently-down=121 went-down=123 probe-confirms=122 witnesses=124 "
		"dns-refreshes=125 probe-refreshes=126 refresh-dropped=127");
	s.nclients = s.ndomains = 0;
	stats_format(line, sizeof(line), "interval=1", &s);
	assert_non_null(strstr(line, " top-clients=- top-domains=- "));
	/* a short buffer is cut, never overrun */
	assert_true(stats_format(line, 20, "interval=1", &s) >= 20);
	assert_int_equal(strlen(line), 19);
}

static regex_t re_help, re_type, re_sample;

static int compile(void **state)
{
	(void)state;
	return regcomp(&re_help, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^ ].*$", REG_EXTENDED)
		|| regcomp(&re_type, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$",
			   REG_EXTENDED)
		|| regcomp(&re_sample,
			   "^([a-zA-Z_:][a-zA-Z0-9_:]*)"
			   "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\""
			   "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*\\})? ([0-9]+)$",
			   REG_EXTENDED);
}

static int release(void **state)
{
	(void)state;
	regfree(&re_help);
	regfree(&re_type);
	regfree(&re_sample);
	return 0;
}

/* parse - every line of a Prometheus text file is HELP, TYPE or a sample
 * of a family typed before it; counters end in _total. Returns the number
 * of samples; *text gets the file. */
static int parse(const struct stats_span *s, char **text)
{
	char typed[64][64], *line, *save = NULL;
	size_t ntyped = 0, len;
	int samples = 0;
	FILE *f = open_memstream(text, &len);

	assert_non_null(f);
	assert_int_equal(stats_write_prometheus(f, s, 1700000000), 0);
	fclose(f);
	char *copy = strdup(*text);
	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		regmatch_t m[8];
		char name[64];
		if (regexec(&re_help, line, 0, NULL, 0) == 0)
			continue;
		if (regexec(&re_type, line, 3, m, 0) == 0) {
			snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
			for (size_t i = 0; i < ntyped; i++)
				if (strcmp(typed[i], name) == 0)
					fail_msg("family %s typed twice", name);
			if (strncmp(line + m[2].rm_so, "counter", 7) == 0)
				assert_non_null(strstr(name, "_total"));
			snprintf(typed[ntyped++], sizeof(typed[0]), "%s", name);
			continue;
		}
		if (regexec(&re_sample, line, 8, m, 0) != 0)
			fail_msg("not a Prometheus line: [%s]", line);
		snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
		bool known = false;
		for (size_t i = 0; i < ntyped; i++)
			known |= strcmp(typed[i], name) == 0;
		if (!known)
			fail_msg("sample of %s before its TYPE line", name);
		samples++;
	}
	free(copy);
	return samples;
}

/* Every line parses, and the numbers are the span's. */
static void test_prometheus_parses(void **state)
{
	struct stats_span s = sample_span();
	char *text;

	(void)state;
	/* 6 verdicts, 5 actions, 2 lookups, 1 probes, 2 results, 3 evidence,
	 * 1 confirms, 1 witnesses, 2+2+2 cache, 2 refreshes, 1 dropped, 2 clients,
	 * 1 domain, start time */
	assert_int_equal(parse(&s, &text), 34);
	assert_non_null(strstr(text, "\nmxbypass_rcpt_total{verdict=\"bypass\"} 106\n"));
	assert_non_null(strstr(text, "\nmxbypass_action_total{action=\"retry-accept\"} 111\n"));
	assert_non_null(strstr(text, "\nmxbypass_dns_lookups_total{result=\"miss\"} 113\n"));
	assert_non_null(strstr(text, "\nmxbypass_cache_entries{cache=\"probe\"} 6\n"));
	assert_non_null(strstr(text, "\nmxbypass_top_client_bypasses{network=\"2001:db8::/64\"} 77\n"));
	assert_non_null(strstr(text, "\nmxbypass_start_time_seconds 1700000000\n"));
	assert_non_null(strstr(text, "\nmxbypass_evidence_total{evidence=\"tried-better-mx\"} 120\n"));
	assert_non_null(strstr(text,
			       "\nmxbypass_evidence_total{evidence=\"better-mx-recently-down\"} 121\n"));
	assert_non_null(strstr(text, "\nmxbypass_probe_confirms_total 122\n"));
	assert_non_null(strstr(text,
			       "\nmxbypass_evidence_total{evidence=\"better-mx-went-down\"} 123\n"));
	assert_non_null(strstr(text, "\nmxbypass_witnesses_total 124\n"));
	assert_non_null(strstr(text, "\nmxbypass_refreshes_total{kind=\"dns\"} 125\n"));
	assert_non_null(strstr(text, "\nmxbypass_refreshes_total{kind=\"probe\"} 126\n"));
	assert_non_null(strstr(text, "\nmxbypass_refresh_dropped_total 127\n"));
	free(text);
}

/* A label value with a quote, a backslash or a newline is escaped. */
static void test_prometheus_escapes(void **state)
{
	struct stats_span s = sample_span();
	char *text;

	(void)state;
	snprintf(s.domains[0].key, TOPK_KEYMAX, "a\"b\\c\nd");
	assert_int_equal(parse(&s, &text), 34);
	assert_non_null(strstr(text, "{domain=\"a\\\"b\\\\c\\nd\"} 751\n"));
	free(text);
}

/* The file is replaced whole, and no temporary file stays behind. */
static void test_file_atomic(void **state)
{
	char dir[] = "/tmp/test_stats.XXXXXX", path[128], buf[64];
	struct stats_span s = sample_span();
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mxbypass.prom", dir);
	assert_int_equal(stats_write_file(path, &s, 1), 0);
	s.c[STAT_VERDICT + VERDICT_BYPASS] = 999;
	assert_int_equal(stats_write_file(path, &s, 1), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	bool found = false;
	char line[256];
	while (fgets(line, sizeof(line), f) != NULL)
		found |= strcmp(line, "mxbypass_rcpt_total{verdict=\"bypass\"} 999\n") == 0;
	fclose(f);
	assert_true(found);
	snprintf(buf, sizeof(buf), "%s/mxbypass.prom.tmp.%ld", dir, (long)getpid());
	assert_int_equal(access(buf, F_OK), -1);
	unlink(path);
	rmdir(dir);
	/* a directory that is not there: an error, with errno */
	assert_int_equal(stats_write_file("/nonexistent/dir/x.prom", &s, 1), -1);
	assert_int_equal(errno, ENOENT);
}

/* read_log - what the log wrote to stderr since the test redirected it */
static char *read_log(const char *path)
{
	static char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A report logs the interval's counts, then the totals; the next interval
 * starts from zero, the totals go on. */
static void test_report_lines(void **state)
{
	char path[] = "/tmp/test_stats_log.XXXXXX";
	struct stats_caches caches = { .dns_joins = 4, .dns_entries = 9 };
	int fd = mkstemp(path), saved = dup(2);

	(void)state;
	assert_true(fd >= 0);
	dup2(fd, 2);
	log_setup(false, LOG_MAIL, LOG_INFO, true);
	stats_reset();
	for (int i = 0; i < 3; i++) {
		stats_add(STAT_RCPTS);
		stats_add(STAT_VERDICT + VERDICT_BYPASS);
		stats_bypass("198.51.100.0/24", "example.org");
	}
	stats_report(&caches, NULL);
	stats_add(STAT_RCPTS);
	stats_add(STAT_VERDICT + VERDICT_PRIMARY);
	caches.dns_joins = 5;
	stats_report(&caches, NULL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);

	const char *log = read_log(path);
	unlink(path);
	const char *l1 = strstr(log, "stats: interval=0 rcpts=3 exempt=0 not-mx=0 primary=0 backup=0 bypass=3 ");
	assert_non_null(l1);
	assert_non_null(strstr(l1, " top-clients=198.51.100.0/24:3 top-domains=example.org:3 "));
	assert_non_null(strstr(l1, " dns-joins=4 "));
	const char *t1 = strstr(l1, "stats: totals uptime=0 rcpts=3 ");
	assert_non_null(t1);
	const char *l2 = strstr(t1, "stats: interval=0 rcpts=1 exempt=0 not-mx=0 primary=1 backup=0 bypass=0 ");
	assert_non_null(l2);
	assert_non_null(strstr(l2, " top-clients=- top-domains=- "));
	assert_non_null(strstr(l2, " dns-joins=1 "));
	const char *t2 = strstr(l2, "stats: totals uptime=0 rcpts=4 ");
	assert_non_null(t2);
	assert_non_null(strstr(t2, " primary=1 backup=0 bypass=3 "));
	assert_non_null(strstr(t2, " top-clients=198.51.100.0/24:3 "));
	assert_non_null(strstr(t2, " dns-joins=5 "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_lines),
		cmocka_unit_test(test_threads_lose_nothing),
		cmocka_unit_test(test_topk_flood),
		cmocka_unit_test(test_topk_merge),
		cmocka_unit_test(test_line_format),
		cmocka_unit_test_setup_teardown(test_prometheus_parses, compile, release),
		cmocka_unit_test_setup_teardown(test_prometheus_escapes, compile, release),
		cmocka_unit_test(test_file_atomic),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
