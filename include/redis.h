/*
 * redis.h - the shared store in Redis (hiredis), for store.c only.
 */
#ifndef MXB_REDIS_H
#define MXB_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;
struct redis;

#define REDIS_TIMES_MAX 64	/* time records read or written in one round trip */
#define REDIS_TIME_KEY_MAX 160	/* "witness:NETWORK:ADDRESS", "down:ADDRESS PORT" */

#ifdef HAVE_HIREDIS
struct redis *redis_new(const struct config *cfg, const char *password, bool counters);
void redis_free(struct redis *r);
void redis_configure(struct redis *r, const struct config *cfg);
bool redis_up(struct redis *r);

/* false: Redis did not answer in time or made no sense; decide alone */
bool redis_retry_first(struct redis *r, const char *key, uint64_t proposed_ms,
		       unsigned expire_s, uint64_t *first_ms, bool *ours);
bool redis_probe_get(struct redis *r, const char *key, bool *found, bool *up,
		     uint64_t *ttl_ms);
bool redis_probe_put(struct redis *r, const char *key, bool up, uint64_t ttl_ms,
		     const char *down_key, uint64_t now_ms, uint64_t history_ms);
bool redis_times_put(struct redis *r, const char *const *keys, size_t n, uint64_t now_ms,
		     unsigned expire_s);
bool redis_times_get(struct redis *r, const char *const *keys, size_t n, uint64_t *ms);

int redis_pool_report(const struct config *cfg, const char *password, FILE *out);
#else
/* Without hiredis the configuration refuses StateBackend redis, so none
 * of these is ever reached with a Redis to talk to. */
static inline struct redis *redis_new(const struct config *cfg, const char *password,
				      bool counters)
{
	(void)cfg, (void)password, (void)counters;
	return NULL;
}
static inline void redis_free(struct redis *r) { (void)r; }
static inline void redis_configure(struct redis *r, const struct config *cfg)
{
	(void)r, (void)cfg;
}
static inline bool redis_up(struct redis *r) { (void)r; return false; }
static inline bool redis_retry_first(struct redis *r, const char *key, uint64_t proposed_ms,
				     unsigned expire_s, uint64_t *first_ms, bool *ours)
{
	(void)r, (void)key, (void)proposed_ms, (void)expire_s, (void)first_ms, (void)ours;
	return false;
}
static inline bool redis_probe_get(struct redis *r, const char *key, bool *found, bool *up,
				   uint64_t *ttl_ms)
{
	(void)r, (void)key, (void)found, (void)up, (void)ttl_ms;
	return false;
}
static inline bool redis_probe_put(struct redis *r, const char *key, bool up, uint64_t ttl_ms,
				   const char *down_key, uint64_t now_ms, uint64_t history_ms)
{
	(void)r, (void)key, (void)up, (void)ttl_ms, (void)down_key, (void)now_ms, (void)history_ms;
	return false;
}
static inline bool redis_times_put(struct redis *r, const char *const *keys, size_t n,
				   uint64_t now_ms, unsigned expire_s)
{
	(void)r, (void)keys, (void)n, (void)now_ms, (void)expire_s;
	return false;
}
static inline bool redis_times_get(struct redis *r, const char *const *keys, size_t n,
				   uint64_t *ms)
{
	(void)r, (void)keys, (void)n, (void)ms;
	return false;
}
static inline int redis_pool_report(const struct config *cfg, const char *password, FILE *out)
{
	(void)cfg, (void)password;
	fputs("this build has no Redis support (rebuild with hiredis)\n", out);
	return 1;
}
#endif

#endif
