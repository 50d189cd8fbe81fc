/*
 * cache.h - TTL + LRU cache with single-flight, shared by all threads.
 */
#ifndef MXB_CACHE_H
#define MXB_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cache;

/* How the cache keeps a reference to a value; NULL ops: plain values. */
struct cache_ops {
	void (*hold)(void *value);
	void (*release)(void *value);
};

struct cache_stats {
	uint64_t hits;		/* answered from the cache */
	uint64_t misses;	/* the caller was sent to find the answer */
	uint64_t joins;		/* waited for another thread's answer */
	uint64_t timeouts;	/* gave up waiting at the deadline */
	uint64_t evictions;	/* least recently used, pushed out */
	size_t entries;
};

enum cache_status {
	CACHE_HIT,		/* *value holds a reference for the caller */
	CACHE_LEAD,		/* find the answer, then cache_put or cache_abandon */
	CACHE_TIMEOUT,		/* another thread is still looking; deadline passed */
};

struct cache *cache_new(size_t capacity, const struct cache_ops *ops,
			uint64_t (*now_ms)(void));
void cache_free(struct cache *c);
void cache_set_capacity(struct cache *c, size_t capacity);
void cache_set_refresh(struct cache *c, void (*refresh)(void *arg, const char *key), void *arg);
uint64_t cache_refresh_window(uint64_t ttl_ms);

enum cache_status cache_get(struct cache *c, const char *key, uint64_t deadline_ms,
			    void **value);
void cache_put(struct cache *c, const char *key, void *value, uint64_t ttl_ms);
bool cache_peek(struct cache *c, const char *key, void **value);
bool cache_update(struct cache *c, const char *key, void *value, uint64_t ttl_ms);
void cache_set(struct cache *c, const char *key, void *value, uint64_t ttl_ms);
void cache_forget(struct cache *c, const char *key);
void cache_abandon(struct cache *c, const char *key);
void cache_release(struct cache *c, void *value);
void cache_stats(struct cache *c, struct cache_stats *out);

#endif
