/*
 * resolver.h - a domain's MX set from DNS (c-ares), cached, over a shared
 * pool of resolvers (one c-ares channel each, one thread at a time).
 */
#ifndef MXB_RESOLVER_H
#define MXB_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxset.h"

struct cache;
struct config;
struct resolver;
struct resolver_pool;

/*
 * The most resolvers the pool keeps idle. It never holds more than there
 * were cold lookups at once (one is made only when none is idle), so this
 * caps what a burst leaves behind: an idle channel is about 73 KiB with
 * c-ares 1.18 (its query tables) and holds no socket.
 */
#define RESOLVER_POOL_IDLE 32

struct resolver *resolver_new(const struct config *cfg, char *err, size_t errlen);
void resolver_free(struct resolver *r);

struct resolver_pool *resolver_pool_new(const struct config *cfg, size_t max_idle);
void resolver_pool_configure(struct resolver_pool *p, const struct config *cfg);
void resolver_pool_free(struct resolver_pool *p);
struct resolver *resolver_take(struct resolver_pool *p, const struct config *cfg,
			       char *err, size_t errlen);
void resolver_give(struct resolver_pool *p, struct resolver *r);

struct mxset *mxset_lookup(struct resolver *r, const struct config *cfg, const char *domain,
			   uint64_t deadline_ms);
struct cache *mxset_cache_new(size_t capacity);
struct mxset *mxset_get(struct resolver_pool *pool, struct cache *cache,
			const struct config *cfg, const char *domain, uint64_t deadline_ms,
			bool *hit);
bool mxset_refresh(struct resolver *r, const struct config *cfg, struct cache *cache,
		   const char *domain, uint64_t deadline_ms);

unsigned dns_answer_ttl(const unsigned char *abuf, int alen, int type);

#endif
