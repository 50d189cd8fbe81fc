/*
 * store.h - the state a pool of milters can share: retry memory, probe
 * results, the evidence for a verdict (witnesses, outage history) and
 * counters. In memory always; behind it, when configured, a backend the
 * pool shares (StateBackend).
 */
#ifndef MXB_STORE_H
#define MXB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;
struct store;

/* What the store says of itself, for the statistics. */
struct store_status {
	bool shared;			/* a shared store is configured */
	bool up;			/* ... and answering now */
	/* the in-memory part: retry memory, probe results */
	size_t retry_entries, probe_entries;
	uint64_t retry_misses, retry_evictions;	/* first times, pairs pushed out */
	uint64_t probe_joins, probe_evictions;	/* waits for another's probe, pushed out */
};

/* What store_probe_get says of an address. */
enum store_probe {
	STORE_PROBE_HIT,		/* a result: *up says which */
	STORE_PROBE_LEAD,		/* probe it, then store_probe_put or store_probe_abandon */
	STORE_PROBE_TIMEOUT,		/* another thread is still probing it; deadline passed */
};

#define STORE_KEY_MAX 600	/* longest key, prefix included */
#define STORE_RETRY_CAPACITY 100000	/* (client network, domain) pairs remembered */

struct store *store_new(const struct config *cfg, const char *password, bool counters);
struct store *store_new_memory(size_t retry_capacity, size_t probe_capacity,
			       uint64_t (*now_ms)(void));
void store_free(struct store *s);
void store_configure(struct store *s, const struct config *cfg);
void store_status(struct store *s, struct store_status *out);

uint64_t store_retry_first(struct store *s, const char *network, const char *domain,
			   unsigned expire_s, bool *fresh);
bool store_retry_known(struct store *s, const char *network, const char *domain,
		       uint64_t *first_ms);
uint64_t store_now(const struct store *s);

enum store_probe store_probe_get(struct store *s, const char *key, uint64_t deadline_ms,
				 uint64_t not_before, bool *up);
bool store_probe_known(struct store *s, const char *key, uint64_t not_before, bool *up);
bool store_probe_stale(struct store *s, const char *key, uint64_t not_before);
void store_probe_put(struct store *s, const char *key, bool up, unsigned ttl_s,
		     unsigned history_s);
void store_probe_renew(struct store *s, const char *key, bool up, unsigned ttl_s,
		       unsigned history_s);
void store_probe_abandon(struct store *s, const char *key);
void store_probe_refresh(struct store *s, void (*refresh)(void *arg, const char *key),
			 void *arg);

/* What the store knows in favour of a bypass candidate (store time, ms;
 * 0: nothing within the window). */
struct store_evidence {
	uint64_t witness_ms;		/* its network connected to a better MX */
	size_t witness_addr;		/* ... to this one of the addresses asked */
	uint64_t down_ms;		/* an address that answers now was down */
	size_t down_key;		/* ... this one of the probe keys asked */
};

#define STORE_WITNESS_MAX 8	/* addresses recorded for one connection */

void store_witness_put(struct store *s, const char *network, const char *const *addrs,
		       size_t n, unsigned window_s);
void store_evidence(struct store *s, const char *network, const char *const *addrs,
		    size_t naddrs, const char *const *probe_keys, size_t nkeys,
		    unsigned witness_s, unsigned down_s, struct store_evidence *out);

char *store_read_password(const char *path, char *err, size_t errlen);
int store_pool_report(const struct config *cfg, const char *password, FILE *out);

size_t store_key(char *buf, size_t len, const char *prefix, const char *kind,
		 const char *a, const char *b);

#endif
