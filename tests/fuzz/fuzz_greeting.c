/*
 * NAME
 *	fuzz_greeting - probe_parse_greeting, the SMTP greeting of a better MX
 * DESCRIPTION
 *	Input: two octets choosing where the greeting is cut in two (as a
 *	peer's two TCP segments would cut it), then the greeting itself.
 *
 *	The probe reads a greeting as it arrives and stops at the first
 *	answer that is not PARTIAL, so what must hold, or the harness aborts:
 *	- the first piece alone is PARTIAL or the answer of the whole: a
 *	  peer cannot turn READY into REFUSED (or back) by how it splits its
 *	  greeting; for short greetings every cut is tried;
 *	- the answer is the one of a line-by-line reading of RFC 5321 4.2
 *	  as the parser documents it (below): "220" then '-' continues, ' ',
 *	  CR or the line end makes a final line; any other code, or a fourth
 *	  octet that is none of those, refuses at once; READY needs the final
 *	  line to be complete;
 *	- nothing past the length is read (each piece sits in a buffer of
 *	  exactly its size, AddressSanitizer watches).
 */

#include "autoconfig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) ((cond) ? (void)0 : fail(#cond, __LINE__))
#define ALL_CUTS_MAX 256	/* greetings up to this long: every cut tried */

static void fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_greeting:%d: invariant broken: %s\n", line, what);
	abort();
}

/* model - the expected answer, one line at a time */
static enum greeting model(const char *b, size_t n)
{
	size_t i = 0;

	for (;;) {
		const char *line = b + i;
		const char *nl = memchr(line, '\n', n - i);
		size_t avail = nl != NULL ? (size_t)(nl - line) + 1 : n - i;
		size_t len = nl != NULL ? (size_t)(nl - line) : n - i;

		/* the code: every octet that has come must be the one of "220";
		 * a complete line shorter than that has its '\n' where a digit
		 * should be */
		for (size_t k = 0; k < 3 && k < avail; k++)
			if (line[k] != "220"[k])
				return GREETING_REFUSED;
		if (avail < 4)
			return GREETING_PARTIAL;	/* "220" and no more yet */
		if (len == 3)
			return GREETING_READY;		/* "220\n" */
		switch (line[3]) {
		case ' ':
		case '\r':
			return nl != NULL ? GREETING_READY : GREETING_PARTIAL;
		case '-':
			if (nl == NULL)
				return GREETING_PARTIAL;
			i += avail;
			break;
		default:
			return GREETING_REFUSED;
		}
	}
}

/* parse_copy - the parser on the first n octets, in a buffer of that size */
static enum greeting parse_copy(const char *b, size_t n)
{
	char *p = malloc(n > 0 ? n : 1);
	enum greeting g;

	if (p == NULL)
		abort();
	memcpy(p, b, n);
	g = probe_parse_greeting(p, n);
	free(p);
	return g;
}

static bool valid(enum greeting g)
{
	return g == GREETING_PARTIAL || g == GREETING_READY || g == GREETING_REFUSED;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 2;
	enum greeting whole, first;
	size_t len, cut;

	if (size < 2)
		return 0;
	len = size - 2;
	cut = ((size_t)data[0] << 8 | data[1]) % (len + 1);

	whole = parse_copy(buf, len);
	CHECK(valid(whole));
	CHECK(whole == model(buf, len));
	if (whole == GREETING_READY)
		CHECK(len >= 4 && memcmp(buf, "220", 3) == 0 && memchr(buf, '\n', len) != NULL);

	first = parse_copy(buf, cut);
	CHECK(valid(first));
	CHECK(first == model(buf, cut));
	CHECK(first == GREETING_PARTIAL || first == whole);

	/* short greetings: every cut, and once decided, decided for good */
	if (len <= ALL_CUTS_MAX) {
		enum greeting decided = GREETING_PARTIAL;
		for (size_t k = 0; k <= len; k++) {
			enum greeting g = parse_copy(buf, k);
			CHECK(g == GREETING_PARTIAL || g == whole);
			CHECK(decided == GREETING_PARTIAL || g == decided);
			if (g != GREETING_PARTIAL)
				decided = g;
		}
	}
	return 0;
}
