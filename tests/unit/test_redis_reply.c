/*
 * test_redis_reply - what redis_reply.c makes of Redis replies, good and
 * bad. Every reply is built from raw RESP bytes by hiredis' own reader,
 * exactly as a connection would build it; the few shapes no reader makes
 * (NULL element pointers) are made by spoiling a parsed reply.
 */

#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "redis_reply.h"
#include "topk.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL 0x5a5a5a5a5a5a5a5aULL

/* RESP bytes of a reply; a literal may hold NULs, so its size is kept */
struct resp {
	const char *s;
	size_t len;
};

#define R(lit) { lit, sizeof(lit) - 1 }
#define NONE { NULL, 0 }	/* no reply at all: a NULL pointer */

/* parse_n - the one reply in len bytes of RESP; NULL for none */
static redisReply *parse_n(const char *resp, size_t len)
{
	redisReader *rd;
	void *rep = NULL;

	if (resp == NULL)
		return NULL;
	assert_non_null(rd = redisReaderCreate());
	assert_int_equal(redisReaderFeed(rd, resp, len), REDIS_OK);
	assert_int_equal(redisReaderGetReply(rd, &rep), REDIS_OK);
	assert_non_null(rep);	/* the whole reply was given */
	redisReaderFree(rd);
	return rep;
}

/* parse - the reply in a NUL-terminated RESP text */
static redisReply *parse(const char *resp)
{
	return parse_n(resp, resp != NULL ? strlen(resp) : 0);
}

/* parse_r - the reply of a table row */
static redisReply *parse_r(struct resp r)
{
	return parse_n(r.s, r.len);
}

static void drop(redisReply *r)
{
	if (r != NULL)
		freeReplyObject(r);
}

/* ------------------------------------------------------------ status */

struct status_case {
	const char *name;
	struct resp resp;
	const char *word;
	bool want;
};

static const struct status_case status_cases[] = {
	{ "status: +OK is OK", R("+OK\r\n"), "OK", true },
	{ "status: +PONG is PONG", R("+PONG\r\n"), "PONG", true },
	{ "status: +OK is not PONG", R("+OK\r\n"), "PONG", false },
	{ "status: +OKAY is not OK (longer)", R("+OKAY\r\n"), "OK", false },
	{ "status: +O is not OK (shorter)", R("+O\r\n"), "OK", false },
	{ "status: +ok is not OK (case)", R("+ok\r\n"), "OK", false },
	{ "status: + OK is not OK (space)", R("+ OK\r\n"), "OK", false },
	{ "status: empty status is not OK", R("+\r\n"), "OK", false },
	{ "status: error -OK is not OK", R("-OK\r\n"), "OK", false },
	{ "status: bulk $2 OK is not OK", R("$2\r\nOK\r\n"), "OK", false },
	{ "status: integer is not OK", R(":1\r\n"), "OK", false },
	{ "status: nil is not OK", R("$-1\r\n"), "OK", false },
	{ "status: array of +OK is not OK", R("*1\r\n+OK\r\n"), "OK", false },
	{ "status: QUEUED is not OK", R("+QUEUED\r\n"), "OK", false },
	{ "status: no reply is not OK", NONE, "OK", false },
};

static void test_status(void **state)
{
	const struct status_case *c = *state;
	redisReply *r = parse_r(c->resp);

	assert_int_equal(reply_status(r, c->word), c->want);
	drop(r);
}

/* A NUL inside the status line: the length counts, not the C string. */
static void test_status_nul(void **state)
{
	static const char resp[] = "+OK\0X\r\n";
	redisReply *r = parse_n(resp, sizeof(resp) - 1);

	(void)state;
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	assert_int_equal(r->len, 4);
	assert_false(reply_status(r, "OK"));
	drop(r);
}

/* ------------------------------------------------------------ number */

struct number_case {
	const char *name, *s;
	size_t len;
	bool ok;
	uint64_t value;
};

#define NUM_OK(name, s, v) { name, s, sizeof(s) - 1, true, v }
#define NUM_BAD(name, s) { name, s, sizeof(s) - 1, false, 0 }

