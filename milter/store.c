/*
 * NAME
 *	store - the state a pool of milters can share
 * SYNOPSIS
 *	#include "store.h"
 * DESCRIPTION
 *	Retry memory and probe results live here, and nowhere else knows
 *	where they are kept. The in-memory store is always there: two caches
 *	(cache.c: bounded, least recently used go first, single-flight). With
 *	StateBackend redis, Redis (redis.c) is the pool's memory and the
 *	in-memory store is both its local copy and its stand-in:
 *
 *	Retry memory: Redis decides the first tempfail time of a (client
 *	network, domain) pair, atomically (SET NX), so that milters that
 *	tempfail the same sender at the same moment agree. The local copy
 *	keeps what this milter learnt; while Redis is away it answers, and
 *	when Redis is back the earlier local time is what this milter
 *	proposes.
 *
 *	Probe results: the local copy stays in front, so a warm decision
 *	makes no round trip. The thread sent to probe (cache.c's lead) first
 *	asks Redis whether another milter of the pool probed that address;
 *	a result it probes itself goes to both.
 *
 *	Counters go to Redis from redis.c's own thread, never from the mail
 *	path. Redis down, slow or answering nonsense costs at most one
 *	RedisTimeout, then every operation is answered here until redis.c
 *	has reconnected.
 */

#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "redis.h"
#include "stats.h"
#include "store.h"

/* cached probe results: non-NULL pointers that are not addresses */
#define RESULT_UP ((void *)2)
#define RESULT_DOWN ((void *)1)

struct store {
	struct cache *retry;		/* key -> first tempfail, wall ms + 1 */
	struct cache *probes;		/* key -> RESULT_UP or RESULT_DOWN */
	struct redis *redis;		/* NULL: memory only */
	uint64_t (*now)(void);		/* wall clock, ms */
};

/* wall_ms - milliseconds since the epoch: the pool shares these times */
static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* store_new_memory - the in-memory store alone (the tests pass a clock) */
struct store *store_new_memory(size_t retry_capacity, size_t probe_capacity,
			       uint64_t (*now_ms)(void))
{
	struct store *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->now = now_ms != NULL ? now_ms : wall_ms;
	s->retry = cache_new(retry_capacity, NULL, now_ms);
	s->probes = cache_new(probe_capacity, NULL, now_ms);
	if (s->retry == NULL || s->probes == NULL) {
		store_free(s);
		return NULL;
	}
	return s;
}

/* store_new - the store a configuration asks for; Redis away at start is
 * not an error (the milter decides alone until it answers) */
struct store *store_new(const struct config *cfg, const char *password)
{
	struct store *s = store_new_memory(STORE_RETRY_CAPACITY, cfg->cache_size, NULL);

	if (s != NULL && cfg->state_backend == BACKEND_REDIS
	    && (s->redis = redis_new(cfg, password)) == NULL) {
		store_free(s);
		return NULL;
	}
	return s;
}

/* store_free - stop sharing, forget everything */
void store_free(struct store *s)
{
	if (s == NULL)
		return;
	redis_free(s->redis);
	cache_free(s->retry);
	cache_free(s->probes);
	free(s);
}

/* store_configure - what a reload may change */
void store_configure(struct store *s, const struct config *cfg)
{
	cache_set_capacity(s->probes, cfg->cache_size);
	if (s->redis != NULL)
		redis_configure(s->redis, cfg);
}

/* store_status - for the statistics */
void store_status(struct store *s, struct store_status *out)
{
	out->shared = s->redis != NULL;
	out->up = s->redis != NULL && redis_up(s->redis);
	cache_stats(s->retry, &out->retry);
	cache_stats(s->probes, &out->probes);
}

/* store_now - the store's clock (wall time, ms) */
uint64_t store_now(const struct store *s)
{
	return s->now();
}

/* store_key - PREFIX KIND ":" A [":" B], bytes outside a safe set written
 * as %XX, cut at len; client and recipient data never make a key that
 * runs into another namespace or past STORE_KEY_MAX */
size_t store_key(char *buf, size_t len, const char *prefix, const char *kind,
		 const char *a, const char *b)
{
	static const char hex[] = "0123456789abcdef";
	const char *parts[] = { kind, a, b };
	size_t n = 0;

	if (len == 0)
		return 0;
	for (const char *p = prefix; *p != '\0' && n + 1 < len; p++)
		buf[n++] = *p;
	for (size_t i = 0; i < 3 && parts[i] != NULL; i++) {
		if (i > 0) {
			if (n + 1 >= len)
				goto full;
			buf[n++] = ':';
		}
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p != '\0'; p++) {
			bool safe = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
				|| (*p >= '0' && *p <= '9') || strchr(".-_/[]", *p) != NULL;
			if (n + (safe ? 1 : 3) >= len)
				goto full;	/* cut here: a cut key is a prefix of the whole */
			if (safe) {
				buf[n++] = (char)*p;
			} else {
				buf[n++] = '%';
				buf[n++] = hex[*p >> 4];
				buf[n++] = hex[*p & 15];
			}
		}
	}
full:
	buf[n] = '\0';
	return n;
}

/* store_retry_first - when (network, domain) was first tempfailed, in
 * store_now() time; *fresh when never before (from now on it was) */
