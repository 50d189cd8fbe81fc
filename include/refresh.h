/*
 * refresh.h - refresh ahead: answers in use renewed in the background
 * before they expire, by one worker thread with a bounded queue.
 */
#ifndef MXB_REFRESH_H
#define MXB_REFRESH_H

#include <stdbool.h>
#include <stddef.h>

struct cache;
struct prober;
struct refresher;

enum refresh_kind {
	REFRESH_DNS,		/* key: a domain; look its MX set up again */
	REFRESH_PROBE,		/* key: a probe key; probe that address again */
};

#define REFRESH_QUEUE 64	/* refreshes waiting for the worker, at most */
#define REFRESH_KEY_MAX 256	/* longest key + 1: a domain, a probe key */

/* What the worker does with a job (the tests pass their own). */
typedef void refresh_run_fn(void *arg, enum refresh_kind kind, const char *key);

struct refresher *refresher_new(size_t slots, refresh_run_fn *run, void *arg);
struct refresher *refresher_for(struct cache *mxsets, struct prober *prober);
void refresher_free(struct refresher *r);
bool refresh_schedule(struct refresher *r, enum refresh_kind kind, const char *key);

void refresh_dns_due(void *refresher, const char *domain);
void refresh_probe_due(void *refresher, const char *key);

#endif
