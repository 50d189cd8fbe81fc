/*
 * NAME
 *	redis_reply - what a Redis reply means, read defensively
 * SYNOPSIS
 *	#include "redis_reply.h"
 * DESCRIPTION
 *	A Redis server is another program on another machine: its replies
 *	are data, not promises. Each function here checks the type, the
 *	length and every byte of the replies to one request, and says false
 *	for anything but the expected shape; the caller then counts the
 *	shared store as away and decides with its own memory. Nothing here
 *	does I/O, so the fuzz harness (tests/fuzz/fuzz_redis.c) drives these
 *	functions with whatever hiredis' reader makes of random bytes.
 */

#include "autoconfig.h"

#include <string.h>

#include "redis_reply.h"

#define NUMBER_MAX 19		/* digits: below 10^19, which fits 64 bits unsigned */

/* reply_status - a status reply saying exactly word ("OK", "PONG") */
bool reply_status(const redisReply *r, const char *word)
{
	return r != NULL && r->type == REDIS_REPLY_STATUS && r->str != NULL
		&& r->len == strlen(word) && memcmp(r->str, word, r->len) == 0;
}

/* reply_number - a decimal count: 1 to 19 digits, nothing else */
bool reply_number(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || len == 0 || len > NUMBER_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* string_number - a bulk string holding a count */
static bool string_number(const redisReply *r, uint64_t *out)
{
	return r != NULL && r->type == REDIS_REPLY_STRING && reply_number(r->str, r->len, out);
}

/* reply_retry_first - SET key PROPOSED NX EX n, then GET key: the first
 * tempfail time the pool agrees on. The SET says OK (ours went in: *ours)
 * or nil (one was there); the GET gives the time that is there, or nil when it
 * expired in between (then ours stands). */
bool reply_retry_first(const redisReply *set, const redisReply *get, uint64_t proposed,
		       uint64_t *first, bool *ours)
{
	if (set == NULL || get == NULL)
		return false;
	if (!(*ours = reply_status(set, "OK")) && set->type != REDIS_REPLY_NIL)
		return false;
	if (get->type == REDIS_REPLY_NIL) {
		*first = proposed;
		return true;
	}
	return string_number(get, first);
}

/* reply_probe - GET key, PTTL key: a probe result "up" or "down" and how
 * long it is kept; *found is false when the pool has none */
bool reply_probe(const redisReply *get, const redisReply *pttl, bool *found, bool *up,
		 uint64_t *ttl_ms)
{
	if (get == NULL || pttl == NULL || pttl->type != REDIS_REPLY_INTEGER)
		return false;
	*found = false;
	if (get->type == REDIS_REPLY_NIL)
		return true;
	if (get->type != REDIS_REPLY_STRING || get->str == NULL)
		return false;
	if (get->len == 2 && memcmp(get->str, "up", 2) == 0)
		*up = true;
	else if (get->len == 4 && memcmp(get->str, "down", 4) == 0)
		*up = false;
	else
		return false;
	/* -2: gone since the GET; -1: kept forever, which we never write */
	if (pttl->integer <= 0)
		return true;
	*ttl_ms = (uint64_t)pttl->integer;
	*found = true;
	return true;
}

/* reply_time - GET of a time record (a witness, the last time an address
 * was down): nil when there is none, else milliseconds since the epoch */
bool reply_time(const redisReply *get, bool *found, uint64_t *ms)
{
	if (get == NULL)
		return false;
	if ((*found = get->type != REDIS_REPLY_NIL))
		return string_number(get, ms);
	return true;
}

/* reply_counters - HGETALL of a counter hash: fields named in names[]
 * are added to c[]; unknown fields (a newer milter in the pool) are
 * skipped, a malformed pair spoils the whole reply */
bool reply_counters(const redisReply *hash, const char *const *names, size_t n, uint64_t *c)
{
	if (hash == NULL || hash->type != REDIS_REPLY_ARRAY || hash->elements % 2 != 0
	    || (hash->elements > 0 && hash->element == NULL))
		return false;
	for (size_t i = 0; i < hash->elements; i += 2) {
		const redisReply *f = hash->element[i], *v = hash->element[i + 1];
		uint64_t value;

		if (f == NULL || f->type != REDIS_REPLY_STRING || f->str == NULL
		    || !string_number(v, &value))
			return false;
		for (size_t k = 0; k < n; k++)
			if (names[k] != NULL && strlen(names[k]) == f->len
			    && memcmp(names[k], f->str, f->len) == 0) {
				c[k] += value;
				break;
			}
	}
	return true;
}

/* reply_top - ZREVRANGE key 0 N WITHSCORES: member, score pairs; a member
 * must be printable and fit a slot, a score a whole count */
bool reply_top(const redisReply *zrange, struct topk_slot *out, size_t max, size_t *n)
{
	*n = 0;
	if (zrange == NULL || zrange->type != REDIS_REPLY_ARRAY || zrange->elements % 2 != 0
	    || (zrange->elements > 0 && zrange->element == NULL))
		return false;
	for (size_t i = 0; i < zrange->elements && *n < max; i += 2) {
		const redisReply *m = zrange->element[i], *s = zrange->element[i + 1];
		uint64_t score;

		if (m == NULL || m->type != REDIS_REPLY_STRING || m->str == NULL || m->len == 0
		    || m->len >= TOPK_KEYMAX || !string_number(s, &score))
			return false;
		for (size_t k = 0; k < m->len; k++)
			if (m->str[k] <= ' ' || m->str[k] > '~' || m->str[k] == ',')
				return false;
		memcpy(out[*n].key, m->str, m->len);
		out[*n].key[m->len] = '\0';
		out[*n].count = score;
		out[*n].error = 0;
		(*n)++;
	}
	return true;
}