static const struct number_case number_cases[] = {
	NUM_OK("number: 0", "0", 0),
	NUM_OK("number: 7", "7", 7),
	NUM_OK("number: leading zeros", "007", 7),
	NUM_OK("number: 18 digits", "123456789012345678", 123456789012345678ULL),
	NUM_OK("number: 19 digits, INT64_MAX", "9223372036854775807", 9223372036854775807ULL),
	/* 19 digits is the bound: past INT64_MAX still fits uint64_t */
	NUM_OK("number: 19 nines (above INT64_MAX, fits uint64)", "9999999999999999999",
	       9999999999999999999ULL),
	NUM_OK("number: 19 digits with leading zeros", "0000000000000000042", 42),
	NUM_BAD("number: empty", ""),
	NUM_BAD("number: 20 digits", "10000000000000000000"),
	NUM_BAD("number: 20 digits, UINT64_MAX", "18446744073709551615"),
	NUM_BAD("number: 20 zeros", "00000000000000000000"),
	NUM_BAD("number: minus sign", "-1"),
	NUM_BAD("number: plus sign", "+1"),
	NUM_BAD("number: minus zero", "-0"),
	NUM_BAD("number: leading space", " 1"),
	NUM_BAD("number: trailing space", "1 "),
	NUM_BAD("number: trailing CR", "1\r"),
	NUM_BAD("number: letter", "12a"),
	NUM_BAD("number: hex", "0x10"),
	NUM_BAD("number: decimal point", "1.5"),
	NUM_BAD("number: exponent", "1e3"),
	NUM_BAD("number: inf", "inf"),
	NUM_BAD("number: colon (digit + 1)", "1:"),
	NUM_BAD("number: slash (digit - 1)", "/1"),
	NUM_BAD("number: 8-bit byte", "1\xb9"),
	{ "number: NUL inside the length", "1\0" "2", 3, false, 0 },
	{ "number: only len bytes are read", "123", 2, true, 12 },
	{ "number: NULL string", NULL, 1, false, 0 },
};

static void test_number(void **state)
{
	const struct number_case *c = *state;
	uint64_t v = SENTINEL;

	assert_int_equal(reply_number(c->s, c->len, &v), c->ok);
	if (c->ok)
		assert_true(v == c->value);
	else
		assert_true(v == SENTINEL);	/* untouched on failure */
}

/* A number read from a buffer of exactly its size (ASan sees overreads). */
static void test_number_exact_buffer(void **state)
{
	char *p = malloc(19);
	uint64_t v = 0;

	(void)state;
	assert_non_null(p);
	memset(p, '9', 19);
	assert_true(reply_number(p, 19, &v));
	assert_true(v == 9999999999999999999ULL);
	free(p);
}

/* ------------------------------------------------------- retry_first */

struct retry_case {
	const char *name;
	struct resp set, get;
	bool ok;
	uint64_t first;
	bool ours;
};

#define PROPOSED 1700000000123ULL

