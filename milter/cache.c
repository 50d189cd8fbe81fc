/*
 * NAME
 *	cache - TTL + LRU cache with single-flight, shared by all threads
 * SYNOPSIS
 *	#include "cache.h"
 * DESCRIPTION
 *	Maps a string key to a value that expires. One cache serves every
 *	connection thread; one mutex guards it, held only for a hash lookup
 *	and a list move, never across I/O.
 *
 *	cache_get() answers from the cache (CACHE_HIT), or makes the caller
 *	the one thread that finds the answer (CACHE_LEAD): it must then call
 *	cache_put() or cache_abandon(). Meanwhile other threads asking for the
 *	same key wait for that answer, each until its own deadline
 *	(CACHE_TIMEOUT), instead of asking DNS or the network again. When a
 *	leader abandons, the next waiter takes over.
 *
 *	At most "capacity" answers are kept; the least recently used goes
 *	first. Keys being looked up do not count and are never evicted.
 *	Values are reference-counted through cache_ops, so an evicted or
 *	expired value stays valid for threads still using it.
 *
 *	Refresh ahead (cache_set_refresh): a hit, by cache_get or
 *	cache_peek, on an answer in the last part of its life calls the
 *	cache's refresh hook with the key, once: the entry is then marked
 *	refreshing until a new answer replaces it (cache_put, cache_update,
 *	cache_set) or it expires. The last part is the last quarter of its
 *	TTL, but at least REFRESH_FLOOR_MS and at most half of it (a TTL of
 *	2 s is due after 1 s, one of 1 s after 500 ms; a TTL of 0 never).
 *	The hook is called after the mutex is let go; whoever it asks
 *	writes the new answer with cache_set, so readers keep hitting the
 *	old one until then.
 */

#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "clock.h"

/* A link of the LRU list; first in an entry, so a link is its entry. */
struct link {
	struct link *prev, *next;
};

#define REFRESH_FLOOR_MS 1000	/* due at least this long before expiry */

struct entry {
	struct link lru;		/* LRU list, answered entries only */
	struct entry *hnext;		/* hash chain */
	uint64_t expires;
	uint64_t ttl;			/* the life it was given, ms */
	void *value;
	bool pending;			/* a leader is looking it up */
	bool refreshing;		/* the refresh hook was called for this answer */
	char key[];
};

struct cache {
	pthread_mutex_t lock;
	pthread_cond_t answered;	/* broadcast on put and abandon */
	struct entry **buckets;
	size_t nbuckets;		/* a power of two */
	size_t entries;			/* answered and pending */
	size_t answered_count;
	size_t capacity;
	struct link lru;		/* sentinel: lru.next is the most recent */
	const struct cache_ops *ops;
	uint64_t (*now)(void);
	void (*refresh)(void *arg, const char *key);	/* NULL: no refresh ahead */
	void *refresh_arg;
	struct cache_stats stats;
};

/* hash - FNV-1a */
static size_t hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)h;
}

static void value_hold(const struct cache *c, void *v)
{
	if (c->ops != NULL && v != NULL)
		c->ops->hold(v);
}

static void value_release(const struct cache *c, void *v)
{
	if (c->ops != NULL && v != NULL)
		c->ops->release(v);
}

static void lru_unlink(struct entry *e)
{
	e->lru.prev->next = e->lru.next;
	e->lru.next->prev = e->lru.prev;
	e->lru.prev = e->lru.next = NULL;
}

static void lru_push_front(struct cache *c, struct entry *e)
{
	e->lru.next = c->lru.next;
	e->lru.prev = &c->lru;
	c->lru.next->prev = &e->lru;
	c->lru.next = &e->lru;
}

/* find - the entry of a key, and the link that points to it */
static struct entry *find(struct cache *c, const char *key, struct entry ***link)
{
	struct entry **p = &c->buckets[hash(key) & (c->nbuckets - 1)];

	for (; *p != NULL; p = &(*p)->hnext)
		if (strcmp((*p)->key, key) == 0)
			break;
	if (link != NULL)
		*link = p;
	return *p;
}

