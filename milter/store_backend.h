/*
 * store_backend.h - where a pool of milters keeps the state it shares:
 * the operations every backend of the store provides (store.c only).
 */
#ifndef MXB_STORE_BACKEND_H
#define MXB_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;

#define STORE_TIMES_MAX 64	/* time records read or written in one call */
#define STORE_TIME_KEY_MAX 160	/* "witness:NETWORK:ADDRESS", "down:ADDRESS PORT" */

/*
 * store.c keeps the local copy in front and builds every key (store_key,
 * no prefix: a backend adds its own). Each data operation is one round
 * trip at most, bounded by the backend's own timeout; false: no answer
 * in time or none that made sense, and store.c decides alone. A backend
 * that shares nothing (memory) leaves the data operations NULL: store.c
 * never asks it, the local copy is the whole store.
 */
struct store_backend {
	bool shared;			/* other milters see what it keeps */
	/* state for the configuration; false: cannot (out of memory, a
	 * thread); the pool away is no error */
	bool (*open)(void **state, const struct config *cfg, const char *password,
		     bool counters);
	void (*close)(void *state);				/* forget, stop */
	void (*configure)(void *state, const struct config *cfg);	/* a reload */
	bool (*up)(void *state);				/* answering now */
	/* the first tempfail time of a pair: ours proposed unless the pool
	 * has one (*ours false) */
	bool (*retry_first)(void *state, const char *key, uint64_t proposed_ms,
			    unsigned expire_s, uint64_t *first_ms, bool *ours);
	/* the pool's probe result, and how long it keeps it still */
	bool (*probe_get)(void *state, const char *key, bool *found, bool *up,
			  uint64_t *ttl_ms);
	/* a probe result kept ttl_ms; a down one also at down_key (now_ms,
	 * kept history_ms; 0: not at all) */
	bool (*probe_put)(void *state, const char *key, bool up, uint64_t ttl_ms,
			  const char *down_key, uint64_t now_ms, uint64_t history_ms);
	/* time records (witnesses), kept expire_s: never waits for the pool */
	bool (*times_put)(void *state, const char *const *keys, size_t n, uint64_t now_ms,
			  unsigned expire_s);
	/* time records (the evidence), 0 where there is none; n <= STORE_TIMES_MAX */
	bool (*times_get)(void *state, const char *const *keys, size_t n, uint64_t *ms);
	/* -S: the pool's statistics line; the exit status */
	int (*pool_report)(const struct config *cfg, const char *password, FILE *out);
};

extern const struct store_backend memory_backend;	/* store_memory.c */
extern const struct store_backend redis_backend;	/* redis.c, with hiredis */

#endif