static const struct retry_case retry_cases[] = {
	{ "retry: SET OK, GET ours", R("+OK\r\n"), R("$13\r\n1700000000123\r\n"), true, PROPOSED,
	  true },
	{ "retry: SET nil, GET an earlier time", R("$-1\r\n"), R("$13\r\n1699999999000\r\n"), true,
	  1699999999000ULL, false },
	{ "retry: SET nil, GET a later time", R("$-1\r\n"), R("$13\r\n1700000000999\r\n"), true,
	  1700000000999ULL, false },
	{ "retry: SET nil, GET nil (expired between): the proposal", R("$-1\r\n"), R("$-1\r\n"), true,
	  PROPOSED, false },
	{ "retry: SET OK, GET nil: the proposal", R("+OK\r\n"), R("$-1\r\n"), true, PROPOSED, true },
	{ "retry: SET nil array (*-1) counts as nil", R("*-1\r\n"), R("$1\r\n5\r\n"), true, 5, false },
	{ "retry: SET nil, GET 0", R("$-1\r\n"), R("$1\r\n0\r\n"), true, 0, false },
	{ "retry: SET error", R("-ERR syntax error\r\n"), R("$-1\r\n"), false, 0, false },
	{ "retry: SET OOM error", R("-OOM command not allowed\r\n"), R("$1\r\n5\r\n"), false, 0, false },
	{ "retry: SET QUEUED", R("+QUEUED\r\n"), R("$1\r\n5\r\n"), false, 0, false },
	{ "retry: SET integer", R(":1\r\n"), R("$1\r\n5\r\n"), false, 0, false },
	{ "retry: SET bulk OK", R("$2\r\nOK\r\n"), R("$1\r\n5\r\n"), false, 0, false },
	{ "retry: SET array", R("*1\r\n+OK\r\n"), R("$1\r\n5\r\n"), false, 0, false },
	{ "retry: GET garbage", R("$-1\r\n"), R("$3\r\nabc\r\n"), false, 0, false },
	{ "retry: GET empty string", R("$-1\r\n"), R("$0\r\n\r\n"), false, 0, false },
	{ "retry: GET negative", R("$-1\r\n"), R("$2\r\n-5\r\n"), false, 0, false },
	{ "retry: GET float", R("$-1\r\n"), R("$3\r\n1.5\r\n"), false, 0, false },
	{ "retry: GET 20 digits", R("$-1\r\n"), R("$20\r\n10000000000000000000\r\n"), false, 0,
	  false },
	{ "retry: GET integer type", R("$-1\r\n"), R(":900\r\n"), false, 0, false },
	{ "retry: GET status type", R("$-1\r\n"), R("+900\r\n"), false, 0, false },
	{ "retry: GET error", R("+OK\r\n"), R("-WRONGTYPE Operation against a key\r\n"), false, 0,
	  true },
	{ "retry: GET array", R("$-1\r\n"), R("*1\r\n$1\r\n5\r\n"), false, 0, false },
	{ "retry: no SET reply", NONE, R("$1\r\n5\r\n"), false, 0, false },
	{ "retry: no GET reply", R("+OK\r\n"), NONE, false, 0, false },
};

static void test_retry_first(void **state)
{
	const struct retry_case *c = *state;
	redisReply *set = parse_r(c->set), *get = parse_r(c->get);
	uint64_t first = SENTINEL;
	bool ours = !c->ours;

	assert_int_equal(reply_retry_first(set, get, PROPOSED, &first, &ours), c->ok);
	if (c->ok) {
		assert_true(first == c->first);
		assert_int_equal(ours, c->ours);
	}
	drop(set);
	drop(get);
}

/* ------------------------------------------------------------- probe */

struct probe_case {
	const char *name;
	struct resp get, pttl;
	bool ok, found, up;
	uint64_t ttl;
};

