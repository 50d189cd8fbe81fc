/*
 * test_action - what is done with a verdict: facts in, action out.
 *
 * Each case: the verdict, the domain's configured action (ActionMap
 * entry, else Action), RetryAfter and what the retry memory answered;
 * then the action, its SMTP reply and whether the header is added.
 */

#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "action.h"

struct action_case {
	const char *name;
	enum verdict verdict;
	enum action configured;
	unsigned retry_after;
	enum retry_state retry;
	bool asks_retry;		/* the memory must be asked first */
	enum action action;
	const char *code, *xcode;
	bool tag;
};

static const struct action_case cases[] = {
	/* only a bypass is acted on */
	{ "exempt: accept, whatever the Action", VERDICT_EXEMPT, ACTION_REJECT, 0, RETRY_NOT_ASKED,
	  false, ACTION_ACCEPT, NULL, NULL, false },
	{ "error: accept (fail open), even with Action reject", VERDICT_ERROR, ACTION_REJECT, 0,
	  RETRY_NOT_ASKED, false, ACTION_ACCEPT, NULL, NULL, false },
	{ "not-mx: accept", VERDICT_NOT_MX, ACTION_TAG, 0, RETRY_NOT_ASKED,
	  false, ACTION_ACCEPT, NULL, NULL, false },
	{ "primary: accept", VERDICT_PRIMARY, ACTION_TEMPFAIL, 900, RETRY_NOT_ASKED,
	  false, ACTION_ACCEPT, NULL, NULL, false },
	{ "backup: accept, the retry memory is not asked", VERDICT_BACKUP, ACTION_TEMPFAIL, 900,
	  RETRY_NOT_ASKED, false, ACTION_ACCEPT, NULL, NULL, false },

	/* a bypass gets its domain's action */
	{ "bypass, tag: accept with the header", VERDICT_BYPASS, ACTION_TAG, 900, RETRY_NOT_ASKED,
	  false, ACTION_TAG, NULL, NULL, true },
	{ "bypass, reject: 550 5.7.1, no header", VERDICT_BYPASS, ACTION_REJECT, 900,
	  RETRY_NOT_ASKED, false, ACTION_REJECT, "550", "5.7.1", false },
	{ "bypass, log: accept, no reply, no header", VERDICT_BYPASS, ACTION_LOG, 900,
	  RETRY_NOT_ASKED, false, ACTION_LOG, NULL, NULL, false },
	{ "bypass, tempfail without RetryAfter: 451 4.7.1, memory not asked", VERDICT_BYPASS,
	  ACTION_TEMPFAIL, 0, RETRY_NOT_ASKED, false, ACTION_TEMPFAIL, "451", "4.7.1", false },
	{ "bypass, tempfail without RetryAfter: a remembered retry changes nothing",
	  VERDICT_BYPASS, ACTION_TEMPFAIL, 0, RETRY_ACCEPT, false, ACTION_TEMPFAIL, "451", "4.7.1",
	  false },

	/* retry-then-accept */
	{ "bypass, tempfail, first attempt: 451", VERDICT_BYPASS, ACTION_TEMPFAIL, 900, RETRY_FIRST,
	  true, ACTION_TEMPFAIL, "451", "4.7.1", false },
	{ "bypass, tempfail, retry too soon: 451 again", VERDICT_BYPASS, ACTION_TEMPFAIL, 900,
	  RETRY_TOO_SOON, true, ACTION_TEMPFAIL, "451", "4.7.1", false },
	{ "bypass, tempfail, retry after RetryAfter: accepted and tagged", VERDICT_BYPASS,
	  ACTION_TEMPFAIL, 900, RETRY_ACCEPT, true, ACTION_RETRY_ACCEPT, NULL, NULL, true },
	{ "bypass, tempfail, memory not asked (check mode): 451", VERDICT_BYPASS, ACTION_TEMPFAIL,
	  900, RETRY_NOT_ASKED, true, ACTION_TEMPFAIL, "451", "4.7.1", false },
	{ "bypass, reject with RetryAfter: the retry memory is never asked", VERDICT_BYPASS,
	  ACTION_REJECT, 900, RETRY_ACCEPT, false, ACTION_REJECT, "550", "5.7.1", false },
};

static void test_decide(void **state)
{
	const struct action_case *ac = *state;
	struct action_facts f = { ac->verdict, ac->configured, ac->retry_after, ac->retry };
	struct action_result r = { .action = ACTION_COUNT, .code = "x", .xcode = "x", .tag = !ac->tag };

	assert_int_equal(action_asks_retry(&f), ac->asks_retry);
	action_decide(&f, &r);
	assert_string_equal(action_name(r.action), action_name(ac->action));
	if (ac->code == NULL) {
		assert_null(r.code);
		assert_null(r.xcode);
	} else {
		assert_string_equal(r.code, ac->code);
		assert_string_equal(r.xcode, ac->xcode);
	}
	assert_int_equal(r.tag, ac->tag);
}

/* The words are a contract: configuration, log, statistics; and which
 * actions answer the RCPT themselves. */
static void test_words(void **state)
{
	static const struct {
		enum action a;
		const char *name, *counter;
		bool in_line, replies;
	} words[] = {
		{ ACTION_TAG, "tag", "tagged", true, false },
		{ ACTION_TEMPFAIL, "tempfail", "tempfailed", true, true },
		{ ACTION_REJECT, "reject", "rejected", true, true },
		{ ACTION_RETRY_ACCEPT, "retry-accept", "retry-accepted", true, false },
		{ ACTION_LOG, "log", "logged", false, false },
		{ ACTION_ACCEPT, "accept", NULL, false, false },
	};

	(void)state;
	assert_int_equal(sizeof(words) / sizeof(words[0]), ACTION_COUNT);
	for (size_t i = 0; i < ACTION_COUNT; i++) {
		assert_string_equal(action_name(words[i].a), words[i].name);
		if (words[i].counter == NULL)
			assert_null(action_counter(words[i].a));
		else
			assert_string_equal(action_counter(words[i].a), words[i].counter);
		assert_int_equal(action_in_line(words[i].a), words[i].in_line);
		assert_int_equal(action_replies(words[i].a), words[i].replies);
		assert_int_equal(words[i].a < ACTION_COUNTED, words[i].counter != NULL);
	}
}

/* Only the four configurable words parse, in any case. */
static void test_parse(void **state)
{
	static const struct { const char *word; bool ok; enum action a; } in[] = {
		{ "tag", true, ACTION_TAG }, { "TempFail", true, ACTION_TEMPFAIL },
		{ "REJECT", true, ACTION_REJECT }, { "log", true, ACTION_LOG },
		{ "retry-accept", false, 0 }, { "accept", false, 0 }, { "", false, 0 },
		{ "tags", false, 0 }, { "ta", false, 0 },
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		enum action a = ACTION_COUNT;
		assert_int_equal(action_parse(in[i].word, &a), in[i].ok);
		if (in[i].ok)
			assert_int_equal(a, in[i].a);
		else
			assert_int_equal(a, ACTION_COUNT);
	}
	assert_string_equal(action_choices(buf, sizeof(buf)), "tag, tempfail, reject or log");
	assert_string_equal(action_choices(buf, 8), "tag, te");
}

#define CASES(fn, table) \
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) \
		tests[n++] = (struct CMUnitTest){ table[i].name, fn, NULL, NULL, (void *)&table[i] }

int main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 2];
	size_t n = 0;

	CASES(test_decide, cases);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_words);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_parse);
	return _cmocka_run_group_tests("action", tests, n, NULL, NULL);
}
