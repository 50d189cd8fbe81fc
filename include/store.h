/*
 * store.h - the state a pool of milters can share: retry memory, probe
 * results and counters. In memory always; Redis in front when configured.
 */
#ifndef MXB_STORE_H
#define MXB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cache.h"

struct config;
struct store;

/* What the store says of itself, for the statistics. */
struct store_status {
	bool shared;			/* a shared store is configured */
	bool up;			/* ... and answering now */
	struct cache_stats retry, probes;	/* the in-memory part */
};

#define STORE_KEY_MAX 600	/* longest key, prefix included */
#define STORE_RETRY_CAPACITY 100000	/* (client network, domain) pairs remembered */

struct store *store_new(const struct config *cfg, const char *password);
struct store *store_new_memory(size_t retry_capacity, size_t probe_capacity,
			       uint64_t (*now_ms)(void));
void store_free(struct store *s);
void store_configure(struct store *s, const struct config *cfg);
void store_status(struct store *s, struct store_status *out);

uint64_t store_retry_first(struct store *s, const char *network, const char *domain,
			   unsigned expire_s, bool *fresh);
uint64_t store_now(const struct store *s);

enum cache_status store_probe_get(struct store *s, const char *key, uint64_t deadline_ms,
				  bool *up);
bool store_probe_known(struct store *s, const char *key, bool *up);
void store_probe_put(struct store *s, const char *key, bool up, unsigned ttl_s);
void store_probe_abandon(struct store *s, const char *key);

char *store_read_password(const char *path, char *err, size_t errlen);
int store_pool_report(const struct config *cfg, const char *password, FILE *out);

size_t store_key(char *buf, size_t len, const char *prefix, const char *kind,
		 const char *a, const char *b);

#endif