static const struct probe_case probe_cases[] = {
	{ "probe: up, 300 s left", R("$2\r\nup\r\n"), R(":300000\r\n"), true, true, true, 300000 },
	{ "probe: down, 60 s left", R("$4\r\ndown\r\n"), R(":60000\r\n"), true, true, false, 60000 },
	{ "probe: up, 1 ms left", R("$2\r\nup\r\n"), R(":1\r\n"), true, true, true, 1 },
	{ "probe: huge PTTL", R("$2\r\nup\r\n"), R(":9223372036854775807\r\n"), true, true, true,
	  9223372036854775807ULL },
	{ "probe: none in the pool", R("$-1\r\n"), R(":-2\r\n"), true, false, false, 0 },
	{ "probe: nil GET, odd PTTL: still none", R("$-1\r\n"), R(":5000\r\n"), true, false, false, 0 },
	{ "probe: up but gone since the GET (PTTL -2)", R("$2\r\nup\r\n"), R(":-2\r\n"), true, false,
	  false, 0 },
	{ "probe: up without expiry (PTTL -1) is not taken", R("$2\r\nup\r\n"), R(":-1\r\n"), true,
	  false, false, 0 },
	{ "probe: up, PTTL 0 is not taken", R("$2\r\nup\r\n"), R(":0\r\n"), true, false, false, 0 },
	{ "probe: down, PTTL -7 is not taken", R("$4\r\ndown\r\n"), R(":-7\r\n"), true, false, false,
	  0 },
	{ "probe: UP (case)", R("$2\r\nUP\r\n"), R(":1000\r\n"), false, false, false, 0 },
	{ "probe: upp", R("$3\r\nupp\r\n"), R(":1000\r\n"), false, false, false, 0 },
	{ "probe: u", R("$1\r\nu\r\n"), R(":1000\r\n"), false, false, false, 0 },
	{ "probe: dow", R("$3\r\ndow\r\n"), R(":1000\r\n"), false, false, false, 0 },
	{ "probe: 'down '", R("$5\r\ndown \r\n"), R(":1000\r\n"), false, false, false, 0 },
	{ "probe: empty string", R("$0\r\n\r\n"), R(":1000\r\n"), false, false, false, 0 },
	{ "probe: 'up' with a NUL", R("$3\r\nup\0\r\n"), R(":1000\r\n"), false, false, false, 0 },
	{ "probe: GET status +up", R("+up\r\n"), R(":1000\r\n"), false, false, false, 0 },
	{ "probe: GET integer", R(":1\r\n"), R(":1000\r\n"), false, false, false, 0 },
	{ "probe: GET error", R("-ERR up\r\n"), R(":1000\r\n"), false, false, false, 0 },
	{ "probe: GET array", R("*1\r\n$2\r\nup\r\n"), R(":1000\r\n"), false, false, false, 0 },
	{ "probe: PTTL as a string", R("$2\r\nup\r\n"), R("$5\r\n30000\r\n"), false, false, false, 0 },
	{ "probe: PTTL nil", R("$2\r\nup\r\n"), R("$-1\r\n"), false, false, false, 0 },
	{ "probe: PTTL status", R("$2\r\nup\r\n"), R("+OK\r\n"), false, false, false, 0 },
	{ "probe: PTTL error", R("$-1\r\n"), R("-ERR no\r\n"), false, false, false, 0 },
	{ "probe: PTTL array", R("$2\r\nup\r\n"), R("*1\r\n:1000\r\n"), false, false, false, 0 },
	{ "probe: no GET reply", NONE, R(":1000\r\n"), false, false, false, 0 },
	{ "probe: no PTTL reply", R("$2\r\nup\r\n"), NONE, false, false, false, 0 },
};

static void test_probe(void **state)
{
	const struct probe_case *c = *state;
	redisReply *get = parse_r(c->get), *pttl = parse_r(c->pttl);
	bool found = !c->found, up = !c->up;
	uint64_t ttl = SENTINEL;

	assert_int_equal(reply_probe(get, pttl, &found, &up, &ttl), c->ok);
	if (c->ok) {
		assert_int_equal(found, c->found);
		if (c->found) {
			assert_int_equal(up, c->up);
			assert_true(ttl == c->ttl);
		}
	}
	drop(get);
	drop(pttl);
}

/* -------------------------------------------------- time records */

struct time_case {
	const char *name;
	struct resp get;
	bool ok, found;
	uint64_t ms;
};

static const struct time_case time_cases[] = {
	{ "time: a witness", R("$13\r\n1700000000123\r\n"), true, true, 1700000000123ULL },
	{ "time: none (nil)", R("$-1\r\n"), true, false, 0 },
	{ "time: zero is a time", R("$1\r\n0\r\n"), true, true, 0 },
	{ "time: 19 digits", R("$19\r\n9999999999999999999\r\n"), true, true,
	  9999999999999999999ULL },
	{ "time: 20 digits", R("$20\r\n10000000000000000000\r\n"), false, false, 0 },
	{ "time: signed", R("$3\r\n-17\r\n"), false, false, 0 },
	{ "time: a word", R("$4\r\nsoon\r\n"), false, false, 0 },
	{ "time: empty", R("$0\r\n\r\n"), false, false, 0 },
	{ "time: integer reply", R(":1700000000123\r\n"), false, false, 0 },
	{ "time: status", R("+1700000000123\r\n"), false, false, 0 },
	{ "time: error", R("-ERR no\r\n"), false, false, 0 },
	{ "time: array", R("*1\r\n$1\r\n1\r\n"), false, false, 0 },
	{ "time: no reply", NONE, false, false, 0 },
};

static void test_time(void **state)
{
	const struct time_case *c = *state;
	redisReply *get = parse_r(c->get);
	bool found = !c->found;
	uint64_t ms = SENTINEL;

	assert_int_equal(reply_time(get, &found, &ms), c->ok);
	if (c->ok) {
		assert_int_equal(found, c->found);
		if (c->found)
			assert_true(ms == c->ms);
	}
	drop(get);
}

