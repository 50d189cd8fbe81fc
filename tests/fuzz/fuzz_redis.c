/*
 * NAME
 *	fuzz_redis - redis_reply.c, what the milter makes of Redis replies
 * DESCRIPTION
 *	Input: the bytes a Redis server sends, RESP. hiredis' own reader
 *	turns them into replies, as on a connection, until it needs more
 *	bytes or finds a protocol error; every reply made (the first 64) and
 *	every element inside them (the first 128 in all) goes to each
 *	function of redis_reply.c, alone and, for the first 16, in every
 *	ordered pair (the pipelined SET + GET, GET + PTTL), and NULL with
 *	each. Arrays of more than 4096 elements are refused by the reader
 *	(hiredis would allocate for them before reading one; that is
 *	hiredis, not the code under test). reply_number also reads every
 *	slice of the first 64 input octets, up to 24 long.
 *
 *	What must hold, or the harness aborts:
 *	- every answer is the one of a plain reading of each function's
 *	  contract (the models below): reply_number is 1 to 19 ASCII
 *	  digits and agrees with strtoull; a status word is the exact
 *	  status; retry and probe replies have the shapes the comments in
 *	  redis_reply.c give, and nothing else;
 *	- reply_counters adds only to the named counters, exactly the
 *	  values of the fields with those names; never writes past n;
 *	- reply_top gives at most max entries, each a member of 1 to
 *	  TOPK_KEYMAX - 1 printable octets without ',' and a whole score;
 *	  the slots it does not report are untouched;
 *	- a number is not written when the answer is false; nothing is
 *	  read past a reply or the input, nor written past max slots
 *	  (AddressSanitizer watches; LeakSanitizer checks every reply is
 *	  freed).
 */

#include "autoconfig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "redis_reply.h"
#include "topk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) ((cond) ? (void)0 : fail(#cond, __LINE__))

#define REPLIES_MAX 64		/* top-level replies read */
#define NODES_MAX 128		/* replies and their elements checked */
#define PAIRS_MAX 16		/* nodes tried in every pair */
#define ARRAY_MAX 4096		/* elements of one array */
#define SLICE_FROM 64		/* reply_number on input slices from here */
#define SLICE_LEN 24
#define SENTINEL 0xa5a5a5a5a5a5a5a5ULL

static void fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_redis:%d: invariant broken: %s\n", line, what);
	abort();
}

/* ------------------------------------------------- the bounded reader */

#if HIREDIS_MAJOR >= 1
typedef size_t array_len;
#else
typedef int array_len;
#endif

static void *(*create_array)(const redisReadTask *, array_len);
static redisReplyObjectFunctions bounded;

/* bounded_array - hiredis' own array, when it is not absurdly long */
static void *bounded_array(const redisReadTask *task, array_len n)
{
	if ((size_t)n > ARRAY_MAX)
		return NULL;		/* the reader says "out of memory" and stops */
	return create_array(task, n);
}

static redisReader *reader_new(void)
{
	redisReader *rd = redisReaderCreate();

	if (rd == NULL)
		abort();
	if (create_array == NULL) {
		bounded = *rd->fn;
		create_array = bounded.createArray;
		bounded.createArray = bounded_array;
	}
	rd->fn = &bounded;
	return rd;
}

/* ----------------------------------------------------------- models */

/* model_number - 1..19 ASCII digits; the value by strtoull */
static bool model_number(const char *s, size_t len, uint64_t *v)
{
	char buf[24];

	if (s == NULL || len < 1 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] >= '0' && s[i] <= '9'))
			return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*v = (uint64_t)strtoull(buf, NULL, 10);
	return true;
}

static void check_number(const char *s, size_t len)
{
	uint64_t got = SENTINEL, want = 0;
	bool ok = reply_number(s, len, &got);

	CHECK(ok == model_number(s, len, &want));
	CHECK(ok ? got == want : got == SENTINEL);
}

/* is_count - a bulk string holding a count (the model's reading) */
static bool is_count(const redisReply *r, uint64_t *v)
{
	return r != NULL && r->type == REDIS_REPLY_STRING && model_number(r->str, r->len, v);
}

