/*
 * resolver.h - a domain's MX set from DNS (c-ares), cached.
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

struct resolver *resolver_new(const struct config *cfg, char *err, size_t errlen);
void resolver_free(struct resolver *r);

struct mxset *mxset_lookup(struct resolver *r, const char *domain, uint64_t deadline_ms);
struct cache *mxset_cache_new(size_t capacity);
struct mxset *mxset_get(struct resolver *r, struct cache *cache, const char *domain,
			uint64_t deadline_ms, bool *hit);
bool mxset_refresh(struct resolver *r, struct cache *cache, const char *domain,
		   uint64_t deadline_ms);

unsigned dns_answer_ttl(const unsigned char *abuf, int alen, int type);

#endif