/* grow - double the hash table when chains get long */
static void grow(struct cache *c)
{
	size_t n = c->nbuckets * 2;
	struct entry **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return;			/* longer chains, still correct */
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct entry *e = c->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = b[hash(e->key) & (n - 1)];
			b[hash(e->key) & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

/* drop - remove an entry entirely */
static void drop(struct cache *c, struct entry *e)
{
	struct entry **link;

	find(c, e->key, &link);
	*link = e->hnext;
	if (!e->pending) {
		lru_unlink(e);
		c->answered_count--;
		value_release(c, e->value);
	}
	c->entries--;
	free(e);
}

/* trim - evict the least recently used answers down to capacity */
static void trim(struct cache *c)
{
	while (c->answered_count > c->capacity && c->lru.prev != &c->lru) {
		drop(c, (struct entry *)c->lru.prev);
		c->stats.evictions++;
	}
}

/* answer - give an entry a value and a life; a refresh may be asked again */
static void answer(struct cache *c, struct entry *e, void *value, uint64_t ttl_ms)
{
	e->value = value;
	value_hold(c, value);
	e->ttl = ttl_ms;
	e->expires = c->now() + ttl_ms;
	e->refreshing = false;
}

/* cache_refresh_window - how long before its expiry an answer given
 * ttl_ms is due for a refresh */
uint64_t cache_refresh_window(uint64_t ttl_ms)
{
	uint64_t w = ttl_ms / 4;

	if (w < REFRESH_FLOOR_MS)
		w = REFRESH_FLOOR_MS;
	return w < ttl_ms / 2 ? w : ttl_ms / 2;
}

/* A refresh to ask for once the mutex is let go; fn NULL: none. */
struct refresh_call {
	void (*fn)(void *arg, const char *key);
	void *arg;
};

/* refresh_due - the refresh a hit on e asks for now, if any (marked:
 * only once per answer) */
static struct refresh_call refresh_due(struct cache *c, struct entry *e, uint64_t now)
{
	uint64_t w;

	if (c->refresh == NULL || e->refreshing || e->ttl == 0)
		return (struct refresh_call){ NULL, NULL };
	w = cache_refresh_window(e->ttl);
	if (w == 0 || now + w < e->expires)
		return (struct refresh_call){ NULL, NULL };
	e->refreshing = true;
	return (struct refresh_call){ c->refresh, c->refresh_arg };
}

/* cache_new - an empty cache; now_ms NULL means the monotonic clock */
struct cache *cache_new(size_t capacity, const struct cache_ops *ops,
			uint64_t (*now_ms)(void))
{
	struct cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->nbuckets = 1024;
	if ((c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))) == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	clock_cond_init(&c->answered);
	c->lru.next = c->lru.prev = &c->lru;
	c->capacity = capacity > 0 ? capacity : 1;
	c->ops = ops;
	c->now = now_ms != NULL ? now_ms : clock_ms;
	return c;
}

/* cache_free - release every entry; no thread may use the cache any more */
void cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nbuckets; i++)
		while (c->buckets[i] != NULL)
			drop(c, c->buckets[i]);
	free(c->buckets);
	pthread_cond_destroy(&c->answered);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* cache_set_refresh - the hook a due hit calls (NULL: none); set before
 * threads use the cache, or with none of them asking */
void cache_set_refresh(struct cache *c, void (*refresh)(void *arg, const char *key), void *arg)
{
	pthread_mutex_lock(&c->lock);
	c->refresh = refresh;
	c->refresh_arg = arg;
	pthread_mutex_unlock(&c->lock);
}

/* call_refresh - after the mutex is let go: ask for the refresh */
static void call_refresh(struct refresh_call r, const char *key)
{
	if (r.fn != NULL)
		r.fn(r.arg, key);
}

/* cache_set_capacity - a new bound (configuration reload) */
void cache_set_capacity(struct cache *c, size_t capacity)
{
	pthread_mutex_lock(&c->lock);
	c->capacity = capacity > 0 ? capacity : 1;
	trim(c);
	pthread_mutex_unlock(&c->lock);
}

/* wait_until - wait for an answer to be published; false at the deadline */
static bool wait_until(struct cache *c, uint64_t deadline_ms)
{
	uint64_t now = c->now();

	if (deadline_ms <= now)
		return false;
	/* the condition variable runs on the monotonic clock, c->now may not */
	return clock_cond_wait(&c->answered, &c->lock, clock_ms() + (deadline_ms - now));
}

/* cache_get - a cached answer, the lead on finding one, or a timeout */
enum cache_status cache_get(struct cache *c, const char *key, uint64_t deadline_ms,
			    void **value)
{
	struct entry *e;
	bool joined = false;
	size_t len = strlen(key);

	*value = NULL;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		uint64_t now = c->now();
		e = find(c, key, NULL);
		if (e != NULL && !e->pending && e->expires <= now) {
			drop(c, e);		/* expired: look it up again */
			e = NULL;
		}
		if (e == NULL)
			break;
		if (!e->pending) {
			struct refresh_call refresh = refresh_due(c, e, now);
			lru_unlink(e);
			lru_push_front(c, e);
			value_hold(c, e->value);
			*value = e->value;
			if (joined)
				c->stats.joins++;
			else
				c->stats.hits++;
			pthread_mutex_unlock(&c->lock);
			call_refresh(refresh, key);
			return CACHE_HIT;
		}
		/* someone is looking it up: wait for that answer */
		joined = true;
		if (!wait_until(c, deadline_ms) && (e = find(c, key, NULL)) != NULL && e->pending) {
			c->stats.timeouts++;
			pthread_mutex_unlock(&c->lock);
			return CACHE_TIMEOUT;
		}
	}
	/* nobody has it or looks for it: this caller leads */
	if ((e = calloc(1, sizeof(*e) + len + 1)) != NULL) {
		struct entry **link;
		memcpy(e->key, key, len + 1);
		e->pending = true;
		find(c, key, &link);
		*link = e;
		if (++c->entries > 2 * c->nbuckets)
			grow(c);
	}
	/* without memory there is no single-flight, but still an answer */
	c->stats.misses++;
	pthread_mutex_unlock(&c->lock);
	return CACHE_LEAD;
}

