/*
 * test_probe - the SMTP greeting parser of the probes: a 220 greeting,
 * complete or multi-line, takes mail; anything else does not; a greeting
 * still arriving is partial.
 */

#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probe.h"

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

int main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 1];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_greeting, NULL, NULL,
						  (void *)&cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bytewise);
	return _cmocka_run_group_tests("probe", tests, n, NULL, NULL);
}