static bool is_status(const redisReply *r, const char *word)
{
	size_t n = strlen(word);

	if (r == NULL || r->type != REDIS_REPLY_STATUS || r->str == NULL || r->len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (r->str[i] != word[i])
			return false;
	return true;
}

static bool is_nil(const redisReply *r)
{
	return r != NULL && r->type == REDIS_REPLY_NIL;
}

static bool is_text(const redisReply *r, const char *text)
{
	return r != NULL && r->type == REDIS_REPLY_STRING && r->str != NULL
		&& r->len == strlen(text) && memcmp(r->str, text, r->len) == 0;
}

static void check_status(const redisReply *r)
{
	static const char *const words[] = { "OK", "PONG", "QUEUED", "" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		CHECK(reply_status(r, words[i]) == is_status(r, words[i]));
}

/* SET NX then GET: OK or nil, then nil or a count */
static void check_retry(const redisReply *set, const redisReply *get)
{
	const uint64_t proposed = 1700000000123ULL;
	uint64_t first = SENTINEL, want = 0;
	bool ours = false, ok, model;

	ok = reply_retry_first(set, get, proposed, &first, &ours);
	model = set != NULL && get != NULL && (is_status(set, "OK") || is_nil(set))
		&& (is_nil(get) || is_count(get, &want));
	CHECK(ok == model);
	if (ok) {
		CHECK(first == (is_nil(get) ? proposed : want));
		CHECK(ours == is_status(set, "OK"));
	}
}

/* GET then PTTL: nil, "up" or "down"; an integer PTTL, kept if positive */
static void check_probe(const redisReply *get, const redisReply *pttl)
{
	bool found = true, up = false, ok, model, known;
	uint64_t ttl = SENTINEL;

	ok = reply_probe(get, pttl, &found, &up, &ttl);
	known = is_text(get, "up") || is_text(get, "down");
	model = get != NULL && pttl != NULL && pttl->type == REDIS_REPLY_INTEGER
		&& (is_nil(get) || known);
	CHECK(ok == model);
	if (!ok)
		return;
	CHECK(found == (known && pttl->integer > 0));
	if (found) {
		CHECK(up == is_text(get, "up"));
		CHECK(ttl == (uint64_t)pttl->integer);
	}
}

/* GET of a time record: nil (none), or a count */
static void check_time(const redisReply *get)
{
	bool found = false, ok, model;
	uint64_t ms = SENTINEL, want = SENTINEL;

	ok = reply_time(get, &found, &ms);
	model = is_nil(get) || is_count(get, &want);
	CHECK(ok == model);
	if (ok) {
		CHECK(found == !is_nil(get));
		if (found)
			CHECK(ms == want);
	}
}

/* HGETALL: field, count pairs; named fields added, others skipped */
static void check_counters(const redisReply *hash)
{
	static const char *const names[] = { "rcpts", "bypass", NULL, "probe-up", "", "a" };
	enum { NN = sizeof(names) / sizeof(names[0]) };
	uint64_t c[NN + 1], partial[NN], start[NN];
	bool ok, model = true;

	for (size_t k = 0; k < NN; k++)
		c[k] = partial[k] = start[k] = (uint64_t)k * 1000003u;
	c[NN] = SENTINEL;
	ok = reply_counters(hash, names, NN, c);
	if (hash == NULL || hash->type != REDIS_REPLY_ARRAY || hash->elements % 2 != 0
	    || (hash->elements > 0 && hash->element == NULL)) {
		model = false;
	} else {
		for (size_t i = 0; i < hash->elements && model; i += 2) {
			const redisReply *f = hash->element[i];
			uint64_t v;
			if (f == NULL || f->type != REDIS_REPLY_STRING || f->str == NULL
			    || !is_count(hash->element[i + 1], &v)) {
				model = false;
				break;
			}
			for (size_t k = 0; k < NN; k++)
				if (names[k] != NULL && strlen(names[k]) == f->len
				    && memcmp(names[k], f->str, f->len) == 0) {
					partial[k] += v;
					break;
				}
		}
	}
	CHECK(ok == model);
	CHECK(c[NN] == SENTINEL);
	CHECK(c[2] == start[2]);		/* a NULL name is never matched */
	for (size_t k = 0; k < NN; k++)
		CHECK(ok ? c[k] == partial[k] : c[k] == start[k] || c[k] == partial[k]);
}

static bool printable_member(const redisReply *m)
{
	if (m == NULL || m->type != REDIS_REPLY_STRING || m->str == NULL || m->len == 0
	    || m->len >= TOPK_KEYMAX)
		return false;
	for (size_t i = 0; i < m->len; i++) {
		unsigned char ch = (unsigned char)m->str[i];
		if (ch < 0x21 || ch > 0x7e || ch == ',')
			return false;
	}
	return true;
}

/* ZREVRANGE WITHSCORES: member, score pairs, the first max of them; the
 * slots are exactly max (AddressSanitizer sees a write past them) */
static void check_top(const redisReply *z, size_t max)
{
	static const unsigned char canary = 0x5c;
	struct topk_slot *out = malloc(max > 0 ? max * sizeof(*out) : 1);
	size_t n = 777, want = 0;
	bool ok, model = true;

	if (out == NULL)
		abort();
	if (z != NULL && z->type == REDIS_REPLY_ARRAY)	/* else nothing is written */
		memset(out, canary, max * sizeof(*out));
	ok = reply_top(z, out, max, &n);
	if (z == NULL || z->type != REDIS_REPLY_ARRAY || z->elements % 2 != 0
	    || (z->elements > 0 && z->element == NULL)) {
		model = false;
	} else {
		for (size_t i = 0; i + 1 < z->elements && want < max; i += 2, want++) {
			uint64_t score;
			if (!printable_member(z->element[i]) || !is_count(z->element[i + 1], &score)) {
				model = false;
				break;
			}
		}
	}
	CHECK(ok == model);
	CHECK(n <= max);
	if (!ok) {
		free(out);
		return;
	}
	CHECK(n == want);
	for (size_t i = n; i < max; i++)		/* slots not reported: untouched */
		for (size_t b = 0; b < sizeof(out[i]); b++)
			CHECK(((const unsigned char *)&out[i])[b] == canary);
	for (size_t i = 0; i < n; i++) {
		const redisReply *m = z->element[2 * i];
		uint64_t score = 0;
		size_t len = strnlen(out[i].key, TOPK_KEYMAX);

		CHECK(len < TOPK_KEYMAX);
		CHECK(len == m->len && memcmp(out[i].key, m->str, len) == 0);
		for (size_t k = 0; k < len; k++)
			CHECK(out[i].key[k] > ' ' && out[i].key[k] <= '~' && out[i].key[k] != ',');
		CHECK(is_count(z->element[2 * i + 1], &score) && out[i].count == score);
		CHECK(out[i].error == 0);
	}
	free(out);
}

/* ------------------------------------------------------------ driver */

/* collect - a reply and its elements, depth first, up to NODES_MAX */
static void collect(const redisReply *r, const redisReply **nodes, size_t *n)
{
	if (r == NULL || *n >= NODES_MAX)
		return;
	nodes[(*n)++] = r;
	if (r->type == REDIS_REPLY_ARRAY && r->element != NULL)
		for (size_t i = 0; i < r->elements; i++)
			collect(r->element[i], nodes, n);
}

static void check_one(const redisReply *r)
{
	static const size_t maxes[] = { 0, 1, 3, REPLY_TOP_MAX };

	check_status(r);
	check_counters(r);
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++)
		check_top(r, maxes[i]);
	check_retry(r, NULL);
	check_retry(NULL, r);
	check_probe(r, NULL);
	check_probe(NULL, r);
	check_time(r);
	if (r != NULL && r->str != NULL && r->type != REDIS_REPLY_INTEGER
	    && r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_ARRAY)
		check_number(r->str, r->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	redisReply *replies[REPLIES_MAX];
	const redisReply *nodes[NODES_MAX];
	size_t nreplies = 0, nnodes = 0;
	redisReader *rd = reader_new();

	/* reply_number on raw slices of the input; those that end with it
	 * end with its buffer too (a read past them is seen) */
	for (size_t from = 0; from < size && from < SLICE_FROM; from++)
		for (size_t len = 0; len <= SLICE_LEN && from + len <= size; len++)
			check_number((const char *)data + from, len);
	check_number(NULL, 1);

	if (size > 0 && redisReaderFeed(rd, (const char *)data, size) != REDIS_OK)
		abort();
	while (nreplies < REPLIES_MAX) {
		void *r = NULL;
		if (redisReaderGetReply(rd, &r) != REDIS_OK || r == NULL)
			break;
		replies[nreplies++] = r;
	}
	for (size_t i = 0; i < nreplies; i++)
		collect(replies[i], nodes, &nnodes);

	check_one(NULL);
	check_retry(NULL, NULL);
	check_probe(NULL, NULL);
	check_time(NULL);
	for (size_t i = 0; i < nnodes; i++)
		check_one(nodes[i]);
	/* the pipelined pairs as they come, then every pair of the first few */
	for (size_t i = 0; i + 1 < nreplies; i++) {
		check_retry(replies[i], replies[i + 1]);
		check_probe(replies[i], replies[i + 1]);
	}
	for (size_t i = 0; i < nnodes && i < PAIRS_MAX; i++)
		for (size_t j = 0; j < nnodes && j < PAIRS_MAX; j++) {
			check_retry(nodes[i], nodes[j]);
			check_probe(nodes[i], nodes[j]);
		}

	for (size_t i = 0; i < nreplies; i++)
		freeReplyObject(replies[i]);
	redisReaderFree(rd);
	return 0;
}