/* ---------------------------------------------------------- counters */

/* A NULL name (a counter without a word) is never matched. */
static const char *const names[] = { "rcpts", "bypass", NULL, "store-down", "probe-up" };
#define NNAMES N(names)

struct counters_case {
	const char *name;
	struct resp resp;
	bool ok;
	uint64_t add[NNAMES];	/* expected increments when ok */
};

static const struct counters_case counters_cases[] = {
	{ "counters: empty hash", R("*0\r\n"), true, { 0 } },
	{ "counters: known fields are added",
	  R("*4\r\n$5\r\nrcpts\r\n$2\r\n10\r\n$6\r\nbypass\r\n$1\r\n3\r\n"), true,
	  { 10, 3, 0, 0, 0 } },
	{ "counters: a name with a dash",
	  R("*2\r\n$10\r\nstore-down\r\n$1\r\n2\r\n"), true, { 0, 0, 0, 2, 0 } },
	{ "counters: unknown fields (a newer milter) are skipped",
	  R("*6\r\n$13\r\nnewer-counter\r\n$1\r\n5\r\n$5\r\nrcpts\r\n$1\r\n1\r\n"
	  "$0\r\n\r\n$1\r\n9\r\n"), true, { 1, 0, 0, 0, 0 } },
	{ "counters: a prefix of a name is not the name",
	  R("*2\r\n$4\r\nrcpt\r\n$1\r\n5\r\n"), true, { 0 } },
	{ "counters: a longer field is not the name",
	  R("*2\r\n$6\r\nrcptsx\r\n$1\r\n5\r\n"), true, { 0 } },
	{ "counters: names are case-sensitive",
	  R("*2\r\n$5\r\nRCPTS\r\n$1\r\n5\r\n"), true, { 0 } },
	{ "counters: a field with a NUL is not the name",
	  R("*2\r\n$6\r\nrcpts\0\r\n$1\r\n5\r\n"), true, { 0 } },
	{ "counters: a repeated field adds twice",
	  R("*4\r\n$5\r\nrcpts\r\n$1\r\n2\r\n$5\r\nrcpts\r\n$1\r\n3\r\n"), true, { 5, 0, 0, 0, 0 } },
	{ "counters: 19-digit value", R("*2\r\n$8\r\nprobe-up\r\n$19\r\n1000000000000000000\r\n"),
	  true, { 0, 0, 0, 0, 1000000000000000000ULL } },
	{ "counters: odd element count",
	  R("*3\r\n$5\r\nrcpts\r\n$1\r\n1\r\n$6\r\nbypass\r\n"), false, { 0 } },
	{ "counters: non-numeric value", R("*2\r\n$5\r\nrcpts\r\n$3\r\nabc\r\n"), false, { 0 } },
	{ "counters: negative value", R("*2\r\n$5\r\nrcpts\r\n$2\r\n-1\r\n"), false, { 0 } },
	{ "counters: empty value", R("*2\r\n$5\r\nrcpts\r\n$0\r\n\r\n"), false, { 0 } },
	{ "counters: 20-digit value",
	  R("*2\r\n$5\r\nrcpts\r\n$20\r\n10000000000000000000\r\n"), false, { 0 } },
	{ "counters: value of integer type", R("*2\r\n$5\r\nrcpts\r\n:5\r\n"), false, { 0 } },
	{ "counters: value nil", R("*2\r\n$5\r\nrcpts\r\n$-1\r\n"), false, { 0 } },
	{ "counters: unknown field, bad value", R("*2\r\n$3\r\nnew\r\n$1\r\nx\r\n"), false, { 0 } },
	{ "counters: field of integer type", R("*2\r\n:1\r\n$1\r\n5\r\n"), false, { 0 } },
	{ "counters: field status", R("*2\r\n+rcpts\r\n$1\r\n5\r\n"), false, { 0 } },
	{ "counters: field nil", R("*2\r\n$-1\r\n$1\r\n5\r\n"), false, { 0 } },
	{ "counters: nested array", R("*2\r\n*0\r\n$1\r\n5\r\n"), false, { 0 } },
	{ "counters: a bad pair after a good one",
	  R("*4\r\n$5\r\nrcpts\r\n$1\r\n1\r\n$6\r\nbypass\r\n$1\r\n?\r\n"), false, { 0 } },
	{ "counters: nil instead of a hash", R("$-1\r\n"), false, { 0 } },
	{ "counters: error instead of a hash", R("-WRONGTYPE\r\n"), false, { 0 } },
	{ "counters: string instead of a hash", R("$5\r\nrcpts\r\n"), false, { 0 } },
	{ "counters: integer instead of a hash", R(":0\r\n"), false, { 0 } },
	{ "counters: no reply", NONE, false, { 0 } },
};