uint64_t store_retry_first(struct store *s, const char *network, const char *domain,
			   unsigned expire_s, bool *fresh)
{
	char key[STORE_KEY_MAX];
	uint64_t now = s->now(), first = now, expire_ms = (uint64_t)expire_s * 1000;
	enum cache_status st;
	bool ours;
	void *v;

	store_key(key, sizeof(key), "", "retry", network, domain);
	if ((st = cache_get(s->retry, key, 0, &v)) == CACHE_HIT)
		first = (uint64_t)(uintptr_t)v - 1;
	*fresh = st != CACHE_HIT;
	if (s->redis != NULL) {
		uint64_t local = first, pool, age = now > local ? now - local : 0;
		uint64_t left_s = age < expire_ms ? (expire_ms - age + 999) / 1000 : 1;
		/* propose our time: now, or an earlier one learnt while Redis was away */
		if (!redis_retry_first(s->redis, key, local, (unsigned)left_s, &pool, &ours)) {
			stats_add(STAT_STORE_LOCAL);
		} else if (!ours) {
			first = pool < local ? pool : local;
			if (first > now)		/* a clock of the pool runs ahead */
				first = now;
			*fresh = false;
		}
	}
	/* the local copy learns the pool's time (stored + 1: never NULL) */
	if (st == CACHE_LEAD || (st == CACHE_HIT && first != (uint64_t)(uintptr_t)v - 1)) {
		uint64_t age = now > first ? now - first : 0;
		void *value = (void *)(uintptr_t)(first + 1);
		if (st == CACHE_HIT)
			cache_update(s->retry, key, value, expire_ms > age ? expire_ms - age : 1);
		else if (age < expire_ms)
			cache_put(s->retry, key, value, expire_ms - age);
		else
			cache_abandon(s->retry, key);
	}
	return first;
}

/* store_probe_get - a probe result: the local copy, else the pool's;
 * CACHE_LEAD sends the caller to probe, then store_probe_put or
 * store_probe_abandon */
enum cache_status store_probe_get(struct store *s, const char *key, uint64_t deadline_ms,
				  bool *up)
{
	char pool_key[STORE_KEY_MAX];
	enum cache_status st;
	bool found, pool_up;
	uint64_t ttl_ms;
	void *v;

	if ((st = cache_get(s->probes, key, deadline_ms, &v)) == CACHE_HIT) {
		*up = v == RESULT_UP;
		return CACHE_HIT;
	}
	if (st != CACHE_LEAD || s->redis == NULL)
		return st;
	store_key(pool_key, sizeof(pool_key), "", "probe", key, NULL);
	if (!redis_probe_get(s->redis, pool_key, &found, &pool_up, &ttl_ms)) {
		stats_add(STAT_STORE_LOCAL);
		return CACHE_LEAD;
	}
	if (!found)
		return CACHE_LEAD;
	stats_add(STAT_PROBE_SHARED);
	cache_put(s->probes, key, pool_up ? RESULT_UP : RESULT_DOWN, ttl_ms);
	*up = pool_up;
	return CACHE_HIT;
}

/* store_probe_known - the local copy's result, if it has one: no lead
 * taken, no round trip */
bool store_probe_known(struct store *s, const char *key, bool *up)
{
	void *v;

	if (!cache_peek(s->probes, key, &v))
		return false;
	*up = v == RESULT_UP;
	return true;
}

/* store_probe_put - a result this milter probed, for itself and the pool */
void store_probe_put(struct store *s, const char *key, bool up, unsigned ttl_s)
{
	char pool_key[STORE_KEY_MAX];

	cache_put(s->probes, key, up ? RESULT_UP : RESULT_DOWN, (uint64_t)ttl_s * 1000);
	if (s->redis == NULL)
		return;
	store_key(pool_key, sizeof(pool_key), "", "probe", key, NULL);
	if (!redis_probe_put(s->redis, pool_key, up, (uint64_t)ttl_s * 1000))
		stats_add(STAT_STORE_LOCAL);
}

/* store_probe_abandon - the lead gives up without a result */
void store_probe_abandon(struct store *s, const char *key)
{
	cache_abandon(s->probes, key);
}

/* store_read_password - the first line of path, for AUTH; read before
 * privileges are dropped. The text never reaches a log. */
char *store_read_password(const char *path, char *err, size_t errlen)
{
	char line[1024];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "RedisPasswordFile %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof(line), f) == NULL) {
		line[0] = '\0';
		if (ferror(f)) {	/* a directory, an I/O error */
			snprintf(err, errlen, "RedisPasswordFile %s: %s", path, strerror(errno));
			fclose(f);
			return NULL;
		}
	}
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "RedisPasswordFile %s: no password on its first line", path);
		return NULL;
	}
	char *pw = strdup(line);
	explicit_bzero(line, sizeof(line));
	if (pw == NULL)
		snprintf(err, errlen, "RedisPasswordFile %s: out of memory", path);
	return pw;
}

/* store_pool_report - -S: the pool's statistics line from the shared store */
int store_pool_report(const struct config *cfg, const char *password, FILE *out)
{
	return redis_pool_report(cfg, password, out);
}
