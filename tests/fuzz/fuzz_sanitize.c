/*
 * NAME
 *	fuzz_sanitize - log_sanitize, the filter of every logged and header value
 * DESCRIPTION
 *	Input: one octet choosing the size of the destination (0..255), then
 *	the source text (cut at its first NUL, as a C string is).
 *
 *	What must hold, or the harness aborts:
 *	- the result is NUL-terminated inside the buffer and its length is
 *	  what was returned: min(strlen(src), size - 1);
 *	- every octet is printable ASCII (0x20..0x7e): no CR, LF, control
 *	  or 8-bit octet can reach a log line or a header;
 *	- printable octets are kept as they were, the others become '?';
 *	- size 0 writes nothing; no octet is written past the size (the
 *	  buffer is exactly that big, so AddressSanitizer watches).
 */

#include "autoconfig.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) ((cond) ? (void)0 : fail(#cond, __LINE__))

static void fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_sanitize:%d: invariant broken: %s\n", line, what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len, srclen, want, n;
	char *src, *dst;

	if (size == 0)
		return 0;
	len = data[0];
	if ((src = malloc(size)) == NULL)
		return 0;
	memcpy(src, data + 1, size - 1);
	src[size - 1] = '\0';
	srclen = strlen(src);

	if (len == 0) {
		char canary = 'c';
		CHECK(log_sanitize(&canary, 0, src) == 0);
		CHECK(canary == 'c');
		free(src);
		return 0;
	}
	if ((dst = malloc(len)) == NULL) {
		free(src);
		return 0;
	}
	memset(dst, 0x55, len);
	n = log_sanitize(dst, len, src);
	want = srclen < len - 1 ? srclen : len - 1;
	CHECK(n == want);
	CHECK(dst[n] == '\0');
	CHECK(strlen(dst) == n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)dst[i], s = (unsigned char)src[i];

		CHECK(c >= 0x20 && c <= 0x7e);
		CHECK(c != '\r' && c != '\n');
		CHECK(s >= 0x20 && s <= 0x7e ? c == s : c == '?');
	}
	/* sanitising again changes nothing */
	{
		char *again = malloc(len);
		if (again != NULL) {
			CHECK(log_sanitize(again, len, dst) == n);
			CHECK(memcmp(again, dst, n + 1) == 0);
			free(again);
		}
	}
	free(dst);
	free(src);
	return 0;
}
