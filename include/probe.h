/*
 * probe.h - is a better MX reachable: non-blocking connects, greetings.
 */
#ifndef MXB_PROBE_H
#define MXB_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verdict.h"

struct store;
struct config;
struct mxset;
struct mx_rank;
struct prober;

enum greeting {
	GREETING_PARTIAL,	/* no complete final line yet */
	GREETING_READY,		/* 220: the server takes mail */
	GREETING_REFUSED,	/* any other code, or not SMTP */
};

#define PROBE_MAX_ADDRS 32	/* addresses probed for one recipient, at most */

enum greeting probe_parse_greeting(const char *buf, size_t len);
void probe_key(char *key, size_t len, const struct netaddr *a, unsigned port);
bool probe_key_parse(const char *key, struct netaddr *a, unsigned *port);

struct prober *prober_new(struct store *store, unsigned concurrency);
void prober_free(struct prober *p);
void prober_set_concurrency(struct prober *p, unsigned concurrency);

void probe_better(struct prober *p, const struct config *cfg, const struct mxset *m,
		  const struct mx_rank *rank, uint64_t deadline_ms, enum probe_state *states);
bool probe_renew(struct prober *p, const struct config *cfg, const char *key);

#endif
