/*
 * NAME
 *	store - the state a pool of milters can share
 * SYNOPSIS
 *	#include "store.h"
 * DESCRIPTION
 *	Retry memory and probe results live here, and nowhere else knows
 *	where they are kept. The in-memory store is always there: caches
 *	(cache.c: bounded, least recently used go first, single-flight).
 *	Behind it is the backend StateBackend names (store_backend.h): memory
 *	(store_memory.c) shares nothing, and the in-memory store is the whole
 *	store; a shared one, redis (redis.c), is the pool's memory, and the
 *	in-memory store is both its local copy and its stand-in. This module
 *	builds every key and keeps the policy below; a backend only keeps
 *	and answers:
 *
 *	Retry memory: the pool decides the first tempfail time of a (client
 *	network, domain) pair, atomically (Redis: SET NX), so that milters
 *	that tempfail the same sender at the same moment agree. The local
 *	copy keeps what this milter learnt; while the pool is away it
 *	answers, and when the pool is back the earlier local time is what
 *	this milter proposes.
 *
 *	Probe results: the local copy stays in front, so a warm decision
 *	makes no round trip. The thread sent to probe (cache.c's lead) first
 *	asks the pool whether another milter of the pool probed that
 *	address; a result it probes itself goes to both.
 *
 *	Evidence for a verdict: every connection leaves a witness (its
 *	client network, the address it reached, the time), and every
 *	address probed down leaves the time it was last down; both outlive
 *	the probe results (WitnessWindow, RecentDownWindow) in fixed memory,
 *	and go to the pool at once. store_evidence() answers, for a bypass
 *	candidate, from the local copy and then in one round trip from the
 *	pool.
 *
 *	Counters go to the pool from the backend's own thread (redis.c),
 *	never from the mail path. The pool down, slow or answering nonsense
 *	costs at most one timeout of the backend (RedisTimeout), then every
 *	operation is answered here until the backend has reconnected.
 */

#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "config.h"
#include "log.h"
#include "stats.h"
#include "store.h"
#include "store_backend.h"

#define WITNESS_REFRESH_MS 5000	/* a witness younger than this is not written again */

struct store {
	struct cache *retry;		/* key -> first tempfail, wall ms + 1 */
	struct cache *probes;		/* key -> result_pack(up, when) */
	struct cache *downs;		/* probe key -> last probed down, wall ms + 1 */
	struct cache *witness;		/* "NETWORK ADDRESS" -> last connect, wall ms + 1 */
	const struct store_backend *pool;	/* what the pool shares, and how */
	void *pool_state;		/* ... the backend's own */
	uint64_t (*now)(void);		/* wall clock, ms */
	_Atomic uint64_t ttl_up_ms, ttl_down_ms;	/* how long the pool keeps results */
};

/* The backends by StateBackend; NULL: not built in (the configuration
 * refuses it already). */
static const struct store_backend *const backends[] = {
	[BACKEND_MEMORY] = &memory_backend,
#ifdef HAVE_HIREDIS
	[BACKEND_REDIS] = &redis_backend,
#endif
};

/* backend_for - the backend a configuration names, or NULL (said) */
static const struct store_backend *backend_for(const struct config *cfg)
{
	size_t i = (size_t)cfg->state_backend;
	const struct store_backend *b = i < sizeof(backends) / sizeof(backends[0])
		? backends[i] : NULL;

	if (b == NULL)
		log_error("store: StateBackend %d: not in this build", (int)cfg->state_backend);
	return b;
}

/* result_pack - a probe result as a cached value: never NULL, not an address */
static void *result_pack(bool up, uint64_t at_ms)
{
	return (void *)(uintptr_t)(((at_ms + 1) << 1) | (up ? 1u : 0u));
}

/* result_up, result_at - what result_pack packed */
static bool result_up(const void *v)
{
	return ((uintptr_t)v & 1u) != 0;
}

static uint64_t result_at(const void *v)
{
	return ((uint64_t)(uintptr_t)v >> 1) - 1;
}

/* time_pack, time_unpack - a time record as a cached value (+ 1: never NULL) */
static void *time_pack(uint64_t ms)
{
	return (void *)(uintptr_t)(ms + 1);
}

static uint64_t time_unpack(const void *v)
{
	return (uint64_t)(uintptr_t)v - 1;
}

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
	s->pool = &memory_backend;
	s->ttl_up_ms = 300 * 1000;
	s->ttl_down_ms = 60 * 1000;
	s->retry = cache_new(retry_capacity, NULL, now_ms);
	s->probes = cache_new(probe_capacity, NULL, now_ms);
	s->downs = cache_new(probe_capacity, NULL, now_ms);
	s->witness = cache_new(retry_capacity, NULL, now_ms);
	if (s->retry == NULL || s->probes == NULL || s->downs == NULL || s->witness == NULL) {
		store_free(s);
		return NULL;
	}
	return s;
}