static void test_counters(void **state)
{
	const struct counters_case *c = *state;
	redisReply *r = parse_r(c->resp);
	uint64_t v[NNAMES];

	for (size_t i = 0; i < NNAMES; i++)
		v[i] = 100 + i;
	assert_int_equal(reply_counters(r, names, NNAMES, v), c->ok);
	if (c->ok)
		for (size_t i = 0; i < NNAMES; i++)
			assert_true(v[i] == 100 + i + c->add[i]);
	drop(r);
}

/* n = 0 names: every field is unknown, the shape is still checked. */
static void test_counters_no_names(void **state)
{
	redisReply *good = parse("*2\r\n$5\r\nrcpts\r\n$1\r\n5\r\n");
	redisReply *bad = parse("*2\r\n$5\r\nrcpts\r\n$1\r\nx\r\n");
	uint64_t v = 7;

	(void)state;
	assert_true(reply_counters(good, names, 0, &v));
	assert_false(reply_counters(bad, names, 0, &v));
	assert_true(v == 7);
	drop(good);
	drop(bad);
}

/* spoil - free element i of an array and leave a NULL pointer there */
static void spoil(redisReply *r, size_t i)
{
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_true(i < r->elements);
	freeReplyObject(r->element[i]);
	r->element[i] = NULL;
}

/* NULL element pointers (no reader makes them; a bug elsewhere might). */
static void test_counters_null_elements(void **state)
{
	static const char resp[] = "*4\r\n$5\r\nrcpts\r\n$1\r\n1\r\n$6\r\nbypass\r\n$1\r\n2\r\n";
	uint64_t v[NNAMES] = { 0 };
	redisReply *r, **saved;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		r = parse(resp);
		spoil(r, i);
		assert_false(reply_counters(r, names, NNAMES, v));
		drop(r);
	}
	/* elements counted, no vector */
	r = parse(resp);
	saved = r->element;
	r->element = NULL;
	assert_false(reply_counters(r, names, NNAMES, v));
	r->element = saved;
	drop(r);
}

/* --------------------------------------------------------------- top */

struct top_case {
	const char *name;
	struct resp resp;
	size_t max;
	bool ok;
	size_t n;
	const char *keys[3];
	uint64_t counts[3];
};

