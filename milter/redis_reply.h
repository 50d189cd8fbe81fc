/*
 * redis_reply.h - what a Redis reply means, read defensively.
 */
#ifndef MXB_REDIS_REPLY_H
#define MXB_REDIS_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "topk.h"

#define REPLY_TOP_MAX 64	/* entries of a top list read back, at most */

bool reply_status(const redisReply *r, const char *word);
bool reply_number(const char *s, size_t len, uint64_t *out);
bool reply_retry_first(const redisReply *set, const redisReply *get, uint64_t proposed,
		       uint64_t *first, bool *ours);
bool reply_probe(const redisReply *get, const redisReply *pttl, bool *found, bool *up,
		 uint64_t *ttl_ms);
bool reply_time(const redisReply *get, bool *found, uint64_t *ms);
bool reply_counters(const redisReply *hash, const char *const *names, size_t n, uint64_t *c);
bool reply_top(const redisReply *zrange, struct topk_slot *out, size_t max, size_t *n);

#endif