/* store_new - the store a configuration asks for; counters: this milter's
 * counts go to the pool (not from check mode). The pool away at start is
 * not an error (the milter decides alone until it answers) */
struct store *store_new(const struct config *cfg, const char *password, bool counters)
{
	const struct store_backend *b = backend_for(cfg);
	struct store *s = b != NULL
		? store_new_memory(STORE_RETRY_CAPACITY, cfg->cache_size, NULL) : NULL;

	if (s == NULL)
		return NULL;
	if (!b->open(&s->pool_state, cfg, password, counters)) {
		store_free(s);
		return NULL;
	}
	s->pool = b;
	store_configure(s, cfg);
	return s;
}

/* store_free - stop sharing, forget everything */
void store_free(struct store *s)
{
	if (s == NULL)
		return;
	s->pool->close(s->pool_state);
	cache_free(s->retry);
	cache_free(s->probes);
	cache_free(s->downs);
	cache_free(s->witness);
	free(s);
}

/* store_configure - what a reload may change */
void store_configure(struct store *s, const struct config *cfg)
{
	cache_set_capacity(s->probes, cfg->cache_size);
	cache_set_capacity(s->downs, cfg->cache_size);
	s->ttl_up_ms = (uint64_t)cfg->probe_ttl_up * 1000;
	s->ttl_down_ms = (uint64_t)cfg->probe_ttl_down * 1000;
	s->pool->configure(s->pool_state, cfg);
}

/* store_status - for the statistics */
void store_status(struct store *s, struct store_status *out)
{
	struct cache_stats retry, probes;

	cache_stats(s->retry, &retry);
	cache_stats(s->probes, &probes);
	*out = (struct store_status){
		.shared = s->pool->shared,
		.up = s->pool->shared && s->pool->up(s->pool_state),
		.retry_entries = retry.entries, .retry_misses = retry.misses,
		.retry_evictions = retry.evictions,
		.probe_entries = probes.entries, .probe_joins = probes.joins,
		.probe_evictions = probes.evictions,
	};
}

/* store_now - the store's clock (wall time, ms) */
uint64_t store_now(const struct store *s)
{
	return s->now();
}

/* key_safe - a byte a key keeps as it is: letters, digits and ".-_/[]" */
static inline bool key_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		|| c == '.' || c == '-' || c == '_' || c == '/' || c == '[' || c == ']';
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
			bool safe = key_safe(*p);
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

/* store_retry_known - when (network, domain) was first tempfailed, if
 * the local copy or the pool remembers it; writes nothing (check mode) */