static const struct top_case top_cases[] = {
	{ "top: two entries", R("*4\r\n$11\r\nexample.org\r\n$3\r\n751\r\n"
	  "$12\r\n192.0.2.0/24\r\n$2\r\n12\r\n"), 8, true, 2,
	  { "example.org", "192.0.2.0/24" }, { 751, 12 } },
	{ "top: IPv6 network and a 0 score", R("*2\r\n$17\r\n2001:db8:1:2::/64\r\n$1\r\n0\r\n"), 8,
	  true, 1, { "2001:db8:1:2::/64" }, { 0 } },
	{ "top: empty list", R("*0\r\n"), 8, true, 0, { NULL }, { 0 } },
	{ "top: more entries than max: the first max", R("*6\r\n$1\r\na\r\n$1\r\n3\r\n"
	  "$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n1\r\n"), 2, true, 2, { "a", "b" }, { 3, 2 } },
	{ "top: past max nothing is read", R("*4\r\n$1\r\na\r\n$1\r\n3\r\n"
	  "$1\r\n,\r\n$3\r\nbad\r\n"), 1, true, 1, { "a" }, { 3 } },
	{ "top: max 0", R("*2\r\n$1\r\na\r\n$1\r\n3\r\n"), 0, true, 0, { NULL }, { 0 } },
	{ "top: odd element count", R("*3\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n"), 8, false, 0,
	  { NULL }, { 0 } },
	{ "top: empty member", R("*2\r\n$0\r\n\r\n$1\r\n3\r\n"), 8, false, 0, { NULL }, { 0 } },
	{ "top: member with a space", R("*2\r\n$3\r\na b\r\n$1\r\n3\r\n"), 8, false, 0, { NULL },
	  { 0 } },
	{ "top: member with a comma", R("*2\r\n$3\r\na,b\r\n$1\r\n3\r\n"), 8, false, 0, { NULL },
	  { 0 } },
	{ "top: member with a tab", R("*2\r\n$3\r\na\tb\r\n$1\r\n3\r\n"), 8, false, 0, { NULL },
	  { 0 } },
	{ "top: member with CR LF", R("*2\r\n$4\r\na\r\nb\r\n$1\r\n3\r\n"), 8, false, 0, { NULL },
	  { 0 } },
	{ "top: member with a NUL", R("*2\r\n$3\r\na\0b\r\n$1\r\n3\r\n"), 8, false, 0, { NULL },
	  { 0 } },
	{ "top: member with DEL", R("*2\r\n$3\r\na\x7f" "b\r\n$1\r\n3\r\n"), 8, false, 0, { NULL },
	  { 0 } },
	{ "top: member with an 8-bit byte", R("*2\r\n$3\r\na\xc3" "b\r\n$1\r\n3\r\n"), 8, false, 0,
	  { NULL }, { 0 } },
	{ "top: member of integer type", R("*2\r\n:5\r\n$1\r\n3\r\n"), 8, false, 0, { NULL },
	  { 0 } },
	{ "top: member nil", R("*2\r\n$-1\r\n$1\r\n3\r\n"), 8, false, 0, { NULL }, { 0 } },
	{ "top: float score", R("*2\r\n$1\r\na\r\n$3\r\n1.5\r\n"), 8, false, 0, { NULL }, { 0 } },
	{ "top: exponent score", R("*2\r\n$1\r\na\r\n$5\r\n1e+20\r\n"), 8, false, 0, { NULL },
	  { 0 } },
	{ "top: negative score", R("*2\r\n$1\r\na\r\n$2\r\n-3\r\n"), 8, false, 0, { NULL }, { 0 } },
	{ "top: inf score", R("*2\r\n$1\r\na\r\n$3\r\ninf\r\n"), 8, false, 0, { NULL }, { 0 } },
	{ "top: score of integer type", R("*2\r\n$1\r\na\r\n:3\r\n"), 8, false, 0, { NULL }, { 0 } },
	{ "top: score nil", R("*2\r\n$1\r\na\r\n$-1\r\n"), 8, false, 0, { NULL }, { 0 } },
	{ "top: nested array", R("*2\r\n*0\r\n$1\r\n3\r\n"), 8, false, 0, { NULL }, { 0 } },
	{ "top: nil instead of a list", R("*-1\r\n"), 8, false, 0, { NULL }, { 0 } },
	{ "top: error instead of a list", R("-ERR\r\n"), 8, false, 0, { NULL }, { 0 } },
	{ "top: no reply", NONE, 8, false, 0, { NULL }, { 0 } },
};

/* The slots past what a call reports are never written. */
static void fill_canary(struct topk_slot *out, size_t n)
{
	memset(out, 0xa5, n * sizeof(*out));
}

static bool is_canary(const struct topk_slot *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < sizeof(*s); i++)
		if (p[i] != 0xa5)
			return false;
	return true;
}

static void test_top(void **state)
{
	const struct top_case *c = *state;
	redisReply *r = parse_r(c->resp);
	struct topk_slot out[8];
	size_t n = 12345;

	fill_canary(out, N(out));
	assert_int_equal(reply_top(r, out, c->max, &n), c->ok);
	if (c->ok) {
		assert_int_equal(n, c->n);
		for (size_t i = 0; i < n; i++) {
			assert_string_equal(out[i].key, c->keys[i]);
			assert_true(out[i].count == c->counts[i]);
			assert_true(out[i].error == 0);
		}
		for (size_t i = n; i < N(out); i++)
			assert_true(is_canary(&out[i]));
	}
	drop(r);
}