/* cache_put - publish the leader's answer; the cache takes its own reference */
void cache_put(struct cache *c, const char *key, void *value, uint64_t ttl_ms)
{
	struct entry *e;

	pthread_mutex_lock(&c->lock);
	if ((e = find(c, key, NULL)) != NULL && e->pending) {
		e->pending = false;
		answer(c, e, value, ttl_ms);
		lru_push_front(c, e);
		c->answered_count++;
		trim(c);
	}
	pthread_cond_broadcast(&c->answered);
	pthread_mutex_unlock(&c->lock);
}

/* cache_peek - the answer when there is one already; never leads, never
 * waits */
bool cache_peek(struct cache *c, const char *key, void **value)
{
	struct refresh_call refresh = { NULL, NULL };
	struct entry *e;
	bool found = false;
	uint64_t now;

	*value = NULL;
	pthread_mutex_lock(&c->lock);
	now = c->now();
	if ((e = find(c, key, NULL)) != NULL && !e->pending && e->expires > now) {
		lru_unlink(e);
		lru_push_front(c, e);
		value_hold(c, e->value);
		*value = e->value;
		c->stats.hits++;
		found = true;
		refresh = refresh_due(c, e, now);
	}
	pthread_mutex_unlock(&c->lock);
	call_refresh(refresh, key);
	return found;
}

/* cache_update - a better answer for a key that has one already (a
 * pending key is the leader's to answer); false when there is none */
bool cache_update(struct cache *c, const char *key, void *value, uint64_t ttl_ms)
{
	struct entry *e;
	void *old = NULL;
	bool done = false;

	pthread_mutex_lock(&c->lock);
	if ((e = find(c, key, NULL)) != NULL && !e->pending) {
		old = e->value;
		answer(c, e, value, ttl_ms);
		done = true;
	}
	pthread_mutex_unlock(&c->lock);
	value_release(c, old);
	return done;
}

/* cache_set - an answer that nobody led (a record, not a lookup): added,
 * or replacing the one there; a key being looked up is left to its leader */
void cache_set(struct cache *c, const char *key, void *value, uint64_t ttl_ms)
{
	size_t len = strlen(key);
	struct entry *e, **link;
	void *old = NULL;

	pthread_mutex_lock(&c->lock);
	if ((e = find(c, key, &link)) == NULL && (e = calloc(1, sizeof(*e) + len + 1)) != NULL) {
		memcpy(e->key, key, len + 1);
		*link = e;
		lru_push_front(c, e);
		c->answered_count++;
		if (++c->entries > 2 * c->nbuckets)
			grow(c);
	} else if (e != NULL && !e->pending) {
		old = e->value;
		lru_unlink(e);
		lru_push_front(c, e);
	} else {
		e = NULL;
	}
	if (e != NULL) {
		answer(c, e, value, ttl_ms);
		trim(c);
	}
	pthread_mutex_unlock(&c->lock);
	value_release(c, old);
}

/* cache_forget - drop a key's answer so that the next cache_get leads; a
 * key being looked up is left alone (its answer is on the way) */
void cache_forget(struct cache *c, const char *key)
{
	struct entry *e;

	pthread_mutex_lock(&c->lock);
	if ((e = find(c, key, NULL)) != NULL && !e->pending)
		drop(c, e);
	pthread_mutex_unlock(&c->lock);
}

/* cache_abandon - the leader has no answer; a waiter takes over */
void cache_abandon(struct cache *c, const char *key)
{
	struct entry *e;

	pthread_mutex_lock(&c->lock);
	if ((e = find(c, key, NULL)) != NULL && e->pending)
		drop(c, e);
	pthread_cond_broadcast(&c->answered);
	pthread_mutex_unlock(&c->lock);
}

/* cache_release - give back a value returned by cache_get */
void cache_release(struct cache *c, void *value)
{
	value_release(c, value);
}

/* cache_stats - counters since the cache was made */
void cache_stats(struct cache *c, struct cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	out->entries = c->answered_count;
	pthread_mutex_unlock(&c->lock);
}