bool store_retry_known(struct store *s, const char *network, const char *domain,
		       uint64_t *first_ms)
{
	char key[STORE_KEY_MAX];
	const char *keys[1] = { key };
	uint64_t pool = 0;
	bool known;
	void *v;

	store_key(key, sizeof(key), "", "retry", network, domain);
	if ((known = cache_peek(s->retry, key, &v)))
		*first_ms = (uint64_t)(uintptr_t)v - 1;
	/* the pool keeps the first time as a plain time record */
	if (s->pool->shared && s->pool->times_get(s->pool_state, keys, 1, &pool) && pool != 0
	    && (!known || pool < *first_ms)) {
		*first_ms = pool;
		known = true;
	}
	return known;
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
	if (s->pool->shared) {
		uint64_t local = first, pool, age = now > local ? now - local : 0;
		uint64_t left_s = age < expire_ms ? (expire_ms - age + 999) / 1000 : 1;
		/* propose our time: now, or an earlier one learnt while the pool was away */
		if (!s->pool->retry_first(s->pool_state, key, local, (unsigned)left_s, &pool,
					  &ours)) {
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

/* store_probe_get - a probe result, an "up" one no older than not_before
 * (store time; 0: any age): the local copy, else the pool's; STORE_PROBE_LEAD
 * sends the caller to probe, then store_probe_put or store_probe_abandon */
enum store_probe store_probe_get(struct store *s, const char *key, uint64_t deadline_ms,
				 uint64_t not_before, bool *up)
{
	char pool_key[STORE_KEY_MAX];
	enum cache_status st;
	bool found, pool_up;
	uint64_t ttl_ms, kept_ms, at, now;
	void *v;

	for (;;) {
		if ((st = cache_get(s->probes, key, deadline_ms, &v)) != CACHE_HIT)
			break;
		if (!result_up(v) || result_at(v) >= not_before) {
			*up = result_up(v);
			return STORE_PROBE_HIT;
		}
		/* too old to accuse on: probe again (one thread leads, the
		 * others join it) */
		cache_forget(s->probes, key);
	}
	if (st == CACHE_TIMEOUT)
		return STORE_PROBE_TIMEOUT;
	if (!s->pool->shared)
		return STORE_PROBE_LEAD;
	store_key(pool_key, sizeof(pool_key), "", "probe", key, NULL);
	if (!s->pool->probe_get(s->pool_state, pool_key, &found, &pool_up, &ttl_ms)) {
		stats_add(STAT_STORE_LOCAL);
		return STORE_PROBE_LEAD;
	}
	if (!found)
		return STORE_PROBE_LEAD;
	/* the pool keeps a result as long as its TTL: its age is what is gone */
	now = s->now();
	kept_ms = pool_up ? s->ttl_up_ms : s->ttl_down_ms;
	at = ttl_ms < kept_ms && now > kept_ms - ttl_ms ? now - (kept_ms - ttl_ms) : now;
	if (pool_up && at < not_before)
		return STORE_PROBE_LEAD;
	stats_add(STAT_PROBE_SHARED);
	cache_put(s->probes, key, result_pack(pool_up, at), ttl_ms);
	*up = pool_up;
	return STORE_PROBE_HIT;
}

/* store_probe_known - the local copy's result, if it has one (an "up" one
 * no older than not_before): no lead taken, no round trip */
bool store_probe_known(struct store *s, const char *key, uint64_t not_before, bool *up)
{
	void *v;

	if (!cache_peek(s->probes, key, &v) || (result_up(v) && result_at(v) < not_before))
		return false;
	*up = result_up(v);
	return true;
}

/* store_probe_stale - the local copy holds an "up" older than not_before:
 * store_probe_get will have it probed again */
bool store_probe_stale(struct store *s, const char *key, uint64_t not_before)
{
	void *v;

	return cache_peek(s->probes, key, &v) && result_up(v) && result_at(v) < not_before;
}

/* probe_write - a result this milter probed, for itself and the pool: the
 * lead's answer (cache_put), or a renewal written over the old one; a
 * down result is also remembered history_s (0: not at all) as the last
 * time the address was down */
static void probe_write(struct store *s, const char *key, bool up, unsigned ttl_s,
			unsigned history_s, bool renew)
{
	char pool_key[STORE_KEY_MAX], down_key[STORE_KEY_MAX];
	uint64_t now = s->now(), history_ms = up ? 0 : (uint64_t)history_s * 1000;

	if (renew)
		cache_set(s->probes, key, result_pack(up, now), (uint64_t)ttl_s * 1000);
	else
		cache_put(s->probes, key, result_pack(up, now), (uint64_t)ttl_s * 1000);
	if (history_ms > 0)
		cache_set(s->downs, key, time_pack(now), history_ms);
	if (!s->pool->shared)
		return;
	store_key(pool_key, sizeof(pool_key), "", "probe", key, NULL);
	store_key(down_key, sizeof(down_key), "", "down", key, NULL);
	if (!s->pool->probe_put(s->pool_state, pool_key, up, (uint64_t)ttl_s * 1000, down_key,
				now, history_ms))
		stats_add(STAT_STORE_LOCAL);
}

/* store_probe_put - the result of a probe this thread led */
void store_probe_put(struct store *s, const char *key, bool up, unsigned ttl_s,
		     unsigned history_s)
{
	probe_write(s, key, up, ttl_s, history_s, false);
}

/* store_probe_renew - the result of a probe made again ahead of the old
 * one's expiry: it replaces the old result here (readers keep finding
 * one) and in the pool, where store_probe_put writes */
void store_probe_renew(struct store *s, const char *key, bool up, unsigned ttl_s,
		       unsigned history_s)
{
	probe_write(s, key, up, ttl_s, history_s, true);
}

/* store_probe_refresh - the hook a due hit on a probe result calls (NULL:
 * none) with the probe key */
void store_probe_refresh(struct store *s, void (*refresh)(void *arg, const char *key),
			 void *arg)
{
	cache_set_refresh(s->probes, refresh, arg);
}

/* store_probe_abandon - the lead gives up without a result */
void store_probe_abandon(struct store *s, const char *key)
{
	cache_abandon(s->probes, key);
}

/* store_witness_put - a client of network connected to each of addrs (the
 * addresses it reached: this host, as the MX records name it); kept
 * window_s, here and in the pool, so that a backup can tell that it tried
 * a better MX first. The time kept is at most WITNESS_REFRESH_MS older
 * than the latest connection. */
void store_witness_put(struct store *s, const char *network, const char *const *addrs,
		       size_t n, unsigned window_s)
{
	char keys[STORE_WITNESS_MAX][STORE_TIME_KEY_MAX];
	const char *pool[STORE_WITNESS_MAX];
	uint64_t now = s->now();
	size_t np = 0;
	void *v;

	if (n > STORE_WITNESS_MAX)
		n = STORE_WITNESS_MAX;
	for (size_t i = 0; i < n; i++) {
		store_key(keys[np], sizeof(keys[np]), "", "witness", network, addrs[i]);
		/* written a moment ago: the record stands (a busy network costs
		 * the pool one write per WITNESS_REFRESH_MS, not one a connection) */
		if (cache_peek(s->witness, keys[np], &v) && time_unpack(v) <= now
		    && now - time_unpack(v) < WITNESS_REFRESH_MS)
			continue;
		cache_set(s->witness, keys[np], time_pack(now), (uint64_t)window_s * 1000);
		pool[np] = keys[np];
		np++;
	}
	if (s->pool->shared && np > 0
	    && !s->pool->times_put(s->pool_state, pool, np, now, window_s))
		stats_add(STAT_STORE_LOCAL);
}

/* latest - the latest time record of keys in a cache, within window_ms of
 * now; 0 when none; *idx says which */
static uint64_t latest(struct cache *c, const char *const *keys, size_t n, uint64_t now,
		       uint64_t window_ms, size_t *idx)
{
	uint64_t best = 0;
	void *v;

	for (size_t i = 0; i < n; i++)
		if (cache_peek(c, keys[i], &v) && time_unpack(v) + window_ms >= now
		    && time_unpack(v) >= best) {
			best = time_unpack(v);
			*idx = i;
		}
	return best;
}

/* store_evidence - for a bypass candidate, what the store knows in its
 * favour: when its network last connected to one of addrs (within
 * witness_s), and when one of probe_keys was last down (within down_s);
 * the local copy first, then the pool in one round trip for what it
 * did not know */
void store_evidence(struct store *s, const char *network, const char *const *addrs,
		    size_t naddrs, const char *const *probe_keys, size_t nkeys,
		    unsigned witness_s, unsigned down_s, struct store_evidence *out)
{
	char keys[STORE_TIMES_MAX][STORE_TIME_KEY_MAX];
	const char *wkeys[STORE_TIMES_MAX], *ask[STORE_TIMES_MAX];
	uint64_t now = s->now(), times[STORE_TIMES_MAX];
	uint64_t wwin = (uint64_t)witness_s * 1000, dwin = (uint64_t)down_s * 1000;
	size_t nw = 0, nask = 0, first_down;

	memset(out, 0, sizeof(*out));
	if (witness_s > 0)
		for (; nw < naddrs && nw < STORE_TIMES_MAX / 2; nw++) {
			store_key(keys[nw], sizeof(keys[nw]), "", "witness", network, addrs[nw]);
			wkeys[nw] = keys[nw];
		}
	if (down_s == 0)
		nkeys = 0;
	if (nkeys > STORE_TIMES_MAX / 2)
		nkeys = STORE_TIMES_MAX / 2;
	out->witness_ms = latest(s->witness, wkeys, nw, now, wwin, &out->witness_addr);
	out->down_ms = latest(s->downs, probe_keys, nkeys, now, dwin, &out->down_key);
	if (!s->pool->shared)
		return;
	/* what the local copy did not know, from the pool */
	if (out->witness_ms == 0)
		for (size_t i = 0; i < nw; i++)
			ask[nask++] = wkeys[i];
	first_down = nask;
	if (out->down_ms == 0)
		for (size_t i = 0; i < nkeys; i++) {
			store_key(keys[nw + i], sizeof(keys[0]), "", "down", probe_keys[i], NULL);
			ask[nask++] = keys[nw + i];
		}
	if (nask == 0)
		return;
	if (!s->pool->times_get(s->pool_state, ask, nask, times)) {
		stats_add(STAT_STORE_LOCAL);
		return;
	}
	for (size_t i = 0; i < nask; i++) {
		bool down = i >= first_down;
		uint64_t win = down ? dwin : wwin, *best = down ? &out->down_ms : &out->witness_ms;
		/* a clock of the pool that runs ahead counts as now */
		uint64_t t = times[i] > now ? now : times[i];
		if (t == 0 || t + win < now || t < *best)
			continue;
		*best = t;
		if (down)
			out->down_key = i - first_down;
		else
			out->witness_addr = i;
	}
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
	const struct store_backend *b = backend_for(cfg);

	if (b == NULL || b->pool_report == NULL) {
		fputs("this StateBackend keeps no pool to report on\n", out);
		return 1;
	}
	return b->pool_report(cfg, password, out);
}