/* A member fits a slot with its NUL: TOPK_KEYMAX - 1 octets, no more. */
static void test_top_member_length(void **state)
{
	char resp[2 * TOPK_KEYMAX];
	struct topk_slot out[1];
	redisReply *r;
	size_t n;

	(void)state;
	for (size_t len = TOPK_KEYMAX - 2; len <= TOPK_KEYMAX + 1; len++) {
		int k = snprintf(resp, sizeof(resp), "*2\r\n$%zu\r\n", len);
		memset(resp + k, 'x', len);
		snprintf(resp + k + len, sizeof(resp) - (size_t)k - len, "\r\n$1\r\n9\r\n");
		r = parse(resp);
		fill_canary(out, 1);
		if (len < TOPK_KEYMAX) {
			assert_true(reply_top(r, out, 1, &n));
			assert_int_equal(n, 1);
			assert_int_equal(strlen(out[0].key), len);
		} else {
			assert_false(reply_top(r, out, 1, &n));
		}
		drop(r);
	}
}

/* *n is 0 after a refusal of the whole shape, even from a dirty start. */
static void test_top_resets_count(void **state)
{
	redisReply *r = parse("$-1\r\n");
	struct topk_slot out[1];
	size_t n = 99;

	(void)state;
	assert_false(reply_top(r, out, 1, &n));
	assert_int_equal(n, 0);
	assert_false(reply_top(NULL, out, 1, &n));
	assert_int_equal(n, 0);
	drop(r);
}

/* NULL element pointers: member, score, or the vector itself. */
static void test_top_null_elements(void **state)
{
	static const char resp[] = "*4\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n";
	struct topk_slot out[4];
	redisReply *r, **saved;
	size_t n;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		r = parse(resp);
		spoil(r, i);
		assert_false(reply_top(r, out, 4, &n));
		drop(r);
	}
	r = parse(resp);
	saved = r->element;
	r->element = NULL;
	assert_false(reply_top(r, out, 4, &n));
	assert_int_equal(n, 0);
	r->element = saved;
	drop(r);
}

/* Every key reply_top accepts from a full REPLY_TOP_MAX list is printable. */
static void test_top_full_list(void **state)
{
	char resp[REPLY_TOP_MAX * 64 + 64];
	struct topk_slot out[REPLY_TOP_MAX];
	size_t len = 0, n;
	redisReply *r;

	(void)state;
	len += (size_t)snprintf(resp + len, sizeof(resp) - len, "*%d\r\n", 2 * (REPLY_TOP_MAX + 3));
	for (int i = 0; i < REPLY_TOP_MAX + 3; i++) {
		char member[32], score[32];
		snprintf(member, sizeof(member), "d%d.example", i);
		snprintf(score, sizeof(score), "%d", 1000 - i);
		len += (size_t)snprintf(resp + len, sizeof(resp) - len, "$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
					strlen(member), member, strlen(score), score);
	}
	r = parse_n(resp, len);
	assert_true(reply_top(r, out, REPLY_TOP_MAX, &n));
	assert_int_equal(n, REPLY_TOP_MAX);
	for (size_t i = 0; i < n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "d%zu.example", i);
		assert_string_equal(out[i].key, want);
		assert_true(out[i].count == 1000 - i);
	}
	drop(r);
}

int main(void)
{
	struct CMUnitTest tests[256];
	size_t n = 0;

#define CASES(table, fn)							\
	for (size_t i = 0; i < N(table); i++)					\
		tests[n++] = (struct CMUnitTest){ table[i].name, fn, NULL, NULL,	\
						  (void *)&table[i] }
	CASES(status_cases, test_status);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_status_nul);
	CASES(number_cases, test_number);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_number_exact_buffer);
	CASES(retry_cases, test_retry_first);
	CASES(probe_cases, test_probe);
	CASES(time_cases, test_time);
	CASES(counters_cases, test_counters);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_counters_no_names);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_counters_null_elements);
	CASES(top_cases, test_top);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_top_member_length);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_top_resets_count);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_top_null_elements);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_top_full_list);
#undef CASES
	assert_true(n <= N(tests));
	return _cmocka_run_group_tests("redis_reply", tests, n, NULL, NULL);
}
